//! One file per subcommand, each with a `run`.

pub mod admit;
pub mod amend;
pub mod archive;
pub mod assess;
pub mod declaration;
pub mod docs;
pub mod inbox;
pub mod init;
pub mod key;
pub mod log;
pub mod message;
pub mod mirror;
pub mod position;
pub mod proposal;
pub mod propose;
pub mod roster;
pub mod stance;
pub mod supplier;
pub mod thread;
pub mod watch;
pub mod witness;

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::error::CliResult;

/// What every command gets: where the profile is and how to print.
pub struct Context {
    pub home: PathBuf,
    pub json: bool,
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> CliResult<()> {
    let ctx = Context {
        home: crate::profile::home_dir(cli.home)?,
        json: cli.json,
    };
    if let Some(url) = &cli.mirror {
        crate::profile::read_from_mirror(url);
    }
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Key(cmd) => key::run(&ctx, cmd),
        Command::Admit(args) => admit::run(&ctx, args),
        Command::Roster => roster::run(&ctx),
        Command::Log(cmd) => log::run(&ctx, cmd),
        Command::Assess(cmd) => assess::run(&ctx, cmd),
        Command::Supplier(cmd) => supplier::run(&ctx, cmd),
        Command::Propose(args) => propose::propose(&ctx, args),
        Command::Revise(args) => propose::revise(&ctx, args),
        Command::Amend(args) => amend::amend(&ctx, args),
        Command::Amendment(cmd) => amend::run(&ctx, cmd),
        Command::Proposal(cmd) => proposal::run(&ctx, cmd),
        Command::Endorse(args) => stance::endorse(&ctx, args),
        Command::Object(args) => stance::object(&ctx, args),
        Command::Abstain(args) => stance::abstain(&ctx, args),
        Command::Declaration(cmd) => declaration::run(&ctx, cmd),
        Command::Position(cmd) => position::run(&ctx, cmd),
        Command::Message(cmd) => message::run(&ctx, cmd),
        Command::Thread(cmd) => thread::run(&ctx, cmd),
        Command::Watch(args) => watch::run(&ctx, args),
        Command::Witness(args) => witness::run(&ctx, args),
        Command::Mirror(args) => mirror::run(&ctx, args),
        Command::Inbox => inbox::run(&ctx),
        Command::Console(args) => crate::console::run(&ctx.home, ctx.json, args),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out } => docs::man(&ctx, &out),
        Command::Archive(cmd) => archive::run(&ctx, cmd),
    }
}
