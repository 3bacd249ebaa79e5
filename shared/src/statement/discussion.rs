//! `position` and `message`: national position papers and signed threads.

use serde::{Deserialize, Serialize};

use super::text::{long_text, short_text};
use super::{StatementError, StatementId};

/// A `position` body: a signed national position paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub title: String,
    /// Markdown.
    pub text: String,
    /// A proposal or assessment the position is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<StatementId>,
}

impl Position {
    pub fn validate(&self) -> Result<(), StatementError> {
        short_text("title", &self.title, true)?;
        long_text("text", &self.text, true)
    }
}

/// A `message` body: one message in the thread attached to a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The statement the thread hangs off.
    pub thread: StatementId,
    pub text: String,
}

impl Message {
    pub fn validate(&self) -> Result<(), StatementError> {
        long_text("text", &self.text, true)
    }
}
