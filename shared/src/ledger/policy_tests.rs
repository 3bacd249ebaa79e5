//! The policy rules of the fold: assessments against frameworks, revisions,
//! positions, and adoption under each rule.

use time::{Duration, OffsetDateTime};

use super::tests::{apply, founded, Party};
use super::*;
use crate::frameworks::Frameworks;
use crate::statement::*;
use crate::visibility::Reader;

impl Party {
    fn sign_at(&mut self, body: Body, at: OffsetDateTime) -> Envelope {
        self.seq += 1;
        let mut st = Statement::new(self.code, &self.key, self.seq, Distribution::green(), body);
        st.issued_at = at;
        st.sign(&self.key)
    }
}

struct World {
    ledger: Ledger,
    cz: Party,
    us: Party,
    de: Party,
    nato: Party,
}

fn world() -> World {
    let (mut ledger, mut cz) = founded();
    let us = Party::new("US");
    let de = Party::new("DE");
    let nato = Party::new("NATO");
    apply(&mut ledger, cz.admission_of(&us, Role::Member)).unwrap();
    apply(&mut ledger, cz.admission_of(&de, Role::Member)).unwrap();
    apply(&mut ledger, cz.admission_of(&nato, Role::Observer)).unwrap();
    World {
        ledger,
        cz,
        us,
        de,
        nato,
    }
}

fn assessment(supplier: &str, risk: Risk) -> Assessment {
    let fw = Frameworks::builtin().get("joint-declaration-2020").unwrap();
    Assessment {
        supplier: Supplier {
            name: supplier.into(),
            country: "Freedonia".into(),
        },
        framework: fw.id.clone(),
        framework_version: fw.version,
        segments: vec![Segment::Core, Segment::Ran],
        ratings: fw
            .criteria
            .iter()
            .map(|c| Rating {
                criterion: c.id.clone(),
                risk,
                rationale: "reviewed".into(),
                evidence: vec![],
            })
            .collect(),
        verdict: Verdict::Trusted,
        supersedes: None,
    }
}

fn propose(
    w: &mut World,
    rule: &str,
    participants: &[&str],
    deadline: OffsetDateTime,
) -> StatementId {
    let body = Body::Proposal(Proposal {
        title: "Principles".into(),
        text: "Draft one".into(),
        participants: participants.iter().map(|p| p.parse().unwrap()).collect(),
        rule: rule.parse().unwrap(),
        deadline,
    });
    let env = w.cz.sign(body);
    let id = StatementId::of_payload(&env.payload);
    apply(&mut w.ledger, env).unwrap();
    id
}

fn stance(
    p: &mut Party,
    ledger: &mut Ledger,
    proposal: StatementId,
    text: &str,
    position: Stance,
) -> Result<u64, Refusal> {
    let env = p.sign(Body::Endorsement(Endorsement {
        proposal,
        revision: TextDigest::of(text),
        position,
    }));
    apply(ledger, env)
}

fn status(w: &World, id: &StatementId) -> Status {
    w.ledger.proposals().get(id).unwrap().status.clone()
}

#[test]
fn assessments_must_rate_exactly_the_framework_criteria() {
    let mut w = world();
    let mut missing = assessment("Acme", Risk::Low);
    missing.ratings.pop();
    let r = apply(&mut w.ledger, w.us.sign(Body::Assessment(missing)));
    assert!(
        matches!(&r, Err(Refusal::BadAssessment(m)) if m.contains("ethical-conduct")),
        "{r:?}"
    );
    let mut unknown = assessment("Acme", Risk::Low);
    unknown.ratings[0].criterion = "price".into();
    assert!(matches!(
        apply(&mut w.ledger, w.us.sign(Body::Assessment(unknown))),
        Err(Refusal::BadAssessment(_))
    ));
    let mut wrong_fw = assessment("Acme", Risk::Low);
    wrong_fw.framework_version = 9;
    assert!(matches!(
        apply(&mut w.ledger, w.us.sign(Body::Assessment(wrong_fw))),
        Err(Refusal::BadAssessment(_))
    ));
    assert_eq!(w.ledger.assessments().iter().count(), 0);
}

/// `p` as a reader (the secretariat's role is enough to read GREEN).
fn reader(p: &Party) -> Reader {
    Reader::Delegation {
        code: p.code,
        role: Role::Member,
    }
}

#[test]
fn the_registry_makes_a_supplier_of_its_names_and_the_secretariat_merges() {
    let mut w = world();
    let entry = |name: &str, aliases: &[&str]| {
        Body::SupplierEntry(SupplierEntry {
            name: name.into(),
            country: "Freedonia".into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        })
    };
    apply(
        &mut w.ledger,
        w.cz.sign(entry("Huawei Technologies Co., Ltd.", &["Huawei"])),
    )
    .unwrap();
    // A name, in any case, belongs to one entry only; observers register nothing.
    let r = apply(&mut w.ledger, w.cz.sign(entry("HUAWEI", &[])));
    assert!(matches!(r, Err(Refusal::SupplierExists(..))), "{r:?}");
    // Only the secretariat keeps the registry.
    for p in [&mut w.de, &mut w.nato] {
        let r = apply(&mut w.ledger, p.sign(entry("Other", &[])));
        assert!(matches!(r, Err(Refusal::RoleNotAllowed { .. })), "{r:?}");
    }
    apply(&mut w.ledger, w.cz.sign(entry("Huawei Tech", &[]))).unwrap();
    // Assessments under three spellings.
    for (p, name) in [
        (&mut w.us, "huawei"),
        (&mut w.cz, "Huawei Technologies Co., Ltd."),
        (&mut w.de, "Huawei Tech"),
    ] {
        apply(
            &mut w.ledger,
            p.sign(Body::Assessment(assessment(name, Risk::High))),
        )
        .unwrap();
    }
    let view = crate::views::supplier(&w.ledger, &reader(&w.cz), "HUAWEI").unwrap();
    assert_eq!(view.name, "Huawei Technologies Co., Ltd.");
    assert_eq!(
        view.frameworks[0].assessments.len(),
        2,
        "US and CZ, not DE yet"
    );
    // Only the secretariat merges; then DE's spelling is one of the names.
    let merge = Body::SupplierMerge(SupplierMerge {
        into: "Huawei Technologies Co., Ltd.".into(),
        from: "huawei tech".into(),
    });
    let r = apply(&mut w.ledger, w.us.sign(merge.clone()));
    assert!(matches!(r, Err(Refusal::RoleNotAllowed { .. })), "{r:?}");
    let r = apply(
        &mut w.ledger,
        w.cz.sign(Body::SupplierMerge(SupplierMerge {
            into: "Huawei".into(),
            from: "Huawei Tech".into(),
        })),
    );
    assert!(
        matches!(r, Err(Refusal::BadSupplier(_))),
        "an alias is not a canonical name: {r:?}"
    );
    apply(&mut w.ledger, w.cz.sign(merge)).unwrap();
    let view = crate::views::supplier(&w.ledger, &reader(&w.us), "huawei tech").unwrap();
    assert_eq!(view.frameworks[0].assessments.len(), 3);
    assert_eq!(crate::views::suppliers(&w.ledger, &reader(&w.us)).len(), 1);
    // The registry is public: a restricted entry is refused.
    let mut st = Statement::new(
        w.cz.code,
        &w.cz.key,
        w.cz.seq + 1,
        Distribution {
            tlp: Tlp::Amber,
            to: vec!["US".parse().unwrap()],
        },
        entry("Secret Supplier", &[]),
    );
    st.issued_at = OffsetDateTime::now_utc();
    let r = apply(&mut w.ledger, st.sign(&w.cz.key));
    assert!(matches!(r, Err(Refusal::Malformed(_))), "{r:?}");
}

#[test]
fn supplier_view_compares_latest_assessments_and_marks_divergence() {
    let mut w = world();
    let env =
        w.us.sign(Body::Assessment(assessment("Acme Networks", Risk::Low)));
    let first = StatementId::of_payload(&env.payload);
    apply(&mut w.ledger, env).unwrap();
    apply(
        &mut w.ledger,
        w.cz.sign(Body::Assessment(assessment("ACME networks", Risk::High))),
    )
    .unwrap();
    // US supersedes its own assessment; DE may not supersede US's.
    let mut again = assessment("Acme Networks", Risk::High);
    again.supersedes = Some(first);
    let r = apply(&mut w.ledger, w.de.sign(Body::Assessment(again.clone())));
    assert!(matches!(r, Err(Refusal::NotYours(_))), "{r:?}");
    apply(&mut w.ledger, w.us.sign(Body::Assessment(again))).unwrap();
    let view = crate::views::supplier(&w.ledger, &reader(&w.cz), "acme networks").unwrap();
    let fw = &view.frameworks[0];
    assert_eq!(fw.assessments.len(), 2);
    assert!(
        fw.criteria.iter().all(|c| !c.diverges),
        "both now rate every criterion high"
    );
    // A third opinion that differs on one criterion.
    let mut de = assessment("Acme Networks", Risk::High);
    de.ratings[1].risk = Risk::Moderate;
    apply(&mut w.ledger, w.de.sign(Body::Assessment(de))).unwrap();
    let view = crate::views::supplier(&w.ledger, &reader(&w.cz), "Acme Networks").unwrap();
    let diverging: Vec<_> = view.frameworks[0]
        .criteria
        .iter()
        .filter(|c| c.diverges)
        .map(|c| c.criterion.as_str())
        .collect();
    assert_eq!(diverging, ["ownership-transparency"]);
}

#[test]
fn endorsing_an_old_revision_never_counts_for_the_new_one() {
    let mut w = world();
    let id = propose(
        &mut w,
        "unanimous",
        &["US", "CZ"],
        OffsetDateTime::now_utc() + Duration::days(7),
    );
    stance(&mut w.us, &mut w.ledger, id, "Draft one", Stance::Endorse).unwrap();
    // Only the proposer revises.
    let rev = |t: &str| {
        Body::Revision(Revision {
            proposal: id,
            text: t.into(),
            note: String::new(),
            amendments: vec![],
        })
    };
    assert!(matches!(
        apply(&mut w.ledger, w.us.sign(rev("Draft two"))),
        Err(Refusal::NotYours(_))
    ));
    apply(&mut w.ledger, w.cz.sign(rev("Draft two"))).unwrap();
    assert!(matches!(
        apply(&mut w.ledger, w.cz.sign(rev("Draft one"))),
        Err(Refusal::UnchangedText(0))
    ));
    // CZ endorses the new text: US's endorsement of draft one does not carry over.
    stance(&mut w.cz, &mut w.ledger, id, "Draft two", Stance::Endorse).unwrap();
    assert_eq!(status(&w, &id), Status::Open);
    let r = stance(&mut w.us, &mut w.ledger, id, "Draft one", Stance::Endorse);
    assert!(matches!(r, Err(Refusal::StaleRevision { .. })), "{r:?}");
    let at = stance(&mut w.us, &mut w.ledger, id, "Draft two", Stance::Endorse).unwrap();
    assert!(matches!(status(&w, &id), Status::Adopted { index, .. } if index == at));
    let d = w.ledger.proposals().declaration(&id).unwrap();
    assert_eq!(d.text, "Draft two");
    assert_eq!(d.signatories.len(), 2);
    // Closed: no more positions.
    let r = stance(&mut w.us, &mut w.ledger, id, "Draft two", Stance::Abstain);
    assert!(matches!(r, Err(Refusal::ProposalClosed(_))), "{r:?}");
}

#[test]
fn participants_amend_and_the_proposer_takes_or_rejects_each_amendment_once() {
    let mut w = world();
    let id = propose(
        &mut w,
        "unanimous",
        &["US", "DE"],
        OffsetDateTime::now_utc() + Duration::days(7),
    );
    let amend = |p: &mut Party, base: &str, text: &str| {
        p.sign(Body::Amendment(Amendment {
            proposal: id,
            revision: TextDigest::of(base),
            text: text.into(),
            note: "why".into(),
        }))
    };
    // A participant amends the current revision; the proposer and observers may not.
    let env = amend(&mut w.de, "Draft one", "Draft one, amended");
    let first = StatementId::of_payload(&env.payload);
    apply(&mut w.ledger, env).unwrap();
    let env = amend(&mut w.us, "Draft one", "Draft one, otherwise");
    let second = StatementId::of_payload(&env.payload);
    apply(&mut w.ledger, env).unwrap();
    let r = apply(&mut w.ledger, amend(&mut w.cz, "Draft one", "x"));
    assert!(matches!(r, Err(Refusal::NotAParticipant(_))), "{r:?}");
    let r = apply(&mut w.ledger, amend(&mut w.nato, "Draft one", "x"));
    assert!(matches!(r, Err(Refusal::RoleNotAllowed { .. })), "{r:?}");
    let r = apply(&mut w.ledger, amend(&mut w.de, "Draft zero", "x"));
    assert!(matches!(r, Err(Refusal::NoSuchStatement(_))), "{r:?}");
    let r = apply(&mut w.ledger, amend(&mut w.de, "Draft one", "Draft one"));
    assert!(matches!(r, Err(Refusal::UnchangedText(0))), "{r:?}");

    // Only the proposer decides; a revision records what it took.
    let take = |ids: Vec<StatementId>, text: &str| {
        Body::Revision(Revision {
            proposal: id,
            text: text.into(),
            note: String::new(),
            amendments: ids,
        })
    };
    let reject = |a: StatementId| {
        Body::AmendmentRejection(AmendmentRejection {
            proposal: id,
            amendment: a,
            reason: "out of scope".into(),
        })
    };
    let r = apply(&mut w.ledger, w.de.sign(reject(second)));
    assert!(matches!(r, Err(Refusal::NotYours(_))), "{r:?}");
    let r = apply(&mut w.ledger, w.cz.sign(take(vec![id], "Draft two")));
    assert!(matches!(r, Err(Refusal::NoSuchStatement(_))), "{r:?}");
    apply(
        &mut w.ledger,
        w.cz.sign(take(vec![first], "Draft one, amended")),
    )
    .unwrap();
    apply(&mut w.ledger, w.cz.sign(reject(second))).unwrap();
    // Each once.
    let r = apply(&mut w.ledger, w.cz.sign(reject(first)));
    assert!(matches!(r, Err(Refusal::AmendmentDecided(..))), "{r:?}");
    let r = apply(&mut w.ledger, w.cz.sign(take(vec![second], "Draft three")));
    assert!(matches!(r, Err(Refusal::AmendmentDecided(..))), "{r:?}");
    // An amendment of a revision no longer current is stale.
    let r = apply(&mut w.ledger, amend(&mut w.us, "Draft one", "y"));
    assert!(matches!(r, Err(Refusal::StaleRevision { .. })), "{r:?}");

    let rec = w.ledger.proposals().get(&id).unwrap();
    assert_eq!(rec.revisions.len(), 2);
    assert_eq!(
        rec.amendment(&first).unwrap().status,
        AmendmentStatus::Accepted {
            revision: 1,
            by: rec.revisions[1].meta.id
        }
    );
    assert!(matches!(
        &rec.amendment(&second).unwrap().status,
        AmendmentStatus::Rejected { reason, .. } if reason == "out of scope"
    ));
    // Positions stay pinned to revisions: both endorse the new text.
    stance(
        &mut w.us,
        &mut w.ledger,
        id,
        "Draft one, amended",
        Stance::Endorse,
    )
    .unwrap();
    stance(
        &mut w.de,
        &mut w.ledger,
        id,
        "Draft one, amended",
        Stance::Endorse,
    )
    .unwrap();
    assert!(matches!(status(&w, &id), Status::Adopted { .. }));
}

#[test]
fn fraction_counts_endorsements_with_reservations_and_lists_objections() {
    let mut w = world();
    let id = propose(
        &mut w,
        "fraction:2/3",
        &["CZ", "US", "DE"],
        OffsetDateTime::now_utc() + Duration::days(7),
    );
    stance(
        &mut w.de,
        &mut w.ledger,
        id,
        "Draft one",
        Stance::Object {
            reason: "too vague".into(),
        },
    )
    .unwrap();
    stance(
        &mut w.us,
        &mut w.ledger,
        id,
        "Draft one",
        Stance::EndorseWithReservation {
            reservation: "RAN only".into(),
        },
    )
    .unwrap();
    assert_eq!(status(&w, &id), Status::Open);
    stance(&mut w.cz, &mut w.ledger, id, "Draft one", Stance::Endorse).unwrap();
    let d = w.ledger.proposals().declaration(&id).unwrap();
    assert_eq!(
        d.signatories
            .iter()
            .map(|s| s.delegation.as_str())
            .collect::<Vec<_>>(),
        ["CZ", "US"]
    );
    assert_eq!(d.signatories[1].reservation.as_deref(), Some("RAN only"));
    assert_eq!(
        d.objections.get(&"DE".parse().unwrap()).map(String::as_str),
        Some("too vague")
    );
}

#[test]
fn only_participants_who_are_not_observers_take_positions_before_the_deadline() {
    let mut w = world();
    let deadline = OffsetDateTime::now_utc() + Duration::days(1);
    let id = propose(&mut w, "threshold:1", &["CZ", "US"], deadline);
    let r = stance(&mut w.nato, &mut w.ledger, id, "Draft one", Stance::Endorse);
    assert!(matches!(r, Err(Refusal::RoleNotAllowed { .. })), "{r:?}");
    let r = stance(&mut w.de, &mut w.ledger, id, "Draft one", Stance::Endorse);
    assert!(matches!(r, Err(Refusal::NotAParticipant(_))), "{r:?}");
    let late = w.us.sign_at(
        Body::Endorsement(Endorsement {
            proposal: id,
            revision: TextDigest::of("Draft one"),
            position: Stance::Endorse,
        }),
        deadline + Duration::seconds(1),
    );
    assert!(matches!(
        apply(&mut w.ledger, late),
        Err(Refusal::DeadlinePassed(_))
    ));
    // Observers cannot be named participants either.
    let body = Body::Proposal(Proposal {
        title: "x".into(),
        text: "y".into(),
        participants: vec!["NATO".parse().unwrap()],
        rule: AdoptionRule::Unanimous,
        deadline,
    });
    assert!(matches!(
        apply(&mut w.ledger, w.cz.sign(body)),
        Err(Refusal::BadParticipants(_))
    ));
}

#[test]
fn silence_adopts_at_the_first_statement_after_the_deadline_unless_someone_objects() {
    let mut w = world();
    let deadline = OffsetDateTime::now_utc() + Duration::hours(1);
    let quiet = propose(&mut w, "silence", &["CZ", "US", "DE"], deadline);
    let contested = propose(&mut w, "silence", &["CZ", "US", "DE"], deadline);
    stance(
        &mut w.de,
        &mut w.ledger,
        contested,
        "Draft one",
        Stance::Object {
            reason: "no".into(),
        },
    )
    .unwrap();
    assert_eq!(status(&w, &quiet), Status::Open);
    let later = w.us.sign_at(
        Body::Message(Message {
            thread: quiet,
            text: "time is up".into(),
        }),
        deadline + Duration::seconds(5),
    );
    let at = apply(&mut w.ledger, later).unwrap();
    assert!(matches!(status(&w, &quiet), Status::Adopted { index, .. } if index == at));
    assert_eq!(status(&w, &contested), Status::Expired { index: at });
    assert!(w
        .ledger
        .proposals()
        .declaration(&quiet)
        .unwrap()
        .signatories
        .is_empty());
}

#[test]
fn messages_need_a_statement_to_hang_off() {
    let mut w = world();
    let nowhere = StatementId([7; 32]);
    let r = apply(
        &mut w.ledger,
        w.nato.sign(Body::Message(Message {
            thread: nowhere,
            text: "hello".into(),
        })),
    );
    assert!(matches!(r, Err(Refusal::NoSuchStatement(_))), "{r:?}");
    let id = propose(
        &mut w,
        "unanimous",
        &["CZ"],
        OffsetDateTime::now_utc() + Duration::days(1),
    );
    apply(
        &mut w.ledger,
        w.nato.sign(Body::Message(Message {
            thread: id,
            text: "observing".into(),
        })),
    )
    .unwrap();
    assert_eq!(w.ledger.discussion().thread(&id).len(), 1);
}

#[test]
fn the_ledger_survives_a_snapshot_round_trip() {
    let mut w = world();
    propose(
        &mut w,
        "unanimous",
        &["CZ", "US"],
        OffsetDateTime::now_utc() + Duration::days(1),
    );
    let json = serde_json::to_vec(&w.ledger).unwrap();
    let back: Ledger = serde_json::from_slice(&json).unwrap();
    assert_eq!(back.size(), w.ledger.size());
    assert_eq!(back.roster(), w.ledger.roster());
    assert_eq!(back.proposals(), w.ledger.proposals());
}
