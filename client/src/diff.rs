//! What changed between two texts, word by word: unchanged words as they
//! are, removed ones as `[-…-]`, added ones as `{+…+}` (as `wdiff` marks
//! them), each run of one kind of change marked once, so one changed clause
//! shows as itself, not as a replaced paragraph. [`runs`] gives the same
//! runs to whoever marks them otherwise (the web console's `<del>`/`<ins>`).

use similar::{ChangeTag, TextDiff};

/// One run of words that are all kept, all removed or all added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub change: Change,
    pub text: String,
}

/// What happened to a run of words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Kept,
    Removed,
    Added,
}

/// The runs of kept, removed and added words from `from` to `to`, in order.
pub fn runs(from: &str, to: &str) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for change in TextDiff::from_words(from, to).iter_all_changes() {
        let kind = match change.tag() {
            ChangeTag::Equal => Change::Kept,
            ChangeTag::Delete => Change::Removed,
            ChangeTag::Insert => Change::Added,
        };
        match runs.last_mut() {
            Some(run) if run.change == kind => run.text.push_str(change.value()),
            _ => runs.push(Run {
                change: kind,
                text: change.value().to_owned(),
            }),
        }
    }
    runs
}

/// See the module documentation.
pub fn words(from: &str, to: &str) -> String {
    runs(from, to)
        .into_iter()
        .map(|run| match run.change {
            Change::Kept => run.text,
            Change::Removed => format!("[-{}-]", run.text),
            Change::Added => format!("{{+{}+}}", run.text),
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
