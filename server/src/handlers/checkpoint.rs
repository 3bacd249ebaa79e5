//! `GET /v1/checkpoint`: the latest signed checkpoint, as signed-note text,
//! with the witnesses' cosignatures of exactly that checkpoint appended as
//! further signature lines of the same note (C2SP allows several).

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .store
        .cosigned_checkpoint()?
        .ok_or_else(|| ApiError::NotFound("the log is empty: no checkpoint yet".into()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}
