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

use std::time::Duration;

use entente_shared::api::StreamEvent;
use entente_shared::b64;
use std::collections::BTreeMap;

use entente_shared::ledger::replay::Entry as ReplayEntry;
use entente_shared::ledger::{ProposalRecord, Replay, Status};
use entente_shared::statement::{Body, Statement, StatementId};
use entente_shared::views;
use entente_shared::visibility::Reader;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::Context;
use crate::cli::WatchArgs;
use crate::error::{fail, CliError, CliResult};
use crate::output::short;
use crate::pin::{self, Claim};
use crate::session::Session;
use crate::ws::{Opened, Socket, Transport};
/// Reconnection backoff: first delay, cap, and how many failures in a row end the command.
const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
const MAX_FAILURES: u32 = 8;

pub fn run(ctx: &Context, args: WatchArgs) -> CliResult<()> {
    let session = Session::open(ctx)?;
    let transport = Transport::for_profile(&session.profile)?;
    let next = args.from.unwrap_or(session.size);
    // Outcomes (adoptions, expiries) come from this delegation's own fold,
    // carried forward entry by entry; only when the watch starts where that
    // fold ends.
    let fold = if next == session.size {
        let ledger = session.fold()?.clone();
        let reader = session.reader(&ledger);
        Some(Outcomes {
            reader,
            replay: Replay::resume_opening(ledger, session.profile.keyring()?),
        })
    } else {
        None
    };
    let mut w = Watcher {
        ctx,
        session: &session,
        transport,
        kind: args.kind,
        notify: args.notify,
        remaining: args.count,
        next,
        fold,
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

/// What an entry is, as people say it: an endorsement's stance
/// (`objection`, `endorsement with reservation`), `key rotation` for
/// `key_rotation`, `proposal (sealed)` when the body is not readable here.
fn describe(st: &Statement) -> String {
    match &st.body {
        Body::Endorsement(e) => e.position.label().to_owned(),
        Body::Sealed { kind, .. } => format!("{} (sealed)", kind.as_str().replace('_', " ")),
        _ => st.kind().as_str().replace('_', " "),
    }
}

/// Runs `--notify CMD` for one entry; its failure is said on stderr and
/// does not stop the watch.
fn notify(cmd: &str, event: &Value, what: &str) {
    use std::io::Write as _;
    // An entry's fields; an outcome's kind is `outcome`, its id the
    // proposal's, and it has no author.
    let field = |keys: &[&str]| {
        keys.iter()
            .map(|k| &event[*k])
            .find(|v| !v.is_null())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("ENTENTE_EVENT_INDEX", field(&["index"]))
        .env("ENTENTE_EVENT_KIND", field(&["kind", "type"]))
        .env("ENTENTE_EVENT_ID", field(&["id", "proposal"]))
        .env("ENTENTE_EVENT_AUTHOR", field(&["author"]))
        .env("ENTENTE_EVENT_WHAT", what)
        .stdin(std::process::Stdio::piped())
        .spawn();
    let result = child.and_then(|mut c| {
        if let Some(mut stdin) = c.stdin.take() {
            // A command that does not read its input is fine.
            let _ = writeln!(stdin, "{event}");
        }
        c.wait()
    });
    match result {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("entente: --notify command ended with {status}"),
        Err(e) => eprintln!("entente: --notify command could not run: {e}"),
    }
}

struct Watcher<'a> {
    ctx: &'a Context,
    session: &'a Session,
    transport: Transport,
    kind: Option<String>,
    /// `--notify`: a shell command run per entry printed.
    notify: Option<String>,
    remaining: Option<u64>,
    /// The next index the stream must deliver.
    next: u64,
    /// The delegation's own fold, carried forward, for outcomes.
    fold: Option<Outcomes>,
}

/// This delegation's fold, advanced with each streamed entry, and what it
/// tells of proposals' outcomes.
struct Outcomes {
    reader: Reader,
    replay: Replay,
}

impl Outcomes {
    /// The proposals this delegation may read, as folded (statuses only are
    /// compared: no view is built, as this runs for every streamed entry).
    fn readable(&self) -> impl Iterator<Item = &ProposalRecord> {
        self.replay
            .ledger()
            .proposals()
            .iter()
            .filter(|rec| views::visible(&self.reader, &rec.meta))
    }

    /// Folds one entry; the proposals it adopted or let expire, as
    /// `(JSON event, human line)`.
    fn advance(&mut self, entry: ReplayEntry) -> CliResult<Vec<(Value, String)>> {
        let before: BTreeMap<StatementId, Status> = self
            .readable()
            .map(|rec| (rec.meta.id, rec.status.clone()))
            .collect();
        let index = self.replay.ledger().size();
        self.replay.next(entry).map_err(|e| {
            CliError::Inconsistent(format!(
                "entry {index}: this delegation's own fold refuses it: {e}"
            ))
        })?;
        let mut out = Vec::new();
        for rec in self.readable() {
            if before.get(&rec.meta.id) != Some(&Status::Open) {
                continue;
            }
            let (what, index) = match &rec.status {
                Status::Open => continue,
                Status::Adopted { index, .. } => ("adopted", *index),
                Status::Expired { index } => ("expired", *index),
            };
            let line = match what {
                "adopted" => format!(
                    "outcome {index:>4}  adopted: declaration {} {:?}",
                    short(&rec.meta.id),
                    rec.title
                ),
                _ => format!(
                    "outcome {index:>4}  expired: proposal {} {:?}, its deadline passed without adoption",
                    short(&rec.meta.id),
                    rec.title
                ),
            };
            let event = json!({
                "type": "outcome",
                "outcome": what,
                "proposal": rec.meta.id,
                "title": rec.title,
                "index": index,
            });
            out.push((event, line));
        }
        Ok(out)
    }
}

/// How one connection ended.
enum Ended {
    /// `--count` reached.
    Done,
    /// Worth reconnecting: connection lost or closed by the server.
    Retry(String),
}

impl Watcher<'_> {
    /// Folds one entry into the carried fold, if any: its outcomes. An
    /// entry this delegation's own fold refuses is a log that does not
    /// verify: the watch stops, as `log verify` would.
    fn advance(&mut self, entry: ReplayEntry) -> CliResult<Vec<(Value, String)>> {
        match &mut self.fold {
            None => Ok(Vec::new()),
            Some(fold) => fold.advance(entry),
        }
    }

    /// Prints outcomes (and runs `--notify` for each).
    fn tell(&self, outcomes: Vec<(Value, String)>) {
        for (event, line) in outcomes {
            if self.ctx.json {
                println!("{event}");
            } else {
                println!("{line}");
            }
            if let Some(cmd) = &self.notify {
                notify(cmd, &event, event["outcome"].as_str().unwrap_or("outcome"));
            }
        }
    }

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
        let path = format!("/v1/stream?from={}", self.next);
        let mut ws = match self.transport.open(&path).await? {
            Opened::Open(ws) => ws,
            Opened::Retry(why) => return Ok(Ended::Retry(why)),
        };
        self.read(&mut ws).await
    }

    async fn read(&mut self, ws: &mut Socket) -> CliResult<Ended> {
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
                let outcomes = self.advance(ReplayEntry::Envelope(Box::new(envelope.clone())));
                let kind = st.kind().as_str();
                if self.kind.as_deref().is_some_and(|k| k != kind) {
                    // Not printed, but what it caused is.
                    self.tell(outcomes?);
                    return Ok(false);
                }
                let what = describe(&st);
                let out = json!({
                    "type": "entry",
                    "index": index,
                    "id": id,
                    "kind": kind,
                    "what": what,
                    "author": st.author,
                    "envelope": envelope,
                });
                if self.ctx.json {
                    println!("{out}");
                } else {
                    println!("entry {index:>6}  {what:<28} {:<8} {id}", st.author);
                }
                if let Some(cmd) = &self.notify {
                    notify(cmd, &out, &what);
                }
                self.tell(outcomes?);
                if let Some(n) = &mut self.remaining {
                    *n = n.saturating_sub(1);
                    return Ok(*n == 0);
                }
            }
            StreamEvent::Hidden { from, count } => {
                if from != self.next || count == 0 {
                    return Err(gap("hidden entries", from, self.next));
                }
                self.next = from
                    .checked_add(count)
                    .ok_or_else(|| gap("hidden entries", from, self.next))?;
                // Hidden entries close nothing (only an entry a reader folds
                // does): the carried fold just skips them, at once.
                if let Some(fold) = &mut self.fold {
                    fold.replay.skip_hidden(count);
                }
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
                let session = self.session;
                // Blocking HTTP (consistency proof) inside the runtime: allowed here.
                let cp = tokio::task::block_in_place(|| {
                    pin::observe(&session.profile, &session.api, &checkpoint, Claim::Receipt)
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
