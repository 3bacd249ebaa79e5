//! Proposals as folded: revisions, positions on each revision, amendments
//! (pending, taken into a revision, or rejected), and adoption.
//!
//! Adoption is decided here, never asserted: a proposal is adopted at the log
//! index of the statement that made its rule true — the endorsement that
//! completed it, or, for the silence procedure, the first statement issued
//! at or after the deadline with no objection on the current revision. The
//! fold's only clock is the signed `issued_at` of the statements it reads.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::meta::EntryMeta;
use super::roster::Roster;
use crate::keys::KeyId;
use crate::refusal::Refusal;
use crate::statement::{
    AdoptionRule, Amendment, AmendmentRejection, DelegationCode, Endorsement, Proposal, Revision,
    Role, Stance, StatementId, TextDigest,
};

/// One text of a proposal: number 0 is the proposal's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRecord {
    pub number: u32,
    pub digest: TextDigest,
    pub text: String,
    pub note: String,
    pub meta: EntryMeta,
}

/// One signed position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRecord {
    pub delegation: DelegationCode,
    pub revision: TextDigest,
    pub stance: Stance,
    pub meta: EntryMeta,
}

/// A participant's amendment, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentRecord {
    pub meta: EntryMeta,
    /// The digest of the revision it amends.
    pub revision: TextDigest,
    pub text: String,
    pub note: String,
    pub status: AmendmentStatus,
}

/// Pending until the proposer takes it into a revision or rejects it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AmendmentStatus {
    Pending,
    /// Taken into revision `revision` (its number), statement `by`.
    Accepted {
        revision: u32,
        by: StatementId,
    },
    /// Declined by statement `by`, for `reason`.
    Rejected {
        reason: String,
        by: StatementId,
    },
}

/// Where a proposal stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Open,
    /// Adopted at log index `index`, as of `at`, with revision `revision`.
    Adopted {
        index: u64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        revision: TextDigest,
    },
    /// The deadline passed without adoption; noticed at log index `index`.
    Expired {
        index: u64,
    },
}

/// Counts of participants' current positions on the current revision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub endorse: usize,
    pub object: usize,
    pub abstain: usize,
    pub pending: usize,
}

/// A proposal with everything that happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalRecord {
    pub meta: EntryMeta,
    pub title: String,
    pub participants: Vec<DelegationCode>,
    pub rule: AdoptionRule,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    pub revisions: Vec<RevisionRecord>,
    /// Every position taken, in log order; a later one by the same
    /// delegation on the same revision replaces the earlier.
    pub positions: Vec<PositionRecord>,
    pub status: Status,
    /// Amendments by participants, in log order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amendments: Vec<AmendmentRecord>,
}

impl ProposalRecord {
    pub fn current(&self) -> &RevisionRecord {
        // A proposal always has its own text as revision 0.
        &self.revisions[self.revisions.len() - 1]
    }

    pub fn revision(&self, digest: &TextDigest) -> Option<&RevisionRecord> {
        self.revisions.iter().find(|r| &r.digest == digest)
    }

    pub fn amendment(&self, id: &StatementId) -> Option<&AmendmentRecord> {
        self.amendments.iter().find(|a| &a.meta.id == id)
    }

    /// Each participant's latest position on `revision`.
    pub fn positions_on(&self, revision: &TextDigest) -> BTreeMap<DelegationCode, &PositionRecord> {
        let mut out = BTreeMap::new();
        for p in self.positions.iter().filter(|p| &p.revision == revision) {
            out.insert(p.delegation, p);
        }
        out
    }

    pub fn tally(&self) -> Tally {
        let current = self.positions_on(&self.current().digest);
        let mut t = Tally::default();
        for d in &self.participants {
            match current.get(d).map(|p| &p.stance) {
                None => t.pending += 1,
                Some(s) if s.endorses() => t.endorse += 1,
                Some(Stance::Object { .. }) => t.object += 1,
                Some(_) => t.abstain += 1,
            }
        }
        t
    }

    /// Refuses `digest` unless it is this proposal's current revision.
    fn check_current(&self, digest: &TextDigest) -> Result<(), Refusal> {
        let current = self.current();
        if digest == &current.digest {
            return Ok(());
        }
        if self.revision(digest).is_none() {
            return Err(Refusal::NoSuchStatement(format!(
                "revision {digest} of this proposal"
            )));
        }
        Err(Refusal::StaleRevision {
            got: digest.to_string(),
            current: current.digest.to_string(),
        })
    }

    /// Whether the rule holds now (silence is decided only at the deadline).
    fn rule_met(&self) -> bool {
        let t = self.tally();
        let n = self.participants.len();
        match self.rule {
            AdoptionRule::Unanimous => t.pending == 0 && t.object == 0 && t.endorse >= 1,
            AdoptionRule::Threshold(k) => t.endorse >= k as usize,
            AdoptionRule::Fraction(a, b) => {
                (t.endorse as u64) * (b as u64) >= (a as u64) * (n as u64)
            }
            AdoptionRule::Silence => false,
        }
    }

    fn closed(&self) -> Option<String> {
        match &self.status {
            Status::Open => None,
            Status::Adopted { index, .. } => Some(format!("adopted at entry {index}")),
            Status::Expired { index } => Some(format!("expired at entry {index}")),
        }
    }
}

/// A signatory of an adopted declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatory {
    pub delegation: DelegationCode,
    pub key_id: KeyId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<String>,
    /// The signed endorsement.
    pub statement: StatementId,
    pub index: u64,
}

/// An adopted proposal: the text, how and when it was adopted, who signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declaration {
    pub id: StatementId,
    /// The log index of the proposal (lists of declarations are in this order).
    pub proposal_index: u64,
    pub title: String,
    pub proposer: DelegationCode,
    /// The proposal's TLP 2.0 distribution, which every part of the record shares.
    pub distribution: crate::statement::Distribution,
    pub revision: TextDigest,
    pub revision_number: u32,
    pub text: String,
    pub rule: AdoptionRule,
    pub adopted_index: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub adopted_at: OffsetDateTime,
    pub participants: Vec<DelegationCode>,
    pub signatories: Vec<Signatory>,
    /// Objections and abstentions on the adopted revision, by delegation.
    pub objections: BTreeMap<DelegationCode, String>,
    pub abstentions: Vec<DelegationCode>,
}

/// Every proposal, and the open ones by deadline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposals {
    records: BTreeMap<StatementId, ProposalRecord>,
    order: Vec<StatementId>,
    open_by_deadline: BTreeSet<(i64, StatementId)>,
}

impl Proposals {
    pub fn get(&self, id: &StatementId) -> Option<&ProposalRecord> {
        self.records.get(id)
    }

    /// Proposals in log order.
    pub fn iter(&self) -> impl Iterator<Item = &ProposalRecord> {
        self.order.iter().filter_map(|id| self.records.get(id))
    }

    pub fn check_proposal(
        &self,
        p: &Proposal,
        issued_at: OffsetDateTime,
        roster: &Roster,
    ) -> Result<(), Refusal> {
        if p.deadline <= issued_at {
            return Err(Refusal::BadDeadline);
        }
        for code in &p.participants {
            match roster.delegation(code) {
                None => return Err(Refusal::BadParticipants(format!("{code} is not admitted"))),
                Some(d) if d.role == Role::Observer => {
                    return Err(Refusal::BadParticipants(format!(
                        "{code} is an observer; observers take no positions"
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Finds an open proposal that `issued_at` may still act on.
    fn open(
        &self,
        id: &StatementId,
        issued_at: OffsetDateTime,
    ) -> Result<Option<&ProposalRecord>, Refusal> {
        let Some(rec) = self.records.get(id) else {
            return Ok(None);
        };
        if let Some(why) = rec.closed() {
            return Err(Refusal::ProposalClosed(why));
        }
        if issued_at >= rec.deadline {
            return Err(Refusal::DeadlinePassed(rec.deadline.to_string()));
        }
        Ok(Some(rec))
    }

    pub fn check_revision(
        &self,
        r: &Revision,
        author: &DelegationCode,
        issued_at: OffsetDateTime,
        partial: bool,
    ) -> Result<(), Refusal> {
        let Some(rec) = self.open(&r.proposal, issued_at)? else {
            return if partial {
                Ok(())
            } else {
                Err(Refusal::no_proposal(&r.proposal))
            };
        };
        if &rec.meta.author != author {
            return Err(Refusal::NotYours(format!(
                "only {}, the proposer, may revise this proposal",
                rec.meta.author
            )));
        }
        let digest = TextDigest::of(&r.text);
        if let Some(earlier) = rec.revision(&digest) {
            return Err(Refusal::UnchangedText(earlier.number));
        }
        // The amendments it takes are judged from clear references, in the
        // first layer (`Ledger::check_decisions`), not from what opened here.
        Ok(())
    }

    /// A participant amends the current revision of an open proposal.
    pub fn check_amendment(
        &self,
        a: &Amendment,
        author: &DelegationCode,
        issued_at: OffsetDateTime,
        partial: bool,
    ) -> Result<(), Refusal> {
        let Some(rec) = self.open(&a.proposal, issued_at)? else {
            return if partial {
                Ok(())
            } else {
                Err(Refusal::no_proposal(&a.proposal))
            };
        };
        if !rec.participants.contains(author) {
            return Err(Refusal::NotAParticipant(author.to_string()));
        }
        rec.check_current(&a.revision)?;
        if let Some(earlier) = rec.revision(&TextDigest::of(&a.text)) {
            return Err(Refusal::UnchangedText(earlier.number));
        }
        Ok(())
    }

    /// The proposer declines a pending amendment of an open proposal.
    pub fn check_rejection(
        &self,
        j: &AmendmentRejection,
        author: &DelegationCode,
        issued_at: OffsetDateTime,
        partial: bool,
    ) -> Result<(), Refusal> {
        let Some(rec) = self.open(&j.proposal, issued_at)? else {
            return if partial {
                Ok(())
            } else {
                Err(Refusal::no_proposal(&j.proposal))
            };
        };
        if &rec.meta.author != author {
            return Err(Refusal::NotYours(format!(
                "only {}, the proposer, may decide on amendments",
                rec.meta.author
            )));
        }
        // Which amendment, and whether it is still pending, is judged from
        // clear references (`Ledger::check_decisions`).
        Ok(())
    }

    pub fn check_endorsement(
        &self,
        e: &Endorsement,
        author: &DelegationCode,
        issued_at: OffsetDateTime,
        partial: bool,
    ) -> Result<(), Refusal> {
        let Some(rec) = self.open(&e.proposal, issued_at)? else {
            return if partial {
                Ok(())
            } else {
                Err(Refusal::no_proposal(&e.proposal))
            };
        };
        if !rec.participants.contains(author) {
            return Err(Refusal::NotAParticipant(author.to_string()));
        }
        rec.check_current(&e.revision)
    }

    /// Closes every open proposal whose deadline is at or before `now`, as
    /// of log index `index`: silence adopts, everything else expires. Only
    /// a proposal the statement at `index` reaches every reader of
    /// (`reaches(proposal)`) closes with it, so that every reader's fold
    /// closes a proposal at the same index, whatever else it may not read.
    pub fn close_due(
        &mut self,
        now: OffsetDateTime,
        index: u64,
        reaches: impl Fn(&ProposalRecord) -> bool,
    ) {
        let now_key = now.unix_timestamp();
        let due: Vec<(i64, StatementId)> = self
            .open_by_deadline
            .range(..=(now_key, StatementId([0xff; 32])))
            .copied()
            .collect();
        for (deadline, id) in due {
            let Some(rec) = self.records.get_mut(&id) else {
                self.open_by_deadline.remove(&(deadline, id));
                continue;
            };
            // Same second, later instant: not due yet; or not a statement
            // every reader of this proposal folds.
            if rec.deadline > now || !reaches(rec) {
                continue;
            }
            self.open_by_deadline.remove(&(deadline, id));
            let t = rec.tally();
            rec.status = if rec.rule == AdoptionRule::Silence && t.object == 0 {
                Status::Adopted {
                    index,
                    at: rec.deadline,
                    revision: rec.current().digest,
                }
            } else {
                Status::Expired { index }
            };
        }
    }

    pub fn apply_proposal(&mut self, meta: EntryMeta, p: Proposal) {
        let id = meta.id;
        let revision = RevisionRecord {
            number: 0,
            digest: TextDigest::of(&p.text),
            text: p.text,
            note: String::new(),
            meta: meta.clone(),
        };
        self.open_by_deadline
            .insert((p.deadline.unix_timestamp(), id));
        self.order.push(id);
        self.records.insert(
            id,
            ProposalRecord {
                meta,
                title: p.title,
                participants: p.participants,
                rule: p.rule,
                deadline: p.deadline,
                revisions: vec![revision],
                positions: Vec::new(),
                status: Status::Open,
                amendments: Vec::new(),
            },
        );
    }

    pub fn apply_revision(&mut self, meta: EntryMeta, r: Revision) {
        let Some(rec) = self.records.get_mut(&r.proposal) else {
            return;
        };
        let number = rec.revisions.len() as u32;
        for a in rec
            .amendments
            .iter_mut()
            .filter(|a| r.amendments.contains(&a.meta.id))
        {
            a.status = AmendmentStatus::Accepted {
                revision: number,
                by: meta.id,
            };
        }
        rec.revisions.push(RevisionRecord {
            number,
            digest: TextDigest::of(&r.text),
            text: r.text,
            note: r.note,
            meta,
        });
    }

    pub fn apply_amendment(&mut self, meta: EntryMeta, a: Amendment) {
        let Some(rec) = self.records.get_mut(&a.proposal) else {
            return;
        };
        rec.amendments.push(AmendmentRecord {
            meta,
            revision: a.revision,
            text: a.text,
            note: a.note,
            status: AmendmentStatus::Pending,
        });
    }

    pub fn apply_rejection(&mut self, meta: EntryMeta, j: AmendmentRejection) {
        let Some(rec) = self.records.get_mut(&j.proposal) else {
            return;
        };
        if let Some(a) = rec.amendments.iter_mut().find(|a| a.meta.id == j.amendment) {
            a.status = AmendmentStatus::Rejected {
                reason: j.reason,
                by: meta.id,
            };
        }
    }

    pub fn apply_endorsement(&mut self, meta: EntryMeta, e: Endorsement) {
        let Some(rec) = self.records.get_mut(&e.proposal) else {
            return;
        };
        let (index, at) = (meta.index, meta.issued_at);
        rec.positions.push(PositionRecord {
            delegation: meta.author,
            revision: e.revision,
            stance: e.position,
            meta,
        });
        if rec.rule_met() {
            rec.status = Status::Adopted {
                index,
                at,
                revision: rec.current().digest,
            };
            let key = (rec.deadline.unix_timestamp(), e.proposal);
            self.open_by_deadline.remove(&key);
        }
    }

    /// The declaration an adopted proposal became.
    pub fn declaration(&self, id: &StatementId) -> Option<Declaration> {
        self.records.get(id)?.declaration()
    }
}

impl ProposalRecord {
    /// The declaration this proposal became, if it was adopted.
    pub fn declaration(&self) -> Option<Declaration> {
        let rec = self;
        let id = &rec.meta.id;
        let Status::Adopted {
            index,
            at,
            revision,
        } = &rec.status
        else {
            return None;
        };
        let adopted = rec.revision(revision)?;
        let positions = rec.positions_on(revision);
        let mut signatories = Vec::new();
        let mut objections = BTreeMap::new();
        let mut abstentions = Vec::new();
        for d in &rec.participants {
            let Some(p) = positions.get(d) else { continue };
            match &p.stance {
                Stance::Endorse | Stance::EndorseWithReservation { .. } => {
                    signatories.push(Signatory {
                        delegation: *d,
                        key_id: p.meta.key,
                        reservation: match &p.stance {
                            Stance::EndorseWithReservation { reservation } => {
                                Some(reservation.clone())
                            }
                            _ => None,
                        },
                        statement: p.meta.id,
                        index: p.meta.index,
                    })
                }
                Stance::Object { reason } => {
                    objections.insert(*d, reason.clone());
                }
                Stance::Abstain => abstentions.push(*d),
            }
        }
        Some(Declaration {
            id: *id,
            proposal_index: rec.meta.index,
            title: rec.title.clone(),
            proposer: rec.meta.author,
            distribution: rec.meta.distribution.clone(),
            revision: *revision,
            revision_number: adopted.number,
            text: adopted.text.clone(),
            rule: rec.rule,
            adopted_index: *index,
            adopted_at: *at,
            participants: rec.participants.clone(),
            signatories,
            objections,
            abstentions,
        })
    }
}
