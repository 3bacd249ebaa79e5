//! `entente log checkpoint|verify|invalid`.
//!
//! `verify` is the full audit: it downloads every entry, re-runs the shared
//! fold over them (every signature and roster rule), rebuilds the Merkle tree
//! and checks its root against the latest checkpoint, which itself must be
//! consistent with the pinned one and carry the witness quorum the profile
//! asks for (checked against the roster `verify` folded itself).
//!
//! `invalid` lists the sealed statements to this delegation that its own
//! fold (the replica, opened with its keys) marked invalid, with why.

use entente_shared::b64;
use entente_shared::ledger::Ledger;
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::cli::LogCommand;
use crate::error::CliResult;
use crate::http::Api;
use crate::output::emit;
use crate::replica::Replica;
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
        LogCommand::Invalid => {
            let ledger = session.fold()?;
            let invalid = views::invalid(ledger, &session.reader(ledger));
            emit(ctx.json, &json!(invalid), || {
                if invalid.is_empty() {
                    return "no invalid sealed statement\n".to_owned();
                }
                invalid
                    .iter()
                    .map(|e| {
                        format!(
                            "entry {}  {}  {} by {}: {}\n",
                            e.meta.index, e.meta.id, e.kind, e.meta.author, e.reason
                        )
                    })
                    .collect()
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

/// Re-verifies entries `[0, size)`, fetched afresh, and checks they hash to
/// `root`; returns the fold.
fn audit(api: &Api, size: u64, root: &[u8; 32]) -> CliResult<Ledger> {
    let mut replica = Replica::in_memory();
    replica.sync(api, size, root)?;
    replica.fold(None)
}
