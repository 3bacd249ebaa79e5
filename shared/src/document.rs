//! A declaration as a document people sign and circulate: Markdown for the
//! terminal and for minutes, or a self-contained, printable HTML page.
//!
//! The page reads as a declaration, not as a receipt: the TLP banner at the
//! top and the foot, the title, the adopted text rendered from its Markdown,
//! a "For the Government of …" block per signatory with the delegation's
//! full name, when it signed and its reservation, then objections and
//! abstentions, and the verification data (key ids, statement ids, digest,
//! log entries) in an annex that prints on a page of its own.
//!
//! Everything in a declaration except its numbers was written by some
//! delegation, so every piece of text is escaped. The adopted text is
//! rendered by pulldown-cmark with raw HTML shown as text, not passed
//! through; links keep only `http`, `https` and `mailto` targets, and images
//! show their description: nothing in a text can run, load or hide anything.
//!
//! The page carries no `style` attribute and no script: its one stylesheet is
//! [`STYLE`], so a host serving it can forbid everything else with a
//! Content-Security-Policy naming that stylesheet by hash
//! ([`style_csp_hash`]). The CLI (`entente declaration show`) and the log
//! host's public register render with this one renderer.

use std::collections::BTreeMap;

use pulldown_cmark::{Alignment, Event, Options, Parser, Tag, TagEnd};
use time::OffsetDateTime;

use crate::ledger::{Declaration, Ledger};
use crate::statement::{timestamp, AdoptionRule, DelegationCode, Distribution, StatementId, Tlp};
use crate::views;
use crate::visibility::{may_read, Reader};

/// What the roster and the log add to a declaration for its readers: each
/// delegation's full name, and when each endorsement was signed.
#[derive(Clone, Debug, Default)]
pub struct Parties {
    pub names: BTreeMap<DelegationCode, String>,
    pub signed_at: BTreeMap<StatementId, OffsetDateTime>,
}

impl Parties {
    /// The parties of `d` as `reader` sees them in `ledger`: the full names
    /// of its participants and proposer from the roster, and when each
    /// position on the proposal `reader` may read was signed (its
    /// `issued_at`).
    ///
    /// The names come from admissions, which are GREEN like the roster: a
    /// reader who may not read GREEN (an anonymous reader of the public
    /// register) gets the codes alone.
    pub fn of(ledger: &Ledger, reader: &Reader, d: &Declaration) -> Parties {
        let roster_readable = may_read(reader, &d.proposer, &Distribution::green());
        let names = d
            .participants
            .iter()
            .chain([&d.proposer])
            .filter(|_| roster_readable)
            .filter_map(|c| Some((*c, ledger.roster().delegation(c)?.name.clone())))
            .collect();
        let signed_at = ledger
            .proposals()
            .get(&d.id)
            .and_then(|rec| views::proposal_record(rec, reader))
            .map(|rec| {
                rec.positions
                    .iter()
                    .map(|p| (p.meta.id, p.meta.issued_at))
                    .collect()
            })
            .unwrap_or_default();
        Parties { names, signed_at }
    }

    /// "Czech Republic (CZ)", or the code alone when the name is unknown.
    pub fn name(&self, code: &DelegationCode) -> String {
        match self.names.get(code) {
            Some(name) if !name.is_empty() && name != code.as_str() => format!("{name} ({code})"),
            _ => code.to_string(),
        }
    }

    /// Several parties' names, comma-separated.
    pub fn names(&self, codes: &[DelegationCode]) -> String {
        codes
            .iter()
            .map(|c| self.name(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The TLP 2.0 banner: the marking, what it allows, and the class giving
/// its colour in [`STYLE`] (TLP 2.0 colours, on black).
fn banner(d: &Declaration) -> (String, &'static str, &'static str) {
    let (meaning, class) = tlp_meaning_and_class(d.distribution.tlp);
    (d.distribution.marking(), meaning, class)
}

/// What a TLP 2.0 label allows, in the standard's words, and the CSS class
/// of its colour (`tlp-clear`, `tlp-green`, `tlp-amber`, `tlp-red`).
pub fn tlp_meaning_and_class(tlp: Tlp) -> (&'static str, &'static str) {
    match tlp {
        Tlp::Clear => ("Recipients can spread this to the world; there is no limit on disclosure.", "tlp-clear"),
        Tlp::Green => ("Limited disclosure: recipients can spread this within their community.", "tlp-green"),
        Tlp::Amber => ("Limited disclosure: recipients can only spread this on a need-to-know basis within their organisation and its clients.", "tlp-amber"),
        Tlp::AmberStrict => ("Limited disclosure: recipients can only spread this on a need-to-know basis within their organisation.", "tlp-amber"),
        Tlp::Red => ("For the eyes and ears of individual recipients only; no further disclosure.", "tlp-red"),
    }
}

/// A time as a signed document gives it: `6 May 2020, 12:00 UTC`.
pub fn human_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {} {}, {:02}:{:02} UTC",
        t.day(),
        t.month(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// "Adopted on … under the … rule by the participants …".
fn adoption(d: &Declaration, p: &Parties) -> String {
    format!(
        "Adopted on {} by {}. Proposed by {}; participants: {}.",
        human_time(d.adopted_at),
        rule(d.rule),
        p.name(&d.proposer),
        p.names(&d.participants)
    )
}

/// An adoption rule in words: "unanimity", "the endorsement of at least 2
/// participants", "the silence procedure".
pub fn rule(rule: AdoptionRule) -> String {
    match rule {
        AdoptionRule::Unanimous => "unanimity".to_owned(),
        AdoptionRule::Threshold(n) => format!("the endorsement of at least {n} participants"),
        AdoptionRule::Fraction(a, b) => format!("the endorsement of {a}/{b} of the participants"),
        AdoptionRule::Silence => "the silence procedure".to_owned(),
    }
}

/// The verification data, as label–value lines both formats share.
fn annex(d: &Declaration) -> Vec<(String, String)> {
    let mut rows = vec![
        (
            "Declaration (proposal statement)".to_owned(),
            d.id.to_string(),
        ),
        (
            "Proposal log entry".to_owned(),
            d.proposal_index.to_string(),
        ),
        (
            "Adopted at log entry".to_owned(),
            format!("{} ({})", d.adopted_index, timestamp(d.adopted_at)),
        ),
        (
            "Adopted text".to_owned(),
            format!("revision {}, SHA-256 {}", d.revision_number, d.revision),
        ),
    ];
    for sig in &d.signatories {
        rows.push((
            format!("Endorsement by {}", sig.delegation),
            format!(
                "statement {}, log entry {}, key {}",
                sig.statement, sig.index, sig.key_id
            ),
        ));
    }
    rows
}

/// When a signatory signed, if known.
fn signed(p: &Parties, statement: &StatementId) -> String {
    p.signed_at
        .get(statement)
        .map(|t| format!("signed {}", human_time(*t)))
        .unwrap_or_else(|| "signed".into())
}

/// The declaration as Markdown.
pub fn markdown(d: &Declaration, p: &Parties) -> String {
    let (mark, meaning, _) = banner(d);
    let mut s = format!("**{mark}** — {meaning}\n\n# {}\n\n", d.title);
    s.push_str(&format!("*{}*\n\n---\n\n", adoption(d, p)));
    s.push_str(d.text.trim_end());
    s.push_str("\n\n---\n\n## Signatures\n\n");
    if d.signatories.is_empty() {
        s.push_str(&format!("{}\n", no_signatories(d)));
    }
    for sig in &d.signatories {
        s.push_str(&format!(
            "- **For the Government of {}** — {}\n",
            p.name(&sig.delegation),
            signed(p, &sig.statement)
        ));
        if let Some(r) = &sig.reservation {
            s.push_str(&format!("  - Reservation: {}\n", indent(r, "    ")));
        }
    }
    if !d.objections.is_empty() {
        s.push_str("\n## Objections\n\n");
        for (code, reason) in &d.objections {
            s.push_str(&format!(
                "- **{}:** {}\n",
                p.name(code),
                indent(reason, "  ")
            ));
        }
    }
    if !d.abstentions.is_empty() {
        s.push_str(&format!(
            "\n## Abstentions\n\n{}\n",
            p.names(&d.abstentions)
        ));
    }
    s.push_str("\n## Annex: verification data\n\n");
    for (label, value) in annex(d) {
        s.push_str(&format!("- {label}: `{value}`\n"));
    }
    s.push_str(&format!("\n**{mark}**\n"));
    s
}

/// Continuation lines of a multi-line text indented to stay in its list item.
fn indent(text: &str, pad: &str) -> String {
    text.trim().replace('\n', &format!("\n{pad}"))
}

/// What stands in the signatory block when nobody endorsed.
pub fn no_signatories(d: &Declaration) -> &'static str {
    if d.rule == AdoptionRule::Silence {
        "None needed: adopted by silence procedure, no participant having objected before the deadline."
    } else {
        "None."
    }
}

/// The adopted text rendered from Markdown, safely: raw HTML as text, links
/// to `http(s)`/`mailto` only, images as their description, tables without
/// column alignment (which pulldown-cmark writes as `style` attributes).
fn render_text(markdown: &str) -> String {
    let mut skipping_image = 0u32;
    let events = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Table(alignments)) => Some(Event::Start(Tag::Table(vec![
            Alignment::None;
            alignments
                .len()
        ]))),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            // An e-mail autolink (`<a@b.example>`) carries the bare address;
            // the renderer adds `mailto:` to it.
            let allowed = link_type == pulldown_cmark::LinkType::Email
                || ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|p| dest_url.to_ascii_lowercase().starts_with(p));
            let dest_url = if allowed { dest_url } else { "".into() };
            Some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::Start(Tag::Image { .. }) => {
            skipping_image += 1;
            None
        }
        Event::End(TagEnd::Image) => {
            skipping_image = skipping_image.saturating_sub(1);
            None
        }
        other => Some(other),
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// The print and screen style of the page: the only style it has (no
/// `style` attributes), so a Content-Security-Policy can allow exactly this
/// text by its hash ([`style_csp_hash`]). The TLP banner's colour is its
/// label's class (`tlp-clear`, `tlp-green`, `tlp-amber`, `tlp-red`).
pub const STYLE: &str = "\
body{font-family:Georgia,'Times New Roman',serif;max-width:44em;margin:0 auto;padding:1.5em;color:#111;line-height:1.5}\
.tlp{background:#000;padding:.35em .7em;font-family:Helvetica,Arial,sans-serif;font-size:.9em}\
.tlp-clear{color:#FFFFFF}.tlp-green{color:#33FF00}.tlp-amber{color:#FFC000}.tlp-red{color:#FF2B2B}\
h1{font-size:1.9em;margin:.8em 0 .2em;text-align:center}\
.adopted{text-align:center;font-style:italic;color:#333;margin-bottom:1.5em}\
.text{border-top:1px solid #999;border-bottom:1px solid #999;padding:1em 0;font-size:1.05em}\
.signatures{display:grid;grid-template-columns:1fr 1fr;gap:1.2em 2em;margin:1.5em 0}\
.signature{border-top:1px solid #333;padding-top:.4em;break-inside:avoid}\
.signature .for{font-weight:bold}.signature .when{color:#444;font-size:.9em}\
.reservation{margin:.3em 0 0;padding:.3em .6em;background:#f4f1e8;border-left:3px solid #b59a52;font-size:.95em}\
.annex{margin-top:3em;font-size:.8em;color:#333}\
.annex td{padding:.15em .6em;vertical-align:top}.annex td.v{font-family:monospace;word-break:break-all}\
@page{margin:2cm}\
@media print{body{max-width:none;padding:0}.annex{break-before:page}.tlp{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/// A CSP source allowing the stylesheet `css` (the exact text between
/// `<style>` and `</style>`): `'sha256-<base64 of its SHA-256>'`.
pub fn csp_style_source(css: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, css.as_bytes());
    format!("'sha256-{}'", crate::b64::encode(digest.as_ref()))
}

/// The CSP source allowing [`STYLE`], for `style-src`: a host serving
/// [`html`] can send `Content-Security-Policy: default-src 'none';
/// style-src <this>; …` and the page still looks as it should.
pub fn style_csp_hash() -> String {
    csp_style_source(STYLE)
}

/// The declaration as a self-contained HTML document.
pub fn html(d: &Declaration, p: &Parties) -> String {
    let e = escape;
    let (mark, meaning, class) = banner(d);
    let tlp = format!(
        "<p class=\"tlp {class}\"><strong>{}</strong> — {}</p>\n",
        e(&mark),
        e(meaning)
    );
    let mut s =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str(&format!("<title>{}</title>\n", e(&d.title)));
    s.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    s.push_str(&tlp);
    s.push_str(&format!("<h1>{}</h1>\n", e(&d.title)));
    s.push_str(&format!(
        "<p class=\"adopted\">{}</p>\n",
        e(&adoption(d, p))
    ));
    s.push_str(&format!(
        "<article class=\"text\">\n{}</article>\n",
        render_text(d.text.trim_end())
    ));
    s.push_str("<h2>Signatures</h2>\n");
    if d.signatories.is_empty() {
        s.push_str(&format!("<p>{}</p>\n", e(no_signatories(d))));
    } else {
        s.push_str("<div class=\"signatures\">\n");
        for sig in &d.signatories {
            s.push_str(&format!(
                "<div class=\"signature\"><div class=\"for\">For the Government of {}</div><div class=\"when\">{}</div>",
                e(&p.name(&sig.delegation)),
                e(&signed(p, &sig.statement))
            ));
            if let Some(r) = &sig.reservation {
                s.push_str(&format!(
                    "<p class=\"reservation\"><strong>Reservation:</strong> {}</p>",
                    e(r)
                ));
            }
            s.push_str("</div>\n");
        }
        s.push_str("</div>\n");
    }
    if !d.objections.is_empty() {
        s.push_str("<h2>Objections</h2>\n<ul>\n");
        for (code, reason) in &d.objections {
            s.push_str(&format!(
                "<li><b>{}</b>: {}</li>\n",
                e(&p.name(code)),
                e(reason)
            ));
        }
        s.push_str("</ul>\n");
    }
    if !d.abstentions.is_empty() {
        s.push_str(&format!(
            "<h2>Abstentions</h2>\n<p>{}</p>\n",
            e(&p.names(&d.abstentions))
        ));
    }
    s.push_str("<section class=\"annex\">\n<h2>Annex: verification data</h2>\n<p>Every item below can be checked offline from the log's public keys (<code>entente archive verify</code>).</p>\n<table>\n");
    for (label, value) in annex(d) {
        s.push_str(&format!(
            "<tr><td>{}</td><td class=\"v\">{}</td></tr>\n",
            e(&label),
            e(&value)
        ));
    }
    s.push_str("</table>\n</section>\n");
    s.push_str(&tlp);
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

    use crate::keys::SigningKey;
    use crate::ledger::Signatory;
    use crate::statement::{StatementId, TextDigest};

    use super::*;

    fn declaration(title: &str, text: &str, reservation: &str) -> Declaration {
        let (key, _) = SigningKey::generate().unwrap();
        Declaration {
            id: StatementId::of_payload(b"p"),
            proposal_index: 3,
            title: title.into(),
            proposer: "US".parse().unwrap(),
            distribution: crate::statement::Distribution {
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

    fn parties() -> Parties {
        Parties {
            names: BTreeMap::from([
                ("CZ".parse().unwrap(), "Czech Republic".to_string()),
                ("US".parse().unwrap(), "United States".to_string()),
            ]),
            signed_at: BTreeMap::from([(
                StatementId::of_payload(b"e"),
                time::macros::datetime!(2020-05-06 11:00 UTC),
            )]),
        }
    }

    #[test]
    fn html_escapes_every_delegation_written_text() {
        let d = declaration(
            "<script>alert(1)</script>",
            "Text with </pre><img src=x onerror=alert(2)> and <script>x</script>\n\n[click](javascript:alert(3)) ![pic](http://evil/x.png)",
            "R & \"D\"",
        );
        let h = html(&d, &parties());
        for bad in [
            "<script>",
            "<img",
            "javascript:",
            "evil/x.png",
            "onerror=alert(2)>",
        ] {
            assert!(!h.contains(bad), "{bad} in {h}");
        }
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(h.contains("&lt;img src=x onerror=alert(2)&gt;"), "{h}");
        assert!(h.contains("R &amp; &quot;D&quot;"));
        assert!(h.contains("no &lt;b&gt;"));
        assert!(h.contains(&d.signatories[0].statement.to_string()));
        assert!(h.starts_with("<!DOCTYPE html>") && h.ends_with("</html>\n"));
    }

    #[test]
    fn email_autolinks_keep_their_address() {
        let d = declaration("t", "Write to <secretariat@gov.example>.", "");
        let h = html(&d, &parties());
        assert!(h.contains("href=\"mailto:secretariat@gov.example\""), "{h}");
    }

    #[test]
    fn html_reads_as_a_declaration_with_an_annex() {
        let d = declaration(
            "Principles",
            "# Preamble\n\nWe **agree** on:\n\n1. the rule of law;\n2. [transparency](https://example.org).\n",
            "subject to national review",
        );
        let h = html(&d, &parties());
        // The text is rendered, not shown raw.
        assert!(
            h.contains("<h1>Preamble</h1>") && h.contains("<strong>agree</strong>"),
            "{h}"
        );
        assert!(
            h.contains("<ol>") && h.contains("href=\"https://example.org\""),
            "{h}"
        );
        // Full names, when each signed, reservations legible.
        assert!(
            h.contains("For the Government of Czech Republic (CZ)"),
            "{h}"
        );
        assert!(h.contains("signed 6 May 2020, 11:00 UTC"), "{h}");
        assert!(h.contains("<strong>Reservation:</strong> subject to national review"));
        assert!(h.contains("United States (US)"));
        // Hashes only in the annex, which prints on its own page.
        let annex = h.find("Annex: verification data").unwrap();
        assert!(h.find(&d.revision.to_string()).unwrap() > annex);
        assert!(h.contains("@media print") && h.contains("break-before:page"));
        // The TLP banner at the top and at the foot.
        assert_eq!(h.matches("<strong>TLP:AMBER (CZ)</strong>").count(), 2);
    }

    #[test]
    fn markdown_names_each_signatory_and_keeps_hashes_in_the_annex() {
        let d = declaration("Principles", "We agree.\n", "first line\nsecond line");
        let m = markdown(&d, &parties());
        let sig = &d.signatories[0];
        assert!(
            m.contains(
                "- **For the Government of Czech Republic (CZ)** — signed 6 May 2020, 11:00 UTC\n"
            ),
            "{m}"
        );
        assert!(
            m.contains("  - Reservation: first line\n    second line\n"),
            "{m}"
        );
        assert!(
            m.contains("## Objections\n\n- **United States (US):** no <b>\n"),
            "{m}"
        );
        assert!(m.contains(&format!(
            "- Endorsement by CZ: `statement {}, log entry 8, key {}`",
            sig.statement, sig.key_id
        )));
        assert!(
            m.contains("Adopted on 6 May 2020, 12:00 UTC by unanimity."),
            "{m}"
        );
    }

    #[test]
    fn both_formats_carry_the_tlp_banner() {
        let d = declaration("T", "x", "r");
        assert!(markdown(&d, &parties()).starts_with("**TLP:AMBER (CZ)** — Limited disclosure"));
        let h = html(&d, &parties());
        assert!(h.contains("color:#FFC000"), "{h}");
        assert!(h.contains("<p class=\"tlp tlp-amber\">"), "{h}");
        assert!(h.contains("<strong>TLP:AMBER (CZ)</strong>"), "{h}");
    }

    #[test]
    fn silence_needs_no_signatories() {
        let mut d = declaration("Notice", "x", "r");
        d.rule = AdoptionRule::Silence;
        d.signatories.clear();
        assert!(markdown(&d, &Parties::default())
            .contains("## Signatures\n\nNone needed: adopted by silence"));
        let h = html(&d, &Parties::default());
        assert!(
            h.contains("<p>None needed: adopted by silence") && !h.contains("class=\"signatures\"")
        );
    }

    #[test]
    fn html_has_no_style_attribute_and_the_hashed_stylesheet() {
        let d = declaration(
            "Principles",
            "| left | centre | right |\n|:---|:---:|---:|\n| a | b | c |\n\n<p style=\"color:red\">x</p>\n",
            "r",
        );
        let h = html(&d, &parties());
        assert!(h.contains("<table>") && h.contains("<td>a</td>"), "{h}");
        // Every `<` left in the page opens a tag (text has them escaped):
        // none carries a style attribute; the one in the text is text.
        let tags: Vec<&str> = h
            .split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or(t))
            .collect();
        assert!(tags.iter().all(|t| !t.contains(" style=")), "{tags:?}");
        assert!(
            h.contains("&lt;p style=\"color:red\"&gt;x&lt;/p&gt;"),
            "{h}"
        );
        assert!(h.contains(&format!("<style>{STYLE}</style>")), "{h}");
        assert!(!h.contains("<script"), "{h}");
        let hash = style_csp_hash();
        assert!(
            hash.starts_with("'sha256-") && hash.ends_with("='"),
            "{hash}"
        );
        assert_eq!(hash.len(), "'sha256-'".len() + 44);
        // Known answer: the SHA-256 of the empty string.
        assert_eq!(
            csp_style_source(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }
}
