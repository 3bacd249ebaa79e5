//! The roster rules, one refusal at a time.

use super::*;
use crate::keys::SigningKey;
use crate::statement::{Admission, DelegationCode, Distribution, KeyRevocation, KeyRotation, Tlp};

pub(super) struct Party {
    pub(super) code: DelegationCode,
    pub(super) key: SigningKey,
    pub(super) seq: u64,
}

impl Party {
    pub(super) fn new(code: &str) -> Party {
        Party {
            code: code.parse().unwrap(),
            key: SigningKey::generate().unwrap().0,
            seq: 0,
        }
    }

    pub(super) fn sign(&mut self, body: Body) -> Envelope {
        self.seq += 1;
        Statement::new(self.code, &self.key, self.seq, Distribution::green(), body).sign(&self.key)
    }

    pub(super) fn admission_of(&mut self, other: &Party, role: Role) -> Envelope {
        self.sign(Body::Admission(Admission {
            delegation: other.code,
            name: format!("Delegation {}", other.code),
            role,
            public_key: other.key.public_key(),
        }))
    }
}

pub(super) fn apply(ledger: &mut Ledger, env: Envelope) -> Result<u64, Refusal> {
    let v = ledger.verify(env)?;
    ledger.apply(&v)
}

pub(super) fn founded() -> (Ledger, Party) {
    let mut ledger = Ledger::new();
    let mut cz = Party::new("CZ");
    let admission = Body::Admission(Admission {
        delegation: cz.code,
        name: "Czech Republic".into(),
        role: Role::Secretariat,
        public_key: cz.key.public_key(),
    });
    let env = cz.sign(admission);
    assert_eq!(apply(&mut ledger, env), Ok(0));
    (ledger, cz)
}

#[test]
fn bootstrap_founds_the_log_once() {
    let (mut ledger, cz) = founded();
    assert_eq!(
        ledger.roster().delegation(&cz.code).unwrap().role,
        Role::Secretariat
    );
    let mut usurper = Party::new("XX");
    let body = Body::Admission(Admission {
        delegation: usurper.code,
        name: "Usurper".into(),
        role: Role::Secretariat,
        public_key: usurper.key.public_key(),
    });
    let env = usurper.sign(body);
    assert_eq!(apply(&mut ledger, env), Err(Refusal::AlreadyBootstrapped));
}

#[test]
fn nothing_but_a_self_admission_founds_the_log() {
    let mut ledger = Ledger::new();
    let mut cz = Party::new("CZ");
    let us = Party::new("US");
    let env = cz.admission_of(&us, Role::Secretariat);
    assert_eq!(apply(&mut ledger, env), Err(Refusal::NotBootstrapped));
    let mut cz2 = Party::new("CZ");
    let me = Party {
        code: cz2.code,
        key: SigningKey::generate().unwrap().0,
        seq: 0,
    };
    let env = cz2.admission_of(&me, Role::Member);
    assert_eq!(apply(&mut ledger, env), Err(Refusal::NotBootstrapped));
    assert_eq!(ledger.size(), 0);
}

#[test]
fn admission_rotation_and_revocation() {
    let (mut ledger, mut cz) = founded();
    let mut us = Party::new("US");
    assert_eq!(
        apply(&mut ledger, cz.admission_of(&us, Role::Member)),
        Ok(1)
    );
    // Rotation hands over to the new key; the old one is refused afterwards.
    let new_key = SigningKey::generate().unwrap().0;
    let env = us.sign(Body::KeyRotation(KeyRotation {
        new_key: new_key.public_key(),
    }));
    assert_eq!(apply(&mut ledger, env), Ok(2));
    let old = us.key.key_id();
    let env = us.sign(Body::KeyRotation(KeyRotation {
        new_key: SigningKey::generate().unwrap().0.public_key(),
    }));
    assert_eq!(
        apply(&mut ledger, env),
        Err(Refusal::RotatedKey(old.to_string()))
    );
    assert!(
        !ledger.seqs.contains_key(&old),
        "a retired key's seq is not kept"
    );
    us.key = new_key;
    us.seq = 0;

    // The secretariat revokes US's new key; US can sign nothing more.
    let target = us.key.key_id();
    let env = cz.sign(Body::KeyRevocation(KeyRevocation {
        key: target,
        reason: "lost laptop".into(),
    }));
    assert_eq!(apply(&mut ledger, env), Ok(3));
    let env = us.sign(Body::KeyRevocation(KeyRevocation {
        key: target,
        reason: String::new(),
    }));
    assert_eq!(
        apply(&mut ledger, env),
        Err(Refusal::RevokedKey(target.to_string()))
    );
    // With no active key left, the secretariat may re-admit US with a fresh one.
    let fresh = Party::new("US");
    assert_eq!(
        apply(&mut ledger, cz.admission_of(&fresh, Role::Member)),
        Ok(4)
    );
    assert_eq!(ledger.roster().delegation(&us.code).unwrap().keys.len(), 3);
}

#[test]
fn a_revoked_key_s_sequence_number_is_dropped_and_it_stays_refused() {
    let (mut ledger, mut cz) = founded();
    let mut us = Party::new("US");
    apply(&mut ledger, cz.admission_of(&us, Role::Member)).unwrap();
    let paper = |us: &mut Party| {
        us.sign(Body::Position(crate::statement::Position {
            title: "On suppliers".into(),
            text: "Trusted suppliers only.".into(),
            subject: None,
        }))
    };
    let first = paper(&mut us);
    apply(&mut ledger, first.clone()).unwrap();
    let key = us.key.key_id();
    assert_eq!(ledger.seqs.get(&key), Some(&1));
    let env = cz.sign(Body::KeyRevocation(KeyRevocation {
        key,
        reason: "lost laptop".into(),
    }));
    apply(&mut ledger, env).unwrap();
    assert!(!ledger.seqs.contains_key(&key));
    // Neither a replay nor a new statement gets past the revocation.
    for env in [first, paper(&mut us)] {
        assert_eq!(
            apply(&mut ledger, env),
            Err(Refusal::RevokedKey(key.to_string()))
        );
    }
}

#[test]
fn refusals_change_nothing() {
    let (mut ledger, mut cz) = founded();
    let mut us = Party::new("US");
    apply(&mut ledger, cz.admission_of(&us, Role::Member)).unwrap();
    let before = (ledger.size(), ledger.roster().clone());

    // A member may not revoke another delegation's key.
    let env = us.sign(Body::KeyRevocation(KeyRevocation {
        key: cz.key.key_id(),
        reason: String::new(),
    }));
    let v = ledger.verify(env).unwrap();
    assert!(matches!(
        ledger.apply(&v),
        Err(Refusal::RoleNotAllowed { .. })
    ));
    // A member may not admit.
    let de = Party::new("DE");
    assert!(matches!(
        apply(&mut ledger, us.admission_of(&de, Role::Member)),
        Err(Refusal::RoleNotAllowed { .. })
    ));
    // Stale seq.
    cz.seq = 0;
    assert_eq!(
        apply(&mut ledger, cz.admission_of(&de, Role::Member)),
        Err(Refusal::StaleSeq { got: 1, last: 2 })
    );
    // Already admitted, key in use.
    cz.seq = 10;
    assert_eq!(
        apply(&mut ledger, cz.admission_of(&us, Role::Member)),
        Err(Refusal::AlreadyAdmitted("US".into()))
    );
    // Forged signature: payload changed after signing.
    let mut env = cz.admission_of(&de, Role::Member);
    let last = env.payload.len() - 3;
    env.payload[last] ^= 1;
    assert!(matches!(
        apply(&mut ledger, env),
        Err(Refusal::BadSignature) | Err(Refusal::Malformed(_))
    ));
    // Signed by a stranger.
    let mut stranger = Party::new("ZZ");
    assert!(matches!(
        apply(&mut ledger, stranger.admission_of(&de, Role::Member)),
        Err(Refusal::UnknownKey(_))
    ));
    // Claiming to be someone else with one's own key.
    us.code = "CZ".parse().unwrap();
    assert!(matches!(
        apply(&mut ledger, us.admission_of(&de, Role::Member)),
        Err(Refusal::WrongAuthor { .. })
    ));
    // RED roster statement.
    let mut red = Statement::new(
        cz.code,
        &cz.key,
        50,
        Distribution {
            tlp: Tlp::Red,
            to: vec!["US".parse().unwrap()],
        },
        Body::KeyRevocation(KeyRevocation {
            key: cz.key.key_id(),
            reason: String::new(),
        }),
    );
    red.seq = 50;
    assert!(matches!(
        apply(&mut ledger, red.sign(&cz.key)),
        Err(Refusal::Malformed(_))
    ));

    assert_eq!((ledger.size(), ledger.roster().clone()), before);
}
