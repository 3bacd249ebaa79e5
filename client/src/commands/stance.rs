//! `entente endorse|object|abstain`: a signed position on one exact
//! revision of a proposal.
//!
//! The position names a text digest, never "the proposal": without
//! `--revision` the current revision's digest is fetched and printed, so
//! the delegation sees which text it signed for; with `--revision` that
//! revision is used as given, and if it is no longer current the server
//! refuses it (`stale-revision`) rather than moving it to the new text.

use entente_shared::ledger::Status;
use entente_shared::statement::{Body, Stance, StatementId};
use serde_json::json;

use super::proposal::revision_of;
use super::Context;
use crate::cli::{EndorseArgs, ObjectArgs, StanceArgs};
use crate::error::CliResult;
use crate::output::{emit_published, short};
use crate::session::Session;

pub fn endorse(ctx: &Context, args: EndorseArgs) -> CliResult<()> {
    let stance = match args.reservation {
        Some(reservation) => Stance::EndorseWithReservation { reservation },
        None => Stance::Endorse,
    };
    take(ctx, args.stance, stance)
}

pub fn object(ctx: &Context, args: ObjectArgs) -> CliResult<()> {
    take(
        ctx,
        args.stance,
        Stance::Object {
            reason: args.reason,
        },
    )
}

pub fn abstain(ctx: &Context, args: StanceArgs) -> CliResult<()> {
    take(ctx, args, Stance::Abstain)
}

/// Signs and publishes `stance` on the chosen revision.
fn take(ctx: &Context, args: StanceArgs, stance: Stance) -> CliResult<()> {
    let mut session = Session::open(ctx)?;
    let view = session.proposal(&args.proposal)?;
    let rec = &view.record;
    let revision = match &args.revision {
        Some(arg) => revision_of(rec, arg)?,
        None => rec.current(),
    };
    let (endorsement, distribution) =
        crate::negotiation::stance(&session, rec, revision, stance, &args.distribute)?;
    let mut extra = json!({
        "proposal": rec.meta.id,
        "revision": revision.digest,
        "revision_number": revision.number,
        "stance": endorsement.position.name(),
    });
    let mut done = format!(
        "{} on {:?} ({}), revision {} digest {}",
        endorsement.position.label(),
        rec.title,
        short(&rec.meta.id),
        revision.number,
        revision.digest
    );
    // A plain endorsement after one with a reservation drops it: say so.
    let me = session.profile.data.delegation;
    if let (Stance::Endorse, Some(earlier)) = (
        &endorsement.position,
        rec.positions_on(&revision.digest).get(&me),
    ) {
        if let Stance::EndorseWithReservation { reservation } = &earlier.stance {
            done.push_str(&format!(
                "\nthis drops the reservation of your earlier endorsement ({}): {:?}",
                short(&earlier.meta.id),
                reservation
            ));
            extra["dropped_reservation"] = json!(reservation);
        }
    }
    let proposal = rec.meta.id;
    let receipt = session.publish(distribution, Body::Endorsement(endorsement))?;
    // What the position caused, as the log now folds it.
    if let Some((outcome, line)) = outcome_after(ctx, &proposal) {
        extra["outcome"] = outcome;
        done.push('\n');
        done.push_str(&line);
    }
    emit_published(ctx.json, &receipt, extra, done)?;
    Ok(())
}

/// The proposal's outcome once the statement landed, if it has one: the
/// JSON and the line to print (`adopted: declaration …`).
pub fn outcome_after(ctx: &Context, proposal: &StatementId) -> Option<(serde_json::Value, String)> {
    let session = Session::open(ctx).ok()?;
    let view = session.proposal(&proposal.to_string()).ok()?;
    match &view.record.status {
        Status::Adopted {
            index, revision, ..
        } => Some((
            json!({ "adopted": { "declaration": proposal, "index": index, "revision": revision } }),
            format!(
                "adopted: declaration {} (entry {index}): `entente declaration show {}`",
                short(proposal),
                short(proposal)
            ),
        )),
        Status::Expired { index } => Some((
            json!({ "expired": { "index": index } }),
            format!("expired at entry {index}: the deadline passed without adoption"),
        )),
        Status::Open => None,
    }
}
