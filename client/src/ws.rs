//! The WebSocket transport, beside the HTTP client (`http`): opens
//! `GET /v1/stream` as the profile's delegation.
//!
//! The handshake is signed like any signed read ([`signature_headers`] over
//! the `http(s)://` target URI the server sees) and TLS trusts the system
//! roots plus the profile's CA file ([`ca_certificates`]). A refusal (4xx
//! with problem+json) ends the caller's work; anything else that fails is
//! worth retrying.

use std::sync::Arc;

use entente_shared::keys::SigningKey;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self};
use tokio_tungstenite::WebSocketStream;

use crate::error::{fail, CliError, CliResult};
use crate::http::{ca_certificates, signature_headers};
use crate::profile::Profile;

/// Largest message accepted from the server: a statement of the server's
/// largest size, base64 in an envelope, with room to spare.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// A plain or TLS connection.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open stream.
pub type Socket = WebSocketStream<Box<dyn Io>>;

/// What an attempt to open a stream came to.
pub enum Opened {
    Open(Box<Socket>),
    /// Not open, but worth another try (the server is unreachable, busy or restarting).
    Retry(String),
}

/// Opens signed WebSocket streams to one profile's server.
pub struct Transport {
    server: String,
    key: SigningKey,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Transport {
    /// A transport for the profile's server, signing with its key.
    pub fn for_profile(profile: &Profile) -> CliResult<Transport> {
        let server = profile.data.server.trim_end_matches('/').to_owned();
        let tls = match url_parts(&server)?.0 {
            "https" => Some(tls_config(profile.data.ca_file.as_deref())?),
            _ => None,
        };
        Ok(Transport {
            server,
            key: profile.key()?,
            tls,
        })
    }

    /// Opens `path` (e.g. `/v1/stream?from=7`) as a WebSocket.
    pub async fn open(&self, path: &str) -> CliResult<Opened> {
        let server = &self.server;
        let (scheme, host, port) = url_parts(server)?;
        let http_url = format!("{server}{path}");
        let ws_url = format!("{}{}", server.replacen("http", "ws", 1), path);
        let mut request = ws_url
            .into_client_request()
            .map_err(|e| fail(format!("stream URL: {e}")))?;
        // The server checks the signature over the HTTP target URI it sees.
        for (name, value) in signature_headers(&self.key, "GET", &http_url, None) {
            let value = value
                .parse()
                .map_err(|_| fail("a signature header is not ASCII"))?;
            request.headers_mut().insert(name, value);
        }
        let tcp = match tokio::net::TcpStream::connect((host.as_str(), port)).await {
            Ok(s) => s,
            Err(e) => return Ok(Opened::Retry(format!("cannot reach {server}: {e}"))),
        };
        let stream: Box<dyn Io> = match (scheme, &self.tls) {
            ("https", Some(config)) => {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| fail(format!("server name {host}: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(config.clone());
                Box::new(
                    tls.connect(name, tcp)
                        .await
                        .map_err(|e| fail(format!("TLS with {server}: {e}")))?,
                )
            }
            _ => Box::new(tcp),
        };
        handshake(request, stream).await
    }
}

async fn handshake(
    request: tungstenite::handshake::client::Request,
    stream: Box<dyn Io>,
) -> CliResult<Opened> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
        Ok((ws, _)) => Ok(Opened::Open(Box::new(ws))),
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status();
            if status.is_client_error() {
                let body = resp.body().as_deref().unwrap_or_default();
                return Err(match serde_json::from_slice(body) {
                    Ok(problem) => CliError::Problem(problem),
                    Err(_) => fail(format!("the server refused the stream: {status}")),
                });
            }
            Ok(Opened::Retry(format!("the server answered {status}")))
        }
        Err(e) => Ok(Opened::Retry(format!("handshake: {e}"))),
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
fn tls_config(ca_file: Option<&std::path::Path>) -> CliResult<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        for cert in ca_certificates(path)? {
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
