//! A change counter the sequencer bumps after every commit (entries or
//! cosignatures), for the threads that publish the log elsewhere — the
//! static tile folder and the witness pushers — to wait on. Waiters see the
//! latest count only: many commits while one is busy make one wake-up.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// See the module documentation.
#[derive(Default)]
pub struct Head {
    count: Mutex<u64>,
    changed: Condvar,
}

impl Head {
    /// Says that the store changed.
    pub fn bump(&self) {
        let mut count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        *count += 1;
        self.changed.notify_all();
    }

    /// Waits until the count passes `seen` or `timeout` elapses; returns the
    /// count then.
    pub fn wait_past(&self, seen: u64, timeout: Duration) -> u64 {
        let count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        let (count, _) = self
            .changed
            .wait_timeout_while(count, timeout, |c| *c <= seen)
            .unwrap_or_else(|p| p.into_inner());
        *count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_bump_wakes_a_waiter_and_a_timeout_returns_the_same_count() {
        let head = Arc::new(Head::default());
        assert_eq!(head.wait_past(0, Duration::from_millis(10)), 0);
        let h = head.clone();
        let waiter = std::thread::spawn(move || h.wait_past(0, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        head.bump();
        assert_eq!(waiter.join().unwrap(), 1);
    }
}
