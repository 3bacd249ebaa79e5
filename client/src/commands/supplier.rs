//! `entente supplier show NAME`: every delegation's latest assessment of a
//! supplier side by side: first the overall verdicts, whatever the framework
//! (with mitigations, transition and the segments in scope), then one table
//! per framework, one column per delegation; rows where the delegations
//! disagree are marked `≠`, and the legend is printed only when one is.

use std::collections::{BTreeMap, BTreeSet};

use entente_shared::ledger::assessments::FrameworkComparison;
use entente_shared::ledger::{Ledger, SupplierView};
use entente_shared::statement::{
    Body, DelegationCode, Distribution, Segment, StatementId, SupplierEntry, SupplierMerge, Tlp,
    Verdict,
};
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::cli::SupplierCommand;
use crate::error::CliResult;
use crate::output::{emit, emit_published, short, table};
use crate::session::Session;

/// The mark of a row on which delegations differ.
const DIVERGES: &str = "≠";

pub fn run(ctx: &Context, cmd: SupplierCommand) -> CliResult<()> {
    let name = match cmd {
        SupplierCommand::Show { name } => name,
        SupplierCommand::List => return list(ctx),
        SupplierCommand::Register {
            name,
            country,
            aliases,
            tlp,
        } => {
            let entry = SupplierEntry {
                name,
                country,
                aliases,
            };
            let done = format!(
                "registered supplier {:?} ({}){}",
                entry.name,
                entry.country,
                if entry.aliases.is_empty() {
                    String::new()
                } else {
                    format!(", also known as {}", entry.aliases.join(", "))
                }
            );
            let distribution = Distribution {
                tlp: if tlp == "CLEAR" {
                    Tlp::Clear
                } else {
                    Tlp::Green
                },
                to: Vec::new(),
            };
            return publish(ctx, Body::SupplierEntry(entry), distribution, done);
        }
        SupplierCommand::Merge { into, from } => {
            let done = format!("merged supplier {from:?} into {into:?}");
            let merge = SupplierMerge { into, from };
            return publish(ctx, Body::SupplierMerge(merge), Distribution::green(), done);
        }
    };
    let session = Session::open(ctx)?;
    let (ledger, reader) = session.own_view()?;
    let view: SupplierView = views::supplier(ledger, &reader, &name)
        .ok_or_else(|| crate::session::not_found(format!("assessment of supplier {name:?}")))?;
    let overall = overall(ledger, &view);
    let overall_diverges = overall
        .iter()
        .map(|o| o.verdict.decision())
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let mut out = json!(view);
    out["overall"] = json!(overall
        .iter()
        .map(|o| json!({
            "delegation": o.delegation,
            "framework": o.framework,
            "assessment": o.assessment,
            "verdict": o.verdict,
            "segments": o.segments,
        }))
        .collect::<Vec<_>>());
    out["overall_diverges"] = json!(overall_diverges);
    emit(ctx.json, &out, || {
        let mut s = format!("{} ({})\n", view.name, view.country);
        s.push_str("\nOverall: each delegation's latest verdict, whatever the framework\n");
        s.push_str(&overall_table(&overall, overall_diverges));
        for fc in &view.frameworks {
            s.push_str(&format!("\n{} v{}\n", fc.framework, fc.framework_version));
            s.push_str(&comparison(fc));
        }
        let any = overall_diverges
            || view
                .frameworks
                .iter()
                .any(|f| f.verdicts_diverge || f.criteria.iter().any(|c| c.diverges));
        if any {
            s.push_str(&format!(
                "\n{DIVERGES} marks where the delegations' latest assessments differ\n"
            ));
        }
        s
    })?;
    Ok(())
}

/// Signs and publishes a registry statement, checked for shape first.
fn publish(ctx: &Context, body: Body, distribution: Distribution, done: String) -> CliResult<()> {
    body.validate().map_err(crate::error::fail)?;
    let mut session = Session::open(ctx)?;
    let receipt = session.publish(distribution, body)?;
    emit_published(ctx.json, &receipt, json!({}), done)?;
    Ok(())
}

/// `entente supplier list`: the registry, as this delegation's fold holds it.
fn list(ctx: &Context) -> CliResult<()> {
    let session = Session::open(ctx)?;
    let (ledger, reader) = session.own_view()?;
    let registry = views::suppliers(ledger, &reader);
    emit(ctx.json, &json!(registry), || {
        if registry.is_empty() {
            return "no registered supplier: `entente supplier register NAME --country C`\n".into();
        }
        let rows: Vec<Vec<String>> = registry
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.country.clone(),
                    r.aliases.join("; "),
                    r.meta.author.to_string(),
                ]
            })
            .collect();
        table(
            &["supplier", "country", "also known as", "registered by"],
            &rows,
        )
    })?;
    Ok(())
}

/// One delegation's latest assessment of the supplier, across frameworks.
struct Overall {
    delegation: DelegationCode,
    framework: String,
    assessment: StatementId,
    verdict: Verdict,
    segments: Vec<Segment>,
}

/// For each delegation, its latest assessment among the frameworks' (the
/// one furthest in the log), with the verdict's mitigations or transition.
fn overall(ledger: &Ledger, view: &SupplierView) -> Vec<Overall> {
    let mut latest: BTreeMap<DelegationCode, (u64, Overall)> = BTreeMap::new();
    for fc in &view.frameworks {
        for (d, id) in &fc.assessments {
            let Some(rec) = ledger.assessments().get(id) else {
                continue;
            };
            let candidate = Overall {
                delegation: *d,
                framework: fc.framework.clone(),
                assessment: *id,
                verdict: rec.body.verdict.clone(),
                segments: rec.body.segments.clone(),
            };
            match latest.get(d) {
                Some((index, _)) if *index >= rec.meta.index => {}
                _ => {
                    latest.insert(*d, (rec.meta.index, candidate));
                }
            }
        }
    }
    latest.into_values().map(|(_, o)| o).collect()
}

fn overall_table(rows: &[Overall], diverges: bool) -> String {
    let segments = |o: &Overall| {
        o.segments
            .iter()
            .map(|s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let details = |v: &Verdict| match v {
        Verdict::Trusted => String::new(),
        Verdict::Conditional { mitigations } => format!("mitigations: {}", mitigations.join("; ")),
        Verdict::Untrusted { transition } => format!("transition: {transition}"),
    };
    let mark = if diverges { DIVERGES } else { "" };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|o| {
            vec![
                o.delegation.to_string(),
                o.verdict.decision().to_owned(),
                mark.to_owned(),
                o.framework.clone(),
                segments(o),
                details(&o.verdict),
            ]
        })
        .collect();
    table(
        &[
            "delegation",
            "verdict",
            "",
            "framework",
            "segments in scope",
            "details",
        ],
        &rows,
    )
}

/// One framework's table: criteria, then verdicts and assessment ids.
fn comparison(fc: &FrameworkComparison) -> String {
    let delegations: Vec<_> = fc.assessments.keys().collect();
    let mark = |diverges: bool| if diverges { DIVERGES } else { "" }.to_owned();
    let mut headers = vec!["criterion", ""];
    headers.extend(delegations.iter().map(|d| d.as_str()));
    let mut rows: Vec<Vec<String>> = fc
        .criteria
        .iter()
        .map(|c| {
            let mut row = vec![c.criterion.clone(), mark(c.diverges)];
            row.extend(delegations.iter().map(|d| {
                c.risks
                    .get(*d)
                    .map_or_else(|| "—".to_owned(), ToString::to_string)
            }));
            row
        })
        .collect();
    let mut verdicts = vec!["verdict".to_owned(), mark(fc.verdicts_diverge)];
    verdicts.extend(
        delegations
            .iter()
            .map(|d| fc.verdicts.get(*d).cloned().unwrap_or_default()),
    );
    rows.push(verdicts);
    let mut ids = vec!["assessment".to_owned(), String::new()];
    ids.extend(delegations.iter().map(|d| short(&fc.assessments[*d])));
    rows.push(ids);
    table(&headers, &rows)
}
