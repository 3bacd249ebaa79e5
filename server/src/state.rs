//! What every handler shares: the store, the fold, the sequencer, the log's identity.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use entente_shared::ledger::Ledger;
use entente_shared::note::NoteVerifier;

use crate::error::ApiError;
use crate::rate_limit::DelegationLimiter;
use crate::replay_cache::ReplayCache;
use crate::sequencer::{Published, Sequencer};
use crate::settings::Settings;
use crate::store::Store;
use tokio::sync::broadcast;

/// Shared application state (cloned into each worker).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub ledger: Arc<RwLock<Ledger>>,
    pub sequencer: Sequencer,
    pub settings: Arc<Settings>,
    /// The log's origin and checkpoint verifier key.
    pub log: Arc<NoteVerifier>,
    /// Nonces of recent signed requests (see `auth`).
    pub replay: Arc<ReplayCache>,
    /// Committed batches, for stream subscribers (see `stream`).
    pub feed: broadcast::Sender<Arc<Published>>,
    /// Becomes true once the start-up fold replay is done (see `store::verify`).
    pub fold_ready: tokio::sync::watch::Receiver<bool>,
    /// Per-delegation submission rate.
    pub limiter: Arc<DelegationLimiter>,
}

/// How long a request waits for the start-up fold replay before 503 starting.
const FOLD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// Waits until the fold is restored after start-up. Every handler that
    /// reads the fold (`ledger()`) calls this first; entries, proofs and
    /// checkpoints do not need to.
    pub async fn fold_ready(&self) -> Result<(), ApiError> {
        let mut ready = self.fold_ready.clone();
        if *ready.borrow() {
            return Ok(());
        }
        let waited = tokio::time::timeout(FOLD_WAIT, ready.wait_for(|r| *r))
            .await
            .map(|r| r.is_ok());
        match waited {
            Ok(true) => Ok(()),
            _ => Err(ApiError::Starting),
        }
    }

    /// Reads the fold. Only the sequencer writes it, briefly, once per batch.
    pub fn ledger(&self) -> RwLockReadGuard<'_, Ledger> {
        self.ledger.read().unwrap_or_else(|p| p.into_inner())
    }
}
