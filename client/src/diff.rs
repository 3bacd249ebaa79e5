//! What changed between two texts, word by word: unchanged words as they
//! are, removed ones as `[-…-]`, added ones as `{+…+}` (as `wdiff` marks
//! them), each run of one kind of change marked once, so one changed clause
//! shows as itself, not as a replaced paragraph.

use similar::{ChangeTag, TextDiff};

/// See the module documentation.
pub fn words(from: &str, to: &str) -> String {
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for change in TextDiff::from_words(from, to).iter_all_changes() {
        match runs.last_mut() {
            Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_owned())),
        }
    }
    runs.into_iter()
        .map(|(tag, text)| match tag {
            ChangeTag::Equal => text,
            ChangeTag::Delete => format!("[-{text}-]"),
            ChangeTag::Insert => format!("{{+{text}+}}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_changed_is_marked_once_per_run() {
        assert_eq!(words("a\nb\nc\n", "a\nB\nc\n"), "a\n[-b-]{+B+}\nc\n");
        assert_eq!(
            words("the quick fox", "the slow brown fox"),
            "the [-quick-]{+slow brown+} fox"
        );
        assert_eq!(words("same", "same"), "same");
    }
}
