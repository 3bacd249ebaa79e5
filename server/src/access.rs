//! Distribution enforced on stored entries: the one function every read path
//! calls before it shows a statement.
//!
//! The rule itself is `entente_shared::visibility::may_read`; this module
//! applies it to the bytes the store holds (the fold's views apply it in
//! `entente_shared::views`). A hidden entry keeps its index and
//! leaf hash (so proofs verify) and loses everything else: id, envelope, kind.

use entente_shared::api::Entry;
use entente_shared::dsse::Envelope;
use entente_shared::merkle::leaf_hash;
use entente_shared::statement::{Statement, StatementId};
use entente_shared::visibility::{may_read_statement, Reader};

use crate::error::ApiError;

/// The log entry `index` (stored `bytes`) as `reader` may see it.
pub fn entry_for(reader: &Reader, index: u64, bytes: &[u8]) -> Result<Entry, ApiError> {
    let leaf_hash = leaf_hash(bytes);
    Ok(match readable(reader, bytes)? {
        Some((id, envelope)) => Entry {
            index,
            leaf_hash,
            id: Some(id),
            envelope: Some(envelope),
        },
        None => Entry {
            index,
            leaf_hash,
            id: None,
            envelope: None,
        },
    })
}

/// The envelope (and its statement id) if `reader` may read it.
pub fn readable(
    reader: &Reader,
    bytes: &[u8],
) -> Result<Option<(StatementId, Envelope)>, ApiError> {
    let envelope = Envelope::from_json(bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Stored statements were decoded when accepted; failing now means a corrupt store.
    let statement =
        Statement::decode(&envelope.payload).map_err(|e| ApiError::Internal(e.to_string()))?;
    if !may_read_statement(reader, &statement) {
        return Ok(None);
    }
    Ok(Some((StatementId::of_payload(&envelope.payload), envelope)))
}
