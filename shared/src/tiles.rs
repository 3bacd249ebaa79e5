//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): the log's Merkle tree as
//! static files, so that any web server, object store or CDN can serve
//! proofs without the log server.
//!
//! A tile at level `L` is up to 256 consecutive hashes: at level 0 the leaf
//! hashes, at level `L` the roots of the full subtrees of `256^L` leaves. Tile
//! `N` of level `L` is served at `tile/<L>/<N>` when full (8,192 bytes) and at
//! `tile/<L>/<N>.p/<W>` while it holds only `W` (1–255) hashes; `N` is written
//! in zero-padded groups of three digits, all but the last prefixed `x`
//! (`1234067` → `x001/x234/067`).
//!
//! The writer side ([`changed_tiles`], [`tile_bytes`]) says which tiles a tree
//! growing from one size to another changes and what they hold; the reader
//! side ([`TileReader`]) is a [`NodeSource`] over fetched tiles, so the same
//! proof code that serves the API computes inclusion and consistency proofs
//! from tiles, and verifying them against a checkpoint needs nothing else.
//!
//! Entry bundles (`tile/entries/...`) are not part of Entente's static tiles:
//! see `docs/protocol.md`, "Static tiles".

use std::cell::RefCell;
use std::collections::HashMap;

use crate::merkle::{node_hash, Hash, NodeSource};

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Merkle levels a tile spans.
pub const TILE_HEIGHT: u32 = 8;
/// Bytes of one hash in a tile.
const HASH_LEN: usize = 32;

/// One tile: its level, index and width (256 when full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    pub level: u8,
    pub index: u64,
    pub width: u64,
}

impl Tile {
    /// The path under the log's prefix, e.g. `tile/0/x001/234.p/5`.
    pub fn path(&self) -> String {
        let mut out = format!("tile/{}/{}", self.level, encode_index(self.index));
        if self.width < TILE_WIDTH {
            out.push_str(&format!(".p/{}", self.width));
        }
        out
    }

    /// Whether it holds all 256 hashes.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tile at `level` that holds unit `unit` (a hash of that level) in
    /// a tree of `size` leaves, as wide as that tree makes it.
    fn holding(level: u8, unit: u64, size: u64) -> Tile {
        let index = unit / TILE_WIDTH;
        let units = units_at(level, size);
        Tile {
            level,
            index,
            width: (units - index * TILE_WIDTH).min(TILE_WIDTH),
        }
    }
}

/// `N` in groups of three digits: `x001/x234/067`.
fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// Hashes at tile level `level` in a tree of `size` leaves: the full
/// subtrees of `256^level` leaves.
fn units_at(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * TILE_HEIGHT;
    if shift >= 64 {
        0
    } else {
        size >> shift
    }
}

/// The tiles whose content differs between a tree of `old` leaves and one of
/// `new` (a partial tile that grew, or new tiles), lowest level first. Each
/// is given as wide as the tree of `new` leaves makes it.
pub fn changed_tiles(old: u64, new: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    if new <= old {
        return out;
    }
    for level in 0u8..8 {
        let (before, after) = (units_at(level, old), units_at(level, new));
        if after == before {
            break;
        }
        for index in before / TILE_WIDTH..=(after - 1) / TILE_WIDTH {
            out.push(Tile::holding(level, index * TILE_WIDTH, new));
        }
    }
    out
}

/// Every tile a tree of `size` leaves has (each partial one as that size
/// makes it), lowest level first.
pub fn all_tiles(size: u64) -> Vec<Tile> {
    changed_tiles(0, size)
}

/// The bytes of `tile`: its hashes, concatenated.
pub fn tile_bytes<S: NodeSource>(src: &S, tile: Tile) -> Result<Vec<u8>, S::Error> {
    let level = (u32::from(tile.level) * TILE_HEIGHT) as u8;
    let mut out = Vec::with_capacity(tile.width as usize * HASH_LEN);
    for i in 0..tile.width {
        out.extend_from_slice(&src.node(level, tile.index * TILE_WIDTH + i)?);
    }
    Ok(out)
}

/// Why a proof could not be computed from tiles.
#[derive(Debug, thiserror::Error)]
pub enum TileError<E: std::fmt::Display> {
    #[error("fetching {path}: {error}")]
    Fetch { path: String, error: E },
    #[error("{path} holds {got} bytes, not {want}")]
    WrongLength {
        path: String,
        got: usize,
        want: usize,
    },
    #[error("node {level}/{index} is not in a tree of {size} leaves")]
    OutOfTree { level: u8, index: u64, size: u64 },
}

/// A [`NodeSource`] over the tiles of a tree of `size` leaves, fetched once
/// each through `fetch(path)`. What it returns is unverified: check a proof
/// computed from it against a signed checkpoint's root.
pub struct TileReader<F, E> {
    size: u64,
    fetch: F,
    cache: RefCell<HashMap<Tile, Vec<Hash>>>,
    _error: std::marker::PhantomData<E>,
}

impl<F, E> TileReader<F, E>
where
    F: Fn(&str) -> Result<Vec<u8>, E>,
    E: std::fmt::Display,
{
    /// A reader for the tree of `size` leaves (the checkpoint's size).
    pub fn new(size: u64, fetch: F) -> Self {
        TileReader {
            size,
            fetch,
            cache: RefCell::new(HashMap::new()),
            _error: std::marker::PhantomData,
        }
    }

    /// Tiles fetched so far.
    pub fn fetched(&self) -> usize {
        self.cache.borrow().len()
    }

    fn hashes(&self, tile: Tile) -> Result<Vec<Hash>, TileError<E>> {
        if let Some(h) = self.cache.borrow().get(&tile) {
            return Ok(h.clone());
        }
        let path = tile.path();
        let bytes = (self.fetch)(&path).map_err(|error| TileError::Fetch {
            path: path.clone(),
            error,
        })?;
        let want = tile.width as usize * HASH_LEN;
        if bytes.len() != want {
            return Err(TileError::WrongLength {
                path,
                got: bytes.len(),
                want,
            });
        }
        let hashes: Vec<Hash> = bytes
            .chunks_exact(HASH_LEN)
            .map(|c| c.try_into().expect("32-byte chunks"))
            .collect();
        self.cache.borrow_mut().insert(tile, hashes.clone());
        Ok(hashes)
    }
}

impl<F, E> NodeSource for TileReader<F, E>
where
    F: Fn(&str) -> Result<Vec<u8>, E>,
    E: std::fmt::Display,
{
    type Error = TileError<E>;

    /// The root of the complete subtree `index` at Merkle `level`: read from
    /// the tile of level `level / 8`, hashing the `2^(level % 8)` hashes under
    /// it.
    fn node(&self, level: u8, index: u64) -> Result<Hash, TileError<E>> {
        let out_of_tree = TileError::OutOfTree {
            level,
            index,
            size: self.size,
        };
        let tile_level = (u32::from(level) / TILE_HEIGHT) as u8;
        let rise = u32::from(level) % TILE_HEIGHT;
        let first = index.checked_shl(rise).ok_or(out_of_tree)?;
        let count = 1u64 << rise;
        let end = first.checked_add(count);
        if end.is_none_or(|end| end > units_at(tile_level, self.size)) {
            return Err(TileError::OutOfTree {
                level,
                index,
                size: self.size,
            });
        }
        let tile = Tile::holding(tile_level, first, self.size);
        let hashes = self.hashes(tile)?;
        let start = (first - tile.index * TILE_WIDTH) as usize;
        let mut row: Vec<Hash> = hashes[start..start + count as usize].to_vec();
        while row.len() > 1 {
            row = row
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
        }
        Ok(row[0])
    }
}

#[cfg(test)]
mod tests;
