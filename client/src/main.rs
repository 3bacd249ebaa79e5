//! `entente`: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use entente_client::cli::Cli;
use entente_client::commands::dispatch;
use entente_client::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Other(e)) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("entente: {e:#}");
            // Scripts reading --json get the failure as one JSON object too.
            if json {
                println!("{}", e.to_json());
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// `entente roster | head` closing the pipe early is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
