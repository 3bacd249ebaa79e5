//! C2SP tlog cosignatures (<https://c2sp.org/tlog-cosignature>, v1, Ed25519).
//!
//! A witness that has checked a checkpoint's consistency with everything it
//! cosigned before adds its own signature line to the checkpoint's signed
//! note. The line has the signed-note shape, with signature type `0x04`:
//!
//! ```text
//! — <witness name> base64(key hash (4) || timestamp (8, big-endian) || Ed25519 signature (64))
//! ```
//!
//! * key hash: first four bytes of `SHA-256(name || "\n" || 0x04 || public key)`;
//! * signed message: `"cosignature/v1\ntime <timestamp>\n" || checkpoint body`,
//!   where the body is the note text (origin, size, root, extension lines);
//! * timestamp: Unix seconds at which the witness cosigned. A recent one says
//!   "as of then, this was the newest checkpoint the log showed me", which is
//!   why clients may count it as evidence of freshness.
//!
//! Witness names: a delegation witnesses as `entente-witness/<CODE>` (see
//! [`witness_name`]) with its current delegation key, so that anyone holding
//! the roster — folded from the log itself — can check a cosignature without
//! another key distribution channel. The name is not signed (only the key
//! hash covers it), but it is in the key hash, so a line relabelled with
//! another delegation's name does not match that delegation's key.
//!
//! Everything here is pure: no clock, no I/O. Parsing runs on attacker input
//! and never panics.

use std::collections::BTreeMap;

use crate::keys::{PublicKey, SigningKey, SIGNATURE_LEN};
use crate::ledger::Roster;
use crate::note::{NoteError, NoteSignature, SignedNote};
use crate::statement::DelegationCode;

/// Signature type byte of a `cosignature/v1` Ed25519 cosignature.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Prefix of every Entente witness name; the delegation code follows.
pub const WITNESS_NAME_PREFIX: &str = "entente-witness/";

/// Length of the signature part of a cosignature line (after the key hash).
const COSIG_LEN: usize = 8 + SIGNATURE_LEN;

/// Why a cosignature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("cosignature by {0} is not timestamp (8 bytes) and Ed25519 signature (64 bytes)")]
    BadLength(String),
    #[error("cosignature by {0} has a timestamp of 2^63 or more")]
    BadTimestamp(String),
    #[error("no cosignature by {0}")]
    Missing(String),
    #[error("invalid cosignature by {0}")]
    BadSignature(String),
    #[error("{0:?} is not an Entente witness name (entente-witness/<CODE>)")]
    NotAWitnessName(String),
    #[error("{0} is not an admitted delegation")]
    NotAdmitted(DelegationCode),
    #[error("the cosignature is not by a key of {0} that may sign now")]
    NoUsableKey(DelegationCode),
}

/// The key name delegation `code` cosigns as: `entente-witness/<CODE>`.
pub fn witness_name(code: &DelegationCode) -> String {
    format!("{WITNESS_NAME_PREFIX}{code}")
}

/// The delegation a witness name belongs to, if it is one of ours.
pub fn witness_code(name: &str) -> Result<DelegationCode, CosignatureError> {
    name.strip_prefix(WITNESS_NAME_PREFIX)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| CosignatureError::NotAWitnessName(name.to_owned()))
}

/// The cosignature key hash, `SHA-256(name || "\n" || 0x04 || key)[..4]`.
pub fn key_hash(name: &str, key: &PublicKey) -> u32 {
    crate::note::key_hash(name, ALG_COSIGNATURE_V1, key)
}

/// The bytes a cosignature signs: `"cosignature/v1\ntime <t>\n" || body`.
pub fn signed_message(timestamp: u64, body: &str) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(body.as_bytes());
    msg
}

/// The verifier key string: `<name>+<hash hex>+<base64(0x04 || key)>`.
pub fn vkey(name: &str, key: &PublicKey) -> String {
    crate::note::vkey(name, ALG_COSIGNATURE_V1, key)
}

/// Cosigns checkpoint `body` at `timestamp` as `name` with `key`.
///
/// `body` must be a valid note text (it is what the log signed); `timestamp`
/// must be below 2^63, as the spec requires.
pub fn cosign(
    name: &str,
    key: &SigningKey,
    body: &str,
    timestamp: u64,
) -> Result<NoteSignature, CosignatureError> {
    if !crate::note::is_valid_key_name(name) {
        return Err(NoteError::BadKeyName.into());
    }
    if timestamp >= 1 << 63 {
        return Err(CosignatureError::BadTimestamp(name.to_owned()));
    }
    let mut signature = Vec::with_capacity(COSIG_LEN);
    signature.extend_from_slice(&timestamp.to_be_bytes());
    signature.extend_from_slice(&key.sign(&signed_message(timestamp, body)));
    Ok(NoteSignature {
        name: name.to_owned(),
        key_hash: key_hash(name, &key.public_key()),
        signature,
    })
}

/// Checks one cosignature line over `body` against `key`; returns its timestamp.
pub fn verify(sig: &NoteSignature, body: &str, key: &PublicKey) -> Result<u64, CosignatureError> {
    if sig.key_hash != key_hash(&sig.name, key) {
        return Err(CosignatureError::Missing(sig.name.clone()));
    }
    let (ts, ed) = sig
        .signature
        .split_first_chunk::<8>()
        .filter(|(_, ed)| ed.len() == SIGNATURE_LEN)
        .ok_or_else(|| CosignatureError::BadLength(sig.name.clone()))?;
    let timestamp = u64::from_be_bytes(*ts);
    if timestamp >= 1 << 63 {
        return Err(CosignatureError::BadTimestamp(sig.name.clone()));
    }
    key.verify(&signed_message(timestamp, body), ed)
        .map_err(|_| CosignatureError::BadSignature(sig.name.clone()))?;
    Ok(timestamp)
}

/// Parses one signature line (with or without its final newline).
pub fn parse_line(line: &str) -> Result<NoteSignature, CosignatureError> {
    // Reuse the note parser: a minimal note around the line.
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.contains('\n') {
        return Err(NoteError::Malformed("more than one signature line").into());
    }
    let note = SignedNote::parse(&format!("x\n\n{line}\n"))?;
    note.signatures
        .into_iter()
        .next()
        .ok_or_else(|| NoteError::Malformed("no signature").into())
}

/// A witness known by its C2SP verifier key (`<name>+<hash>+base64(0x04 ||
/// key)`), as a log's configuration names the witnesses it asks: any witness
/// that speaks tlog-witness, an Entente delegation's or not.
#[derive(Clone, PartialEq, Eq)]
pub struct WitnessKey {
    pub name: String,
    pub key: PublicKey,
}

impl WitnessKey {
    /// Checks one cosignature line over `body`; returns its timestamp. A line
    /// by another name is [`CosignatureError::Missing`].
    pub fn verify(&self, sig: &NoteSignature, body: &str) -> Result<u64, CosignatureError> {
        if sig.name != self.name {
            return Err(CosignatureError::Missing(sig.name.clone()));
        }
        verify(sig, body, &self.key)
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        vkey(&self.name, &self.key)
    }
}

impl std::str::FromStr for WitnessKey {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, NoteError> {
        let (name, alg, key) = crate::note::parse_vkey(s)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::UnknownAlgorithm);
        }
        Ok(WitnessKey { name, key })
    }
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessKey({})", self.to_vkey())
    }
}

/// A valid cosignature by an admitted delegation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigner {
    pub delegation: DelegationCode,
    pub timestamp: u64,
}

/// What the witness lines of a note amount to, against a roster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Witnessed {
    /// Delegations whose cosignature verified against one of their active keys.
    pub valid: Vec<Cosigner>,
    /// Witness lines that name an admitted delegation but do not verify: a
    /// forged or stale cosignature (e.g. by a key rotated out since).
    pub invalid: Vec<(DelegationCode, CosignatureError)>,
}

impl Witnessed {
    /// Whether `code` validly cosigned.
    pub fn by(&self, code: &DelegationCode) -> Option<&Cosigner> {
        self.valid.iter().find(|c| &c.delegation == code)
    }
}

/// Checks one `entente-witness/<CODE>` line over `body` against the keys of
/// `CODE` that may sign now in `roster` (the one key rule,
/// [`crate::ledger::KeyRecord::usable`]); returns who cosigned and when.
pub fn verify_by_roster(
    sig: &NoteSignature,
    body: &str,
    roster: &Roster,
) -> Result<Cosigner, CosignatureError> {
    let code = witness_code(&sig.name)?;
    let delegation = roster
        .delegation(&code)
        .ok_or(CosignatureError::NotAdmitted(code))?;
    for key in delegation.active_keys() {
        match verify(sig, body, &key.public_key) {
            Err(CosignatureError::Missing(_)) => continue,
            Ok(timestamp) => {
                return Ok(Cosigner {
                    delegation: code,
                    timestamp,
                })
            }
            Err(e) => return Err(e),
        }
    }
    Err(CosignatureError::NoUsableKey(code))
}

/// Checks every `entente-witness/<CODE>` line of `note` with
/// [`verify_by_roster`]. Lines by other names (the log's own, foreign
/// witnesses) and by delegations not in the roster are ignored; a delegation
/// counts once, with its latest timestamp.
pub fn witnessed(note: &SignedNote, roster: &Roster) -> Witnessed {
    let mut valid: BTreeMap<DelegationCode, u64> = BTreeMap::new();
    let mut invalid = Vec::new();
    for sig in &note.signatures {
        match verify_by_roster(sig, &note.text, roster) {
            Ok(c) => {
                let best = valid.entry(c.delegation).or_insert(c.timestamp);
                *best = (*best).max(c.timestamp);
            }
            Err(CosignatureError::NotAWitnessName(_) | CosignatureError::NotAdmitted(_)) => {}
            Err(e) => {
                if let Ok(code) = witness_code(&sig.name) {
                    invalid.push((code, e));
                }
            }
        }
    }
    Witnessed {
        valid: valid
            .into_iter()
            .map(|(delegation, timestamp)| Cosigner {
                delegation,
                timestamp,
            })
            .collect(),
        invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// PKCS#8 v1 DER prefix for an Ed25519 private key; the 32-byte seed follows.
    const PKCS8_V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];

    fn key_from_seed(seed: [u8; 32]) -> SigningKey {
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        SigningKey::from_pkcs8(&der).unwrap()
    }

    const BODY: &str = "entente.example/log\n20852163\n\
                        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\ntime 1700000000\n";

    // Computed independently with Python's `cryptography` package (seed 0x07 * 32):
    // key hash = sha256(name + "\n" + b"\x04" + pub)[:4]; message =
    // f"cosignature/v1\ntime {t}\n" + body; line payload = hash || u64be(t) || sig.
    const PY_LINE: &str = "\u{2014} entente-witness/US Mca96AAAAABlU/E8U9e40diYHUNUWiUTQYhyWRoHyPT+OwDNdmPthnxmnFBzgdgi3EYWHFvyIGTL0imW3QvV5yZFEFBwxOFZ2AtyCA==\n";
    const PY_VKEY: &str =
        "entente-witness/US+31c6bde8+BOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";

    #[test]
    fn matches_an_independent_implementation() {
        let key = key_from_seed([7; 32]);
        let code: DelegationCode = "US".parse().unwrap();
        let name = witness_name(&code);
        assert_eq!(name, "entente-witness/US");
        assert_eq!(vkey(&name, &key.public_key()), PY_VKEY);
        let sig = cosign(&name, &key, BODY, 1_700_000_060).unwrap();
        assert_eq!(sig.to_line(), PY_LINE);
        let parsed = parse_line(PY_LINE).unwrap();
        assert_eq!(parsed, sig);
        assert_eq!(verify(&parsed, BODY, &key.public_key()), Ok(1_700_000_060));
    }

    #[test]
    fn tampering_is_rejected() {
        let key = key_from_seed([7; 32]);
        let other = key_from_seed([8; 32]);
        let sig = parse_line(PY_LINE).unwrap();
        let name = sig.name.clone();
        // Another body (a different root or time line).
        let body2 = BODY.replace("20852163", "20852164");
        assert_eq!(
            verify(&sig, &body2, &key.public_key()),
            Err(CosignatureError::BadSignature(name.clone()))
        );
        // A changed timestamp.
        let mut later = sig.clone();
        later.signature[7] ^= 1;
        assert_eq!(
            verify(&later, BODY, &key.public_key()),
            Err(CosignatureError::BadSignature(name.clone()))
        );
        // A truncated signature.
        let mut short = sig.clone();
        short.signature.truncate(70);
        assert_eq!(
            verify(&short, BODY, &key.public_key()),
            Err(CosignatureError::BadLength(name.clone()))
        );
        // Another key: its key hash differs, so the line is not its.
        assert_eq!(
            verify(&sig, BODY, &other.public_key()),
            Err(CosignatureError::Missing(name.clone()))
        );
        // Relabelled as DE: DE's key hash differs too.
        let mut relabelled = sig.clone();
        relabelled.name = "entente-witness/DE".into();
        assert!(verify(&relabelled, BODY, &key.public_key()).is_err());
        // A plain (type 0x01) note signature by the same key is not a cosignature.
        let plain = crate::note::NoteSigner::new(&name, &key)
            .unwrap()
            .signature(BODY);
        assert!(verify(&plain, BODY, &key.public_key()).is_err());
    }

    #[test]
    fn timestamps_of_2_63_are_refused() {
        let key = key_from_seed([7; 32]);
        assert!(matches!(
            cosign("w", &key, BODY, 1 << 63),
            Err(CosignatureError::BadTimestamp(_))
        ));
    }

    #[test]
    fn witness_names_map_to_codes() {
        assert_eq!(witness_code("entente-witness/CZ").unwrap().as_str(), "CZ");
        for bad in [
            "entente-witness/",
            "witness/CZ",
            "entente-witness/c z",
            "CZ",
        ] {
            assert!(witness_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_line_rejects_garbage() {
        for bad in [
            "",
            "\u{2014} a",
            "x\n\u{2014} a b",
            "- a AAAA",
            PY_LINE.replace("Mca", "M!a").as_str(),
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn witnessed_counts_active_roster_keys_only() {
        use crate::ledger::KeyStatus;
        use crate::note::NoteSigner;
        use crate::statement::Role;
        let log_key = key_from_seed([1; 32]);
        let (us, de, uk) = (
            key_from_seed([2; 32]),
            key_from_seed([3; 32]),
            key_from_seed([4; 32]),
        );
        let mut roster = Roster::default();
        for (code, key) in [("US", &us), ("DE", &de), ("UK", &uk)] {
            let code: DelegationCode = code.parse().unwrap();
            roster.upsert_delegation(code, code.to_string(), Role::Member, 0);
            roster.add_key(&code, key.public_key(), None, 0);
        }
        // UK's key is revoked: its cosignature no longer counts, and says so.
        roster.key_mut(&uk.key_id()).unwrap().status = KeyStatus::Revoked {
            at: 1,
            reason: String::new(),
        };
        let log = NoteSigner::new("o/log", &log_key).unwrap();
        let mut note = SignedNote::sign(BODY, &log).unwrap();
        for (code, key, ts) in [("US", &us, 10), ("DE", &de, 20), ("UK", &uk, 30)] {
            let name = witness_name(&code.parse().unwrap());
            note.add_signature(cosign(&name, key, BODY, ts).unwrap());
        }
        // A line by a delegation not in the roster is ignored.
        note.add_signature(cosign("entente-witness/FR", &us, BODY, 5).unwrap());
        let w = witnessed(&note, &roster);
        let codes: Vec<&str> = w.valid.iter().map(|c| c.delegation.as_str()).collect();
        assert_eq!(codes, ["DE", "US"]);
        assert_eq!(w.by(&"DE".parse().unwrap()).unwrap().timestamp, 20);
        assert_eq!(w.invalid.len(), 1);
        assert_eq!(w.invalid[0].0.as_str(), "UK");

        // A forged line by an admitted delegation is reported invalid.
        let mut forged = note.clone();
        let i = forged
            .signatures
            .iter()
            .position(|s| s.name.ends_with("/US"))
            .unwrap();
        forged.signatures[i].signature[20] ^= 1;
        let w = witnessed(&forged, &roster);
        assert!(w
            .invalid
            .iter()
            .any(|(c, e)| c.as_str() == "US" && matches!(e, CosignatureError::BadSignature(_))));
    }

    proptest! {
        #[test]
        fn cosign_round_trips(seed in any::<[u8; 32]>(), ts in 0u64..(1 << 63), size in any::<u64>()) {
            let key = key_from_seed(seed);
            let body = format!("o/log\n{size}\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
            let sig = cosign("entente-witness/DE", &key, &body, ts).unwrap();
            let back = parse_line(&sig.to_line()).unwrap();
            prop_assert_eq!(&back, &sig);
            prop_assert_eq!(verify(&back, &body, &key.public_key()), Ok(ts));
        }

        #[test]
        fn parse_line_never_panics(s in ".*") {
            if let Ok(sig) = parse_line(&s) {
                let key = key_from_seed([1; 32]);
                let _ = verify(&sig, BODY, &key.public_key());
            }
        }
    }
}
