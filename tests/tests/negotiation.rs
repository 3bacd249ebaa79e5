//! End-to-end tests of the daily work of a negotiation through the real
//! binaries: `entente inbox` lists exactly what awaits each delegation at
//! each step; positions print as what they are (an objection as an
//! objection), a plain endorsement says it drops an earlier reservation, and
//! the statement that adopts a proposal says so; `watch` names stances and
//! runs `--notify` per entry.
//!
//! Build the binaries first: `cargo build --workspace`.

use std::time::Duration;

use entente_tests::{write_file, Cli, Server};

fn awaiting(cli: &Cli) -> Vec<String> {
    let inbox = cli.json(&["inbox"]);
    inbox["awaiting_position"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["title"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn replies(cli: &Cli) -> Vec<(String, usize)> {
    let inbox = cli.json(&["inbox"]);
    inbox["replies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["thread"].as_str().unwrap().to_owned(),
                        r["messages"].as_array().unwrap().len(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_inbox_follows_a_negotiation_step_by_step() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let us = cz.seat("US", "member");
    let de = cz.seat("DE", "member");
    let work = tempfile::tempdir().unwrap();
    assert_eq!(
        cz.run(&["inbox"]).stdout,
        b"nothing awaits CZ\n".to_vec(),
        "an empty inbox says so"
    );

    // Two proposals to US and DE; the later deadline is published first.
    let text_a = write_file(work.path(), "a.md", "Principles A\n");
    let text_b = write_file(work.path(), "b.md", "Principles B\n");
    let late = cz.propose(&text_a, "Late", "US,DE", "7d", &[]);
    let soon = cz.propose(&text_b, "Soon", "US,DE", "2d", &[]);
    assert_eq!(awaiting(&us), ["Soon", "Late"], "soonest deadline first");
    assert_eq!(awaiting(&de), ["Soon", "Late"]);
    assert!(awaiting(&cz).is_empty(), "CZ is not a participant");

    // US endorses with a reservation, then plainly: it says so.
    us.json(&[
        "endorse",
        &soon,
        "--reservation",
        "subject to national review",
    ]);
    assert_eq!(awaiting(&us), ["Late"]);
    let plain = text(&us.run(&["endorse", &soon]));
    assert!(plain.contains("drops the reservation"), "{plain}");
    assert!(plain.starts_with("endorsement on"), "{plain}");
    // DE objects: an objection, in every human output.
    let objected = text(&de.run(&["object", &late, "--reason", "too vague"]));
    assert!(objected.starts_with("objection on"), "{objected}");
    let shown = text(&cz.run(&["proposal", "show", &late]));
    assert!(shown.contains("DE objection: too vague"), "{shown}");
    assert!(!shown.contains("endorse_with_reservation"));
    assert_eq!(awaiting(&de), ["Soon"]);

    // DE's endorsement completes "Soon": the statement says it adopted it.
    let adopted = de.json(&["endorse", &soon]);
    assert_eq!(
        adopted["outcome"]["adopted"]["declaration"],
        soon.as_str(),
        "{adopted}"
    );
    assert!(awaiting(&de).is_empty());
    assert!(awaiting(&us).contains(&"Late".to_owned()));

    // Threads: DE writes in the thread of CZ's proposal; CZ, who wrote the
    // proposal, has a reply waiting, until it answers; then DE has one.
    de.json(&["message", "send", &late, "Could we tighten clause 2?"]);
    assert_eq!(replies(&cz), [(late.clone(), 1)]);
    assert!(replies(&de).is_empty(), "its own message is no reply");
    cz.json(&["message", "send", &late, "Yes: see the next revision."]);
    assert!(replies(&cz).is_empty());
    assert_eq!(replies(&de), [(late.clone(), 1)]);
    assert!(replies(&us).is_empty(), "US never took part");

    // A revision puts "Late" back on both members' lists, and its diff
    // marks the changed words only.
    let tightened = write_file(work.path(), "a2.md", "Principles A for trusted suppliers\n");
    cz.json(&["revise", &late, &tightened, "--note", "clause 2 tightened"]);
    assert_eq!(awaiting(&de), ["Late"]);
    let diff = text(&cz.run(&["proposal", "show", &late, "--diff", "0", "1"]));
    assert!(
        diff.contains("Principles A{+ for trusted suppliers+}"),
        "{diff}"
    );

    // Witness duty: once US has cosigned, a newer checkpoint awaits it.
    us.json(&["witness"]);
    assert!(us.json(&["inbox"]).get("witness").is_none());
    de.json(&["message", "send", &late, "Thanks."]);
    let due = us.json(&["inbox"]);
    assert_eq!(
        due["witness"]["latest_size"].as_u64(),
        Some(server.log_size()),
        "{due}"
    );
    us.json(&["witness"]);
    assert!(us.json(&["inbox"]).get("witness").is_none());
}

#[test]
fn watch_names_positions_and_notifies_a_command_per_entry() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let us = cz.seat("US", "member");
    let work = tempfile::tempdir().unwrap();
    let doc = write_file(work.path(), "p.md", "A text\n");
    let id = cz.propose(&doc, "P", "US", "7d", &[]);
    let events = work.path().join("events");
    let notify = format!(
        "echo \"$ENTENTE_EVENT_INDEX $ENTENTE_EVENT_WHAT $(head -c 1)\" >> {}",
        events.display()
    );
    let mut watching = cz.spawn(&["watch", "--count", "1", "--notify", &notify]);
    std::thread::sleep(Duration::from_millis(500));
    us.json(&["object", &id, "--reason", "no"]);
    // Checkpoint lines come and go; the entry line is the one to read.
    let line = std::iter::from_fn(|| watching.line(Duration::from_secs(20)))
        .find(|l| l.starts_with("entry"))
        .unwrap_or_else(|| panic!("no entry: {}", watching.stderr()));
    assert!(line.contains("objection"), "{line}");
    watching.wait(Duration::from_secs(20));
    let written = std::fs::read_to_string(&events).unwrap();
    // The command saw the entry's index, what it is, and the JSON on stdin.
    assert_eq!(
        written.trim(),
        format!("{} objection {{", server.log_size() - 1)
    );

    // The endorsement that adopts a proposal: the watch says so after it.
    let other = write_file(work.path(), "q.md", "Another text\n");
    let adopted = cz.propose(&other, "Q", "US", "7d", &[]);
    let mut watching = cz.spawn(&["watch", "--count", "1"]);
    std::thread::sleep(Duration::from_millis(500));
    us.json(&["endorse", &adopted]);
    let outcome = std::iter::from_fn(|| watching.line(Duration::from_secs(20)))
        .find(|l| l.starts_with("outcome"))
        .unwrap_or_else(|| panic!("no outcome: {}", watching.stderr()));
    assert!(outcome.contains("adopted: declaration"), "{outcome}");
    assert!(outcome.contains("\"Q\""), "{outcome}");
    watching.wait(Duration::from_secs(20));
}

fn pending_amendments(cli: &Cli) -> Vec<String> {
    let inbox = cli.json(&["inbox"]);
    inbox["amendments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["amendment"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The scenario, on an AMBER text (so every amendment and decision
/// is sealed and the host judges only their clear parts): DE amends a CZ
/// text twice, CZ takes one amendment into a revision and rejects the other,
/// US and DE endorse the new revision and the adoption is announced.
#[test]
fn amendments_become_revisions_or_are_rejected_and_the_inbox_follows() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let us = cz.seat("US", "member");
    let de = cz.seat("DE", "member");
    let fr = cz.seat("FR", "member");
    let work = tempfile::tempdir().unwrap();
    let draft = write_file(
        work.path(),
        "d.md",
        "Suppliers are assessed on the rule of law and on ownership.\n",
    );
    let id = cz.propose(
        &draft,
        "Principles",
        "US,DE",
        "7d",
        &["--tlp", "AMBER", "--to", "US,DE"],
    );

    // DE amends twice; each awaits CZ's decision, and only CZ's.
    let a1 = write_file(
        work.path(),
        "a1.md",
        "Suppliers are assessed on the rule of law, judicial review and ownership.\n",
    );
    let a2 = write_file(work.path(), "a2.md", "Suppliers are trusted.\n");
    let first = de.json(&["amend", &id, &a1, "--note", "add judicial review"]);
    let first = first["id"].as_str().unwrap().to_owned();
    let second = de.json(&["amend", &id, &a2, "--note", "shorter"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut pending = pending_amendments(&cz);
    pending.sort();
    let mut want = vec![first.clone(), second.clone()];
    want.sort();
    assert_eq!(pending, want);
    assert!(pending_amendments(&de).is_empty());
    // FR is not a reader of the text: it learns nothing of the amendments.
    let shown = fr.run(&["amendment", "show", &first]);
    assert!(!shown.status.success());
    for args in [
        &["--json", "proposal", "list"][..],
        &["--json", "inbox"],
        &["--json", "amendment", "show", &second],
        &["--json", "declaration", "list"],
    ] {
        let out = fr.run(args);
        let text = String::from_utf8_lossy(&out.stdout);
        for secret in ["judicial review", "Suppliers are trusted", "shorter"] {
            assert!(!text.contains(secret), "FR obtained {secret:?}: {text}");
        }
    }
    // The amendment shows its change word by word.
    let diff = text(&cz.run(&["amendment", "show", &first]));
    assert!(
        diff.contains("rule of [-law-]{+law, judicial review+} and[- on-] ownership."),
        "{diff}"
    );
    // Only the proposer decides.
    let (code, stderr) = de.fails(&["amendment", "reject", &second, "--reason", "no"]);
    assert_ne!(code, 0, "{stderr}");

    // CZ takes the first into revision 1 and rejects the second.
    let taken = cz.json(&["amendment", "accept", &first]);
    assert_eq!(taken["number"], 1, "{taken}");
    cz.json(&["amendment", "reject", &second, "--reason", "too broad"]);
    assert!(pending_amendments(&cz).is_empty());
    let (code, _) = cz.fails(&["amendment", "reject", &first, "--reason", "again"]);
    assert_ne!(code, 0, "an amendment is decided once");
    let shown = text(&cz.run(&["proposal", "show", &id]));
    assert!(shown.contains("taken into revision 1"), "{shown}");
    assert!(shown.contains("rejected: too broad"), "{shown}");

    // US and DE endorse revision 1; the second endorsement announces adoption.
    assert_eq!(awaiting(&us), ["Principles"]);
    us.json(&["endorse", &id]);
    let adopted = de.json(&["endorse", &id]);
    assert_eq!(
        adopted["outcome"]["adopted"]["declaration"],
        id.as_str(),
        "{adopted}"
    );
    let declaration = us.json(&["declaration", "show", &id, "--format", "json"]);
    assert!(
        declaration.to_string().contains("judicial review"),
        "{declaration}"
    );
    assert!(awaiting(&us).is_empty() && awaiting(&de).is_empty());

    // The host could read none of it.
    let data = server.data_dir().to_path_buf();
    let mut stored = Vec::new();
    for entry in walk(&data) {
        stored.extend(std::fs::read(entry).unwrap_or_default());
    }
    let stored = String::from_utf8_lossy(&stored);
    for secret in ["judicial review", "too broad", "add judicial review"] {
        assert!(!stored.contains(secret), "the host stores {secret:?}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
