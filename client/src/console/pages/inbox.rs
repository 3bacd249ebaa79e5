//! The inbox page (`/`): what awaits the delegation, as `entente inbox`
//! lists it, each item with its TLP label.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::ledger::EntryMeta;
use entente_shared::statement::{Distribution, Tlp};
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

/// The most restricted label among new messages (a reply may narrow its
/// thread's audience, never widen it).
fn strictest(messages: &[EntryMeta]) -> &Distribution {
    let rank = |d: &Distribution| match d.tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    };
    messages
        .iter()
        .map(|m| &m.distribution)
        .max_by_key(|d| (rank(d), std::cmp::Reverse(d.to.len())))
        .expect("replies are never empty")
}

/// `GET /`.
pub async fn show(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page = Console::with_session(&console, |console, session| {
        let (ledger, reader) = session.own_view()?;
        let inbox = views::inbox(ledger, &reader, &console.me, OffsetDateTime::now_utc());
        let witness =
            crate::trust::witness_due(session, ledger)?.and_then(|w| w["latest_size"].as_u64());
        // Every item comes from the fold, which knows its audience; should
        // one not, it is labelled as the strictest, never as open.
        let distribution = |id| match ledger.audience(id) {
            Some(a) => banner(&a.distribution),
            None => Banner {
                class: "tlp-red",
                label: "TLP: unknown".into(),
                meaning: "The label of this item is not known: treat it as TLP:RED.",
            },
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
                    banner: banner(strictest(&r.messages)),
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
