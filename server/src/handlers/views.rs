//! Helpers shared by the view handlers: parsing ids and answering lists.

use actix_web::HttpResponse;
use entente_shared::statement::StatementId;
use serde::Serialize;

use crate::error::ApiError;

/// Parses a statement id from a path segment.
pub fn parse_id(text: &str) -> Result<StatementId, ApiError> {
    text.parse()
        .map_err(|e| ApiError::BadRequest(format!("{e}")))
}

/// 200 with `value`, or 404 naming `what`.
pub fn found<T: Serialize>(
    value: Option<T>,
    what: impl FnOnce() -> String,
) -> Result<HttpResponse, ApiError> {
    match value {
        Some(v) => Ok(HttpResponse::Ok().json(v)),
        None => Err(ApiError::NotFound(what())),
    }
}
