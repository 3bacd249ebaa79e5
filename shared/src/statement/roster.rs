//! Roster bodies: admission, key rotation, key revocation.

use serde::{Deserialize, Serialize};

use crate::keys::{KeyId, PublicKey};

use super::DelegationCode;
use super::Role;

/// `admission`: the secretariat admits a delegation with its first key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    pub delegation: DelegationCode,
    pub name: String,
    pub role: Role,
    pub public_key: PublicKey,
}

/// `key_rotation`: the signing key hands over to `new_key` and signs nothing after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    pub new_key: PublicKey,
}

/// `key_revocation`: `key` signs nothing from this entry on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevocation {
    pub key: KeyId,
    #[serde(default)]
    pub reason: String,
}
