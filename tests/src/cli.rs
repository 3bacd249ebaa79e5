//! The `entente` CLI, run as a delegation would run it, with its own home.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::cli_bin;

/// How long one CLI command may take before the test gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// One delegation's profile: a temporary `--home` and the server it talks to.
pub struct Cli {
    home: TempDir,
    server: String,
}

impl Cli {
    /// A fresh, empty home for a delegation that will use `server_url`.
    pub fn new(server_url: &str) -> Cli {
        Cli {
            home: tempfile::tempdir().expect("creating a temp home"),
            server: server_url.to_owned(),
        }
    }

    /// A copy of this profile as it is now: the same delegation on a second
    /// machine, with its key and what it has pinned so far.
    pub fn copy(&self) -> Cli {
        let home = tempfile::tempdir().expect("creating a temp home");
        crate::copy_dir(self.home.path(), home.path());
        Cli {
            home,
            server: self.server.clone(),
        }
    }

    /// The profile folder passed as `--home`.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Path of the delegation's private key file.
    pub fn key_file(&self) -> PathBuf {
        self.home.path().join("key.pk8")
    }

    /// The delegation's signing key, read from its home (to sign raw requests).
    pub fn signing_key(&self) -> entente_shared::keys::SigningKey {
        let der = std::fs::read(self.key_file()).expect("reading key.pk8");
        entente_shared::keys::SigningKey::from_pkcs8(&der)
            .expect("key.pk8 is an Ed25519 PKCS#8 key")
    }

    /// The server URL this profile was made for.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// `entente init` for `code` against this profile's server; `bootstrap`
    /// founds the log with this delegation as its secretariat.
    pub fn init(&self, code: &str, name: &str, bootstrap: bool) -> Value {
        let mut args = vec![
            "init",
            "--delegation",
            code,
            "--name",
            name,
            "--server",
            &self.server,
        ];
        if bootstrap {
            args.push("--bootstrap");
        }
        self.json(&args)
    }

    /// `entente admit` by this (secretariat) profile of `code` as `role`,
    /// with both keys `shown` names (what the member's `init` or `key show`
    /// printed as JSON).
    pub fn admit(&self, shown: &Value, code: &str, name: &str, role: &str) -> Value {
        let key = |field: &str| {
            shown[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {shown}"))
                .to_owned()
        };
        let (public_key, encryption_key) = (key("public_key"), key("encryption_key"));
        self.json(&[
            "admit",
            code,
            "--name",
            name,
            "--key",
            &public_key,
            "--encryption-key",
            &encryption_key,
            "--role",
            role,
        ])
    }

    /// A profile for CZ ("Czech Republic") that founds the log at
    /// `server_url` as its secretariat (`entente init --bootstrap`).
    pub fn secretariat(server_url: &str) -> Cli {
        let cz = Cli::new(server_url);
        cz.init("CZ", "Czech Republic", true);
        cz
    }

    /// `entente propose FILE --title TITLE --participants CODES --rule
    /// unanimous --deadline DEADLINE EXTRA...`: the proposal's id.
    pub fn propose(
        &self,
        file: &str,
        title: &str,
        participants: &str,
        deadline: &str,
        extra: &[&str],
    ) -> String {
        let mut args = vec![
            "propose",
            file,
            "--title",
            title,
            "--participants",
            participants,
            "--rule",
            "unanimous",
            "--deadline",
            deadline,
        ];
        args.extend_from_slice(extra);
        self.json(&args)["id"]
            .as_str()
            .expect("propose prints the id")
            .to_owned()
    }

    /// As secretariat, seats a new delegation `code` (named `code`) as
    /// `role`: its own profile made with `entente init`, then admitted with
    /// both its keys. Returns its CLI.
    pub fn seat(&self, code: &str, role: &str) -> Cli {
        let cli = Cli::new(&self.server);
        self.admit(&cli.init(code, code, false), code, code, role);
        cli
    }

    /// Runs `entente --home HOME ARGS...` and returns what it did.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(cli_bin());
        cmd.arg("--home").arg(self.home.path()).args(args);
        // Only --home decides the profile: a stray ENTENTE_HOME must not.
        cmd.env_remove("ENTENTE_HOME");
        run_with_timeout(cmd, &format!("entente {}", args.join(" ")))
    }

    /// Runs `entente --json ARGS...`, asserts it succeeded, parses its stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let shown = show(args, &out);
        assert!(out.status.success(), "expected success: {shown}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {shown}"))
    }

    /// Runs `entente ARGS...`, asserts it failed; returns `(exit code, stderr)`.
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        let shown = show(args, &out);
        assert!(!out.status.success(), "expected a failure: {shown}");
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {shown}"));
        (code, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A long-running `entente` command (e.g. `watch`), its stdout read line by
/// line on a thread. Dropping it kills the process.
pub struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::path::PathBuf,
    _scratch: TempDir,
}

impl Cli {
    /// Starts `entente --home HOME ARGS...` without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let scratch = tempfile::tempdir().expect("creating a temp dir");
        let stderr = scratch.path().join("stderr");
        let mut child = Command::new(cli_bin())
            .arg("--home")
            .arg(self.home.path())
            .args(args)
            .env_remove("ENTENTE_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(&stderr).expect("creating a stderr file"),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", cli_bin().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr,
            _scratch: scratch,
        }
    }
}

impl Running {
    /// The next line of stdout, waiting at most `timeout`.
    pub fn line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// The next stdout line as JSON; panics (showing stderr) if none comes in `timeout`.
    pub fn json_line(&self, timeout: Duration) -> Value {
        let line = self
            .line(timeout)
            .unwrap_or_else(|| panic!("no output within {timeout:?}; stderr:\n{}", self.stderr()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends SIGINT and waits (at most `timeout`) for the process to exit.
    pub fn interrupt(&mut self, timeout: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        self.wait(timeout)
    }

    /// Waits at most `timeout` for the process to exit; panics if it does not.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling entente") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "entente did not exit within {timeout:?}:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn show(args: &[&str], out: &Output) -> String {
    format!(
        "entente {}\nexit: {}\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `Command::output` with a deadline, so a hung CLI fails the test instead of
/// hanging the whole run.
fn run_with_timeout(mut cmd: Command, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", cli_bin().display()));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().expect("polling entente") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}
