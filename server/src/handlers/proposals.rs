//! `GET /v1/proposals` and `GET /v1/proposals/{id}`: proposals with the
//! revisions and positions the reader may read, and the tally of those.

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
    let now = time::OffsetDateTime::now_utc();
    let list: Vec<_> = views::proposals(&fold.read(), &auth.reader)
        .into_iter()
        .map(|p| p.as_of(now))
        .collect();
    json_page("/v1/proposals", "", list, |p| p.record.meta.index, &page)
}

pub async fn show(
    auth: MaybeSigned,
    path: web::Path<String>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let now = time::OffsetDateTime::now_utc();
    let record = views::proposal(&fold.read(), &auth.reader, &id).map(|p| p.as_of(now));
    found(record, || format!("no proposal {id}"))
}
