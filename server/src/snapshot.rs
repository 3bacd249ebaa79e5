//! Fold snapshots: the folded state saved beside the log, so that start-up
//! restores it instead of replaying (and re-verifying) every entry.
//!
//! A snapshot is one file, `fold.snapshot` in the data folder:
//!
//! ```text
//! entente-fold-snapshot v1 <fold version> <size> <root hex> <sha256 hex of the body>\n
//! <the Ledger as JSON>
//! ```
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

use entente_shared::ledger::{Ledger, FOLD_VERSION};
use entente_shared::merkle::Hash;
use ring::digest::{digest, SHA256};

/// First word of a snapshot file.
const MAGIC: &str = "entente-fold-snapshot v1";
/// The header line is short; anything longer is not a snapshot.
const MAX_HEADER: u64 = 256;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Entries folded into it.
    pub size: u64,
    /// The tree's root at `size`.
    pub root: Hash,
    digest: [u8; 32],
}

impl Header {
    fn line(&self) -> String {
        format!(
            "{MAGIC} {FOLD_VERSION} {} {} {}\n",
            self.size,
            hex::encode(self.root),
            hex::encode(self.digest)
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
        Ok(Header { size, root, digest })
    }
}

/// Writes `ledger` (the fold of the first `ledger.size()` entries, whose
/// tree root is `root`) to `path`, replacing any earlier snapshot atomically.
pub fn save(path: &Path, ledger: &Ledger, root: Hash) -> Result<Header, SnapshotError> {
    let body = serde_json::to_vec(ledger).map_err(|e| SnapshotError::Unusable(e.to_string()))?;
    let header = Header {
        size: ledger.size(),
        root,
        digest: digest(&SHA256, &body)
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes"),
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
        file.write_all(&body)?;
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
    let ledger: Ledger =
        serde_json::from_slice(body).map_err(|e| SnapshotError::Unusable(e.to_string()))?;
    if ledger.size() != header.size {
        return Err(SnapshotError::Unusable(format!(
            "the header says {} entries, the fold holds {}",
            header.size,
            ledger.size()
        )));
    }
    Ok(Some((header, ledger)))
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
        assert_eq!(header(&path), Some(saved));
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
