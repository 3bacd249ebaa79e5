//! The README's first session works as written, with the binaries on PATH:
//! each command of its "A first session" block is run in order (the server's
//! address and the two keys the reader pastes are filled in), and each must
//! succeed.
//!
//! Build the binaries first: `cargo build --workspace`.

use std::process::Command;

use entente_tests::{cli_bin, Server};

/// The commands of the README block after `heading`, without comments.
fn session(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let after = &readme[readme.find(heading).expect("the heading")..];
    let block = after.split("```sh\n").nth(1).expect("a sh block");
    let block = &block[..block.find("```").expect("the block's end")];
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_first_session_works_as_written() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let bin = cli_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |line: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(work.path())
            .env("PATH", &path)
            .env_remove("ENTENTE_HOME")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{line}` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let lines = session("## A first session");
    assert!(lines.len() >= 8, "{lines:?}");
    for line in lines {
        let mut line = line.replace("http://127.0.0.1:8740", server.url());
        if line.contains("<US public key>") {
            // What the reader copies from `entente --home us key show`.
            let shown: serde_json::Value =
                serde_json::from_str(&run("entente --home us --json key show")).unwrap();
            line = line
                .replace("<US public key>", shown["public_key"].as_str().unwrap())
                .replace(
                    "<US encryption key>",
                    shown["encryption_key"].as_str().unwrap(),
                );
        }
        run(&line);
    }
    // And the position reached US.
    assert!(run("entente --home us position list").contains("Core network"));
}
