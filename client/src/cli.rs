//! The command line, as clap derive types. Each subcommand's `run` lives in
//! `commands/`; the policy commands' argument types are in `cli/policy.rs`.

mod policy;

pub use policy::*;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// entente — the CLI each delegation runs against an Entente log.
#[derive(Parser)]
#[command(name = "entente", version, about)]
pub struct Cli {
    /// Profile folder (default: $ENTENTE_HOME, else ~/.entente).
    #[arg(long, global = true)]
    pub home: Option<PathBuf>,
    /// Print one JSON value instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read from this mirror (`entente mirror`) instead of the profile's
    /// server, e.g. when the host is down; it is checked against the pin as
    /// the server is, and may lag it. Publishing still needs the server.
    #[arg(long, global = true, env = "ENTENTE_MIRROR")]
    pub mirror: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Make a key and a profile for a delegation; with --bootstrap, found an empty log.
    Init(InitArgs),
    /// Show, rotate or revoke keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Admit a delegation with its public key (secretariat only).
    Admit(AdmitArgs),
    /// List delegations, roles and keys.
    Roster,
    /// Checkpoints and log verification.
    #[command(subcommand)]
    Log(LogCommand),
    /// Supplier assessments: template, submit, list.
    #[command(subcommand)]
    Assess(AssessCommand),
    /// Compare delegations' assessments of a supplier.
    #[command(subcommand)]
    Supplier(SupplierCommand),
    /// Propose a text for adoption.
    Propose(ProposeArgs),
    /// Publish a new text of your proposal.
    Revise(ReviseArgs),
    /// As a participant: propose an amendment to a proposal's current revision.
    Amend(AmendArgs),
    /// Amendments: show one; as the proposer, accept (into a revision) or reject one.
    #[command(subcommand)]
    Amendment(AmendmentCommand),
    /// List and show proposals.
    #[command(subcommand)]
    Proposal(ProposalCommand),
    /// Endorse a revision of a proposal, optionally with a reservation.
    Endorse(EndorseArgs),
    /// Object to a revision of a proposal.
    Object(ObjectArgs),
    /// Abstain on a revision of a proposal.
    Abstain(StanceArgs),
    /// Adopted proposals and their signatories.
    #[command(subcommand)]
    Declaration(DeclarationCommand),
    /// National position papers.
    #[command(subcommand)]
    Position(PositionCommand),
    /// Post signed messages.
    #[command(subcommand)]
    Message(MessageCommand),
    /// Read message threads.
    #[command(subcommand)]
    Thread(ThreadCommand),
    /// Follow the log live: entries as they are accepted, and checkpoints.
    Watch(WatchArgs),
    /// Witness the log: check consistency, cosign, post; or set the witness policy.
    Witness(WitnessArgs),
    /// Keep a verified copy of the log this delegation may read, and serve
    /// its read API (for `--mirror`), so the record survives the host.
    Mirror(MirrorArgs),
    /// What awaits this delegation: positions missing on current revisions
    /// (soonest deadline first), replies in its threads, witness duty.
    Inbox,
    /// Serve the web console on loopback: this delegation's verified view in a
    /// browser, sealed content opened and actions signed here, with its key.
    Console(ConsoleArgs),
    /// Print a shell completion script, e.g. `entente completions bash > /etc/bash_completion.d/entente`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages (`entente.1` and one per subcommand) into a folder.
    Man {
        /// The folder to write them to (made if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Export an offline-verifiable bundle, or verify one with no server.
    #[command(subcommand)]
    Archive(ArchiveCommand),
}

/// The statement kinds' wire names, for `--kind`.
fn kind_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        entente_shared::statement::Kind::ALL.map(|k| k.as_str()),
    )
}

/// The built-in assessment frameworks' ids, for `--framework`.
pub fn framework_ids() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        entente_shared::frameworks::Frameworks::builtin()
            .iter()
            .map(|f| f.id.as_str()),
    )
}

#[derive(Args)]
pub struct WatchArgs {
    /// Start at this log index (default: the latest checkpoint's size, i.e. new entries only).
    #[arg(long)]
    pub from: Option<u64>,
    /// Print only entries of this kind.
    #[arg(long, value_parser = kind_names())]
    pub kind: Option<String>,
    /// Run this shell command for every entry printed, with the entry as one
    /// JSON object on its standard input and ENTENTE_EVENT_INDEX, _KIND, _ID,
    /// _AUTHOR and _WHAT set (e.g. to mail or post it to a chat).
    #[arg(long, value_name = "CMD")]
    pub notify: Option<String>,
    /// Exit after printing this many entries.
    #[arg(long)]
    pub count: Option<u64>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WitnessArgs {
    #[command(subcommand)]
    pub command: Option<WitnessCommand>,
    /// Cosign the latest checkpoint once and exit (the default).
    #[arg(long, conflicts_with = "every")]
    pub once: bool,
    /// Keep witnessing, once every DURATION (e.g. 30s, 5m, 1h).
    #[arg(long, value_parser = crate::duration::parse)]
    pub every: Option<Duration>,
}

#[derive(Args)]
pub struct MirrorArgs {
    /// Address to listen on (loopback only; port 0 picks a free one, printed).
    #[arg(long, default_value = "127.0.0.1:8742")]
    pub listen: String,
    /// Folder of the mirror's copy (default: `mirror` in the profile).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Follow the log once every DURATION (e.g. 2s, 1m).
    #[arg(long, default_value = "5s", value_parser = crate::duration::parse)]
    pub every: Duration,
    /// The https:// URL readers use when a TLS proxy stands in front (they
    /// sign requests for it).
    #[arg(long)]
    pub public_url: Option<String>,
}

#[derive(Args)]
pub struct ConsoleArgs {
    /// Address to listen on (loopback only; port 0 picks a free one). The
    /// URL to open, with its one-time token, is printed.
    #[arg(long, default_value = "127.0.0.1:8743")]
    pub bind: String,
}

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Show or set which witnesses this profile requires, and how many.
    Policy(PolicyArgs),
    /// Serve the C2SP tlog-witness protocol (POST /add-checkpoint), for the
    /// log server (its `witnesses` setting) or any client to ask for cosignatures.
    Serve {
        /// Address to listen on; port 0 picks a free one (printed).
        #[arg(long, default_value = "127.0.0.1:8741")]
        listen: String,
    },
}

#[derive(Args)]
pub struct PolicyArgs {
    /// Delegation codes whose cosignatures count, e.g. US,DE (empty: none).
    #[arg(long, value_delimiter = ',')]
    pub witnesses: Option<Vec<String>>,
    /// Witnesses outside the roster whose cosignatures count, by their C2SP
    /// cosignature verifier keys (`name+hash+base64`), comma-separated
    /// (empty: none).
    #[arg(long, value_delimiter = ',')]
    pub witness_keys: Option<Vec<String>>,
    /// How many witnesses of both lists must have cosigned a checkpoint (0: no policy).
    #[arg(long)]
    pub quorum: Option<usize>,
    /// Warn when the newest checkpoint is older than this (e.g. 1h).
    #[arg(long, value_parser = crate::duration::parse)]
    pub max_checkpoint_age: Option<Duration>,
}

#[derive(Subcommand)]
pub enum ArchiveCommand {
    /// Write everything this delegation may see, with proofs, to one bundle.
    Export {
        /// The bundle to write (JSON Lines).
        file: PathBuf,
        /// Leave out envelopes below this index (roster statements are always kept).
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
    /// Verify a bundle offline: no server, no profile.
    Verify {
        /// The bundle to read.
        file: PathBuf,
        /// The log key pinned out of band (`name+hash+base64`); the bundle's
        /// own is used if absent, which proves integrity but not whose log it is.
        #[arg(long)]
        log_key: Option<String>,
        /// The exporting delegation's encryption keys (its profile folder, or
        /// the `encryption.keys` file in it): opens what was sealed to it and
        /// recomputes its views. Without it every signature, proof and
        /// roster rule is still verified.
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct InitArgs {
    /// Delegation code, e.g. CZ.
    #[arg(long)]
    pub delegation: String,
    /// Delegation name, e.g. "Czech Republic".
    #[arg(long)]
    pub name: String,
    /// Server URL, e.g. http://127.0.0.1:8740.
    #[arg(long)]
    pub server: String,
    /// Found the (empty) log, admitting this delegation as its secretariat.
    #[arg(long)]
    pub bootstrap: bool,
    /// A CA certificate (PEM) to trust for the server, besides the system roots.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Print this profile's delegation, key id and public key.
    Show,
    /// Replace this profile's key with a new one.
    Rotate,
    /// Revoke a key: one of your own, or any key as secretariat.
    Revoke {
        /// Key id, as `entente roster` lists it.
        key_id: String,
        /// Why (kept in the log).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Args)]
pub struct AdmitArgs {
    /// Code of the delegation to admit, e.g. US.
    pub code: String,
    /// Its name, e.g. "United States".
    #[arg(long)]
    pub name: String,
    /// Its public key, as its `entente key show` prints it.
    #[arg(long)]
    pub key: String,
    /// Its encryption key (X25519), as its `entente key show` prints it:
    /// what AMBER and RED statements to it are sealed to. Without one (a
    /// profile made before sealing) it receives none until it rotates its key.
    #[arg(long)]
    pub encryption_key: Option<String>,
    /// Its role.
    #[arg(long, default_value = "member", value_parser = ["member", "observer", "secretariat"])]
    pub role: String,
}

#[derive(Subcommand)]
pub enum LogCommand {
    /// Fetch, verify and pin the latest checkpoint.
    Checkpoint,
    /// Verify the whole log: every entry, signature and roster rule, and the root.
    Verify,
    /// Sealed statements to this delegation that broke a rule or did not
    /// open, each with the reason.
    Invalid,
    /// Check the log's static tiles (C2SP tlog-tiles) at URL, served by any
    /// web server, without the log server: their checkpoint against the log
    /// key and the witness policy, its consistency with the pinned checkpoint,
    /// and every entry of this delegation's replica included, all by proofs
    /// from the tiles.
    Tiles {
        /// The tile folder's URL prefix (it holds `checkpoint` and `tile/`).
        url: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every subcommand, argument and flag says what it is for in `--help`
    /// (and so in the man pages and completions made from these definitions).
    #[test]
    fn everything_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let here = format!("{path} {}", sub.get_name());
                if sub.get_name() != "help" && sub.get_about().is_none() {
                    missing.push(here.clone());
                }
                walk(sub, &here, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "entente", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
        Cli::command().debug_assert();
    }
}
