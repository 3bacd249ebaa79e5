//! `GET /v1/assessments[?supplier=NAME]` and `GET /v1/suppliers/{name}`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::views::found;
use crate::access::visible;
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
    let ledger = fold.read();
    let book = ledger.assessments();
    let records: Vec<_> = match &q.supplier {
        Some(name) => book
            .of_supplier(name)
            .filter(|r| visible(&auth.reader, &r.meta))
            .collect(),
        None => book
            .iter()
            .filter(|r| visible(&auth.reader, &r.meta))
            .collect(),
    };
    Ok(HttpResponse::Ok().json(records))
}

pub async fn supplier(
    auth: MaybeSigned,
    path: web::Path<String>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let view = fold
        .read()
        .assessments()
        .supplier_view(&path, |m| visible(&auth.reader, m));
    found(view, || {
        format!("no assessment of supplier {:?}", path.as_str())
    })
}
