//! The fold as separate JSON documents, so that a large fold (a million
//! keys) is written and parsed a part per core instead of as one document.
//!
//! [`Ledger::to_json_parts`] gives [`PART_COUNT`] documents in a fixed order
//! (the roster, the key sequence numbers, the audiences, the rest);
//! [`parse_part`] reads the `i`-th, on any thread, and [`Ledger::from_parts`]
//! puts the fold back together. The parts together hold exactly what the
//! fold's own serialisation holds.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Assessments, Audience, Discussion, Ledger, Proposals, Registry, Roster, SealedIndex};
use crate::keys::KeyId;
use crate::statement::StatementId;

/// How many documents a fold is split into.
pub const PART_COUNT: usize = 4;

/// One parsed part.
#[derive(Debug)]
pub enum Part {
    Roster(Roster),
    Seqs(HashMap<KeyId, u64>),
    Audiences(HashMap<StatementId, Audience>),
    Rest(Box<Rest>),
}

/// What is left of the fold without its three large maps.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rest {
    size: u64,
    partial: bool,
    assessments: Assessments,
    proposals: Proposals,
    discussion: Discussion,
    #[serde(default)]
    sealed: SealedIndex,
    #[serde(default)]
    registry: Registry,
}

/// The borrowed form of [`Rest`], to serialise without a copy.
#[derive(Serialize)]
struct RestRef<'a> {
    size: u64,
    partial: bool,
    assessments: &'a Assessments,
    proposals: &'a Proposals,
    discussion: &'a Discussion,
    sealed: &'a SealedIndex,
    registry: &'a Registry,
}

/// Parses part `i` (0 to [`PART_COUNT`] − 1) of a fold.
pub fn parse_part(i: usize, bytes: &[u8]) -> Result<Part, serde_json::Error> {
    Ok(match i {
        0 => Part::Roster(serde_json::from_slice(bytes)?),
        1 => Part::Seqs(serde_json::from_slice(bytes)?),
        2 => Part::Audiences(serde_json::from_slice(bytes)?),
        _ => Part::Rest(Box::new(serde_json::from_slice(bytes)?)),
    })
}

impl Ledger {
    /// The fold as [`PART_COUNT`] JSON documents, in part order.
    pub fn to_json_parts(&self) -> Result<Vec<Vec<u8>>, serde_json::Error> {
        Ok(vec![
            serde_json::to_vec(&self.roster)?,
            serde_json::to_vec(&self.seqs)?,
            serde_json::to_vec(&self.audiences)?,
            serde_json::to_vec(&RestRef {
                size: self.size,
                partial: self.partial,
                assessments: &self.assessments,
                proposals: &self.proposals,
                discussion: &self.discussion,
                sealed: &self.sealed,
                registry: &self.registry,
            })?,
        ])
    }

    /// The fold from its parts, in part order; `None` unless each part is
    /// there once and in its place.
    pub fn from_parts(parts: Vec<Part>) -> Option<Ledger> {
        let mut parts = parts.into_iter();
        let (
            Some(Part::Roster(roster)),
            Some(Part::Seqs(seqs)),
            Some(Part::Audiences(audiences)),
            Some(Part::Rest(rest)),
            None,
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return None;
        };
        Some(Ledger {
            size: rest.size,
            roster,
            seqs,
            audiences,
            partial: rest.partial,
            assessments: rest.assessments,
            proposals: rest.proposals,
            discussion: rest.discussion,
            sealed: rest.sealed,
            registry: rest.registry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tests::{apply, founded, Party};
    use crate::statement::{Body, Position, Role};

    /// A fold with a member, a key sequence and a position paper in it.
    fn busy_ledger() -> Ledger {
        let (mut ledger, mut cz) = founded();
        let mut us = Party::new("US");
        let admission = cz.admission_of(&us, Role::Member);
        apply(&mut ledger, admission).unwrap();
        let paper = us.sign(Body::Position(Position {
            title: "On 5G suppliers".into(),
            text: "Trusted suppliers only.".into(),
            subject: None,
        }));
        apply(&mut ledger, paper).unwrap();
        ledger
    }

    #[test]
    fn the_parts_make_the_same_fold() {
        let ledger = busy_ledger();
        let parts = ledger.to_json_parts().unwrap();
        assert_eq!(parts.len(), PART_COUNT);
        let parsed: Vec<Part> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| parse_part(i, p).unwrap())
            .collect();
        let back = Ledger::from_parts(parsed).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&ledger).unwrap()
        );
    }

    #[test]
    fn parts_out_of_place_are_refused() {
        let ledger = busy_ledger();
        let parts = ledger.to_json_parts().unwrap();
        let mut parsed: Vec<Part> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| parse_part(i, p).unwrap())
            .collect();
        parsed.swap(1, 2);
        assert!(Ledger::from_parts(parsed).is_none());
        assert!(
            parse_part(3, &parts[0]).is_err(),
            "a roster is not the rest"
        );
    }
}
