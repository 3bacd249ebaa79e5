//! A delegation's profile folder: settings, signing key, pinned checkpoint.
//!
//! | file | what |
//! |---|---|
//! | `profile.toml` | delegation, server URL, the log's origin and key, last `seq` used, optional `ca_file` |
//! | `key.pk8` | the delegation's Ed25519 key, PKCS#8, mode 0600 |
//! | `encryption.keys` | every X25519 key this delegation has held, base64, one a line, newest last, mode 0600: what was sealed to an old key still opens |
//! | `replica/entries` | the log entries this delegation may read, as the server sent them (others as leaf hashes), verified against the pinned checkpoint (`replica.rs`) |
//! | `checkpoint` | the last checkpoint this profile verified (signed note) |
//! | `witness/cosigned` | as a witness: the last checkpoint this delegation cosigned (log-signed note) |
//! | `witness/lock` | held while a witness round or an `add-checkpoint` request reads and writes `cosigned` |
//! | `witness/fork-evidence-<time>/` | as a witness: two signed checkpoints that cannot both be true |
//!
//! The witness keeps its own record, apart from `checkpoint`: what it has
//! vouched for to others must only ever grow consistently, whatever the
//! profile's other commands saw or were told.
//!
//! The folder is `--home DIR`, else `ENTENTE_HOME`, else `~/.entente`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use entente_shared::encryption::EncryptionSecret;
use entente_shared::keys::{Pkcs8, SigningKey};
use entente_shared::note::NoteVerifier;
use entente_shared::seal::Keyring;
use entente_shared::statement::DelegationCode;
use serde::{Deserialize, Serialize};

use crate::error::{fail, CliResult};

const PROFILE_FILE: &str = "profile.toml";
const KEY_FILE: &str = "key.pk8";
const ENCRYPTION_FILE: &str = "encryption.keys";
const CHECKPOINT_FILE: &str = "checkpoint";
const WITNESS_DIR: &str = "witness";
const COSIGNED_FILE: &str = "cosigned";
/// Most `fork-evidence-*` folders a witness server keeps.
pub const MAX_FORK_EVIDENCE: usize = 32;
/// The witness lock, in [`WITNESS_DIR`].
const WITNESS_LOCK_FILE: &str = "lock";

/// Default for [`ProfileData::max_checkpoint_age_secs`]: one hour.
pub const DEFAULT_MAX_CHECKPOINT_AGE_SECS: u64 = 3600;

fn default_max_age() -> u64 {
    DEFAULT_MAX_CHECKPOINT_AGE_SECS
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What `profile.toml` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileData {
    pub delegation: DelegationCode,
    pub name: String,
    pub server: String,
    /// The log's checkpoint origin, pinned on first contact.
    pub origin: String,
    /// The log's checkpoint verifier key, pinned on first contact.
    pub log_key: String,
    /// The last `seq` this profile signed with its current key.
    pub last_seq: u64,
    /// A CA certificate (PEM) trusted for the server besides the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Witness policy: the delegations whose cosignatures count...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<DelegationCode>,
    /// ...and the witnesses outside the roster whose cosignatures count, by
    /// their C2SP cosignature verifier keys (any tlog-witness the log asks)...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witness_keys: Vec<String>,
    /// ...and how many of them must have cosigned a checkpoint before it is
    /// trusted (0: no policy).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub quorum: usize,
    /// Warn when the newest checkpoint (or cosignature of it) is older than this.
    #[serde(default = "default_max_age")]
    pub max_checkpoint_age_secs: u64,
}

/// An opened profile folder.
pub struct Profile {
    pub home: PathBuf,
    pub data: ProfileData,
    /// Where this command reads from instead of `data.server` (`--mirror`);
    /// never saved.
    pub read_from: Option<String>,
}

/// The `--mirror` URL of this run, if any.
static READ_FROM: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes every profile opened from now on read from `url` (`--mirror`).
pub fn read_from_mirror(url: &str) {
    let _ = READ_FROM.set(url.to_owned());
}

/// The profile folder to use.
pub fn home_dir(flag: Option<PathBuf>) -> CliResult<PathBuf> {
    if let Some(h) = flag {
        return Ok(h);
    }
    if let Some(h) = std::env::var_os("ENTENTE_HOME") {
        return Ok(PathBuf::from(h));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| fail("set --home or ENTENTE_HOME"))?;
    Ok(PathBuf::from(home).join(".entente"))
}

/// Writes `bytes` to `path` atomically (temp file, then rename) with `mode`.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> CliResult<()> {
    // Per process: `entente watch` pins checkpoints while other commands of the
    // same profile may be pinning too.
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    // The new name survives a power cut only once its folder is synced.
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(())
}

/// Reads a private file, refusing one others can read.
fn read_private(path: &Path) -> CliResult<zeroize::Zeroizing<Vec<u8>>> {
    let mode = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(fail(format!(
            "{} is readable by others (mode {:o}); run chmod 600",
            path.display(),
            mode & 0o777
        )));
    }
    Ok(zeroize::Zeroizing::new(fs::read(path)?))
}

/// Reads an `encryption.keys` file, or the one in a profile folder `path`.
pub fn read_encryption_keys(path: &Path) -> CliResult<Vec<EncryptionSecret>> {
    let file = if path.is_dir() {
        path.join(ENCRYPTION_FILE)
    } else {
        path.to_owned()
    };
    let bytes = read_private(&file)?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| fail(format!("{} is not text", file.display())))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            EncryptionSecret::from_text(l).map_err(|e| fail(format!("{}: {e}", file.display())))
        })
        .collect()
}

impl Profile {
    /// Opens an existing profile.
    pub fn open(home: &Path) -> CliResult<Profile> {
        let path = home.join(PROFILE_FILE);
        let text = fs::read_to_string(&path).map_err(|_| {
            fail(format!(
                "no profile in {} (run `entente init` first)",
                home.display()
            ))
        })?;
        let data = toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        Ok(Profile {
            home: home.to_owned(),
            data,
            read_from: READ_FROM.get().cloned(),
        })
    }

    /// Makes a new profile folder with a fresh signing key and encryption
    /// key; refuses to overwrite one.
    pub fn create(
        home: &Path,
        data: ProfileData,
        der: &Pkcs8,
        encryption: &EncryptionSecret,
    ) -> CliResult<Profile> {
        if home.join(PROFILE_FILE).exists() || home.join(KEY_FILE).exists() {
            return Err(fail(format!("{} already holds a profile", home.display())));
        }
        fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
        fs::set_permissions(home, fs::Permissions::from_mode(0o700))?;
        write_file(&home.join(KEY_FILE), der.as_bytes(), 0o600)?;
        let profile = Profile {
            home: home.to_owned(),
            data,
            read_from: None,
        };
        profile.add_encryption_key(encryption)?;
        profile.save()?;
        Ok(profile)
    }

    /// Reads a private file of the profile, refusing one others can read.
    fn read_private(&self, name: &str) -> CliResult<zeroize::Zeroizing<Vec<u8>>> {
        read_private(&self.home.join(name))
    }

    /// Every X25519 key this delegation has held, oldest first (none for a
    /// profile made before sealing: it gets one at its next rotation).
    pub fn encryption_keys(&self) -> CliResult<Vec<EncryptionSecret>> {
        if !self.home.join(ENCRYPTION_FILE).exists() {
            return Ok(Vec::new());
        }
        read_encryption_keys(&self.home.join(ENCRYPTION_FILE))
    }

    /// The newest X25519 key: what this delegation's sealed statements are
    /// wrapped to once the log has it.
    pub fn encryption_key(&self) -> CliResult<Option<EncryptionSecret>> {
        Ok(self.encryption_keys()?.pop())
    }

    /// What this delegation opens sealed statements with.
    pub fn keyring(&self) -> CliResult<Keyring> {
        Ok(Keyring::new(self.data.delegation, self.encryption_keys()?))
    }

    /// Adds a key to `encryption.keys` (kept with every older one), durably,
    /// before the statement that announces it is sent.
    pub fn add_encryption_key(&self, secret: &EncryptionSecret) -> CliResult<()> {
        let mut keys = self.encryption_keys()?;
        keys.push(EncryptionSecret::from_text(&secret.to_text()).map_err(fail)?);
        self.write_encryption_keys(&keys)
    }

    fn write_encryption_keys(&self, keys: &[EncryptionSecret]) -> CliResult<()> {
        let mut text = zeroize::Zeroizing::new(String::new());
        for key in keys {
            text.push_str(&key.to_text());
        }
        write_file(&self.home.join(ENCRYPTION_FILE), text.as_bytes(), 0o600)
    }

    /// Saves `profile.toml`.
    pub fn save(&self) -> CliResult<()> {
        let text = toml::to_string(&self.data).map_err(anyhow::Error::from)?;
        write_file(&self.home.join(PROFILE_FILE), text.as_bytes(), 0o600)
    }

    /// Loads the signing key, refusing a key file others can read.
    pub fn key(&self) -> CliResult<SigningKey> {
        let der = self.read_private(KEY_FILE)?;
        SigningKey::from_pkcs8(&der)
            .map_err(|e| fail(format!("{}: {e}", self.home.join(KEY_FILE).display())))
    }

    /// Replaces the signing key (after a rotation the server accepted).
    pub fn replace_key(&mut self, der: &Pkcs8) -> CliResult<()> {
        write_file(&self.home.join(KEY_FILE), der.as_bytes(), 0o600)?;
        self.data.last_seq = 0;
        self.save()
    }

    /// Takes the next `seq` and saves it first, so a crash never reuses one.
    pub fn next_seq(&mut self) -> CliResult<u64> {
        self.data.last_seq += 1;
        self.save()?;
        Ok(self.data.last_seq)
    }

    /// The log's checkpoint verifier key.
    pub fn log_verifier(&self) -> CliResult<NoteVerifier> {
        self.data
            .log_key
            .parse()
            .map_err(|e| fail(format!("profile log_key: {e}")))
    }

    /// The pinned checkpoint text, if any.
    pub fn pinned(&self) -> CliResult<Option<String>> {
        match fs::read_to_string(self.home.join(CHECKPOINT_FILE)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::from(e).into()),
        }
    }

    /// Pins a (verified) checkpoint.
    pub fn pin(&self, text: &str) -> CliResult<()> {
        write_file(&self.home.join(CHECKPOINT_FILE), text.as_bytes(), 0o600)
    }

    fn witness_dir(&self) -> CliResult<PathBuf> {
        let dir = self.home.join(WITNESS_DIR);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// The last checkpoint this delegation cosigned as a witness, if any.
    pub fn cosigned(&self) -> CliResult<Option<String>> {
        match fs::read_to_string(self.home.join(WITNESS_DIR).join(COSIGNED_FILE)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::from(e).into()),
        }
    }

    /// Holds the witness lock until the file is dropped: one witness round
    /// or `add-checkpoint` request at a time reads and writes the record.
    pub fn lock_witness(&self) -> CliResult<fs::File> {
        let path = self.witness_dir()?.join(WITNESS_LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(file)
    }

    /// Records a checkpoint as cosigned (before the cosignature leaves).
    pub fn record_cosigned(&self, text: &str) -> CliResult<()> {
        write_file(
            &self.witness_dir()?.join(COSIGNED_FILE),
            text.as_bytes(),
            0o600,
        )
    }

    /// Whether a `fork-evidence-*` folder already holds `presented`, or
    /// there are [`MAX_FORK_EVIDENCE`] of them already (enough to show a
    /// log forked; more would only fill the disk).
    pub fn has_fork_evidence(&self, presented: &str) -> bool {
        let kept = self.fork_evidence_dirs();
        kept.len() >= MAX_FORK_EVIDENCE
            || kept
                .iter()
                .any(|d| fs::read_to_string(d.join("presented")).is_ok_and(|t| t == presented))
    }

    /// The `fork-evidence-*` folders kept so far, oldest first.
    pub fn fork_evidence_dirs(&self) -> Vec<PathBuf> {
        let Ok(dir) = fs::read_dir(self.home.join(WITNESS_DIR)) else {
            return Vec::new();
        };
        let mut kept: Vec<PathBuf> = dir
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("fork-evidence-")
            })
            .map(|e| e.path())
            .collect();
        kept.sort();
        kept
    }

    /// Keeps two conflicting signed checkpoints, and why, in a new folder.
    pub fn save_fork_evidence(
        &self,
        cosigned: &str,
        presented: &str,
        reason: &str,
    ) -> CliResult<PathBuf> {
        let now = time::OffsetDateTime::now_utc();
        let stamp = format!("{}-{:09}", now.unix_timestamp(), now.nanosecond());
        let dir = self.witness_dir()?.join(format!("fork-evidence-{stamp}"));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_file(&dir.join("cosigned"), cosigned.as_bytes(), 0o600)?;
        write_file(&dir.join("presented"), presented.as_bytes(), 0o600)?;
        write_file(&dir.join("reason"), format!("{reason}\n").as_bytes(), 0o600)?;
        Ok(dir)
    }
}
