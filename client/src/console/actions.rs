//! What the console signs: a stance on a proposal's current revision
//! (endorse, endorse with a reservation, object, abstain) and an amendment.
//!
//! Every action takes two POSTs. The first, from the proposal page, only
//! shows what would be signed: the kind, the proposal, the revision's
//! number and digest (for an amendment, the new text's digest and its
//! changes), the TLP label it goes out under, and the words of a
//! reservation or reason. The second, from that confirmation, signs it with
//! the profile's key and publishes it, exactly as `entente endorse|object|
//! abstain|amend` would (the same [`crate::commands::stance::prepare`] and
//! [`crate::commands::amend::reply_distribution`]). The confirmation carries
//! the digest of what it showed, and nothing else is signed: if the
//! proposal was revised in between, or the text differs, it is refused.
//!
//! Both POSTs need the session's CSRF token ([`super::guard`]).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::api::{Problem, ProposalView};
use entente_shared::statement::{Amendment, Body, Stance, StatementId, TextDigest};
use entente_shared::views;
use serde::Deserialize;

use super::page::{self, banner, not_found_problem, problem, Banner, Frame};
use super::pages::id_of;
use super::pages::proposal::{pieces, Piece};
use super::state::Console;
use crate::cli::Distribute;
use crate::error::{CliError, CliResult};
use crate::session::Session;

/// The form of a stance, from the proposal page or its confirmation.
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
    /// `yes` on the confirmation's form only.
    #[serde(default)]
    confirm: Option<String>,
}

/// The form of an amendment, from the proposal page or its confirmation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendForm {
    csrf: String,
    revision: String,
    text: String,
    #[serde(default)]
    note: String,
    /// The digest of the text the confirmation showed.
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
}

/// What a POST led to.
enum Outcome {
    /// Nothing signed yet: the confirmation page.
    Confirm(Box<ConfirmPage>),
    /// Signed and in the log at this entry.
    Signed(u64),
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    frame: Frame,
    action: String,
    kind: &'static str,
    proposal: String,
    title: String,
    revision_number: u32,
    revision_digest: String,
    banner: Banner,
    /// `stance` for a stance, empty for an amendment.
    stance: String,
    /// The reservation, reason or replacement text.
    text: String,
    /// For an amendment: the note, the new text's digest and its changes.
    note: String,
    new_digest: String,
    changes: Vec<Piece>,
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

/// `POST /proposals/{id}/stance`.
pub async fn stance(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: web::Form<StanceForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let proposal = match admit(&console, &form.csrf, &id) {
        Ok(id) => id,
        Err(p) => return page::problem_response(&req, &p),
    };
    let outcome = Console::with_session(&console, move |console, session| {
        let view = current_view(session, &proposal, &form.revision)?;
        let text = typed(&form.text);
        let stance = match form.stance.as_str() {
            "endorse" => Stance::Endorse,
            "reserve" => Stance::EndorseWithReservation { reservation: text },
            "object" => Stance::Object { reason: text },
            "abstain" => Stance::Abstain,
            other => {
                return Err(CliError::Problem(problem(
                    400,
                    "bad-request",
                    "unknown stance",
                    &format!("{other:?} is not endorse, reserve, object or abstain"),
                )))
            }
        };
        let rec = &view.record;
        let revision = rec.current();
        let (endorsement, distribution) =
            crate::negotiation::stance(session, rec, revision, stance, &Distribute::default())?;
        if form.confirm.as_deref() != Some("yes") {
            let words = match &endorsement.position {
                Stance::EndorseWithReservation { reservation: t }
                | Stance::Object { reason: t } => t.clone(),
                _ => String::new(),
            };
            return Ok(Outcome::Confirm(Box::new(ConfirmPage {
                frame: Frame::new(console, "proposals"),
                action: format!("/proposals/{}/stance", rec.meta.id),
                kind: endorsement.position.label(),
                proposal: rec.meta.id.to_string(),
                title: rec.title.clone(),
                revision_number: revision.number,
                revision_digest: revision.digest.to_string(),
                banner: banner(&distribution),
                stance: form.stance.clone(),
                text: words,
                note: String::new(),
                new_digest: String::new(),
                changes: Vec::new(),
            })));
        }
        let receipt = session.publish(distribution, Body::Endorsement(endorsement))?;
        Ok(Outcome::Signed(receipt.index))
    })
    .await;
    respond(&req, &id, outcome)
}

/// `POST /proposals/{id}/amend`.
pub async fn amend(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: web::Form<AmendForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let proposal = match admit(&console, &form.csrf, &id) {
        Ok(id) => id,
        Err(p) => return page::problem_response(&req, &p),
    };
    let outcome = Console::with_session(&console, move |console, session| {
        let view = current_view(session, &proposal, &form.revision)?;
        let rec = &view.record;
        let current = rec.current();
        let amendment = Amendment {
            proposal: rec.meta.id,
            revision: current.digest,
            text: typed(&form.text),
            note: typed(&form.note),
        };
        let body = Body::Amendment(amendment.clone());
        body.validate().map_err(crate::error::fail)?;
        let distribution =
            crate::negotiation::reply_distribution(session, &Distribute::default(), &view)?;
        let digest = TextDigest::of(&amendment.text).to_string();
        if form.confirm.as_deref() != Some("yes") {
            return Ok(Outcome::Confirm(Box::new(ConfirmPage {
                frame: Frame::new(console, "proposals"),
                action: format!("/proposals/{}/amend", rec.meta.id),
                kind: "amendment",
                proposal: rec.meta.id.to_string(),
                title: rec.title.clone(),
                revision_number: current.number,
                revision_digest: current.digest.to_string(),
                banner: banner(&distribution),
                stance: String::new(),
                changes: pieces(&current.text, &amendment.text),
                text: amendment.text,
                note: amendment.note,
                new_digest: digest,
            })));
        }
        if form.digest.as_deref() != Some(digest.as_str()) {
            return Err(CliError::Problem(problem(
                409,
                "changed",
                "not what was confirmed",
                "the text differs from the one the confirmation showed: nothing was signed",
            )));
        }
        let receipt = session.publish(distribution, body)?;
        Ok(Outcome::Signed(receipt.index))
    })
    .await;
    respond(&req, &id, outcome)
}

/// The proposal `id` as this delegation's fold holds it, refused unless
/// `revision` (what the page showed) is still its current revision.
fn current_view(session: &Session, id: &StatementId, revision: &str) -> CliResult<ProposalView> {
    let (ledger, reader) = session.own_view()?;
    let view = views::proposal(ledger, &reader, id)
        .ok_or_else(|| CliError::Problem(not_found_problem("proposal")))?;
    let current = view.record.current();
    if current.digest.to_string() != revision.trim() {
        return Err(CliError::Problem(problem(
            409,
            "stale-revision",
            "the proposal was revised",
            &format!(
                "the page showed another revision; revision {} (digest {}) is now the current one: reload the proposal and read it before taking a position",
                current.number, current.digest
            ),
        )));
    }
    Ok(view)
}

/// The confirmation page, or back to the proposal once signed.
fn respond(
    req: &HttpRequest,
    id: &str,
    outcome: Result<Outcome, entente_shared::api::Problem>,
) -> HttpResponse {
    match outcome {
        Ok(Outcome::Confirm(page)) => page::html(page.as_ref()),
        Ok(Outcome::Signed(index)) => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!(
                    "/proposals/{}?signed={index}",
                    crate::session::url_encode(id)
                ),
            ))
            .finish(),
        Err(p) => page::problem_response(req, &p),
    }
}
