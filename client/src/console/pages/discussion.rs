//! Threads and positions: national position papers (`/discussion`,
//! `/positions/{id}`) and the threads of signed messages hanging off any
//! statement (`/threads/{id}`), each item under its TLP banner. Only what
//! this delegation may read is listed, and an item it may not read is
//! answered exactly as one that does not exist.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::ledger::{Ledger, ThreadMessage};
use entente_shared::statement::StatementId;
use entente_shared::views;
use entente_shared::visibility::Reader;

use super::id_of;
use crate::console::page::{self, banner, not_found_problem, Banner, Frame};
use crate::console::state::Console;
use crate::error::CliError;
use crate::output::{short, timestamp};

struct PositionRow {
    id: String,
    title: String,
    author: String,
    when: String,
    banner: Banner,
}

struct ThreadRow {
    id: String,
    about: String,
    count: usize,
    last: String,
    banner: Banner,
}

#[derive(Template)]
#[template(path = "console/discussion.html")]
struct ListPage {
    frame: Frame,
    positions: Vec<PositionRow>,
    threads: Vec<ThreadRow>,
}

/// What a thread hangs off, in a few words: a proposal's or paper's title.
fn about(ledger: &Ledger, reader: &Reader, id: &StatementId) -> String {
    if let Some(p) = views::proposal(ledger, reader, id) {
        return format!("proposal “{}”", p.record.title);
    }
    if let Some(p) = views::position(ledger, reader, id) {
        return format!("position “{}”", p.title);
    }
    format!("statement {}", short(id))
}

/// `GET /discussion`.
pub async fn list(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page = Console::with_session(&console, |console, session| {
        let (ledger, reader) = session.own_view()?;
        let positions = views::positions(ledger, &reader)
            .iter()
            .rev()
            .map(|p| PositionRow {
                id: p.meta.id.to_string(),
                title: p.title.clone(),
                author: p.meta.author.to_string(),
                when: timestamp(p.meta.issued_at),
                banner: banner(&p.meta.distribution),
            })
            .collect();
        let threads = ledger
            .discussion()
            .threads()
            .filter_map(|(id, _)| {
                let view = views::thread(ledger, &reader, id)?;
                let last = view.messages.last()?;
                let audience = ledger.audience(id)?;
                Some(ThreadRow {
                    id: id.to_string(),
                    about: about(ledger, &reader, id),
                    count: view.messages.len(),
                    last: format!("{} at entry {}", last.meta.author, last.meta.index),
                    banner: banner(&audience.distribution),
                })
            })
            .collect();
        Ok(ListPage {
            frame: Frame::new(console, "discussion"),
            positions,
            threads,
        })
    })
    .await;
    page::answer(&req, page)
}

/// One message as shown.
struct Message {
    author: String,
    index: u64,
    when: String,
    text: String,
    banner: Banner,
}

fn messages(list: &[ThreadMessage]) -> Vec<Message> {
    list.iter()
        .map(|m| Message {
            author: m.meta.author.to_string(),
            index: m.meta.index,
            when: timestamp(m.meta.issued_at),
            text: m.text.clone(),
            banner: banner(&m.meta.distribution),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/position.html")]
struct PositionPage {
    frame: Frame,
    id: String,
    title: String,
    author: String,
    when: String,
    index: u64,
    text: String,
    subject: Option<(String, String)>,
    banner: Banner,
    messages: Vec<Message>,
}

/// `GET /positions/{id}`.
pub async fn position(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
) -> HttpResponse {
    let id = match id_of(&id, "position paper") {
        Ok(id) => id,
        Err(p) => return page::problem_response(&req, &p),
    };
    let page = Console::with_session(&console, move |console, session| {
        let (ledger, reader) = session.own_view()?;
        let p = views::position(ledger, &reader, &id)
            .ok_or_else(|| CliError::Problem(not_found_problem("position paper")))?;
        let thread = views::thread(ledger, &reader, &id)
            .map(|t| messages(&t.messages))
            .unwrap_or_default();
        Ok(PositionPage {
            frame: Frame::new(console, "discussion"),
            id: p.meta.id.to_string(),
            title: p.title.clone(),
            author: p.meta.author.to_string(),
            when: timestamp(p.meta.issued_at),
            index: p.meta.index,
            text: p.text.clone(),
            subject: p.subject.map(|s| {
                let link = if views::proposal(ledger, &reader, &s).is_some() {
                    format!("/proposals/{s}")
                } else {
                    format!("/assessments/{s}")
                };
                (link, about(ledger, &reader, &s))
            }),
            banner: banner(&p.meta.distribution),
            messages: thread,
        })
    })
    .await;
    page::answer(&req, page)
}

#[derive(Template)]
#[template(path = "console/thread.html")]
struct ThreadPage {
    frame: Frame,
    about: String,
    banner: Banner,
    messages: Vec<Message>,
}

/// `GET /threads/{id}`.
pub async fn thread(
    req: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
) -> HttpResponse {
    let id = match id_of(&id, "thread") {
        Ok(id) => id,
        Err(p) => return page::problem_response(&req, &p),
    };
    let page = Console::with_session(&console, move |console, session| {
        let (ledger, reader) = session.own_view()?;
        let view = views::thread(ledger, &reader, &id)
            .ok_or_else(|| CliError::Problem(not_found_problem("thread")))?;
        let audience = ledger
            .audience(&id)
            .ok_or_else(|| CliError::Problem(not_found_problem("thread")))?;
        Ok(ThreadPage {
            frame: Frame::new(console, "discussion"),
            about: about(ledger, &reader, &id),
            banner: banner(&audience.distribution),
            messages: messages(&view.messages),
        })
    })
    .await;
    page::answer(&req, page)
}
