//! The one route table of API v1.

use actix_web::{error::QueryPayloadError, web, HttpRequest};

use crate::error::ApiError;
use crate::handlers::{
    checkpoint, entries, health, log_info, metrics, proofs, roster, statement, submit,
};

fn bad_query(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("query: {err}")).into()
}

/// Registers every route and the problem+json answers for bad queries and unknown paths.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(bad_query))
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(metrics::get_metrics))
        .service(
            web::scope("/v1")
                .route("/statements", web::post().to(submit::submit))
                .route("/statements/{id}", web::get().to(statement::get_statement))
                .route("/entries", web::get().to(entries::get_entries))
                .route("/roster", web::get().to(roster::get_roster))
                .route("/checkpoint", web::get().to(checkpoint::get_checkpoint))
                .route("/log", web::get().to(log_info::get_log_info))
                .route("/proofs/inclusion", web::get().to(proofs::get_inclusion))
                .route(
                    "/proofs/consistency",
                    web::get().to(proofs::get_consistency),
                ),
        )
        .default_service(web::to(health::not_found));
}
