//! `entente assess template|submit|list`: supplier assessments.

use entente_shared::ledger::AssessmentRecord;
use entente_shared::statement::Body;
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::assessment_file;
use crate::cli::AssessCommand;
use crate::error::CliResult;
use crate::output::{emit, emit_list, emit_published, marking, short};
use crate::profile::Profile;
use crate::session::{read_text, Session};

pub fn run(ctx: &Context, cmd: AssessCommand) -> CliResult<()> {
    match cmd {
        AssessCommand::Template { framework } => {
            let fw = assessment_file::framework(&framework)?;
            let text = assessment_file::template(fw);
            let out = json!({ "framework": fw.id, "version": fw.version, "template": text });
            emit(ctx.json, &out, || text.clone())?;
        }
        AssessCommand::Submit { file, distribute } => {
            let profile = Profile::open(&ctx.home)?;
            // The whole file is checked before the server is contacted.
            let text = read_text(&file)?;
            let name = file.display().to_string();
            let assessment = assessment_file::parse(&name, &text)?;
            let mut session = Session::connect(profile)?;
            let distribution =
                session.distribution_under(&distribute, assessment.supersedes.as_ref())?;
            let done = format!(
                "assessed {} under {} as {}",
                assessment.supplier.name,
                assessment.framework,
                assessment.verdict.decision()
            );
            let extra = json!({
                "supplier": assessment.supplier.name,
                "framework": assessment.framework,
                "verdict": assessment.verdict.decision(),
            });
            let receipt = session.publish(distribution, Body::Assessment(assessment))?;
            emit_published(ctx.json, &receipt, extra, done)?;
        }
        AssessCommand::List { supplier } => {
            let session = Session::open(ctx)?;
            let (ledger, reader) = session.own_view()?;
            let list: Vec<AssessmentRecord> =
                views::assessments(ledger, &reader, supplier.as_deref());
            emit_list(
                ctx.json,
                &list,
                |a| a.meta.id.to_string(),
                &[
                    "id",
                    "entry",
                    "author",
                    "tlp",
                    "supplier",
                    "framework",
                    "verdict",
                    "superseded by",
                ],
                |a| {
                    vec![
                        short(&a.meta.id),
                        a.meta.index.to_string(),
                        a.meta.author.to_string(),
                        marking(&a.meta.distribution),
                        a.body.supplier.name.clone(),
                        format!("{} v{}", a.body.framework, a.body.framework_version),
                        a.body.verdict.decision().to_owned(),
                        a.superseded_by.as_ref().map(short).unwrap_or_default(),
                    ]
                },
            )?;
        }
    }
    Ok(())
}
