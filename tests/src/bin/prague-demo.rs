//! `cargo run -p entente-tests --bin prague-demo`: a fresh server in a
//! temporary folder, the Prague scenario played through the real CLI, and a
//! readable summary.

use std::process::Command;

use entente_tests::scenario::{play, Delegations, SUPPLIERS};
use entente_tests::Server;

/// The Prague 5G Security Conference scenario played through the real CLI
/// against a fresh server in a temporary folder, with a readable summary:
/// seven delegations, assessments, a proposal with a silence procedure,
/// endorsements, a declaration.
#[derive(clap::Parser)]
#[command(name = "prague-demo", version)]
struct Args {}

fn main() {
    // `--help` prints this, and anything else unknown is refused, before
    // anything is built or started.
    let Args {} = clap::Parser::parse();
    // `cargo run` builds this binary only; the demo drives the other two.
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = cfg!(not(debug_assertions));
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "-q",
            "-p",
            "entente-server",
            "-p",
            "entente-client",
        ]);
        if release {
            build.arg("--release");
        }
        let ok = build.status().map(|s| s.success()).unwrap_or(false);
        if !ok {
            eprintln!("prague-demo: building entente-server and entente failed");
            std::process::exit(1);
        }
    }
    let server = Server::start();
    println!(
        "Entente — Prague demo\nserver {} (data in {})\n",
        server.url(),
        server.data_dir().display()
    );
    let work = tempfile::tempdir().expect("temp dir");
    let d = Delegations::seat(server.url());
    println!("Seated: CZ (secretariat); US, DE, UK, FR (members); NATO, EC (observers)\n");
    let outcome = play(&d, work.path(), &mut |line| println!("  · {line}"));

    println!("\nSuppliers (fictional):");
    for name in SUPPLIERS {
        let text = d.cz.run(&["supplier", "show", name]);
        println!("{}", String::from_utf8_lossy(&text.stdout));
    }
    for (label, id) in [
        ("Bilateral declaration", &outcome.bilateral),
        ("Principles", &outcome.principles),
        ("Silence-procedure notice", &outcome.silence),
    ] {
        println!("\n=== {label} ===");
        let shown = d.us.run(&["declaration", "show", id]);
        println!("{}", String::from_utf8_lossy(&shown.stdout));
    }
    println!(
        "Observer's endorsement refused: {}",
        outcome.observer_refusal.trim()
    );
    let verify = d.fr.run(&["log", "verify"]);
    println!(
        "\nFR verifies the whole log: {}",
        String::from_utf8_lossy(&verify.stdout).trim()
    );
}
