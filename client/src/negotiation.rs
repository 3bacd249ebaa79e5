//! What a delegation signs in a negotiation, and how its state reads: the
//! CLI's commands (`endorse`, `object`, `abstain`, `amend`, `proposal`,
//! `amendment`) and the web console share these, so both sign exactly the
//! same statement for the same choice.

use entente_shared::api::ProposalView;
use entente_shared::ledger::proposals::RevisionRecord;
use entente_shared::ledger::{AmendmentRecord, AmendmentStatus, ProposalRecord, Status};
use entente_shared::statement::{Distribution, Endorsement, Revision, Stance};

use crate::cli::{Distribute, Parent};
use crate::error::CliResult;
use crate::session::Session;

/// What a stance on `revision` of `rec` signs: the endorsement naming the
/// revision's digest, under the proposal's audience unless `distribute`
/// says otherwise (and the log refuses any other), checked for shape. The
/// CLI and the web console both sign exactly this.
pub fn stance(
    session: &Session,
    rec: &ProposalRecord,
    revision: &RevisionRecord,
    stance: Stance,
    distribute: &Distribute,
) -> CliResult<(Endorsement, Distribution)> {
    let distribution = distribute.distribution(
        &session.profile.data.delegation,
        Some(Parent {
            author: &rec.meta.author,
            distribution: &rec.meta.distribution,
        }),
    )?;
    let endorsement = Endorsement {
        proposal: rec.meta.id,
        revision: revision.digest,
        position: stance,
    };
    endorsement.validate().map_err(crate::error::fail)?;
    Ok((endorsement, distribution))
}

/// What a reply to the proposal `view` is signed under: its audience
/// unless `distribute` says otherwise.
pub fn reply_distribution(
    session: &Session,
    distribute: &Distribute,
    view: &ProposalView,
) -> CliResult<Distribution> {
    distribute.distribution(
        &session.profile.data.delegation,
        Some(Parent {
            author: &view.record.meta.author,
            distribution: &view.record.meta.distribution,
        }),
    )
}

/// The revision of `view` that takes amendment `a`: its text (or `text`,
/// a merged one), noted as taking it unless `note` says otherwise.
pub fn taking(
    view: &ProposalView,
    a: &AmendmentRecord,
    text: String,
    note: Option<String>,
) -> Revision {
    Revision {
        proposal: view.record.meta.id,
        text,
        note: note.unwrap_or_else(|| {
            format!(
                "takes amendment {} by {}",
                crate::output::short(&a.meta.id),
                a.meta.author
            )
        }),
        amendments: vec![a.meta.id],
    }
}

/// `open`, `adopted …` or `expired …`. The fold closes a proposal with the
/// first entry issued at or after its deadline; on a quiet log, one whose
/// deadline has passed says so until that entry comes.
pub fn proposal_status(rec: &ProposalRecord) -> String {
    match &rec.status {
        Status::Open if rec.deadline <= time::OffsetDateTime::now_utc() => {
            "deadline passed (closed with the log's next entry)".to_owned()
        }
        Status::Open => "open".to_owned(),
        Status::Adopted { index, .. } => format!("adopted at entry {index}"),
        Status::Expired { index } => format!("expired at entry {index}"),
    }
}

/// `pending`, `taken into revision N`, or `rejected: reason`.
pub fn amendment_status(s: &AmendmentStatus) -> String {
    match s {
        AmendmentStatus::Pending => "pending".into(),
        AmendmentStatus::Accepted { revision, .. } => format!("taken into revision {revision}"),
        AmendmentStatus::Rejected { reason, .. } => format!("rejected: {reason}"),
    }
}
