//! A deliberately tiny HTTP/1.1 client over `std::net::TcpStream`, for tests
//! that must send bytes the CLI never would (forged, replayed, malformed or
//! oversized envelopes) and read the server's answer as it is on the wire.
//!
//! [`signed_get`] and [`signature_headers`] sign requests (RFC 9421) with a
//! delegation's key, for reads that need a signature, and for replaying one.
//!
//! One request per connection (`Connection: close`), response read to the end.
//! It understands `Content-Length`, `Transfer-Encoding: chunked` and
//! read-until-close; nothing else (no TLS, no redirects, no keep-alive).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use entente_shared::httpsig;
use entente_shared::keys::SigningKey;

/// A response: status code, `Content-Type` (empty if absent), every header
/// (names lower-cased, in order) and body bytes.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the body shown if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response ({}) is not JSON: {e}\n{}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET base_url + path`; returns `(status, content type, body)`.
pub fn get(base_url: &str, path: &str) -> (u16, String, Vec<u8>) {
    let r = request(base_url, "GET", path, None);
    (r.status, r.content_type, r.body)
}

/// `POST base_url + path` with a JSON body; returns `(status, content type, body)`.
pub fn post_json(base_url: &str, path: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let r = request(base_url, "POST", path, Some(body));
    (r.status, r.content_type, r.body)
}

/// Sends one request and reads the whole response. Panics on I/O errors: in a
/// test, an unreachable server is a failure to show, not to handle.
pub fn request(base_url: &str, method: &str, path: &str, body: Option<&[u8]>) -> Response {
    request_with_headers(base_url, method, path, &[], body)
}

/// RFC 9421 signature headers for `method base_url+path` (and `body`), signed
/// now by `key` with a fresh nonce, as the CLI would send them.
pub fn signature_headers(
    key: &SigningKey,
    base_url: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Vec<(String, String)> {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let target = format!("{}{path}", base_url.trim_end_matches('/'));
    httpsig::sign(key, method, &target, body, created, &httpsig::new_nonce())
        .pairs()
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect()
}

/// The WebSocket request for `GET /v1/stream?from=FROM` on `host`
/// (`127.0.0.1:PORT`), signed by `key` over the HTTP target URI the server
/// sees, as `entente watch` sends it.
pub fn stream_request(
    host: &str,
    key: &SigningKey,
    from: u64,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::http::HeaderName;
    let path = format!("/v1/stream?from={from}");
    let mut request = format!("ws://{host}{path}")
        .into_client_request()
        .expect("a WebSocket URL");
    for (name, value) in signature_headers(key, &format!("http://{host}"), "GET", &path, None) {
        request.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            value.parse().expect("a header value"),
        );
    }
    request
}

/// A signed `GET base_url + path`.
pub fn signed_get(base_url: &str, path: &str, key: &SigningKey) -> Response {
    let headers = signature_headers(key, base_url, "GET", path, None);
    request_with_headers(base_url, "GET", path, &headers, None)
}

/// Like [`request`], with extra header lines (`name`, `value`).
pub fn request_with_headers(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> Response {
    try_request_with_headers(base_url, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on {base_url}: {e}"))
}

/// Like [`request`], but an unreachable server, a reset connection or a
/// response cut short is an `Err` (for tests that kill the server on purpose).
pub fn try_request(
    base_url: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> io::Result<Response> {
    try_request_with_headers(base_url, method, path, &[], body)
}

fn try_request_with_headers(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> io::Result<Response> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        host_of(base_url)
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    if let Some(body) = body {
        raw.extend_from_slice(body);
    }
    try_raw(base_url, &raw)
}

fn host_of(base_url: &str) -> String {
    base_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Sends `raw` bytes as they are (a request line, headers and body of the
/// caller's making, well-formed or not) and reads the response to the end.
pub fn try_raw(base_url: &str, raw_request: &[u8]) -> io::Result<Response> {
    let host = host_of(base_url);
    let stream = TcpStream::connect(&host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;

    // Write from another thread while this one reads: a server may answer
    // (413) and close before taking a large body, and a writer blocked on a
    // full socket must not keep us from reading that answer.
    let mut writer = stream.try_clone()?;
    let request = raw_request.to_vec();
    let sender = std::thread::spawn(move || -> io::Result<()> {
        writer.write_all(&request)?;
        writer.flush()
    });

    let mut raw = Vec::new();
    let mut reader = stream;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The server closed on an unread body: keep what it answered.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    // A refused upload ends with a broken pipe on our side; that is expected.
    let _ = sender.join();
    parse(&raw).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{e}\n{}",
                String::from_utf8_lossy(&raw[..raw.len().min(2000)])
            ),
        )
    })
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers in the response")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut content_type = String::new();
    let mut content_length = None;
    let mut chunked = false;
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        headers.push((name.trim().to_ascii_lowercase(), value.to_owned()));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.to_owned(),
            "content-length" => content_length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(len) = content_length {
        rest.get(..len)
            .ok_or_else(|| format!("body shorter than Content-Length {len}"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        content_type,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        let data = rest.get(..size).ok_or("truncated chunk")?;
        body.extend_from_slice(data);
        rest = rest.get(size + 2..).ok_or("truncated chunk")?;
    }
}
