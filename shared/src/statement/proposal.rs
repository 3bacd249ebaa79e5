//! `proposal`, `revision` and `endorsement`: negotiating a text to adoption.
//!
//! A proposal's text and every revision's text have a [`TextDigest`]
//! (SHA-256 of the UTF-8 text). An endorsement names one exact digest, so
//! a position on one revision never carries over to another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::text::{bounded_list, long_text, short_text};
use super::{err, DelegationCode, StatementError, StatementId};

/// SHA-256 of a revision's text; text form is 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextDigest(pub [u8; 32]);

impl TextDigest {
    pub fn of(text: &str) -> TextDigest {
        TextDigest(StatementId::of_payload(text.as_bytes()).0)
    }
}

impl fmt::Display for TextDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TextDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TextDigest({self})")
    }
}

impl FromStr for TextDigest {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<TextDigest, StatementError> {
        let id: StatementId = s
            .parse()
            .map_err(|_| err("a revision digest is 64 lowercase hex digits"))?;
        Ok(TextDigest(id.0))
    }
}

crate::text_form::serde_via_str!(TextDigest);

/// When a proposal is adopted. Text form: `unanimous`, `threshold:N`,
/// `fraction:A/B`, `silence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdoptionRule {
    /// Every participant has taken a position, none objects, at least one
    /// endorses (abstention does not block, as in the EU Council).
    Unanimous,
    /// At least N participants endorse.
    Threshold(u32),
    /// Endorsements / participants >= A / B.
    Fraction(u32, u32),
    /// Adopted at the deadline unless a participant objects before it.
    Silence,
}

impl fmt::Display for AdoptionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdoptionRule::Unanimous => f.write_str("unanimous"),
            AdoptionRule::Threshold(n) => write!(f, "threshold:{n}"),
            AdoptionRule::Fraction(a, b) => write!(f, "fraction:{a}/{b}"),
            AdoptionRule::Silence => f.write_str("silence"),
        }
    }
}

impl FromStr for AdoptionRule {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<AdoptionRule, StatementError> {
        let bad = || {
            err(format!(
                "rule {s:?} is not unanimous, threshold:N, fraction:A/B or silence"
            ))
        };
        let rule = match s.split_once(':') {
            None if s == "unanimous" => AdoptionRule::Unanimous,
            None if s == "silence" => AdoptionRule::Silence,
            Some(("threshold", n)) => AdoptionRule::Threshold(n.parse().map_err(|_| bad())?),
            Some(("fraction", ab)) => {
                let (a, b) = ab.split_once('/').ok_or_else(bad)?;
                AdoptionRule::Fraction(a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        };
        match rule {
            AdoptionRule::Threshold(0) => Err(err("threshold must be at least 1")),
            AdoptionRule::Fraction(a, b) if a == 0 || b == 0 || a > b => {
                Err(err("fraction A/B needs 0 < A <= B"))
            }
            r => Ok(r),
        }
    }
}

crate::text_form::serde_via_str!(AdoptionRule);

/// A `proposal` body: a text of principles or a draft declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub title: String,
    /// Markdown.
    pub text: String,
    pub participants: Vec<DelegationCode>,
    pub rule: AdoptionRule,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
}

impl Proposal {
    pub fn validate(&self) -> Result<(), StatementError> {
        short_text("title", &self.title, true)?;
        long_text("text", &self.text, true)?;
        bounded_list("participants", &self.participants, true)?;
        let mut p = self.participants.clone();
        p.sort();
        p.dedup();
        if p.len() != self.participants.len() {
            return Err(err("participants lists a delegation twice"));
        }
        if let AdoptionRule::Threshold(n) = self.rule {
            if n as usize > self.participants.len() {
                return Err(err(format!(
                    "threshold:{n} is more than the {} participants",
                    self.participants.len()
                )));
            }
        }
        Ok(())
    }
}

/// A `revision` body: a new text for a proposal (proposer only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    pub proposal: StatementId,
    pub text: String,
    #[serde(default)]
    pub note: String,
    /// The amendments this revision takes (each pending, of this proposal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amendments: Vec<StatementId>,
}

impl Revision {
    pub fn validate(&self) -> Result<(), StatementError> {
        long_text("text", &self.text, true)?;
        short_text("note", &self.note, false)?;
        bounded_list("amendments", &self.amendments, false)?;
        let mut ids = self.amendments.clone();
        ids.sort();
        ids.dedup();
        if ids.len() != self.amendments.len() {
            return Err(err("amendments lists an amendment twice"));
        }
        Ok(())
    }
}

/// An `amendment` body: a participant's replacement text for one exact
/// revision of a proposal, for the proposer to take into a revision or
/// reject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amendment {
    pub proposal: StatementId,
    /// The digest of the revision it amends (the current one when made).
    pub revision: TextDigest,
    /// The whole text as amended, Markdown.
    pub text: String,
    /// Why, in a line.
    #[serde(default)]
    pub note: String,
}

impl Amendment {
    pub fn validate(&self) -> Result<(), StatementError> {
        long_text("text", &self.text, true)?;
        short_text("note", &self.note, false)
    }
}

/// An `amendment_rejection` body: the proposer declines an amendment, with
/// a reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentRejection {
    pub proposal: StatementId,
    pub amendment: StatementId,
    pub reason: String,
}

impl AmendmentRejection {
    pub fn validate(&self) -> Result<(), StatementError> {
        long_text("reason", &self.reason, true)
    }
}

/// A delegation's position on one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stance", rename_all = "snake_case", deny_unknown_fields)]
pub enum Stance {
    Endorse,
    EndorseWithReservation { reservation: String },
    Object { reason: String },
    Abstain,
}

impl Stance {
    /// Whether the stance counts as an endorsement.
    pub fn endorses(&self) -> bool {
        matches!(
            self,
            Stance::Endorse | Stance::EndorseWithReservation { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Stance::Endorse => "endorse",
            Stance::EndorseWithReservation { .. } => "endorse_with_reservation",
            Stance::Object { .. } => "object",
            Stance::Abstain => "abstain",
        }
    }

    /// What people call it: `endorsement`, `endorsement with reservation`,
    /// `objection`, `abstention` (the wire names stay out of human output).
    pub fn label(&self) -> &'static str {
        match self {
            Stance::Endorse => "endorsement",
            Stance::EndorseWithReservation { .. } => "endorsement with reservation",
            Stance::Object { .. } => "objection",
            Stance::Abstain => "abstention",
        }
    }
}

/// An `endorsement` body: a signed position on one exact revision digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endorsement {
    pub proposal: StatementId,
    pub revision: TextDigest,
    pub position: Stance,
}

impl Endorsement {
    pub fn validate(&self) -> Result<(), StatementError> {
        match &self.position {
            Stance::EndorseWithReservation { reservation } => {
                long_text("reservation", reservation, true)
            }
            Stance::Object { reason } => long_text("reason", reason, true),
            Stance::Endorse | Stance::Abstain => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_round_trip_and_refuse_nonsense() {
        for r in ["unanimous", "threshold:3", "fraction:2/3", "silence"] {
            assert_eq!(r.parse::<AdoptionRule>().unwrap().to_string(), r);
        }
        for bad in [
            "",
            "majority",
            "threshold:0",
            "threshold:x",
            "fraction:3/2",
            "fraction:0/3",
            "fraction:2",
            "silence:1",
        ] {
            assert!(bad.parse::<AdoptionRule>().is_err(), "{bad}");
        }
    }
}
