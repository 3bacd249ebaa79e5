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
//! 2. [`replay_fold`]: every entry is decoded, must be in canonical form, is
//!    re-verified by the shared fold (signatures included) and re-applied, and
//!    the id index must point at it. This rebuilds the [`Ledger`] and is the
//!    slow part (one Ed25519 verification per entry). The server runs it on
//!    its own thread while already serving entries, proofs and checkpoints;
//!    submissions and the roster wait for it, and a failure stops the server.
//!    A persisted fold snapshot (see ARCHITECTURE.md) will replace it.
//!
//! [`verify_store`] runs both, in order.

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::dsse::Envelope;
use entente_shared::ledger::Ledger;
use entente_shared::merkle::{leaf_hash, CompactTree, Hash};
use entente_shared::note::NoteVerifier;

use super::{Store, StoreError};

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

/// One level's stored nodes, read in index order.
type NodeScan<'a> = Box<dyn Iterator<Item = Result<(u64, Hash), StoreError>> + 'a>;

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
    let mut tree = CompactTree::new();
    // One ordered scan per level, advanced as the appends complete nodes.
    let mut levels: Vec<NodeScan<'_>> = Vec::new();
    let mut mismatch: Option<StoreError> = None;
    for item in store.entries_from(0) {
        let (index, bytes) = item?;
        if index >= size {
            break;
        }
        if index != tree.size() {
            return Err(corrupt(format!("entry {} is missing", tree.size())));
        }
        tree.append(leaf_hash(&bytes), |level, i, hash| {
            if mismatch.is_some() {
                return;
            }
            while levels.len() <= level as usize {
                let l = levels.len() as u8;
                levels.push(Box::new(store.nodes_of_level(l)));
            }
            let stored = levels[level as usize].next();
            match stored {
                Some(Ok((at, h))) if at == i && h == *hash => store.upper.record(level, i, hash),
                Some(Err(e)) => mismatch = Some(e),
                _ => {
                    mismatch = Some(corrupt(format!(
                        "Merkle node {level}/{i} does not match entry {index}"
                    )))
                }
            }
        });
        if let Some(e) = mismatch.take() {
            return Err(e);
        }
    }
    if tree.size() != size {
        return Err(corrupt(format!(
            "entries {}..{size} are not all present",
            tree.size()
        )));
    }
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

/// Part 2: the fold accepts every entry in `[0, size)` again, signatures included.
pub fn replay_fold(store: &Store, size: u64) -> Result<Ledger, StoreError> {
    let mut ledger = Ledger::new();
    for item in store.entries_from(0) {
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
        let verified = ledger
            .verify(envelope)
            .map_err(|e| corrupt(format!("entry {index}: {e}")))?;
        ledger
            .apply(&verified)
            .map_err(|e| corrupt(format!("entry {index}: {e}")))?;
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
