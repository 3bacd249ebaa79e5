//! `assessment`: a delegation's assessment of a network supplier against a
//! named framework (see [`crate::frameworks`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::text::{bounded_list, long_text, short_text};
use super::{err, StatementError, StatementId};

/// Network segments an assessment covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Core,
    Ran,
    Transport,
    Management,
}

/// Risk level of one criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Moderate,
    High,
    Critical,
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Risk::Low => "low",
            Risk::Moderate => "moderate",
            Risk::High => "high",
            Risk::Critical => "critical",
        })
    }
}

impl FromStr for Risk {
    type Err = StatementError;
    fn from_str(s: &str) -> Result<Risk, StatementError> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            err(format!(
                "risk {s:?} is not one of low, moderate, high, critical"
            ))
        })
    }
}

/// The overall verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Verdict {
    /// No restrictions.
    Trusted,
    /// Usable with the listed mitigations.
    Conditional { mitigations: Vec<String> },
    /// Not to be used; existing equipment replaced as `transition` says
    /// (typically at life-cycle replacement).
    Untrusted { transition: String },
}

impl Verdict {
    /// The decision's name.
    pub fn decision(&self) -> &'static str {
        match self {
            Verdict::Trusted => "trusted",
            Verdict::Conditional { .. } => "conditional",
            Verdict::Untrusted { .. } => "untrusted",
        }
    }
}

/// The supplier assessed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Supplier {
    pub name: String,
    /// Home country of the supplier.
    pub country: String,
}

impl Supplier {
    /// The key suppliers are matched by: trimmed, case-folded name.
    pub fn key(name: &str) -> String {
        name.trim().to_lowercase()
    }
}

/// One criterion's rating.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// Criterion id from the framework.
    pub criterion: String,
    pub risk: Risk,
    pub rationale: String,
    /// References to evidence (documents, reports, URLs).
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// An `assessment` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    pub supplier: Supplier,
    /// Framework id, e.g. `joint-declaration-2020`.
    pub framework: String,
    pub framework_version: u32,
    pub segments: Vec<Segment>,
    pub ratings: Vec<Rating>,
    pub verdict: Verdict,
    /// An earlier assessment by the same delegation that this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<StatementId>,
}

impl Assessment {
    /// Shape checks; the framework's criteria are checked by the fold.
    pub fn validate(&self) -> Result<(), StatementError> {
        short_text("supplier.name", &self.supplier.name, true)?;
        short_text("supplier.country", &self.supplier.country, true)?;
        short_text("framework", &self.framework, true)?;
        bounded_list("segments", &self.segments, true)?;
        let mut segments = self.segments.clone();
        segments.sort();
        segments.dedup();
        if segments.len() != self.segments.len() {
            return Err(err("segments lists a segment twice"));
        }
        bounded_list("ratings", &self.ratings, true)?;
        for r in &self.ratings {
            short_text("ratings.criterion", &r.criterion, true)?;
            long_text("ratings.rationale", &r.rationale, true)?;
            bounded_list("ratings.evidence", &r.evidence, false)?;
            for e in &r.evidence {
                short_text("ratings.evidence", e, true)?;
            }
        }
        match &self.verdict {
            Verdict::Trusted => {}
            Verdict::Conditional { mitigations } => {
                bounded_list("verdict.mitigations", mitigations, true)?;
                for m in mitigations {
                    short_text("verdict.mitigations", m, true)?;
                }
            }
            Verdict::Untrusted { transition } => {
                short_text("verdict.transition", transition, true)?
            }
        }
        Ok(())
    }
}
