//! Sealed-body interoperability with pyhpke, an independent HPKE (RFC 9180)
//! implementation: what we seal opens there (content key unwrapped, commitment
//! checked, body decrypted with pyca/cryptography's ChaCha20-Poly1305), and
//! what it seals to our key opens here.
//!
//! Needs `python3` with `pyhpke` and `cryptography` (`.ci/run` installs them).

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use entente_shared::encryption::EncryptionSecret;
use entente_shared::seal;
use entente_shared::statement::{Body, DelegationCode, Kind, Position, Sealed};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/hpke_interop.py");

fn python(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("python3 must be installed, with pyhpke and cryptography (see .ci/run)")
}

fn code(s: &str) -> DelegationCode {
    s.parse().unwrap()
}

/// A position whose text holds a marker no other run produces, long enough
/// (and not ASCII only) that its padded plaintext takes more than one block.
fn position() -> Body {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let marker = format!("hpke-interop-{}-{nanos}", std::process::id());
    Body::Position(Position {
        title: "Prague proposals — 5G suppliers".into(),
        text: format!(
            "{marker}: {}",
            "High-risk vendors are excluded from the core network. ".repeat(6)
        ),
        subject: None,
    })
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn our_seal_opens_with_pyhpke() {
    let dir = tempfile::tempdir().unwrap();
    let (cz, us) = (code("CZ"), code("US"));
    let (cz_secret, us_secret) = (EncryptionSecret::generate(), EncryptionSecret::generate());
    let body = position();
    let sealed = seal::seal(
        &cz,
        &body,
        &[(us, us_secret.public_key()), (cz, cz_secret.public_key())],
    )
    .unwrap();
    let path = dir.path().join("sealed.json");
    std::fs::write(&path, serde_json::to_vec(&sealed).unwrap()).unwrap();

    // Every reader, the recipient and the author, opens the same body.
    for (reader, secret) in [("US", &us_secret), ("CZ", &cz_secret)] {
        let out = python(&[
            "open",
            path.to_str().unwrap(),
            secret.to_text().trim(),
            "position",
            "CZ",
            reader,
        ]);
        assert!(
            out.status.success(),
            "pyhpke did not open our sealed body as {reader}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json(&out.stdout), json(&body.encode_open()), "as {reader}");
    }

    // And it notices tampering, so the check above means something.
    let mut forged = sealed.clone();
    forged.ciphertext[5] ^= 1;
    std::fs::write(&path, serde_json::to_vec(&forged).unwrap()).unwrap();
    let out = python(&[
        "open",
        path.to_str().unwrap(),
        us_secret.to_text().trim(),
        "position",
        "CZ",
        "US",
    ]);
    assert!(
        !out.status.success(),
        "pyhpke opened a sealed body whose ciphertext was changed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ciphertext does not open"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pyhpke_seal_opens_here() {
    let dir = tempfile::tempdir().unwrap();
    let (cz, us) = (code("CZ"), code("US"));
    let us_secret = EncryptionSecret::generate();
    let body = position();
    let body_path = dir.path().join("body.json");
    std::fs::write(&body_path, body.encode_open()).unwrap();
    let out_path = dir.path().join("sealed.json");
    let out = python(&[
        "seal",
        body_path.to_str().unwrap(),
        "position",
        "CZ",
        "US",
        &us_secret.public_key().to_string(),
        out_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sealed: Sealed = serde_json::from_slice(&std::fs::read(&out_path).unwrap())
        .expect("pyhpke's sealed body must read as a Sealed");
    assert_eq!(sealed.keys[0].key, us_secret.public_key().key_id());
    let opened = seal::open(Kind::Position, &cz, &sealed, &us, &us_secret)
        .expect("a body sealed by pyhpke must open");
    assert_eq!(opened, body);
}
