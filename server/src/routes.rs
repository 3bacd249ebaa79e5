//! The one route table: API v1, and at the root the health and metrics
//! probes and the public register of declarations (HTML).

use actix_web::{error::QueryPayloadError, web, HttpRequest};

use crate::error::ApiError;
use crate::handlers::{
    assessments, checkpoint, cosignatures, declarations, entries, health, log_info, metrics,
    positions, proofs, proposals, register, roster, statement, stream, submit, threads,
};

fn bad_query(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("query: {err}")).into()
}

/// Registers every route and the problem+json answers for bad queries and unknown paths.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(bad_query))
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(metrics::get_metrics))
        .route("/", web::get().to(register::index))
        .route("/declarations/{id}", web::get().to(register::show))
        .service(
            web::scope("/v1")
                .route("/statements", web::post().to(submit::submit))
                .route("/statements/{id}", web::get().to(statement::get_statement))
                .route("/entries", web::get().to(entries::get_entries))
                .route("/roster", web::get().to(roster::get_roster))
                .route("/stream", web::get().to(stream::get_stream))
                .route("/checkpoint", web::get().to(checkpoint::get_checkpoint))
                .route(
                    "/cosignatures",
                    web::post().to(cosignatures::post_cosignature),
                )
                .route("/log", web::get().to(log_info::get_log_info))
                .route("/proofs/inclusion", web::get().to(proofs::get_inclusion))
                .route(
                    "/proofs/consistency",
                    web::get().to(proofs::get_consistency),
                )
                .route("/assessments", web::get().to(assessments::list))
                .route("/suppliers/{name}", web::get().to(assessments::supplier))
                .route("/proposals", web::get().to(proposals::list))
                .route("/proposals/{id}", web::get().to(proposals::show))
                .route("/declarations", web::get().to(declarations::list))
                .route("/declarations/{id}", web::get().to(declarations::show))
                .route("/positions", web::get().to(positions::list))
                .route("/positions/{id}", web::get().to(positions::show))
                .route("/threads/{id}", web::get().to(threads::show)),
        )
        .default_service(web::to(health::not_found));
}
