//! The declaration pages: the list (`/declarations`), one declaration
//! (`/declarations/{id}`) with its signatories and a "verify" panel, and its
//! printable document (`/declarations/{id}/document`, the same HTML as
//! `entente declaration show --format html`).
//!
//! The verify panel checks, as it is shown: each entry the declaration
//! rests on (the proposal, the adopted revision, every signed endorsement)
//! is included in the latest checkpoint — the leaf hash from this
//! delegation's own verified replica, the audit path from the log server,
//! the root from the checkpoint checked against the pin — and the
//! checkpoint's witness cosignatures against the roster and the profile's
//! witness policy.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::api::InclusionProof;
use entente_shared::b64;
use entente_shared::ledger::Declaration;
use entente_shared::merkle::verify_inclusion;
use entente_shared::views;

use super::id_of;
use crate::console::page::{self, banner, not_found_problem, Banner, Frame};
use crate::console::state::Console;
use crate::document::Parties;
use crate::error::{CliError, CliResult};
use crate::output::timestamp;
use crate::replica::Replica;
use crate::session::Session;

struct Row {
    id: String,
    title: String,
    adopted: String,
    signatories: String,
    banner: Banner,
}

#[derive(Template)]
#[template(path = "console/declarations.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<Row>,
}

/// `GET /declarations`.
pub async fn list(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page = Console::with_session(&console, |console, session| {
        let (ledger, reader) = session.own_view()?;
        let rows = views::declarations(ledger, &reader)
            .iter()
            .rev()
            .map(|d| Row {
                id: d.id.to_string(),
                title: d.title.clone(),
                adopted: format!("{} (entry {})", timestamp(d.adopted_at), d.adopted_index),
                signatories: d
                    .signatories
                    .iter()
                    .map(|s| s.delegation.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                banner: banner(&d.distribution),
            })
            .collect();
        Ok(ListPage {
            frame: Frame::new(console, "declarations"),
            rows,
        })
    })
    .await;
    page::answer(&req, page)
}

struct Signatory {
    name: String,
    when: String,
    reservation: Option<String>,
    statement: String,
    index: u64,
}

/// One entry's inclusion, as checked.
struct Inclusion {
    what: String,
    index: u64,
    leaf: String,
    path: Vec<String>,
    verified: bool,
    error: String,
}

#[derive(Template)]
#[template(path = "console/declaration.html")]
struct ShowPage {
    frame: Frame,
    id: String,
    title: String,
    banner: Banner,
    adopted: String,
    rule: String,
    revision: String,
    text: String,
    signatories: Vec<Signatory>,
    objections: Vec<(String, String)>,
    abstentions: String,
    inclusions: Vec<Inclusion>,
    all_included: bool,
    checkpoint_text: String,
    size: u64,
    cosignatures: Vec<super::health::Cosigner>,
    quorum: String,
    age: String,
}

/// The declaration `id`, if this delegation may read it.
fn declaration(session: &Session, id: &str) -> CliResult<Declaration> {
    let id = id_of(id, "declaration").map_err(CliError::Problem)?;
    let (ledger, reader) = session.own_view()?;
    views::declaration(ledger, &reader, &id)
        .ok_or_else(|| CliError::Problem(not_found_problem("declaration")))
}

/// `GET /declarations/{id}`.
pub async fn show(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    let page = Console::with_session(&console, move |console, session| {
        let d = declaration(session, &id)?;
        let (ledger, reader) = session.own_view()?;
        let names = Parties::of(ledger, &reader, &d);
        let signatories = d
            .signatories
            .iter()
            .map(|s| Signatory {
                name: names.name(&s.delegation),
                when: names
                    .signed_at
                    .get(&s.statement)
                    .map(|t| timestamp(*t))
                    .unwrap_or_default(),
                reservation: s.reservation.clone(),
                statement: s.statement.to_string(),
                index: s.index,
            })
            .collect();
        let inclusions = inclusions(session, &d)?;
        let assessed = crate::trust::assess(
            &session.profile,
            session.checkpoint.clone(),
            session.fold()?.roster(),
        );
        let cosignatures = super::health::cosigners(&assessed);
        Ok(ShowPage {
            frame: Frame::new(console, "declarations"),
            id: d.id.to_string(),
            title: d.title.clone(),
            banner: banner(&d.distribution),
            adopted: format!(
                "{} at log entry {}, on revision {}",
                timestamp(d.adopted_at),
                d.adopted_index,
                d.revision_number
            ),
            rule: d.rule.to_string(),
            revision: d.revision.to_string(),
            text: d.text.clone(),
            signatories,
            objections: d
                .objections
                .iter()
                .map(|(c, why)| (names.name(c), why.clone()))
                .collect(),
            abstentions: d
                .abstentions
                .iter()
                .map(|c| names.name(c))
                .collect::<Vec<_>>()
                .join(", "),
            all_included: inclusions.iter().all(|i| i.verified),
            inclusions,
            checkpoint_text: session.checkpoint.note.text.clone(),
            size: session.size,
            cosignatures,
            quorum: assessed.describe(&session.profile),
            age: assessed.age_secs.map_or_else(
                || "no valid cosignature, so its age is unknown".into(),
                |s| format!("newest cosignature {s} s ago"),
            ),
        })
    })
    .await;
    page::answer(&req, page)
}

/// Checks the inclusion of every entry `d` rests on in the session's
/// checkpoint (see the module documentation).
fn inclusions(session: &Session, d: &Declaration) -> CliResult<Vec<Inclusion>> {
    let (ledger, reader) = session.own_view()?;
    let mut entries: Vec<(String, u64)> = Vec::new();
    if let Some(view) = views::proposal(ledger, &reader, &d.id) {
        entries.push(("the proposal".into(), view.record.meta.index));
        if let Some(r) = view.record.revision(&d.revision) {
            if r.number > 0 {
                entries.push((format!("revision {}", r.number), r.meta.index));
            }
        }
    }
    for s in &d.signatories {
        entries.push((format!("endorsement by {}", s.delegation), s.index));
    }
    let replica = Replica::load(&session.profile)?;
    let root = session.checkpoint.checkpoint.root;
    let size = session.size;
    entries
        .into_iter()
        .map(|(what, index)| {
            let leaf = replica
                .entries()
                .get(index as usize)
                .map(|e| e.leaf_hash)
                .ok_or_else(|| {
                    crate::error::fail(format!("entry {index} is not in the replica"))
                })?;
            let proof: InclusionProof =
                session.get(&format!("/v1/proofs/inclusion?index={index}&size={size}"))?;
            let checked = verify_inclusion(&leaf, index, size, &proof.proof, &root);
            Ok(Inclusion {
                what,
                index,
                leaf: b64::encode(&leaf),
                path: proof.proof.iter().map(|h| b64::encode(h)).collect(),
                verified: checked.is_ok(),
                error: checked.err().map(|e| e.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// `GET /declarations/{id}/document`: the printable declaration, whose one
/// stylesheet the Content-Security-Policy allows by its hash.
pub async fn document(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    let doc = Console::with_session(&console, move |_, session| {
        let d = declaration(session, &id)?;
        let (ledger, reader) = session.own_view()?;
        let names = Parties::of(ledger, &reader, &d);
        Ok(crate::document::html(&d, &names))
    })
    .await;
    match doc {
        Ok(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                format!(
                    "default-src 'none'; style-src {}; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
                    crate::document::style_csp_hash()
                ),
            ))
            .body(html),
        Err(p) => page::problem_response(&req, &p),
    }
}
