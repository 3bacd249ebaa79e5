//! The declaration a minister signs and circulates, rendered by the real CLI
//! (`declaration show --format html`) and checked in headless Chromium
//! (Debian's package, installed by `.ci/run`): it loads, lays out to a
//! printable page with text on it, and its screenshot is kept in the target
//! folder (`declaration.png`) for people to look at.
//!
//! Build the binaries first: `cargo build --workspace`.

use std::path::{Path, PathBuf};
use std::process::Command;

use entente_tests::browser::{chromium, CHROMIUM_ARGS};
use entente_tests::{write_file, Cli, Server};

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Renders `html` headless as Chromium would show it: the screenshot.
fn screenshot(html: &Path, png: &Path) {
    let profile = tempfile::tempdir().unwrap();
    // The harness's flags, but the old headless mode's `--screenshot`,
    // whose picture is exactly the window size.
    let flags = CHROMIUM_ARGS
        .iter()
        .filter(|a| !a.starts_with("--window-size") && !a.starts_with("--headless"));
    let out = Command::new(chromium())
        .args(flags)
        .args(["--headless", "--window-size=1000,1400"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("running chromium");
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_html_declaration_renders_in_chromium_as_a_signed_document() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let seat = |code: &str, name: &str| {
        let cli = Cli::new(server.url());
        let shown = cli.init(code, name, false);
        cz.admit(&shown, code, name, "member");
        cli
    };
    let us = seat("US", "United States");
    let de = seat("DE", "Federal Republic of Germany");
    let work = tempfile::tempdir().unwrap();
    let text = write_file(
        work.path(),
        "d.md",
        "## Principles\n\nThe participants **agree** that suppliers of 5G networks are assessed on:\n\n\
         1. the rule of law and judicial review of foreign influence;\n\
         2. transparency of ownership;\n\
         3. respect for intellectual property.\n\n<script>alert('not run')</script>\n",
    );
    let id = cz.propose(
        &text,
        "Joint Declaration on 5G Security",
        "US,DE",
        "7d",
        &[],
    );
    us.json(&[
        "endorse",
        &id,
        "--reservation",
        "subject to congressional review",
    ]);
    de.json(&["endorse", &id]);

    let out = cz.run(&["declaration", "show", &id, "--format", "html"]);
    assert!(out.status.success());
    let html = String::from_utf8(out.stdout).unwrap();
    // A declaration, not a receipt: rendered text, full names, reservations.
    assert!(html.contains("<h2>Principles</h2>"), "{html}");
    assert!(html.contains("<strong>agree</strong>"));
    assert!(
        html.contains("For the Government of United States (US)"),
        "{html}"
    );
    assert!(html.contains("For the Government of Federal Republic of Germany (DE)"));
    assert!(html.contains("subject to congressional review"));
    assert!(
        html.contains("&lt;script&gt;alert"),
        "raw HTML is shown, never run"
    );
    assert!(!html.contains("<script>"));
    let page = work.path().join("declaration.html");
    std::fs::write(&page, &html).unwrap();

    let png = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("declaration.png");
    let _ = std::fs::remove_file(&png);
    screenshot(&page, &png);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(png_size(&bytes), (1000, 1400));
    // Not a blank page: a white 1000×1400 PNG compresses to a few KB.
    assert!(bytes.len() > 30_000, "{} bytes: a blank page?", bytes.len());
}
