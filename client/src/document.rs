//! A declaration as a document: Markdown for the terminal and for
//! minutes, or a small self-contained HTML page to circulate.
//!
//! Everything in a declaration except its numbers was written by some
//! delegation, so in HTML every piece of text is escaped; the adopted text
//! itself is shown as preformatted text, exactly as signed, rather than
//! rendered from Markdown, so what a reader sees is what was endorsed.

use entente_shared::ledger::Declaration;
use entente_shared::statement::{AdoptionRule, Tlp};

use crate::output::{marking, timestamp};

/// The TLP 2.0 banner: the marking, what it allows, and its colour (TLP
/// 2.0 colours, on black).
fn banner(d: &Declaration) -> (String, &'static str, &'static str) {
    let (meaning, colour) = match d.distribution.tlp {
        Tlp::Clear => ("Recipients can spread this to the world; there is no limit on disclosure.", "#FFFFFF"),
        Tlp::Green => ("Limited disclosure: recipients can spread this within their community.", "#33FF00"),
        Tlp::Amber => ("Limited disclosure: recipients can only spread this on a need-to-know basis within their organisation and its clients.", "#FFC000"),
        Tlp::AmberStrict => ("Limited disclosure: recipients can only spread this on a need-to-know basis within their organisation.", "#FFC000"),
        Tlp::Red => ("For the eyes and ears of individual recipients only; no further disclosure.", "#FF2B2B"),
    };
    (marking(&d.distribution), meaning, colour)
}

/// A declaration's facts, as label–value lines both formats share.
fn facts(d: &Declaration) -> Vec<(&'static str, String)> {
    let list = |codes: &[_]| {
        codes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<String>>()
            .join(", ")
    };
    vec![
        ("Declaration", d.id.to_string()),
        ("Proposed by", d.proposer.to_string()),
        ("Participants", list(&d.participants)),
        ("Adoption rule", d.rule.to_string()),
        (
            "Adopted",
            format!(
                "{} (log entry {})",
                timestamp(d.adopted_at),
                d.adopted_index
            ),
        ),
        (
            "Text",
            format!("revision {}, digest {}", d.revision_number, d.revision),
        ),
    ]
}

/// The declaration as Markdown.
pub fn markdown(d: &Declaration) -> String {
    let (mark, meaning, _) = banner(d);
    let mut s = format!("**{mark}** — {meaning}\n\n# {}\n\n", d.title);
    for (label, value) in facts(d) {
        s.push_str(&format!("- **{label}:** {value}\n"));
    }
    s.push_str("\n---\n\n");
    s.push_str(d.text.trim_end());
    s.push_str("\n\n---\n\n## Signatories\n\n");
    if d.signatories.is_empty() {
        s.push_str(&format!("{}\n", no_signatories(d)));
    }
    for sig in &d.signatories {
        s.push_str(&format!(
            "- **{}** — key `{}`, endorsement `{}` (log entry {})\n",
            sig.delegation, sig.key_id, sig.statement, sig.index
        ));
        if let Some(r) = &sig.reservation {
            s.push_str(&format!("  - Reservation: {}\n", indent(r, "    ")));
        }
    }
    if !d.objections.is_empty() {
        s.push_str("\n## Objections\n\n");
        for (code, reason) in &d.objections {
            s.push_str(&format!("- **{code}:** {}\n", indent(reason, "  ")));
        }
    }
    if !d.abstentions.is_empty() {
        let codes: Vec<String> = d.abstentions.iter().map(ToString::to_string).collect();
        s.push_str(&format!("\n## Abstentions\n\n{}\n", codes.join(", ")));
    }
    s
}

/// Continuation lines of a multi-line text indented to stay in its list item.
fn indent(text: &str, pad: &str) -> String {
    text.trim().replace('\n', &format!("\n{pad}"))
}

/// What stands in the signatory block when nobody endorsed.
fn no_signatories(d: &Declaration) -> &'static str {
    if d.rule == AdoptionRule::Silence {
        "None needed: adopted by silence procedure, no participant having objected before the deadline."
    } else {
        "None."
    }
}

/// The declaration as a self-contained HTML document.
pub fn html(d: &Declaration) -> String {
    let e = escape;
    let mut s =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str(&format!("<title>{}</title>\n", e(&d.title)));
    s.push_str(
        "<style>body{font-family:serif;max-width:46em;margin:2em auto;padding:0 1em}\
         pre.text{white-space:pre-wrap;font-family:serif;font-size:1.05em;border-top:1px solid #888;\
         border-bottom:1px solid #888;padding:1em 0}dt{font-weight:bold}code{font-size:.85em}\
         td,th{text-align:left;padding:.2em .6em;vertical-align:top}</style>\n</head>\n<body>\n",
    );
    let (mark, meaning, colour) = banner(d);
    s.push_str(&format!(
        "<p class=\"tlp\" style=\"background:#000;color:{colour};padding:.3em .6em;font-family:sans-serif\"><strong>{}</strong> — {}</p>\n",
        e(&mark),
        e(meaning)
    ));
    s.push_str(&format!("<h1>{}</h1>\n<dl>\n", e(&d.title)));
    for (label, value) in facts(d) {
        s.push_str(&format!("<dt>{label}</dt><dd>{}</dd>\n", e(&value)));
    }
    s.push_str("</dl>\n");
    s.push_str(&format!(
        "<pre class=\"text\">{}</pre>\n",
        e(d.text.trim_end())
    ));
    s.push_str("<h2>Signatories</h2>\n");
    if d.signatories.is_empty() {
        s.push_str(&format!("<p>{}</p>\n", e(no_signatories(d))));
    } else {
        s.push_str("<table>\n<tr><th>Delegation</th><th>Key</th><th>Signed endorsement</th><th>Reservation</th></tr>\n");
    }
    for sig in &d.signatories {
        s.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code> (entry {})</td><td>{}</td></tr>\n",
            e(sig.delegation.as_str()),
            e(&sig.key_id.to_string()),
            e(&sig.statement.to_string()),
            sig.index,
            e(sig.reservation.as_deref().unwrap_or(""))
        ));
    }
    if !d.signatories.is_empty() {
        s.push_str("</table>\n");
    }
    if !d.objections.is_empty() {
        s.push_str("<h2>Objections</h2>\n<ul>\n");
        for (code, reason) in &d.objections {
            s.push_str(&format!(
                "<li><b>{}</b>: {}</li>\n",
                e(code.as_str()),
                e(reason)
            ));
        }
        s.push_str("</ul>\n");
    }
    if !d.abstentions.is_empty() {
        let codes: Vec<String> = d.abstentions.iter().map(ToString::to_string).collect();
        s.push_str(&format!(
            "<h2>Abstentions</h2>\n<p>{}</p>\n",
            e(&codes.join(", "))
        ));
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use entente_shared::keys::SigningKey;
    use entente_shared::ledger::Signatory;
    use entente_shared::statement::{StatementId, TextDigest};

    use super::*;

    fn declaration(title: &str, text: &str, reservation: &str) -> Declaration {
        let (key, _) = SigningKey::generate().unwrap();
        Declaration {
            id: StatementId::of_payload(b"p"),
            proposal_index: 3,
            title: title.into(),
            proposer: "US".parse().unwrap(),
            distribution: entente_shared::statement::Distribution {
                tlp: Tlp::Amber,
                to: vec!["CZ".parse().unwrap()],
            },
            revision: TextDigest::of(text),
            revision_number: 1,
            text: text.into(),
            rule: AdoptionRule::Unanimous,
            adopted_index: 9,
            adopted_at: time::macros::datetime!(2020-05-06 12:00 UTC),
            participants: vec!["US".parse().unwrap(), "CZ".parse().unwrap()],
            signatories: vec![Signatory {
                delegation: "CZ".parse().unwrap(),
                key_id: key.key_id(),
                reservation: Some(reservation.into()),
                statement: StatementId::of_payload(b"e"),
                index: 8,
            }],
            objections: BTreeMap::from([("US".parse().unwrap(), "no <b>".to_string())]),
            abstentions: vec![],
        }
    }

    #[test]
    fn escaping_covers_the_five_specials() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("Čeština"), "Čeština");
    }

    #[test]
    fn html_escapes_every_delegation_written_text() {
        let d = declaration(
            "<script>alert(1)</script>",
            "Text with </pre><img src=x onerror=alert(2)>",
            "R & \"D\"",
        );
        let h = html(&d);
        assert!(!h.contains("<script>") && !h.contains("<img"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(h.contains("&lt;/pre&gt;&lt;img"));
        assert!(h.contains("R &amp; &quot;D&quot;"));
        assert!(h.contains("no &lt;b&gt;"));
        assert!(h.contains(&d.signatories[0].statement.to_string()));
        assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
    }

    #[test]
    fn markdown_names_each_signatory_with_its_endorsement() {
        let d = declaration("Principles", "We agree.\n", "first line\nsecond line");
        let m = markdown(&d);
        let sig = &d.signatories[0];
        assert!(m.contains(&format!(
            "- **CZ** — key `{}`, endorsement `{}` (log entry 8)",
            sig.key_id, sig.statement
        )));
        assert!(
            m.contains("  - Reservation: first line\n    second line\n"),
            "{m}"
        );
        assert!(m.contains("## Objections\n\n- **US:** no <b>\n"));
        assert!(m.contains("- **Adoption rule:** unanimous\n"));
    }

    #[test]
    fn both_formats_carry_the_tlp_banner() {
        let d = declaration("T", "x", "r");
        assert!(markdown(&d).starts_with("**TLP:AMBER (CZ)** — Limited disclosure"));
        let h = html(&d);
        assert!(h.contains("color:#FFC000"), "{h}");
        assert!(h.contains("<strong>TLP:AMBER (CZ)</strong>"), "{h}");
    }

    #[test]
    fn silence_needs_no_signatories() {
        let mut d = declaration("Notice", "x", "r");
        d.rule = AdoptionRule::Silence;
        d.signatories.clear();
        assert!(markdown(&d).contains("## Signatories\n\nNone needed: adopted by silence"));
        let h = html(&d);
        assert!(h.contains("<p>None needed: adopted by silence") && !h.contains("<table>"));
    }
}
