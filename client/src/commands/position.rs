//! `entente position publish|list|show`: signed national position papers,
//! optionally about a proposal or an assessment.

use entente_shared::api::ProposalView;
use entente_shared::ledger::{AssessmentRecord, PositionPaper};
use entente_shared::statement::{Body, Position};
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::cli::PositionCommand;
use crate::error::{fail, CliResult};
use crate::output::{emit, emit_list, emit_published, marking, short, timestamp};
use crate::resolve;
use crate::session::{read_text, Session};

pub fn run(ctx: &Context, cmd: PositionCommand) -> CliResult<()> {
    match cmd {
        PositionCommand::Publish {
            file,
            title,
            subject,
            distribute,
        } => {
            let text = read_text(&file)?;
            let mut session = Session::open(ctx)?;
            let subject = subject
                .map(|arg| {
                    // A position is about a proposal or an assessment: a
                    // prefix is resolved against both lists together.
                    resolve::statement_id(&arg, "proposal or assessment", || {
                        let (ledger, reader) = session.own_view()?;
                        let proposals: Vec<ProposalView> = views::proposals(ledger, &reader);
                        let assessments: Vec<AssessmentRecord> =
                            views::assessments(ledger, &reader, None);
                        Ok(proposals
                            .iter()
                            .map(|p| p.record.meta.id)
                            .chain(assessments.iter().map(|a| a.meta.id))
                            .collect::<Vec<_>>())
                    })
                })
                .transpose()?;
            let distribution = session.distribution_under(&distribute, subject.as_ref())?;
            let position = Position {
                title,
                text,
                subject,
            };
            position.validate().map_err(fail)?;
            let done = format!("published position {:?}", position.title);
            let extra = json!({ "title": position.title, "subject": subject });
            let receipt = session.publish(distribution, Body::Position(position))?;
            emit_published(ctx.json, &receipt, extra, done)?;
        }
        PositionCommand::List => {
            let session = Session::open(ctx)?;
            let (ledger, reader) = session.own_view()?;
            let list: Vec<PositionPaper> = views::positions(ledger, &reader);
            emit_list(
                ctx.json,
                &list,
                |p| p.meta.id.to_string(),
                &["id", "entry", "author", "tlp", "issued", "title", "subject"],
                |p| {
                    vec![
                        short(&p.meta.id),
                        p.meta.index.to_string(),
                        p.meta.author.to_string(),
                        marking(&p.meta.distribution),
                        timestamp(p.meta.issued_at),
                        p.title.clone(),
                        p.subject.as_ref().map(short).unwrap_or_default(),
                    ]
                },
            )?;
        }
        PositionCommand::Show { id } => {
            let session = Session::open(ctx)?;
            let p: PositionPaper = session.local(
                &id,
                "position",
                |l, r| views::positions(l, r).iter().map(|p| p.meta.id).collect(),
                views::position,
            )?;
            let mut out = json!(p);
            out["id"] = json!(p.meta.id);
            emit(ctx.json, &out, || {
                let subject = p
                    .subject
                    .map(|s| format!("subject   {s}\n"))
                    .unwrap_or_default();
                format!(
                    "position  {}\nmarking   {}\ntitle     {}\nauthor    {} (key {})\nissued    {} (entry {})\n{subject}\n{}\n",
                    p.meta.id,
                    marking(&p.meta.distribution),
                    p.title,
                    p.meta.author,
                    p.meta.key,
                    timestamp(p.meta.issued_at),
                    p.meta.index,
                    p.text.trim_end()
                )
            })?;
        }
    }
    Ok(())
}
