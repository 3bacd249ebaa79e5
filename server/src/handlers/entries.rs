//! `GET /v1/entries?start=&end=`: log entries by index, at most a page at a time.
//! Entries the reader may not see come as index and leaf hash only.

use actix_web::{web, HttpResponse};
use entente_shared::api::{Entries, MAX_ENTRIES_PER_PAGE};
use serde::Deserialize;

use crate::access::entry_for;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    start: u64,
    end: Option<u64>,
}

pub async fn get_entries(
    auth: MaybeSigned,
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
        entries.push(entry_for(&auth.reader, index, &bytes)?);
    }
    Ok(HttpResponse::Ok().json(Entries { entries }))
}
