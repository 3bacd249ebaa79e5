//! How log data is laid out in the one sled tree, as key prefixes.
//!
//! Everything lives in one tree so that a group commit is one atomic
//! `apply_batch`: entries, the id index, Merkle nodes and the log size land
//! together or not at all.
//!
//! | key | value |
//! |---|---|
//! | `e` + index (u64 BE) | the envelope's canonical JSON (the leaf data) |
//! | `i` + statement id (32 bytes) | index (u64 BE) |
//! | `n` + level (u8) + index (u64 BE) | hash of that perfect subtree (32 bytes) |
//! | `m` + name | metadata: `size` (u64 BE), `checkpoint` (signed note), `origin` |
//! | `c` + tree size (u64 BE) + delegation code | a witness's cosignature of a checkpoint of that size: JSON `{"body", "line", "timestamp"}` |
//!
//! Cosignatures sit outside the log: they are not leaves, nothing hashes
//! them, and losing one loses no history (the witness cosigns again). They
//! are keyed by size and delegation, so each delegation has at most one per
//! tree size (the newest replaces the older) and a checkpoint carries at most
//! as many cosignatures as the roster has delegations. The body is kept
//! because a cosignature covers the whole checkpoint text, time line
//! included: only those over the exact body being served are served.

pub const META_SIZE: &[u8] = b"msize";
pub const META_CHECKPOINT: &[u8] = b"mcheckpoint";
pub const META_ORIGIN: &[u8] = b"morigin";

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

pub fn entry_key(index: u64) -> [u8; 9] {
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

pub fn node_key(level: u8, index: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[0] = b'n';
    k[1] = level;
    k[2..].copy_from_slice(&index.to_be_bytes());
    k
}

/// Reads a big-endian u64 value.
pub fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}
