//! Sealing a body to its readers, and opening it.
//!
//! A fresh 32-byte content key encrypts the body's JSON (padded with spaces
//! to a multiple of [`PAD_TO`] bytes) with ChaCha20-Poly1305 (ring), under
//! the nonce zero (the key is used once) and the associated data
//! `entente-seal/v1 0x00 kind 0x00 author`, so a sealed body cannot be
//! passed off as another kind or as another delegation's.
//!
//! The content key is then wrapped for each reader — every recipient and
//! the author — with HPKE (RFC 9180) in base mode, suite
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305 (the `hpke`
//! crate), `info` = `entente-seal/v1 0x00 kind 0x00 author 0x00 reader` and
//! `aad` = the commitment. The commitment is SHA-256 of
//! `entente-seal-commit/v1 0x00` and the content key: a reader opens only
//! with a key whose commitment matches the signed one, so every reader who
//! opens a statement opens the same plaintext (ChaCha20-Poly1305 alone does
//! not commit to its key).
//!
//! [`Keyring`] is what a reader opens with: its delegation code and every
//! X25519 secret it has held, so statements sealed before a rotation still
//! open, and nothing sealed to another key (a re-admission's) does.

use rand_core::TryRngCore as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::rand::{SecureRandom as _, SystemRandom};
use zeroize::Zeroizing;

use crate::encryption::{EncryptionKey, EncryptionSecret, Kem};
use crate::keys::KeyId;
use crate::statement::sealed::{PAD_TO, WRAPPED_LEN};
use crate::statement::{Body, DelegationCode, Kind, Refs, Sealed, Statement, WrappedKey};

type HpkeAead = hpke::aead::ChaCha20Poly1305;
type HpkeKdf = hpke::kdf::HkdfSha256;

const DOMAIN: &[u8] = b"entente-seal/v1";
const COMMIT_DOMAIN: &[u8] = b"entente-seal-commit/v1";

/// Why a body could not be sealed or opened. Each names what was wrong; a
/// reader marks a statement that fails to open with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the body is already sealed")]
    AlreadySealed,
    #[error("{0} has no encryption key in the roster: it must rotate its key before it can receive sealed statements")]
    NoKey(DelegationCode),
    #[error("the encryption key of {0} is not a valid X25519 key")]
    BadKey(DelegationCode),
    #[error("the system random number generator failed")]
    Rng,
    #[error("the key wrapped for {0} does not open with {0}'s key: it was changed, swapped or wrapped to another key")]
    Unwrap(DelegationCode),
    #[error("the content key wrapped for {0} does not match the signed commitment: readers would open different texts")]
    Commitment(DelegationCode),
    #[error("the ciphertext does not open: it was changed after sealing")]
    Ciphertext,
    #[error("the sealed body is not a valid {kind}: {why}")]
    Body { kind: Kind, why: String },
    #[error("the sealed body's references differ from its clear references")]
    Refs,
}

/// The least a sealed body of `kind` is padded to. An endorsement, an
/// objection or an abstention is padded to 4 KiB, so that the host cannot
/// tell a stance with a reason or reservation (up to about 3.9 KB of it)
/// from one without; every other body to one block.
fn min_padded(kind: Kind) -> usize {
    match kind {
        Kind::Endorsement => 16 * PAD_TO,
        _ => PAD_TO,
    }
}

/// `entente-seal/v1 0x00 kind 0x00 author`, and a reader after another 0x00.
fn context(kind: Kind, author: &DelegationCode, reader: Option<&DelegationCode>) -> Vec<u8> {
    let mut out = DOMAIN.to_vec();
    for part in [kind.as_str(), author.as_str()]
        .into_iter()
        .chain(reader.map(|r| r.as_str()))
    {
        out.push(0);
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn commitment(content_key: &[u8; 32]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(COMMIT_DOMAIN);
    ctx.update(&[0]);
    ctx.update(content_key);
    ctx.finish()
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

fn body_key(content_key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, content_key).expect("a ChaCha20 key is 32 bytes"),
    )
}

/// Seals `body` (open, of the statement's kind) by `author` for `readers`:
/// each recipient and the author, with the X25519 key the roster gives them.
pub fn seal(
    author: &DelegationCode,
    body: &Body,
    readers: &[(DelegationCode, EncryptionKey)],
) -> Result<Sealed, SealError> {
    if body.is_sealed() {
        return Err(SealError::AlreadySealed);
    }
    let kind = body.kind();
    let rng = SystemRandom::new();
    let mut content_key = Zeroizing::new([0u8; 32]);
    rng.fill(content_key.as_mut_slice())
        .map_err(|_| SealError::Rng)?;
    let commitment = commitment(&content_key);

    let mut ciphertext = body.encode_open();
    let padded = (ciphertext.len().div_ceil(PAD_TO) * PAD_TO).max(min_padded(kind));
    ciphertext.resize(padded, b' ');
    body_key(&content_key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::from(context(kind, author, None)),
            &mut ciphertext,
        )
        .map_err(|_| SealError::Ciphertext)?;

    let mut keys = Vec::with_capacity(readers.len());
    for (reader, key) in readers {
        keys.push(wrap(kind, author, reader, key, &content_key, &commitment)?);
    }
    Ok(Sealed {
        refs: Refs::of(body),
        commitment,
        ciphertext,
        keys,
    })
}

/// The content key wrapped for `reader`'s `key`, bound to the commitment:
/// the HPKE step of [`seal`] alone, for each reader (tests use it to make
/// a seal whose readers would open different keys).
pub fn wrap(
    kind: Kind,
    author: &DelegationCode,
    reader: &DelegationCode,
    key: &EncryptionKey,
    content_key: &[u8; 32],
    commitment: &[u8; 32],
) -> Result<WrappedKey, SealError> {
    let public = key.to_hpke().map_err(|_| SealError::BadKey(*reader))?;
    let (enc, wrapped) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, Kem, _>(
        &hpke::OpModeS::Base,
        &public,
        &context(kind, author, Some(reader)),
        content_key,
        commitment,
        &mut rand_core::OsRng.unwrap_err(),
    )
    .map_err(|_| SealError::BadKey(*reader))?;
    Ok(WrappedKey {
        to: *reader,
        key: key.key_id(),
        enc: hpke::Serializable::to_bytes(&enc).into(),
        wrapped,
    })
}

/// Opens `sealed` (a `kind` statement by `author`) as `reader` with `secret`,
/// the key its wrapped key names: the content key unwrapped, checked against
/// the commitment, the body decrypted, read as a `kind` body and its
/// references compared with the clear ones.
pub fn open(
    kind: Kind,
    author: &DelegationCode,
    sealed: &Sealed,
    reader: &DelegationCode,
    secret: &EncryptionSecret,
) -> Result<Body, SealError> {
    let unwrap = || SealError::Unwrap(*reader);
    let wrap = sealed.wrap_for(reader).ok_or_else(unwrap)?;
    if wrap.wrapped.len() != WRAPPED_LEN {
        return Err(unwrap());
    }
    let enc = <<Kem as hpke::Kem>::EncappedKey as hpke::Deserializable>::from_bytes(&wrap.enc)
        .map_err(|_| unwrap())?;
    let key = hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(
        &hpke::OpModeR::Base,
        &secret.to_hpke(),
        &enc,
        &context(kind, author, Some(reader)),
        &wrap.wrapped,
        &sealed.commitment,
    )
    .map_err(|_| unwrap())?;
    let key = Zeroizing::new(key);
    let content_key: Zeroizing<[u8; 32]> = Zeroizing::new(
        key.as_slice()
            .try_into()
            .map_err(|_| SealError::Commitment(*reader))?,
    );
    // Both values are public (the commitment is signed in clear): a plain
    // comparison leaks nothing.
    if commitment(&content_key) != sealed.commitment {
        return Err(SealError::Commitment(*reader));
    }
    // The plaintext is wiped once the body is read from it.
    let mut text = Zeroizing::new(sealed.ciphertext.clone());
    let plain = body_key(&content_key)
        .open_in_place(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::from(context(kind, author, None)),
            &mut text[..],
        )
        .map_err(|_| SealError::Ciphertext)?;
    let body = Body::decode_open(kind, plain).map_err(|e| SealError::Body { kind, why: e.0 })?;
    if Refs::of(&body) != sealed.refs {
        return Err(SealError::Refs);
    }
    Ok(body)
}

/// What opens sealed statements during a replay (`ledger::Replay::opening`).
pub trait Opener: Send + Sync {
    /// The body of `st` if it is sealed and this opener can open it, or
    /// why it does not open; `None` when it is not for this opener.
    fn open(&self, st: &Statement) -> Option<Result<Body, SealError>>;
}

/// What a reader opens sealed statements with.
#[derive(Debug)]
pub struct Keyring {
    reader: DelegationCode,
    secrets: Vec<EncryptionSecret>,
}

impl Keyring {
    /// `reader`'s keyring: every X25519 secret it has held.
    pub fn new(reader: DelegationCode, secrets: Vec<EncryptionSecret>) -> Keyring {
        Keyring { reader, secrets }
    }

    pub fn reader(&self) -> &DelegationCode {
        &self.reader
    }

    /// The ids of the keys it holds, in the order given.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.secrets
            .iter()
            .map(|s| s.public_key().key_id())
            .collect()
    }

    /// Copies of the secrets, for tests that fold as several readers.
    #[cfg(test)]
    pub(crate) fn secrets_for_tests(&self) -> Vec<EncryptionSecret> {
        self.secrets
            .iter()
            .map(|s| EncryptionSecret::from_text(&s.to_text()).expect("a key reads back"))
            .collect()
    }

    fn secret(&self, id: &KeyId) -> Option<&EncryptionSecret> {
        self.secrets.iter().find(|s| &s.public_key().key_id() == id)
    }

    /// Opens `st` if it is sealed to this reader with a key the ring holds:
    /// `None` when it is not sealed, not sealed to this reader, or sealed to
    /// a key this reader never held (nothing sealed before a re-admission
    /// or a rotation opens with the new key); otherwise the body, or why it
    /// does not open.
    pub fn open(&self, st: &Statement) -> Option<Result<Body, SealError>> {
        Opener::open(self, st)
    }
}

impl Opener for Keyring {
    fn open(&self, st: &Statement) -> Option<Result<Body, SealError>> {
        let Body::Sealed { kind, sealed } = &st.body else {
            return None;
        };
        let wrap = sealed.wrap_for(&self.reader)?;
        let secret = self.secret(&wrap.key)?;
        Some(open(*kind, &st.author, sealed, &self.reader, secret))
    }
}

#[cfg(test)]
mod tests;
