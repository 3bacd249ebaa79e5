//! `GET /v1/declarations` and `GET /v1/declarations/{id}`: adopted proposals.

use actix_web::{web, HttpResponse};
use entente_shared::ledger::Declaration;

use super::views::{found, parse_id};
use crate::access::visible;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::Fold;

pub async fn list(auth: MaybeSigned, fold: Fold) -> Result<HttpResponse, ApiError> {
    let ledger = fold.read();
    let proposals = ledger.proposals();
    let list: Vec<Declaration> = proposals
        .iter()
        .filter(|p| visible(&auth.reader, &p.meta))
        .filter_map(|p| proposals.declaration(&p.meta.id))
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
    let proposals = ledger.proposals();
    let declaration = proposals
        .get(&id)
        .filter(|p| visible(&auth.reader, &p.meta))
        .and_then(|_| proposals.declaration(&id));
    found(declaration, || {
        format!("no declaration {id} (not adopted, or no such proposal)")
    })
}
