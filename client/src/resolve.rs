//! Statement ids as people type them: the full 64 hex digits, or a prefix.
//!
//! A prefix must be at least [`MIN_PREFIX`] hex digits — short enough to
//! type, long enough that a collision among one log's records is unlikely —
//! and must match exactly one candidate from the relevant list; an unknown or
//! ambiguous prefix is an error, never a guess, because the id decides what
//! a delegation signs.

use entente_shared::statement::StatementId;

use crate::error::{fail, CliResult};

/// Fewest hex digits accepted as a prefix.
pub const MIN_PREFIX: usize = 8;

/// How many candidates an ambiguity error names.
const SHOWN: usize = 5;

/// A full id as is; otherwise the one id among `candidates()` that starts
/// with the prefix. `candidates` is only called for a prefix, so a full id
/// costs no list request. `what` names the kind of record in errors.
pub fn statement_id<I>(
    arg: &str,
    what: &str,
    candidates: impl FnOnce() -> CliResult<I>,
) -> CliResult<StatementId>
where
    I: IntoIterator<Item = StatementId>,
{
    let prefix = normalise(arg, what)?;
    if prefix.len() == 64 {
        return prefix.parse().map_err(fail);
    }
    unique(&prefix, what, candidates()?)
}

/// Checks `arg` is a plausible id or prefix; lowercases it.
fn normalise(arg: &str, what: &str) -> CliResult<String> {
    let s = arg.trim().to_ascii_lowercase();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail(format!(
            "{what} {arg:?}: give its id, 64 hex digits or a prefix of at least {MIN_PREFIX}"
        )));
    }
    if s.len() < MIN_PREFIX {
        return Err(fail(format!(
            "{what} {arg:?}: an id prefix needs at least {MIN_PREFIX} hex digits"
        )));
    }
    if s.len() > 64 {
        return Err(fail(format!(
            "{what} {arg:?}: a statement id has 64 hex digits"
        )));
    }
    Ok(s)
}

/// The one candidate starting with `prefix`.
fn unique(
    prefix: &str,
    what: &str,
    candidates: impl IntoIterator<Item = StatementId>,
) -> CliResult<StatementId> {
    let mut found: Vec<StatementId> = candidates
        .into_iter()
        .filter(|id| id.to_string().starts_with(prefix))
        .collect();
    found.sort();
    found.dedup();
    match found.as_slice() {
        [] => Err(fail(format!("no {what} has an id starting with {prefix}"))),
        [one] => Ok(*one),
        many => {
            let shown: Vec<String> = many.iter().take(SHOWN).map(|id| id.to_string()).collect();
            Err(fail(format!(
                "{prefix} is ambiguous: {} {what}s start with it ({}{}); give more digits",
                many.len(),
                shown.join(", "),
                if many.len() > SHOWN { ", …" } else { "" }
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(hex_prefix: &str) -> StatementId {
        format!("{hex_prefix:0<64}").parse().unwrap()
    }

    fn resolve(arg: &str, ids: &[StatementId]) -> CliResult<StatementId> {
        statement_id(arg, "proposal", || Ok(ids.to_vec()))
    }

    #[test]
    fn a_full_id_needs_no_list() {
        let full = id("ab").to_string();
        let got = statement_id(&full, "proposal", || -> CliResult<Vec<StatementId>> {
            panic!("listed")
        });
        assert_eq!(got.unwrap(), id("ab"));
        // Upper case is accepted and means the same id.
        assert_eq!(resolve(&full.to_uppercase(), &[]).unwrap(), id("ab"));
    }

    #[test]
    fn a_unique_prefix_resolves() {
        let ids = [id("deadbeef01"), id("deadbeef02"), id("cafebabe")];
        assert_eq!(resolve("deadbeef01", &ids).unwrap(), ids[0]);
        assert_eq!(resolve("CAFEBABE", &ids).unwrap(), ids[2]);
    }

    #[test]
    fn unknown_ambiguous_short_or_garbage_prefixes_are_refused() {
        let ids = [id("deadbeef01"), id("deadbeef02")];
        let e = resolve("deadbeef", &ids).unwrap_err().to_string();
        assert!(e.contains("ambiguous") && e.contains("2 proposals"), "{e}");
        let e = resolve("0123456789", &ids).unwrap_err().to_string();
        assert!(e.contains("no proposal"), "{e}");
        let e = resolve("deadbee", &ids).unwrap_err().to_string();
        assert!(e.contains("at least 8"), "{e}");
        let e = resolve("not-an-id", &ids).unwrap_err().to_string();
        assert!(e.contains("64 hex digits"), "{e}");
        let e = resolve(&"a".repeat(65), &ids).unwrap_err().to_string();
        assert!(e.contains("64 hex digits"), "{e}");
    }
}
