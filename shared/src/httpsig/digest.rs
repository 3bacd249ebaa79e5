//! RFC 9530 `Content-Digest`: the SHA-256 digest of a request body, which a
//! signed request covers so that its body cannot be swapped.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::sfv::{parse_dictionary, BareItem, Member, SfvError};

/// Why a body does not match its `Content-Digest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("unreadable Content-Digest: {0}")]
    Malformed(String),
    #[error("the body does not match its Content-Digest")]
    Mismatch,
}

impl From<SfvError> for DigestError {
    fn from(e: SfvError) -> DigestError {
        DigestError::Malformed(e.0)
    }
}

/// RFC 9530 `Content-Digest` value for `body`: `sha-256=:<base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, body);
    format!("sha-256=:{}:", B64.encode(d.as_ref()))
}

/// Checks a `Content-Digest` header value against `body` (its `sha-256` member).
pub fn check_content_digest(header: &str, body: &[u8]) -> Result<(), DigestError> {
    let dict = parse_dictionary(header)?;
    let want = dict
        .iter()
        .find_map(|(k, m)| match (k.as_str(), m) {
            ("sha-256", Member::Item(BareItem::Bytes(b), _)) => Some(b.clone()),
            _ => None,
        })
        .ok_or_else(|| DigestError::Malformed("no sha-256 member".into()))?;
    let got = ring::digest::digest(&ring::digest::SHA256, body);
    if want.as_slice() == got.as_ref() {
        Ok(())
    } else {
        Err(DigestError::Mismatch)
    }
}
