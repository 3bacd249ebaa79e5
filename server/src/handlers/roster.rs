//! `GET /v1/roster`: delegations, roles and key histories, as folded.
//! A signed read: roster statements are GREEN or CLEAR (the fold refuses
//! others), so every admitted delegation may see the whole roster.

use actix_web::HttpResponse;
use entente_shared::api::RosterView;

use crate::auth::Signed;
use crate::error::ApiError;
use crate::state::Fold;

pub async fn get_roster(_auth: Signed, fold: Fold) -> Result<HttpResponse, ApiError> {
    let view = {
        let ledger = fold.read();
        RosterView {
            size: ledger.size(),
            roster: ledger.roster().clone(),
        }
    };
    Ok(HttpResponse::Ok().json(view))
}
