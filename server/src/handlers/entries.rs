//! `GET /v1/entries?start=&end=`: log entries by index, at most a page at a time.

use actix_web::{web, HttpResponse};
use entente_shared::api::{Entries, Entry, MAX_ENTRIES_PER_PAGE};
use entente_shared::dsse::Envelope;
use entente_shared::merkle::leaf_hash;
use entente_shared::statement::StatementId;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    start: u64,
    end: Option<u64>,
}

pub async fn get_entries(
    range: web::Query<Range>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let size = state.store.size()?;
    let end = range
        .end
        .unwrap_or(size)
        .min(size)
        .min(range.start.saturating_add(MAX_ENTRIES_PER_PAGE));
    if range.start > size {
        return Err(ApiError::BadRequest(format!(
            "start {} is past the log's size {size}",
            range.start
        )));
    }
    let mut entries = Vec::new();
    for (index, bytes) in state.store.entries(range.start, end)? {
        let envelope =
            Envelope::from_json(&bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
        entries.push(Entry {
            index,
            leaf_hash: leaf_hash(&bytes),
            id: Some(StatementId::of_payload(&envelope.payload)),
            envelope: Some(envelope),
        });
    }
    Ok(HttpResponse::Ok().json(Entries { entries }))
}
