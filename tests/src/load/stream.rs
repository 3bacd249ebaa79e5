//! Stream subscribers for `loadgen --mode stream`: WebSocket clients of
//! `GET /v1/stream`, each authenticated as `entente watch` does (the upgrade
//! request signed with RFC 9421 by a delegation's key), each recording when
//! every entry event arrived.
//!
//! A subscriber is one tokio task, not a thread. It starts live (from the
//! log's size when it connects: the server joins its feed before answering
//! the upgrade, so nothing committed after the 101 is missed), and reads
//! until it has passed the last index the writer got a receipt for, or until
//! the deadline. Like `entente watch`, a subscriber the server closes (lagged,
//! too slow) resumes from the index it expects next; each resume is counted.
//!
//! Only the arrival instants are kept (as microseconds since a common start),
//! one slot per index: the writer learns an entry's index from its receipt,
//! which may come after the entry's event, so latencies are computed after
//! the run. A slot written twice is a repeat.

use std::sync::Arc;
use std::time::Instant;

use entente_shared::keys::SigningKey;
use futures_util::StreamExt as _;
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::http;

/// Resumes one subscriber may make before it gives up.
const MAX_RESUMES: u32 = 20;
/// Bytes read from a subscriber's socket at a time.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// When subscribers may stop: after index `last`, or at `deadline` at the latest.
#[derive(Clone, Copy, Debug)]
pub struct Stop {
    pub last: u64,
    pub deadline: tokio::time::Instant,
}

/// What a subscriber saw: `arrived_us[i]` is when entry `from + i` arrived,
/// in microseconds since the run's start (`u32::MAX`: never).
pub struct Arrivals {
    pub from: u64,
    pub arrived_us: Vec<u32>,
    /// Entry events for an index already received.
    pub repeats: u64,
    /// Entries this reader was told are hidden (the writer's are all GREEN).
    pub hidden: u64,
    pub resumes: u32,
    /// Why the subscriber stopped early, if it did.
    pub failure: Option<String>,
}

impl Arrivals {
    /// When entry `index` arrived (µs since the start), if it did.
    pub fn at(&self, index: u64) -> Option<u32> {
        let slot = index.checked_sub(self.from)?;
        self.arrived_us
            .get(slot as usize)
            .copied()
            .filter(|&t| t != u32::MAX)
    }
}

/// The fields of a stream message the subscriber needs; the envelope is
/// skipped, not decoded (the load generator shares the server's cores).
/// A `batch` message carries its events in `events`.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    index: Option<u64>,
    from: Option<u64>,
    count: Option<u64>,
    #[serde(borrow, default)]
    events: Vec<Head<'a>>,
}

type Socket = WebSocketStream<TcpStream>;

/// Opens `GET /v1/stream?from=FROM` on `host` (`127.0.0.1:PORT`), signed by `key`.
async fn open(host: &str, key: &SigningKey, from: u64) -> anyhow::Result<Socket> {
    let request = http::stream_request(host, key, from);
    let tcp = TcpStream::connect(host).await?;
    tcp.set_nodelay(true)?;
    // tungstenite zeroes up to `read_buffer_size` before every read; its
    // 128 KiB default, for events of ~700 bytes, made memset the load
    // generator's largest cost.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config)).await?;
    Ok(ws)
}

/// A connected subscriber, live from `from`.
pub struct Subscriber {
    host: String,
    key: Arc<SigningKey>,
    ws: Socket,
    /// The next index the stream must deliver.
    next: u64,
    seen: Arrivals,
}

impl Subscriber {
    /// Subscribes from `from` (the log's size: live only).
    pub async fn connect(host: &str, key: Arc<SigningKey>, from: u64) -> anyhow::Result<Self> {
        let ws = open(host, &key, from).await?;
        Ok(Subscriber {
            host: host.to_owned(),
            key,
            ws,
            next: from,
            seen: Arrivals {
                from,
                arrived_us: Vec::new(),
                repeats: 0,
                hidden: 0,
                resumes: 0,
                failure: None,
            },
        })
    }

    /// Reads events until `stop` says it may stop; arrival times are counted
    /// from `start`.
    pub async fn run(
        mut self,
        start: Instant,
        mut stop: watch::Receiver<Option<Stop>>,
    ) -> Arrivals {
        loop {
            let until = *stop.borrow_and_update();
            if let Some(s) = until {
                if self.next > s.last {
                    break;
                }
            }
            let deadline = until.map(|s| s.deadline);
            let msg = tokio::select! {
                msg = self.ws.next() => msg,
                _ = stop.changed(), if until.is_none() => continue,
                _ = sleep_until(deadline) => {
                    self.seen.failure = Some(format!("deadline reached at index {}", self.next));
                    break;
                }
            };
            let why = match msg {
                Some(Ok(Message::Text(text))) => {
                    self.event(text.as_str(), start);
                    continue;
                }
                Some(Ok(Message::Close(frame))) => {
                    format!(
                        "closed: {}",
                        frame.map(|f| f.reason.to_string()).unwrap_or_default()
                    )
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => e.to_string(),
                None => "connection lost".to_owned(),
            };
            if let Err(e) = self.resume(&why).await {
                self.seen.failure = Some(e);
                break;
            }
        }
        self.seen
    }

    /// Reconnects from the next expected index, as `entente watch` does.
    async fn resume(&mut self, why: &str) -> Result<(), String> {
        if self.seen.resumes >= MAX_RESUMES {
            return Err(format!("gave up after {MAX_RESUMES} resumes: {why}"));
        }
        self.seen.resumes += 1;
        self.ws = open(&self.host, &self.key, self.next)
            .await
            .map_err(|e| format!("resuming from {} ({why}): {e}", self.next))?;
        Ok(())
    }

    fn event(&mut self, text: &str, start: Instant) {
        let Ok(head) = serde_json::from_str::<Head>(text) else {
            self.seen
                .failure
                .get_or_insert_with(|| "an unreadable message".into());
            return;
        };
        if head.kind == "batch" {
            for event in &head.events {
                self.one(event, start);
            }
        } else {
            self.one(&head, start);
        }
    }

    /// One event (not a batch).
    fn one(&mut self, head: &Head, start: Instant) {
        match (head.kind, head.index, head.from, head.count) {
            ("entry", Some(index), ..) => {
                let at = start.elapsed().as_micros().min(u32::MAX as u128 - 1) as u32;
                let Some(slot) = index.checked_sub(self.seen.from) else {
                    self.seen.repeats += 1;
                    return;
                };
                let slot = slot as usize;
                if slot >= self.seen.arrived_us.len() {
                    self.seen.arrived_us.resize(slot + 1, u32::MAX);
                }
                if self.seen.arrived_us[slot] == u32::MAX {
                    self.seen.arrived_us[slot] = at;
                } else {
                    self.seen.repeats += 1;
                }
                self.next = self.next.max(index + 1);
            }
            ("hidden", _, Some(from), Some(count)) => {
                self.seen.hidden += count;
                self.next = self.next.max(from + count);
            }
            _ => {}
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
