//! End-to-end tests of the log's backbone: founding, admission, keys,
//! refusals, restarts and the detection of tampering and rollback.
//!
//! Each test starts its own `entente-server` and delegation homes, so tests
//! run in parallel; each guards one behaviour and is named after it.
//! Build the binaries first: `cargo build --workspace`.

use entente_shared::dsse::Envelope;
use entente_shared::keys::SigningKey;
use entente_shared::statement::{Admission, Body, Distribution, Role, Statement};
use entente_tests::http::{self, Response};
use entente_tests::{Cli, Server, PROBLEM};
use serde_json::Value;

// ---------------------------------------------------------------- set-ups

/// A server whose log CZ founded: CZ is the secretariat, the log has 1 entry.
fn founded() -> (Server, Cli) {
    let server = Server::start();
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    (server, cz)
}

/// A founded log where CZ has admitted US as a member (2 entries).
fn with_member() -> (Server, Cli, Cli) {
    let (server, cz) = founded();
    let us = Cli::new(server.url());
    us.init("US", "United States", false);
    admit(&cz, &us, "US", "United States");
    (server, cz, us)
}

/// The secretariat `cz` admits `member` under `code`, with the key it shows.
fn admit(cz: &Cli, member: &Cli, code: &str, name: &str) -> Value {
    let key = member.json(&["key", "show"]);
    let public_key = key["public_key"].as_str().expect("key show: public_key");
    let encryption_key = key["encryption_key"]
        .as_str()
        .expect("key show: encryption_key");
    cz.json(&[
        "admit",
        code,
        "--name",
        name,
        "--key",
        public_key,
        "--encryption-key",
        encryption_key,
    ])
}

// ---------------------------------------------------------------- helpers

/// The log size as the CLI sees it (`entente log checkpoint`).
fn checkpoint_size(cli: &Cli) -> u64 {
    let cp = cli.json(&["log", "checkpoint"]);
    cp["size"]
        .as_u64()
        .unwrap_or_else(|| panic!("log checkpoint has no size: {cp}"))
}

/// Runs a command that the server must refuse with `slug`: exit code 1 and a
/// one-line error naming the problem type.
fn assert_refused(cli: &Cli, args: &[&str], slug: &str) {
    let (code, stderr) = cli.fails(args);
    let problem = format!("{PROBLEM}{slug}");
    assert!(
        stderr.contains(&problem),
        "entente {}: expected {problem} on stderr, got: {stderr}",
        args.join(" ")
    );
    assert_eq!(
        code,
        1,
        "entente {}: exit code; stderr: {stderr}",
        args.join(" ")
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "errors are one line: {stderr}"
    );
}

/// Asserts `r` is an RFC 9457 problem with `status` and `urn:entente:problem:<slug>`.
fn assert_problem(r: &Response, status: u16, slug: &str) {
    assert_eq!(r.status, status, "status; body: {}", r.text());
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "content type {:?}; body: {}",
        r.content_type,
        r.text()
    );
    let problem = r.json();
    assert_eq!(problem["type"], format!("{PROBLEM}{slug}"), "{problem}");
    assert_eq!(problem["status"], status, "{problem}");
    assert!(problem["title"].is_string(), "{problem}");
}

/// The delegation `code` in a CLI roster (a JSON array of delegations).
fn delegation<'a>(roster: &'a Value, code: &str) -> &'a Value {
    roster
        .as_array()
        .unwrap_or_else(|| panic!("roster is not an array: {roster}"))
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("{code} is not in the roster: {roster}"))
}

/// The status of key `key_id` in a roster entry.
fn key_status<'a>(delegation: &'a Value, key_id: &str) -> &'a str {
    delegation["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("no keys: {delegation}"))
        .iter()
        .find(|k| k["key_id"] == key_id)
        .unwrap_or_else(|| panic!("no key {key_id}: {delegation}"))["status"]
        .as_str()
        .unwrap_or_else(|| panic!("key {key_id} has no status: {delegation}"))
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {v}"))
}

/// The delegation's signing key, read from its home as a stolen laptop would
/// give it: lets a test sign statements the CLI would refuse to send.
fn signing_key(cli: &Cli) -> SigningKey {
    let der = std::fs::read(cli.key_file()).expect("reading key.pk8");
    SigningKey::from_pkcs8(&der).expect("key.pk8 is an Ed25519 PKCS#8 key")
}

/// Highest `seq` in the log among statements signed by `key`, so a test can
/// pick seqs above (or between) whatever scheme the CLI uses.
fn max_seq(server: &Server, reader: &SigningKey) -> u64 {
    let key = &reader.key_id();
    let size = server.log_size();
    // A signed read: GREEN entries are hidden from anonymous readers.
    let r = http::signed_get(
        server.url(),
        &format!("/v1/entries?start=0&end={size}"),
        reader,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let entries = r.json()["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len() as u64, size, "entries 0..{size}");
    entries
        .iter()
        .map(|e| {
            let env: Envelope =
                serde_json::from_value(e["envelope"].clone()).expect("entry has an envelope");
            Statement::decode(&env.payload).expect("entry decodes")
        })
        .filter(|st| &st.key == key)
        .map(|st| st.seq)
        .max()
        .unwrap_or(0)
}

/// An admission of a fresh delegation `code`, issued now by CZ with `key`.
fn admission_by_cz(key: &SigningKey, seq: u64, code: &str) -> Statement {
    let (newcomer, _) = SigningKey::generate().expect("generating a key");
    let body = Body::Admission(Admission {
        delegation: code.parse().expect("delegation code"),
        name: format!("Delegation {code}"),
        role: Role::Member,
        public_key: newcomer.public_key(),
        encryption_key: None,
    });
    Statement::new(
        "CZ".parse().expect("CZ"),
        key,
        seq,
        Distribution::green(),
        body,
    )
}

fn post_envelope(server: &Server, envelope: &Envelope) -> Response {
    post_raw(server, &envelope.to_canonical_json())
}

fn post_raw(server: &Server, body: &[u8]) -> Response {
    http::request(server.url(), "POST", "/v1/statements", Some(body))
}

// ---------------------------------------------------------------- founding

#[test]
fn bootstrap_founds_the_log_at_index_zero() {
    let server = Server::start();
    let cz = Cli::new(server.url());
    let out = cz.init("CZ", "Czech Republic", true);
    assert_eq!(out["index"], 0, "{out}");
    assert_eq!(out["delegation"], "CZ", "{out}");
    assert!(out["id"].is_string(), "{out}");
    assert_eq!(server.log_size(), 1);
    let roster = cz.json(&["roster"]);
    assert_eq!(delegation(&roster, "CZ")["role"], "secretariat", "{roster}");
}

#[test]
fn second_bootstrap_is_refused() {
    let (server, _cz) = founded();
    let de = Cli::new(server.url());
    assert_refused(
        &de,
        &[
            "init",
            "--delegation",
            "DE",
            "--name",
            "Germany",
            "--server",
            server.url(),
            "--bootstrap",
        ],
        "already-bootstrapped",
    );
    assert_eq!(
        server.log_size(),
        1,
        "the refused bootstrap changed the log"
    );
}

#[test]
fn unadmitted_delegation_cannot_publish() {
    let (server, cz) = founded();
    // DE made a key but nobody admitted it: the log does not know the key.
    let de = Cli::new(server.url());
    de.init("DE", "Germany", false);
    assert_refused(&de, &["key", "rotate"], "unknown-key");
    assert_eq!(checkpoint_size(&cz), 1);
}

#[test]
fn key_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_server, cz) = founded();
    let mode = std::fs::metadata(cz.key_file())
        .expect("key.pk8 exists after init")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "key.pk8 mode is {:o}", mode & 0o777);
}

// ---------------------------------------------------------------- admission

#[test]
fn admitted_member_appears_in_every_roster() {
    let (_server, cz, us) = with_member();
    let us_key = us.json(&["key", "show"]);
    // Both profiles fold the same log, so both see the same roster.
    for (who, cli) in [("CZ", &cz), ("US", &us)] {
        let roster = cli.json(&["roster"]);
        assert_eq!(
            roster.as_array().map(Vec::len),
            Some(2),
            "{who}'s roster: {roster}"
        );
        assert_eq!(
            delegation(&roster, "CZ")["role"],
            "secretariat",
            "{who}: {roster}"
        );
        let entry = delegation(&roster, "US");
        assert_eq!(entry["role"], "member", "{who}: {roster}");
        assert_eq!(entry["name"], "United States", "{who}: {roster}");
        assert_eq!(
            key_status(entry, str_of(&us_key, "key_id")),
            "active",
            "{who}: {roster}"
        );
        assert_eq!(
            entry["keys"][0]["public_key"], us_key["public_key"],
            "{who}: {roster}"
        );
    }
}

#[test]
fn only_the_secretariat_may_admit() {
    let (_server, cz, us) = with_member();
    let (fr, _) = SigningKey::generate().expect("generating a key");
    let fr_key = fr.public_key().to_string();
    assert_refused(
        &us,
        &["admit", "FR", "--name", "France", "--key", &fr_key],
        "role-not-allowed",
    );
    assert_eq!(checkpoint_size(&cz), 2);
}

#[test]
fn admitting_a_delegation_twice_is_refused() {
    let (_server, cz, us) = with_member();
    let key = us.json(&["key", "show"]);
    assert_refused(
        &cz,
        &[
            "admit",
            "US",
            "--name",
            "United States",
            "--key",
            str_of(&key, "public_key"),
        ],
        "already-admitted",
    );
    assert_eq!(checkpoint_size(&cz), 2);
}

// ---------------------------------------------------------------- keys

#[test]
fn rotation_retires_the_old_key_and_the_new_one_signs() {
    let (_server, cz, us) = with_member();
    let first = us.json(&["key", "show"]);
    let rotated = us.json(&["key", "rotate"]);
    assert_eq!(rotated["old_key_id"], first["key_id"], "{rotated}");
    assert_ne!(rotated["key_id"], first["key_id"], "{rotated}");
    assert_eq!(rotated["index"], 2, "{rotated}");
    // The profile now signs with the new key.
    assert_eq!(us.json(&["key", "show"])["key_id"], rotated["key_id"]);

    let roster = cz.json(&["roster"]);
    let entry = delegation(&roster, "US");
    assert_eq!(
        key_status(entry, str_of(&first, "key_id")),
        "rotated",
        "{roster}"
    );
    assert_eq!(
        key_status(entry, str_of(&rotated, "key_id")),
        "active",
        "{roster}"
    );

    // Publishing with the new key works: it can itself be rotated.
    let again = us.json(&["key", "rotate"]);
    assert_eq!(again["old_key_id"], rotated["key_id"], "{again}");
    assert_eq!(checkpoint_size(&cz), 4);
}

#[test]
fn revoked_key_is_refused() {
    let (_server, cz, us) = with_member();
    let us_key = us.json(&["key", "show"]);
    let us_key_id = str_of(&us_key, "key_id");
    let revoked = cz.json(&["key", "revoke", us_key_id, "--reason", "laptop lost"]);
    assert_eq!(revoked["key_id"], us_key_id, "{revoked}");
    assert_eq!(revoked["index"], 2, "{revoked}");
    let roster = cz.json(&["roster"]);
    assert_eq!(
        key_status(delegation(&roster, "US"), us_key_id),
        "revoked",
        "{roster}"
    );

    let before = checkpoint_size(&cz);
    assert_refused(&us, &["key", "rotate"], "revoked-key");
    assert_eq!(
        checkpoint_size(&cz),
        before,
        "a refused statement changed the log"
    );
}

// ---------------------------------------------------------------- raw refusals

#[test]
fn forged_signature_is_refused() {
    let (server, cz) = founded();
    let cz_key = signing_key(&cz);
    let seq = max_seq(&server, &cz_key) + 1000;

    // An outsider signs a statement that claims CZ's key (and says so in the
    // DSSE keyid too): only the signature can tell.
    let (forger, _) = SigningKey::generate().expect("generating a key");
    let mut statement = admission_by_cz(&cz_key, seq, "FR");
    statement.key = cz_key.key_id();
    let mut forged = statement.sign(&forger);
    forged.signatures[0].keyid = cz_key.key_id().to_string();
    assert_problem(&post_envelope(&server, &forged), 401, "bad-signature");

    // CZ's real signature over other bytes: one payload byte changed after signing.
    let mut tampered = admission_by_cz(&cz_key, seq, "FR").sign(&cz_key);
    let at = tampered
        .payload
        .windows(b"Delegation FR".len())
        .position(|w| w == b"Delegation FR")
        .expect("the name is in the payload");
    tampered.payload[at] = b'd';
    assert_problem(&post_envelope(&server, &tampered), 401, "bad-signature");

    assert_eq!(server.log_size(), 1, "a forged statement changed the log");
}

#[test]
fn key_outside_the_roster_is_refused() {
    let (server, _cz) = founded();
    // Well signed, but by a key the roster has never heard of.
    let (stranger, _) = SigningKey::generate().expect("generating a key");
    let envelope = admission_by_cz(&stranger, 1, "FR").sign(&stranger);
    assert_problem(&post_envelope(&server, &envelope), 401, "unknown-key");
    assert_eq!(server.log_size(), 1);
}

#[test]
fn replayed_statement_is_refused() {
    let (server, cz) = founded();
    let cz_key = signing_key(&cz);
    // Above any seq the CLI used, and leaving room below for the stale one.
    let base = max_seq(&server, &cz_key);
    let envelope = admission_by_cz(&cz_key, base + 1000, "FR").sign(&cz_key);

    let first = post_envelope(&server, &envelope);
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.json()["index"], 1, "{}", first.text());
    assert_eq!(server.log_size(), 2);

    // The very same bytes again.
    assert_problem(&post_envelope(&server, &envelope), 409, "replayed");
    assert_eq!(server.log_size(), 2);

    // A new statement, but with a seq at or below the key's last one.
    let stale = admission_by_cz(&cz_key, base + 500, "DE").sign(&cz_key);
    assert_problem(&post_envelope(&server, &stale), 409, "stale-seq");
    assert_eq!(server.log_size(), 2);
}

#[test]
fn garbage_body_is_refused_as_malformed() {
    let (server, _cz) = founded();
    for body in [&b"{not json"[..], b"[]", b"{\"payloadType\":1}", b""] {
        let r = post_raw(&server, body);
        assert_problem(&r, 400, "malformed");
    }
    assert_eq!(server.log_size(), 1);
}

#[test]
fn oversized_body_is_refused() {
    let (server, _cz) = founded();
    // 10 MiB, far above max_body_bytes (256 KiB by default).
    let body = format!("{{\"payload\":\"{}\"}}", "A".repeat(10 << 20));
    assert_problem(&post_raw(&server, body.as_bytes()), 413, "too-large");
    assert_eq!(server.log_size(), 1);
}

#[test]
fn unknown_route_answers_a_problem() {
    let (server, _cz) = founded();
    for method in ["GET", "POST"] {
        let r = http::request(server.url(), method, "/v1/nothing-here", Some(b"{}"));
        assert_problem(&r, 404, "not-found");
    }
    assert_eq!(server.log_size(), 1);
}

// ---------------------------------------------------------------- restarts

#[test]
fn restart_keeps_roster_and_checkpoint() {
    let (mut server, cz, _us) = with_member();
    cz.json(&["log", "verify"]);
    let roster = cz.json(&["roster"]);
    let checkpoint = cz.json(&["log", "checkpoint"]);
    let raw_roster = http::signed_get(server.url(), "/v1/roster", &signing_key(&cz)).body;

    let status = server.stop();
    assert!(status.success(), "SIGTERM: {status}\n{}", server.stderr());
    // Same address, so the profiles' stored server URL still works.
    let again = Server::start_with_data_at(server.data_dir(), server.addr());

    assert_eq!(cz.json(&["roster"]), roster);
    let after = cz.json(&["log", "checkpoint"]);
    for field in ["origin", "size", "root"] {
        assert_eq!(
            after[field], checkpoint[field],
            "{field}: {after} vs {checkpoint}"
        );
    }
    let raw_after = http::signed_get(again.url(), "/v1/roster", &signing_key(&cz)).body;
    assert_eq!(
        raw_after, raw_roster,
        "GET /v1/roster changed across the restart"
    );
    let verified = cz.json(&["log", "verify"]);
    assert_eq!(verified["size"], 2, "{verified}");
    assert_eq!(verified["root"], checkpoint["root"], "{verified}");
}

#[test]
fn tampered_entry_is_refused_at_start() {
    let (mut server, _cz, _us) = with_member();
    server.stop();
    {
        let path = entente_tests::segment_files(server.data_dir())
            .pop()
            .expect("a segment");
        let mut bytes = std::fs::read(&path).expect("reading the segment");
        let record = entente_tests::segment_records(&bytes)[1].clone();
        // Change one base64 character in the middle of entry 1's payload:
        // still valid JSON and base64, but not the bytes that were signed,
        // hashed and checksummed.
        let marker = b"\"payload\":\"";
        let start = record.start
            + bytes[record.clone()]
                .windows(marker.len())
                .position(|w| w == marker)
                .expect("entry 1 has a payload")
            + marker.len();
        let len = bytes[start..]
            .iter()
            .position(|&b| b == b'"')
            .expect("the payload string ends");
        let at = start + len / 2;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&path, bytes).expect("writing the segment");
    }
    let stderr = Server::try_start_with_data(server.data_dir())
        .err()
        .expect("the server started on a tampered store");
    assert!(stderr.contains("does not verify"), "{stderr}");
}

#[test]
fn truncated_store_is_refused_at_start() {
    let (mut server, _cz, _us) = with_member();
    server.stop();
    {
        // The last entry's record cut off whole: a clean end of file, as a
        // restore from an older copy of the segment would leave.
        let path = entente_tests::segment_files(server.data_dir())
            .pop()
            .expect("a segment");
        let bytes = std::fs::read(&path).expect("reading the segment");
        let records = entente_tests::segment_records(&bytes);
        assert_eq!(records.len(), 2);
        std::fs::write(&path, &bytes[..records[1].start]).expect("writing the segment");
    }
    let stderr = Server::try_start_with_data(server.data_dir())
        .err()
        .expect("the server started on a store missing its last entry");
    assert!(stderr.contains("does not verify"), "{stderr}");
    assert!(
        stderr.contains("published a checkpoint of 2 entries, but its log now holds 1"),
        "{stderr}"
    );
}

#[test]
fn rollback_is_detected_by_the_cli() {
    let (mut server, cz) = founded();
    // Keep a copy of the one-entry log.
    let snapshot = server.stop_and_copy();
    let mut second = server.restart();

    // The log grows, and CZ's profile sees (and pins) the larger checkpoint.
    let us = Cli::new(second.url());
    us.init("US", "United States", false);
    admit(&cz, &us, "US", "United States");
    assert_eq!(cz.json(&["log", "verify"])["size"], 2);

    // The operator puts the old copy back: same log key, fewer entries.
    second.stop();
    let _third = server.restart_from(&snapshot);

    for args in [&["log", "verify"][..], &["log", "checkpoint"]] {
        let (code, stderr) = cz.fails(args);
        assert_eq!(code, 3, "entente {}: {stderr}", args.join(" "));
        let lower = stderr.to_lowercase();
        assert!(
            lower.contains("rollback") || lower.contains("inconsistent"),
            "entente {}: {stderr}",
            args.join(" ")
        );
    }
}
