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

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::{KeyId, PublicKey};

/// Longest display name, reason or other short free text, in characters.
pub const MAX_SHORT_TEXT: usize = 500;

/// Why a payload cannot be read as a statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StatementError(pub String);

fn err(msg: impl Into<String>) -> StatementError {
    StatementError(msg.into())
}

/// SHA-256 of a statement's payload bytes; text form is 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatementId(pub [u8; 32]);

impl StatementId {
    /// The id of the statement whose payload is `payload`.
    pub fn of_payload(payload: &[u8]) -> StatementId {
        let d = ring::digest::digest(&ring::digest::SHA256, payload);
        let mut id = [0u8; 32];
        id.copy_from_slice(d.as_ref());
        StatementId(id)
    }
}

impl FromStr for StatementId {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<Self, StatementError> {
        let mut id = [0u8; 32];
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(err("a statement id is 64 lowercase hex digits"));
        }
        hex::decode_to_slice(s, &mut id)
            .map_err(|_| err("a statement id is 64 lowercase hex digits"))?;
        Ok(StatementId(id))
    }
}

impl fmt::Display for StatementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for StatementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatementId({self})")
    }
}

impl Serialize for StatementId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatementId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A delegation's code: 2 to 8 characters, capital letters and digits,
/// starting with a letter (`CZ`, `US`, `NATO`, `EC`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DelegationCode(String);

impl DelegationCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DelegationCode {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<Self, StatementError> {
        let b = s.as_bytes();
        let ok = (2..=8).contains(&b.len())
            && b[0].is_ascii_uppercase()
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(DelegationCode(s.to_owned()))
        } else {
            Err(err(format!(
                "delegation code {s:?} must be 2 to 8 capital letters or digits, starting with a letter"
            )))
        }
    }
}

impl fmt::Display for DelegationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DelegationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for DelegationCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DelegationCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A delegation's role in the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Hosts the log and admits delegations.
    Secretariat,
    /// A full participant.
    Member,
    /// Reads and comments; never takes positions on proposals.
    Observer,
}

impl FromStr for Role {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<Self, StatementError> {
        match s {
            "secretariat" => Ok(Role::Secretariat),
            "member" => Ok(Role::Member),
            "observer" => Ok(Role::Observer),
            _ => Err(err(format!(
                "role {s:?} is not one of secretariat, member, observer"
            ))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Secretariat => "secretariat",
            Role::Member => "member",
            Role::Observer => "observer",
        })
    }
}

/// Traffic Light Protocol 2.0 label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tlp {
    #[serde(rename = "CLEAR")]
    Clear,
    #[serde(rename = "GREEN")]
    Green,
    #[serde(rename = "AMBER")]
    Amber,
    #[serde(rename = "AMBER+STRICT")]
    AmberStrict,
    #[serde(rename = "RED")]
    Red,
}

impl Tlp {
    /// AMBER, AMBER+STRICT and RED name their recipients.
    pub fn needs_recipients(self) -> bool {
        matches!(self, Tlp::Amber | Tlp::AmberStrict | Tlp::Red)
    }
}

impl FromStr for Tlp {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<Self, StatementError> {
        match s.to_ascii_uppercase().as_str() {
            "CLEAR" => Ok(Tlp::Clear),
            "GREEN" => Ok(Tlp::Green),
            "AMBER" => Ok(Tlp::Amber),
            "AMBER+STRICT" => Ok(Tlp::AmberStrict),
            "RED" => Ok(Tlp::Red),
            _ => Err(err(format!(
                "TLP level {s:?} is not one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED"
            ))),
        }
    }
}

/// Who may read a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    pub tlp: Tlp,
    /// Recipient delegations, for AMBER, AMBER+STRICT and RED.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<DelegationCode>,
}

impl Distribution {
    /// Visible to every admitted delegation.
    pub fn green() -> Distribution {
        Distribution {
            tlp: Tlp::Green,
            to: Vec::new(),
        }
    }

    /// Checks the label against its recipients.
    pub fn validate(&self) -> Result<(), StatementError> {
        if self.tlp.needs_recipients() && self.to.is_empty() {
            return Err(err(
                "AMBER, AMBER+STRICT and RED name at least one recipient",
            ));
        }
        if !self.tlp.needs_recipients() && !self.to.is_empty() {
            return Err(err("CLEAR and GREEN take no recipients"));
        }
        if self.to.len() > 64 {
            return Err(err("at most 64 recipients"));
        }
        Ok(())
    }
}

/// What a statement does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Admission,
    KeyRotation,
    KeyRevocation,
}

impl Kind {
    /// The wire name, e.g. `key_rotation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Admission => "admission",
            Kind::KeyRotation => "key_rotation",
            Kind::KeyRevocation => "key_revocation",
        }
    }

    /// Statements that change the roster; everyone must see them to verify the log.
    pub fn is_roster(self) -> bool {
        matches!(
            self,
            Kind::Admission | Kind::KeyRotation | Kind::KeyRevocation
        )
    }
}

/// `admission`: the secretariat admits a delegation with its first key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    pub delegation: DelegationCode,
    pub name: String,
    pub role: Role,
    pub public_key: PublicKey,
}

/// `key_rotation`: the signing key hands over to `new_key` and signs nothing after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    pub new_key: PublicKey,
}

/// `key_revocation`: `key` signs nothing from this entry on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevocation {
    pub key: KeyId,
    #[serde(default)]
    pub reason: String,
}

/// The kind-specific part of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Admission(Admission),
    KeyRotation(KeyRotation),
    KeyRevocation(KeyRevocation),
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Admission(_) => Kind::Admission,
            Body::KeyRotation(_) => Kind::KeyRotation,
            Body::KeyRevocation(_) => Kind::KeyRevocation,
        }
    }

    fn from_value(kind: Kind, body: serde_json::Value) -> Result<Body, StatementError> {
        fn parse<T: serde::de::DeserializeOwned>(
            v: serde_json::Value,
        ) -> Result<T, StatementError> {
            serde_json::from_value(v).map_err(|e| err(format!("body: {e}")))
        }
        Ok(match kind {
            Kind::Admission => Body::Admission(parse(body)?),
            Kind::KeyRotation => Body::KeyRotation(parse(body)?),
            Kind::KeyRevocation => Body::KeyRevocation(parse(body)?),
        })
    }

    fn to_value(&self) -> serde_json::Value {
        let v = match self {
            Body::Admission(b) => serde_json::to_value(b),
            Body::KeyRotation(b) => serde_json::to_value(b),
            Body::KeyRevocation(b) => serde_json::to_value(b),
        };
        v.unwrap_or(serde_json::Value::Null)
    }

    fn validate(&self) -> Result<(), StatementError> {
        match self {
            Body::Admission(a) => short_text("name", &a.name, true),
            Body::KeyRotation(_) => Ok(()),
            Body::KeyRevocation(r) => short_text("reason", &r.reason, false),
        }
    }
}

fn short_text(field: &str, text: &str, required: bool) -> Result<(), StatementError> {
    if required && text.trim().is_empty() {
        return Err(err(format!("{field} must not be empty")));
    }
    if text.chars().count() > MAX_SHORT_TEXT {
        return Err(err(format!(
            "{field} is longer than {MAX_SHORT_TEXT} characters"
        )));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(err(format!("{field} holds control characters")));
    }
    Ok(())
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
        let wire: Wire =
            serde_json::from_slice(payload).map_err(|e| err(format!("statement: {e}")))?;
        let body = Body::from_value(wire.kind, wire.body)?;
        body.validate()?;
        wire.distribution.validate()?;
        Ok(Statement {
            author: wire.author,
            key: wire.key,
            seq: wire.seq,
            issued_at: wire.issued_at,
            distribution: wire.distribution,
            body,
        })
    }

    /// The payload bytes to sign.
    pub fn encode(&self) -> Vec<u8> {
        let wire = Wire {
            kind: self.kind(),
            author: self.author.clone(),
            key: self.key.clone(),
            seq: self.seq,
            issued_at: self.issued_at,
            distribution: self.distribution.clone(),
            body: self.body.to_value(),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

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
            }),
        }
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
}
