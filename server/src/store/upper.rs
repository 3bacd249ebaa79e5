//! The upper levels of the Merkle tree, kept in memory.
//!
//! A proof at size n reads about log2(n) perfect-subtree hashes; all but the
//! lowest [`MIN_LEVEL`] levels come from here instead of sled, so an inclusion
//! proof at 1M entries costs 4 sled reads, not 20. Nodes never change once
//! written and each level only grows at its end, so the cache is a vector
//! per level, filled by the start-up check and then by every commit.
//!
//! Memory: one 32-byte hash per 2^MIN_LEVEL leaves on the lowest cached level,
//! about twice that over all levels: ~4 MB per million entries.

use std::sync::RwLock;

use entente_shared::merkle::Hash;

/// The lowest level kept in memory.
pub const MIN_LEVEL: u8 = 4;

/// Perfect-subtree hashes of levels `MIN_LEVEL` and up, by level and index.
#[derive(Default)]
pub struct UpperNodes {
    levels: RwLock<Vec<Vec<Hash>>>,
}

impl UpperNodes {
    /// Records node `level`/`index`. Nodes of a level arrive in index order;
    /// one that does not (a gap) is not cached, and is read from sled instead.
    pub fn record(&self, level: u8, index: u64, hash: &Hash) {
        if level < MIN_LEVEL {
            return;
        }
        let mut levels = self.levels.write().unwrap_or_else(|p| p.into_inner());
        let at = (level - MIN_LEVEL) as usize;
        if levels.len() <= at {
            levels.resize_with(at + 1, Vec::new);
        }
        if levels[at].len() as u64 == index {
            levels[at].push(*hash);
        }
    }

    /// The cached node, if it is one.
    pub fn get(&self, level: u8, index: u64) -> Option<Hash> {
        if level < MIN_LEVEL {
            return None;
        }
        let levels = self.levels.read().unwrap_or_else(|p| p.into_inner());
        let i = usize::try_from(index).ok()?;
        levels.get((level - MIN_LEVEL) as usize)?.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_upper_levels_in_order_only() {
        let up = UpperNodes::default();
        up.record(0, 0, &[1; 32]);
        assert_eq!(up.get(0, 0), None, "low levels stay in sled");
        up.record(MIN_LEVEL, 0, &[2; 32]);
        up.record(MIN_LEVEL, 2, &[3; 32]);
        assert_eq!(up.get(MIN_LEVEL, 0), Some([2; 32]));
        assert_eq!(up.get(MIN_LEVEL, 2), None, "a gap is not cached");
        up.record(MIN_LEVEL + 2, 0, &[4; 32]);
        assert_eq!(up.get(MIN_LEVEL + 2, 0), Some([4; 32]));
        assert_eq!(up.get(MIN_LEVEL + 1, 0), None);
    }
}
