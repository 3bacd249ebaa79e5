//! `GET /v1/stream?from=INDEX`: the live log as a WebSocket.
//!
//! After the same signed-request check as every read ([`Signed`]), the
//! subscriber gets, in log order and without gaps, one
//! [`StreamEvent`] per entry it may see, runs of entries it may not see as
//! `hidden` counts, and the checkpoint of each committed batch after its
//! entries. `from` defaults to the current log size (live only); a client
//! resumes after a disconnect by passing the index it expects next.
//!
//! No gap, no repeat: the subscriber joins the sequencer's broadcast *first*,
//! then catches up from the store, then takes live batches, skipping indexes
//! it already sent and filling any hole from the store (the store always holds
//! a batch before it is published).
//!
//! Bounds: writers never wait, since the broadcast never blocks. A subscriber
//! more than `stream_buffer` batches behind is closed with 1013 "lagged; resume
//! from N"; one that takes no message for `stream_send_timeout_secs` with 1008
//! "too slow; resume from N"; a revoked or rotated key ends the stream with
//! 1008. Incoming frames and messages are limited to `stream_max_frame_bytes`
//! (larger: 1009); the subscriber has nothing to say but pings and a close.
//!
//! Live batches go out as `batch` messages (several events each, up to
//! `MAX_STREAM_FRAME_BYTES`): one WebSocket message per committed batch
//! rather than one per entry, on both ends the larger cost.
//!
//! Cost: a live batch is decoded and its events serialised once for all
//! subscribers ([`Published::prepared`], in `feed`), not once per subscriber,
//! and so are its messages for readers who may see all of it; any other
//! reader applies `may_read` to each decoded statement and assembles its own
//! from the shared event texts. Catching up from the store goes through
//! [`readable`] per subscriber, one message per event.
//!
//! `entente_stream_subscribers` counts the streams being served: up when one
//! is accepted, down when it ends, however it ends.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Session};
use bytestring::ByteString;
use entente_shared::api::{StreamEvent, MAX_ENTRIES_PER_PAGE};
use entente_shared::checkpoint::Checkpoint;
use entente_shared::keys::KeyId;
use entente_shared::visibility::may_read_statement;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::access::readable;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::feed::{batch_frames, Prepared, Published};
use crate::state::AppState;
use crate::stream_slots::Slot;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    from: Option<u64>,
}

/// The connection's TCP socket, recorded at connect so that a stream can cap
/// its kernel send buffer (see `stream_send_buffer_bytes`).
#[derive(Clone, Copy)]
pub struct ConnSocket(std::os::fd::RawFd);

/// `HttpServer::on_connect` hook: remembers the socket of each connection.
pub fn on_connect(conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
    use actix_web::rt::net::TcpStream;
    use std::os::fd::AsRawFd as _;
    if let Some(tcp) = conn.downcast_ref::<TcpStream>() {
        ext.insert(ConnSocket(tcp.as_raw_fd()));
    } else if let Some(tls) =
        conn.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
    {
        ext.insert(ConnSocket(tls.get_ref().0.as_raw_fd()));
    }
}

fn cap_send_buffer(req: &HttpRequest, bytes: usize) {
    if let Some(ConnSocket(fd)) = req.conn_data::<ConnSocket>().copied() {
        // SAFETY: `fd` is the socket of the connection serving this very
        // request, so it stays open for the duration of this call.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        if let Err(e) = socket2::SockRef::from(&fd).set_send_buffer_size(bytes) {
            tracing::warn!(error = %e, "cannot cap a stream's send buffer");
        }
    }
}

pub async fn get_stream(
    auth: Signed,
    q: web::Query<StreamQuery>,
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let size = state.store.size().map_err(ApiError::from)?;
    let from = q.from.unwrap_or(size);
    if from > size {
        return Err(
            ApiError::BadRequest(format!("from {from} is past the log's size {size}")).into(),
        );
    }
    let code = *auth
        .reader
        .code()
        .ok_or_else(|| ApiError::Internal("a signed reader without a code".into()))?;
    let slot = state
        .streams
        .take(code)
        .map_err(|full| ApiError::TooManyStreams(full.to_string()))?;
    // Join the feed before reading the store: nothing committed from now on is missed.
    let live = state.feed.subscribe();
    let (response, session, messages) = actix_ws::handle(&req, body).map_err(|e| {
        ApiError::BadRequest(format!(
            "{e}: /v1/stream is a WebSocket (RFC 6455); send Connection: Upgrade and Upgrade: websocket"
        ))
    })?;
    cap_send_buffer(&req, state.settings.stream_send_buffer_bytes);
    let max = state.settings.stream_max_frame_bytes;
    let messages = messages
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let out = Out {
        session,
        next: from,
        hidden: None,
        timeout: Duration::from_secs(state.settings.stream_send_timeout_secs),
    };
    let state = state.into_inner();
    actix_web::rt::spawn(serve(state, auth, slot, out, messages, live));
    Ok(response)
}

/// Most waiting live batches a subscriber takes at once (and sends in shared
/// messages); the rest wait for the next turn.
const MAX_BATCHES_AT_ONCE: usize = 64;

/// Why a stream ends.
enum End {
    /// The subscriber vanished.
    Gone,
    /// The subscriber sent a Close frame: answered with one (RFC 6455 §5.5.1).
    Closed(Option<CloseReason>),
    Lagged,
    TooSlow,
    /// Answered no ping for a whole ping interval.
    Silent,
    TooBig,
    KeyInactive(String),
    ShuttingDown,
    Internal,
}

/// Whether the subscriber's key may still read: a long-lived stream
/// re-checks it on every batch, so a revocation or rotation ends it at once.
fn key_still_usable(state: &AppState, key_id: &KeyId) -> Result<(), String> {
    match state.ready_fold() {
        Some(fold) => fold
            .read()
            .roster()
            .usable_key(key_id)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

async fn serve(
    state: Arc<AppState>,
    auth: Signed,
    _slot: Slot,
    mut out: Out,
    mut messages: actix_ws::AggregatedMessageStream,
    mut live: broadcast::Receiver<Arc<Published>>,
) {
    let every = Duration::from_secs(state.settings.stream_ping_secs);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    // Whether a ping went out that nothing has answered since.
    let mut unanswered = false;
    let end: Result<std::convert::Infallible, End> = async {
        out.catch_up(&state, &auth, None).await?;
        out.current_checkpoint(&state).await?;
        loop {
            tokio::select! {
                _ = ping.tick() => {
                    if unanswered {
                        return Err(End::Silent);
                    }
                    unanswered = true;
                    out.send_with(|s| Box::pin(async move { s.ping(b"").await })).await?;
                },
                batch = live.recv() => match batch {
                    Ok(batch) => {
                        let mut batches = vec![batch];
                        while batches.len() < MAX_BATCHES_AT_ONCE {
                            match live.try_recv() {
                                Ok(more) => batches.push(more),
                                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                    return Err(End::Lagged)
                                }
                                Err(_) => break,
                            }
                        }
                        if let Err(why) = key_still_usable(&state, &auth.key_id) {
                            return Err(End::KeyInactive(why));
                        }
                        out.batches(&state, &auth, &batches).await?;
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => return Err(End::Lagged),
                    Err(broadcast::error::RecvError::Closed) => return Err(End::ShuttingDown),
                },
                msg = messages.recv() => {
                    // Anything the subscriber sends (a pong, above all) shows it is there.
                    if matches!(msg, Some(Ok(_))) {
                        unanswered = false;
                    }
                    match msg {
                    None => return Err(End::Gone),
                    Some(Err(actix_ws::ProtocolError::Overflow)) => return Err(End::TooBig),
                    Some(Err(_)) => return Err(End::Gone),
                    Some(Ok(actix_ws::AggregatedMessage::Ping(bytes))) => {
                        out.send_with(|s| Box::pin(async move { s.pong(&bytes).await })).await?;
                    }
                    Some(Ok(actix_ws::AggregatedMessage::Close(reason))) => {
                        return Err(End::Closed(reason))
                    }
                    // Text, binary and pongs from the subscriber mean nothing more.
                    Some(Ok(_)) => {}
                    }
                },
            }
        }
    }
    .await;
    let Err(end) = end;
    let next = out.next;
    let (code, text) = match end {
        End::Gone => return,
        End::Closed(reason) => {
            // Echo the subscriber's status code, as RFC 6455 §5.5.1 suggests.
            let code = reason.map_or(CloseCode::Normal, |r| r.code);
            let _ = out
                .session
                .close(Some(CloseReason {
                    code,
                    description: None,
                }))
                .await;
            return;
        }
        End::Lagged => (CloseCode::Again, format!("lagged; resume from {next}")),
        End::TooSlow => (CloseCode::Policy, format!("too slow; resume from {next}")),
        End::Silent => (
            CloseCode::Policy,
            format!("no answer to a ping; resume from {next}"),
        ),
        End::TooBig => (CloseCode::Size, "message too big".to_owned()),
        End::KeyInactive(why) => (CloseCode::Policy, why),
        End::ShuttingDown => (
            CloseCode::Away,
            format!("shutting down; resume from {next}"),
        ),
        End::Internal => (
            CloseCode::Error,
            format!("internal error; resume from {next}"),
        ),
    };
    tracing::debug!(%text, "closing a stream");
    let reason = CloseReason {
        code,
        description: Some(text),
    };
    // Let go of the feed first: from here on this subscriber holds nothing of
    // the log. The close frame waits behind what it has not read yet, and
    // reaches it whenever it reads again (or never, if it never does).
    drop(live);
    drop(messages);
    let _ = out.session.close(Some(reason)).await;
}

/// The sending half, with where the subscriber is in the log.
struct Out {
    session: Session,
    /// The next index the subscriber expects.
    next: u64,
    /// A run of hidden entries not yet announced: `(from, count)`.
    hidden: Option<(u64, u64)>,
    timeout: Duration,
}

type SendFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), actix_ws::Closed>> + 'a>>;

impl Out {
    async fn send_with<F>(&mut self, f: F) -> Result<(), End>
    where
        F: for<'a> FnOnce(&'a mut Session) -> SendFuture<'a>,
    {
        match tokio::time::timeout(self.timeout, f(&mut self.session)).await {
            Err(_) => Err(End::TooSlow),
            Ok(Err(_)) => Err(End::Gone),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn send(&mut self, event: &StreamEvent) -> Result<(), End> {
        self.send_text(event_text(event)?).await
    }

    async fn send_text(&mut self, text: ByteString) -> Result<(), End> {
        self.send_with(|s| Box::pin(async move { s.text(text).await }))
            .await
    }

    async fn flush_hidden(&mut self) -> Result<(), End> {
        if let Some((from, count)) = self.hidden.take() {
            self.send(&StreamEvent::Hidden { from, count }).await?;
        }
        Ok(())
    }

    /// Entry `index`: its event's text if this reader may see it, else `None`.
    async fn entry(&mut self, index: u64, event: Option<ByteString>) -> Result<(), End> {
        debug_assert_eq!(index, self.next);
        match event {
            Some(text) => {
                self.flush_hidden().await?;
                self.send_text(text).await?;
            }
            None => match &mut self.hidden {
                Some((_, count)) => *count += 1,
                None => self.hidden = Some((index, 1)),
            },
        }
        self.next = index + 1;
        Ok(())
    }

    /// Sends entries from `next` up to `until` (default: the store's size), a page at a time.
    async fn catch_up(
        &mut self,
        state: &AppState,
        auth: &Signed,
        until: Option<u64>,
    ) -> Result<(), End> {
        let until = match until {
            Some(u) => u,
            None => state.store.size().map_err(|_| End::Internal)?,
        };
        while self.next < until {
            let end = until.min(self.next + MAX_ENTRIES_PER_PAGE);
            let page = state
                .store
                .entries(self.next, end)
                .map_err(|_| End::Internal)?;
            if page.is_empty() {
                return Err(End::Internal);
            }
            for (index, bytes) in page {
                let event = match readable(&auth.reader, &bytes).map_err(|_| End::Internal)? {
                    Some((id, envelope)) => Some(event_text(&StreamEvent::Entry {
                        index,
                        id,
                        envelope,
                    })?),
                    None => None,
                };
                self.entry(index, event).await?;
            }
        }
        Ok(())
    }

    /// After catching up: the stored checkpoint, if it is of exactly what was sent.
    async fn current_checkpoint(&mut self, state: &AppState) -> Result<(), End> {
        let Some(text) = state.store.checkpoint().map_err(|_| End::Internal)? else {
            return Ok(());
        };
        let body = text.split("\n\n").next().unwrap_or_default();
        let size = Checkpoint::from_body(&format!("{body}\n")).map(|cp| cp.size);
        if size.ok() == Some(self.next) {
            self.flush_hidden().await?;
            self.send(&StreamEvent::Checkpoint { checkpoint: text })
                .await?;
        }
        Ok(())
    }

    /// Live batches that were waiting together: skip what was sent, fill any
    /// hole from the store, then each batch's events and checkpoint. Batches
    /// that queued up while the subscriber was busy go out in shared
    /// messages, so the busier the log, the fewer messages per entry.
    async fn batches(
        &mut self,
        state: &AppState,
        auth: &Signed,
        batches: &[Arc<Published>],
    ) -> Result<(), End> {
        // `next` moves ahead of the sends below; if one fails (a subscriber too
        // slow), the close's "resume from N" must not skip what it never got.
        let before = self.next;
        let sent = self.send_batches(state, auth, batches).await;
        if sent.is_err() {
            self.next = before;
        }
        sent
    }

    async fn send_batches(
        &mut self,
        state: &AppState,
        auth: &Signed,
        batches: &[Arc<Published>],
    ) -> Result<(), End> {
        let mut events: Vec<ByteString> = Vec::new();
        for batch in batches {
            if batch.size <= self.next {
                continue;
            }
            if let Some((first, _)) = batch.entries.first() {
                if *first > self.next {
                    self.send_events(&mut events).await?;
                    self.catch_up(state, auth, Some(*first)).await?;
                }
            }
            let prepared = batch.prepared().map_err(|_| End::Internal)?;
            if batches.len() == 1 && self.sees_all(auth, prepared) {
                // The common case: the messages every such reader gets, made once.
                self.next = batch.size;
                for frame in &prepared.frames {
                    self.send_text(frame.clone()).await?;
                }
                return Ok(());
            }
            self.collect(auth, prepared, &mut events)?;
            if self.next != batch.size {
                return Err(End::Internal);
            }
        }
        self.send_events(&mut events).await
    }

    /// Whether this reader, at the batch's first entry with no hidden run
    /// pending, may see every entry of it.
    fn sees_all(&self, auth: &Signed, prepared: &Prepared) -> bool {
        prepared.entries.first().map(|e| e.index) == Some(self.next)
            && self.hidden.is_none()
            && prepared
                .entries
                .iter()
                .all(|e| may_read_statement(&auth.reader, &e.statement))
    }

    /// Appends to `events` what this reader gets of a batch: the entries it
    /// may see, hidden runs for the others, then the checkpoint.
    fn collect(
        &mut self,
        auth: &Signed,
        prepared: &Prepared,
        events: &mut Vec<ByteString>,
    ) -> Result<(), End> {
        for entry in &prepared.entries {
            if entry.index != self.next {
                continue;
            }
            if may_read_statement(&auth.reader, &entry.statement) {
                if let Some((from, count)) = self.hidden.take() {
                    events.push(event_text(&StreamEvent::Hidden { from, count })?);
                }
                events.push(entry.event.clone());
            } else {
                match &mut self.hidden {
                    Some((_, count)) => *count += 1,
                    None => self.hidden = Some((entry.index, 1)),
                }
            }
            self.next = entry.index + 1;
        }
        if let Some((from, count)) = self.hidden.take() {
            events.push(event_text(&StreamEvent::Hidden { from, count })?);
        }
        events.push(prepared.checkpoint.clone());
        Ok(())
    }

    /// Sends `events` as `batch` messages, leaving it empty.
    async fn send_events(&mut self, events: &mut Vec<ByteString>) -> Result<(), End> {
        for frame in batch_frames(events) {
            self.send_text(frame).await?;
        }
        events.clear();
        Ok(())
    }
}

/// An event's JSON text, shared without a copy (see `feed::event_text`).
fn event_text(event: &StreamEvent) -> Result<ByteString, End> {
    crate::feed::event_text(event).map_err(|_| End::Internal)
}
