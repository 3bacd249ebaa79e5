//! `entente key show|rotate|revoke`.

use entente_shared::encryption::EncryptionSecret;
use entente_shared::keys::{KeyId, SigningKey};
use entente_shared::statement::{Body, Distribution, KeyRevocation, KeyRotation};
use serde_json::json;

use super::Context;
use crate::cli::KeyCommand;
use crate::error::{fail, CliResult};
use crate::output::emit;
use crate::profile::Profile;
use crate::session::Session;

pub fn run(ctx: &Context, cmd: KeyCommand) -> CliResult<()> {
    let profile = Profile::open(&ctx.home)?;
    let key = profile.key()?;
    match cmd {
        KeyCommand::Show => {
            let encryption = profile.encryption_key()?.map(|s| s.public_key());
            let out = json!({
                "delegation": profile.data.delegation,
                "key_id": key.key_id(),
                "public_key": key.public_key(),
                "encryption_key_id": encryption.map(|k| k.key_id()),
                "encryption_key": encryption,
            });
            emit(ctx.json, &out, || {
                format!(
                    "delegation      {}\nkey id          {}\npublic key      {}\nencryption key  {}\n",
                    profile.data.delegation,
                    key.key_id(),
                    key.public_key(),
                    encryption
                        .map(|k| format!("{k} (id {})", k.key_id()))
                        .unwrap_or_else(|| "none: `entente key rotate` makes one".into())
                )
            })?;
        }
        KeyCommand::Rotate => {
            let mut session = Session::connect(profile)?;
            let (new_key, der) = SigningKey::generate().map_err(fail)?;
            // Kept before it is announced, and kept whatever the answer: if the
            // rotation landed (even behind an error), what is sealed to the
            // new key opens; if not, an unused key is harmless.
            let encryption = EncryptionSecret::generate();
            session.profile.add_encryption_key(&encryption)?;
            let body = Body::KeyRotation(KeyRotation {
                new_key: new_key.public_key(),
                new_encryption_key: Some(encryption.public_key()),
            });
            // Signed by the old key, the profile's until the log has the new one.
            let receipt = session.publish(Distribution::green(), body)?;
            // Only now that the log has it does the new key replace the old one on disk.
            session.profile.replace_key(&der)?;
            let out = json!({
                "id": receipt.id,
                "index": receipt.index,
                "old_key_id": key.key_id(),
                "key_id": new_key.key_id(),
                "public_key": new_key.public_key(),
                "encryption_key_id": encryption.public_key().key_id(),
                "encryption_key": encryption.public_key(),
            });
            emit(ctx.json, &out, || {
                format!(
                    "rotated {} -> {} (entry {})\npublic key  {}\n",
                    key.key_id(),
                    new_key.key_id(),
                    receipt.index,
                    new_key.public_key()
                )
            })?;
        }
        KeyCommand::Revoke { key_id, reason } => {
            let target: KeyId = key_id.parse().map_err(fail)?;
            let mut session = Session::connect(profile)?;
            let body = Body::KeyRevocation(KeyRevocation {
                key: target,
                reason,
            });
            let receipt = session.publish(Distribution::green(), body)?;
            let out = json!({ "id": receipt.id, "index": receipt.index, "key_id": target });
            emit(ctx.json, &out, || {
                format!("revoked {target} (entry {})\n", receipt.index)
            })?;
        }
    }
    Ok(())
}
