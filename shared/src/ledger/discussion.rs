//! Position papers and message threads as folded.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::meta::EntryMeta;
use crate::statement::{Message, Position, StatementId};

/// A published position paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionPaper {
    pub meta: EntryMeta,
    pub title: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<StatementId>,
}

/// One message of a thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMessage {
    pub meta: EntryMeta,
    pub text: String,
}

/// Positions in log order, and threads by the statement they hang off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discussion {
    positions: BTreeMap<StatementId, PositionPaper>,
    order: Vec<StatementId>,
    threads: HashMap<StatementId, Vec<ThreadMessage>>,
}

impl Discussion {
    pub fn position(&self, id: &StatementId) -> Option<&PositionPaper> {
        self.positions.get(id)
    }

    /// Position papers in log order.
    pub fn positions(&self) -> impl Iterator<Item = &PositionPaper> {
        self.order.iter().filter_map(|id| self.positions.get(id))
    }

    /// The messages attached to `thread`, in log order.
    pub fn thread(&self, thread: &StatementId) -> &[ThreadMessage] {
        self.threads.get(thread).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every thread with its messages, in no particular order.
    pub fn threads(&self) -> impl Iterator<Item = (&StatementId, &[ThreadMessage])> {
        self.threads.iter().map(|(id, m)| (id, m.as_slice()))
    }

    pub fn apply_position(&mut self, meta: EntryMeta, p: Position) {
        let id = meta.id;
        self.order.push(id);
        self.positions.insert(
            id,
            PositionPaper {
                meta,
                title: p.title,
                text: p.text,
                subject: p.subject,
            },
        );
    }

    pub fn apply_message(&mut self, meta: EntryMeta, m: Message) {
        self.threads
            .entry(m.thread)
            .or_default()
            .push(ThreadMessage { meta, text: m.text });
    }
}
