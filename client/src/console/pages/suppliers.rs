//! The supplier pages: the heat map (`/suppliers`) — for each framework,
//! suppliers × criteria down, delegations across, each cell coloured by the
//! risk that delegation's latest assessment gives, rows where delegations
//! differ marked, and each supplier's verdicts — and one assessment
//! (`/assessments/{id}`), which every cell links to.
//!
//! The map holds only what `entente supplier show` compares for this
//! delegation: the latest assessment of each delegation that it may read.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::ledger::assessments::FrameworkComparison;
use entente_shared::ledger::{Ledger, SupplierView};
use entente_shared::statement::{DelegationCode, Risk, Supplier, Verdict};
use entente_shared::views;
use entente_shared::visibility::Reader;

use super::id_of;
use crate::console::page::{self, banner, not_found_problem, Banner, Frame};
use crate::console::state::Console;
use crate::error::CliError;
use crate::output::{marking, timestamp};

/// One coloured cell.
struct Cell {
    delegation: String,
    /// `low`, `moderate`, `high`, `critical`, or empty when not assessed.
    risk: String,
    assessment: String,
    label: String,
}

struct CriterionRow {
    criterion: String,
    question: String,
    diverges: bool,
    cells: Vec<Cell>,
}

struct VerdictCell {
    verdict: String,
    assessment: String,
}

struct SupplierBlock {
    name: String,
    country: String,
    rows: Vec<CriterionRow>,
    verdicts: Vec<VerdictCell>,
    verdicts_diverge: bool,
}

struct FrameworkMap {
    framework: String,
    version: u32,
    delegations: Vec<String>,
    suppliers: Vec<SupplierBlock>,
}

#[derive(Template)]
#[template(path = "console/suppliers.html")]
struct MapPage {
    frame: Frame,
    maps: Vec<FrameworkMap>,
}

/// The CSS name of a risk level.
fn risk_name(r: &Risk) -> String {
    r.to_string()
}

/// Every supplier this delegation may read an assessment of, each once
/// (aliases the registry joins are one supplier), compared as `entente
/// supplier show` compares it.
fn supplier_views(ledger: &Ledger, reader: &Reader) -> Vec<SupplierView> {
    let mut names = BTreeSet::new();
    let mut compared = BTreeMap::new();
    for a in views::assessments(ledger, reader, None) {
        if !names.insert(Supplier::key(&a.body.supplier.name)) {
            continue;
        }
        if let Some(view) = views::supplier(ledger, reader, &a.body.supplier.name) {
            compared.entry(Supplier::key(&view.name)).or_insert(view);
        }
    }
    compared.into_values().collect()
}

/// One framework's comparisons, before they become cells: the delegations
/// that assessed under it (the map's columns), and each supplier's.
#[derive(Default)]
struct Gathered<'a> {
    delegations: BTreeSet<DelegationCode>,
    suppliers: Vec<(&'a SupplierView, &'a FrameworkComparison)>,
}

/// A supplier's rows and verdicts under one framework, a cell per delegation.
fn block(
    ledger: &Ledger,
    delegations: &BTreeSet<DelegationCode>,
    view: &SupplierView,
    fc: &FrameworkComparison,
) -> SupplierBlock {
    let assessment = |d: &DelegationCode| fc.assessments.get(d);
    let id_of = |d: &DelegationCode| assessment(d).map(ToString::to_string).unwrap_or_default();
    let rows = fc
        .criteria
        .iter()
        .map(|c| CriterionRow {
            criterion: c.criterion.clone(),
            question: c.question.clone(),
            diverges: c.diverges,
            cells: delegations
                .iter()
                .map(|d| Cell {
                    delegation: d.to_string(),
                    risk: c.risks.get(d).map(risk_name).unwrap_or_default(),
                    assessment: id_of(d),
                    label: assessment(d)
                        .and_then(|id| ledger.assessments().get(id))
                        .map(|a| marking(&a.meta.distribution))
                        .unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let verdicts = delegations
        .iter()
        .map(|d| VerdictCell {
            verdict: fc.verdicts.get(d).cloned().unwrap_or_default(),
            assessment: id_of(d),
        })
        .collect();
    SupplierBlock {
        name: view.name.clone(),
        country: view.country.clone(),
        rows,
        verdicts,
        verdicts_diverge: fc.verdicts_diverge,
    }
}

/// `GET /suppliers`.
pub async fn heat_map(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page = Console::with_session(&console, |console, session| {
        let (ledger, reader) = session.own_view()?;
        let compared = supplier_views(ledger, &reader);
        let mut frameworks: BTreeMap<(&str, u32), Gathered> = BTreeMap::new();
        for view in &compared {
            for fc in &view.frameworks {
                let g = frameworks
                    .entry((fc.framework.as_str(), fc.framework_version))
                    .or_default();
                g.delegations.extend(fc.assessments.keys().copied());
                g.suppliers.push((view, fc));
            }
        }
        let maps = frameworks
            .into_iter()
            .map(|((framework, version), g)| FrameworkMap {
                framework: framework.to_owned(),
                version,
                delegations: g.delegations.iter().map(ToString::to_string).collect(),
                suppliers: g
                    .suppliers
                    .iter()
                    .map(|(view, fc)| block(ledger, &g.delegations, view, fc))
                    .collect(),
            })
            .collect();
        Ok(MapPage {
            frame: Frame::new(console, "suppliers"),
            maps,
        })
    })
    .await;
    page::answer(&req, page)
}

struct Rating {
    criterion: String,
    risk: String,
    rationale: String,
    evidence: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/assessment.html")]
struct AssessmentPage {
    frame: Frame,
    id: String,
    banner: Banner,
    author: String,
    when: String,
    index: u64,
    supplier: String,
    country: String,
    framework: String,
    segments: String,
    verdict: String,
    verdict_details: String,
    ratings: Vec<Rating>,
    superseded_by: Option<String>,
}

/// `GET /assessments/{id}`.
pub async fn assessment(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
) -> HttpResponse {
    let id = match id_of(&id, "assessment") {
        Ok(id) => id,
        Err(p) => return page::problem_response(&req, &p),
    };
    let page = Console::with_session(&console, move |console, session| {
        let (ledger, reader) = session.own_view()?;
        let a = views::assessments(ledger, &reader, None)
            .into_iter()
            .find(|a| a.meta.id == id)
            .ok_or_else(|| CliError::Problem(not_found_problem("assessment")))?;
        let body = &a.body;
        Ok(AssessmentPage {
            frame: Frame::new(console, "suppliers"),
            id: a.meta.id.to_string(),
            banner: banner(&a.meta.distribution),
            author: a.meta.author.to_string(),
            when: timestamp(a.meta.issued_at),
            index: a.meta.index,
            supplier: body.supplier.name.clone(),
            country: body.supplier.country.clone(),
            framework: format!("{} v{}", body.framework, body.framework_version),
            segments: serde_json::to_value(&body.segments)
                .ok()
                .and_then(|v| {
                    v.as_array().map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                })
                .unwrap_or_default(),
            verdict: body.verdict.decision().to_owned(),
            verdict_details: match &body.verdict {
                Verdict::Trusted => String::new(),
                Verdict::Conditional { mitigations } => {
                    format!("mitigations: {}", mitigations.join("; "))
                }
                Verdict::Untrusted { transition } => format!("transition: {transition}"),
            },
            ratings: body
                .ratings
                .iter()
                .map(|r| Rating {
                    criterion: r.criterion.clone(),
                    risk: risk_name(&r.risk),
                    rationale: r.rationale.clone(),
                    evidence: r.evidence.clone(),
                })
                .collect(),
            superseded_by: a.superseded_by.map(|s| s.to_string()),
        })
    })
    .await;
    page::answer(&req, page)
}
