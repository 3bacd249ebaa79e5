//! The fold: the deterministic function from log entries to state.
//!
//! The server, the CLI and an offline verifier all run this same code over the
//! same entries, so they reach the same roster and the same decisions.
//!
//! A statement goes through three steps:
//! 1. [`Ledger::verify`] decodes an envelope and checks its signature against
//!    the key the roster (or, for the founding entry, the statement itself)
//!    names, giving a [`VerifiedStatement`] — the only way to get one;
//! 2. [`Ledger::check`] applies the roster rules (key active and the author's,
//!    `seq` increasing, role allows the kind, kind-specific rules);
//! 3. [`Ledger::apply`] checks and then changes the state, as log entry
//!    [`Ledger::size`].
//!
//! Clocks are not part of the fold (see [`rules::check_clock`]).

pub mod assessments;
pub mod discussion;
pub mod meta;
pub mod parts;
pub mod proposals;
pub mod registry;
pub mod replay;
pub mod roster;
pub mod rules;
pub mod sealed;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::dsse::{DsseError, Envelope};
use crate::keys::{KeyId, PublicKey};
use crate::refusal::Refusal;
use crate::seal::SealError;
use crate::statement::{
    Body, DelegationCode, Distribution, Kind, Refs, Role, Sealed, Statement, StatementId,
};
use crate::visibility::{may_read, no_wider, same_audience, Reader};

pub use assessments::{AssessmentRecord, Assessments, SupplierView};
pub use discussion::{Discussion, PositionPaper, ThreadMessage};
pub use meta::EntryMeta;
pub use proposals::{
    AmendmentRecord, AmendmentStatus, Declaration, ProposalRecord, Proposals, Signatory, Status,
    Tally,
};
pub use registry::{RegisteredSupplier, Registry};
pub use replay::Replay;
pub use roster::{Delegation, KeyRecord, KeyStatus, KeyUnusable, Roster};
pub use sealed::{InvalidEntry, SealedIndex};

/// A statement whose envelope verified against the key the roster names.
/// Only [`Ledger::verify`] makes one.
#[derive(Clone, Debug)]
pub struct VerifiedStatement {
    envelope: Envelope,
    statement: Statement,
    id: StatementId,
}

impl VerifiedStatement {
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    pub fn statement(&self) -> &Statement {
        &self.statement
    }
    pub fn id(&self) -> StatementId {
        self.id
    }
}

/// A statement whose DSSE signature verified against a given public key,
/// before any roster was consulted. Signature checks are independent per
/// entry, so an offline verifier makes these on every core and then hands
/// them, in log order, to [`Ledger::accept_checked`], which only has to
/// compare keys. It is not a [`VerifiedStatement`]: the fold has not said
/// that this key may sign it.
#[derive(Clone, Debug)]
pub struct SignatureChecked {
    envelope: Envelope,
    statement: Statement,
    id: StatementId,
    key: PublicKey,
}

impl SignatureChecked {
    /// Decodes `envelope` and checks its signature with `key`.
    pub fn check(envelope: Envelope, key: &PublicKey) -> Result<SignatureChecked, Refusal> {
        let statement =
            Statement::decode(&envelope.payload).map_err(|e| Refusal::Malformed(e.0))?;
        check_signature(&envelope, &statement, key)?;
        let id = StatementId::of_payload(&envelope.payload);
        Ok(SignatureChecked {
            envelope,
            statement,
            id,
            key: *key,
        })
    }

    pub fn statement(&self) -> &Statement {
        &self.statement
    }
}

/// The DSSE signature of `envelope` by `key`, the key `statement` names, as
/// a refusal when it does not verify.
fn check_signature(
    envelope: &Envelope,
    statement: &Statement,
    key: &PublicKey,
) -> Result<(), Refusal> {
    envelope.verify(&statement.key, key).map_err(|e| match e {
        DsseError::BadSignature | DsseError::KeyIdMismatch => Refusal::BadSignature,
        other => Refusal::Malformed(other.to_string()),
    })
}

/// A decoded statement and the key that must have signed it.
pub struct Unverified {
    envelope: Envelope,
    statement: Statement,
    key: PublicKey,
}

impl Unverified {
    /// Checks the signature.
    pub fn verify(self) -> Result<VerifiedStatement, Refusal> {
        let Unverified {
            envelope,
            statement,
            key,
        } = self;
        check_signature(&envelope, &statement, &key)?;
        let id = StatementId::of_payload(&envelope.payload);
        Ok(VerifiedStatement {
            envelope,
            statement,
            id,
        })
    }
}

/// Who may read a statement: its author and distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    pub author: DelegationCode,
    pub distribution: Distribution,
}

impl Audience {
    /// Whether `reader` may read it ([`may_read`]).
    pub fn readable_by(&self, reader: &Reader) -> bool {
        may_read(reader, &self.author, &self.distribution)
    }
}

/// Which fold a saved [`Ledger`] came from: the shared crate's version, so
/// that a snapshot written by another release (whose rules, frameworks or
/// state may differ) is never restored, and the log is replayed instead.
pub const FOLD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// State folded from the log so far. Serialisable, so the server can keep
/// a snapshot instead of replaying the log at every start.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    size: u64,
    roster: Roster,
    /// Highest `seq` each usable key has signed (kept out of the roster
    /// view: it would tell readers how many statements a key signed that
    /// they may not see). A rotated or revoked key's is dropped.
    seqs: HashMap<KeyId, u64>,
    /// Every statement applied, by id, with who may read it: references
    /// (threads, subjects, proposals, superseded assessments) are resolved
    /// as their author may see them, and a child's audience is checked
    /// against its parent's.
    audiences: HashMap<StatementId, Audience>,
    /// Whether some entries were hidden from this fold (a reader's view):
    /// references to statements it cannot see are then tolerated.
    partial: bool,
    assessments: Assessments,
    proposals: Proposals,
    discussion: Discussion,
    /// What the fold knows of sealed statements without opening them, and
    /// the ones this fold opened and found invalid.
    #[serde(default)]
    sealed: SealedIndex,
    /// The supplier registry.
    #[serde(default)]
    registry: Registry,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Entries applied so far; the next entry's index.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    pub fn assessments(&self) -> &Assessments {
        &self.assessments
    }

    pub fn proposals(&self) -> &Proposals {
        &self.proposals
    }

    /// What decided amendment `id` (from clear references: the same in
    /// every fold), if anything did.
    pub fn amendment_decided(&self, id: &StatementId) -> Option<StatementId> {
        self.sealed.decided_by(id)
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn discussion(&self) -> &Discussion {
        &self.discussion
    }

    pub fn sealed(&self) -> &SealedIndex {
        &self.sealed
    }

    /// Whether `id` is a proposal, open or sealed.
    fn is_proposal(&self, id: &StatementId) -> bool {
        self.proposals.get(id).is_some() || self.sealed.kind(id) == Some(Kind::Proposal)
    }

    /// Whether `id` is an assessment, open or sealed.
    fn is_assessment(&self, id: &StatementId) -> bool {
        self.assessments.get(id).is_some() || self.sealed.kind(id) == Some(Kind::Assessment)
    }

    /// Whether a statement with this id has been applied.
    pub fn contains(&self, id: &StatementId) -> bool {
        self.audiences.contains_key(id)
    }

    /// Every statement applied, with who may read it (in no order).
    pub fn statements(&self) -> impl Iterator<Item = (&StatementId, &Audience)> {
        self.audiences.iter()
    }

    /// Who may read the statement `id`, if it has been applied.
    pub fn audience(&self, id: &StatementId) -> Option<&Audience> {
        self.audiences.get(id)
    }

    /// Decodes `envelope` and checks its signature.
    pub fn verify(&self, envelope: Envelope) -> Result<VerifiedStatement, Refusal> {
        self.prepare(envelope)?.verify()
    }

    /// Decodes `envelope` and finds the key that must have signed it, without
    /// checking the signature yet: the server does that step outside its lock
    /// on the fold, as it is the expensive one.
    pub fn prepare(&self, envelope: Envelope) -> Result<Unverified, Refusal> {
        let statement =
            Statement::decode(&envelope.payload).map_err(|e| Refusal::Malformed(e.0))?;
        let key = self.signer_key(&statement)?;
        Ok(Unverified {
            envelope,
            statement,
            key,
        })
    }

    /// Turns a statement whose signature was checked elsewhere into a
    /// [`VerifiedStatement`], if the key it was checked with is the one this
    /// roster (or the founding admission) names: [`Ledger::verify`] without
    /// repeating the signature check.
    pub fn accept_checked(&self, c: SignatureChecked) -> Result<VerifiedStatement, Refusal> {
        let key = self.signer_key(&c.statement)?;
        if key != c.key {
            return Err(Refusal::BadSignature);
        }
        Ok(VerifiedStatement {
            envelope: c.envelope,
            statement: c.statement,
            id: c.id,
        })
    }

    /// The public key that must have signed `st`: the roster's, or on an
    /// empty log the founding admission's own.
    fn signer_key(&self, st: &Statement) -> Result<PublicKey, Refusal> {
        if let Some((_, record)) = self.roster.key(&st.key) {
            return Ok(record.public_key);
        }
        match (&st.body, self.size) {
            (Body::Admission(a), 0) if a.public_key.key_id() == st.key => Ok(a.public_key),
            (_, 0) => Err(Refusal::NotBootstrapped),
            (Body::Admission(a), _)
                if a.public_key.key_id() == st.key && a.delegation == st.author =>
            {
                Err(Refusal::AlreadyBootstrapped)
            }
            _ => Err(Refusal::UnknownKey(st.key.to_string())),
        }
    }

    /// Whether `v` may be appended now, by the roster rules.
    pub fn check(&self, v: &VerifiedStatement) -> Result<(), Refusal> {
        let st = &v.statement;
        if st.kind().is_roster() && st.distribution.tlp.needs_recipients() {
            return Err(Refusal::Malformed(
                "roster statements are CLEAR or GREEN: everyone must be able to verify them".into(),
            ));
        }
        if st.kind().is_public() && st.distribution.tlp.needs_recipients() {
            return Err(Refusal::Malformed(
                "supplier registry statements are CLEAR or GREEN: every delegation compares the same suppliers".into(),
            ));
        }
        if self.size == 0 {
            return check_bootstrap(st);
        }
        let (owner, key) = self
            .roster
            .key(&st.key)
            .ok_or_else(|| Refusal::UnknownKey(st.key.to_string()))?;
        if owner.code != st.author {
            return Err(Refusal::WrongAuthor {
                key: st.key.to_string(),
                owner: owner.code.to_string(),
                author: st.author.to_string(),
            });
        }
        key.usable().map_err(Refusal::from)?;
        let last = self.seqs.get(&st.key).copied().unwrap_or(0);
        if st.seq <= last {
            return Err(Refusal::StaleSeq { got: st.seq, last });
        }
        if !rules::role_allows(owner.role, st.kind()) {
            return Err(Refusal::RoleNotAllowed {
                role: owner.role.to_string(),
                kind: st.kind().as_str().into(),
            });
        }
        self.check_body(st, owner.role)
    }

    fn check_body(&self, st: &Statement, role: Role) -> Result<(), Refusal> {
        self.check_audience(st, role)?;
        let refs = Refs::of(&st.body);
        if let Some(old) = refs.supersedes {
            self.check_supersedes(st, &old)?;
        }
        self.check_decisions(st, role, &refs)?;
        match &st.body {
            Body::Sealed { kind, sealed } => self.check_sealed(st, *kind, sealed),
            Body::Admission(a) => {
                if let Some(existing) = self.roster.delegation(&a.delegation) {
                    // Re-admission is how a delegation that lost every key gets back in.
                    if existing.active_keys().next().is_some() {
                        return Err(Refusal::AlreadyAdmitted(a.delegation.to_string()));
                    }
                }
                self.key_unused(&a.public_key)
            }
            Body::KeyRotation(r) => self.key_unused(&r.new_key),
            Body::KeyRevocation(r) => {
                let (target_owner, target) = self
                    .roster
                    .key(&r.key)
                    .ok_or_else(|| Refusal::NoSuchKey(r.key.to_string()))?;
                if target_owner.code != st.author && role != Role::Secretariat {
                    return Err(Refusal::RoleNotAllowed {
                        role: role.to_string(),
                        kind: "key_revocation of another delegation's key".into(),
                    });
                }
                if matches!(target.status, KeyStatus::Revoked { .. }) {
                    return Err(Refusal::AlreadyRevoked(r.key.to_string()));
                }
                Ok(())
            }
            Body::Assessment(a) => self.assessments.check(a, self.partial),
            Body::Proposal(p) => self.proposals.check_proposal(p, st.issued_at, &self.roster),
            Body::Revision(r) => {
                self.proposals
                    .check_revision(r, &st.author, st.issued_at, self.partial)
            }
            Body::Endorsement(e) => {
                self.proposals
                    .check_endorsement(e, &st.author, st.issued_at, self.partial)
            }
            Body::Amendment(a) => {
                self.proposals
                    .check_amendment(a, &st.author, st.issued_at, self.partial)
            }
            Body::AmendmentRejection(j) => {
                self.proposals
                    .check_rejection(j, &st.author, st.issued_at, self.partial)
            }
            Body::SupplierEntry(e) => self.registry.check_entry(e),
            Body::SupplierMerge(m) => self.registry.check_merge(m),
            Body::Position(p) => match &p.subject {
                Some(s)
                    if !self.partial
                        && self.proposals.get(s).is_none()
                        && self.assessments.get(s).is_none() =>
                {
                    Err(Refusal::no_subject(s))
                }
                _ => Ok(()),
            },
            Body::Message(m) => {
                if !self.partial && !self.audiences.contains_key(&m.thread) {
                    return Err(Refusal::no_thread(&m.thread));
                }
                Ok(())
            }
        }
    }

    /// What can be checked of a sealed statement without opening it (the
    /// first layer, run by every verifier): its wrapped keys, and that its
    /// clear references name statements of the right kind.
    fn check_sealed(&self, st: &Statement, kind: Kind, sealed: &Sealed) -> Result<(), Refusal> {
        sealed::check_wraps(st, sealed, &self.roster)?;
        // A reference is judged wherever its target is known: everywhere in
        // the host's fold, and in a reader's fold unless the target is hidden
        // from it (a reader knows a target's kind exactly as the host does).
        let judged = |id: &StatementId| !self.partial || self.audiences.contains_key(id);
        let refs = &sealed.refs;
        match kind {
            // The amendments a revision or rejection names are judged for
            // every statement alike, in `check_decisions`.
            Kind::Revision | Kind::Endorsement | Kind::Amendment | Kind::AmendmentRejection => {
                match refs.proposal {
                    Some(p) if judged(&p) && !self.is_proposal(&p) => Err(Refusal::no_proposal(&p)),
                    _ => Ok(()),
                }
            }
            Kind::Message => match refs.thread {
                Some(t) if judged(&t) && !self.audiences.contains_key(&t) => {
                    Err(Refusal::no_thread(&t))
                }
                _ => Ok(()),
            },
            Kind::Position => match refs.subject {
                Some(s) if judged(&s) && !self.is_proposal(&s) && !self.is_assessment(&s) => {
                    Err(Refusal::no_subject(&s))
                }
                _ => Ok(()),
            },
            Kind::Assessment => match refs.supersedes {
                Some(old) if judged(&old) && !self.is_assessment(&old) => {
                    Err(Refusal::no_superseded(&old))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// A revision that takes amendments, or a rejection, decides each
    /// amendment it names: judged from clear references and clear authors
    /// only, for open and sealed statements alike, so that the host and every
    /// reader agree whatever each could open. Only the proposal's author
    /// decides; each named statement must be one the author may read (one it
    /// may not is refused exactly as a missing one, before anything else is
    /// said of it), an amendment of this proposal, and not decided yet.
    fn check_decisions(&self, st: &Statement, role: Role, refs: &Refs) -> Result<(), Refusal> {
        if refs.amendments.is_empty() {
            return Ok(());
        }
        let Some(proposal) = refs.proposal else {
            return Ok(());
        };
        // Not a proposal: the kind's own check refuses it as missing.
        if !self.is_proposal(&proposal) {
            return Ok(());
        }
        if let Some(p) = self.audiences.get(&proposal) {
            if p.author != st.author {
                return Err(Refusal::NotYours(format!(
                    "only {}, the proposer, may decide on amendments",
                    p.author
                )));
            }
        }
        let author = Reader::Delegation {
            code: st.author,
            role,
        };
        for id in &refs.amendments {
            match self.audiences.get(id) {
                // Hidden from this reader's partial fold: the host judged it.
                None if self.partial => continue,
                None => return Err(Refusal::no_amendment(id)),
                Some(a) if !a.readable_by(&author) => return Err(Refusal::no_amendment(id)),
                Some(_) => {}
            }
            if self.sealed.amendment_of(id) != Some(proposal) {
                return Err(Refusal::no_amendment(id));
            }
            if let Some(by) = self.sealed.decided_by(id) {
                return Err(Refusal::AmendmentDecided(
                    id.to_string(),
                    format!("by statement {by}"),
                ));
            }
        }
        Ok(())
    }

    /// An assessment, open or sealed, supersedes only its author's own
    /// assessment, and only one that nothing superseded yet: checked from
    /// the clear references, so every verifier agrees even when the
    /// assessments involved are sealed to different readers.
    fn check_supersedes(&self, st: &Statement, old: &StatementId) -> Result<(), Refusal> {
        let Some(theirs) = self.audiences.get(old) else {
            return Ok(());
        };
        if theirs.author != st.author {
            return Err(Refusal::NotYours(format!(
                "assessment {old} is {}'s, not yours to supersede",
                theirs.author
            )));
        }
        if let Some(by) = self.sealed.superseded_by(old) {
            return Err(Refusal::BadAssessment(format!(
                "assessment {old} is already superseded by {by}"
            )));
        }
        Ok(())
    }

    /// The audience rules (see `visibility`): a statement's references are
    /// resolved as its author may see them — a parent the author may not
    /// read is refused exactly as a missing one, before anything else is
    /// said about it — and a child reaches no one its parent does not.
    /// Revisions and positions on a proposal reach exactly the proposal's
    /// readers, so that everyone who reads a proposal reads its whole record;
    /// a restricted proposal's participants are among its readers.
    fn check_audience(&self, st: &Statement, role: Role) -> Result<(), Refusal> {
        let author = Reader::Delegation {
            code: st.author,
            role,
        };
        let refs = Refs::of(&st.body);
        // (parent, its refusal when missing, whether the audience must be
        // exactly the parent's, whether the parent is of the kind referred to)
        let (parent, missing, exact, kind_ok) = match (st.kind(), &refs) {
            (
                Kind::Revision | Kind::Endorsement | Kind::Amendment | Kind::AmendmentRejection,
                Refs {
                    proposal: Some(p), ..
                },
            ) => (*p, Refusal::no_proposal(p), true, self.is_proposal(p)),
            (
                Kind::Message,
                Refs {
                    thread: Some(t), ..
                },
            ) => (*t, Refusal::no_thread(t), false, true),
            (
                Kind::Position,
                Refs {
                    subject: Some(s), ..
                },
            ) => (
                *s,
                Refusal::no_subject(s),
                false,
                self.is_proposal(s) || self.is_assessment(s),
            ),
            (
                Kind::Assessment,
                Refs {
                    supersedes: Some(old),
                    ..
                },
            ) => (
                *old,
                Refusal::no_superseded(old),
                false,
                self.is_assessment(old),
            ),
            _ => {
                if let Body::Proposal(p) = &st.body {
                    if let Some(readers) =
                        crate::visibility::named_readers(&st.author, &st.distribution)
                    {
                        if let Some(outside) = p.participants.iter().find(|c| !readers.contains(c))
                        {
                            return Err(Refusal::BadAudience(format!(
                                "participant {outside} may not read this proposal: name every participant as a recipient"
                            )));
                        }
                    }
                }
                return Ok(());
            }
        };
        // Unknown here: missing (the kind's own check says so), or hidden
        // from this reader's partial fold (tolerated there).
        let Some(theirs) = self.audiences.get(&parent) else {
            return Ok(());
        };
        if !theirs.readable_by(&author) {
            return Err(missing);
        }
        if !kind_ok {
            // Not what the statement says it is: its kind's own check refuses it.
            return Ok(());
        }
        let fits = if exact {
            same_audience(
                &st.author,
                &st.distribution,
                &theirs.author,
                &theirs.distribution,
            )
        } else {
            no_wider(
                &st.author,
                &st.distribution,
                &theirs.author,
                &theirs.distribution,
            )
        };
        if fits {
            return Ok(());
        }
        Err(Refusal::BadAudience(if exact {
            format!("a {} reaches exactly its proposal's readers: the same label, and its author and recipients are the proposal's author and recipients", st.kind().as_str())
        } else {
            format!("a {} reaches no one its parent {parent} does not: a label at least as strict, and recipients among the parent's author and recipients", st.kind().as_str())
        }))
    }

    fn key_unused(&self, key: &PublicKey) -> Result<(), Refusal> {
        match self.roster.key(&key.key_id()) {
            Some(_) => Err(Refusal::KeyInUse(key.key_id().to_string())),
            None => Ok(()),
        }
    }

    /// Checks `v` and appends it as entry [`Ledger::size`]; returns its
    /// index. A sealed statement is recorded by its clear parts only: this
    /// is the host's fold.
    pub fn apply(&mut self, v: &VerifiedStatement) -> Result<u64, Refusal> {
        self.apply_opened(v, None)
    }

    /// [`Ledger::apply`] for a reader that tried to open `v`: `opened` is
    /// what its keyring gave (`None` when the statement is open, or not
    /// sealed to a key the reader holds). An opened body is judged by the
    /// rules of its kind, as if it had come in clear — the second layer —
    /// and takes effect if it passes; if it does not open, or breaks a
    /// rule, the entry is marked invalid in this fold with the reason. The
    /// entry is in the log either way: its clear parts take effect.
    pub fn apply_opened(
        &mut self,
        v: &VerifiedStatement,
        opened: Option<Result<Body, SealError>>,
    ) -> Result<u64, Refusal> {
        self.check(v)?;
        let at = self.size;
        let st = &v.statement;
        let meta = EntryMeta::of(st, v.id, at);
        let mut invalid = None;
        let content = match (&st.body, opened) {
            (Body::Sealed { .. }, None) => None,
            (Body::Sealed { .. }, Some(Err(e))) => {
                invalid = Some(e.to_string());
                None
            }
            (Body::Sealed { .. }, Some(Ok(body))) => {
                let open = Statement {
                    author: st.author,
                    key: st.key,
                    seq: st.seq,
                    issued_at: st.issued_at,
                    distribution: st.distribution.clone(),
                    body,
                };
                match self.check_content(&open) {
                    Ok(()) => Some(open.body),
                    Err(refusal) => {
                        invalid = Some(refusal.to_string());
                        None
                    }
                }
            }
            (body, _) => Some(body.clone()),
        };
        // Time in the fold is the signed issued_at of what it reads.
        self.proposals.close_due(st.issued_at, at, |p| {
            crate::visibility::reaches_every_reader_of(
                &st.author,
                &st.distribution,
                &p.meta.author,
                &p.meta.distribution,
            )
        });
        self.seqs.insert(st.key, st.seq);
        self.audiences.insert(
            v.id,
            Audience {
                author: st.author,
                distribution: st.distribution.clone(),
            },
        );
        if let Body::Sealed { kind, .. } = &st.body {
            self.sealed.record(v.id, *kind);
        }
        let refs = Refs::of(&st.body);
        if let Some(old) = refs.supersedes {
            self.sealed.record_supersession(old, v.id);
        }
        if let (Kind::Amendment, Some(proposal)) = (st.kind(), refs.proposal) {
            self.sealed.record_amendment(v.id, proposal);
        }
        for amendment in &refs.amendments {
            self.sealed.record_decision(*amendment, v.id);
        }
        if let Some(reason) = invalid {
            self.sealed.mark_invalid(InvalidEntry {
                meta: meta.clone(),
                kind: st.kind(),
                reason,
            });
        }
        let Some(body) = content else {
            self.size += 1;
            return Ok(at);
        };
        match body {
            Body::Admission(a) => {
                self.roster
                    .upsert_delegation(a.delegation, a.name, a.role, at);
                self.roster
                    .add_key(&a.delegation, a.public_key, a.encryption_key, at);
            }
            Body::KeyRotation(r) => {
                // A retired key signs nothing more (`KeyRecord::usable` is
                // checked before the sequence number), so its highest
                // sequence number need not be kept.
                self.seqs.remove(&st.key);
                if let Some(k) = self.roster.key_mut(&st.key) {
                    k.status = KeyStatus::Rotated {
                        at,
                        replaced_by: r.new_key.key_id(),
                    };
                }
                self.roster
                    .add_key(&st.author, r.new_key, r.new_encryption_key, at);
            }
            Body::KeyRevocation(r) => {
                self.seqs.remove(&r.key);
                if let Some(k) = self.roster.key_mut(&r.key) {
                    k.status = KeyStatus::Revoked {
                        at,
                        reason: r.reason,
                    };
                }
            }
            Body::Assessment(a) => self.assessments.apply(meta, a),
            Body::Proposal(p) => self.proposals.apply_proposal(meta, p),
            Body::Revision(r) => self.proposals.apply_revision(meta, r),
            Body::Endorsement(e) => self.proposals.apply_endorsement(meta, e),
            Body::Amendment(a) => self.proposals.apply_amendment(meta, a),
            Body::AmendmentRejection(j) => self.proposals.apply_rejection(meta, j),
            Body::SupplierEntry(e) => self.registry.apply_entry(meta, e),
            Body::SupplierMerge(m) => self.registry.apply_merge(meta, m),
            Body::Position(p) => self.discussion.apply_position(meta, p),
            Body::Message(m) => self.discussion.apply_message(meta, m),
            // Not reached: a sealed body is opened above or not applied.
            Body::Sealed { .. } => {}
        }
        self.size += 1;
        Ok(at)
    }

    /// The rules of a body's kind for a statement still to be sealed: what
    /// its readers will check once they open it, checked by its author
    /// first (the CLI, against its own fold) so that it is not sent only to
    /// be marked invalid.
    pub fn check_before_sealing(&self, open: &Statement) -> Result<(), Refusal> {
        self.check_content(open)
    }

    /// The second layer: the rules of an opened statement's kind, checked
    /// as for a statement in clear (its first layer already passed).
    fn check_content(&self, open: &Statement) -> Result<(), Refusal> {
        let role = self
            .roster
            .key(&open.key)
            .map(|(owner, _)| owner.role)
            .ok_or_else(|| Refusal::UnknownKey(open.key.to_string()))?;
        // A parent this fold knows but holds no content of (it did not open,
        // or was invalid): a child cannot be judged against it, by any of
        // its readers, who all read the same parent.
        let refs = Refs::of(&open.body);
        let known = |id: &StatementId| self.audiences.contains_key(id);
        let unjudged = [
            refs.proposal
                .filter(|p| known(p) && self.proposals.get(p).is_none()),
            refs.subject.filter(|s| {
                known(s) && self.proposals.get(s).is_none() && self.assessments.get(s).is_none()
            }),
            refs.supersedes
                .filter(|a| known(a) && self.assessments.get(a).is_none()),
        ];
        if let Some(parent) = unjudged.into_iter().flatten().next() {
            return Err(Refusal::NoSuchStatement(format!(
                "valid statement {parent}: it did not open or was marked invalid"
            )));
        }
        self.check_body(open, role)
    }

    /// The server's check at submission, beside [`rules::check_clock`]: a
    /// revision or a position on a proposal whose deadline has passed by the
    /// server's clock `now` is refused, whatever its own `issued_at` says,
    /// so a statement dated just before the deadline and sent after it
    /// cannot change the outcome retroactively. A proposal the author may
    /// not read is left to the fold (refused as missing, its deadline unsaid).
    /// Not part of the fold: an offline replay has no "now".
    pub fn check_timely(&self, st: &Statement, now: time::OffsetDateTime) -> Result<(), Refusal> {
        let proposal = match &st.body {
            Body::Revision(r) => r.proposal,
            Body::Endorsement(e) => e.proposal,
            Body::Amendment(a) => a.proposal,
            Body::AmendmentRejection(j) => j.proposal,
            _ => return Ok(()),
        };
        let (Some(rec), Some(author)) = (
            self.proposals.get(&proposal),
            self.roster.delegation(&st.author),
        ) else {
            return Ok(());
        };
        let reader = Reader::Delegation {
            code: author.code,
            role: author.role,
        };
        if may_read(&reader, &rec.meta.author, &rec.meta.distribution) && now >= rec.deadline {
            return Err(Refusal::DeadlinePassed(rec.deadline.to_string()));
        }
        Ok(())
    }

    /// Counts an entry the reader may not see (only its leaf hash), so that
    /// indexes stay aligned with the log.
    pub fn skip_hidden(&mut self) {
        self.skip_hidden_n(1);
    }

    /// Counts `n` entries the reader may not see.
    pub fn skip_hidden_n(&mut self, n: u64) {
        self.size += n;
        self.partial = true;
    }
}

fn check_bootstrap(st: &Statement) -> Result<(), Refusal> {
    match &st.body {
        Body::Admission(a)
            if a.role == Role::Secretariat
                && a.delegation == st.author
                && a.public_key.key_id() == st.key =>
        {
            Ok(())
        }
        _ => Err(Refusal::NotBootstrapped),
    }
}

#[cfg(test)]
mod audience_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod tests;
