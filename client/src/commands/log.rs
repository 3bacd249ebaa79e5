//! `entente log checkpoint|verify`.
//!
//! `verify` is the full audit: it downloads every entry, re-runs the shared
//! fold over them (every signature and roster rule), rebuilds the Merkle tree
//! and checks its root against the latest checkpoint, which itself must be
//! consistent with the pinned one and carry the witness quorum the profile
//! asks for (checked against the roster `verify` folded itself).

use entente_shared::api::{Entries, MAX_ENTRIES_PER_PAGE};
use entente_shared::b64;
use entente_shared::ledger::replay::Entry;
use entente_shared::ledger::{Ledger, Replay};
use entente_shared::merkle::{leaf_hash, MemoryTree};
use serde_json::json;

use super::Context;
use crate::cli::LogCommand;
use crate::error::{CliError, CliResult};
use crate::http::Api;
use crate::output::emit;
use crate::session::Session;
use crate::trust;

pub fn run(ctx: &Context, cmd: LogCommand) -> CliResult<()> {
    let session = Session::open(ctx)?;
    let profile = &session.profile;
    match cmd {
        LogCommand::Checkpoint => {
            let assessed = trust::latest(&session)?;
            let cp = &assessed.checkpoint.checkpoint;
            let mut out = json!({
                "origin": cp.origin,
                "size": cp.size,
                "root": b64::encode(&cp.root),
                "time": cp.time,
            });
            merge(&mut out, assessed.to_json(profile));
            emit(ctx.json, &out, || {
                format!(
                    "origin  {}\nsize    {}\nroot    {}\ntime    {}\nconsistent with the pinned checkpoint\n{}\n",
                    cp.origin,
                    cp.size,
                    b64::encode(&cp.root),
                    cp.time.map(|t| t.to_string()).unwrap_or_default(),
                    assessed.describe(profile)
                )
            })?;
        }
        LogCommand::Verify => {
            let signed = session.checkpoint.clone();
            let (size, root) = (signed.checkpoint.size, signed.checkpoint.root);
            let ledger = audit(&session.api, size, &root)?;
            let assessed = trust::assess(profile, signed, ledger.roster());
            trust::enforce(profile, &assessed)?;
            let mut out =
                json!({ "size": size, "root": b64::encode(&root), "entries_verified": size });
            merge(&mut out, assessed.to_json(profile));
            emit(ctx.json, &out, || {
                format!(
                    "verified {size} entries: signatures, roster rules and root of checkpoint {size}\n{}\n",
                    assessed.describe(profile)
                )
            })?;
        }
    }
    Ok(())
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(into), serde_json::Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// Re-verifies entries `[0, size)` and checks they hash to `root`; returns the fold.
fn audit(api: &Api, size: u64, root: &[u8; 32]) -> CliResult<Ledger> {
    let mut replay = Replay::new();
    let mut tree = MemoryTree::new();
    let bad = |index: u64, why: String| CliError::Inconsistent(format!("entry {index}: {why}"));
    while tree.size() < size {
        let start = tree.size();
        let end = (start + MAX_ENTRIES_PER_PAGE).min(size);
        let page: Entries = api.get_json(&format!("/v1/entries?start={start}&end={end}"))?;
        if page.entries.is_empty() {
            return Err(bad(start, "the server returned no entries".into()));
        }
        for entry in page.entries {
            if entry.index != tree.size() {
                return Err(bad(
                    tree.size(),
                    format!("expected it, got entry {}", entry.index),
                ));
            }
            let next = match entry.envelope {
                // Hidden from this reader: only its leaf hash counts.
                None => Entry::Hidden,
                Some(envelope) => {
                    if leaf_hash(&envelope.to_canonical_json()) != entry.leaf_hash {
                        return Err(bad(
                            entry.index,
                            "its leaf hash is not the hash of its envelope".into(),
                        ));
                    }
                    Entry::Envelope(Box::new(envelope))
                }
            };
            replay
                .next(next)
                .map_err(|e| bad(entry.index, e.to_string()))?;
            tree.push(entry.leaf_hash);
        }
    }
    if tree.root_at(size).ok().as_ref() != Some(root) {
        return Err(CliError::Inconsistent(format!(
            "the entries do not hash to the root of checkpoint {size}"
        )));
    }
    Ok(replay.finish())
}
