//! The HTTP client for API v1: JSON in, JSON out, problem+json as errors.
//!
//! With the profile's key, every request to a non-public route is signed
//! ([`signature_headers`], RFC 9421: `@method`, `@target-uri`,
//! `content-digest` for a body, and a fresh nonce). Public routes —
//! checkpoint, log info, proofs, health, and statements and cosignatures,
//! which carry their own signatures — go unsigned; which routes those are is
//! the shared crate's `api::is_public_route`, which a server test checks
//! against its route table. The WebSocket transport (`ws`) signs its
//! handshake and trusts certificates the same way, with the functions here.

use std::time::Duration;

use anyhow::Context;
use entente_shared::api::{
    is_public_route, ConsistencyProof, Problem, Receipt, PROBLEM_CONTENT_TYPE,
};
use entente_shared::dsse::Envelope;
use entente_shared::httpsig;
use entente_shared::keys::SigningKey;
use reqwest::blocking::{Client, Response};
use serde::de::DeserializeOwned;

use crate::error::{fail, CliError, CliResult};

/// A client for one server.
pub struct Api {
    base: String,
    http: Client,
    signer: Option<SigningKey>,
    /// How long one request may take ([`REQUEST_TIMEOUT`] unless shortened).
    timeout: Duration,
    /// How long a restarting server is waited for ([`STARTING_WAIT`]).
    starting_wait: Duration,
}

/// The RFC 9421 headers that sign a request to `url` (the URL as the server
/// sees it, `http(s)://`), created now with a fresh nonce: `Signature-Input`,
/// `Signature`, and `Content-Digest` when there is a body.
pub fn signature_headers(
    key: &SigningKey,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
) -> Vec<(&'static str, String)> {
    let created = time::OffsetDateTime::now_utc().unix_timestamp();
    httpsig::sign(key, method, url, body, created, &httpsig::new_nonce()).pairs()
}

/// The certificates of a PEM CA file, which the profile trusts for its
/// server besides the system roots (HTTP and WebSocket alike).
pub fn ca_certificates(
    path: &std::path::Path,
) -> CliResult<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let bad = |e: &dyn std::fmt::Display| fail(format!("CA file {}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if certs.is_empty() {
        return Err(bad(&"no PEM certificate in it"));
    }
    Ok(certs)
}

impl Api {
    /// A client for the profile's server, signing with its key.
    pub fn for_profile(profile: &crate::profile::Profile) -> CliResult<Api> {
        let server = profile.read_from.as_deref().unwrap_or(&profile.data.server);
        let mut api = Api::new(server, profile.data.ca_file.as_deref())?;
        api.signer = Some(profile.key()?);
        Ok(api)
    }

    /// An unsigned client (enough for public routes, e.g. at `init`). The
    /// server's certificate must chain to the system roots or to `ca_file`.
    pub fn new(server: &str, ca_file: Option<&std::path::Path>) -> CliResult<Api> {
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(fail(format!(
                "server {server:?} must be an http:// or https:// URL"
            )));
        }
        let mut builder = Client::builder();
        if let Some(path) = ca_file {
            for der in ca_certificates(path)? {
                let cert = reqwest::Certificate::from_der(&der)
                    .with_context(|| format!("CA file {}", path.display()))?;
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .user_agent(concat!("entente/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            base,
            http,
            signer: None,
            timeout: REQUEST_TIMEOUT,
            starting_wait: STARTING_WAIT,
        })
    }

    /// For someone waiting at a page (the web console): a request may take
    /// [`PAGE_TIMEOUT`], and a restarting server is not waited for, so a
    /// host that stalls is reported in seconds rather than minutes.
    pub fn for_pages(mut self) -> Api {
        self.timeout = PAGE_TIMEOUT;
        self.starting_wait = Duration::ZERO;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request (signed, unless public). A server still rebuilding its
    /// state after a restart answers 503 `starting`: that is waited out, for
    /// up to [`STARTING_WAIT`], with the request signed afresh each time.
    fn send(&self, req: reqwest::blocking::RequestBuilder, what: &str) -> CliResult<Response> {
        let template = req
            .timeout(self.timeout)
            .build()
            .context("building the request")?;
        let deadline = std::time::Instant::now() + self.starting_wait;
        let mut pause = std::time::Duration::from_millis(50);
        loop {
            let req = template
                .try_clone()
                .context("the request cannot be repeated")?;
            match self.send_once(req, what) {
                Err(CliError::Problem(p))
                    if p.problem_type.ends_with(":starting")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    fn send_once(&self, mut req: reqwest::blocking::Request, what: &str) -> CliResult<Response> {
        if let Some(key) = &self.signer {
            let method = req.method().as_str().to_owned();
            if !is_public_route(&method, req.url().path()) {
                let body = req.body().and_then(|b| b.as_bytes());
                let headers = signature_headers(key, &method, req.url().as_str(), body);
                for (name, value) in headers {
                    let value = reqwest::header::HeaderValue::from_str(&value)
                        .context("a signature header is not ASCII")?;
                    req.headers_mut().insert(name, value);
                }
            }
        }
        let resp = self
            .http
            .execute(req)
            .with_context(|| format!("{what}: cannot reach {}", self.base))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let is_problem = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(PROBLEM_CONTENT_TYPE));
        if is_problem {
            if let Ok(problem) = resp.json::<Problem>() {
                return Err(CliError::Problem(problem));
            }
        }
        Err(fail(format!("{what}: the server answered {status}")))
    }

    /// GETs `path` and decodes JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        let resp = self.send(self.http.get(self.url(path)), path)?;
        Ok(resp
            .json()
            .with_context(|| format!("{path}: unexpected answer"))?)
    }

    /// The log's entries `[start, end)` as this reader is given them
    /// (`GET /v1/entries`, a page at a time), each page handed to `each` in
    /// order; a page that comes back empty is an inconsistency.
    pub fn entries(
        &self,
        start: u64,
        end: u64,
        mut each: impl FnMut(Vec<entente_shared::api::Entry>) -> CliResult<()>,
    ) -> CliResult<()> {
        let mut next = start;
        while next < end {
            let last = (next + entente_shared::api::MAX_ENTRIES_PER_PAGE).min(end);
            let page: entente_shared::api::Entries =
                self.get_json(&format!("/v1/entries?start={next}&end={last}"))?;
            if page.entries.is_empty() {
                return Err(crate::error::CliError::Inconsistent(format!(
                    "entry {next}: the server returned no entries"
                )));
            }
            if page.entries.len() as u64 > last - next {
                return Err(crate::error::CliError::Inconsistent(format!(
                    "entries {next} to {last}: the server returned {} entries for {}",
                    page.entries.len(),
                    last - next
                )));
            }
            next += page.entries.len() as u64;
            each(page.entries)?;
        }
        Ok(())
    }

    /// GETs every page of the list route `path` and decodes each as a JSON
    /// array: a page that has more after it names the next in its
    /// `Link: <PATH>; rel="next"` header (RFC 8288), a path on this server.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> CliResult<Vec<T>> {
        let mut out = Vec::new();
        let mut next = Some(path.to_owned());
        while let Some(page) = next.take() {
            let resp = self.send(self.http.get(self.url(&page)), &page)?;
            next = next_link(&resp)?;
            let items: Vec<T> = resp
                .json()
                .with_context(|| format!("{page}: unexpected answer"))?;
            if items.is_empty() && next.is_some() {
                return Err(fail(format!("{page}: an empty page that names a next one")));
            }
            out.extend(items);
        }
        Ok(out)
    }

    /// GETs `path` as text.
    pub fn get_text(&self, path: &str) -> CliResult<String> {
        let resp = self.send(self.http.get(self.url(path)), path)?;
        Ok(resp
            .text()
            .with_context(|| format!("{path}: unexpected answer"))?)
    }

    /// Submits a signed statement.
    pub fn post_statement(&self, envelope: &Envelope) -> CliResult<Receipt> {
        let req = self
            .http
            .post(self.url("/v1/statements"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(envelope.to_canonical_json());
        let resp = self.send(req, "submitting the statement")?;
        Ok(resp.json().context("the server's receipt is unreadable")?)
    }

    /// POSTs `body` as JSON to `path` and decodes the JSON answer.
    pub fn post_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> CliResult<T> {
        let req = self
            .http
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).context("encoding the request")?);
        let resp = self.send(req, path)?;
        Ok(resp
            .json()
            .with_context(|| format!("{path}: unexpected answer"))?)
    }

    /// The latest checkpoint's signed-note text.
    pub fn checkpoint(&self) -> CliResult<String> {
        self.get_text("/v1/checkpoint")
    }

    /// A consistency proof between two tree sizes.
    pub fn consistency(&self, from: u64, to: u64) -> CliResult<ConsistencyProof> {
        self.get_json(&format!("/v1/proofs/consistency?from={from}&to={to}"))
    }
}

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one request may take for a page of the web console.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a command waits for a restarted server to finish rebuilding its state.
const STARTING_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The path of a response's `Link: <PATH>; rel="next"` header, if any. Only
/// a path on the same server is followed.
fn next_link(resp: &Response) -> CliResult<Option<String>> {
    for value in resp.headers().get_all(reqwest::header::LINK) {
        let value = value.to_str().context("a Link header is not ASCII")?;
        for link in value.split(',') {
            let Some((target, params)) = link.trim().split_once(';') else {
                continue;
            };
            if !params.split(';').any(|p| p.trim() == "rel=\"next\"") {
                continue;
            }
            let target = target.trim().trim_start_matches('<').trim_end_matches('>');
            if !target.starts_with('/') || target.starts_with("//") {
                return Err(fail(format!(
                    "the server's next page {target:?} is not a path on it"
                )));
            }
            return Ok(Some(target.to_owned()));
        }
    }
    Ok(None)
}
