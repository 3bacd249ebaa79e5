//! `GET /v1/threads/{id}`: the signed messages attached to a statement.

use actix_web::{web, HttpResponse};
use entente_shared::api::ThreadView;

use super::views::parse_id;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn show(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let ledger = state.ledger();
    if !ledger.contains(&id) {
        return Err(ApiError::NotFound(format!("no statement {id}")));
    }
    let messages = ledger
        .discussion()
        .thread(&id)
        .iter()
        .filter(|m| state.visible(&m.meta))
        .cloned()
        .collect();
    Ok(HttpResponse::Ok().json(ThreadView {
        thread: id,
        messages,
    }))
}
