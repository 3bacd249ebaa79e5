//! HTTP wire types of API v1: what the server answers and the CLI reads.
//!
//! Field names are snake_case; hashes and proofs are standard base64, the
//! encoding C2SP checkpoints use for their root.

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::dsse::Envelope;
use crate::ledger::Roster;
use crate::statement::StatementId;

/// Whether requests to `path` (query ignored) with `method` are public: the
/// server never authenticates them, so the CLI does not sign them. Checkpoints,
/// the log's identity, proofs, health, metrics and the public register of
/// CLEAR declarations (`/`, `/declarations/ID`) are for anyone; a statement
/// and a cosignature carry their own signatures. A server test keeps this in
/// step with the route table.
pub fn is_public_route(method: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    (method == "POST" && matches!(path, "/v1/statements" | "/v1/cosignatures"))
        || (method == "GET"
            && (matches!(
                path,
                "/v1/checkpoint" | "/v1/log" | "/healthz" | "/metrics" | "/"
            ) || path.starts_with("/v1/proofs/")
                || path.starts_with("/declarations/")))
}

/// Longest index range one `GET /v1/entries` answers.
pub const MAX_ENTRIES_PER_PAGE: u64 = 1000;

/// A page of entries (or of any list) ends after the item that takes it past
/// this many bytes, whatever range was asked: clients ask again from where
/// it ended, and no answer holds more than about this much at once.
pub const MAX_PAGE_BYTES: usize = 1 << 20;

/// Most items one page of a list route (`/v1/proposals`, `/v1/declarations`,
/// `/v1/assessments`, `/v1/positions`) holds; `?after=INDEX` asks for the
/// next, which the answer's `Link: <...>; rel="next"` header names.
pub const MAX_LIST_PAGE: usize = 500;

/// Answer to `POST /v1/statements`: where the statement landed, and proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub id: StatementId,
    pub index: u64,
    /// RFC 6962 leaf hash of the envelope's canonical JSON.
    #[serde(with = "b64::hash")]
    pub leaf_hash: [u8; 32],
    /// Signed checkpoint (C2SP signed note) of a tree that includes the entry.
    pub checkpoint: String,
    /// Inclusion proof of `index` in that checkpoint's tree.
    #[serde(with = "b64::hashes")]
    pub inclusion_proof: Vec<[u8; 32]>,
}

/// One log entry; `envelope` is absent where the reader may not see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub index: u64,
    #[serde(with = "b64::hash")]
    pub leaf_hash: [u8; 32],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<StatementId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<Envelope>,
}

/// Answer to `GET /v1/entries`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entries {
    pub entries: Vec<Entry>,
}

/// Answer to `GET /v1/statements/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRecord {
    pub id: StatementId,
    pub index: u64,
    pub envelope: Envelope,
}

/// Answer to `GET /v1/proofs/inclusion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    #[serde(with = "b64::hash")]
    pub leaf_hash: [u8; 32],
    #[serde(with = "b64::hashes")]
    pub proof: Vec<[u8; 32]>,
}

/// Answer to `GET /v1/proofs/consistency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    #[serde(with = "b64::hashes")]
    pub proof: Vec<[u8; 32]>,
}

/// Answer to `GET /v1/log`: what a new profile pins on first contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// The checkpoint origin line, also the log key's name.
    pub origin: String,
    /// The log's C2SP note verifier key (`name+hash+base64`).
    pub verifier_key: String,
    pub size: u64,
}

/// Answer to `GET /v1/roster`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterView {
    /// Log size the roster was folded at.
    pub size: u64,
    #[serde(flatten)]
    pub roster: Roster,
}

/// RFC 9457 problem details, as every refusal is answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default)]
    pub detail: String,
}

/// Media type of problem answers.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Answer to `GET /v1/proposals/{id}` (and each item of `GET /v1/proposals`):
/// the folded proposal with the tally of positions on its current revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalView {
    #[serde(flatten)]
    pub record: crate::ledger::ProposalRecord,
    pub tally: crate::ledger::Tally,
    /// Open, and its deadline has passed by the server's clock: the log's
    /// next entry will record its outcome (the fold has no clock of its own).
    #[serde(default)]
    pub deadline_passed: bool,
}

impl ProposalView {
    /// Sets `deadline_passed` for the time `now`.
    pub fn as_of(mut self, now: time::OffsetDateTime) -> ProposalView {
        self.deadline_passed =
            self.record.status == crate::ledger::Status::Open && self.record.deadline <= now;
        self
    }
}

/// Answer to `GET /v1/threads/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadView {
    pub thread: StatementId,
    pub messages: Vec<crate::ledger::ThreadMessage>,
}

/// One message of the `GET /v1/stream` WebSocket (a JSON text frame each).
///
/// In log order, without gaps: every entry from the subscription's start is
/// either an `entry` (the reader may see it) or counted in a `hidden` run, and
/// a `checkpoint` follows each committed batch once its entries are sent.
/// Live batches come as `batch` messages: the same events, in the same order,
/// several to a WebSocket message (at most [`MAX_STREAM_FRAME_BYTES`] each,
/// unless one event alone is larger), so a subscriber pays one message per
/// committed batch rather than one per entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    Entry {
        index: u64,
        id: StatementId,
        envelope: Envelope,
    },
    /// `count` entries from index `from` that this reader may not see.
    Hidden { from: u64, count: u64 },
    /// A signed checkpoint (signed-note text) of the tree so far.
    Checkpoint { checkpoint: String },
    /// Consecutive events of the kinds above, in order (never nested).
    Batch { events: Vec<StreamEvent> },
}

/// Largest `batch` stream message the server assembles, in bytes; a single
/// event larger than this (a statement near `max_statement_bytes`) is sent
/// alone.
pub const MAX_STREAM_FRAME_BYTES: usize = 256 * 1024;

/// Largest body `POST /v1/cosignatures` reads: a checkpoint note with a
/// few dozen signature lines is a few kilobytes.
pub const MAX_COSIGNATURE_BODY: usize = 64 * 1024;

/// Body of `POST /v1/cosignatures`: a witness's cosignature of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignatureRequest {
    /// The checkpoint as the log signed it (signed-note text; other
    /// signature lines may be present and are ignored).
    pub checkpoint: String,
    /// The witness's signature line (`— entente-witness/<CODE> <base64>`).
    pub cosignature: String,
}

/// Answer to `POST /v1/cosignatures`: what was stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignatureReceipt {
    pub delegation: crate::statement::DelegationCode,
    pub size: u64,
    /// The cosignature's own timestamp (Unix seconds).
    pub timestamp: u64,
}

/// Percent-encodes `s` for one URL path segment or query value: everything
/// but RFC 3986 unreserved characters, so supplier names with spaces, `/`,
/// `&` or `?` reach the server intact.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod percent_tests {
    #[test]
    fn url_encoding_keeps_only_unreserved_characters() {
        assert_eq!(super::percent_encode("Acme-1.0_~"), "Acme-1.0_~");
        assert_eq!(
            super::percent_encode("Nord & Süd/Tel?x=1"),
            "Nord%20%26%20S%C3%BCd%2FTel%3Fx%3D1"
        );
    }
}
