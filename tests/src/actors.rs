//! Delegations driven from Rust rather than through the CLI: a secretariat
//! that founds a log and admits members, and members that sign statements.
//! Used by the limit, crash and hostile-input tests, where the CLI's one
//! process per statement would be too slow or too well-behaved.

use entente_shared::api::RosterView;
use entente_shared::dsse::Envelope;
use entente_shared::encryption::EncryptionSecret;
use entente_shared::keys::{PublicKey, SigningKey};
use entente_shared::ledger::sealed::sealed_readers;
use entente_shared::statement::{
    Admission, Body, DelegationCode, Distribution, KeyRotation, Role, Statement, Tlp,
};

use crate::http;

/// A delegation holding its current key and its next `seq`.
pub struct Actor {
    pub code: DelegationCode,
    pub key: SigningKey,
    /// Its X25519 key, announced by [`Actor::admission`].
    pub enc: EncryptionSecret,
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
            enc: EncryptionSecret::generate(),
            seq,
            tlp: Tlp::Green,
        }
    }

    /// Signs `body` with the next seq, under this actor's label.
    pub fn sign(&mut self, body: Body) -> Envelope {
        let d = Distribution {
            tlp: self.tlp,
            to: Vec::new(),
        };
        self.sign_with(d, body)
    }

    /// Signs `body` under `d` with the next seq.
    pub fn sign_with(&mut self, d: Distribution, body: Body) -> Envelope {
        let st = Statement::new(self.code, &self.key, self.seq, d, body);
        self.seq += 1;
        st.sign(&self.key)
    }

    /// An admission of `member` (with `role`) signed by this delegation.
    pub fn admission(&mut self, member: &Actor, role: Role) -> Envelope {
        let name = format!("Delegation {}", member.code);
        self.sign(Body::Admission(Admission {
            delegation: member.code,
            name,
            role,
            public_key: member.key.public_key(),
            encryption_key: Some(member.enc.public_key()),
        }))
    }

    /// `body` sealed by this delegation to `d`'s recipients and itself, with
    /// the encryption keys the roster of the server at `url` gives them (the
    /// CLI seals to its own verified fold's; a test may take the server's).
    pub fn seal(&self, url: &str, d: &Distribution, body: Body) -> Body {
        let view: RosterView =
            serde_json::from_value(http::signed_get(url, "/v1/roster", &self.key).json())
                .expect("a roster view");
        let readers: Vec<_> = sealed_readers(&self.code, d, &view.roster)
            .iter()
            .map(|c| {
                let key = view
                    .roster
                    .encryption_key(c)
                    .unwrap_or_else(|| panic!("{c} has no encryption key"));
                (*c, key)
            })
            .collect();
        let kind = body.kind();
        let sealed = entente_shared::seal::seal(&self.code, &body, &readers).expect("sealing");
        Body::Sealed {
            kind,
            sealed: Box::new(sealed),
        }
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
            encryption_key: None,
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
        self.sign(Body::KeyRotation(KeyRotation {
            new_key,
            new_encryption_key: None,
        }))
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
