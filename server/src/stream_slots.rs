//! How many streams are open, per delegation and in all, and the bound on
//! both: a stream holds a connection for as long as its subscriber likes, so
//! without a bound one key could hold every connection the workers take.
//!
//! A [`Slot`] is taken before the WebSocket handshake and given back when the
//! stream ends, however it ends (drop); `entente_stream_subscribers` follows
//! the slots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use entente_shared::statement::DelegationCode;

use crate::metrics;

/// The open streams.
pub struct StreamSlots {
    per_delegation: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by: HashMap<DelegationCode, usize>,
}

/// Why no slot was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    Delegation { code: DelegationCode, max: usize },
    Server { max: usize },
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Full::Delegation { code, max } => write!(
                f,
                "delegation {code} already holds {max} open streams; close one first"
            ),
            Full::Server { max } => write!(
                f,
                "the server already serves {max} streams; try again later"
            ),
        }
    }
}

/// One open stream; dropping it frees the slot.
pub struct Slot {
    slots: Arc<StreamSlots>,
    code: DelegationCode,
}

impl StreamSlots {
    pub fn new(per_delegation: usize, total: usize) -> StreamSlots {
        StreamSlots {
            per_delegation,
            total,
            open: Mutex::default(),
        }
    }

    /// Takes a slot for `code`, or says which bound is reached.
    pub fn take(self: &Arc<Self>, code: DelegationCode) -> Result<Slot, Full> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.total {
            return Err(Full::Server { max: self.total });
        }
        let mine = open.by.entry(code).or_default();
        if *mine >= self.per_delegation {
            return Err(Full::Delegation {
                code,
                max: self.per_delegation,
            });
        }
        *mine += 1;
        open.total += 1;
        metrics::stream_subscribers().inc();
        Ok(Slot {
            slots: self.clone(),
            code,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(mine) = open.by.get_mut(&self.code) {
            *mine -= 1;
            if *mine == 0 {
                open.by.remove(&self.code);
            }
        }
        metrics::stream_subscribers().dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bounds_hold_and_slots_come_back() {
        let slots = Arc::new(StreamSlots::new(2, 3));
        let (us, de): (DelegationCode, DelegationCode) =
            ("US".parse().unwrap(), "DE".parse().unwrap());
        let a = slots.take(us).unwrap();
        let _b = slots.take(us).unwrap();
        assert_eq!(
            slots.take(us).err(),
            Some(Full::Delegation { code: us, max: 2 })
        );
        let _c = slots.take(de).unwrap();
        assert_eq!(slots.take(de).err(), Some(Full::Server { max: 3 }));
        drop(a);
        assert!(slots.take(us).is_ok());
    }
}
