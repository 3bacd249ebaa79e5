//! Authentication of reads: the one place a request becomes a [`Reader`].
//!
//! A handler that serves delegations takes [`Signed`] (an admitted delegation
//! with an active key, or a refusal) or [`MaybeSigned`] (the same, or
//! [`Reader::Anonymous`] when the request carries no signature at all) as an
//! argument, and asks [`crate::access`] what that reader may see. Nothing else
//! in the server looks at signature headers. Refusals are
//! [`RequestRefusal`]s (shared, each with its problem type) carried by the
//! one HTTP error, [`ApiError`].
//!
//! A signed request (RFC 9421, see `entente_shared::httpsig`) must cover
//! `@method` and `@target-uri` (and `content-digest` when it has a body), carry
//! `created`, `keyid` and `nonce`, be created after the server started and within
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
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use entente_shared::httpsig::request::{self as signed_request, join_field, Window};
use entente_shared::httpsig::{check_content_digest, Message};
use entente_shared::keys::KeyId;
use entente_shared::refusal::RequestRefusal;
pub use entente_shared::visibility::Reader;

use crate::error::ApiError;
use crate::replay_cache::NonceError;
use crate::settings::split_public_url;
use crate::state::AppState;

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
    pub fn check_body(&self, body: &[u8]) -> Result<(), RequestRefusal> {
        match &self.content_digest {
            Some(d) => check_content_digest(d, body)
                .map_err(|e| RequestRefusal::BadSignature(e.to_string())),
            None if body.is_empty() => Ok(()),
            None => Err(RequestRefusal::BadSignature(
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
    type Error = ApiError;
    type Future = Ready<Result<Signed, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|s| s.ok_or(RequestRefusal::Unsigned.into())))
    }
}

impl FromRequest for MaybeSigned {
    type Error = ApiError;
    type Future = Ready<Result<MaybeSigned, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(|s| MaybeSigned {
            reader: s.map(|s| s.reader).unwrap_or(Reader::Anonymous),
        }))
    }
}

/// `Ok(None)`: no signature headers at all.
fn authenticate(req: &HttpRequest) -> Result<Option<Signed>, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("no application state".into()))?;
    let input = joined_header(req, "signature-input")?;
    let signature = joined_header(req, "signature")?;
    let (input, signature) = match (input, signature) {
        (None, None) => return Ok(None),
        (Some(i), Some(s)) => (i, s),
        _ => {
            return Err(RequestRefusal::BadSignature(
                "Signature-Input and Signature come together".into(),
            )
            .into())
        }
    };
    // Keys are checked against the roster, which exists once the fold is rebuilt.
    let fold = state.ready_fold().ok_or(ApiError::Starting)?;
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
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let window = Window {
        now,
        secs: settings.request_signature_window_secs,
        not_before: state.started_at,
    };
    let signed =
        signed_request::authenticate(&input, &signature, &msg, has_body, window, |key_id| {
            let ledger = fold.read();
            let (delegation, record) = ledger
                .roster()
                .usable_key(key_id)
                .map_err(RequestRefusal::from)?;
            let reader = Reader::Delegation {
                code: delegation.code,
                role: delegation.role,
            };
            Ok((reader, record.public_key))
        })?;
    let key_id = signed.key_id;
    // Only verified requests take a slot, so forgeries cannot fill the cache.
    state
        .replay
        .insert(&key_id, &signed.nonce, signed.expires_at, now)
        .map_err(|e| match e {
            NonceError::Replayed => RequestRefusal::Replayed.into(),
            NonceError::KeyFull { per_key } => ApiError::RateLimited(format!(
                "key {key_id} made more than {per_key} signed requests within the last {}s; try again shortly",
                window.secs
            )),
        })?;
    Ok(Some(Signed {
        reader: signed.reader,
        key_id,
        content_digest: joined_header(req, "content-digest")?,
    }))
}

/// All lines of a header joined as RFC 9110 allows; `None` if absent.
fn joined_header(req: &HttpRequest, name: &str) -> Result<Option<String>, RequestRefusal> {
    join_field(name, req.headers().get_all(name).map(|v| v.to_str().ok()))
}

/// The request's target URI as the client addressed it (see the module docs).
fn target_uri(req: &HttpRequest, public_url: &str) -> Result<String, RequestRefusal> {
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
            .map_err(|_| RequestRefusal::BadSignature("Host is not ASCII".into()))?
            .to_owned(),
        None => req
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| RequestRefusal::BadSignature("the request names no host".into()))?,
    };
    Ok(format!("{scheme}://{authority}{path}"))
}
