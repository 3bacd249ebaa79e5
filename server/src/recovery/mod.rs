//! Start-up recovery: from a data folder to a verified tree and a restored
//! fold.
//!
//! It comes in two parts, so that the server can listen before the second ends:
//!
//! 1. [`check_tree`] ([`tree`]), before the server listens: the stored tree
//!    is the tree of the stored entries and matches the signed checkpoint.
//! 2. [`spawn_fold_restore`] ([`fold`]), after: the fold is read from the
//!    snapshot when it belongs to this tree, and the entries after it are
//!    replayed through the shared `Replay`; the server serves entries, proofs
//!    and checkpoints meanwhile, and everything that reads the fold waits for
//!    it (`state::Fold`). A store the fold refuses stops the process.

mod fold;
mod tree;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use entente_shared::ledger::Ledger;

use crate::snapshot;
use crate::store::Store;

pub use fold::{replay_fold, restore_fold, Restored};
pub use tree::{check_tree, TreeReport};

/// Rebuilds the fold of the first `size` entries on its own thread, from the
/// snapshot `preload` read (when there is a usable one) and by replay for the rest (see
/// [`fold`]), then publishes it. A store whose entries the fold
/// refuses is not served: the process stops, as a failed tree check would.
pub fn spawn_fold_restore(
    store: Store,
    size: u64,
    preload: Option<(PathBuf, JoinHandle<snapshot::Loaded>)>,
    ledger: Arc<RwLock<Ledger>>,
    ready: tokio::sync::watch::Sender<bool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("fold-restore".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let path = preload.as_ref().map(|(path, _)| path.clone());
            let restored = match preload {
                Some((_, handle)) => {
                    let loaded = handle.join().unwrap_or_else(|_| {
                        Err(snapshot::SnapshotError::Unusable(
                            "reading it panicked".into(),
                        ))
                    });
                    restore_fold(&store, size, loaded)
                }
                None => replay_fold(&store, size).map(|ledger| Restored {
                    ledger,
                    from_snapshot: 0,
                    snapshot_refused: None,
                }),
            };
            match restored {
                Ok(restored) => {
                    if let (Some(why), Some(path)) = (&restored.snapshot_refused, &path) {
                        tracing::warn!(reason = %why, "fold snapshot not used; replaying the log");
                        if let Err(e) = snapshot::set_aside(path) {
                            tracing::warn!(error = %e, "could not move the refused fold snapshot aside");
                        }
                    }
                    *ledger.write().unwrap_or_else(|p| p.into_inner()) = restored.ledger;
                    let _ = ready.send(true);
                    tracing::info!(
                        entries = size,
                        from_snapshot = restored.from_snapshot,
                        replayed = size - restored.from_snapshot,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "fold restored"
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "the store does not verify; refusing to serve it");
                    eprintln!(
                        "entente-server: the store does not verify; refusing to serve it: {e}"
                    );
                    std::process::exit(70);
                }
            }
        })
        .map(|_| ())
}
