//! `entente inbox`: what awaits this delegation, from its own fold —
//! proposals where its position on the current revision is missing (soonest
//! deadline first), amendments to its proposals awaiting its decision, replies by others in threads it took part in since it
//! last wrote there, and, for a delegation that witnesses, a latest
//! checkpoint it has not cosigned.

use entente_shared::views::{self, Inbox};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::Context;
use crate::error::CliResult;
use crate::output::{emit, short, timestamp, until};
use crate::session::Session;

pub fn run(ctx: &Context) -> CliResult<()> {
    let session = Session::open(ctx)?;
    let (ledger, reader) = session.own_view()?;
    let me = session.profile.data.delegation;
    let inbox = views::inbox(ledger, &reader, &me, OffsetDateTime::now_utc());
    let witness = crate::trust::witness_due(&session, ledger)?;
    let mut out = json!({
        "delegation": me,
        "awaiting_position": inbox.awaiting_position,
        "amendments": inbox.amendments,
        "replies": inbox.replies,
        "witness": witness,
    });
    if let Value::Object(o) = &mut out {
        o.retain(|_, v| !v.is_null());
    }
    emit(ctx.json, &out, || {
        human(&me.to_string(), &inbox, witness.as_ref())
    })?;
    Ok(())
}

fn human(me: &str, inbox: &Inbox, witness: Option<&Value>) -> String {
    if inbox.is_empty() && witness.is_none() {
        return format!("nothing awaits {me}\n");
    }
    let mut s = String::new();
    if !inbox.awaiting_position.is_empty() {
        s.push_str(&format!(
            "Your position is awaited on ({me}, soonest deadline first):\n"
        ));
        for a in &inbox.awaiting_position {
            s.push_str(&format!(
                "  {}  {:?}, revision {} ({})  deadline {} ({})  rule {}\n",
                short(&a.proposal),
                a.title,
                a.revision,
                short(&a.digest),
                timestamp(a.deadline),
                until(a.deadline),
                a.rule
            ));
        }
    }
    if !inbox.amendments.is_empty() {
        s.push_str("Amendments to your proposals, awaiting your decision:\n");
        for a in &inbox.amendments {
            s.push_str(&format!(
                "  {}  by {} to {:?}{}: `entente amendment show {}`\n",
                short(&a.amendment),
                a.author,
                a.title,
                if a.note.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", a.note)
                },
                short(&a.amendment)
            ));
        }
    }
    if !inbox.replies.is_empty() {
        s.push_str("Replies in threads you took part in:\n");
        for r in &inbox.replies {
            let last = r.messages.last().expect("replies are never empty");
            s.push_str(&format!(
                "  thread {}  {} new (last by {} at entry {}, {}): `entente thread show {}`\n",
                short(&r.thread),
                r.messages.len(),
                last.author,
                last.index,
                timestamp(last.issued_at),
                short(&r.thread)
            ));
        }
    }
    if let Some(w) = witness {
        s.push_str(&format!(
            "Witness duty: checkpoint {} is not cosigned by {me} (last cosigned: {}): run `entente witness`\n",
            w["latest_size"],
            w["cosigned_size"]
        ));
    }
    s
}
