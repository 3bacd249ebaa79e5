//! The sequencer: the one thread that assigns log indexes and commits.
//!
//! Handlers verify signatures on their own threads and hand a
//! [`VerifiedStatement`] to [`Sequencer::submit`]. This thread drains what is
//! waiting (up to `max_batch`), applies each statement to the shared fold,
//! appends the accepted ones to the Merkle tree, signs one checkpoint for the
//! batch, and commits it: the entries to their segment file with one write
//! and one `fdatasync` (group commit), then the index (see `store`). Only
//! then are the receipts released. Only this thread writes the log.
//!
//! Witnesses' cosignatures ([`Sequencer::cosign`]), checked by the handler or
//! by the witness pusher, go through this thread too, so that it stays the
//! only writer: written with the next batch, or on their own if no statement
//! waits. A checkpoint is signed only when entries land: the checkpoint of a
//! tree is one stable note, and an idle log stays fresh by its witnesses'
//! newer cosignatures of it, never by signing it again.
//!
//! A ticker thread holding only a weak handle tells the thread when a quarter
//! minute passed, so that an idle log's fold snapshot is saved; it never
//! keeps the sequencer alive.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use entente_shared::keys::SigningKey;
use entente_shared::ledger::{Ledger, VerifiedStatement};
use entente_shared::merkle::{leaf_hash, CompactTree};
use entente_shared::refusal::Refusal;
use tokio::sync::{mpsc, oneshot};

use crate::feed::Published;
use crate::fold_snapshots::FoldSnapshots;
use crate::store::{CommitBatch, NewCosignature, Store};

/// Where a statement landed: its index and the checkpoint of the batch that holds it.
#[derive(Clone, Debug)]
pub struct Committed {
    pub index: u64,
    /// RFC 6962 leaf hash of the stored envelope, hashed once, here.
    pub leaf_hash: entente_shared::merkle::Hash,
    pub size: u64,
    pub checkpoint: Arc<str>,
}

/// Why a submission did not land.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("the sequencer queue is full")]
    Busy,
    #[error("the sequencer has stopped")]
    Stopped,
}

// Statements are most jobs; boxing them would add an allocation per statement
// to save a few hundred bytes per queue slot on the rarer kinds.
#[allow(clippy::large_enum_variant)]
enum Job {
    Statement {
        statement: VerifiedStatement,
        /// When the server received it: the clock `Ledger::check_timely` uses.
        received_at: time::OffsetDateTime,
        reply: oneshot::Sender<Result<Committed, SubmitError>>,
    },
    Cosignature {
        cosignature: NewCosignature,
        reply: oneshot::Sender<Result<(), SubmitError>>,
    },
    /// From the ticker: a tick passed (idle snapshots).
    Tick,
}

/// A handle to the sequencer thread; dropping every handle stops it after
/// it has committed what was queued.
#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::Sender<Job>,
}

/// What the sequencer thread owns.
pub struct Core {
    pub store: Store,
    pub ledger: Arc<RwLock<Ledger>>,
    pub tree: CompactTree,
    pub log_key: SigningKey,
    pub origin: String,
    pub max_batch: usize,
    /// Where committed batches are published for the live stream, if anywhere.
    /// Sending never blocks: a subscriber that falls behind is told it lagged.
    pub feed: Option<tokio::sync::broadcast::Sender<Arc<Published>>>,
    /// Tell the thread this often that time passed; `None`: never.
    pub tick: Option<Duration>,
    /// Bumped after every commit, for the threads that publish the log
    /// elsewhere (static tiles, witness pushers).
    pub head: Arc<crate::head::Head>,
    /// Fold snapshots to keep up to date; `None`: none.
    pub snapshots: Option<FoldSnapshots>,
}

impl Sequencer {
    /// Starts the thread; `queue_depth` statements may wait for it.
    pub fn start(core: Core, queue_depth: usize) -> std::io::Result<(Sequencer, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(queue_depth);
        if let Some(tick) = core.tick {
            let weak = tx.downgrade();
            // A full queue skips a tick (the log is busy, not idle).
            std::thread::Builder::new()
                .name("checkpoint-ticker".into())
                .spawn(move || loop {
                    std::thread::sleep(tick);
                    let Some(tx) = weak.upgrade() else { break };
                    if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(Job::Tick) {
                        break;
                    }
                })?;
        }
        let handle = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || run(core, rx))?;
        Ok((Sequencer { tx }, handle))
    }

    /// Queues a checked cosignature and waits until it is stored.
    pub async fn cosign(&self, cosignature: NewCosignature) -> Result<(), SubmitError> {
        self.queue_cosignature(cosignature)?
            .await
            .map_err(|_| SubmitError::Stopped)?
    }

    /// [`Sequencer::cosign`], for a thread outside the async runtime.
    pub fn cosign_blocking(&self, cosignature: NewCosignature) -> Result<(), SubmitError> {
        self.queue_cosignature(cosignature)?
            .blocking_recv()
            .map_err(|_| SubmitError::Stopped)?
    }

    fn queue_cosignature(
        &self,
        cosignature: NewCosignature,
    ) -> Result<oneshot::Receiver<Result<(), SubmitError>>, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job::Cosignature { cosignature, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
            })?;
        Ok(answer)
    }

    /// Queues a verified statement received at `received_at` (the server's
    /// clock) and waits until it is durably committed or refused.
    pub async fn submit(
        &self,
        statement: VerifiedStatement,
        received_at: time::OffsetDateTime,
    ) -> Result<Committed, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job::Statement {
                statement,
                received_at,
                reply,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
            })?;
        answer.await.map_err(|_| SubmitError::Stopped)?
    }
}

fn run(mut core: Core, mut rx: mpsc::Receiver<Job>) {
    // Whether statements landed since the ticker's last tick: an idle log
    // is one where none did.
    let mut busy = false;
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < core.max_batch {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut statements = Vec::with_capacity(jobs.len());
        let mut cosignatures = Vec::new();
        let mut ticked = false;
        for job in jobs {
            match job {
                Job::Statement {
                    statement,
                    received_at,
                    reply,
                } => statements.push((statement, received_at, reply)),
                Job::Cosignature { cosignature, reply } => cosignatures.push((cosignature, reply)),
                Job::Tick => ticked = true,
            }
        }
        let wrote = !statements.is_empty();
        core.commit(statements, cosignatures);
        busy |= wrote;
        if let Some(snapshots) = core.snapshots.as_mut() {
            if wrote {
                snapshots.after_commit(&core.ledger, &core.tree);
            } else if ticked && !busy {
                snapshots.when_idle(&core.ledger, &core.tree);
            }
        }
        if ticked {
            busy = false;
        }
    }
    if let Some(snapshots) = core.snapshots.take() {
        snapshots.finish(&core.ledger, &core.tree);
    }
    tracing::info!("sequencer stopped");
}

type CosignJob = (NewCosignature, oneshot::Sender<Result<(), SubmitError>>);
type StatementJob = (
    VerifiedStatement,
    time::OffsetDateTime,
    oneshot::Sender<Result<Committed, SubmitError>>,
);

impl Core {
    fn commit(&mut self, jobs: Vec<StatementJob>, cosignatures: Vec<CosignJob>) {
        // Only a newer cosignature replaces a witness's stored one; an equal
        // or older one (a replay) is answered without a write.
        let (cosignatures, stale): (Vec<_>, Vec<_>) = cosignatures
            .into_iter()
            .partition(|(c, _)| self.newer_cosignature(c));
        for (_, reply) in stale {
            let _ = reply.send(Ok(()));
        }
        let (cosignatures, cosign_replies): (Vec<_>, Vec<_>) = cosignatures.into_iter().unzip();
        let answer_cosigners = |replies: Vec<oneshot::Sender<Result<(), SubmitError>>>| {
            for reply in replies {
                let _ = reply.send(Ok(()));
            }
        };
        let mut batch = CommitBatch::default();
        let mut accepted = Vec::with_capacity(jobs.len());
        let mut in_batch: HashMap<_, u64> = HashMap::new();
        {
            let mut ledger = self.ledger.write().unwrap_or_else(|p| p.into_inner());
            for (statement, received_at, reply) in jobs {
                let id = statement.id();
                // The server's deadline check, under the same lock as the fold
                // it reads (see `Ledger::check_timely`).
                let applied = ledger
                    .check_timely(statement.statement(), received_at)
                    .and_then(|()| ledger.apply(&statement));
                match applied {
                    Err(refusal) => {
                        // The fold refuses every exact replay (its key's seq
                        // no longer grows), so the id index is only read on
                        // this path, to name the replay and its index.
                        let seen = match in_batch.get(&id) {
                            Some(&i) => Some(i),
                            None => match self.store.index_of(&id) {
                                Ok(found) => found,
                                Err(e) => fatal(&e),
                            },
                        };
                        let refusal = seen.map_or(refusal, Refusal::Replayed);
                        let _ = reply.send(Err(refusal.into()));
                    }
                    Ok(index) => {
                        let bytes = statement.envelope().to_canonical_json();
                        let leaf = leaf_hash(&bytes);
                        self.tree.append(leaf, |level, i, hash| {
                            batch.nodes.push((level, i, *hash));
                        });
                        in_batch.insert(id, index);
                        batch.entries.push((index, id, bytes));
                        accepted.push((reply, index, leaf));
                    }
                }
            }
        }
        if accepted.is_empty() {
            if !cosignatures.is_empty() {
                if let Err(e) = self.store.commit_cosignatures(&cosignatures) {
                    fatal(&e);
                }
                self.head.bump();
            }
            answer_cosigners(cosign_replies);
            return;
        }
        let checkpoint = match self.sign_checkpoint() {
            Ok(signed) => signed,
            Err(e) => fatal(&e),
        };
        batch.size = self.tree.size();
        batch.checkpoint = checkpoint.clone();
        batch.cosignatures = cosignatures;
        let n = batch.entries.len();
        // Copied only when someone listens.
        let published: Vec<(u64, Vec<u8>)> = match &self.feed {
            Some(feed) if feed.receiver_count() > 0 => batch
                .entries
                .iter()
                .map(|(i, _, bytes)| (*i, bytes.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let started = std::time::Instant::now();
        if let Err(e) = self.store.commit(batch) {
            // The fold already moved on; serving on would show state that is not on disk.
            fatal(&e);
        }
        answer_cosigners(cosign_replies);
        self.head.bump();
        crate::metrics::observe_commit(n, started.elapsed().as_secs_f64());
        crate::metrics::set_log_size(self.tree.size());
        tracing::debug!(statements = n, size = self.tree.size(), "committed batch");
        let checkpoint: Arc<str> = checkpoint.into();
        if let (Some(feed), false) = (&self.feed, published.is_empty()) {
            // An error only means nobody listens any more.
            let _ = feed.send(Arc::new(Published::new(
                published,
                self.tree.size(),
                checkpoint.clone(),
            )));
        }
        for (reply, index, leaf_hash) in accepted {
            let _ = reply.send(Ok(Committed {
                index,
                leaf_hash,
                size: self.tree.size(),
                checkpoint: checkpoint.clone(),
            }));
        }
    }

    /// Whether `c` is newer than what is stored for its witness and size.
    fn newer_cosignature(&self, c: &NewCosignature) -> bool {
        match self.store.cosignature(c.size, &c.code) {
            Ok(Some(stored)) => c.cosignature.timestamp > stored.timestamp,
            Ok(None) => true,
            Err(e) => fatal(&e),
        }
    }

    /// Signs the current tree: the note text.
    fn sign_checkpoint(&self) -> anyhow::Result<String> {
        crate::log_key::sign_tree(&self.origin, &self.log_key, &self.tree).map(|(text, _)| text)
    }
}

/// A storage failure mid-commit leaves memory ahead of disk: stop, and let the
/// start-up check decide what the store holds.
fn fatal(err: &dyn std::fmt::Display) -> ! {
    tracing::error!(error = %err, "storage failed during commit; stopping");
    eprintln!("entente-server: storage failed during commit: {err}");
    std::process::exit(70);
}
