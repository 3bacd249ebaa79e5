//! The protocol, reimplemented: `tests/interop/verify_archive.py` is a
//! verifier written in Python from `docs/protocol.md` alone (standard library
//! and `cryptography`), sharing no code with `entente-shared`. On an archive
//! of the Prague scenario, played through the real CLI against a real server,
//! it must reach exactly the declarations the CLI shows; and a bundle with one
//! byte of one entry changed must not verify.
//!
//! Needs `python3` with `cryptography` (`.ci/run` installs it). Build the
//! binaries first: `cargo build -p entente-server -p entente-client`.

use std::path::Path;
use std::process::{Command, Output};

use entente_tests::scenario::played_and_witnessed;
use entente_tests::{Cli, Server};
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/verify_archive.py");
const FRAMEWORKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/frameworks");

/// `python3 verify_archive.py ARCHIVE --log-key KEY --frameworks config/frameworks`.
fn python_verify(archive: &Path, log_key: &str) -> Output {
    Command::new("python3")
        .arg(SCRIPT)
        .arg(archive)
        .args(["--log-key", log_key, "--frameworks", FRAMEWORKS])
        .output()
        .expect("python3 must be installed, with cryptography (see .ci/run)")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The log key `cli` pinned at `init` (`log_key` in its `profile.toml`).
fn pinned_log_key(cli: &Cli) -> String {
    let profile = std::fs::read_to_string(cli.home().join("profile.toml")).unwrap();
    let line = profile
        .lines()
        .find(|l| l.starts_with("log_key"))
        .expect("profile.toml has log_key");
    let value = line.split_once('=').unwrap().1.trim();
    value.trim_matches('"').to_owned()
}

/// `line` with its first letter or digit at or after byte `at` (inside a
/// base64 string) replaced by another: one byte changed, the line still JSON.
fn one_byte_changed(line: &str, at: usize) -> String {
    let at = at
        + line.as_bytes()[at..]
            .iter()
            .position(u8::is_ascii_alphanumeric)
            .expect("a base64 character");
    let new = if line.as_bytes()[at] == b'A' {
        'B'
    } else {
        'A'
    };
    let mut out = line.to_owned();
    out.replace_range(at..at + 1, &new.to_string());
    out
}

#[test]
fn python_verifier_reaches_the_clis_declarations_and_refuses_a_changed_byte() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let (d, outcome) = played_and_witnessed(server.url(), work.path());
    let path = work.path().join("prague.jsonl");
    let summary = d.cz.json(&["archive", "export", path.to_str().unwrap()]);
    assert_eq!(summary["size"], server.log_size(), "{summary}");
    let log_key = pinned_log_key(&d.cz);

    // The independent verifier accepts the bundle and prints the declarations.
    let out = python_verify(&path, &log_key);
    assert!(out.status.success(), "{}", show(&out));
    let theirs: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", show(&out)));
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("verify_archive.py: {}", stderr.trim());
    assert!(
        stderr.contains("cosigned by DE, US") && stderr.contains("log key pinned"),
        "{stderr}"
    );

    // Exactly the declarations the CLI's own verified fold shows...
    let ours = d.cz.json(&["declaration", "list"]);
    assert_eq!(theirs, ours, "the Python verifier and the CLI disagree");
    let ids: Vec<&str> = theirs
        .as_array()
        .expect("an array of declarations")
        .iter()
        .map(|decl| decl["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(
        ids,
        [&outcome.bilateral, &outcome.principles, &outcome.silence],
        "the scenario adopts three declarations, in proposal order"
    );
    // ...each also as another delegation's `declaration show` gives it.
    for decl in theirs.as_array().unwrap() {
        let id = decl["id"].as_str().unwrap();
        assert_eq!(&d.us.json(&["declaration", "show", id]), decl, "{id}");
    }
    // The content, not only agreement: the stale endorsement of the first
    // bilateral draft does not count, UK's reservation and FR's objection do.
    let [bilateral, principles, silence] = [0, 1, 2].map(|i| &theirs[i]);
    assert_eq!(bilateral["revision_number"], 1);
    let signed_by: Vec<&str> = bilateral["signatories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["statement"].as_str().unwrap())
        .collect();
    assert!(!signed_by.contains(&outcome.stale_endorsement.as_str()));
    assert_eq!(principles["rule"], "fraction:2/3");
    assert!(principles["objections"]["FR"].is_string(), "{principles}");
    let uk = principles["signatories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["delegation"] == "UK")
        .expect("UK signed");
    assert_eq!(
        uk["reservation"],
        "The UK applies principle 2 to the RAN only."
    );
    assert_eq!(silence["rule"], "silence");
    assert!(silence["signatories"].as_array().unwrap().is_empty());

    // One byte of one entry changed — in its envelope, its leaf hash or its
    // inclusion proof — and the bundle does not verify, at that entry.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let entry = 10;
    let line = lines[1 + entry];
    let envelope_byte = line.find("\\\"payload\\\":\\\"").unwrap() + 40;
    let leaf_byte = line.find("\"leaf_hash\":\"").unwrap() + 20;
    let proof_byte = line.find("\"inclusion_proof\":[\"").unwrap() + 30;
    for (what, at, why) in [
        ("envelope", envelope_byte, "leaf hash"),
        ("leaf hash", leaf_byte, ""),
        ("inclusion proof", proof_byte, "inclusion proof"),
    ] {
        let mut tampered = lines.clone();
        let changed = one_byte_changed(line, at);
        tampered[1 + entry] = &changed;
        let bad = work.path().join("tampered.jsonl");
        std::fs::write(&bad, tampered.join("\n") + "\n").unwrap();
        let out = python_verify(&bad, &log_key);
        assert_eq!(out.status.code(), Some(3), "{what}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("ARCHIVE DOES NOT VERIFY")
                && stderr.contains(&format!("entry {entry}:"))
                && stderr.contains(why),
            "{what}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{what}: printed declarations");
    }

    // And a bundle signed by another log key than the pinned one is refused
    // before any entry is read.
    let other = Server::start();
    let founder = Cli::new(other.url());
    founder.init("CZ", "Czech Republic", true);
    let out = python_verify(&path, &pinned_log_key(&founder));
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not the pinned log key"),
        "{}",
        show(&out)
    );
}
