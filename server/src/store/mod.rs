//! Storage: the segment files that hold the log, and the sled index beside
//! them. The only module that touches either.
//!
//! The truth is in [`segments`]: every entry, appended by the sequencer with
//! one write and one `fdatasync` per batch before any receipt leaves. sled
//! holds only what can be rebuilt from them ([`layout`]): the statement-id
//! index, the latest signed checkpoint (the high-water mark of what this
//! server has published), and witnesses' cosignatures. It is written after
//! the segment is durable and never flushed by hand; after a crash it may be
//! behind, and the start-up check ([`crate::recovery`]) brings it level. The
//! Merkle tree's nodes are in memory ([`nodes`]), computed from the entries.
//!
//! Writes happen only through [`Store::commit`], [`Store::commit_cosignatures`] and
//! the start-up calls, which only the sequencer thread (or start-up, before
//! it runs) makes. Handlers see [`Store`] and [`StoreError`], never sled.

pub mod layout;
mod migrate;
mod nodes;
pub mod record;
pub mod segments;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use entente_shared::checkpoint::Checkpoint;
use entente_shared::cosignature;
use entente_shared::dsse::Envelope;
use entente_shared::merkle::{Hash, NodeSource};
use entente_shared::note::{SignedNote, MAX_SIGNATURES};
use entente_shared::statement::StatementId;
use serde::{Deserialize, Serialize};

use crate::fsync;
pub use segments::{Segments, TornTail};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    /// The log holds fewer entries than a checkpoint this server published.
    #[error(
        "this server published a checkpoint of {published} entries, but its log now holds \
         {held}: entries were lost (a replaced disk, or a restore from an older backup). \
         Refusing to sequence: new statements would reuse indexes that witnesses and clients \
         have already seen. Put the missing segment files back in {}",
        .dir.display()
    )]
    Lost {
        published: u64,
        held: u64,
        dir: PathBuf,
    },
}

impl StoreError {
    /// Whether the store's contents are refused (damaged, or shorter than
    /// what was published), as opposed to failing to be read.
    pub fn is_refusal(&self) -> bool {
        matches!(self, StoreError::Corrupt(_) | StoreError::Lost { .. })
    }
}

/// One group commit: new entries, the Merkle nodes they complete, the new
/// size and its signed checkpoint.
#[derive(Default)]
pub struct CommitBatch {
    pub entries: Vec<(u64, StatementId, Vec<u8>)>,
    pub nodes: Vec<(u8, u64, Hash)>,
    pub size: u64,
    pub checkpoint: String,
    /// Cosignatures that arrived with this batch (outside the log).
    pub cosignatures: Vec<NewCosignature>,
}

/// A witness's cosignature as stored (see [`layout`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCosignature {
    /// The checkpoint body (note text) it covers.
    pub body: String,
    /// The signature line, newline included.
    pub line: String,
    /// The cosignature's own timestamp (Unix seconds).
    pub timestamp: u64,
}

/// A cosignature to store: tree size, delegation code, what it covers.
pub struct NewCosignature {
    pub size: u64,
    pub code: String,
    pub cosignature: StoredCosignature,
}

/// One stored entry's bytes: the canonical envelope JSON, read from its
/// segment and checked.
pub struct EntryBytes(Vec<u8>);

impl std::ops::Deref for EntryBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0[record::HEADER..]
    }
}

impl AsRef<[u8]> for EntryBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// zstd on sled's pages (level 3). Fixed when the index is created: sled
    /// refuses to open an index with the other choice.
    pub compression: bool,
    /// A segment file grows to about this size before the next one starts.
    pub segment_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            cache_bytes: 64 << 20,
            compression: false,
            segment_bytes: 64 << 20,
        }
    }
}

/// What opening the store found, for the start-up check.
pub struct Opened {
    pub store: Store,
    /// The leaf hash of every entry the segments hold.
    pub leaves: Vec<Hash>,
    /// A torn tail cut off the last segment.
    pub torn: Option<TornTail>,
    /// Entries moved out of a store of the older, sled-only layout.
    pub migrated: Option<u64>,
    /// Why the sled index was set aside and started afresh, if it was.
    pub index_reset: Option<String>,
}

/// The log store (cheap to clone: handles are shared).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    segments: Arc<Segments>,
    nodes: Arc<nodes::MemoryNodes>,
    entries_dir: PathBuf,
}

/// The folder of the segment files in a data folder.
pub fn entries_dir(data: &Path) -> PathBuf {
    data.join("entries")
}

/// The folder of the sled index in a data folder.
pub fn index_dir(data: &Path) -> PathBuf {
    data.join("log")
}

impl Store {
    /// Opens (or creates) the store of data folder `data` with the default
    /// options, for tests and tools; the server uses [`Store::open_with`].
    pub fn open(data: &Path) -> Result<Opened, StoreError> {
        Store::open_with(data, &StoreOptions::default())
    }

    /// Opens (or creates) the store of data folder `data`: migrates a store
    /// of the sled-only layout, reads every segment through (cutting a torn
    /// tail), and opens the sled index, starting it afresh if it does not
    /// open (it is rebuilt from the segments by the start-up check).
    pub fn open_with(data: &Path, options: &StoreOptions) -> Result<Opened, StoreError> {
        let entries = entries_dir(data);
        let index = index_dir(data);
        let had_segments = entries.is_dir();
        if had_segments {
            migrate::clean_leftovers(&index)?;
        }
        let (db, index_reset) = match sled_config(&index, options).open() {
            Ok(db) => (db, None),
            // Only damage is set aside (not, say, a lock held by another
            // server), and only when the segments hold the log: in the older
            // layout the index is the only copy.
            Err(e @ sled::Error::Corruption { .. }) if had_segments => {
                let aside = data.join(format!("log.unreadable-{}", unix_now()));
                std::fs::rename(&index, &aside)?;
                fsync::sync_dir(data)?;
                let why = format!("{e} (moved to {})", aside.display());
                (sled_config(&index, options).open()?, Some(why))
            }
            Err(e) => return Err(e.into()),
        };
        // sled never syncs the folders it creates files in: make their names
        // durable, so that its own syncs (every 500 ms) are not lost with them.
        for dir in [index.join("blobs"), index.clone(), data.to_owned()] {
            if dir.is_dir() {
                fsync::sync_dir(&dir)?;
            }
        }
        let migrated = if had_segments {
            None
        } else {
            migrate::to_segments(&db, &entries, options.segment_bytes)?
        };
        // After a move, or a start after a move that a crash cut short.
        let db = if migrate::has_legacy_keys(&db)? {
            migrate::compact_index(db, &index, |dir| sled_config(dir, options))?
        } else {
            db
        };
        let published = published_size(&db)?;
        let (segments, scanned) = Segments::open(&entries, options.segment_bytes, published)?;
        Ok(Opened {
            store: Store {
                db,
                segments: Arc::new(segments),
                nodes: Arc::default(),
                entries_dir: entries,
            },
            leaves: scanned.leaves,
            torn: scanned.torn,
            migrated,
            index_reset,
        })
    }

    /// Entries published: the size of the latest checkpoint.
    pub fn size(&self) -> Result<u64, StoreError> {
        published_size(&self.db)
    }

    /// Entries the segment files hold (at least [`Store::size`]).
    pub fn held(&self) -> u64 {
        self.segments.len()
    }

    /// The latest signed checkpoint, if the log has one.
    pub fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        match self.db.get(layout::META_CHECKPOINT)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| StoreError::Corrupt("the checkpoint is not UTF-8".into())),
        }
    }

    /// The origin fixed on first start.
    pub fn origin(&self) -> Result<Option<String>, StoreError> {
        match std::fs::read(self.origin_path()) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("the origin is not UTF-8".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Fixes the origin (first start only), durably.
    pub fn set_origin(&self, origin: &str) -> Result<(), StoreError> {
        Ok(fsync::replace_file(&self.origin_path(), origin.as_bytes())?)
    }

    fn origin_path(&self) -> PathBuf {
        self.entries_dir.join(layout::ORIGIN_FILE)
    }

    /// The canonical envelope JSON at `index`, if the log holds it.
    pub fn entry(&self, index: u64) -> Result<Option<EntryBytes>, StoreError> {
        Ok(self.segments.read(index)?.map(EntryBytes))
    }

    /// Entries in `[start, end)` that the log holds, in order.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<(u64, EntryBytes)>, StoreError> {
        self.entries_from(start)
            .take_while(|item| item.as_ref().map_or(true, |(i, _)| *i < end))
            .collect()
    }

    /// Entries from `start` on, in order, read one at a time.
    pub fn entries_from(
        &self,
        start: u64,
    ) -> impl Iterator<Item = Result<(u64, EntryBytes), StoreError>> + '_ {
        (start..self.segments.len()).map_while(move |index| match self.entry(index) {
            Ok(Some(bytes)) => Some(Ok((index, bytes))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// Takes every Merkle node of the tree the start-up check computed.
    pub fn set_nodes(&self, levels: Vec<Vec<Hash>>) {
        self.nodes.replace(levels);
    }

    /// Where the statement with this id sits in the log.
    pub fn index_of(&self, id: &StatementId) -> Result<Option<u64>, StoreError> {
        match self.db.get(layout::id_key(&id.0))? {
            None => Ok(None),
            Some(v) => layout::be_u64(&v)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt("bad id index value".into())),
        }
    }

    /// Writes one batch: the entries to their segment, synced to disk, then
    /// the index and the new checkpoint to sled, then the nodes to memory.
    /// When it returns the batch survives a power cut.
    pub fn commit(&self, batch: CommitBatch) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        let mut entries = Vec::with_capacity(batch.entries.len());
        for (index, id, bytes) in batch.entries {
            b.insert(&layout::id_key(&id.0)[..], &index.to_be_bytes()[..]);
            entries.push((index, bytes));
        }
        self.segments.append(&entries)?;
        b.insert(layout::META_SIZE, &batch.size.to_be_bytes()[..]);
        b.insert(layout::META_CHECKPOINT, batch.checkpoint.as_bytes());
        Self::add_cosignatures(&mut b, &batch.cosignatures);
        self.db.apply_batch(b)?;
        for (level, index, hash) in &batch.nodes {
            if !self.nodes.record(*level, *index, hash) {
                return Err(StoreError::Corrupt(format!(
                    "Merkle node {level}/{index} is out of order"
                )));
            }
        }
        Ok(())
    }

    /// Writes what changes no entry: witnesses' cosignatures. Sequencer
    /// thread only, like [`Store::commit`].
    pub fn commit_cosignatures(&self, cosignatures: &[NewCosignature]) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        Self::add_cosignatures(&mut b, cosignatures);
        self.db.apply_batch(b)?;
        Ok(())
    }

    /// Publishes `checkpoint`, of the first `size` entries, as the latest
    /// (start-up, once the index is level with the segments).
    pub fn set_head(&self, size: u64, checkpoint: &str) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        b.insert(layout::META_SIZE, &size.to_be_bytes()[..]);
        b.insert(layout::META_CHECKPOINT, checkpoint.as_bytes());
        self.db.apply_batch(b)?;
        self.db.flush()?;
        Ok(())
    }

    /// Indexes the ids of entries `[start, end)` (start-up, when sled is
    /// behind the segments). Writing an id twice is harmless.
    pub fn reindex(&self, start: u64, end: u64) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        let mut pending = 0;
        for item in self.entries_from(start) {
            let (index, bytes) = item?;
            if index >= end {
                break;
            }
            let envelope = Envelope::from_json(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {index}: {e}")))?;
            let id = StatementId::of_payload(&envelope.payload);
            b.insert(&layout::id_key(&id.0)[..], &index.to_be_bytes()[..]);
            pending += 1;
            if pending == 10_000 {
                self.db.apply_batch(std::mem::take(&mut b))?;
                pending = 0;
            }
        }
        self.db.apply_batch(b)?;
        Ok(())
    }

    fn add_cosignatures(b: &mut sled::Batch, cosignatures: &[NewCosignature]) {
        for c in cosignatures {
            // Serialising a struct of strings and a number cannot fail.
            let value = serde_json::to_vec(&c.cosignature).unwrap_or_default();
            b.insert(layout::cosignature_key(c.size, &c.code), value);
        }
    }

    /// Every stored cosignature of a checkpoint of tree size `size`, by
    /// delegation code (at most one each), in code order.
    pub fn cosignatures(&self, size: u64) -> Result<Vec<(String, StoredCosignature)>, StoreError> {
        let prefix = layout::cosignature_prefix(size);
        let mut out = Vec::new();
        for item in self.db.scan_prefix(prefix) {
            let (k, v) = item?;
            let code = String::from_utf8(k[prefix.len()..].to_vec())
                .map_err(|_| StoreError::Corrupt("cosignature key is not UTF-8".into()))?;
            let c = serde_json::from_slice(&v)
                .map_err(|_| StoreError::Corrupt(format!("cosignature by {code} is unreadable")))?;
            out.push((code, c));
        }
        Ok(out)
    }

    /// The latest checkpoint as published: the log's note with the stored
    /// cosignatures of exactly that note appended as further signature lines
    /// (C2SP allows several). `None` while the log is empty.
    pub fn cosigned_checkpoint(&self) -> Result<Option<String>, StoreError> {
        let Some(text) = self.checkpoint()? else {
            return Ok(None);
        };
        let corrupt = |e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("the published checkpoint is unreadable: {e}"))
        };
        let mut note = SignedNote::parse(&text).map_err(|e| corrupt(&e))?;
        let size = Checkpoint::from_body(&note.text)
            .map_err(|e| corrupt(&e))?
            .size;
        for (_, stored) in self.cosignatures(size)? {
            // A cosignature covers the whole text: one of another note of
            // this size (an older release's dated checkpoint) does not verify.
            if stored.body != note.text || note.signatures.len() >= MAX_SIGNATURES {
                continue;
            }
            if let Ok(sig) = cosignature::parse_line(&stored.line) {
                note.add_signature(sig);
            }
        }
        Ok(Some(note.to_text()))
    }

    /// The cosignature stored for witness `code` at tree `size`, if any.
    pub fn cosignature(
        &self,
        size: u64,
        code: &str,
    ) -> Result<Option<StoredCosignature>, StoreError> {
        match self.db.get(layout::cosignature_key(size, code))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|_| StoreError::Corrupt(format!("cosignature by {code} is unreadable"))),
        }
    }

    /// Bytes the store takes on disk: segments and index.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.segments.bytes() + self.db.size_on_disk()?)
    }

    /// The folder of the segment files.
    pub fn entries_dir(&self) -> &Path {
        &self.entries_dir
    }
}

impl NodeSource for Store {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        self.nodes
            .get(level, index)
            .ok_or_else(|| StoreError::Corrupt(format!("missing Merkle node {level}/{index}")))
    }
}

/// The size of the latest checkpoint published, as the index records it.
fn published_size(db: &sled::Db) -> Result<u64, StoreError> {
    match db.get(layout::META_SIZE)? {
        None => Ok(0),
        Some(v) => {
            layout::be_u64(&v).ok_or_else(|| StoreError::Corrupt("size is not 8 bytes".into()))
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// sled's configuration for an index in `dir` opened with `options`.
fn sled_config(dir: &Path, options: &StoreOptions) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(options.cache_bytes)
        .use_compression(options.compression)
        .compression_factor(3)
}

#[cfg(test)]
mod tests;
