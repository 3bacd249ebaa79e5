//! Sealed bodies through the real binaries: the host cannot read AMBER and
//! RED content, its recipients can, and tampering with a seal is refused or
//! marked with its reason.
//!
//! CZ sends US a RED assessment and an AMBER position, each text carrying a
//! unique marker. The markers are searched for — raw, in every base64 token
//! decoded, and in every zstd frame decompressed (the sled index is
//! compressed here) — in every byte under the server's data folder, in its
//! log and metrics, in every answer it gives any reader (US included: the
//! server never had the text), and in everything DE, the observer NATO and
//! an unsigned reader can obtain. A revoked-and-re-admitted US, whose new
//! key the secretariat holds, reads none of it.

use std::path::Path;

use base64::Engine as _;
use entente_shared::encryption::EncryptionKey;
use entente_shared::statement::{Body, Distribution, Kind, Position, Sealed, Statement, Tlp};
use entente_tests::actors::{self, Actor};
use entente_tests::{http, readable, Cli, Server};
use serde_json::Value;

struct Conference {
    server: Server,
    cz: Cli,
    us: Cli,
    de: Cli,
    nato: Cli,
    scratch: tempfile::TempDir,
}

/// CZ (secretariat), US and DE (members), NATO (observer); the sled index
/// compressed, so that the search has compressed pages to look into.
fn conference() -> Conference {
    let server = Server::start_with_env(&[("ENTENTE_COMPRESS_STORE", "true")]);
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let (us, de, nato) = (
        cz.seat("US", "member"),
        cz.seat("DE", "member"),
        cz.seat("NATO", "observer"),
    );
    Conference {
        server,
        cz,
        us,
        de,
        nato,
        scratch: tempfile::tempdir().unwrap(),
    }
}

impl Conference {
    fn file(&self, name: &str, text: &str) -> String {
        entente_tests::write_file(self.scratch.path(), name, text)
    }
}

const MARKERS: [&str; 5] = [
    "MARK-SUPPLIER-1",
    "MARK-RATIONALE-2",
    "MARK-TRANSITION-3",
    "MARK-TITLE-4",
    "MARK-PAPER-5",
];

/// CZ's RED assessment and AMBER position, both to US; their ids.
fn cz_sends_us(c: &Conference) -> (String, String) {
    let ratings: String = [
        "foreign-influence",
        "ownership-transparency",
        "innovation-ip",
        "ethical-conduct",
    ]
    .iter()
    .map(|k| {
        format!("\n[[ratings]]\ncriterion = \"{k}\"\nrisk = \"high\"\nrationale = \"MARK-RATIONALE-2\"\n")
    })
    .collect();
    let assessment = c.file(
        "a.toml",
        &format!("framework = \"joint-declaration-2020\"\nframework_version = 1\nsegments = [\"core\"]\n[supplier]\nname = \"Meridian MARK-SUPPLIER-1\"\ncountry = \"Freedonia\"\n[verdict]\ndecision = \"untrusted\"\ntransition = \"MARK-TRANSITION-3\"\n{ratings}"),
    );
    let a = c.cz.json(&[
        "assess",
        "submit",
        &assessment,
        "--tlp",
        "RED",
        "--to",
        "US",
    ]);
    let paper = c.file("p.md", "Paper MARK-PAPER-5\n");
    let p = c.cz.json(&[
        "position",
        "publish",
        &paper,
        "--title",
        "MARK-TITLE-4",
        "--tlp",
        "AMBER",
        "--to",
        "US",
    ]);
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    (id(&a), id(&p))
}

/// Everything under `dir`, made readable.
fn folder(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push_str(&folder(&path));
        } else {
            out.push_str(&readable(&std::fs::read(&path).unwrap()));
        }
    }
    out
}

/// Every server answer to `reader` (signed by its key, or unsigned): every
/// list and view route, each id by every route that takes one, the log's
/// entries, the roster, checkpoint and metrics.
fn answers(c: &Conference, reader: Option<&Cli>, ids: &[&str]) -> String {
    let url = c.server.url();
    let get = |path: &str| -> Vec<u8> {
        match reader {
            Some(cli) => http::signed_get(url, path, &cli.signing_key()).body,
            None => http::get(url, path).2,
        }
    };
    let size = c.server.log_size();
    let mut paths: Vec<String> = [
        "/v1/proposals",
        "/v1/declarations",
        "/v1/assessments",
        "/v1/positions",
        "/v1/roster",
        "/v1/checkpoint",
        "/v1/log",
        "/metrics",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    paths.push(format!("/v1/entries?start=0&end={size}"));
    for id in ids {
        for route in ["statements", "positions", "threads", "proposals"] {
            paths.push(format!("/v1/{route}/{id}"));
        }
    }
    let mut out: Vec<String> = paths.iter().map(|p| readable(&get(p))).collect();
    // A refusal may echo the name it was asked for; that tells nothing.
    let supplier = get("/v1/suppliers/Meridian%20MARK-SUPPLIER-1");
    out.push(readable(&supplier).replace("MARK-SUPPLIER-1", "ASKED"));
    out.join("\n")
}

/// What `cli`'s own commands show: its lists and every id shown.
fn cli_views(cli: &Cli, ids: &[&str]) -> String {
    let mut out = Vec::new();
    let mut run = |args: &[&str]| {
        let o = cli.run(args);
        out.push(String::from_utf8_lossy(&o.stdout).into_owned());
    };
    for args in [
        &["--json", "assess", "list"][..],
        &["--json", "position", "list"],
        &["--json", "log", "invalid"],
    ] {
        run(args);
    }
    // A refusal may echo the name it was asked for (under --json on stdout
    // too); that tells nothing, and only that is masked.
    for id in ids {
        run(&["--json", "position", "show", id]);
        run(&["--json", "thread", "show", id]);
    }
    let o = cli.run(&["--json", "supplier", "show", "Meridian MARK-SUPPLIER-1"]);
    out.push(String::from_utf8_lossy(&o.stdout).replace("MARK-SUPPLIER-1", "ASKED"));
    out.join("\n")
}

fn assert_none_in(text: &str, whose: &str) {
    for m in MARKERS {
        assert!(!text.contains(m), "{whose} holds {m}");
    }
}

#[test]
fn what_cz_seals_to_us_reaches_us_and_no_one_else_the_host_included() {
    let mut c = conference();
    let (assessment, position) = cz_sends_us(&c);
    let ids = [assessment.as_str(), position.as_str()];

    // US reads both through its CLI.
    let seen = cli_views(&c.us, &ids);
    for m in MARKERS {
        assert!(seen.contains(m), "US misses {m}: {seen}");
    }
    let list = c.us.json(&["assess", "list"]);
    assert_eq!(list[0]["id"], assessment.as_str());
    assert_eq!(list[0]["meta"]["distribution"]["tlp"], "RED");

    // DE, NATO and an unsigned reader obtain none of it.
    for (who, cli) in [("DE", &c.de), ("NATO", &c.nato)] {
        assert_none_in(&answers(&c, Some(cli), &ids), who);
        assert_none_in(&cli_views(cli, &ids), who);
        cli.json(&["log", "verify"]);
    }
    assert_none_in(&answers(&c, None, &ids), "an unsigned reader");
    let (_, err) = c.de.fails(&["position", "show", &position]);
    assert!(err.contains("not-found"), "{err}");

    // The host: no answer to any reader, US included, holds a marker; nor
    // does its log, nor any byte of its data folder, before or after a
    // restart (which saves and reloads the fold's snapshot).
    assert_none_in(
        &answers(&c, Some(&c.us), &ids),
        "the server's answers to US",
    );
    assert_none_in(
        &answers(&c, Some(&c.cz), &ids),
        "the server's answers to CZ",
    );
    // The live stream too: US is handed every entry, sealed.
    let size = c.server.log_size().to_string();
    let streamed =
        c.us.run(&["--json", "watch", "--from", "0", "--count", &size]);
    assert!(streamed.status.success());
    let streamed = readable(&streamed.stdout);
    assert!(streamed.contains(&position), "the stream carried the entry");
    assert_none_in(&streamed, "the stream to US");
    c.server.stop();
    let mut again = c.server.restart();
    assert_none_in(
        &answers(&c, Some(&c.us), &ids),
        "the server's answers after a restart",
    );
    again.stop();
    assert_none_in(&folder(again.data_dir()), "the server's data folder");
    assert_none_in(&again.stderr(), "the server's log");
    assert_none_in(&c.server.stderr(), "the server's log");
}

#[test]
fn a_re_admitted_code_reads_nothing_sealed_before_it_and_the_archive_holder_does() {
    let c = conference();
    let (assessment, position) = cz_sends_us(&c);
    let ids = [assessment.as_str(), position.as_str()];

    // US exports its view; with its keys the bundle alone gives back what
    // its CLI shows, without them everything but the content still verifies.
    let bundle = c.scratch.path().join("us.jsonl").display().to_string();
    c.us.json(&["archive", "export", &bundle]);
    let home = c.us.home().display().to_string();
    let opened = c.us.json(&["archive", "verify", &bundle, "--key", &home]);
    assert_eq!(opened["opened"], true);
    let views = &opened["views"];
    let mine = c.us.json(&["assess", "list"]);
    assert_eq!(views["assessments"][0]["meta"]["id"], mine[0]["id"]);
    assert_eq!(views["assessments"][0]["body"], mine[0]["body"]);
    let papers = c.us.json(&["position", "list"]);
    assert_eq!(views["positions"][0]["text"], papers[0]["text"]);
    assert_eq!(
        opened["suppliers"][0]["name"], "Meridian MARK-SUPPLIER-1",
        "{opened}"
    );
    let closed = c.us.json(&["archive", "verify", &bundle]);
    assert_eq!(closed["verified"], true);
    assert_none_in(&closed.to_string(), "archive verify without the key");
    assert_none_in(
        &readable(&std::fs::read(&bundle).unwrap()),
        "the bundle in clear",
    );

    // The secretariat revokes US's key and re-admits "US" with keys it holds.
    let us_key = c.us.json(&["key", "show"])["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.cz.json(&["key", "revoke", &us_key, "--reason", "test"]);
    let impostor = Cli::new(c.server.url());
    c.cz.admit(
        &impostor.init("US", "United States", false),
        "US",
        "United States",
        "member",
    );
    // The server hands the impostor the sealed entries (they are to "US"),
    // but nothing opens them.
    assert_none_in(&cli_views(&impostor, &ids), "the re-admitted US");
    assert_none_in(
        &answers(&c, Some(&impostor), &ids),
        "the server, to the re-admitted US",
    );
    let bundle = c
        .scratch
        .path()
        .join("impostor.jsonl")
        .display()
        .to_string();
    impostor.json(&["archive", "export", &bundle]);
    let home = impostor.home().display().to_string();
    let verified = impostor.json(&["archive", "verify", &bundle, "--key", &home]);
    assert_none_in(&verified.to_string(), "the re-admitted US's archive");
    let (_, err) = impostor.fails(&["position", "show", &position]);
    assert!(err.contains("not-found"), "{err}");
    // The real US's keys still open the bundle it exported before.
    let home = c.us.home().display().to_string();
    let bundle = c.scratch.path().join("us.jsonl").display().to_string();
    let again = c.us.json(&["archive", "verify", &bundle, "--key", &home]);
    assert_eq!(again["views"]["positions"][0]["text"], papers[0]["text"]);
}

// ---------------------------------------------------------------- tampering

/// CZ driven from Rust with its CLI's key, from a seq above anything its
/// CLI used.
fn cz_actor(c: &Conference) -> Actor {
    Actor::with_key("CZ".parse().unwrap(), c.cz.signing_key(), 1_000_000)
}

fn red_to(codes: &[&str]) -> Distribution {
    Distribution {
        tlp: Tlp::Red,
        to: codes.iter().map(|c| c.parse().unwrap()).collect(),
    }
}

fn paper(text: &str) -> Body {
    Body::Position(Position {
        title: "Paper".into(),
        text: text.into(),
        subject: None,
    })
}

/// `sealed`, changed by `change`, as a RED position to `to` signed by CZ.
fn post_changed(
    c: &Conference,
    cz: &mut Actor,
    d: &Distribution,
    change: impl FnOnce(&mut Sealed),
) -> http::Response {
    let Body::Sealed { kind, mut sealed } = cz.seal(c.server.url(), d, paper("MARK-TAMPER")) else {
        unreachable!()
    };
    change(&mut sealed);
    let env = cz.sign_with(d.clone(), Body::Sealed { kind, sealed });
    actors::post(c.server.url(), &env)
}

fn invalid_for(cli: &Cli) -> Vec<Value> {
    cli.json(&["log", "invalid"]).as_array().unwrap().clone()
}

#[test]
fn tampered_seals_are_refused_or_marked_with_the_reason() {
    let c = conference();
    let mut cz = cz_actor(&c);
    let us_de = red_to(&["US", "DE"]);

    // A recipient list that differs from the wrapped keys: refused by the
    // host, which sees both.
    let r = post_changed(&c, &mut cz, &us_de, |s| {
        s.keys.retain(|w| w.to.as_str() != "DE");
    });
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("bad-seal") && r.text().contains("wrapped for CZ, US"),
        "{}",
        r.text()
    );

    // A ciphertext byte changed after signing: the signature covers the
    // sealed form, so the host refuses it without reading it.
    let Body::Sealed { kind, sealed } = cz.seal(c.server.url(), &us_de, paper("x")) else {
        unreachable!()
    };
    let env = cz.sign_with(us_de.clone(), Body::Sealed { kind, sealed });
    let mut st = Statement::decode(&env.payload).unwrap();
    if let Body::Sealed { sealed, .. } = &mut st.body {
        sealed.ciphertext[5] ^= 1;
    }
    let forged = entente_shared::dsse::Envelope {
        payload: st.encode(),
        ..env
    };
    let r = actors::post(c.server.url(), &forged);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("bad-signature"), "{}", r.text());

    // What only a reader can see lands, and each reader it concerns marks it.
    // US's wrapped key swapped with DE's:
    assert_eq!(
        post_changed(&c, &mut cz, &us_de, |s| {
            let de = s.wrap_for(&"DE".parse().unwrap()).unwrap().clone();
            let us = s.keys.iter_mut().find(|w| w.to.as_str() == "US").unwrap();
            us.enc = de.enc;
            us.wrapped = de.wrapped;
        })
        .status,
        201
    );
    // A ciphertext byte changed by its author before signing:
    assert_eq!(
        post_changed(&c, &mut cz, &us_de, |s| s.ciphertext[5] ^= 1).status,
        201
    );
    // US given another content key under the same commitment, so that US
    // and DE would open different texts:
    let us_key: EncryptionKey = c.us.json(&["key", "show"])["encryption_key"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        post_changed(&c, &mut cz, &us_de, |s| {
            let other = entente_shared::seal::wrap(
                Kind::Position,
                &"CZ".parse().unwrap(),
                &"US".parse().unwrap(),
                &us_key,
                &[7; 32],
                &s.commitment,
            )
            .unwrap();
            *s.keys.iter_mut().find(|w| w.to.as_str() == "US").unwrap() = other;
        })
        .status,
        201
    );
    let us = invalid_for(&c.us);
    let reasons: Vec<&str> = us.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 3, "{us:?}");
    assert!(
        reasons[0].contains("does not open with US's key"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("ciphertext does not open"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].contains("does not match the signed commitment"),
        "{reasons:?}"
    );
    // DE's wrapped keys were untouched in the first and third: only the
    // changed ciphertext is invalid for DE too.
    let de = invalid_for(&c.de);
    assert_eq!(de.len(), 1, "{de:?}");
    assert_eq!(de[0]["meta"]["id"], us[1]["meta"]["id"]);
    // Nothing opened is shown as content; the others' views are unmoved.
    assert!(c
        .us
        .json(&["position", "list"])
        .as_array()
        .unwrap()
        .is_empty());
    // CZ, whose own wrapped key was never touched, marks only the changed
    // ciphertext.
    assert_eq!(invalid_for(&c.cz).len(), 1);
}

/// The search above can fail: a marker stored raw, in base64 (in an
/// envelope's payload) or zstd-compressed (a sled page) is found.
#[test]
fn the_search_finds_a_marker_however_it_is_stored() {
    let marker = "MARK-PAPER-5";
    let b64 =
        base64::engine::general_purpose::STANDARD.encode(format!("{{\"text\":\"{marker}\"}}"));
    let compressed = zstd::stream::encode_all(format!("page {marker} page").as_bytes(), 3).unwrap();
    for stored in [
        format!("xx {marker} xx").into_bytes(),
        format!("{{\"payload\":\"{b64}\"}}").into_bytes(),
        [b"header".to_vec(), compressed, b"trailer".to_vec()].concat(),
    ] {
        assert!(readable(&stored).contains(marker));
    }
}

/// A reply takes its parent's audience from the CLI's own verified fold: a
/// parent the fold does not hold for it is refused before anything is
/// signed, never sent GREEN (a host answering "no such statement" for a RED
/// parent would otherwise receive the reply in clear).
#[test]
fn a_reply_to_a_parent_the_fold_does_not_hold_is_not_sent() {
    let c = conference();
    let (assessment, _) = cz_sends_us(&c);
    let size = c.server.log_size();
    let unknown = "ab".repeat(32);
    for (cli, parent) in [(&c.us, unknown.as_str()), (&c.de, assessment.as_str())] {
        let (_, err) = cli.fails(&["message", "send", parent, "MARK-REPLY"]);
        assert!(err.contains("no-such-statement"), "{err}");
    }
    assert_eq!(c.server.log_size(), size, "nothing was sent");
    // The recipient's reply takes the RED audience and is sealed.
    c.us.json(&["message", "send", &assessment, "MARK-REPLY"]);
    assert_none_in(&answers(&c, Some(&c.de), &[&assessment]), "DE");
    assert!(!answers(&c, Some(&c.us), &[&assessment]).contains("MARK-REPLY"));
}
