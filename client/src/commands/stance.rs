//! `entente endorse|object|abstain`: a signed position on one exact
//! revision of a proposal.
//!
//! The position names a text digest, never "the proposal": without
//! `--revision` the current revision's digest is fetched and printed, so
//! the delegation sees which text it signed for; with `--revision` that
//! revision is used as given, and if it is no longer current the server
//! refuses it (`stale-revision`) rather than moving it to the new text.

use entente_shared::statement::{Body, Endorsement, Stance};
use serde_json::json;

use super::proposal::revision_of;
use super::Context;
use crate::cli::{EndorseArgs, ObjectArgs, Parent, StanceArgs};
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
    let distribution = args.distribute.distribution(
        &session.profile.data.delegation,
        Some(Parent {
            author: &rec.meta.author,
            distribution: &rec.meta.distribution,
        }),
    )?;
    let revision = match &args.revision {
        Some(arg) => revision_of(rec, arg)?,
        None => rec.current(),
    };
    let endorsement = Endorsement {
        proposal: rec.meta.id,
        revision: revision.digest,
        position: stance,
    };
    endorsement.validate().map_err(crate::error::fail)?;
    let name = endorsement.position.name();
    let extra = json!({
        "proposal": rec.meta.id,
        "revision": revision.digest,
        "revision_number": revision.number,
        "stance": name,
    });
    let done = format!(
        "{name} on {:?} ({}), revision {} digest {}",
        rec.title,
        short(&rec.meta.id),
        revision.number,
        revision.digest
    );
    let receipt = session.publish(distribution, Body::Endorsement(endorsement))?;
    emit_published(ctx.json, &receipt, extra, done)?;
    Ok(())
}
