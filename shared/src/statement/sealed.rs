//! The sealed form of a body: what an AMBER, AMBER+STRICT or RED statement
//! carries instead of its body, and what the host may still see of it.
//!
//! On the wire a sealed statement's `body` is `{"sealed": {...}}`:
//!
//! | field | host sees | what |
//! |---|---|---|
//! | `refs` | yes | the ids the body references (`proposal`, `thread`, `subject`, `supersedes`), so the fold can check the references' audience without reading the body |
//! | `commitment` | yes | SHA-256 commitment to the content key: every recipient who opens the body opens the same plaintext |
//! | `ciphertext` | no (encrypted) | the body's JSON, padded to a multiple of 256 bytes, under ChaCha20-Poly1305 with the content key |
//! | `keys` | recipient codes and key ids only | the content key wrapped with HPKE (RFC 9180, base mode) for each recipient and for the author |
//!
//! The statement's common fields (kind, author, key, seq, issued_at,
//! distribution with its recipients) stay in clear. Every field of the body
//! itself — titles, texts, notes, supplier names, ratings, verdicts,
//! rationales, evidence, participants, adoption rule, deadline, stances,
//! revision digests — is inside the ciphertext. The cryptography is in
//! [`crate::seal`]; this module is only the shape and its bounds.

use serde::{Deserialize, Serialize};

use super::{err, Body, DelegationCode, Kind, StatementError, StatementId};
use crate::keys::KeyId;

/// The most wrapped keys a statement carries: 64 recipients and its author.
pub const MAX_WRAPS: usize = 65;
/// Bytes of an HPKE X25519 encapsulated key.
pub const ENC_LEN: usize = 32;
/// Bytes of a wrapped content key: 32 bytes and a 16-byte tag.
pub const WRAPPED_LEN: usize = 48;
/// The plaintext is padded with spaces to a multiple of this many bytes,
/// so a ciphertext's length tells only roughly how long the text is.
pub const PAD_TO: usize = 256;
/// Bytes of the AEAD tag that ends the ciphertext.
pub const TAG_LEN: usize = 16;

/// The ids a body references, in clear.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<StatementId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<StatementId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<StatementId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<StatementId>,
    /// The amendments a revision takes, or the one a rejection declines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amendments: Vec<StatementId>,
}

impl Refs {
    /// The references of an open body (a sealed one's are its clear `refs`).
    pub fn of(body: &Body) -> Refs {
        let mut refs = Refs::default();
        match body {
            Body::Revision(r) => {
                refs.proposal = Some(r.proposal);
                refs.amendments = r.amendments.clone();
            }
            Body::Endorsement(e) => refs.proposal = Some(e.proposal),
            Body::Amendment(a) => refs.proposal = Some(a.proposal),
            Body::AmendmentRejection(r) => {
                refs.proposal = Some(r.proposal);
                refs.amendments = vec![r.amendment];
            }
            Body::Message(m) => refs.thread = Some(m.thread),
            Body::Position(p) => refs.subject = p.subject,
            Body::Assessment(a) => refs.supersedes = a.supersedes,
            Body::Sealed { sealed, .. } => refs = sealed.refs.clone(),
            Body::SupplierEntry(_) | Body::SupplierMerge(_) => {}
            Body::Admission(_)
            | Body::KeyRotation(_)
            | Body::KeyRevocation(_)
            | Body::Proposal(_) => {}
        }
        refs
    }

    pub fn is_empty(&self) -> bool {
        self == &Refs::default()
    }

    /// Whether these are references a body of `kind` can have: a revision,
    /// endorsement or amendment names its proposal (a revision also the
    /// amendments it takes), a rejection its proposal and one amendment, a
    /// message its thread, a position at most a subject, an assessment at
    /// most the one it supersedes, a proposal nothing.
    fn fit(&self, kind: Kind) -> Result<(), StatementError> {
        let allowed = match kind {
            Kind::Revision | Kind::Endorsement | Kind::Amendment => self.proposal.is_some(),
            Kind::AmendmentRejection => self.proposal.is_some() && self.amendments.len() == 1,
            Kind::Message => self.thread.is_some(),
            _ => true,
        };
        let others = match kind {
            Kind::Revision | Kind::AmendmentRejection => Refs {
                proposal: None,
                amendments: Vec::new(),
                ..self.clone()
            },
            Kind::Endorsement | Kind::Amendment => Refs {
                proposal: None,
                ..self.clone()
            },
            Kind::Message => Refs {
                thread: None,
                ..self.clone()
            },
            Kind::Position => Refs {
                subject: None,
                ..self.clone()
            },
            Kind::Assessment => Refs {
                supersedes: None,
                ..self.clone()
            },
            _ => self.clone(),
        };
        if !allowed || !others.is_empty() {
            return Err(err(format!(
                "the clear references of a sealed {kind} are not those a {kind} has"
            )));
        }
        super::text::bounded_list("amendments", &self.amendments, false)?;
        let mut ids = self.amendments.clone();
        ids.sort();
        ids.dedup();
        if ids.len() != self.amendments.len() {
            return Err(err("the clear references name an amendment twice"));
        }
        Ok(())
    }
}

/// The content key wrapped for one reader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrappedKey {
    /// The reader: a recipient, or the author.
    pub to: DelegationCode,
    /// The id of the reader's X25519 key it was wrapped to.
    pub key: KeyId,
    /// HPKE encapsulated key.
    #[serde(with = "crate::b64::hash")]
    pub enc: [u8; ENC_LEN],
    /// The content key, sealed by HPKE.
    #[serde(with = "crate::b64::bytes")]
    pub wrapped: Vec<u8>,
}

/// A sealed body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    #[serde(default, skip_serializing_if = "Refs::is_empty")]
    pub refs: Refs,
    #[serde(with = "crate::b64::hash")]
    pub commitment: [u8; 32],
    #[serde(with = "crate::b64::bytes")]
    pub ciphertext: Vec<u8>,
    pub keys: Vec<WrappedKey>,
}

impl Sealed {
    /// The wrapped key for `reader`, if there is one.
    pub fn wrap_for(&self, reader: &DelegationCode) -> Option<&WrappedKey> {
        self.keys.iter().find(|w| &w.to == reader)
    }

    /// Checks the shape: references fit the kind, one key per reader, sizes.
    pub(super) fn validate(&self, kind: Kind) -> Result<(), StatementError> {
        if kind.is_public() {
            return Err(err(
                "roster and supplier registry statements are never sealed",
            ));
        }
        self.refs.fit(kind)?;
        if self.keys.is_empty() || self.keys.len() > MAX_WRAPS {
            return Err(err(format!(
                "a sealed body has 1 to {MAX_WRAPS} wrapped keys, not {}",
                self.keys.len()
            )));
        }
        let mut readers: Vec<&DelegationCode> = self.keys.iter().map(|w| &w.to).collect();
        readers.sort();
        readers.dedup();
        if readers.len() != self.keys.len() {
            return Err(err("a sealed body wraps its key once per reader"));
        }
        if self.keys.iter().any(|w| w.wrapped.len() != WRAPPED_LEN) {
            return Err(err(format!("a wrapped key is {WRAPPED_LEN} bytes")));
        }
        let text = self.ciphertext.len().checked_sub(TAG_LEN);
        if !text.is_some_and(|n| n > 0 && n % PAD_TO == 0) {
            return Err(err(format!(
                "a sealed body's ciphertext is a multiple of {PAD_TO} bytes and a {TAG_LEN}-byte tag"
            )));
        }
        Ok(())
    }
}
