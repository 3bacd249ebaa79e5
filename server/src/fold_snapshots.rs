//! When the sequencer saves the fold (the file format is in
//! [`crate::store::snapshot`]).
//!
//! Three moments, so that a start-up after a clean stop replays nothing and
//! one after a crash replays at most `fold_snapshot_every` entries:
//! - every `fold_snapshot_every` entries: the fold is cloned under the read
//!   lock (the only pause the sequencer takes) and written on a background
//!   thread while commits go on; one write at a time;
//! - when the log is idle (the checkpoint ticker's tick) and has grown since
//!   the last snapshot;
//! - when the sequencer stops (SIGTERM), after its last batch, in line.
//!
//! Nothing is saved while the fold is still being restored at start-up (its
//! size is then behind the tree's), so a partial fold never replaces a
//! good snapshot. The size of the snapshot on disk is read only once the
//! fold is restored: by then a snapshot the restore refused has been moved
//! aside (`recovery::restore_fold`), so it cannot hold saving back.

use std::path::PathBuf;
use std::sync::RwLock;
use std::thread::JoinHandle;

use entente_shared::ledger::Ledger;
use entente_shared::merkle::CompactTree;

use crate::snapshot::{self, SnapshotError};

/// The sequencer's snapshot bookkeeping.
pub struct FoldSnapshots {
    path: PathBuf,
    every: u64,
    /// Size of the newest snapshot written or being written; `None` until
    /// read from disk once the fold is restored.
    saved: Option<u64>,
    writing: Option<JoinHandle<Result<u64, SnapshotError>>>,
}

impl FoldSnapshots {
    /// Snapshots at `path`, one per `every` entries (at least 1).
    pub fn new(path: PathBuf, every: u64) -> FoldSnapshots {
        FoldSnapshots {
            path,
            every: every.max(1),
            saved: None,
            writing: None,
        }
    }

    /// The size of the snapshot on disk, read the first time it is needed;
    /// one of an older format counts as none, so the next save replaces it.
    fn saved(&mut self) -> u64 {
        *self.saved.get_or_insert_with(|| {
            snapshot::header(&self.path)
                .filter(snapshot::Header::is_current_format)
                .map_or(0, |h| h.size)
        })
    }

    /// After a batch: starts a background save when `every` entries have
    /// landed since the last one.
    pub fn after_commit(&mut self, ledger: &RwLock<Ledger>, tree: &CompactTree) {
        let size = tree.size();
        if caught_up(ledger, size) && size >= self.saved().saturating_add(self.every) {
            self.start(ledger, tree);
        }
    }

    /// On an idle tick: starts a background save if the log grew since the last.
    pub fn when_idle(&mut self, ledger: &RwLock<Ledger>, tree: &CompactTree) {
        let size = tree.size();
        if caught_up(ledger, size) && size > self.saved() {
            self.start(ledger, tree);
        }
    }

    /// When the sequencer stops: waits for a save in flight, then saves what
    /// is newer, in line.
    pub fn finish(mut self, ledger: &RwLock<Ledger>, tree: &CompactTree) {
        let size = tree.size();
        self.reap(true);
        if !caught_up(ledger, size) || size <= self.saved() {
            return;
        }
        let ledger = ledger.read().unwrap_or_else(|p| p.into_inner());
        report(snapshot::save(&self.path, &ledger, tree.root()).map(|h| h.size));
    }

    /// Starts a background save of the fold of the tree's entries; the
    /// tree's root is computed only here, not for every batch.
    fn start(&mut self, ledger: &RwLock<Ledger>, tree: &CompactTree) {
        if !self.reap(false) {
            return;
        }
        let (size, root) = (tree.size(), tree.root());
        let copy = {
            let ledger = ledger.read().unwrap_or_else(|p| p.into_inner());
            if ledger.size() != size {
                return; // still restoring at start-up
            }
            ledger.clone()
        };
        let path = self.path.clone();
        let spawned = std::thread::Builder::new()
            .name("fold-snapshot".into())
            .spawn(move || snapshot::save(&path, &copy, root).map(|h| h.size));
        match spawned {
            Ok(handle) => {
                self.saved = Some(size);
                self.writing = Some(handle);
            }
            Err(e) => tracing::warn!(error = %e, "could not start a fold snapshot"),
        }
    }

    /// Collects a finished (or, with `wait`, any) background save; whether
    /// none is in flight any more.
    fn reap(&mut self, wait: bool) -> bool {
        match self.writing.take() {
            None => true,
            Some(handle) if wait || handle.is_finished() => {
                let saved = match handle.join() {
                    Ok(result) => report(result),
                    Err(_) => {
                        tracing::warn!("the fold snapshot thread panicked");
                        None
                    }
                };
                if saved.is_none() {
                    // Try again at the next moment.
                    self.saved = None;
                }
                true
            }
            Some(handle) => {
                self.writing = Some(handle);
                false
            }
        }
    }
}

/// Whether the fold has caught up with the tree (it has not while start-up
/// is still restoring it).
fn caught_up(ledger: &RwLock<Ledger>, size: u64) -> bool {
    ledger.read().unwrap_or_else(|p| p.into_inner()).size() == size
}

/// Logs how a save went; the size saved, if it was.
fn report(result: Result<u64, SnapshotError>) -> Option<u64> {
    match result {
        Ok(size) => {
            tracing::info!(entries = size, "fold snapshot saved");
            Some(size)
        }
        Err(e) => {
            tracing::warn!(error = %e, "fold snapshot not saved; start-up will replay more");
            None
        }
    }
}
