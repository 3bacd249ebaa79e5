//! Storage: the only module that touches sled.
//!
//! [`Store`] keeps the log's entries, the statement-id index, every perfect
//! Merkle subtree hash (so proofs cost O(log n) reads) and the latest signed
//! checkpoint, and witnesses' cosignatures. Writes happen only through
//! [`Store::commit`] and [`Store::commit_aside`], which only the sequencer
//! thread calls: one atomic batch, then one flush, before any receipt leaves.
//! Handlers see [`Store`] and [`StoreError`], never sled.

pub mod layout;
mod upper;

use std::path::Path;
use std::sync::Arc;

use entente_shared::merkle::{Hash, NodeSource};
use entente_shared::statement::StatementId;
use serde::{Deserialize, Serialize};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
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

/// One stored entry's bytes, as [`Store::entries_from`] reads them (without
/// a copy; no sled type leaves this module).
pub struct EntryBytes(sled::IVec);

impl std::ops::Deref for EntryBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for EntryBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// zstd on sled's pages (level 3). Fixed when the store is created: sled
    /// refuses to open a store with the other choice.
    pub compression: bool,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            cache_bytes: 1 << 30,
            compression: false,
        }
    }
}

/// The log store (cheap to clone: sled handles are shared).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    upper: Arc<upper::UpperNodes>,
}

impl Store {
    /// Opens (or creates) the store in `dir` with sled's defaults (1 GiB
    /// cache, no compression).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, &StoreOptions::default())
    }

    /// Opens (or creates) the store in `dir` with `options`.
    pub fn open_with(dir: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
        let db = sled_config(dir, options).open()?;
        Ok(Store {
            db,
            upper: Arc::default(),
        })
    }

    /// Number of entries in the log.
    pub fn size(&self) -> Result<u64, StoreError> {
        match self.db.get(layout::META_SIZE)? {
            None => Ok(0),
            Some(v) => {
                layout::be_u64(&v).ok_or_else(|| StoreError::Corrupt("size is not 8 bytes".into()))
            }
        }
    }

    /// The latest signed checkpoint, if the log has one.
    pub fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        self.meta_text(layout::META_CHECKPOINT)
    }

    /// The origin fixed on first start.
    pub fn origin(&self) -> Result<Option<String>, StoreError> {
        self.meta_text(layout::META_ORIGIN)
    }

    /// Fixes the origin (first start only) and flushes.
    pub fn set_origin(&self, origin: &str) -> Result<(), StoreError> {
        self.db.insert(layout::META_ORIGIN, origin.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    fn meta_text(&self, key: &[u8]) -> Result<Option<String>, StoreError> {
        match self.db.get(key)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| StoreError::Corrupt("metadata is not UTF-8".into())),
        }
    }

    /// The canonical envelope JSON at `index`.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(layout::entry_key(index))?.map(|v| v.to_vec()))
    }

    /// Entries in `[start, end)`, in order.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .range(layout::entry_key(start)..layout::entry_key(end))
        {
            let (k, v) = item?;
            let index = layout::be_u64(&k[1..])
                .ok_or_else(|| StoreError::Corrupt("bad entry key".into()))?;
            out.push((index, v.to_vec()));
        }
        Ok(out)
    }

    /// Entries from `start` on, in order, read lazily (for start-up scans that
    /// must not hold the whole log in memory).
    pub fn entries_from(
        &self,
        start: u64,
    ) -> impl Iterator<Item = Result<(u64, EntryBytes), StoreError>> + '_ {
        let end = [b'e' + 1];
        self.db
            .range(&layout::entry_key(start)[..]..&end[..])
            .map(|item| {
                let (k, v) = item?;
                let index = layout::be_u64(&k[1..])
                    .ok_or_else(|| StoreError::Corrupt("bad entry key".into()))?;
                Ok((index, EntryBytes(v)))
            })
    }

    /// Keeps a verified Merkle node of level 4 or above in memory, so that
    /// proofs need not read it (see `upper`); lower levels are ignored.
    pub fn remember_node(&self, level: u8, index: u64, hash: &Hash) {
        self.upper.record(level, index, hash);
    }

    /// The stored Merkle nodes of one level, by index, read lazily in order.
    pub fn nodes_of_level(
        &self,
        level: u8,
    ) -> impl Iterator<Item = Result<(u64, Hash), StoreError>> + '_ {
        let start = layout::node_key(level, 0);
        let end = layout::node_key(level.saturating_add(1), 0);
        let range = if level == u8::MAX {
            self.db.range(&start[..]..&[b'n' + 1][..])
        } else {
            self.db.range(&start[..]..&end[..])
        };
        range.map(move |item| {
            let (k, v) = item?;
            let index = layout::be_u64(&k[2..])
                .ok_or_else(|| StoreError::Corrupt("bad node key".into()))?;
            let hash: Hash = v.as_ref().try_into().map_err(|_| {
                StoreError::Corrupt(format!("Merkle node {level}/{index} is not 32 bytes"))
            })?;
            Ok((index, hash))
        })
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

    /// Writes one batch atomically and flushes it to disk before returning.
    pub fn commit(&self, batch: CommitBatch) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for (index, id, bytes) in batch.entries {
            b.insert(&layout::entry_key(index)[..], bytes);
            b.insert(&layout::id_key(&id.0)[..], &index.to_be_bytes()[..]);
        }
        for (level, index, hash) in &batch.nodes {
            b.insert(&layout::node_key(*level, *index)[..], &hash[..]);
        }
        b.insert(layout::META_SIZE, &batch.size.to_be_bytes()[..]);
        b.insert(layout::META_CHECKPOINT, batch.checkpoint.as_bytes());
        Self::add_cosignatures(&mut b, &batch.cosignatures);
        self.db.apply_batch(b)?;
        self.db.flush()?;
        // Only after the flush: a proof never uses a node that is not on disk.
        for (level, index, hash) in &batch.nodes {
            self.upper.record(*level, *index, hash);
        }
        Ok(())
    }

    /// Writes what changes no entry — cosignatures, and a re-signed
    /// checkpoint of the same tree (a newer time) — atomically, then flushes.
    /// Sequencer thread only, like [`Store::commit`].
    pub fn commit_aside(
        &self,
        cosignatures: &[NewCosignature],
        checkpoint: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        Self::add_cosignatures(&mut b, cosignatures);
        if let Some(cp) = checkpoint {
            b.insert(layout::META_CHECKPOINT, cp.as_bytes());
        }
        self.db.apply_batch(b)?;
        self.db.flush()?;
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

    /// The cosignature stored for witness `code` at tree `size`, if any.
    pub fn cosignature(
        &self,
        size: u64,
        code: &str,
    ) -> Result<Option<StoredCosignature>, StoreError> {
        let mut key = layout::cosignature_prefix(size).to_vec();
        key.extend_from_slice(code.as_bytes());
        match self.db.get(key)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|_| StoreError::Corrupt(format!("cosignature by {code} is unreadable"))),
        }
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

impl NodeSource for Store {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        if let Some(hash) = self.upper.get(level, index) {
            return Ok(hash);
        }
        let v = self
            .db
            .get(layout::node_key(level, index))?
            .ok_or_else(|| StoreError::Corrupt(format!("missing Merkle node {level}/{index}")))?;
        v.as_ref().try_into().map_err(|_| {
            StoreError::Corrupt(format!("Merkle node {level}/{index} is not 32 bytes"))
        })
    }
}

/// sled's configuration for a store in `dir` opened with `options`.
fn sled_config(dir: &Path, options: &StoreOptions) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(options.cache_bytes)
        .use_compression(options.compression)
        .compression_factor(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_reach_sleds_config() {
        let options = StoreOptions {
            cache_bytes: 5 << 20,
            compression: true,
        };
        let config = sled_config(Path::new("/nonexistent"), &options);
        assert_eq!(config.cache_capacity, 5 << 20);
        assert!(config.use_compression);
        assert_eq!(config.compression_factor, 3);
        let config = sled_config(Path::new("/nonexistent"), &StoreOptions::default());
        assert_eq!(config.cache_capacity, 1 << 30);
        assert!(!config.use_compression);
    }
}
