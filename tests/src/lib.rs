//! End-to-end test harness: drives the real `entente-server` and `entente`
//! binaries as separate processes, the way delegations and operators do.
//!
//! - [`Server`] starts `entente-server` on a temporary data folder and a free
//!   loopback port (port 0; the address is read from the one line the server
//!   prints on stdout), stops it with SIGTERM or SIGKILL, and can start it
//!   again on the same folder and address.
//! - [`Cli`] runs `entente` with its own temporary `--home` (one per
//!   delegation), returning its `--json` output, or its exit code and stderr.
//! - [`http`] is a tiny raw HTTP/1.1 client, for requests the CLI would never
//!   send (forged, replayed, malformed or oversized envelopes).
//! - [`powercut`] is an in-memory FUSE file system whose power cut drops every
//!   write and name change not made durable by `fsync`, as a disk cache does.
//! - [`browser`] drives a headless Chromium (chromedriver) for the web console.
//! - [`readable`] is what a leak search looks through: text, base64 decoded, zstd decompressed.
//!
//! The binaries are not built by `cargo test -p entente-tests` (a test crate
//! cannot depend on another package's binaries); `cargo test --workspace`, as
//! `.ci/run` runs it, builds them first, and `cargo build --workspace` does.
//! They are looked up next to the test executable (`target/<profile>`),
//! unless `ENTENTE_SERVER_BIN` / `ENTENTE_BIN` name them. Either way a binary
//! older than any source it is built from (its crate's `src/`, `shared/src/`,
//! the framework files, the manifests, `Cargo.lock`) fails the test that
//! wants it, with a message saying to run `cargo build`: a green run is never
//! a run of stale binaries. (Building them from here would not deadlock, as
//! cargo does not hold its lock while tests run, but `cargo build -p
//! entente-server -p entente-client` unifies dependency features differently
//! from `cargo test --workspace`, and each switch between the two rebuilt both
//! binaries: 1.5 minutes here, every time.)
//!
//! Every test starts its own server and homes, so tests run in parallel.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

pub mod actors;
pub mod browser;
pub mod cli;
pub mod crash;
pub mod http;
pub mod leaks;
pub mod load;
pub mod powercut;
pub mod scenario;
pub mod server;

pub use cli::Cli;
pub use leaks::readable;
pub use server::Server;

/// Prefix of every problem `type` the server answers with.
pub const PROBLEM: &str = "urn:entente:problem:";

/// Path of the `entente-server` binary (see the crate docs); checked fresh.
pub fn server_bin() -> PathBuf {
    static FRESH: OnceLock<PathBuf> = OnceLock::new();
    FRESH
        .get_or_init(|| {
            fresh(
                find_bin("ENTENTE_SERVER_BIN", "entente-server"),
                &["server", "shared"],
            )
        })
        .clone()
}

/// Path of the `entente` CLI binary (see the crate docs); checked fresh.
pub fn cli_bin() -> PathBuf {
    static FRESH: OnceLock<PathBuf> = OnceLock::new();
    FRESH
        .get_or_init(|| fresh(find_bin("ENTENTE_BIN", "entente"), &["client", "shared"]))
        .clone()
}

/// `bin`, if it is newer than every source of `crates` (their `src/` and
/// manifests, the framework files the shared crate embeds, `Cargo.lock`);
/// panics otherwise, naming the newer file.
fn fresh(bin: PathBuf, crates: &[&str]) -> PathBuf {
    let built = modified(&bin);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let mut sources = vec![root.join("Cargo.lock"), root.join("config/frameworks")];
    for krate in crates {
        sources.push(root.join(krate).join("src"));
        sources.push(root.join(krate).join("Cargo.toml"));
    }
    let newest = sources
        .iter()
        .filter(|p| p.exists())
        .filter_map(|p| newest_file(p))
        .max_by_key(|(time, _)| *time);
    if let Some((time, file)) = newest {
        assert!(
            time <= built,
            "{} is older than {}: the binary is stale; run `cargo build --workspace` \
             (or `cargo test --workspace`, which builds it) before `cargo test -p entente-tests`",
            bin.display(),
            file.display()
        );
    }
    bin
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("reading the time of {}: {e}", path.display()))
}

/// The most recently modified file under `path` (or `path` itself), with its
/// time. Unit-test files (`tests.rs`, `*_tests.rs`, anything in a `tests/`
/// folder) are not in the binaries, so they do not make them stale.
fn newest_file(path: &Path) -> Option<(SystemTime, PathBuf)> {
    if path.is_file() {
        let name = path.file_name()?.to_str()?;
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            return None;
        }
        return Some((modified(path), path.to_owned()));
    }
    if path.file_name().is_some_and(|n| n == "tests") {
        return None;
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| newest_file(&e.ok()?.path()))
        .max_by_key(|(time, _)| *time)
}

fn find_bin(env: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env}={} does not name a file",
            path.display()
        );
        return path;
    }
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    // The test executable is target/<profile>/deps/<test>-<hash>; the
    // binaries sit in target/<profile>.
    let exe = std::env::current_exe().expect("locating the test executable");
    exe.ancestors()
        .skip(1)
        .take(3)
        .map(|dir| dir.join(&file))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no `{file}` binary above {}: run `cargo build --workspace` first (or set {env})",
                exe.display()
            )
        })
}

/// Writes `text` to `dir/name`; returns the path as text, for a CLI argument.
pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing a scratch file");
    path.display().to_string()
}

/// Copies the folder `from` (recursively) to `to`, which must not exist yet.
/// Used to snapshot and restore a stopped server's data folder.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()))
    {
        let entry = entry.expect("reading a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

/// The log's segment files in a (stopped) server's data folder, in log order.
pub fn segment_files(data: &Path) -> Vec<PathBuf> {
    let dir = data.join("entries");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
}

/// Where each record of a segment file's bytes lies (header included), read
/// from the length at the start of each.
pub fn segment_records(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        out.push(at..at + 16 + len);
        at += 16 + len;
    }
    out
}
