//! Printing results: one JSON value with `--json`, a human text otherwise.

use std::fmt::Display;
use std::io::Write;

use entente_shared::api::Receipt;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Hex digits of an id or digest shown in tables; enough to resolve as a prefix.
pub const SHORT: usize = 12;

/// Prints `value` as JSON, or the human form.
pub fn emit(json: bool, value: &Value, human: impl FnOnce() -> String) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        )
    } else {
        write!(out, "{}", human())
    }
}

/// Prints a list: with `--json`, one array whose items are the records'
/// JSON with an `id` field added (the record's statement id); otherwise a
/// table with one row per record.
pub fn emit_list<T: Serialize>(
    json: bool,
    items: &[T],
    id: impl Fn(&T) -> String,
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> std::io::Result<()> {
    emit(json, &records_json(items, id), || {
        let rows: Vec<Vec<String>> = items.iter().map(row).collect();
        table(headers, &rows)
    })
}

/// Records as a JSON array, each with an `id` field (added if the record's
/// own JSON has none, as folded records keep theirs under `meta`).
pub fn records_json<T: Serialize>(items: &[T], id: impl Fn(&T) -> String) -> Value {
    let values = items
        .iter()
        .map(|item| {
            let mut v = serde_json::to_value(item).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                map.entry("id").or_insert_with(|| json!(id(item)));
            }
            v
        })
        .collect();
    Value::Array(values)
}

/// Prints what a publishing command published: `{"id", "index", ..extra}`
/// with `--json`, else `done` and where it landed.
pub fn emit_published(
    json: bool,
    receipt: &Receipt,
    extra: Value,
    done: impl Display,
) -> std::io::Result<()> {
    let mut out = json!({ "id": receipt.id, "index": receipt.index });
    if let (Value::Object(out), Value::Object(extra)) = (&mut out, extra) {
        out.extend(extra);
    }
    emit(json, &out, || {
        format!(
            "{done}
id     {}
entry  {}
",
            receipt.id, receipt.index
        )
    })
}

/// A statement's TLP 2.0 marking as people read it: `TLP:AMBER (US, DE)`,
/// or `TLP:GREEN` (the shared [`Distribution::marking`](entente_shared::statement::Distribution::marking)).
pub fn marking(d: &entente_shared::statement::Distribution) -> String {
    d.marking()
}

/// The first [`SHORT`] characters of an id or digest.
pub fn short(id: &impl Display) -> String {
    id.to_string().chars().take(SHORT).collect()
}

/// "in 2d 3h", "in 40m", or "passed".
pub fn until(deadline: OffsetDateTime) -> String {
    let left = deadline - OffsetDateTime::now_utc();
    if left.is_negative() {
        return "passed".into();
    }
    let (d, h, m) = (
        left.whole_days(),
        left.whole_hours() % 24,
        left.whole_minutes() % 60,
    );
    match (d, h) {
        (0, 0) => format!("in {m}m"),
        (0, _) => format!("in {h}h {m}m"),
        _ => format!("in {d}d {h}h"),
    }
}

/// A time as RFC 3339 (the shared [`entente_shared::statement::timestamp`]).
pub fn timestamp(t: OffsetDateTime) -> String {
    entente_shared::statement::timestamp(t)
}

/// Formats rows as a left-aligned table under `headers`.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut s = line(headers.to_vec());
    for row in rows {
        s.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn records_get_an_id_unless_they_have_one() {
        let items = [json!({"meta": {"id": "a"}}), json!({"id": "b"})];
        let v = super::records_json(&items, |_| "x".into());
        assert_eq!(v, json!([{"meta": {"id": "a"}, "id": "x"}, {"id": "b"}]));
    }

    #[test]
    fn table_aligns_columns() {
        let t = super::table(
            &["code", "name"],
            &[
                vec!["CZ".into(), "Czech Republic".into()],
                vec!["NATO".into(), "x".into()],
            ],
        );
        assert_eq!(t, "code  name\nCZ    Czech Republic\nNATO  x\n");
    }
}
