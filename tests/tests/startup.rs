//! Start-up beyond the tree check: the fold snapshot, and a store whose
//! entries are well-formed records under a checkpoint the server itself signs
//! (its index was removed, so it re-signs the tree it finds) but whose
//! entries the fold refuses, which is still not served.
//!
//! The tree check runs before the server listens; the fold is restored after
//! (from the snapshot when it matches the tree, by replay otherwise: signatures,
//! roster rules), and a refusal there stops the process.

use std::time::{Duration, Instant};

use entente_shared::keys::SigningKey;
use entente_shared::statement::Role;
use entente_tests::actors::{self, Actor};
use entente_tests::{http, Server};

/// The roster as the founding secretariat reads it.
fn roster(server: &Server, reader: &Actor) -> serde_json::Value {
    // A busy machine may still be restoring the fold (503 starting): wait.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = http::signed_get(server.url(), "/v1/roster", &reader.key);
        if r.status == 503 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        assert_eq!(r.status, 200, "{}", r.text());
        return r.json();
    }
}

/// The `replayed=N` the "fold restored" log line reports, once it is there.
fn replayed(server: &Server) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = server.stderr();
        if let Some(line) = log.lines().find(|l| l.contains("fold restored")) {
            let n = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("replayed="))
                .unwrap_or_else(|| panic!("no replayed= in {line}"));
            return n.parse().expect("a count");
        }
        assert!(
            Instant::now() < deadline,
            "the fold was not restored:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A log of a founding and three admissions, stopped cleanly.
fn small_log(data: &std::path::Path) -> (Actor, serde_json::Value) {
    let mut server = Server::start_with_data(data);
    let mut cz = actors::found(server.url(), "CZ");
    for code in ["US", "DE", "FR"] {
        actors::admit(server.url(), &mut cz, code);
    }
    let before = roster(&server, &cz);
    assert!(server.stop().success());
    (cz, before)
}

#[test]
fn a_clean_stop_leaves_a_snapshot_and_the_restart_replays_nothing() {
    let folder = tempfile::tempdir().expect("a temp dir");
    let data = folder.path().join("data");
    let (mut cz, before) = small_log(&data);
    assert!(data.join("fold.snapshot").is_file());

    let server = Server::start_with_data(&data);
    assert_eq!(replayed(&server), 0, "{}", server.stderr());
    assert_eq!(roster(&server, &cz), before);
    // The restored fold goes on: a new admission lands after the others.
    actors::admit(server.url(), &mut cz, "PL");
    assert_eq!(server.log_size(), 5);
}

#[test]
fn a_damaged_or_foreign_snapshot_is_ignored_and_the_log_replayed() {
    let folder = tempfile::tempdir().expect("a temp dir");
    let data = folder.path().join("data");
    let (cz, before) = small_log(&data);
    let snapshot = data.join("fold.snapshot");

    // One changed byte: the digest no longer matches.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x01;
    std::fs::write(&snapshot, &bytes).unwrap();
    let mut server = Server::start_with_data(&data);
    assert_eq!(replayed(&server), 4);
    assert!(server.stderr().contains("fold snapshot not used"));
    assert_eq!(roster(&server, &cz), before);
    server.stop();

    // Another log's snapshot, intact: its root is not this log's.
    let other = tempfile::tempdir().expect("a temp dir");
    small_log(&other.path().join("data"));
    std::fs::copy(other.path().join("data/fold.snapshot"), &snapshot).unwrap();
    let mut server = Server::start_with_data(&data);
    assert_eq!(replayed(&server), 4);
    assert!(server.stderr().contains("is not the snapshot's"));
    assert_eq!(roster(&server, &cz), before);
    // The refused one is kept aside, and the next clean stop writes a good one.
    assert!(data.join("fold.snapshot.refused").is_file());
    assert!(server.stop().success());
    let server = Server::start_with_data(&data);
    assert_eq!(replayed(&server), 0, "{}", server.stderr());
}

#[test]
fn after_a_kill_only_the_entries_since_the_last_snapshot_are_replayed() {
    let folder = tempfile::tempdir().expect("a temp dir");
    let data = folder.path().join("data");
    let mut server =
        Server::start_with_data_and_env(&data, &[("ENTENTE_FOLD_SNAPSHOT_EVERY", "4")]);
    let mut cz = actors::found(server.url(), "CZ");
    for code in ["US", "DE", "FR", "PL", "SK"] {
        actors::admit(server.url(), &mut cz, code);
    }
    // The snapshot at 4 entries is written in the background.
    let snapshot = data.join("fold.snapshot");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !snapshot.is_file() {
        assert!(Instant::now() < deadline, "no snapshot after 4 entries");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = roster(&server, &cz);
    server.kill();

    let server = server.restart();
    assert_eq!(replayed(&server), 2, "{}", server.stderr());
    assert_eq!(roster(&server, &cz), before);
}

#[test]
fn store_with_a_forged_entry_under_a_resigned_tree_is_refused() {
    let folder = tempfile::tempdir().expect("a temp dir");
    let data = folder.path().join("data");
    let mut server = Server::start_with_data(&data);
    let mut cz = actors::found(server.url(), "CZ");
    actors::admit(server.url(), &mut cz, "US");
    server.stop();

    {
        // Entry 1 becomes an admission signed by a stranger, not by CZ, in a
        // well-formed record (its checksum is right)...
        let (stranger, _) = SigningKey::generate().expect("a key");
        let mut fake = Actor::with_key("CZ".parse().unwrap(), stranger, 99);
        let forged = fake.admission(&Actor::new("FR"), Role::Member);
        let path = entente_tests::segment_files(&data)
            .pop()
            .expect("a segment");
        let bytes = std::fs::read(&path).expect("reading the segment");
        let records = entente_tests::segment_records(&bytes);
        let mut rewritten = bytes[records[0].clone()].to_vec();
        entente_server::store::record::encode(1, &forged.to_canonical_json(), &mut rewritten);
        std::fs::write(&path, rewritten).expect("writing the segment");
        // ...and the index, with the checkpoint it had published, is gone:
        // the server rebuilds it and signs the forged tree with its own key.
        std::fs::remove_dir_all(data.join("log")).expect("removing the index");
    }

    // The tree check passes (its log line says so); the fold replay must stop
    // the server. It may do so before or after the "listening" line: the
    // replay thread starts while the listener is being bound.
    let deadline = Instant::now() + Duration::from_secs(30);
    let stderr = match Server::try_start_with_data(&data) {
        Err(stderr) => stderr,
        Ok(mut server) => {
            while server.is_running() {
                assert!(
                    Instant::now() < deadline,
                    "the forged store is being served"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let status = server.kill();
            assert!(!status.success(), "exit {status}");
            server.stderr()
        }
    };
    assert!(
        stderr.contains("tree verified against the published checkpoint"),
        "refused by the tree check, not by the fold replay:\n{stderr}"
    );
    assert!(
        stderr.contains("does not verify; refusing to serve it")
            && stderr.contains("fold replay refused entry 1:"),
        "not refused by the fold replay at entry 1:\n{stderr}"
    );
    assert!(
        !stderr.contains("fold restored"),
        "the fold was restored over the forged entry:\n{stderr}"
    );
}

/// The checkpoint a server serves, parsed: (size, root line).
fn served_checkpoint(server: &Server) -> (u64, String) {
    let r = http::request(server.url(), "GET", "/v1/checkpoint", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let mut lines = text.lines().skip(1);
    let size = lines.next().expect("a size line").parse().expect("a size");
    (size, lines.next().expect("a root line").to_owned())
}

#[test]
fn a_lost_index_is_rebuilt_from_the_segments() {
    let folder = tempfile::tempdir().expect("a temp dir");
    let data = folder.path().join("data");
    let (mut cz, before) = small_log(&data);
    let server = Server::start_with_data(&data);
    let (size, root) = served_checkpoint(&server);
    drop(server);
    // The sled index holds nothing the segments cannot give back.
    std::fs::remove_dir_all(data.join("log")).expect("removing the index");
    let mut server = Server::start_with_data(&data);
    assert_eq!(served_checkpoint(&server), (size, root), "the same tree");
    assert_eq!(roster(&server, &cz), before);
    // Every statement is found by id again, and the log goes on.
    let r = http::signed_get(server.url(), "/v1/entries?start=0", &cz.key);
    let entries: entente_shared::api::Entries = serde_json::from_slice(&r.body).expect("entries");
    assert_eq!(entries.entries.len() as u64, size);
    for e in entries.entries {
        let id = e.id.expect("the secretariat reads every entry");
        let r = http::signed_get(server.url(), &format!("/v1/statements/{id}"), &cz.key);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["index"], e.index);
    }
    let us = actors::admit(server.url(), &mut cz, "PL");
    let r = http::signed_get(server.url(), "/v1/roster", &us.key);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(served_checkpoint(&server).0, size + 1);
    assert!(server.stop().success());
}
