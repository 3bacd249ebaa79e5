//! `entente proposal list|show`: proposals, their texts, diffs between
//! revisions, and where every participant stands on every revision.

use entente_shared::api::ProposalView;
use entente_shared::ledger::proposals::RevisionRecord;
use entente_shared::ledger::{ProposalRecord, Status};
use entente_shared::statement::Stance;
use entente_shared::views;
use serde_json::json;
use similar::TextDiff;

use super::Context;
use crate::cli::ProposalCommand;
use crate::error::{fail, CliResult};
use crate::negotiation::proposal_status;
use crate::output::{emit, emit_list, marking, short, table, timestamp};
use crate::session::Session;

pub fn run(ctx: &Context, cmd: ProposalCommand) -> CliResult<()> {
    let session = Session::open(ctx)?;
    match cmd {
        ProposalCommand::List => {
            let (ledger, reader) = session.own_view()?;
            let list: Vec<ProposalView> = views::proposals(ledger, &reader);
            emit_list(
                ctx.json,
                &list,
                |p| p.record.meta.id.to_string(),
                &[
                    "id", "entry", "proposer", "tlp", "title", "rule", "deadline", "status", "rev",
                    "tally",
                ],
                |p| {
                    let r = &p.record;
                    vec![
                        short(&r.meta.id),
                        r.meta.index.to_string(),
                        r.meta.author.to_string(),
                        marking(&r.meta.distribution),
                        r.title.clone(),
                        r.rule.to_string(),
                        timestamp(r.deadline),
                        proposal_status(r),
                        r.current().number.to_string(),
                        format!(
                            "{} endorse, {} object, {} abstain, {} pending",
                            p.tally.endorse, p.tally.object, p.tally.abstain, p.tally.pending
                        ),
                    ]
                },
            )?;
        }
        ProposalCommand::Show {
            proposal,
            revision,
            diff,
        } => {
            let view = session.proposal(&proposal)?;
            let rec = &view.record;
            let shown = match &revision {
                Some(arg) => revision_of(rec, arg)?,
                None => rec.current(),
            };
            let diff = match diff.as_deref() {
                Some([from, to]) => {
                    let (from, to) = (revision_of(rec, from)?, revision_of(rec, to)?);
                    Some((word_diff(from, to), unified_diff(from, to)))
                }
                _ => None,
            };
            let mut out = json!(view);
            out["id"] = json!(rec.meta.id);
            if let Some((words, lines)) = &diff {
                out["diff"] = json!(lines);
                out["word_diff"] = json!(words);
            }
            emit(ctx.json, &out, || {
                let mut s = summary(&view);
                s.push_str(&format!(
                    "\nText of revision {}{} ({})\n\n{}\n",
                    shown.number,
                    if shown.number == rec.current().number {
                        ", the current one"
                    } else {
                        ""
                    },
                    shown.digest,
                    shown.text.trim_end()
                ));
                if let Some((words, lines)) = &diff {
                    s.push_str("\nChanges, word by word ([-removed-]{+added+}):\n\n");
                    s.push_str(words.trim_end());
                    s.push_str("\n\nBy line:\n");
                    s.push_str(lines);
                }
                s
            })?;
        }
    }
    Ok(())
}

/// A revision by number (`0`, `1`, …), full digest, or digest prefix.
pub fn revision_of<'a>(rec: &'a ProposalRecord, arg: &str) -> CliResult<&'a RevisionRecord> {
    let arg = arg.trim().to_ascii_lowercase();
    if let Ok(n) = arg.parse::<u32>() {
        if let Some(r) = rec.revisions.iter().find(|r| r.number == n) {
            return Ok(r);
        }
    }
    let matches: Vec<&RevisionRecord> = rec
        .revisions
        .iter()
        .filter(|r| arg.len() >= 4 && r.digest.to_string().starts_with(&arg))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(fail(format!(
            "proposal {} has no revision {arg:?}: give a number 0..{} or a digest",
            short(&rec.meta.id),
            rec.revisions.len() - 1
        ))),
        _ => Err(fail(format!(
            "revision {arg:?} is ambiguous: give more digits of the digest"
        ))),
    }
}

/// A stance in one word (`*` marks a reservation, explained below tables).
fn stance_word(s: &Stance) -> &'static str {
    match s {
        Stance::Endorse => "endorse",
        Stance::EndorseWithReservation { .. } => "endorse*",
        Stance::Object { .. } => "object",
        Stance::Abstain => "abstain",
    }
}

/// Facts, revisions, and the revision × participant table of positions.
fn summary(view: &ProposalView) -> String {
    let rec = &view.record;
    let t = &view.tally;
    let participants: Vec<String> = rec.participants.iter().map(|p| p.to_string()).collect();
    let mut s = format!(
        "proposal      {}\nmarking       {}\ntitle         {}\nproposer      {} (entry {}, {})\nparticipants  {}\nrule          {}\ndeadline      {}\nstatus        {}\n",
        rec.meta.id,
        marking(&rec.meta.distribution),
        rec.title,
        rec.meta.author,
        rec.meta.index,
        timestamp(rec.meta.issued_at),
        participants.join(", "),
        rec.rule,
        timestamp(rec.deadline),
        proposal_status(rec),
    );
    if let Status::Adopted { at, revision, .. } = &rec.status {
        s.push_str(&format!(
            "adopted       {} on revision {}\n",
            timestamp(*at),
            short(revision)
        ));
    }
    s.push_str(&format!(
        "tally         {} endorse, {} object, {} abstain, {} pending (current revision)\n",
        t.endorse, t.object, t.abstain, t.pending
    ));
    let mut headers = vec!["rev", "digest", "entry"];
    headers.extend(participants.iter().map(String::as_str));
    headers.push("note");
    let mut notes = Vec::new();
    let rows: Vec<Vec<String>> = rec
        .revisions
        .iter()
        .map(|r| {
            let positions = rec.positions_on(&r.digest);
            let mut row = vec![
                r.number.to_string(),
                short(&r.digest),
                r.meta.index.to_string(),
            ];
            for p in &rec.participants {
                row.push(match positions.get(p) {
                    Some(pos) => {
                        match &pos.stance {
                            Stance::EndorseWithReservation { reservation: why }
                            | Stance::Object { reason: why } => notes.push(format!(
                                "  rev {} {p} {}: {}\n",
                                r.number,
                                pos.stance.label(),
                                why.trim().replace('\n', " ")
                            )),
                            _ => {}
                        }
                        stance_word(&pos.stance).to_owned()
                    }
                    None => "—".to_owned(),
                });
            }
            row.push(r.note.clone());
            row
        })
        .collect();
    s.push_str("\nPositions on each revision (a position never carries over to another):\n");
    s.push_str(&table(&headers, &rows));
    if !notes.is_empty() {
        s.push_str("\nReservations (*) and objections:\n");
        s.extend(notes);
    }
    if !rec.amendments.is_empty() {
        s.push_str("\nAmendments (`entente amendment show ID`):\n");
        for a in &rec.amendments {
            let on = rec
                .revision(&a.revision)
                .map_or_else(|| short(&a.revision), |r| r.number.to_string());
            s.push_str(&format!(
                "  {}  by {} (entry {}) on revision {on}: {}{}\n",
                short(&a.meta.id),
                a.meta.author,
                a.meta.index,
                crate::negotiation::amendment_status(&a.status),
                if a.note.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", a.note)
                }
            ));
        }
    }
    s
}

/// What changed between two revisions, word by word ([`crate::diff::words`]).
fn word_diff(from: &RevisionRecord, to: &RevisionRecord) -> String {
    crate::diff::words(&from.text, &to.text)
}

/// A unified diff between two revisions' texts.
fn unified_diff(from: &RevisionRecord, to: &RevisionRecord) -> String {
    let label = |r: &RevisionRecord| format!("revision {} ({})", r.number, short(&r.digest));
    TextDiff::from_lines(&from.text, &to.text)
        .unified_diff()
        .context_radius(3)
        .header(&label(from), &label(to))
        .to_string()
}

#[cfg(test)]
mod tests {
    use entente_shared::ledger::EntryMeta;
    use entente_shared::statement::{AdoptionRule, Distribution, StatementId, TextDigest};

    use super::*;

    fn revision(number: u32, text: &str) -> RevisionRecord {
        let (key, _) = entente_shared::keys::SigningKey::generate().unwrap();
        RevisionRecord {
            number,
            digest: TextDigest::of(text),
            text: text.into(),
            note: String::new(),
            meta: EntryMeta {
                id: StatementId::of_payload(text.as_bytes()),
                index: number as u64,
                author: "US".parse().unwrap(),
                key: key.key_id(),
                issued_at: time::OffsetDateTime::UNIX_EPOCH,
                distribution: Distribution::green(),
            },
        }
    }

    fn record() -> ProposalRecord {
        let revisions = vec![revision(0, "a\nb\nc\n"), revision(1, "a\nB\nc\n")];
        ProposalRecord {
            meta: revisions[0].meta.clone(),
            title: "t".into(),
            participants: vec!["US".parse().unwrap()],
            rule: AdoptionRule::Unanimous,
            deadline: time::OffsetDateTime::UNIX_EPOCH,
            revisions,
            positions: vec![],
            status: Status::Open,
            amendments: vec![],
        }
    }

    #[test]
    fn revisions_by_number_digest_or_prefix() {
        let rec = record();
        assert_eq!(revision_of(&rec, "1").unwrap().number, 1);
        let d = rec.revisions[0].digest.to_string();
        assert_eq!(revision_of(&rec, &d).unwrap().number, 0);
        assert_eq!(revision_of(&rec, &d[..8]).unwrap().number, 0);
        let e = revision_of(&rec, "7").unwrap_err().to_string();
        assert!(e.contains("0..1"), "{e}");
    }

    #[test]
    fn word_diffs_mark_only_what_changed() {
        let rec = record();
        let d = word_diff(&rec.revisions[0], &rec.revisions[1]);
        assert_eq!(d, "a\n[-b-]{+B+}\nc\n");
    }

    #[test]
    fn diffs_are_unified() {
        let rec = record();
        let d = unified_diff(&rec.revisions[0], &rec.revisions[1]);
        let want = format!(
            "--- revision 0 ({})\n+++ revision 1 ({})\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
            short(&rec.revisions[0].digest),
            short(&rec.revisions[1].digest)
        );
        assert_eq!(d, want);
    }
}
