//! Sealing and opening cost per statement, beside the signature check the
//! host makes of every statement (BENCHMARKS.md, "sealed bodies").
//!
//! `cargo bench -p entente-shared --bench seal`
//!
//! - `seal/2_readers`, `seal/11_readers`: `seal::seal` of a ~1 KB position
//!   body for its author and 1 recipient, and for its author and 10: a fresh
//!   content key, the body encrypted once, the key wrapped with HPKE once
//!   per reader;
//! - `open/recipient`: `seal::open` of the 2-reader seal by its recipient
//!   (one HPKE unwrap, the commitment, the body decrypted and parsed);
//! - `verify/...`: the Ed25519 check the host makes of every statement
//!   (`PublicKey::verify` over the envelope's PAE, built beforehand), of the
//!   same position signed in clear (GREEN) and sealed (RED, 2 readers).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use entente_shared::dsse::{pae, Envelope};
use entente_shared::encryption::{EncryptionKey, EncryptionSecret};
use entente_shared::keys::SigningKey;
use entente_shared::seal;
use entente_shared::statement::{Body, DelegationCode, Distribution, Position, Statement, Tlp};

/// A position whose open body is about 1 KB: a title and a text of
/// pseudo-random two-byte letters (as the load generator pads).
fn position() -> Body {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let text: String = (0..480)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_u32(0xC0 + (x % 64) as u32).unwrap_or('é')
        })
        .collect();
    Body::Position(Position {
        title: "Position on the supplier assessment".into(),
        text,
        subject: None,
    })
}

fn code(s: &str) -> DelegationCode {
    s.parse().expect("a valid delegation code")
}

/// The author and `recipients` others, each with a fresh X25519 key.
fn readers(recipients: usize) -> Vec<(DelegationCode, EncryptionSecret)> {
    std::iter::once(code("CZ"))
        .chain((0..recipients).map(|i| code(&format!("R{i}"))))
        .map(|c| (c, EncryptionSecret::generate()))
        .collect()
}

fn public(readers: &[(DelegationCode, EncryptionSecret)]) -> Vec<(DelegationCode, EncryptionKey)> {
    readers.iter().map(|(c, s)| (*c, s.public_key())).collect()
}

fn bench(c: &mut Criterion) {
    let body = position();
    let open_len = body.encode_open().len();
    let author = code("CZ");
    let two = readers(1);
    let eleven = readers(10);
    let (two_keys, eleven_keys) = (public(&two), public(&eleven));

    let sealed = seal::seal(&author, &body, &two_keys).expect("sealing");
    let (reader, secret) = &two[1];
    assert_eq!(
        seal::open(body.kind(), &author, &sealed, reader, secret).expect("opening"),
        body
    );

    // The envelopes the host verifies: the position in clear and sealed.
    let (key, _) = SigningKey::generate().expect("a key");
    let clear = Statement::new(author, &key, 1, Distribution::green(), body.clone()).sign(&key);
    let red = Distribution {
        tlp: Tlp::Red,
        to: vec![*reader],
    };
    let sealed_body = Body::Sealed {
        kind: body.kind(),
        sealed: Box::new(sealed.clone()),
    };
    let red = Statement::new(author, &key, 2, red, sealed_body).sign(&key);
    eprintln!(
        "seal bench: open body {open_len} bytes; envelope {} bytes in clear, {} sealed to 2 readers \
         ({} of ciphertext)",
        clear.to_canonical_json().len(),
        red.to_canonical_json().len(),
        sealed.ciphertext.len()
    );
    let public_key = key.public_key();
    let signed = |env: &Envelope| {
        (
            pae(&env.payload_type, &env.payload),
            env.signatures[0].sig.clone(),
        )
    };
    let (clear_pae, clear_sig) = signed(&clear);
    let (red_pae, red_sig) = signed(&red);

    let mut g = c.benchmark_group("seal");
    g.bench_function("2_readers", |b| {
        b.iter(|| seal::seal(&author, black_box(&body), black_box(&two_keys)).expect("sealing"))
    });
    g.bench_function("11_readers", |b| {
        b.iter(|| seal::seal(&author, black_box(&body), black_box(&eleven_keys)).expect("sealing"))
    });
    g.finish();

    c.bench_function("open/recipient", |b| {
        b.iter(|| {
            seal::open(body.kind(), &author, black_box(&sealed), reader, secret).expect("opening")
        })
    });

    let mut g = c.benchmark_group("verify");
    g.bench_function("clear_position", |b| {
        b.iter(|| {
            public_key
                .verify(black_box(&clear_pae), black_box(&clear_sig))
                .expect("valid")
        })
    });
    g.bench_function("sealed_position", |b| {
        b.iter(|| {
            public_key
                .verify(black_box(&red_pae), black_box(&red_sig))
                .expect("valid")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
