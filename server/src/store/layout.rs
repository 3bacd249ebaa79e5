//! What the sled index holds, as key prefixes, and the files beside it.
//!
//! sled holds only what the segment files can rebuild (see [`super`]):
//!
//! | key | value |
//! |---|---|
//! | `i` + statement id (32 bytes) | index (u64 BE) |
//! | `m` + name | metadata: `size` (u64 BE), `checkpoint` (signed note): the latest checkpoint published, and its size |
//! | `c` + tree size (u64 BE) + delegation code | a witness's cosignature of a checkpoint of that size: JSON `{"body", "line", "timestamp"}` |
//!
//! The checkpoint is the server's memory of what it has published: a log
//! shorter than it at start-up means entries were lost, and the server
//! refuses to sequence rather than hand their indexes out again.
//!
//! Cosignatures sit outside the log: they are not leaves, nothing hashes
//! them, and losing one loses no history (the witness cosigns again). They
//! are keyed by size and delegation, so each delegation has at most one per
//! tree size (the newest replaces the older) and a checkpoint carries at most
//! as many cosignatures as the roster has delegations. The body is kept
//! because a cosignature covers the whole checkpoint text, time line
//! included: only those over the exact body being served are served.
//!
//! The log's origin is a file, [`ORIGIN_FILE`], in the entries folder: it is
//! fixed at first start and cannot be rebuilt.
//!
//! Stores made before the segment files (one sled tree for everything) also
//! have `e` + index → entry, `n` + level + index → Merkle node and
//! `morigin`; [`super::migrate`] moves them out.

pub const META_SIZE: &[u8] = b"msize";
pub const META_CHECKPOINT: &[u8] = b"mcheckpoint";
/// The file holding the origin, in the entries folder.
pub const ORIGIN_FILE: &str = "origin";

/// The older layout's origin key.
pub const LEGACY_ORIGIN: &[u8] = b"morigin";
/// The older layout's prefixes: entries and Merkle nodes.
pub const LEGACY_PREFIXES: [u8; 2] = [b'e', b'n'];

/// Prefix of every cosignature key for tree size `size`.
pub fn cosignature_prefix(size: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'c';
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

/// Key of `code`'s cosignature of the checkpoint of tree size `size`.
pub fn cosignature_key(size: u64, code: &str) -> Vec<u8> {
    let mut k = cosignature_prefix(size).to_vec();
    k.extend_from_slice(code.as_bytes());
    k
}

/// The older layout's key of entry `index`.
pub fn legacy_entry_key(index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'e';
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

pub fn id_key(id: &[u8; 32]) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = b'i';
    k[1..].copy_from_slice(id);
    k
}

/// Reads a big-endian u64 value.
pub fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}
