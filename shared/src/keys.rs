//! Ed25519 keys: delegation signing keys, their public halves and key ids.
//!
//! A [`KeyId`] names a public key in the roster, in DSSE signatures and in the
//! CLI. It is the lowercase hex of the first 16 bytes of SHA-256 over the raw
//! 32-byte public key: short enough to type, long enough that nobody can make a
//! key that collides with someone else's (a second preimage costs 2^128).
//!
//! A [`SigningKey`] never prints its secret: its `Debug` shows the key id only,
//! and the PKCS#8 bytes it is loaded from are wiped when dropped.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use zeroize::Zeroizing;

/// Length of an Ed25519 public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// What can go wrong when reading or using a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a public key is 32 bytes of standard base64, this is not one")]
    BadPublicKey,
    #[error("a key id is 32 lowercase hex digits")]
    BadKeyId,
    #[error("the private key is not an Ed25519 PKCS#8 document")]
    BadPrivateKey,
    #[error("the system random number generator failed")]
    Rng,
    #[error("signature does not verify")]
    BadSignature,
}

/// An Ed25519 public key (raw 32 bytes). Text form: standard base64.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

impl PublicKey {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// The key's id: hex of the first 16 bytes of SHA-256(raw key).
    pub fn key_id(&self) -> KeyId {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        let mut text = [0u8; KEY_ID_LEN];
        hex::encode_to_slice(&digest.as_ref()[..KEY_ID_LEN / 2], &mut text)
            .expect("16 bytes are 32 hex digits");
        KeyId(text)
    }

    /// Checks an Ed25519 signature over `message`.
    ///
    /// The check is ed25519-dalek's `verify`: the cofactorless equation with
    /// the encoding of R compared byte for byte and S < L required, the same
    /// acceptance rule as ring's (RFC 8032 §5.1.7 without the cofactor), at
    /// about two thirds of ring's cost on this machine (see BENCHMARKS.md).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::BadSignature)?;
        let signature =
            ed25519_dalek::Signature::from_slice(signature).map_err(|_| KeyError::BadSignature)?;
        ed25519_dalek::Verifier::verify(&key, message, &signature)
            .map_err(|_| KeyError::BadSignature)
    }
}

impl TryFrom<&[u8]> for PublicKey {
    type Error = KeyError;
    fn try_from(bytes: &[u8]) -> Result<Self, KeyError> {
        let raw: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| KeyError::BadPublicKey)?;
        Ok(PublicKey(raw))
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = B64.decode(s.trim()).map_err(|_| KeyError::BadPublicKey)?;
        PublicKey::try_from(bytes.as_slice())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&B64.encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

crate::text_form::serde_via_str!(PublicKey);

/// Length of a key id's text: 32 lowercase hex digits.
pub const KEY_ID_LEN: usize = 32;

/// A key id: 32 lowercase hex digits (see the module docs), kept inline as
/// their ASCII bytes so a roster of a million keys holds no key-id strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a key id holds only hex digits")
    }
}

impl FromStr for KeyId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let text: [u8; KEY_ID_LEN] = s.as_bytes().try_into().map_err(|_| KeyError::BadKeyId)?;
        if text
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        {
            Ok(KeyId(text))
        } else {
            Err(KeyError::BadKeyId)
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.as_str())
    }
}

crate::text_form::serde_via_str!(KeyId);

/// PKCS#8 bytes of a private key, wiped on drop, never printed.
pub struct Pkcs8(Zeroizing<Vec<u8>>);

impl Pkcs8 {
    /// The DER bytes, to be written to a 0600 file.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pkcs8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs8(<redacted>)")
    }
}

/// An Ed25519 private key that signs statements, requests or checkpoints.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl SigningKey {
    /// Makes a fresh key; returns it with its PKCS#8 encoding for storage.
    pub fn generate() -> Result<(SigningKey, Pkcs8), KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Rng)?;
        let pkcs8 = Pkcs8(Zeroizing::new(doc.as_ref().to_vec()));
        let key = SigningKey::from_pkcs8(pkcs8.as_bytes())?;
        Ok((key, pkcs8))
    }

    /// Loads a key from PKCS#8 (v1 or v2) DER bytes.
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| KeyError::BadPrivateKey)?;
        let public = PublicKey::try_from(pair.public_key().as_ref())?;
        Ok(SigningKey { pair, public })
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The public key's id.
    pub fn key_id(&self) -> KeyId {
        self.public.key_id()
    }

    /// Signs `message` (Ed25519 is deterministic: same key and message, same signature).
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let sig = self.pair.sign(message);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(sig.as_ref());
        out
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_reject_tampering() {
        let (key, _) = SigningKey::generate().unwrap();
        let sig = key.sign(b"prague");
        key.public_key().verify(b"prague", &sig).unwrap();
        assert_eq!(
            key.public_key().verify(b"prague!", &sig),
            Err(KeyError::BadSignature)
        );
    }

    /// ring's verdict, the reference `PublicKey::verify` must agree with.
    fn ring_accepts(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature::{UnparsedPublicKey, ED25519};
        UnparsedPublicKey::new(&ED25519, key.as_bytes())
            .verify(message, signature)
            .is_ok()
    }

    #[test]
    fn verify_agrees_with_ring_on_edge_cases() {
        let (key, _) = SigningKey::generate().unwrap();
        let public = key.public_key();
        let good = key.sign(b"prague");
        // S + L: the same point equation, but a non-canonical scalar.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut s_plus_l = good;
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(s_plus_l[32 + i]) + u16::from(L[i]) + carry;
            s_plus_l[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        let mut flipped = good;
        flipped[5] ^= 1;
        let cases: [(&[u8], &[u8]); 5] = [
            (b"prague", &good),
            (b"prague!", &good),
            (b"prague", &s_plus_l),
            (b"prague", &flipped),
            (b"prague", &good[..63]),
        ];
        for (message, signature) in cases {
            assert_eq!(
                public.verify(message, signature).is_ok(),
                ring_accepts(&public, message, signature),
            );
        }
        // A small-order public key (the identity) with an all-zero-R signature.
        let identity = PublicKey([
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0,
        ]);
        let mut forged = [0u8; SIGNATURE_LEN];
        forged[0] = 1;
        assert_eq!(
            identity.verify(b"anything", &forged).is_ok(),
            ring_accepts(&identity, b"anything", &forged),
        );
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_key() {
        let (key, der) = SigningKey::generate().unwrap();
        let again = SigningKey::from_pkcs8(der.as_bytes()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let (key, der) = SigningKey::generate().unwrap();
        let shown = format!("{key:?} {der:?}");
        assert!(shown.contains("<redacted>"));
        let b64 = B64.encode(der.as_bytes());
        assert!(!shown.contains(&b64[..20]));
    }

    #[test]
    fn public_key_text_round_trip_and_key_id_shape() {
        let (key, _) = SigningKey::generate().unwrap();
        let text = key.public_key().to_string();
        assert_eq!(text.parse::<PublicKey>().unwrap(), key.public_key());
        let id = key.key_id();
        assert_eq!(id.as_str().parse::<KeyId>().unwrap(), id);
        assert_eq!(id.as_str().len(), 32);
    }

    #[test]
    fn malformed_text_is_refused() {
        assert_eq!(
            "not base64!".parse::<PublicKey>(),
            Err(KeyError::BadPublicKey)
        );
        assert_eq!("AAAA".parse::<PublicKey>(), Err(KeyError::BadPublicKey));
        assert_eq!("ABCDEF".parse::<KeyId>(), Err(KeyError::BadKeyId));
        assert!("0123456789abcdef0123456789ABCDEF".parse::<KeyId>().is_err());
    }
}
