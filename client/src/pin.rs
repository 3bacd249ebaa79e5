//! Checkpoint pinning: the CLI's defence against a host that forks or rolls
//! back its log.
//!
//! Every checkpoint the CLI meets must be signed by the log key pinned at
//! `init`, and consistent (RFC 9162 consistency proof) with the checkpoint it
//! pinned before; the larger of the two becomes the new pin. A smaller
//! "latest" checkpoint is a rollback, two roots for one size a fork: both are
//! [`CliError::Inconsistent`] and end the command with exit code 3.

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::merkle::verify_consistency;

use crate::error::{CliError, CliResult};
use crate::http::Api;
use crate::profile::Profile;

/// Whether the checkpoint claims to be the log's newest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// From `GET /v1/checkpoint`: must not be older than the pin.
    Latest,
    /// From a receipt: may be older than the pin, if something else pinned later.
    Receipt,
    /// From a mirror (`--mirror`): may lag the pin; one that does is
    /// returned unchecked against it, for the caller to check against its
    /// replica.
    Mirror,
}

/// Verifies `text` against the profile's log key and pin; pins it if newer.
pub fn observe(
    profile: &Profile,
    api: &Api,
    text: &str,
    claim: Claim,
) -> CliResult<SignedCheckpoint> {
    let log = profile.log_verifier()?;
    let cp = SignedCheckpoint::parse_and_verify(text, &log).map_err(|e| {
        CliError::Inconsistent(format!(
            "the server's checkpoint is not signed by the pinned log key: {e}"
        ))
    })?;
    let Some(pinned_text) = profile.pinned()? else {
        profile.pin(&cp.to_text())?;
        return Ok(cp);
    };
    let pinned = SignedCheckpoint::parse_and_verify(&pinned_text, &log).map_err(|e| {
        CliError::Inconsistent(format!("the pinned checkpoint does not verify: {e}"))
    })?;
    let (new, old) = (&cp.checkpoint, &pinned.checkpoint);
    if claim == Claim::Latest && new.size < old.size {
        return Err(CliError::Inconsistent(format!(
            "ROLLBACK: the server's latest checkpoint has size {}, but this profile saw size {} before",
            new.size, old.size
        )));
    }
    if claim == Claim::Mirror && new.size < old.size {
        // A mirror that lags cannot prove its way forward to the pin; the
        // caller checks it against the entries verified before
        // (`Session::with_checkpoint`).
        return Ok(cp);
    }
    let (small, large) = if new.size <= old.size {
        (new, old)
    } else {
        (old, new)
    };
    if small.size == large.size {
        if small.root != large.root {
            return Err(CliError::Inconsistent(format!(
                "FORK: two signed checkpoints of size {} with different roots",
                small.size
            )));
        }
    } else if small.size > 0 {
        let proof = api.consistency(small.size, large.size)?;
        verify_consistency(
            small.size,
            large.size,
            &small.root,
            &large.root,
            &proof.proof,
        )
        .map_err(|e| {
            CliError::Inconsistent(format!(
                "FORK OR ROLLBACK: checkpoint {} is not consistent with checkpoint {}: {e}",
                large.size, small.size
            ))
        })?;
    }
    if new.size > old.size {
        profile.pin(&cp.to_text())?;
    }
    Ok(cp)
}

/// The size of the pinned checkpoint (0 if none).
pub fn pinned_size(profile: &Profile) -> CliResult<u64> {
    let Some(text) = profile.pinned()? else {
        return Ok(0);
    };
    let log = profile.log_verifier()?;
    SignedCheckpoint::parse_and_verify(&text, &log)
        .map(|cp| cp.checkpoint.size)
        .map_err(|e| CliError::Inconsistent(format!("the pinned checkpoint does not verify: {e}")))
}

/// Fetches the latest checkpoint and observes it.
pub fn latest(profile: &Profile, api: &Api) -> CliResult<SignedCheckpoint> {
    let text = fetch_latest(profile, api)?;
    observe(profile, api, &text, Claim::Latest)
}

/// The server's latest checkpoint text. An empty log has none; to a profile
/// that pinned a checkpoint before (or a witness that cosigned one), a log
/// that is now empty is a rollback like any shorter one.
pub fn fetch_latest(profile: &Profile, api: &Api) -> CliResult<String> {
    match api.checkpoint() {
        Err(CliError::Problem(p)) if p.status == 404 => {
            let seen = match profile.pinned()? {
                Some(text) => Some(text),
                None => profile.cosigned()?,
            };
            match seen.and_then(|t| t.lines().nth(1).map(str::to_owned)) {
                Some(size) => Err(CliError::Inconsistent(format!(
                    "ROLLBACK: the server says its log is empty, but this profile saw size {size} before"
                ))),
                None => Err(CliError::Problem(p)),
            }
        }
        other => other,
    }
}
