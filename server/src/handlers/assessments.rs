//! `GET /v1/assessments[?supplier=NAME]` and `GET /v1/suppliers/{name}`:
//! what the reader may read, `superseded_by` included.

use actix_web::{web, HttpResponse};
use entente_shared::views;
use serde::Deserialize;

use super::views::found;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::Fold;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    supplier: Option<String>,
}

pub async fn list(
    auth: MaybeSigned,
    q: web::Query<Filter>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let records = views::assessments(&fold.read(), &auth.reader, q.supplier.as_deref());
    Ok(HttpResponse::Ok().json(records))
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
