//! The fold's first layer over sealed statements: what every verifier,
//! the host included, can check and record without opening them.
//!
//! A sealed statement's signature, key, sequence number, author, role and
//! distribution are checked like any other's (`Ledger::check`); here are the
//! checks of its seal — one wrapped key for each recipient and the author,
//! each to the X25519 key the roster gives that reader now — and the record
//! of what its clear references say: its kind (so a later revision knows
//! its proposal is a proposal) and which assessment it supersedes. The
//! second layer, the content rules, runs in `Ledger::apply_opened` for
//! readers who can open it; a statement that fails them is an
//! [`InvalidEntry`] in those readers' folds, never dropped.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::meta::EntryMeta;
use super::roster::Roster;
use crate::refusal::Refusal;
use crate::statement::{DelegationCode, Kind, Sealed, Statement, StatementId};

/// A sealed statement a reader opened (or tried to) and found breaking a
/// rule: it stays in the log and in the reader's view, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidEntry {
    pub meta: EntryMeta,
    pub kind: Kind,
    pub reason: String,
}

/// What the fold knows of sealed statements without opening them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedIndex {
    /// The kind of every sealed statement.
    kinds: HashMap<StatementId, Kind>,
    /// Every superseded assessment (sealed or not) and what superseded it.
    superseded: HashMap<StatementId, StatementId>,
    /// Sealed statements this fold opened and found invalid, in log order.
    invalid: Vec<InvalidEntry>,
}

impl SealedIndex {
    /// The kind of sealed statement `id`, if it is one.
    pub fn kind(&self, id: &StatementId) -> Option<Kind> {
        self.kinds.get(id).copied()
    }

    /// What superseded assessment `id`, if anything did.
    pub fn superseded_by(&self, id: &StatementId) -> Option<StatementId> {
        self.superseded.get(id).copied()
    }

    pub fn invalid(&self) -> &[InvalidEntry] {
        &self.invalid
    }

    pub(super) fn record(&mut self, id: StatementId, kind: Kind) {
        self.kinds.insert(id, kind);
    }

    pub(super) fn record_supersession(&mut self, old: StatementId, new: StatementId) {
        self.superseded.insert(old, new);
    }

    pub(super) fn mark_invalid(&mut self, entry: InvalidEntry) {
        self.invalid.push(entry);
    }
}

/// The seal's readers against the statement's: one wrapped key for each
/// recipient and for the author, each to the key the roster gives them.
pub fn check_wraps(st: &Statement, sealed: &Sealed, roster: &Roster) -> Result<(), Refusal> {
    let wrapped: BTreeSet<&DelegationCode> = sealed.keys.iter().map(|w| &w.to).collect();
    let readers: BTreeSet<&DelegationCode> = st
        .distribution
        .to
        .iter()
        .chain(std::iter::once(&st.author))
        .collect();
    if wrapped != readers {
        let list = |s: &BTreeSet<&DelegationCode>| {
            s.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        };
        return Err(Refusal::BadSeal(format!(
            "the content key is wrapped for {} but the recipients and the author are {}",
            list(&wrapped),
            list(&readers)
        )));
    }
    for w in &sealed.keys {
        match roster.encryption_key(&w.to) {
            None => {
                return Err(Refusal::BadSeal(format!(
                    "{} has no encryption key in the roster: it must rotate its key before it can receive sealed statements",
                    w.to
                )))
            }
            Some(key) if key.key_id() != w.key => {
                return Err(Refusal::BadSeal(format!(
                    "the key wrapped for {} is to key {}, not to its encryption key in the roster ({})",
                    w.to,
                    w.key,
                    key.key_id()
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}
