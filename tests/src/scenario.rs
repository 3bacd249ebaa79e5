//! The Prague scenario: a small session of the kind Entente is for, played
//! through the real CLI. `prague-demo` prints it; `tests/policy.rs` asserts
//! every outcome.
//!
//! CZ hosts; US, DE, UK and FR are members; NATO and EC observe. Delegations
//! assess two fictional suppliers under both frameworks; US and CZ negotiate
//! a bilateral declaration through a revision (unanimous); five members adopt
//! a set of principles by `fraction:2/3` with a reservation and an objection;
//! a notice passes by silence procedure at its deadline; an observer's
//! attempt to endorse is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::Cli;

/// Fictional suppliers (no real company is named or assessed).
pub const SUPPLIERS: [&str; 2] = ["Meridian Telecom", "Borealis Networks"];

/// Everything the scenario produced, for the demo to print and the test to check.
pub struct Outcome {
    pub bilateral: String,
    /// US's endorsement of the first bilateral draft, which must not count.
    pub stale_endorsement: String,
    /// Tally of the bilateral proposal right after the revision.
    pub tally_after_revision: Value,
    pub principles: String,
    pub silence: String,
    /// stderr of NATO's refused endorsement.
    pub observer_refusal: String,
    /// `supplier show --json` for each of [`SUPPLIERS`].
    pub supplier_views: Vec<Value>,
    pub thread_len: usize,
}

/// The delegations' profiles, one `Cli` each.
pub struct Delegations {
    pub cz: Cli,
    pub us: Cli,
    pub de: Cli,
    pub uk: Cli,
    pub fr: Cli,
    pub nato: Cli,
    pub ec: Cli,
}

impl Delegations {
    /// Founds the log as CZ and admits everyone else.
    pub fn seat(server: &str) -> Delegations {
        let d = Delegations {
            cz: Cli::new(server),
            us: Cli::new(server),
            de: Cli::new(server),
            uk: Cli::new(server),
            fr: Cli::new(server),
            nato: Cli::new(server),
            ec: Cli::new(server),
        };
        d.cz.init("CZ", "Czech Republic", true);
        let seats = [
            (&d.us, "US", "United States", "member"),
            (&d.de, "DE", "Germany", "member"),
            (&d.uk, "UK", "United Kingdom", "member"),
            (&d.fr, "FR", "France", "member"),
            (
                &d.nato,
                "NATO",
                "North Atlantic Treaty Organization",
                "observer",
            ),
            (&d.ec, "EC", "European Commission", "observer"),
        ];
        for (cli, code, name, role) in seats {
            d.cz.admit(&cli.init(code, name, false), code, name, role);
        }
        d
    }
}

/// Writes `text` to a file in `dir` and returns its path as a string.
fn file(dir: &Path, name: &str, text: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text).expect("writing a scenario file");
    path.to_string_lossy().into_owned()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("publishing prints id").to_owned()
}

/// One assessment as the TOML `entente assess submit` reads.
fn assessment_toml(
    supplier: &str,
    country: &str,
    framework: &str,
    risks: &[(&str, &str)],
    verdict: &str,
) -> String {
    let mut s = format!(
        "framework = \"{framework}\"\nframework_version = 1\nsegments = [\"core\", \"ran\"]\n\n[supplier]\nname = \"{supplier}\"\ncountry = \"{country}\"\n\n"
    );
    s.push_str(verdict);
    for (criterion, risk) in risks {
        s.push_str(&format!(
            "\n[[ratings]]\ncriterion = \"{criterion}\"\nrisk = \"{risk}\"\nrationale = \"Assessed from public filings and national reporting.\"\nevidence = [\"national-report-2026\"]\n"
        ));
    }
    s
}

const JD: [&str; 4] = [
    "foreign-influence",
    "ownership-transparency",
    "innovation-ip",
    "ethical-conduct",
];
const PRAGUE: [&str; 6] = [
    "legal-environment",
    "state-support",
    "corporate-transparency",
    "equipment-trustworthiness",
    "standards-compliance",
    "supply-chain",
];

fn rated<'a>(criteria: &[&'a str], risks: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    criteria
        .iter()
        .copied()
        .zip(risks.iter().copied())
        .collect()
}

/// Plays the whole scenario; `say` narrates each step.
/// The scenario on a fresh server, played in `work`, its latest checkpoint
/// cosigned by US and DE: what archive tests export.
pub fn played_and_witnessed(server_url: &str, work: &Path) -> (Delegations, Outcome) {
    let d = Delegations::seat(server_url);
    let outcome = play(&d, work, &mut |_| {});
    d.us.json(&["witness"]);
    d.de.json(&["witness"]);
    (d, outcome)
}

pub fn play(d: &Delegations, work: &Path, say: &mut dyn FnMut(String)) -> Outcome {
    let untrusted =
        "[verdict]\ndecision = \"untrusted\"\ntransition = \"replace at life-cycle replacement\"\n";
    let conditional = "[verdict]\ndecision = \"conditional\"\nmitigations = [\"no deployment in the core\", \"independent source-code review\"]\n";
    let trusted = "[verdict]\ndecision = \"trusted\"\n";

    // Supplier assessments, under both frameworks.
    let [meridian, borealis] = SUPPLIERS;
    let subs: [(&Cli, &str, String); 5] = [
        (
            &d.us,
            "US",
            assessment_toml(
                meridian,
                "Freedonia",
                "joint-declaration-2020",
                &rated(&JD, &["critical", "high", "high", "high"]),
                untrusted,
            ),
        ),
        (
            &d.cz,
            "CZ",
            assessment_toml(
                meridian,
                "Freedonia",
                "joint-declaration-2020",
                &rated(&JD, &["critical", "high", "moderate", "high"]),
                untrusted,
            ),
        ),
        (
            &d.de,
            "DE",
            assessment_toml(
                meridian,
                "Freedonia",
                "prague-2019",
                &rated(
                    &PRAGUE,
                    &["high", "high", "moderate", "moderate", "moderate", "high"],
                ),
                conditional,
            ),
        ),
        (
            &d.uk,
            "UK",
            assessment_toml(
                borealis,
                "Sylvania",
                "prague-2019",
                &rated(
                    &PRAGUE,
                    &["low", "low", "low", "moderate", "low", "moderate"],
                ),
                trusted,
            ),
        ),
        (
            &d.fr,
            "FR",
            assessment_toml(
                borealis,
                "Sylvania",
                "joint-declaration-2020",
                &rated(&JD, &["low", "low", "low", "low"]),
                trusted,
            ),
        ),
    ];
    for (i, (cli, code, toml)) in subs.iter().enumerate() {
        let path = file(work, &format!("assessment-{i}.toml"), toml);
        let r = cli.json(&["assess", "submit", &path]);
        say(format!("{code} assessed a supplier: entry {}", r["index"]));
    }
    let supplier_views: Vec<Value> = SUPPLIERS
        .iter()
        .map(|s| d.us.json(&["supplier", "show", s]))
        .collect();

    // A bilateral declaration, negotiated through one revision.
    let draft1 = file(work, "bilateral-1.md", "# Joint Declaration on 5G Security\n\nThe participants will evaluate 5G suppliers on four criteria.\n");
    let draft2 = file(
        work,
        "bilateral-2.md",
        "# Joint Declaration on 5G Security\n\nThe participants will evaluate 5G suppliers on four criteria, \
         including whether a supplier is subject to control by a foreign government without independent judicial review.\n",
    );
    let p = d.cz.json(&[
        "propose",
        &draft1,
        "--title",
        "US–CZ Joint Declaration on 5G Security",
        "--participants",
        "US,CZ",
        "--rule",
        "unanimous",
        "--deadline",
        "7d",
    ]);
    let bilateral = id_of(&p);
    say(format!(
        "CZ proposed the bilateral declaration {}",
        &bilateral[..12]
    ));
    let stale = d.us.json(&["endorse", &bilateral]);
    let stale_endorsement = id_of(&stale);
    say("US endorsed the first draft".into());
    d.cz.json(&[
        "revise",
        &bilateral,
        &draft2,
        "--note",
        "adds the judicial-review criterion at US request",
    ]);
    let tally_after_revision = d.us.json(&["proposal", "show", &bilateral])["tally"].clone();
    say(format!(
        "CZ revised it; endorsements on the new text: {}",
        tally_after_revision["endorse"]
    ));
    d.us.json(&["endorse", &bilateral]);
    d.cz.json(&["endorse", &bilateral]);
    say("US and CZ endorsed the revised text: adopted".into());

    // Multilateral principles by a two-thirds majority.
    let text = file(work, "principles.md", "# Prague principles on supplier trust\n\n1. Assess suppliers on risk, not price alone.\n2. Prefer transparent ownership.\n");
    let p = d.de.json(&[
        "propose",
        &text,
        "--title",
        "Principles on 5G supplier trust",
        "--participants",
        "CZ,US,DE,UK,FR",
        "--rule",
        "fraction:2/3",
        "--deadline",
        "14d",
    ]);
    let principles = id_of(&p);
    say(format!("DE proposed the principles {}", &principles[..12]));
    d.fr.json(&[
        "object",
        &principles,
        "--reason",
        "Principle 1 should name price distortion by state subsidies.",
    ]);
    let (_, observer_refusal) = d.nato.fails(&["endorse", &principles]);
    say("NATO, an observer, tried to endorse: refused".into());
    for cli in [&d.cz, &d.us, &d.de] {
        cli.json(&["endorse", &principles]);
    }
    d.uk.json(&[
        "endorse",
        &principles,
        "--reservation",
        "The UK applies principle 2 to the RAN only.",
    ]);
    say("CZ, US, DE endorsed, UK with a reservation, FR objected: adopted by 4 of 5".into());
    let position = file(
        work,
        "fr-position.md",
        "# French position\n\nFrance supports the aims but objects to principle 1 as drafted.\n",
    );
    d.fr.json(&[
        "position",
        "publish",
        &position,
        "--title",
        "French position on the principles",
        "--subject",
        &principles,
    ]);
    d.fr.json(&[
        "message",
        "send",
        &principles,
        "We will propose wording on subsidies.",
    ]);
    d.ec.json(&[
        "message",
        "send",
        &principles,
        "The Commission welcomes the principles.",
    ]);
    let thread_len = d.cz.json(&["thread", "show", &principles])["messages"]
        .as_array()
        .map_or(0, Vec::len);

    // A notice adopted by silence procedure at its deadline.
    let notice = file(
        work,
        "notice.md",
        "# Notice\n\nParticipants will share supply-chain incident reports within 72 hours.\n",
    );
    let p = d.cz.json(&[
        "propose",
        &notice,
        "--title",
        "Notice on incident reporting",
        "--participants",
        "CZ,US,DE",
        "--rule",
        "silence",
        "--deadline",
        "3s",
    ]);
    let silence = id_of(&p);
    say(format!(
        "CZ circulated a notice under silence procedure {}",
        &silence[..12]
    ));
    std::thread::sleep(Duration::from_millis(3500));
    d.us.json(&[
        "message",
        "send",
        &silence,
        "No objection from the United States.",
    ]);
    say("The deadline passed with no objection: the next entry records the adoption".into());

    Outcome {
        bilateral,
        stale_endorsement,
        tally_after_revision,
        principles,
        silence,
        observer_refusal,
        supplier_views,
        thread_len,
    }
}
