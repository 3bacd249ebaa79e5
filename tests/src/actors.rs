//! Delegations driven from Rust rather than through the CLI: a secretariat
//! that founds a log and admits members, and members that sign statements.
//! Used by the limit, crash and hostile-input tests, where the CLI's one
//! process per statement would be too slow or too well-behaved.

use entente_shared::dsse::Envelope;
use entente_shared::keys::{PublicKey, SigningKey};
use entente_shared::statement::{
    Admission, Body, DelegationCode, Distribution, KeyRotation, Role, Statement, Tlp,
};

use crate::http;

/// A delegation holding its current key and its next `seq`.
pub struct Actor {
    pub code: DelegationCode,
    pub key: SigningKey,
    pub seq: u64,
    /// The TLP label of what it signs (CLEAR or GREEN: the only labels
    /// roster statements may carry).
    pub tlp: Tlp,
}

impl Actor {
    /// A delegation with a fresh key, not yet in any roster.
    pub fn new(code: &str) -> Actor {
        let (key, _) = SigningKey::generate().expect("generating a key");
        Actor::with_key(code.parse().expect("a valid delegation code"), key, 1)
    }

    /// A delegation holding `key`, whose next statement has `seq`; it signs GREEN.
    pub fn with_key(code: DelegationCode, key: SigningKey, seq: u64) -> Actor {
        Actor {
            code,
            key,
            seq,
            tlp: Tlp::Green,
        }
    }

    /// Signs `body` with the next seq.
    pub fn sign(&mut self, body: Body) -> Envelope {
        let st = Statement::new(
            self.code,
            &self.key,
            self.seq,
            Distribution {
                tlp: self.tlp,
                to: Vec::new(),
            },
            body,
        );
        self.seq += 1;
        st.sign(&self.key)
    }

    /// An admission of `member` (with `role`) signed by this delegation.
    pub fn admission(&mut self, member: &Actor, role: Role) -> Envelope {
        let name = format!("Delegation {}", member.code);
        self.admission_of(member.code, member.key.public_key(), role, name)
    }

    /// An admission of delegation `code` with `public_key`, `role` and `name`.
    pub fn admission_of(
        &mut self,
        code: DelegationCode,
        public_key: PublicKey,
        role: Role,
        name: String,
    ) -> Envelope {
        self.sign(Body::Admission(Admission {
            delegation: code,
            name,
            role,
            public_key,
        }))
    }

    /// A rotation to a fresh key; this actor switches to it (call
    /// [`Actor::rotation_to`] to keep the old key).
    pub fn rotate(&mut self) -> Envelope {
        let (next, _) = SigningKey::generate().expect("generating a key");
        let env = self.rotation_to(next.public_key());
        self.key = next;
        self.seq = 1;
        env
    }

    /// A rotation to `new_key`, signed by the current key.
    pub fn rotation_to(&mut self, new_key: PublicKey) -> Envelope {
        self.sign(Body::KeyRotation(KeyRotation { new_key }))
    }
}

/// Posts an envelope; returns the raw response.
pub fn post(url: &str, envelope: &Envelope) -> http::Response {
    http::request(
        url,
        "POST",
        "/v1/statements",
        Some(&envelope.to_canonical_json()),
    )
}

/// Founds the log at `url` with a secretariat `code`; panics unless accepted.
pub fn found(url: &str, code: &str) -> Actor {
    let mut sec = Actor::new(code);
    let env = sec.admission_of(
        sec.code,
        sec.key.public_key(),
        Role::Secretariat,
        format!("Secretariat {code}"),
    );
    let r = post(url, &env);
    assert_eq!(r.status, 201, "founding the log: {}", r.text());
    sec
}

/// `sec` admits a fresh member `code` (role member); panics unless accepted.
pub fn admit(url: &str, sec: &mut Actor, code: &str) -> Actor {
    let member = Actor::new(code);
    let env = sec.admission(&member, Role::Member);
    let r = post(url, &env);
    assert_eq!(r.status, 201, "admitting {code}: {}", r.text());
    member
}
