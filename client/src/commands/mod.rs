//! One file per subcommand, each with a `run`.

pub mod admit;
pub mod archive;
pub mod init;
pub mod key;
pub mod log;
pub mod roster;
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
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Key(cmd) => key::run(&ctx, cmd),
        Command::Admit(args) => admit::run(&ctx, args),
        Command::Roster => roster::run(&ctx),
        Command::Log(cmd) => log::run(&ctx, cmd),
        Command::Witness(args) => witness::run(&ctx, args),
        Command::Archive(cmd) => archive::run(&ctx, cmd),
    }
}
