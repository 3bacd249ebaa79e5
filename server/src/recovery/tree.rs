//! Part 1 of the start-up check, before the server listens: the stored tree
//! must be the tree of the stored entries.
//!
//! Every entry is present and re-hashed, every stored perfect Merkle node is
//! recomputed and compared (one sequential scan per level, not a random read
//! per node), and the final root must be the root of the stored checkpoint,
//! signed by this log's key. Any change to an entry's bytes, a missing entry
//! or a node that does not match stops the server here. Cost: one SHA-256 per
//! entry and per node, no signature checks.

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::merkle::{leaf_hash, CompactTree, Hash, MemoryTree, NodeSource as _};
use entente_shared::note::NoteVerifier;

use crate::store::{Store, StoreError};

/// What the tree check established.
pub struct TreeReport {
    pub tree: CompactTree,
    pub checkpoint: Option<SignedCheckpoint>,
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
                    store.remember_node(level, i, &h);
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

pub(super) fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(msg)
}
