//! The HTTP client for API v1: JSON in, JSON out, problem+json as errors.
//!
//! With the profile's key, every request to a non-public route is signed
//! (RFC 9421: `@method`, `@target-uri`, `content-digest` for a body, and a
//! fresh nonce). Public routes — checkpoint, log info, proofs, health — and
//! statement submission (authenticated by the statement's own signature) go
//! unsigned.

use std::time::Duration;

use anyhow::Context;
use entente_shared::api::{ConsistencyProof, Problem, Receipt, PROBLEM_CONTENT_TYPE};
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
}

/// Routes anyone may read; requests to them are not signed.
pub fn is_public(method: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    (method == "POST" && path == "/v1/statements")
        || matches!(path, "/v1/checkpoint" | "/v1/log" | "/healthz" | "/metrics")
        || path.starts_with("/v1/proofs/")
}

impl Api {
    /// A client for the profile's server, signing with its key.
    pub fn for_profile(profile: &crate::profile::Profile) -> CliResult<Api> {
        let mut api = Api::new(&profile.data.server, profile.data.ca_file.as_deref())?;
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
            builder = builder.add_root_certificate(load_ca(path)?);
        }
        let http = builder
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("entente/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            base,
            http,
            signer: None,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request (signed, unless public). A server still rebuilding its
    /// state after a restart answers 503 `starting`: that is waited out, for
    /// up to [`STARTING_WAIT`], with the request signed afresh each time.
    fn send(&self, req: reqwest::blocking::RequestBuilder, what: &str) -> CliResult<Response> {
        let template = req.build().context("building the request")?;
        let deadline = std::time::Instant::now() + STARTING_WAIT;
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
            if !is_public(&method, req.url().path()) {
                let created = time::OffsetDateTime::now_utc().unix_timestamp();
                let body = req.body().and_then(|b| b.as_bytes());
                let headers = httpsig::sign(
                    key,
                    &method,
                    req.url().as_str(),
                    body,
                    created,
                    &httpsig::new_nonce(),
                );
                for (name, value) in headers.pairs() {
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

/// How long a command waits for a restarted server to finish rebuilding its state.
const STARTING_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Reads a PEM CA certificate for [`Api::new`].
fn load_ca(path: &std::path::Path) -> CliResult<reqwest::Certificate> {
    let pem = std::fs::read(path).with_context(|| format!("reading CA file {}", path.display()))?;
    Ok(reqwest::Certificate::from_pem(&pem)
        .with_context(|| format!("CA file {} is not a PEM certificate", path.display()))?)
}
