//! `GET /v1/statements/{id}`: one envelope with its index, if the reader may see it.
//!
//! A statement the reader may not see gets the very answer a nonexistent one
//! gets, so its existence is not revealed.

use actix_web::{web, HttpResponse};
use entente_shared::api::StatementRecord;
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
    let (_, envelope) = readable(&auth.reader, &bytes)?.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(StatementRecord {
        id,
        index,
        envelope,
    }))
}
