//! Every perfect Merkle subtree hash of the log, kept in memory.
//!
//! A proof at size n reads about log2(n) perfect-subtree hashes. They are
//! all here: the start-up check computes them from the segments (it hashes
//! every entry anyway), and each commit adds the ones it completes. Nodes
//! never change once written and each level only grows at its end, so this
//! is a vector per level. Memory: two 32-byte hashes per entry over all
//! levels, 64 MB per million entries; nothing of it is on disk.

use std::sync::RwLock;

use entente_shared::merkle::Hash;

/// Perfect-subtree hashes by level and index.
#[derive(Default)]
pub struct MemoryNodes {
    levels: RwLock<Vec<Vec<Hash>>>,
}

impl MemoryNodes {
    /// Takes every level of a tree computed elsewhere (`levels[level][index]`).
    pub fn replace(&self, levels: Vec<Vec<Hash>>) {
        *self.levels.write().unwrap_or_else(|p| p.into_inner()) = levels;
    }

    /// Records node `level`/`index`, which must be the next of its level.
    /// Returns false (and records nothing) for any other.
    pub fn record(&self, level: u8, index: u64, hash: &Hash) -> bool {
        let mut levels = self.levels.write().unwrap_or_else(|p| p.into_inner());
        let at = usize::from(level);
        if levels.len() <= at {
            levels.resize_with(at + 1, Vec::new);
        }
        if levels[at].len() as u64 != index {
            return false;
        }
        levels[at].push(*hash);
        true
    }

    /// The node, if it is complete.
    pub fn get(&self, level: u8, index: u64) -> Option<Hash> {
        let levels = self.levels.read().unwrap_or_else(|p| p.into_inner());
        let i = usize::try_from(index).ok()?;
        levels.get(usize::from(level))?.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_each_level_in_order() {
        let nodes = MemoryNodes::default();
        assert!(nodes.record(0, 0, &[1; 32]));
        assert!(!nodes.record(0, 2, &[3; 32]), "a gap is refused");
        assert_eq!(nodes.get(0, 0), Some([1; 32]));
        assert_eq!(nodes.get(0, 2), None);
        assert!(nodes.record(3, 0, &[4; 32]));
        assert_eq!(nodes.get(3, 0), Some([4; 32]));
        assert_eq!(nodes.get(2, 0), None);
        nodes.replace(vec![vec![[9; 32]]]);
        assert_eq!(nodes.get(0, 0), Some([9; 32]));
        assert_eq!(nodes.get(3, 0), None);
    }
}
