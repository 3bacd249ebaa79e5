//! Clap types of the policy commands: assessments, proposals and positions
//! on them, declarations, position papers and messages.
//!
//! Kept apart from the backbone commands in `cli.rs` only for size; `cli.rs`
//! re-exports everything here.
//!
//! Arguments naming a statement (PROPOSAL, ID, THREAD, --subject) take a full
//! 64-hex statement id or a unique prefix of at least 8 hex digits; see
//! `crate::resolve`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use entente_shared::statement::{AdoptionRule, DelegationCode, Distribution, Tlp};

use crate::error::{fail, CliResult};
use entente_shared::visibility::inherit;

/// Who may read what a command publishes (TLP 2.0).
///
/// Without `--tlp`, a statement that hangs off another (a revision, a
/// position on a proposal, a message, a position paper about a subject, a
/// superseding assessment) takes its parent's audience; anything else is
/// GREEN. The log refuses a reply wider than its parent.
#[derive(Args, Clone, Debug, Default)]
pub struct Distribute {
    /// TLP label: CLEAR, GREEN, AMBER, AMBER+STRICT or RED (default: the
    /// parent's audience for a reply, else GREEN).
    #[arg(long, value_name = "LEVEL")]
    pub tlp: Option<Tlp>,
    /// Recipient delegations, e.g. US,DE (with --tlp AMBER, AMBER+STRICT or RED).
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub to: Vec<DelegationCode>,
}

/// A statement's author and distribution: what a reply's audience is measured against.
pub struct Parent<'a> {
    pub author: &'a DelegationCode,
    pub distribution: &'a Distribution,
}

impl Distribute {
    /// The distribution to sign for a statement by `author` hanging off
    /// `parent` (if any), refused here — before anything is signed — when
    /// the label and the recipients do not go together.
    pub fn distribution(
        &self,
        author: &DelegationCode,
        parent: Option<Parent<'_>>,
    ) -> CliResult<Distribution> {
        let Some(tlp) = self.tlp else {
            if !self.to.is_empty() {
                return Err(fail(
                    "--to names recipients for a label: add --tlp AMBER (or AMBER+STRICT, RED)",
                ));
            }
            return Ok(match parent {
                Some(p) => inherit(author, p.author, p.distribution),
                None => Distribution::green(),
            });
        };
        let name = tlp_name(tlp);
        if tlp.needs_recipients() && self.to.is_empty() {
            return Err(fail(format!(
                "TLP:{name} is shared only with named recipients: add --to CODE,CODE"
            )));
        }
        if !tlp.needs_recipients() && !self.to.is_empty() {
            return Err(fail(format!(
                "TLP:{name} is not limited to recipients and takes no --to; use --tlp AMBER (or AMBER+STRICT, RED) to name recipients"
            )));
        }
        let d = Distribution {
            tlp,
            to: self.to.clone(),
        };
        d.validate().map_err(fail)?;
        Ok(d)
    }
}

/// A label's TLP 2.0 name (`Tlp` has no Display; its serde name is the label).
pub fn tlp_name(tlp: Tlp) -> String {
    tlp.name().to_owned()
}

#[derive(Subcommand)]
pub enum AssessCommand {
    /// Print a fillable TOML assessment for a framework.
    Template {
        /// The framework to assess against.
        #[arg(long, default_value = "joint-declaration-2020", value_parser = super::framework_ids())]
        framework: String,
    },
    /// Sign and submit a filled-in assessment file.
    Submit {
        /// The TOML file (`-` for standard input).
        file: PathBuf,
        #[command(flatten)]
        distribute: Distribute,
    },
    /// List assessments, in log order.
    List {
        /// Only assessments of this supplier (case-insensitive).
        #[arg(long)]
        supplier: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SupplierCommand {
    /// Every delegation's latest assessment of a supplier, side by side
    /// (under all the names the registry gives it).
    Show {
        /// Supplier name or alias (case-insensitive).
        name: String,
    },
    /// The supplier registry: canonical names, home countries, aliases.
    List,
    /// Register a supplier's canonical name, home country and aliases (GREEN
    /// or CLEAR: every delegation compares the same suppliers).
    Register {
        /// The canonical name, e.g. "Huawei Technologies Co., Ltd.".
        name: String,
        /// Home country.
        #[arg(long)]
        country: String,
        /// Other names it goes by, comma-separated, e.g. Huawei.
        #[arg(long, value_delimiter = ',')]
        aliases: Vec<String>,
        /// CLEAR makes it public beyond the delegations (default GREEN).
        #[arg(long, value_parser = ["GREEN", "CLEAR"], default_value = "GREEN")]
        tlp: String,
    },
    /// As the secretariat: two registered suppliers are one; FROM's names
    /// become aliases of INTO.
    Merge {
        /// The canonical name that stays.
        into: String,
        /// The canonical name merged into it.
        from: String,
    },
}

#[derive(Args)]
pub struct ProposeArgs {
    /// The proposed text, Markdown (`-` for standard input).
    pub file: PathBuf,
    /// The proposal's title, as every list and the declaration show it.
    #[arg(long)]
    pub title: String,
    /// Delegations whose positions count, e.g. US,CZ.
    #[arg(long, value_delimiter = ',', required = true)]
    pub participants: Vec<DelegationCode>,
    /// unanimous, threshold:N, fraction:A/B or silence.
    #[arg(long)]
    pub rule: AdoptionRule,
    /// An RFC 3339 time, or a duration from now such as 7d, 12h, 30m, 45s.
    #[arg(long, value_name = "WHEN")]
    pub deadline: String,
    #[command(flatten)]
    pub distribute: Distribute,
}

#[derive(Args)]
pub struct ReviseArgs {
    /// The proposal to revise (yours): its id or a unique prefix.
    pub proposal: String,
    /// The new text, Markdown (`-` for standard input).
    pub file: PathBuf,
    /// What changed and why.
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub distribute: Distribute,
}

#[derive(Args)]
pub struct AmendArgs {
    /// The proposal to amend (you are a participant): its id or a unique prefix.
    pub proposal: String,
    /// The whole text as you would have it, Markdown (`-` for standard input).
    pub file: PathBuf,
    /// Why, in a line.
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub distribute: Distribute,
}

#[derive(Subcommand)]
pub enum AmendmentCommand {
    /// An amendment: its proposal, author, status, and what it changes, word by word.
    Show {
        /// The amendment: its id or a unique prefix of 8 or more hex digits.
        amendment: String,
    },
    /// As the proposer: publish the next revision, taking this amendment.
    Accept {
        /// The amendment: its id or a unique prefix.
        amendment: String,
        /// The revision's text, if not the amendment's as it stands (e.g.
        /// several amendments merged), Markdown (`-` for standard input).
        #[arg(long)]
        text: Option<PathBuf>,
        /// What changed and why (default: names the amendment).
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        distribute: Distribute,
    },
    /// As the proposer: decline this amendment, with a reason.
    Reject {
        /// The amendment: its id or a unique prefix.
        amendment: String,
        /// Why it is declined.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        distribute: Distribute,
    },
}

#[derive(Subcommand)]
pub enum ProposalCommand {
    /// List proposals with their status and tally.
    List,
    /// A proposal's text, status, revisions and every participant's positions.
    Show {
        /// The proposal: its id, or a unique prefix of 8 or more hex digits.
        proposal: String,
        /// Show this revision's text instead of the current one (number or digest).
        #[arg(long, value_name = "DIGEST_OR_NUMBER")]
        revision: Option<String>,
        /// Also show what changed between two revisions (numbers or digests):
        /// word by word, `[-removed-]{+added+}`, and as a unified diff by line.
        #[arg(long, num_args = 2, value_names = ["FROM", "TO"])]
        diff: Option<Vec<String>>,
    },
}

/// What every position command shares.
#[derive(Args)]
pub struct StanceArgs {
    /// The proposal: its id, or a unique prefix of 8 or more hex digits.
    pub proposal: String,
    /// The revision the position is on (digest or number); default: the current one.
    #[arg(long, value_name = "DIGEST")]
    pub revision: Option<String>,
    #[command(flatten)]
    pub distribute: Distribute,
}

#[derive(Args)]
pub struct EndorseArgs {
    #[command(flatten)]
    pub stance: StanceArgs,
    /// Endorse with this reservation (kept in the declaration's signatory block).
    #[arg(long)]
    pub reservation: Option<String>,
}

#[derive(Args)]
pub struct ObjectArgs {
    #[command(flatten)]
    pub stance: StanceArgs,
    /// Why (required).
    #[arg(long)]
    pub reason: String,
}

/// How `declaration show` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    Md,
    Html,
    Json,
}

#[derive(Subcommand)]
pub enum DeclarationCommand {
    /// List adopted proposals.
    List,
    /// An adopted text with its signatory block.
    Show {
        /// The declaration (its proposal's id).
        id: String,
        /// Markdown, escaped HTML, or the JSON the server's view gives.
        #[arg(long, value_enum, default_value = "md")]
        format: DocFormat,
        /// Render it from an archive bundle alone: offline, no server, no
        /// profile (the bundle is verified first, as `archive verify` does).
        #[arg(long, value_name = "FILE")]
        from_archive: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum PositionCommand {
    /// Sign and publish a national position paper.
    Publish {
        /// The paper, Markdown (`-` for standard input).
        file: PathBuf,
        /// The paper's title, as `position list` shows it.
        #[arg(long)]
        title: String,
        /// The proposal or assessment it is about.
        #[arg(long, value_name = "ID")]
        subject: Option<String>,
        #[command(flatten)]
        distribute: Distribute,
    },
    /// List position papers.
    List,
    /// One position paper.
    Show {
        /// Its id, or a unique prefix of 8 or more hex digits.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum MessageCommand {
    /// Sign and post a message in the thread of any statement.
    Send {
        /// The statement the thread hangs off: its id or a unique prefix.
        thread: String,
        /// The message.
        text: String,
        #[command(flatten)]
        distribute: Distribute,
    },
}

#[derive(Subcommand)]
pub enum ThreadCommand {
    /// The signed messages of a thread, in log order.
    Show {
        /// The statement the thread hangs off: its id or a unique prefix.
        thread: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: &str) -> DelegationCode {
        c.parse().unwrap()
    }

    fn dist(tlp: &str, to: &[&str]) -> CliResult<Distribution> {
        Distribute {
            tlp: Some(tlp.parse().unwrap()),
            to: to.iter().map(|c| code(c)).collect(),
        }
        .distribution(&code("US"), None)
    }

    #[test]
    fn a_reply_without_a_label_takes_its_parents_audience() {
        let none = Distribute {
            tlp: None,
            to: vec![],
        };
        let parent = Distribution {
            tlp: Tlp::Red,
            to: vec![code("US"), code("DE")],
        };
        let reply = none
            .distribution(
                &code("US"),
                Some(Parent {
                    author: &code("CZ"),
                    distribution: &parent,
                }),
            )
            .unwrap();
        assert_eq!(reply.tlp, Tlp::Red);
        assert_eq!(reply.to, vec![code("CZ"), code("DE")]);
        assert_eq!(
            none.distribution(&code("US"), None).unwrap(),
            Distribution::green()
        );
        let to_only = Distribute {
            tlp: None,
            to: vec![code("DE")],
        };
        assert!(to_only.distribution(&code("US"), None).is_err());
    }

    #[test]
    fn amber_and_red_need_recipients_green_takes_none() {
        assert_eq!(dist("GREEN", &[]).unwrap(), Distribution::green());
        assert_eq!(dist("AMBER+STRICT", &["US", "DE"]).unwrap().to.len(), 2);
        let e = dist("RED", &[]).unwrap_err().to_string();
        assert!(e.contains("TLP:RED") && e.contains("--to"), "{e}");
        let e = dist("AMBER", &[]).unwrap_err().to_string();
        assert!(e.contains("TLP:AMBER"), "{e}");
        let e = dist("CLEAR", &["US"]).unwrap_err().to_string();
        assert!(e.contains("TLP:CLEAR") && e.contains("no --to"), "{e}");
    }
}
