//! `GET /healthz`: liveness, and `not_found`: the answer for unknown routes.

use actix_web::HttpResponse;

use crate::error::ApiError;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}
