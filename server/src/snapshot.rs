//! Fold snapshots: the folded state saved beside the log, so that start-up
//! restores it instead of replaying (and re-verifying) every entry.
//!
//! A snapshot is one file, `fold.snapshot` in the data folder:
//!
//! ```text
//! entente-fold-snapshot v2 <fold version> <size> <root hex> <sha256 hex of the body> <part lengths>\n
//! <the fold's parts as JSON, one after the other>
//! ```
//!
//! The parts are those of `entente_shared::ledger::parts` (the roster, the
//! key sequence numbers, the audiences, the rest), their byte lengths
//! joined by commas; they are parsed on separate threads, since a fold of a
//! million keys is hundreds of megabytes of JSON. A `v1` snapshot (the whole
//! fold as one JSON document, no lengths) is still read.
//!
//! The fold version is [`FOLD_VERSION`]: a snapshot written by another
//! release is not restored (an upgrade costs one full replay).
//!
//! It is bound to the log by `size` and `root`: it is used only when the
//! stored tree's root at `size` is `root`, so a snapshot of another log, of a
//! fork or of a longer log than the one on disk (a rolled-back data folder)
//! is ignored and the fold is replayed from the start. The digest catches a
//! damaged file. The sequencer is the only writer: it writes a temporary
//! file, syncs it and renames it over the old one, so a crash leaves the old
//! snapshot or the new one, never half of one.
//!
//! A snapshot is as trustworthy as the data folder it sits in (whoever can
//! write it could also rewrite the store's indexes); the independent checks
//! are `entente log verify` and `entente archive verify`, which fold the log
//! themselves. `fold_snapshot_every = 0` turns snapshots off and every
//! start replays the whole log.

use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use entente_shared::ledger::parts::{self, Part, PART_COUNT};
use entente_shared::ledger::{Ledger, FOLD_VERSION};
use entente_shared::merkle::Hash;
use ring::digest::{digest, SHA256};

/// First word of a snapshot file.
const MAGIC: &str = "entente-fold-snapshot";
/// The format written: the fold in parts.
const V2: &str = "v2";
/// The format of earlier releases: the fold as one document.
const V1: &str = "v1";
/// The header line is short; anything longer is not a snapshot.
const MAX_HEADER: u64 = 512;

/// Where the snapshot of the log in `data` lives.
pub fn path_in(data: &Path) -> PathBuf {
    data.join("fold.snapshot")
}

/// Why a snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("reading the fold snapshot: {0}")]
    Io(#[from] std::io::Error),
    #[error("the fold snapshot cannot be used: {0}")]
    Unusable(String),
}

/// What a snapshot's header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Entries folded into it.
    pub size: u64,
    /// The tree's root at `size`.
    pub root: Hash,
    digest: [u8; 32],
    /// The byte length of each part (v2); `None` for a v1 snapshot.
    parts: Option<Vec<usize>>,
}

impl Header {
    /// Whether it is of the format this release writes (v2, in parts).
    pub fn is_current_format(&self) -> bool {
        self.parts.is_some()
    }

    fn line(&self) -> String {
        let lengths: Vec<String> = self.parts.iter().flatten().map(|n| n.to_string()).collect();
        format!(
            "{MAGIC} {V2} {FOLD_VERSION} {} {} {} {}\n",
            self.size,
            hex::encode(self.root),
            hex::encode(self.digest),
            lengths.join(",")
        )
    }

    fn parse(line: &str) -> Result<Header, SnapshotError> {
        let damaged = || SnapshotError::Unusable("the header line is not a snapshot header".into());
        let rest = line
            .strip_prefix(MAGIC)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(damaged)?;
        let mut words = rest.trim_end_matches('\n').split(' ');
        let mut next = || words.next().ok_or_else(damaged);
        let format = next()?;
        if format != V1 && format != V2 {
            return Err(damaged());
        }
        let version = next()?;
        if version != FOLD_VERSION {
            return Err(SnapshotError::Unusable(format!(
                "it was written by fold {version}, this is fold {FOLD_VERSION}"
            )));
        }
        let size = next()?.parse().map_err(|_| damaged())?;
        let mut root = [0u8; 32];
        hex::decode_to_slice(next()?, &mut root).map_err(|_| damaged())?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(next()?, &mut digest).map_err(|_| damaged())?;
        let parts = if format == V2 {
            let lengths = next()?
                .split(',')
                .map(|n| n.parse().map_err(|_| damaged()))
                .collect::<Result<Vec<usize>, _>>()?;
            if lengths.len() != PART_COUNT {
                return Err(damaged());
            }
            Some(lengths)
        } else {
            None
        };
        Ok(Header {
            size,
            root,
            digest,
            parts,
        })
    }
}

/// Writes `ledger` (the fold of the first `ledger.size()` entries, whose
/// tree root is `root`) to `path`, replacing any earlier snapshot atomically.
pub fn save(path: &Path, ledger: &Ledger, root: Hash) -> Result<Header, SnapshotError> {
    let parts = ledger
        .to_json_parts()
        .map_err(|e| SnapshotError::Unusable(e.to_string()))?;
    let mut hash = ring::digest::Context::new(&SHA256);
    for part in &parts {
        hash.update(part);
    }
    let header = Header {
        size: ledger.size(),
        root,
        digest: hash
            .finish()
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes"),
        parts: Some(parts.iter().map(Vec::len).collect()),
    };
    let tmp = path.with_extension("snapshot.tmp");
    {
        // 0600: the fold holds what AMBER and RED statements said, as the store does.
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(header.line().as_bytes())?;
        for part in &parts {
            file.write_all(part)?;
        }
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    crate::fsync::sync_parent(path)?;
    Ok(header)
}

/// Moves a snapshot that start-up refused out of the way (to
/// `fold.snapshot.refused`, kept for inspection), so that the next one is
/// saved as soon as the restored fold allows.
pub fn set_aside(path: &Path) -> std::io::Result<()> {
    fs::rename(path, path.with_extension("snapshot.refused"))
}

/// The header of the snapshot at `path`, if there is a readable one.
pub fn header(path: &Path) -> Option<Header> {
    let file = fs::File::open(path).ok()?;
    let mut line = String::new();
    BufReader::new(file.take(MAX_HEADER))
        .read_line(&mut line)
        .ok()?;
    Header::parse(&line).ok()
}

/// What [`load`] found: `None` when there is no snapshot, an error when
/// there is one that cannot be used.
pub type Loaded = Result<Option<(Header, Ledger)>, SnapshotError>;

/// Reads the snapshot at `path` (see [`Loaded`]).
pub fn load(path: &Path) -> Loaded {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let split = bytes
        .iter()
        .take(MAX_HEADER as usize)
        .position(|&b| b == b'\n')
        .ok_or_else(|| SnapshotError::Unusable("no header line".into()))?;
    let line = std::str::from_utf8(&bytes[..=split])
        .map_err(|_| SnapshotError::Unusable("the header line is not text".into()))?;
    let header = Header::parse(line)?;
    let body = &bytes[split + 1..];
    if digest(&SHA256, body).as_ref() != header.digest {
        return Err(SnapshotError::Unusable(
            "its contents do not match its digest".into(),
        ));
    }
    let ledger = match &header.parts {
        Some(lengths) => from_parts(body, lengths)?,
        None => serde_json::from_slice(body).map_err(|e| SnapshotError::Unusable(e.to_string()))?,
    };
    if ledger.size() != header.size {
        return Err(SnapshotError::Unusable(format!(
            "the header says {} entries, the fold holds {}",
            header.size,
            ledger.size()
        )));
    }
    Ok(Some((header, ledger)))
}

/// The fold from a v2 body, each part parsed on its own thread.
fn from_parts(body: &[u8], lengths: &[usize]) -> Result<Ledger, SnapshotError> {
    if lengths.iter().sum::<usize>() != body.len() {
        return Err(SnapshotError::Unusable(
            "its parts do not add up to its length".into(),
        ));
    }
    let mut slices = Vec::with_capacity(lengths.len());
    let mut at = 0;
    for &n in lengths {
        slices.push(&body[at..at + n]);
        at += n;
    }
    let parsed: Vec<Result<Part, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = slices
            .iter()
            .enumerate()
            .map(|(i, part)| s.spawn(move || parts::parse_part(i, part).map_err(|e| e.to_string())))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("parsing it panicked".into()))
            })
            .collect()
    });
    let parsed = parsed
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(SnapshotError::Unusable)?;
    Ledger::from_parts(parsed)
        .ok_or_else(|| SnapshotError::Unusable("its parts are out of order".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        assert!(load(&path).unwrap().is_none());
        assert!(header(&path).is_none());
        let saved = save(&path, &Ledger::new(), [7; 32]).unwrap();
        assert_eq!(header(&path), Some(saved.clone()));
        let (loaded, ledger) = load(&path).unwrap().unwrap();
        assert_eq!(loaded, saved);
        assert_eq!(ledger.size(), 0);
        assert!(!path.with_extension("snapshot.tmp").exists());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_changed_byte_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        save(&path, &Ledger::new(), [7; 32]).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(load(&path), Err(SnapshotError::Unusable(_))));
        fs::write(&path, b"not a snapshot\n{}").unwrap();
        assert!(matches!(load(&path), Err(SnapshotError::Unusable(_))));
        fs::write(&path, b"").unwrap();
        assert!(matches!(load(&path), Err(SnapshotError::Unusable(_))));
    }

    #[test]
    fn a_snapshot_of_the_one_document_format_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        let body = serde_json::to_vec(&Ledger::new()).unwrap();
        let line = format!(
            "{MAGIC} {V1} {FOLD_VERSION} 0 {} {}\n",
            hex::encode([7u8; 32]),
            hex::encode(digest(&SHA256, &body))
        );
        fs::write(&path, [line.as_bytes(), &body].concat()).unwrap();
        let (loaded, ledger) = load(&path).unwrap().unwrap();
        assert_eq!((loaded.size, loaded.root), (0, [7; 32]));
        assert!(!loaded.is_current_format());
        assert_eq!(ledger.size(), 0);
    }

    #[test]
    fn another_release_s_snapshot_is_not_restored() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        save(&path, &Ledger::new(), [7; 32]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let older = text.replacen(FOLD_VERSION, "0.0.1", 1);
        fs::write(&path, older).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("written by fold 0.0.1"), "{err}");
        assert!(header(&path).is_none());
    }
}
