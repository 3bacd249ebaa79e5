//! `GET /v1/proposals` and `GET /v1/proposals/{id}`: proposals with their
//! revisions, every participant's positions and the tally.

use actix_web::{web, HttpResponse};
use entente_shared::api::ProposalView;
use entente_shared::ledger::ProposalRecord;

use super::views::{found, parse_id};
use crate::access::visible;
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::AppState;

fn view(record: &ProposalRecord) -> ProposalView {
    ProposalView {
        record: record.clone(),
        tally: record.tally(),
    }
}

pub async fn list(auth: MaybeSigned, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.fold_ready().await?;
    let ledger = state.ledger();
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
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.fold_ready().await?;
    let id = parse_id(&path)?;
    let ledger = state.ledger();
    let record = ledger
        .proposals()
        .get(&id)
        .filter(|p| visible(&auth.reader, &p.meta))
        .map(view);
    found(record, || format!("no proposal {id}"))
}
