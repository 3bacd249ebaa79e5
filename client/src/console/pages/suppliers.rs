//! The supplier pages: the heat map (`/suppliers`) — for each framework,
//! suppliers × criteria down, delegations across, each cell coloured by the
//! risk that delegation's latest assessment gives, rows where delegations
//! differ marked, and each supplier's verdicts — and one assessment
//! (`/assessments/{id}`), which every cell links to.
//!
//! The map holds only what `entente supplier show` compares for this
//! delegation: the latest assessment of each delegation that it may read.

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::ledger::SupplierView;
use entente_shared::statement::{Risk, Supplier, Verdict};
use entente_shared::views;

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

/// Every supplier this delegation may read an assessment of, each once,
/// compared as `entente supplier show` compares it.
fn supplier_views(
    ledger: &entente_shared::ledger::Ledger,
    reader: &entente_shared::visibility::Reader,
) -> Vec<SupplierView> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for a in views::assessments(ledger, reader, None) {
        if !seen.insert(Supplier::key(&a.body.supplier.name)) {
            continue;
        }
        if let Some(view) = views::supplier(ledger, reader, &a.body.supplier.name) {
            if seen.insert(format!("view:{}", Supplier::key(&view.name))) {
                out.push(view);
            }
        }
    }
    out.sort_by_key(|v| Supplier::key(&v.name));
    out
}

/// `GET /suppliers`.
pub async fn heat_map(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page =
        Console::with_session(&console, |console, session| {
            let (ledger, reader) = session.own_view()?;
            let mut maps: Vec<FrameworkMap> = Vec::new();
            for view in supplier_views(ledger, &reader) {
                for fc in &view.frameworks {
                    let at = match maps.iter().position(|m| {
                        m.framework == fc.framework && m.version == fc.framework_version
                    }) {
                        Some(at) => at,
                        None => {
                            maps.push(FrameworkMap {
                                framework: fc.framework.clone(),
                                version: fc.framework_version,
                                delegations: Vec::new(),
                                suppliers: Vec::new(),
                            });
                            maps.len() - 1
                        }
                    };
                    let map = &mut maps[at];
                    for d in fc.assessments.keys() {
                        if !map.delegations.contains(&d.to_string()) {
                            map.delegations.push(d.to_string());
                        }
                    }
                    map.suppliers.push(SupplierBlock {
                        name: view.name.clone(),
                        country: view.country.clone(),
                        rows: Vec::new(),
                        verdicts: Vec::new(),
                        verdicts_diverge: fc.verdicts_diverge,
                    });
                }
            }
            // Cells once every framework's columns are known.
            for map in &mut maps {
                map.delegations.sort();
                for block in &mut map.suppliers {
                    let Some(view) = views::supplier(ledger, &reader, &block.name) else {
                        continue;
                    };
                    let Some(fc) = view.frameworks.iter().find(|f| {
                        f.framework == map.framework && f.framework_version == map.version
                    }) else {
                        continue;
                    };
                    let label_of = |d: &str| {
                        fc.assessments
                            .iter()
                            .find(|(code, _)| code.as_str() == d)
                            .and_then(|(_, id)| ledger.assessments().get(id))
                            .map(|a| marking(&a.meta.distribution))
                            .unwrap_or_default()
                    };
                    let id_of_delegation = |d: &str| {
                        fc.assessments
                            .iter()
                            .find(|(code, _)| code.as_str() == d)
                            .map(|(_, id)| id.to_string())
                            .unwrap_or_default()
                    };
                    block.rows = fc
                        .criteria
                        .iter()
                        .map(|c| CriterionRow {
                            criterion: c.criterion.clone(),
                            question: c.question.clone(),
                            diverges: c.diverges,
                            cells: map
                                .delegations
                                .iter()
                                .map(|d| Cell {
                                    delegation: d.clone(),
                                    risk: c
                                        .risks
                                        .iter()
                                        .find(|(code, _)| code.as_str() == d)
                                        .map(|(_, r)| risk_name(r))
                                        .unwrap_or_default(),
                                    assessment: id_of_delegation(d),
                                    label: label_of(d),
                                })
                                .collect(),
                        })
                        .collect();
                    block.verdicts = map
                        .delegations
                        .iter()
                        .map(|d| VerdictCell {
                            verdict: fc
                                .verdicts
                                .iter()
                                .find(|(code, _)| code.as_str() == d)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default(),
                            assessment: id_of_delegation(d),
                        })
                        .collect();
                }
            }
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
