//! The log as static files (C2SP tlog-tiles): `tile/<L>/<N>[.p/<W>]` and the
//! latest `checkpoint`, written to `tiles_dir` as the log commits, so that
//! any web server, object store or CDN can serve proofs to any number of
//! readers without the log server (`docs/protocol.md`, "Static tiles").
//!
//! Only hashes and the checkpoint are written, never entry bundles: the
//! folder is public by design (files 0644, folders 0755), and an entry's
//! envelope carries who it is for even when its body is sealed.
//!
//! A thread waits on [`Head`] and, for each change, writes the tiles the tree
//! grew into, then replaces `checkpoint` (with its cosignatures); every file
//! is written beside its name, synced, renamed over it and its folder synced,
//! so a reader never sees a half-written file or a checkpoint whose tiles are
//! missing. Partial tiles stay until the checkpoint after their full tile is
//! published, then are removed. The folder is updated at most four times a
//! second, so a busy log's commits coalesce into one update. On start the folder's checkpoint is checked
//! against the log (its root, and the tiles at its right edge): if it does
//! not match, every tile is written again.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use entente_shared::checkpoint::Checkpoint;
use entente_shared::merkle::root;
use entente_shared::note::SignedNote;
use entente_shared::tiles::{all_tiles, changed_tiles, tile_bytes, Tile};

use crate::head::Head;
use crate::store::Store;

/// Shortest time between two updates of the folder: how far its checkpoint
/// may lag the log's under load.
const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// Mode of every file written: public data.
const FILE_MODE: u32 = 0o644;
/// Mode of every folder made.
const DIR_MODE: u32 = 0o755;

/// The folder and how far it is written.
pub struct StaticTiles {
    dir: PathBuf,
    store: Store,
    /// Tree size whose tiles are all written.
    written: u64,
    /// The checkpoint text last written.
    checkpoint: String,
}

impl StaticTiles {
    /// Opens (or makes) the folder and finds how much of it can be kept.
    pub fn open(dir: &Path, store: Store) -> anyhow::Result<StaticTiles> {
        make_dir(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
            .with_context(|| format!("opening {} to readers", dir.display()))?;
        let mut tiles = StaticTiles {
            dir: dir.to_owned(),
            store,
            written: 0,
            checkpoint: String::new(),
        };
        if let Some((size, text)) = tiles.kept()? {
            tiles.written = size;
            tiles.checkpoint = text;
        } else {
            tracing::info!(dir = %dir.display(), "writing every static tile");
        }
        Ok(tiles)
    }

    /// The folder's checkpoint and its size, if the log agrees with it.
    fn kept(&self) -> anyhow::Result<Option<(u64, String)>> {
        let Ok(text) = fs::read_to_string(self.dir.join("checkpoint")) else {
            return Ok(None);
        };
        let Some(cp) = SignedNote::parse(&text)
            .ok()
            .and_then(|n| Checkpoint::from_body(&n.text).ok())
        else {
            return Ok(None);
        };
        if cp.size > self.store.size()? {
            return Ok(None);
        }
        let ours = root(&self.store, cp.size).map_err(|e| anyhow::anyhow!("{e}"))?;
        // The right edge of that tree, each level's last tile, must be there
        // whole: a crash between a tile and the checkpoint loses neither,
        // but a copied or damaged folder might.
        let mut edge: Vec<Tile> = Vec::new();
        for tile in all_tiles(cp.size) {
            match edge.last_mut() {
                Some(last) if last.level == tile.level => *last = tile,
                _ => edge.push(tile),
            }
        }
        let whole = edge
            .iter()
            .all(|t| fs::metadata(self.dir.join(t.path())).is_ok_and(|m| m.len() == t.width * 32));
        Ok((ours == cp.root && whole).then_some((cp.size, text)))
    }

    /// Brings the folder level with the store.
    pub fn update(&mut self) -> anyhow::Result<()> {
        let Some(text) = self.store.cosigned_checkpoint()? else {
            return Ok(());
        };
        if text == self.checkpoint {
            return Ok(());
        }
        let note = SignedNote::parse(&text)?;
        let size = Checkpoint::from_body(&note.text)?.size;
        let mut partials = Vec::new();
        for tile in changed_tiles(self.written, size) {
            let bytes = tile_bytes(&self.store, tile)?;
            let path = self.dir.join(tile.path());
            write_file(&path, &bytes)?;
            if tile.is_full() {
                partials.push(PathBuf::from(format!("{}.p", path.display())));
            }
        }
        self.written = self.written.max(size);
        write_file(&self.dir.join("checkpoint"), text.as_bytes())?;
        self.checkpoint = text;
        // Only now: a reader of the previous checkpoint may still want them.
        for dir in partials {
            match fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing {}", dir.display()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Starts the thread that keeps the folder level with the store.
    pub fn spawn(mut self, head: Arc<Head>) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("static-tiles".into())
            .spawn(move || {
                let mut seen = 0;
                let mut failing = false;
                loop {
                    match self.update() {
                        Ok(()) => failing = false,
                        Err(e) => {
                            if !failing {
                                tracing::warn!(error = %e, dir = %self.dir.display(), "writing static tiles failed; retrying");
                            }
                            failing = true;
                        }
                    }
                    // The store publishes its checkpoint a moment before its
                    // in-memory nodes: a miss is retried shortly.
                    let wait = if failing {
                        Duration::from_millis(100)
                    } else {
                        Duration::from_secs(60)
                    };
                    seen = head.wait_past(seen, wait);
                    // At most one update per MIN_INTERVAL: a busy log's
                    // commits coalesce, and the folder's fsyncs stay off the
                    // log's own.
                    std::thread::sleep(MIN_INTERVAL);
                }
            })?;
        Ok(())
    }
}

/// Makes `dir` and each missing parent readable by everyone (the server's
/// umask alone would make them private), each name synced.
fn make_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        make_dir(parent)?;
    }
    fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .with_context(|| format!("opening {} to readers", dir.display()))?;
    crate::fsync::sync_parent(dir).with_context(|| format!("syncing {}", dir.display()))
}

/// Replaces `path` with `bytes` (0644): written and synced beside it, then
/// renamed over it and its folder synced, so a reader (or a CDN caching an
/// "immutable" tile) never sees a file half written.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        make_dir(parent)?;
    }
    let temp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut file =
        fs::File::create(&temp).with_context(|| format!("writing {}", temp.display()))?;
    file.write_all(bytes)?;
    file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    file.sync_data()?;
    fs::rename(&temp, path).with_context(|| format!("writing {}", path.display()))?;
    crate::fsync::sync_parent(path).with_context(|| format!("syncing {}", path.display()))
}
