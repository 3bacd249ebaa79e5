//! The browser harness itself ([`entente_tests::browser`]): two headless
//! Chromiums at once, each under its own chromedriver, drive a tiny form page
//! served on loopback with the console's kind of content security policy (no
//! script, no inline style): open, fill, submit, read the echoed body and a
//! computed style, and keep a screenshot.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them);
//! not the entente binaries.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use entente_tests::browser::Browser;

/// The policy the console's pages are served with, in its strictest form.
const CSP: &str = "default-src 'none'; form-action 'self'";

/// The form page. The inline `style` attribute is there to be refused: under
/// `default-src 'none'` the text stays the default colour.
const FORM: &str = "<!doctype html><html><head><title>Smoke</title></head><body>\
    <h1 style=\"color: rgb(255, 0, 0)\">Smoke</h1>\
    <form method=\"post\" action=\"/submit\"><input name=\"q\"><button id=\"go\">Go</button></form>\
    </body></html>";

/// Starts a one-page HTTP/1.1 server on a free loopback port (a thread per
/// connection, as Chromium opens several); returns its base URL.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                // A connection that fails or never sends a request (Chromium
                // preconnects) is simply dropped.
                let _ = answer(stream);
            });
        }
    });
    url
}

/// Reads one request from `stream` and answers it, closing the connection.
fn answer(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut content_length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;

    let (status, page) = match request_line.split_whitespace().take(2).collect::<Vec<_>>()[..] {
        ["GET", "/"] => ("200 OK", FORM.to_owned()),
        ["POST", "/submit"] => (
            "200 OK",
            format!(
                "<!doctype html><html><head><title>Echo</title></head><body>\
                 <p id=\"echo\">{}</p></body></html>",
                escape(&String::from_utf8_lossy(&body))
            ),
        ),
        _ => (
            "404 Not Found",
            "<!doctype html><p>not found</p>".to_owned(),
        ),
    };
    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n\
         content-security-policy: {CSP}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
        page.len()
    )?;
    stream.flush()
}

/// `text`, safe inside an HTML element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Opens the form in `browser`, submits `value`, and returns the echoed body.
async fn submit(browser: &Browser, url: &str, value: &str) -> String {
    browser.goto(url).await;
    browser.fill("input[name=q]", value).await;
    browser.click("#go").await;
    browser.text("#echo").await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_headless_browsers_fill_and_submit_a_form_under_a_strict_csp() {
    let began = Instant::now();
    let url = serve();
    let (one, two) = tokio::join!(Browser::start(), Browser::start());

    // Both at once, each with its own value: independent sessions.
    let (echo_one, echo_two) = tokio::join!(
        submit(&one, &url, "hello world & co"),
        submit(&two, &url, "second")
    );
    assert_eq!(echo_one, "q=hello+world+%26+co");
    assert_eq!(echo_two, "q=second");
    assert!(one
        .source()
        .await
        .contains("<p id=\"echo\">q=hello+world+%26+co</p>"));
    assert!(one.exists("#echo").await);
    assert!(!one.exists("#go").await);

    // Computed styles, read through WebDriver (no page script runs): the
    // refused inline style leaves the heading in the default black.
    two.goto(&url).await;
    assert_eq!(two.text("h1").await, "Smoke");
    assert_eq!(two.css_value("h1", "display").await, "block");
    assert_eq!(two.css_value("h1", "color").await, "rgba(0, 0, 0, 1)");

    let png = one.screenshot("browser_smoke").await;
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("reading {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );

    tokio::join!(one.close(), two.close());
    eprintln!("browser smoke test: {:?}", began.elapsed());
}
