//! Limits and checks on the free text inside statements.
//!
//! Every text field is bounded, so a statement's size is bounded by its
//! fields and not only by the server's byte limit.

use super::{err, StatementError};

/// Longest name, title, reason or other one-line text, in characters.
pub const MAX_SHORT_TEXT: usize = 500;
/// Longest Markdown body (proposal text, position paper, rationale), in bytes.
pub const MAX_LONG_TEXT: usize = 64 * 1024;
/// Most items in a list field (criteria, evidence, participants, mitigations).
pub const MAX_ITEMS: usize = 64;

/// A one-line text: no control characters, at most [`MAX_SHORT_TEXT`].
pub fn short_text(field: &str, text: &str, required: bool) -> Result<(), StatementError> {
    if required && text.trim().is_empty() {
        return Err(err(format!("{field} must not be empty")));
    }
    if text.chars().count() > MAX_SHORT_TEXT {
        return Err(err(format!(
            "{field} is longer than {MAX_SHORT_TEXT} characters"
        )));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(err(format!("{field} holds control characters")));
    }
    Ok(())
}

/// A multi-line text: newlines and tabs allowed, at most [`MAX_LONG_TEXT`] bytes.
pub fn long_text(field: &str, text: &str, required: bool) -> Result<(), StatementError> {
    if required && text.trim().is_empty() {
        return Err(err(format!("{field} must not be empty")));
    }
    if text.len() > MAX_LONG_TEXT {
        return Err(err(format!("{field} is longer than {MAX_LONG_TEXT} bytes")));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(err(format!("{field} holds control characters")));
    }
    Ok(())
}

/// A list of at most [`MAX_ITEMS`] items.
pub fn bounded_list<T>(field: &str, items: &[T], required: bool) -> Result<(), StatementError> {
    if required && items.is_empty() {
        return Err(err(format!("{field} must not be empty")));
    }
    if items.len() > MAX_ITEMS {
        return Err(err(format!("{field} has more than {MAX_ITEMS} items")));
    }
    Ok(())
}
