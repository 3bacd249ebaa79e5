//! The start-up check: the stored tree must be the tree of the stored entries,
//! and the stored entries must be a log the fold accepts.
//!
//! It comes in two parts, so that the server can listen before the second ends:
//!
//! 1. [`check_tree`], before the server listens: every entry is present and
//!    re-hashed, every stored perfect Merkle node is recomputed and compared
//!    (one sequential scan per level, not a random read per node), and the
//!    final root must be the root of the stored checkpoint, signed by this
//!    log's key. Any change to an entry's bytes, a missing entry or a node
//!    that does not match stops the server here. Cost: one SHA-256 per entry
//!    and per node, no signature checks.
//! 2. [`restore_fold`]: the [`Ledger`] is read from the fold snapshot (see
//!    [`super::snapshot`]) when its size and root match the stored tree, and
//!    only the entries after it are replayed; without a usable snapshot every
//!    entry is ([`replay_fold`]). Replaying decodes each entry, which must be
//!    in canonical form, re-verifies it through the shared fold (signatures
//!    included), re-applies it and checks that the id index points at it: one
//!    Ed25519 verification per entry, the slow part. The server runs this on
//!    its own thread while already serving entries, proofs and checkpoints;
//!    submissions and the roster wait for it, and a failure stops the server.
//!
//! [`verify_store`] runs both, replaying everything, snapshot or not.

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::dsse::Envelope;
use entente_shared::ledger::Ledger;
use entente_shared::merkle::{self, leaf_hash, CompactTree, Hash, MemoryTree, NodeSource as _};
use entente_shared::note::NoteVerifier;

use super::{snapshot, Store, StoreError};

/// What the whole check established: the folded state and the tree's right border.
pub struct VerifyReport {
    pub ledger: Ledger,
    pub tree: CompactTree,
    pub checkpoint: Option<SignedCheckpoint>,
}

/// What the tree check established.
pub struct TreeReport {
    pub tree: CompactTree,
    pub checkpoint: Option<SignedCheckpoint>,
}

fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(msg)
}

/// Verifies the whole store against `log_key` (both parts; see the module docs).
pub fn verify_store(store: &Store, log_key: &NoteVerifier) -> Result<VerifyReport, StoreError> {
    let TreeReport { tree, checkpoint } = check_tree(store, log_key)?;
    let ledger = replay_fold(store, tree.size())?;
    Ok(VerifyReport {
        ledger,
        tree,
        checkpoint,
    })
}

/// Part 1: entries, Merkle nodes and the signed checkpoint agree.
pub fn check_tree(store: &Store, log_key: &NoteVerifier) -> Result<TreeReport, StoreError> {
    let size = store.size()?;
    // The checkpoint first: a bad signature needs no scan to be refused.
    let checkpoint = match store.checkpoint()? {
        None if size == 0 => None,
        None => return Err(corrupt("entries but no checkpoint".into())),
        Some(text) => Some(
            SignedCheckpoint::parse_and_verify(&text, log_key)
                .map_err(|e| corrupt(format!("stored checkpoint: {e}")))?,
        ),
    };
    let started = std::time::Instant::now();
    let leaves = leaf_hashes(store, size)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "leaf hashes recomputed"
    );
    // Every perfect node, recomputed in memory (64 bytes per entry, freed
    // below), then compared with the stored ones level by level.
    let mut memory = MemoryTree::new();
    for leaf in leaves {
        memory.push(leaf);
    }
    compare_nodes(store, &memory)?;
    let tree = CompactTree::restore(&memory, size)
        .map_err(|e| corrupt(format!("rebuilding the tree border: {e}")))?;
    drop(memory);
    if let Some(cp) = &checkpoint {
        if cp.checkpoint.size != size || cp.checkpoint.root != tree.root() {
            return Err(corrupt(format!(
                "the stored checkpoint (size {}) does not match the entries (size {size})",
                cp.checkpoint.size
            )));
        }
    }
    Ok(TreeReport { tree, checkpoint })
}

/// Compares every stored perfect node with the recomputed one: level 0 on
/// one thread, the levels above (as many nodes in all) on another, each as
/// one ordered scan. Caches the upper levels on the way.
fn compare_nodes(store: &Store, memory: &MemoryTree) -> Result<(), StoreError> {
    let size = memory.size();
    let top = (64 - size.leading_zeros()) as u8; // levels 0..top hold perfect nodes
    let check_level = |level: u8| -> Result<(), StoreError> {
        let count = size >> level;
        let mut stored = store.nodes_of_level(level);
        for i in 0..count {
            let expected = match memory.node(level, i) {
                Ok(h) => h,
                Err(never) => match never {},
            };
            match stored.next() {
                Some(Ok((at, h))) if at == i && h == expected => {
                    store.upper.record(level, i, &h);
                }
                Some(Err(e)) => return Err(e),
                _ => {
                    return Err(corrupt(format!(
                        "Merkle node {level}/{i} does not match the entries"
                    )))
                }
            }
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let low = s.spawn(|| check_level(0));
        let high = (1..top).try_for_each(check_level);
        low.join()
            .unwrap_or_else(|_| Err(corrupt("a checking thread failed".into())))
            .and(high)
    })
}

/// The leaf hash of every entry in `[0, size)`, computed on every core: each
/// thread scans its own index range. Fails if any entry is missing.
fn leaf_hashes(store: &Store, size: u64) -> Result<Vec<Hash>, StoreError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8) as u64;
    let per = size.div_ceil(threads).max(1);
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..size.div_ceil(per))
            .map(|t| {
                let (start, end) = (t * per, ((t + 1) * per).min(size));
                s.spawn(move || -> Result<Vec<Hash>, StoreError> {
                    let mut out = Vec::with_capacity((end - start) as usize);
                    for item in store.entries_from(start) {
                        let (index, bytes) = item?;
                        if index >= end {
                            break;
                        }
                        if index != start + out.len() as u64 {
                            break;
                        }
                        out.push(leaf_hash(&bytes));
                    }
                    if out.len() as u64 != end - start {
                        return Err(corrupt(format!(
                            "entry {} is missing",
                            start + out.len() as u64
                        )));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(corrupt("a hashing thread failed".into())))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(parts.concat())
}

/// Part 2: the fold accepts every entry in `[0, size)` again, signatures included.
pub fn replay_fold(store: &Store, size: u64) -> Result<Ledger, StoreError> {
    replay_onto(store, Ledger::new(), size)
}

/// How [`restore_fold`] rebuilt the fold.
pub struct Restored {
    pub ledger: Ledger,
    /// Entries that came from the snapshot (0: none was used).
    pub from_snapshot: u64,
    /// Why a snapshot on disk was not used, if one was not.
    pub snapshot_refused: Option<String>,
}

/// Part 2 with a snapshot: the fold of the first `size` entries, from
/// `loaded` (what [`snapshot::load`] read, possibly while part 1 ran) when it
/// belongs to this tree, plus a replay of the entries after it.
pub fn restore_fold(
    store: &Store,
    size: u64,
    loaded: snapshot::Loaded,
) -> Result<Restored, StoreError> {
    let (start, refused) = match loaded {
        Ok(None) => (Ledger::new(), None),
        Ok(Some((header, ledger))) => match snapshot_fits(store, size, &header) {
            Ok(()) => (ledger, None),
            Err(why) => (Ledger::new(), Some(why)),
        },
        Err(e) => (Ledger::new(), Some(e.to_string())),
    };
    let from_snapshot = start.size();
    Ok(Restored {
        ledger: replay_onto(store, start, size)?,
        from_snapshot,
        snapshot_refused: refused,
    })
}

/// Whether a snapshot with `header` is a fold of this store's first entries.
fn snapshot_fits(store: &Store, size: u64, header: &snapshot::Header) -> Result<(), String> {
    if header.size > size {
        return Err(format!(
            "it folds {} entries, the log holds {size}",
            header.size
        ));
    }
    let root = merkle::root(store, header.size).map_err(|e| e.to_string())?;
    if root != header.root {
        return Err(format!(
            "the log's root at {} is not the snapshot's",
            header.size
        ));
    }
    Ok(())
}

/// Replays entries `ledger.size()..size` onto `ledger`.
fn replay_onto(store: &Store, mut ledger: Ledger, size: u64) -> Result<Ledger, StoreError> {
    for item in store.entries_from(ledger.size()) {
        let (index, bytes) = item?;
        if index >= size {
            break;
        }
        if index != ledger.size() {
            return Err(corrupt(format!("entry {} is missing", ledger.size())));
        }
        let envelope =
            Envelope::from_json(&bytes).map_err(|e| corrupt(format!("entry {index}: {e}")))?;
        if envelope.to_canonical_json() != bytes.as_ref() {
            return Err(corrupt(format!("entry {index} is not in canonical form")));
        }
        // "fold replay" in the message: the tree check never says it, so a
        // refusal here is told apart from one there.
        let verified = ledger
            .verify(envelope)
            .map_err(|e| corrupt(format!("fold replay refused entry {index}: {e}")))?;
        ledger
            .apply(&verified)
            .map_err(|e| corrupt(format!("fold replay refused entry {index}: {e}")))?;
        if store.index_of(&verified.id())? != Some(index) {
            return Err(corrupt(format!(
                "entry {index}: the id index does not point at it"
            )));
        }
    }
    if ledger.size() != size {
        return Err(corrupt(format!(
            "entries {}..{size} are not all present",
            ledger.size()
        )));
    }
    Ok(ledger)
}
