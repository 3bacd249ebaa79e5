//! DSSE v1 envelopes (secure-systems-lab/dsse, `envelope.md` and `protocol.md`).
//!
//! A statement's payload bytes are signed over DSSE's pre-authentication
//! encoding (PAE), never over re-serialised JSON, so the bytes a delegation
//! signed are the bytes everyone verifies. The envelope itself has one
//! canonical JSON form ([`Envelope::to_canonical_json`]): that form is what
//! the log hashes as a leaf, so the CLI can recompute its leaf hash from what it
//! sent. Field names follow DSSE (`payloadType`), not our snake_case rule.

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::keys::{KeyId, PublicKey, SigningKey};

/// The DSSE payload type of every Entente statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.entente.statement+json";

/// Signatures an envelope may carry; a statement has exactly one.
const MAX_SIGNATURES: usize = 1;

/// Why an envelope is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    #[error("envelope is not valid DSSE JSON: {0}")]
    Malformed(String),
    #[error("payloadType must be {PAYLOAD_TYPE}")]
    WrongPayloadType,
    #[error("a statement envelope carries exactly one signature")]
    SignatureCount,
    #[error("the signature's keyid does not name the statement's key")]
    KeyIdMismatch,
    #[error("the signature does not verify")]
    BadSignature,
}

/// DSSE's pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One DSSE signature. Bytes signed: PAE(payloadType, payload). Unknown
/// fields are ignored, as DSSE requires of consumers, and not kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    #[serde(default)]
    pub keyid: String,
    #[serde(with = "b64::bytes")]
    pub sig: Vec<u8>,
}

/// A DSSE envelope. Its canonical JSON is hashed into the log. DSSE v1
/// says consumers MUST ignore unrecognized fields: they are accepted and
/// dropped, so the canonical form (and the leaf) never carries them; the
/// signature covers only the payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    #[serde(with = "b64::bytes")]
    pub payload: Vec<u8>,
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// Signs `payload` as an Entente statement with `key`.
    pub fn sign(payload: Vec<u8>, key: &SigningKey) -> Envelope {
        let sig = key.sign(&pae(PAYLOAD_TYPE, &payload)).to_vec();
        Envelope {
            payload_type: PAYLOAD_TYPE.to_owned(),
            payload,
            signatures: vec![Signature {
                keyid: key.key_id().to_string(),
                sig,
            }],
        }
    }

    /// Parses envelope JSON: a field given twice is refused, unknown fields
    /// are dropped.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, DsseError> {
        serde_json::from_slice(bytes).map_err(|e| DsseError::Malformed(e.to_string()))
    }

    /// The one JSON encoding the log hashes: DSSE field order, padded standard base64.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        // Serialising a struct of strings and byte vectors cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks the envelope shape and its one signature by `key` (named `expected`).
    pub fn verify(&self, expected: &KeyId, key: &PublicKey) -> Result<(), DsseError> {
        if self.payload_type != PAYLOAD_TYPE {
            return Err(DsseError::WrongPayloadType);
        }
        let [sig] = self.signatures.as_slice() else {
            return Err(DsseError::SignatureCount);
        };
        debug_assert!(self.signatures.len() <= MAX_SIGNATURES);
        // DSSE makes keyid optional; when present it must name the statement's key.
        if !sig.keyid.is_empty() && sig.keyid != expected.as_str() {
            return Err(DsseError::KeyIdMismatch);
        }
        key.verify(&pae(&self.payload_type, &self.payload), &sig.sig)
            .map_err(|_| DsseError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // protocol.md: PAE("http://example.com/HelloWorld", "hello world")
        let got = pae("http://example.com/HelloWorld", b"hello world");
        assert_eq!(
            got,
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn canonical_json_is_pinned() {
        let env = Envelope {
            payload_type: PAYLOAD_TYPE.into(),
            payload: b"{}".to_vec(),
            signatures: vec![Signature {
                keyid: "k".into(),
                sig: vec![1, 2, 3],
            }],
        };
        assert_eq!(
            String::from_utf8(env.to_canonical_json()).unwrap(),
            r#"{"payloadType":"application/vnd.entente.statement+json","payload":"e30=","signatures":[{"keyid":"k","sig":"AQID"}]}"#
        );
    }

    #[test]
    fn refuses_other_types_extra_signatures_and_wrong_keyid() {
        let (key, _) = SigningKey::generate().unwrap();
        let (other, _) = SigningKey::generate().unwrap();
        let env = Envelope::sign(b"x".to_vec(), &key);
        let mut wrong_type = env.clone();
        wrong_type.payload_type = "text/plain".into();
        assert_eq!(
            wrong_type.verify(&key.key_id(), &key.public_key()),
            Err(DsseError::WrongPayloadType)
        );
        let mut two = env.clone();
        two.signatures.push(env.signatures[0].clone());
        assert_eq!(
            two.verify(&key.key_id(), &key.public_key()),
            Err(DsseError::SignatureCount)
        );
        assert_eq!(
            env.verify(&other.key_id(), &key.public_key()),
            Err(DsseError::KeyIdMismatch)
        );
        assert_eq!(
            env.verify(&key.key_id(), &other.public_key()),
            Err(DsseError::BadSignature)
        );
    }

    #[test]
    fn refuses_duplicate_fields_and_drops_unknown_ones() {
        let dup = br#"{"payloadType":"a","payloadType":"b","payload":"","signatures":[]}"#;
        assert!(Envelope::from_json(dup).is_err());
        let extra =
            br#"{"payloadType":"a","payload":"","signatures":[{"sig":"","x":2}],"x":{"y":1}}"#;
        let env = Envelope::from_json(extra).unwrap();
        let canonical = String::from_utf8(env.to_canonical_json()).unwrap();
        assert!(!canonical.contains('x'), "{canonical}");
    }

    proptest! {
        #[test]
        fn sign_verify_and_json_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            let (key, _) = SigningKey::generate().unwrap();
            let env = Envelope::sign(payload, &key);
            let back = Envelope::from_json(&env.to_canonical_json()).unwrap();
            prop_assert_eq!(&back, &env);
            prop_assert!(back.verify(&key.key_id(), &key.public_key()).is_ok());
        }

        #[test]
        fn any_flipped_payload_bit_breaks_the_signature(payload in proptest::collection::vec(any::<u8>(), 1..256), bit in 0usize..2048) {
            let (key, _) = SigningKey::generate().unwrap();
            let mut env = Envelope::sign(payload, &key);
            let bit = bit % (env.payload.len() * 8);
            env.payload[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(env.verify(&key.key_id(), &key.public_key()), Err(DsseError::BadSignature));
        }
    }
}
