//! From the older layout — entries, Merkle nodes and the origin in the one
//! sled tree — to segment files.
//!
//! The entries are copied in log order into segments in a folder beside the
//! final one (`entries.migrating`), synced, and the origin with them; the
//! folder is then renamed into place and its parent synced. Then the index
//! is compacted ([`compact_index`]): what sled keeps now (ids, the published
//! checkpoint, cosignatures) is copied into a new sled folder that replaces
//! the old one, since sled 0.34 would keep the space of a million deleted
//! entries for a long time. A crash before the first rename leaves the old
//! store as it was (the half-made folder is made again); a crash after it
//! leaves an old index that start-up compacts in the same way, and folders
//! it removes ([`clean_leftovers`]).

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
    tracing::info!(
        entries = size,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "moved the log's entries from the sled tree into segment files"
    );
    Ok(Some(size))
}

/// Replaces the index `db` (in folder `index`) by a new one holding only
/// what the index keeps now, and opens it.
pub fn compact_index(
    db: sled::Db,
    index: &Path,
    config: impl Fn(&Path) -> sled::Config,
) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    let (fresh_dir, legacy_dir) = leftover_dirs(index);
    if fresh_dir.exists() {
        std::fs::remove_dir_all(&fresh_dir)?;
    }
    {
        let fresh = config(&fresh_dir).open()?;
        let mut batch = sled::Batch::default();
        let mut pending = 0;
        for item in db.iter() {
            let (key, value) = item?;
            let legacy = key
                .first()
                .is_some_and(|k| layout::LEGACY_PREFIXES.contains(k))
                || &key[..] == layout::LEGACY_ORIGIN;
            if legacy {
                continue;
            }
            batch.insert(key, value);
            pending += 1;
            if pending == 10_000 {
                fresh.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        fresh.apply_batch(batch)?;
        fresh.flush()?;
    }
    drop(db);
    std::fs::rename(index, &legacy_dir)?;
    std::fs::rename(&fresh_dir, index)?;
    fsync::sync_parent(index)?;
    std::fs::remove_dir_all(&legacy_dir)?;
    let db = open_when_unlocked(index, &config)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "compacted the sled index after the move"
    );
    Ok(db)
}

/// Opens sled at `dir`, waiting (up to 10 s) while the background thread
/// of a handle just dropped still holds its lock.
fn open_when_unlocked(
    dir: &Path,
    config: &impl Fn(&Path) -> sled::Config,
) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match config(dir).open() {
            Err(e) if held_by_a_dropped_handle(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

/// The folders [`compact_index`] makes beside `index`: the new index while
/// it is filled, the old one while it is removed.
fn leftover_dirs(index: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    (
        index.with_extension("compact"),
        index.with_extension("legacy"),
    )
}

/// Removes what a crash in the middle of [`compact_index`] left beside
/// `index` (once the segments hold the log, neither is needed).
pub fn clean_leftovers(index: &Path) -> Result<(), StoreError> {
    let (fresh_dir, legacy_dir) = leftover_dirs(index);
    for dir in [fresh_dir, legacy_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(())
}

/// Whether opening sled failed only because a handle dropped a moment ago
/// still holds the folder's lock (its background thread has not ended).
pub fn held_by_a_dropped_handle(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// Whether the index still holds what the older layout kept in sled (after
/// a move that a crash interrupted before the compaction ended).
pub fn has_legacy_keys(db: &sled::Db) -> Result<bool, StoreError> {
    for prefix in layout::LEGACY_PREFIXES {
        if db.scan_prefix([prefix]).next().transpose()?.is_some() {
            return Ok(true);
        }
    }
    Ok(db.contains_key(layout::LEGACY_ORIGIN)?)
}

fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(format!("moving the older store into segments: {msg}"))
}
