//! `entente mirror`: a verified copy of the log that outlives its host.
//!
//! A delegation runs it with its own profile. It follows the log
//! ([`follow`]): every round it takes the log's latest checkpoint, checks it
//! against the log key and against the last checkpoint the mirror accepted
//! (an RFC 9162 consistency proof; a smaller tree is a rollback, another
//! root for a size a fork), brings its own replica up to it (each envelope
//! against its leaf, all leaves against the root), re-verifies every entry it
//! may read with the shared fold (signatures and roster rules, opening what
//! is sealed to it), and keeps the checkpoint with the witnesses'
//! cosignatures that verify against that fold's roster. A fork or rollback
//! stops the following: the mirror keeps serving the last history it
//! verified, keeps both signed checkpoints as evidence, and says so on stderr
//! and at `GET /v1/mirror`.
//!
//! It serves the log's read API for what it holds ([`serve`]): checkpoint,
//! log info, entries and proofs, so `entente --mirror URL` reads from it
//! when the host is gone. Each reader gets only what it may read: requests
//! are authenticated as the log server does (RFC 9421, against the mirror's
//! verified roster), and an entry is served whole only to a reader the TLP
//! rule lets read it; every other entry is its leaf hash. The mirror holds
//! only what its own delegation may read, so others may find fewer entries
//! whole here than at the host, never more.
//!
//! Its folder (`--data`, default `<profile>/mirror`) holds `replica/` (as a
//! profile's), `checkpoint` and any `fork-evidence-*`.

pub mod follow;
pub mod serve;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use entente_shared::api::Entry;
use entente_shared::ledger::Ledger;
use entente_shared::merkle::MemoryTree;

use crate::error::CliResult;
use crate::profile::Profile;

/// What the mirror serves, replaced by the follower after each round.
#[derive(Default)]
pub struct View {
    /// The latest checkpoint accepted, with its verified cosignatures.
    pub checkpoint: Option<String>,
    /// Every entry as the mirror's delegation got it.
    pub entries: Vec<Entry>,
    pub tree: MemoryTree,
    /// The fold of those entries: the roster requests are checked against.
    pub ledger: Ledger,
    /// Why following stopped (a fork or rollback), once it has.
    pub stopped: Option<String>,
    /// The log server followed.
    pub upstream: String,
}

/// The view shared by the follower and the HTTP workers.
pub type Shared = Arc<RwLock<View>>;

/// How the command was started.
pub struct Options {
    pub data: Option<PathBuf>,
    pub listen: String,
    pub every: Duration,
    /// The URL readers use when a TLS proxy stands in front.
    pub public_url: Option<String>,
}

/// Follows and serves until interrupted.
pub fn run(profile: Profile, options: Options, json: bool) -> CliResult<()> {
    let dir = options
        .data
        .clone()
        .unwrap_or_else(|| profile.home.join("mirror"));
    let follower = follow::Follower::open(profile, &dir)?;
    let shared: Shared = Arc::new(RwLock::new(follower.view()?));
    let log = follower.log_info();
    follower.spawn(shared.clone(), options.every)?;
    serve::serve(shared, log, &options.listen, options.public_url, json)
}
