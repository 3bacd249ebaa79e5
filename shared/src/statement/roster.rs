//! Roster bodies: admission, key rotation, key revocation.

use serde::{Deserialize, Serialize};

use crate::encryption::EncryptionKey;
use crate::keys::{KeyId, PublicKey};

use super::DelegationCode;
use super::Role;

/// `admission`: the secretariat admits a delegation with its first key and
/// the X25519 key its sealed statements are opened with. (Admissions signed
/// before sealing existed have none: such a delegation receives sealed
/// statements after its next rotation.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    pub delegation: DelegationCode,
    pub name: String,
    pub role: Role,
    pub public_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<EncryptionKey>,
}

/// `key_rotation`: the signing key hands over to `new_key` and signs nothing
/// after; `new_encryption_key` replaces the delegation's X25519 key (what
/// was sealed to the old one stays sealed to the old one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    pub new_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_encryption_key: Option<EncryptionKey>,
}

/// `key_revocation`: `key` signs nothing from this entry on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevocation {
    pub key: KeyId,
    #[serde(default)]
    pub reason: String,
}
