//! Supplier assessments as folded: every version, which one supersedes
//! which, and the side-by-side comparison of delegations' latest views.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::meta::EntryMeta;
use crate::frameworks::Frameworks;
use crate::refusal::Refusal;
use crate::statement::{Assessment, DelegationCode, Risk, StatementId, Supplier};

/// One published assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentRecord {
    pub meta: EntryMeta,
    pub body: Assessment,
    /// A later assessment by the same delegation that replaced this one.
    pub superseded_by: Option<StatementId>,
}

/// Every assessment, in log order, with an index by supplier.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessments {
    records: BTreeMap<StatementId, AssessmentRecord>,
    order: Vec<StatementId>,
    by_supplier: BTreeMap<String, Vec<StatementId>>,
}

/// One criterion compared across delegations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionComparison {
    pub criterion: String,
    pub question: String,
    /// Each assessing delegation's risk level.
    pub risks: BTreeMap<DelegationCode, Risk>,
    /// Whether the delegations rate it differently.
    pub diverges: bool,
}

/// One framework's comparison for a supplier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkComparison {
    pub framework: String,
    pub framework_version: u32,
    /// The latest assessment of each delegation under this framework.
    pub assessments: BTreeMap<DelegationCode, StatementId>,
    pub verdicts: BTreeMap<DelegationCode, String>,
    pub verdicts_diverge: bool,
    pub criteria: Vec<CriterionComparison>,
}

/// `GET /v1/suppliers/{name}`: every delegation's latest assessment, side by side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierView {
    pub name: String,
    pub country: String,
    pub frameworks: Vec<FrameworkComparison>,
}

impl Assessments {
    pub fn get(&self, id: &StatementId) -> Option<&AssessmentRecord> {
        self.records.get(id)
    }

    /// All assessments in log order.
    pub fn iter(&self) -> impl Iterator<Item = &AssessmentRecord> {
        self.order.iter().filter_map(|id| self.records.get(id))
    }

    /// Assessments of one supplier (matched case-insensitively), in log order.
    pub fn of_supplier<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = &'a AssessmentRecord> + 'a {
        self.by_supplier
            .get(&Supplier::key(name))
            .into_iter()
            .flatten()
            .filter_map(|id| self.records.get(id))
    }

    /// Whether `a` may be appended, by the rules of its content.
    pub fn check(&self, a: &Assessment, partial: bool) -> Result<(), Refusal> {
        let fw = Frameworks::builtin()
            .get(&a.framework)
            .filter(|f| f.version == a.framework_version)
            .ok_or_else(|| {
                Refusal::BadAssessment(format!(
                    "unknown framework {} version {} (known: {})",
                    a.framework,
                    a.framework_version,
                    Frameworks::builtin()
                        .iter()
                        .map(|f| format!("{} v{}", f.id, f.version))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let mut seen = BTreeSet::new();
        for r in &a.ratings {
            if fw.criterion(&r.criterion).is_none() {
                return Err(Refusal::BadAssessment(format!(
                    "criterion {:?} is not in framework {}",
                    r.criterion, fw.id
                )));
            }
            if !seen.insert(r.criterion.as_str()) {
                return Err(Refusal::BadAssessment(format!(
                    "criterion {:?} is rated twice",
                    r.criterion
                )));
            }
        }
        let missing: Vec<&str> = fw
            .criteria
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| !seen.contains(id))
            .collect();
        if !missing.is_empty() {
            return Err(Refusal::BadAssessment(format!(
                "framework {} criteria not rated: {}",
                fw.id,
                missing.join(", ")
            )));
        }
        if let Some(old) = &a.supersedes {
            match self.records.get(old) {
                None if partial => {}
                None => return Err(Refusal::no_superseded(old)),
                // Whose it is and whether something superseded it already
                // are the fold's checks (`Ledger::check_supersedes`, from the
                // clear references of every assessment, sealed or not).
                Some(rec) => {
                    if Supplier::key(&rec.body.supplier.name) != Supplier::key(&a.supplier.name) {
                        return Err(Refusal::BadAssessment(format!(
                            "assessment {old} is of another supplier"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn apply(&mut self, meta: EntryMeta, body: Assessment) {
        if let Some(old) = body.supersedes.and_then(|old| self.records.get_mut(&old)) {
            old.superseded_by = Some(meta.id);
        }
        let id = meta.id;
        self.by_supplier
            .entry(Supplier::key(&body.supplier.name))
            .or_default()
            .push(id);
        self.order.push(id);
        self.records.insert(
            id,
            AssessmentRecord {
                meta,
                body,
                superseded_by: None,
            },
        );
    }

    /// The supplier comparison over the assessments `visible` admits of
    /// the supplier going by the names whose keys are `keys` (a registered
    /// supplier's every name, `Registry::keys_of`), shown as `display` if
    /// registered.
    pub fn supplier_view(
        &self,
        keys: &[String],
        registered: Option<&Supplier>,
        visible: impl Fn(&EntryMeta) -> bool,
    ) -> Option<SupplierView> {
        // Latest (not superseded, highest index) per framework and delegation.
        let mut latest: BTreeMap<(String, u32), BTreeMap<DelegationCode, &AssessmentRecord>> =
            BTreeMap::new();
        let mut display = None;
        let mut records: Vec<&AssessmentRecord> = keys
            .iter()
            .flat_map(|k| self.of_supplier(k))
            .filter(|r| visible(&r.meta))
            .collect();
        // In log order across the names, so the latest wins.
        records.sort_by_key(|r| r.meta.index);
        for rec in records {
            if rec
                .superseded_by
                .is_some_and(|by| self.records.get(&by).is_some_and(|n| visible(&n.meta)))
            {
                continue;
            }
            display = Some(rec.body.supplier.clone());
            latest
                .entry((rec.body.framework.clone(), rec.body.framework_version))
                .or_default()
                .insert(rec.meta.author, rec);
        }
        let supplier: Supplier = display?;
        let supplier = registered.cloned().unwrap_or(supplier);
        let mut frameworks = Vec::new();
        for ((fw_id, version), by) in latest {
            let Some(fw) = Frameworks::builtin().get(&fw_id) else {
                continue;
            };
            let criteria = fw
                .criteria
                .iter()
                .map(|c| {
                    let risks: BTreeMap<DelegationCode, Risk> = by
                        .iter()
                        .filter_map(|(d, r)| {
                            r.body
                                .ratings
                                .iter()
                                .find(|x| x.criterion == c.id)
                                .map(|x| (*d, x.risk))
                        })
                        .collect();
                    let distinct: BTreeSet<Risk> = risks.values().copied().collect();
                    CriterionComparison {
                        criterion: c.id.clone(),
                        question: c.question.clone(),
                        diverges: distinct.len() > 1,
                        risks,
                    }
                })
                .collect();
            let verdicts: BTreeMap<DelegationCode, String> = by
                .iter()
                .map(|(d, r)| (*d, r.body.verdict.decision().to_string()))
                .collect();
            let distinct: BTreeSet<&String> = verdicts.values().collect();
            frameworks.push(FrameworkComparison {
                framework: fw_id,
                framework_version: version,
                assessments: by.iter().map(|(d, r)| (*d, r.meta.id)).collect(),
                verdicts_diverge: distinct.len() > 1,
                verdicts,
                criteria,
            });
        }
        Some(SupplierView {
            name: supplier.name,
            country: supplier.country,
            frameworks,
        })
    }
}
