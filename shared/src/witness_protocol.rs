//! The C2SP tlog-witness protocol (<https://c2sp.org/tlog-witness>):
//! `POST <prefix>/add-checkpoint`, its request body and every rule a witness
//! applies before it cosigns.
//!
//! The request body is an old size line, zero to 63 consistency proof lines
//! (standard base64 of one hash each), an empty line, then the checkpoint as
//! a signed note:
//!
//! ```text
//! old 20852014
//! PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
//!
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgt...
//! ```
//!
//! [`judge`] is the witness's whole decision, pure, in the order the spec
//! gives its answers: unknown origin 404, no valid signature by the trusted
//! key 403, old size past the checkpoint 400, old size other than the last
//! cosigned one 409 (with that size as `text/x.tlog.size`), a bad empty
//! tree, proof or same-size root 422. The caller (the witness server, which
//! holds the state) makes the check and the persisted update atomic.
//!
//! The log side uses [`AddCheckpoint::to_body`] and [`parse_size`].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::merkle::{empty_root, verify_consistency, Hash};
use crate::note::{NoteError, NoteVerifier, SignedNote, MAX_NOTE_SIZE};

/// Most consistency proof lines a request may carry (the spec's bound).
pub const MAX_PROOF_LINES: usize = 63;

/// Largest request body a witness reads: the old size line, 63 proof lines
/// and the largest note.
pub const MAX_REQUEST_BYTES: usize = MAX_NOTE_SIZE + 64 * (MAX_PROOF_LINES + 1);

/// Content type of a 409 answer's body, the witness's latest cosigned size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// One `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// Size of the checkpoint the client believes the witness cosigned last.
    pub old_size: u64,
    /// RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The checkpoint, a signed note (it may carry several signatures).
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            out.push_str(&B64.encode(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a request body; a malformed one is a 400.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessRefusal> {
        let bad = |why: &str| WitnessRefusal::BadRequest(why.to_owned());
        if body.len() > MAX_REQUEST_BYTES {
            return Err(bad("the request is too large"));
        }
        let text = std::str::from_utf8(body).map_err(|_| bad("the request is not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_decimal)
            .ok_or_else(|| bad("the first line is not `old <size>`"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let hash: Hash = B64
                .decode(line)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("a proof line is not base64 of 32 bytes"))?;
            proof.push(hash);
        }
        Ok(AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// Parses a canonical decimal: digits only, no leading zero but `0` itself.
fn parse_decimal(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

/// Parses a `text/x.tlog.size` body: a decimal size and a newline.
pub fn parse_size(body: &str) -> Option<u64> {
    body.strip_suffix('\n').and_then(parse_decimal)
}

/// Why a witness does not cosign, with the status the spec gives it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessRefusal {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unknown origin {0:?}")]
    UnknownOrigin(String),
    #[error("no valid signature by the log's trusted key: {0}")]
    Forbidden(String),
    #[error("the old size is not {0}, the size this witness last cosigned")]
    Conflict(u64),
    #[error("inconsistent: {0}")]
    Unprocessable(String),
}

impl WitnessRefusal {
    /// The HTTP status the spec gives this answer.
    pub fn status(&self) -> u16 {
        match self {
            WitnessRefusal::BadRequest(_) => 400,
            WitnessRefusal::Forbidden(_) => 403,
            WitnessRefusal::UnknownOrigin(_) => 404,
            WitnessRefusal::Conflict(_) => 409,
            WitnessRefusal::Unprocessable(_) => 422,
        }
    }
}

/// The checkpoint a witness last cosigned for the log: its size and root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub size: u64,
    pub root: Hash,
}

/// Decides a request against the log's trusted key and what the witness
/// last cosigned (`None`: never). On success, the checkpoint to record and
/// cosign, carrying only the log's own signature line.
pub fn judge(
    request: &AddCheckpoint,
    log: &NoteVerifier,
    last: Option<Cosigned>,
) -> Result<SignedCheckpoint, WitnessRefusal> {
    let note = SignedNote::parse(&request.checkpoint)
        .map_err(|e| WitnessRefusal::BadRequest(format!("the checkpoint: {e}")))?;
    let checkpoint = Checkpoint::from_body(&note.text)
        .map_err(|e| WitnessRefusal::BadRequest(format!("the checkpoint: {e}")))?;
    if checkpoint.origin != log.name() {
        return Err(WitnessRefusal::UnknownOrigin(checkpoint.origin));
    }
    // Signatures by other keys are ignored, never judged.
    let by_log: Vec<_> = note
        .signatures
        .iter()
        .filter(|s| s.name == log.name() && s.key_hash == log.key_hash())
        .cloned()
        .collect();
    let signed = SignedNote {
        text: note.text,
        signatures: by_log,
    };
    signed.verify(log).map_err(|e| match e {
        NoteError::NoSignatureByKey { .. } | NoteError::BadSignature { .. } => {
            WitnessRefusal::Forbidden(e.to_string())
        }
        other => WitnessRefusal::BadRequest(other.to_string()),
    })?;
    let (old, size) = (request.old_size, checkpoint.size);
    if old > size {
        return Err(WitnessRefusal::BadRequest(format!(
            "the old size {old} is past the checkpoint's size {size}"
        )));
    }
    let last_size = last.map_or(0, |c| c.size);
    if old != last_size {
        return Err(WitnessRefusal::Conflict(last_size));
    }
    if size == 0 && checkpoint.root != empty_root() {
        return Err(WitnessRefusal::Unprocessable(
            "a checkpoint of size 0 must have the empty tree's root".into(),
        ));
    }
    match last {
        None | Some(Cosigned { size: 0, .. }) => {
            if !request.proof.is_empty() {
                return Err(WitnessRefusal::Unprocessable(
                    "the old size is 0, so the proof must be empty".into(),
                ));
            }
        }
        Some(prev) if prev.size == size => {
            if prev.root != checkpoint.root || !request.proof.is_empty() {
                return Err(WitnessRefusal::Unprocessable(format!(
                    "a different root for size {size}, which this witness cosigned: a fork"
                )));
            }
        }
        Some(prev) => {
            verify_consistency(
                prev.size,
                size,
                &prev.root,
                &checkpoint.root,
                &request.proof,
            )
            .map_err(|e| {
                WitnessRefusal::Unprocessable(format!(
                    "the consistency proof from {} to {size} does not verify: {e}",
                    prev.size
                ))
            })?;
        }
    }
    Ok(SignedCheckpoint {
        checkpoint,
        note: signed,
    })
}

#[cfg(test)]
mod tests;
