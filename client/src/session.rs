//! The one way a command reaches its server: a profile talking to a checked
//! server, with id resolution, publishing (AMBER and RED bodies sealed to
//! their readers), the delegation's own fold of its verified replica, and
//! input files.
//!
//! [`Session::open`] checks the server's latest checkpoint against the pin
//! before anything is read or sent, so every command that shows or acts on
//! server state has first made sure the log it talks to has not forked or
//! rolled back (publishing checks its receipt again in `publish`). Only
//! `entente init`, which makes the profile and pins the log key, talks to a
//! server without one.

use std::io::Read;
use std::path::Path;

use anyhow::Context as _;
use entente_shared::api::{ProposalView, Receipt};
use entente_shared::statement::{Body, DelegationCode, Distribution, StatementId};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::ledger::Ledger;
use entente_shared::views;
use entente_shared::visibility::Reader;

use crate::cli::{Distribute, Parent};
use crate::commands::Context;
use crate::error::CliResult;
use crate::http::Api;
use crate::pin;
use crate::profile::Profile;
use crate::replica::Replica;
use crate::resolve;

/// An opened profile and its server, whose checkpoint was just checked.
pub struct Session {
    pub profile: Profile,
    pub api: Api,
    /// The server's latest checkpoint, checked against the pin at opening.
    pub checkpoint: SignedCheckpoint,
    /// Its size.
    pub size: u64,
    /// The delegation's fold of its replica at `checkpoint`, made on first use.
    fold: std::cell::OnceCell<Ledger>,
}

impl Session {
    /// Opens the profile and checks the server's latest checkpoint.
    pub fn open(ctx: &Context) -> CliResult<Session> {
        Session::connect(Profile::open(&ctx.home)?)
    }

    /// Checks the server of an already opened profile.
    pub fn connect(profile: Profile) -> CliResult<Session> {
        let api = Api::for_profile(&profile)?;
        Session::connect_with(profile, api)
    }

    /// [`Session::connect`] through `api` (e.g. one for pages, with shorter
    /// timeouts).
    pub fn connect_with(profile: Profile, api: Api) -> CliResult<Session> {
        let text = pin::fetch_latest(&profile, &api)?;
        Session::with_checkpoint(profile, api, &text)
    }

    /// A session on the latest checkpoint `text` the caller already fetched
    /// from `api` (a witness checks it against its own record first).
    pub fn with_checkpoint(profile: Profile, api: Api, text: &str) -> CliResult<Session> {
        let claim = if profile.read_from.is_some() {
            pin::Claim::Mirror
        } else {
            pin::Claim::Latest
        };
        let pinned_size = match claim {
            pin::Claim::Mirror => pin::pinned_size(&profile)?,
            _ => 0,
        };
        let checkpoint = pin::observe(&profile, &api, text, claim)?;
        if checkpoint.checkpoint.size < pinned_size {
            // A lagging mirror: its tree must be a prefix of the entries
            // this profile verified against its pin.
            let replica = Replica::load(&profile)?;
            if replica.size() < checkpoint.checkpoint.size {
                return Err(crate::error::CliError::Inconsistent(format!(
                    "the mirror's checkpoint {} is older than the pinned {pinned_size} and cannot be checked against the {} entries this profile holds",
                    checkpoint.checkpoint.size,
                    replica.size()
                )));
            }
            replica.check_prefix(checkpoint.checkpoint.size, &checkpoint.checkpoint.root)?;
        }
        Ok(Session {
            size: checkpoint.checkpoint.size,
            profile,
            api,
            checkpoint,
            fold: std::cell::OnceCell::new(),
        })
    }

    /// This delegation's own fold: its replica brought up to the checked
    /// checkpoint (only the new entries fetched, all of them checked against
    /// its root), every entry re-verified, what is sealed to it opened. Its
    /// views hold the AMBER and RED content the server cannot read.
    pub fn fold(&self) -> CliResult<&Ledger> {
        if let Some(ledger) = self.fold.get() {
            return Ok(ledger);
        }
        let mut replica = Replica::load(&self.profile)?;
        let root = &self.checkpoint.checkpoint.root;
        if replica.size() > self.size {
            // A mirror that lags: its checkpoint must be a prefix of what
            // this profile verified before.
            replica.check_prefix(self.size, root)?;
        } else {
            replica.sync(&self.api, self.size, root)?;
        }
        let keyring = self.profile.keyring()?;
        let held = keyring.key_ids();
        let ledger = replica.fold(Some(keyring))?;
        let me = self.profile.data.delegation;
        if let Some(key) = ledger.roster().encryption_key(&me) {
            if !held.contains(&key.key_id()) {
                eprintln!(
                    "warning: the roster gives {me} the encryption key {}, which this profile does not hold: what is sealed to {me} now cannot be opened here (was {me} admitted again with keys made elsewhere?)",
                    key.key_id()
                );
            }
        }
        let invalid = views::invalid(&ledger, &self.reader(&ledger)).len();
        if invalid > 0 {
            eprintln!(
                "note: {invalid} sealed statement(s) to {} did not open or broke a rule: `entente log invalid` lists them",
                self.profile.data.delegation
            );
        }
        Ok(self.fold.get_or_init(|| ledger))
    }

    /// This delegation as a reader of `ledger` (its role as the roster says).
    pub fn reader(&self, ledger: &Ledger) -> Reader {
        let code = self.profile.data.delegation;
        match ledger.roster().delegation(&code) {
            Some(d) => Reader::Delegation { code, role: d.role },
            None => Reader::Anonymous,
        }
    }

    /// This delegation's fold and itself as its reader.
    pub fn own_view(&self) -> CliResult<(&Ledger, Reader)> {
        let ledger = self.fold()?;
        Ok((ledger, self.reader(ledger)))
    }

    /// GETs an API path as JSON.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        self.api.get_json(path)
    }

    /// Signs `body` with the profile's key, submits it, checks the receipt.
    pub fn publish(&mut self, distribution: Distribution, body: Body) -> CliResult<Receipt> {
        self.publish_with(distribution, |_| Ok(body))
    }

    /// [`Session::publish`] for a body made from its own `issued_at` (see
    /// `publish::publish`).
    pub fn publish_with(
        &mut self,
        distribution: Distribution,
        body: impl FnOnce(OffsetDateTime) -> CliResult<Body>,
    ) -> CliResult<Receipt> {
        if !distribution.tlp.needs_recipients() {
            return crate::publish::publish(&mut self.profile, &self.api, distribution, body);
        }
        // Sealed to the keys this delegation's own verified fold gives each
        // reader: never to keys the server merely says are theirs.
        // Taken, not copied: the fold is stale once this statement lands.
        self.fold()?;
        let ledger = self.fold.take().expect("the fold was just made");
        let author = self.profile.data.delegation;
        let sealed_to = distribution.clone();
        let key = self.profile.key()?.key_id();
        crate::publish::publish(&mut self.profile, &self.api, distribution, |issued_at| {
            crate::seal::seal(
                &ledger,
                &author,
                key,
                issued_at,
                &sealed_to,
                body(issued_at)?,
            )
        })
    }

    /// Every item of a list route, page after page (see `Api::get_all`).
    pub fn list<T: DeserializeOwned>(&self, path: &str) -> CliResult<Vec<T>> {
        self.api.get_all(path)
    }

    /// Resolves `arg` to the id of one of the records `list_path` answers.
    pub fn resolve<T: DeserializeOwned>(
        &self,
        arg: &str,
        what: &str,
        list_path: &str,
        id: impl Fn(&T) -> StatementId,
    ) -> CliResult<StatementId> {
        resolve::statement_id(arg, what, || {
            let list: Vec<T> = self.list(list_path)?;
            Ok(list.iter().map(id).collect::<Vec<_>>())
        })
    }

    /// The author and distribution of statement `id`, from this delegation's
    /// own verified fold: a reply takes its audience from what the log
    /// really holds, never from a server that could answer "no such parent"
    /// and so have a reply to a RED statement sent in clear. A statement the
    /// fold does not hold for this delegation is refused here.
    pub fn audience_of(&self, id: &StatementId) -> CliResult<(DelegationCode, Distribution)> {
        let (ledger, reader) = self.own_view()?;
        match ledger.audience(id) {
            Some(a) if a.readable_by(&reader) => Ok((a.author, a.distribution.clone())),
            // As the log refuses a reference it cannot follow.
            _ => Err(crate::error::refused(
                entente_shared::refusal::Refusal::NoSuchStatement(format!("statement {id}")),
                "statement refused",
            )),
        }
    }

    /// What a statement by this delegation hanging off `parent` (if any) is
    /// signed under: `--tlp`/`--to` as given, else the parent's audience.
    pub fn distribution_under(
        &self,
        distribute: &Distribute,
        parent: Option<&StatementId>,
    ) -> CliResult<Distribution> {
        let parent = match parent {
            Some(id) => Some(self.audience_of(id)?),
            None => None,
        };
        distribute.distribution(
            &self.profile.data.delegation,
            parent.as_ref().map(|(author, distribution)| Parent {
                author,
                distribution,
            }),
        )
    }

    /// Resolves `arg` among the ids `list` gives (from this delegation's
    /// own fold) and looks it up with `find`: a record this delegation may
    /// not read is answered exactly as a missing one.
    pub fn local<T>(
        &self,
        arg: &str,
        what: &str,
        list: impl FnOnce(&Ledger, &Reader) -> Vec<StatementId>,
        find: impl FnOnce(&Ledger, &Reader, &StatementId) -> Option<T>,
    ) -> CliResult<T> {
        let (ledger, reader) = self.own_view()?;
        let id = resolve::statement_id(arg, what, || Ok(list(ledger, &reader)))?;
        find(ledger, &reader, &id).ok_or_else(|| not_found(format!("{what} {id}")))
    }

    /// Resolves a proposal in this delegation's own fold.
    pub fn proposal(&self, arg: &str) -> CliResult<ProposalView> {
        self.local(
            arg,
            "proposal",
            |l, r| {
                views::proposals(l, r)
                    .iter()
                    .map(|p| p.record.meta.id)
                    .collect()
            },
            views::proposal,
        )
    }

    /// Resolves `arg` against every statement this delegation's own fold
    /// holds for it (a thread may hang off any of them).
    pub fn any_statement(&self, arg: &str) -> CliResult<StatementId> {
        let (ledger, reader) = self.own_view()?;
        resolve::statement_id(arg, "statement", || {
            Ok(ledger
                .statements()
                .filter(|(_, a)| a.readable_by(&reader))
                .map(|(id, _)| *id)
                .collect::<Vec<_>>())
        })
    }
}

pub use entente_shared::api::percent_encode as url_encode;

/// What a command answers for a record its own fold does not have for this
/// delegation (missing, or not for it to read: the same answer), in the
/// server's words for a missing record.
pub fn not_found(what: impl std::fmt::Display) -> crate::error::CliError {
    crate::error::CliError::Problem(entente_shared::api::Problem {
        problem_type: format!("{}not-found", entente_shared::refusal::PROBLEM_BASE),
        title: "not found".into(),
        status: 404,
        detail: format!("no {what}"),
    })
}

/// Reads a text file, or standard input for `-`.
pub fn read_text(path: &Path) -> CliResult<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        return Ok(s);
    }
    Ok(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
}
