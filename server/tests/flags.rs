//! The server binary's own command line: bad settings stop it with a clear message.

use std::process::Command;

const SERVER: &str = env!("CARGO_BIN_EXE_entente-server");

#[test]
fn a_named_config_file_that_is_missing_is_an_error() {
    let out = Command::new(SERVER)
        .args(["--config", "/nonexistent/server.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/server.toml"), "{err}");
}

#[test]
fn an_unknown_setting_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    std::fs::write(&path, "bind = \"127.0.0.1:0\"\nmax_bodyy_bytes = 1\n").unwrap();
    let out = Command::new(SERVER)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_bodyy_bytes"));
}

#[test]
fn environment_overrides_are_type_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(SERVER)
        .current_dir(dir.path())
        .env("ENTENTE_MAX_BATCH", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("max_batch"));
}
