//! `GET /v1/log`: the log's origin and checkpoint key, pinned by new profiles.

use actix_web::{web, HttpResponse};
use entente_shared::api::LogInfo;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn get_log_info(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(LogInfo {
        origin: state.log.name().to_owned(),
        verifier_key: state.log.to_vkey(),
        size: state.store.size()?,
    }))
}
