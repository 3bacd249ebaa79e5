//! `loadgen`: measures the server the way BENCHMARKS.md reports it.
//!
//! `cargo run --release -p entente-tests --bin loadgen` (no arguments) runs the
//! ingest case: a fresh server, 1024 admitted members, 100,000 key rotations
//! signed before the clock starts, posted over 64 keep-alive connections, every
//! receipt's checkpoint and inclusion proof verified after the clock stops.
//!
//! Modes:
//! - `ingest`: the case above;
//! - `reads`: statements by id, each read signed (RFC 9421); with
//!   `--anonymous` the statements are TLP:CLEAR and read unsigned;
//! - `proofs`: inclusion proofs at `--entries` (default 1M); when loadgen owns
//!   the server it also restarts it and reports start-up time, RSS while
//!   serving, and disk per entry;
//! - `stream`: `--subscribers` (default 500) WebSocket subscribers of
//!   `/v1/stream` while statements are posted at `--rate` (default 2,000/s)
//!   for `--seconds` (default 20); every subscriber must get every written
//!   index exactly once, and the latency is from each POST's send to each
//!   subscriber's receipt of that entry.
//!
//! `--kind` picks what the delegations sign: key rotations (the default),
//! padded admissions, or `position` papers of about `--payload-bytes` of open
//! body; with `--kind position`, `--sealed-share S` (0 to 1, default 0) seals
//! that share of them RED to another member (ingest and proofs modes), all
//! signed and sealed before the clock starts; the members are then admitted
//! with X25519 encryption keys.
//!
//! `--server URL` targets a running server instead of starting one.
//! `--json` prints one JSON object.

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use entente_shared::api::{InclusionProof, LogInfo, Receipt};
use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::keys::SigningKey;
use entente_shared::merkle::verify_inclusion;
use entente_shared::note::NoteVerifier;
use entente_shared::statement::{Admission, Body, DelegationCode, Role, StatementId, Tlp};
use entente_tests::actors::Actor;
use entente_tests::load::check::ReceiptChecker;
use entente_tests::load::client::{self, Conn};
use entente_tests::load::report::Report;
use entente_tests::load::stream::{Stop, Subscriber};
use entente_tests::load::workload::{Kind, Workload};
use entente_tests::Server;
use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Ingest,
    Reads,
    Proofs,
    Stream,
}

/// Load generator for entente-server.
#[derive(Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "ingest")]
    mode: Mode,
    /// Target a running server (http://HOST:PORT) instead of starting one.
    #[arg(long)]
    server: Option<String>,
    /// Data folder for the server loadgen starts (kept; reused by later runs).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Statements posted in the timed ingest run.
    #[arg(long, default_value_t = 100_000)]
    statements: usize,
    /// Delegations admitted for the run (each posts its own chain).
    #[arg(long, default_value_t = 1024)]
    actors: usize,
    /// What the delegations sign.
    #[arg(long, value_enum, default_value = "rotation")]
    kind: Kind,
    /// Payload size for `--kind admission`, in bytes (about; at most ~1,330);
    /// for `--kind position`, the size of the open body (title and text).
    #[arg(long, default_value_t = 1024)]
    payload_bytes: usize,
    /// With `--kind position`: the share of statements (0 to 1) sealed RED
    /// to one other member, sealed before the clock starts.
    #[arg(long, default_value_t = 0.0)]
    sealed_share: f64,
    /// Requests in a timed read or proof run.
    #[arg(long, default_value_t = 200_000)]
    requests: usize,
    /// Log size for `--mode proofs` (filled through the HTTP path first).
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Stream subscribers for `--mode stream`.
    #[arg(long, default_value_t = 500)]
    subscribers: usize,
    /// Statements per second posted during `--mode stream`.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// How long `--mode stream` writes, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// `--mode reads`: the statements are TLP:CLEAR and read without a
    /// signature (public reads, as a mirror or a CDN would make them).
    #[arg(long)]
    anonymous: bool,
    /// Tokio worker threads of the load generator itself.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.sealed_share) {
        bail!("--sealed-share is a share between 0 and 1");
    }
    if args.sealed_share > 0.0 {
        if args.kind != Kind::Position {
            bail!("--sealed-share seals positions: use it with --kind position");
        }
        // The secretariat reads (and follows) as itself: it may not read
        // what is sealed RED to others.
        if matches!(args.mode, Mode::Reads | Mode::Stream) {
            bail!("--sealed-share is for the ingest and proofs modes");
        }
        if args.actors < 2 {
            bail!("--sealed-share needs at least 2 --actors (each seals to another)");
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let mut owned = match &args.server {
        Some(_) => None,
        None => Some(start_server(args.data.as_deref())?),
    };
    let url = match (&args.server, &owned) {
        (Some(url), _) => url.clone(),
        (None, Some(s)) => s.url().to_owned(),
        _ => unreachable!("either a URL or a server"),
    };
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let key_file = args
        .data
        .as_ref()
        .map(|d| d.join("loadgen-secretariat.pk8"));
    let report = rt.block_on(async {
        let mut run = Run::setup(&host, &args, key_file).await?;
        match args.mode {
            Mode::Ingest => run.ingest(args.statements, true).await,
            Mode::Reads => run.reads().await,
            Mode::Proofs => run.proofs(owned.as_mut()).await,
            Mode::Stream => run.stream().await,
        }
    })?;
    report.print(args.json);
    if let Some(mut s) = owned {
        s.stop();
    }
    Ok(())
}

/// Starts `entente-server` (building it first when run through cargo and
/// missing), on `data` or a temporary folder.
fn start_server(data: Option<&std::path::Path>) -> anyhow::Result<Server> {
    // All the stream mode's subscribers read as one delegation: lift the
    // per-delegation and total stream bounds for the server it starts
    // (unless the caller set them), as an operator would for such a test.
    for var in [
        "ENTENTE_STREAM_MAX_PER_DELEGATION",
        "ENTENTE_STREAM_MAX_TOTAL",
    ] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, "1000");
        }
    }
    if std::env::var_os("ENTENTE_MAX_CONNECTIONS").is_none() {
        std::env::set_var("ENTENTE_MAX_CONNECTIONS", "2048");
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("loadgen's folder")?;
    if !dir.join("entente-server").is_file() && std::env::var_os("ENTENTE_SERVER_BIN").is_none() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-p", "entente-server", "--bin", "entente-server"]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        if !cmd.status()?.success() {
            bail!("building entente-server failed");
        }
    }
    Ok(match data {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            Server::start_with_data(d)
        }
        None => Server::start(),
    })
}

struct Run<'a> {
    host: String,
    args: &'a Args,
    log: NoteVerifier,
    secretariat: Actor,
    workload: Workload,
}

async fn get_json<T: serde::de::DeserializeOwned>(host: &str, path: &str) -> anyhow::Result<T> {
    let mut conn = Conn::open(host).await?;
    let (status, body) = conn.send(client::read_request(host, path, None)).await?;
    if status != 200 {
        bail!("GET {path}: {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body)?)
}

/// Posts one statement, waiting out 429s (set-up is not timed).
async fn post_patiently(conn: &mut Conn, body: Bytes) -> anyhow::Result<Bytes> {
    loop {
        let (status, answer) = conn.send(conn.post_request(body.clone())).await?;
        match status {
            201 => return Ok(answer),
            429 => tokio::time::sleep(Duration::from_millis(200)).await,
            _ => bail!(
                "set-up statement: {status}: {}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
}

impl<'a> Run<'a> {
    /// Founds the log (or reuses the secretariat kept in `key_file`), then
    /// admits the run's delegations.
    async fn setup(
        host: &str,
        args: &'a Args,
        key_file: Option<PathBuf>,
    ) -> anyhow::Result<Run<'a>> {
        let info: LogInfo = get_json(host, "/v1/log").await?;
        let log: NoteVerifier = info
            .verifier_key
            .parse()
            .map_err(|e| anyhow::anyhow!("log key: {e}"))?;
        let mut conn = Conn::open(host).await?;
        let code: DelegationCode = "SEC".parse().expect("a valid code");
        let secretariat = if info.size == 0 {
            let (key, pkcs8) = SigningKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(f) = &key_file {
                std::fs::write(f, pkcs8.as_bytes())?;
            }
            let mut sec = Actor::with_key(code, key, 1);
            let env = sec.admission_of(
                code,
                sec.key.public_key(),
                Role::Secretariat,
                "Load secretariat".into(),
            );
            post_patiently(&mut conn, env.to_canonical_json().into()).await?;
            sec
        } else {
            let Some(f) = key_file.filter(|f| f.is_file()) else {
                bail!("the log is not empty and no loadgen secretariat key is kept for it: use a fresh server or the same --data");
            };
            let key =
                SigningKey::from_pkcs8(&std::fs::read(f)?).map_err(|e| anyhow::anyhow!("{e}"))?;
            // seq only has to grow: the clock in microseconds always does.
            let seq = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_micros() as u64;
            Actor::with_key(code, key, seq)
        };
        let mut workload = Workload::new(args.kind, args.actors.max(1), args.payload_bytes);
        workload.sealed_share = args.sealed_share;
        let mut run = Run {
            host: host.to_owned(),
            args,
            log,
            secretariat,
            workload,
        };
        // A proofs run on a log that is already large enough posts nothing,
        // so it needs no delegations (and need not wait for the fold).
        if !(args.mode == Mode::Proofs && info.size >= args.entries) {
            run.admit_actors(&mut conn).await?;
        }
        Ok(run)
    }

    async fn admit_actors(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        let role = self.workload.role();
        // Positions may be sealed to a member: members announce their X25519
        // keys. Other workloads admit as they always did, without one.
        let with_keys = self.workload.kind == Kind::Position;
        for actor in &self.workload.actors {
            let env = self.secretariat.sign(Body::Admission(Admission {
                delegation: actor.code,
                name: format!("Load {}", actor.code),
                role,
                public_key: actor.key.public_key(),
                encryption_key: with_keys.then(|| actor.enc.public_key()),
            }));
            post_patiently(conn, env.to_canonical_json().into()).await?;
        }
        Ok(())
    }

    /// Signs `statements` statements (rounded up to whole rounds), posts them
    /// and verifies every receipt.
    async fn ingest(&mut self, statements: usize, timed: bool) -> anyhow::Result<Report> {
        let actors = self.workload.actors.len();
        let rounds = statements.div_ceil(actors).max(1);
        let chains = self.workload.sign_rounds(rounds);
        let sent = chains.clone();
        eprintln!(
            "loadgen: clock started: posting {} statements",
            actors * rounds
        );
        let (out, answers) = client::post_chains(&self.host, chains, self.args.connections).await?;
        let answered = sent.iter().zip(&answers).flat_map(|(chain, answer)| {
            chain
                .iter()
                .zip(answer)
                .map(|(body, (status, receipt))| (&body[..], *status, &receipt[..]))
        });
        let errors = check_receipts(&self.log, answered)
            .iter()
            .filter(|r| r.is_none())
            .count() as u64;
        let mut report = Report::new("ingest", &out, self.args.connections, errors);
        report.extra.insert(
            "bytes_per_statement".into(),
            (sent.iter().flatten().map(|b| b.len()).sum::<usize>()
                / sent.iter().map(Vec::len).sum::<usize>().max(1))
            .into(),
        );
        if self.workload.kind == Kind::Position {
            // Statement i of the signing call is sealed when floor((i+1)s)
            // passes floor(is): floor(n s) of n in all.
            let n = sent.iter().map(Vec::len).sum::<usize>();
            let sealed = (n as f64 * self.workload.sealed_share).floor() as u64;
            report
                .extra
                .insert("sealed_share".into(), self.workload.sealed_share.into());
            report.extra.insert("sealed".into(), sealed.into());
        }
        if !timed && errors > 0 {
            bail!("{errors} statements failed while filling the log");
        }
        Ok(report)
    }

    /// Statement reads by id: posts `--statements` first (untimed), then
    /// reads random ones.
    async fn reads(&mut self) -> anyhow::Result<Report> {
        let actors = self.workload.actors.len();
        if self.args.anonymous {
            for actor in &mut self.workload.actors {
                actor.tlp = Tlp::Clear;
            }
        }
        let rounds = self.args.statements.div_ceil(actors).max(1);
        let chains = self.workload.sign_rounds(rounds);
        let ids: Vec<String> = chains
            .iter()
            .flatten()
            .map(|b| {
                let env: entente_shared::dsse::Envelope =
                    serde_json::from_slice(b).expect("our own envelope");
                StatementId::of_payload(&env.payload).to_string()
            })
            .collect();
        let (out, _) = client::post_chains(&self.host, chains, self.args.connections).await?;
        if out.errors(201) > 0 {
            bail!("posting the statements to read: {:?}", out.statuses);
        }
        let ids = std::sync::Arc::new(ids);
        let seed: u64 = rand::rng().random();
        // GREEN statements are read signed, here by the secretariat, whose
        // key this run needs no more (reads are its last step); CLEAR ones
        // with `--anonymous`, unsigned.
        let reader = if self.args.anonymous {
            None
        } else {
            let (spare, _) = entente_shared::keys::SigningKey::generate()?;
            Some(std::sync::Arc::new(std::mem::replace(
                &mut self.secretariat.key,
                spare,
            )))
        };
        let (out, kept) = client::get_many(
            &self.host,
            reader,
            self.args.requests,
            self.args.connections,
            2,
            move |i| {
                let pick = (seed
                    .wrapping_add(i as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    % ids.len() as u64) as usize;
                format!("/v1/statements/{}", ids[pick])
            },
        )
        .await?;
        let mut errors = out.errors(200);
        for (path, body) in kept {
            let rec: Result<entente_shared::api::StatementRecord, _> =
                serde_json::from_slice(&body);
            match rec {
                Ok(r) if path.ends_with(&r.id.to_string()) => {}
                _ => errors += 1,
            }
        }
        Ok(Report::new("reads", &out, self.args.connections, errors))
    }

    /// Stream delivery: `--subscribers` subscribers, signed by the
    /// secretariat (whose key this run never rotates), follow the log live
    /// while the members' rotations are posted at `--rate` for `--seconds`.
    /// Throughput is the achieved write rate; latencies are delivery
    /// latencies over every (subscriber, entry) pair; a missing or repeated
    /// entry, or a failed post, is an error.
    async fn stream(&mut self) -> anyhow::Result<Report> {
        let args = self.args;
        let total = (args.rate * args.seconds as f64).round().max(1.0) as usize;
        let actors = self.workload.actors.len();
        let mut chains = self.workload.sign_rounds(total.div_ceil(actors));
        // Exactly `total`: round r of actor a is statement r*A + a.
        for (a, chain) in chains.iter_mut().enumerate() {
            chain.truncate(total.saturating_sub(a).div_ceil(actors));
        }
        let sent = chains.clone();
        let from = get_json::<LogInfo>(&self.host, "/v1/log").await?.size;
        let (spare, _) = SigningKey::generate()?;
        let reader = Arc::new(std::mem::replace(&mut self.secretariat.key, spare));
        let start = Instant::now();
        let mut subscribers = Vec::with_capacity(args.subscribers);
        for _ in 0..args.subscribers {
            subscribers.push(Subscriber::connect(&self.host, reader.clone(), from).await?);
        }
        let (stop, stopping) = tokio::sync::watch::channel(None);
        let following: Vec<_> = subscribers
            .into_iter()
            .map(|s| tokio::spawn(s.run(start, stopping.clone())))
            .collect();
        eprintln!(
            "loadgen: {} subscribers live from index {from}; clock started: posting {total} statements at {}/s",
            args.subscribers, args.rate
        );
        let (out, answers) =
            client::post_paced(&self.host, chains, args.connections, Some(args.rate)).await?;
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let answered = sent.iter().zip(&answers).flat_map(|(chain, answer)| {
            chain
                .iter()
                .zip(answer)
                .map(|(body, p)| (&body[..], p.status, &p.body[..]))
        });
        let receipts = check_receipts(&self.log, answered);
        let mut errors = receipts.iter().filter(|r| r.is_none()).count() as u64;
        // (index, µs from the start to the POST's send) of every accepted statement.
        let written: Vec<(u64, u64)> = receipts
            .iter()
            .zip(answers.iter().flatten())
            .filter_map(|(r, p)| Some((r.as_ref()?.index, (p.sent - start).as_micros() as u64)))
            .collect();
        let last = written.iter().map(|(i, _)| *i).max().unwrap_or(from);
        stop.send_replace(Some(Stop {
            last,
            deadline: tokio::time::Instant::now() + Duration::from_secs(30),
        }));
        let mut latencies = Vec::with_capacity(written.len() * args.subscribers);
        let (mut missing, mut repeats, mut resumes) = (0u64, 0u64, 0u64);
        for task in following {
            let seen = task.await?;
            if let Some(why) = &seen.failure {
                eprintln!("loadgen: a subscriber stopped early: {why}");
            }
            repeats += seen.repeats;
            resumes += u64::from(seen.resumes);
            for (index, sent_us) in &written {
                match seen.at(*index) {
                    Some(at) => latencies.push(u64::from(at).saturating_sub(*sent_us)),
                    None => missing += 1,
                }
            }
        }
        errors += missing + repeats;
        let mut report = Report::new("stream", &out, args.connections, errors);
        let extra = &mut report.extra;
        extra.insert("post_p99_ms".into(), report.p99_ms.into());
        extra.insert("target_rate_per_s".into(), args.rate.into());
        extra.insert("subscribers".into(), args.subscribers.into());
        extra.insert("expected".into(), (written.len() * args.subscribers).into());
        extra.insert("delivered".into(), latencies.len().into());
        extra.insert("missing".into(), missing.into());
        extra.insert("repeated".into(), repeats.into());
        extra.insert("resumes".into(), resumes.into());
        extra.insert("load_average".into(), load.trim().into());
        report.set_latencies(latencies);
        Ok(report)
    }

    /// Inclusion proofs at `--entries`: fills the log, (restarts an owned
    /// server, timing its start-up), then asks for random proofs.
    async fn proofs(&mut self, owned: Option<&mut Server>) -> anyhow::Result<Report> {
        let target = self.args.entries;
        let fill_started = Instant::now();
        loop {
            let info: LogInfo = get_json(&self.host, "/v1/log").await?;
            if info.size >= target {
                break;
            }
            let chunk = (target - info.size).min(100_000) as usize;
            self.ingest(chunk, false).await?;
            eprintln!(
                "loadgen: filled {} of {target} entries ({:.0} s)",
                info.size + chunk as u64,
                fill_started.elapsed().as_secs_f64()
            );
        }
        let mut extra = serde_json::Map::new();
        let mut pid = None;
        if let Some(server) = owned {
            server.stop();
            let data = server.data_dir().to_owned();
            let started = Instant::now();
            *server = Server::start_with_data(&data);
            extra.insert(
                "startup_ms".into(),
                (started.elapsed().as_millis() as u64).into(),
            );
            extra.insert("rss_mb_at_listen".into(), rss_mb(server.pid()).into());
            // The fold replays after the server listens (see server/src/store/verify.rs).
            while !server.stderr().contains("fold restored") {
                if started.elapsed() > Duration::from_secs(600) || !server.is_running() {
                    bail!("the fold was not restored:\n{}", server.stderr());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            extra.insert(
                "fold_ready_ms".into(),
                (started.elapsed().as_millis() as u64).into(),
            );
            extra.insert("rss_mb_fold_ready".into(), rss_mb(server.pid()).into());
            self.host = server.addr().to_owned();
            pid = Some(server.pid());
            let info: LogInfo = get_json(&self.host, "/v1/log").await?;
            extra.insert("entries".into(), info.size.into());
            // The store: the segment files and the sled index beside them.
            let store = dir_bytes(&data.join("entries")) + dir_bytes(&data.join("log"));
            extra.insert(
                "disk_bytes_per_entry".into(),
                (store / info.size.max(1)).into(),
            );
        }
        let cp_text = {
            let mut conn = Conn::open(&self.host).await?;
            let (_, body) = conn
                .send(client::read_request(&self.host, "/v1/checkpoint", None))
                .await?;
            String::from_utf8_lossy(&body).into_owned()
        };
        let cp = SignedCheckpoint::parse_and_verify(&cp_text, &self.log)
            .map_err(|e| anyhow::anyhow!("checkpoint: {e}"))?
            .checkpoint;
        let size = cp.size;
        let seed: u64 = rand::rng().random();
        let (out, kept) = client::get_many(
            &self.host,
            None,
            self.args.requests,
            self.args.connections,
            16,
            move |i| {
                let index = seed
                    .wrapping_add(i as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    % size;
                format!("/v1/proofs/inclusion?index={index}&size={size}")
            },
        )
        .await?;
        let mut errors = out.errors(200);
        for (_, body) in kept {
            let ok = serde_json::from_slice::<InclusionProof>(&body).is_ok_and(|p| {
                verify_inclusion(&p.leaf_hash, p.index, p.size, &p.proof, &cp.root).is_ok()
            });
            if !ok {
                errors += 1;
            }
        }
        let mut report = Report::new("proofs", &out, self.args.connections, errors);
        if let Some(pid) = pid {
            extra.insert("rss_mb_serving".into(), rss_mb(pid).into());
        }
        report.extra = extra;
        report.extra.insert("size".into(), size.into());
        Ok(report)
    }
}

/// Checks every `(sent, status, answer)`: a 201 with a receipt that verifies
/// (see [`ReceiptChecker`]); prints the first few failures. Returns the
/// receipts, `None` where the check failed.
fn check_receipts<'b>(
    log: &NoteVerifier,
    answered: impl Iterator<Item = (&'b [u8], u16, &'b [u8])>,
) -> Vec<Option<Receipt>> {
    let mut checker = ReceiptChecker::new(log.clone());
    let mut shown = 0;
    answered
        .map(|(body, status, answer)| {
            let verdict = if status == 201 {
                checker.check(body, answer)
            } else {
                Err(format!("{status}: {}", String::from_utf8_lossy(answer)))
            };
            verdict
                .map_err(|e| {
                    if shown < 5 {
                        shown += 1;
                        eprintln!("loadgen: {e}");
                    }
                })
                .ok()
        })
        .collect()
}

/// Resident memory of `pid` in MiB, from `/proc/PID/status`.
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Disk blocks used by every file under `dir`, in bytes (as `du` counts).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.blocks() * 512).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}
