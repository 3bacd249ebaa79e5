//! One test per configured limit (`config/server.toml`): body and statement
//! size, per-delegation rate (with `Retry-After`), signed requests per key
//! within the signature window, connection count, slow headers, slow bodies,
//! store compression; and the `/metrics` endpoint that counts what the limits
//! refuse. (`cache_capacity_mb` reaching sled is a unit test in the server:
//! `app::tests` and `store::tests`.)
//!
//! Each test starts its own server with the limit turned down through an
//! `ENTENTE_*` variable, so it trips in milliseconds instead of minutes.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use entente_shared::statement::{Body, Position, Role};
use entente_tests::actors::{self, Actor};
use entente_tests::http::{self, Response};
use entente_tests::{Server, PROBLEM};

fn assert_problem(r: &Response, status: u16, slug: &str) {
    assert_eq!(r.status, status, "status; body: {}", r.text());
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "content type {:?}",
        r.content_type
    );
    assert_eq!(r.json()["type"], format!("{PROBLEM}{slug}"), "{}", r.text());
}

/// Reads one HTTP response head (and a Content-Length body) from a
/// keep-alive connection; `None` if nothing arrived before the socket's read
/// timeout or the server closed without answering.
fn read_response(stream: &mut TcpStream) -> Option<String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (!raw.is_empty()).then(|| String::from_utf8_lossy(&raw).into()),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(_) => return (!raw.is_empty()).then(|| String::from_utf8_lossy(&raw).into()),
        }
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if raw.len() >= end + 4 + len {
                return Some(text);
            }
        }
    }
}

fn connect(server: &Server, timeout: Duration) -> TcpStream {
    let s = TcpStream::connect(server.addr()).expect("connecting");
    s.set_read_timeout(Some(timeout)).expect("read timeout");
    s
}

#[test]
fn statement_larger_than_max_statement_bytes_is_refused() {
    let server = Server::start_with_env(&[("ENTENTE_MAX_STATEMENT_BYTES", "600")]);
    let mut cz = actors::found(server.url(), "CZ");
    // A name of 500 two-byte characters makes a payload over 1000 bytes,
    // well under the body limit but over the statement limit.
    let env = cz.admission_of(
        "FR".parse().unwrap(),
        Actor::new("FR").key.public_key(),
        Role::Member,
        "é".repeat(500),
    );
    assert!(env.payload.len() > 1000);
    assert_problem(&actors::post(server.url(), &env), 413, "too-large");
    assert_eq!(server.log_size(), 1);
}

#[test]
fn delegation_past_its_rate_is_refused_with_429() {
    let server = Server::start_with_env(&[
        ("ENTENTE_RATE_PER_DELEGATION", "1"),
        ("ENTENTE_RATE_BURST", "3"),
    ]);
    // Founding takes one of CZ's three; two admissions take the rest.
    let mut cz = actors::found(server.url(), "CZ");
    let mut us = actors::admit(server.url(), &mut cz, "US");
    actors::admit(server.url(), &mut cz, "DE");
    let fourth = cz.admission(&Actor::new("FR"), Role::Member);
    let r = actors::post(server.url(), &fourth);
    assert_problem(&r, 429, "rate-limited");
    assert_eq!(r.header("retry-after"), Some("1"), "{:?}", r.headers);
    assert_eq!(
        server.log_size(),
        3,
        "a rate-limited statement changed the log"
    );
    // Another delegation has its own allowance.
    let r = actors::post(server.url(), &us.rotate());
    assert_eq!(r.status, 201, "{}", r.text());
    // And CZ's refills: one per second.
    std::thread::sleep(Duration::from_millis(1100));
    let r = actors::post(server.url(), &fourth);
    assert_eq!(r.status, 201, "{}", r.text());
}

#[test]
fn a_key_past_its_nonce_share_is_refused_with_429_and_others_are_not() {
    let server = Server::start_with_env(&[("ENTENTE_REPLAY_CACHE_ENTRIES", "3")]);
    let mut cz = actors::found(server.url(), "CZ");
    let us = actors::admit(server.url(), &mut cz, "US");
    for _ in 0..3 {
        let r = http::signed_get(server.url(), "/v1/roster", &us.key);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = http::signed_get(server.url(), "/v1/roster", &us.key);
    assert_problem(&r, 429, "rate-limited");
    assert!(
        r.text().contains(&us.key.key_id().to_string()),
        "{}",
        r.text()
    );
    // CZ's key has its own share: one busy delegation locks nobody else out.
    let r = http::signed_get(server.url(), "/v1/roster", &cz.key);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn connections_past_max_connections_wait() {
    let server =
        Server::start_with_env(&[("ENTENTE_WORKERS", "1"), ("ENTENTE_MAX_CONNECTIONS", "2")]);
    let get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = connect(&server, Duration::from_secs(5));
        c.write_all(get).unwrap();
        let answer = read_response(&mut c).expect("an answer within the limit");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(c);
    }
    // The third is not served while two are open...
    let mut third = connect(&server, Duration::from_millis(700));
    third.write_all(get).unwrap();
    assert!(
        read_response(&mut third).is_none(),
        "a connection past max_connections was served"
    );
    // ...and is, once one of them closes.
    drop(held.pop());
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let answer = read_response(&mut third).expect("served after a slot freed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn slow_headers_are_cut_off() {
    let server = Server::start_with_env(&[("ENTENTE_HEADER_TIMEOUT_MS", "300")]);
    let mut c = connect(&server, Duration::from_secs(5));
    let started = Instant::now();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // Never finish the headers: the server answers 408, then closes.
    let answer = read_response(&mut c)
        .expect("no 408 before the client gave up (a silent close is not the promised 408)");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let mut rest = [0u8; 1];
    assert_eq!(
        c.read(&mut rest).unwrap_or(0),
        0,
        "the connection stayed open after the 408"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn slow_body_is_refused_with_408() {
    let server = Server::start_with_env(&[("ENTENTE_BODY_TIMEOUT_MS", "300")]);
    let mut c = connect(&server, Duration::from_secs(5));
    let started = Instant::now();
    c.write_all(
        b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"payload",
    )
    .unwrap();
    let answer = read_response(&mut c).expect("an answer before the client gave up");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains(&format!("{PROBLEM}timeout")), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.log_size(), 0);
}

#[test]
fn metrics_count_accepted_and_refused_statements() {
    let server = Server::start();
    let mut cz = actors::found(server.url(), "CZ");
    actors::admit(server.url(), &mut cz, "US");
    let r = http::request(server.url(), "POST", "/v1/statements", Some(b"{not json"));
    assert_eq!(r.status, 400);
    let r = http::request(server.url(), "GET", "/metrics", None);
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    let text = r.text();
    // Whole lines: "accepted_total 2" must not pass as "accepted_total 20".
    // Two statements posted one after the other: two group commits of one.
    let missing: Vec<&str> = [
        "entente_statements_accepted_total 2",
        "entente_statements_refused_total{reason=\"malformed\"} 1",
        "entente_log_size 2",
        "entente_batch_size_count 2",
        "entente_batch_size_sum 2",
        "entente_batch_size_bucket{le=\"1\"} 2",
        "entente_commit_seconds_count 2",
    ]
    .into_iter()
    .filter(|line| !text.lines().any(|l| l == *line))
    .collect();
    assert!(
        missing.is_empty(),
        "not lines of the page: {missing:?}\n{text}"
    );
    // Each commit took some time, and less than the largest bucket.
    let sum: f64 = metric(&text, "entente_commit_seconds_sum");
    assert!(sum > 0.0 && sum < 1.0, "entente_commit_seconds_sum {sum}");
    assert_eq!(
        metric(&text, "entente_commit_seconds_bucket{le=\"+Inf\"}"),
        2.0
    );
}

/// The value of the sample line `name VALUE` in a Prometheus text page.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[test]
fn body_just_over_max_body_bytes_is_refused_and_one_at_it_is_not() {
    // Not the default (256 KiB): a server that ignored the setting would take both.
    let limit = 2048;
    let server = Server::start_with_env(&[
        ("ENTENTE_MAX_BODY_BYTES", "2048"),
        ("ENTENTE_MAX_STATEMENT_BYTES", "2048"),
    ]);
    let mut cz = actors::found(server.url(), "CZ");
    let env = cz.admission(&Actor::new("US"), Role::Member);
    let json = env.to_canonical_json();
    assert!(json.len() < limit - 100, "{} bytes", json.len());
    // The same statement, padded with trailing spaces (valid JSON).
    let padded = |len: usize| {
        let mut body = json.clone();
        body.resize(len, b' ');
        body
    };
    let r = http::request(
        server.url(),
        "POST",
        "/v1/statements",
        Some(&padded(limit + 1)),
    );
    assert_problem(&r, 413, "too-large");
    assert!(r.text().contains("2048"), "{}", r.text());
    assert_eq!(server.log_size(), 1);
    let r = http::request(server.url(), "POST", "/v1/statements", Some(&padded(limit)));
    assert_eq!(
        r.status,
        201,
        "a body of exactly max_body_bytes: {}",
        r.text()
    );
    assert_eq!(server.log_size(), 2);
}

/// Bytes of every file under `dir`.
fn disk_use(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                disk_use(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// A store of 150 position papers of compressible text, stopped; its size on disk.
fn store_size(compress: &str) -> u64 {
    let mut server = Server::start_with_env(&[("ENTENTE_COMPRESS_STORE", compress)]);
    let mut cz = actors::found(server.url(), "CZ");
    let text = "The delegation supports the common position on 5G suppliers. ".repeat(120);
    for i in 0..150 {
        let env = cz.sign(Body::Position(Position {
            title: format!("Position {i}"),
            text: text.clone(),
            subject: None,
        }));
        let r = actors::post(server.url(), &env);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    assert!(server.stop().success());
    // sled's record of how the store was made (text, then a CRC).
    let conf = std::fs::read(server.data_dir().join("log/conf")).expect("sled's conf file");
    let conf = String::from_utf8_lossy(&conf);
    assert!(
        conf.contains(&format!("use_compression: {compress}")),
        "sled's conf: {conf}"
    );
    disk_use(server.data_dir())
}

#[test]
fn compress_store_is_the_index_s_choice() {
    // The entries are in segment files either way; the setting reaches
    // sled's index, which records it (checked in `store_size`).
    let plain = store_size("false");
    let compressed = store_size("true");
    eprintln!("store of 150 positions: {plain} bytes plain, {compressed} with a compressed index");
    assert!(
        plain > 150 * 7_000 && compressed > 150 * 7_000,
        "{plain} {compressed}"
    );
}
