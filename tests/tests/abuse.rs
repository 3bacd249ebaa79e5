//! Under abuse it keeps working: bounded streams, pings, a Close answered,
//! cosignature replays ignored, a rolled-back (empty) store caught, strict
//! JSON, DSSE's unknown fields, private files. Each through the real binaries.

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use entente_shared::api::CosignatureRequest;
use entente_shared::cosignature::{cosign, witness_name};
use entente_shared::keys::SigningKey;
use entente_tests::actors::{self, Actor};
use entente_tests::http;
use entente_tests::{Cli, Server, PROBLEM};
use tungstenite::Message;

fn subscribe(server: &Server, key: &SigningKey) -> Result<tungstenite::WebSocket<TcpStream>, u16> {
    let request = http::stream_request(server.addr(), key, 0);
    let tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    match tungstenite::client(request, tcp) {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            let body = resp.body().clone().unwrap_or_default();
            let text = String::from_utf8_lossy(&body);
            assert!(
                text.contains(PROBLEM),
                "a refusal without problem+json: {text}"
            );
            Err(resp.status().as_u16())
        }
        Err(e) => panic!("handshake: {e}"),
    }
}

fn gauge(server: &Server) -> i64 {
    let text = http::request(server.url(), "GET", "/metrics", None).text();
    text.lines()
        .find_map(|l| l.strip_prefix("entente_stream_subscribers "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn wait_gauge(server: &Server, want: i64, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let got = gauge(server);
        if got == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn seated(server: &Server) -> (Cli, Cli) {
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let us = Cli::new(server.url());
    let key = us.init("US", "United States", false)["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    cz.json(&["admit", "US", "--name", "United States", "--key", &key]);
    (cz, us)
}

#[test]
fn streams_are_bounded_per_delegation_and_in_all_and_http_stays_open() {
    let server = Server::start_with_env(&[
        ("ENTENTE_STREAM_MAX_PER_DELEGATION", "2"),
        ("ENTENTE_STREAM_MAX_TOTAL", "3"),
    ]);
    let (cz, us) = seated(&server);
    let (cz_key, us_key) = (cz.signing_key(), us.signing_key());
    let a = subscribe(&server, &us_key).unwrap();
    let _b = subscribe(&server, &us_key).unwrap();
    assert_eq!(
        subscribe(&server, &us_key).err(),
        Some(429),
        "US's third stream"
    );
    let _c = subscribe(&server, &cz_key).unwrap();
    assert_eq!(
        subscribe(&server, &cz_key).err(),
        Some(429),
        "the fourth in all"
    );
    // Every other request is still served.
    assert_eq!(
        http::request(server.url(), "GET", "/healthz", None).status,
        200
    );
    assert_eq!(wait_gauge(&server, 3, Duration::from_secs(5)), 3);
    drop(a);
    assert_eq!(wait_gauge(&server, 2, Duration::from_secs(5)), 2);
    assert!(
        subscribe(&server, &us_key).is_ok(),
        "a freed slot is taken again"
    );
}

#[test]
fn a_subscriber_that_answers_no_ping_is_closed_and_one_that_reads_is_kept() {
    let server = Server::start_with_env(&[("ENTENTE_STREAM_PING_SECS", "1")]);
    let (_cz, us) = seated(&server);
    let key = us.signing_key();
    let _silent = subscribe(&server, &key).unwrap();
    let mut reading = subscribe(&server, &key).unwrap();
    reading
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // The reader answers pings as it reads (tungstenite pongs on its own).
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        match reading.read() {
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("the reading subscriber was closed: {e}"),
        }
    }
    assert_eq!(gauge(&server), 1, "only the silent subscriber is gone");
}

#[test]
fn a_close_from_the_subscriber_is_answered_with_a_close() {
    let server = Server::start();
    let (_cz, us) = seated(&server);
    let mut ws = subscribe(&server, &us.signing_key()).unwrap();
    ws.close(None).unwrap();
    let answered = loop {
        match ws.read() {
            Ok(Message::Close(_)) => break true,
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => break true,
            Err(_) => break false,
        }
    };
    assert!(
        answered,
        "the server dropped the connection without a Close"
    );
}

#[test]
fn a_stream_request_without_upgrade_gets_a_problem() {
    let server = Server::start();
    let (_cz, us) = seated(&server);
    let r = http::signed_get(server.url(), "/v1/stream?from=0", &us.signing_key());
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.content_type.starts_with("application/problem+json"));
    assert_eq!(r.json()["type"], format!("{PROBLEM}bad-request"));
}

#[test]
fn a_replayed_or_older_cosignature_changes_nothing() {
    let server = Server::start();
    let (_cz, us) = seated(&server);
    let checkpoint = http::request(server.url(), "GET", "/v1/checkpoint", None).text();
    // No witness has cosigned yet: the text is the log's own note.
    let log_signed = checkpoint.clone();
    let body = format!("{}\n", checkpoint.split("\n\n").next().unwrap());
    let key = us.signing_key();
    let name = witness_name(&"US".parse().unwrap());
    let post = |ts: u64| {
        let line = cosign(&name, &key, &body, ts).unwrap().to_line();
        let req = CosignatureRequest {
            checkpoint: log_signed.clone(),
            cosignature: line,
        };
        http::request(
            server.url(),
            "POST",
            "/v1/cosignatures",
            Some(&serde_json::to_vec(&req).unwrap()),
        )
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    assert_eq!(post(now).status, 201);
    let older = post(now - 100);
    assert_eq!(older.status, 200, "{}", older.text());
    assert_eq!(older.json()["timestamp"], now, "the stored one stays");
    assert_eq!(post(now).status, 200, "a replay writes nothing");
    let shown = http::request(server.url(), "GET", "/v1/checkpoint", None).text();
    let ours = cosign(&name, &key, &body, now).unwrap().to_line();
    assert!(shown.contains(ours.trim_end()), "{shown}");
}

#[test]
fn an_empty_store_at_the_pinned_url_is_a_rollback() {
    let mut server = Server::start();
    let empty = server.stop_and_copy();
    let second = server.restart();
    let (cz, _us) = seated(&second);
    cz.json(&["log", "checkpoint"]);
    drop(second);
    let _third = server.restart_from(&empty);
    let (code, stderr) = cz.fails(&["log", "checkpoint"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("LOG INCONSISTENT") && stderr.contains("ROLLBACK"),
        "{stderr}"
    );
}

#[test]
fn a_key_given_twice_is_refused_and_unknown_envelope_fields_are_dropped() {
    let server = Server::start();
    let mut cz = actors::found(server.url(), "CZ");
    let us = Actor::new("US");
    let env = cz.admission(&us, entente_shared::statement::Role::Member);
    let canonical = String::from_utf8(env.to_canonical_json()).unwrap();
    // A payload whose body names `name` twice.
    let payload = String::from_utf8(env.payload.clone()).unwrap();
    let doubled = payload.replacen("\"name\":", "\"name\":\"X\",\"name\":", 1);
    assert_ne!(doubled, payload);
    let forged = entente_shared::dsse::Envelope::sign(doubled.into_bytes(), &cz.key);
    let r = actors::post(server.url(), &forged);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["type"], format!("{PROBLEM}malformed"));
    assert!(r.text().contains("duplicate key"), "{}", r.text());
    // DSSE: consumers ignore unknown fields. Accepted, and stored without them.
    let extra = canonical.replacen('{', "{\"x-note\":\"ignored\",", 1);
    let r = http::request(
        server.url(),
        "POST",
        "/v1/statements",
        Some(extra.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let stored = http::signed_get(server.url(), &format!("/v1/statements/{id}"), &cz.key).text();
    assert!(!stored.contains("x-note"), "{stored}");
}

#[test]
fn data_files_are_private_and_a_readable_log_key_stops_the_server() {
    let mut server = Server::start();
    let (cz, _us) = seated(&server);
    let data = server.data_dir().to_owned();
    let mut stack = vec![data.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).unwrap();
        assert_eq!(
            meta.permissions().mode() & 0o077,
            0,
            "{} is not private",
            p.display()
        );
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    // The archive export, which holds AMBER and RED texts, is 0600 too.
    let bundle = data.parent().unwrap().join("bundle.jsonl");
    cz.json(&["archive", "export", bundle.to_str().unwrap()]);
    let mode = std::fs::metadata(&bundle).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    server.stop();
    let key = data.join("log-key.pk8");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = Server::try_start_with_data(&data)
        .err()
        .expect("it must not start");
    assert!(
        refused.contains("log-key.pk8") && refused.contains("644"),
        "{refused}"
    );
}

/// Posts `body` signed by `cli`'s key with `seq`, dated `issued_at`.
fn post_dated(
    server: &Server,
    cli: &Cli,
    code: &str,
    seq: u64,
    issued_at: time::OffsetDateTime,
    body: entente_shared::statement::Body,
) -> http::Response {
    let key = cli.signing_key();
    let mut st = entente_shared::statement::Statement::new(
        code.parse().unwrap(),
        &key,
        seq,
        entente_shared::statement::Distribution::green(),
        body,
    );
    st.issued_at = issued_at;
    actors::post(server.url(), &st.sign(&key))
}

#[test]
fn no_delegation_clock_moves_a_deadline() {
    let server = Server::start();
    let (cz, us) = seated(&server);
    let scratch = tempfile::tempdir().unwrap();
    let text = scratch.path().join("p.md");
    std::fs::write(&text, "Text\n").unwrap();
    let propose = |deadline: &str| -> String {
        cz.json(&[
            "propose",
            text.to_str().unwrap(),
            "--title",
            "T",
            "--participants",
            "CZ,US",
            "--rule",
            "silence",
            "--deadline",
            deadline,
        ])["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // A statement dated a minute ahead would close a 4-minute silence
    // procedure early for everyone: refused.
    let quiet = propose("4m");
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let ahead = post_dated(
        &server,
        &us,
        "US",
        1000,
        now + time::Duration::seconds(60),
        entente_shared::statement::Body::Message(entente_shared::statement::Message {
            thread: quiet.parse().unwrap(),
            text: "early".into(),
        }),
    );
    assert_eq!(ahead.status, 400, "{}", ahead.text());
    assert_eq!(ahead.json()["type"], format!("{PROBLEM}clock-skew"));
    let shown = us.json(&["proposal", "show", &quiet]);
    assert_eq!(shown["status"]["state"], "open", "{shown}");
    // An objection dated before a deadline but sent after it is refused,
    // whatever its date says.
    let soon = propose("2s");
    let deadline = time::OffsetDateTime::parse(
        us.json(&["proposal", "show", &soon])["deadline"]
            .as_str()
            .unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    while time::OffsetDateTime::now_utc() <= deadline + time::Duration::seconds(1) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let late = post_dated(
        &server,
        &us,
        "US",
        1001,
        deadline - time::Duration::seconds(1),
        entente_shared::statement::Body::Endorsement(entente_shared::statement::Endorsement {
            proposal: soon.parse().unwrap(),
            revision: entente_shared::statement::TextDigest::of("Text\n"),
            position: entente_shared::statement::Stance::Object {
                reason: "too late".into(),
            },
        }),
    );
    assert_eq!(late.status, 409, "{}", late.text());
    assert_eq!(late.json()["type"], format!("{PROBLEM}deadline-passed"));
    // With the log quiet, the CLI says the deadline has passed.
    let list = us.run(&["proposal", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("deadline passed"));
}
