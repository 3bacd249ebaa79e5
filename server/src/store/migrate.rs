//! From the older layout — entries, Merkle nodes and the origin in the one
//! sled tree — to segment files.
//!
//! The entries are copied in log order into segments in a folder beside the
//! final one (`entries.migrating`), synced, and the origin with them; the
//! folder is then renamed into place and its parent synced. Only then are
//! the old keys removed from sled. A crash before the rename leaves the old
//! store as it was (the half-made folder is made again); a crash after it
//! leaves old keys that the next start removes.

use std::path::Path;

use super::layout;
use super::segments::Segments;
use super::StoreError;
use crate::fsync;

/// Entries copied per append while migrating.
const CHUNK: usize = 4096;

/// Moves a store of the older layout into segment files in `entries`.
/// `Ok(None)`: there was nothing to move (a new store).
pub fn to_segments(
    db: &sled::Db,
    entries: &Path,
    segment_bytes: u64,
) -> Result<Option<u64>, StoreError> {
    let size = super::published_size(db)?;
    let origin = db.get(layout::LEGACY_ORIGIN)?;
    if size == 0 && origin.is_none() && db.scan_prefix([b'e']).next().is_none() {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let tmp = entries.with_extension("migrating");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    let (segments, _) = Segments::open(&tmp, segment_bytes, 0)?;
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut next = 0u64;
    for item in db.scan_prefix([b'e']) {
        let (key, value) = item?;
        let index = layout::be_u64(&key[1..]).ok_or_else(|| corrupt("bad entry key".into()))?;
        if index != next {
            return Err(corrupt(format!("entry {next} is missing")));
        }
        chunk.push((index, value.to_vec()));
        next += 1;
        if chunk.len() == CHUNK {
            segments.append(&chunk)?;
            chunk.clear();
        }
    }
    segments.append(&chunk)?;
    if next != size {
        return Err(corrupt(format!(
            "the store says {size} entries but holds {next}"
        )));
    }
    if let Some(origin) = origin {
        fsync::replace_file(&tmp.join(layout::ORIGIN_FILE), &origin)?;
    }
    drop(segments);
    std::fs::rename(&tmp, entries)?;
    fsync::sync_parent(entries)?;
    drop_legacy_keys(db)?;
    tracing::info!(
        entries = size,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "moved the log's entries from the sled tree into segment files"
    );
    Ok(Some(size))
}

/// Removes what the older layout kept in sled (after a migration, or what a
/// crash in the middle of one left).
pub fn drop_legacy_keys(db: &sled::Db) -> Result<(), StoreError> {
    let mut removed = false;
    for prefix in layout::LEGACY_PREFIXES {
        loop {
            let keys: Vec<_> = db
                .scan_prefix([prefix])
                .keys()
                .take(10_000)
                .collect::<Result<_, _>>()?;
            if keys.is_empty() {
                break;
            }
            let mut batch = sled::Batch::default();
            for k in keys {
                batch.remove(k);
            }
            db.apply_batch(batch)?;
            removed = true;
        }
    }
    if db.remove(layout::LEGACY_ORIGIN)?.is_some() || removed {
        db.flush()?;
    }
    Ok(())
}

fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(format!("moving the older store into segments: {msg}"))
}
