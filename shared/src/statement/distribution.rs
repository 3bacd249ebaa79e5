//! TLP 2.0 distribution labels: who may read a statement.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{err, DelegationCode, StatementError};

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
