//! End-to-end tests of witnessing: delegations cosign checkpoints, the CLI
//! counts cosignatures against its witness policy, witnesses refuse forks and
//! rollbacks. (Freshness by cosignature, and the C2SP witness protocol, are in
//! `tlog_standards.rs`.)
//!
//! Build the binaries first: `cargo build --workspace`.

use std::path::Path;

use entente_tests::http;
use entente_tests::{Cli, Server, PROBLEM};
use serde_json::{json, Value};

/// CZ founds the log and admits each of `members` (code, name).
fn seated(server: &Server, members: &[(&str, &str)]) -> (Cli, Vec<Cli>) {
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let mut clis = Vec::new();
    for (code, name) in members {
        let cli = Cli::new(server.url());
        let shown = cli.init(code, name, false);
        let key = shown["public_key"]
            .as_str()
            .expect("init prints public_key");
        cz.json(&["admit", code, "--name", name, "--key", key]);
        clis.push(cli);
    }
    (cz, clis)
}

fn cosigner_codes(v: &Value) -> Vec<String> {
    v["cosigners"]
        .as_array()
        .unwrap_or_else(|| panic!("no cosigners: {v}"))
        .iter()
        .map(|c| c["delegation"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn evidence_folders(home: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home.join("witness"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("fork-evidence-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn two_witnesses_meet_a_quorum_of_two_but_not_of_three() {
    let server = Server::start();
    let (cz, members) = seated(
        &server,
        &[
            ("US", "United States"),
            ("DE", "Germany"),
            ("UK", "United Kingdom"),
        ],
    );
    let (us, de) = (&members[0], &members[1]);
    let a = us.json(&["witness", "--once"]);
    assert_eq!(a["witness"], "entente-witness/US", "{a}");
    let b = de.json(&["witness"]);
    assert_eq!(a["size"], b["size"]);

    // The server serves both cosignatures on the checkpoint note itself.
    let (status, _, note) = http::get(server.url(), "/v1/checkpoint");
    assert_eq!(status, 200);
    let note = String::from_utf8(note).expect("UTF-8 note");
    assert!(note.contains("\u{2014} entente-witness/US "), "{note}");
    assert!(note.contains("\u{2014} entente-witness/DE "), "{note}");

    let policy = cz.json(&["witness", "policy", "--witnesses", "US,DE", "--quorum", "2"]);
    assert_eq!(policy["quorum"], 2);
    let cp = cz.json(&["log", "checkpoint"]);
    assert_eq!(cosigner_codes(&cp), ["DE", "US"], "{cp}");
    assert_eq!(cp["witness_policy"]["met"], true, "{cp}");
    let verified = cz.json(&["log", "verify"]);
    assert_eq!(verified["witness_policy"]["met"], true, "{verified}");

    cz.json(&[
        "witness",
        "policy",
        "--witnesses",
        "US,DE,UK",
        "--quorum",
        "3",
    ]);
    for args in [
        &["log", "checkpoint"][..],
        &["log", "verify"],
        &["archive", "export", "x.jsonl"],
    ] {
        let (code, stderr) = cz.fails(args);
        assert_eq!(code, 4, "entente {}: {stderr}", args.join(" "));
        assert!(stderr.contains("CHECKPOINT NOT TRUSTED"), "{stderr}");
        assert!(stderr.contains("quorum is 3"), "{stderr}");
    }

    // Without a policy nothing is required, and the cosigners are still shown.
    cz.json(&["witness", "policy", "--witnesses", "", "--quorum", "0"]);
    let cp = cz.json(&["log", "checkpoint"]);
    assert_eq!(cosigner_codes(&cp), ["DE", "US"], "{cp}");
    assert_eq!(cp["witness_policy"]["met"], Value::Null, "{cp}");
}

#[test]
fn a_new_entry_needs_new_cosignatures() {
    let server = Server::start();
    let (cz, members) = seated(&server, &[("US", "United States")]);
    let us = &members[0];
    us.json(&["witness"]);
    cz.json(&["witness", "policy", "--witnesses", "US", "--quorum", "1"]);
    cz.json(&["log", "checkpoint"]);
    // The log grows: the cosignature was of the smaller tree.
    let de = Cli::new(server.url());
    let key = de.init("DE", "Germany", false)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    cz.json(&["admit", "DE", "--name", "Germany", "--key", &key]);
    let (code, _) = cz.fails(&["log", "checkpoint"]);
    assert_eq!(code, 4);
    us.json(&["witness"]);
    assert_eq!(
        cz.json(&["log", "checkpoint"])["witness_policy"]["met"],
        true
    );
}

#[test]
fn forged_and_foreign_cosignatures_are_refused() {
    let server = Server::start();
    let (_cz, members) = seated(&server, &[("US", "United States")]);
    let us = &members[0];
    us.json(&["witness"]);
    let (_, _, note) = http::get(server.url(), "/v1/checkpoint");
    let note = String::from_utf8(note).unwrap();
    let line = note
        .lines()
        .find(|l| l.contains("entente-witness/US"))
        .expect("US cosignature served")
        .to_owned();
    let log_signed: String = note
        .lines()
        .filter(|l| !l.contains("entente-witness/"))
        .map(|l| format!("{l}\n"))
        .collect();

    let post = |body: Value| {
        http::request(
            server.url(),
            "POST",
            "/v1/cosignatures",
            Some(body.to_string().as_bytes()),
        )
    };
    let expect = |r: http::Response, slug: &str| {
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["type"], format!("{PROBLEM}{slug}"), "{}", r.text());
    };
    // US's line relabelled as CZ's.
    expect(
        post(json!({"checkpoint": log_signed, "cosignature": line.replace("/US", "/CZ")})),
        "bad-cosignature",
    );
    // A changed checkpoint (another size) with the log's signature: not the log's.
    expect(
        post(json!({"checkpoint": log_signed.replacen("\n2\n", "\n1\n", 1), "cosignature": line})),
        "unknown-checkpoint",
    );
    // A witness name that is not a delegation's.
    expect(
        post(
            json!({"checkpoint": log_signed, "cosignature": line.replace("entente-witness/US", "someone")}),
        ),
        "bad-cosignature",
    );
    // Oversized bodies are refused before parsing.
    let big = json!({"checkpoint": "x".repeat(70 * 1024), "cosignature": ""});
    assert_eq!(post(big).status, 413);
    // The good one again is a replay: answered 200, nothing written.
    assert_eq!(
        post(json!({"checkpoint": log_signed, "cosignature": line})).status,
        200
    );
}

#[test]
fn rollback_is_caught_by_every_pinned_cli_and_witness_on_first_contact() {
    let mut server = Server::start();
    let (cz, members) = seated(&server, &[("US", "United States"), ("DE", "Germany")]);
    let (us, de) = (&members[0], &members[1]);
    let snapshot = server.stop_and_copy();
    let mut second = server.restart();

    // The log grows; everyone sees it, DE cosigns it.
    let uk = Cli::new(second.url());
    let key = uk.init("UK", "United Kingdom", false)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    cz.json(&["admit", "UK", "--name", "United Kingdom", "--key", &key]);
    us.json(&["log", "checkpoint"]);
    de.json(&["witness"]);

    // The operator restores the older copy of the data folder.
    second.stop();
    let _third = server.restart_from(&snapshot);

    for cli in [&cz, us] {
        let (code, stderr) = cli.fails(&["log", "checkpoint"]);
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains("ROLLBACK"), "{stderr}");
    }
    let (code, stderr) = de.fails(&["witness", "--once"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("ROLLBACK"), "{stderr}");
    let evidence = evidence_folders(de.home());
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    for file in ["cosigned", "presented", "reason"] {
        assert!(
            evidence[0].join(file).is_file(),
            "{file} in {}",
            evidence[0].display()
        );
    }
    // `--every` stops at once on such evidence, too.
    let (code, _) = de.fails(&["witness", "--every", "1s"]);
    assert_eq!(code, 3);
}

#[test]
fn witness_refuses_a_fork_of_the_same_size() {
    let mut server = Server::start();
    let (cz, members) = seated(&server, &[("US", "United States")]);
    let us = &members[0];
    // CZ's profile on a second machine, which never sees history A.
    let cz_elsewhere = cz.copy();
    let snapshot = server.stop_and_copy();

    // History A: DE joins; US cosigns size 3.
    let mut a = server.restart();
    let de = Cli::new(a.url());
    let key = de.init("DE", "Germany", false)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    cz.json(&["admit", "DE", "--name", "Germany", "--key", &key]);
    let cosigned = us.json(&["witness"]);
    assert_eq!(cosigned["size"], 3);
    a.stop();

    // History B, from the same copy with the same log key: FR joins instead.
    let b = server.restart_from(&snapshot);
    let fr = Cli::new(b.url());
    let key = fr.init("FR", "France", false)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    // CZ's profile that saw history A notices the fork before it signs anything.
    let (code, stderr) = cz.fails(&["admit", "FR", "--name", "France", "--key", &key]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(b.log_size(), 2, "nothing was published to the forked log");
    // The same delegation on a machine that never saw history A admits FR.
    cz_elsewhere.json(&["admit", "FR", "--name", "France", "--key", &key]);
    assert_eq!(b.log_size(), 3);

    let (code, stderr) = us.fails(&["witness"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("FORK"), "{stderr}");
    let evidence = evidence_folders(us.home());
    assert_eq!(evidence.len(), 1);
    let ours = std::fs::read_to_string(evidence[0].join("cosigned")).unwrap();
    let theirs = std::fs::read_to_string(evidence[0].join("presented")).unwrap();
    let size_and_root = |t: &str| t.lines().skip(1).take(2).collect::<Vec<_>>().join("\n");
    assert_ne!(size_and_root(&ours), size_and_root(&theirs));
    assert!(ours.lines().nth(1) == Some("3") && theirs.lines().nth(1) == Some("3"));
}
