//! The load generator's parts (the binary is `src/bin/loadgen.rs`).
//!
//! - [`workload`]: delegations admitted for the run and their pre-signed
//!   statement chains (key rotations, padded admissions, or position papers,
//!   a share of them sealed);
//! - [`client`]: C keep-alive HTTP/1.1 connections (hyper) posting or reading,
//!   timing every request;
//! - [`check`]: every receipt's checkpoint and inclusion proof, verified after
//!   the clock stops so the check does not slow what is measured;
//! - [`stream`]: WebSocket subscribers of `GET /v1/stream`, signed as
//!   `entente watch` signs, recording when each entry arrives;
//! - [`report`]: throughput and latency percentiles, as text or one JSON object.

pub mod check;
pub mod client;
pub mod report;
pub mod stream;
pub mod workload;
