//! The policy work end to end: the Prague scenario through the real binaries,
//! and every policy refusal with its own problem type and an unchanged log.

use entente_tests::scenario::{play, Delegations};
use entente_tests::{Cli, Server, PROBLEM};
use serde_json::Value;

fn log_size(cli: &Cli) -> u64 {
    cli.json(&["log", "checkpoint"])["size"].as_u64().unwrap()
}

fn signatories(declaration: &Value) -> Vec<(String, Value)> {
    declaration["signatories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["delegation"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

#[test]
fn the_prague_scenario_reaches_every_outcome() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let d = Delegations::seat(server.url());
    let o = play(&d, work.path(), &mut |_| {});

    // Bilateral: adopted unanimously on the revised text; both signatories
    // with the ids of their signed endorsements; the endorsement of the first
    // draft did not count.
    assert_eq!(
        o.tally_after_revision["endorse"], 0,
        "an endorsement of the old revision carried over"
    );
    let bilateral = d.us.json(&["declaration", "show", &o.bilateral]);
    assert_eq!(bilateral["rule"], "unanimous");
    assert_eq!(bilateral["revision_number"], 1);
    let signed = signatories(&bilateral);
    assert_eq!(
        signed.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(),
        ["US", "CZ"]
    );
    for (_, s) in &signed {
        let id = s["statement"].as_str().unwrap();
        assert_ne!(id, o.stale_endorsement);
        let shown = d.cz.json(&["proposal", "show", &o.bilateral]);
        let positions = shown["positions"].as_array().unwrap();
        assert!(
            positions.iter().any(|p| p["meta"]["id"] == id),
            "signatory statement {id} is a recorded position"
        );
    }
    let text = String::from_utf8(d.us.run(&["declaration", "show", &o.bilateral]).stdout).unwrap();
    for (code, s) in &signed {
        assert!(
            text.contains(code.as_str()) && text.contains(s["statement"].as_str().unwrap()),
            "{text}"
        );
    }

    // Principles: fraction 2/3, one reservation, one objection.
    let principles = d.fr.json(&["declaration", "show", &o.principles]);
    assert_eq!(principles["rule"], "fraction:2/3");
    let signed = signatories(&principles);
    assert_eq!(
        signed.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(),
        ["CZ", "US", "DE", "UK"]
    );
    assert_eq!(
        signed[3].1["reservation"],
        "The UK applies principle 2 to the RAN only."
    );
    assert!(principles["objections"]["FR"]
        .as_str()
        .unwrap()
        .contains("subsidies"));
    assert_eq!(o.thread_len, 2);

    // Silence: adopted at the deadline with no signatory needed.
    let silence = d.de.json(&["declaration", "show", &o.silence]);
    assert_eq!(silence["rule"], "silence");

    // The observer was refused, and only these three were adopted.
    assert!(
        o.observer_refusal
            .contains(&format!("{PROBLEM}role-not-allowed")),
        "{}",
        o.observer_refusal
    );
    let all = d.nato.json(&["declaration", "list"]);
    assert_eq!(all.as_array().unwrap().len(), 3);

    // Suppliers compared side by side; divergence marked.
    let meridian = &o.supplier_views[0];
    let frameworks = meridian["frameworks"].as_array().unwrap();
    assert_eq!(frameworks.len(), 2);
    let jd = frameworks
        .iter()
        .find(|f| f["framework"] == "joint-declaration-2020")
        .unwrap();
    let innovation = jd["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["criterion"] == "innovation-ip")
        .unwrap();
    assert_eq!(innovation["diverges"], true);
    assert_eq!(innovation["risks"]["US"], "high");
    assert_eq!(innovation["risks"]["CZ"], "moderate");
    // Overall, across both frameworks: each delegation's latest verdict,
    // with its mitigations or transition and the segments in scope.
    let overall = meridian["overall"].as_array().unwrap();
    assert!(overall.len() >= 2, "{meridian}");
    for o in overall {
        let decision = o["verdict"]["decision"].as_str().unwrap();
        assert!(
            ["trusted", "conditional", "untrusted"].contains(&decision),
            "{o}"
        );
        assert!(!o["segments"].as_array().unwrap().is_empty(), "{o}");
        if decision == "conditional" {
            assert!(!o["verdict"]["mitigations"].as_array().unwrap().is_empty());
        }
    }
    let decisions: std::collections::BTreeSet<&str> = overall
        .iter()
        .map(|o| o["verdict"]["decision"].as_str().unwrap())
        .collect();
    assert_eq!(meridian["overall_diverges"], decisions.len() > 1);
    let human = d.cz.run(&["supplier", "show", "Meridian Telecom"]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("Overall"), "{human}");
    assert!(human.contains("segments in scope"), "{human}");

    // Everyone can re-verify the whole log with the shared fold.
    d.ec.json(&["log", "verify"]);
}

/// Asserts `cli ARGS` is refused with `slug` and leaves the log as it was.
fn refused(cli: &Cli, witness: &Cli, args: &[&str], slug: &str) {
    let before = log_size(witness);
    let (code, err) = cli.fails(args);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{PROBLEM}{slug}")),
        "expected {slug}: {err}"
    );
    assert_eq!(
        log_size(witness),
        before,
        "a refused statement changed the log"
    );
}

#[test]
fn every_policy_refusal_has_its_own_type_and_changes_nothing() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let d = Delegations::seat(server.url());
    let path = |name: &str, text: &str| {
        let p = work.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let v1 = path("v1.md", "first text\n");
    let v2 = path("v2.md", "second text\n");
    let p = d.cz.json(&[
        "propose",
        &v1,
        "--title",
        "T",
        "--participants",
        "CZ,US",
        "--rule",
        "unanimous",
        "--deadline",
        "1d",
    ]);
    let id = p["id"].as_str().unwrap().to_owned();
    let first = d.cz.json(&["proposal", "show", &id])["revisions"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    d.cz.json(&["revise", &id, &v2]);

    refused(
        &d.us,
        &d.cz,
        &["endorse", &id, "--revision", &first],
        "stale-revision",
    );
    refused(&d.de, &d.cz, &["endorse", &id], "not-a-participant");
    refused(&d.ec, &d.cz, &["abstain", &id], "role-not-allowed");
    refused(
        &d.us,
        &d.cz,
        &["revise", &id, &v1, "--note", "mine"],
        "not-yours",
    );
    refused(&d.cz, &d.cz, &["revise", &id, &v1], "unchanged-text");
    refused(
        &d.cz,
        &d.cz,
        &[
            "propose",
            &v1,
            "--title",
            "T",
            "--participants",
            "CZ,NATO",
            "--rule",
            "unanimous",
            "--deadline",
            "1d",
        ],
        "bad-participants",
    );
    refused(
        &d.nato,
        &d.cz,
        &[
            "propose",
            &v1,
            "--title",
            "T",
            "--participants",
            "CZ",
            "--rule",
            "unanimous",
            "--deadline",
            "1d",
        ],
        "role-not-allowed",
    );
    refused(
        &d.us,
        &d.cz,
        &["message", "send", &"ab".repeat(32), "hello"],
        "no-such-statement",
    );

    // An assessment must rate exactly its framework's criteria.
    let missing = path(
        "a.toml",
        "framework = \"joint-declaration-2020\"\nframework_version = 1\nsegments = [\"core\"]\n[supplier]\nname = \"Meridian Telecom\"\ncountry = \"Freedonia\"\n[verdict]\ndecision = \"trusted\"\n[[ratings]]\ncriterion = \"foreign-influence\"\nrisk = \"low\"\nrationale = \"r\"\n",
    );
    refused(
        &d.us,
        &d.cz,
        &["assess", "submit", &missing],
        "bad-assessment",
    );

    // After the deadline, positions are refused.
    let late = d.cz.json(&[
        "propose",
        &v1,
        "--title",
        "Late",
        "--participants",
        "CZ,US",
        "--rule",
        "unanimous",
        "--deadline",
        "1s",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    refused(
        &d.us,
        &d.cz,
        &["endorse", late["id"].as_str().unwrap()],
        "deadline-passed",
    );
}

#[test]
fn a_threshold_rule_adopts_at_the_nth_endorsement_and_not_before() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let mut members = Vec::new();
    for (code, name) in [("US", "United States"), ("DE", "Germany"), ("FR", "France")] {
        let cli = Cli::new(server.url());
        cz.admit(&cli.init(code, name, false), code, name, "member");
        members.push(cli);
    }
    let (us, de) = (&members[0], &members[1]);
    let text = work.path().join("p.md");
    std::fs::write(&text, "Two of four suffice.\n").unwrap();
    let p = cz.json(&[
        "propose",
        text.to_str().unwrap(),
        "--title",
        "Threshold",
        "--participants",
        "CZ,US,DE,FR",
        "--rule",
        "threshold:2",
        "--deadline",
        "1d",
    ]);
    let id = p["id"].as_str().unwrap().to_owned();
    let declarations = |cli: &Cli| cli.json(&["declaration", "list"]).as_array().unwrap().len();

    // One endorsement and one objection: not adopted.
    us.json(&["endorse", &id]);
    de.json(&["object", &id, "--reason", "not yet"]);
    assert_eq!(declarations(&cz), 0, "adopted with one endorsement of two");
    let shown = cz.json(&["proposal", "show", &id]);
    assert_eq!(shown["status"]["state"], "open", "{}", shown["status"]);

    // The second endorsement adopts it.
    cz.json(&["endorse", &id]);
    assert_eq!(
        declarations(&cz),
        1,
        "not adopted at the second endorsement"
    );
    let declaration = cz.json(&["declaration", "show", &id]);
    assert_eq!(declaration["rule"], "threshold:2");
    let mut signed: Vec<String> = signatories(&declaration)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    signed.sort();
    assert_eq!(signed, ["CZ", "US"]);
}

/// The server's own assessment check, past the CLI (which refuses first): an
/// assessment that leaves a criterion unrated, signed with the shared crate.
#[test]
fn the_server_refuses_an_assessment_the_cli_would_not_send() {
    use entente_shared::frameworks::Frameworks;
    use entente_shared::statement::{Assessment, Body, Rating, Risk, Segment, Supplier, Verdict};
    use entente_tests::actors;

    let server = Server::start();
    let mut cz = actors::found(server.url(), "CZ");
    let mut us = actors::admit(server.url(), &mut cz, "US");
    let fw = Frameworks::builtin()
        .get("joint-declaration-2020")
        .expect("the built-in framework");
    let assessment = |criteria: &[&entente_shared::frameworks::Criterion]| Assessment {
        supplier: Supplier {
            name: "Meridian Telecom".into(),
            country: "Freedonia".into(),
        },
        framework: fw.id.clone(),
        framework_version: fw.version,
        segments: vec![Segment::Core],
        ratings: criteria
            .iter()
            .map(|c| Rating {
                criterion: c.id.clone(),
                risk: Risk::Low,
                rationale: "r".into(),
                evidence: Vec::new(),
            })
            .collect(),
        verdict: Verdict::Trusted,
        supersedes: None,
    };
    let all: Vec<_> = fw.criteria.iter().collect();
    let missing = us.sign(Body::Assessment(assessment(&all[1..])));
    let r = actors::post(server.url(), &missing);
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    assert_eq!(r.json()["type"], format!("{PROBLEM}bad-assessment"));
    assert!(r.text().contains(&all[0].id), "{}", r.text());
    assert_eq!(server.log_size(), 2, "a refused assessment changed the log");
    // The same assessment with every criterion rated is accepted (same seq:
    // the refused one did not use it up).
    us.seq -= 1;
    let r = actors::post(server.url(), &us.sign(Body::Assessment(assessment(&all))));
    assert_eq!(r.status, 201, "{}", r.text());
}
