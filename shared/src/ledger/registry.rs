//! The supplier registry as folded: canonical names, home countries and
//! aliases, each name (compared case-insensitively) belonging to one entry.
//! A new entry may not claim a name another entry holds; a merge makes one
//! entry's names aliases of another's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::EntryMeta;
use crate::refusal::Refusal;
use crate::statement::{Supplier, SupplierEntry, SupplierMerge};

/// One registered supplier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredSupplier {
    pub name: String,
    pub country: String,
    pub aliases: Vec<String>,
    /// The entry that registered it.
    pub meta: EntryMeta,
    /// The merges that added aliases to it, and the entries (and their
    /// merges) they folded in: every statement its names come from, so a
    /// view shows it only to a reader who may read them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merges: Vec<EntryMeta>,
}

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// By the key of the canonical name.
    entries: BTreeMap<String, RegisteredSupplier>,
    /// Every name's key, to its entry's key.
    names: BTreeMap<String, String>,
}

impl Registry {
    /// Every registered supplier, by canonical name.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredSupplier> {
        self.entries.values()
    }

    /// The registered supplier `name` (any of its names) belongs to.
    pub fn get(&self, name: &str) -> Option<&RegisteredSupplier> {
        self.entries.get(self.names.get(&Supplier::key(name))?)
    }

    /// The keys of every name the supplier called `name` goes by: all of a
    /// registered supplier's, or `name`'s own.
    pub fn keys_of(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(s) => std::iter::once(&s.name)
                .chain(&s.aliases)
                .map(|n| Supplier::key(n))
                .collect(),
            None => vec![Supplier::key(name)],
        }
    }

    pub fn check_entry(&self, e: &SupplierEntry) -> Result<(), Refusal> {
        for name in e.names() {
            if let Some(owner) = self.get(name) {
                return Err(Refusal::SupplierExists(name.clone(), owner.name.clone()));
            }
        }
        Ok(())
    }

    pub fn check_merge(&self, m: &SupplierMerge) -> Result<(), Refusal> {
        let canonical = |name: &str| {
            self.entries.get(&Supplier::key(name)).ok_or_else(|| {
                Refusal::BadSupplier(format!(
                    "{name:?} is not a registered supplier's canonical name"
                ))
            })
        };
        canonical(&m.into)?;
        canonical(&m.from)?;
        Ok(())
    }

    pub fn apply_entry(&mut self, meta: EntryMeta, e: SupplierEntry) {
        let key = Supplier::key(&e.name);
        for name in e.names() {
            self.names.insert(Supplier::key(name), key.clone());
        }
        self.entries.insert(
            key,
            RegisteredSupplier {
                name: e.name,
                country: e.country,
                aliases: e.aliases,
                meta,
                merges: Vec::new(),
            },
        );
    }

    pub fn apply_merge(&mut self, meta: EntryMeta, m: SupplierMerge) {
        let (into, from) = (Supplier::key(&m.into), Supplier::key(&m.from));
        let Some(gone) = self.entries.remove(&from) else {
            return;
        };
        let Some(kept) = self.entries.get_mut(&into) else {
            self.entries.insert(from, gone);
            return;
        };
        for name in std::iter::once(&gone.name).chain(&gone.aliases) {
            self.names.insert(Supplier::key(name), into.clone());
            kept.aliases.push(name.clone());
        }
        kept.merges.push(gone.meta);
        kept.merges.extend(gone.merges);
        kept.merges.push(meta);
    }
}
