//! X25519 encryption keys: what a delegation's sealed statements are opened with.
//!
//! Each delegation has one beside its Ed25519 signing key, introduced by its
//! admission and replaced by each rotation (`statement::roster`). The public
//! half is an [`EncryptionKey`] in the roster, named by a [`KeyId`] computed
//! as for signing keys; the private half is an [`EncryptionSecret`], kept by
//! the CLI in a 0600 file, wiped on drop and never printed. The HPKE suite
//! that uses them (RFC 9180 DHKEM(X25519, HKDF-SHA256)) is in `seal`.

use std::fmt;
use std::str::FromStr;

use hpke::{Deserializable as _, Kem as _, Serializable as _};
use rand_core::TryRngCore as _;
use zeroize::Zeroizing;

use crate::keys::{KeyError, KeyId};

/// The KEM every sealed statement uses.
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;

/// An X25519 public key (raw 32 bytes). Text form: standard base64.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncryptionKey([u8; 32]);

impl EncryptionKey {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key's id: hex of the first 16 bytes of SHA-256(raw key).
    pub fn key_id(&self) -> KeyId {
        KeyId::of_raw(&self.0)
    }

    /// The key as the HPKE crate takes it.
    pub(crate) fn to_hpke(self) -> Result<<Kem as hpke::Kem>::PublicKey, KeyError> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0).map_err(|_| KeyError::BadPublicKey)
    }
}

impl FromStr for EncryptionKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = crate::b64::decode(s.trim()).ok_or(KeyError::BadPublicKey)?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadPublicKey)?;
        Ok(EncryptionKey(raw))
    }
}

impl fmt::Display for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::b64::encode(&self.0))
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({self})")
    }
}

crate::text_form::serde_via_str!(EncryptionKey);

/// An X25519 private key: opens what was sealed to its public half.
pub struct EncryptionSecret {
    raw: Zeroizing<[u8; 32]>,
    public: EncryptionKey,
}

impl EncryptionSecret {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> EncryptionSecret {
        let (secret, _) = Kem::gen_keypair(&mut rand_core::OsRng.unwrap_err());
        let raw: [u8; 32] = secret.to_bytes().into();
        EncryptionSecret::from_raw(raw).expect("a generated X25519 key reads back")
    }

    /// A key from its 32 raw bytes.
    pub fn from_raw(raw: [u8; 32]) -> Result<EncryptionSecret, KeyError> {
        let raw = Zeroizing::new(raw);
        let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(raw.as_slice())
            .map_err(|_| KeyError::BadPrivateKey)?;
        let public: [u8; 32] = Kem::sk_to_pk(&secret).to_bytes().into();
        Ok(EncryptionSecret {
            raw,
            public: EncryptionKey(public),
        })
    }

    /// The key's file form: its 32 bytes in base64, one line.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}\n", crate::b64::encode(self.raw.as_slice())))
    }

    /// Reads the file form written by [`EncryptionSecret::to_text`].
    pub fn from_text(text: &str) -> Result<EncryptionSecret, KeyError> {
        let bytes = Zeroizing::new(crate::b64::decode(text.trim()).ok_or(KeyError::BadPrivateKey)?);
        let raw: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::BadPrivateKey)?;
        EncryptionSecret::from_raw(raw)
    }

    /// The public half.
    pub fn public_key(&self) -> EncryptionKey {
        self.public
    }

    /// The key as the HPKE crate takes it.
    pub(crate) fn to_hpke(&self) -> <Kem as hpke::Kem>::PrivateKey {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(self.raw.as_slice())
            .expect("checked when the key was made")
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionSecret")
            .field("key_id", &self.public.key_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_debug_hides_the_secret() {
        let secret = EncryptionSecret::generate();
        let again = EncryptionSecret::from_text(&secret.to_text()).unwrap();
        assert_eq!(again.public_key(), secret.public_key());
        let debug = format!("{secret:?}");
        assert!(!debug.contains(secret.to_text().trim()));
        assert!(debug.contains(secret.public_key().key_id().as_str()));
        let public: EncryptionKey = secret.public_key().to_string().parse().unwrap();
        assert_eq!(public, secret.public_key());
        assert!("AAAA".parse::<EncryptionKey>().is_err());
        assert!(EncryptionSecret::from_text("not base64!").is_err());
    }
}
