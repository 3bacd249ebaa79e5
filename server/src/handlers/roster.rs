//! `GET /v1/roster`: delegations, roles and key histories, as folded.

use actix_web::{web, HttpResponse};
use entente_shared::api::RosterView;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_roster(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.fold_ready().await?;
    let view = {
        let ledger = state.ledger();
        RosterView {
            size: ledger.size(),
            roster: ledger.roster().clone(),
        }
    };
    Ok(HttpResponse::Ok().json(view))
}
