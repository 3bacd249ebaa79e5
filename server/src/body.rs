//! Reading a request body with a hard size limit, answered as problem+json.

use actix_web::web::{Bytes, BytesMut, Payload};
use actix_web::HttpRequest;
use entente_shared::refusal::Refusal;
use futures_util::StreamExt as _;

use crate::error::ApiError;

/// Reads the whole body, refusing it with 413 as soon as it passes `limit`.
pub async fn read_limited(
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
