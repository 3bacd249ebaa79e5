//! `entente-server`: the HTTP API, the sequencer and the log store (segment
//! files, with a sled index beside them).
//!
//! Invariants: only [`store`] touches the segment files and sled; handlers see [`store::Store`] and
//! [`error::ApiError`], never sled types; only the [`sequencer`] thread writes
//! the log; every wire type lives in `entente-shared`.
//!
//! Layers, each importing only from the ones before it (ARCHITECTURE.md):
//! `metrics`, `settings`, `fsync`, `head` → `store`, `snapshot`, `feed`, `log_key`, `tls` →
//! `fold_snapshots`, `static_tiles` → `sequencer` → `witness_push`, `rate_limit`,
//! `replay_cache`, `stream_slots` → `error` → `state` → `body`, `response`, `auth`, `access`
//! → `handlers` → `routes` → `recovery`, `app`.

pub mod access;
pub mod app;
pub mod auth;
pub mod body;
pub mod error;
pub mod feed;
pub mod fold_snapshots;
pub mod fsync;
pub mod handlers;
pub mod head;
pub mod log_key;
pub mod metrics;
pub mod rate_limit;
pub mod recovery;
pub mod replay_cache;
pub mod response;
pub mod routes;
pub mod sequencer;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod static_tiles;
pub mod store;
pub mod stream_slots;
pub mod tls;
pub mod witness_push;
