//! `GET /v1/positions` and `GET /v1/positions/{id}`: national position papers.

use actix_web::{web, HttpResponse};
use entente_shared::views;

use super::views::{found, parse_id};
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::response::{json_page, Page};
use crate::state::Fold;

pub async fn list(
    auth: MaybeSigned,
    page: web::Query<Page>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let list = views::positions(&fold.read(), &auth.reader);
    json_page("/v1/positions", "", list, |p| p.meta.index, &page)
}

pub async fn show(
    auth: MaybeSigned,
    path: web::Path<String>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let paper = views::position(&fold.read(), &auth.reader, &id);
    found(paper, || format!("no position {id}"))
}
