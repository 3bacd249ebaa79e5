//! `GET /v1/checkpoint`: the latest signed checkpoint, as signed-note text.

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .store
        .checkpoint()?
        .ok_or_else(|| ApiError::NotFound("the log is empty: no checkpoint yet".into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}
