//! C2SP signed notes (<https://c2sp.org/signed-note>), Ed25519 only.
//!
//! A checkpoint is published as a signed note so that any tool from the
//! transparency-log ecosystem (the Go `golang.org/x/mod/sumdb/note` package,
//! witnesses, monitors) can check it without knowing anything about Entente.
//! That only works if we produce and accept exactly the bytes the reference
//! implementation does, so this module follows it closely:
//!
//! ```text
//! <text, ending in a newline>
//!
//! — <key name> <base64(4-byte key hash || signature)>
//! ```
//!
//! * The note is UTF-8 without ASCII control characters other than newline.
//! * The text is everything up to and including the newline before the *last*
//!   blank line; the signatures cover exactly those bytes.
//! * A key name is non-empty and has no Unicode whitespace and no `+`.
//! * An Ed25519 key hash is the big-endian first four bytes of
//!   `SHA-256(name || "\n" || 0x01 || public key)`; a verifier key is written
//!   `<name>+<8 lowercase hex digits>+<base64(0x01 || public key)>`.
//!
//! Only signature type `0x01` (plain Ed25519 over the text) is implemented.
//! Signature lines by other keys or of other types are parsed, kept verbatim
//! and ignored by [`SignedNote::verify`], as the spec requires, so that
//! cosignatures added by others survive a parse/serialise round trip.
//!
//! Limits, because parsing runs on attacker input before any signature is
//! checked: a note is at most [`MAX_NOTE_SIZE`] bytes and carries at most
//! [`MAX_SIGNATURES`] signature lines (the Go reference rejects more than
//! 100; the spec requires accepting at least 16).
//!
//! Decisions where the spec leaves room:
//! * Base64 is decoded strictly (canonical padding and trailing bits), so that
//!   re-encoding a parsed note yields the same bytes.
//! * Hex key hashes in verifier keys must be lowercase, as every producer emits.
//! * [`SignedNote::verify`] requires *every* signature line matching the
//!   verifier's name and key hash to verify, not just the first; a forged line
//!   next to a good one is a sign of tampering, and the spec says to reject
//!   the whole note when a known key's signature fails.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::keys::{PublicKey, SigningKey, PUBLIC_KEY_LEN};

/// Largest note (text plus signatures) we parse, in bytes.
pub const MAX_NOTE_SIZE: usize = 1024 * 1024;
/// Most signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;
/// Signature type byte for Ed25519 in the key hash and the verifier key.
pub const ALG_ED25519: u8 = 0x01;

/// Prefix of every signature line: EM DASH (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// What can go wrong when reading, writing or checking a signed note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("note is larger than {MAX_NOTE_SIZE} bytes")]
    TooLarge,
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("a key name must be non-empty without spaces or '+'")]
    BadKeyName,
    #[error("malformed verifier key")]
    BadVerifierKey,
    #[error("verifier key uses an unsupported signature algorithm")]
    UnknownAlgorithm,
    #[error("verifier key hash does not match its name and key")]
    KeyHashMismatch,
    #[error("note has no signature by key {name}+{key_hash:08x}")]
    NoSignatureByKey { name: String, key_hash: u32 },
    #[error("invalid signature by key {name}+{key_hash:08x}")]
    BadSignature { name: String, key_hash: u32 },
}

/// Whether `name` can be a key name: non-empty, no whitespace, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    // Rust's `char::is_whitespace` is the Unicode White_Space property, the
    // same set as Go's `unicode.IsSpace` used by the reference.
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::BadKeyName)
    }
}

/// Checks the size and character rules that apply to a whole note.
fn check_chars(s: &str) -> Result<(), NoteError> {
    if s.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge);
    }
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character"));
    }
    Ok(())
}

/// Checks that `text` can be the text of a note.
fn check_text(text: &str) -> Result<(), NoteError> {
    check_chars(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text does not end with a newline"));
    }
    Ok(())
}

/// The C2SP key hash of `key` for signature type `alg`: the first four bytes
/// of `SHA-256(name || "\n" || alg || key)`, big-endian. Every signature type
/// (0x01 for notes, 0x04 for cosignatures) names its key this way.
pub fn key_hash(name: &str, alg: u8, key: &PublicKey) -> u32 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(name.as_bytes());
    ctx.update(b"\n");
    ctx.update(&[alg]);
    ctx.update(key.as_bytes());
    let digest = ctx.finish();
    let mut first = [0u8; 4];
    first.copy_from_slice(&digest.as_ref()[..4]);
    u32::from_be_bytes(first)
}

/// The C2SP verifier key string: `<name>+<hash hex>+<base64(alg || key)>`.
pub fn vkey(name: &str, alg: u8, key: &PublicKey) -> String {
    let mut typed = [0u8; 1 + PUBLIC_KEY_LEN];
    typed[0] = alg;
    typed[1..].copy_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_hash(name, alg, key),
        B64.encode(typed)
    )
}

/// A public key able to check signatures on notes, with the name it signs as.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_hash: u32,
    key: PublicKey,
}

impl NoteVerifier {
    /// A verifier for `key` signing as `name`.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_hash: key_hash(name, ALG_ED25519, &key),
            key,
        })
    }

    /// The key name that appears in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key hash that prefixes each signature.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The verifier key string: `<name>+<hash hex>+<base64(0x01 || key)>`.
    pub fn to_vkey(&self) -> String {
        vkey(&self.name, ALG_ED25519, &self.key)
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;

    /// Parses a verifier key as written by [`NoteVerifier::to_vkey`] (and by
    /// Go's `note.GenerateKey`).
    fn from_str(s: &str) -> Result<Self, NoteError> {
        let (name, alg, key) = parse_vkey(s)?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnknownAlgorithm);
        }
        NoteVerifier::new(&name, key)
    }
}

/// Parses a C2SP verifier key `<name>+<hash hex>+<base64(alg || key)>` with
/// an Ed25519 public key, for any signature type `alg` (0x01 for notes, 0x04
/// for cosignatures): the name, the type and the key, once the key hash
/// matches all three.
pub fn parse_vkey(s: &str) -> Result<(String, u8, PublicKey), NoteError> {
    // The name cannot contain '+' but the base64 key can, so split on the
    // first two only.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hash_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(NoteError::BadVerifierKey);
    };
    check_key_name(name)?;
    let hash_ok = hash_hex.len() == 8
        && hash_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hash_ok {
        return Err(NoteError::BadVerifierKey);
    }
    let hash = u32::from_str_radix(hash_hex, 16).map_err(|_| NoteError::BadVerifierKey)?;
    let typed = B64.decode(key_b64).map_err(|_| NoteError::BadVerifierKey)?;
    let (alg, raw) = typed.split_first().ok_or(NoteError::BadVerifierKey)?;
    if !matches!(*alg, ALG_ED25519 | crate::cosignature::ALG_COSIGNATURE_V1) {
        return Err(NoteError::UnknownAlgorithm);
    }
    let key = PublicKey::try_from(raw).map_err(|_| NoteError::BadVerifierKey)?;
    if key_hash(name, *alg, &key) != hash {
        return Err(NoteError::KeyHashMismatch);
    }
    Ok((name.to_owned(), *alg, key))
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({})", self.to_vkey())
    }
}

/// A signing key with the name it signs notes as.
pub struct NoteSigner<'a> {
    name: String,
    key_hash: u32,
    key: &'a SigningKey,
}

impl<'a> NoteSigner<'a> {
    /// A signer using `key` under `name`.
    pub fn new(name: &str, key: &'a SigningKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            key_hash: key_hash(name, ALG_ED25519, &key.public_key()),
            key,
        })
    }

    /// The key name that appears in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key hash that prefixes each signature.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The verifier matching this signer.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_hash: self.key_hash,
            key: self.key.public_key(),
        }
    }

    /// Signs `text` (which should be a valid note text; see
    /// [`SignedNote::sign`] for the checked path).
    pub fn signature(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_hash: self.key_hash,
            signature: self.key.sign(text.as_bytes()).to_vec(),
        }
    }

    /// The whole signature line for `text`: `"— <name> <base64>\n"`.
    pub fn sign_line(&self, text: &str) -> String {
        self.signature(text).to_line()
    }
}

impl fmt::Debug for NoteSigner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.key_hash))
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One signature line of a note, verified or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key hash (first four bytes of the decoded signature).
    pub key_hash: u32,
    /// The signature proper, without the key hash.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, newline included.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_hash.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    /// Parses one signature line, without its newline.
    fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
            "signature line does not start with an em dash",
        ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("signature line has no signature"))?;
        if !is_valid_key_name(name) {
            return Err(NoteError::Malformed("bad key name in signature line"));
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("signature is not base64"))?;
        // Four bytes of key hash and at least one of signature, as in Go;
        // the exact length depends on the key type, checked when verifying.
        let (hash, signature) = match raw.split_first_chunk::<4>() {
            Some((hash, sig)) if !sig.is_empty() => (*hash, sig.to_vec()),
            _ => return Err(NoteError::Malformed("signature too short")),
        };
        Ok(NoteSignature {
            name: name.to_owned(),
            key_hash: u32::from_be_bytes(hash),
            signature,
        })
    }
}

/// A parsed signed note: the signed text and its signature lines in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The text, ending in a newline; exactly the bytes that are signed.
    pub text: String,
    /// Every signature line, including those by unknown keys.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Parses a signed note. Checks its syntax only: call
    /// [`SignedNote::verify`] before trusting the text.
    pub fn parse(input: &str) -> Result<SignedNote, NoteError> {
        check_chars(input)?;
        // The last blank line separates text from signatures: the text may
        // contain blank lines, signature lines never do.
        let (before, sigs) = input
            .rsplit_once("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed(
            "signature block does not end with a newline",
        ))?;
        if sigs.is_empty() {
            return Err(NoteError::Malformed("no signatures"));
        }
        // Count before decoding so a huge block costs no base64 work.
        if sigs.split('\n').count() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let signatures = sigs
            .split('\n')
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignedNote {
            text: format!("{before}\n"),
            signatures,
        })
    }

    /// Checks `text` and signs it with `signer`.
    pub fn sign(text: &str, signer: &NoteSigner) -> Result<SignedNote, NoteError> {
        check_text(text)?;
        Ok(SignedNote {
            text: text.to_owned(),
            signatures: vec![signer.signature(text)],
        })
    }

    /// Adds a signature; one with the same name and key hash is replaced
    /// (as Go's `note.Sign` does), so re-signing does not grow the note.
    pub fn add_signature(&mut self, sig: NoteSignature) {
        let same_key = |s: &NoteSignature| s.name == sig.name && s.key_hash == sig.key_hash;
        // Keep the position of the first line by this key so that re-signing
        // does not reorder the note; drop every old line by it, stale ones too.
        let first = self
            .signatures
            .iter()
            .position(same_key)
            .unwrap_or(self.signatures.len());
        self.signatures.retain(|s| !same_key(s));
        // Every line before `first` was kept, so `first <= len` still holds.
        self.signatures.insert(first, sig);
    }

    /// Adds `signer`'s signature over this note's text (a cosignature).
    pub fn cosign(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        check_text(&self.text)?;
        self.add_signature(signer.signature(&self.text));
        Ok(())
    }

    /// Checks that `verifier` validly signed this note.
    ///
    /// Lines by other keys are ignored (a different name *or* key hash is a
    /// different key). At least one line must match, and every matching line
    /// must verify.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), NoteError> {
        check_text(&self.text)?;
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let mut found = false;
        for sig in &self.signatures {
            if sig.name != verifier.name || sig.key_hash != verifier.key_hash {
                continue;
            }
            found = true;
            verifier
                .key
                .verify(self.text.as_bytes(), &sig.signature)
                .map_err(|_| NoteError::BadSignature {
                    name: verifier.name.clone(),
                    key_hash: verifier.key_hash,
                })?;
        }
        if found {
            Ok(())
        } else {
            Err(NoteError::NoSignatureByKey {
                name: verifier.name.clone(),
                key_hash: verifier.key_hash,
            })
        }
    }

    /// The note as text: the text, a blank line, then the signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out
    }
}

impl fmt::Display for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The example from golang.org/x/mod/sumdb/note (note.go docs and note_test.go).
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                              then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    /// PKCS#8 v1 DER prefix for an Ed25519 private key; the 32-byte seed follows.
    const PKCS8_V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];

    fn key_from_seed(seed: &[u8]) -> SigningKey {
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(seed);
        SigningKey::from_pkcs8(&der).unwrap()
    }

    fn peter_key() -> SigningKey {
        // "PRIVATE+KEY+<name>+<hash>+<base64>"; the base64 may itself contain '+'.
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
        let typed = B64.decode(b64).unwrap();
        assert_eq!(typed.len(), 33);
        assert_eq!(typed[0], ALG_ED25519);
        key_from_seed(&typed[1..])
    }

    fn peter_note() -> String {
        format!("{PETER_TEXT}\n{PETER_SIG}")
    }

    fn peter() -> NoteVerifier {
        PETER_VKEY.parse().unwrap()
    }

    #[test]
    fn go_vector_verifies_and_signing_reproduces_it() {
        let v = peter();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_hash(), 0xc74f20a3);
        assert_eq!(v.to_vkey(), PETER_VKEY);
        assert_eq!(v.to_string(), PETER_VKEY);

        let note = SignedNote::parse(&peter_note()).unwrap();
        assert_eq!(note.text, PETER_TEXT);
        assert_eq!(note.signatures.len(), 1);
        note.verify(&v).unwrap();
        assert_eq!(note.to_text(), peter_note());

        let key = peter_key();
        let signer = NoteSigner::new("PeterNeumann", &key).unwrap();
        assert_eq!(signer.verifier(), v);
        assert_eq!(signer.sign_line(PETER_TEXT), PETER_SIG);
        let signed = SignedNote::sign(PETER_TEXT, &signer).unwrap();
        assert_eq!(signed.to_text(), peter_note());
        assert_eq!(signed.to_string(), peter_note());
    }

    #[test]
    fn unknown_keys_are_kept_and_ignored() {
        let both = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = SignedNote::parse(&both).unwrap();
        note.verify(&peter()).unwrap();
        note.verify(&ENOCH_VKEY.parse().unwrap()).unwrap();
        assert_eq!(note.to_text(), both);

        let only_enoch = SignedNote::parse(&format!("{PETER_TEXT}\n{ENOCH_SIG}")).unwrap();
        assert_eq!(
            only_enoch.verify(&peter()),
            Err(NoteError::NoSignatureByKey {
                name: "PeterNeumann".into(),
                key_hash: 0xc74f20a3
            })
        );
    }

    #[test]
    fn text_may_contain_blank_lines() {
        let key = peter_key();
        let signer = NoteSigner::new("k", &key).unwrap();
        for text in ["a\n\nb\n", "\n", "a\n\n", "a\n\n\u{2014} x y\n"] {
            let note = SignedNote::sign(text, &signer).unwrap();
            let back = SignedNote::parse(&note.to_text()).unwrap();
            assert_eq!(back, note);
            back.verify(&signer.verifier()).unwrap();
        }
    }

    #[test]
    fn vkey_manglings_are_rejected() {
        let b = PETER_VKEY.as_bytes();
        // Every proper substring that is valid UTF-8 (all of it is ASCII).
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let s = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(s.parse::<NoteVerifier>().is_err(), "{s:?} accepted");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(s.parse::<NoteVerifier>().is_err(), "{s:?} accepted");
            }
        }
        // From Go's tests: wrong key length and unknown algorithm, each with
        // a key hash adjusted to match.
        assert!(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
                .parse::<NoteVerifier>()
                .is_err()
        );
        assert_eq!(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
                .parse::<NoteVerifier>(),
            Err(NoteError::UnknownAlgorithm)
        );
        assert_eq!(
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
                .parse::<NoteVerifier>(),
            Err(NoteError::KeyHashMismatch)
        );
        assert_eq!(
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
                .parse::<NoteVerifier>(),
            Err(NoteError::BadVerifierKey)
        );
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let bad = [
            // No blank line at all / text only.
            PETER_TEXT.to_string(),
            // Empty signature block.
            format!("{PETER_TEXT}\n"),
            // Missing blank line between text and signature.
            format!("{PETER_TEXT}{PETER_SIG}"),
            // Signature line without final newline.
            format!("{PETER_TEXT}\n{}", PETER_SIG.trim_end_matches('\n')),
            // Control characters.
            format!("\x01{PETER_TEXT}\n{PETER_SIG}"),
            format!("{PETER_TEXT}\r\n{PETER_SIG}"),
            // Name with a space, and with a '+'.
            format!(
                "{PETER_TEXT}\n{}",
                PETER_SIG.replace("PeterNeumann", "Peter Neumann")
            ),
            format!(
                "{PETER_TEXT}\n{}",
                PETER_SIG.replace("PeterNeumann", "Peter+Neumann")
            ),
            // Trailing non-signature line.
            format!("{PETER_TEXT}\n{PETER_SIG}Unexpected line.\n"),
            // Hyphen instead of em dash.
            format!("{PETER_TEXT}\n{}", PETER_SIG.replace('\u{2014}', "-")),
            // Bad base64, non-canonical padding, no signature at all.
            format!("{PETER_TEXT}\n{}", PETER_SIG.replace("x08go", "x08g!")),
            format!("{PETER_TEXT}\n{}", PETER_SIG.replace("AM=", "AM")),
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann\n"),
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann \n"),
            // Truncated to the key hash plus nothing.
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann x08gow==\n"),
            // Text that does not end in a newline cannot be split off.
            "abc\u{2014} PeterNeumann x08gow==\n".to_string(),
        ];
        for msg in &bad {
            let err = SignedNote::parse(msg).unwrap_err();
            assert!(matches!(err, NoteError::Malformed(_)), "{msg:?}: {err:?}");
        }
    }

    #[test]
    fn signing_checks_the_text_and_names() {
        let key = peter_key();
        let signer = NoteSigner::new("PeterNeumann", &key).unwrap();
        assert!(matches!(
            SignedNote::sign("abc", &signer),
            Err(NoteError::Malformed(_))
        ));
        assert!(matches!(
            SignedNote::sign("a\tb\n", &signer),
            Err(NoteError::Malformed(_))
        ));
        let big = "a".repeat(MAX_NOTE_SIZE) + "\n";
        assert_eq!(SignedNote::sign(&big, &signer), Err(NoteError::TooLarge));
        for name in ["", "a+b", "a b", "a\u{3000}b", "a\nb"] {
            assert_eq!(
                NoteSigner::new(name, &key).unwrap_err(),
                NoteError::BadKeyName
            );
            assert_eq!(
                NoteVerifier::new(name, key.public_key()).unwrap_err(),
                NoteError::BadKeyName
            );
        }
    }

    #[test]
    fn bad_signatures_are_rejected() {
        let v = peter();
        let bad_sig = NoteError::BadSignature {
            name: "PeterNeumann".into(),
            key_hash: 0xc74f20a3,
        };

        // A modified text byte.
        let tampered = peter_note().replace("cryptography", "cryptographY");
        let note = SignedNote::parse(&tampered).unwrap();
        assert_eq!(note.verify(&v), Err(bad_sig.clone()));

        // A modified signature (from Go's tests: "ABCD" spliced in).
        let sig = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let note = SignedNote::parse(&format!("{PETER_TEXT}\n{sig}")).unwrap();
        assert_eq!(note.verify(&v), Err(bad_sig.clone()));

        // A truncated signature that is still valid base64.
        let mut note = SignedNote::parse(&peter_note()).unwrap();
        note.signatures[0].signature.truncate(63);
        let note = SignedNote::parse(&note.to_text()).unwrap();
        assert_eq!(note.verify(&v), Err(bad_sig.clone()));

        // A good line next to a forged one by the same key is rejected.
        let mut forged = SignedNote::parse(&peter_note()).unwrap();
        let mut extra = forged.signatures[0].clone();
        extra.signature[0] ^= 1;
        forged.signatures.push(extra);
        assert_eq!(forged.verify(&v), Err(bad_sig));

        // Signed by another key under Peter's name: different key hash, so
        // it is not Peter's signature at all.
        let other = key_from_seed(&[9u8; 32]);
        let signer = NoteSigner::new("PeterNeumann", &other).unwrap();
        let note = SignedNote::sign(PETER_TEXT, &signer).unwrap();
        assert!(matches!(
            note.verify(&v),
            Err(NoteError::NoSignatureByKey { .. })
        ));

        // Another key's signature relabelled with Peter's key hash.
        let mut relabelled = note.clone();
        relabelled.signatures[0].key_hash = 0xc74f20a3;
        let relabelled = SignedNote::parse(&relabelled.to_text()).unwrap();
        assert!(matches!(
            relabelled.verify(&v),
            Err(NoteError::BadSignature { .. })
        ));

        // Peter's signature with a wrong key hash is someone else's line.
        let mut wrong_hash = SignedNote::parse(&peter_note()).unwrap();
        wrong_hash.signatures[0].key_hash ^= 1;
        let wrong_hash = SignedNote::parse(&wrong_hash.to_text()).unwrap();
        assert!(matches!(
            wrong_hash.verify(&v),
            Err(NoteError::NoSignatureByKey { .. })
        ));
    }

    #[test]
    fn signature_count_is_limited() {
        let ok = format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES));
        SignedNote::parse(&ok).unwrap().verify(&peter()).unwrap();
        let too_many = format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            SignedNote::parse(&too_many),
            Err(NoteError::TooManySignatures)
        );
        let huge = format!("{}\n{PETER_SIG}", "a\n".repeat(MAX_NOTE_SIZE / 2));
        assert_eq!(SignedNote::parse(&huge), Err(NoteError::TooLarge));
    }

    #[test]
    fn add_signature_and_cosign_replace_by_key() {
        let key = key_from_seed(&[1u8; 32]);
        let witness_key = key_from_seed(&[2u8; 32]);
        let log = NoteSigner::new("example.com/log", &key).unwrap();
        let witness = NoteSigner::new("example.com/witness", &witness_key).unwrap();
        let mut note = SignedNote::sign("hello\n", &log).unwrap();
        note.cosign(&witness).unwrap();
        note.cosign(&witness).unwrap();
        assert_eq!(note.signatures.len(), 2);
        let back = SignedNote::parse(&note.to_text()).unwrap();
        back.verify(&log.verifier()).unwrap();
        back.verify(&witness.verifier()).unwrap();

        let mut stale = note.signatures[0].clone();
        stale.signature[5] ^= 1;
        note.signatures.push(stale);
        note.add_signature(log.signature("hello\n"));
        assert_eq!(note.signatures.len(), 2);
        note.verify(&log.verifier()).unwrap();
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = key_from_seed(&[3u8; 32]);
        let signer = NoteSigner::new("n", &key).unwrap();
        let shown = format!("{signer:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("0303"));
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\n".to_string()),
            Just("\n\n".to_string()),
            Just("\u{2014} ".to_string()),
            Just(" ".to_string()),
            Just("+".to_string()),
            Just("=".to_string()),
            Just("PeterNeumann".to_string()),
            Just(PETER_SIG.to_string()),
            Just(PETER_TEXT.to_string()),
            Just("x08go/ZJ".to_string()),
            Just("AAAAAA==".to_string()),
            "\\PC{0,8}",
            ".{0,4}",
        ]
    }

    proptest! {
        #[test]
        fn parse_never_panics(parts in prop::collection::vec(fragment(), 0..24)) {
            let input = parts.concat();
            if let Ok(note) = SignedNote::parse(&input) {
                // Whatever parses serialises back to the same bytes.
                prop_assert_eq!(note.to_text(), input);
                let _ = note.verify(&peter());
            }
        }

        #[test]
        fn parse_arbitrary_strings(input in ".*") {
            let _ = SignedNote::parse(&input);
            let _ = input.parse::<NoteVerifier>();
        }

        #[test]
        fn sign_parse_verify_round_trip(text in "([ -~\u{a0}-\u{2fff}]{0,30}\n){1,5}", seed in any::<[u8; 32]>()) {
            let key = key_from_seed(&seed);
            let signer = NoteSigner::new("example.com/log", &key).unwrap();
            let note = SignedNote::sign(&text, &signer).unwrap();
            let back = SignedNote::parse(&note.to_text()).unwrap();
            prop_assert_eq!(&back, &note);
            back.verify(&signer.verifier()).unwrap();
            let vkey = signer.verifier().to_vkey();
            prop_assert_eq!(vkey.parse::<NoteVerifier>().unwrap(), signer.verifier());
        }
    }
}
