//! The HTTP client for API v1: JSON in, JSON out, problem+json as errors.

use std::time::Duration;

use anyhow::Context;
use entente_shared::api::{ConsistencyProof, Problem, Receipt, PROBLEM_CONTENT_TYPE};
use entente_shared::dsse::Envelope;
use reqwest::blocking::{Client, Response};
use serde::de::DeserializeOwned;

use crate::error::{fail, CliError, CliResult};

/// A client for one server.
pub struct Api {
    base: String,
    http: Client,
}

impl Api {
    pub fn new(server: &str) -> CliResult<Api> {
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(fail(format!(
                "server {server:?} must be an http:// or https:// URL"
            )));
        }
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("entente/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Api { base, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder, what: &str) -> CliResult<Response> {
        let resp = req
            .send()
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
