//! End-to-end tests of the transparency-log standards Entente speaks:
//! - C2SP tlog-witness: `entente witness serve` driven only through
//!   `POST /add-checkpoint` by a Python client written from the spec
//!   (`tests/interop/tlog_witness_client.py`), and the log server pushing its
//!   checkpoints to the witnesses in its settings;
//! - stable checkpoints, fresh by cosignature: a checkpoint keeps its
//!   cosignatures for as long as it is the latest, witnesses re-cosign it,
//!   and a log whose cosignatures stop coming is reported as frozen;
//! - C2SP tlog-tiles: the static folder the server writes, served by nginx,
//!   gives proofs the CLI verifies (and a tampered tile is caught).
//!
//! Needs `python3` with `cryptography`, and nginx (`.ci/run` installs both).
//! Build the binaries first: `cargo build --workspace`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entente_tests::cli::Running;
use entente_tests::{http, Cli, Server};
use serde_json::Value;

const CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/interop/tlog_witness_client.py"
);
const WITNESS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/interop/tlog_witness_server.py"
);

/// CZ founds the log; US is admitted as a member.
fn seated(server: &Server) -> (Cli, Cli) {
    let cz = Cli::secretariat(server.url());
    let us = cz.seat("US", "member");
    (cz, us)
}

/// `entente witness serve` for `cli` on a free port: the process, its URL
/// and its verifier key.
fn serve_witness(cli: &Cli) -> (Running, String, String) {
    let running = cli.spawn(&["--json", "witness", "serve", "--listen", "127.0.0.1:0"]);
    let shown = running.json_line(Duration::from_secs(30));
    let url = shown["listening"].as_str().unwrap().to_owned();
    let vkey = shown["vkey"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("entente-witness/"), "{shown}");
    (running, url, vkey)
}

/// The Python witness (`interop/tlog_witness_server.py`) for the log with
/// verifier key `log_vkey`: the process (killed on drop), URL and vkey.
fn python_witness(log_vkey: &str) -> (ChildGuard, String, String) {
    let mut child = Command::new("python3")
        .arg(WITNESS)
        .args([log_vkey, "example.org/python-witness"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 must be installed, with cryptography (see .ci/run)");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let shown: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    (
        ChildGuard(child),
        shown["listening"].as_str().unwrap().to_owned(),
        shown["vkey"].as_str().unwrap().to_owned(),
    )
}

/// A child process killed when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the spec client; its JSON answer.
fn client(server: &Server, witness: &str, vkey: &str, old: u64, opts: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg(CLIENT)
        .args([server.url(), witness, vkey, &old.to_string()])
        .args(opts)
        .output()
        .expect("python3 must be installed, with cryptography (see .ci/run)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as u64
}

#[test]
fn a_witness_speaks_tlog_witness_to_a_client_written_from_the_spec() {
    let server = Server::start();
    let (cz, us) = seated(&server);
    let (_witness, url, vkey) = serve_witness(&us);
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    let first = first.to_str().unwrap();

    // A first checkpoint, from old size 0: cosigned, with a timestamp.
    let a = client(&server, &url, &vkey, 0, &["--save", first]);
    assert_eq!(a["status"], 200, "{a}");
    let size_a = a["size"].as_u64().unwrap();
    assert!(a["timestamp"].as_u64().unwrap().abs_diff(now()) < 60, "{a}");

    // The log grows. A client that does not know what the witness cosigned
    // learns it from a 409.
    cz.seat("DE", "member");
    let conflict = client(&server, &url, &vkey, 0, &[]);
    assert_eq!(conflict["status"], 409, "{conflict}");
    assert_eq!(conflict["content_type"], "text/x.tlog.size");
    assert_eq!(conflict["body"], format!("{size_a}\n"));

    // A bad consistency proof: 422, nothing cosigned.
    let bad = client(&server, &url, &vkey, size_a, &["--tamper-proof"]);
    assert_eq!(bad["status"], 422, "{bad}");
    // Anyone can send a bad proof: it proves nothing, and leaves nothing on disk.
    for _ in 0..3 {
        client(&server, &url, &vkey, size_a, &["--tamper-proof"]);
    }
    let kept = std::fs::read_dir(us.home().join("witness"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("fork-evidence-")
        })
        .count();
    assert_eq!(kept, 0);

    // The right proof: cosigned.
    let b = client(&server, &url, &vkey, size_a, &[]);
    assert_eq!(b["status"], 200, "{b}");
    let size_b = b["size"].as_u64().unwrap();
    assert!(size_b > size_a);

    // A rollback to the first checkpoint: 409 with the size it cosigned.
    let rollback = client(&server, &url, &vkey, size_a, &["--checkpoint", first]);
    assert_eq!(rollback["status"], 409, "{rollback}");
    assert_eq!(rollback["body"], format!("{size_b}\n"));

    // Another log's origin: 404. This origin signed by another key: 403.
    let other = client(&server, &url, &vkey, size_b, &["--forge", "origin"]);
    assert_eq!(other["status"], 404, "{other}");
    let forged = client(&server, &url, &vkey, size_b, &["--forge", "key"]);
    assert_eq!(forged["status"], 403, "{forged}");

    // The same checkpoint again (old size = size): cosigned again, for freshness.
    let again = client(&server, &url, &vkey, size_b, &[]);
    assert_eq!(again["status"], 200, "{again}");

    // `entente witness --once` shares the record: it carries on from size_b.
    let pulled = us.json(&["witness"]);
    assert_eq!(pulled["size"].as_u64(), Some(size_b));
}

/// Polls `f` every 100 ms until it gives `Some`, at most `timeout`.
fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn us_cosignature(cp: &Value) -> Option<u64> {
    cp["cosigners"]
        .as_array()?
        .iter()
        .find(|c| c["delegation"] == "US")?["timestamp"]
        .as_u64()
}

#[test]
fn the_log_pushes_checkpoints_to_its_witnesses_and_they_keep_it_fresh() {
    let mut first = Server::start();
    let (cz, us) = seated(&first);
    let (mut witness, url, vkey) = serve_witness(&us);
    // And a witness outside the roster, written from the spec in Python,
    // that knows only the log's verifier key.
    let log_vkey = http::request(first.url(), "GET", "/v1/log", None).json()["verifier_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_python, py_url, py_vkey) = python_witness(&log_vkey);
    first.stop();
    let setting = format!("[\"{url} {vkey}\", \"{py_url} {py_vkey}\"]");
    let server = first.restart_with_env(&[
        ("ENTENTE_WITNESSES", &setting),
        ("ENTENTE_WITNESS_INTERVAL_SECS", "1"),
    ]);
    cz.json(&["witness", "policy", "--witnesses", "US", "--quorum", "1"]);

    // A new entry: its checkpoint is pushed, cosigned, and published with it.
    cz.seat("DE", "member");
    let size = server.log_size();
    // Until US cosigned, the policy is not met and the command fails (exit 4).
    let cp = eventually(Duration::from_secs(20), "US's cosignature", || {
        let out = cz.run(&["--json", "log", "checkpoint"]);
        let cp: Value = serde_json::from_slice(&out.stdout).ok()?;
        (cp["size"].as_u64() == Some(size) && us_cosignature(&cp).is_some()).then_some(cp)
    });
    assert_eq!(cp["witness_policy"]["met"], true, "{cp}");
    let stamp = us_cosignature(&cp).unwrap();
    // The Python witness cosigned too: a profile counts it by its key.
    let by_key = us.copy();
    by_key.json(&[
        "witness",
        "policy",
        "--witness-keys",
        &py_vkey,
        "--quorum",
        "1",
    ]);
    let counted = eventually(Duration::from_secs(20), "the Python witness", || {
        let out = by_key.run(&["--json", "log", "checkpoint"]);
        let cp: Value = serde_json::from_slice(&out.stdout).ok()?;
        (cp["witness_policy"]["met"] == true).then_some(cp)
    });
    assert_eq!(
        counted["witness_policy"]["cosigned_by"],
        serde_json::json!(["example.org/python-witness"])
    );
    // A delegation's witness is named by its code, not by a key.
    let (code, _) = by_key.fails(&["witness", "policy", "--witness-keys", &vkey]);
    assert_ne!(code, 0);

    // Idle, the checkpoint stays the same note (it keeps its cosignatures),
    // and the witness cosigns it again: the age stays small.
    let note = |text: &str| text.split("\n\n").next().unwrap().to_owned();
    let checkpoint_text =
        || String::from_utf8(http::get(server.url(), "/v1/checkpoint").2).unwrap();
    let before = checkpoint_text();
    let later = eventually(Duration::from_secs(20), "a newer cosignature", || {
        let cp = cz.json(&["log", "checkpoint"]);
        us_cosignature(&cp).filter(|t| *t > stamp).map(|_| cp)
    });
    assert_eq!(later["size"], cp["size"]);
    assert_eq!(later["root"], cp["root"]);
    assert!(later["age_secs"].as_u64().unwrap() <= 3, "{later}");
    let after = checkpoint_text();
    assert_eq!(note(&before), note(&after), "the checkpoint was re-signed");
    // The witness stops: no newer cosignature comes, and the CLI warns.
    witness.interrupt(Duration::from_secs(10));
    cz.json(&["witness", "policy", "--max-checkpoint-age", "2s"]);
    std::thread::sleep(Duration::from_millis(3500));
    let out = cz.run(&["log", "checkpoint"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("frozen"),
        "{stderr}"
    );
}

/// nginx serving `root` on a free loopback port, in the foreground as the
/// current user; killed on drop.
struct Nginx {
    child: Child,
    url: String,
    _scratch: tempfile::TempDir,
}

impl Nginx {
    fn serve(root: &Path) -> Nginx {
        let scratch = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = scratch.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {s}/nginx.pid;\n\
             error_log {s}/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {s}/body;\n  proxy_temp_path {s}/proxy;\n\
             fastcgi_temp_path {s}/fastcgi;\n  uwsgi_temp_path {s}/uwsgi;\n  scgi_temp_path {s}/scgi;\n\
             types {{ text/plain checkpoint; }}\n  default_type application/octet-stream;\n\
             server {{\n    listen 127.0.0.1:{port};\n    root {};\n  }}\n}}\n",
            root.display()
        );
        let conf_path = scratch.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|n| Command::new(n).arg("-v").output().is_ok())
            .expect("nginx must be installed (see .ci/run)");
        let child = Command::new(nginx)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(scratch.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nginx");
        let addr = format!("127.0.0.1:{port}");
        eventually(Duration::from_secs(10), "nginx to listen", || {
            std::net::TcpStream::connect(&addr).ok()
        });
        Nginx {
            child,
            url: format!("http://{addr}"),
            _scratch: scratch,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The size in the static folder's checkpoint.
fn static_size(tiles: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(tiles.join("checkpoint")).ok()?;
    text.lines().nth(1)?.parse().ok()
}

#[test]
fn static_tiles_served_by_nginx_give_proofs_that_verify() {
    let folder = tempfile::tempdir().unwrap();
    let tiles = folder.path().join("tiles");
    let server = Server::start_with_env(&[("ENTENTE_TILES_DIR", tiles.to_str().unwrap())]);
    let (cz, us) = seated(&server);
    us.json(&["log", "checkpoint"]);
    let nginx = Nginx::serve(&tiles);
    cz.json(&["roster"]);

    let size = server.log_size();
    eventually(Duration::from_secs(10), "the static checkpoint", || {
        (static_size(&tiles) == Some(size)).then_some(())
    });
    let checked = cz.json(&["log", "tiles", &nginx.url]);
    assert_eq!(checked["size"].as_u64(), Some(size), "{checked}");
    assert_eq!(checked["entries_included"].as_u64(), Some(size));
    assert_eq!(checked["consistent_with_pin"], true);
    // The files are public: a web server running as anyone can read them.
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&tiles.join("checkpoint")), 0o644);
    assert_eq!(mode(&tiles.join("tile/0")), 0o755);
    // No entry bundle: the folder holds hashes and the checkpoint only.
    assert!(!tiles.join("tile/entries").exists());

    // The log grows; the CLI's pin (older) is proven a prefix through the tiles.
    for code in ["DE", "FR", "UK"] {
        cz.seat(code, "member");
    }
    let grown = server.log_size();
    eventually(Duration::from_secs(10), "the new static checkpoint", || {
        (static_size(&tiles) == Some(grown)).then_some(())
    });
    // US has not been back since it was seated: its pin is older.
    let checked = us.json(&["log", "tiles", &nginx.url]);
    assert_eq!(checked["size"].as_u64(), Some(grown), "{checked}");
    let pinned = checked["pinned_size"].as_u64().unwrap();
    assert!(0 < pinned && pinned < grown, "{checked}");
    cz.json(&["roster"]);
    let checked = cz.json(&["log", "tiles", &nginx.url]);
    assert_eq!(
        checked["entries_included"].as_u64(),
        Some(grown),
        "{checked}"
    );
    // It needs no log server.
    let mut server = server;
    server.stop();
    let checked = cz.json(&["log", "tiles", &nginx.url]);
    assert_eq!(
        checked["entries_included"].as_u64(),
        Some(grown),
        "{checked}"
    );

    // A tile altered on the web server is caught, not believed.
    let partial = tiles.join(format!("tile/0/000.p/{grown}"));
    let mut bytes = std::fs::read(&partial).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&partial, bytes).unwrap();
    let (code, stderr) = cz.fails(&["log", "tiles", &nginx.url]);
    assert_eq!(code, 3, "{stderr}");
}
