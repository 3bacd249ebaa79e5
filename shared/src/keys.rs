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
        KeyId::of_raw(&self.0)
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
    /// The id of a raw 32-byte public key (Ed25519 or X25519): hex of the
    /// first 16 bytes of its SHA-256.
    pub fn of_raw(raw: &[u8; 32]) -> KeyId {
        let digest = ring::digest::digest(&ring::digest::SHA256, raw);
        let mut text = [0u8; KEY_ID_LEN];
        hex::encode_to_slice(&digest.as_ref()[..KEY_ID_LEN / 2], &mut text)
            .expect("16 bytes are 32 hex digits");
        KeyId(text)
    }

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

    /// The 15 edge-case vectors of "Taming the many EdDSAs" (Chalkias,
    /// Garillot, Nikolaenko, 2020), as published in novifinancial/ed25519-speccheck
    /// `cases.json` (commit d2b2ba5), with two verdicts from that repository's
    /// results table: ours (cofactorless, R compared by encoding, S < L: the
    /// BoringSSL/ring row) and a cofactored verifier's (the Zebra row, ZIP 215).
    /// `(message, public key, signature, we accept, cofactored accepts)`, hex.
    /// Vectors 0, 2, 4, 7, 8, 12 and 13 are where the two rules part.
    #[rustfmt::skip]
    const SPECCHECK: [(&str, &str, &str, bool, bool); 15] = [
        // 0
        ("2a66241a42a9ee12994d8068dcf1bb7dfc6637b45450acd43711f637fa5080fc",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000",
         false, true),
        // 1
        ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000",
         true, true),
        // 2
        ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
         "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
         false, true),
        // 3
        ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
         "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
         true, true),
        // 4
        ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
         "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa182ef1a5b928da07fec769cc8a12db6bcf70dab3f3227fa315e9d5e3e01a3405",
         false, true),
        // 5
        ("aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
         "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
         true, true),
        // 6
        ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
         "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
         "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
         true, true),
        // 7
        ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
         "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
         "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
         false, true),
        // 8
        ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
         "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
         "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
         false, true),
        // 9
        ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
         "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
         "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
         false, false),
        // 10
        ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
         "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
         "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
         false, false),
        // 11
        ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
         "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
         "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
         false, false),
        // 12
        ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
         "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
         "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
         false, true),
        // 13
        ("e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
         "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
         "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
         false, true),
        // 14
        ("39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
         "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
         "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
         true, true),
    ];

    #[test]
    fn speccheck_vectors_get_the_cofactorless_verdicts() {
        let mut wrong = Vec::new();
        for (i, (message, key, signature, ours, cofactored)) in SPECCHECK.iter().enumerate() {
            let message = hex::decode(message).unwrap();
            let key = PublicKey::try_from(hex::decode(key).unwrap().as_slice()).unwrap();
            let signature = hex::decode(signature).unwrap();
            let got = key.verify(&message, &signature).is_ok();
            if got != *ours {
                wrong.push(format!(
                    "vector {i}: accepted {got}, expected {ours} (a cofactored verifier: {cofactored})"
                ));
            }
            // ring (BoringSSL's code) is the published row we pin; it agrees.
            assert_eq!(
                ring_accepts(&key, &message, &signature),
                *ours,
                "ring, vector {i}"
            );
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // The vectors do separate the two rules.
        assert!(SPECCHECK.iter().filter(|c| c.3 != c.4).count() >= 5);
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
