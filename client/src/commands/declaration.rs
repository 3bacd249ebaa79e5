//! `entente declaration list|show`: adopted proposals, with the signatory
//! block that ties each signatory to its signed endorsement.

use entente_shared::ledger::Declaration;
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::cli::{DeclarationCommand, DocFormat};
use crate::document::{self, Parties};
use crate::error::{fail, CliResult};
use crate::output::{emit, emit_list, marking, short, timestamp};
use crate::session::Session;

pub fn run(ctx: &Context, cmd: DeclarationCommand) -> CliResult<()> {
    if let DeclarationCommand::Show {
        id,
        format,
        from_archive: Some(path),
    } = &cmd
    {
        let all = crate::archive::declarations(path, None)?;
        let id = crate::resolve::statement_id(id, "declaration", || {
            Ok(all.iter().map(|d| d.id).collect::<Vec<_>>())
        })?;
        let d = all
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| fail(format!("no declaration {id} in {}", path.display())))?;
        // An archive names no one beyond codes here: the parties are shown by code.
        return show(ctx, &d, &Parties::default(), *format);
    }
    let session = Session::open(ctx)?;
    match cmd {
        DeclarationCommand::List => {
            let (ledger, reader) = session.own_view()?;
            let list: Vec<Declaration> = views::declarations(ledger, &reader);
            emit_list(
                ctx.json,
                &list,
                |d| d.id.to_string(),
                &[
                    "id",
                    "tlp",
                    "title",
                    "rule",
                    "adopted",
                    "entry",
                    "signatories",
                ],
                |d| {
                    let signed: Vec<String> = d
                        .signatories
                        .iter()
                        .map(|s| s.delegation.to_string())
                        .collect();
                    vec![
                        short(&d.id),
                        marking(&d.distribution),
                        d.title.clone(),
                        d.rule.to_string(),
                        timestamp(d.adopted_at),
                        d.adopted_index.to_string(),
                        signed.join(", "),
                    ]
                },
            )?;
        }
        DeclarationCommand::Show { id, format, .. } => {
            let d = session.local(
                &id,
                "declaration",
                |l, r| views::declarations(l, r).iter().map(|d| d.id).collect(),
                views::declaration,
            )?;
            let parties = parties(&session, &d)?;
            show(ctx, &d, &parties, format)?;
        }
    }
    Ok(())
}

/// Prints one declaration in the chosen format.
fn show(ctx: &Context, d: &Declaration, parties: &Parties, format: DocFormat) -> CliResult<()> {
    let json = ctx.json || format == DocFormat::Json;
    emit(json, &json!(d), || match format {
        DocFormat::Html => document::html(d, parties),
        _ => document::markdown(d, parties),
    })?;
    Ok(())
}

/// The full names of the declaration's parties (from the roster of this
/// delegation's own fold) and when each endorsement was signed.
fn parties(session: &Session, d: &Declaration) -> CliResult<Parties> {
    let (ledger, reader) = session.own_view()?;
    Ok(Parties::of(ledger, &reader, d))
}
