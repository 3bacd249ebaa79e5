//! What every handler shares: the store, the fold, the sequencer, the log's
//! identity; and [`Fold`], the extractor through which a handler reads the fold.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use entente_shared::ledger::Ledger;
use entente_shared::note::NoteVerifier;
use tokio::sync::{broadcast, watch};

use crate::error::ApiError;
use crate::feed::Published;
use crate::rate_limit::DelegationLimiter;
use crate::replay_cache::ReplayCache;
use crate::sequencer::Sequencer;
use crate::settings::Settings;
use crate::store::Store;
use crate::stream_slots::StreamSlots;

/// Shared application state (cloned into each worker).
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Read only through [`Fold`] (which waits for the start-up restore) or
    /// [`AppState::ready_fold`]; only the sequencer writes it.
    ledger: Arc<RwLock<Ledger>>,
    pub sequencer: Sequencer,
    pub settings: Arc<Settings>,
    /// The log's origin and checkpoint verifier key.
    pub log: Arc<NoteVerifier>,
    /// Nonces of recent signed requests (see `auth`).
    pub replay: Arc<ReplayCache>,
    /// Committed batches, for stream subscribers (see `feed`).
    pub feed: broadcast::Sender<Arc<Published>>,
    /// Becomes true once the start-up fold restore is done (see `recovery`).
    fold_ready: watch::Receiver<bool>,
    /// Per-delegation submission rate.
    pub limiter: Arc<DelegationLimiter>,
    /// Open streams, bounded per delegation and in all.
    pub streams: Arc<StreamSlots>,
    /// When this process started (Unix seconds): signed requests created
    /// before it are refused, as their nonces were forgotten with the last run.
    pub started_at: i64,
}

/// How long a request waits for the start-up fold restore before 503 starting.
const FOLD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// The state over `store` and the fold `ledger` (written by `sequencer`),
    /// readable once `fold_ready` turns true; the replay cache and the rate
    /// limiter are made from `settings`.
    pub fn new(
        store: Store,
        ledger: Arc<RwLock<Ledger>>,
        sequencer: Sequencer,
        settings: Settings,
        log: NoteVerifier,
        feed: broadcast::Sender<Arc<Published>>,
        fold_ready: watch::Receiver<bool>,
    ) -> AppState {
        AppState {
            replay: Arc::new(ReplayCache::new(settings.replay_cache_entries)),
            limiter: Arc::new(DelegationLimiter::new(
                settings.rate_per_delegation,
                settings.rate_burst,
            )),
            streams: Arc::new(StreamSlots::new(
                settings.stream_max_per_delegation,
                settings.stream_max_total,
            )),
            store,
            ledger,
            sequencer,
            settings: Arc::new(settings),
            log: Arc::new(log),
            feed,
            fold_ready,
            started_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// The fold, if the start-up restore is done; never waits.
    pub fn ready_fold(&self) -> Option<Fold> {
        self.fold_ready.borrow().then(|| Fold(self.ledger.clone()))
    }

    /// The fold, once the start-up restore is done: waits up to 30 s, then
    /// answers 503 `starting`.
    pub async fn fold(&self) -> Result<Fold, ApiError> {
        if let Some(fold) = self.ready_fold() {
            return Ok(fold);
        }
        let mut ready = self.fold_ready.clone();
        let waited = tokio::time::timeout(FOLD_WAIT, ready.wait_for(|r| *r))
            .await
            .map(|r| r.is_ok());
        match waited {
            Ok(true) => Ok(Fold(self.ledger.clone())),
            _ => Err(ApiError::Starting),
        }
    }
}

/// The restored fold. A handler that reads the fold takes a `Fold` argument:
/// extracting it waits for the start-up restore (see [`AppState::fold`]), so
/// no handler can read a half-rebuilt state.
pub struct Fold(Arc<RwLock<Ledger>>);

impl Fold {
    /// Reads the fold. Only the sequencer writes it, briefly, once per batch.
    pub fn read(&self) -> RwLockReadGuard<'_, Ledger> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl FromRequest for Fold {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Fold, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            match state {
                Some(state) => state.fold().await,
                None => Err(ApiError::Internal("no application state".into())),
            }
        })
    }
}
