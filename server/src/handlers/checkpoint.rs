//! `GET /v1/checkpoint`: the latest signed checkpoint, as signed-note text,
//! with the witnesses' cosignatures of exactly that checkpoint appended as
//! further signature lines of the same note (C2SP allows several).

use actix_web::{web, HttpResponse};
use entente_shared::cosignature;
use entente_shared::note::{SignedNote, MAX_SIGNATURES};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .store
        .checkpoint()?
        .ok_or_else(|| ApiError::NotFound("the log is empty: no checkpoint yet".into()))?;
    let mut note = SignedNote::parse(&text).map_err(|e| ApiError::Internal(e.to_string()))?;
    let size = state.store.size()?;
    for (_, stored) in state.store.cosignatures(size)? {
        // A cosignature covers the whole text, time line included: one of an
        // earlier signing of this size does not verify on this one.
        if stored.body != note.text || note.signatures.len() >= MAX_SIGNATURES {
            continue;
        }
        if let Ok(sig) = cosignature::parse_line(&stored.line) {
            note.add_signature(sig);
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note.to_text()))
}
