//! Nonces of verified signed requests, remembered while their signature could
//! still be accepted, so that no request is served twice (RFC 9421 `nonce`).
//!
//! Each key has its own bounded share: at most `per_key` nonces inside the
//! window. A key past its share is refused (429 `rate-limited`) instead of
//! forgetting a nonce, which would reopen a replay; other keys are not
//! affected, so one delegation reading hard cannot lock the others out. Only
//! requests whose signature verified under an active roster key take a slot,
//! so the whole cache is bounded by the active keys times `per_key`.
//!
//! Nonces are kept as 128-bit digests (a collision would only refuse an
//! honest request, with odds of about 2^-100 at a full share) in a min-heap
//! by expiry, so forgetting expired ones costs O(log n) each, not a scan.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

use entente_shared::keys::KeyId;
use ring::digest::{digest, SHA256};

/// A nonce's digest.
type NonceDigest = [u8; 16];

/// Why a nonce was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum NonceError {
    /// The same key used this nonce inside the window.
    Replayed,
    /// The key holds `per_key` nonces that are all still inside the window.
    KeyFull { per_key: usize },
}

/// One key's nonces.
#[derive(Default)]
struct KeyNonces {
    until: HashMap<NonceDigest, i64>,
    /// `(expires_at, nonce)`, soonest first.
    order: BinaryHeap<Reverse<(i64, NonceDigest)>>,
}

impl KeyNonces {
    /// Forgets the nonces that have expired at `now`.
    fn expire(&mut self, now: i64) {
        while let Some(&Reverse((expires_at, nonce))) = self.order.peek() {
            if expires_at >= now {
                break;
            }
            self.order.pop();
            if self.until.get(&nonce) == Some(&expires_at) {
                self.until.remove(&nonce);
            }
        }
    }
}

/// The replay cache (see the module docs).
pub struct ReplayCache {
    per_key: usize,
    keys: Mutex<Keys>,
}

#[derive(Default)]
struct Keys {
    by_key: HashMap<KeyId, KeyNonces>,
    /// Inserts since the last sweep of idle keys.
    since_sweep: usize,
}

/// Sweep every key's expired nonces (and drop emptied keys) this often.
const SWEEP_EVERY: usize = 4096;

impl ReplayCache {
    /// A cache holding at most `per_key` live nonces for each key.
    pub fn new(per_key: usize) -> ReplayCache {
        ReplayCache {
            per_key,
            keys: Mutex::new(Keys::default()),
        }
    }

    /// Remembers `nonce` of `key` until `expires_at` (UNIX seconds); refuses
    /// one the key used before that has not expired at `now`.
    pub fn insert(
        &self,
        key: &KeyId,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), NonceError> {
        let mut nonce_digest = [0u8; 16];
        nonce_digest.copy_from_slice(&digest(&SHA256, nonce.as_bytes()).as_ref()[..16]);
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.since_sweep += 1;
        if keys.since_sweep >= SWEEP_EVERY {
            keys.since_sweep = 0;
            keys.by_key.retain(|_, nonces| {
                nonces.expire(now);
                !nonces.until.is_empty()
            });
        }
        let nonces = keys.by_key.entry(*key).or_default();
        nonces.expire(now);
        if nonces.until.get(&nonce_digest).is_some_and(|&t| t >= now) {
            return Err(NonceError::Replayed);
        }
        if nonces.until.len() >= self.per_key {
            return Err(NonceError::KeyFull {
                per_key: self.per_key,
            });
        }
        nonces.until.insert(nonce_digest, expires_at);
        nonces.order.push(Reverse((expires_at, nonce_digest)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> KeyId {
        format!("{:032x}", n).parse().unwrap()
    }

    #[test]
    fn a_repeated_nonce_is_refused_until_it_expires() {
        let c = ReplayCache::new(10);
        c.insert(&key(1), "a", 100, 0).unwrap();
        assert_eq!(c.insert(&key(1), "a", 100, 50), Err(NonceError::Replayed));
        // The same nonce from another key is another request.
        c.insert(&key(2), "a", 100, 50).unwrap();
        // Expired: the signature itself would now be refused as too old.
        c.insert(&key(1), "a", 300, 101).unwrap();
    }

    #[test]
    fn a_full_key_is_refused_and_the_others_are_not() {
        let c = ReplayCache::new(2);
        c.insert(&key(1), "a", 100, 0).unwrap();
        c.insert(&key(1), "b", 10, 0).unwrap();
        assert_eq!(
            c.insert(&key(1), "c", 100, 5),
            Err(NonceError::KeyFull { per_key: 2 })
        );
        c.insert(&key(2), "c", 100, 5).unwrap();
        // Once "b" has expired its slot is free again; "a" is still remembered.
        c.insert(&key(1), "c", 100, 11).unwrap();
        assert_eq!(c.insert(&key(1), "a", 100, 50), Err(NonceError::Replayed));
    }

    #[test]
    fn idle_keys_are_swept() {
        // One nonce each for SWEEP_EVERY - 1 distinct keys, all expiring at 10:
        // no insert reaches the sweep yet, so every key is still held.
        let c = ReplayCache::new(1);
        let many = |n: usize| -> KeyId { format!("{n:032x}").parse().unwrap() };
        for n in 0..SWEEP_EVERY - 1 {
            c.insert(&many(n), "n", 10, 0).unwrap();
        }
        assert_eq!(c.keys.lock().unwrap().by_key.len(), SWEEP_EVERY - 1);
        // Long after they expired, the next insert (another key) triggers the
        // sweep: only the sweep can drop keys that are never used again.
        c.insert(&many(SWEEP_EVERY), "n", 1_000, 500).unwrap();
        let keys = c.keys.lock().unwrap();
        assert_eq!(
            keys.by_key.len(),
            1,
            "idle keys with only expired nonces were kept"
        );
        assert!(keys.by_key.contains_key(&many(SWEEP_EVERY)));
    }
}
