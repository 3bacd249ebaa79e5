//! `GET /v1/statements/{id}`: one envelope with its index.

use actix_web::{web, HttpResponse};
use entente_shared::api::StatementRecord;
use entente_shared::dsse::Envelope;
use entente_shared::statement::StatementId;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_statement(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id: StatementId = path
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("{e}")))?;
    let not_found = || ApiError::NotFound(format!("no statement {id}"));
    let index = state.store.index_of(&id)?.ok_or_else(not_found)?;
    let bytes = state.store.entry(index)?.ok_or_else(not_found)?;
    let envelope = Envelope::from_json(&bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(StatementRecord {
        id,
        index,
        envelope,
    }))
}
