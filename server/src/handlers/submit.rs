//! `POST /v1/statements`: verify, sequence, store, answer a receipt.

use actix_web::{web, HttpRequest, HttpResponse};
use entente_shared::api::Receipt;
use entente_shared::dsse::Envelope;
use entente_shared::ledger::rules::{check_clock, check_sealed};
use entente_shared::merkle::inclusion_proof;
use entente_shared::refusal::Refusal;

use crate::body::read_limited;
use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

pub async fn submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let answer = accept(req, payload, state).await;
    match &answer {
        Ok(_) => metrics::statement_accepted(),
        Err(e) => metrics::statement_refused(e.slug()),
    }
    answer
}

async fn accept(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = read_limited(&req, payload, state.settings.max_body_bytes).await?;
    let envelope = Envelope::from_json(&body).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let max = state.settings.max_statement_bytes;
    if envelope.payload.len() > max {
        return Err(Refusal::TooLarge {
            size: envelope.payload.len(),
            max,
        }
        .into());
    }
    // The fold is awaited only after the cheap checks of the body.
    let fold = state.fold().await?;
    // Signature checks run here, on the worker, not on the sequencer, and
    // outside the lock on the fold.
    let unverified = fold.read().prepare(envelope)?;
    let verified = unverified.verify()?;
    // After the signature: only the real author's allowance is spent.
    state.limiter.check(&verified.statement().author)?;
    check_sealed(verified.statement())?;
    let now = time::OffsetDateTime::now_utc();
    check_clock(
        verified.statement().issued_at,
        now,
        state.settings.max_clock_skew_secs,
        state.settings.max_future_skew_secs,
    )?;
    let id = verified.id();
    // The sequencer also refuses a position or revision past its
    // proposal's deadline by `now` (`Ledger::check_timely`).
    let committed = state.sequencer.submit(verified, now).await?;
    let proof = inclusion_proof(&state.store, committed.index, committed.size)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // debug, not info: at 20,000/s one line each costs a tenth of a core;
    // /metrics counts them.
    tracing::debug!(%id, index = committed.index, "accepted statement");
    Ok(HttpResponse::Created().json(Receipt {
        id,
        index: committed.index,
        leaf_hash: committed.leaf_hash,
        checkpoint: committed.checkpoint.to_string(),
        inclusion_proof: proof,
    }))
}
