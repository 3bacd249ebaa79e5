//! `entente amend` and `entente amendment show|accept|reject`: a
//! participant's replacement text for a proposal's current revision, and the
//! proposer's decision on it — taken into the next revision (which records
//! it) or rejected with a reason. Every reply takes the proposal's audience
//! unless `--tlp` says otherwise (and the log refuses any other).

use entente_shared::api::ProposalView;
use entente_shared::ledger::AmendmentRecord;
use entente_shared::statement::{Amendment, AmendmentRejection, Body, TextDigest};
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::cli::{AmendArgs, AmendmentCommand, Distribute};
use crate::error::{fail, CliResult};
use crate::output::{emit, emit_published, marking, short, timestamp};
use crate::session::{read_text, Session};

pub fn amend(ctx: &Context, args: AmendArgs) -> CliResult<()> {
    let text = read_text(&args.file)?;
    let mut session = Session::open(ctx)?;
    let view = session.proposal(&args.proposal)?;
    let rec = &view.record;
    let current = rec.current();
    let amendment = Amendment {
        proposal: rec.meta.id,
        revision: current.digest,
        text,
        note: args.note,
    };
    let extra = json!({
        "proposal": rec.meta.id,
        "revision": current.digest,
        "revision_number": current.number,
    });
    let done = format!(
        "amendment to {:?} ({}), revision {}\n{}",
        rec.title,
        short(&rec.meta.id),
        current.number,
        crate::diff::words(&current.text, &amendment.text).trim_end()
    );
    let body = Body::Amendment(amendment);
    publish_reply(
        ctx,
        &mut session,
        &args.distribute,
        &view,
        body,
        extra,
        done,
    )
}

pub fn run(ctx: &Context, cmd: AmendmentCommand) -> CliResult<()> {
    match cmd {
        AmendmentCommand::Show { amendment } => {
            let session = Session::open(ctx)?;
            let (view, a) = find(&session, &amendment)?;
            let base = view
                .record
                .revision(&a.revision)
                .map(|r| (r.number, r.text.clone()));
            let out = json!({ "proposal": view.record.meta.id, "amendment": a });
            emit(ctx.json, &out, || {
                let (number, text) = base.clone().unwrap_or((0, String::new()));
                format!(
                    "amendment   {}\nmarking     {}\nproposal    {} {:?}\nby          {} (entry {}, {})\namends      revision {number}\nnote        {}\nstatus      {}\n\nChanges, word by word ([-removed-]{{+added+}}):\n\n{}\n",
                    a.meta.id,
                    marking(&a.meta.distribution),
                    short(&view.record.meta.id),
                    view.record.title,
                    a.meta.author,
                    a.meta.index,
                    timestamp(a.meta.issued_at),
                    a.note,
                    crate::negotiation::amendment_status(&a.status),
                    crate::diff::words(&text, &a.text).trim_end()
                )
            })?;
            Ok(())
        }
        AmendmentCommand::Accept {
            amendment,
            text,
            note,
            distribute,
        } => {
            let mut session = Session::open(ctx)?;
            let (view, a) = find(&session, &amendment)?;
            let text = match text {
                Some(path) => read_text(&path)?,
                None => a.text.clone(),
            };
            let revision = crate::negotiation::taking(&view, &a, text, note);
            let digest = TextDigest::of(&revision.text);
            let number = view.record.revisions.len();
            let extra = json!({
                "proposal": view.record.meta.id,
                "amendment": a.meta.id,
                "revision": digest,
                "number": number,
            });
            let done = format!(
                "accepted amendment {} by {}: revision {number} of {:?}, digest {digest}",
                short(&a.meta.id),
                a.meta.author,
                view.record.title
            );
            let body = Body::Revision(revision);
            publish_reply(ctx, &mut session, &distribute, &view, body, extra, done)
        }
        AmendmentCommand::Reject {
            amendment,
            reason,
            distribute,
        } => {
            let mut session = Session::open(ctx)?;
            let (view, a) = find(&session, &amendment)?;
            let rejection = AmendmentRejection {
                proposal: view.record.meta.id,
                amendment: a.meta.id,
                reason,
            };
            let extra = json!({ "proposal": view.record.meta.id, "amendment": a.meta.id });
            let done = format!(
                "rejected amendment {} by {} to {:?}",
                short(&a.meta.id),
                a.meta.author,
                view.record.title
            );
            let body = Body::AmendmentRejection(rejection);
            publish_reply(ctx, &mut session, &distribute, &view, body, extra, done)
        }
    }
}

/// Checks `body`'s shape, then publishes it as a reply to the proposal
/// `view` (its audience unless `--tlp` says otherwise) and prints it.
fn publish_reply(
    ctx: &Context,
    session: &mut Session,
    distribute: &Distribute,
    view: &ProposalView,
    body: Body,
    extra: serde_json::Value,
    done: String,
) -> CliResult<()> {
    body.validate().map_err(fail)?;
    let distribution = crate::negotiation::reply_distribution(session, distribute, view)?;
    let receipt = session.publish(distribution, body)?;
    emit_published(ctx.json, &receipt, extra, done)?;
    Ok(())
}

/// An amendment this delegation's own fold holds, by id or unique prefix,
/// with its proposal.
fn find(session: &Session, arg: &str) -> CliResult<(ProposalView, AmendmentRecord)> {
    let (ledger, reader) = session.own_view()?;
    let all: Vec<(ProposalView, AmendmentRecord)> = views::proposals(ledger, &reader)
        .into_iter()
        .flat_map(|v| {
            v.record
                .amendments
                .clone()
                .into_iter()
                .map(move |a| (v.clone(), a))
        })
        .collect();
    let id = crate::resolve::statement_id(arg, "amendment", || {
        Ok(all.iter().map(|(_, a)| a.meta.id).collect::<Vec<_>>())
    })?;
    all.into_iter()
        .find(|(_, a)| a.meta.id == id)
        .ok_or_else(|| crate::session::not_found(format!("amendment {id}")))
}
