//! The protocol, reimplemented: `tests/interop/verify_archive.py` is a
//! verifier written in Python from `docs/protocol.md` alone (standard library
//! and `cryptography`), sharing no code with `entente-shared`. On an archive
//! of the Prague scenario, played through the real CLI against a real server,
//! it must reach exactly the declarations the CLI shows; and a bundle with one
//! byte of one entry changed must not verify. The same on a GREEN proposal
//! amended twice, one amendment taken into a revision and the other
//! rejected, in a log that also holds the supplier registry (two entries, one
//! of them CLEAR, and the secretariat's merge of them); and its fold refuses
//! a rejection of the amendment already taken, a name registered twice and a
//! merge of what is not a registered supplier's canonical name.
//!
//! Needs `python3` with `cryptography` (`.ci/run` installs it). Build the
//! binaries first: `cargo build -p entente-server -p entente-client`.

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use entente_tests::scenario::played_and_witnessed;
use entente_tests::{write_file, Cli, Server};
use serde_json::Value;

const INTEROP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop");
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
        refused_with_a_byte_changed(work.path(), &lines, entry, at, &log_key, why, what);
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

/// The statement payload of an archive's entry line, as JSON.
fn entry_payload(line: &str) -> Value {
    let entry: Value = serde_json::from_str(line).unwrap();
    let envelope: Value =
        serde_json::from_str(entry["envelope"].as_str().expect("a visible entry")).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// Folds the entries of `archive` before `index` with the Python verifier's
/// own `Fold` (signatures were checked by a full run), then asks it whether
/// the statement at `index`, with its body's `field` set to each of
/// `values`, could come next: one line per value, `accepted` or the refusal
/// (`SLUG: reason`). Signatures are not checked here (a full run did, and
/// a rewritten statement has none), so only the fold's rules speak.
fn python_fold_check(archive: &Path, index: usize, field: &str, values: &[&str]) -> Vec<String> {
    const CHECK: &str = r#"
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import verify_archive as v
path, index, field = sys.argv[2], int(sys.argv[3]), sys.argv[4]
lines = open(path, "rb").read().split(b"\n")
fold = v.Fold({})
for line in lines[1:1 + index]:
    fold.apply(v.Statement(v.parse_envelope(json.loads(line)["envelope"])[1]))
statement = json.loads(v.parse_envelope(json.loads(lines[1 + index])["envelope"])[1])
for value in sys.argv[5:]:
    statement["body"][field] = value
    try:
        fold.check(v.Statement(json.dumps(statement).encode()))
        print("accepted")
    except v.Refused as refused:
        print(refused)
"#;
    let out = Command::new("python3")
        .args(["-c", CHECK, INTEROP])
        .arg(archive)
        .arg(index.to_string())
        .arg(field)
        .args(values)
        .output()
        .expect("python3 must be installed, with cryptography (see .ci/run)");
    assert!(out.status.success(), "{}", show(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The bundle `lines` with byte `at` of entry `entry` changed is refused by
/// the Python verifier (exit 3, `ARCHIVE DOES NOT VERIFY`, naming the entry
/// and `why`), and it prints no declaration. `what` names the change.
fn refused_with_a_byte_changed(
    work: &Path,
    lines: &[&str],
    entry: usize,
    at: usize,
    log_key: &str,
    why: &str,
    what: &str,
) {
    let changed = one_byte_changed(lines[1 + entry], at);
    let mut tampered = lines.to_vec();
    tampered[1 + entry] = &changed;
    let bad = work.join("tampered.jsonl");
    std::fs::write(&bad, tampered.join("\n") + "\n").unwrap();
    let out = python_verify(&bad, log_key);
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

#[test]
fn python_verifier_folds_amendments_their_decisions_and_the_supplier_registry() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let us = cz.seat("US", "member");
    let de = cz.seat("DE", "member");
    let work = tempfile::tempdir().unwrap();
    let draft = write_file(
        work.path(),
        "draft.md",
        "Suppliers are assessed on the rule of law and on ownership.\n",
    );
    // GREEN (the default), so that a verifier without keys reads every text.
    let id = cz.propose(&draft, "Principles", "US,DE", "7d", &[]);

    // DE amends revision 0 twice; CZ takes the first into revision 1 and
    // rejects the second.
    let amended = "Suppliers are assessed on the rule of law, judicial review and ownership.\n";
    let a1 = write_file(work.path(), "a1.md", amended);
    let a2 = write_file(work.path(), "a2.md", "Suppliers are trusted.\n");
    let published = |out: Value| -> (String, usize) {
        let id = out["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{out}"))
            .to_owned();
        (id, out["index"].as_u64().unwrap() as usize)
    };
    let (first, _) = published(de.json(&["amend", &id, &a1, "--note", "add judicial review"]));
    let (second, _) = published(de.json(&["amend", &id, &a2, "--note", "shorter"]));
    let taken = cz.json(&["amendment", "accept", &first]);
    assert_eq!(taken["number"], 1, "{taken}");
    let (revision, _) = published(taken);
    let (_, rejection) =
        published(cz.json(&["amendment", "reject", &second, "--reason", "too broad"]));

    // US and DE endorse revision 1: adopted.
    us.json(&["endorse", &id]);
    let adopted = de.json(&["endorse", &id]);
    assert_eq!(
        adopted["outcome"]["adopted"]["declaration"],
        id.as_str(),
        "{adopted}"
    );

    // The supplier registry, kept by the secretariat: a supplier with two
    // aliases, another spelling of it in CLEAR, then the merge of the two.
    let (_, us_entry) = published(cz.json(&[
        "supplier",
        "register",
        "Huawei Technologies Co., Ltd.",
        "--country",
        "China",
        "--aliases",
        "Huawei,HW",
    ]));
    let (_, de_entry) = published(cz.json(&[
        "supplier",
        "register",
        "Huawei Tech",
        "--country",
        "China",
        "--tlp",
        "CLEAR",
    ]));
    let (_, merge) = published(cz.json(&[
        "supplier",
        "merge",
        "Huawei Technologies Co., Ltd.",
        "Huawei Tech",
    ]));
    // One supplier, as the CLI's own fold holds it.
    let registry = de.json(&["supplier", "list"]);
    let [supplier] = registry.as_array().expect("an array").as_slice() else {
        panic!("one registered supplier: {registry}")
    };
    assert_eq!(supplier["name"], "Huawei Technologies Co., Ltd.");
    assert_eq!(
        supplier["aliases"],
        serde_json::json!(["Huawei", "HW", "Huawei Tech"])
    );
    assert_eq!(supplier["meta"]["index"], us_entry as u64, "{supplier}");
    // The statements its names come from: DE's entry, then CZ's merge.
    let merges = supplier["merges"].as_array().expect("merges");
    assert_eq!(merges.last().unwrap()["index"], merge as u64, "{supplier}");
    assert_eq!(merges[0]["index"], de_entry as u64, "{supplier}");

    let path = work.path().join("amended.jsonl");
    let summary = cz.json(&["archive", "export", path.to_str().unwrap()]);
    assert_eq!(summary["size"], server.log_size(), "{summary}");
    let log_key = pinned_log_key(&cz);

    // The independent verifier accepts the bundle, folds the amendments and
    // their decisions, and prints the declaration the CLI shows.
    let out = python_verify(&path, &log_key);
    assert!(out.status.success(), "{}", show(&out));
    let theirs: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", show(&out)));
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("verify_archive.py: {}", stderr.trim());
    assert!(
        stderr.contains("amendments in clear: 1 taken into a revision, 1 rejected, 0 pending")
            && stderr.contains("supplier registry: 1 suppliers, 4 names, 1 merges")
            && stderr.contains("every entry visible")
            && stderr.contains("log key pinned"),
        "{stderr}"
    );
    let ours = cz.json(&["declaration", "list"]);
    assert_eq!(theirs, ours, "the Python verifier and the CLI disagree");
    let [decl] = theirs.as_array().expect("an array").as_slice() else {
        panic!("one declaration: {theirs}")
    };
    assert_eq!(decl["id"], id.as_str());
    assert_eq!(decl["revision_number"], 1, "{decl}");
    assert_eq!(
        decl["text"], amended,
        "the amendment taken is the adopted text"
    );
    let signed: Vec<&str> = decl["signatories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["delegation"].as_str().unwrap())
        .collect();
    assert_eq!(signed, ["US", "DE"], "{decl}");
    assert_eq!(&us.json(&["declaration", "show", &id]), decl);

    // The rejection's entry is in the bundle as signed: it declines the
    // second amendment.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let line = lines[1 + rejection];
    let payload = entry_payload(line);
    assert_eq!(payload["kind"], "amendment_rejection", "{payload}");
    assert_eq!(payload["body"]["amendment"], second.as_str(), "{payload}");

    // Rewritten to decline the amendment already taken into revision 1, it
    // cannot be re-signed into the log (the checkpoint is the log's), so two
    // checks stand in: the verifier's fold refuses that statement after the
    // entries before it, while the rejection as signed passes...
    let judged = python_fold_check(&path, rejection, "amendment", &[&second, &first]);
    assert_eq!(judged.len(), 2, "{judged:?}");
    assert_eq!(judged[0], "accepted", "{judged:?}");
    assert!(
        judged[1].starts_with("amendment-decided:") && judged[1].contains(&revision),
        "{judged:?}"
    );
    // ...and one byte of the rejection's envelope changed does not verify,
    // at that entry.
    let envelope_byte = line.find("\\\"payload\\\":\\\"").unwrap() + 40;
    refused_with_a_byte_changed(
        work.path(),
        &lines,
        rejection,
        envelope_byte,
        &log_key,
        "leaf hash",
        "the rejection's envelope",
    );

    // The registry's entries are in the bundle as the CLI wrote them: an
    // entry's aliases (left out when empty), its label, the merge's names.
    let payload = entry_payload(lines[1 + us_entry]);
    assert_eq!(payload["kind"], "supplier_entry", "{payload}");
    assert_eq!(payload["distribution"], serde_json::json!({"tlp": "GREEN"}));
    assert_eq!(
        payload["body"],
        serde_json::json!({"aliases": ["Huawei", "HW"], "country": "China", "name": "Huawei Technologies Co., Ltd."})
    );
    let payload = entry_payload(lines[1 + de_entry]);
    assert_eq!(payload["distribution"], serde_json::json!({"tlp": "CLEAR"}));
    assert_eq!(
        payload["body"],
        serde_json::json!({"country": "China", "name": "Huawei Tech"})
    );
    let payload = entry_payload(lines[1 + merge]);
    assert_eq!(payload["kind"], "supplier_merge", "{payload}");
    assert_eq!(payload["author"], "CZ", "{payload}");
    assert_eq!(
        payload["body"],
        serde_json::json!({"from": "Huawei Tech", "into": "Huawei Technologies Co., Ltd."})
    );

    // The verifier's fold judges the registry as the reference does: the
    // second entry as signed passes, but not under a name the first holds, in any
    // case and spacing; the merge as signed passes, but not of an alias or
    // of a name nobody registered.
    let judged = python_fold_check(
        &path,
        de_entry,
        "name",
        &[
            "Huawei Tech",
            "HUAWEI",
            " hw ",
            "huawei technologies co., ltd.",
        ],
    );
    assert_eq!(judged.len(), 4, "{judged:?}");
    assert_eq!(judged[0], "accepted", "{judged:?}");
    for refused in &judged[1..] {
        assert!(refused.starts_with("supplier-exists:"), "{judged:?}");
    }
    let judged = python_fold_check(&path, merge, "from", &["Huawei Tech", "huawei", "Nokia"]);
    assert_eq!(judged.len(), 3, "{judged:?}");
    assert_eq!(judged[0], "accepted", "{judged:?}");
    assert!(judged[1].starts_with("bad-supplier:"), "{judged:?}");
    assert!(judged[2].starts_with("bad-supplier:"), "{judged:?}");
}
