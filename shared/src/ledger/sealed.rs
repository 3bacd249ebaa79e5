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
use crate::statement::{DelegationCode, Distribution, Kind, Sealed, Statement, StatementId};
use crate::visibility::{may_read, Reader};

/// A sealed statement a reader opened (or tried to) and found breaking a
/// rule: it stays in the log and in the reader's view, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidEntry {
    pub meta: EntryMeta,
    pub kind: Kind,
    pub reason: String,
}

/// What the fold knows of sealed statements without opening them, and the
/// facts every verifier takes from clear references alike (supersessions,
/// amendments and their decisions), so that none of them depends on what a
/// reader could open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedIndex {
    /// The kind of every sealed statement.
    kinds: HashMap<StatementId, Kind>,
    /// Every superseded assessment (sealed or not) and what superseded it.
    superseded: HashMap<StatementId, StatementId>,
    /// Sealed statements this fold opened and found invalid, in log order.
    invalid: Vec<InvalidEntry>,
    /// Every amendment (sealed or not) and the proposal it amends, from its
    /// clear reference.
    #[serde(default)]
    amendments: HashMap<StatementId, StatementId>,
    /// Every decided amendment (sealed or not) and the revision or
    /// rejection that decided it, from their clear references.
    #[serde(default)]
    decided: HashMap<StatementId, StatementId>,
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

    /// The proposal amendment `id` amends, if it is an amendment.
    pub fn amendment_of(&self, id: &StatementId) -> Option<StatementId> {
        self.amendments.get(id).copied()
    }

    /// What decided amendment `id`, if anything did.
    pub fn decided_by(&self, id: &StatementId) -> Option<StatementId> {
        self.decided.get(id).copied()
    }

    pub(super) fn record_amendment(&mut self, id: StatementId, proposal: StatementId) {
        self.amendments.insert(id, proposal);
    }

    pub(super) fn record_decision(&mut self, amendment: StatementId, by: StatementId) {
        self.decided.insert(amendment, by);
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

/// Who a sealed statement by `author` under `distribution` is wrapped for:
/// its author and every named recipient who may read it
/// (`visibility::may_read`) — an observer reads nothing restricted, even
/// when named, so nothing is wrapped for one — in code order. A recipient
/// the roster does not know is kept, so that the seal is refused naming it.
pub fn sealed_readers(
    author: &DelegationCode,
    distribution: &Distribution,
    roster: &Roster,
) -> Vec<DelegationCode> {
    let mut readers: Vec<DelegationCode> = distribution
        .to
        .iter()
        .filter(|code| match roster.delegation(code) {
            Some(d) => may_read(
                &Reader::Delegation {
                    code: d.code,
                    role: d.role,
                },
                author,
                distribution,
            ),
            None => true,
        })
        .chain(std::iter::once(author))
        .copied()
        .collect();
    readers.sort();
    readers.dedup();
    readers
}

/// The seal's readers against the statement's ([`sealed_readers`]): one
/// wrapped key for each, each to the key the roster gives them now.
pub fn check_wraps(st: &Statement, sealed: &Sealed, roster: &Roster) -> Result<(), Refusal> {
    let wrapped: BTreeSet<&DelegationCode> = sealed.keys.iter().map(|w| &w.to).collect();
    let readers = sealed_readers(&st.author, &st.distribution, roster);
    let readers: BTreeSet<&DelegationCode> = readers.iter().collect();
    if wrapped != readers {
        let list = |s: &BTreeSet<&DelegationCode>| {
            s.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
        };
        return Err(Refusal::BadSeal(format!(
            "the content key is wrapped for {} but the readers (the author and the recipients who may read it) are {}",
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
