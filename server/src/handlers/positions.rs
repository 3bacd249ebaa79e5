//! `GET /v1/positions` and `GET /v1/positions/{id}`: national position papers.

use actix_web::{web, HttpResponse};

use super::views::{found, parse_id};
use crate::access::visible;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::Fold;

pub async fn list(auth: MaybeSigned, fold: Fold) -> Result<HttpResponse, ApiError> {
    let ledger = fold.read();
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
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let ledger = fold.read();
    let paper = ledger
        .discussion()
        .position(&id)
        .filter(|p| visible(&auth.reader, &p.meta));
    found(paper, || format!("no position {id}"))
}
