//! `entente log checkpoint|verify|invalid|tiles`.
//!
//! `verify` is the full audit: it downloads every entry, re-runs the shared
//! fold over them (every signature and roster rule), rebuilds the Merkle tree
//! and checks its root against the latest checkpoint, which itself must be
//! consistent with the pinned one and carry the witness quorum the profile
//! asks for (checked against the roster `verify` folded itself).
//!
//! `invalid` lists the sealed statements to this delegation that its own
//! fold (the replica, opened with its keys) marked invalid, with why.
//!
//! `tiles URL` checks the log's static tiles served by any web server (see
//! [`crate::tiles`]) without contacting the log server: the folder's
//! checkpoint against the log key and the witness policy, its consistency
//! with the pinned checkpoint, and every entry of the replica, all by proofs
//! computed from the tiles.

use entente_shared::b64;
use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::ledger::Ledger;
use entente_shared::merkle::empty_root;
use entente_shared::views;
use serde_json::json;

use super::Context;
use crate::cli::LogCommand;
use crate::error::{fail, CliError, CliResult};
use crate::http::Api;
use crate::output::emit;
use crate::profile::Profile;
use crate::replica::Replica;
use crate::session::Session;
use crate::tiles::StaticLog;
use crate::trust;

pub fn run(ctx: &Context, cmd: LogCommand) -> CliResult<()> {
    if let LogCommand::Tiles { url } = &cmd {
        return tiles(ctx, &Profile::open(&ctx.home)?, url);
    }
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
            });
            merge(&mut out, assessed.to_json(profile));
            emit(ctx.json, &out, || {
                format!(
                    "origin  {}\nsize    {}\nroot    {}\nconsistent with the pinned checkpoint\n{}\n",
                    cp.origin,
                    cp.size,
                    b64::encode(&cp.root),
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
        LogCommand::Tiles { .. } => unreachable!("answered above"),
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

/// `entente log tiles URL`: needs the profile only, never the log server.
fn tiles(ctx: &Context, profile: &Profile, url: &str) -> CliResult<()> {
    let log = profile.log_verifier()?;
    let tiles = StaticLog::new(url)?;
    let cp = tiles.checkpoint(&log)?;
    // No pin yet: the log key, pinned at `init`, is all there is to check.
    let pinned = match profile.pinned()? {
        Some(text) => {
            SignedCheckpoint::parse_and_verify(&text, &log)
                .map_err(|e| fail(format!("the pinned checkpoint does not verify: {e}")))?
                .checkpoint
        }
        None => Checkpoint {
            origin: log.name().to_owned(),
            size: 0,
            root: empty_root(),
            extensions: Vec::new(),
        },
    };
    let replica = Replica::load(profile)?;
    let (size, root) = (cp.checkpoint.size, cp.checkpoint.root);
    if size >= pinned.size {
        tiles.check_consistency(&cp, pinned.size, &pinned.root)?;
    } else if replica.size() < size {
        // Tiles cannot prove their way forward to the pin, and the replica
        // holds too little to check the root: say so rather than pass it.
        return Err(fail(format!(
            "the tiles' checkpoint {size} is older than the pinned checkpoint {} and this profile \
             holds only {} verified entries to check it against; run `entente roster` first",
            pinned.size,
            replica.size()
        )));
    } else if replica.root_at(size) != root {
        // Behind the pin: the replica's own verified leaves give that root.
        return Err(CliError::Inconsistent(format!(
            "the tiles' checkpoint {size} is not a prefix of the pinned checkpoint {}: \
             its root is not the root of the first {size} verified entries",
            pinned.size
        )));
    }
    let included = replica.size().min(size);
    let fetched = tiles.check_inclusion(&cp, replica.leaves().take(included as usize))?;
    let ledger = replica.fold(Some(profile.keyring()?))?;
    let assessed = trust::assess(profile, cp, ledger.roster());
    trust::enforce(profile, &assessed)?;
    let mut out = json!({
        "tiles": url,
        "size": size,
        "root": b64::encode(&root),
        "pinned_size": pinned.size,
        "consistent_with_pin": true,
        "entries_included": included,
        "tiles_fetched": fetched,
    });
    merge(&mut out, assessed.to_json(profile));
    emit(ctx.json, &out, || {
        format!(
            "static checkpoint {size} at {url}: signed by the log, consistent with the pinned checkpoint {}\n\
             {included} entries of the replica proven included from {fetched} tiles\n{}\n",
            pinned.size,
            assessed.describe(profile)
        )
    })?;
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
