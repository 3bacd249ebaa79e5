//! Sealing and opening: every reader opens the same body; each way a seal
//! can be tampered with is caught and named.

use super::*;
use crate::statement::{Message, Position, StatementId};

fn code(c: &str) -> DelegationCode {
    c.parse().unwrap()
}

fn paper() -> Body {
    Body::Position(Position {
        title: "Huawei and ZTE".into(),
        text: "MARKER-RED-7 suppliers subject to foreign influence".into(),
        subject: None,
    })
}

fn readers(secrets: &[(&str, &EncryptionSecret)]) -> Vec<(DelegationCode, EncryptionKey)> {
    secrets
        .iter()
        .map(|(c, s)| (code(c), s.public_key()))
        .collect()
}

/// A statement by CZ under `tlp` (to US unless GREEN) carrying `sealed`.
fn statement(tlp: crate::statement::Tlp, kind: Kind, sealed: Sealed) -> Statement {
    Statement {
        author: code("CZ"),
        key: crate::keys::SigningKey::generate().unwrap().0.key_id(),
        seq: 1,
        issued_at: time::OffsetDateTime::UNIX_EPOCH,
        distribution: crate::statement::Distribution {
            to: if tlp == crate::statement::Tlp::Green {
                vec![]
            } else {
                vec![code("US")]
            },
            tlp,
        },
        body: Body::Sealed {
            kind,
            sealed: Box::new(sealed),
        },
    }
}

#[test]
fn every_reader_opens_the_same_body_and_no_one_else_does() {
    let (cz, us, de) = (
        EncryptionSecret::generate(),
        EncryptionSecret::generate(),
        EncryptionSecret::generate(),
    );
    let sealed = seal(&code("CZ"), &paper(), &readers(&[("CZ", &cz), ("US", &us)])).unwrap();
    let text = serde_json::to_string(&sealed).unwrap();
    assert!(!text.contains("MARKER-RED-7"));
    assert_eq!(
        sealed.ciphertext.len() % PAD_TO,
        crate::statement::sealed::TAG_LEN
    );
    for (reader, secret) in [("CZ", &cz), ("US", &us)] {
        let body = open(Kind::Position, &code("CZ"), &sealed, &code(reader), secret).unwrap();
        assert_eq!(body, paper());
    }
    // DE has no wrapped key; DE's key does not open US's.
    assert_eq!(
        open(Kind::Position, &code("CZ"), &sealed, &code("DE"), &de),
        Err(SealError::Unwrap(code("DE")))
    );
    assert_eq!(
        open(Kind::Position, &code("CZ"), &sealed, &code("US"), &de),
        Err(SealError::Unwrap(code("US")))
    );
}

#[test]
fn a_sealed_body_is_bound_to_its_kind_and_author() {
    let (cz, us) = (EncryptionSecret::generate(), EncryptionSecret::generate());
    let sealed = seal(&code("CZ"), &paper(), &readers(&[("CZ", &cz), ("US", &us)])).unwrap();
    assert!(open(Kind::Message, &code("CZ"), &sealed, &code("US"), &us).is_err());
    assert!(open(Kind::Position, &code("FR"), &sealed, &code("US"), &us).is_err());
}

#[test]
fn tampering_is_caught_and_named() {
    let (cz, us, de) = (
        EncryptionSecret::generate(),
        EncryptionSecret::generate(),
        EncryptionSecret::generate(),
    );
    let all = readers(&[("CZ", &cz), ("US", &us), ("DE", &de)]);
    let sealed = seal(&code("CZ"), &paper(), &all).unwrap();
    let opens_for_us = |s: &Sealed| open(Kind::Position, &code("CZ"), s, &code("US"), &us);

    // A swapped wrapped key: US's entry carries DE's wrapping.
    let mut swapped = sealed.clone();
    let de_wrap = swapped.wrap_for(&code("DE")).unwrap().clone();
    let us_wrap = swapped
        .keys
        .iter_mut()
        .find(|w| w.to == code("US"))
        .unwrap();
    us_wrap.enc = de_wrap.enc;
    us_wrap.wrapped = de_wrap.wrapped;
    assert_eq!(opens_for_us(&swapped), Err(SealError::Unwrap(code("US"))));

    // One changed byte of ciphertext.
    let mut changed = sealed.clone();
    changed.ciphertext[3] ^= 1;
    assert_eq!(opens_for_us(&changed), Err(SealError::Ciphertext));

    // Recipients that would open different texts: US is given another
    // content key, wrapped under the same commitment.
    let other = seal(&code("CZ"), &paper(), &all).unwrap();
    let mut forked = sealed.clone();
    let other_key = Zeroizing::new([7u8; 32]);
    let rewrapped = wrap(
        Kind::Position,
        &code("CZ"),
        &code("US"),
        &us.public_key(),
        &other_key,
        &forked.commitment,
    )
    .unwrap();
    *forked.keys.iter_mut().find(|w| w.to == code("US")).unwrap() = rewrapped;
    forked.ciphertext = other.ciphertext;
    assert_eq!(
        opens_for_us(&forked),
        Err(SealError::Commitment(code("US")))
    );

    // Clear references that differ from the sealed body's.
    let mut lying = sealed.clone();
    lying.refs.subject = Some(StatementId::of_payload(b"elsewhere"));
    assert_eq!(opens_for_us(&lying), Err(SealError::Refs));
}

#[test]
fn the_keyring_opens_with_any_key_it_held_and_nothing_else() {
    let (old, new) = (EncryptionSecret::generate(), EncryptionSecret::generate());
    let cz = EncryptionSecret::generate();
    let body = Body::Message(Message {
        thread: StatementId::of_payload(b"thread"),
        text: "sealed before the rotation".into(),
    });
    let sealed = seal(&code("CZ"), &body, &readers(&[("CZ", &cz), ("US", &old)])).unwrap();
    let st = statement(crate::statement::Tlp::Red, Kind::Message, sealed);
    let copy = |s: &EncryptionSecret| EncryptionSecret::from_text(&s.to_text()).unwrap();
    let both = Keyring::new(code("US"), vec![copy(&new), copy(&old)]);
    assert_eq!(both.open(&st), Some(Ok(body)));
    // A re-admitted US with only a new key: nothing to open with.
    let readmitted = Keyring::new(code("US"), vec![copy(&new)]);
    assert_eq!(readmitted.open(&st), None);
    // DE is not a reader at all.
    assert_eq!(Keyring::new(code("DE"), vec![copy(&old)]).open(&st), None);
}

#[test]
fn decode_refuses_badly_shaped_seals() {
    let (cz, us) = (EncryptionSecret::generate(), EncryptionSecret::generate());
    let sealed = seal(&code("CZ"), &paper(), &readers(&[("CZ", &cz), ("US", &us)])).unwrap();
    let st =
        |tlp, sealed: Sealed| Statement::decode(&statement(tlp, Kind::Position, sealed).encode());
    let decoded = st(crate::statement::Tlp::Red, sealed.clone()).unwrap();
    assert!(decoded.body.is_sealed());
    assert!(
        st(crate::statement::Tlp::Green, sealed.clone()).is_err(),
        "GREEN is never sealed"
    );
    let mut twice = sealed.clone();
    twice.keys.push(twice.keys[0].clone());
    assert!(
        st(crate::statement::Tlp::Red, twice).is_err(),
        "one key per reader"
    );
    let mut short = sealed.clone();
    short.keys[0].wrapped.pop();
    assert!(st(crate::statement::Tlp::Red, short).is_err());
    let mut refs = sealed.clone();
    refs.refs.thread = Some(StatementId::of_payload(b"x"));
    assert!(
        st(crate::statement::Tlp::Red, refs).is_err(),
        "a position has no thread"
    );
    let mut unpadded = sealed;
    unpadded.ciphertext.pop();
    assert!(st(crate::statement::Tlp::Red, unpadded).is_err());
}

#[test]
fn the_host_cannot_tell_a_stance_with_a_reason_from_one_without() {
    use crate::statement::{Endorsement, Stance, TextDigest};
    let (cz, us) = (EncryptionSecret::generate(), EncryptionSecret::generate());
    let stance = |position| {
        Body::Endorsement(Endorsement {
            proposal: StatementId::of_payload(b"proposal"),
            revision: TextDigest::of("text"),
            position,
        })
    };
    let lengths: Vec<usize> = [
        Stance::Endorse,
        Stance::Abstain,
        Stance::Object {
            reason: "r".repeat(3000),
        },
        Stance::EndorseWithReservation {
            reservation: "é".repeat(1500),
        },
    ]
    .into_iter()
    .map(|p| {
        seal(
            &code("CZ"),
            &stance(p),
            &readers(&[("CZ", &cz), ("US", &us)]),
        )
        .unwrap()
        .ciphertext
        .len()
    })
    .collect();
    assert!(lengths.iter().all(|l| *l == lengths[0]), "{lengths:?}");
}
