//! Authentication of reads: the one place a request becomes a [`Reader`].
//!
//! A handler that serves delegations takes [`Signed`] (an admitted delegation
//! with an active key, or a refusal) or [`MaybeSigned`] (the same, or
//! [`Reader::Anonymous`] when the request carries no signature at all) as an
//! argument, and asks [`crate::access`] what that reader may see. Nothing else
//! in the server looks at signature headers.
//!
//! A signed request (RFC 9421, see `entente_shared::httpsig`) must cover
//! `@method` and `@target-uri` (and `content-digest` when it has a body), carry
//! `created`, `keyid` and `nonce`, be created within
//! `request_signature_window_secs` of the server clock (either way), use a
//! nonce not seen within that window, and verify against a key that is active
//! in the roster *now*: a key is refused from the moment its revocation or
//! rotation is committed.
//!
//! `@target-uri` is rebuilt from what this server sees: `https` when the
//! listener is TLS, else `http`; the `Host` header (or the HTTP/2 authority);
//! the path and query as received. Behind a proxy, `public_url` replaces the
//! scheme and authority, so clients sign the URL they actually use. Forwarded
//! headers are never trusted for this.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use entente_shared::api::{Problem, PROBLEM_CONTENT_TYPE};
use entente_shared::httpsig::{check_content_digest, HttpSigError, Message, Presented};
use entente_shared::keys::KeyId;
use entente_shared::ledger::KeyStatus;
use entente_shared::refusal::PROBLEM_BASE;
pub use entente_shared::visibility::Reader;

use crate::replay_cache::NonceError;
use crate::state::AppState;

/// Why a request was not authenticated. Each has its own problem type.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("this route needs a signed request (RFC 9421 Signature-Input and Signature)")]
    Unsigned,
    #[error("{0}")]
    BadSignature(String),
    #[error("the request signature was created {age_secs}s from the server's clock; at most {window_secs}s is accepted")]
    Expired { age_secs: i64, window_secs: u64 },
    #[error("this request (nonce) was already seen; sign each request afresh")]
    Replayed,
    #[error("key {0} is not in the roster")]
    UnknownKey(String),
    #[error("key {0} was revoked")]
    RevokedKey(String),
    #[error("key {0} was rotated out")]
    RotatedKey(String),
    #[error("key {key} made more than {per_key} signed requests within the last {window_secs}s; try again shortly")]
    TooMany {
        key: String,
        per_key: usize,
        window_secs: u64,
    },
    #[error("the server is still rebuilding its state from the log; try again shortly")]
    Starting,
    #[error("internal error")]
    Internal,
}

impl AuthError {
    /// The stable slug that ends the problem `type`.
    pub fn slug(&self) -> &'static str {
        match self {
            AuthError::Unsigned => "unsigned-request",
            AuthError::BadSignature(_) => "bad-request-signature",
            AuthError::Expired { .. } => "expired-signature",
            AuthError::Replayed => "replayed-request",
            AuthError::UnknownKey(_) => "unknown-key",
            AuthError::RevokedKey(_) => "revoked-key",
            AuthError::RotatedKey(_) => "rotated-key",
            AuthError::TooMany { .. } => "rate-limited",
            AuthError::Starting => "starting",
            AuthError::Internal => "internal",
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::RevokedKey(_) | AuthError::RotatedKey(_) => StatusCode::FORBIDDEN,
            AuthError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Starting => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let problem = Problem {
            problem_type: format!("{PROBLEM_BASE}{}", self.slug()),
            title: "request not authenticated".into(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
        };
        let mut resp = HttpResponse::build(self.status_code());
        if self.status_code() == StatusCode::UNAUTHORIZED {
            resp.insert_header((header::WWW_AUTHENTICATE, "Signature"));
        }
        resp.content_type(PROBLEM_CONTENT_TYPE).json(problem)
    }
}

/// A request signed by an active key of an admitted delegation.
#[derive(Debug, Clone)]
pub struct Signed {
    pub reader: Reader,
    /// The key that signed, e.g. to re-check it on a long-lived stream.
    pub key_id: KeyId,
    content_digest: Option<String>,
}

impl Signed {
    /// For handlers that read a body: checks it against the signed `Content-Digest`.
    pub fn check_body(&self, body: &[u8]) -> Result<(), AuthError> {
        match &self.content_digest {
            Some(d) => check_content_digest(d, body).map_err(|_| {
                AuthError::BadSignature("the body does not match its Content-Digest".into())
            }),
            None if body.is_empty() => Ok(()),
            None => Err(AuthError::BadSignature(
                "a request with a body must sign its content-digest".into(),
            )),
        }
    }
}

/// A signed request as for [`Signed`], or an unsigned one as [`Reader::Anonymous`].
/// A request that is signed but fails any check is refused, never downgraded.
#[derive(Debug, Clone)]
pub struct MaybeSigned {
    pub reader: Reader,
}

impl FromRequest for Signed {
    type Error = AuthError;
    type Future = Ready<Result<Signed, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|s| s.ok_or(AuthError::Unsigned)))
    }
}

impl FromRequest for MaybeSigned {
    type Error = AuthError;
    type Future = Ready<Result<MaybeSigned, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(|s| MaybeSigned {
            reader: s.map(|s| s.reader).unwrap_or(Reader::Anonymous),
        }))
    }
}

/// `Ok(None)`: no signature headers at all.
fn authenticate(req: &HttpRequest) -> Result<Option<Signed>, AuthError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AuthError::Internal)?;
    let input = joined_header(req, "signature-input")?;
    let signature = joined_header(req, "signature")?;
    let (input, signature) = match (input, signature) {
        (None, None) => return Ok(None),
        (Some(i), Some(s)) => (i, s),
        _ => {
            return Err(AuthError::BadSignature(
                "Signature-Input and Signature come together".into(),
            ))
        }
    };
    // Keys are checked against the roster, which exists once the fold is rebuilt.
    if !*state.fold_ready.borrow() {
        return Err(AuthError::Starting);
    }
    let settings = &state.settings;
    let msg = Message {
        method: req.method().as_str().to_owned(),
        target_uri: target_uri(req, &settings.public_url)?,
        headers: req
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
    };
    let presented = Presented::parse(&input, &signature, &msg).map_err(bad)?;
    for required in ["@method", "@target-uri"] {
        if !presented.covers(required) {
            return Err(bad(HttpSigError::NotCovered(format!("\"{required}\""))));
        }
    }
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if has_body && !presented.covers("content-digest") {
        return Err(bad(HttpSigError::NotCovered("\"content-digest\"".into())));
    }
    let nonce = presented
        .nonce
        .clone()
        .ok_or_else(|| AuthError::BadSignature("the signature needs a nonce parameter".into()))?;

    // Cheap checks first; the signature only once the key is known to be usable.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let window = settings.request_signature_window_secs;
    let age = now.saturating_sub(presented.created);
    if age.unsigned_abs() > window || presented.expires.is_some_and(|e| e < now) {
        return Err(AuthError::Expired {
            age_secs: age,
            window_secs: window,
        });
    }
    let key_id: KeyId = presented
        .keyid
        .parse()
        .map_err(|_| AuthError::UnknownKey(presented.keyid.clone()))?;
    let (reader, public_key) = {
        let ledger = state.ledger();
        let (delegation, record) = ledger
            .roster()
            .key(&key_id)
            .ok_or_else(|| AuthError::UnknownKey(key_id.to_string()))?;
        match record.status {
            KeyStatus::Active => {}
            KeyStatus::Revoked { .. } => return Err(AuthError::RevokedKey(key_id.to_string())),
            KeyStatus::Rotated { .. } => return Err(AuthError::RotatedKey(key_id.to_string())),
        }
        let reader = Reader::Delegation {
            code: delegation.code,
            role: delegation.role,
        };
        (reader, record.public_key)
    };
    presented.verify(&public_key).map_err(bad)?;
    // Only verified requests take a slot, so forgeries cannot fill the cache.
    let expires_at = presented.created.saturating_add(window as i64);
    state
        .replay
        .insert(&key_id, &nonce, expires_at, now)
        .map_err(|e| match e {
            NonceError::Replayed => AuthError::Replayed,
            NonceError::KeyFull { per_key } => AuthError::TooMany {
                key: key_id.to_string(),
                per_key,
                window_secs: window,
            },
        })?;
    Ok(Some(Signed {
        reader,
        key_id,
        content_digest: joined_header(req, "content-digest")?,
    }))
}

/// Whether `key_id` is still an active key: a long-lived stream re-checks its
/// subscriber's key on every batch, so a revocation ends the stream at once.
pub fn still_active(state: &AppState, key_id: &KeyId) -> Result<(), AuthError> {
    let ledger = state.ledger();
    match ledger.roster().key(key_id).map(|(_, k)| &k.status) {
        Some(KeyStatus::Active) => Ok(()),
        Some(KeyStatus::Revoked { .. }) => Err(AuthError::RevokedKey(key_id.to_string())),
        Some(KeyStatus::Rotated { .. }) => Err(AuthError::RotatedKey(key_id.to_string())),
        None => Err(AuthError::UnknownKey(key_id.to_string())),
    }
}

fn bad(e: HttpSigError) -> AuthError {
    AuthError::BadSignature(e.to_string())
}

/// All lines of a header joined as RFC 9110 allows; `None` if absent.
fn joined_header(req: &HttpRequest, name: &str) -> Result<Option<String>, AuthError> {
    let mut out: Option<String> = None;
    for v in req.headers().get_all(name) {
        let v = v
            .to_str()
            .map_err(|_| AuthError::BadSignature(format!("{name} is not ASCII")))?;
        let s = out.get_or_insert_with(String::new);
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(v);
        if s.len() > entente_shared::httpsig::MAX_FIELD_LEN {
            return Err(AuthError::BadSignature(format!("{name} is too long")));
        }
    }
    Ok(out)
}

/// `(scheme, authority)` of a `public_url` setting, if it is one.
pub fn split_public_url(url: &str) -> Option<(&str, &str)> {
    let (scheme, authority) = url.trim_end_matches('/').split_once("://")?;
    let ok = matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && !authority.contains(['/', '?', '#', '@', ' ']);
    ok.then_some((scheme, authority))
}

/// The request's target URI as the client addressed it (see the module docs).
fn target_uri(req: &HttpRequest, public_url: &str) -> Result<String, AuthError> {
    let path = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    if let Some((scheme, authority)) = split_public_url(public_url) {
        return Ok(format!("{scheme}://{authority}{path}"));
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let authority = match req.headers().get(header::HOST) {
        Some(h) => h
            .to_str()
            .map_err(|_| AuthError::BadSignature("Host is not ASCII".into()))?
            .to_owned(),
        None => req
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| AuthError::BadSignature("the request names no host".into()))?,
    };
    Ok(format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_shapes() {
        assert_eq!(
            split_public_url("https://e.example:8443/"),
            Some(("https", "e.example:8443"))
        );
        assert_eq!(split_public_url("https://e.example/base"), None);
        assert_eq!(split_public_url("ftp://e.example"), None);
        assert_eq!(split_public_url("e.example"), None);
    }
}
