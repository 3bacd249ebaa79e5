//! Identifiers: statement ids, delegation codes and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{err, StatementError};

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

crate::text_form::serde_via_str!(StatementId);

/// A delegation's code: 2 to 8 characters, capital letters and digits,
/// starting with a letter (`CZ`, `US`, `NATO`, `EC`).
///
/// Kept inline, zero-padded to 8 bytes (Copy, no heap string): codes hold no
/// NUL, so comparing the padded bytes orders codes as their text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DelegationCode([u8; 8]);

impl DelegationCode {
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(8);
        std::str::from_utf8(&self.0[..len]).expect("a code is ASCII")
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
            let mut code = [0u8; 8];
            code[..b.len()].copy_from_slice(b);
            Ok(DelegationCode(code))
        } else {
            Err(err(format!(
                "delegation code {s:?} must be 2 to 8 capital letters or digits, starting with a letter"
            )))
        }
    }
}

impl fmt::Display for DelegationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for DelegationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_form::serde_via_str!(DelegationCode);

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
