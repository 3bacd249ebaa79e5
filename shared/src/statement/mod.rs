//! Statement payloads: the JSON a delegation signs inside a DSSE envelope.
//!
//! **Signed bytes.** The payload bytes are stored and verified exactly as the
//! delegation signed them; this module only reads them. [`Statement::encode`]
//! is what the CLI signs; its output is pinned by a snapshot test below so the
//! encoding cannot drift unnoticed.
//!
//! Every payload has the common fields `kind`, `author`, `key`, `seq`,
//! `issued_at`, `distribution` and a kind-specific `body`. The statement id is
//! SHA-256 over the payload bytes.

mod assessment;
mod discussion;
mod distribution;
mod ids;
mod proposal;
mod registry;
mod roster;
pub mod sealed;
pub mod text;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::KeyId;

pub use assessment::{Assessment, Rating, Risk, Segment, Supplier, Verdict};
pub use discussion::{Message, Position};
pub use distribution::{Distribution, Tlp};
pub use ids::{DelegationCode, Role, StatementId};
pub use proposal::{
    AdoptionRule, Amendment, AmendmentRejection, Endorsement, Proposal, Revision, Stance,
    TextDigest,
};
pub use registry::{SupplierEntry, SupplierMerge};
pub use roster::{Admission, KeyRevocation, KeyRotation};
pub use sealed::{Refs, Sealed, WrappedKey};

/// Why a payload cannot be read as a statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StatementError(pub String);

fn err(msg: impl Into<String>) -> StatementError {
    StatementError(msg.into())
}

/// What a statement does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Admission,
    KeyRotation,
    KeyRevocation,
    Assessment,
    Proposal,
    Revision,
    Endorsement,
    Position,
    Message,
    Amendment,
    AmendmentRejection,
    SupplierEntry,
    SupplierMerge,
}

impl Kind {
    /// Every kind, in the order the wire format lists them.
    pub const ALL: [Kind; 13] = [
        Kind::Admission,
        Kind::KeyRotation,
        Kind::KeyRevocation,
        Kind::Assessment,
        Kind::Proposal,
        Kind::Revision,
        Kind::Endorsement,
        Kind::Position,
        Kind::Message,
        Kind::Amendment,
        Kind::AmendmentRejection,
        Kind::SupplierEntry,
        Kind::SupplierMerge,
    ];

    /// The wire name, e.g. `key_rotation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Admission => "admission",
            Kind::KeyRotation => "key_rotation",
            Kind::KeyRevocation => "key_revocation",
            Kind::Assessment => "assessment",
            Kind::Proposal => "proposal",
            Kind::Revision => "revision",
            Kind::Endorsement => "endorsement",
            Kind::Position => "position",
            Kind::Message => "message",
            Kind::Amendment => "amendment",
            Kind::AmendmentRejection => "amendment_rejection",
            Kind::SupplierEntry => "supplier_entry",
            Kind::SupplierMerge => "supplier_merge",
        }
    }

    /// Statements that change the roster; everyone must see them to verify the log.
    pub fn is_roster(self) -> bool {
        matches!(
            self,
            Kind::Admission | Kind::KeyRotation | Kind::KeyRevocation
        )
    }

    /// Whether every delegation must be able to read it: the roster, and the
    /// supplier registry every comparison goes by.
    pub fn is_public(self) -> bool {
        self.is_roster() || matches!(self, Kind::SupplierEntry | Kind::SupplierMerge)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<Kind, StatementError> {
        serde_json::from_value(serde_json::Value::String(s.to_owned()))
            .map_err(|_| err(format!("unknown kind {s:?}")))
    }
}

/// The kind-specific part of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Admission(Admission),
    KeyRotation(KeyRotation),
    KeyRevocation(KeyRevocation),
    Assessment(Assessment),
    Proposal(Proposal),
    Revision(Revision),
    Endorsement(Endorsement),
    Position(Position),
    Message(Message),
    Amendment(Amendment),
    AmendmentRejection(AmendmentRejection),
    SupplierEntry(SupplierEntry),
    SupplierMerge(SupplierMerge),
    /// An AMBER, AMBER+STRICT or RED body of `kind`, sealed to its readers
    /// (`sealed`): the fold sees only its clear references.
    Sealed {
        kind: Kind,
        sealed: Box<Sealed>,
    },
}

/// The wire form of a sealed body: `{"sealed": {...}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedWire {
    sealed: Sealed,
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Admission(_) => Kind::Admission,
            Body::KeyRotation(_) => Kind::KeyRotation,
            Body::KeyRevocation(_) => Kind::KeyRevocation,
            Body::Assessment(_) => Kind::Assessment,
            Body::Proposal(_) => Kind::Proposal,
            Body::Revision(_) => Kind::Revision,
            Body::Endorsement(_) => Kind::Endorsement,
            Body::Position(_) => Kind::Position,
            Body::Message(_) => Kind::Message,
            Body::Amendment(_) => Kind::Amendment,
            Body::AmendmentRejection(_) => Kind::AmendmentRejection,
            Body::SupplierEntry(_) => Kind::SupplierEntry,
            Body::SupplierMerge(_) => Kind::SupplierMerge,
            Body::Sealed { kind, .. } => *kind,
        }
    }

    /// Whether this is a sealed body.
    pub fn is_sealed(&self) -> bool {
        matches!(self, Body::Sealed { .. })
    }

    /// The JSON of an open body, as a sealed statement encrypts it.
    pub fn encode_open(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_value()).unwrap_or_default()
    }

    /// Reads an opened body of `kind` (the plaintext of a sealed one, with
    /// any padding after it): the same checks as a body in clear, and a
    /// sealed body inside a sealed one is refused.
    pub fn decode_open(kind: Kind, bytes: &[u8]) -> Result<Body, StatementError> {
        crate::strict_json::no_duplicate_keys(bytes).map_err(|e| err(format!("body: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| err(format!("body: {e}")))?;
        if value.get("sealed").is_some() {
            return Err(err("a sealed body holds an open body"));
        }
        let body = Body::from_value(kind, value.clone())?;
        body.validate()?;
        one_form(&value, &body.to_value(), "body")?;
        Ok(body)
    }

    fn from_value(kind: Kind, body: serde_json::Value) -> Result<Body, StatementError> {
        fn parse<T: serde::de::DeserializeOwned>(
            v: serde_json::Value,
        ) -> Result<T, StatementError> {
            serde_json::from_value(v).map_err(|e| err(format!("body: {e}")))
        }
        if body.get("sealed").is_some() {
            let wire: SealedWire = parse(body)?;
            return Ok(Body::Sealed {
                kind,
                sealed: Box::new(wire.sealed),
            });
        }
        Ok(match kind {
            Kind::Admission => Body::Admission(parse(body)?),
            Kind::KeyRotation => Body::KeyRotation(parse(body)?),
            Kind::KeyRevocation => Body::KeyRevocation(parse(body)?),
            Kind::Assessment => Body::Assessment(parse(body)?),
            Kind::Proposal => Body::Proposal(parse(body)?),
            Kind::Revision => Body::Revision(parse(body)?),
            Kind::Endorsement => Body::Endorsement(parse(body)?),
            Kind::Position => Body::Position(parse(body)?),
            Kind::Message => Body::Message(parse(body)?),
            Kind::Amendment => Body::Amendment(parse(body)?),
            Kind::AmendmentRejection => Body::AmendmentRejection(parse(body)?),
            Kind::SupplierEntry => Body::SupplierEntry(parse(body)?),
            Kind::SupplierMerge => Body::SupplierMerge(parse(body)?),
        })
    }

    fn to_value(&self) -> serde_json::Value {
        let v = match self {
            Body::Admission(b) => serde_json::to_value(b),
            Body::KeyRotation(b) => serde_json::to_value(b),
            Body::KeyRevocation(b) => serde_json::to_value(b),
            Body::Assessment(b) => serde_json::to_value(b),
            Body::Proposal(b) => serde_json::to_value(b),
            Body::Revision(b) => serde_json::to_value(b),
            Body::Endorsement(b) => serde_json::to_value(b),
            Body::Position(b) => serde_json::to_value(b),
            Body::Message(b) => serde_json::to_value(b),
            Body::Amendment(b) => serde_json::to_value(b),
            Body::AmendmentRejection(b) => serde_json::to_value(b),
            Body::SupplierEntry(b) => serde_json::to_value(b),
            Body::SupplierMerge(b) => serde_json::to_value(b),
            Body::Sealed { sealed, .. } => {
                #[derive(Serialize)]
                struct SealedRef<'a> {
                    sealed: &'a Sealed,
                }
                serde_json::to_value(SealedRef { sealed })
            }
        };
        v.unwrap_or(serde_json::Value::Null)
    }

    pub fn validate(&self) -> Result<(), StatementError> {
        match self {
            Body::Admission(a) => text::short_text("name", &a.name, true),
            Body::KeyRotation(_) => Ok(()),
            Body::KeyRevocation(r) => text::short_text("reason", &r.reason, false),
            Body::Assessment(a) => a.validate(),
            Body::Proposal(p) => p.validate(),
            Body::Revision(r) => r.validate(),
            Body::Endorsement(e) => e.validate(),
            Body::Position(p) => p.validate(),
            Body::Message(m) => m.validate(),
            Body::Amendment(a) => a.validate(),
            Body::AmendmentRejection(r) => r.validate(),
            Body::SupplierEntry(e) => e.validate(),
            Body::SupplierMerge(m) => m.validate(),
            Body::Sealed { kind, sealed } => sealed.validate(*kind),
        }
    }
}

/// A time as the protocol writes it (RFC 3339, as `issued_at` on the wire),
/// for people and for JSON alike.
pub fn timestamp(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// A statement: the common fields and a typed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub author: DelegationCode,
    pub key: KeyId,
    pub seq: u64,
    pub issued_at: OffsetDateTime,
    pub distribution: Distribution,
    pub body: Body,
}

/// The wire shape; field order here is the order [`Statement::encode`] writes
/// (the body's own fields come out in alphabetical order).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    kind: Kind,
    author: DelegationCode,
    key: KeyId,
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    issued_at: OffsetDateTime,
    distribution: Distribution,
    body: serde_json::Value,
}

impl Statement {
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// A statement by `key`'s holder for `author`, issued now.
    pub fn new(
        author: DelegationCode,
        key: &crate::keys::SigningKey,
        seq: u64,
        distribution: Distribution,
        body: Body,
    ) -> Statement {
        Statement {
            author,
            key: key.key_id(),
            seq,
            issued_at: OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| OffsetDateTime::now_utc()),
            distribution,
            body,
        }
    }

    /// Encodes and signs the statement into a DSSE envelope.
    pub fn sign(&self, key: &crate::keys::SigningKey) -> crate::dsse::Envelope {
        crate::dsse::Envelope::sign(self.encode(), key)
    }

    /// Reads and checks a payload (shape only; the ledger judges meaning).
    pub fn decode(payload: &[u8]) -> Result<Statement, StatementError> {
        crate::strict_json::no_duplicate_keys(payload)
            .map_err(|e| err(format!("statement: {e}")))?;
        let value: serde_json::Value =
            serde_json::from_slice(payload).map_err(|e| err(format!("statement: {e}")))?;
        let wire: Wire =
            serde_json::from_value(value.clone()).map_err(|e| err(format!("statement: {e}")))?;
        let body = Body::from_value(wire.kind, wire.body)?;
        body.validate()?;
        wire.distribution.validate()?;
        if body.is_sealed() && !wire.distribution.tlp.needs_recipients() {
            return Err(err(
                "only AMBER, AMBER+STRICT and RED bodies are sealed: CLEAR and GREEN are for everyone",
            ));
        }
        let statement = Statement {
            author: wire.author,
            key: wire.key,
            seq: wire.seq,
            issued_at: wire.issued_at,
            distribution: wire.distribution,
            body,
        };
        let encoded: serde_json::Value = serde_json::from_slice(&statement.encode())
            .map_err(|e| err(format!("statement: {e}")))?;
        one_form(&value, &encoded, "statement")?;
        Ok(statement)
    }

    /// The payload bytes to sign.
    pub fn encode(&self) -> Vec<u8> {
        let wire = Wire {
            kind: self.kind(),
            author: self.author,
            key: self.key,
            seq: self.seq,
            issued_at: self.issued_at,
            distribution: self.distribution.clone(),
            body: self.body.to_value(),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

/// Refuses JSON that reads as a value but is not the one form that value
/// is written in: an array for an object, a field its type does not have,
/// `null` for an absent field, another spelling of a key or time. serde
/// accepts these, other parsers do not, and every verifier must read a
/// signed statement one way (`docs/protocol.md`, section 1).
fn one_form(
    read: &serde_json::Value,
    written: &serde_json::Value,
    what: &str,
) -> Result<(), StatementError> {
    if read == written {
        Ok(())
    } else {
        Err(err(format!(
            "{what}: not in the one JSON form of its fields (an array for an object, an unknown or null field, or another spelling of a value)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{PublicKey, SigningKey};

    fn sample() -> Statement {
        let key: PublicKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
            .parse()
            .unwrap();
        Statement {
            author: "CZ".parse().unwrap(),
            key: key.key_id(),
            seq: 1,
            issued_at: time::macros::datetime!(2020-05-06 12:00 UTC),
            distribution: Distribution::green(),
            body: Body::Admission(Admission {
                delegation: "CZ".parse().unwrap(),
                name: "Czech Republic".into(),
                role: Role::Secretariat,
                public_key: key,
                encryption_key: None,
            }),
        }
    }

    /// Inputs serde reads but other parsers refuse (`docs/protocol.md`,
    /// section 14, as it stood): each is refused, so every verifier reads a
    /// signed statement one way.
    #[test]
    fn only_the_one_json_form_is_read() {
        let good = String::from_utf8(sample().encode()).unwrap();
        assert!(Statement::decode(good.as_bytes()).is_ok());
        let bad = [
            // An array of the fields for the payload object.
            r#"["admission","CZ","21fe31dfa154a261626bf854046fd227",1,"2020-05-06T12:00:00Z",{"tlp":"GREEN"},{"delegation":"CZ","name":"Czech Republic","public_key":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=","role":"secretariat"}]"#.to_owned(),
            // ...for the distribution.
            good.replace(r#"{"tlp":"GREEN"}"#, r#"["GREEN"]"#),
            // null for an absent field.
            good.replace(r#""role":"secretariat"}"#, r#""role":"secretariat","encryption_key":null}"#),
            // Another spelling of the time and of the key.
            good.replace("2020-05-06T12:00:00Z", "2020-05-06T12:00:00+00:00"),
            good.replace(r#""public_key":"11qY"#, r#""public_key":" 11qY"#),
        ];
        for text in bad {
            assert!(
                Statement::decode(text.as_bytes()).is_err(),
                "accepted: {text}"
            );
        }
        // A stance without data takes no other field.
        let body = Body::Endorsement(Endorsement {
            proposal: StatementId::of_payload(b"p"),
            revision: TextDigest::of("text"),
            position: Stance::Endorse,
        });
        let mut value = body.to_value();
        let plain = serde_json::to_vec(&value).unwrap();
        assert_eq!(Body::decode_open(Kind::Endorsement, &plain).unwrap(), body);
        value["position"]["reservation"] = "dropped".into();
        let with = serde_json::to_vec(&value).unwrap();
        assert!(Body::decode_open(Kind::Endorsement, &with).is_err());
    }

    #[test]
    fn encoding_is_pinned() {
        let text = String::from_utf8(sample().encode()).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"admission","author":"CZ","key":"21fe31dfa154a261626bf854046fd227","seq":1,"issued_at":"2020-05-06T12:00:00Z","distribution":{"tlp":"GREEN"},"body":{"delegation":"CZ","name":"Czech Republic","public_key":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=","role":"secretariat"}}"#
        );
    }

    #[test]
    fn decode_round_trips_encode() {
        let s = sample();
        assert_eq!(Statement::decode(&s.encode()).unwrap(), s);
        let (k, _) = SigningKey::generate().unwrap();
        let mut r = s.clone();
        r.body = Body::KeyRotation(KeyRotation {
            new_key: k.public_key(),
            new_encryption_key: None,
        });
        assert_eq!(Statement::decode(&r.encode()).unwrap(), r);
    }

    #[test]
    fn refuses_malformed_payloads() {
        let good = String::from_utf8(sample().encode()).unwrap();
        let cases = [
            good.replace("\"admission\"", "\"coronation\""),
            good.replace("\"CZ\",\"key\"", "\"cz\",\"key\""),
            good.replace("\"seq\":1", "\"seq\":-1"),
            good.replace("\"seq\":1", "\"seq\":1,\"seq\":2"),
            good.replace("2020-05-06T12:00:00Z", "yesterday"),
            good.replace("\"GREEN\"}", "\"AMBER\"}"),
            good.replace("\"tlp\":\"GREEN\"", "\"tlp\":\"GREEN\",\"to\":[\"US\"]"),
            good.replace("Czech Republic", ""),
            good.replace("\"role\":\"secretariat\"", "\"role\":\"king\""),
            good.replace("}}", ",\"extra\":1}}"),
            good[..good.len() - 1].to_string(),
            "[]".to_string(),
        ];
        for case in cases {
            assert!(
                Statement::decode(case.as_bytes()).is_err(),
                "accepted: {case}"
            );
        }
    }

    #[test]
    fn statement_id_is_sha256_of_payload() {
        let id = StatementId::of_payload(b"");
        assert_eq!(
            id.to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(id.to_string().parse::<StatementId>().unwrap(), id);
        assert!(
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
                .parse::<StatementId>()
                .is_err()
        );
    }

    #[test]
    fn delegation_codes() {
        for ok in ["CZ", "US", "NATO", "EC", "UK2"] {
            assert!(ok.parse::<DelegationCode>().is_ok(), "{ok}");
        }
        for bad in ["", "C", "cz", "2CZ", "ABCDEFGHI", "C Z", "ČZ"] {
            assert!(bad.parse::<DelegationCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn delegation_codes_keep_their_text_and_its_order() {
        let mut texts = vec!["CZA", "D1", "CZ", "ABCDEFGH", "US", "C9", "CZ0"];
        let mut codes: Vec<DelegationCode> = texts.iter().map(|t| t.parse().unwrap()).collect();
        texts.sort();
        codes.sort();
        let back: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        assert_eq!(back, texts);
        let json = serde_json::to_string(&codes[0]).unwrap();
        assert_eq!(json, "\"ABCDEFGH\"");
        assert_eq!(
            serde_json::from_str::<DelegationCode>(&json).unwrap(),
            codes[0]
        );
    }
}
