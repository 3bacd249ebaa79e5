//! What the load generator posts: delegations ("actors") admitted before the
//! clock starts, each with a chain of statements that must land in order.
//!
//! - `rotation`: a member rotates its key again and again; statement i is
//!   signed by the key made by rotation i-1 (the chain is generated ahead).
//! - `admission`: a secretariat admits new delegations whose `name` is padded
//!   with two-byte characters to reach a payload size (up to ~1.1 KB).
//! - `position`: members sign position papers whose open body (title and
//!   text, the text padded as the names are) is about the payload size; a
//!   share of them ([`Workload::sealed_share`]) is sealed RED to one other
//!   member (the next actor), as the CLI seals: to the recipient and the
//!   author, with the X25519 keys their admissions announced.
//!
//! Chains are independent, so connection c posts the chains of actors c,
//! c+C, c+2C... in turns, one request at a time: order within a chain holds.

use entente_shared::encryption::EncryptionKey;
use entente_shared::keys::SigningKey;
use entente_shared::seal;
use entente_shared::statement::{Body, DelegationCode, Distribution, Position, Role, Tlp};
use rand::Rng;

use crate::actors::Actor;

/// Which statements the actors sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Rotation,
    Admission,
    Position,
}

/// One pre-signed request: the canonical envelope JSON to post.
pub type Signed = bytes::Bytes;

/// The actors of a run and how to extend their chains.
pub struct Workload {
    pub kind: Kind,
    pub actors: Vec<Actor>,
    /// Target payload size for admissions, or open body size for
    /// positions (bytes, approximate).
    pub payload_bytes: usize,
    /// For `position`: the share of statements sealed RED to another member
    /// (0 to 1; statement i of a call to [`Workload::sign_rounds`] is sealed
    /// when `floor((i + 1) * share)` passes `floor(i * share)`, so a half
    /// alternates along every chain).
    pub sealed_share: f64,
    salt: u64,
    next_code: u64,
}

/// A 2..8 character delegation code: a letter, then base-36 digits.
fn code(prefix: char, n: u64) -> DelegationCode {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = n % 36u64.pow(7);
    let mut s = Vec::new();
    for _ in 0..7 {
        s.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    s.push(prefix as u8);
    s.reverse();
    String::from_utf8(s)
        .expect("ASCII")
        .parse()
        .expect("a valid code")
}

impl Workload {
    /// `count` actors with fresh keys, not yet admitted. Codes are salted so
    /// runs against the same server do not collide.
    pub fn new(kind: Kind, count: usize, payload_bytes: usize) -> Workload {
        let salt = rand::rng().random::<u64>();
        let actors = (0..count as u64)
            .map(|i| {
                let (key, _) = SigningKey::generate().expect("generating a key");
                Actor::with_key(code('L', salt.wrapping_add(i)), key, 1)
            })
            .collect();
        Workload {
            kind,
            actors,
            payload_bytes,
            sealed_share: 0.0,
            salt,
            next_code: 0,
        }
    }

    /// The role the secretariat admits the actors with.
    pub fn role(&self) -> Role {
        match self.kind {
            Kind::Rotation | Kind::Position => Role::Member,
            Kind::Admission => Role::Secretariat,
        }
    }

    /// Signs the next `rounds` statements of every actor, on all cores:
    /// `out[actor][round]`.
    pub fn sign_rounds(&mut self, rounds: usize) -> Vec<Vec<Signed>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = self.actors.len().div_ceil(threads).max(1);
        let kind = self.kind;
        let pad = self.payload_bytes;
        let salt = self.salt;
        let base = self.next_code;
        self.next_code += (self.actors.len() * rounds) as u64;
        let share = if kind == Kind::Position {
            self.sealed_share
        } else {
            0.0
        };
        // Each actor's recipient (the next actor) and its encryption key.
        let readers: Vec<(DelegationCode, EncryptionKey)> = self
            .actors
            .iter()
            .map(|a| (a.code, a.enc.public_key()))
            .collect();
        let readers = &readers;
        std::thread::scope(|s| {
            let handles: Vec<_> = self
                .actors
                .chunks_mut(per)
                .enumerate()
                .map(|(chunk, actors)| {
                    s.spawn(move || {
                        actors
                            .iter_mut()
                            .enumerate()
                            .map(|(j, actor)| {
                                let a = (chunk * per + j) as u64;
                                let to = readers[(a as usize + 1) % readers.len()];
                                (0..rounds as u64)
                                    .map(|r| {
                                        let i = a * rounds as u64 + r;
                                        let n = base + i;
                                        let seal_to = (to.0 != actor.code && sealed_at(i, share))
                                            .then_some(to);
                                        sign_one(kind, actor, pad, salt.wrapping_add(n), seal_to)
                                    })
                                    .collect::<Vec<_>>()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("signing thread"))
                .collect()
        })
    }
}

/// Whether statement `i` of a signing call is sealed, for `share` sealed.
pub fn sealed_at(i: u64, share: f64) -> bool {
    ((i + 1) as f64 * share).floor() > (i as f64 * share).floor()
}

/// `chars` pseudo-random letters from U+00C0..U+00FF (two bytes each in
/// UTF-8): about as compressible as prose (6 bits per 16), not a repeated
/// byte that any compressor would make vanish.
fn letters(chars: usize, n: u64) -> String {
    let mut x = n | 1;
    (0..chars)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_u32(0xC0 + (x % 64) as u32).unwrap_or('é')
        })
        .collect()
}

/// Signs the actor's next statement; a position is sealed RED to `seal_to`
/// (a recipient and its encryption key) when given.
fn sign_one(
    kind: Kind,
    actor: &mut Actor,
    payload_bytes: usize,
    n: u64,
    seal_to: Option<(DelegationCode, EncryptionKey)>,
) -> Signed {
    let envelope = match kind {
        Kind::Rotation => actor.rotate(),
        Kind::Admission => {
            let (newcomer, _) = SigningKey::generate().expect("generating a key");
            // A bare admission payload is ~330 bytes; each padding character
            // adds two.
            let chars = payload_bytes.saturating_sub(330).div_ceil(2).clamp(1, 500);
            let name = letters(chars, n);
            actor.admission_of(code('D', n), newcomer.public_key(), Role::Observer, name)
        }
        Kind::Position => {
            // The open body `{"text":"…","title":"Load position …"}` is ~64
            // bytes besides the text; each padding character adds two.
            let chars = payload_bytes
                .saturating_sub(64)
                .div_ceil(2)
                .clamp(1, 30_000);
            let body = Body::Position(Position {
                title: format!("Load position {n:016x}"),
                text: letters(chars, n),
                subject: None,
            });
            match seal_to {
                None => actor.sign(body),
                Some((to, key)) => {
                    let readers = [(to, key), (actor.code, actor.enc.public_key())];
                    let kind = body.kind();
                    let sealed = seal::seal(&actor.code, &body, &readers).expect("sealing");
                    let red = Distribution {
                        tlp: Tlp::Red,
                        to: vec![to],
                    };
                    actor.sign_with(
                        red,
                        Body::Sealed {
                            kind,
                            sealed: Box::new(sealed),
                        },
                    )
                }
            }
        }
    };
    envelope.to_canonical_json().into()
}
