//! C keep-alive HTTP/1.1 connections (hyper), each sending one request at a
//! time and timing it.
//!
//! Reads go through [`read_request`]: when reads need RFC 9421 signatures
//! (issue 4), signing the request there is the whole change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entente_shared::httpsig;
use entente_shared::keys::SigningKey;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

/// What a run of requests gave.
#[derive(Default)]
pub struct Outcome {
    /// Microseconds per request, in no particular order.
    pub latencies_us: Vec<u64>,
    /// Requests by HTTP status (0: the connection failed).
    pub statuses: std::collections::BTreeMap<u16, u64>,
    pub elapsed: Duration,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
    }

    /// Requests that did not get `ok`.
    pub fn errors(&self, ok: u16) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| **s != ok)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One open connection.
pub struct Conn {
    host: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Opens a connection to `host` (`127.0.0.1:PORT`).
    pub async fn open(host: &str) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Conn {
            host: host.to_owned(),
            sender,
        })
    }

    /// Sends `req`; returns the status and the whole body.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<(u16, Bytes)> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// `POST /v1/statements` with `body`.
    pub fn post_request(&self, body: Bytes) -> Request<Full<Bytes>> {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/statements")
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .expect("a valid request")
    }
}

/// `GET path` as a reader sends it: signed (RFC 9421) by `reader` when
/// given, as the CLI signs every non-public read.
pub fn read_request(host: &str, path: &str, reader: Option<&SigningKey>) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(hyper::header::HOST, host);
    if let Some(key) = reader {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let target = format!("http://{host}{path}");
        for (name, value) in
            httpsig::sign(key, "GET", &target, None, created, &httpsig::new_nonce()).pairs()
        {
            req = req.header(name, value);
        }
    }
    req.body(Full::new(Bytes::new())).expect("a valid request")
}

/// Posts every chain (`chains[actor][round]`) over `connections`
/// connections: connection c takes actors c, c+C, ... in turns, so each chain
/// lands in order. Returns the timings and `responses[actor][round]`.
pub async fn post_chains(
    host: &str,
    chains: Vec<Vec<Bytes>>,
    connections: usize,
) -> anyhow::Result<(Outcome, Vec<Vec<(u16, Bytes)>>)> {
    let (out, responses) = post_paced(host, chains, connections, None).await?;
    let responses = responses
        .into_iter()
        .map(|r| r.into_iter().map(|p| (p.status, p.body)).collect())
        .collect();
    Ok((out, responses))
}

/// One posted statement: its answer, and when its request was sent.
pub struct Posted {
    pub status: u16,
    pub body: Bytes,
    pub sent: Instant,
}

/// [`post_chains`], paced at `rate` statements per second when given:
/// statement k of the round-robin order (round r of actor a is k = r*A + a)
/// is not sent before k/rate seconds after the start; a connection that falls
/// behind sends at once. Returns `responses[actor][round]` with the instant
/// each request was sent.
pub async fn post_paced(
    host: &str,
    chains: Vec<Vec<Bytes>>,
    connections: usize,
    rate: Option<f64>,
) -> anyhow::Result<(Outcome, Vec<Vec<Posted>>)> {
    let actors = chains.len();
    let connections = connections.min(actors).max(1);
    let mut shares: Vec<Vec<(usize, Vec<Bytes>)>> = vec![Vec::new(); connections];
    for (a, chain) in chains.into_iter().enumerate() {
        shares[a % connections].push((a, chain));
    }
    let mut conns = Vec::new();
    for _ in 0..connections {
        conns.push(Conn::open(host).await?);
    }
    let started = tokio::time::Instant::now();
    let tasks: Vec<_> = shares
        .into_iter()
        .zip(conns)
        .map(|(share, mut conn)| {
            tokio::spawn(async move {
                let mut out = Outcome::default();
                let rounds = share.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
                let mut answers: Vec<(usize, Vec<Posted>)> =
                    share.iter().map(|(a, _)| (*a, Vec::new())).collect();
                for r in 0..rounds {
                    for (i, (a, chain)) in share.iter().enumerate() {
                        let Some(body) = chain.get(r) else { continue };
                        if let Some(rate) = rate {
                            let k = (r * actors + *a) as f64;
                            tokio::time::sleep_until(started + Duration::from_secs_f64(k / rate))
                                .await;
                        }
                        let t = Instant::now();
                        let (status, bytes) = match conn.send(conn.post_request(body.clone())).await
                        {
                            Ok(x) => x,
                            Err(_) => (0, Bytes::new()),
                        };
                        out.latencies_us.push(t.elapsed().as_micros() as u64);
                        *out.statuses.entry(status).or_default() += 1;
                        answers[i].1.push(Posted {
                            status,
                            body: bytes,
                            sent: t,
                        });
                    }
                }
                (out, answers)
            })
        })
        .collect();
    let mut total = Outcome::default();
    let mut responses: Vec<(usize, Vec<Posted>)> = Vec::new();
    for t in tasks {
        let (out, answers) = t.await?;
        total.merge(out);
        responses.extend(answers);
    }
    total.elapsed = started.elapsed();
    responses.sort_by_key(|(a, _)| *a);
    Ok((total, responses.into_iter().map(|(_, r)| r).collect()))
}

/// Sends `total` GETs over `connections` connections, paths from `path(i)`;
/// keeps the first `keep` bodies of each connection for checking.
pub async fn get_many(
    host: &str,
    reader: Option<Arc<SigningKey>>,
    total: usize,
    connections: usize,
    keep: usize,
    path: impl Fn(usize) -> String + Send + Sync + Clone + 'static,
) -> anyhow::Result<(Outcome, Vec<(String, Bytes)>)> {
    let mut conns = Vec::new();
    for _ in 0..connections {
        conns.push(Conn::open(host).await?);
    }
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(c, mut conn)| {
            let path = path.clone();
            let host = host.to_owned();
            let reader = reader.clone();
            tokio::spawn(async move {
                let mut out = Outcome::default();
                let mut kept = Vec::new();
                for i in (c..total).step_by(connections) {
                    let p = path(i);
                    let t = Instant::now();
                    let (status, bytes) =
                        match conn.send(read_request(&host, &p, reader.as_deref())).await {
                            Ok(x) => x,
                            Err(_) => (0, Bytes::new()),
                        };
                    out.latencies_us.push(t.elapsed().as_micros() as u64);
                    *out.statuses.entry(status).or_default() += 1;
                    if kept.len() < keep {
                        kept.push((p, bytes));
                    }
                }
                (out, kept)
            })
        })
        .collect();
    let mut total_out = Outcome::default();
    let mut kept = Vec::new();
    for t in tasks {
        let (out, k) = t.await?;
        total_out.merge(out);
        kept.extend(k);
    }
    total_out.elapsed = started.elapsed();
    Ok((total_out, kept))
}
