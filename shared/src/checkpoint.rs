//! C2SP transparency-log checkpoints (<https://c2sp.org/tlog-checkpoint>).
//!
//! A checkpoint is the log's signed statement "my tree has `size` leaves and
//! this root". It is the text of a [signed note](crate::note):
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, standard base64 of 32 bytes>
//! ```
//!
//! Entente writes exactly these three lines and no extension line (C2SP calls
//! extension lines NOT RECOMMENDED), so the checkpoint of a given tree is one
//! stable note: Ed25519 signatures are deterministic, and signing the same
//! tree again gives the same bytes. Witnesses' cosignatures of it therefore
//! stay valid for as long as it is the latest, and freshness comes from the
//! timestamps in those cosignatures (C2SP tlog-cosignature), not from the
//! log's own word (see `docs/protocol.md`).
//!
//! Extension lines of other logs, and the `time <unix seconds>` line that
//! Entente releases before 0.3 wrote, are kept verbatim in
//! [`Checkpoint::extensions`] and not interpreted, so such a checkpoint still
//! parses and its signature still verifies; [`Checkpoint::to_body`] gives
//! back exactly the bytes parsed.
//!
//! The log's key name must equal the origin: the spec only says it SHOULD,
//! but tying them means a key for one log can never vouch for another's tree.
//!
//! Size limits are those of the note ([`MAX_NOTE_SIZE`]).

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::note::{NoteError, NoteSigner, NoteVerifier, SignedNote, MAX_NOTE_SIZE};

/// What can go wrong with a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("checkpoint origin is {got:?}, expected {expected:?}")]
    WrongOrigin { expected: String, got: String },
}

fn malformed(why: &str) -> CheckpointError {
    CheckpointError::Malformed(why.to_owned())
}

/// Parses a canonical decimal u64: ASCII digits, no sign, no leading zeros.
fn parse_decimal(s: &str) -> Option<u64> {
    let digits_only = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    // Overflow is the only remaining failure.
    s.parse().ok()
}

/// A log's tree head, as signed in its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `entente.example.com/log`.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 Merkle root over the first `size` leaves.
    pub root: [u8; 32],
    /// Other extension lines, verbatim, without their newline.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, root, then the extension lines.
    pub fn to_body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// Parses a note text into a checkpoint. This checks syntax only; the
    /// text means nothing until its signature is verified.
    pub fn from_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        if text.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge.into());
        }
        if text.chars().any(|c| c < ' ' && c != '\n') {
            return Err(malformed("control character"));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("does not end with a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        let size = parse_decimal(size).ok_or_else(|| malformed("bad tree size"))?;
        // The strict engine rejects non-canonical padding and trailing bits,
        // so the root has one spelling and re-encoding reproduces the text.
        let root: [u8; 32] = B64
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| malformed("root hash is not base64 of 32 bytes"))?;

        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(malformed("empty extension line"));
            }
            extensions.push(line.to_owned());
        }
        let cp = Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        };
        // Each check above should make this hold; keep it as the definition
        // of "canonical" so that a gap in them cannot let two texts mean
        // the same checkpoint.
        if cp.to_body() != text {
            return Err(malformed("not in canonical form"));
        }
        Ok(cp)
    }

    /// Checks that this checkpoint encodes to a body that parses back to it
    /// (no newline in the origin, no empty or misplaced extension lines...).
    fn check(&self) -> Result<(), CheckpointError> {
        if Checkpoint::from_body(&self.to_body())? == *self {
            Ok(())
        } else {
            Err(malformed("fields do not survive encoding"))
        }
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_body())
    }
}

/// A checkpoint with its signed note (log signature plus any cosignatures).
///
/// For values made by [`SignedCheckpoint::sign`] and
/// [`SignedCheckpoint::parse_and_verify`], `note.text == checkpoint.to_body()`:
/// bodies are parsed only in their canonical form.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: SignedNote,
}

impl SignedCheckpoint {
    /// Signs `cp` as the log. The signer's key name must be the origin.
    pub fn sign(cp: Checkpoint, signer: &NoteSigner) -> Result<Self, CheckpointError> {
        cp.check()?;
        if cp.origin != signer.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: signer.name().to_owned(),
                got: cp.origin,
            });
        }
        let note = SignedNote::sign(&cp.to_body(), signer)?;
        Ok(SignedCheckpoint {
            checkpoint: cp,
            note,
        })
    }

    /// Parses a signed checkpoint and verifies the log's signature with
    /// `log`. The origin must equal `log.name()`. Cosignatures by other keys
    /// are kept in `note` but not checked here.
    pub fn parse_and_verify(text: &str, log: &NoteVerifier) -> Result<Self, CheckpointError> {
        let note = SignedNote::parse(text)?;
        note.verify(log)?;
        let checkpoint = Checkpoint::from_body(&note.text)?;
        if checkpoint.origin != log.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: log.name().to_owned(),
                got: checkpoint.origin,
            });
        }
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// The signed note as text, ready to serve.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use proptest::prelude::*;

    /// PKCS#8 v1 DER prefix for an Ed25519 private key; the 32-byte seed follows.
    const PKCS8_V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];

    const ORIGIN: &str = "entente.example/log";

    fn key_from_seed(seed: [u8; 32]) -> SigningKey {
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        SigningKey::from_pkcs8(&der).unwrap()
    }

    fn sample() -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size: 20852163,
            root: B64
                .decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
                .unwrap()
                .try_into()
                .unwrap(),
            extensions: vec![],
        }
    }

    fn body_with(size: &str, root: &str, rest: &str) -> String {
        format!("{ORIGIN}\n{size}\n{root}\n{rest}")
    }

    const ROOT: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";

    #[test]
    fn body_round_trip() {
        let cp = sample();
        let body = cp.to_body();
        assert_eq!(body, format!("{ORIGIN}\n20852163\n{ROOT}\n"));
        assert_eq!(Checkpoint::from_body(&body).unwrap(), cp);

        // The C2SP example, without extensions.
        let plain = "example.com/behind-the-sofa\n20852163\n\
                     CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::from_body(plain).unwrap();
        assert!(cp.extensions.is_empty());
        assert_eq!(cp.to_body(), plain);

        // Foreign extension lines, and the `time` line of older releases,
        // are kept verbatim.
        let ext = body_with("0", ROOT, "time 5\nfoo bar\n— x\n");
        let cp = Checkpoint::from_body(&ext).unwrap();
        assert_eq!(cp.size, 0);
        assert_eq!(cp.extensions, vec!["time 5", "foo bar", "— x"]);
        assert_eq!(cp.to_body(), ext);
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let short_root = B64.encode([0u8; 31]);
        let long_root = B64.encode([0u8; 33]);
        let bad = [
            body_with("012", ROOT, ""),
            body_with("00", ROOT, ""),
            body_with("+12", ROOT, ""),
            body_with("-1", ROOT, ""),
            body_with("1 ", ROOT, ""),
            body_with("", ROOT, ""),
            body_with("18446744073709551616", ROOT, ""),
            body_with("12", &short_root, ""),
            body_with("12", &long_root, ""),
            body_with("12", "not base64!", ""),
            body_with("12", ROOT.trim_end_matches('='), ""),
            body_with("12", "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=", ""),
            body_with("12", ROOT, "\n"),
            body_with("12", ROOT, "x\r\n"),
            format!("{ORIGIN}\n12\n{ROOT}"),
            format!("{ORIGIN}\n12\n"),
            format!("{ORIGIN}\n"),
            format!("\n12\n{ROOT}\n"),
            String::new(),
        ];
        for body in &bad {
            let err = Checkpoint::from_body(body).unwrap_err();
            assert!(
                matches!(err, CheckpointError::Malformed(_)),
                "{body:?}: {err:?}"
            );
        }
        // The largest size still parses.
        let max = body_with("18446744073709551615", ROOT, "");
        assert_eq!(Checkpoint::from_body(&max).unwrap().size, u64::MAX);
    }

    #[test]
    fn signed_round_trip_and_tampering() {
        let key = key_from_seed([7u8; 32]);
        let signer = NoteSigner::new(ORIGIN, &key).unwrap();
        let log = signer.verifier();
        let signed = SignedCheckpoint::sign(sample(), &signer).unwrap();
        let text = signed.to_text();
        let back = SignedCheckpoint::parse_and_verify(&text, &log).unwrap();
        assert_eq!(back.checkpoint, sample());
        assert_eq!(back.note, signed.note);
        assert_eq!(back.to_string(), text);

        let tampered = text.replace("\n20852163\n", "\n20852164\n");
        assert!(matches!(
            SignedCheckpoint::parse_and_verify(&tampered, &log),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));

        // A cosignature by a witness survives and does not disturb the log's.
        let witness_key = key_from_seed([8u8; 32]);
        let witness = NoteSigner::new("witness.example/w1", &witness_key).unwrap();
        let mut cosigned = signed.clone();
        cosigned.note.cosign(&witness).unwrap();
        let back = SignedCheckpoint::parse_and_verify(&cosigned.to_text(), &log).unwrap();
        back.note.verify(&witness.verifier()).unwrap();
    }

    #[test]
    fn origin_must_match_the_log_key_name() {
        let key = key_from_seed([7u8; 32]);
        let other_name = NoteSigner::new("other.example/log", &key).unwrap();
        let wrong = CheckpointError::WrongOrigin {
            expected: "other.example/log".into(),
            got: ORIGIN.into(),
        };
        assert_eq!(
            SignedCheckpoint::sign(sample(), &other_name).unwrap_err(),
            wrong
        );

        // A log that signs under a name other than its origin is refused on
        // the reading side too.
        let note = SignedNote::sign(&sample().to_body(), &other_name).unwrap();
        assert_eq!(
            SignedCheckpoint::parse_and_verify(&note.to_text(), &other_name.verifier())
                .unwrap_err(),
            wrong
        );
        let right_name = NoteSigner::new(ORIGIN, &key).unwrap();
        assert!(matches!(
            SignedCheckpoint::parse_and_verify(&note.to_text(), &right_name.verifier()),
            Err(CheckpointError::Note(NoteError::NoSignatureByKey { .. }))
        ));
    }

    #[test]
    fn unencodable_checkpoints_are_not_signed() {
        let key = key_from_seed([7u8; 32]);
        let signer = NoteSigner::new(ORIGIN, &key).unwrap();
        let mut cps = vec![];
        let mut cp = sample();
        cp.origin = format!("{ORIGIN}\n12");
        cps.push(cp);
        let mut cp = sample();
        cp.extensions = vec![String::new()];
        cps.push(cp);
        let mut cp = sample();
        cp.extensions = vec!["a\nb".into()];
        cps.push(cp);
        for cp in cps {
            assert!(
                matches!(
                    SignedCheckpoint::sign(cp.clone(), &signer),
                    Err(CheckpointError::Malformed(_))
                ),
                "{cp:?}"
            );
        }
    }

    /// Pins the exact bytes of a signed checkpoint, so the encoding (line
    /// order, base64 flavour, key hash, signature input) cannot drift. The
    /// expected text was cross-checked with an independent implementation
    /// (Python `cryptography`), not only taken from this code's output.
    #[test]
    fn snapshot() {
        let key = key_from_seed(core::array::from_fn(|i| i as u8));
        let signer = NoteSigner::new(ORIGIN, &key).unwrap();
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: 42,
            root: core::array::from_fn(|i| (i as u8).wrapping_mul(7)),
            // The `time` line older releases wrote: these exact bytes were
            // cross-checked, and extension lines are still signed as they are.
            extensions: vec!["time 1700000000".into()],
        };
        let signed = SignedCheckpoint::sign(cp, &signer).unwrap();
        let want = "entente.example/log\n\
                    42\n\
                    AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tk=\n\
                    time 1700000000\n\
                    \n\
                    \u{2014} entente.example/log goGKgtZSrTcCDC9AjLNTsNeUYqmwi6Silcj0cY7mZC42+5mBTycX0UXT7q0VR55uN06839MfAm8D9m8zEztuEJHSMgg=\n";
        assert_eq!(signed.to_text(), want);
        assert_eq!(
            signer.verifier().to_vkey(),
            "entente.example/log+82818a82+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
        );
    }

    proptest! {
        #[test]
        fn round_trips(
            origin in "[a-z0-9./_-]{1,40}",
            size in any::<u64>(),
            root in any::<[u8; 32]>(),
            extensions in prop::collection::vec("[a-z0-9 ]{1,12}", 0..3),
        ) {
            let cp = Checkpoint { origin: origin.clone(), size, root, extensions };
            prop_assert_eq!(Checkpoint::from_body(&cp.to_body()).unwrap(), cp.clone());

            let key = key_from_seed([5u8; 32]);
            let signer = NoteSigner::new(&origin, &key).unwrap();
            let signed = SignedCheckpoint::sign(cp.clone(), &signer).unwrap();
            let back = SignedCheckpoint::parse_and_verify(&signed.to_text(), &signer.verifier()).unwrap();
            prop_assert_eq!(back.checkpoint, cp);
        }

        #[test]
        fn parsing_never_panics(input in "(.|\n){0,200}") {
            let _ = Checkpoint::from_body(&input);
            let key = key_from_seed([5u8; 32]);
            let signer = NoteSigner::new(ORIGIN, &key).unwrap();
            let _ = SignedCheckpoint::parse_and_verify(&input, &signer.verifier());
        }

        #[test]
        fn structured_bodies_never_panic(
            lines in prop::collection::vec(
                prop_oneof![
                    Just(ORIGIN.to_string()),
                    Just(ROOT.to_string()),
                    Just("time 12".to_string()),
                    Just(String::new()),
                    "[0-9]{0,21}",
                    "time [0-9 ]{0,3}",
                    "[A-Za-z0-9+/=]{0,46}",
                ],
                0..8,
            ),
            trailing_newline in any::<bool>(),
        ) {
            let mut body = lines.join("\n");
            if trailing_newline {
                body.push('\n');
            }
            if let Ok(cp) = Checkpoint::from_body(&body) {
                prop_assert_eq!(cp.to_body(), body);
            }
        }
    }
}
