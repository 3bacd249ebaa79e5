//! Who may publish what, and how far a statement's clock may be from ours.

use time::OffsetDateTime;

use crate::refusal::Refusal;
use crate::statement::{Kind, Role};

/// Whether `role` may publish a statement of `kind` at all. Finer rules
/// (whose key may be revoked, who may admit) are checked by the fold.
pub fn role_allows(role: Role, kind: Kind) -> bool {
    match kind {
        // The secretariat admits, keeps the supplier registry (a name
        // registered is every delegation's: a member could otherwise take a
        // competitor's names for good), and says when two suppliers are one.
        Kind::Admission | Kind::SupplierEntry | Kind::SupplierMerge => role == Role::Secretariat,
        // Observers follow and comment; they never negotiate texts.
        Kind::Proposal
        | Kind::Revision
        | Kind::Endorsement
        | Kind::Amendment
        | Kind::AmendmentRejection => role != Role::Observer,
        Kind::KeyRotation
        | Kind::KeyRevocation
        | Kind::Assessment
        | Kind::Position
        | Kind::Message => true,
    }
}

/// Refuses a statement whose `issued_at` is more than `max_past_secs` behind
/// `now` or more than `max_future_secs` ahead of it. The future bound is the
/// tight one: the fold's only clock is the signed `issued_at` of what it
/// reads, so a statement dated ahead would close proposals early for
/// everyone; a slow or late client only ever dates itself behind.
///
/// Only the server applies this, at submission: a verifier replaying the log
/// later has no "now" to compare with, so the fold itself never looks at clocks.
pub fn check_clock(
    issued_at: OffsetDateTime,
    now: OffsetDateTime,
    max_past_secs: u64,
    max_future_secs: u64,
) -> Result<(), Refusal> {
    let skew = (now - issued_at).whole_seconds();
    let max_secs = if skew < 0 {
        max_future_secs
    } else {
        max_past_secs
    };
    if skew.unsigned_abs() > max_secs {
        return Err(Refusal::ClockSkew {
            skew_secs: skew,
            max_secs,
        });
    }
    Ok(())
}

/// Refuses an AMBER, AMBER+STRICT or RED statement whose body is in clear:
/// the host may not read it. Only the server applies this, at submission: a
/// log written before bodies were sealed still replays, its restricted
/// statements as they were signed.
pub fn check_sealed(st: &crate::statement::Statement) -> Result<(), Refusal> {
    if st.distribution.tlp.needs_recipients() && !st.kind().is_public() && !st.body.is_sealed() {
        let label = serde_json::to_value(st.distribution.tlp)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        return Err(Refusal::NotSealed(label));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn only_the_secretariat_admits() {
        assert!(role_allows(Role::Secretariat, Kind::Admission));
        assert!(!role_allows(Role::Member, Kind::Admission));
        assert!(!role_allows(Role::Observer, Kind::Admission));
        assert!(role_allows(Role::Observer, Kind::KeyRotation));
        assert!(!role_allows(Role::Observer, Kind::Endorsement));
        assert!(role_allows(Role::Observer, Kind::Message));
        assert!(role_allows(Role::Member, Kind::Proposal));
    }

    #[test]
    fn clock_skew_is_bounded_both_ways_and_tightly_ahead() {
        let now = OffsetDateTime::now_utc();
        assert!(check_clock(now - Duration::seconds(299), now, 300, 5).is_ok());
        assert!(check_clock(now + Duration::seconds(5), now, 300, 5).is_ok());
        assert!(check_clock(now - Duration::seconds(301), now, 300, 5).is_err());
        assert!(check_clock(now + Duration::seconds(6), now, 300, 5).is_err());
        assert!(check_clock(now + Duration::seconds(295), now, 300, 5).is_err());
    }
}
