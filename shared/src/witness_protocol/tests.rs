//! Every answer of [`judge`], and the request body round trip.

use proptest::prelude::*;

use super::*;
use crate::keys::SigningKey;
use crate::merkle::{leaf_hash, MemoryTree};
use crate::note::NoteSigner;

const ORIGIN: &str = "entente.example/log";

struct Log {
    key: SigningKey,
    der: crate::keys::Pkcs8,
    tree: MemoryTree,
}

impl Log {
    fn new(size: u64) -> Log {
        let (key, der) = SigningKey::generate().unwrap();
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push(leaf_hash(&i.to_be_bytes()));
        }
        Log { key, der, tree }
    }

    fn verifier(&self) -> NoteVerifier {
        NoteSigner::new(ORIGIN, &self.key).unwrap().verifier()
    }

    fn checkpoint_with(&self, origin: &str, key: &SigningKey, size: u64) -> String {
        let cp = Checkpoint {
            origin: origin.into(),
            size,
            root: self.tree.root_at(size).unwrap(),
            extensions: vec![],
        };
        let signer = NoteSigner::new(origin, key).unwrap();
        SignedCheckpoint::sign(cp, &signer).unwrap().to_text()
    }

    fn checkpoint(&self, size: u64) -> String {
        self.checkpoint_with(ORIGIN, &self.key, size)
    }

    fn request(&self, old: u64, size: u64) -> AddCheckpoint {
        AddCheckpoint {
            old_size: old,
            proof: if old == 0 {
                vec![]
            } else {
                self.tree.consistency_proof(old, size).unwrap()
            },
            checkpoint: self.checkpoint(size),
        }
    }

    fn cosigned(&self, size: u64) -> Option<Cosigned> {
        Some(Cosigned {
            size,
            root: self.tree.root_at(size).unwrap(),
        })
    }
}

#[test]
fn a_consistent_checkpoint_is_accepted_with_only_the_logs_signature() {
    let log = Log::new(20);
    let first = judge(&log.request(0, 7), &log.verifier(), None).unwrap();
    assert_eq!(first.checkpoint.size, 7);
    let next = judge(&log.request(7, 20), &log.verifier(), log.cosigned(7)).unwrap();
    assert_eq!(next.checkpoint.size, 20);
    // The same checkpoint again (a re-cosign for freshness).
    judge(&log.request(20, 20), &log.verifier(), log.cosigned(20)).unwrap();

    // Other signatures are ignored and dropped from what is recorded.
    let (other, _) = SigningKey::generate().unwrap();
    let mut note = SignedNote::parse(&log.checkpoint(20)).unwrap();
    note.cosign(&NoteSigner::new("someone.else/w", &other).unwrap())
        .unwrap();
    let request = AddCheckpoint {
        old_size: 20,
        proof: vec![],
        checkpoint: note.to_text(),
    };
    let got = judge(&request, &log.verifier(), log.cosigned(20)).unwrap();
    assert_eq!(got.note.signatures.len(), 1);
}

#[test]
fn each_refusal_has_the_spec_status() {
    let log = Log::new(20);
    let v = log.verifier();
    let status = |r: &AddCheckpoint, last| judge(r, &v, last).unwrap_err().status();

    // Another log's origin: 404.
    let mut r = log.request(0, 5);
    r.checkpoint = log.checkpoint_with("other.example/log", &log.key, 5);
    assert_eq!(status(&r, None), 404);
    // The right origin signed by another key: 403.
    let (stranger, _) = SigningKey::generate().unwrap();
    r.checkpoint = log.checkpoint_with(ORIGIN, &stranger, 5);
    assert_eq!(status(&r, None), 403);
    // A trusted key's line whose signature fails: 403.
    let mut text = log.checkpoint(5);
    let at = text.rfind(' ').unwrap() + 12;
    let flipped = if &text[at..=at] == "A" { "B" } else { "A" };
    text.replace_range(at..=at, flipped);
    r.checkpoint = text;
    assert_eq!(status(&r, None), 403);
    // Old size past the checkpoint: 400.
    let mut r = log.request(0, 5);
    r.old_size = 9;
    assert_eq!(status(&r, log.cosigned(9)), 400);
    // Old size other than the last cosigned one: 409 with that size.
    let r = log.request(5, 12);
    assert_eq!(
        judge(&r, &v, log.cosigned(7)).unwrap_err(),
        WitnessRefusal::Conflict(7)
    );
    assert_eq!(
        judge(&log.request(0, 12), &v, log.cosigned(7)).unwrap_err(),
        WitnessRefusal::Conflict(7)
    );
    // A rollback: a smaller checkpoint, sent as if the witness were there.
    assert_eq!(
        judge(&log.request(5, 5), &v, log.cosigned(12)).unwrap_err(),
        WitnessRefusal::Conflict(12)
    );
    // A bad proof: 422.
    let mut r = log.request(7, 20);
    r.proof[0][0] ^= 1;
    assert_eq!(status(&r, log.cosigned(7)), 422);
    // A proof when the old size is 0: 422.
    let mut r = log.request(0, 20);
    r.proof = log.tree.consistency_proof(7, 20).unwrap();
    assert_eq!(status(&r, None), 422);
    // The same size with another root (a fork): 422.
    let mut fork = MemoryTree::new();
    for i in 0..20u64 {
        fork.push(leaf_hash(&(i + 1000).to_be_bytes()));
    }
    let forked = Log {
        key: SigningKey::from_pkcs8(log.der.as_bytes()).unwrap(),
        der: SigningKey::generate().unwrap().1,
        tree: fork,
    };
    let r = AddCheckpoint {
        old_size: 20,
        proof: vec![],
        checkpoint: forked.checkpoint(20),
    };
    assert_eq!(status(&r, log.cosigned(20)), 422);
}

#[test]
fn malformed_requests_are_400() {
    let log = Log::new(3);
    let cp = log.checkpoint(3);
    for body in [
        format!("old 01\n\n{cp}"),
        format!("old -1\n\n{cp}"),
        format!("old 1\n{cp}"),
        format!("old 1\nnot base64\n\n{cp}"),
        format!("new 1\n\n{cp}"),
        "old 0\n\nnot a note".to_string(),
        format!("old 0\n{}\n{cp}", "AAAA\n".repeat(64)),
    ] {
        let refused =
            AddCheckpoint::parse(body.as_bytes()).and_then(|r| judge(&r, &log.verifier(), None));
        assert!(
            matches!(refused, Err(WitnessRefusal::BadRequest(_))),
            "{body:?}: {refused:?}"
        );
    }
    let big = vec![b'a'; MAX_REQUEST_BYTES + 1];
    assert!(AddCheckpoint::parse(&big).is_err());
}

#[test]
fn size_bodies() {
    assert_eq!(parse_size("0\n"), Some(0));
    assert_eq!(parse_size("1234\n"), Some(1234));
    for bad in ["", "\n", "12", "012\n", "1 2\n", "-1\n"] {
        assert_eq!(parse_size(bad), None, "{bad:?}");
    }
}

proptest! {
    #[test]
    fn request_bodies_round_trip(old in 0u64..1000, proof in prop::collection::vec(any::<[u8; 32]>(), 0..63)) {
        let log = Log::new(2);
        let r = AddCheckpoint { old_size: old, proof, checkpoint: log.checkpoint(2) };
        prop_assert_eq!(AddCheckpoint::parse(r.to_body().as_bytes()).unwrap(), r);
    }

    #[test]
    fn parsing_never_panics(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let log = Log::new(2);
        if let Ok(r) = AddCheckpoint::parse(&body) {
            let _ = judge(&r, &log.verifier(), None);
        }
    }
}
