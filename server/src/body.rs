//! Reading a request body with a hard size limit and a deadline, answered as
//! problem+json.
//!
//! The deadline (`body_timeout_ms`) is what closes a slow-body client (slowloris
//! on the body): actix's `client_request_timeout` only covers the headers.

use actix_web::web::{Bytes, BytesMut, Payload};
use actix_web::{web, HttpRequest};
use entente_shared::refusal::Refusal;
use futures_util::StreamExt as _;

use crate::error::ApiError;
use crate::state::AppState;

/// Reads the whole body, refusing it with 413 as soon as it passes `limit`,
/// and with 408 if it has not all arrived within the server's `body_timeout_ms`.
pub async fn read_limited(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let timeout = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.body_timeout_ms)
        .unwrap_or(crate::settings::Settings::default().body_timeout_ms);
    let deadline = std::time::Duration::from_millis(timeout);
    tokio::time::timeout(deadline, read_body(req, payload, limit))
        .await
        .map_err(|_| ApiError::Timeout)?
}

async fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared {
        if len > limit {
            return Err(Refusal::TooLarge {
                size: len,
                max: limit,
            }
            .into());
        }
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Refusal::TooLarge {
                size: body.len() + chunk.len(),
                max: limit,
            }
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
