//! `GET /v1/statements/{id}`: one envelope with its index, if the reader may see it.
//!
//! A statement the reader may not see gets the very answer a nonexistent one
//! gets, so its existence is not revealed.
//!
//! The answer is a `StatementRecord` whose `envelope` is the stored
//! canonical JSON spliced in as it is, not decoded and encoded again.

use actix_web::{web, HttpResponse};
use entente_shared::statement::StatementId;

use crate::access::readable;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_statement(
    auth: MaybeSigned,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id: StatementId = path
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("{e}")))?;
    let not_found = || ApiError::NotFound(format!("no statement {id}"));
    let index = state.store.index_of(&id)?.ok_or_else(not_found)?;
    let bytes = state.store.entry(index)?.ok_or_else(not_found)?;
    readable(&auth.reader, &bytes)?.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(record_json(&id, index, &bytes)))
}

/// `{"id":…,"index":…,"envelope":…}` around the stored envelope bytes: the
/// JSON `StatementRecord` serialises to, field for field.
fn record_json(id: &StatementId, index: u64, envelope: &[u8]) -> Vec<u8> {
    let head = format!(r#"{{"id":"{id}","index":{index},"envelope":"#);
    let mut out = Vec::with_capacity(head.len() + envelope.len() + 1);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(envelope);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use entente_shared::api::StatementRecord;
    use entente_shared::dsse::Envelope;

    #[test]
    fn the_spliced_record_is_the_serialised_one() {
        let envelope = Envelope {
            payload_type: "application/vnd.entente.statement+json".into(),
            payload: br#"{"kind":"message"}"#.to_vec(),
            signatures: vec![],
        };
        let id = StatementId::of_payload(&envelope.payload);
        let spliced = record_json(&id, 42, &envelope.to_canonical_json());
        let record = StatementRecord {
            id,
            index: 42,
            envelope,
        };
        assert_eq!(spliced, serde_json::to_vec(&record).unwrap());
    }
}
