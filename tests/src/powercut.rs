//! A FUSE file system that simulates a power cut, for crash-consistency tests.
//!
//! [`PowerCutFs::mount`] mounts an in-memory file system (kept in the test
//! process) on a folder; the programs under test use it as any folder. It
//! models a disk with a volatile write cache, the way Jepsen's lazyfs does:
//!
//! - every regular file has its current contents, size and metadata (mode,
//!   owner, times), and its *durable* ones: those at its last `fsync` or
//!   `fdatasync` (the two are not told apart). Before any sync the durable
//!   contents are empty, and the durable metadata the metadata at creation;
//! - every folder has its current entries (name → inode) and its durable
//!   entries: those at its last `fsync` of the folder. A new name (create,
//!   mkdir, mknod, symlink, link, rename target) is durable only once its
//!   folder is synced; an unlink, rmdir or rename away is undone by a cut
//!   unless the folder was synced after it. Syncing a file does not persist
//!   its name. The root folder always exists; its durable entries start empty.
//!
//! [`PowerCutFs::cut`] is the power cut: every file takes its durable contents
//! and metadata again, every folder its durable entries, and whatever is no
//! longer reachable from the root is dropped. A file unlinked in the current
//! state but still named by a durable entry comes back with its durable
//! contents. The cut unmounts and mounts again, so the kernel keeps no page,
//! attribute or name from before it; the caller must first kill (and wait
//! for) every process that uses the mount.
//!
//! Within a mount the kernel keeps no attributes or names (they are answered
//! with a time-to-live of zero) and no unwritten data (its writeback cache is
//! not requested, so every `write` reaches this file system during the system
//! call); reads may be served from its page cache, which writes keep current.
//!
//! Limits of the model:
//! - it is more pessimistic than a journaling file system in one way: a
//!   rename between two folders is durable in each folder separately, so a cut
//!   after syncing only one of them can show the file under both names or
//!   under neither. A folder reachable under two durable names after a cut
//!   keeps only the first one met (breadth first, names in byte order);
//! - it is more optimistic than a real disk in another: a synced file or
//!   folder is never torn, and writes are never reordered or partly applied;
//!   a cut keeps exactly what the last sync saw;
//! - `sync_file_range`, `sync` and `syncfs` send no per-file sync to a FUSE
//!   file system, so they make nothing durable here (`sync_file_range` would
//!   not persist metadata or flush the disk's cache on a real disk either;
//!   sled 0.34 uses it for its log, so sled's `flush` is durable here only
//!   once sled's own later `fsync` ran);
//! - file locks (`flock`, `fcntl`) are left to the kernel, which keeps them
//!   local to the mount: fine for processes on one machine;
//! - no extended attributes, no `copy_file_range` (the kernel falls back to
//!   reads and writes), `SEEK_DATA`/`SEEK_HOLE` see a file as all data;
//! - everything is kept in the test process's memory, in 64 KiB pieces shared
//!   between the current and durable contents until written to; a file may
//!   not grow beyond 64 GiB.
//!
//! Mounting needs `/dev/fuse` and root (which mounts with mount(2) directly)
//! or a `fusermount3`/`fusermount` binary; [`unavailable_reason`] tells why a
//! test cannot run.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use fuser::{
    BackgroundSession, FileAttr, FileType, Filesystem, MountOption, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyLseek, ReplyOpen, ReplyStatfs,
    ReplyWrite, Request, TimeOrNow, FUSE_ROOT_ID,
};
use libc::{EEXIST, EFBIG, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, ENXIO, EOPNOTSUPP, EPERM};

/// Time-to-live of every attribute and name given to the kernel: none.
const TTL: Duration = Duration::ZERO;
/// Size of the pieces file contents are kept in.
const CHUNK: usize = 64 * 1024;
/// Largest file size accepted (EFBIG beyond).
const MAX_FILE_SIZE: u64 = 64 << 30;
/// Total size announced by `statfs`.
const CAPACITY: u64 = 64 << 30;
/// Block size announced by `statfs` and `stat`.
const BLOCK: u32 = 4096;

type Errno = libc::c_int;

/// Why the power-cut file system cannot be mounted here, or `None` if it can
/// (as far as a cheap check tells: a mount may still be refused, for instance
/// in a container without the right to mount, and then
/// [`PowerCutFs::mount`] says so).
pub fn unavailable_reason() -> Option<String> {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        return Some(format!(
            "cannot open /dev/fuse ({e}): this machine has no FUSE device, or it is not accessible"
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 && !fusermount_on_path() {
        return Some(
            "not running as root, and no fusermount3 or fusermount on PATH to mount as a user"
                .to_owned(),
        );
    }
    None
}

/// Whether the power-cut file system can be mounted here (see
/// [`unavailable_reason`]).
pub fn available() -> bool {
    unavailable_reason().is_none()
}

fn fusermount_on_path() -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path)
        .any(|dir| dir.join("fusermount3").is_file() || dir.join("fusermount").is_file())
}

/// A mounted power-cut file system (see the module docs). Its state lives in
/// this process, shared with the thread that answers the kernel. Dropping it
/// unmounts the file system (lazily, if something still uses it).
pub struct PowerCutFs {
    state: Arc<Mutex<State>>,
    mountpoint: PathBuf,
    session: Option<BackgroundSession>,
}

/// What a [`PowerCutFs::cut`] undid, for the test to print (it implements
/// `Display`). Paths are relative to the mount point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CutReport {
    /// Over the files that survive the cut: the bytes the cut changed, that
    /// is, bytes written (or truncated away) since the file's last sync. A
    /// byte present before the cut and not after it, or the reverse, counts.
    pub bytes_dropped: u64,
    /// Files that survive the cut with other contents or size than before.
    pub files_reverted: usize,
    /// Names that existed before the cut and are gone after it, or name
    /// another file after it (a rename over an existing name).
    pub names_dropped: Vec<PathBuf>,
    /// Names that did not exist before the cut (removed or renamed away since
    /// their folder's last sync) and are back after it, or that named another
    /// file before it.
    pub names_restored: Vec<PathBuf>,
    /// Files, folders and other nodes dropped because no durable name leads
    /// to them any more.
    pub nodes_dropped: usize,
}

impl fmt::Display for CutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(paths: &[PathBuf]) -> String {
            if paths.is_empty() {
                return "none".to_owned();
            }
            let names: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
            names.join(", ")
        }
        write!(
            f,
            "power cut: {} byte(s) dropped in {} file(s); names dropped: {}; names restored: {}; \
             {} node(s) dropped",
            self.bytes_dropped,
            self.files_reverted,
            list(&self.names_dropped),
            list(&self.names_restored),
            self.nodes_dropped
        )
    }
}

impl PowerCutFs {
    /// Mounts a new, empty power-cut file system on `mountpoint` (an existing
    /// folder, usually a fresh temporary one), answered by a background
    /// thread of this process.
    pub fn mount(mountpoint: &Path) -> io::Result<PowerCutFs> {
        let mountpoint = mountpoint.canonicalize().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("mount point {}: {e}", mountpoint.display()),
            )
        })?;
        // SAFETY: geteuid and getegid have no preconditions and cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let state = Arc::new(Mutex::new(State::new(uid, gid)));
        let session = spawn(&state, &mountpoint)?;
        Ok(PowerCutFs {
            state,
            mountpoint,
            session: Some(session),
        })
    }

    /// The folder the file system is mounted on (canonical).
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Drops every write not made durable, as a power cut does (see the
    /// module docs), and reports what it dropped. The caller must have killed
    /// (and waited for) every process using the mount, and closed every file
    /// and folder it opened there itself: the cut unmounts and mounts again,
    /// so that the kernel keeps nothing from before, and fails (with EBUSY,
    /// changing nothing) while the mount is in use.
    pub fn cut(&mut self) -> io::Result<CutReport> {
        if let Some(session) = self.session.take() {
            if let Err(e) = unmount(&self.mountpoint, 0) {
                self.session = Some(session);
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "unmounting {} for the power cut: {e} (is a process or an open file \
                         still using it?)",
                        self.mountpoint.display()
                    ),
                ));
            }
            join(session)?;
        }
        let report = lock(&self.state).cut();
        self.session = Some(spawn(&self.state, &self.mountpoint)?);
        Ok(report)
    }
}

impl Drop for PowerCutFs {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        if unmount(&self.mountpoint, 0).is_ok() {
            // The answering thread ends once the kernel closes the connection.
            let _ = join(session);
        } else {
            // Still in use: detach it, and leave the thread to end when the
            // last user goes.
            let _ = unmount(&self.mountpoint, libc::MNT_DETACH);
            drop(session);
        }
    }
}

/// Mounts a file system answering from `state` on `mountpoint`.
fn spawn(state: &Arc<Mutex<State>>, mountpoint: &Path) -> io::Result<BackgroundSession> {
    let options = [
        MountOption::FSName("powercut".to_owned()),
        MountOption::Subtype("powercut".to_owned()),
        // The kernel checks permissions against the mode, owner and group
        // this file system reports.
        MountOption::DefaultPermissions,
    ];
    let daemon = Daemon {
        state: Arc::clone(state),
    };
    fuser::spawn_mount2(daemon, mountpoint, &options).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "mounting the power-cut file system on {}: {e}",
                mountpoint.display()
            ),
        )
    })
}

/// Waits for the thread answering an unmounted file system to end.
fn join(session: BackgroundSession) -> io::Result<()> {
    // Taking the thread out drops the rest of the session: its own unmount
    // finds nothing mounted any more.
    let guard = { session }.guard;
    match guard.join() {
        Ok(result) => result,
        Err(_) => Err(io::Error::other(
            "the power-cut file system's thread panicked",
        )),
    }
}

fn unmount(mountpoint: &Path, flags: libc::c_int) -> io::Result<()> {
    let path = CString::new(mountpoint.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the mount point"))?;
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::umount2(path.as_ptr(), flags) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// File contents

/// File contents in pieces of `CHUNK` bytes, shared (copy on write) between
/// the current and durable versions. A missing piece reads as zeros; bytes
/// past `len` in the last piece are always zero.
#[derive(Clone, Default)]
struct Contents {
    len: u64,
    chunks: Vec<Option<Arc<Vec<u8>>>>,
}

/// Splits `[offset, end)` into (piece index, offset within it, length).
fn pieces(offset: u64, end: u64) -> impl Iterator<Item = (usize, usize, usize)> {
    let mut pos = offset;
    std::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let index = (pos / CHUNK as u64) as usize;
        let within = (pos % CHUNK as u64) as usize;
        let take = ((end - pos) as usize).min(CHUNK - within);
        pos += take as u64;
        Some((index, within, take))
    })
}

impl Contents {
    fn read(&self, offset: u64, size: usize) -> Vec<u8> {
        let end = self.len.min(offset.saturating_add(size as u64));
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        for (index, within, take) in pieces(offset, end) {
            match self.chunks.get(index).and_then(Option::as_ref) {
                Some(chunk) => out.extend_from_slice(&chunk[within..within + take]),
                None => out.resize(out.len() + take, 0),
            }
        }
        out
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        if end > self.len {
            self.set_len(end);
        }
        let mut rest = data;
        for (index, within, take) in pieces(offset, end) {
            let chunk = self.chunks[index].get_or_insert_with(|| Arc::new(vec![0; CHUNK]));
            Arc::make_mut(chunk)[within..within + take].copy_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
    }

    /// Zeroes `[offset, end)`, within the current length.
    fn zero(&mut self, offset: u64, end: u64) {
        for (index, within, take) in pieces(offset, end.min(self.len)) {
            if take == CHUNK {
                self.chunks[index] = None;
            } else if let Some(chunk) = &mut self.chunks[index] {
                Arc::make_mut(chunk)[within..within + take].fill(0);
            }
        }
    }

    fn set_len(&mut self, len: u64) {
        if len < self.len {
            self.zero(len, self.len);
        }
        self.chunks
            .resize(len.div_ceil(CHUNK as u64) as usize, None);
        self.len = len;
    }

    /// Byte positions where `self` and `other` differ, a byte present in one
    /// only counting as a difference.
    fn differing(&self, other: &Contents) -> u64 {
        let common = self.len.min(other.len);
        let mut count = self.len.max(other.len) - common;
        for (index, within, take) in pieces(0, common) {
            let a = self.chunks.get(index).and_then(Option::as_ref);
            let b = other.chunks.get(index).and_then(Option::as_ref);
            let differ = match (a, b) {
                (None, None) => 0,
                (Some(a), Some(b)) if Arc::ptr_eq(a, b) => 0,
                (Some(x), None) | (None, Some(x)) => {
                    x[within..within + take].iter().filter(|&&b| b != 0).count()
                }
                (Some(a), Some(b)) => a[within..within + take]
                    .iter()
                    .zip(&b[within..within + take])
                    .filter(|(x, y)| x != y)
                    .count(),
            };
            count += differ as u64;
        }
        count
    }
}

// ---------------------------------------------------------------------------
// Nodes

/// Metadata that is durable together with a node's contents.
#[derive(Clone, Copy)]
struct Meta {
    perm: u16,
    uid: u32,
    gid: u32,
    atime: SystemTime,
    mtime: SystemTime,
    ctime: SystemTime,
    crtime: SystemTime,
}

impl Meta {
    fn new(perm: u32, uid: u32, gid: u32) -> Meta {
        let now = SystemTime::now();
        Meta {
            perm: (perm & 0o7777) as u16,
            uid,
            gid,
            atime: now,
            mtime: now,
            ctime: now,
            crtime: now,
        }
    }

    fn touch(&mut self) {
        let now = SystemTime::now();
        self.mtime = now;
        self.ctime = now;
    }
}

enum Body {
    File {
        data: Contents,
        durable: Contents,
    },
    Dir {
        entries: BTreeMap<OsString, u64>,
        durable: BTreeMap<OsString, u64>,
        /// Parent in the current tree (itself for the root).
        parent: u64,
    },
    /// A symbolic link: its target is fixed at creation.
    Symlink(PathBuf),
    /// A FIFO, socket or device node.
    Special {
        kind: FileType,
        rdev: u32,
    },
}

struct Node {
    body: Body,
    meta: Meta,
    durable_meta: Meta,
    /// Current entries naming this node.
    links: u32,
    /// Durable entries naming this node.
    durable_links: u32,
    /// Open files and folders (handles) on this node.
    open: u32,
    /// References the kernel holds (lookups not yet forgotten).
    lookups: u64,
}

impl Node {
    fn new(body: Body, meta: Meta) -> Node {
        Node {
            body,
            meta,
            durable_meta: meta,
            links: 0,
            durable_links: 0,
            open: 0,
            lookups: 0,
        }
    }

    fn kind(&self) -> FileType {
        match &self.body {
            Body::File { .. } => FileType::RegularFile,
            Body::Dir { .. } => FileType::Directory,
            Body::Symlink(_) => FileType::Symlink,
            Body::Special { kind, .. } => *kind,
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self.body, Body::Dir { .. })
    }
}

/// A folder listing taken at `opendir` (and again when read from the start):
/// (inode, kind, name), with `.` and `..` first.
type Listing = Vec<(u64, FileType, OsString)>;

/// The whole file system: every node, by inode number.
struct State {
    nodes: HashMap<u64, Node>,
    next_ino: u64,
    next_fh: u64,
    listings: HashMap<u64, Listing>,
}

type Result<T> = std::result::Result<T, Errno>;

impl State {
    fn new(uid: u32, gid: u32) -> State {
        let root = Body::Dir {
            entries: BTreeMap::new(),
            durable: BTreeMap::new(),
            parent: FUSE_ROOT_ID,
        };
        let mut nodes = HashMap::new();
        nodes.insert(FUSE_ROOT_ID, Node::new(root, Meta::new(0o755, uid, gid)));
        State {
            nodes,
            next_ino: FUSE_ROOT_ID + 1,
            next_fh: 1,
            listings: HashMap::new(),
        }
    }

    fn node(&self, ino: u64) -> Result<&Node> {
        self.nodes.get(&ino).ok_or(ENOENT)
    }

    fn node_mut(&mut self, ino: u64) -> Result<&mut Node> {
        self.nodes.get_mut(&ino).ok_or(ENOENT)
    }

    fn entries(&self, dir: u64) -> Result<&BTreeMap<OsString, u64>> {
        match &self.node(dir)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            _ => Err(ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: u64) -> Result<&mut BTreeMap<OsString, u64>> {
        match &mut self.node_mut(dir)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            _ => Err(ENOTDIR),
        }
    }

    fn child(&self, dir: u64, name: &OsStr) -> Result<u64> {
        self.entries(dir)?.get(name).copied().ok_or(ENOENT)
    }

    fn is_dir(&self, ino: u64) -> bool {
        self.nodes.get(&ino).is_some_and(Node::is_dir)
    }

    fn file_mut(&mut self, ino: u64) -> Result<(&mut Contents, &mut Meta)> {
        let node = self.node_mut(ino)?;
        match &mut node.body {
            Body::File { data, .. } => Ok((data, &mut node.meta)),
            Body::Dir { .. } => Err(EISDIR),
            _ => Err(EINVAL),
        }
    }

    fn attr(&self, ino: u64) -> Result<FileAttr> {
        let node = self.node(ino)?;
        let (size, nlink, rdev) = match &node.body {
            Body::File { data, .. } => (data.len, node.links, 0),
            Body::Dir { entries, .. } => {
                let subdirs = entries.values().filter(|&&c| self.is_dir(c)).count();
                (BLOCK as u64, 2 + subdirs as u32, 0)
            }
            Body::Symlink(target) => (target.as_os_str().len() as u64, node.links, 0),
            Body::Special { rdev, .. } => (0, node.links, *rdev),
        };
        let meta = &node.meta;
        Ok(FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: meta.atime,
            mtime: meta.mtime,
            ctime: meta.ctime,
            crtime: meta.crtime,
            kind: node.kind(),
            perm: meta.perm,
            nlink,
            uid: meta.uid,
            gid: meta.gid,
            rdev,
            blksize: BLOCK,
            flags: 0,
        })
    }

    /// The attributes of `ino`, counting one more kernel reference to it.
    fn entry(&mut self, ino: u64) -> Result<FileAttr> {
        let attr = self.attr(ino)?;
        self.node_mut(ino)?.lookups += 1;
        Ok(attr)
    }

    fn lookup(&mut self, parent: u64, name: &OsStr) -> Result<FileAttr> {
        let ino = self.child(parent, name)?;
        self.entry(ino)
    }

    /// Creates a node named `name` in `parent`.
    fn create(&mut self, parent: u64, name: &OsStr, body: Body, meta: Meta) -> Result<FileAttr> {
        if self.entries(parent)?.contains_key(name) {
            return Err(EEXIST);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        let mut node = Node::new(body, meta);
        node.links = 1;
        self.nodes.insert(ino, node);
        self.entries_mut(parent)?.insert(name.to_owned(), ino);
        self.node_mut(parent)?.meta.touch();
        self.entry(ino)
    }

    fn link(&mut self, ino: u64, parent: u64, name: &OsStr) -> Result<FileAttr> {
        if self.node(ino)?.is_dir() {
            return Err(EPERM);
        }
        if self.entries(parent)?.contains_key(name) {
            return Err(EEXIST);
        }
        self.entries_mut(parent)?.insert(name.to_owned(), ino);
        self.node_mut(parent)?.meta.touch();
        let node = self.node_mut(ino)?;
        node.links += 1;
        node.meta.ctime = SystemTime::now();
        self.entry(ino)
    }

    /// Removes the name `name` from `parent`: a folder (which must be empty)
    /// if `dir`, anything else otherwise.
    fn remove(&mut self, parent: u64, name: &OsStr, dir: bool) -> Result<()> {
        let ino = self.child(parent, name)?;
        match (dir, self.is_dir(ino)) {
            (true, false) => return Err(ENOTDIR),
            (false, true) => return Err(EISDIR),
            (true, true) if !self.entries(ino)?.is_empty() => return Err(ENOTEMPTY),
            _ => {}
        }
        self.entries_mut(parent)?.remove(name);
        self.node_mut(parent)?.meta.touch();
        self.unlinked(ino);
        Ok(())
    }

    /// One current name fewer for `ino`.
    fn unlinked(&mut self, ino: u64) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.links = node.links.saturating_sub(1);
            node.meta.ctime = SystemTime::now();
        }
        self.collect(ino);
    }

    /// Whether `ancestor` is `ino` or a folder above it in the current tree.
    fn contains(&self, ancestor: u64, mut ino: u64) -> bool {
        for _ in 0..=self.nodes.len() {
            if ino == ancestor {
                return true;
            }
            match self.nodes.get(&ino).map(|n| &n.body) {
                Some(Body::Dir { parent, .. }) if *parent != ino => ino = *parent,
                _ => return false,
            }
        }
        false
    }

    fn set_parent(&mut self, ino: u64, new_parent: u64) {
        if let Some(Node {
            body: Body::Dir { parent, .. },
            ..
        }) = self.nodes.get_mut(&ino)
        {
            *parent = new_parent;
        }
    }

    fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        new_parent: u64,
        new_name: &OsStr,
        flags: u32,
    ) -> Result<()> {
        let noreplace = libc::RENAME_NOREPLACE;
        let exchange = libc::RENAME_EXCHANGE;
        if flags & !(noreplace | exchange) != 0 || flags == noreplace | exchange {
            return Err(EINVAL);
        }
        let source = self.child(parent, name)?;
        let target = self.entries(new_parent)?.get(new_name).copied();
        let now = SystemTime::now();
        if flags & exchange != 0 {
            let target = target.ok_or(ENOENT)?;
            if (self.is_dir(source) && self.contains(source, new_parent))
                || (self.is_dir(target) && self.contains(target, parent))
            {
                return Err(EINVAL);
            }
            self.entries_mut(parent)?.insert(name.to_owned(), target);
            self.entries_mut(new_parent)?
                .insert(new_name.to_owned(), source);
            self.set_parent(source, new_parent);
            self.set_parent(target, parent);
            for ino in [source, target] {
                self.node_mut(ino)?.meta.ctime = now;
            }
            for dir in [parent, new_parent] {
                self.node_mut(dir)?.meta.touch();
            }
            return Ok(());
        }
        if let Some(target) = target {
            if flags & noreplace != 0 {
                return Err(EEXIST);
            }
            if target == source {
                return Ok(());
            }
            match (self.is_dir(source), self.is_dir(target)) {
                (true, false) => return Err(ENOTDIR),
                (false, true) => return Err(EISDIR),
                (true, true) if !self.entries(target)?.is_empty() => return Err(ENOTEMPTY),
                _ => {}
            }
        }
        if self.is_dir(source) && self.contains(source, new_parent) {
            return Err(EINVAL);
        }
        self.entries_mut(parent)?.remove(name);
        let replaced = self
            .entries_mut(new_parent)?
            .insert(new_name.to_owned(), source);
        self.set_parent(source, new_parent);
        self.node_mut(source)?.meta.ctime = now;
        for dir in [parent, new_parent] {
            self.node_mut(dir)?.meta.touch();
        }
        if let Some(replaced) = replaced {
            self.unlinked(replaced);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn setattr(
        &mut self,
        ino: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
    ) -> Result<FileAttr> {
        let now = SystemTime::now();
        if let Some(size) = size {
            if size > MAX_FILE_SIZE {
                return Err(EFBIG);
            }
            let (data, meta) = self.file_mut(ino)?;
            data.set_len(size);
            meta.touch();
        }
        let meta = &mut self.node_mut(ino)?.meta;
        if let Some(mode) = mode {
            meta.perm = (mode & 0o7777) as u16;
        }
        if let Some(uid) = uid {
            meta.uid = uid;
        }
        if let Some(gid) = gid {
            meta.gid = gid;
        }
        let time = |t: TimeOrNow| match t {
            TimeOrNow::SpecificTime(t) => t,
            TimeOrNow::Now => now,
        };
        if let Some(atime) = atime {
            meta.atime = time(atime);
        }
        if let Some(mtime) = mtime {
            meta.mtime = time(mtime);
        }
        meta.ctime = now;
        self.attr(ino)
    }

    fn write(&mut self, ino: u64, offset: i64, bytes: &[u8]) -> Result<u32> {
        let offset = u64::try_from(offset).map_err(|_| EINVAL)?;
        if offset + bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        let (data, meta) = self.file_mut(ino)?;
        data.write(offset, bytes);
        meta.touch();
        u32::try_from(bytes.len()).map_err(|_| EINVAL)
    }

    fn fallocate(&mut self, ino: u64, offset: i64, length: i64, mode: i32) -> Result<()> {
        let (Ok(offset), Ok(length)) = (u64::try_from(offset), u64::try_from(length)) else {
            return Err(EINVAL);
        };
        if length == 0 {
            return Err(EINVAL);
        }
        let end = offset.checked_add(length).ok_or(EFBIG)?;
        let keep_size = mode & libc::FALLOC_FL_KEEP_SIZE != 0;
        if end > MAX_FILE_SIZE && !keep_size {
            return Err(EFBIG);
        }
        let (data, meta) = self.file_mut(ino)?;
        match mode & !libc::FALLOC_FL_KEEP_SIZE {
            0 => {}
            libc::FALLOC_FL_PUNCH_HOLE if keep_size => data.zero(offset, end),
            libc::FALLOC_FL_ZERO_RANGE => data.zero(offset, end),
            _ => return Err(EOPNOTSUPP),
        }
        if !keep_size && end > data.len {
            data.set_len(end);
        }
        meta.touch();
        Ok(())
    }

    /// `fsync`/`fdatasync` of a file (or anything but a folder).
    fn sync(&mut self, ino: u64) -> Result<()> {
        let node = self.node_mut(ino)?;
        node.durable_meta = node.meta;
        if let Body::File { data, durable } = &mut node.body {
            *durable = data.clone();
        }
        Ok(())
    }

    /// `fsync` of a folder: its entries become durable.
    fn sync_dir(&mut self, ino: u64) -> Result<()> {
        let node = self.node_mut(ino)?;
        node.durable_meta = node.meta;
        let Body::Dir {
            entries, durable, ..
        } = &mut node.body
        else {
            return Err(ENOTDIR);
        };
        let old = std::mem::replace(durable, entries.clone());
        let mut gained = Vec::new();
        let mut lost = Vec::new();
        for (name, child) in durable.iter() {
            if old.get(name) != Some(child) {
                gained.push(*child);
            }
        }
        for (name, child) in &old {
            if durable.get(name) != Some(child) {
                lost.push(*child);
            }
        }
        for child in gained {
            if let Some(node) = self.nodes.get_mut(&child) {
                node.durable_links += 1;
            }
        }
        for child in lost {
            if let Some(node) = self.nodes.get_mut(&child) {
                node.durable_links = node.durable_links.saturating_sub(1);
            }
            self.collect(child);
        }
        Ok(())
    }

    /// Opens a file or folder: returns a new handle.
    fn open(&mut self, ino: u64) -> Result<u64> {
        self.node_mut(ino)?.open += 1;
        let fh = self.next_fh;
        self.next_fh += 1;
        Ok(fh)
    }

    fn release(&mut self, ino: u64) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.open = node.open.saturating_sub(1);
        }
        self.collect(ino);
    }

    fn forget(&mut self, ino: u64, count: u64) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.lookups = node.lookups.saturating_sub(count);
        }
        self.collect(ino);
    }

    fn listing(&self, ino: u64) -> Result<Listing> {
        let node = self.node(ino)?;
        let Body::Dir {
            entries, parent, ..
        } = &node.body
        else {
            return Err(ENOTDIR);
        };
        let mut listing = vec![
            (ino, FileType::Directory, OsString::from(".")),
            (*parent, FileType::Directory, OsString::from("..")),
        ];
        for (name, child) in entries {
            let kind = self
                .nodes
                .get(child)
                .map_or(FileType::RegularFile, Node::kind);
            listing.push((*child, kind, name.clone()));
        }
        Ok(listing)
    }

    /// Drops `ino`, and what only it kept, once nothing refers to it any
    /// more: no current or durable name, no open handle, no kernel reference.
    fn collect(&mut self, ino: u64) {
        let mut work = vec![ino];
        while let Some(ino) = work.pop() {
            let unused = self.nodes.get(&ino).is_some_and(|n| {
                n.links == 0 && n.durable_links == 0 && n.open == 0 && n.lookups == 0
            });
            if ino == FUSE_ROOT_ID || !unused {
                continue;
            }
            let Some(node) = self.nodes.remove(&ino) else {
                continue;
            };
            if let Body::Dir {
                entries, durable, ..
            } = node.body
            {
                for child in durable.into_values() {
                    if let Some(n) = self.nodes.get_mut(&child) {
                        n.durable_links = n.durable_links.saturating_sub(1);
                    }
                    work.push(child);
                }
                for child in entries.into_values() {
                    if let Some(n) = self.nodes.get_mut(&child) {
                        n.links = n.links.saturating_sub(1);
                    }
                    work.push(child);
                }
            }
        }
    }

    /// The path (relative to the root) of every folder reachable from the
    /// root through current (`durable` false) or durable entries.
    fn folder_paths(&self, durable: bool) -> HashMap<u64, PathBuf> {
        let mut paths = HashMap::from([(FUSE_ROOT_ID, PathBuf::new())]);
        let mut queue = VecDeque::from([FUSE_ROOT_ID]);
        while let Some(dir) = queue.pop_front() {
            let Some(Body::Dir {
                entries,
                durable: durable_entries,
                ..
            }) = self.nodes.get(&dir).map(|n| &n.body)
            else {
                continue;
            };
            let names = if durable { durable_entries } else { entries };
            for (name, child) in names {
                if self.is_dir(*child) && !paths.contains_key(child) {
                    paths.insert(*child, paths[&dir].join(name));
                    queue.push_back(*child);
                }
            }
        }
        paths
    }

    /// The power cut (see the module docs).
    fn cut(&mut self) -> CutReport {
        let mut report = CutReport::default();

        // What the cut changes, named by the paths before it (or after it,
        // for folders only reachable then).
        let current = self.folder_paths(false);
        let durable = self.folder_paths(true);
        let mut folders: Vec<u64> = current.keys().chain(durable.keys()).copied().collect();
        folders.sort_unstable();
        folders.dedup();
        for dir in folders {
            let path = current.get(&dir).or_else(|| durable.get(&dir)).cloned();
            let (
                Some(path),
                Some(Body::Dir {
                    entries,
                    durable: durable_entries,
                    ..
                }),
            ) = (path, self.nodes.get(&dir).map(|n| &n.body))
            else {
                continue;
            };
            for (name, child) in entries {
                if durable_entries.get(name) != Some(child) {
                    report.names_dropped.push(path.join(name));
                }
            }
            for (name, child) in durable_entries {
                if entries.get(name) != Some(child) {
                    report.names_restored.push(path.join(name));
                }
            }
        }
        report.names_dropped.sort();
        report.names_restored.sort();

        // Every node takes its durable metadata, every folder its durable
        // entries; the kernel holds nothing.
        for node in self.nodes.values_mut() {
            node.meta = node.durable_meta;
            node.links = 0;
            node.durable_links = 0;
            node.open = 0;
            node.lookups = 0;
            if let Body::Dir {
                entries, durable, ..
            } = &mut node.body
            {
                entries.clone_from(durable);
            }
        }
        self.listings.clear();

        // Keep what the root reaches, each folder under one name only.
        let mut reached = HashSet::from([FUSE_ROOT_ID]);
        let mut queue = VecDeque::from([FUSE_ROOT_ID]);
        self.set_parent(FUSE_ROOT_ID, FUSE_ROOT_ID);
        while let Some(dir) = queue.pop_front() {
            let names: Vec<(OsString, u64)> = match self.entries(dir) {
                Ok(entries) => entries.iter().map(|(n, c)| (n.clone(), *c)).collect(),
                Err(_) => continue,
            };
            let mut kept = BTreeMap::new();
            for (name, child) in names {
                let Some(node) = self.nodes.get_mut(&child) else {
                    continue;
                };
                if node.is_dir() {
                    if !reached.insert(child) {
                        continue;
                    }
                    queue.push_back(child);
                } else {
                    reached.insert(child);
                }
                node.links += 1;
                node.durable_links += 1;
                kept.insert(name, child);
                self.set_parent(child, dir);
            }
            if let Some(Node {
                body: Body::Dir {
                    entries, durable, ..
                },
                ..
            }) = self.nodes.get_mut(&dir)
            {
                durable.clone_from(&kept);
                *entries = kept;
            }
        }
        let before = self.nodes.len();
        self.nodes.retain(|ino, _| reached.contains(ino));
        report.nodes_dropped = before - self.nodes.len();
        for node in self.nodes.values_mut() {
            if let Body::File { data, durable } = &mut node.body {
                let dropped = data.differing(durable);
                if dropped > 0 {
                    report.bytes_dropped += dropped;
                    report.files_reverted += 1;
                }
                data.clone_from(durable);
            }
        }
        report
    }

    fn statfs(&self) -> (u64, u64, u64, u64) {
        let used: u64 = self
            .nodes
            .values()
            .map(|n| match &n.body {
                Body::File { data, .. } => data.len.div_ceil(BLOCK as u64),
                _ => 1,
            })
            .sum();
        let blocks = CAPACITY / BLOCK as u64;
        let files = 1 << 20;
        (
            blocks,
            blocks.saturating_sub(used),
            files,
            files.saturating_sub(self.nodes.len() as u64),
        )
    }
}

// ---------------------------------------------------------------------------
// The FUSE side

/// Answers the kernel from the shared state.
struct Daemon {
    state: Arc<Mutex<State>>,
}

impl Daemon {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn reply_entry(reply: ReplyEntry, result: Result<FileAttr>) {
    match result {
        Ok(attr) => reply.entry(&TTL, &attr, 0),
        Err(e) => reply.error(e),
    }
}

fn reply_attr(reply: ReplyAttr, result: Result<FileAttr>) {
    match result {
        Ok(attr) => reply.attr(&TTL, &attr),
        Err(e) => reply.error(e),
    }
}

fn reply_empty(reply: ReplyEmpty, result: Result<()>) {
    match result {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}

fn reply_open(reply: ReplyOpen, result: Result<u64>) {
    match result {
        Ok(fh) => reply.opened(fh, 0),
        Err(e) => reply.error(e),
    }
}

impl Filesystem for Daemon {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        reply_entry(reply, self.state().lookup(parent, name));
    }

    fn forget(&mut self, _req: &Request<'_>, ino: u64, nlookup: u64) {
        self.state().forget(ino, nlookup);
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        reply_attr(reply, self.state().attr(ino));
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let result = self
            .state()
            .setattr(ino, mode, uid, gid, size, atime, mtime);
        reply_attr(reply, result);
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        match self.state().node(ino).map(|n| &n.body) {
            Ok(Body::Symlink(target)) => reply.data(target.as_os_str().as_bytes()),
            Ok(_) => reply.error(EINVAL),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let kind = match mode & libc::S_IFMT {
            0 | libc::S_IFREG => None,
            libc::S_IFIFO => Some(FileType::NamedPipe),
            libc::S_IFSOCK => Some(FileType::Socket),
            libc::S_IFCHR => Some(FileType::CharDevice),
            libc::S_IFBLK => Some(FileType::BlockDevice),
            _ => return reply.error(EINVAL),
        };
        let body = match kind {
            None => Body::File {
                data: Contents::default(),
                durable: Contents::default(),
            },
            Some(kind) => Body::Special { kind, rdev },
        };
        let meta = Meta::new(mode & !umask, req.uid(), req.gid());
        reply_entry(reply, self.state().create(parent, name, body, meta));
    }

    fn mkdir(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let body = Body::Dir {
            entries: BTreeMap::new(),
            durable: BTreeMap::new(),
            parent,
        };
        let meta = Meta::new(mode & !umask, req.uid(), req.gid());
        reply_entry(reply, self.state().create(parent, name, body, meta));
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(reply, self.state().remove(parent, name, false));
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(reply, self.state().remove(parent, name, true));
    }

    fn symlink(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let body = Body::Symlink(target.to_owned());
        let meta = Meta::new(0o777, req.uid(), req.gid());
        reply_entry(reply, self.state().create(parent, link_name, body, meta));
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        let result = self.state().rename(parent, name, newparent, newname, flags);
        reply_empty(reply, result);
    }

    fn link(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        newparent: u64,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply_entry(reply, self.state().link(ino, newparent, newname));
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, _flags: i32, reply: ReplyOpen) {
        let mut state = self.state();
        let result = match state.node(ino) {
            Ok(node) if node.is_dir() => Err(EISDIR),
            Ok(_) => state.open(ino),
            Err(e) => Err(e),
        };
        reply_open(reply, result);
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let Ok(offset) = u64::try_from(offset) else {
            return reply.error(EINVAL);
        };
        match self.state().node(ino).map(|n| &n.body) {
            Ok(Body::File { data, .. }) => reply.data(&data.read(offset, size as usize)),
            Ok(Body::Dir { .. }) => reply.error(EISDIR),
            Ok(_) => reply.error(EINVAL),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        match self.state().write(ino, offset, data) {
            Ok(written) => reply.written(written),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        _fh: u64,
        _lock_owner: u64,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.state().release(ino);
        reply.ok();
    }

    fn fsync(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply_empty(reply, self.state().sync(ino));
    }

    fn opendir(&mut self, _req: &Request<'_>, ino: u64, _flags: i32, reply: ReplyOpen) {
        let mut state = self.state();
        let result = state.listing(ino).and_then(|listing| {
            let fh = state.open(ino)?;
            state.listings.insert(fh, listing);
            Ok(fh)
        });
        reply_open(reply, result);
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let mut state = self.state();
        // Entries come from the listing taken at opendir (so that removing
        // entries while reading does not make the reader skip others), taken
        // again when reading from the start (rewinddir).
        if offset == 0 || !state.listings.contains_key(&fh) {
            match state.listing(ino) {
                Ok(listing) => {
                    state.listings.insert(fh, listing);
                }
                Err(e) => return reply.error(e),
            }
        }
        let listing = &state.listings[&fh];
        let start = usize::try_from(offset).unwrap_or(0);
        for (i, (child, kind, name)) in listing.iter().enumerate().skip(start) {
            if reply.add(*child, i as i64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        fh: u64,
        _flags: i32,
        reply: ReplyEmpty,
    ) {
        let mut state = self.state();
        state.listings.remove(&fh);
        state.release(ino);
        reply.ok();
    }

    fn fsyncdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply_empty(reply, self.state().sync_dir(ino));
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        let (blocks, bfree, files, ffree) = self.state().statfs();
        reply.statfs(blocks, bfree, bfree, files, ffree, BLOCK, 255, BLOCK);
    }

    fn access(&mut self, req: &Request<'_>, ino: u64, mask: i32, reply: ReplyEmpty) {
        // Only called without `default_permissions`; kept for completeness.
        let state = self.state();
        let node = match state.node(ino) {
            Ok(node) => node,
            Err(e) => return reply.error(e),
        };
        let perm = u32::from(node.meta.perm);
        let granted = if req.uid() == 0 {
            // Root may do anything but execute a file with no execute bit.
            let exec = node.is_dir() || perm & 0o111 != 0;
            libc::R_OK | libc::W_OK | if exec { libc::X_OK } else { 0 }
        } else {
            let bits = if req.uid() == node.meta.uid {
                perm >> 6
            } else if req.gid() == node.meta.gid {
                perm >> 3
            } else {
                perm
            };
            (bits & 0o7) as i32
        };
        if mask & !granted & (libc::R_OK | libc::W_OK | libc::X_OK) == 0 {
            reply.ok();
        } else {
            reply.error(libc::EACCES);
        }
    }

    fn create(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let body = Body::File {
            data: Contents::default(),
            durable: Contents::default(),
        };
        let meta = Meta::new(mode & !umask, req.uid(), req.gid());
        let mut state = self.state();
        let result = state.create(parent, name, body, meta).and_then(|attr| {
            let fh = state.open(attr.ino)?;
            Ok((attr, fh))
        });
        match result {
            Ok((attr, fh)) => reply.created(&TTL, &attr, 0, fh, 0),
            Err(e) => reply.error(e),
        }
    }

    fn fallocate(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        length: i64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        reply_empty(reply, self.state().fallocate(ino, offset, length, mode));
    }

    fn lseek(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        // The kernel asks only for SEEK_DATA and SEEK_HOLE; a file is all
        // data, with the one hole at its end.
        let len = match self.state().node(ino).map(|n| &n.body) {
            Ok(Body::File { data, .. }) => data.len as i64,
            Ok(_) => return reply.error(EINVAL),
            Err(e) => return reply.error(e),
        };
        match whence {
            _ if offset < 0 => reply.error(EINVAL),
            libc::SEEK_DATA | libc::SEEK_HOLE if offset >= len => reply.error(ENXIO),
            libc::SEEK_DATA => reply.offset(offset),
            libc::SEEK_HOLE => reply.offset(len),
            _ => reply.error(EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File, OpenOptions};
    use std::io::{ErrorKind, Write};
    use std::os::unix::fs::{FileExt, PermissionsExt};

    /// A power-cut file system on a fresh temporary folder; the mount is
    /// dropped before the folder.
    struct Mounted {
        fs: PowerCutFs,
        _dir: tempfile::TempDir,
    }

    fn mounted() -> Mounted {
        if let Some(reason) = unavailable_reason() {
            panic!("the power-cut file system cannot run on this machine: {reason}");
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        let fs = PowerCutFs::mount(dir.path()).expect("mounting");
        Mounted { fs, _dir: dir }
    }

    fn sync_dir(path: &Path) {
        File::open(path)
            .and_then(|dir| dir.sync_all())
            .unwrap_or_else(|e| panic!("syncing the folder {}: {e}", path.display()));
    }

    fn cut(fs: &mut PowerCutFs) -> CutReport {
        let report = fs.cut().expect("the power cut");
        println!("{report}");
        report
    }

    #[test]
    fn synced_bytes_survive_and_later_ones_do_not() {
        let Mounted { mut fs, _dir } = mounted();
        let root = fs.mountpoint().to_owned();
        let path = root.join("log");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"durable").unwrap();
        file.sync_data().unwrap();
        sync_dir(&root);
        file.write_all(b" volatile").unwrap();
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), b"durable volatile");

        let report = cut(&mut fs);
        assert_eq!(fs::read(&path).unwrap(), b"durable");
        assert_eq!(fs::metadata(&path).unwrap().len(), 7);
        assert_eq!(report.bytes_dropped, 9);
        assert_eq!(report.files_reverted, 1);
        assert!(report.names_dropped.is_empty(), "{report}");

        // The file goes on from its durable state, and a second cut with
        // nothing unsynced changes nothing.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b" again").unwrap();
        file.sync_data().unwrap();
        drop(file);
        let report = cut(&mut fs);
        assert_eq!(fs::read(&path).unwrap(), b"durable again");
        assert_eq!(report, CutReport::default());
    }

    #[test]
    fn a_synced_file_in_an_unsynced_folder_is_lost() {
        let Mounted { mut fs, _dir } = mounted();
        let root = fs.mountpoint().to_owned();
        let path = root.join("ghost");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"boo").unwrap();
        file.sync_all().unwrap();
        drop(file);
        assert!(path.exists());

        let report = cut(&mut fs);
        assert!(!path.exists());
        assert_eq!(report.names_dropped, [PathBuf::from("ghost")]);
        assert_eq!(report.nodes_dropped, 1);
    }

    #[test]
    fn a_rename_is_durable_once_its_folder_is_synced() {
        let Mounted { mut fs, _dir } = mounted();
        let root = fs.mountpoint().to_owned();
        let current = root.join("current");
        let temporary = root.join("current.tmp");
        let write_synced = |path: &Path, bytes: &[u8]| {
            let mut file = File::create(path).unwrap();
            file.write_all(bytes).unwrap();
            file.sync_all().unwrap();
        };
        write_synced(&current, b"old");
        sync_dir(&root);

        write_synced(&temporary, b"new");
        fs::rename(&temporary, &current).unwrap();
        assert_eq!(fs::read(&current).unwrap(), b"new");
        let report = cut(&mut fs);
        assert_eq!(fs::read(&current).unwrap(), b"old");
        assert!(!temporary.exists());
        assert_eq!(report.names_dropped, [PathBuf::from("current")]);
        assert_eq!(report.names_restored, [PathBuf::from("current")]);

        write_synced(&temporary, b"new");
        fs::rename(&temporary, &current).unwrap();
        sync_dir(&root);
        let report = cut(&mut fs);
        assert_eq!(fs::read(&current).unwrap(), b"new");
        assert!(!temporary.exists());
        assert!(report.names_dropped.is_empty(), "{report}");
        let names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["current"]);
    }

    #[test]
    fn an_unlink_is_undone_unless_its_folder_is_synced() {
        let Mounted { mut fs, _dir } = mounted();
        let root = fs.mountpoint().to_owned();
        let path = root.join("kept");
        fs::write(&path, b"contents").unwrap();
        File::open(&path).unwrap().sync_all().unwrap();
        sync_dir(&root);

        fs::remove_file(&path).unwrap();
        assert_eq!(
            fs::read(&path).unwrap_err().kind(),
            ErrorKind::NotFound,
            "unlinked"
        );
        let report = cut(&mut fs);
        assert_eq!(fs::read(&path).unwrap(), b"contents");
        assert_eq!(report.names_restored, [PathBuf::from("kept")]);

        fs::remove_file(&path).unwrap();
        sync_dir(&root);
        let report = cut(&mut fs);
        assert!(!path.exists());
        assert!(report.names_restored.is_empty(), "{report}");
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
    }

    #[test]
    fn folders_modes_truncation_and_holes() {
        let Mounted { mut fs, _dir } = mounted();
        let root = fs.mountpoint().to_owned();
        let deep = root.join("a/b/c");
        fs::create_dir_all(&deep).unwrap();
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("one"), b"1").unwrap();
        fs::write(deep.join("two"), b"2").unwrap();
        fs::write(root.join("a/x"), b"0123456789").unwrap();
        fs::create_dir(root.join("a/empty")).unwrap();

        let mut names: Vec<_> = fs::read_dir(root.join("a"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), e.file_type().unwrap().is_dir())
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("b".into(), true),
                ("empty".into(), true),
                ("x".into(), false)
            ]
        );

        // The errors programs look at.
        assert_eq!(
            fs::create_dir(root.join("a")).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            File::open(root.join("nothing")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::remove_dir(root.join("a/b")).unwrap_err().raw_os_error(),
            Some(ENOTEMPTY)
        );
        assert_eq!(
            fs::remove_dir(root.join("a/x")).unwrap_err().raw_os_error(),
            Some(ENOTDIR)
        );
        assert_eq!(
            fs::remove_file(root.join("a/b"))
                .unwrap_err()
                .raw_os_error(),
            Some(EISDIR)
        );
        assert_eq!(
            File::create_new(root.join("a/x")).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );

        // chmod, visible in the metadata.
        let x = root.join("a/x");
        fs::set_permissions(&x, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            fs::metadata(&x).unwrap().permissions().mode() & 0o7777,
            0o600
        );

        // Truncation and growth, with zeros.
        let file = OpenOptions::new().read(true).write(true).open(&x).unwrap();
        file.set_len(4).unwrap();
        assert_eq!(fs::read(&x).unwrap(), b"0123");
        file.set_len(6).unwrap();
        assert_eq!(fs::read(&x).unwrap(), b"0123\0\0");
        // Writes and reads at offsets, across pieces, leaving a hole.
        let far = 3 * CHUNK as u64 + 10;
        file.write_all_at(b"far", far).unwrap();
        assert_eq!(file.metadata().unwrap().len(), far + 3);
        let mut buf = vec![1; 8];
        file.read_exact_at(&mut buf, far - 5).unwrap();
        assert_eq!(buf, b"\0\0\0\0\0far");
        let spanning = vec![7u8; CHUNK + 100];
        file.write_all_at(&spanning, CHUNK as u64 - 50).unwrap();
        let mut back = vec![0; CHUNK + 100];
        file.read_exact_at(&mut back, CHUNK as u64 - 50).unwrap();
        assert!(back == spanning);
        file.sync_all().unwrap();
        drop(file);

        // Removal, then everything made durable survives a cut.
        fs::remove_dir(root.join("a/empty")).unwrap();
        fs::remove_file(deep.join("two")).unwrap();
        for dir in [&root, &root.join("a"), &root.join("a/b"), &deep] {
            sync_dir(dir);
        }
        let report = cut(&mut fs);
        assert_eq!(report.names_dropped.len(), 0, "{report}");
        assert_eq!(
            fs::metadata(&x).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        assert_eq!(fs::metadata(&x).unwrap().len(), far + 3);
        assert!(!root.join("a/empty").exists());
        // The file "one" was never synced: its name survives, empty.
        assert_eq!(fs::read(deep.join("one")).unwrap(), b"");
        assert!(!deep.join("two").exists());

        fs::remove_dir_all(root.join("a")).unwrap();
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
    }

    #[test]
    fn a_cut_is_refused_while_a_file_is_open() {
        let Mounted { mut fs, _dir } = mounted();
        let path = fs.mountpoint().join("open");
        let file = File::create(&path).unwrap();
        let error = fs.cut().unwrap_err();
        assert_eq!(
            error.raw_os_error(),
            None,
            "a message with context: {error}"
        );
        assert!(
            error.to_string().contains("Device or resource busy"),
            "{error}"
        );
        // Nothing changed, and the mount still answers.
        assert!(path.exists());
        drop(file);
        let report = cut(&mut fs);
        assert!(!path.exists());
        assert_eq!(report.names_dropped, [PathBuf::from("open")]);
    }

    #[test]
    fn sled_runs_on_it() {
        let Mounted { fs, _dir } = mounted();
        let path = fs.mountpoint().join("db");
        {
            let db = sled::open(&path).expect("opening sled");
            for i in 0..2000u32 {
                db.insert(i.to_be_bytes(), vec![(i % 251) as u8; 100])
                    .unwrap();
            }
            db.remove(7u32.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        // sled's flusher thread lets go of the file lock a moment after the
        // handle is dropped: wait for it, as the server's store does.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let db = loop {
            match sled::open(&path) {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other.expect("reopening sled"),
            }
        };
        assert_eq!(db.len(), 1999);
        assert_eq!(db.get(7u32.to_be_bytes()).unwrap(), None);
        assert_eq!(
            db.get(1000u32.to_be_bytes()).unwrap().as_deref(),
            Some(&[(1000 % 251) as u8; 100][..])
        );
        drop(db);
    }
}
