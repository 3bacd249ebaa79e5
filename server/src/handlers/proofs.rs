//! `GET /v1/proofs/inclusion` and `GET /v1/proofs/consistency`: RFC 9162 proofs.

use actix_web::{web, HttpResponse};
use entente_shared::api::{ConsistencyProof, InclusionProof};
use entente_shared::merkle::{consistency_proof, inclusion_proof, NodeSource, ProofError};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    size: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: u64,
    to: u64,
}

fn proof_error(e: ProofError<StoreError>) -> ApiError {
    match e {
        ProofError::OutOfRange { .. } => ApiError::BadRequest(e.to_string()),
        ProofError::Source(s) => s.into(),
    }
}

fn within_log(state: &AppState, size: u64) -> Result<(), ApiError> {
    let current = state.store.size()?;
    if size > current {
        return Err(ApiError::BadRequest(format!(
            "size {size} is past the log's size {current}"
        )));
    }
    Ok(())
}

pub async fn get_inclusion(
    q: web::Query<InclusionQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    within_log(&state, q.size)?;
    let proof = inclusion_proof(&state.store, q.index, q.size).map_err(proof_error)?;
    let leaf_hash = state.store.node(0, q.index)?;
    Ok(HttpResponse::Ok().json(InclusionProof {
        index: q.index,
        size: q.size,
        leaf_hash,
        proof,
    }))
}

pub async fn get_consistency(
    q: web::Query<ConsistencyQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    within_log(&state, q.to)?;
    let proof = consistency_proof(&state.store, q.from, q.to).map_err(proof_error)?;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        from: q.from,
        to: q.to,
        proof,
    }))
}
