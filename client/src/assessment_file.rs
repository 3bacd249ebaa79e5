//! The TOML file a delegation fills in to assess a supplier: the template
//! `entente assess template` prints, and its parsing into an
//! [`Assessment`] for `entente assess submit`.
//!
//! The file is checked here as far as it can be without the log — shape,
//! field limits, and that every criterion of the framework is rated once —
//! so a mistake is reported against the file, with its line, before
//! anything is signed. Unknown fields are refused so that a misspelt field
//! is not silently dropped from a signed assessment.

use entente_shared::api::Problem;
use entente_shared::frameworks::{Framework, Frameworks};
use entente_shared::ledger::Assessments;
use entente_shared::statement::{
    Assessment, Rating, Risk, Segment, StatementId, Supplier, Verdict,
};
use serde::Deserialize;

use crate::error::{fail, CliError, CliResult};

/// Width comment lines are wrapped to.
const WIDTH: usize = 78;

/// The file as written; strings where the template leaves placeholders, so
/// an unfilled one gets a message naming it rather than a type error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    framework: String,
    framework_version: u32,
    segments: Vec<Segment>,
    #[serde(default)]
    supersedes: Option<String>,
    supplier: Supplier,
    verdict: VerdictFile,
    ratings: Vec<RatingFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictFile {
    decision: String,
    #[serde(default)]
    mitigations: Vec<String>,
    #[serde(default)]
    transition: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingFile {
    criterion: String,
    risk: String,
    rationale: String,
    #[serde(default)]
    evidence: Vec<String>,
}

/// A framework by id, or an error listing the known ones.
pub fn framework(id: &str) -> CliResult<&'static Framework> {
    Frameworks::builtin().get(id).ok_or_else(|| {
        let known: Vec<&str> = Frameworks::builtin()
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        fail(format!(
            "unknown framework {id:?} (known: {})",
            known.join(", ")
        ))
    })
}

/// The fillable file for `fw`: every field with a placeholder, every
/// criterion with its question and guidance as comments.
pub fn template(fw: &Framework) -> String {
    let mut s = String::new();
    comment(&mut s, "", &format!("Supplier assessment: {}", fw.title));
    comment(&mut s, "", &format!("Source: {}", fw.source));
    s.push_str("#\n");
    comment(
        &mut s,
        "",
        "Fill in every field, then sign and submit the file with `entente assess submit FILE`. \
         Fields not in this template are refused.",
    );
    s.push('\n');
    s.push_str(&format!("framework = {}\n", quote(&fw.id)));
    s.push_str(&format!("framework_version = {}\n\n", fw.version));
    comment(
        &mut s,
        "",
        "Network segments in scope: any of \"core\", \"ran\", \"transport\", \"management\".",
    );
    s.push_str("segments = [\"core\", \"ran\", \"transport\", \"management\"]\n\n");
    comment(
        &mut s,
        "",
        "To replace an earlier assessment of yours of the same supplier, give its \
         statement id (64 hex digits; `entente assess list --json` shows them):",
    );
    s.push_str("# supersedes = \"\"\n\n");
    s.push_str("[supplier]\n");
    comment(
        &mut s,
        "",
        "Name and home country. Use the supplier's registered name.",
    );
    s.push_str("name = \"\"\ncountry = \"\"\n\n");
    s.push_str("[verdict]\n");
    comment(
        &mut s,
        "",
        "decision: \"trusted\", \"conditional\" or \"untrusted\". For conditional, list the \
         mitigations required; for untrusted, say in transition how existing equipment is \
         replaced, e.g. \"replace at life-cycle replacement\". Leave the other empty.",
    );
    s.push_str("decision = \"\"\nmitigations = []\ntransition = \"\"\n\n");
    comment(
        &mut s,
        "",
        &format!(
            "One [[ratings]] per criterion; all {} are required. risk: \"low\", \"moderate\", \
             \"high\" or \"critical\". A long rationale may be a multi-line string, \
             \"\"\"…\"\"\". evidence: references (documents, reports, URLs) backing it.",
            fw.criteria.len()
        ),
    );
    for c in &fw.criteria {
        s.push('\n');
        comment(&mut s, "", &format!("Criterion {}", c.id));
        comment(&mut s, "  ", &format!("Question: {}", c.question));
        comment(&mut s, "  ", &format!("Guidance: {}", c.guidance));
        s.push_str("[[ratings]]\n");
        s.push_str(&format!("criterion = {}\n", quote(&c.id)));
        s.push_str("risk = \"\"\nrationale = \"\"\nevidence = []\n");
    }
    s
}

/// Parses a filled-in file (named `name` in errors) into the assessment
/// `author` would sign, checked as the log's fold would check it against
/// a log that holds nothing else.
pub fn parse(name: &str, text: &str) -> CliResult<Assessment> {
    let file: File = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
    let fw = framework(&file.framework)?;
    if fw.version != file.framework_version {
        return Err(fail(format!(
            "{name}: framework_version {} of {} is not the one this CLI knows ({})",
            file.framework_version, fw.id, fw.version
        )));
    }
    let ratings = file
        .ratings
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let risk: Risk = r.risk.parse().map_err(|e| {
                fail(format!(
                    "{name}: ratings[{i}] ({}): {e}",
                    if r.criterion.is_empty() {
                        "?"
                    } else {
                        &r.criterion
                    }
                ))
            })?;
            Ok(Rating {
                criterion: r.criterion,
                risk,
                rationale: r.rationale,
                evidence: r.evidence,
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    let supersedes = file
        .supersedes
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse::<StatementId>()
                .map_err(|e| fail(format!("{name}: supersedes: {e}")))
        })
        .transpose()?;
    let a = Assessment {
        supplier: file.supplier,
        framework: file.framework,
        framework_version: file.framework_version,
        segments: file.segments,
        ratings,
        verdict: verdict(name, file.verdict)?,
        supersedes,
    };
    a.validate().map_err(|e| fail(format!("{name}: {e}")))?;
    // The fold's own check: every criterion rated once, none unknown. It is
    // reported with the problem type the server would answer, since it is
    // the same refusal. Whether `supersedes` names one of ours is left to
    // the server, which knows the log.
    Assessments::default().check(&a, true).map_err(|r| {
        CliError::Problem(Problem {
            problem_type: r.problem_type(),
            title: "refused before signing".to_owned(),
            status: r.status(),
            detail: format!("{name}: {r}"),
        })
    })?;
    Ok(a)
}

fn verdict(name: &str, v: VerdictFile) -> CliResult<Verdict> {
    let extra = |field: &str| {
        fail(format!(
            "{name}: verdict.{field} is only for a {} verdict; empty it for {:?}",
            if field == "mitigations" {
                "conditional"
            } else {
                "untrusted"
            },
            v.decision
        ))
    };
    match v.decision.trim() {
        "trusted" if !v.mitigations.is_empty() => Err(extra("mitigations")),
        "trusted" | "conditional" if !v.transition.trim().is_empty() => Err(extra("transition")),
        "untrusted" if !v.mitigations.is_empty() => Err(extra("mitigations")),
        "trusted" => Ok(Verdict::Trusted),
        "conditional" => Ok(Verdict::Conditional {
            mitigations: v.mitigations,
        }),
        "untrusted" => Ok(Verdict::Untrusted {
            transition: v.transition,
        }),
        other => Err(fail(format!(
            "{name}: verdict.decision {other:?} is not trusted, conditional or untrusted"
        ))),
    }
}

/// A TOML error as one line: file, line number, the line itself, message.
fn toml_error(name: &str, text: &str, e: &toml::de::Error) -> CliError {
    let at = e.span().map(|span| {
        let line = text[..span.start.min(text.len())].matches('\n').count();
        let content = text.lines().nth(line).unwrap_or("").trim();
        format!(", line {} (`{content}`)", line + 1)
    });
    let msg = e.message().replace('\n', " ");
    fail(format!("{name}{}: {}", at.unwrap_or_default(), msg.trim()))
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Appends `text` as `#` comment lines wrapped to [`WIDTH`], continuation
/// lines indented under the first.
fn comment(out: &mut String, indent: &str, text: &str) {
    let mut line = format!("#{indent} ");
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = format!("#{indent}     ");
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template with every placeholder filled in the way a person would.
    fn filled(fw: &Framework, decision: &str) -> String {
        template(fw)
            .replace("name = \"\"", "name = \"Example Networks\"")
            .replace("country = \"\"", "country = \"Ruritania\"")
            .replace("decision = \"\"", &format!("decision = \"{decision}\""))
            .replace(
                "mitigations = []",
                if decision == "conditional" {
                    "mitigations = [\"no core\", \"source-code escrow\"]"
                } else {
                    "mitigations = []"
                },
            )
            .replace(
                "transition = \"\"",
                if decision == "untrusted" {
                    "transition = \"replace at life-cycle replacement\""
                } else {
                    "transition = \"\""
                },
            )
            .replace("risk = \"\"", "risk = \"high\"")
            .replace("rationale = \"\"", "rationale = \"State ownership.\"")
            .replace("evidence = []", "evidence = [\"annual report 2019\"]")
    }

    #[test]
    fn every_template_once_filled_parses_back_covering_every_criterion() {
        for fw in Frameworks::builtin().iter() {
            for decision in ["trusted", "conditional", "untrusted"] {
                let a = parse("a.toml", &filled(fw, decision)).unwrap();
                a.validate().unwrap();
                assert_eq!(a.framework, fw.id);
                assert_eq!(a.framework_version, fw.version);
                assert_eq!(a.verdict.decision(), decision);
                assert_eq!(a.segments.len(), 4);
                let mut rated: Vec<&str> = a.ratings.iter().map(|r| r.criterion.as_str()).collect();
                rated.sort();
                let mut criteria: Vec<&str> = fw.criteria.iter().map(|c| c.id.as_str()).collect();
                criteria.sort();
                assert_eq!(rated, criteria, "{}", fw.id);
            }
        }
    }

    #[test]
    fn the_template_explains_each_criterion_in_comments() {
        let fw = framework("prague-2019").unwrap();
        let t = template(fw);
        for c in &fw.criteria {
            assert!(t.contains(&format!("criterion = \"{}\"", c.id)));
            let first_word = c.question.split_whitespace().next().unwrap();
            assert!(t.contains(&format!("#   Question: {first_word}")), "{t}");
        }
        assert!(t
            .lines()
            .all(|l| l.chars().count() <= WIDTH || !l.starts_with('#')));
        assert!(framework("nope")
            .unwrap_err()
            .to_string()
            .contains("prague-2019"));
    }

    #[test]
    fn unfilled_or_wrong_fields_are_named() {
        let fw = framework("joint-declaration-2020").unwrap();
        let good = filled(fw, "trusted");
        let cases = [
            (template(fw), "risk \"\""),
            (good.replace("Example Networks", ""), "supplier.name"),
            (
                good.replacen("risk = \"high\"", "risk = \"severe\"", 1),
                "ratings[0]",
            ),
            (
                good.replace("decision = \"trusted\"", "decision = \"maybe\""),
                "verdict.decision",
            ),
            (
                good.replace("transition = \"\"", "transition = \"x\""),
                "verdict.transition",
            ),
            (
                good.replace("evidence =", "evidense ="),
                "unknown field `evidense`",
            ),
            (
                good.replace("\"core\", \"ran\"", "\"core\", \"radio\""),
                "line 13",
            ),
            (
                good.replace("criterion = \"innovation-ip\"", "criterion = \"x\""),
                "\"x\"",
            ),
            (
                good.replace("# supersedes = \"\"", "supersedes = \"abc\""),
                "supersedes",
            ),
            (
                good.replace("framework_version = 1", "framework_version = 9"),
                "framework_version",
            ),
        ];
        for (text, want) in cases {
            let e = parse("a.toml", &text).unwrap_err().to_string();
            assert!(e.contains(want), "want {want:?} in: {e}");
            assert!(e.contains("a.toml"), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        // A criterion left out entirely is refused with its name.
        let start = good.find("# Criterion ethical-conduct").unwrap();
        let e = parse("a.toml", &good[..start]).unwrap_err().to_string();
        assert!(
            e.starts_with("urn:entente:problem:bad-assessment: a.toml"),
            "{e}"
        );
        assert!(e.contains("ethical-conduct"), "{e}");
    }
}
