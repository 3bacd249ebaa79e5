//! The roster: delegations, their roles and the history of their keys.
//!
//! It is state computed by the fold, and also the wire shape of
//! `GET /v1/roster`, so a CLI can compare the server's roster with its own fold.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::encryption::EncryptionKey;
use crate::keys::{KeyId, PublicKey};
use crate::statement::{DelegationCode, Role};

/// Where a key stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum KeyStatus {
    /// Signs statements.
    Active,
    /// Handed over to `replaced_by` at log index `at`; signs nothing after.
    Rotated { at: u64, replaced_by: KeyId },
    /// Revoked at log index `at`; signs nothing after.
    Revoked { at: u64, reason: String },
}

/// Why a key may not sign now: the one answer to "is this key usable", which
/// the fold, the server's request authentication and its cosignature check
/// all take from [`Roster::usable_key`] or [`KeyRecord::usable`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyUnusable {
    #[error("key {0} is not in the roster")]
    Unknown(KeyId),
    #[error("key {0} was rotated out")]
    Rotated(KeyId),
    #[error("key {0} was revoked")]
    Revoked(KeyId),
}

/// One key of a delegation, with its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: KeyId,
    pub public_key: PublicKey,
    /// The X25519 key introduced with it: what is sealed to the delegation
    /// while this key is its active one is sealed to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<EncryptionKey>,
    /// Log index of the statement that added the key.
    pub added_at: u64,
    #[serde(flatten)]
    pub status: KeyStatus,
}

/// One admitted delegation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub code: DelegationCode,
    pub name: String,
    pub role: Role,
    /// Log index of its (latest) admission.
    pub admitted_at: u64,
    pub keys: Vec<KeyRecord>,
}

impl KeyRecord {
    /// Whether this key may sign now: only an active key does; a rotated or
    /// revoked one signs nothing from the entry that retired it on.
    pub fn usable(&self) -> Result<(), KeyUnusable> {
        match self.status {
            KeyStatus::Active => Ok(()),
            KeyStatus::Rotated { .. } => Err(KeyUnusable::Rotated(self.key_id)),
            KeyStatus::Revoked { .. } => Err(KeyUnusable::Revoked(self.key_id)),
        }
    }
}

impl Delegation {
    /// Keys that may sign now.
    pub fn active_keys(&self) -> impl Iterator<Item = &KeyRecord> {
        self.keys.iter().filter(|k| k.usable().is_ok())
    }
}

/// Every delegation, by code, and an index from key id to its owner and its
/// place in the owner's `keys` (keys are only ever appended, so the place
/// stays true and a lookup is O(1) however many keys a delegation has had).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster {
    delegations: BTreeMap<DelegationCode, Delegation>,
    owners: HashMap<KeyId, (DelegationCode, usize)>,
}

impl Roster {
    /// Delegations in code order.
    pub fn delegations(&self) -> impl Iterator<Item = &Delegation> {
        self.delegations.values()
    }

    pub fn delegation(&self, code: &DelegationCode) -> Option<&Delegation> {
        self.delegations.get(code)
    }

    /// The key record and its owner's code.
    pub fn key(&self, id: &KeyId) -> Option<(&Delegation, &KeyRecord)> {
        let (owner, place) = self.owners.get(id)?;
        let d = self.delegations.get(owner)?;
        Some((d, d.keys.get(*place)?))
    }

    /// The key `id` with its owner, if it may sign now ([`KeyRecord::usable`]).
    pub fn usable_key(&self, id: &KeyId) -> Result<(&Delegation, &KeyRecord), KeyUnusable> {
        let (owner, key) = self.key(id).ok_or(KeyUnusable::Unknown(*id))?;
        key.usable()?;
        Ok((owner, key))
    }

    /// The X25519 key sealed statements to `code` are wrapped to now: the
    /// one that came with its newest usable signing key.
    pub fn encryption_key(&self, code: &DelegationCode) -> Option<EncryptionKey> {
        self.delegations
            .get(code)?
            .active_keys()
            .last()?
            .encryption_key
    }

    pub(crate) fn key_mut(&mut self, id: &KeyId) -> Option<&mut KeyRecord> {
        let (owner, place) = self.owners.get(id)?;
        self.delegations.get_mut(owner)?.keys.get_mut(*place)
    }

    /// Records where `key` of `owner` sits.
    fn index_key(&mut self, owner: &DelegationCode, place: usize, key: KeyId) {
        self.owners.insert(key, (*owner, place));
    }

    pub(crate) fn upsert_delegation(
        &mut self,
        code: DelegationCode,
        name: String,
        role: Role,
        at: u64,
    ) {
        let d = self.delegations.entry(code).or_insert_with(|| Delegation {
            code,
            name: String::new(),
            role,
            admitted_at: at,
            keys: Vec::new(),
        });
        d.name = name;
        d.role = role;
        d.admitted_at = at;
    }

    pub(crate) fn add_key(
        &mut self,
        owner: &DelegationCode,
        key: PublicKey,
        encryption_key: Option<EncryptionKey>,
        at: u64,
    ) {
        let record = KeyRecord {
            key_id: key.key_id(),
            public_key: key,
            encryption_key,
            added_at: at,
            status: KeyStatus::Active,
        };
        if let Some(d) = self.delegations.get_mut(owner) {
            let (place, key_id) = (d.keys.len(), record.key_id);
            d.keys.push(record);
            self.index_key(owner, place, key_id);
        }
    }
}

/// Wire form: `{"delegations": [...]}` in code order.
impl Serialize for Roster {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            delegations: Vec<&'a Delegation>,
        }
        Wire {
            delegations: self.delegations.values().collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Roster {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            delegations: Vec<Delegation>,
        }
        let wire = Wire::deserialize(d)?;
        let mut roster = Roster::default();
        for del in wire.delegations {
            for (place, k) in del.keys.iter().enumerate() {
                roster.index_key(&del.code, place, k.key_id);
            }
            roster.delegations.insert(del.code, del);
        }
        Ok(roster)
    }
}
