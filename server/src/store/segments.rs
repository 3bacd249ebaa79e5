//! The log's entries in append-only segment files: the record of truth.
//!
//! A segment is a file `<first index, 20 digits>.log` in the entries folder,
//! holding consecutive [`record`]s. Only the sequencer appends, through
//! [`Segments::append`]: one `pwrite` of the whole batch, then one
//! `fdatasync`, and only then do the new entries become readable (and the
//! receipts leave). A segment grows to about `max_bytes`; the next batch then
//! starts a new file, and the folder is synced so that its name survives a
//! power cut.
//!
//! On open every segment is read through once ([`Segments::open`], on every
//! core): each record's checksum and index are checked and its leaf hash
//! computed, and the start of each record is kept in memory (8 bytes per
//! entry) so that any entry is then one `pread`. A torn tail — a record of
//! the last segment cut short, or one that fails its checksum with nothing
//! but zeros or the end of the file after it — is what a crash in the middle
//! of an append leaves behind: it is cut off and reported, since its batch
//! was never acknowledged. Damage anywhere else stops the server.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use entente_shared::merkle::{leaf_hash, Hash};

use super::record::{self, Header, HEADER};
use super::StoreError;
use crate::fsync;

/// The entries of the log, in segment files (cheap to share behind an `Arc`).
pub struct Segments {
    dir: PathBuf,
    max_bytes: u64,
    index: RwLock<Vec<Segment>>,
    writer: Mutex<Writer>,
}

/// One segment as readers see it: only records already synced are listed.
struct Segment {
    first: u64,
    file: Arc<File>,
    /// Where each record starts.
    offsets: Vec<u64>,
    /// Where the last synced record ends.
    end: u64,
}

/// The last segment, as the sequencer appends to it.
struct Writer {
    file: Arc<File>,
    len: u64,
    next: u64,
}

/// A torn tail found and cut off on open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub segment: PathBuf,
    /// Where the last complete record ended: the file's length now.
    pub at: u64,
    /// Bytes removed.
    pub bytes: u64,
}

/// What opening the segments found.
pub struct Scanned {
    /// The leaf hash of every entry, in order.
    pub leaves: Vec<Hash>,
    pub torn: Option<TornTail>,
}

/// One segment read through.
struct SegmentScan {
    offsets: Vec<u64>,
    leaves: Vec<Hash>,
    end: u64,
    torn: Option<u64>,
}

impl Segments {
    /// Opens the segments in `dir` (creating the folder and a first, empty
    /// segment for a new log), checking every record; segments roll over at
    /// about `max_bytes`. The first `acknowledged` entries were published
    /// (so synced): damage to any of them is never taken for a torn tail.
    pub fn open(
        dir: &Path,
        max_bytes: u64,
        acknowledged: u64,
    ) -> Result<(Segments, Scanned), StoreError> {
        fsync::create_dir_all(dir)?;
        let mut names = segment_files(dir)?;
        if names.is_empty() {
            create_segment(dir, 0)?;
            names.push(0);
        }
        let scans = scan_all(dir, &names, acknowledged)?;
        let mut segments = Vec::with_capacity(names.len());
        let mut leaves = Vec::new();
        let mut torn = None;
        let mut next = 0u64;
        let count = names.len();
        for (i, (first, scan)) in names.into_iter().zip(scans).enumerate() {
            let path = segment_path(dir, first);
            if first != next {
                return Err(StoreError::Corrupt(format!(
                    "{} starts at entry {first}; entry {next} was expected there",
                    path.display()
                )));
            }
            let file = OpenOptions::new().read(true).write(true).open(&path)?;
            if let Some(len) = scan.torn {
                debug_assert_eq!(i + 1, count, "only the last segment may be torn");
                file.set_len(scan.end)?;
                file.sync_all()?;
                torn = Some(TornTail {
                    segment: path,
                    at: scan.end,
                    bytes: len - scan.end,
                });
            }
            next += scan.offsets.len() as u64;
            leaves.extend(scan.leaves);
            segments.push(Segment {
                first,
                file: Arc::new(file),
                offsets: scan.offsets,
                end: scan.end,
            });
        }
        let last = segments.last().expect("at least one segment");
        let writer = Writer {
            file: last.file.clone(),
            len: last.end,
            next,
        };
        Ok((
            Segments {
                dir: dir.to_owned(),
                max_bytes,
                index: RwLock::new(segments),
                writer: Mutex::new(writer),
            },
            Scanned { leaves, torn },
        ))
    }

    /// Entries held (synced).
    pub fn len(&self) -> u64 {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        index.last().map_or(0, |s| s.first + s.offsets.len() as u64)
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the segment files take.
    pub fn bytes(&self) -> u64 {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        index.iter().map(|s| s.end).sum()
    }

    /// The record of entry `index` (header included), checked; `None` if the
    /// log does not hold it yet.
    pub fn read(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let (file, start, end) = {
            let segments = self.index.read().unwrap_or_else(|p| p.into_inner());
            let Some(at) = segments
                .partition_point(|s| s.first <= index)
                .checked_sub(1)
            else {
                return Ok(None);
            };
            let s = &segments[at];
            let k = (index - s.first) as usize;
            let Some(&start) = s.offsets.get(k) else {
                return Ok(None);
            };
            let end = s.offsets.get(k + 1).copied().unwrap_or(s.end);
            (s.file.clone(), start, end)
        };
        let mut buf = vec![0u8; (end - start) as usize];
        file.read_exact_at(&mut buf, start)?;
        let intact = buf
            .get(..HEADER)
            .and_then(|h| Header::parse(h.try_into().ok()?))
            .is_some_and(|h| h.index == index && h.matches(&buf[HEADER..]));
        if !intact {
            return Err(StoreError::Corrupt(format!(
                "entry {index} fails its checksum in the segment files"
            )));
        }
        Ok(Some(buf))
    }

    /// Appends `entries` (consecutive, starting at [`Segments::len`]) with
    /// one write and one `fdatasync`; they are readable once it returns.
    /// Sequencer thread only.
    pub fn append(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), StoreError> {
        let Some(&(first, _)) = entries.first() else {
            return Ok(());
        };
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if first != writer.next {
            return Err(StoreError::Corrupt(format!(
                "appending entry {first} where entry {} is next",
                writer.next
            )));
        }
        let total: usize = entries
            .iter()
            .map(|(_, b)| record::framed_len(b.len()))
            .sum();
        if writer.len > 0 && writer.len + total as u64 > self.max_bytes {
            self.roll(&mut writer)?;
        }
        let mut buf = Vec::with_capacity(total);
        let mut offsets = Vec::with_capacity(entries.len());
        for (i, (index, bytes)) in entries.iter().enumerate() {
            if *index != first + i as u64 {
                return Err(StoreError::Corrupt(format!(
                    "a batch skips from entry {} to {index}",
                    first + i as u64 - 1
                )));
            }
            offsets.push(writer.len + buf.len() as u64);
            record::encode(*index, bytes, &mut buf);
        }
        writer.file.write_all_at(&buf, writer.len)?;
        writer.file.sync_data()?;
        writer.len += buf.len() as u64;
        writer.next += entries.len() as u64;
        let mut segments = self.index.write().unwrap_or_else(|p| p.into_inner());
        let last = segments.last_mut().expect("at least one segment");
        last.offsets.extend(offsets);
        last.end = writer.len;
        Ok(())
    }

    /// Starts a new segment at the next index.
    fn roll(&self, writer: &mut Writer) -> Result<(), StoreError> {
        let file = Arc::new(create_segment(&self.dir, writer.next)?);
        self.index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Segment {
                first: writer.next,
                file: file.clone(),
                offsets: Vec::new(),
                end: 0,
            });
        writer.file = file;
        writer.len = 0;
        Ok(())
    }
}

/// The path of the segment whose first entry is `first`.
pub fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.log"))
}

/// Creates an empty segment and makes its name durable.
fn create_segment(dir: &Path, first: u64) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(segment_path(dir, first))?;
    fsync::sync_dir(dir)?;
    Ok(file)
}

/// The first indexes of the segment files in `dir`, in order.
fn segment_files(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut firsts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first) = name
            .strip_suffix(".log")
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok())
        {
            firsts.push(first);
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

/// Reads every segment through, spread over the cores (each thread takes
/// every n-th segment), in segment order.
fn scan_all(dir: &Path, firsts: &[u64], acknowledged: u64) -> Result<Vec<SegmentScan>, StoreError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let last = firsts.len() - 1;
    let mut results: Vec<Option<Result<SegmentScan, StoreError>>> =
        (0..firsts.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..firsts.len())
                        .step_by(threads)
                        .map(|i| {
                            let path = segment_path(dir, firsts[i]);
                            (i, scan(&path, firsts[i], i == last, acknowledged))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            let done = h.join().unwrap_or_default();
            for (i, r) in done {
                results[i] = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Corrupt("a scanning thread failed".into()))))
        .collect()
}

/// How reading a record ended, when it did not yield one.
enum Stop {
    /// The file ended exactly at a record boundary.
    End,
    /// The file ended inside a record.
    Short,
    /// A record that is not what it should be; `len` is the payload length
    /// its header claims, when the header is readable.
    Bad { why: String, len: Option<usize> },
    /// Reading failed.
    Io(std::io::Error),
}

/// Reads one segment through: offsets, leaf hashes, where the good records
/// end. Only the last segment may end in a torn tail, and only after the
/// `acknowledged` entries.
fn scan(
    path: &Path,
    first: u64,
    is_last: bool,
    acknowledged: u64,
) -> Result<SegmentScan, StoreError> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(1 << 20, &file);
    let mut out = SegmentScan {
        offsets: Vec::new(),
        leaves: Vec::new(),
        end: 0,
        torn: None,
    };
    let mut payload = Vec::new();
    loop {
        let index = first + out.offsets.len() as u64;
        let stop = match next_record(&mut reader, index, &mut payload) {
            Ok(()) => {
                out.offsets.push(out.end);
                out.leaves.push(leaf_hash(&payload));
                out.end += record::framed_len(payload.len()) as u64;
                continue;
            }
            Err(stop) => stop,
        };
        let may_tear = is_last && index >= acknowledged;
        match stop {
            Stop::End => return Ok(out),
            Stop::Io(e) => return Err(e.into()),
            Stop::Short if may_tear => {}
            // The last record of the file, or one followed only by zeros.
            Stop::Bad { len: claimed, .. }
                if may_tear
                    && (claimed.is_some_and(|n| out.end + record::framed_len(n) as u64 >= len)
                        || zeros_from(&file, out.end, len)?) => {}
            Stop::Short => {
                return Err(StoreError::Corrupt(format!(
                "{} ends inside entry {index}, which was published or is followed by more segments",
                path.display()
            )))
            }
            Stop::Bad { why, .. } => {
                return Err(StoreError::Corrupt(format!(
                    "{} at byte {}: entry {index} {why}",
                    path.display(),
                    out.end
                )))
            }
        }
        out.torn = Some(len);
        return Ok(out);
    }
}

/// Reads the record of entry `index` into `payload`.
fn next_record(reader: &mut impl Read, index: u64, payload: &mut Vec<u8>) -> Result<(), Stop> {
    let mut head = [0u8; HEADER];
    match read_full(reader, &mut head).map_err(Stop::Io)? {
        0 => return Err(Stop::End),
        n if n < HEADER => return Err(Stop::Short),
        _ => {}
    }
    let header = Header::parse(&head).ok_or(Stop::Bad {
        why: "claims an impossible length".into(),
        len: None,
    })?;
    payload.resize(header.len, 0);
    if read_full(reader, payload).map_err(Stop::Io)? < header.len {
        return Err(Stop::Short);
    }
    let bad = |why: String| Stop::Bad {
        why,
        len: Some(header.len),
    };
    if header.index != index {
        return Err(bad(format!("is labelled entry {}", header.index)));
    }
    if !header.matches(payload) {
        return Err(bad("fails its checksum".into()));
    }
    Ok(())
}

/// Reads until `buf` is full or the input ends; bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Whether bytes `from..len` of `file` are all zero (space a crash
/// allocated but never filled).
fn zeros_from(file: &File, from: u64, len: u64) -> Result<bool, StoreError> {
    let mut buf = vec![0u8; 1 << 16];
    let mut at = from;
    while at < len {
        let n = ((len - at) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], at)?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}
