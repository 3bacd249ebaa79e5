//! Signing and submitting a statement, then checking the receipt.
//!
//! A receipt is only trusted once its checkpoint is signed by the pinned log
//! key and consistent with the pin, its leaf hash is the hash of the envelope
//! we sent, and its inclusion proof verifies against that checkpoint.

use entente_shared::api::Receipt;
use entente_shared::merkle::{leaf_hash, verify_inclusion};
use entente_shared::statement::{Body, Distribution, Statement, StatementId};
use time::OffsetDateTime;

use crate::error::{CliError, CliResult};
use crate::http::Api;
use crate::pin::{observe, Claim};
use crate::profile::Profile;

/// Signs the body `body` makes from the statement's own signed `issued_at`
/// with the profile's key, as its delegation, and submits it. The body may
/// depend on `issued_at`: `entente propose --deadline 7d` counts the seven
/// days from the time the proposal says it was issued, so a short deadline
/// cannot fall at or before it however long the steps before signing took.
pub fn publish(
    profile: &mut Profile,
    api: &Api,
    distribution: Distribution,
    body: impl FnOnce(OffsetDateTime) -> CliResult<Body>,
) -> CliResult<Receipt> {
    let key = profile.key()?;
    // Whole seconds, as `Statement::new` has them.
    let now = OffsetDateTime::now_utc();
    let issued_at = now.replace_nanosecond(0).unwrap_or(now);
    let body = body(issued_at)?;
    let seq = profile.next_seq()?;
    let statement = Statement {
        author: profile.data.delegation,
        key: key.key_id(),
        seq,
        issued_at,
        distribution,
        body,
    };
    let envelope = statement.sign(&key);
    let receipt = api.post_statement(&envelope)?;
    let bad = |why: &str| CliError::Inconsistent(format!("the server's receipt is wrong: {why}"));
    if receipt.id != StatementId::of_payload(&envelope.payload) {
        return Err(bad("it names another statement id"));
    }
    let leaf = leaf_hash(&envelope.to_canonical_json());
    if receipt.leaf_hash != leaf {
        return Err(bad("its leaf hash is not the hash of what was sent"));
    }
    let cp = observe(profile, api, &receipt.checkpoint, Claim::Receipt)?;
    verify_inclusion(
        &leaf,
        receipt.index,
        cp.checkpoint.size,
        &receipt.inclusion_proof,
        &cp.checkpoint.root,
    )
    .map_err(|e| bad(&format!("its inclusion proof does not verify: {e}")))?;
    Ok(receipt)
}
