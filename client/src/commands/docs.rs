//! `entente completions SHELL` and `entente man --out DIR`: the CLI's own
//! documentation, generated from its clap definitions so it cannot drift.

use std::path::Path;

use clap::CommandFactory as _;
use serde_json::json;

use super::Context;
use crate::cli::Cli;
use crate::error::{fail, CliResult};
use crate::output::emit;

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> CliResult<()> {
    let mut command = Cli::command();
    // Into memory first: the generator panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "entente", &mut script);
    std::io::Write::write_all(&mut std::io::stdout(), &script).map_err(anyhow::Error::from)?;
    Ok(())
}

/// Writes `entente.1` and `entente-<sub>.1` (nested: `entente-log-tiles.1`)
/// into `out`.
pub fn man(ctx: &Context, out: &Path) -> CliResult<()> {
    std::fs::create_dir_all(out).map_err(|e| fail(format!("creating {}: {e}", out.display())))?;
    let mut written = Vec::new();
    write_pages(Cli::command(), "entente", out, &mut written)?;
    emit(ctx.json, &json!({ "written": written }), || {
        format!("wrote {} man pages to {}\n", written.len(), out.display())
    })?;
    Ok(())
}

fn write_pages(
    command: clap::Command,
    name: &str,
    out: &Path,
    written: &mut Vec<String>,
) -> CliResult<()> {
    // NAME and SYNOPSIS say `entente log tiles`, not `tiles`.
    let command = command
        .display_name(name.to_owned())
        .bin_name(name.replace('-', " "));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .title(name.to_uppercase())
        .render(&mut page)
        .map_err(|e| fail(format!("rendering {name}.1: {e}")))?;
    let file = format!("{name}.1");
    std::fs::write(out.join(&file), page)
        .map_err(|e| fail(format!("writing {}: {e}", out.join(&file).display())))?;
    written.push(file);
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(
            sub.clone(),
            &format!("{name}-{}", sub.get_name()),
            out,
            written,
        )?;
    }
    Ok(())
}
