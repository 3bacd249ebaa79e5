//! The sequencer: the one thread that assigns log indexes and commits.
//!
//! Handlers verify signatures on their own threads and hand a
//! [`VerifiedStatement`] to [`Sequencer::submit`]. This thread drains what is
//! waiting (up to `max_batch`), applies each statement to the shared fold,
//! appends the accepted ones to the Merkle tree, signs one checkpoint for the
//! batch, and writes everything in one atomic batch followed by one flush
//! (group commit). Only then are the receipts released. Only this thread ever
//! flushes: sled 0.34 deadlocks when many tasks flush at once (sled#1308).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::keys::SigningKey;
use entente_shared::ledger::{Ledger, VerifiedStatement};
use entente_shared::merkle::{leaf_hash, CompactTree};
use entente_shared::note::NoteSigner;
use entente_shared::refusal::Refusal;
use tokio::sync::{mpsc, oneshot};

use crate::store::{CommitBatch, Store};

/// Where a statement landed: its index and the checkpoint of the batch that holds it.
#[derive(Clone, Debug)]
pub struct Committed {
    pub index: u64,
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

struct Job {
    statement: VerifiedStatement,
    reply: oneshot::Sender<Result<Committed, SubmitError>>,
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
}

impl Sequencer {
    /// Starts the thread; `queue_depth` statements may wait for it.
    pub fn start(core: Core, queue_depth: usize) -> std::io::Result<(Sequencer, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(queue_depth);
        let handle = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || run(core, rx))?;
        Ok((Sequencer { tx }, handle))
    }

    /// Queues a verified statement and waits until it is durably committed or refused.
    pub async fn submit(&self, statement: VerifiedStatement) -> Result<Committed, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job { statement, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
            })?;
        answer.await.map_err(|_| SubmitError::Stopped)?
    }
}

fn run(mut core: Core, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < core.max_batch {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        core.commit(jobs);
    }
    tracing::info!("sequencer stopped");
}

impl Core {
    fn commit(&mut self, jobs: Vec<Job>) {
        let mut batch = CommitBatch::default();
        let mut accepted = Vec::with_capacity(jobs.len());
        let mut in_batch: HashMap<_, u64> = HashMap::new();
        {
            let mut ledger = self.ledger.write().unwrap_or_else(|p| p.into_inner());
            for job in jobs {
                let id = job.statement.id();
                match ledger.apply(&job.statement) {
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
                        let _ = job.reply.send(Err(refusal.into()));
                    }
                    Ok(index) => {
                        let bytes = job.statement.envelope().to_canonical_json();
                        self.tree.append(leaf_hash(&bytes), |level, i, hash| {
                            batch.nodes.push((level, i, *hash));
                        });
                        in_batch.insert(id, index);
                        batch.entries.push((index, id, bytes));
                        accepted.push((job.reply, index));
                    }
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        let checkpoint = match self.sign_checkpoint() {
            Ok(text) => text,
            Err(e) => fatal(&e),
        };
        batch.size = self.tree.size();
        batch.checkpoint = checkpoint.clone();
        let n = batch.entries.len();
        let started = std::time::Instant::now();
        if let Err(e) = self.store.commit(batch) {
            // The fold already moved on; serving on would show state that is not on disk.
            fatal(&e);
        }
        crate::metrics::observe_commit(n, started.elapsed().as_secs_f64());
        crate::metrics::set_log_size(self.tree.size());
        tracing::debug!(statements = n, size = self.tree.size(), "committed batch");
        let checkpoint: Arc<str> = checkpoint.into();
        for (reply, index) in accepted {
            let _ = reply.send(Ok(Committed {
                index,
                size: self.tree.size(),
                checkpoint: checkpoint.clone(),
            }));
        }
    }

    fn sign_checkpoint(&self) -> anyhow::Result<String> {
        let signer = NoteSigner::new(&self.origin, &self.log_key)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size: self.tree.size(),
            root: self.tree.root(),
            time: Some(now.max(0) as u64),
            extensions: Vec::new(),
        };
        Ok(SignedCheckpoint::sign(cp, &signer)?.to_text())
    }
}

/// A storage failure mid-commit leaves memory ahead of disk: stop, and let the
/// start-up check decide what the store holds.
fn fatal(err: &dyn std::fmt::Display) -> ! {
    tracing::error!(error = %err, "storage failed during commit; stopping");
    eprintln!("entente-server: storage failed during commit: {err}");
    std::process::exit(70);
}
