//! One handler per file: extract, authorise, call the domain, answer.

pub mod assessments;
pub mod checkpoint;
pub mod cosignatures;
pub mod declarations;
pub mod entries;
pub mod health;
pub mod log_info;
pub mod metrics;
pub mod positions;
pub mod proofs;
pub mod proposals;
pub mod register;
pub mod roster;
pub mod statement;
pub mod stream;
pub mod submit;
pub mod threads;
pub mod views;
