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
//! the other recipients can read. It is kept too (`replica/fold.json`, mode
//! 0600: it holds what was opened), so that a command folds only the
//! entries synced since the last one; a fold kept by another release, for
//! another delegation or keyring, or of more entries than the replica
//! holds, is not used. `entente log verify` runs the same checks over a
//! replica kept only in memory.

use std::fs;
use std::io::{BufRead as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use entente_shared::api::Entry;
use entente_shared::keys::KeyId;
use entente_shared::ledger::replay::Entry as ReplayEntry;
use entente_shared::ledger::{Ledger, Replay, FOLD_VERSION};
use entente_shared::merkle::{leaf_hash, MemoryTree};
use entente_shared::seal::Keyring;
use entente_shared::statement::DelegationCode;

use crate::error::{CliError, CliResult};
use crate::http::Api;
use crate::profile::Profile;

const REPLICA_DIR: &str = "replica";
const ENTRIES_FILE: &str = "entries";
const LOCK_FILE: &str = "lock";
const FOLD_FILE: &str = "fold.json";

/// The fold of the replica's first `size` entries, as kept between commands.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptFold {
    /// `ledger::FOLD_VERSION` of the release that folded it.
    version: String,
    reader: DelegationCode,
    /// The keys it was opened with.
    keys: Vec<KeyId>,
    size: u64,
    /// The root of those entries and how many were hidden: the same entries,
    /// served alike.
    #[serde(with = "entente_shared::b64::hash")]
    root: [u8; 32],
    hidden: u64,
    ledger: Ledger,
}

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
        Replica::load_at(&profile.home.join(REPLICA_DIR))
    }

    /// The replica kept in `dir` (a profile's, or a mirror's).
    pub fn load_at(dir: &std::path::Path) -> CliResult<Replica> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
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

    /// The root of the first `size` entries (`size` at most [`Replica::size`]).
    pub fn root_at(&self, size: u64) -> entente_shared::merkle::Hash {
        self.tree.root_at(size).unwrap_or_default()
    }

    /// Every entry, in order, as it was served (hidden ones as leaf hashes).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Checks the replica's first `size` entries hash to `root`: a
    /// checkpoint older than the replica (a mirror's that lags) is a prefix
    /// of what was verified.
    pub fn check_prefix(&self, size: u64, root: &[u8; 32]) -> CliResult<()> {
        if size > self.size() || self.tree.root_at(size).ok().as_ref() != Some(root) {
            return Err(CliError::Inconsistent(format!(
                "checkpoint {size} is not a prefix of the {} entries verified before",
                self.size()
            )));
        }
        Ok(())
    }

    /// Every entry's index and leaf hash, in order (hidden ones too).
    pub fn leaves(&self) -> impl Iterator<Item = (u64, entente_shared::merkle::Hash)> + '_ {
        self.entries.iter().map(|e| (e.index, e.leaf_hash))
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
        if self.size() != size || self.tree.root_at(size).ok().as_ref() != Some(root) {
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
    /// opening what is sealed to `keyring`'s delegation; for a kept replica
    /// with a keyring, from the fold kept at the last command on.
    pub fn fold(&self, keyring: Option<Keyring>) -> CliResult<Ledger> {
        let Some(keyring) = keyring else {
            return self.fold_from(Replay::new(), 0);
        };
        let Some(dir) = self.file.as_ref().and_then(|f| f.parent()) else {
            return self.fold_from(Replay::opening(keyring), 0);
        };
        let path = dir.join(FOLD_FILE);
        let (reader, keys) = (*keyring.reader(), keyring.key_ids());
        let kept = fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<KeptFold>(&bytes).ok())
            .filter(|k| {
                k.version == FOLD_VERSION
                    && k.reader == reader
                    && k.keys == keys
                    && k.size <= self.size()
                    && k.ledger.size() == k.size
                    && self.tree.root_at(k.size).ok() == Some(k.root)
                    && self.hidden_below(k.size) == k.hidden
            });
        let ledger = match kept {
            Some(k) if k.size == self.size() => return Ok(k.ledger),
            Some(k) => {
                let from = k.size;
                self.fold_from(Replay::resume_opening(k.ledger, keyring), from)?
            }
            None => self.fold_from(Replay::opening(keyring), 0)?,
        };
        let size = ledger.size();
        let kept = KeptFold {
            version: FOLD_VERSION.to_owned(),
            reader,
            keys,
            size,
            root: self
                .tree
                .root_at(size)
                .map_err(|e| CliError::Inconsistent(e.to_string()))?,
            hidden: self.hidden_below(size),
            ledger,
        };
        let bytes = serde_json::to_vec(&kept).map_err(anyhow::Error::from)?;
        crate::profile::write_file(&path, &bytes, 0o600)?;
        Ok(kept.ledger)
    }

    /// How many of the first `size` entries were served without an envelope.
    fn hidden_below(&self, size: u64) -> u64 {
        self.entries
            .iter()
            .take(size as usize)
            .filter(|e| e.envelope.is_none())
            .count() as u64
    }

    /// `replay` (which holds the fold of the first `from` entries) over the rest.
    fn fold_from(&self, mut replay: Replay, from: u64) -> CliResult<Ledger> {
        for entry in self.entries.iter().skip(from as usize) {
            let next = match &entry.envelope {
                None => ReplayEntry::Hidden,
                Some(envelope) => ReplayEntry::Envelope(Box::new(envelope.clone())),
            };
            replay.next(next).map_err(|e| bad(entry.index, e))?;
        }
        Ok(replay.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entente_shared::encryption::EncryptionSecret;
    use entente_shared::keys::SigningKey;
    use entente_shared::statement::{Admission, Body, Distribution, Position, Role, Statement};

    /// CZ founds a log and publishes `papers` GREEN position papers.
    fn log(papers: usize) -> (SigningKey, Vec<Entry>) {
        let (key, _) = SigningKey::generate().unwrap();
        let cz: DelegationCode = "CZ".parse().unwrap();
        let mut bodies = vec![Body::Admission(Admission {
            delegation: cz,
            name: "Czech Republic".into(),
            role: Role::Secretariat,
            public_key: key.public_key(),
            encryption_key: None,
        })];
        bodies.extend((0..papers).map(|i| {
            Body::Position(Position {
                title: format!("Paper {i}"),
                text: "Text".into(),
                subject: None,
            })
        }));
        let entries = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| {
                let envelope =
                    Statement::new(cz, &key, i as u64 + 1, Distribution::green(), body).sign(&key);
                Entry {
                    index: i as u64,
                    leaf_hash: leaf_hash(&envelope.to_canonical_json()),
                    id: None,
                    envelope: Some(envelope),
                }
            })
            .collect();
        (key, entries)
    }

    fn kept_in(dir: &std::path::Path, entries: &[Entry]) -> Replica {
        let mut replica = Replica {
            file: Some(dir.join(ENTRIES_FILE)),
            ..Replica::in_memory()
        };
        for e in entries {
            replica.accept(e.clone()).unwrap();
        }
        replica
    }

    fn keyring(secret: &EncryptionSecret) -> Keyring {
        let copy = EncryptionSecret::from_text(&secret.to_text()).unwrap();
        Keyring::new("CZ".parse().unwrap(), vec![copy])
    }

    #[test]
    fn the_fold_is_kept_and_only_new_entries_are_folded() {
        let dir = tempfile::tempdir().unwrap();
        let secret = EncryptionSecret::generate();
        let (_, entries) = log(3);
        let first = kept_in(dir.path(), &entries[..2])
            .fold(Some(keyring(&secret)))
            .unwrap();
        assert_eq!(first.size(), 2);
        let kept: KeptFold =
            serde_json::from_slice(&fs::read(dir.path().join(FOLD_FILE)).unwrap()).unwrap();
        assert_eq!((kept.size, kept.hidden), (2, 0));
        // A new entry: folded on top of the kept fold, which is replaced.
        let all = kept_in(dir.path(), &entries);
        let whole = all.fold(Some(keyring(&secret))).unwrap();
        assert_eq!(whole.size(), 4);
        assert_eq!(whole.discussion().positions().count(), 3);
        let again = all.fold(Some(keyring(&secret))).unwrap();
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&whole).unwrap()
        );
        // From scratch, the same fold.
        let fresh = Replica {
            file: None,
            ..kept_in(dir.path(), &entries)
        }
        .fold(Some(keyring(&secret)))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&fresh).unwrap(),
            serde_json::to_value(&whole).unwrap()
        );
    }

    #[test]
    fn a_kept_fold_of_other_entries_or_keys_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let secret = EncryptionSecret::generate();
        let (_, entries) = log(2);
        kept_in(dir.path(), &entries)
            .fold(Some(keyring(&secret)))
            .unwrap();
        // Another log of the same size: its root differs, so it is folded afresh.
        let (_, other) = log(2);
        let folded = kept_in(dir.path(), &other)
            .fold(Some(keyring(&secret)))
            .unwrap();
        let cz = "CZ".parse().unwrap();
        let key_of = |entries: &[Entry]| {
            Statement::decode(&entries[0].envelope.as_ref().unwrap().payload)
                .unwrap()
                .key
        };
        let roster_key = folded.roster().delegation(&cz).unwrap().keys[0].key_id;
        assert_eq!(roster_key, key_of(&other));
        // Another keyring: folded afresh too (and kept for it).
        let other_secret = EncryptionSecret::generate();
        kept_in(dir.path(), &other)
            .fold(Some(keyring(&other_secret)))
            .unwrap();
        let kept: KeptFold =
            serde_json::from_slice(&fs::read(dir.path().join(FOLD_FILE)).unwrap()).unwrap();
        assert_eq!(kept.keys, vec![other_secret.public_key().key_id()]);
    }
}
