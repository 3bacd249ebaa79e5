//! The log's side of the C2SP tlog-witness protocol: for each witness in
//! the settings, a thread posts every new checkpoint to
//! `<url>/add-checkpoint` with a consistency proof from the size that
//! witness last cosigned, checks the cosignature it answers with against the
//! witness's configured key, and stores it through the sequencer, so that
//! `GET /v1/checkpoint` and the static `checkpoint` carry it.
//!
//! The size a witness last cosigned is learnt from it: the first request
//! says `old 0`, and a witness that cosigned before answers 409 with its
//! size (`text/x.tlog.size`); the request is made again from there. A witness
//! whose last cosignature is older than `witness_interval_secs` is asked
//! again for the same checkpoint (old size = size, no proof), which is how an
//! idle log stays provably fresh: the checkpoint itself is never re-dated.
//! A witness that is down or refuses is retried with backoff; it never holds
//! up a statement.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use entente_shared::checkpoint::Checkpoint;
use entente_shared::cosignature::{self, witness_code};
use entente_shared::merkle::consistency_proof;
use entente_shared::note::SignedNote;
use entente_shared::witness_protocol::{parse_size, AddCheckpoint};

use crate::head::Head;
use crate::sequencer::Sequencer;
use crate::settings::WitnessTarget;
use crate::store::{NewCosignature, Store, StoredCosignature};

/// Longest a witness may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a witness's answer read (a few signature lines are ~200).
const MAX_ANSWER: u64 = 64 * 1024;
/// Longest wait between two tries at a witness that fails.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What one pusher thread needs.
struct Pusher {
    target: WitnessTarget,
    store: Store,
    sequencer: Sequencer,
    http: reqwest::blocking::Client,
    /// The size this witness last cosigned, once known.
    known: Option<u64>,
}

/// Starts one thread per witness.
pub fn spawn(
    targets: Vec<WitnessTarget>,
    store: &Store,
    sequencer: &Sequencer,
    head: Arc<Head>,
    every: Option<Duration>,
) -> anyhow::Result<()> {
    for target in targets {
        let (store, sequencer, head) = (store.clone(), sequencer.clone(), head.clone());
        std::thread::Builder::new()
            .name(format!("witness {}", target.key.name))
            .spawn(move || {
                // Made on this thread: the blocking client runs a runtime of
                // its own, which may not live inside the server's.
                let http = match reqwest::blocking::Client::builder().timeout(TIMEOUT).build() {
                    Ok(http) => http,
                    Err(e) => {
                        tracing::error!(error = %e, "making the witness client; not asking {}", target.key.name);
                        return;
                    }
                };
                let mut pusher = Pusher {
                    target,
                    store,
                    sequencer,
                    http,
                    known: None,
                };
                pusher.run(&head, every)
            })?;
    }
    Ok(())
}

impl Pusher {
    fn run(&mut self, head: &Head, every: Option<Duration>) {
        let mut seen = 0;
        // The checkpoint this witness last cosigned, and when.
        let mut cosigned: Option<(String, Instant)> = None;
        let mut backoff = Duration::from_millis(500);
        let mut failing = false;
        loop {
            let latest = match self.store.checkpoint() {
                Ok(Some(text)) => text,
                Ok(None) => {
                    seen = head.wait_past(seen, MAX_BACKOFF);
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading the checkpoint to send to witnesses");
                    std::thread::sleep(MAX_BACKOFF);
                    continue;
                }
            };
            let due = match &cosigned {
                None => true,
                Some((text, at)) => {
                    *text != latest || every.is_some_and(|every| at.elapsed() >= every)
                }
            };
            if due {
                match self.push(&latest) {
                    Ok(()) => {
                        if failing {
                            tracing::info!(witness = %self.target.key.name, "witness cosigns again");
                        }
                        failing = false;
                        backoff = Duration::from_millis(500);
                        cosigned = Some((latest, Instant::now()));
                    }
                    Err(e) => {
                        tracing::warn!(witness = %self.target.key.name, url = %self.target.url, error = %format!("{e:#}"), "the witness did not cosign; retrying");
                        failing = true;
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
            let wait = match (&cosigned, every) {
                (Some((_, at)), Some(every)) => every.saturating_sub(at.elapsed()),
                _ => MAX_BACKOFF,
            };
            seen = head.wait_past(seen, wait.max(Duration::from_millis(10)));
        }
    }

    /// Asks the witness to cosign `text` (the log-signed checkpoint) and
    /// stores what it answers.
    fn push(&mut self, text: &str) -> anyhow::Result<()> {
        let note = SignedNote::parse(text)?;
        let size = Checkpoint::from_body(&note.text)?.size;
        // A 409 teaches the witness's size: at most one more try.
        for _ in 0..2 {
            let old = self.known.unwrap_or(0);
            if old > size {
                bail!(
                    "the witness cosigned a tree of {old} entries, larger than this log's {size}: \
                     this log was rolled back, or the witness follows another log of this origin"
                );
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                consistency_proof(&self.store, old, size).map_err(|e| anyhow!("{e}"))?
            };
            let request = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: text.to_owned(),
            };
            let answer = self
                .http
                .post(format!("{}/add-checkpoint", self.target.url))
                .body(request.to_body())
                .send()
                .context("posting add-checkpoint")?;
            let status = answer.status();
            // A witness answers a few lines; read no more than MAX_ANSWER.
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(answer, MAX_ANSWER), &mut raw)
                .context("reading the witness's answer")?;
            let body = String::from_utf8_lossy(&raw).into_owned();
            match status.as_u16() {
                200 => return self.store_cosignatures(&note.text, size, &body),
                409 => {
                    let theirs = parse_size(&body)
                        .ok_or_else(|| anyhow!("409 without a text/x.tlog.size body"))?;
                    self.known = Some(theirs);
                }
                _ => bail!("{status}: {:?}", body.chars().take(300).collect::<String>()),
            }
        }
        bail!("the witness's size kept changing under the request")
    }

    /// Checks the witness's signature lines and stores the valid ones.
    fn store_cosignatures(&mut self, body: &str, size: u64, answer: &str) -> anyhow::Result<()> {
        let mut stored = 0;
        for line in answer.lines().filter(|l| !l.is_empty()) {
            let Ok(sig) = cosignature::parse_line(line) else {
                bail!("an answer line is not a signature line");
            };
            // Lines by other keys of the witness are ignored, as the spec says.
            let Ok(timestamp) = self.target.key.verify(&sig, body) else {
                continue;
            };
            let code = witness_code(&sig.name)
                .map(|c| c.to_string())
                .unwrap_or_else(|_| sig.name.clone());
            self.sequencer
                .cosign_blocking(NewCosignature {
                    size,
                    code,
                    cosignature: StoredCosignature {
                        body: body.to_owned(),
                        line: sig.to_line(),
                        timestamp,
                    },
                })
                .map_err(|e| anyhow!("storing the cosignature: {e}"))?;
            stored += 1;
        }
        if stored == 0 {
            bail!(
                "no valid cosignature by {} in the answer",
                self.target.key.name
            );
        }
        self.known = Some(size);
        Ok(())
    }
}
