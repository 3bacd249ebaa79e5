//! The start-up check: the stored tree must be the tree of the stored entries.
//!
//! Every entry is re-hashed and re-verified by the shared fold (signatures
//! included), every perfect Merkle node is recomputed and compared with the
//! stored one, and the final root must be the root of the stored checkpoint,
//! signed by this log's key. A store that fails any of this is not served.

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::dsse::Envelope;
use entente_shared::ledger::Ledger;
use entente_shared::merkle::{leaf_hash, CompactTree, NodeSource};
use entente_shared::note::NoteVerifier;

use super::{Store, StoreError};

/// What the check established: the folded state and the tree's right border.
pub struct VerifyReport {
    pub ledger: Ledger,
    pub tree: CompactTree,
    pub checkpoint: Option<SignedCheckpoint>,
}

fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(msg)
}

/// Verifies the whole store against `log_key` (see the module docs).
pub fn verify_store(store: &Store, log_key: &NoteVerifier) -> Result<VerifyReport, StoreError> {
    let size = store.size()?;
    let mut ledger = Ledger::new();
    let mut tree = CompactTree::new();
    let mut mismatch: Option<String> = None;
    const PAGE: u64 = 4096;
    let mut start = 0;
    while start < size {
        let end = (start + PAGE).min(size);
        let page = store.entries(start, end)?;
        if page.len() as u64 != end - start {
            return Err(corrupt(format!(
                "entries {start}..{end} are not all present"
            )));
        }
        for (index, bytes) in page {
            if index != ledger.size() {
                return Err(corrupt(format!("entry {} is missing", ledger.size())));
            }
            let envelope =
                Envelope::from_json(&bytes).map_err(|e| corrupt(format!("entry {index}: {e}")))?;
            if envelope.to_canonical_json() != bytes {
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
            tree.append(leaf_hash(&bytes), |level, i, hash| {
                if mismatch.is_none() && store.node(level, i).ok().as_ref() != Some(hash) {
                    mismatch = Some(format!(
                        "Merkle node {level}/{i} does not match entry {index}"
                    ));
                }
            });
            if let Some(m) = mismatch.take() {
                return Err(corrupt(m));
            }
        }
        start = end;
    }
    let checkpoint = match store.checkpoint()? {
        None if size == 0 => None,
        None => return Err(corrupt("entries but no checkpoint".into())),
        Some(text) => {
            let cp = SignedCheckpoint::parse_and_verify(&text, log_key)
                .map_err(|e| corrupt(format!("stored checkpoint: {e}")))?;
            if cp.checkpoint.size != size || cp.checkpoint.root != tree.root() {
                return Err(corrupt(format!(
                    "the stored checkpoint (size {}) does not match the entries (size {size})",
                    cp.checkpoint.size
                )));
            }
            Some(cp)
        }
    };
    Ok(VerifyReport {
        ledger,
        tree,
        checkpoint,
    })
}
