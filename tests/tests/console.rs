//! The web console (`entente console`) in headless Chromium, driven through
//! WebDriver (Debian's `chromium` and `chromium-driver`, installed by
//! `.ci/run`), against the real server and two delegations' real consoles:
//!
//! - DE sees CZ's proposal in its inbox, endorses it with a reservation from
//!   the page after a confirmation showing the revision's digest and label,
//!   and CZ's console shows the adoption, the declaration and its verify
//!   panel (every inclusion proof checked);
//! - the supplier heat map colours each cell by the risk each delegation gave;
//! - an AMBER position to CZ and US carries its banner in CZ's console and
//!   is absent from DE's (its marker in no page DE's browser can load);
//! - a forged cross-site POST is refused and signs nothing;
//! - Ctrl-C stops a console cleanly.
//!
//! The screenshots of the main pages land in `target/.../screenshots/`; with
//! `ENTENTE_UPDATE_SCREENSHOTS=1` also in `tests/screenshots/` (README).
//!
//! Build the binaries first: `cargo build --workspace`.

use std::time::Duration;

use entente_tests::browser::Browser;
use entente_tests::cli::Running;
use entente_tests::{http, readable, write_file, Cli, Server};
use serde_json::Value;

/// Seats `code` (full name `name`) as a member, admitted by the secretariat.
fn seat(cz: &Cli, code: &str, name: &str) -> Cli {
    let cli = Cli::new(cz.server());
    let shown = cli.init(code, name, false);
    cz.admit(&shown, code, name, "member");
    cli
}

/// A joint-declaration-2020 assessment of `supplier` with one risk per criterion.
fn assessment(supplier: &str, risks: [&str; 4], verdict: &str) -> String {
    let mut s = format!(
        "framework = \"joint-declaration-2020\"\nframework_version = 1\nsegments = [\"core\"]\n\n[supplier]\nname = \"{supplier}\"\ncountry = \"Examplestan\"\n\n{verdict}\n"
    );
    let criteria = [
        "foreign-influence",
        "ownership-transparency",
        "innovation-ip",
        "ethical-conduct",
    ];
    for (c, risk) in criteria.iter().zip(risks) {
        s.push_str(&format!(
            "\n[[ratings]]\ncriterion = \"{c}\"\nrisk = \"{risk}\"\nrationale = \"From public filings.\"\n"
        ));
    }
    s
}

/// Starts `entente console` for `cli`; returns it and its one-time login URL.
fn console(cli: &Cli) -> (Running, String) {
    let running = cli.spawn(&["--json", "console", "--bind", "127.0.0.1:0"]);
    let line = running.json_line(Duration::from_secs(30));
    let open = line["open"].as_str().expect("the login URL").to_owned();
    (running, open)
}

/// `http://127.0.0.1:PORT` of a login URL.
fn base(login: &str) -> String {
    login.split("/login").next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_delegations_negotiate_and_read_in_their_consoles() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let de = seat(&cz, "DE", "Federal Republic of Germany");
    let us = seat(&cz, "US", "United States of America");
    let work = tempfile::tempdir().unwrap();

    // CZ proposes; CZ endorses from its CLI; DE's position is awaited.
    let text = write_file(
        work.path(),
        "prague.md",
        "## Prague Proposals\n\nThe participants agree that the security of 5G networks rests on:\n\n\
         1. suppliers free of foreign influence without judicial review;\n\
         2. transparent ownership and governance;\n\
         3. ethical conduct under a transparent legal regime.\n",
    );
    let proposal = cz.propose(
        &text,
        "Joint Declaration on 5G Security",
        "CZ,DE",
        "7d",
        &[],
    );
    cz.json(&["endorse", &proposal]);
    let digest = cz.json(&["proposal", "show", &proposal])["revisions"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    // Assessments of one supplier: CZ and DE differ on two criteria.
    for (cli, risks, verdict) in [
        (
            &cz,
            ["critical", "high", "moderate", "high"],
            "[verdict]\ndecision = \"untrusted\"\ntransition = \"replace at life-cycle end\"",
        ),
        (
            &de,
            ["critical", "low", "moderate", "high"],
            "[verdict]\ndecision = \"conditional\"\nmitigations = [\"no core\"]",
        ),
    ] {
        let file = write_file(
            work.path(),
            "a.toml",
            &assessment("Acme Networks", risks, verdict),
        );
        cli.json(&["assess", "submit", &file]);
    }

    // A second supplier, assessed by CZ only.
    let file = write_file(
        work.path(),
        "b.toml",
        &assessment(
            "Nordic Radio",
            ["low", "low", "moderate", "low"],
            "[verdict]\ndecision = \"trusted\"",
        ),
    );
    cz.json(&["assess", "submit", &file]);

    // A draft whose title a hostile delegation wrote, for DE to amend.
    let draft_text = "Suppliers are assessed every two years.\n";
    let draft_file = write_file(work.path(), "draft.md", draft_text);
    let hostile = "<script>alert('x')</script> Draft <b>annex</b>";
    let draft = cz.propose(&draft_file, hostile, "CZ,DE", "7d", &[]);

    // An AMBER draft for DE's eyes (and CZ's).
    let annex = cz.propose(
        &draft_file,
        "Restricted annex on radio access vendors",
        "CZ,DE",
        "14d",
        &["--tlp", "AMBER", "--to", "DE"],
    );

    // A restricted position: AMBER to CZ and US only, with a marker.
    const MARKER: &str = "AMBER-MARKER-console-4e1d";
    let paper = write_file(
        work.path(),
        "paper.md",
        &format!("CZ and US only. {MARKER}: the supplier's board answers to a foreign ministry."),
    );
    let amber = cz.json(&[
        "position",
        "publish",
        &paper,
        "--title",
        &format!("Restricted assessment note {MARKER}"),
        "--tlp",
        "AMBER",
        "--to",
        "US",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(us.json(&["position", "show", &amber])["text"]
        .as_str()
        .unwrap()
        .contains(MARKER));
    // US replies in its thread (AMBER too, as its parent).
    us.json(&[
        "message",
        "send",
        &amber,
        &format!("US concurs. {MARKER} reply."),
    ]);

    // An observer, with its own console (read over plain HTTP).
    let observer = Cli::new(cz.server());
    let shown = observer.init("EU", "European Commission", false);
    cz.admit(&shown, "EU", "European Commission", "observer");
    let (mut observer_console, observer_login) = console(&observer);
    let observer_url = base(&observer_login);
    let observer_cookie = login(&observer_login);
    let (mut de_console, de_login) = console(&de);
    let (mut cz_console, cz_login) = console(&cz);
    let (de_url, cz_url) = (base(&de_login), base(&cz_login));
    let de_browser = Browser::start().await;
    let cz_browser = Browser::start().await;

    // DE: the inbox lists the proposal with its label.
    de_browser.goto(&de_login).await;
    let row = format!("tr.awaiting[data-proposal=\"{proposal}\"]");
    assert!(
        de_browser.exists(&row).await,
        "{}",
        de_browser.source().await
    );
    assert!(de_browser.text(&row).await.contains("TLP:GREEN"));
    let annex_row = format!("tr.awaiting[data-proposal=\"{annex}\"]");
    assert!(de_browser.text(&annex_row).await.contains("TLP:AMBER (DE)"));
    de_browser.screenshot("console-inbox").await;
    // The login link was spent.
    let again = http::request(&de_url, "GET", &de_login[de_url.len()..], None);
    assert_eq!(again.status, 403, "{}", again.text());

    // DE endorses with a reservation: the confirmation shows what is signed.
    de_browser.click(&format!("{row} a")).await;
    assert!(de_browser
        .text("#current-text")
        .await
        .contains("ethical conduct"));
    de_browser.screenshot("console-proposal").await;
    let reservation = "Subject to the consent of the Bundestag.";
    de_browser.fill("#reservation", reservation).await;
    let size_before = server.log_size();
    de_browser.click("#endorse-with-reservation").await;
    assert!(
        de_browser.exists("#sign-revision").await,
        "{}",
        de_browser.source().await
    );
    assert_eq!(de_browser.text("#sign-revision").await, digest);
    assert_eq!(de_browser.text("#sign-label").await, "TLP:GREEN");
    assert_eq!(
        de_browser.text("#sign-kind").await,
        "endorsement with reservation"
    );
    assert_eq!(de_browser.text("#sign-text").await, reservation);
    assert_eq!(
        server.log_size(),
        size_before,
        "nothing signed before confirming"
    );
    de_browser.screenshot("console-confirm").await;
    let confirmation = de_browser.source().await;
    let hidden = |name: &str| {
        let at = confirmation
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap_or_else(|| panic!("no {name} in {confirmation}"));
        let rest = &confirmation[at + name.len() + 15..];
        rest[..rest.find('"').unwrap()].to_owned()
    };
    let (csrf, nonce) = (hidden("csrf"), hidden("nonce"));
    de_browser.click("#confirm").await;
    assert!(de_browser
        .text("#signed")
        .await
        .contains("recorded in the log"));
    assert!(de_browser.exists("#adopted").await);
    assert_eq!(server.log_size(), size_before + 1);
    let signed = de.json(&["proposal", "show", &proposal]);
    assert_eq!(signed["status"]["state"], "adopted", "{signed}");

    // DE amends the draft from its page; the title stays text.
    de_browser
        .goto(&format!("{de_url}/proposals/{draft}"))
        .await;
    let draft_page = de_browser.source().await;
    assert!(
        !draft_page.contains("<script>alert"),
        "the title is escaped"
    );
    assert!(de_browser
        .text("#title")
        .await
        .contains("<script>alert('x')</script>"));
    de_browser.click("#act details summary").await;
    let amended = "Suppliers are assessed every year,\nand again on any change of ownership.";
    de_browser.fill("#amend-text", amended).await;
    de_browser
        .fill("#amend-note", "yearly, and on ownership changes")
        .await;
    let size = server.log_size();
    de_browser.click("#amend").await;
    assert_eq!(de_browser.text("#sign-kind").await, "amendment");
    assert!(
        de_browser.source().await.contains("<ins>"),
        "the changes are marked"
    );
    assert_eq!(server.log_size(), size, "nothing signed before confirming");
    de_browser.screenshot("console-amend").await;
    let new_digest = de_browser.text("#sign-digest").await;
    de_browser.click("#confirm").await;
    assert!(de_browser.exists("#signed").await);
    let shown = cz.json(&["proposal", "show", &draft]);
    let amendment = &shown["amendments"][0];
    assert_eq!(amendment["text"], amended, "signed as typed: {shown}");
    assert_eq!(amendment["meta"]["author"], "DE", "{shown}");
    assert_eq!(
        new_digest,
        entente_shared::statement::TextDigest::of(amended).to_string(),
        "the confirmation showed the digest of the text signed"
    );

    // US and DE witness the log; CZ's policy names them.
    cz.json(&["witness", "policy", "--witnesses", "US,DE", "--quorum", "2"]);
    us.json(&["witness", "--once"]);
    de.json(&["witness", "--once"]);

    // CZ's console: the adoption, the declaration, the verify panel.
    cz_browser.goto(&cz_login).await;
    cz_browser
        .goto(&format!("{cz_url}/proposals/{proposal}"))
        .await;
    assert!(cz_browser.exists("#adopted").await);
    cz_browser.goto(&format!("{cz_url}/declarations")).await;
    assert!(
        cz_browser
            .exists(&format!("tr.declaration[data-declaration=\"{proposal}\"]"))
            .await
    );
    cz_browser
        .goto(&format!("{cz_url}/declarations/{proposal}"))
        .await;
    let signatories = cz_browser.text("#signatories").await;
    assert!(
        signatories.contains("Federal Republic of Germany (DE)"),
        "{signatories}"
    );
    assert!(signatories.contains(reservation), "{signatories}");
    assert!(signatories.contains("Czech Republic (CZ)"), "{signatories}");
    assert!(cz_browser
        .text("#verify-summary")
        .await
        .contains("Every entry below is included"));
    assert!(cz_browser.exists("#verify-summary.ok").await);
    let cosignatures = cz_browser.text("#cosignatures").await;
    assert!(
        cosignatures.contains("US cosigned") && cosignatures.contains("DE cosigned"),
        "{cosignatures}"
    );
    assert!(cz_browser.text("#quorum").await.contains("quorum met"));
    cz_browser.screenshot("console-declaration").await;
    cz_browser.click("#printable").await;
    assert!(cz_browser
        .text("h1")
        .await
        .contains("Joint Declaration on 5G Security"));
    assert!(cz_browser.source().await.contains("For the Government of"));
    cz_browser.screenshot("console-printable").await;

    // The heat map: each cell coloured by its risk; differences marked.
    cz_browser.goto(&format!("{cz_url}/suppliers")).await;
    let cell = |criterion: &str, delegation: &str| {
        format!("td.cell[data-supplier=\"Acme Networks\"][data-criterion=\"{criterion}\"][data-delegation=\"{delegation}\"]")
    };
    let colours = [
        (
            "foreign-influence",
            "CZ",
            "critical",
            "rgba(211, 47, 47, 1)",
        ),
        (
            "foreign-influence",
            "DE",
            "critical",
            "rgba(211, 47, 47, 1)",
        ),
        (
            "ownership-transparency",
            "CZ",
            "high",
            "rgba(255, 167, 38, 1)",
        ),
        (
            "ownership-transparency",
            "DE",
            "low",
            "rgba(165, 214, 167, 1)",
        ),
        ("innovation-ip", "CZ", "moderate", "rgba(255, 241, 118, 1)"),
    ];
    for (criterion, delegation, risk, colour) in colours {
        let css = cell(criterion, delegation);
        assert_eq!(cz_browser.text(&css).await, risk, "{css}");
        assert_eq!(
            cz_browser.css_value(&css, "background-color").await,
            colour,
            "{css}"
        );
    }
    let source = cz_browser.source().await;
    assert_eq!(
        source.matches("title=\"the delegations differ\"").count(),
        1,
        "one criterion differs"
    );
    assert!(source.contains("title=\"the verdicts differ\""));
    cz_browser.screenshot("console-suppliers").await;
    cz_browser
        .click(&format!("{} a", cell("foreign-influence", "DE")))
        .await;
    assert_eq!(cz_browser.text("#verdict").await, "conditional");

    // The AMBER position: CZ sees it under its banner; DE does not at all.
    cz_browser.goto(&format!("{cz_url}/discussion")).await;
    assert!(cz_browser
        .text("#positions")
        .await
        .contains("TLP:AMBER (US)"));
    cz_browser
        .goto(&format!("{cz_url}/positions/{amber}"))
        .await;
    assert!(cz_browser.text("#position-text").await.contains(MARKER));
    assert_eq!(
        cz_browser.css_value(".tlp.tlp-amber", "color").await,
        "rgba(255, 192, 0, 1)"
    );
    assert_eq!(
        cz_browser
            .css_value(".tlp.tlp-amber", "background-color")
            .await,
        "rgba(0, 0, 0, 1)"
    );
    cz_browser.screenshot("console-position").await;
    cz_browser.goto(&format!("{cz_url}/threads/{amber}")).await;
    let mut thread = cz_browser.source().await;
    if !thread.contains("US concurs.") {
        // Seen twice in some thirty runs on a loaded machine, never
        // reproduced alone: say what the page was, then look once more.
        eprintln!("the thread page lacked the reply at first:\n{thread}");
        cz_browser.goto(&format!("{cz_url}/threads/{amber}")).await;
        thread = cz_browser.source().await;
    }
    assert!(thread.contains("US concurs."), "{thread}");
    assert!(cz_browser.exists(".message .tlp.tlp-amber").await);
    for path in [
        "/".to_owned(),
        "/proposals".into(),
        "/discussion".into(),
        "/declarations".into(),
        "/suppliers".into(),
        "/health".into(),
        format!("/positions/{amber}"),
        format!("/threads/{amber}"),
    ] {
        de_browser.goto(&format!("{de_url}{path}")).await;
        let shown = readable(de_browser.source().await.as_bytes());
        assert!(
            !shown.contains(MARKER),
            "DE's {path} shows the AMBER marker"
        );
        assert!(!shown.contains(&amber), "DE's {path} names the AMBER paper");
        // An observer's console holds nothing of it either.
        let seen = page(&observer_url, &observer_cookie, &path);
        let seen = readable(&seen.body);
        assert!(
            !seen.contains(MARKER),
            "the observer's {path} shows the AMBER marker"
        );
        assert!(
            !seen.contains(&amber),
            "the observer's {path} names the AMBER paper"
        );
    }
    de_browser
        .goto(&format!("{de_url}/positions/{amber}"))
        .await;
    let unknown = "0".repeat(64);
    let absent = de_browser.text("#problem-detail").await;
    de_browser
        .goto(&format!("{de_url}/positions/{unknown}"))
        .await;
    assert_eq!(
        de_browser.text("#problem-detail").await,
        absent,
        "as if it did not exist"
    );

    // Log health.
    cz_browser.goto(&format!("{cz_url}/health")).await;
    assert!(cz_browser
        .text("#size")
        .await
        .contains(&format!("size {}", server.log_size())));
    assert!(cz_browser.text("#quorum").await.contains("quorum met"));
    cz_browser.screenshot("console-health").await;

    // A forged cross-site POST: a page elsewhere posting to DE's console.
    let size = server.log_size();
    let forged = format!(
        "data:text/html,<form method=post action='{de_url}/proposals/{proposal}/confirm'>\
         <input name=csrf value={csrf}><input name=nonce value={nonce}>\
         <button id=go>go</button></form>"
    );
    de_browser.goto(&forged).await;
    de_browser.click("#go").await;
    let refused = de_browser.source().await;
    assert!(
        refused.contains("no console session") || refused.contains("cross-site"),
        "{refused}"
    );
    // The same with DE's own cookie, as a page that stole it could not even
    // send: the Origin and the CSRF token still stop it.
    let port = de_url.rsplit(':').next().unwrap();
    let name = format!("entente_console_{port}");
    let cookie = de_browser
        .client()
        .get_named_cookie(&name)
        .await
        .expect("the session cookie");
    let cookie = format!("{name}={}", cookie.value());
    let post = |origin: &str, body: &str| {
        http::request_with_headers(
            &de_url,
            "POST",
            &format!("/proposals/{proposal}/confirm"),
            &[
                ("cookie".to_owned(), cookie.clone()),
                ("origin".to_owned(), origin.to_owned()),
                (
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                ),
            ],
            Some(body.as_bytes()),
        )
    };
    let forged = format!("csrf={}&nonce={nonce}", "ab".repeat(32));
    for (origin, body) in [
        ("https://evil.example", format!("csrf={csrf}&nonce={nonce}")),
        (de_url.as_str(), forged),
    ] {
        let r = post(origin, &body);
        assert_eq!(r.status, 403, "{}", r.text());
        let problem: Value = r.json();
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:entente:problem:console-"),
            "{problem}"
        );
    }
    // A confirmation is good once: replayed, even from the console's own
    // origin with its token, it signs nothing.
    let replayed = post(&de_url, &format!("csrf={csrf}&nonce={nonce}"));
    assert_eq!(replayed.status, 409, "{}", replayed.text());
    assert!(replayed.text().contains("console-confirmation-spent"));
    assert_eq!(server.log_size(), size, "nothing was signed");
    assert_eq!(
        de.json(&["proposal", "show", &proposal])["status"]["state"],
        "adopted"
    );
    // A link cannot make a page claim a signature DE did not make.
    de_browser
        .goto(&format!("{de_url}/proposals/{draft}?signed={draft}"))
        .await;
    assert!(!de_browser.exists("#signed").await);

    // CZ, the draft's proposer, takes DE's amendment into a new revision
    // from its console.
    let amendment_id = cz.json(&["proposal", "show", &draft])["amendments"][0]["meta"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    cz_browser
        .goto(&format!("{cz_url}/proposals/{draft}"))
        .await;
    cz_browser
        .click(&format!("#amendment-{amendment_id} button.accept"))
        .await;
    assert_eq!(
        cz_browser.text("#sign-kind").await,
        "revision taking the amendment"
    );
    assert_eq!(cz_browser.text("#sign-digest").await, new_digest);
    cz_browser.screenshot("console-take-amendment").await;
    cz_browser.click("#confirm").await;
    assert!(cz_browser.exists("#signed").await);
    let revised = cz.json(&["proposal", "show", &draft]);
    assert_eq!(revised["revisions"][1]["text"], amended, "{revised}");
    assert_eq!(
        revised["amendments"][0]["status"]["state"], "accepted",
        "{revised}"
    );
    // DE, not the proposer, is offered no decision, and is refused one.
    de_browser
        .goto(&format!("{de_url}/proposals/{draft}"))
        .await;
    assert!(!de_browser.exists("button.accept").await);

    de_browser.close().await;
    cz_browser.close().await;
    for console in [&mut de_console, &mut cz_console, &mut observer_console] {
        let status = console.interrupt(Duration::from_secs(10));
        assert!(status.success(), "Ctrl-C: {status:?}\n{}", console.stderr());
    }
}

/// Logs in to a console over plain HTTP: the session cookie.
fn login(login: &str) -> String {
    let url = base(login);
    let r = http::request(&url, "GET", &login[url.len()..], None);
    assert_eq!(r.status, 303, "{}", r.text());
    let cookie = r.header("set-cookie").expect("a session cookie");
    cookie.split(';').next().unwrap().to_owned()
}

/// GET `path` from a console as a browser asks for it.
fn page(url: &str, cookie: &str, path: &str) -> http::Response {
    http::request_with_headers(
        url,
        "GET",
        path,
        &[
            ("cookie".to_owned(), cookie.to_owned()),
            ("accept".to_owned(), "text/html".to_owned()),
        ],
        None,
    )
}

#[test]
fn the_console_raises_the_alarm_when_the_host_rolls_the_log_back() {
    let mut server = Server::start();
    let cz = Cli::secretariat(server.url());
    let de = seat(&cz, "DE", "Federal Republic of Germany");
    let snapshot = server.stop_and_copy();
    let mut later = server.restart();
    let work = tempfile::tempdir().unwrap();
    let paper = write_file(work.path(), "p.md", "A later position.\n");
    cz.json(&["position", "publish", &paper, "--title", "Later"]);
    // DE's console sees (and its profile pins) the later log.
    let (mut console, open) = console(&de);
    let url = base(&open);
    let cookie = login(&open);
    let health = page(&url, &cookie, "/health");
    assert_eq!(health.status, 200);
    assert!(!health.text().contains("id=\"alarm\""), "{}", health.text());
    assert_eq!(page(&url, &cookie, "/discussion").status, 200);

    // The host comes back with the earlier, shorter log.
    later.stop();
    let _rolled_back = server.restart_from(&snapshot);
    let health = page(&url, &cookie, "/health");
    assert_eq!(health.status, 200, "the health page still answers");
    let text = health.text();
    assert!(text.contains("id=\"alarm\""), "{text}");
    assert!(
        text.contains("FORK OR ROLLBACK") && text.contains("ROLLBACK"),
        "{text}"
    );
    // Every other page refuses to show the host's view.
    let inbox = page(&url, &cookie, "/");
    assert_eq!(inbox.status, 502, "{}", inbox.text());
    assert!(
        inbox.text().contains("LOG INCONSISTENT"),
        "{}",
        inbox.text()
    );
    let status = console.interrupt(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_host_that_stalls_is_reported_in_seconds() {
    let server = Server::start();
    let cz = Cli::secretariat(server.url());
    let de = seat(&cz, "DE", "Federal Republic of Germany");
    // A log server (read through `--mirror`) that takes connections and
    // never answers.
    let stall = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stall_url = format!("http://{}", stall.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in stall.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut console = de.spawn(&[
        "--json",
        "--mirror",
        &stall_url,
        "console",
        "--bind",
        "127.0.0.1:0",
    ]);
    let open = console.json_line(Duration::from_secs(30))["open"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = base(&open);
    let cookie = login(&open);
    // Each page gives up on the host after 15 s (the test client waits 30).
    let health = page(&url, &cookie, "/health");
    assert_eq!(health.status, 200, "{}", health.text());
    assert!(health.text().contains("id=\"alarm\""), "{}", health.text());
    assert!(
        health.text().contains("could not be checked"),
        "{}",
        health.text()
    );
    let inbox = page(&url, &cookie, "/");
    assert_eq!(inbox.status, 502, "{}", inbox.text());
    assert!(inbox.text().contains("did not answer"), "{}", inbox.text());
    let status = console.interrupt(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}
