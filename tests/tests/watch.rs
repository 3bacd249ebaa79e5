//! `entente watch` against a server that lies: a fake stream (a WebSocket
//! server in the test) sends a gap, a repeat, a forked checkpoint or one
//! signed by another key, and `watch` must stop with exit code 3
//! (`LOG INCONSISTENT`) instead of printing on.
//!
//! The profile is made against a real server (so its log key and checkpoint
//! are pinned), then pointed at the fake.

use std::net::TcpListener;
use std::time::Duration;

use entente_shared::api::StreamEvent;
use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::keys::SigningKey;
use entente_shared::note::{NoteSigner, SignedNote};
use entente_shared::statement::{Role, StatementId};
use entente_tests::actors::Actor;
use entente_tests::{Cli, Server};
use tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);
/// What the CLI exits with on an inconsistent log.
const EXIT_INCONSISTENT: i32 = 3;

/// A server on a free loopback port that answers a WebSocket upgrade with
/// `messages`, then holds it open until the client goes, and any plain HTTP
/// request (the CLI checks the pinned checkpoint first) with `checkpoint`.
/// Returns its URL.
fn fake_stream(messages: Vec<String>, checkpoint: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let messages = messages.clone();
            let checkpoint = checkpoint.clone();
            std::thread::spawn(move || {
                // Look at the whole request head (it may come in pieces)
                // without taking it: tungstenite reads it for a WebSocket.
                let mut head = String::new();
                for _ in 0..200 {
                    let mut buf = [0u8; 4096];
                    let n = tcp.peek(&mut buf).unwrap_or(0);
                    head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                    if head.contains("\r\n\r\n") {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                if !head.contains("upgrade: websocket") {
                    answer_plain(tcp, &checkpoint);
                    return;
                }
                let Ok(mut ws) = tungstenite::accept(tcp) else {
                    return;
                };
                for m in messages {
                    if ws.send(Message::text(m)).is_err() {
                        return;
                    }
                }
                while ws.read().is_ok() {}
            });
        }
    });
    url
}

/// Answers one plain HTTP request on `tcp` with `text`: the request is read
/// first and the connection shut down in order, since closing a socket with
/// unread bytes resets it, and the client may then see the reset before the
/// answer.
fn answer_plain(mut tcp: std::net::TcpStream, text: &str) {
    use std::io::{Read as _, Write as _};
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let _ = write!(
        tcp,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = tcp.flush();
    let _ = tcp.shutdown(std::net::Shutdown::Write);
    // Wait for the client to close its side.
    while matches!(tcp.read(&mut buf), Ok(n) if n > 0) {}
}

/// US's profile, admitted by CZ on a real server, with the checkpoint at
/// size 2 pinned; and that server (for its log key).
fn us_profile() -> (Server, Cli) {
    let server = Server::start();
    let cz = Cli::new(server.url());
    cz.init("CZ", "Czech Republic", true);
    let us = Cli::new(server.url());
    let shown = us.init("US", "United States", false);
    let key = shown["public_key"].as_str().unwrap();
    cz.json(&["admit", "US", "--name", "United States", "--key", key]);
    let pinned = us.json(&["log", "checkpoint"]);
    assert_eq!(pinned["size"], 2, "{pinned}");
    (server, us)
}

/// The real server's checkpoint, which the profile pinned: what the fake
/// answers to the CLI's check before it opens the stream.
fn pinned(server: &Server) -> String {
    entente_tests::http::request(server.url(), "GET", "/v1/checkpoint", None).text()
}

/// Points `cli`'s profile at `url` instead of the real server.
fn point_at(cli: &Cli, real: &str, url: &str) {
    let path = cli.home().join("profile.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(real), "{text}");
    std::fs::write(&path, text.replace(real, url)).unwrap();
}

/// Runs `entente watch --from FROM` against a fake stream sending `events`; returns
/// its exit code and stderr once it stops (it must, within [`WAIT`]).
fn watch_fake(events: &[StreamEvent], from: &str) -> (Option<i32>, String) {
    let (server, us) = us_profile();
    let (watch, status) = watch_against(&server, &us, events, from);
    (status.code(), watch.stderr())
}

/// Points `us` (a profile on `server`) at a fake stream sending `events`,
/// runs `entente --json watch --from FROM` until it stops (within [`WAIT`]).
fn watch_against(
    server: &Server,
    us: &Cli,
    events: &[StreamEvent],
    from: &str,
) -> (entente_tests::cli::Running, std::process::ExitStatus) {
    let messages = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    point_at(us, server.url(), &fake_stream(messages, pinned(server)));
    let mut watch = us.spawn(&["--json", "watch", "--from", from]);
    let status = watch.wait(WAIT);
    (watch, status)
}

fn assert_inconsistent(code: Option<i32>, stderr: &str, what: &str) {
    assert_eq!(code, Some(EXIT_INCONSISTENT), "{stderr}");
    assert!(stderr.contains("LOG INCONSISTENT"), "{stderr}");
    assert!(stderr.contains(what), "expected {what:?}: {stderr}");
}

/// An entry event at `index` with a genuinely signed (if unlogged) statement.
fn entry_at(index: u64) -> StreamEvent {
    let mut cz = Actor::new("CZ");
    let envelope = cz.admission(&Actor::new("FR"), Role::Member);
    StreamEvent::Entry {
        index,
        id: StatementId::of_payload(&envelope.payload),
        envelope,
    }
}

#[test]
fn watch_stops_on_an_entry_past_a_gap() {
    // From 2, the next entry must be 2; 3 skips one.
    let (code, stderr) = watch_fake(&[entry_at(3)], "2");
    assert_inconsistent(code, &stderr, "an entry at index 3, but index 2 was next");
}

#[test]
fn watch_stops_on_a_repeated_entry_and_on_hidden_runs_out_of_place() {
    let (code, stderr) = watch_fake(&[entry_at(1)], "2");
    assert_inconsistent(code, &stderr, "an entry at index 1, but index 2 was next");
    let hidden = StreamEvent::Hidden { from: 4, count: 2 };
    let (code, stderr) = watch_fake(&[hidden], "2");
    assert_inconsistent(
        code,
        &stderr,
        "hidden entries at index 4, but index 2 was next",
    );
    // Inside a batch too.
    let batch = StreamEvent::Batch {
        events: vec![StreamEvent::Hidden { from: 2, count: 1 }, entry_at(4)],
    };
    let (code, stderr) = watch_fake(&[batch], "2");
    assert_inconsistent(code, &stderr, "an entry at index 4, but index 3 was next");
}

/// A checkpoint of `size` and `root`, signed with the log key in `data`.
fn signed_by_log_key(server: &Server, size: u64, root: [u8; 32]) -> String {
    let data = server.data_dir();
    let key = SigningKey::from_pkcs8(&std::fs::read(data.join("log-key.pk8")).unwrap()).unwrap();
    let current = entente_tests::http::request(server.url(), "GET", "/v1/checkpoint", None).text();
    let origin = Checkpoint::from_body(&SignedNote::parse(&current).unwrap().text)
        .unwrap()
        .origin;
    let signer = NoteSigner::new(&origin, &key).unwrap();
    let cp = Checkpoint {
        origin,
        size,
        root,
        extensions: Vec::new(),
    };
    SignedCheckpoint::sign(cp, &signer).unwrap().to_text()
}

#[test]
fn watch_stops_on_a_checkpoint_that_forks_from_the_pin() {
    let (server, us) = us_profile();
    // Size 2 like the pinned one, another root, signed by the real log key.
    let forked = signed_by_log_key(&server, 2, [7u8; 32]);
    let event = StreamEvent::Checkpoint { checkpoint: forked };
    let (watch, status) = watch_against(&server, &us, &[event], "2");
    assert_inconsistent(status.code(), &watch.stderr(), "FORK");
    // Under --json the failure itself is the one object on stdout.
    let printed = watch.line(Duration::from_millis(100));
    assert!(
        printed
            .as_deref()
            .is_none_or(|l| l.starts_with("{\"error\"")),
        "watch printed the forked checkpoint: {printed:?}"
    );
}

#[test]
fn watch_stops_on_a_checkpoint_not_signed_by_the_log_key() {
    let (server, us) = us_profile();
    let current = entente_tests::http::request(server.url(), "GET", "/v1/checkpoint", None).text();
    let cp = Checkpoint::from_body(&SignedNote::parse(&current).unwrap().text).unwrap();
    let (other, _) = SigningKey::generate().unwrap();
    let signer = NoteSigner::new(&cp.origin, &other).unwrap();
    let forged = SignedCheckpoint::sign(cp, &signer).unwrap().to_text();
    let event = StreamEvent::Checkpoint { checkpoint: forged };
    let (watch, status) = watch_against(&server, &us, &[event], "2");
    assert_inconsistent(
        status.code(),
        &watch.stderr(),
        "not signed by the pinned log key",
    );
}

#[test]
fn watch_stops_on_a_checkpoint_that_is_not_where_the_stream_is() {
    // The genuine, pinned checkpoint (size 2), sent when the stream is at 0.
    let (server, us) = us_profile();
    let current = entente_tests::http::request(server.url(), "GET", "/v1/checkpoint", None).text();
    let event = StreamEvent::Checkpoint {
        checkpoint: current,
    };
    let (watch, status) = watch_against(&server, &us, &[event], "0");
    assert_inconsistent(
        status.code(),
        &watch.stderr(),
        "a checkpoint of size 2 arrived when the stream was at 0",
    );
}
