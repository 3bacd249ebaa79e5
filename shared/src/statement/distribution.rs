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

    /// The label's TLP 2.0 name, as the wire writes it: `CLEAR`, `GREEN`,
    /// `AMBER`, `AMBER+STRICT`, `RED` (a test keeps it equal to the serde name).
    pub fn name(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
    }
}

impl std::fmt::Display for Tlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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

    /// The marking as people read it: `TLP:AMBER (US, DE)`, or `TLP:GREEN`.
    pub fn marking(&self) -> String {
        if self.to.is_empty() {
            format!("TLP:{}", self.tlp)
        } else {
            let to: Vec<String> = self.to.iter().map(|c| c.to_string()).collect();
            format!("TLP:{} ({})", self.tlp, to.join(", "))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_the_wire_name_and_parses_back() {
        for tlp in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            assert_eq!(serde_json::to_value(tlp).unwrap(), tlp.name());
            assert_eq!(tlp.name().parse::<Tlp>().unwrap(), tlp);
            assert_eq!(tlp.to_string(), tlp.name());
        }
    }

    #[test]
    fn markings_name_the_recipients_in_order() {
        let amber = Distribution {
            tlp: Tlp::Amber,
            to: vec!["US".parse().unwrap(), "DE".parse().unwrap()],
        };
        assert_eq!(amber.marking(), "TLP:AMBER (US, DE)");
        assert_eq!(Distribution::green().marking(), "TLP:GREEN");
    }
}
