//! The store's own tests: what survives a reopen, what a torn tail and
//! damage do, the older layout's migration and the index's rebuild.

use std::fs::OpenOptions;
use std::io::Write as _;

use entente_shared::dsse::Envelope;
use entente_shared::keys::SigningKey;
use entente_shared::merkle::leaf_hash;

use super::*;

/// `n` signed envelopes (their payloads are not statements: the store does
/// not fold), with ids.
fn envelopes(n: usize) -> Vec<(StatementId, Vec<u8>)> {
    let (key, _) = SigningKey::generate().unwrap();
    (0..n)
        .map(|i| {
            let payload = format!("{{\"entry\":{i},\"pad\":\"{}\"}}", "x".repeat(200)).into_bytes();
            let id = StatementId::of_payload(&payload);
            (id, Envelope::sign(payload, &key).to_canonical_json())
        })
        .collect()
}

/// Commits `entries` as entries `from..` with a stand-in checkpoint text.
fn commit(store: &Store, from: u64, entries: &[(StatementId, Vec<u8>)]) {
    let batch = CommitBatch {
        entries: entries
            .iter()
            .enumerate()
            .map(|(i, (id, bytes))| (from + i as u64, *id, bytes.clone()))
            .collect(),
        nodes: Vec::new(),
        size: from + entries.len() as u64,
        checkpoint: format!("size {}", from + entries.len() as u64),
        cosignatures: Vec::new(),
    };
    store.commit(batch).unwrap();
}

/// Opens the store of `dir`, waiting while sled's background thread of a
/// store just dropped still holds the folder's lock.
fn open(dir: &Path, options: &StoreOptions) -> Result<Opened, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open_with(dir, options) {
            Err(StoreError::Sled(e))
                if migrate::held_by_a_dropped_handle(&e)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Flips the bits `mask` of the byte at `at(file length)` of `path`.
fn flip_byte(path: &Path, at: impl Fn(usize) -> usize, mask: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = at(bytes.len());
    bytes[i] ^= mask;
    std::fs::write(path, &bytes).unwrap();
}

fn small_segments() -> StoreOptions {
    StoreOptions {
        segment_bytes: 1024,
        ..StoreOptions::default()
    }
}

fn last_segment(data: &Path) -> PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(entries_dir(data))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[test]
fn committed_entries_read_back_after_reopening_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(12);
    {
        let opened = open(dir.path(), &small_segments()).unwrap();
        assert!(opened.leaves.is_empty());
        let store = opened.store;
        for from in [0, 3, 6, 9] {
            commit(&store, from as u64, &entries[from..from + 3]);
        }
        assert_eq!(store.size().unwrap(), 12);
        assert_eq!(&*store.entry(7).unwrap().unwrap(), &entries[7].1[..]);
        assert!(store.entry(12).unwrap().is_none());
        assert_eq!(store.index_of(&entries[3].0).unwrap(), Some(3));
    }
    let segments = std::fs::read_dir(entries_dir(dir.path()))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count();
    assert_eq!(segments, 4, "each batch outgrows a 1 KiB segment");
    let opened = open(dir.path(), &small_segments()).unwrap();
    assert!(opened.torn.is_none());
    let leaves: Vec<_> = entries.iter().map(|(_, b)| leaf_hash(b)).collect();
    assert_eq!(opened.leaves, leaves);
    let read: Vec<_> = opened
        .store
        .entries(2, 9)
        .unwrap()
        .into_iter()
        .map(|(i, b)| (i, b.to_vec()))
        .collect();
    let want: Vec<_> = (2..9u64)
        .map(|i| (i, entries[i as usize].1.clone()))
        .collect();
    assert_eq!(read, want);
}

#[test]
fn a_torn_tail_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(3);
    let before = {
        let store = open(dir.path(), &StoreOptions::default()).unwrap().store;
        commit(&store, 0, &entries);
        std::fs::metadata(last_segment(dir.path())).unwrap().len()
    };
    // Half a record: a crash in the middle of the next batch's write.
    let mut record = Vec::new();
    record::encode(3, &entries[0].1, &mut record);
    let mut file = OpenOptions::new()
        .append(true)
        .open(last_segment(dir.path()))
        .unwrap();
    file.write_all(&record[..record.len() / 2]).unwrap();
    drop(file);
    let opened = open(dir.path(), &StoreOptions::default()).unwrap();
    let torn = opened.torn.expect("the torn tail is reported");
    assert_eq!(torn.at, before);
    assert_eq!(torn.bytes, (record.len() / 2) as u64);
    assert_eq!(opened.leaves.len(), 3);
    assert_eq!(
        std::fs::metadata(last_segment(dir.path())).unwrap().len(),
        before
    );
}

#[test]
fn an_unpublished_last_record_that_fails_its_checksum_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(3);
    {
        let store = open(dir.path(), &StoreOptions::default()).unwrap().store;
        commit(&store, 0, &entries[..2]);
        // Appended but never published (the crash came before the index write).
        store.segments.append(&[(2, entries[2].1.clone())]).unwrap();
    }
    flip_byte(&last_segment(dir.path()), |n| n - 3, 0x20);
    let opened = open(dir.path(), &StoreOptions::default()).unwrap();
    assert!(opened.torn.is_some());
    assert_eq!(opened.leaves.len(), 2);
}

#[test]
fn damage_to_a_published_entry_stops_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(3);
    commit(
        &open(dir.path(), &StoreOptions::default()).unwrap().store,
        0,
        &entries,
    );
    // In the last record: still the tail of the file, but published.
    flip_byte(&last_segment(dir.path()), |n| n - 3, 0x20);
    match open(dir.path(), &StoreOptions::default()) {
        Err(StoreError::Corrupt(why)) => assert!(why.contains("entry 2"), "{why}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a damaged published entry was opened"),
    }
}

#[test]
fn damage_inside_the_log_stops_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(3);
    {
        let store = open(dir.path(), &StoreOptions::default()).unwrap().store;
        commit(&store, 0, &entries[..1]);
        // Not yet published, but not the tail: damage, not a tear.
        store.segments.append(&[(1, entries[1].1.clone())]).unwrap();
        store.segments.append(&[(2, entries[2].1.clone())]).unwrap();
    }
    let second = record::framed_len(entries[0].1.len()) + record::HEADER + 5;
    flip_byte(&last_segment(dir.path()), |_| second, 0x01);
    assert!(matches!(
        open(dir.path(), &StoreOptions::default()),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn a_store_of_the_older_layout_is_moved_into_segments() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(5);
    {
        let db = sled::open(index_dir(dir.path())).unwrap();
        for (i, (id, bytes)) in entries.iter().enumerate() {
            db.insert(layout::legacy_entry_key(i as u64), bytes.clone())
                .unwrap();
            db.insert(layout::id_key(&id.0), &(i as u64).to_be_bytes()[..])
                .unwrap();
            let mut node = vec![b'n', 0];
            node.extend_from_slice(&(i as u64).to_be_bytes());
            db.insert(node, &[7u8; 32][..]).unwrap();
        }
        db.insert(layout::META_SIZE, &5u64.to_be_bytes()[..])
            .unwrap();
        db.insert(layout::META_CHECKPOINT, &b"checkpoint"[..])
            .unwrap();
        db.insert(layout::LEGACY_ORIGIN, &b"old.example/log"[..])
            .unwrap();
        let cosignature = StoredCosignature {
            body: "body".into(),
            line: "line\n".into(),
            timestamp: 9,
        };
        db.insert(
            layout::cosignature_key(5, "US"),
            serde_json::to_vec(&cosignature).unwrap(),
        )
        .unwrap();
        db.flush().unwrap();
    }
    let opened = open(dir.path(), &StoreOptions::default()).unwrap();
    assert_eq!(opened.migrated, Some(5));
    let store = opened.store;
    assert_eq!(opened.leaves.len(), 5);
    assert_eq!(store.origin().unwrap().as_deref(), Some("old.example/log"));
    assert_eq!(store.size().unwrap(), 5);
    assert_eq!(&*store.entry(4).unwrap().unwrap(), &entries[4].1[..]);
    assert_eq!(store.index_of(&entries[2].0).unwrap(), Some(2));
    assert!(store.db.scan_prefix([b'e']).next().is_none());
    assert!(store.db.scan_prefix([b'n']).next().is_none());
    assert!(store.db.get(layout::LEGACY_ORIGIN).unwrap().is_none());
    assert_eq!(store.checkpoint().unwrap().as_deref(), Some("checkpoint"));
    assert_eq!(
        store.cosignature(5, "US").unwrap().map(|c| c.timestamp),
        Some(9)
    );
    assert!(!dir.path().join("log.compact").exists() && !dir.path().join("log.legacy").exists());
    drop(store);
    let again = open(dir.path(), &StoreOptions::default()).unwrap();
    assert_eq!(again.migrated, None);
    assert_eq!(again.leaves.len(), 5);
}

#[test]
fn an_index_left_with_old_keys_by_a_crash_is_compacted_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(2);
    {
        let store = open(dir.path(), &StoreOptions::default()).unwrap().store;
        commit(&store, 0, &entries);
        // What a move cut short before its compaction leaves in the index.
        store
            .db
            .insert(layout::legacy_entry_key(0), entries[0].1.clone())
            .unwrap();
        store.db.flush().unwrap();
    }
    let store = open(dir.path(), &StoreOptions::default()).unwrap().store;
    assert!(store.db.scan_prefix([b'e']).next().is_none());
    assert_eq!(store.index_of(&entries[1].0).unwrap(), Some(1));
    assert_eq!(store.size().unwrap(), 2);
}

#[test]
fn a_missing_index_is_rebuilt_from_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    let entries = envelopes(4);
    {
        let store = open(dir.path(), &StoreOptions::default()).unwrap().store;
        store.set_origin("o.example/log").unwrap();
        commit(&store, 0, &entries);
    }
    std::fs::remove_dir_all(index_dir(dir.path())).unwrap();
    let opened = open(dir.path(), &StoreOptions::default()).unwrap();
    let store = opened.store;
    assert_eq!(
        store.size().unwrap(),
        0,
        "nothing published as far as the new index knows"
    );
    assert_eq!(store.held(), 4);
    assert_eq!(store.index_of(&entries[1].0).unwrap(), None);
    store.reindex(0, 4).unwrap();
    assert_eq!(store.index_of(&entries[1].0).unwrap(), Some(1));
    assert_eq!(store.origin().unwrap().as_deref(), Some("o.example/log"));
}

#[test]
fn options_reach_sleds_config() {
    let options = StoreOptions {
        cache_bytes: 5 << 20,
        compression: true,
        segment_bytes: 1 << 20,
    };
    let config = sled_config(Path::new("/nonexistent"), &options);
    assert_eq!(config.cache_capacity, 5 << 20);
    assert!(config.use_compression);
    assert_eq!(config.compression_factor, 3);
    let config = sled_config(Path::new("/nonexistent"), &StoreOptions::default());
    assert_eq!(config.cache_capacity, 64 << 20);
    assert!(!config.use_compression);
}
