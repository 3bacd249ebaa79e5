//! The CLI without a server: clear errors, key files kept private.

use std::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_entente");

#[test]
fn commands_without_a_profile_say_how_to_make_one() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(CLI)
        .arg("--home")
        .arg(home.path())
        .args(["key", "show"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("entente init"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
}

#[test]
fn init_refuses_a_bad_delegation_code_before_touching_the_network() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(CLI)
        .arg("--home")
        .arg(home.path().join("p"))
        .args([
            "init",
            "--delegation",
            "czech",
            "--name",
            "x",
            "--server",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("capital letters"));
    assert!(
        !home.path().join("p").exists(),
        "a failed init leaves no profile behind"
    );
}

#[test]
fn an_unreachable_server_is_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(CLI)
        .arg("--home")
        .arg(home.path().join("p"))
        .args([
            "init",
            "--delegation",
            "CZ",
            "--name",
            "x",
            "--server",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach"), "{err}");
}
