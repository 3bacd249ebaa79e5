//! The public register the log host serves at `/`, through the real
//! binaries: a CLEAR declaration adopted by CZ and US is listed with its
//! title and its signatories (by code: names come from GREEN admissions), and `/declarations/{id}` serves
//! its printable document under a Content-Security-Policy that allows only
//! its stylesheet, which carries no inline style; a GREEN and an AMBER
//! declaration, adopted too, leave no trace: their marker strings are
//! nowhere on the page (for an anonymous reader or one who may read them),
//! and their documents answer exactly as an id that never existed. A title
//! with `<script>` is shown as text.
//!
//! Build the binaries first: `cargo build -p entente-server -p entente-client`.

use entente_shared::document;
use entente_shared::statement::StatementId;
use entente_tests::{http, readable, write_file, Cli, Server};

/// The policy of every register page: nothing but stylesheets allowed by
/// their hashes.
fn csp(styles: &[String]) -> String {
    format!(
        "default-src 'none'; style-src {}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        styles.join(" ")
    )
}

/// Every `<style>` element's text in `html`.
fn stylesheets(html: &str) -> Vec<&str> {
    html.split("<style>")
        .skip(1)
        .map(|s| s.split("</style>").next().unwrap())
        .collect()
}

/// The tags of `html` (every `<` left in it opens one: texts are escaped).
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(t))
        .collect()
}

/// An HTML page of the register, with the headers every one carries.
fn page(server: &Server, path: &str) -> String {
    let r = http::request(server.url(), "GET", path, None);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    assert_eq!(r.content_type, "text/html; charset=utf-8", "{path}");
    let html = r.text();
    let hashes: Vec<String> = stylesheets(&html)
        .into_iter()
        .map(document::csp_style_source)
        .collect();
    assert!(!hashes.is_empty(), "{path}: no stylesheet");
    assert_eq!(
        r.header("content-security-policy"),
        Some(csp(&hashes).as_str()),
        "{path}"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    for tag in tags(&html) {
        assert!(!tag.contains(" style="), "{path}: inline style in <{tag}>");
        assert!(!tag.starts_with("script"), "{path}: a script");
    }
    html
}

#[test]
fn the_register_shows_clear_declarations_and_nothing_else() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let empty = page(&server, "/");
    assert!(
        empty.contains("No declaration has been published here yet."),
        "{empty}"
    );

    let us = Cli::new(server.url());
    let shown = us.init("US", "United States of America", false);
    cz.admit(&shown, "US", "United States of America", "member");
    let work = tempfile::tempdir().unwrap();
    let adopt = |name: &str, title: &str, text: &str, audience: &[&str]| -> String {
        let file = write_file(work.path(), name, text);
        let id = cz.propose(&file, title, "CZ,US", "7d", audience);
        cz.json(&["endorse", &id]);
        us.json(&["endorse", &id]);
        id
    };
    let clear = adopt(
        "clear.md",
        "Joint Declaration on 5G Security <script>alert(1)</script>",
        "## Principles\n\nSuppliers of 5G networks are assessed on the rule of law.\n",
        &["--tlp", "CLEAR"],
    );
    let green = adopt(
        "green.md",
        "Community note GREEN-TITLE-MARKER-5c1e",
        "GREEN-TEXT-MARKER-9b07\n",
        &["--tlp", "GREEN"],
    );
    let amber = adopt(
        "amber.md",
        "Bilateral AMBER-TITLE-MARKER-d4a2",
        "AMBER-TEXT-MARKER-17f3\n",
        &["--tlp", "AMBER", "--to", "US"],
    );
    let adopted = cz.json(&["declaration", "list"]);
    assert_eq!(adopted.as_array().unwrap().len(), 3, "{adopted}");
    let markers = [
        "GREEN-TITLE-MARKER-5c1e",
        "GREEN-TEXT-MARKER-9b07",
        "AMBER-TITLE-MARKER-d4a2",
        "AMBER-TEXT-MARKER-17f3",
    ];

    // The register: the CLEAR declaration, its signatories by code,
    // the title's script as text; nothing of the other two.
    let index = page(&server, "/");
    assert!(index.contains("Public register of declarations"), "{index}");
    assert!(
        index.contains("Joint Declaration on 5G Security &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{index}"
    );
    assert!(index.contains(&format!("href=\"declarations/{clear}\"")));
    assert!(
        index.contains("CZ, US") && !index.contains("Czech Republic"),
        "{index}"
    );
    assert!(index.contains("<dt>Rule</dt><dd>unanimity</dd>"), "{index}");
    let log = http::request(server.url(), "GET", "/v1/log", None).json();
    let vkey = log["verifier_key"].as_str().unwrap();
    assert!(
        index.contains("How to verify") && index.contains(vkey),
        "{index}"
    );
    assert!(index.contains(&format!("entente archive verify FILE --log-key {vkey}")));
    for marker in markers {
        assert!(
            !readable(index.as_bytes()).contains(marker),
            "{marker} on the register"
        );
    }
    for hidden in [&green, &amber] {
        assert!(!index.contains(hidden.as_str()), "{hidden} on the register");
    }
    // A reader who may read all three signs its request: the same page.
    let signed = http::signed_get(server.url(), "/", &us.signing_key());
    assert_eq!(signed.status, 200);
    for marker in markers {
        assert!(
            !readable(&signed.body).contains(marker),
            "{marker} for a signed reader"
        );
    }

    // The printable document, its one stylesheet allowed by hash.
    let doc = page(&server, &format!("/declarations/{clear}"));
    assert_eq!(stylesheets(&doc), [document::STYLE]);
    assert!(doc.contains(&format!("<style>{}</style>", document::STYLE)));
    let r = http::request(server.url(), "GET", &format!("/declarations/{clear}"), None);
    assert_eq!(
        r.header("content-security-policy"),
        Some(csp(&[document::style_csp_hash()]).as_str())
    );
    assert!(doc.contains("<h2>Principles</h2>"), "{doc}");
    // Delegations' names come from GREEN admissions: the public sees codes.
    assert!(doc.contains("For the Government of CZ"));
    assert!(doc.contains("For the Government of US"));
    assert!(!doc.contains("United States of America"));
    assert!(doc.contains("<p class=\"tlp tlp-clear\"><strong>TLP:CLEAR</strong>"));
    assert!(doc.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !doc.contains("<script"));

    // Not CLEAR answers exactly as never existed.
    let unknown = StatementId::of_payload(b"no such declaration").to_string();
    let missing = http::request(
        server.url(),
        "GET",
        &format!("/declarations/{unknown}"),
        None,
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.content_type, "application/problem+json");
    for hidden in [&green, &amber] {
        let r = http::request(
            server.url(),
            "GET",
            &format!("/declarations/{hidden}"),
            None,
        );
        assert_eq!(
            (r.status, &r.content_type, &r.body),
            (missing.status, &missing.content_type, &missing.body),
            "{hidden}: {}",
            r.text()
        );
        let signed = http::signed_get(
            server.url(),
            &format!("/declarations/{hidden}"),
            &us.signing_key(),
        );
        assert_eq!(signed.body, missing.body, "{hidden}, signed");
    }
}
