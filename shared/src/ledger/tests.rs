//! The roster rules, one refusal at a time.

use super::*;
use crate::encryption::EncryptionSecret;
use crate::keys::SigningKey;
use crate::seal::Keyring;
use crate::statement::{Admission, DelegationCode, Distribution, KeyRevocation, KeyRotation, Tlp};

pub(super) struct Party {
    pub(super) code: DelegationCode,
    pub(super) key: SigningKey,
    pub(super) enc: EncryptionSecret,
    pub(super) seq: u64,
}

impl Party {
    pub(super) fn new(code: &str) -> Party {
        Party {
            code: code.parse().unwrap(),
            key: SigningKey::generate().unwrap().0,
            enc: EncryptionSecret::generate(),
            seq: 0,
        }
    }

    /// This party's keyring (its current encryption key only).
    pub(super) fn keyring(&self) -> Keyring {
        let copy = EncryptionSecret::from_text(&self.enc.to_text()).unwrap();
        Keyring::new(self.code, vec![copy])
    }

    /// `body` sealed to `distribution`'s recipients and this party, with
    /// the keys `ledger`'s roster gives them, then signed.
    pub(super) fn sign_sealed(
        &mut self,
        ledger: &Ledger,
        distribution: Distribution,
        body: Body,
    ) -> Envelope {
        let readers: Vec<_> = sealed::sealed_readers(&self.code, &distribution, ledger.roster())
            .iter()
            .map(|c| (*c, ledger.roster().encryption_key(c).unwrap()))
            .collect();
        let kind = body.kind();
        let sealed = crate::seal::seal(&self.code, &body, &readers).unwrap();
        self.seq += 1;
        Statement::new(
            self.code,
            &self.key,
            self.seq,
            distribution,
            Body::Sealed {
                kind,
                sealed: Box::new(sealed),
            },
        )
        .sign(&self.key)
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
            encryption_key: Some(other.enc.public_key()),
        }))
    }
}

pub(super) fn apply(ledger: &mut Ledger, env: Envelope) -> Result<u64, Refusal> {
    let v = ledger.verify(env)?;
    ledger.apply(&v)
}

/// CZ admitting itself as secretariat: the founding entry.
pub(super) fn founding(cz: &mut Party) -> Envelope {
    cz.sign(Body::Admission(Admission {
        delegation: cz.code,
        name: "Czech Republic".into(),
        role: Role::Secretariat,
        public_key: cz.key.public_key(),
        encryption_key: Some(cz.enc.public_key()),
    }))
}

pub(super) fn founded() -> (Ledger, Party) {
    let mut ledger = Ledger::new();
    let mut cz = Party::new("CZ");
    let env = founding(&mut cz);
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
        encryption_key: None,
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
        enc: EncryptionSecret::generate(),
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
        new_encryption_key: None,
    }));
    assert_eq!(apply(&mut ledger, env), Ok(2));
    let old = us.key.key_id();
    let env = us.sign(Body::KeyRotation(KeyRotation {
        new_key: SigningKey::generate().unwrap().0.public_key(),
        new_encryption_key: None,
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

/// A log as the host keeps it: its fold and every envelope it accepted.
struct HostLog {
    ledger: Ledger,
    envelopes: Vec<Envelope>,
}

impl HostLog {
    fn push(&mut self, env: Envelope) -> Result<u64, Refusal> {
        let at = apply(&mut self.ledger, env.clone())?;
        self.envelopes.push(env);
        Ok(at)
    }

    /// The fold `reader` reaches: every entry, opening what is sealed to it.
    fn fold_as(&self, reader: &Party) -> Ledger {
        let mut replay = Replay::opening(reader.keyring());
        for env in &self.envelopes {
            replay
                .next(replay::Entry::Envelope(Box::new(env.clone())))
                .unwrap();
        }
        replay.finish()
    }
}

/// CZ founds, US and DE are members, each with an encryption key.
fn with_members() -> (HostLog, Party, Party, Party) {
    let mut log = HostLog {
        ledger: Ledger::new(),
        envelopes: Vec::new(),
    };
    let mut cz = Party::new("CZ");
    log.push(founding(&mut cz)).unwrap();
    let (us, de) = (Party::new("US"), Party::new("DE"));
    log.push(cz.admission_of(&us, Role::Member)).unwrap();
    log.push(cz.admission_of(&de, Role::Member)).unwrap();
    (log, cz, us, de)
}

fn red_to(code: &DelegationCode) -> Distribution {
    Distribution {
        tlp: Tlp::Red,
        to: vec![*code],
    }
}

fn paper(text: &str) -> Body {
    Body::Position(crate::statement::Position {
        title: "Position".into(),
        text: text.into(),
        subject: None,
    })
}

#[test]
fn the_host_folds_a_sealed_statement_by_its_clear_parts_and_its_readers_open_it() {
    let (mut log, mut cz, us, de) = with_members();
    let env = cz.sign_sealed(&log.ledger, red_to(&us.code), paper("MARKER sealed"));
    log.push(env).unwrap();
    assert!(log.ledger.discussion().positions().next().is_none());
    let host = serde_json::to_string(&log.ledger).unwrap();
    assert!(
        !host.contains("MARKER"),
        "the host's fold holds no sealed text"
    );
    for reader in [&us, &cz] {
        let fold = log.fold_as(reader);
        let paper = fold.discussion().positions().next().unwrap();
        assert_eq!(paper.text, "MARKER sealed");
        assert!(fold.sealed().invalid().is_empty());
    }
    let de_fold = log.fold_as(&de);
    assert!(de_fold.discussion().positions().next().is_none());
    assert!(!serde_json::to_string(&de_fold).unwrap().contains("MARKER"));
}

#[test]
fn a_seal_whose_readers_differ_from_its_recipients_is_refused() {
    let (mut log, mut cz, us, de) = with_members();
    // Wrapped for CZ and US, but DE named as a recipient too.
    let env = cz.sign_sealed(&log.ledger, red_to(&us.code), paper("x"));
    let mut st = Statement::decode(&env.payload).unwrap();
    st.distribution.to.push(de.code);
    cz.seq += 1;
    st.seq = cz.seq;
    let refused = log.push(st.sign(&cz.key));
    assert!(
        matches!(&refused, Err(Refusal::BadSeal(why)) if why.contains("wrapped for CZ, US")),
        "{refused:?}"
    );
    assert_eq!(log.ledger.size(), 3, "nothing changed");
}

#[test]
fn a_seal_to_a_key_the_roster_does_not_give_is_refused() {
    let (mut log, mut cz, mut us, _) = with_members();
    let stale = cz.sign_sealed(&log.ledger, red_to(&us.code), paper("x"));
    // US rotates to a new encryption key before CZ's statement lands.
    let new_key = SigningKey::generate().unwrap().0;
    let new_enc = EncryptionSecret::generate();
    log.push(us.sign(Body::KeyRotation(KeyRotation {
        new_key: new_key.public_key(),
        new_encryption_key: Some(new_enc.public_key()),
    })))
    .unwrap();
    let refused = log.push(stale);
    assert!(
        matches!(&refused, Err(Refusal::BadSeal(why)) if why.contains("not to its encryption key")),
        "{refused:?}"
    );
    us.key = new_key;
    us.enc = new_enc;
    us.seq = 0;
    // Sealed to the new key it lands, and US still opens it.
    let fresh = cz.sign_sealed(&log.ledger, red_to(&us.code), paper("after rotation"));
    log.push(fresh).unwrap();
    let fold = log.fold_as(&us);
    assert_eq!(fold.discussion().positions().count(), 1);
}

#[test]
fn sealed_content_that_breaks_a_rule_is_marked_invalid_for_every_reader() {
    let (mut log, mut cz, us, _) = with_members();
    // An assessment rating no criterion: the host cannot see it, so it
    // lands; both readers open it and mark it invalid, with the same reason.
    let body = Body::Assessment(crate::statement::Assessment {
        supplier: crate::statement::Supplier {
            name: "Acme".into(),
            country: "Freedonia".into(),
        },
        framework: "joint-declaration-2020".into(),
        framework_version: 1,
        segments: vec![crate::statement::Segment::Core],
        ratings: vec![crate::statement::Rating {
            criterion: crate::frameworks::Frameworks::builtin()
                .get("joint-declaration-2020")
                .unwrap()
                .criteria[0]
                .id
                .clone(),
            risk: crate::statement::Risk::Low,
            rationale: "one criterion only".into(),
            evidence: vec![],
        }],
        verdict: crate::statement::Verdict::Trusted,
        supersedes: None,
    });
    let env = cz.sign_sealed(&log.ledger, red_to(&us.code), body);
    log.push(env).unwrap();
    let (cz_fold, us_fold) = (log.fold_as(&cz), log.fold_as(&us));
    assert_eq!(cz_fold.sealed().invalid(), us_fold.sealed().invalid());
    let invalid = &us_fold.sealed().invalid()[0];
    assert!(
        invalid.reason.contains("criteria not rated"),
        "{}",
        invalid.reason
    );
    assert_eq!(invalid.meta.index, 3);
    assert!(us_fold.assessments().iter().next().is_none());
}

#[test]
fn a_seal_its_author_tampered_with_is_marked_with_the_reason() {
    let (mut log, mut cz, us, de) = with_members();
    let two = Distribution {
        tlp: Tlp::Amber,
        to: vec![us.code, de.code],
    };
    let env = cz.sign_sealed(&log.ledger, two, paper("MARKER"));
    let mut st = Statement::decode(&env.payload).unwrap();
    let Body::Sealed { sealed, .. } = &mut st.body else {
        unreachable!()
    };
    // US's wrapped key swapped with DE's, and signed as such.
    let de_wrap = sealed.wrap_for(&de.code).unwrap().clone();
    let us_wrap = sealed.keys.iter_mut().find(|w| w.to == us.code).unwrap();
    us_wrap.enc = de_wrap.enc;
    us_wrap.wrapped = de_wrap.wrapped;
    log.push(st.sign(&cz.key)).unwrap();
    let us_fold = log.fold_as(&us);
    let invalid = &us_fold.sealed().invalid()[0];
    assert!(
        invalid.reason.contains("does not open with US's key"),
        "{}",
        invalid.reason
    );
    assert!(log.fold_as(&de).sealed().invalid().is_empty());
}

#[test]
fn nothing_is_wrapped_for_an_observer_named_as_a_recipient() {
    let (mut log, mut cz, us, _) = with_members();
    let nato = Party::new("NATO");
    log.push(cz.admission_of(&nato, Role::Observer)).unwrap();
    let to_both = Distribution {
        tlp: Tlp::Amber,
        to: vec![us.code, nato.code],
    };
    // The observer reads nothing restricted: the seal leaves it out.
    let readers = sealed::sealed_readers(&cz.code, &to_both, log.ledger.roster());
    assert_eq!(readers, vec![cz.code, us.code]);
    log.push(cz.sign_sealed(&log.ledger, to_both.clone(), paper("MARKER")))
        .unwrap();
    assert!(log.fold_as(&nato).discussion().positions().next().is_none());
    assert_eq!(log.fold_as(&us).discussion().positions().count(), 1);
    // A seal that wraps the key for the observer too is refused.
    let wider: Vec<_> = [cz.code, us.code, nato.code]
        .iter()
        .map(|c| (*c, log.ledger.roster().encryption_key(c).unwrap()))
        .collect();
    let sealed = crate::seal::seal(&cz.code, &paper("MARKER"), &wider).unwrap();
    cz.seq += 1;
    let env = Statement::new(
        cz.code,
        &cz.key,
        cz.seq,
        to_both,
        Body::Sealed {
            kind: crate::statement::Kind::Position,
            sealed: Box::new(sealed),
        },
    )
    .sign(&cz.key);
    assert!(matches!(log.push(env), Err(Refusal::BadSeal(_))));
}
