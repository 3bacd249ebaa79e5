//! Verifies receipts the way a delegation's CLI does: the checkpoint is signed
//! by the log's key, and the inclusion proof ties the statement's leaf to the
//! checkpoint's root. Checkpoints shared by a batch are verified once.

use std::collections::HashMap;

use entente_shared::api::Receipt;
use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::merkle::{leaf_hash, verify_inclusion};
use entente_shared::note::NoteVerifier;

/// Checks receipts against one log key, caching verified checkpoints.
pub struct ReceiptChecker {
    log: NoteVerifier,
    seen: HashMap<String, Checkpoint>,
}

impl ReceiptChecker {
    pub fn new(log: NoteVerifier) -> ReceiptChecker {
        ReceiptChecker {
            log,
            seen: HashMap::new(),
        }
    }

    /// Checks the receipt `body` for the statement posted as `sent`; returns
    /// the receipt, or why it does not verify.
    pub fn check(&mut self, sent: &[u8], body: &[u8]) -> Result<Receipt, String> {
        let receipt: Receipt =
            serde_json::from_slice(body).map_err(|e| format!("receipt is not JSON: {e}"))?;
        let leaf = leaf_hash(sent);
        if receipt.leaf_hash != leaf {
            return Err("the receipt's leaf hash is not the hash of what was sent".into());
        }
        let cp = match self.seen.get(&receipt.checkpoint) {
            Some(cp) => cp.clone(),
            None => {
                let signed = SignedCheckpoint::parse_and_verify(&receipt.checkpoint, &self.log)
                    .map_err(|e| format!("checkpoint: {e}"))?;
                self.seen
                    .insert(receipt.checkpoint.clone(), signed.checkpoint.clone());
                signed.checkpoint
            }
        };
        verify_inclusion(
            &leaf,
            receipt.index,
            cp.size,
            &receipt.inclusion_proof,
            &cp.root,
        )
        .map_err(|e| format!("inclusion proof of {}: {e}", receipt.index))?;
        Ok(receipt)
    }
}
