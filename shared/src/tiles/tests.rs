//! Tile paths and widths as the spec gives them, and proofs from tiles equal
//! to proofs from the whole tree.

use std::collections::HashMap;
use std::convert::Infallible;

use proptest::prelude::*;

use super::*;
use crate::merkle::{consistency_proof, inclusion_proof, leaf_hash, root, MemoryTree};

fn tree(size: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..size {
        t.push(leaf_hash(&i.to_be_bytes()));
    }
    t
}

/// Every tile of `size` leaves, as a static folder would hold it.
fn folder(t: &MemoryTree, size: u64) -> HashMap<String, Vec<u8>> {
    all_tiles(size)
        .into_iter()
        .map(|tile| (tile.path(), tile_bytes(t, tile).unwrap()))
        .collect()
}

#[test]
fn paths() {
    let t = |level, index, width| Tile {
        level,
        index,
        width,
    };
    assert_eq!(t(0, 0, 256).path(), "tile/0/000");
    assert_eq!(t(0, 1234067, 256).path(), "tile/0/x001/x234/067");
    assert_eq!(t(1, 1000, 256).path(), "tile/1/x001/000");
    assert_eq!(t(0, 1234, 5).path(), "tile/0/x001/234.p/5");
    assert_eq!(t(2, 0, 1).path(), "tile/2/000.p/1");
}

#[test]
fn the_specs_examples() {
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles,
    // one partial level 0 tile of width 112, one full level 1 tile, one
    // partial level 1 tile of width 17, and one partial level 2 tile of width 1"
    let tiles = all_tiles(70_000);
    let count = |level, full: bool| {
        tiles
            .iter()
            .filter(|t| t.level == level && t.is_full() == full)
            .count()
    };
    assert_eq!(count(0, true), 273);
    assert_eq!(count(1, true), 1);
    let partial: Vec<_> = tiles.iter().filter(|t| !t.is_full()).collect();
    assert_eq!(partial.len(), 3);
    assert_eq!((partial[0].level, partial[0].width), (0, 112));
    assert_eq!((partial[1].level, partial[1].width), (1, 17));
    assert_eq!((partial[2].level, partial[2].width), (2, 1));
    // "a tree of size 256 will be represented by a full level 0 tile and a
    // partial level 1 tile of width 1"
    let tiles = all_tiles(256);
    assert_eq!(tiles.len(), 2);
    assert!(tiles[0].is_full() && tiles[0].level == 0);
    assert_eq!((tiles[1].level, tiles[1].width), (1, 1));
    assert!(all_tiles(0).is_empty());
}

#[test]
fn level_one_hashes_are_roots_of_full_level_zero_tiles() {
    let t = tree(600);
    let level1 = tile_bytes(
        &t,
        Tile {
            level: 1,
            index: 0,
            width: 2,
        },
    )
    .unwrap();
    assert_eq!(&level1[..32], &root(&t, 256).unwrap());
}

#[test]
fn proofs_from_tiles_equal_proofs_from_the_tree() {
    for size in [1u64, 2, 255, 256, 257, 511, 512, 1000, 65_536 + 300] {
        let t = tree(size);
        let files = folder(&t, size);
        let reader = TileReader::new(size, |path: &str| {
            files.get(path).cloned().ok_or_else(|| format!("no {path}"))
        });
        assert_eq!(
            root(&reader, size).unwrap(),
            root(&t, size).unwrap(),
            "{size}"
        );
        for index in [0, size / 2, size - 1] {
            assert_eq!(
                inclusion_proof(&reader, index, size).unwrap(),
                inclusion_proof(&t, index, size).unwrap()
            );
        }
        for old in [1, size / 3, size - 1, size].into_iter().filter(|&o| o > 0) {
            assert_eq!(
                consistency_proof(&reader, old, size).unwrap(),
                consistency_proof(&t, old, size).unwrap()
            );
        }
    }
}

#[test]
fn a_short_tile_is_refused() {
    let reader = TileReader::new(10, |_: &str| Ok::<_, Infallible>(vec![0u8; 31]));
    assert!(matches!(
        reader.node(0, 3),
        Err(TileError::WrongLength { .. })
    ));
    assert!(matches!(
        reader.node(0, 10),
        Err(TileError::OutOfTree { .. })
    ));
}

proptest! {
    /// Writing the changed tiles after each growth leaves a folder with every
    /// tile of the final size, each with the right bytes.
    #[test]
    fn growth_writes_every_tile(steps in prop::collection::vec(1u64..700, 1..6)) {
        let total: u64 = steps.iter().sum();
        let t = tree(total);
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        let mut size = 0;
        for step in steps {
            let new = size + step;
            for tile in changed_tiles(size, new) {
                files.insert(tile.path(), tile_bytes(&t, tile).unwrap());
            }
            size = new;
        }
        for (path, bytes) in folder(&t, total) {
            prop_assert_eq!(files.get(&path), Some(&bytes), "{}", path);
        }
    }
}
