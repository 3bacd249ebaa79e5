//! Printing results: one JSON value with `--json`, a human text otherwise.

use std::io::Write;

use serde_json::Value;

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
