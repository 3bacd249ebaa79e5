//! Who sees what, over random logs: random kinds, parents, labels,
//! recipients, roles and readers. Every statement's free text carries a
//! unique marker, and AMBER, AMBER+STRICT and RED bodies are sealed as the
//! CLI seals them.
//!
//! - The host's fold and every view it computes hold no marker of a sealed
//!   statement, and no byte of the log holds one in clear.
//! - No reader's view — every view of its own fold, and the log entries as
//!   `GET /v1/entries`, the stream and archives hand them out — holds the
//!   marker of a statement that reader may not read.
//! - Every delegation's own fold (hidden entries as leaf hashes only,
//!   sealed ones opened with its key, as the CLI's replica, `log verify`
//!   and `archive verify --key` fold them) accepts the log and reaches, for
//!   that reader, exactly the views and the invalid marks of a fold that
//!   opened everything: so every recipient of a statement reaches the same
//!   state and the same verdict on it.

use proptest::prelude::*;

use super::replay::Entry;
use super::tests::{apply, founding, Party};
use super::*;
use crate::b64;
use crate::frameworks::Frameworks;
use crate::seal::{Keyring, Opener, SealError};
use crate::statement::*;
use crate::views;
use crate::visibility::{inherit, may_read, Reader};

/// One random step: who acts, what kind, which earlier statement it hangs
/// off, which label and recipients, whether it takes its parent's audience
/// (as the CLI does by default), and a stance for positions.
#[derive(Clone, Debug)]
struct Op {
    author: usize,
    kind: u8,
    parent: usize,
    label: u8,
    recipients: u8,
    inherit: bool,
    stance: u8,
}

fn op() -> impl Strategy<Value = Op> {
    (
        0usize..5,
        0u8..8,
        any::<usize>(),
        0u8..5,
        0u8..32,
        any::<bool>(),
        0u8..4,
    )
        .prop_map(
            |(author, kind, parent, label, recipients, inherit, stance)| Op {
                author,
                kind,
                parent,
                label,
                recipients,
                inherit,
                stance,
            },
        )
}

const CODES: [&str; 5] = ["CZ", "US", "DE", "FR", "NATO"];

/// A statement that landed, with what the test needs to know of it.
struct Landed {
    id: StatementId,
    author: DelegationCode,
    distribution: Distribution,
    kind: Kind,
    marker: String,
    bytes: Vec<u8>,
    sealed: bool,
}

/// Opens every sealed statement, as its author: the fold of someone who
/// may read everything, against which each reader's own fold is compared.
struct Everyone(Vec<Keyring>);

impl Opener for Everyone {
    fn open(&self, st: &Statement) -> Option<Result<Body, SealError>> {
        self.0.iter().find(|k| k.reader() == &st.author)?.open(st)
    }
}

fn assessment_body(marker: &str, supersedes: Option<StatementId>) -> Assessment {
    let fw = Frameworks::builtin().get("joint-declaration-2020").unwrap();
    Assessment {
        supplier: Supplier {
            name: "Acme".into(),
            country: "Freedonia".into(),
        },
        framework: fw.id.clone(),
        framework_version: fw.version,
        segments: vec![Segment::Core],
        ratings: fw
            .criteria
            .iter()
            .map(|c| Rating {
                criterion: c.id.clone(),
                risk: Risk::Low,
                rationale: format!("rationale {marker}"),
                evidence: vec![],
            })
            .collect(),
        verdict: Verdict::Trusted,
        supersedes,
    }
}

/// What a played log leaves: the host's fold, the fold of a reader of
/// everything, every landed statement, the roles and each party's keyring.
struct Played {
    host: Ledger,
    oracle: Ledger,
    landed: Vec<Landed>,
    roles: Vec<(DelegationCode, Role)>,
    keyrings: Vec<Keyring>,
}

/// Plays `ops` on a log founded by CZ with US, DE, FR as members and NATO
/// as an observer.
fn play(ops: &[Op]) -> Played {
    let mut ledger = Ledger::new();
    let mut cz = Party::new("CZ");
    let mut parties: Vec<Party> = CODES[1..].iter().map(|c| Party::new(c)).collect();
    let roles = [
        Role::Secretariat,
        Role::Member,
        Role::Member,
        Role::Member,
        Role::Observer,
    ];
    let mut landed = Vec::new();
    let founding = founding(&mut cz);
    landed.push(Landed {
        id: StatementId::of_payload(&founding.payload),
        author: cz.code,
        distribution: Distribution::green(),
        kind: Kind::Admission,
        marker: String::new(),
        bytes: founding.to_canonical_json(),
        sealed: false,
    });
    apply(&mut ledger, founding).unwrap();
    for (p, role) in parties.iter().zip(&roles[1..]) {
        let env = cz.admission_of(p, *role);
        let id = StatementId::of_payload(&env.payload);
        let bytes = env.to_canonical_json();
        apply(&mut ledger, env).unwrap();
        landed.push(Landed {
            id,
            author: cz.code,
            distribution: Distribution::green(),
            kind: Kind::Admission,
            marker: String::new(),
            bytes,
            sealed: false,
        });
    }
    parties.insert(0, cz);
    let everyone = Everyone(parties.iter().map(|p| p.keyring()).collect());
    let mut oracle = Replay::opening(everyone);
    for l in &landed {
        oracle.next(Entry::from_stored(&l.bytes).unwrap()).unwrap();
    }
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    for (n, op) in ops.iter().enumerate() {
        let marker = format!("QX{n:04}QX");
        // A minute between statements: proposals' deadlines pass mid-log.
        let issued_at = now + time::Duration::minutes(n as i64);
        // Who signs: the op's delegation, except that a decision on an
        // amendment is mostly made by the proposer (below).
        let mut author_idx = op.author;
        let chosen = parties[op.author].code;
        let pick = |want: &dyn Fn(&Landed) -> bool| -> Option<usize> {
            let fits: Vec<usize> = (0..landed.len()).filter(|&i| want(&landed[i])).collect();
            (!fits.is_empty()).then(|| fits[op.parent % fits.len()])
        };
        let is = |k: Kind| move |l: &Landed| l.kind == k;
        let (body, parent) = match op.kind {
            0 => {
                let participants: Vec<DelegationCode> = CODES[..4]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| op.recipients & (1 << i) != 0)
                    .map(|(_, c)| c.parse().unwrap())
                    .collect();
                let participants = if participants.is_empty() {
                    vec![chosen]
                } else {
                    participants
                };
                let body = Body::Proposal(Proposal {
                    title: format!("title {marker}"),
                    text: format!("text {marker}"),
                    participants,
                    rule: AdoptionRule::Unanimous,
                    deadline: issued_at + time::Duration::minutes(1 + i64::from(op.stance) * 2),
                });
                (body, None)
            }
            1 | 2 => {
                let Some(p) = pick(&is(Kind::Proposal)) else {
                    continue;
                };
                let pid = landed[p].id;
                let body = if op.kind == 1 {
                    Body::Revision(Revision {
                        proposal: pid,
                        text: format!("revised {marker}"),
                        note: format!("note {marker}"),
                        amendments: vec![],
                    })
                } else {
                    let current = oracle
                        .ledger()
                        .proposals()
                        .get(&pid)
                        .map(|p| p.current().digest)
                        .unwrap_or(TextDigest([0; 32]));
                    let position = match op.stance {
                        0 => Stance::Endorse,
                        1 => Stance::EndorseWithReservation {
                            reservation: format!("reservation {marker}"),
                        },
                        2 => Stance::Object {
                            reason: format!("reason {marker}"),
                        },
                        _ => Stance::Abstain,
                    };
                    Body::Endorsement(Endorsement {
                        proposal: pid,
                        revision: current,
                        position,
                    })
                };
                (body, Some(p))
            }
            3 => {
                let subject =
                    pick(&|l: &Landed| matches!(l.kind, Kind::Proposal | Kind::Assessment))
                        .filter(|_| op.stance != 0);
                let body = Body::Position(Position {
                    title: format!("position {marker}"),
                    text: format!("paper {marker}"),
                    subject: subject.map(|s| landed[s].id),
                });
                (body, subject)
            }
            4 => {
                let Some(t) = pick(&|_: &Landed| true) else {
                    continue;
                };
                let body = Body::Message(Message {
                    thread: landed[t].id,
                    text: format!("message {marker}"),
                });
                (body, Some(t))
            }
            5 => {
                let old = pick(&|l: &Landed| l.kind == Kind::Assessment && l.author == chosen)
                    .filter(|_| op.stance != 0);
                (
                    Body::Assessment(assessment_body(&marker, old.map(|o| landed[o].id))),
                    old,
                )
            }
            6 => {
                let Some(p) = pick(&is(Kind::Proposal)) else {
                    continue;
                };
                let pid = landed[p].id;
                let current = oracle
                    .ledger()
                    .proposals()
                    .get(&pid)
                    .map(|p| p.current().digest)
                    .unwrap_or(TextDigest([0; 32]));
                let body = Body::Amendment(Amendment {
                    proposal: pid,
                    revision: current,
                    text: format!("amended {marker}"),
                    note: format!("amendment note {marker}"),
                });
                (body, Some(p))
            }
            _ => {
                // The proposer takes an amendment into a revision, or rejects
                // it; or (label 4) names any statement at all, of any
                // proposal, hidden or not, decided or not.
                let Some(a) = pick(&is(Kind::Amendment)) else {
                    continue;
                };
                let aid = if op.label == 4 {
                    landed[op.parent % landed.len()].id
                } else {
                    landed[a].id
                };
                let Some(pid) = oracle
                    .ledger()
                    .proposals()
                    .iter()
                    .find(|p| p.amendment(&landed[a].id).is_some())
                    .map(|p| p.meta.id)
                else {
                    continue;
                };
                let Some(p) = landed.iter().position(|l| l.id == pid) else {
                    continue;
                };
                if op.stance < 3 {
                    if let Some(i) = parties.iter().position(|x| x.code == landed[p].author) {
                        author_idx = i;
                    }
                }
                let body = if op.stance % 2 == 0 {
                    Body::Revision(Revision {
                        proposal: pid,
                        text: format!("taken {marker}"),
                        note: format!("takes an amendment {marker}"),
                        amendments: vec![aid],
                    })
                } else {
                    Body::AmendmentRejection(AmendmentRejection {
                        proposal: pid,
                        amendment: aid,
                        reason: format!("rejected {marker}"),
                    })
                };
                (body, Some(p))
            }
        };
        let author = parties[author_idx].code;
        let distribution = match parent {
            Some(p) if op.inherit => inherit(&author, &landed[p].author, &landed[p].distribution),
            _ => {
                let tlp = [
                    Tlp::Clear,
                    Tlp::Green,
                    Tlp::Amber,
                    Tlp::AmberStrict,
                    Tlp::Red,
                ][op.label as usize];
                let mut to: Vec<DelegationCode> = CODES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| op.recipients & (1 << i) != 0)
                    .map(|(_, c)| c.parse().unwrap())
                    .collect();
                if to.is_empty() {
                    to.push(CODES[(op.author + 1) % 5].parse().unwrap());
                }
                Distribution {
                    to: if tlp.needs_recipients() { to } else { vec![] },
                    tlp,
                }
            }
        };
        let kind = body.kind();
        let sealed = distribution.tlp.needs_recipients();
        // Sealed as the CLI seals: to each recipient and the author, with
        // the keys the roster gives them (a recipient without one, e.g.
        // never admitted, leaves the statement unsealable: skipped).
        let body = if sealed {
            let readers: Option<Vec<_>> =
                super::sealed::sealed_readers(&author, &distribution, ledger.roster())
                    .iter()
                    .map(|c| ledger.roster().encryption_key(c).map(|k| (*c, k)))
                    .collect();
            let Some(readers) = readers else { continue };
            Body::Sealed {
                kind,
                sealed: Box::new(crate::seal::seal(&author, &body, &readers).unwrap()),
            }
        } else {
            body
        };
        let party = &mut parties[author_idx];
        party.seq += 1;
        let mut st = Statement::new(
            party.code,
            &party.key,
            party.seq,
            distribution.clone(),
            body,
        );
        st.issued_at = issued_at;
        let env = st.sign(&party.key);
        let id = StatementId::of_payload(&env.payload);
        let bytes = env.to_canonical_json();
        match apply(&mut ledger, env) {
            Ok(_) => {
                oracle.next(Entry::from_stored(&bytes).unwrap()).unwrap();
                landed.push(Landed {
                    id,
                    author,
                    distribution,
                    kind,
                    marker,
                    bytes,
                    sealed,
                })
            }
            // A refused statement changes nothing, its seq included.
            Err(_) => party.seq -= 1,
        }
    }
    let roles = CODES
        .iter()
        .zip(roles)
        .map(|(c, r)| (c.parse().unwrap(), r))
        .collect();
    Played {
        host: ledger,
        oracle: oracle.finish(),
        landed,
        roles,
        keyrings: parties.iter().map(|p| p.keyring()).collect(),
    }
}

/// Everything the fold shows `reader`, as JSON text.
fn every_view(ledger: &Ledger, reader: &Reader, ids: &[StatementId]) -> String {
    let mut out = vec![
        serde_json::to_string(&views::proposals(ledger, reader)).unwrap(),
        serde_json::to_string(&views::declarations(ledger, reader)).unwrap(),
        serde_json::to_string(&views::assessments(ledger, reader, None)).unwrap(),
        serde_json::to_string(&views::assessments(ledger, reader, Some("acme"))).unwrap(),
        serde_json::to_string(&views::supplier(ledger, reader, "Acme")).unwrap(),
        serde_json::to_string(&views::positions(ledger, reader)).unwrap(),
    ];
    // The inbox of each delegation, as this reader computes it.
    for code in CODES {
        let me: DelegationCode = code.parse().unwrap();
        out.push(
            serde_json::to_string(&views::inbox(
                ledger,
                reader,
                &me,
                time::OffsetDateTime::UNIX_EPOCH,
            ))
            .unwrap(),
        );
    }
    for id in ids {
        out.push(serde_json::to_string(&views::proposal(ledger, reader, id)).unwrap());
        out.push(serde_json::to_string(&views::declaration(ledger, reader, id)).unwrap());
        out.push(serde_json::to_string(&views::position(ledger, reader, id)).unwrap());
        out.push(serde_json::to_string(&views::thread(ledger, reader, id)).unwrap());
    }
    out.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_reader_sees_a_byte_it_may_not_read_and_every_recipient_agrees(
        ops in prop::collection::vec(op(), 1..28)
    ) {
        let Played { host, oracle, landed, roles, keyrings } = play(&ops);
        let ids: Vec<StatementId> = landed.iter().map(|l| l.id).collect();
        let mut readers = vec![Reader::Anonymous];
        readers.extend(roles.iter().map(|(code, role)| Reader::Delegation { code: *code, role: *role }));
        // The host cannot read: no sealed marker in its fold, in any view
        // it computes, or in clear in any stored byte.
        let mut host_holds = serde_json::to_string(&host).unwrap();
        for reader in &readers {
            host_holds.push_str(&every_view(&host, reader, &ids));
        }
        for l in &landed {
            host_holds.push_str(&String::from_utf8_lossy(&l.bytes));
            let env = Envelope::from_json(&l.bytes).unwrap();
            host_holds.push_str(&String::from_utf8_lossy(&env.payload));
        }
        for l in landed.iter().filter(|l| l.sealed) {
            prop_assert!(!host_holds.contains(&l.marker), "the host holds {} of a sealed {:?}", l.marker, l.kind);
        }
        for reader in &readers {
            let may = |l: &Landed| may_read(reader, &l.author, &l.distribution);
            // An anonymous reader cannot fold (the roster is GREEN): it is
            // handed the host's views.
            let own = match reader {
                Reader::Anonymous => None,
                Reader::Delegation { code, .. } => {
                    let keyring = keyrings.iter().find(|k| k.reader() == code).unwrap();
                    let mut replay = Replay::opening(Keyring::new(*code, keyring_secrets(keyring)));
                    for l in &landed {
                        let entry = if may(l) {
                            Entry::from_stored(&l.bytes).unwrap()
                        } else {
                            Entry::Hidden
                        };
                        let at = replay.ledger().size();
                        let outcome = replay.next(entry);
                        prop_assert!(outcome.is_ok(), "{reader:?}'s fold refuses entry {at} ({:?}): {outcome:?}", l.kind);
                    }
                    Some(replay.finish())
                }
            };
            let fold = own.as_ref().unwrap_or(&host);
            // What the reader is handed: its views, and the log's entries
            // as envelopes (payloads decoded) or leaf hashes.
            let mut handed = every_view(fold, reader, &ids);
            handed.push_str(&serde_json::to_string(&views::invalid(fold, reader)).unwrap());
            for l in &landed {
                if may(l) {
                    let env = Envelope::from_json(&l.bytes).unwrap();
                    handed.push_str(&String::from_utf8_lossy(&l.bytes));
                    handed.push_str(&String::from_utf8_lossy(&env.payload));
                } else {
                    handed.push_str(&b64::encode(&crate::merkle::leaf_hash(&l.bytes)));
                }
            }
            for l in landed.iter().filter(|l| !may(l) && !l.marker.is_empty()) {
                prop_assert!(
                    !handed.contains(&l.marker),
                    "{reader:?} was handed {} of a {:?} it may not read",
                    l.marker, l.kind
                );
            }
            if let Some(own) = &own {
                prop_assert_eq!(every_view(own, reader, &ids), every_view(&oracle, reader, &ids));
                prop_assert_eq!(views::invalid(own, reader), views::invalid(&oracle, reader));
            }
        }
    }
}

/// A copy of the secrets a keyring holds (a keyring is not `Clone`: its
/// secrets are copied only here, in a test).
fn keyring_secrets(keyring: &Keyring) -> Vec<crate::encryption::EncryptionSecret> {
    keyring.secrets_for_tests()
}
