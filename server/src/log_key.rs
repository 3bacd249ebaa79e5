//! The log's own signing key, which signs checkpoints and nothing else.
//!
//! It lives in `<data>/log-key.pk8` (PKCS#8, mode 0600), made on first start.
//! The server never signs statements: delegations do.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::Context;
use entente_shared::checkpoint::{Checkpoint, SignedCheckpoint};
use entente_shared::keys::SigningKey;
use entente_shared::merkle::CompactTree;
use entente_shared::note::NoteSigner;

/// File name of the log key inside the data folder.
pub const LOG_KEY_FILE: &str = "log-key.pk8";

/// Loads the log key, or makes and saves one if there is none yet.
pub fn load_or_create(data: &Path) -> anyhow::Result<SigningKey> {
    let path = data.join(LOG_KEY_FILE);
    if path.exists() {
        let mode = fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} is readable by others (mode {:o}); it signs this log's checkpoints: `chmod 600` it, and treat it as exposed",
                path.display(),
                mode & 0o777
            );
        }
        let der = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        return SigningKey::from_pkcs8(&der)
            .with_context(|| format!("{} is not an Ed25519 key", path.display()));
    }
    let (key, der) = SigningKey::generate()?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(der.as_bytes())?;
    file.sync_all()?;
    // The new name must survive a power cut too: sync the folder that holds it.
    crate::fsync::sync_dir(data).with_context(|| format!("syncing {}", data.display()))?;
    tracing::info!(key_id = %key.key_id(), "created a new log signing key");
    Ok(key)
}

/// Signs a checkpoint of `tree` for the log `origin`: the note text, and its
/// body (the text the signature covers). The same tree always gives the same
/// bytes (no extension line; Ed25519 is deterministic), so witnesses'
/// cosignatures of it stay valid for as long as it is the latest.
pub fn sign_tree(
    origin: &str,
    key: &SigningKey,
    tree: &CompactTree,
) -> anyhow::Result<(String, String)> {
    let signer = NoteSigner::new(origin, key)?;
    let cp = Checkpoint {
        origin: origin.to_owned(),
        size: tree.size(),
        root: tree.root(),
        extensions: Vec::new(),
    };
    let signed = SignedCheckpoint::sign(cp, &signer)?;
    Ok((signed.to_text(), signed.note.text))
}
