//! `supplier_entry` and `supplier_merge`: the supplier registry, one
//! canonical name per supplier with its aliases and home country, so that
//! "Huawei", "Huawei Technologies Co., Ltd." and their case variants are one
//! supplier in every view. Registry statements are CLEAR or GREEN: every
//! delegation compares the same suppliers. The secretariat keeps the
//! registry (`ledger::rules`): a name registered is every delegation's.

use serde::{Deserialize, Serialize};

use super::text::{bounded_list, short_text};
use super::{err, StatementError, Supplier};

/// A new supplier: its canonical name, home country and other names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierEntry {
    pub name: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl SupplierEntry {
    pub fn validate(&self) -> Result<(), StatementError> {
        short_text("name", &self.name, true)?;
        short_text("country", &self.country, true)?;
        bounded_list("aliases", &self.aliases, false)?;
        let mut keys = vec![Supplier::key(&self.name)];
        for alias in &self.aliases {
            short_text("alias", alias, true)?;
            keys.push(Supplier::key(alias));
        }
        let n = keys.len();
        keys.sort();
        keys.dedup();
        if keys.len() != n {
            return Err(err(
                "a name or alias is given twice (names compare case-insensitively)",
            ));
        }
        Ok(())
    }

    /// The entry's names: the canonical one, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.name).chain(&self.aliases)
    }
}

/// Two registry entries found to be one supplier: `from` becomes an alias
/// of `into` (with its own aliases). The secretariat merges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierMerge {
    pub into: String,
    pub from: String,
}

impl SupplierMerge {
    pub fn validate(&self) -> Result<(), StatementError> {
        short_text("into", &self.into, true)?;
        short_text("from", &self.from, true)?;
        if Supplier::key(&self.into) == Supplier::key(&self.from) {
            return Err(err("a supplier is not merged into itself"));
        }
        Ok(())
    }
}
