//! Assessment frameworks: named sets of criteria an assessment rates.
//!
//! The frameworks are data, kept in `config/frameworks/*.toml`, and compiled
//! into this crate so that the server, the CLI and an offline verifier judge
//! assessments against exactly the same criteria. A framework's id and
//! version are in every assessment; adding a framework (or a new version of
//! one) is adding a file here and in [`SOURCES`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The shipped frameworks' TOML sources.
pub const SOURCES: &[(&str, &str)] = &[
    (
        "joint-declaration-2020.toml",
        include_str!("../../config/frameworks/joint-declaration-2020.toml"),
    ),
    (
        "prague-2019.toml",
        include_str!("../../config/frameworks/prague-2019.toml"),
    ),
];

/// One criterion of a framework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub id: String,
    pub question: String,
    pub guidance: String,
}

/// A framework: id, version, where it comes from, and its criteria.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub source: String,
    pub criteria: Vec<Criterion>,
}

impl Framework {
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }
}

/// Frameworks by id.
#[derive(Clone, Debug, Default)]
pub struct Frameworks {
    by_id: BTreeMap<String, Framework>,
}

impl Frameworks {
    /// The shipped frameworks.
    pub fn builtin() -> &'static Frameworks {
        static BUILTIN: OnceLock<Frameworks> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let mut f = Frameworks::default();
            for (name, text) in SOURCES {
                // A shipped file that does not parse is a build mistake; the test below catches it.
                match toml::from_str::<Framework>(text) {
                    Ok(fw) => {
                        f.by_id.insert(fw.id.clone(), fw);
                    }
                    Err(e) => panic!("config/frameworks/{name}: {e}"),
                }
            }
            f
        })
    }

    pub fn get(&self, id: &str) -> Option<&Framework> {
        self.by_id.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Framework> {
        self.by_id.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_frameworks_parse_with_their_criteria() {
        let f = Frameworks::builtin();
        let jd = f.get("joint-declaration-2020").unwrap();
        assert_eq!(jd.criteria.len(), 4);
        assert!(jd.criterion("foreign-influence").is_some());
        let prague = f.get("prague-2019").unwrap();
        assert_eq!(prague.criteria.len(), 6);
        for fw in f.iter() {
            let mut ids: Vec<_> = fw.criteria.iter().map(|c| &c.id).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(
                ids.len(),
                fw.criteria.len(),
                "{} repeats a criterion",
                fw.id
            );
        }
    }
}
