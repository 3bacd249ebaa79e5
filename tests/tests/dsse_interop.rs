//! DSSE interoperability with securesystemslib, an independent implementation:
//! our envelopes verify there, and its signatures verify here.
//!
//! Needs `python3` with `securesystemslib[crypto]` (`.ci/run` installs it).

use std::process::Command;

use entente_shared::dsse::Envelope;
use entente_shared::keys::SigningKey;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/dsse_interop.py");

fn python(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("python3 must be installed, with securesystemslib[crypto] (see .ci/run)")
}

#[test]
fn our_envelope_verifies_with_securesystemslib() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = SigningKey::generate().unwrap();
    let envelope = Envelope::sign(
        br#"{"kind":"position","text":"5G suppliers"}"#.to_vec(),
        &key,
    );
    let path = dir.path().join("envelope.json");
    std::fs::write(&path, envelope.to_canonical_json()).unwrap();
    let out = python(&[
        "verify",
        path.to_str().unwrap(),
        &key.public_key().to_string(),
        key.key_id().as_str(),
    ]);
    assert!(
        out.status.success(),
        "securesystemslib refused our envelope: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And it notices tampering, so the check above means something.
    let mut forged = envelope.clone();
    forged.payload[2] ^= 1;
    std::fs::write(&path, forged.to_canonical_json()).unwrap();
    let out = python(&[
        "verify",
        path.to_str().unwrap(),
        &key.public_key().to_string(),
        key.key_id().as_str(),
    ]);
    assert!(
        !out.status.success(),
        "securesystemslib accepted a forged envelope"
    );
}

#[test]
fn securesystemslib_envelope_verifies_here() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload.json");
    std::fs::write(&path, br#"{"kind":"position"}"#).unwrap();
    let out = python(&["sign", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut envelope: Envelope = serde_json::from_value(answer["envelope"].clone()).unwrap();
    let public: entente_shared::keys::PublicKey =
        answer["public_key"].as_str().unwrap().parse().unwrap();
    // securesystemslib's keyid is its own (SHA-256 of its key dict), an unsigned hint:
    // the signature over PAE is what must interoperate.
    envelope.signatures[0].keyid.clear();
    envelope
        .verify(&public.key_id(), &public)
        .expect("a securesystemslib signature must verify");
}
