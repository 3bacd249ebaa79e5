//! End-to-end tests of `entente mirror`: a delegation's verified copy of the
//! log serves its reads (and only what each reader may read) once the host
//! is gone, and stops following a host that forks.
//!
//! Build the binaries first: `cargo build --workspace`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use entente_tests::cli::Running;
use entente_tests::{http, write_file, Cli, Server};
use serde_json::Value;

/// `entente mirror` run by `cli`, following every second: the process and URL.
fn mirror(cli: &Cli, data: &std::path::Path) -> (Running, String) {
    let running = cli.spawn(&[
        "--json",
        "mirror",
        "--listen",
        "127.0.0.1:0",
        "--every",
        "1s",
        "--data",
        data.to_str().unwrap(),
    ]);
    let shown = running.json_line(Duration::from_secs(30));
    (running, shown["listening"].as_str().unwrap().to_owned())
}

/// The mirror's own state (`GET /v1/mirror`).
fn status(url: &str) -> Value {
    http::request(url, "GET", "/v1/mirror", None).json()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn titles(listed: &Value) -> Vec<String> {
    let mut out: Vec<String> = listed
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {listed}"))
        .iter()
        .map(|p| p["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_mirror_serves_reads_after_the_host_stops_and_stops_following_a_fork() {
    let mut server = Server::start();
    let cz = Cli::secretariat(server.url());
    let us = cz.seat("US", "member");
    let de = cz.seat("DE", "member");
    let nato = cz.seat("NATO", "observer");
    let work = tempfile::tempdir().unwrap();
    let green = write_file(work.path(), "green.md", "A GREEN paper\n");
    cz.json(&["position", "publish", &green, "--title", "Green paper"]);
    let amber = write_file(work.path(), "amber.md", "For US only MIRROR-MARK-1\n");
    let amber_id = cz.json(&[
        "position",
        "publish",
        &amber,
        "--title",
        "Amber paper",
        "--tlp",
        "AMBER",
        "--to",
        "US",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A profile of CZ on another machine, which will only ever see history B.
    let cz_elsewhere = cz.copy();
    let snapshot = server.stop_and_copy();

    // History A: CZ publishes a third paper, and US's mirror follows.
    let mut a = server.restart();
    let third = write_file(work.path(), "third.md", "History A\n");
    cz.json(&[
        "position",
        "publish",
        &third,
        "--title",
        "Paper of history A",
    ]);
    let size_a = a.log_size();
    let (mut running, url) = mirror(&us, &work.path().join("mirror"));
    wait_for("the mirror to follow", || status(&url)["size"] == size_a);
    let before = titles(&us.json(&["position", "list"]));
    assert_eq!(
        before,
        ["Amber paper", "Green paper", "Paper of history A"],
        "{before:?}"
    );
    let checkpoint_a = http::request(&url, "GET", "/v1/checkpoint", None).text();

    // The host goes away; US reads from its mirror, the same as before.
    a.stop();
    let via_mirror = us.json(&["--mirror", &url, "position", "list"]);
    assert_eq!(titles(&via_mirror), before);
    let checked = us.json(&["--mirror", &url, "log", "checkpoint"]);
    assert_eq!(checked["size"].as_u64(), Some(size_a));
    // DE reads from US's mirror too, but never what was only for US.
    let de_view = titles(&de.json(&["--mirror", &url, "position", "list"]));
    assert_eq!(de_view, ["Green paper", "Paper of history A"]);
    // Anyone (unsigned) gets whole only what is CLEAR: no position at all.
    let anonymous = http::request(&url, "GET", "/v1/entries?start=0", None).json();
    let whole: Vec<&Value> = anonymous["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("envelope").is_some())
        .collect();
    assert!(whole.len() < size_a as usize, "{anonymous}");
    assert!(!anonymous.to_string().contains("Amber paper"));
    // Nothing of the AMBER paper (its marker raw or in a decoded payload, or
    // even its id) reaches a non-recipient, an observer or anyone, by any
    // mirror route or through the CLI reading from the mirror.
    let size = status(&url)["size"].as_u64().unwrap();
    for (who, key) in [
        ("DE", Some(de.signing_key())),
        ("NATO", Some(nato.signing_key())),
        ("anyone", None),
    ] {
        let mut seen = String::new();
        for path in [
            format!("/v1/entries?start=0&end={size}"),
            "/v1/checkpoint".into(),
            "/v1/log".into(),
            "/v1/mirror".into(),
            format!("/v1/proofs/inclusion?index=0&size={size}"),
            format!("/v1/proofs/consistency?from=1&to={size}"),
        ] {
            let r = match &key {
                Some(k) => http::signed_get(&url, &path, k),
                None => http::request(&url, "GET", &path, None),
            };
            let text = r.text();
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                for e in v["entries"].as_array().into_iter().flatten() {
                    if let Some(p) = e["envelope"]["payload"].as_str() {
                        let raw = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
                        seen.push_str(&String::from_utf8_lossy(&raw));
                    }
                }
            }
            seen.push_str(&text);
        }
        assert!(!seen.contains("MIRROR-MARK-1"), "{who} obtained the marker");
        assert!(
            !seen.contains(&amber_id),
            "{who} obtained the AMBER paper's id"
        );
    }
    for cli in [&de, &nato] {
        for args in [
            &["--json", "position", "list"][..],
            &["--json", "log", "checkpoint"],
        ] {
            let mut all = vec!["--mirror", url.as_str()];
            all.extend_from_slice(args);
            let out = cli.run(&all);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                !text.contains("MIRROR-MARK-1") && !text.contains(&amber_id),
                "{text}"
            );
        }
    }
    // A mirror only reads: publishing through it is refused, with a problem.
    let (code, stderr) = us.fails(&[
        "--mirror", &url, "position", "publish", &green, "--title", "x",
    ]);
    assert_ne!(code, 0, "{stderr}");

    // History B: the host comes back with another history of the same size.
    let b = server.restart_from(&snapshot);
    let other = write_file(work.path(), "other.md", "History B\n");
    cz_elsewhere.json(&[
        "position",
        "publish",
        &other,
        "--title",
        "Paper of history B",
    ]);
    assert_eq!(b.log_size(), size_a);
    wait_for("the mirror to see the fork", || {
        status(&url)["following"] == false
    });
    let stopped = status(&url);
    assert!(
        stopped["stopped"]
            .as_str()
            .unwrap_or_default()
            .contains("FORK"),
        "{stopped}"
    );
    // It keeps serving history A, and kept both checkpoints as evidence.
    assert_eq!(
        http::request(&url, "GET", "/v1/checkpoint", None).text(),
        checkpoint_a
    );
    let evidence = std::fs::read_dir(work.path().join("mirror"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("fork-evidence-")
        })
        .count();
    assert_eq!(evidence, 1);
    assert!(running.stderr().contains("FORK"), "{}", running.stderr());
    running.interrupt(Duration::from_secs(10));
}
