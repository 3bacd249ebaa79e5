//! The Entente protocol, shared by the server, the CLI and offline verifiers.
//!
//! What belongs here: every type that is signed, hashed or sent on the wire,
//! and every rule that decides what a log means (the fold). What does not: any
//! I/O. This crate never depends on actix, sled, tokio or a socket, so that an
//! offline verifier reaches exactly the answer the server reached.
//!
//! | module | concern |
//! |---|---|
//! | [`keys`] | Ed25519 keys and key ids |
//! | [`encryption`] | X25519 encryption keys |
//! | [`seal`] | sealing and opening AMBER and RED bodies (HPKE, RFC 9180) |
//! | [`dsse`] | DSSE v1 envelopes and PAE |
//! | [`statement`] | statement payloads (signed bytes) |
//! | [`ledger`] | the fold: roster, assessments, proposals, adoption, threads |
//! | [`frameworks`] | assessment frameworks (compiled from `config/frameworks/`) |
//! | [`refusal`] | refusals and their stable problem types |
//! | [`merkle`] | RFC 9162 hashing and proofs |
//! | [`note`] | C2SP signed notes |
//! | [`checkpoint`] | C2SP tlog checkpoints |
//! | [`cosignature`] | C2SP tlog cosignatures (witnesses) |
//! | [`archive`] | the offline archive bundle: format and every verification step |
//! | [`document`] | a declaration as a document: Markdown, and a printable HTML page with its stylesheet's CSP hash |
//! | [`api`] | HTTP wire types |
//! | [`httpsig`] | RFC 9421 HTTP message signatures (signed reads) |
//! | [`visibility`] | TLP 2.0: who may read a statement |
//! | [`b64`] | base64 on the wire |

pub mod api;
pub mod archive;
pub mod b64;
pub mod checkpoint;
pub mod cosignature;
pub mod document;
pub mod dsse;
pub mod encryption;
pub mod frameworks;
pub mod httpsig;
pub mod keys;
pub mod ledger;
pub mod merkle;
pub mod note;
pub mod refusal;
pub mod seal;
pub mod statement;
pub mod strict_json;
mod text_form;
pub mod tiles;
pub mod views;
pub mod visibility;
pub mod witness_protocol;
