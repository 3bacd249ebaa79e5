//! What awaits one delegation, from its own fold (`entente inbox`): the
//! proposals where its position on the current revision is missing, soonest
//! deadline first, the pending amendments to its own proposals, and the replies by others in threads it took part in
//! since it last wrote there. Computed from what the delegation may read
//! only, like every view.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ledger::{AmendmentStatus, EntryMeta, Ledger, Status};
use crate::statement::{AdoptionRule, DelegationCode, StatementId, TextDigest};
use crate::visibility::Reader;

use super::{proposals, visible};

/// A proposal waiting for this delegation's position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitingPosition {
    pub proposal: StatementId,
    pub title: String,
    /// The current revision: its number and digest, what a position names.
    pub revision: u32,
    pub digest: TextDigest,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    pub rule: AdoptionRule,
}

/// A pending amendment to one of this delegation's proposals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAmendment {
    pub proposal: StatementId,
    pub title: String,
    pub amendment: StatementId,
    pub author: DelegationCode,
    pub note: String,
}

/// Messages by others in a thread this delegation took part in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replies {
    pub thread: StatementId,
    /// The log index of this delegation's last message there; `None` when it
    /// took part by writing the statement the thread hangs off, and every
    /// message by others counts.
    pub since: Option<u64>,
    /// The replies, in log order.
    pub messages: Vec<EntryMeta>,
}

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub awaiting_position: Vec<AwaitingPosition>,
    /// Amendments to this delegation's open proposals, awaiting its decision.
    pub amendments: Vec<PendingAmendment>,
    pub replies: Vec<Replies>,
}

impl Inbox {
    pub fn is_empty(&self) -> bool {
        self.awaiting_position.is_empty() && self.amendments.is_empty() && self.replies.is_empty()
    }
}

/// The inbox of `me`, reading as `reader`, at `now` (a proposal whose
/// deadline has passed awaits nothing more, even before the fold closes it).
pub fn inbox(ledger: &Ledger, reader: &Reader, me: &DelegationCode, now: OffsetDateTime) -> Inbox {
    let mut awaiting: Vec<AwaitingPosition> = proposals(ledger, reader)
        .into_iter()
        .map(|v| v.record)
        .filter(|rec| rec.status == Status::Open && rec.deadline > now)
        .filter(|rec| rec.participants.contains(me))
        .filter(|rec| !rec.positions_on(&rec.current().digest).contains_key(me))
        .map(|rec| {
            let current = rec.current();
            AwaitingPosition {
                proposal: rec.meta.id,
                title: rec.title.clone(),
                revision: current.number,
                digest: current.digest,
                deadline: rec.deadline,
                rule: rec.rule,
            }
        })
        .collect();
    awaiting.sort_by_key(|a| (a.deadline, a.proposal));

    let amendments = proposals(ledger, reader)
        .into_iter()
        .map(|v| v.record)
        .filter(|rec| rec.status == Status::Open && rec.deadline > now && &rec.meta.author == me)
        .flat_map(|rec| {
            rec.amendments
                .iter()
                // Pending here and undecided by every fold's reckoning (a
                // revision this fold found invalid still decided it).
                .filter(|a| {
                    a.status == AmendmentStatus::Pending
                        && ledger.amendment_decided(&a.meta.id).is_none()
                })
                .map(|a| PendingAmendment {
                    proposal: rec.meta.id,
                    title: rec.title.clone(),
                    amendment: a.meta.id,
                    author: a.meta.author,
                    note: a.note.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect();

    let mut replies = Vec::new();
    for (thread, messages) in ledger.discussion().threads() {
        let Some(root) = ledger.audience(thread) else {
            continue;
        };
        if !root.readable_by(reader) {
            continue;
        }
        let readable: Vec<&EntryMeta> = messages
            .iter()
            .map(|m| &m.meta)
            .filter(|m| visible(reader, m))
            .collect();
        let since = readable
            .iter()
            .rev()
            .find(|m| &m.author == me)
            .map(|m| m.index);
        if since.is_none() && &root.author != me {
            continue;
        }
        let new: Vec<EntryMeta> = readable
            .into_iter()
            .filter(|m| since.is_none_or(|s| m.index > s) && &m.author != me)
            .cloned()
            .collect();
        if !new.is_empty() {
            replies.push(Replies {
                thread: *thread,
                since,
                messages: new,
            });
        }
    }
    // The thread with the newest reply first.
    replies.sort_by_key(|r| std::cmp::Reverse(r.messages.last().map(|m| m.index)));
    Inbox {
        awaiting_position: awaiting,
        amendments,
        replies,
    }
}
