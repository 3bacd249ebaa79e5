//! `GET /metrics`: Prometheus text exposition (public, like `/healthz`).

use actix_web::HttpResponse;

pub async fn get_metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::render())
}
