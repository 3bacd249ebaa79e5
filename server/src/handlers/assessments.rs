//! `GET /v1/assessments[?supplier=NAME]` and `GET /v1/suppliers/{name}`:
//! what the reader may read, `superseded_by` included.

use actix_web::{web, HttpResponse};
use entente_shared::views;
use serde::Deserialize;

use super::views::found;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::response::{json_page, Page};
use crate::state::Fold;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    supplier: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
}

pub async fn list(
    auth: MaybeSigned,
    q: web::Query<Filter>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let records = views::assessments(&fold.read(), &auth.reader, q.supplier.as_deref());
    let query = match &q.supplier {
        Some(name) => format!("supplier={}&", entente_shared::api::percent_encode(name)),
        None => String::new(),
    };
    let page = Page {
        after: q.after,
        limit: q.limit,
    };
    json_page("/v1/assessments", &query, records, |r| r.meta.index, &page)
}

pub async fn supplier(
    auth: MaybeSigned,
    path: web::Path<String>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let view = views::supplier(&fold.read(), &auth.reader, &path);
    found(view, || {
        format!("no assessment of supplier {:?}", path.as_str())
    })
}
