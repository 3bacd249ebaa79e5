//! Hostile input: thousands of mutated and malformed requests to
//! `POST /v1/statements` and the GET routes, from a seeded generator.
//!
//! Asserted for every one: no 5xx; every refusal is RFC 9457 problem+json
//! whose `status` matches the HTTP status; no POST is accepted. And at the
//! end: the server is alive, never panicked, and its checkpoint is the one it
//! had before (the log did not change).
//!
//! `ENTENTE_HOSTILE_SEED` changes the seed; `ENTENTE_HOSTILE_COUNT` the number
//! of generated POST and GET requests (2,000 each by default).

use entente_shared::checkpoint::Checkpoint;
use entente_shared::dsse::Envelope;
use entente_shared::keys::SigningKey;
use entente_shared::note::SignedNote;
use entente_shared::statement::Role;
use entente_tests::actors::{self, Actor};
use entente_tests::http::{self, Response};
use entente_tests::{Server, PROBLEM};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Asserts the answer to one hostile request; `what` says which, for the message.
fn judge(r: &Response, what: &str, must_refuse: bool) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.text());
    if must_refuse {
        assert!(r.status >= 400, "{what} was accepted: {}", r.text());
    }
    if r.status >= 400 {
        assert!(
            r.content_type.starts_with("application/problem+json"),
            "{what}: {} with content type {:?}: {}",
            r.status,
            r.content_type,
            r.text()
        );
        let p: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{what}: problem is not JSON ({e}): {}", r.text()));
        assert_eq!(p["status"], r.status, "{what}: {p}");
        assert!(
            p["type"].as_str().is_some_and(|t| t.starts_with(PROBLEM)),
            "{what}: {p}"
        );
    }
}

/// Byte-level mutations of a valid body.
fn mutate(rng: &mut StdRng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    let rounds = rng.random_range(1..4);
    for _ in 0..rounds {
        if b.is_empty() {
            b.push(b'{');
        }
        let at = rng.random_range(0..b.len());
        match rng.random_range(0..8) {
            0 => b.truncate(at),
            1 => b[at] ^= 1 << rng.random_range(0..8),
            2 => b[at] = rng.random(),
            3 => {
                let bad: &[u8] = [&b"\xff\xfe"[..], b"\xc3\x28", b"\xed\xa0\x80", b"\x00"]
                    [rng.random_range(0..4)];
                b.splice(at..at, bad.iter().copied());
            }
            4 => {
                let end = rng.random_range(at..b.len().min(at + 40) + 1).min(b.len());
                b.drain(at..end);
            }
            5 => {
                let end = (at + rng.random_range(1..60)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
            6 => {
                let junk: &[u8] = [
                    &b"\""[..],
                    b"\\",
                    b"{",
                    b"}",
                    b"[",
                    b",",
                    b":",
                    b"null",
                    b"1e999999",
                    b"-0",
                    b"\\u0000",
                    b"\\ud800",
                ][rng.random_range(0..12)];
                b.splice(at..at, junk.iter().copied());
            }
            _ => {
                // Corrupt base64: characters outside the alphabet or bad padding.
                let c = [b'!', b'=', b'-', b'_', b'*', b' '][rng.random_range(0..6)];
                b[at] = c;
            }
        }
    }
    b
}

/// Hand-made malformed envelopes and payloads (each signed where a
/// signature is needed to reach the check under test).
fn crafted(cz: &mut Actor, in_log: &Envelope) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, body: Vec<u8>| out.push((name.to_owned(), body));
    let pt = "application/vnd.entente.statement+json";
    let canonical = in_log.to_canonical_json();
    let text = String::from_utf8(canonical.clone()).expect("UTF-8");
    // Wrong types.
    for body in [
        r#"{"payloadType":1,"payload":"","signatures":[]}"#.to_string(),
        format!(r#"{{"payloadType":"{pt}","payload":[],"signatures":[]}}"#),
        format!(r#"{{"payloadType":"{pt}","payload":"e30=","signatures":"x"}}"#),
        format!(r#"{{"payloadType":"{pt}","payload":"e30=","signatures":[1]}}"#),
        format!(
            r#"{{"payloadType":"{pt}","payload":"e30=","signatures":[{{"keyid":1,"sig":2}}]}}"#
        ),
        format!(r#"{{"payloadType":"{pt}","payload":null,"signatures":[]}}"#),
        "null".into(),
        "true".into(),
        "123456789012345678901234567890".into(),
        "\"just a string\"".into(),
        "{}".into(),
    ] {
        add("wrong types", body.into_bytes());
    }
    // Bad base64.
    for payload in ["!!!!", "e30", "e3=0", "====", "e30=\n", "ZZZZ#"] {
        add(
            "bad base64",
            format!(r#"{{"payloadType":"{pt}","payload":"{payload}","signatures":[]}}"#)
                .into_bytes(),
        );
    }
    // Duplicated keys, in the envelope.
    add(
        "duplicated key",
        text.replacen('{', &format!(r#"{{"payloadType":"{pt}","#), 1)
            .into_bytes(),
    );
    add(
        "unknown field",
        text.replacen('{', r#"{"extra":1,"#, 1).into_bytes(),
    );
    // Deep nesting, in the envelope and as the whole body.
    add("deep array", "[".repeat(100_000).into_bytes());
    add("deep object", r#"{"a":"#.repeat(50_000).into_bytes());
    add(
        "deep signatures",
        format!(
            r#"{{"payloadType":"{pt}","payload":"e30=","signatures":{}"#,
            "[".repeat(10_000)
        )
        .into_bytes(),
    );
    // Payloads that pass the signature and fail decoding: signed by CZ.
    let key_id = cz.key.key_id();
    let payloads = [
        format!(
            r#"{{"kind":"admission","author":"CZ","key":"{key_id}","seq":1e400,"issued_at":"2025-01-01T00:00:00Z","distribution":{{"tlp":"GREEN"}},"body":{{}}}}"#
        ),
        format!(
            r#"{{"kind":"admission","author":"CZ","key":"{key_id}","seq":18446744073709551616,"issued_at":"2025-01-01T00:00:00Z","distribution":{{"tlp":"GREEN"}},"body":{{}}}}"#
        ),
        format!(
            r#"{{"kind":"admission","author":"CZ","key":"{key_id}","seq":-1,"issued_at":"2025-01-01T00:00:00Z","distribution":{{"tlp":"GREEN"}},"body":{{}}}}"#
        ),
        format!(
            r#"{{"kind":"admission","kind":"key_rotation","author":"CZ","key":"{key_id}","seq":5,"issued_at":"2025-01-01T00:00:00Z","distribution":{{"tlp":"GREEN"}},"body":{{}}}}"#
        ),
        format!(
            r#"{{"kind":"key_rotation","author":"CZ","key":"{key_id}","seq":5,"issued_at":"9999-99-99T00:00:00Z","distribution":{{"tlp":"GREEN"}},"body":{{"new_key":"x"}}}}"#
        ),
        format!(
            r#"{{"kind":"key_rotation","author":"CZ","key":"{key_id}","seq":5,"issued_at":"2025-01-01T00:00:00Z","distribution":{{"tlp":"RED"}},"body":{}}}"#,
            "[".repeat(5000)
        ),
        format!(r#"{{"kind":"nonsense","author":"CZ","key":"{key_id}","seq":5}}"#),
        "\u{feff}{}".to_string(),
        "{\"kind\":\"admission\",\"author\":\"C\u{0000}Z\"}".to_string(),
    ];
    for p in payloads {
        let env = Envelope::sign(p.into_bytes(), &cz.key);
        add("bad payload, good signature", env.to_canonical_json());
    }
    let mut invalid_utf8 = b"{\"kind\":\"admission\",\"author\":\"".to_vec();
    invalid_utf8.extend_from_slice(b"\xff\xfe\"}");
    add(
        "invalid UTF-8 payload",
        Envelope::sign(invalid_utf8, &cz.key).to_canonical_json(),
    );
    // Forged: an outsider signs a statement naming CZ's key.
    let (forger, _) = SigningKey::generate().expect("a key");
    let newcomer = Actor::new("FR");
    let statement = cz.admission(&newcomer, Role::Member);
    let mut forged = Envelope::sign(statement.payload.clone(), &forger);
    forged.signatures[0].keyid = key_id.to_string();
    add("forged signature", forged.to_canonical_json());
    // Replayed signature: CZ's real signature moved onto another payload.
    let mut moved = cz.admission(&Actor::new("DE"), Role::Member);
    moved.signatures = statement.signatures.clone();
    add("replayed signature", moved.to_canonical_json());
    // Two signatures, none, an empty one.
    let mut two = statement.clone();
    two.signatures.push(statement.signatures[0].clone());
    add("two signatures", two.to_canonical_json());
    let mut none = statement.clone();
    none.signatures.clear();
    add("no signature", none.to_canonical_json());
    // A statement already in the log, sent again, byte for byte and reformatted.
    add("replayed statement", canonical.clone());
    add(
        "replayed, pretty-printed",
        serde_json::to_vec_pretty(in_log).expect("JSON"),
    );
    // A key given twice inside the signed payload (the body's, then the
    // statement's): other JSON readers would keep another value.
    let payload = String::from_utf8(statement.payload.clone()).expect("UTF-8");
    for (what, doubled) in [
        (
            "body key twice",
            payload.replacen("\"name\":", "\"name\":\"X\",\"name\":", 1),
        ),
        (
            "top key twice",
            payload.replacen("\"seq\":", "\"seq\":1,\"seq\":", 1),
        ),
    ] {
        assert_ne!(doubled, payload, "{what}");
        add(
            what,
            Envelope::sign(doubled.into_bytes(), &cz.key).to_canonical_json(),
        );
    }
    // Oversized.
    add("oversized", vec![b' '; 300 * 1024]);
    out
}

/// GET paths: valid shapes with hostile values, and broken ones.
fn hostile_paths(rng: &mut StdRng, size: u64) -> Vec<String> {
    let numbers = [
        "0".to_string(),
        "1".into(),
        size.to_string(),
        (size + 1).to_string(),
        "18446744073709551615".into(),
        "18446744073709551616".into(),
        "99999999999999999999999999".into(),
        "-1".into(),
        "1e3".into(),
        "0x10".into(),
        "".into(),
        "%FF".into(),
        "%00".into(),
        "abc".into(),
    ];
    let pick = |rng: &mut StdRng| numbers[rng.random_range(0..numbers.len())].clone();
    let mut paths = Vec::new();
    for _ in 0..40 {
        let (a, b) = (pick(rng), pick(rng));
        paths.push(format!("/v1/proofs/inclusion?index={a}&size={b}"));
        paths.push(format!("/v1/proofs/consistency?from={a}&to={b}"));
        paths.push(format!("/v1/entries?start={a}&end={b}"));
        paths.push(format!("/v1/entries?start={a}"));
    }
    for p in [
        "/v1/proofs/inclusion",
        "/v1/proofs/inclusion?index=0",
        "/v1/proofs/inclusion?index=0&size=1&index=0",
        "/v1/proofs/inclusion?index=0&size=1&extra=1",
        "/v1/proofs/consistency?from=&to=",
        "/v1/entries",
        "/v1/entries?start=0&start=1",
        "/v1/statements/",
        "/v1/statements/zz",
        "/v1/statements/%FF%FE",
        "/v1/statements/%00",
        "/v1/statements/..%2F..%2Fetc%2Fpasswd",
        "/v1/statements/0000000000000000000000000000000000000000000000000000000000000000",
        "/v1/statements/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/v1/roster?x=%FF",
        "/v1/checkpoint?%%%",
        "/v1/log?a=b",
        "/v1/%FF",
        "/v1/statements/%",
    ] {
        paths.push(p.to_owned());
    }
    let long = "a".repeat(4000);
    paths.push(format!("/v1/statements/{long}"));
    paths.push(format!("/v1/entries?start={long}"));
    paths
}

/// The size and root of the server's current checkpoint.
fn size_and_root(url: &str) -> (u64, [u8; 32]) {
    let r = http::request(url, "GET", "/v1/checkpoint", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let note = SignedNote::parse(&r.text()).expect("a signed note");
    let cp = Checkpoint::from_body(&note.text).expect("a checkpoint");
    (cp.size, cp.root)
}

#[test]
fn hostile_requests_change_nothing_and_get_problems() {
    let server = Server::start();
    let url = server.url().to_owned();
    let mut cz = actors::found(&url, "CZ");
    // A statement in the log, as the base of mutations: whatever a mutation
    // keeps valid is a replay, so nothing can be added.
    let mut us = Actor::new("US");
    let admitted = cz.admission(&us, Role::Member);
    assert_eq!(actors::post(&url, &admitted).status, 201);
    let rotated = us.rotate();
    assert_eq!(actors::post(&url, &rotated).status, 201);
    let before = size_and_root(&url);
    let size = server.log_size();

    let mut rng = StdRng::seed_from_u64(env_or("ENTENTE_HOSTILE_SEED", 0xBAD_F00D));
    let count = env_or("ENTENTE_HOSTILE_COUNT", 2000) as usize;

    for (name, body) in crafted(&mut cz, &admitted) {
        let r = http::request(&url, "POST", "/v1/statements", Some(&body));
        judge(&r, &format!("POST {name}"), true);
    }
    let bases = [
        admitted.to_canonical_json(),
        rotated.to_canonical_json(),
        serde_json::to_vec_pretty(&admitted).expect("JSON"),
    ];
    for i in 0..count {
        let base = &bases[i % bases.len()];
        let body = mutate(&mut rng, base);
        let r = http::request(&url, "POST", "/v1/statements", Some(&body));
        judge(
            &r,
            &format!("POST mutation {i}: {}", String::from_utf8_lossy(&body)),
            true,
        );
    }
    // Wrong content types and methods on the submit route.
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "",
        "application/json; charset=latin1",
    ] {
        let mut raw = format!(
            "POST /v1/statements HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            bases[0].len()
        )
        .into_bytes();
        raw.extend_from_slice(&bases[0]);
        let r = http::try_raw(&url, &raw).expect("an answer");
        judge(&r, &format!("content type {ct:?}"), true);
    }
    let paths = hostile_paths(&mut rng, size);
    for i in 0..count {
        let path = &paths[i % paths.len()];
        let r = http::request(&url, "GET", path, None);
        judge(&r, &format!("GET {path}"), false);
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let r = http::request(&url, method, "/v1/statements", Some(&bases[0]));
        judge(&r, method, true);
    }
    // Methods a route does not take, and a stream without its upgrade: actix's
    // own refusals, answered as problem+json too.
    for (method, path) in [
        ("DELETE", "/v1/roster"),
        ("POST", "/v1/checkpoint"),
        ("PUT", "/v1/proposals"),
        ("POST", "/healthz"),
        ("GET", "/v1/cosignatures"),
        ("GET", "/v1/stream"),
    ] {
        let r = http::request(&url, method, path, None);
        judge(&r, &format!("{method} {path}"), true);
    }

    assert_eq!(http::request(&url, "GET", "/healthz", None).status, 200);
    // Size and root, not the whole note: witnesses' cosignatures may come and go.
    assert_eq!(size_and_root(&url), before, "the log changed");
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

#[test]
fn forged_and_replayed_signatures_are_refused_with_their_slugs() {
    let server = Server::start();
    let url = server.url().to_owned();
    let mut cz = actors::found(&url, "CZ");
    let (forger, _) = SigningKey::generate().expect("a key");
    let statement = cz.admission(&Actor::new("FR"), Role::Member);
    let mut forged = Envelope::sign(statement.payload.clone(), &forger);
    forged.signatures[0].keyid = cz.key.key_id().to_string();
    let r = actors::post(&url, &forged);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("bad-signature"), "{}", r.text());
    assert_eq!(actors::post(&url, &statement).status, 201);
    let r = actors::post(&url, &statement);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("replayed"), "{}", r.text());
}
