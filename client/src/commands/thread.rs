//! `entente thread show THREAD`: the signed messages attached to a
//! statement, in log order.

use entente_shared::api::ThreadView;
use entente_shared::views;

use serde_json::json;

use super::Context;
use crate::cli::ThreadCommand;
use crate::error::CliResult;
use crate::output::{emit, marking, records_json, short, timestamp};
use crate::session::Session;

pub fn run(ctx: &Context, cmd: ThreadCommand) -> CliResult<()> {
    let ThreadCommand::Show { thread } = cmd;
    let session = Session::open(ctx)?;
    let thread = session.any_statement(&thread)?;
    let (ledger, reader) = session.own_view()?;
    let view: ThreadView = views::thread(ledger, &reader, &thread)
        .ok_or_else(|| crate::session::not_found(format!("statement {thread}")))?;
    // The view as the server answers it, each message with its own `id`.
    let out = json!({
        "thread": view.thread,
        "messages": records_json(&view.messages, |m| m.meta.id.to_string()),
    });
    emit(ctx.json, &out, || {
        let mut s = format!(
            "thread of {} — {} message(s)\n",
            view.thread,
            view.messages.len()
        );
        for m in &view.messages {
            // Header line per message, then its text indented: messages
            // are multi-line, so a table would mangle them.
            s.push_str(&format!(
                "\n#{}  {}  {}  {}  id {}\n",
                m.meta.index,
                m.meta.author,
                marking(&m.meta.distribution),
                timestamp(m.meta.issued_at),
                short(&m.meta.id)
            ));
            for line in m.text.trim_end().lines() {
                s.push_str(&format!("    {line}\n"));
            }
        }
        s
    })?;
    Ok(())
}
