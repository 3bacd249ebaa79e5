//! What every handler shares: the store, the fold, the sequencer, the log's identity.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use entente_shared::ledger::Ledger;
use entente_shared::note::NoteVerifier;

use crate::rate_limit::DelegationLimiter;
use crate::sequencer::Sequencer;
use crate::settings::Settings;
use crate::store::Store;

/// Shared application state (cloned into each worker).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub ledger: Arc<RwLock<Ledger>>,
    pub sequencer: Sequencer,
    pub settings: Arc<Settings>,
    /// The log's origin and checkpoint verifier key.
    pub log: Arc<NoteVerifier>,
    /// Per-delegation submission rate.
    pub limiter: Arc<DelegationLimiter>,
}

impl AppState {
    /// Reads the fold. Only the sequencer writes it, briefly, once per batch.
    pub fn ledger(&self) -> RwLockReadGuard<'_, Ledger> {
        self.ledger.read().unwrap_or_else(|p| p.into_inner())
    }
}
