//! `entente message send THREAD TEXT`: a signed message in the thread of
//! any statement.

use entente_shared::statement::{Body, Message};
use serde_json::json;

use super::Context;
use crate::cli::MessageCommand;
use crate::error::{fail, CliResult};
use crate::output::{emit_published, short};
use crate::session::Session;

pub fn run(ctx: &Context, cmd: MessageCommand) -> CliResult<()> {
    let MessageCommand::Send {
        thread,
        text,
        distribute,
    } = cmd;
    let mut session = Session::open(ctx)?;
    let thread = session.any_statement(&thread)?;
    let distribution = session.distribution_under(&distribute, Some(&thread))?;
    let message = Message { thread, text };
    message.validate().map_err(fail)?;
    let done = format!("posted in the thread of {}", short(&thread));
    let receipt = session.publish(distribution, Body::Message(message))?;
    emit_published(ctx.json, &receipt, json!({ "thread": thread }), done)?;
    Ok(())
}
