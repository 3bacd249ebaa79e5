//! One handler per file: extract, authorise, call the domain, answer.

pub mod checkpoint;
pub mod entries;
pub mod health;
pub mod log_info;
pub mod metrics;
pub mod proofs;
pub mod roster;
pub mod statement;
pub mod submit;
