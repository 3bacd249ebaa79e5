//! When a checkpoint is trusted: pinned and consistent (see [`crate::pin`]),
//! cosigned by a quorum of the witnesses the profile names, and fresh.
//!
//! Witness policy (`profile.toml`: `witnesses = ["US", "DE"]`, `quorum = 2`):
//! a checkpoint counts only with `quorum` valid cosignatures by the named
//! delegations, checked against their active keys in a roster, and by the
//! witnesses outside the roster named by their C2SP verifier keys
//! (`witness_keys`: any tlog-witness the log asks, see `docs/protocol.md`). Commands that
//! rely on the log's state — `log checkpoint`, `log verify`, `archive export`
//! — stop with [`CliError::Untrusted`] (exit 4) when the quorum is not met.
//! `log verify` checks against the roster it folded itself; the others use
//! the server's `GET /v1/roster`, which `log verify` audits.
//!
//! Freshness: the newest timestamp among the checkpoint's valid
//! cosignatures (a witness cosigning at T says "as of T this was the newest
//! checkpoint the log showed me"; C2SP tlog-cosignature). The checkpoint of a
//! tree is one stable note and carries no time of its own; witnesses cosign
//! it again on a schedule (the log asks them every `witness_interval_secs`,
//! and `entente witness --every` does the same), so on a quiet log the newest
//! cosignature stays recent. Older than `max_checkpoint_age_secs`: a warning
//! on stderr, since that means a frozen log or a host showing an old view.
//! With no valid cosignature at all the age is unknown, and said so.

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::cosignature::{self, WitnessKey, Witnessed};
use entente_shared::ledger::Roster;
use entente_shared::note::SignedNote;
use serde_json::{json, Value};

use crate::error::{CliError, CliResult};
use crate::profile::Profile;
use crate::session::Session;

/// A checkpoint with what its witnesses and its age say about it.
pub struct Assessed {
    pub checkpoint: SignedCheckpoint,
    pub witnessed: Witnessed,
    /// Policy witnesses that validly cosigned.
    pub policy_cosigners: Vec<String>,
    /// `None` without a policy.
    pub quorum_met: Option<bool>,
    /// Seconds since the newest valid cosignature, if there is one.
    pub age_secs: Option<u64>,
}

impl Assessed {
    /// The `--json` shape shared by the commands that show it.
    pub fn to_json(&self, profile: &Profile) -> Value {
        json!({
            "cosigners": self.witnessed.valid.iter().map(|c| json!({
                "delegation": c.delegation,
                "timestamp": c.timestamp,
            })).collect::<Vec<_>>(),
            "witness_policy": {
                "witnesses": profile.data.witnesses,
                "witness_keys": profile.data.witness_keys,
                "quorum": profile.data.quorum,
                "cosigned_by": self.policy_cosigners,
                "met": self.quorum_met,
            },
            "age_secs": self.age_secs,
        })
    }

    /// One human line on the witnesses.
    pub fn describe(&self, profile: &Profile) -> String {
        let all: Vec<String> = self
            .witnessed
            .valid
            .iter()
            .map(|c| c.delegation.to_string())
            .collect();
        let cosigned = if all.is_empty() {
            "no witness".to_string()
        } else {
            all.join(", ")
        };
        match self.quorum_met {
            None => format!("cosigned by {cosigned} (no witness policy)"),
            Some(met) => format!(
                "cosigned by {cosigned}; policy: {} of {} — {}",
                profile.data.quorum,
                policy_names(profile).join(","),
                if met { "quorum met" } else { "QUORUM NOT MET" }
            ),
        }
    }
}

/// Every witness the policy names: delegation codes, then key names.
fn policy_names(profile: &Profile) -> Vec<String> {
    let keys = profile
        .data
        .witness_keys
        .iter()
        .filter_map(|k| k.parse::<WitnessKey>().ok())
        .map(|k| k.name);
    profile
        .data
        .witnesses
        .iter()
        .map(ToString::to_string)
        .chain(keys)
        .collect()
}

/// How far ahead of this clock a cosignature's timestamp may be and still
/// count as evidence of freshness.
pub const MAX_AHEAD_SECS: u64 = 300;

fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

/// The newest timestamp of a valid cosignature of `note` by `key`, if any.
fn cosigned_by_key(note: &SignedNote, key: &WitnessKey) -> Option<u64> {
    note.signatures
        .iter()
        .filter_map(|sig| key.verify(sig, &note.text).ok())
        .max()
}

/// Weighs `cp`'s cosignatures against `roster` and the profile's policy.
///
/// The age comes from the policy's witnesses when there is a policy (any
/// valid cosigner otherwise), and a timestamp further ahead of this clock
/// than [`MAX_AHEAD_SECS`] counts for no freshness: one witness colluding
/// with the host cannot make a frozen view look fresh to a profile that
/// does not trust it.
pub fn assess(profile: &Profile, checkpoint: SignedCheckpoint, roster: &Roster) -> Assessed {
    let witnessed = cosignature::witnessed(&checkpoint.note, roster);
    let with_policy = profile.data.quorum > 0;
    let plausible = |t: &u64| *t <= now().saturating_add(MAX_AHEAD_SECS);
    let mut policy_cosigners: Vec<String> = Vec::new();
    let mut newest: Option<u64> = None;
    for c in &witnessed.valid {
        let named = profile.data.witnesses.contains(&c.delegation);
        if named {
            policy_cosigners.push(c.delegation.to_string());
        }
        if (named || !with_policy) && plausible(&c.timestamp) {
            newest = newest.max(Some(c.timestamp));
        }
    }
    // Witnesses known by key: a key that does not parse counts for nothing
    // (`witness policy` refuses to save one), each name once.
    for vkey in &profile.data.witness_keys {
        let Ok(key) = vkey.parse::<WitnessKey>() else {
            continue;
        };
        if policy_cosigners.contains(&key.name) {
            continue;
        }
        if let Some(t) = cosigned_by_key(&checkpoint.note, &key) {
            policy_cosigners.push(key.name.clone());
            if plausible(&t) {
                newest = newest.max(Some(t));
            }
        }
    }
    let quorum_met =
        (profile.data.quorum > 0).then_some(policy_cosigners.len() >= profile.data.quorum);
    Assessed {
        age_secs: newest.map(|t| now().saturating_sub(t)),
        checkpoint,
        witnessed,
        policy_cosigners,
        quorum_met,
    }
}

/// Fails unless the policy's quorum is met; warns on stderr if stale.
pub fn enforce(profile: &Profile, a: &Assessed) -> CliResult<()> {
    if let Some(age) = a.age_secs {
        if age > profile.data.max_checkpoint_age_secs {
            eprintln!(
                "entente: warning: the newest checkpoint (size {}) was last cosigned {age}s ago, \
                 more than max_checkpoint_age_secs = {}: the log may be frozen, or the host is showing an old view",
                a.checkpoint.checkpoint.size, profile.data.max_checkpoint_age_secs
            );
        }
    }
    if a.quorum_met == Some(false) {
        return Err(CliError::Untrusted(format!(
            "checkpoint {} has {} valid cosignature(s) from the policy's witnesses {} ({}), the quorum is {}",
            a.checkpoint.checkpoint.size,
            a.policy_cosigners.len(),
            policy_names(profile).join(","),
            if a.policy_cosigners.is_empty() {
                "none".to_string()
            } else {
                a.policy_cosigners.join(",")
            },
            profile.data.quorum
        )));
    }
    Ok(())
}

/// The latest checkpoint, pinned, weighed against the roster of the
/// profile's own verified fold at that checkpoint (never the server's word:
/// a host that could name the witnesses' keys could forge their
/// cosignatures) and the policy, and enforced.
pub fn latest(session: &Session) -> CliResult<Assessed> {
    let roster = session.fold()?.roster();
    let a = assess(&session.profile, session.checkpoint.clone(), roster);
    enforce(&session.profile, &a)?;
    Ok(a)
}

/// For a delegation that has cosigned before: the latest checkpoint, if it
/// carries no valid cosignature of this delegation's.
pub fn witness_due(
    session: &Session,
    ledger: &entente_shared::ledger::Ledger,
) -> CliResult<Option<Value>> {
    let profile = &session.profile;
    let Some(record) = profile.cosigned()? else {
        return Ok(None);
    };
    let me = profile.data.delegation;
    let latest = &session.checkpoint;
    if cosignature::witnessed(&latest.note, ledger.roster())
        .by(&me)
        .is_some()
    {
        return Ok(None);
    }
    let cosigned = SignedCheckpoint::parse_and_verify(&record, &profile.log_verifier()?)
        .map(|c| c.checkpoint.size)
        .ok();
    Ok(Some(json!({
        "latest_size": latest.checkpoint.size,
        "cosigned_size": cosigned,
    })))
}
