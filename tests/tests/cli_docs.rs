//! The CLI as users expect it: completion scripts for each shell and man
//! pages for every subcommand, generated from its definitions in CI;
//! failures under `--json` as one JSON object; unknown values refused at
//! parse time; `init` showing the log key's fingerprint; the demo's `--help`.
//!
//! Build the binaries first: `cargo build --workspace`.

use std::process::Command;

use entente_tests::cli_bin;

fn entente(args: &[&str]) -> std::process::Output {
    let out = Command::new(cli_bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "entente {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(entente(&["completions", shell]).stdout).unwrap();
        for sub in ["mirror", "witness", "declaration", "completions"] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("entente.bash");
    std::fs::write(&path, entente(&["completions", "bash"]).stdout).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(checked.status.success(), "{checked:?}");
    // An unknown shell is refused at parse time (exit 2).
    let out = Command::new(cli_bin())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_cover_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    entente(&["man", "--out", dir.path().to_str().unwrap()]);
    for page in [
        "entente.1",
        "entente-log-tiles.1",
        "entente-witness-serve.1",
        "entente-mirror.1",
        "entente-declaration-show.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
        assert!(text.contains(".SH NAME"), "{page}");
    }
    let tiles = std::fs::read_to_string(dir.path().join("entente-log-tiles.1")).unwrap();
    assert!(tiles.contains("entente log tiles"), "{tiles}");
}

#[test]
fn failures_under_json_are_one_json_object_and_values_are_checked_at_parse_time() {
    use entente_tests::{write_file, Cli, Server, PROBLEM};

    let server = Server::start();
    let cz = Cli::new(server.url());
    let shown = cz.init("CZ", "Czech Republic", true);
    // `init` shows the log key and a fingerprint to check out of band.
    let log = entente_tests::http::request(server.url(), "GET", "/v1/log", None).json();
    assert_eq!(shown["log_key"], log["verifier_key"], "{shown}");
    assert_eq!(
        shown["log_key_id"].as_str().map(str::len),
        Some(32),
        "{shown}"
    );

    // A refusal by the server, as JSON on stdout, with its problem type.
    let outsider = Cli::new(server.url());
    outsider.init("DE", "Germany", false);
    let work = tempfile::tempdir().unwrap();
    let paper = write_file(work.path(), "p.md", "A paper\n");
    let out = outsider.run(&["--json", "position", "publish", &paper, "--title", "P"]);
    assert_eq!(out.status.code(), Some(1));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["error"]["kind"], "refused", "{answer}");
    assert!(
        answer["error"]["type"]
            .as_str()
            .unwrap()
            .starts_with(PROBLEM),
        "{answer}"
    );
    assert_eq!(answer["exit_code"], 1);
    // A local failure too.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(cli_bin())
        .args(["--json", "--home", empty.path().to_str().unwrap(), "roster"])
        .output()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["error"]["kind"], "error", "{answer}");

    // Unknown values are refused before anything runs (exit 2), listing the known ones.
    for args in [
        &["watch", "--kind", "nope"][..],
        &["assess", "template", "--framework", "nope"][..],
    ] {
        let out = Command::new(cli_bin()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
    }
    // The demo explains itself instead of running.
    let out = Command::new(env!("CARGO_BIN_EXE_prague-demo"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Prague"));
}
