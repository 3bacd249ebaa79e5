//! Judging a signed request: the checks every Entente server makes before a
//! request becomes a [`Reader`] — the log server's reads and a mirror's alike
//! (the module docs of `entente-server`'s `auth` give the rules). What is
//! left to the caller: reading the headers off its HTTP framework, the
//! roster lookup (given as `key_for`, so no lock is held while verifying),
//! and remembering nonces.

use crate::keys::{KeyId, PublicKey};
use crate::refusal::RequestRefusal;
use crate::visibility::Reader;

use super::{HttpSigError, Message, Presented, MAX_FIELD_LEN};

/// The clock and window a request is judged with.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Unix seconds now.
    pub now: i64,
    /// How far `created` may be from `now`, either way.
    pub secs: u64,
    /// Requests created before this (the server's start) are refused, so a
    /// restart cannot open a window for nonces it forgot.
    pub not_before: i64,
}

/// A request whose signature verified with a usable key.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub reader: Reader,
    pub key_id: KeyId,
    /// Its nonce, for the caller's replay cache...
    pub nonce: String,
    /// ...until this Unix second, when the window closes on it anyway.
    pub expires_at: i64,
}

/// Checks the signature headers `input` and `signature` of `msg` (a request
/// with a body if `has_body`) within `window`, against the key `key_for`
/// gives for the signature's key id.
pub fn authenticate(
    input: &str,
    signature: &str,
    msg: &Message,
    has_body: bool,
    window: Window,
    key_for: impl FnOnce(&KeyId) -> Result<(Reader, PublicKey), RequestRefusal>,
) -> Result<Authenticated, RequestRefusal> {
    let presented = Presented::parse(input, signature, msg).map_err(bad)?;
    for required in ["@method", "@target-uri"] {
        if !presented.covers(required) {
            return Err(bad(HttpSigError::NotCovered(format!("\"{required}\""))));
        }
    }
    if has_body && !presented.covers("content-digest") {
        return Err(bad(HttpSigError::NotCovered("\"content-digest\"".into())));
    }
    let nonce = presented.nonce.clone().ok_or_else(|| {
        RequestRefusal::BadSignature("the signature needs a nonce parameter".into())
    })?;
    // Cheap checks first; the signature only once the key is known to be usable.
    let age = window.now.saturating_sub(presented.created);
    if age.unsigned_abs() > window.secs || presented.expires.is_some_and(|e| e < window.now) {
        return Err(RequestRefusal::Expired {
            age_secs: age,
            window_secs: window.secs,
        });
    }
    if presented.created < window.not_before {
        return Err(RequestRefusal::BeforeStart);
    }
    let key_id: KeyId = presented
        .keyid
        .parse()
        .map_err(|_| RequestRefusal::UnknownKey(presented.keyid.clone()))?;
    let (reader, public_key) = key_for(&key_id)?;
    presented.verify(&public_key).map_err(bad)?;
    Ok(Authenticated {
        reader,
        key_id,
        nonce,
        expires_at: presented.created.saturating_add(window.secs as i64),
    })
}

/// All lines of one header field joined as RFC 9110 allows (`None` if it
/// is absent); a line that is not ASCII is `None` in `lines`.
pub fn join_field<'a>(
    name: &str,
    lines: impl Iterator<Item = Option<&'a str>>,
) -> Result<Option<String>, RequestRefusal> {
    let mut out: Option<String> = None;
    for line in lines {
        let line =
            line.ok_or_else(|| RequestRefusal::BadSignature(format!("{name} is not ASCII")))?;
        let s = out.get_or_insert_with(String::new);
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(line);
        if s.len() > MAX_FIELD_LEN {
            return Err(RequestRefusal::BadSignature(format!("{name} is too long")));
        }
    }
    Ok(out)
}

fn bad(e: HttpSigError) -> RequestRefusal {
    RequestRefusal::BadSignature(e.to_string())
}
