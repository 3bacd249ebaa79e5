//! Start-up checks beyond the tree: a store whose Merkle tree and signed
//! checkpoint are consistent (re-signed by someone holding the log key) but
//! whose entries the fold refuses is still not served.
//!
//! The tree check runs before the server listens; the fold replay (signatures,
//! roster rules) runs after, and a refusal there stops the process.

use std::time::{Duration, Instant};

use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::keys::SigningKey;
use entente_shared::merkle::{leaf_hash, CompactTree};
use entente_shared::note::NoteSigner;
use entente_shared::statement::{Role, StatementId};
use entente_tests::actors::{self, Actor};
use entente_tests::Server;

#[test]
fn store_with_a_forged_entry_under_a_resigned_tree_is_refused() {
    let folder = tempfile::tempdir().expect("a temp dir");
    let data = folder.path().join("data");
    let mut server = Server::start_with_data(&data);
    let mut cz = actors::found(server.url(), "CZ");
    actors::admit(server.url(), &mut cz, "US");
    server.stop();

    {
        use entente_server::store::layout;
        let db = sled::open(data.join("log")).expect("opening the stopped store");
        // Entry 1 becomes an admission signed by a stranger, not by CZ.
        let (stranger, _) = SigningKey::generate().expect("a key");
        let mut fake = Actor {
            code: "CZ".parse().unwrap(),
            key: stranger,
            seq: 99,
        };
        let forged = fake.admission(&Actor::new("FR"), Role::Member);
        let bytes = forged.to_canonical_json();
        let old = db.get(layout::entry_key(1)).unwrap().unwrap();
        let old_env: entente_shared::dsse::Envelope = serde_json::from_slice(&old).unwrap();
        db.remove(layout::id_key(&StatementId::of_payload(&old_env.payload).0))
            .unwrap();
        db.insert(layout::entry_key(1), bytes.clone()).unwrap();
        db.insert(
            layout::id_key(&StatementId::of_payload(&forged.payload).0),
            &1u64.to_be_bytes()[..],
        )
        .unwrap();
        // A consistent tree over the forged entries...
        let mut tree = CompactTree::new();
        for i in 0..2u64 {
            let entry = db.get(layout::entry_key(i)).unwrap().unwrap();
            tree.append(leaf_hash(&entry), |level, index, hash| {
                db.insert(layout::node_key(level, index), &hash[..])
                    .unwrap();
            });
        }
        // ...under a checkpoint signed with the real log key.
        let origin =
            String::from_utf8(db.get(layout::META_ORIGIN).unwrap().unwrap().to_vec()).unwrap();
        let key = SigningKey::from_pkcs8(&std::fs::read(data.join("log-key.pk8")).unwrap())
            .expect("the log key");
        let signer = NoteSigner::new(&origin, &key).unwrap();
        let cp = Checkpoint {
            origin: origin.clone(),
            size: 2,
            root: tree.root(),
            time: Some(1),
            extensions: Vec::new(),
        };
        let signed = SignedCheckpoint::sign(cp, &signer).unwrap();
        db.insert(layout::META_CHECKPOINT, signed.to_text().as_bytes())
            .unwrap();
        db.flush().unwrap();
    }

    // The tree check passes, so the server may listen; the replay must stop it.
    let deadline = Instant::now() + Duration::from_secs(30);
    match Server::try_start_with_data(&data) {
        Err(stderr) => assert!(stderr.contains("does not verify"), "{stderr}"),
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
            assert!(
                server.stderr().contains("does not verify"),
                "{}",
                server.stderr()
            );
        }
    }
}
