//! `GET /v1/threads/{id}`: the signed messages attached to a statement.

use actix_web::{web, HttpResponse};
use entente_shared::api::ThreadView;

use super::views::parse_id;
use crate::access::{statement_visible, visible};
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::{AppState, Fold};

pub async fn show(
    auth: MaybeSigned,
    path: web::Path<String>,
    state: web::Data<AppState>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let ledger = fold.read();
    // A thread hangs off a statement: it is shown only to whoever may read that statement.
    if !ledger.contains(&id) || !statement_visible(&state.store, &auth.reader, &id)? {
        return Err(ApiError::NotFound(format!("no statement {id}")));
    }
    let messages = ledger
        .discussion()
        .thread(&id)
        .iter()
        .filter(|m| visible(&auth.reader, &m.meta))
        .cloned()
        .collect();
    Ok(HttpResponse::Ok().json(ThreadView {
        thread: id,
        messages,
    }))
}
