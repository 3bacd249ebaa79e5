//! What the console signs: a stance on a proposal's current revision
//! (endorse, endorse with a reservation, object, abstain), an amendment,
//! and the proposer's decision on an amendment (a revision taking it, or a
//! rejection with a reason).
//!
//! Every action takes two POSTs. The first, from the proposal page, signs
//! nothing: it builds the very statement body and distribution that would
//! be signed — as `entente endorse|object|abstain|amend` would, through
//! [`crate::negotiation`] — keeps them in the console under a random
//! one-time nonce ([`Pending`]), and shows them: the kind, the proposal, the
//! revision's number and digest (for an amendment, the new text's digest
//! and its changes), the TLP label, and the words of a reservation or
//! reason. The second, from that confirmation, carries only the nonce: the
//! kept statement is signed and published exactly as shown, once. A
//! confirmation used already, expired, or for a proposal revised in between
//! signs nothing.
//!
//! Only a participant of an open proposal is offered a stance or an
//! amendment, and only its proposer a decision; no one else is shown a
//! confirmation. Both POSTs need the session's CSRF token
//! ([`super::guard`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::api::{Problem, ProposalView};
use entente_shared::ledger::{AmendmentStatus, Status};
use entente_shared::statement::{
    Amendment, AmendmentRejection, Body, Distribution, Stance, StatementId, TextDigest,
};
use entente_shared::views;
use serde::Deserialize;

use super::page::{self, banner, not_found_problem, problem, visible, Banner, Frame};
use super::pages::id_of;
use super::pages::proposal::{pieces, Piece};
use super::state::Console;
use crate::cli::Distribute;
use crate::error::{CliError, CliResult};
use crate::session::Session;

/// How long a confirmation page may be acted on.
const CONFIRM_WITHIN: Duration = Duration::from_secs(15 * 60);
/// How many confirmations may wait at once (the oldest goes first).
const MAX_PENDING: usize = 32;

/// Who may sign an action on a proposal.
#[derive(Clone, Copy)]
enum Who {
    /// A stance or an amendment: a participant.
    Participant,
    /// A decision on an amendment: the proposer.
    Proposer,
}

/// A statement shown on a confirmation page and not signed yet.
struct Action {
    proposal: StatementId,
    who: Who,
    /// The revision it was made for: it must still be the current one.
    revision: TextDigest,
    distribution: Distribution,
    body: Body,
    made: Instant,
}

/// The statements waiting for their confirmation, by nonce.
#[derive(Default)]
pub struct Pending(Mutex<HashMap<String, Action>>);

impl Pending {
    /// Keeps `action`; its nonce.
    fn keep(&self, action: Action) -> CliResult<String> {
        use ring::rand::SecureRandom as _;
        let mut bytes = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| crate::error::fail("the operating system's random source failed"))?;
        let nonce = hex::encode(bytes);
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, a| a.made.elapsed() < CONFIRM_WITHIN);
        while pending.len() >= MAX_PENDING {
            let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, a)| a.made)
                .map(|(n, _)| n.clone())
            else {
                break;
            };
            pending.remove(&oldest);
        }
        pending.insert(nonce.clone(), action);
        Ok(nonce)
    }

    /// Takes the action kept under `nonce`, if it is there and not expired:
    /// a nonce is good once.
    fn take(&self, nonce: &str) -> Option<Action> {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .remove(nonce.trim())
            .filter(|a| a.made.elapsed() < CONFIRM_WITHIN)
    }
}

/// The form of a stance, from the proposal page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StanceForm {
    csrf: String,
    /// The digest of the revision the page showed.
    revision: String,
    /// `endorse`, `reserve`, `object` or `abstain`.
    stance: String,
    /// The reservation or the reason.
    #[serde(default)]
    text: String,
}

/// The form of an amendment, from the proposal page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendForm {
    csrf: String,
    revision: String,
    text: String,
    #[serde(default)]
    note: String,
}

/// The form of a confirmation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmForm {
    csrf: String,
    nonce: String,
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    frame: Frame,
    nonce: String,
    proposal: String,
    title: String,
    revision_number: u32,
    revision_digest: String,
    banner: Banner,
    shown: Shown,
}

/// What a confirmation shows of the statement besides its proposal,
/// revision and label.
struct Shown {
    kind: &'static str,
    /// What the words are: `Reservation`, `Reason`, or empty.
    words: &'static str,
    /// The reservation or reason, or the new text, as shown.
    text: String,
    /// For an amendment: its note.
    note: String,
    /// For a new text: its digest and its changes from the current one.
    new_digest: String,
    changes: Vec<Piece>,
}

/// Keeps `body` under a fresh one-time nonce and makes its confirmation:
/// what `who` would sign on the current revision of `view`.
fn confirmation(
    console: &Console,
    view: &ProposalView,
    who: Who,
    distribution: Distribution,
    body: Body,
    shown: Shown,
) -> CliResult<ConfirmPage> {
    let rec = &view.record;
    let current = rec.current();
    let banner = banner(&distribution);
    let nonce = console.pending.keep(Action {
        proposal: rec.meta.id,
        who,
        revision: current.digest,
        distribution,
        body,
        made: Instant::now(),
    })?;
    Ok(ConfirmPage {
        frame: Frame::new(console, "proposals"),
        nonce,
        proposal: rec.meta.id.to_string(),
        title: visible(&rec.title),
        revision_number: current.number,
        revision_digest: current.digest.to_string(),
        banner,
        shown,
    })
}

/// A browser's text as it was typed: form submission turns line breaks
/// into CRLF.
fn typed(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// The proposal a form from this console's own pages acts on: refused
/// without the session's CSRF token, before anything else is read.
fn admit(console: &Console, csrf: &str, id: &str) -> Result<StatementId, Problem> {
    console.guard.check_csrf(csrf)?;
    id_of(id, "proposal")
}

/// A shape the shared checks refuse, as the page shows it.
fn invalid(e: impl std::fmt::Display) -> CliError {
    CliError::Problem(problem(
        400,
        "invalid",
        "not a valid statement",
        &e.to_string(),
    ))
}

/// The confirmation page of what `build` makes, for `who`, of the proposal
/// `id`: the CSRF token checked before anything is read, the proposal
/// checked still open on `revision` (what the page showed).
async fn offer<F>(
    req: &HttpRequest,
    console: &web::Data<Console>,
    (id, csrf, revision): (&str, &str, String),
    who: Who,
    build: F,
) -> HttpResponse
where
    F: FnOnce(&Session, &ProposalView) -> CliResult<(Body, Distribution, Shown)> + Send + 'static,
{
    let proposal = match admit(console, csrf, id) {
        Ok(id) => id,
        Err(p) => return page::problem_response(req, &p),
    };
    let page = Console::with_session(console, move |console, session| {
        let view = actionable(console, session, &proposal, &revision, who)?;
        let (body, distribution, shown) = build(session, &view)?;
        confirmation(console, &view, who, distribution, body, shown)
    })
    .await;
    page::answer(req, page)
}

/// A reply to the proposal `view` (an amendment or a decision on one),
/// checked for shape, under the proposal's audience.
fn reply(session: &Session, view: &ProposalView, body: Body) -> CliResult<(Body, Distribution)> {
    body.validate().map_err(invalid)?;
    let distribution =
        crate::negotiation::reply_distribution(session, &Distribute::default(), view)?;
    Ok((body, distribution))
}

impl Shown {
    /// A statement whose words (a reservation, a reason) are shown as such.
    fn words(kind: &'static str, words: &'static str, text: &str) -> Shown {
        Shown {
            kind,
            words,
            text: visible(text),
            note: String::new(),
            new_digest: String::new(),
            changes: Vec::new(),
        }
    }

    /// A statement that carries a new text for the proposal `view`: its
    /// digest and its changes from the current text.
    fn new_text(kind: &'static str, view: &ProposalView, text: &str, note: &str) -> Shown {
        Shown {
            kind,
            words: "",
            text: visible(text),
            note: visible(note),
            new_digest: TextDigest::of(text).to_string(),
            changes: pieces(&view.record.current().text, text),
        }
    }
}

/// The stance a form names, with `text` as its reservation or reason, and
/// what those words are called.
fn stance_of(name: &str, text: &str) -> CliResult<(Stance, &'static str)> {
    let text = text.to_owned();
    Ok(match name {
        "endorse" => (Stance::Endorse, ""),
        "reserve" => (
            Stance::EndorseWithReservation { reservation: text },
            "Reservation",
        ),
        "object" => (Stance::Object { reason: text }, "Reason"),
        "abstain" => (Stance::Abstain, ""),
        other => {
            return Err(CliError::Problem(problem(
                400,
                "bad-request",
                "unknown stance",
                &format!("{other:?} is not endorse, reserve, object or abstain"),
            )))
        }
    })
}

/// `POST /proposals/{id}/stance`: the confirmation of a stance.
pub async fn stance(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: web::Form<StanceForm>,
) -> HttpResponse {
    let StanceForm {
        csrf,
        revision,
        stance,
        text,
    } = form.into_inner();
    let target = (id.as_str(), csrf.as_str(), revision);
    offer(
        &req,
        &console,
        target,
        Who::Participant,
        move |session, view| {
            let text = typed(&text);
            let (stance, words) = stance_of(&stance, &text)?;
            let rec = &view.record;
            let (endorsement, distribution) = crate::negotiation::stance(
                session,
                rec,
                rec.current(),
                stance,
                &Distribute::default(),
            )?;
            let shown_text = if words.is_empty() { "" } else { text.as_str() };
            let shown = Shown::words(endorsement.position.label(), words, shown_text);
            Ok((Body::Endorsement(endorsement), distribution, shown))
        },
    )
    .await
}

/// `POST /proposals/{id}/amend`: the confirmation of an amendment.
pub async fn amend(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: web::Form<AmendForm>,
) -> HttpResponse {
    let AmendForm {
        csrf,
        revision,
        text,
        note,
    } = form.into_inner();
    let target = (id.as_str(), csrf.as_str(), revision);
    offer(
        &req,
        &console,
        target,
        Who::Participant,
        move |session, view| {
            let amendment = Amendment {
                proposal: view.record.meta.id,
                revision: view.record.current().digest,
                text: typed(&text),
                note: typed(&note),
            };
            let shown = Shown::new_text("amendment", view, &amendment.text, &amendment.note);
            let (body, distribution) = reply(session, view, Body::Amendment(amendment))?;
            Ok((body, distribution, shown))
        },
    )
    .await
}

/// The form of a decision on an amendment, from the proposal page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideForm {
    csrf: String,
    revision: String,
    /// Why it is rejected (rejections only).
    #[serde(default)]
    reason: String,
}

/// `POST /proposals/{id}/amendments/{amendment}/accept`: the confirmation
/// of a new revision that takes the amendment.
pub async fn accept(
    req: HttpRequest,
    console: web::Data<Console>,
    path: web::Path<(String, String)>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    decide(req, console, path.into_inner(), form.into_inner(), true).await
}

/// `POST /proposals/{id}/amendments/{amendment}/reject`: the confirmation
/// of the amendment's rejection.
pub async fn reject(
    req: HttpRequest,
    console: web::Data<Console>,
    path: web::Path<(String, String)>,
    form: web::Form<DecideForm>,
) -> HttpResponse {
    decide(req, console, path.into_inner(), form.into_inner(), false).await
}

/// The proposer's decision on a pending amendment, as
/// `entente amendment accept|reject` would sign it.
async fn decide(
    req: HttpRequest,
    console: web::Data<Console>,
    (id, amendment): (String, String),
    form: DecideForm,
    take: bool,
) -> HttpResponse {
    let amendment = match id_of(&amendment, "amendment") {
        Ok(id) => id,
        Err(p) => return page::problem_response(&req, &p),
    };
    let DecideForm {
        csrf,
        revision,
        reason,
    } = form;
    let target = (id.as_str(), csrf.as_str(), revision);
    offer(
        &req,
        &console,
        target,
        Who::Proposer,
        move |session, view| {
            let a = view
                .record
                .amendments
                .iter()
                .find(|a| a.meta.id == amendment)
                .ok_or_else(|| CliError::Problem(not_found_problem("amendment")))?;
            if !matches!(a.status, AmendmentStatus::Pending) {
                return Err(CliError::Problem(problem(
                    409,
                    "decided",
                    "the amendment is decided",
                    &format!(
                        "it is {}: nothing was signed",
                        crate::negotiation::amendment_status(&a.status)
                    ),
                )));
            }
            let (body, shown) = if take {
                let revision = crate::negotiation::taking(view, a, a.text.clone(), None);
                let shown =
                    Shown::new_text("revision taking the amendment", view, &revision.text, "");
                (Body::Revision(revision), shown)
            } else {
                let reason = typed(&reason);
                let shown = Shown::words("amendment rejection", "Reason", &reason);
                let rejection = AmendmentRejection {
                    proposal: view.record.meta.id,
                    amendment: a.meta.id,
                    reason,
                };
                (Body::AmendmentRejection(rejection), shown)
            };
            let (body, distribution) = reply(session, view, body)?;
            Ok((body, distribution, shown))
        },
    )
    .await
}

/// `POST /proposals/{id}/confirm`: signs and publishes what the
/// confirmation with this nonce showed, once.
pub async fn confirm(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let proposal = match admit(&console, &form.csrf, &id) {
        Ok(id) => id,
        Err(p) => return page::problem_response(&req, &p),
    };
    let spent = || {
        problem(
            409,
            "confirmation-spent",
            "this confirmation was used or has expired",
            "nothing was signed now: open the proposal again to see where it stands and what you signed",
        )
    };
    let Some(action) = console.pending.take(&form.nonce) else {
        return page::problem_response(&req, &spent());
    };
    if action.proposal != proposal {
        return page::problem_response(&req, &spent());
    }
    let signed = Console::with_session(&console, move |console, session| {
        actionable(
            console,
            session,
            &action.proposal,
            &action.revision.to_string(),
            action.who,
        )?;
        let receipt = session.publish(action.distribution, action.body)?;
        Ok(receipt.id)
    })
    .await;
    match signed {
        Ok(id) => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/proposals/{proposal}?signed={id}"),
            ))
            .finish(),
        Err(p) => page::problem_response(&req, &p),
    }
}

/// The proposal `id` as this delegation's fold holds it, refused unless
/// this delegation may act on it (`who`), it is open, and `revision` (what
/// the page showed) is still its current revision.
fn actionable(
    console: &Console,
    session: &Session,
    id: &StatementId,
    revision: &str,
    who: Who,
) -> CliResult<ProposalView> {
    let (ledger, reader) = session.own_view()?;
    let view = views::proposal(ledger, &reader, id)
        .ok_or_else(|| CliError::Problem(not_found_problem("proposal")))?;
    let rec = &view.record;
    let (may, why) = match who {
        Who::Participant => (
            rec.participants.contains(&console.me),
            "does not take part in this proposal",
        ),
        Who::Proposer => (
            rec.meta.author == console.me,
            "did not make this proposal: only its proposer decides on amendments",
        ),
    };
    if !may {
        return Err(CliError::Problem(problem(
            403,
            "not-yours",
            "not for this delegation to sign",
            &format!("{} {why}: nothing was signed", console.me),
        )));
    }
    if !matches!(rec.status, Status::Open) {
        return Err(CliError::Problem(problem(
            409,
            "closed",
            "the proposal is closed",
            &format!(
                "it is {}: nothing was signed",
                crate::negotiation::proposal_status(rec)
            ),
        )));
    }
    let current = rec.current();
    if current.digest.to_string() != revision.trim() {
        return Err(CliError::Problem(problem(
            409,
            "stale-revision",
            "the proposal was revised",
            &format!(
                "the page showed another revision; revision {} (digest {}) is now the current one: nothing was signed. Read it before taking a position",
                current.number, current.digest
            ),
        )));
    }
    Ok(view)
}
