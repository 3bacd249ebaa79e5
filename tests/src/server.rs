//! A real `entente-server` process on a loopback port, for one test.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{http, server_bin};

/// How long a server may take to verify its store and print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to shut down after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// What the server prints on stdout, once per bound address.
const LISTENING: &str = "entente-server listening on ";

/// A running (or stopped) `entente-server`. Dropping it kills the process.
///
/// The struct outlives the process on purpose: after [`Server::stop`] its data
/// folder is still there, to be tampered with or served again.
pub struct Server {
    child: Child,
    url: String,
    data: PathBuf,
    stderr_path: PathBuf,
    /// The extra `ENTENTE_*` settings it was started with; a restart keeps them.
    env: Vec<(String, String)>,
    // Working directory (so no `config/server.toml` is picked up), server
    // stderr, and for `start()` the data folder too. Removed on drop.
    scratch: TempDir,
}

/// Why a server did not come up: it exited with `status`, saying `stderr`.
struct Exited {
    status: ExitStatus,
    stderr: String,
}

impl Server {
    /// Starts a server on a fresh, empty data folder and a free port.
    pub fn start() -> Server {
        let scratch = tempfile::tempdir().expect("creating a temp dir");
        let data = scratch.path().join("data");
        Server::launch(scratch, &data, "127.0.0.1:0").unwrap_or_else(|e| {
            panic!(
                "entente-server exited ({}) instead of starting:\n{}",
                e.status, e.stderr
            )
        })
    }

    /// Starts a server on a fresh data folder and a free loopback port, with
    /// extra command-line arguments (e.g. `--config FILE` for TLS).
    pub fn start_with_args(args: &[&str]) -> Server {
        Server::start_with(args, &[])
    }

    /// Starts a server on a fresh data folder with extra settings as
    /// `ENTENTE_*` environment variables, e.g. `("ENTENTE_WITNESS_INTERVAL_SECS", "1")`.
    pub fn start_with_env(vars: &[(&str, &str)]) -> Server {
        Server::start_with(&[], vars)
    }

    fn start_with(args: &[&str], vars: &[(&str, &str)]) -> Server {
        let scratch = tempfile::tempdir().expect("creating a temp dir");
        let data = scratch.path().join("data");
        Server::launch_with(scratch, &data, "127.0.0.1:0", args, vars).unwrap_or_else(|e| {
            panic!(
                "entente-server exited ({}) instead of starting:\n{}",
                e.status, e.stderr
            )
        })
    }

    /// Starts a server on an existing data folder and a free port.
    pub fn start_with_data(data: &Path) -> Server {
        Server::try_start_with_data(data)
            .unwrap_or_else(|stderr| panic!("entente-server did not start:\n{stderr}"))
    }

    /// Starts a server on an existing data folder with extra `ENTENTE_*` settings.
    pub fn start_with_data_and_env(data: &Path, vars: &[(&str, &str)]) -> Server {
        let scratch = tempfile::tempdir().expect("creating a temp dir");
        Server::launch_with(scratch, data, "127.0.0.1:0", &[], vars)
            .unwrap_or_else(|e| panic!("entente-server did not start:\n{}", e.stderr))
    }

    /// Starts a server on `data` expecting it may refuse to: `Err(stderr)` if it
    /// exited with a non-zero status before listening. (Exiting with status 0
    /// without listening is never right and panics.)
    pub fn try_start_with_data(data: &Path) -> Result<Server, String> {
        let scratch = tempfile::tempdir().expect("creating a temp dir");
        Server::launch(scratch, data, "127.0.0.1:0").map_err(|e| e.stderr)
    }

    /// Stops this server and keeps a copy of its data folder in the returned
    /// folder, for a later [`Server::restart_from`] (a rollback by the host).
    pub fn stop_and_copy(&mut self) -> TempDir {
        self.stop();
        let copy = tempfile::tempdir().expect("creating a temp dir");
        crate::copy_dir(self.data_dir(), &copy.path().join("data"));
        copy
    }

    /// Starts a new server on this (stopped) server's data folder and address,
    /// so that CLI profiles, which store the URL, keep working, with the same
    /// extra settings.
    pub fn restart(&self) -> Server {
        let vars: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Server::start_at(self.data_dir(), self.addr(), &vars)
    }

    /// [`Server::restart`] with further `ENTENTE_*` settings (kept by later
    /// restarts too).
    pub fn restart_with_env(&self, more: &[(&str, &str)]) -> Server {
        let mut vars: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        vars.extend_from_slice(more);
        Server::start_at(self.data_dir(), self.addr(), &vars)
    }

    /// Puts the data folder kept by [`Server::stop_and_copy`] back in place of
    /// this server's, then [`Server::restart`]s: the host rolls its log back.
    /// Every server started on the folder since must be stopped.
    pub fn restart_from(&self, copy: &TempDir) -> Server {
        std::fs::remove_dir_all(self.data_dir()).expect("removing the data folder");
        crate::copy_dir(&copy.path().join("data"), self.data_dir());
        self.restart()
    }

    /// Starts a server on `data` listening on exactly `addr` (`127.0.0.1:PORT`),
    /// e.g. the address of a server just stopped, so that CLI profiles, which
    /// store the server URL, keep working. Binding is retried for a while in
    /// case the port is not free again yet.
    pub fn start_with_data_at(data: &Path, addr: &str) -> Server {
        Server::start_at(data, addr, &[])
    }

    fn start_at(data: &Path, addr: &str, vars: &[(&str, &str)]) -> Server {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let scratch = tempfile::tempdir().expect("creating a temp dir");
            match Server::launch_with(scratch, data, addr, &[], vars) {
                Ok(server) => return server,
                Err(e) if e.stderr.contains("binding") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!(
                    "entente-server on {addr} exited ({}) instead of starting:\n{}",
                    e.status, e.stderr
                ),
            }
        }
    }

    fn launch(scratch: TempDir, data: &Path, bind: &str) -> Result<Server, Exited> {
        Server::launch_with(scratch, data, bind, &[], &[])
    }

    fn launch_with(
        scratch: TempDir,
        data: &Path,
        bind: &str,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Result<Server, Exited> {
        let stderr_path = scratch.path().join("server.stderr");
        let stderr = File::create(&stderr_path).expect("creating the server's stderr file");
        let mut child = Command::new(server_bin())
            .arg("--data")
            .arg(data)
            .arg("--bind")
            .arg(bind)
            .args(args)
            .current_dir(scratch.path())
            // Settings also come from ENTENTE_* variables; keep the tests'
            // environment from leaking into the server's.
            .env_remove("ENTENTE_BIND")
            .env_remove("ENTENTE_DATA")
            .env_remove("ENTENTE_ORIGIN")
            .env_remove("ENTENTE_LOG_FORMAT")
            .env_remove("ENTENTE_TLS_CERT")
            .env_remove("ENTENTE_TLS_KEY")
            .env_remove("ENTENTE_PUBLIC_URL")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // A file, not a pipe: a chatty server must never block on a full pipe,
            // and the file is there to show when something goes wrong.
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", server_bin().display()));

        // Read stdout on a thread so waiting for the line can time out.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix(LISTENING) {
                        return Ok(Server {
                            child,
                            url: url.trim().to_owned(),
                            data: data.to_owned(),
                            stderr_path,
                            env: vars
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .collect(),
                            scratch,
                        });
                    }
                }
                // stdout closed: the process is exiting without listening.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("waiting for entente-server");
                    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    assert!(
                        !status.success(),
                        "entente-server exited successfully without listening:\n{stderr}"
                    );
                    return Err(Exited { status, stderr });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    panic!("entente-server did not listen within {START_TIMEOUT:?}:\n{stderr}");
                }
            }
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (`https://` with TLS).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address, e.g. `127.0.0.1:41234`.
    pub fn addr(&self) -> &str {
        self.url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
    }

    /// The process id, e.g. to read its memory use from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The data folder (`log` is the sled store, `log-key.pk8` the log key).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// A scratch folder that lives as long as this value, for copies and such.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// The log size as the server reports it (`GET /v1/log`).
    pub fn log_size(&self) -> u64 {
        let r = http::request(&self.url, "GET", "/v1/log", None);
        assert_eq!(r.status, 200, "GET /v1/log: {}", r.text());
        r.json()["size"]
            .as_u64()
            .unwrap_or_else(|| panic!("GET /v1/log has no size: {}", r.text()))
    }

    /// Graceful stop: SIGTERM, then wait (killing it if it takes too long).
    /// Returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.child.try_wait().expect("polling entente-server") {
            return status;
        }
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if sent {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Some(status) = self.child.try_wait().expect("polling entente-server") {
                    return status;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!("entente-server ignored SIGTERM for {STOP_TIMEOUT:?}; killing it");
        }
        self.kill()
    }

    /// Hard stop: SIGKILL, then wait. Returns the exit status.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("waiting for entente-server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
