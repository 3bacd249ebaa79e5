//! `POST /v1/cosignatures`: a witness's cosignature of a checkpoint.
//!
//! Checked here, on the worker: the checkpoint must be one this log signed
//! (log signature, size within the log, root equal to the stored tree's root
//! at that size), and the line must be a valid `cosignature/v1` by the named
//! delegation's active key in the current roster. Its timestamp may not be
//! ahead of the server's clock by more than the statement skew bound. Then
//! the sequencer stores it, so that only that thread ever flushes.
//!
//! The post is authenticated by the cosignature itself (C2SP
//! tlog-cosignature: the witness's key over the checkpoint and a timestamp),
//! not by a request signature. Only a newer cosignature replaces a
//! witness's stored one for that size: an equal or older one (a replay) is
//! answered 200 with what is stored, and nothing is written. Posts count
//! against the witness delegation's rate (429 past it).

use actix_web::{web, HttpRequest, HttpResponse};
use entente_shared::api::{CosignatureReceipt, CosignatureRequest, MAX_COSIGNATURE_BODY};
use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::cosignature::{self, Cosigner};
use entente_shared::merkle::root;

use crate::body::read_limited;
use crate::error::ApiError;
use crate::state::{AppState, Fold};
use crate::store::{NewCosignature, StoredCosignature};

pub async fn post_cosignature(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let body = read_limited(&req, payload, MAX_COSIGNATURE_BODY).await?;
    let request: CosignatureRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("cosignature request: {e}")))?;

    let unknown = |why: String| ApiError::UnknownCheckpoint(why);
    let cp = SignedCheckpoint::parse_and_verify(&request.checkpoint, &state.log)
        .map_err(|e| unknown(format!("not a checkpoint of this log: {e}")))?;
    let size = cp.checkpoint.size;
    let current = state.store.size()?;
    if size > current {
        return Err(unknown(format!(
            "checkpoint size {size} is past the log's size {current}"
        )));
    }
    let stored_root = root(&state.store, size).map_err(|e| ApiError::Internal(e.to_string()))?;
    if stored_root != cp.checkpoint.root {
        return Err(unknown(format!(
            "the checkpoint's root is not this log's root at size {size}"
        )));
    }

    let sig = cosignature::parse_line(&request.cosignature)
        .map_err(|e| ApiError::BadCosignature(e.to_string()))?;
    let Cosigner {
        delegation: code,
        timestamp,
    } = cosignature::verify_by_roster(&sig, &cp.note.text, fold.read().roster())
        .map_err(|e| ApiError::BadCosignature(e.to_string()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    if timestamp > now.saturating_add(state.settings.max_clock_skew_secs) {
        return Err(ApiError::BadCosignature(format!(
            "the cosignature's timestamp {timestamp} is ahead of the server's clock ({now})"
        )));
    }
    // A witness cosigns a size once per timestamp: a replay of what is
    // stored, or of anything older, changes nothing and writes nothing.
    let stored = state.store.cosignature(size, code.as_str())?;
    if let Some(stored) = stored.filter(|s| s.timestamp >= timestamp) {
        tracing::debug!(%code, size, "ignored a cosignature no newer than the stored one");
        return Ok(HttpResponse::Ok().json(CosignatureReceipt {
            delegation: code,
            size,
            timestamp: stored.timestamp,
        }));
    }
    state.limiter.check(&code)?;
    state
        .sequencer
        .cosign(NewCosignature {
            size,
            code: code.to_string(),
            cosignature: StoredCosignature {
                body: cp.note.text.clone(),
                line: sig.to_line(),
                timestamp,
            },
        })
        .await?;
    tracing::debug!(%code, size, "stored a cosignature");
    Ok(HttpResponse::Created().json(CosignatureReceipt {
        delegation: code,
        size,
        timestamp,
    }))
}
