//! `entente watch`: follow the log live over the `GET /v1/stream` WebSocket.
//!
//! Prints each entry as it arrives (one JSON object per line with `--json`),
//! checks that the stream has no gap and no repeat (entries and `hidden` runs
//! must cover every index in order), and checks every checkpoint against the
//! pinned one (signed by the log key, consistent with it) before printing it.
//! A dropped or closed connection is resumed from the next expected index,
//! with exponential backoff; a refusal (4xx) or an inconsistent log ends the
//! command. SIGINT ends it cleanly (exit 0), as does `--count N` once N
//! entries were printed.

use std::sync::Arc;
use std::time::Duration;

use entente_shared::api::StreamEvent;
use entente_shared::b64;
use entente_shared::httpsig;
use entente_shared::keys::SigningKey;
use entente_shared::statement::{Statement, StatementId};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use super::Context;
use crate::cli::WatchArgs;
use crate::error::{fail, CliError, CliResult};
use crate::http::Api;
use crate::pin::{self, Claim};
use crate::profile::Profile;

/// Largest message accepted from the server: a statement of the server's
/// largest size, base64 in an envelope, with room to spare.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Reconnection backoff: first delay, cap, and how many failures in a row end the command.
const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
const MAX_FAILURES: u32 = 8;

pub fn run(ctx: &Context, args: WatchArgs) -> CliResult<()> {
    let profile = Profile::open(&ctx.home)?;
    let api = Api::for_profile(&profile)?;
    let key = profile.key()?;
    let next = match args.from {
        Some(from) => from,
        None => pin::latest(&profile, &api)?.checkpoint.size,
    };
    let tls = match url_parts(&profile.data.server)?.0 {
        "https" => Some(tls_config(&profile)?),
        _ => None,
    };
    let mut w = Watcher {
        ctx,
        profile: &profile,
        api: &api,
        key,
        kind: args.kind,
        remaining: args.count,
        next,
        tls,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the runtime: {e}")))?;
    rt.block_on(async {
        tokio::select! {
            r = w.follow() => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

struct Watcher<'a> {
    ctx: &'a Context,
    profile: &'a Profile,
    api: &'a Api,
    key: SigningKey,
    kind: Option<String>,
    remaining: Option<u64>,
    /// The next index the stream must deliver.
    next: u64,
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// How one connection ended.
enum Ended {
    /// `--count` reached.
    Done,
    /// Worth reconnecting: connection lost or closed by the server.
    Retry(String),
}

impl Watcher<'_> {
    async fn follow(&mut self) -> CliResult<()> {
        let mut failures = 0;
        let mut delay = BACKOFF_START;
        loop {
            let before = self.next;
            match self.connect_and_read().await? {
                Ended::Done => return Ok(()),
                Ended::Retry(why) => {
                    if self.next > before {
                        failures = 0;
                        delay = BACKOFF_START;
                    }
                    failures += 1;
                    if failures > MAX_FAILURES {
                        return Err(fail(format!(
                            "giving up after {MAX_FAILURES} attempts: {why}"
                        )));
                    }
                    eprintln!(
                        "entente: stream interrupted ({why}); resuming from {} in {:.1}s",
                        self.next,
                        delay.as_secs_f32()
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    async fn connect_and_read(&mut self) -> CliResult<Ended> {
        let server = &self.profile.data.server;
        let (scheme, host, port) = url_parts(server)?;
        let path = format!("/v1/stream?from={}", self.next);
        let http_url = format!("{server}{path}");
        let ws_url = format!("{}{}", server.replacen("http", "ws", 1), path);
        let mut request = ws_url
            .into_client_request()
            .map_err(|e| fail(format!("stream URL: {e}")))?;
        let created = time::OffsetDateTime::now_utc().unix_timestamp();
        // The server checks the signature over the HTTP target URI it sees.
        let signed = httpsig::sign(
            &self.key,
            "GET",
            &http_url,
            None,
            created,
            &httpsig::new_nonce(),
        );
        for (name, value) in signed.pairs() {
            let value = value
                .parse()
                .map_err(|_| fail("a signature header is not ASCII"))?;
            request.headers_mut().insert(name, value);
        }
        let tcp = match tokio::net::TcpStream::connect((host.as_str(), port)).await {
            Ok(s) => s,
            Err(e) => return Ok(Ended::Retry(format!("cannot reach {server}: {e}"))),
        };
        match (scheme, &self.tls) {
            ("https", Some(config)) => {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| fail(format!("server name {host}: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(config.clone());
                match tls.connect(name, tcp).await {
                    Ok(stream) => self.session(request, stream).await,
                    Err(e) => Err(fail(format!("TLS with {server}: {e}"))),
                }
            }
            _ => self.session(request, tcp).await,
        }
    }

    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        request: tungstenite::handshake::client::Request,
        stream: S,
    ) -> CliResult<Ended> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (mut ws, _) = match tokio_tungstenite::client_async_with_config(
            request,
            stream,
            Some(config),
        )
        .await
        {
            Ok(pair) => pair,
            Err(tungstenite::Error::Http(resp)) => {
                let status = resp.status();
                let body = resp.body().as_deref().unwrap_or_default();
                if let Ok(problem) = serde_json::from_slice(body) {
                    if status.is_client_error() {
                        return Err(CliError::Problem(problem));
                    }
                }
                if status.is_client_error() {
                    return Err(fail(format!("the server refused the stream: {status}")));
                }
                return Ok(Ended::Retry(format!("the server answered {status}")));
            }
            Err(e) => return Ok(Ended::Retry(format!("handshake: {e}"))),
        };
        while let Some(msg) = ws.next().await {
            let text = match msg {
                Ok(Message::Text(t)) => t,
                Ok(Message::Close(frame)) => {
                    let why = frame
                        .map(|f| {
                            format!("closed by the server: {} ({})", f.reason, u16::from(f.code))
                        })
                        .unwrap_or_else(|| "closed by the server".into());
                    return Ok(Ended::Retry(why));
                }
                Ok(_) => continue,
                Err(e) => return Ok(Ended::Retry(e.to_string())),
            };
            let event: StreamEvent = serde_json::from_str(text.as_str())
                .map_err(|e| fail(format!("unreadable stream message: {e}")))?;
            if self.event(event)? {
                let _ = ws.close(None).await;
                let _ = ws.flush().await;
                return Ok(Ended::Done);
            }
        }
        Ok(Ended::Retry("connection lost".into()))
    }

    /// Checks and prints one event; `true` once `--count` is reached.
    fn event(&mut self, event: StreamEvent) -> CliResult<bool> {
        let gap = |what: &str, at: u64, next: u64| {
            CliError::Inconsistent(format!(
                "the stream sent {what} at index {at}, but index {next} was next: a gap or a repeat"
            ))
        };
        match event {
            StreamEvent::Entry {
                index,
                id,
                envelope,
            } => {
                if index != self.next {
                    return Err(gap("an entry", index, self.next));
                }
                if StatementId::of_payload(&envelope.payload) != id {
                    return Err(CliError::Inconsistent(format!(
                        "entry {index}: its id is not the hash of its payload"
                    )));
                }
                self.next = index + 1;
                let st = Statement::decode(&envelope.payload)
                    .map_err(|e| CliError::Inconsistent(format!("entry {index}: {e}")))?;
                let kind = st.kind().as_str();
                if self.kind.as_deref().is_some_and(|k| k != kind) {
                    return Ok(false);
                }
                let out = json!({
                    "type": "entry",
                    "index": index,
                    "id": id,
                    "kind": kind,
                    "author": st.author,
                    "envelope": envelope,
                });
                if self.ctx.json {
                    println!("{out}");
                } else {
                    println!("entry {index:>6}  {kind:<16} {:<8} {id}", st.author);
                }
                if let Some(n) = &mut self.remaining {
                    *n = n.saturating_sub(1);
                    return Ok(*n == 0);
                }
            }
            StreamEvent::Hidden { from, count } => {
                if from != self.next || count == 0 {
                    return Err(gap("hidden entries", from, self.next));
                }
                self.next = from + count;
                if self.kind.is_none() {
                    if self.ctx.json {
                        println!(
                            "{}",
                            json!({"type": "hidden", "from": from, "count": count})
                        );
                    } else {
                        println!("hidden {from:>5}  {count} entries not shared with you");
                    }
                }
            }
            StreamEvent::Batch { events } => {
                for event in events {
                    if matches!(event, StreamEvent::Batch { .. }) {
                        return Err(CliError::Inconsistent(
                            "the stream nested a batch in a batch".into(),
                        ));
                    }
                    if self.event(event)? {
                        return Ok(true);
                    }
                }
            }
            StreamEvent::Checkpoint { checkpoint } => {
                let (profile, api) = (self.profile, self.api);
                // Blocking HTTP (consistency proof) inside the runtime: allowed here.
                let cp = tokio::task::block_in_place(|| {
                    pin::observe(profile, api, &checkpoint, Claim::Receipt)
                })?;
                if cp.checkpoint.size != self.next {
                    return Err(CliError::Inconsistent(format!(
                        "a checkpoint of size {} arrived when the stream was at {}",
                        cp.checkpoint.size, self.next
                    )));
                }
                if self.kind.is_none() {
                    let root = b64::encode(&cp.checkpoint.root);
                    let size = cp.checkpoint.size;
                    if self.ctx.json {
                        println!(
                            "{}",
                            json!({"type": "checkpoint", "size": size, "root": root})
                        );
                    } else {
                        println!("checkpoint {size:>3}  {root}  consistent with the pin");
                    }
                }
            }
        }
        Ok(false)
    }
}

/// `(scheme, host, port)` of an `http(s)://host[:port]` server URL.
fn url_parts(server: &str) -> CliResult<(&'static str, String, u16)> {
    let (scheme, rest, default) = if let Some(r) = server.strip_prefix("https://") {
        ("https", r, 443)
    } else if let Some(r) = server.strip_prefix("http://") {
        ("http", r, 80)
    } else {
        return Err(fail(format!("server {server:?} is not an http(s) URL")));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse() {
            Ok(port) => (h, port),
            Err(_) => (authority, default),
        },
        _ => (authority, default),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    Ok((scheme, host, port))
}

/// rustls client config: the system roots plus the profile's CA file.
fn tls_config(profile: &Profile) -> CliResult<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &profile.data.ca_file {
        for cert in CertificateDer::pem_file_iter(path)
            .map_err(|e| fail(format!("CA file {}: {e}", path.display())))?
        {
            let cert = cert.map_err(|e| fail(format!("CA file {}: {e}", path.display())))?;
            roots
                .add(cert)
                .map_err(|e| fail(format!("CA file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_split() {
        assert_eq!(
            url_parts("http://127.0.0.1:8740").unwrap(),
            ("http", "127.0.0.1".to_owned(), 8740)
        );
        assert_eq!(
            url_parts("https://localhost").unwrap(),
            ("https", "localhost".to_owned(), 443)
        );
        assert_eq!(
            url_parts("http://[::1]:9").unwrap(),
            ("http", "::1".to_owned(), 9)
        );
        assert!(url_parts("ftp://x").is_err());
    }
}
