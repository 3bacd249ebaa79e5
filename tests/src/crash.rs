//! Crash runs: the real server, under sustained signed writes from several
//! delegations, taken down at random moments and started again on the same
//! folder, with every receipt checked after every restart.
//!
//! After every restart: the store opened and verified (the server listens
//! only then); every statement whose receipt reached a client is in the log
//! at the index the receipt gave; and the new checkpoint is consistent (RFC
//! 9162 proof) with every receipt's checkpoint, so no receipt's log was
//! forked or rolled back. `tests/crash.rs` kills the server (SIGKILL, and
//! SIGTERM); `tests/powercut.rs` also cuts the power under it
//! ([`crate::powercut`]). `ENTENTE_CRASH_SEED` changes the seed (the kill
//! moments are drawn from it; the writers' timing is the machine's).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::actors::{self, Actor};
use crate::http;
use crate::load::check::ReceiptChecker;
use crate::Server;
use entente_shared::api::{ConsistencyProof, Receipt, StatementRecord};
use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::keys::SigningKey;
use entente_shared::merkle::verify_consistency;
use entente_shared::note::NoteVerifier;
use rand::{Rng, SeedableRng};

/// Writers posting at once; each owns one member and rotates its key.
const WRITERS: usize = 4;
/// How soon after a (re)start the first statement must be acknowledged.
const RESUME_WITHIN: Duration = Duration::from_secs(30);

/// A statement whose receipt reached the client.
struct Acked {
    receipt: Receipt,
    checkpoint: Checkpoint,
}

fn log_key(url: &str) -> NoteVerifier {
    let r = http::request(url, "GET", "/v1/log", None);
    r.json()["verifier_key"]
        .as_str()
        .expect("verifier_key")
        .parse()
        .expect("a note verifier key")
}

/// The seed of the kill moments: `ENTENTE_CRASH_SEED`, or a fixed one.
pub fn seed() -> u64 {
    std::env::var("ENTENTE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_CAFE)
}

/// Posts `member`'s next rotation until it is in the log: a 201 receipt
/// (recorded in `acked`) or a 409 replayed (it landed, but its receipt was
/// lost in a crash: not acknowledged, so nothing to record). Connection
/// errors while the server is down are retried with the same bytes.
fn write_one(
    url: &str,
    member: &mut Actor,
    checker: &mut ReceiptChecker,
    acked: &Mutex<Vec<Acked>>,
    stop: &AtomicBool,
) -> bool {
    let (next, _) = entente_shared::keys::SigningKey::generate().expect("a key");
    let envelope = member.rotation_to(next.public_key());
    let bytes = envelope.to_canonical_json();
    loop {
        match http::try_request(url, "POST", "/v1/statements", Some(&bytes)) {
            Ok(r) if r.status == 201 => {
                let receipt = checker
                    .check(&bytes, &r.body)
                    .unwrap_or_else(|e| panic!("a receipt does not verify: {e}"));
                let checkpoint = Checkpoint::from_body(
                    &entente_shared::note::SignedNote::parse(&receipt.checkpoint)
                        .expect("a signed note")
                        .text,
                )
                .expect("a checkpoint");
                acked.lock().unwrap().push(Acked {
                    receipt,
                    checkpoint,
                });
                break;
            }
            Ok(r) if r.status == 409 && r.text().contains("replayed") => break,
            Ok(r) if r.status >= 500 => {}
            Ok(r) => panic!("unexpected answer {}: {}", r.status, r.text()),
            Err(_) => {}
        }
        if stop.load(Ordering::Relaxed) {
            // The statement may or may not be in; nobody was told it is.
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    member.key = next;
    member.seq = 1;
    true
}

/// A signed read (GREEN statements are not public), retried while the
/// restarted server is still rebuilding its fold (503 `starting`).
fn read(url: &str, path: &str, reader: &SigningKey) -> http::Response {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let r = http::signed_get(url, path, reader);
        if r.status != 503 || std::time::Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until more than `at_restart` statements are acknowledged: the
/// (re)started `server` takes writes again, within [`RESUME_WITHIN`].
fn wait_for_receipts(acked: &Mutex<Vec<Acked>>, at_restart: usize, server: &Server, when: &str) {
    let deadline = Instant::now() + RESUME_WITHIN;
    while acked.lock().unwrap().len() <= at_restart {
        assert!(
            Instant::now() < deadline,
            "{when}: no statement acknowledged within {RESUME_WITHIN:?} of the (re)start:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Checks every acknowledged statement against the running server.
fn check_all(url: &str, log: &NoteVerifier, acked: &[Acked], reader: &SigningKey) {
    let r = http::request(url, "GET", "/v1/checkpoint", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let now = SignedCheckpoint::parse_and_verify(&r.text(), log)
        .expect("the checkpoint after restart verifies")
        .checkpoint;
    // Every receipt's checkpoint, all roots per size: two for one size is a fork.
    let mut sizes: BTreeMap<u64, BTreeSet<[u8; 32]>> = BTreeMap::new();
    for a in acked {
        let id = a.receipt.id;
        let r = read(url, &format!("/v1/statements/{id}"), reader);
        assert_eq!(
            r.status,
            200,
            "acknowledged statement {id} is gone: {}",
            r.text()
        );
        let rec: StatementRecord = serde_json::from_slice(&r.body).expect("a statement record");
        assert_eq!(rec.index, a.receipt.index, "statement {id} moved");
        sizes
            .entry(a.checkpoint.size)
            .or_default()
            .insert(a.checkpoint.root);
    }
    for (size, roots) in sizes {
        assert_eq!(
            roots.len(),
            1,
            "receipts carry {} different roots for size {size}: a fork",
            roots.len()
        );
        let root = roots.into_iter().next().expect("one root");
        assert!(
            size <= now.size,
            "the log shrank below a receipt's checkpoint ({size} > {})",
            now.size
        );
        if size == now.size {
            assert_eq!(root, now.root, "same size, different root: a fork");
            continue;
        }
        let r = http::request(
            url,
            "GET",
            &format!("/v1/proofs/consistency?from={size}&to={}", now.size),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let p: ConsistencyProof = serde_json::from_slice(&r.body).expect("a consistency proof");
        verify_consistency(size, now.size, &root, &now.root, &p.proof).unwrap_or_else(|e| {
            panic!("checkpoint {size} is not consistent with {}: {e}", now.size)
        });
    }
}

/// How the server goes down in each round.
pub enum Down<'a> {
    /// SIGKILL.
    Kill,
    /// SIGTERM, and a clean exit is expected.
    Stop,
    /// SIGKILL, then this is called before the restart (e.g. a power cut
    /// that drops every write not synced).
    KillThen(&'a mut dyn FnMut()),
}

/// What a run saw.
pub struct Summary {
    pub rounds: usize,
    pub acknowledged: usize,
}

/// Starts writers on a server with its data folder at `data`, and takes the
/// server down `rounds` times at random moments as `down` says, restarting
/// it on the same folder each time; after every restart, every statement
/// acknowledged so far must be there, at its index, under a checkpoint
/// consistent with every receipt's.
pub fn run(data: &Path, rounds: usize, mut down: Down<'_>) -> Summary {
    // Fold snapshots every few hundred entries, so kills land before, during
    // and after their background writes, and restarts restore from them;
    // segments of 1 MiB, so that kills land around new segments too.
    let mut server = Server::start_with_data_and_env(
        data,
        &[
            ("ENTENTE_FOLD_SNAPSHOT_EVERY", "300"),
            ("ENTENTE_SEGMENT_MB", "1"),
        ],
    );
    let url = server.url().to_owned();
    let log = log_key(&url);
    let mut sec = actors::found(&url, "CZ");
    let members: Vec<Actor> = (0..WRITERS)
        .map(|i| actors::admit(&url, &mut sec, &format!("M{i}")))
        .collect();

    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = members
        .into_iter()
        .map(|mut member| {
            let (url, acked, stop, log) = (url.clone(), acked.clone(), stop.clone(), log.clone());
            std::thread::spawn(move || {
                let mut checker = ReceiptChecker::new(log);
                let mut written = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if write_one(&url, &mut member, &mut checker, &acked, &stop) {
                        written += 1;
                    }
                }
                written
            })
        })
        .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed());
    let mut checked = 0;
    // Acknowledged when the server last went down (none before the first start).
    let mut at_restart = 0;
    for round in 0..rounds {
        // Writes flow again (the restarted server takes statements once its
        // fold is replayed) before the next kill is drawn: every kill lands
        // under load, not during start-up. Only receipts from this server
        // count (none can arrive while it is down), and they must come soon.
        wait_for_receipts(&acked, at_restart, &server, &format!("round {round}"));
        std::thread::sleep(Duration::from_millis(rng.random_range(30..300)));
        match &mut down {
            Down::Stop => {
                let status = server.stop();
                assert!(
                    status.success(),
                    "SIGTERM exit: {status}\n{}",
                    server.stderr()
                );
            }
            Down::Kill => {
                server.kill();
            }
            Down::KillThen(after) => {
                server.kill();
                after();
            }
        }
        // Acknowledged before the server went down: all must be there.
        let before = acked.lock().unwrap().len();
        at_restart = before;
        server = server.restart();
        let all = acked.lock().unwrap();
        check_all(&url, &log, &all[checked..before], &sec.key);
        checked = before;
        assert!(
            !server.stderr().contains("panicked"),
            "round {round}: {}",
            server.stderr()
        );
    }
    // And after the last restart too.
    wait_for_receipts(&acked, at_restart, &server, "after the last restart");
    stop.store(true, Ordering::Relaxed);
    let written: u64 = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    let all = acked.lock().unwrap();
    // The end: every receipt ever given, against the final log.
    check_all(&url, &log, &all, &sec.key);
    assert!(
        written > rounds as u64,
        "the writers barely wrote ({written})"
    );
    eprintln!(
        "{rounds} restarts, {} acknowledged statements, all present",
        all.len()
    );
    Summary {
        rounds,
        acknowledged: all.len(),
    }
}
