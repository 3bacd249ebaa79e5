//! `entente`: the CLI each delegation runs — profile and keystore, HTTP
//! client, checkpoint pinning, publishing and verification.
//!
//! Invariant: nothing is trusted because the server said it. Receipts,
//! checkpoints and entries are checked against the pinned log key, the pinned
//! checkpoint and the shared fold before anything is printed as fact.

pub mod archive;
pub mod assessment_file;
pub mod cli;
pub mod commands;
pub mod console;
pub mod diff;
pub use entente_shared::document;
pub mod duration;
pub mod error;
pub mod http;
pub mod listener;
pub mod mirror;
pub mod negotiation;
pub mod output;
pub mod pin;
pub mod profile;
pub mod publish;
pub mod replica;
pub mod resolve;
pub mod seal;
pub mod session;
pub mod tiles;
pub mod trust;
pub mod witness_server;
pub mod ws;
