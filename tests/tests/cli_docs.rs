//! The CLI's own documentation, generated from its definitions in CI:
//! completion scripts for each shell, and man pages for every subcommand.
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
