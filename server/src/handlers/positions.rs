//! `GET /v1/positions` and `GET /v1/positions/{id}`: national position papers.

use actix_web::{web, HttpResponse};

use super::views::{found, parse_id};
use crate::access::visible;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn list(auth: MaybeSigned, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.fold_ready().await?;
    let ledger = state.ledger();
    let list: Vec<_> = ledger
        .discussion()
        .positions()
        .filter(|p| visible(&auth.reader, &p.meta))
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

pub async fn show(
    auth: MaybeSigned,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.fold_ready().await?;
    let id = parse_id(&path)?;
    let ledger = state.ledger();
    let paper = ledger
        .discussion()
        .position(&id)
        .filter(|p| visible(&auth.reader, &p.meta));
    found(paper, || format!("no position {id}"))
}
