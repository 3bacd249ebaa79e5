//! The proposal pages: the list (`/proposals`) and one proposal
//! (`/proposals/{id}`) with its current text, every revision with its
//! word-level changes, the amendments, every participant's position on
//! every revision with reservations and reasons, and — for a participant
//! while it is open — the forms to take a stance or amend (each first shows
//! what would be signed; see [`crate::console::actions`]).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::api::ProposalView;
use entente_shared::ledger::{AmendmentStatus, ProposalRecord, Status};
use entente_shared::statement::{Stance, StatementId};
use entente_shared::views;
use serde::Deserialize;

use super::id_of;
use crate::console::page::{self, banner, not_found_problem, visible, Banner, Frame};
use crate::console::state::Console;
use crate::diff::{runs, Change, Run};
use crate::negotiation::{amendment_status, proposal_status};
use crate::output::{short, timestamp};

pub struct Row {
    id: String,
    title: String,
    proposer: String,
    status: String,
    revision: u32,
    tally: String,
    deadline: String,
    banner: Banner,
}

#[derive(Template)]
#[template(path = "console/proposals.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<Row>,
}

/// `GET /proposals`.
pub async fn list(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page = Console::with_session(&console, |console, session| {
        let (ledger, reader) = session.own_view()?;
        let rows = views::proposals(ledger, &reader)
            .iter()
            .rev()
            .map(|v| Row {
                id: v.record.meta.id.to_string(),
                title: v.record.title.clone(),
                proposer: v.record.meta.author.to_string(),
                status: proposal_status(&v.record),
                revision: v.record.current().number,
                tally: tally(v),
                deadline: timestamp(v.record.deadline),
                banner: banner(&v.record.meta.distribution),
            })
            .collect();
        Ok(ListPage {
            frame: Frame::new(console, "proposals"),
            rows,
        })
    })
    .await;
    page::answer(&req, page)
}

fn tally(v: &ProposalView) -> String {
    let t = &v.tally;
    format!(
        "{} endorse, {} object, {} abstain, {} pending",
        t.endorse, t.object, t.abstain, t.pending
    )
}

/// A run of words in a diff, as the template marks it.
pub struct Piece {
    pub kind: &'static str,
    pub text: String,
}

/// The word-level changes from `from` to `to`.
pub fn pieces(from: &str, to: &str) -> Vec<Piece> {
    runs(from, to)
        .into_iter()
        .map(|Run { change, text }| Piece {
            kind: match change {
                Change::Kept => "kept",
                Change::Removed => "removed",
                Change::Added => "added",
            },
            text: visible(&text),
        })
        .collect()
}

struct Revision {
    number: u32,
    digest: String,
    index: u64,
    when: String,
    note: String,
    /// From the previous revision (none for revision 0).
    changes: Vec<Piece>,
    /// One cell per participant, in the proposal's order.
    cells: Vec<Cell>,
}

struct Cell {
    stance: &'static str,
    class: &'static str,
}

struct Note {
    revision: u32,
    delegation: String,
    label: &'static str,
    text: String,
}

struct Amendment {
    id: String,
    /// Not decided yet.
    pending: bool,
    author: String,
    index: u64,
    on: String,
    status: String,
    note: String,
    changes: Vec<Piece>,
    banner: Banner,
}

#[derive(Template)]
#[template(path = "console/proposal.html")]
struct ShowPage {
    frame: Frame,
    id: String,
    title: String,
    banner: Banner,
    proposer: String,
    participants: Vec<String>,
    rule: String,
    deadline: String,
    status: String,
    adopted: bool,
    tally: String,
    current_number: u32,
    current_digest: String,
    /// As shown (hidden characters made visible).
    current_shown: String,
    /// As it is, for the amendment form to start from.
    current_text: String,
    /// The current text holds characters that do not show.
    hidden_characters: bool,
    revisions: Vec<Revision>,
    notes: Vec<Note>,
    amendments: Vec<Amendment>,
    /// This delegation takes part and the proposal is open.
    can_act: bool,
    /// This delegation made the proposal and it is open: it decides on
    /// amendments.
    can_decide: bool,
    /// What this delegation signed on the current revision, if anything.
    mine: Option<String>,
    /// Where a confirmed action of this delegation's just landed.
    signed: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shown {
    signed: Option<String>,
}

/// `GET /proposals/{id}`.
pub async fn show(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    query: web::Query<Shown>,
) -> HttpResponse {
    let signed = query.into_inner().signed;
    let page = match id_of(&id, "proposal") {
        Ok(id) => {
            Console::with_session(&console, move |console, session| {
                let (ledger, reader) = session.own_view()?;
                let view = views::proposal(ledger, &reader, &id).ok_or_else(|| {
                    crate::error::CliError::Problem(not_found_problem("proposal"))
                })?;
                Ok(show_page(console, &view, signed))
            })
            .await
        }
        Err(p) => Err(p),
    };
    page::answer(&req, page)
}

/// The stance word and its colour class.
fn stance_cell(s: Option<&Stance>) -> Cell {
    let (stance, class) = match s {
        None => ("—", "none"),
        Some(Stance::Endorse) => ("endorse", "endorse"),
        Some(Stance::EndorseWithReservation { .. }) => ("endorse*", "reserve"),
        Some(Stance::Object { .. }) => ("object", "object"),
        Some(Stance::Abstain) => ("abstain", "abstain"),
    };
    Cell { stance, class }
}

fn show_page(console: &Console, view: &ProposalView, signed: Option<String>) -> ShowPage {
    let rec: &ProposalRecord = &view.record;
    let mut notes = Vec::new();
    let mut previous: Option<&str> = None;
    let revisions = rec
        .revisions
        .iter()
        .map(|r| {
            let positions = rec.positions_on(&r.digest);
            let cells = rec
                .participants
                .iter()
                .map(|p| {
                    let pos = positions.get(p);
                    if let Some(pos) = pos {
                        if let Stance::EndorseWithReservation { reservation: why }
                        | Stance::Object { reason: why } = &pos.stance
                        {
                            notes.push(Note {
                                revision: r.number,
                                delegation: p.to_string(),
                                label: pos.stance.label(),
                                text: visible(why),
                            });
                        }
                    }
                    stance_cell(pos.map(|p| &p.stance))
                })
                .collect();
            let changes = previous.map(|p| pieces(p, &r.text)).unwrap_or_default();
            previous = Some(&r.text);
            Revision {
                number: r.number,
                digest: r.digest.to_string(),
                index: r.meta.index,
                when: timestamp(r.meta.issued_at),
                note: visible(&r.note),
                changes,
                cells,
            }
        })
        .collect();
    let amendments = rec
        .amendments
        .iter()
        .map(|a| {
            let base = rec.revision(&a.revision);
            Amendment {
                id: a.meta.id.to_string(),
                pending: matches!(a.status, AmendmentStatus::Pending),
                author: a.meta.author.to_string(),
                index: a.meta.index,
                on: base.map_or_else(|| short(&a.revision), |r| r.number.to_string()),
                status: amendment_status(&a.status),
                note: visible(&a.note),
                changes: pieces(base.map_or("", |r| r.text.as_str()), &a.text),
                banner: banner(&a.meta.distribution),
            }
        })
        .collect();
    let current = rec.current();
    let open = matches!(rec.status, Status::Open);
    // A notice only for an entry that is this delegation's own statement on
    // this proposal: a link cannot make it claim a signature.
    let me = console.me;
    let signed = signed
        .and_then(|arg| arg.parse::<StatementId>().ok())
        .and_then(|id| {
            let entries = rec.positions.iter().map(|p| &p.meta);
            let entries = entries
                .chain(rec.amendments.iter().map(|a| &a.meta))
                .chain(rec.revisions.iter().map(|r| &r.meta));
            let rejected = rec.meta.author == me
                && rec.amendments.iter().any(
                    |a| matches!(&a.status, AmendmentStatus::Rejected { by, .. } if *by == id),
                );
            match entries.into_iter().find(|m| m.id == id && m.author == me) {
                Some(m) => Some(format!("at entry {}", m.index)),
                None => rejected.then(|| format!("as statement {}", short(&id))),
            }
        });
    let current_shown = visible(&current.text);
    ShowPage {
        frame: Frame::new(console, "proposals"),
        id: rec.meta.id.to_string(),
        title: visible(&rec.title),
        banner: banner(&rec.meta.distribution),
        proposer: rec.meta.author.to_string(),
        participants: rec.participants.iter().map(ToString::to_string).collect(),
        rule: rec.rule.to_string(),
        deadline: timestamp(rec.deadline),
        status: proposal_status(rec),
        adopted: matches!(rec.status, Status::Adopted { .. }),
        tally: tally(view),
        current_number: current.number,
        current_digest: current.digest.to_string(),
        hidden_characters: current_shown != current.text,
        current_shown,
        current_text: current.text.clone(),
        revisions,
        notes,
        amendments,
        can_act: open && rec.participants.contains(&console.me),
        can_decide: open && rec.meta.author == console.me,
        mine: rec
            .positions_on(&current.digest)
            .get(&console.me)
            .map(|p| p.stance.label().to_owned()),
        signed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_mark_removed_and_added_words_and_keep_the_rest() {
        let p = pieces("every two years", "every year");
        let kinds: Vec<(&str, &str)> = p.iter().map(|p| (p.kind, p.text.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("kept", "every "),
                ("removed", "two years"),
                ("added", "year")
            ]
        );
    }
}
