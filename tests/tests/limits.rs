//! One test per configured limit (`config/server.toml`): statement size,
//! per-delegation rate, signed requests per key within the signature window,
//! connection count, slow headers, slow bodies; and the
//! `/metrics` endpoint that counts what the limits refuse.
//!
//! Each test starts its own server with the limit turned down through an
//! `ENTENTE_*` variable, so it trips in milliseconds instead of minutes.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use entente_shared::statement::Role;
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
    // Never finish the headers: the server answers 408 (or just closes).
    match read_response(&mut c) {
        Some(answer) => assert!(answer.starts_with("HTTP/1.1 408"), "{answer}"),
        None => {
            let mut rest = [0u8; 1];
            assert_eq!(
                c.read(&mut rest).unwrap_or(0),
                0,
                "the connection stayed open"
            );
        }
    }
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
    for line in [
        "entente_statements_accepted_total 2",
        "entente_statements_refused_total{reason=\"malformed\"} 1",
        "entente_log_size 2",
        "entente_batch_size_count",
        "entente_commit_seconds_bucket",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}
