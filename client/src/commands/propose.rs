//! `entente propose` and `entente revise`: putting a text up for adoption
//! and publishing new texts of it.

use entente_shared::statement::{Body, Proposal, Revision, TextDigest};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::Context;
use crate::cli::{Parent, ProposeArgs, ReviseArgs};
use crate::error::{fail, CliResult};
use crate::output::{emit_published, timestamp};
use crate::session::{read_text, Session};

pub fn propose(ctx: &Context, args: ProposeArgs) -> CliResult<()> {
    let when = When::parse(&args.deadline)?;
    let text = read_text(&args.file)?;
    let mut proposal = Proposal {
        title: args.title,
        text,
        participants: args.participants,
        rule: args.rule,
        deadline: when.after(OffsetDateTime::now_utc())?,
    };
    // Shape errors (empty title, repeated participant, threshold above the
    // number of participants) are caught before signing.
    proposal.validate().map_err(fail)?;
    let mut session = Session::open(ctx)?;
    let distribution = args
        .distribute
        .distribution(&session.profile.data.delegation, None)?;
    let digest = TextDigest::of(&proposal.text);
    let (title, rule) = (proposal.title.clone(), proposal.rule);
    let mut deadline = proposal.deadline;
    let receipt = session.publish_with(distribution, |issued_at| {
        proposal.deadline = when.after(issued_at)?;
        deadline = proposal.deadline;
        Ok(Body::Proposal(proposal))
    })?;
    let extra = json!({ "revision": digest, "rule": rule, "deadline": timestamp(deadline) });
    let done = format!(
        "proposed {title:?} ({rule}, deadline {})\nrevision 0 digest {digest}",
        timestamp(deadline)
    );
    emit_published(ctx.json, &receipt, extra, done)?;
    Ok(())
}

pub fn revise(ctx: &Context, args: ReviseArgs) -> CliResult<()> {
    let text = read_text(&args.file)?;
    let mut session = Session::open(ctx)?;
    let view = session.proposal(&args.proposal)?;
    let proposal = view.record.meta.id;
    let distribution = args.distribute.distribution(
        &session.profile.data.delegation,
        Some(Parent {
            author: &view.record.meta.author,
            distribution: &view.record.meta.distribution,
        }),
    )?;
    let revision = Revision {
        proposal,
        text,
        note: args.note,
        amendments: vec![],
    };
    revision.validate().map_err(fail)?;
    let digest = TextDigest::of(&revision.text);
    // The number the fold will give it, unless someone revises concurrently
    // (only the proposer may, so only another session of this profile).
    let number = view.record.revisions.len();
    let extra = json!({ "proposal": proposal, "revision": digest, "number": number });
    let done = format!("revised proposal {proposal}\nrevision {number} digest {digest}");
    let receipt = session.publish(distribution, Body::Revision(revision))?;
    emit_published(ctx.json, &receipt, extra, done)?;
    Ok(())
}

/// `--deadline` as given: an RFC 3339 time, or a duration such as `7d`,
/// `12h`, `30m`, `45s` (or combined, `1d12h`) counted from the proposal's
/// `issued_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    At(OffsetDateTime),
    After(Duration),
}

impl When {
    pub fn parse(arg: &str) -> CliResult<When> {
        let arg = arg.trim();
        if let Ok(t) = OffsetDateTime::parse(arg, &Rfc3339) {
            return Ok(When::At(t));
        }
        crate::duration::seconds(arg)
            .ok()
            .map(|secs| When::After(Duration::seconds(secs as i64)))
            .ok_or_else(|| {
                fail(format!(
                    "deadline {arg:?} is neither an RFC 3339 time (e.g. 2030-05-06T12:00:00Z) \
                     nor a duration such as 7d, 12h, 30m, 45s"
                ))
            })
    }

    /// The deadline of a proposal issued at `issued_at`; refused unless later.
    pub fn after(self, issued_at: OffsetDateTime) -> CliResult<OffsetDateTime> {
        let at = match self {
            When::At(t) => t,
            When::After(d) => issued_at + d,
        };
        if at <= issued_at {
            return Err(fail(format!(
                "deadline {} is not in the future",
                timestamp(at)
            )));
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2020-05-06 12:00 UTC);

    fn deadline(arg: &str, now: OffsetDateTime) -> CliResult<OffsetDateTime> {
        When::parse(arg)?.after(now)
    }

    #[test]
    fn durations_count_from_issued_at() {
        for (arg, want) in [
            ("7d", datetime!(2020-05-13 12:00 UTC)),
            ("12h", datetime!(2020-05-07 00:00 UTC)),
            ("30m", datetime!(2020-05-06 12:30 UTC)),
            ("45s", datetime!(2020-05-06 12:00:45 UTC)),
            ("1s", datetime!(2020-05-06 12:00:01 UTC)),
            ("1d12h", datetime!(2020-05-08 00:00 UTC)),
            ("2w", datetime!(2020-05-20 12:00 UTC)),
        ] {
            assert_eq!(deadline(arg, NOW).unwrap(), want, "{arg}");
        }
    }

    #[test]
    fn rfc3339_times_are_taken_as_written() {
        assert_eq!(
            deadline("2020-06-01T09:30:00+02:00", NOW).unwrap(),
            datetime!(2020-06-01 07:30 UTC)
        );
    }

    #[test]
    fn nonsense_zero_and_past_deadlines_are_refused() {
        for bad in [
            "",
            "7",
            "d",
            "7x",
            "-7d",
            "0d",
            "7 d",
            "tomorrow",
            "99999999999d",
        ] {
            let e = deadline(bad, NOW).unwrap_err().to_string();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
        let e = deadline("2020-05-06T11:00:00Z", NOW)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in the future"), "{e}");
    }
}
