//! The delegation's verified replica of the log, kept in the profile.
//!
//! `replica/entries` holds every log entry as `GET /v1/entries` gave it to
//! this delegation — the envelope of what it may read, the leaf hash of the
//! rest — one JSON line each, in index order. A sync fetches only the
//! entries after the last one kept, checks that each envelope hashes to its
//! leaf, and checks that all the leaves together hash to the root of the
//! checkpoint the session just checked against the pin: a server that
//! changed an entry it sent before, or sent a different one, is caught.
//!
//! The fold over the replica opens what is sealed to this delegation with
//! its keyring, so its views (`shared::views`, as the server computes them
//! for CLEAR and GREEN) also hold the AMBER and RED content only it and
//! the other recipients can read. `entente log verify` runs the same
//! checks over a replica kept only in memory.

use std::fs;
use std::io::{BufRead as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use entente_shared::api::Entry;
use entente_shared::ledger::replay::Entry as ReplayEntry;
use entente_shared::ledger::{Ledger, Replay};
use entente_shared::merkle::{leaf_hash, MemoryTree};
use entente_shared::seal::Keyring;

use crate::error::{CliError, CliResult};
use crate::http::Api;
use crate::profile::Profile;

const REPLICA_DIR: &str = "replica";
const ENTRIES_FILE: &str = "entries";
const LOCK_FILE: &str = "lock";

/// Entries verified so far, and where they are kept (if anywhere).
pub struct Replica {
    file: Option<PathBuf>,
    entries: Vec<Entry>,
    tree: MemoryTree,
    /// Held (an exclusive lock on `replica/lock`) from load to drop, so two
    /// commands of one profile never append the same entries twice.
    _lock: Option<fs::File>,
}

fn bad(index: u64, why: impl std::fmt::Display) -> CliError {
    CliError::Inconsistent(format!("entry {index}: {why}"))
}

impl Replica {
    /// A replica kept only in memory, from the empty log.
    pub fn in_memory() -> Replica {
        Replica {
            file: None,
            entries: Vec::new(),
            tree: MemoryTree::new(),
            _lock: None,
        }
    }

    /// The profile's replica, as kept (each entry checked again as it is read).
    pub fn load(profile: &Profile) -> CliResult<Replica> {
        let dir = profile.home.join(REPLICA_DIR);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let lock = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join(LOCK_FILE))
            .with_context(|| format!("opening {}", dir.join(LOCK_FILE).display()))?;
        lock.lock()
            .with_context(|| format!("locking {}", dir.display()))?;
        let file = dir.join(ENTRIES_FILE);
        let mut replica = Replica {
            file: Some(file.clone()),
            _lock: Some(lock),
            ..Replica::in_memory()
        };
        let f = match fs::File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(replica),
            Err(e) => return Err(anyhow::Error::from(e).into()),
        };
        let mut kept = 0u64;
        for line in std::io::BufReader::new(f).lines() {
            let line = line.with_context(|| format!("reading {}", file.display()))?;
            // A line cut short by a crash while appending: the sync fetches it again.
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                break;
            };
            replica.accept(entry)?;
            kept += line.len() as u64 + 1;
        }
        // Drop whatever followed the last whole line.
        let f = fs::OpenOptions::new().write(true).open(&file)?;
        f.set_len(kept)?;
        Ok(replica)
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Checks `entry` is the next one and its envelope hashes to its leaf.
    fn accept(&mut self, entry: Entry) -> CliResult<()> {
        if entry.index != self.tree.size() {
            return Err(bad(
                self.tree.size(),
                format!("expected it, got entry {}", entry.index),
            ));
        }
        if let Some(envelope) = &entry.envelope {
            if leaf_hash(&envelope.to_canonical_json()) != entry.leaf_hash {
                return Err(bad(
                    entry.index,
                    "its leaf hash is not the hash of its envelope",
                ));
            }
        }
        self.tree.push(entry.leaf_hash);
        self.entries.push(entry);
        Ok(())
    }

    /// Fetches the entries up to `size` and checks the whole replica hashes
    /// to `root`, the root of the checkpoint of that size.
    pub fn sync(&mut self, api: &Api, size: u64, root: &[u8; 32]) -> CliResult<()> {
        if self.size() > size {
            return Err(CliError::Inconsistent(format!(
                "the replica holds {} entries but the log's checkpoint only {size}",
                self.size()
            )));
        }
        let mut new = Vec::new();
        api.entries(self.size(), size, |page| {
            for entry in page {
                self.accept(entry.clone())?;
                new.push(entry);
            }
            Ok(())
        })?;
        if self.tree.root_at(size).ok().as_ref() != Some(root) {
            return Err(CliError::Inconsistent(format!(
                "the log's entries do not hash to the root of checkpoint {size}{}",
                match &self.file {
                    Some(f) => format!(
                        " (entries kept in {} included: the server sent different ones before)",
                        f.display()
                    ),
                    None => String::new(),
                }
            )));
        }
        self.append(&new)
    }

    /// Adds verified entries to the file, durably.
    fn append(&self, new: &[Entry]) -> CliResult<()> {
        let (Some(file), false) = (&self.file, new.is_empty()) else {
            return Ok(());
        };
        let mut text = Vec::new();
        for entry in new {
            serde_json::to_writer(&mut text, entry).map_err(anyhow::Error::from)?;
            text.push(b'\n');
        }
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(file)
            .with_context(|| format!("opening {}", file.display()))?;
        f.write_all(&text)?;
        f.sync_data()?;
        Ok(())
    }

    /// The fold of every entry, each re-verified (signature, roster rules),
    /// opening what is sealed to `keyring`'s delegation.
    pub fn fold(&self, keyring: Option<Keyring>) -> CliResult<Ledger> {
        let mut replay = match keyring {
            Some(k) => Replay::opening(k),
            None => Replay::new(),
        };
        for entry in &self.entries {
            let next = match &entry.envelope {
                None => ReplayEntry::Hidden,
                Some(envelope) => ReplayEntry::Envelope(Box::new(envelope.clone())),
            };
            replay.next(next).map_err(|e| bad(entry.index, e))?;
        }
        Ok(replay.finish())
    }
}
