//! The mirror's follower: one verified round after another (module docs of
//! [`crate::mirror`]). The first round is checked against the profile's
//! pinned checkpoint; each later one against the mirror's last. Kept
//! cosignatures: those the folded roster vouches for, and those by the
//! witnesses the profile's policy names by key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use entente_shared::api::LogInfo;
use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::cosignature::{self, WitnessKey};
use entente_shared::merkle::verify_consistency;
use entente_shared::note::{NoteVerifier, SignedNote};

use super::{Shared, View};
use crate::error::{CliError, CliResult};
use crate::http::Api;
use crate::profile::{write_file, Profile};
use crate::replica::Replica;

/// The mirror's last accepted checkpoint, in its folder.
const CHECKPOINT_FILE: &str = "checkpoint";

/// The follower's state: the profile it reads as, its replica and folder.
pub struct Follower {
    profile: Profile,
    api: Api,
    log: NoteVerifier,
    dir: PathBuf,
    replica: Replica,
}

impl Follower {
    /// Opens (or makes) the mirror folder; the replica is locked until exit.
    pub fn open(profile: Profile, dir: &Path) -> CliResult<Follower> {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::error::fail(format!("creating {}: {e}", dir.display())))?;
        let replica = Replica::load_at(&dir.join("replica"))?;
        Ok(Follower {
            api: Api::for_profile(&profile)?,
            log: profile.log_verifier()?,
            dir: dir.to_owned(),
            replica,
            profile,
        })
    }

    /// What the log says of itself, served at `/v1/log`.
    pub fn log_info(&self) -> LogInfo {
        LogInfo {
            origin: self.log.name().to_owned(),
            verifier_key: self.profile.data.log_key.clone(),
            size: self.replica.size(),
        }
    }

    /// The view of what the folder holds now (checked again on load).
    pub fn view(&self) -> CliResult<View> {
        let checkpoint = self.accepted()?;
        if let Some(cp) = &checkpoint {
            let cp = &cp.checkpoint;
            if self.replica.size() < cp.size || self.replica.root_at(cp.size) != cp.root {
                return Err(CliError::Inconsistent(format!(
                    "the mirror's entries in {} do not match its checkpoint",
                    self.dir.display()
                )));
            }
        }
        let mut view = View {
            upstream: self.profile.data.server.clone(),
            ..View::default()
        };
        let size = checkpoint.as_ref().map_or(0, |c| c.checkpoint.size);
        self.refresh(&mut view, checkpoint.map(|c| c.to_text()), size)?;
        Ok(view)
    }

    /// Follows every `every` on a thread of its own.
    pub fn spawn(mut self, shared: Shared, every: Duration) -> CliResult<()> {
        std::thread::Builder::new()
            .name("mirror-follower".into())
            .spawn(move || loop {
                match self.round(&shared) {
                    Ok(()) => {}
                    Err(e @ CliError::Inconsistent(_)) => {
                        let why = e.to_string();
                        eprintln!("entente: mirror: {why}; no longer following, serving the history verified so far");
                        write(&shared).stopped = Some(why);
                        return;
                    }
                    Err(e) => eprintln!("entente: mirror: following failed, retrying: {e}"),
                }
                std::thread::sleep(every);
            })
            .map_err(|e| crate::error::fail(format!("starting the follower: {e}")))?;
        Ok(())
    }

    /// The checkpoint the mirror accepted last, if any.
    fn accepted(&self) -> CliResult<Option<SignedCheckpoint>> {
        match std::fs::read_to_string(self.dir.join(CHECKPOINT_FILE)) {
            Ok(text) => SignedCheckpoint::parse_and_verify(&text, &self.log)
                .map(Some)
                .map_err(|e| {
                    CliError::Inconsistent(format!("the mirror's checkpoint does not verify: {e}"))
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::from(e).into()),
        }
    }

    /// The profile's pinned checkpoint, if any.
    fn pinned(&self) -> CliResult<Option<SignedCheckpoint>> {
        let Some(text) = self.profile.pinned()? else {
            return Ok(None);
        };
        SignedCheckpoint::parse_and_verify(&text, &self.log)
            .map(Some)
            .map_err(|e| {
                CliError::Inconsistent(format!("the pinned checkpoint does not verify: {e}"))
            })
    }

    /// One round: the log's latest checkpoint checked, entries synced and
    /// folded, the view replaced.
    fn round(&mut self, shared: &Shared) -> CliResult<()> {
        let presented = self.api.checkpoint()?;
        let cp = SignedCheckpoint::parse_and_verify(&presented, &self.log).map_err(|e| {
            CliError::Inconsistent(format!(
                "the log's checkpoint is not signed by its key: {e}"
            ))
        })?;
        // The first round is checked against the profile's pin.
        let prev = match self.accepted()? {
            Some(prev) => Some(prev),
            None => self.pinned()?,
        };
        if let Some(prev) = prev {
            if let Err(why) = self.extends(&prev, &cp) {
                self.keep_evidence(&prev.to_text(), &presented, &why)?;
                return Err(CliError::Inconsistent(why));
            }
        }
        let (size, root) = (cp.checkpoint.size, cp.checkpoint.root);
        self.replica.sync(&self.api, size, &root)?;
        let ledger = self.replica.fold(Some(self.profile.keyring()?))?;
        // Only the log's signature and the cosignatures the roster vouches for.
        let mut kept = SignedNote {
            text: cp.note.text.clone(),
            signatures: Vec::new(),
        };
        let keyed: Vec<WitnessKey> = self
            .profile
            .data
            .witness_keys
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect();
        for sig in &cp.note.signatures {
            let text = &cp.note.text;
            let by_log = sig.name == self.log.name() && sig.key_hash == self.log.key_hash();
            let vouched = by_log
                || cosignature::verify_by_roster(sig, text, ledger.roster()).is_ok()
                || keyed.iter().any(|k| k.verify(sig, text).is_ok());
            if vouched {
                kept.add_signature(sig.clone());
            }
        }
        let text = kept.to_text();
        write_file(&self.dir.join(CHECKPOINT_FILE), text.as_bytes(), 0o600)?;
        let mut view = write(shared);
        view.ledger = ledger;
        self.refresh(&mut view, Some(text), size)
    }

    /// `Err(why)` unless `next` extends (or equals) `prev`.
    fn extends(&self, prev: &SignedCheckpoint, next: &SignedCheckpoint) -> Result<(), String> {
        let (old, new) = (&prev.checkpoint, &next.checkpoint);
        if new.size < old.size {
            return Err(format!(
                "ROLLBACK: the log's latest checkpoint has size {}, but the mirror accepted size {}",
                new.size, old.size
            ));
        }
        if new.size == old.size {
            return if new.root == old.root {
                Ok(())
            } else {
                Err(format!(
                    "FORK: two signed checkpoints of size {} with different roots",
                    new.size
                ))
            };
        }
        if old.size == 0 {
            return Ok(());
        }
        let proof = self.api.consistency(old.size, new.size).map_err(|e| {
            format!(
                "FORK OR ROLLBACK: no consistency proof from {} to {}: {e}",
                old.size, new.size
            )
        })?;
        verify_consistency(old.size, new.size, &old.root, &new.root, &proof.proof).map_err(|e| {
            format!(
                "FORK OR ROLLBACK: checkpoint {} is not consistent with checkpoint {}: {e}",
                new.size, old.size
            )
        })
    }

    /// Both signed checkpoints and why, in a new `fork-evidence-*` folder.
    fn keep_evidence(&self, accepted: &str, presented: &str, why: &str) -> CliResult<()> {
        let now = time::OffsetDateTime::now_utc();
        let dir = self.dir.join(format!(
            "fork-evidence-{}-{:09}",
            now.unix_timestamp(),
            now.nanosecond()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| crate::error::fail(format!("creating {}: {e}", dir.display())))?;
        write_file(&dir.join("accepted"), accepted.as_bytes(), 0o600)?;
        write_file(&dir.join("presented"), presented.as_bytes(), 0o600)?;
        write_file(&dir.join("reason"), format!("{why}\n").as_bytes(), 0o600)?;
        Ok(())
    }

    /// Brings `view` level with the replica at `size`, with checkpoint `text`.
    fn refresh(&self, view: &mut View, text: Option<String>, size: u64) -> CliResult<()> {
        for entry in self
            .replica
            .entries()
            .iter()
            .skip(view.entries.len())
            .take((size as usize).saturating_sub(view.entries.len()))
        {
            view.tree.push(entry.leaf_hash);
            view.entries.push(entry.clone());
        }
        if view.ledger.size() < size {
            view.ledger = self.replica.fold(Some(self.profile.keyring()?))?;
        }
        view.checkpoint = text;
        Ok(())
    }
}

fn write(shared: &Shared) -> std::sync::RwLockWriteGuard<'_, View> {
    shared.write().unwrap_or_else(|p| p.into_inner())
}
