//! Part 2 of the start-up check: the stored entries must be a log the fold
//! accepts.
//!
//! The [`Ledger`] is read from the fold snapshot (see [`crate::snapshot`])
//! when its size and root match the stored tree, and only the entries after
//! it are replayed; without a usable snapshot every entry is
//! ([`replay_fold`]). Replaying runs the shared [`Replay`] over each stored
//! entry — canonical form, signature, roster rules — and checks that the id
//! index points at it: one Ed25519 verification per entry, the slow part.

use entente_shared::ledger::replay::Entry;
use entente_shared::ledger::{Ledger, Replay};
use entente_shared::merkle;

use super::tree::corrupt;
use crate::snapshot;
use crate::store::{Store, StoreError};

/// Part 2: the fold accepts every entry in `[0, size)` again, signatures included.
pub fn replay_fold(store: &Store, size: u64) -> Result<Ledger, StoreError> {
    replay_onto(store, Ledger::new(), size)
}

/// How [`restore_fold`] rebuilt the fold.
pub struct Restored {
    pub ledger: Ledger,
    /// Entries that came from the snapshot (0: none was used).
    pub from_snapshot: u64,
    /// Why a snapshot on disk was not used, if one was not.
    pub snapshot_refused: Option<String>,
}

/// Part 2 with a snapshot: the fold of the first `size` entries, from
/// `loaded` (what [`snapshot::load`] read, possibly while part 1 ran) when it
/// belongs to this tree, plus a replay of the entries after it.
pub fn restore_fold(
    store: &Store,
    size: u64,
    loaded: snapshot::Loaded,
) -> Result<Restored, StoreError> {
    let (start, refused) = match loaded {
        Ok(None) => (Ledger::new(), None),
        Ok(Some((header, ledger))) => match snapshot_fits(store, size, &header) {
            Ok(()) => (ledger, None),
            Err(why) => (Ledger::new(), Some(why)),
        },
        Err(e) => (Ledger::new(), Some(e.to_string())),
    };
    let from_snapshot = start.size();
    Ok(Restored {
        ledger: replay_onto(store, start, size)?,
        from_snapshot,
        snapshot_refused: refused,
    })
}

/// Whether a snapshot with `header` is a fold of this store's first entries.
fn snapshot_fits(store: &Store, size: u64, header: &snapshot::Header) -> Result<(), String> {
    if header.size > size {
        return Err(format!(
            "it folds {} entries, the log holds {size}",
            header.size
        ));
    }
    let root = merkle::root(store, header.size).map_err(|e| e.to_string())?;
    if root != header.root {
        return Err(format!(
            "the log's root at {} is not the snapshot's",
            header.size
        ));
    }
    Ok(())
}

/// Replays entries `ledger.size()..size` onto `ledger`.
fn replay_onto(store: &Store, ledger: Ledger, size: u64) -> Result<Ledger, StoreError> {
    let mut replay = Replay::resume(ledger);
    for item in store.entries_from(replay.ledger().size()) {
        let (index, bytes) = item?;
        if index >= size {
            break;
        }
        if index != replay.ledger().size() {
            return Err(corrupt(format!(
                "entry {} is missing",
                replay.ledger().size()
            )));
        }
        // "fold replay" in the message: the tree check never says it, so a
        // refusal here is told apart from one there.
        let refused = |e: entente_shared::refusal::Refusal| {
            corrupt(format!("fold replay refused entry {index}: {e}"))
        };
        let entry = Entry::from_stored(&bytes).map_err(refused)?;
        let Some(verified) = replay.next(entry).map_err(refused)? else {
            continue;
        };
        if store.index_of(&verified.id())? != Some(index) {
            return Err(corrupt(format!(
                "entry {index}: the id index does not point at it"
            )));
        }
    }
    let ledger = replay.finish();
    if ledger.size() != size {
        return Err(corrupt(format!(
            "entries {}..{size} are not all present",
            ledger.size()
        )));
    }
    Ok(ledger)
}
