//! `entente-server`: the HTTP API, the sequencer and sled storage.
//!
//! Invariants: only [`store`] touches sled; handlers see [`store::Store`] and
//! [`error::ApiError`], never sled types; only the [`sequencer`] thread writes
//! the log; every wire type lives in `entente-shared`.

pub mod access;
pub mod app;
pub mod auth;
pub mod body;
pub mod error;
pub mod fold_snapshots;
pub mod handlers;
pub mod log_key;
pub mod metrics;
pub mod rate_limit;
pub mod replay_cache;
pub mod routes;
pub mod sequencer;
pub mod settings;
pub mod state;
pub mod store;
pub mod stream;
pub mod tls;
