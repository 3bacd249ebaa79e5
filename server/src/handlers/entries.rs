//! `GET /v1/entries?start=&end=`: log entries by index, at most a page at a
//! time (1000 entries, and no more than `MAX_PAGE_BYTES`: the page ends
//! early, and the client asks again from where it ended). Entries the reader
//! may not see come as index and leaf hash only. The answer is streamed: each
//! entry is read and serialised as the client takes the ones before it.

use actix_web::{web, HttpResponse};
use entente_shared::api::MAX_ENTRIES_PER_PAGE;
use serde::Deserialize;

use crate::access::entry_for;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::response::json_stream;
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
    let store = state.store.clone();
    let reader = auth.reader;
    let items = (range.start..end).map(move |index| {
        let bytes = store
            .entry(index)?
            .ok_or_else(|| ApiError::Internal(format!("entry {index} is missing")))?;
        let entry = entry_for(&reader, index, &bytes)?;
        serde_json::to_vec(&entry).map_err(|e| ApiError::Internal(e.to_string()))
    });
    // The JSON of `api::Entries`, built entry by entry.
    Ok(json_stream(
        "{\"entries\":[",
        items,
        "]}",
        std::time::Duration::from_secs(state.settings.response_deadline_secs),
    ))
}
