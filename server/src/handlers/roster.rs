//! `GET /v1/roster`: delegations, roles and key histories, as folded.
//! A signed read: roster statements are GREEN or CLEAR (the fold refuses
//! others), so every admitted delegation may see the whole roster.

use actix_web::{web, HttpResponse};
use entente_shared::api::RosterView;

use crate::auth::Signed;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_roster(
    _auth: Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
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
