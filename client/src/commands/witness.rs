//! `entente witness [--once | --every DURATION]` and `entente witness policy`.
//!
//! As a witness, a delegation vouches to everyone else that the log showed it
//! one consistent history. Each round it fetches the latest checkpoint,
//! checks the log's signature, then checks it against the last checkpoint it
//! *cosigned* (its own record in `<home>/witness/cosigned`, apart from the
//! profile's pin): a smaller size is a rollback, the same size with another
//! root a fork, a larger size needs a valid RFC 9162 consistency proof. Any
//! of these is refused, both signed checkpoints are kept in
//! `<home>/witness/fork-evidence-<time>/`, and the command exits 3. Otherwise
//! it records the checkpoint, cosigns it (C2SP tlog-cosignature, as
//! `entente-witness/<CODE>` with the delegation key) and posts the
//! cosignature. The record is written before the cosignature leaves, so a
//! crash can never leave a cosignature out there that the record does not
//! cover.

use entente_shared::api::{CosignatureReceipt, CosignatureRequest};
use entente_shared::b64;
use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::cosignature::{self, cosign, witness_name, WitnessKey};
use entente_shared::merkle::verify_consistency;
use entente_shared::statement::DelegationCode;
use serde_json::json;

use super::Context;
use crate::cli::{PolicyArgs, WitnessArgs, WitnessCommand};
use crate::error::{fail, CliError, CliResult};
use crate::http::Api;
use crate::output::emit;
use crate::profile::Profile;
use crate::session::Session;

pub fn run(ctx: &Context, args: WitnessArgs) -> CliResult<()> {
    match args.command {
        Some(WitnessCommand::Policy(p)) => return policy(ctx, p),
        Some(WitnessCommand::Serve { listen }) => {
            return crate::witness_server::serve(Profile::open(&ctx.home)?, &listen, ctx.json)
        }
        None => {}
    }
    let Some(every) = args.every else {
        return once(ctx);
    };
    if every.is_zero() {
        return Err(fail("--every must be longer than zero"));
    }
    loop {
        match once(ctx) {
            // Evidence of a fork ends the watch: it is for people to look at.
            Err(e @ CliError::Inconsistent(_)) => return Err(e),
            Err(e) => eprintln!("entente: witness round failed, retrying: {e:#}"),
            Ok(()) => {}
        }
        std::thread::sleep(every);
    }
}

fn once(ctx: &Context) -> CliResult<()> {
    let profile = Profile::open(&ctx.home)?;
    let api = Api::for_profile(&profile)?;
    let log = profile.log_verifier()?;
    // Locked before the checkpoint is fetched: a witness server of the same
    // profile that records a newer one meanwhile is not a rollback.
    let _lock = profile.lock_witness()?;
    let presented = crate::pin::fetch_latest(&profile, &api)?;
    let cp = SignedCheckpoint::parse_and_verify(&presented, &log).map_err(|e| {
        CliError::Inconsistent(format!(
            "the server's checkpoint is not signed by the pinned log key: {e}"
        ))
    })?;
    // The witness's own record first, so that a fork or rollback leaves its
    // evidence; then the profile's pin, as for every command.
    if let Some(cosigned) = profile.cosigned()? {
        check_against_cosigned(&profile, &api, &cosigned, &presented, &cp)?;
    }
    let session = Session::with_checkpoint(profile, api, &presented)?;
    let (profile, api) = (&session.profile, &session.api);
    // Record only what the log signed: our own line is added per round.
    let log_signed = SignedCheckpoint {
        note: entente_shared::note::SignedNote {
            text: cp.note.text.clone(),
            signatures: cp
                .note
                .signatures
                .iter()
                .filter(|s| s.name == log.name() && s.key_hash == log.key_hash())
                .cloned()
                .collect(),
        },
        checkpoint: cp.checkpoint.clone(),
    };
    profile.record_cosigned(&log_signed.to_text())?;

    let key = profile.key()?;
    let name = witness_name(&profile.data.delegation);
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let line = cosign(&name, &key, &cp.note.text, now)
        .map_err(|e| fail(format!("cosigning: {e}")))?
        .to_line();
    let receipt: CosignatureReceipt = api.post_json(
        "/v1/cosignatures",
        &CosignatureRequest {
            checkpoint: log_signed.to_text(),
            cosignature: line,
        },
    )?;
    let out = json!({
        "witness": name,
        "delegation": receipt.delegation,
        "size": cp.checkpoint.size,
        "root": b64::encode(&cp.checkpoint.root),
        "timestamp": receipt.timestamp,
    });
    emit(ctx.json, &out, || {
        format!(
            "cosigned checkpoint {} ({}) as {name}\n",
            cp.checkpoint.size,
            b64::encode(&cp.checkpoint.root)
        )
    })?;
    Ok(())
}

/// Refuses `cp` unless it extends (or equals) what this witness cosigned.
fn check_against_cosigned(
    profile: &Profile,
    api: &Api,
    cosigned_text: &str,
    presented: &str,
    cp: &SignedCheckpoint,
) -> CliResult<()> {
    let log = profile.log_verifier()?;
    let old = SignedCheckpoint::parse_and_verify(cosigned_text, &log)
        .map_err(|e| fail(format!("the witness record does not verify: {e}")))?;
    let (old, new) = (&old.checkpoint, &cp.checkpoint);
    let refuse = |what: String| -> CliResult<()> {
        let dir = profile.save_fork_evidence(cosigned_text, presented, &what)?;
        Err(CliError::Inconsistent(format!(
            "{what}; refusing to cosign. Both signed checkpoints are kept in {}",
            dir.display()
        )))
    };
    if new.size < old.size {
        return refuse(format!(
            "ROLLBACK: the log's latest checkpoint has size {}, but this witness cosigned size {}",
            new.size, old.size
        ));
    }
    if new.size == old.size {
        if new.root != old.root {
            return refuse(format!(
                "FORK: two signed checkpoints of size {} with different roots",
                new.size
            ));
        }
        return Ok(());
    }
    if old.size == 0 {
        return Ok(());
    }
    let proof = api.consistency(old.size, new.size)?;
    if let Err(e) = verify_consistency(old.size, new.size, &old.root, &new.root, &proof.proof) {
        return refuse(format!(
            "FORK OR ROLLBACK: checkpoint {} is not consistent with cosigned checkpoint {}: {e}",
            new.size, old.size
        ));
    }
    Ok(())
}

fn policy(ctx: &Context, args: PolicyArgs) -> CliResult<()> {
    let mut profile = Profile::open(&ctx.home)?;
    let changed = args.witnesses.is_some()
        || args.witness_keys.is_some()
        || args.quorum.is_some()
        || args.max_checkpoint_age.is_some();
    if let Some(list) = args.witnesses {
        let mut codes: Vec<DelegationCode> = Vec::new();
        for w in list.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
            let code: DelegationCode = w.parse().map_err(fail)?;
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        profile.data.witnesses = codes;
    }
    if let Some(list) = args.witness_keys {
        let mut keys: Vec<String> = Vec::new();
        for k in list.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
            let key = k
                .parse::<WitnessKey>()
                .map_err(|e| fail(format!("{k:?} is not a cosignature verifier key: {e}")))?;
            // A delegation's witness is named by its code, and checked
            // against the roster's current keys (a revoked key stops counting).
            if key.name.starts_with(cosignature::WITNESS_NAME_PREFIX) {
                return Err(fail(format!(
                    "{} is a delegation's witness: name it by its code in --witnesses",
                    key.name
                )));
            }
            if !keys.iter().any(|have| have == k) {
                keys.push(k.to_owned());
            }
        }
        profile.data.witness_keys = keys;
    }
    if let Some(q) = args.quorum {
        profile.data.quorum = q;
    }
    if let Some(age) = args.max_checkpoint_age {
        profile.data.max_checkpoint_age_secs = age.as_secs();
    }
    let named = profile.data.witnesses.len() + profile.data.witness_keys.len();
    if profile.data.quorum > named {
        // Allowed (it makes every checkpoint untrusted), but say so.
        eprintln!(
            "entente: warning: quorum {} is more than the {named} named witness(es): no checkpoint can meet it",
            profile.data.quorum,
        );
    }
    if changed {
        profile.save()?;
    }
    let out = json!({
        "witnesses": profile.data.witnesses,
        "witness_keys": profile.data.witness_keys,
        "quorum": profile.data.quorum,
        "max_checkpoint_age_secs": profile.data.max_checkpoint_age_secs,
    });
    emit(ctx.json, &out, || {
        let names: Vec<String> = profile
            .data
            .witnesses
            .iter()
            .map(ToString::to_string)
            .collect();
        let keys = profile.data.witness_keys.join("\n                       ");
        format!(
            "witnesses              {}\nwitness keys           {}\nquorum                 {}\nmax checkpoint age     {}s\n",
            if names.is_empty() {
                "(none)".into()
            } else {
                names.join(",")
            },
            if keys.is_empty() { "(none)".into() } else { keys },
            profile.data.quorum,
            profile.data.max_checkpoint_age_secs
        )
    })?;
    Ok(())
}
