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
    fn several_recipients_each_read() {
        let d = dist(Tlp::Red, &["US", "DE"]);
        let author = code("CZ");
        assert!(may_read(&delegation("US", Role::Member), &author, &d));
        assert!(may_read(&delegation("DE", Role::Member), &author, &d));
        assert!(!may_read(&delegation("FR", Role::Member), &author, &d));
    }
}
