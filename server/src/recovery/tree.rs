//! Part 1 of the start-up check, before the server listens: the tree of the
//! entries the segments hold, and the sled index brought level with it.
//!
//! Opening the store read every segment through and hashed every entry (see
//! `store::segments`). Here the whole tree is computed from those leaves and
//! handed to the store (its nodes live in memory), and it is held against
//! the latest checkpoint this server published, which must verify under the
//! log key:
//! - a log shorter than that checkpoint has lost entries: refused
//!   ([`StoreError::Lost`]), so that their indexes are never handed out again
//!   (which would fork the log that witnesses and clients saw);
//! - a log whose first entries are not the ones that checkpoint covers was
//!   changed: refused;
//! - a log longer than it (the index was behind at a crash, or rebuilt) has
//!   the ids of the newer entries indexed, and the caller signs a checkpoint
//!   of the whole tree ([`TreeReport::stale`]).

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::merkle::{CompactTree, Hash, MemoryTree};
use entente_shared::note::NoteVerifier;

use crate::store::{Store, StoreError};

/// What the tree check established.
pub struct TreeReport {
    pub tree: CompactTree,
    /// Whether the latest published checkpoint is of a smaller tree (or
    /// missing): a new one must be signed before sequencing.
    pub stale: bool,
}

/// Part 1: the entries' tree, consistent with what was published.
pub fn check_tree(
    store: &Store,
    leaves: Vec<Hash>,
    log_key: &NoteVerifier,
) -> Result<TreeReport, StoreError> {
    let held = leaves.len() as u64;
    let published = store.size()?;
    // The checkpoint first: a bad signature needs no hashing to be refused.
    let checkpoint = match store.checkpoint()? {
        None if published == 0 => None,
        None => return Err(corrupt("a size but no checkpoint".into())),
        Some(text) => Some(
            SignedCheckpoint::parse_and_verify(&text, log_key)
                .map_err(|e| corrupt(format!("stored checkpoint: {e}")))?
                .checkpoint,
        ),
    };
    if let Some(cp) = &checkpoint {
        if cp.size != published {
            return Err(corrupt(format!(
                "the stored size ({published}) is not the checkpoint's ({})",
                cp.size
            )));
        }
    }
    if published > held {
        return Err(StoreError::Lost {
            published,
            held,
            dir: store.entries_dir().to_owned(),
        });
    }
    let mut memory = MemoryTree::new();
    for leaf in leaves {
        memory.push(leaf);
    }
    if let Some(cp) = &checkpoint {
        let root = memory
            .root_at(cp.size)
            .map_err(|e| corrupt(format!("the tree at {}: {e}", cp.size)))?;
        if root != cp.root {
            return Err(corrupt(format!(
                "the entries do not match the checkpoint this server published (size {})",
                cp.size
            )));
        }
    }
    let tree = CompactTree::restore(&memory, held)
        .map_err(|e| corrupt(format!("rebuilding the tree border: {e}")))?;
    if published < held {
        store.reindex(published, held)?;
    }
    store.set_nodes(memory.into_levels());
    Ok(TreeReport {
        tree,
        stale: published < held,
    })
}

pub(super) fn corrupt(msg: String) -> StoreError {
    StoreError::Corrupt(msg)
}
