//! `GET /v1/proposals` and `GET /v1/proposals/{id}`: proposals with their
//! revisions, every participant's positions and the tally.

use actix_web::{web, HttpResponse};
use entente_shared::api::ProposalView;
use entente_shared::ledger::ProposalRecord;

use super::views::{found, parse_id};
use crate::access::visible;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::Fold;

fn view(record: &ProposalRecord) -> ProposalView {
    ProposalView {
        record: record.clone(),
        tally: record.tally(),
    }
}

pub async fn list(auth: MaybeSigned, fold: Fold) -> Result<HttpResponse, ApiError> {
    let ledger = fold.read();
    let views: Vec<ProposalView> = ledger
        .proposals()
        .iter()
        .filter(|p| visible(&auth.reader, &p.meta))
        .map(view)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

pub async fn show(
    auth: MaybeSigned,
    path: web::Path<String>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let ledger = fold.read();
    let record = ledger
        .proposals()
        .get(&id)
        .filter(|p| visible(&auth.reader, &p.meta))
        .map(view);
    found(record, || format!("no proposal {id}"))
}
