//! Crash safety: the real server, under sustained signed writes, is killed
//! with SIGKILL at random moments and started again on the same folder (see
//! `entente_tests::crash` for what is checked after every restart). Also:
//! statements acknowledged just before a SIGTERM are there after a graceful
//! restart.
//!
//! The default suite kills 5 times; `cargo test -p entente-tests --test crash
//! -- --ignored` kills 100 times. `ENTENTE_CRASH_SEED` changes the seed.

use entente_tests::crash::{run, Down};

fn data() -> (tempfile::TempDir, std::path::PathBuf) {
    // The test owns the data folder: a `Server` removes its own scratch
    // folder when dropped, and each restart drops the previous one.
    let folder = tempfile::tempdir().expect("a temp dir");
    let data = folder.path().join("data");
    (folder, data)
}

#[test]
fn acknowledged_statements_survive_sigkill() {
    let (_folder, data) = data();
    run(&data, 5, Down::Kill);
}

#[test]
#[ignore = "long run: 100 kills (cargo test -p entente-tests --test crash -- --ignored)"]
fn acknowledged_statements_survive_a_hundred_sigkills() {
    let (_folder, data) = data();
    run(&data, 100, Down::Kill);
}

#[test]
fn acknowledged_statements_survive_sigterm() {
    let (_folder, data) = data();
    run(&data, 2, Down::Stop);
}
