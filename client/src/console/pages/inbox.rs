//! The inbox page (`/`): what awaits the delegation, as `entente inbox`
//! lists it, each item with its TLP label.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::views;
use time::OffsetDateTime;

use crate::console::page::{self, banner, Banner, Frame};
use crate::console::state::Console;
use crate::output::{short, timestamp, until};

struct Awaiting {
    id: String,
    short: String,
    title: String,
    revision: u32,
    digest: String,
    deadline: String,
    until: String,
    rule: String,
    banner: Banner,
}

struct Amendment {
    proposal: String,
    amendment: String,
    title: String,
    author: String,
    note: String,
    banner: Banner,
}

struct Reply {
    thread: String,
    short: String,
    count: usize,
    last_author: String,
    last_index: u64,
    when: String,
    banner: Banner,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage {
    frame: Frame,
    empty: bool,
    awaiting: Vec<Awaiting>,
    amendments: Vec<Amendment>,
    replies: Vec<Reply>,
    /// The latest checkpoint's size, when this delegation witnesses and has
    /// not cosigned it.
    witness: Option<u64>,
}

/// `GET /`.
pub async fn show(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page = Console::with_session(&console, |console, session| {
        let (ledger, reader) = session.own_view()?;
        let inbox = views::inbox(ledger, &reader, &console.me, OffsetDateTime::now_utc());
        let witness =
            crate::trust::witness_due(session, ledger)?.and_then(|w| w["latest_size"].as_u64());
        let distribution = |id| {
            ledger
                .audience(id)
                .map(|a| banner(&a.distribution))
                .unwrap_or_else(|| banner(&entente_shared::statement::Distribution::green()))
        };
        let awaiting = inbox
            .awaiting_position
            .iter()
            .map(|a| Awaiting {
                id: a.proposal.to_string(),
                short: short(&a.proposal),
                title: a.title.clone(),
                revision: a.revision,
                digest: short(&a.digest),
                deadline: timestamp(a.deadline),
                until: until(a.deadline),
                rule: a.rule.to_string(),
                banner: distribution(&a.proposal),
            })
            .collect();
        let amendments = inbox
            .amendments
            .iter()
            .map(|a| Amendment {
                proposal: a.proposal.to_string(),
                amendment: a.amendment.to_string(),
                title: a.title.clone(),
                author: a.author.to_string(),
                note: a.note.clone(),
                banner: distribution(&a.amendment),
            })
            .collect();
        let replies = inbox
            .replies
            .iter()
            .filter_map(|r| {
                let last = r.messages.last()?;
                Some(Reply {
                    thread: r.thread.to_string(),
                    short: short(&r.thread),
                    count: r.messages.len(),
                    last_author: last.author.to_string(),
                    last_index: last.index,
                    when: timestamp(last.issued_at),
                    banner: banner(&last.distribution),
                })
            })
            .collect();
        Ok(InboxPage {
            frame: Frame::new(console, "inbox"),
            empty: inbox.is_empty() && witness.is_none(),
            awaiting,
            amendments,
            replies,
            witness,
        })
    })
    .await;
    page::answer(&req, page)
}
