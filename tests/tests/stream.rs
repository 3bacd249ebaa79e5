//! End-to-end tests of the live stream (`GET /v1/stream`) and `entente watch`:
//! latency, resume without gap or repeat across a killed server, a subscriber
//! that never reads, and the signed-request check at the upgrade.
//!
//! Build the binaries first: `cargo build --workspace`.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use entente_shared::keys::SigningKey;
use entente_shared::statement::{Body, Distribution, KeyRevocation, Statement};
use entente_tests::{actors, http};
use entente_tests::{Cli, Server};
use serde_json::Value;
use tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

/// CZ founds the log and admits US.
fn founded_with_us() -> (Server, Cli, Cli) {
    let server = Server::start();
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let us = Cli::new(server.url());
    us.init("US", "United States", false);
    admit_new(&cz, &us, "US");
    (server, cz, us)
}

fn admit_new(cz: &Cli, member: &Cli, code: &str) -> Value {
    cz.admit(&member.json(&["key", "show"]), code, code, "member")
}

/// CZ admits a fresh delegation `code` (its key thrown away), via the CLI.
fn admit_someone(cz: &Cli, code: &str) -> Value {
    let (key, _) = SigningKey::generate().unwrap();
    let pk = key.public_key().to_string();
    cz.json(&["admit", code, "--name", code, "--key", &pk])
}

/// Reads watch lines until an entry arrives; returns it (checkpoints skipped).
fn next_entry(watch: &entente_tests::cli::Running) -> Value {
    loop {
        let line = watch.json_line(WAIT);
        if line["type"] == "entry" {
            return line;
        }
    }
}

#[test]
fn watch_receives_a_new_entry_within_a_second() {
    let (server, cz, us) = founded_with_us();
    let watch = us.spawn(&["--json", "watch", "--count", "1"]);
    // On connecting, the current checkpoint comes first: the watcher is live.
    let first = watch.json_line(WAIT);
    assert_eq!(first["type"], "checkpoint", "{first}");
    assert_eq!(first["size"], server.log_size());

    let receipt = admit_someone(&cz, "DE");
    let accepted = Instant::now();
    let entry = next_entry(&watch);
    let latency = accepted.elapsed();
    assert!(latency < Duration::from_secs(1), "took {latency:?}");
    assert_eq!(entry["id"], receipt["id"]);
    assert_eq!(entry["index"], receipt["index"]);
    assert_eq!(entry["kind"], "admission");
    assert_eq!(entry["author"], "CZ");
    let mut watch = watch;
    assert!(watch.wait(WAIT).success(), "{}", watch.stderr());
}

#[test]
fn watch_resumes_after_a_killed_server_with_nothing_missed_or_repeated() {
    let (mut server, cz, us) = founded_with_us();
    let mut watch = us.spawn(&["--json", "watch", "--from", "0"]);
    let mut seen: Vec<u64> = Vec::new();
    let mut take = |watch: &entente_tests::cli::Running, until: u64| {
        while seen.last().is_none_or(|&i| i < until) {
            let e = next_entry(watch);
            seen.push(e["index"].as_u64().unwrap());
        }
    };
    take(&watch, 1);
    admit_someone(&cz, "DE");
    take(&watch, 2);

    // Kill the server under the watcher, then serve the same data on the same address.
    server.kill();
    let server = Server::start_with_data_at(server.data_dir(), server.addr());
    admit_someone(&cz, "FR");
    admit_someone(&cz, "IT");
    take(&watch, 4);
    assert_eq!(
        seen,
        vec![0, 1, 2, 3, 4],
        "every index exactly once, in order"
    );
    assert!(
        watch.stderr().contains("resuming from 3"),
        "{}",
        watch.stderr()
    );
    // SIGINT: a clean exit.
    let status = watch.interrupt(WAIT);
    assert!(status.success(), "{status}: {}", watch.stderr());
    drop(server);
}

#[test]
fn stream_needs_a_signed_request() {
    let (server, ..) = founded_with_us();
    let r = http::request_with_headers(server.url(), "GET", "/v1/stream", &upgrade_headers(), None);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("unsigned-request"), "{}", r.text());
    let (stranger, _) = SigningKey::generate().unwrap();
    let mut headers = upgrade_headers();
    headers.extend(http::signature_headers(
        &stranger,
        server.url(),
        "GET",
        "/v1/stream",
        None,
    ));
    let r = http::request_with_headers(server.url(), "GET", "/v1/stream", &headers, None);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("unknown-key"), "{}", r.text());
}

fn upgrade_headers() -> Vec<(String, String)> {
    [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect()
}

/// A raw WebSocket subscription signed by `key`, from `from`, over a socket
/// with a small receive buffer (so a silent subscriber fills up quickly).
fn subscribe(server: &Server, key: &SigningKey, from: u64) -> tungstenite::WebSocket<TcpStream> {
    let request = http::stream_request(server.addr(), key, from);
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let tcp: TcpStream = socket.into();
    let (ws, resp) = tungstenite::client(request, tcp).expect("WebSocket handshake");
    assert_eq!(resp.status(), 101);
    ws
}

/// A signed GREEN position paper by CZ of about 24 KB, as raw bytes. Big
/// entries fill a silent subscriber's buffers whatever the server packs into
/// each message (it may put many waiting batches in one).
fn raw_position(cz: &SigningKey, seq: u64) -> Vec<u8> {
    let body = Body::Position(entente_shared::statement::Position {
        title: format!("Position {seq}"),
        text: "The delegation supports the common position. ".repeat(512),
        subject: None,
    });
    Statement::new("CZ".parse().unwrap(), cz, seq, Distribution::green(), body)
        .sign(cz)
        .to_canonical_json()
}

/// 1013 `lagged`: the subscriber falls more than `stream_buffer` (8) batches
/// behind; sends may wait long (600 s), so only the lag can end it.
#[test]
fn a_subscriber_that_never_reads_does_not_slow_writers_and_is_closed_as_lagged() {
    silent_subscriber(8, 600, 1013, "lagged");
}

/// 1008 `too slow`: a send waits `stream_send_timeout_secs` (1 s); the buffer
/// (100,000 batches) never overflows, so only the send timeout can end it.
#[test]
fn a_subscriber_that_never_reads_does_not_slow_writers_and_is_closed_as_too_slow() {
    silent_subscriber(100_000, 1, 1008, "too slow");
}

/// A subscriber that reads nothing while 600 statements are written: the
/// writers do not wait for it; it is closed with `code` and `reason; resume
/// from N` once it reads again, N being the first entry it did not get; and a
/// new subscription from N gets every later entry.
fn silent_subscriber(buffer: usize, send_timeout_secs: u64, code: u16, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    // One delegation writes fast here: lift its rate limit, which is not under test.
    std::fs::write(
        &config,
        format!("stream_buffer = {buffer}\nstream_send_timeout_secs = {send_timeout_secs}\nrate_per_delegation = 100000\nrate_burst = 100000\n"),
    )
    .unwrap();
    let server = Server::start_with_args(&["--config", config.to_str().unwrap()]);
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let cz_key = cz.signing_key();

    // Subscribes, then never reads until the writes are done.
    let mut silent = subscribe(&server, &cz_key, 0);
    let n = 600;
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..n {
        let t = Instant::now();
        let r = http::request(
            server.url(),
            "POST",
            "/v1/statements",
            Some(&raw_position(&cz_key, 1_000 + i)),
        );
        assert_eq!(r.status, 201, "statement {i}: {}", r.text());
        slowest = slowest.max(t.elapsed());
    }
    let total = started.elapsed();
    assert!(
        slowest < Duration::from_secs(1),
        "slowest receipt took {slowest:?}"
    );
    assert!(
        total < Duration::from_secs(30),
        "{n} receipts took {total:?}"
    );

    // Now read: what was queued, then a close frame. A read timeout is a
    // failure (no close came), not a close.
    silent
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut next = 0u64;
    let close = loop {
        match silent.read() {
            Ok(Message::Text(t)) => {
                for event in events_of(t.as_str()) {
                    next = follow(next, &event);
                }
            }
            Ok(Message::Close(Some(frame))) => break frame,
            Ok(Message::Close(None)) => panic!("closed without a code after entry {next}"),
            Ok(_) => {}
            Err(e) => panic!("the silent subscriber got no close frame (at {next}): {e}"),
        }
    };
    assert!(
        next < n,
        "a silent subscriber got everything ({next}): not bounded"
    );
    assert_eq!(u16::from(close.code), code, "{}", close.reason);
    assert_eq!(
        close.reason.as_str(),
        format!("{reason}; resume from {next}"),
        "close code {code}"
    );

    // The server is fine, and a new subscriber resumes from where that one
    // stopped: every later entry, in order, none missed or repeated.
    assert_eq!(server.log_size(), n + 1);
    let mut again = subscribe(&server, &cz_key, next);
    again
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut at = next;
    while at < n + 1 {
        match again.read() {
            Ok(Message::Text(t)) => {
                for event in events_of(t.as_str()) {
                    at = follow(at, &event);
                }
            }
            Ok(Message::Close(frame)) => panic!("the resumed stream closed at {at}: {frame:?}"),
            Ok(_) => {}
            Err(e) => panic!("the resumed stream stopped at {at}: {e}"),
        }
    }
    assert_eq!(at, n + 1);
}

/// The events of one stream message (a live batch holds several).
fn events_of(text: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(text).unwrap();
    match v["events"].as_array() {
        Some(batch) => batch.clone(),
        None => vec![v],
    }
}

/// Checks that `event` comes at `next` (no gap, no repeat); the next index after it.
fn follow(next: u64, event: &Value) -> u64 {
    match event["type"].as_str() {
        Some("entry") => {
            assert_eq!(event["index"], next, "gap or repeat: {event}");
            next + 1
        }
        Some("hidden") => {
            assert_eq!(event["from"], next, "gap or repeat: {event}");
            next + event["count"].as_u64().unwrap()
        }
        _ => next,
    }
}

#[test]
fn revoking_the_subscribers_key_ends_its_live_stream_with_1008() {
    let server = Server::start();
    let mut cz = actors::found(server.url(), "CZ");
    let us = actors::admit(server.url(), &mut cz, "US");
    let mut stream = subscribe(&server, &us.key, server.log_size());
    stream
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A statement first: the stream is live and delivers it.
    actors::admit(server.url(), &mut cz, "DE");
    let mut next = 2;
    while next < 3 {
        match stream.read() {
            Ok(Message::Text(t)) => {
                for event in events_of(t.as_str()) {
                    next = follow(next, &event);
                }
            }
            Ok(other) => panic!("before the revocation: {other:?}"),
            Err(e) => panic!("no entry 2 on the live stream: {e}"),
        }
    }
    // The secretariat revokes US's key: the stream ends at the next batch.
    let revocation = cz.sign(Body::KeyRevocation(KeyRevocation {
        key: us.key.key_id(),
        reason: "compromised".into(),
    }));
    let r = actors::post(server.url(), &revocation);
    assert_eq!(r.status, 201, "{}", r.text());
    let close = loop {
        match stream.read() {
            Ok(Message::Close(Some(frame))) => break frame,
            Ok(Message::Close(None)) => panic!("closed without a code"),
            Ok(_) => {}
            Err(e) => panic!("the revoked key's stream was not closed: {e}"),
        }
    };
    assert_eq!(u16::from(close.code), 1008, "{}", close.reason);
    assert!(
        close.reason.as_str().contains("revoked")
            && close.reason.as_str().contains(&us.key.key_id().to_string()),
        "{}",
        close.reason
    );
}

/// The value of `entente_stream_subscribers` in `/metrics`.
fn subscribers_gauge(server: &Server) -> i64 {
    let text = http::request(server.url(), "GET", "/metrics", None).text();
    text.lines()
        .find_map(|l| l.strip_prefix("entente_stream_subscribers "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no subscribers gauge in:\n{text}"))
}

/// Waits (bounded) until the gauge reads `want`; returns what it read last.
fn gauge_reaches(server: &Server, want: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = subscribers_gauge(server);
        if got == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_subscriber_gauge_counts_open_streams_up_and_down() {
    let (server, _cz, us) = founded_with_us();
    let key = us.signing_key();
    assert_eq!(subscribers_gauge(&server), 0);
    let mut first = subscribe(&server, &key, 0);
    let second = subscribe(&server, &key, 0);
    assert_eq!(gauge_reaches(&server, 2), 2, "two open streams");
    // A subscriber that closes politely, and one that just goes away.
    first
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    first.close(None).expect("sending a close");
    while first.read().is_ok() {}
    assert_eq!(gauge_reaches(&server, 1), 1, "one stream closed");
    drop(second);
    assert_eq!(gauge_reaches(&server, 0), 0, "both streams gone");
}
