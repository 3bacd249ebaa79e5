//! Who may read a statement: the TLP 2.0 rule, in one pure function.
//!
//! | label | readers |
//! |---|---|
//! | CLEAR | anyone, signed or not |
//! | GREEN | every admitted delegation |
//! | AMBER, AMBER+STRICT, RED | the author and the named recipients |
//!
//! Observers read CLEAR and GREEN only, even when named as recipients (they
//! still read what they wrote themselves). Every read path of the server —
//! by id, by index, views, the stream — decides with [`may_read`], so the rule
//! lives here once and an offline tool can apply the very same rule.
//!
//! A statement that hangs off another (a revision or a position on a
//! proposal, a message in a thread, a position paper about a subject, a
//! superseding assessment) has an audience [`no_wider`] than its parent's:
//! a label at least as strict, and for a restricted parent, readers among the
//! parent's. So whoever may read a child may read its parent, and a reader's
//! partial fold never meets a child of something it cannot see. The CLI
//! gives a reply its parent's audience unless told otherwise ([`inherit`]).
//! The whole model, and what a non-recipient still learns, is in
//! `docs/audience.md`.

use crate::statement::{DelegationCode, Distribution, Role, Statement, Tlp};

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// An unsigned request.
    Anonymous,
    /// A request signed by an active key of an admitted delegation.
    Delegation { code: DelegationCode, role: Role },
}

impl Reader {
    /// The delegation's code, if signed.
    pub fn code(&self) -> Option<&DelegationCode> {
        match self {
            Reader::Anonymous => None,
            Reader::Delegation { code, .. } => Some(code),
        }
    }
}

/// Whether `reader` may read a statement by `author` under `distribution`.
pub fn may_read(reader: &Reader, author: &DelegationCode, distribution: &Distribution) -> bool {
    let (code, role) = match reader {
        Reader::Anonymous => return distribution.tlp == Tlp::Clear,
        Reader::Delegation { code, role } => (code, *role),
    };
    if code == author {
        return true;
    }
    match distribution.tlp {
        Tlp::Clear | Tlp::Green => true,
        Tlp::Amber | Tlp::AmberStrict | Tlp::Red => {
            role != Role::Observer && distribution.to.contains(code)
        }
    }
}

/// How strict a label is, CLEAR (0) to RED (4): a child's label is at least
/// as strict as its parent's.
pub fn strictness(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    }
}

/// The delegations a restricted statement reaches: its author and its
/// named recipients (`None` for CLEAR and GREEN, which name none).
pub fn named_readers(author: &DelegationCode, d: &Distribution) -> Option<Vec<DelegationCode>> {
    d.tlp.needs_recipients().then(|| {
        let mut all = d.to.clone();
        all.push(*author);
        all.sort();
        all.dedup();
        all
    })
}

/// Whether a statement by `author` under `d` reaches every reader of a
/// statement by `other_author` under `other`: it is CLEAR or GREEN, or the
/// other is restricted and each of its author and recipients is this one's
/// author or a recipient. Every fold that holds the other statement then
/// holds this one too, whatever else it may not read.
pub fn reaches_every_reader_of(
    author: &DelegationCode,
    d: &Distribution,
    other_author: &DelegationCode,
    other: &Distribution,
) -> bool {
    match (named_readers(author, d), named_readers(other_author, other)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(ours), Some(theirs)) => theirs.iter().all(|r| ours.contains(r)),
    }
}

/// Whether a child by `author` under `child` reaches no one its parent (by
/// `parent_author` under `parent`) does not: its label is at least as strict,
/// and under a restricted parent its author and recipients are among the
/// parent's author and recipients.
pub fn no_wider(
    author: &DelegationCode,
    child: &Distribution,
    parent_author: &DelegationCode,
    parent: &Distribution,
) -> bool {
    if strictness(child.tlp) < strictness(parent.tlp) {
        return false;
    }
    match named_readers(parent_author, parent) {
        None => true,
        Some(theirs) => {
            named_readers(author, child).is_some_and(|ours| ours.iter().all(|c| theirs.contains(c)))
        }
    }
}

/// Whether the two reach exactly the same readers under the same label.
pub fn same_audience(
    author: &DelegationCode,
    child: &Distribution,
    parent_author: &DelegationCode,
    parent: &Distribution,
) -> bool {
    child.tlp == parent.tlp && named_readers(author, child) == named_readers(parent_author, parent)
}

/// The distribution a reply by `author` gets by default: its parent's
/// audience (the same label; the parent's author and recipients, less the
/// reply's own author).
pub fn inherit(
    author: &DelegationCode,
    parent_author: &DelegationCode,
    parent: &Distribution,
) -> Distribution {
    Distribution {
        tlp: parent.tlp,
        to: named_readers(parent_author, parent)
            .map(|all| all.into_iter().filter(|c| c != author).collect())
            .unwrap_or_default(),
    }
}

/// [`may_read`] for a decoded statement.
pub fn may_read_statement(reader: &Reader, statement: &Statement) -> bool {
    may_read(reader, &statement.author, &statement.distribution)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DelegationCode {
        s.parse().unwrap()
    }

    fn dist(tlp: Tlp, to: &[&str]) -> Distribution {
        Distribution {
            tlp,
            to: to.iter().map(|c| code(c)).collect(),
        }
    }

    fn delegation(c: &str, role: Role) -> Reader {
        Reader::Delegation {
            code: code(c),
            role,
        }
    }

    /// Every label against every kind of reader. Author CZ; recipient US.
    #[test]
    fn full_matrix() {
        use Role::*;
        let readers = [
            ("anonymous", Reader::Anonymous),
            ("author", delegation("CZ", Member)),
            ("recipient member", delegation("US", Member)),
            ("recipient secretariat", delegation("US", Secretariat)),
            ("recipient observer", delegation("US", Observer)),
            ("other member", delegation("DE", Member)),
            ("other secretariat", delegation("DE", Secretariat)),
            ("other observer", delegation("DE", Observer)),
            ("observer author", delegation("CZ", Observer)),
        ];
        // Expected, in the order of `readers`, per label.
        let table: [(Tlp, [bool; 9]); 5] = [
            (
                Tlp::Clear,
                [true, true, true, true, true, true, true, true, true],
            ),
            (
                Tlp::Green,
                [false, true, true, true, true, true, true, true, true],
            ),
            (
                Tlp::Amber,
                [false, true, true, true, false, false, false, false, true],
            ),
            (
                Tlp::AmberStrict,
                [false, true, true, true, false, false, false, false, true],
            ),
            (
                Tlp::Red,
                [false, true, true, true, false, false, false, false, true],
            ),
        ];
        let author = code("CZ");
        for (tlp, expected) in table {
            let d = if tlp.needs_recipients() {
                dist(tlp, &["US"])
            } else {
                dist(tlp, &[])
            };
            for ((name, reader), want) in readers.iter().zip(expected) {
                assert_eq!(
                    may_read(reader, &author, &d),
                    want,
                    "{tlp:?} read by {name}"
                );
            }
        }
    }

    #[test]
    fn children_are_no_wider_than_their_parents() {
        let (cz, us, de) = (code("CZ"), code("US"), code("DE"));
        let green = dist(Tlp::Green, &[]);
        let clear = dist(Tlp::Clear, &[]);
        let amber_us = dist(Tlp::Amber, &["US"]);
        // Anything under CLEAR; nothing CLEAR under GREEN.
        assert!(no_wider(&us, &green, &cz, &clear));
        assert!(!no_wider(&us, &clear, &cz, &green));
        assert!(no_wider(&us, &amber_us, &cz, &green));
        // Under CZ's AMBER to US: US may answer CZ, AMBER or stricter, not DE.
        assert!(no_wider(&us, &dist(Tlp::Amber, &["CZ"]), &cz, &amber_us));
        assert!(no_wider(&us, &dist(Tlp::Red, &["CZ"]), &cz, &amber_us));
        assert!(!no_wider(&us, &dist(Tlp::Amber, &["DE"]), &cz, &amber_us));
        assert!(!no_wider(&us, &green, &cz, &amber_us));
        assert!(!no_wider(&de, &dist(Tlp::Amber, &["CZ"]), &cz, &amber_us));
        // Less strict is wider, even to the same readers.
        assert!(!no_wider(
            &us,
            &dist(Tlp::Amber, &["CZ"]),
            &cz,
            &dist(Tlp::Red, &["US"])
        ));
        // The default reply reaches exactly the parent's readers.
        let reply = inherit(&us, &cz, &dist(Tlp::Red, &["US", "DE"]));
        assert_eq!(reply, dist(Tlp::Red, &["CZ", "DE"]));
        assert!(same_audience(
            &us,
            &reply,
            &cz,
            &dist(Tlp::Red, &["US", "DE"])
        ));
        assert_eq!(inherit(&us, &cz, &green), green);
    }

    #[test]
    fn several_recipients_each_read() {
        let d = dist(Tlp::Red, &["US", "DE"]);
        let author = code("CZ");
        assert!(may_read(&delegation("US", Role::Member), &author, &d));
        assert!(may_read(&delegation("DE", Role::Member), &author, &d));
        assert!(!may_read(&delegation("FR", Role::Member), &author, &d));
    }
}
