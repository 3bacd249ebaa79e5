//! Who sees what, through the real binaries: AMBER and RED content reaches
//! its audience and no one else, by any route. Each restricted text carries a
//! unique marker, searched for — raw and in base64-decoded payloads — in
//! everything a non-recipient member, an observer and an unsigned reader can
//! obtain: every read route, the CLI's lists, `log verify`, an archive and
//! the live stream (`entente watch`).

use base64::Engine as _;
use entente_shared::frameworks::Frameworks;
use entente_shared::statement::{
    Assessment, Body, DelegationCode, Distribution, Endorsement, Message, Position, Rating,
    Revision, Risk, Segment, Stance, StatementId, Supplier, TextDigest, Tlp, Verdict,
};
use entente_tests::actors::{self, Actor};
use entente_tests::http;
use entente_tests::{Cli, Server, PROBLEM};
use serde_json::Value;

// ---------------------------------------------------------------- set-ups

struct Conference {
    server: Server,
    cz: Cli,
    us: Cli,
    de: Cli,
    fr: Cli,
    nato: Cli,
    _scratch: tempfile::TempDir,
}

/// CZ (secretariat) with US, DE and FR (members) and NATO (observer).
fn conference() -> Conference {
    let server = Server::start();
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let us = cz.seat("US", "member");
    let de = cz.seat("DE", "member");
    let fr = cz.seat("FR", "member");
    let nato = cz.seat("NATO", "observer");
    Conference {
        server,
        cz,
        us,
        de,
        fr,
        nato,
        _scratch: tempfile::tempdir().unwrap(),
    }
}

impl Conference {
    /// Writes `text` to a file and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        entente_tests::write_file(self._scratch.path(), name, text)
    }
}

/// `propose TEXT --title T --participants P --rule unanimous --deadline 7d EXTRA...`
fn proposal_args<'a>(
    text: &'a str,
    title: &'a str,
    participants: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "propose",
        text,
        "--title",
        title,
        "--participants",
        participants,
        "--rule",
        "unanimous",
        "--deadline",
        "7d",
    ];
    args.extend_from_slice(extra);
    args
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {v}"))
        .to_owned()
}

/// Everything `reader` (a delegation's CLI, or `None` for an unsigned
/// reader) can obtain: every list and view route, each of `ids` by every
/// route that takes an id, the whole log, and (for a delegation) its CLI's
/// lists, `log verify` and an archive export. Payloads are base64-decoded.
fn everything(c: &Conference, reader: Option<&Cli>, ids: &[String]) -> String {
    let url = c.server.url();
    let get = |path: &str| -> String {
        match reader {
            Some(cli) => http::signed_get(url, path, &cli.signing_key()).text(),
            None => String::from_utf8_lossy(&http::get(url, path).2).into_owned(),
        }
    };
    let mut out = Vec::new();
    for path in [
        "/v1/proposals",
        "/v1/declarations",
        "/v1/assessments",
        "/v1/positions",
        "/v1/suppliers/acme",
        "/v1/checkpoint",
    ] {
        out.push(get(path));
    }
    for i in ids {
        for route in [
            "statements",
            "proposals",
            "declarations",
            "positions",
            "threads",
        ] {
            // A refusal may echo the id it was asked for; that tells nothing.
            out.push(get(&format!("/v1/{route}/{i}")).replace(i.as_str(), "ASKED"));
        }
    }
    let size = c.server.log_size();
    let entries = get(&format!("/v1/entries?start=0&end={size}"));
    if let Ok(v) = serde_json::from_str::<Value>(&entries) {
        for e in v["entries"].as_array().into_iter().flatten() {
            if let Some(p) = e["envelope"]["payload"].as_str() {
                let decoded = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
                out.push(String::from_utf8_lossy(&decoded).into_owned());
            }
        }
    }
    out.push(entries);
    if let Some(cli) = reader {
        // The CLI's own views (its replica, opened with its keys), whole.
        for args in [
            &["--json", "proposal", "list"][..],
            &["--json", "position", "list"],
            &["--json", "declaration", "list"],
            &["--json", "assess", "list"],
            &["--json", "log", "invalid"],
        ] {
            let o = cli.run(args);
            out.push(String::from_utf8_lossy(&o.stdout).into_owned());
        }
        for i in ids {
            for what in ["proposal", "position", "thread"] {
                // A refusal under --json names the id the reader itself gave
                // (as the server's 404 does): only that is masked.
                let o = cli.run(&["--json", what, "show", i]);
                out.push(String::from_utf8_lossy(&o.stdout).replace(i.as_str(), "ASKED"));
            }
        }
        let verify = cli.run(&["log", "verify"]);
        assert!(
            verify.status.success(),
            "log verify fails for a reader: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        let bundle = c
            ._scratch
            .path()
            .join(format!("archive-{}.jsonl", ids.len()));
        let bundle = bundle.display().to_string();
        cli.json(&["archive", "export", &bundle]);
        let checked = cli.run(&["archive", "verify", &bundle]);
        assert!(
            checked.status.success(),
            "archive verify fails for a reader: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let text = std::fs::read_to_string(&bundle).unwrap();
        for line in text.lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if let Some(env) = v["envelope"].as_str() {
                    let env: Value = serde_json::from_str(env).unwrap();
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(env["payload"].as_str().unwrap())
                        .unwrap();
                    out.push(String::from_utf8_lossy(&decoded).into_owned());
                }
            }
        }
        out.push(text);
        std::fs::remove_file(&bundle).unwrap();
        out.extend(streamed(cli, size));
    }
    out.join("\n")
}

/// What `reader` obtains from the live stream (`entente watch` from index
/// 0 until the whole log of `size` entries has gone by): every line it
/// prints, and every payload in them base64-decoded.
fn streamed(reader: &Cli, size: u64) -> Vec<String> {
    let mut watch = reader.spawn(&["--json", "watch", "--from", "0"]);
    let mut out = Vec::new();
    let mut next = 0;
    while next < size {
        let line = watch.json_line(std::time::Duration::from_secs(30));
        match line["type"].as_str() {
            Some("entry") => {
                next = line["index"].as_u64().unwrap() + 1;
                let payload = line["envelope"]["payload"].as_str().unwrap();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(payload)
                    .unwrap();
                out.push(String::from_utf8_lossy(&decoded).into_owned());
            }
            Some("hidden") => {
                next = line["from"].as_u64().unwrap() + line["count"].as_u64().unwrap();
            }
            _ => {}
        }
        out.push(line.to_string());
    }
    watch.interrupt(std::time::Duration::from_secs(10));
    out
}

// ---------------------------------------------------------------- tests

#[test]
fn restricted_texts_reach_their_audience_and_no_one_else_by_any_route() {
    let c = conference();
    // CZ proposes a text to US and DE under TLP:AMBER.
    let text = c.file("p.md", "Principles MARK-PROPOSAL-1\n");
    let proposal = id(&c.cz.json(&proposal_args(
        &text,
        "Title MARK-TITLE-2",
        "CZ,US,DE",
        &["--tlp", "AMBER", "--to", "US,DE"],
    )));
    // Replies, none of which names a label: each takes the proposal's audience.
    let objection = id(&c
        .us
        .json(&["object", &proposal, "--reason", "Reason MARK-REASON-3"]));
    let revised = c.file("r.md", "Principles revised MARK-REVISION-4\n");
    let revision = id(&c
        .cz
        .json(&["revise", &proposal, &revised, "--note", "Note MARK-NOTE-5"]));
    let endorsement = id(&c.us.json(&[
        "endorse",
        &proposal,
        "--reservation",
        "Reservation MARK-RESERVATION-6",
    ]));
    let message = id(&c
        .de
        .json(&["message", "send", &proposal, "Message MARK-MESSAGE-7"]));
    // A narrower child: US writes to CZ alone about the proposal.
    let paper = c.file("pos.md", "Paper MARK-PAPER-8\n");
    let position = id(&c.us.json(&[
        "position",
        "publish",
        &paper,
        "--title",
        "Position",
        "--subject",
        &proposal,
        "--tlp",
        "RED",
        "--to",
        "CZ",
    ]));
    let ids = [
        proposal.clone(),
        objection,
        revision,
        endorsement,
        message.clone(),
        position.clone(),
    ];
    let amber = [
        "MARK-PROPOSAL-1",
        "MARK-TITLE-2",
        "MARK-REASON-3",
        "MARK-REVISION-4",
        "MARK-NOTE-5",
        "MARK-RESERVATION-6",
        "MARK-MESSAGE-7",
    ];

    for (who, reader) in [
        ("FR", Some(&c.fr)),
        ("NATO", Some(&c.nato)),
        ("unsigned", None),
    ] {
        let seen = everything(&c, reader, &ids);
        for mark in amber.iter().chain(["MARK-PAPER-8"].iter()) {
            assert!(!seen.contains(mark), "{who} obtained {mark}");
        }
        for i in &ids {
            assert!(!seen.contains(i.as_str()), "{who} obtained the id {i}");
        }
    }
    // DE, a recipient, reads the whole AMBER record, but not US's RED note to CZ.
    let seen = everything(&c, Some(&c.de), &ids);
    for mark in amber {
        assert!(seen.contains(mark), "DE misses {mark}");
    }
    assert!(!seen.contains("MARK-PAPER-8"), "DE obtained the RED paper");
    // CZ reads it.
    let shown = c.cz.json(&["position", "show", &position]);
    assert!(shown["text"].as_str().unwrap().contains("MARK-PAPER-8"));
    // What each reply took: the proposal's audience, less its own author.
    let thread = c.cz.json(&["thread", "show", &proposal]);
    let m = &thread["messages"][0]["meta"]["distribution"];
    assert_eq!(m["tlp"], "AMBER");
    assert_eq!(m["to"], serde_json::json!(["CZ", "US"]), "{thread}");
}

#[test]
fn a_reply_may_not_reach_further_than_its_parent() {
    let c = conference();
    let paper = c.file("pos.md", "Paper MARK-AMBER-1\n");
    let position = id(&c.cz.json(&[
        "position", "publish", &paper, "--title", "For US", "--tlp", "AMBER", "--to", "US",
    ]));
    // Widening to every member, or naming DE, is refused with its own type.
    for extra in [
        &["--tlp", "GREEN"][..],
        &["--tlp", "AMBER", "--to", "CZ,DE"],
        &["--tlp", "CLEAR"],
    ] {
        let mut args = vec!["message", "send", &position, "Reply MARK-WIDE-2"];
        args.extend_from_slice(extra);
        let (code, stderr) = c.us.fails(&args);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains(&format!("{PROBLEM}bad-audience")),
            "{stderr}"
        );
    }
    // A revision or a position must reach exactly the proposal's readers.
    let text = c.file("p.md", "Text\n");
    let proposal = id(&c.cz.json(&proposal_args(&text, "T", "CZ,US,DE", &[])));
    let narrower = c.file("r.md", "Narrower MARK-NARROW-3\n");
    let (_, stderr) =
        c.cz.fails(&["revise", &proposal, &narrower, "--tlp", "RED", "--to", "US"]);
    assert!(stderr.contains("bad-audience"), "{stderr}");
    let (_, stderr) = c.us.fails(&[
        "object", &proposal, "--reason", "R", "--tlp", "AMBER", "--to", "CZ",
    ]);
    assert!(stderr.contains("bad-audience"), "{stderr}");
    // A restricted proposal names every participant as a reader.
    let (_, stderr) = c.cz.fails(&proposal_args(
        &text,
        "T",
        "CZ,US,DE",
        &["--tlp", "AMBER", "--to", "US"],
    ));
    assert!(
        stderr.contains("bad-audience") && stderr.contains("DE"),
        "{stderr}"
    );
    // Nothing refused reached the log.
    let seen = everything(&c, Some(&c.cz), &[position, proposal]);
    assert!(!seen.contains("MARK-WIDE-2") && !seen.contains("MARK-NARROW-3"));
}

/// Posts `body` signed by `actor` under `d` (sealed if `d` is AMBER or
/// RED, as the CLI seals); returns (status, type, detail).
fn submit(
    c: &Conference,
    actor: &mut Actor,
    d: &Distribution,
    body: Body,
) -> (u16, String, String) {
    let body = if d.tlp.needs_recipients() {
        actor.seal(c.server.url(), d, body)
    } else {
        body
    };
    let st = entente_shared::statement::Statement::new(
        actor.code,
        &actor.key,
        actor.seq,
        d.clone(),
        body,
    );
    let r = actors::post(c.server.url(), &st.sign(&actor.key));
    if r.status == 201 {
        actor.seq += 1;
    }
    let v = r.json();
    (
        r.status,
        v["type"].as_str().unwrap_or_default().to_owned(),
        v["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

fn assessment(supersedes: Option<StatementId>, marker: &str) -> Body {
    let fw = Frameworks::builtin().get("joint-declaration-2020").unwrap();
    Body::Assessment(Assessment {
        supplier: Supplier {
            name: "Acme".into(),
            country: "Freedonia".into(),
        },
        framework: fw.id.clone(),
        framework_version: fw.version,
        segments: vec![Segment::Core],
        ratings: fw
            .criteria
            .iter()
            .map(|c| Rating {
                criterion: c.id.clone(),
                risk: Risk::Low,
                rationale: marker.into(),
                evidence: vec![],
            })
            .collect(),
        verdict: Verdict::Trusted,
        supersedes,
    })
}

/// CZ admits a delegation driven from Rust, with both its keys.
fn admit_actor(c: &Conference, a: &Actor) {
    let (key, enc) = (
        a.key.public_key().to_string(),
        a.enc.public_key().to_string(),
    );
    c.cz.json(&[
        "admit",
        a.code.as_str(),
        "--name",
        "x",
        "--key",
        &key,
        "--encryption-key",
        &enc,
    ]);
}

#[test]
fn a_hidden_target_is_refused_exactly_as_a_missing_one() {
    let c = conference();
    // UK and IT sign raw statements (the CLI cannot even name a hidden id).
    let mut uk = Actor::new("UK");
    let mut it = Actor::new("IT");
    for a in [&uk, &it] {
        admit_actor(&c, a);
    }
    let to = |codes: &[&str]| Distribution {
        tlp: Tlp::Amber,
        to: codes
            .iter()
            .map(|c| c.parse::<DelegationCode>().unwrap())
            .collect(),
    };
    let green = Distribution::green();
    // CZ's proposal and position, and IT's assessment, all AMBER to US only.
    let text = c.file("p.md", "Text\n");
    let proposal: StatementId = id(&c.cz.json(&proposal_args(
        &text,
        "T",
        "CZ,US",
        &["--tlp", "AMBER", "--to", "US"],
    )))
    .parse()
    .unwrap();
    let paper = c.file("pos.md", "Paper\n");
    let position: StatementId = id(&c.cz.json(&[
        "position", "publish", &paper, "--title", "P", "--tlp", "AMBER", "--to", "US",
    ]))
    .parse()
    .unwrap();
    let (status, _, _) = submit(&c, &mut it, &to(&["US"]), assessment(None, "IT's view"));
    assert_eq!(status, 201);
    let hidden_assessment: StatementId = {
        let v = c.us.json(&["assess", "list"]);
        v[0]["id"].as_str().unwrap().parse().unwrap()
    };
    let missing: StatementId = "ab".repeat(32).parse().unwrap();

    type Make = Box<dyn Fn(StatementId) -> Body>;
    let cases: Vec<(&str, StatementId, Make)> = vec![
        (
            "message",
            position,
            Box::new(|t| {
                Body::Message(Message {
                    thread: t,
                    text: "hello".into(),
                })
            }),
        ),
        (
            "revision",
            proposal,
            Box::new(|p| {
                Body::Revision(Revision {
                    proposal: p,
                    text: "new".into(),
                    note: String::new(),
                    amendments: vec![],
                })
            }),
        ),
        (
            "endorsement",
            proposal,
            Box::new(|p| {
                Body::Endorsement(Endorsement {
                    proposal: p,
                    revision: TextDigest::of("Text\n"),
                    position: Stance::Endorse,
                })
            }),
        ),
        (
            "position",
            proposal,
            Box::new(|s| {
                Body::Position(Position {
                    title: "t".into(),
                    text: "x".into(),
                    subject: Some(s),
                })
            }),
        ),
        (
            "assessment",
            hidden_assessment,
            Box::new(|old| assessment(Some(old), "mine")),
        ),
    ];
    for (what, hidden, make) in cases {
        let a = submit(&c, &mut uk, &green, make(hidden));
        let b = submit(&c, &mut uk, &green, make(missing));
        assert_eq!(a.0, b.0, "{what}: status");
        assert_eq!(a.1, b.1, "{what}: type");
        assert_eq!(
            a.2.replace(&hidden.to_string(), "ID"),
            b.2.replace(&missing.to_string(), "ID"),
            "{what}: detail"
        );
        for leak in ["CZ", "IT", "US", "deadline", "proposer"] {
            assert!(
                !a.2.contains(leak),
                "{what}: the refusal names {leak}: {}",
                a.2
            );
        }
    }
}

#[test]
fn superseded_by_names_only_what_the_reader_may_read() {
    let c = conference();
    let mut it = Actor::new("IT");
    admit_actor(&c, &it);
    let green = Distribution::green();
    assert_eq!(
        submit(&c, &mut it, &green, assessment(None, "first")).0,
        201
    );
    let list = |cli: &Cli| cli.json(&["assess", "list"]);
    let first: StatementId = list(&c.de)[0]["id"].as_str().unwrap().parse().unwrap();
    let red = Distribution {
        tlp: Tlp::Red,
        to: vec!["CZ".parse().unwrap()],
    };
    assert_eq!(
        submit(&c, &mut it, &red, assessment(Some(first), "MARK-SECOND")).0,
        201
    );
    let de = list(&c.de);
    assert_eq!(de.as_array().unwrap().len(), 1, "{de}");
    assert!(de[0]["superseded_by"].is_null(), "{de}");
    let cz = list(&c.cz);
    assert_eq!(cz.as_array().unwrap().len(), 2);
    assert_eq!(cz[0]["superseded_by"], cz[1]["id"], "{cz}");
    // DE's supplier comparison still shows IT's first assessment as its latest.
    let view = http::signed_get(c.server.url(), "/v1/suppliers/acme", &c.de.signing_key()).text();
    assert!(
        view.contains(&first.to_string()) && !view.contains("MARK-SECOND"),
        "{view}"
    );
}

#[test]
fn the_tlp_marking_is_shown_in_every_human_output() {
    let c = conference();
    let text = c.file("p.md", "Text\n");
    let proposal = id(&c.cz.json(&proposal_args(
        &text,
        "Bilateral",
        "CZ,US",
        &["--tlp", "AMBER", "--to", "US"],
    )));
    c.cz.json(&["endorse", &proposal]);
    c.us.json(&["endorse", &proposal]);
    c.us.json(&["message", "send", &proposal, "Noted"]);
    let paper = c.file("pos.md", "Paper\n");
    let position = id(&c.us.json(&[
        "position", "publish", &paper, "--title", "P", "--tlp", "RED", "--to", "CZ",
    ]));
    let human = |args: &[&str]| -> String {
        let o = c.cz.run(args);
        assert!(o.status.success(), "{args:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    assert!(human(&["proposal", "list"]).contains("TLP:AMBER (US)"));
    assert!(human(&["proposal", "show", &proposal]).contains("marking       TLP:AMBER (US)"));
    assert!(human(&["declaration", "list"]).contains("TLP:AMBER (US)"));
    let md = human(&["declaration", "show", &proposal]);
    assert!(
        md.starts_with("**TLP:AMBER (US)** — Limited disclosure"),
        "{md}"
    );
    let html = human(&["declaration", "show", &proposal, "--format", "html"]);
    assert!(
        html.contains("color:#FFC000") && html.contains("TLP:AMBER (US)"),
        "{html}"
    );
    assert!(human(&["thread", "show", &proposal]).contains("TLP:AMBER (CZ)"));
    assert!(human(&["position", "list"]).contains("TLP:RED (CZ)"));
    assert!(human(&["position", "show", &position]).contains("marking   TLP:RED (CZ)"));
}
