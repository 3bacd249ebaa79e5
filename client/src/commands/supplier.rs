//! `entente supplier show NAME`: every delegation's latest assessment of a
//! supplier side by side, one table per framework, one column per
//! delegation, rows where the delegations disagree marked `≠`.

use entente_shared::ledger::assessments::FrameworkComparison;
use entente_shared::ledger::SupplierView;
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::cli::SupplierCommand;
use crate::error::CliResult;
use crate::output::{emit, short, table};
use crate::session::Session;

/// The mark of a row on which delegations differ.
const DIVERGES: &str = "≠";

pub fn run(ctx: &Context, cmd: SupplierCommand) -> CliResult<()> {
    let SupplierCommand::Show { name } = cmd;
    let session = Session::open(ctx)?;
    let (ledger, reader) = session.own_view()?;
    let view: SupplierView = views::supplier(ledger, &reader, &name)
        .ok_or_else(|| crate::session::not_found(format!("assessment of supplier {name:?}")))?;
    emit(ctx.json, &json!(view), || {
        let mut s = format!("{} ({})\n", view.name, view.country);
        for fc in &view.frameworks {
            s.push_str(&format!("\n{} v{}\n", fc.framework, fc.framework_version));
            s.push_str(&comparison(fc));
        }
        s.push_str(&format!(
            "\n{DIVERGES} marks where the delegations' latest assessments differ\n"
        ));
        s
    })?;
    Ok(())
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
