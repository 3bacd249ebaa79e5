//! `GET /v1/declarations` and `GET /v1/declarations/{id}`: adopted proposals,
//! made from what the reader may read.

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
    let list = views::declarations(&fold.read(), &auth.reader);
    json_page("/v1/declarations", "", list, |d| d.proposal_index, &page)
}

pub async fn show(
    auth: MaybeSigned,
    path: web::Path<String>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let declaration = views::declaration(&fold.read(), &auth.reader, &id);
    found(declaration, || {
        format!("no declaration {id} (not adopted, or no such proposal)")
    })
}
