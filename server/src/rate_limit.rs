//! Per-delegation submission rate: a token bucket per statement author (GCRA,
//! from the `governor` crate).
//!
//! The bucket is keyed by the author of a statement whose signature has
//! already verified, so a forger cannot spend another delegation's allowance;
//! and only admitted delegations have verifiable keys, so the map of buckets is
//! bounded by the roster.

use std::num::NonZeroU32;

use entente_shared::statement::DelegationCode;
use governor::{DefaultKeyedRateLimiter, Quota};

/// `author` has spent its allowance for now (answered 429 `rate-limited`).
#[derive(Debug, PartialEq, Eq)]
pub struct RateLimited(pub DelegationCode);

/// Statements per second per delegation, with a burst allowance.
pub struct DelegationLimiter {
    limiter: DefaultKeyedRateLimiter<DelegationCode>,
}

impl DelegationLimiter {
    /// `per_second` sustained, `burst` at once (both at least 1; 0 counts as 1).
    pub fn new(per_second: u32, burst: u32) -> DelegationLimiter {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        DelegationLimiter {
            limiter: governor::RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        }
    }

    /// Takes one statement from `author`'s allowance, or refuses with 429.
    pub fn check(&self, author: &DelegationCode) -> Result<(), RateLimited> {
        self.limiter
            .check_key(author)
            .map_err(|_| RateLimited(*author))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_per_delegation() {
        let limiter = DelegationLimiter::new(1, 3);
        let cz: DelegationCode = "CZ".parse().unwrap();
        let us: DelegationCode = "US".parse().unwrap();
        for _ in 0..3 {
            limiter.check(&cz).unwrap();
        }
        assert_eq!(limiter.check(&cz), Err(RateLimited(cz)));
        // Another delegation has its own bucket.
        limiter.check(&us).unwrap();
    }
}
