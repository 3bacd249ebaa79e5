//! Proof verification on attacker-chosen sizes, indexes and hashes: never
//! panics, whatever the numbers (overflow, zero sizes, huge proofs).
#![no_main]

use entente_shared::merkle::{verify_consistency, verify_inclusion, Hash};
use libfuzzer_sys::fuzz_target;

fn split(data: &[u8]) -> (u64, u64, Hash, Hash, Vec<Hash>) {
    let mut word = |at: usize| {
        let mut b = [0u8; 8];
        for (i, x) in b.iter_mut().enumerate() {
            *x = data.get(at + i).copied().unwrap_or(0);
        }
        u64::from_le_bytes(b)
    };
    let (a, b) = (word(0), word(8));
    let mut hash = |at: usize| {
        let mut h = [0u8; 32];
        for (i, x) in h.iter_mut().enumerate() {
            *x = data.get(at + i).copied().unwrap_or(0);
        }
        h
    };
    let (h1, h2) = (hash(16), hash(48));
    let proof = data.get(80..).unwrap_or(&[]).chunks(32).map(|c| {
        let mut h = [0u8; 32];
        h[..c.len()].copy_from_slice(c);
        h
    });
    (a, b, h1, h2, proof.collect())
}

fuzz_target!(|data: &[u8]| {
    let (a, b, h1, h2, proof) = split(data);
    // Small sizes too, where real proofs live.
    for (x, y) in [(a, b), (a % 1024, b % 1024), (a % 17, b % 17)] {
        let _ = verify_inclusion(&h1, x, y, &proof, &h2);
        let _ = verify_consistency(x, y, &h1, &h2, &proof);
    }
});
