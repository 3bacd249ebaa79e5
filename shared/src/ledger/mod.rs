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

pub mod roster;
pub mod rules;

use crate::dsse::{DsseError, Envelope};
use crate::keys::PublicKey;
use crate::refusal::Refusal;
use crate::statement::{Body, Role, Statement, StatementId};

pub use roster::{Delegation, KeyRecord, KeyStatus, Roster};

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

/// State folded from the log so far.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    size: u64,
    roster: Roster,
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

    /// Decodes `envelope` and checks its signature.
    pub fn verify(&self, envelope: Envelope) -> Result<VerifiedStatement, Refusal> {
        let statement =
            Statement::decode(&envelope.payload).map_err(|e| Refusal::Malformed(e.0))?;
        let key = self.signer_key(&statement)?;
        envelope.verify(&statement.key, &key).map_err(|e| match e {
            DsseError::BadSignature | DsseError::KeyIdMismatch => Refusal::BadSignature,
            other => Refusal::Malformed(other.to_string()),
        })?;
        let id = StatementId::of_payload(&envelope.payload);
        Ok(VerifiedStatement {
            envelope,
            statement,
            id,
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
        match key.status {
            KeyStatus::Active => {}
            KeyStatus::Rotated { .. } => return Err(Refusal::RotatedKey(st.key.to_string())),
            KeyStatus::Revoked { .. } => return Err(Refusal::RevokedKey(st.key.to_string())),
        }
        if st.seq <= key.last_seq {
            return Err(Refusal::StaleSeq {
                got: st.seq,
                last: key.last_seq,
            });
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
        match &st.body {
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
        }
    }

    fn key_unused(&self, key: &PublicKey) -> Result<(), Refusal> {
        match self.roster.key(&key.key_id()) {
            Some(_) => Err(Refusal::KeyInUse(key.key_id().to_string())),
            None => Ok(()),
        }
    }

    /// Checks `v` and appends it as entry [`Ledger::size`]; returns its index.
    pub fn apply(&mut self, v: &VerifiedStatement) -> Result<u64, Refusal> {
        self.check(v)?;
        let at = self.size;
        let st = &v.statement;
        if let Some(k) = self.roster.key_mut(&st.key) {
            k.last_seq = st.seq;
        }
        match &st.body {
            Body::Admission(a) => {
                self.roster
                    .upsert_delegation(a.delegation.clone(), a.name.clone(), a.role, at);
                self.roster.add_key(&a.delegation, a.public_key, at);
                if at == 0 {
                    if let Some(k) = self.roster.key_mut(&st.key) {
                        k.last_seq = st.seq;
                    }
                }
            }
            Body::KeyRotation(r) => {
                if let Some(k) = self.roster.key_mut(&st.key) {
                    k.status = KeyStatus::Rotated {
                        at,
                        replaced_by: r.new_key.key_id(),
                    };
                }
                self.roster.add_key(&st.author, r.new_key, at);
            }
            Body::KeyRevocation(r) => {
                if let Some(k) = self.roster.key_mut(&r.key) {
                    k.status = KeyStatus::Revoked {
                        at,
                        reason: r.reason.clone(),
                    };
                }
            }
        }
        self.size += 1;
        Ok(at)
    }

    /// Counts an entry the reader may not see (only its leaf hash), so that
    /// indexes stay aligned with the log.
    pub fn skip_hidden(&mut self) {
        self.size += 1;
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
mod tests;
