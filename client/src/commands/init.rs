//! `entente init`: a fresh key and profile; `--bootstrap` founds the log.

use entente_shared::api::LogInfo;
use entente_shared::encryption::EncryptionSecret;
use entente_shared::keys::SigningKey;
use entente_shared::note::NoteVerifier;
use entente_shared::statement::{Admission, Body, DelegationCode, Distribution, Role};
use serde_json::json;

use super::Context;
use crate::cli::InitArgs;
use crate::error::{fail, CliResult};
use crate::http::Api;
use crate::output::emit;
use crate::profile::{Profile, ProfileData};
use crate::publish::publish;

pub fn run(ctx: &Context, args: InitArgs) -> CliResult<()> {
    let delegation: DelegationCode = args.delegation.parse().map_err(fail)?;
    let ca_file = match &args.ca_file {
        Some(p) => Some(
            std::fs::canonicalize(p).map_err(|e| fail(format!("CA file {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let api = Api::new(&args.server, ca_file.as_deref())?;
    // Trust on first use: the log's key is pinned now and checked on every later contact.
    let info: LogInfo = api.get_json("/v1/log")?;
    let verifier: NoteVerifier = info
        .verifier_key
        .parse()
        .map_err(|e| fail(format!("log key: {e}")))?;
    if verifier.name() != info.origin {
        return Err(fail("the server's log key is not named after its origin"));
    }
    // The key id of the log's public key: short enough to read out.
    let log_key_id = verifier.public_key().key_id();
    let (key, der) = SigningKey::generate().map_err(fail)?;
    let encryption = EncryptionSecret::generate();
    let encryption_key = encryption.public_key();
    let data = ProfileData {
        delegation,
        name: args.name.clone(),
        server: args.server.trim_end_matches('/').to_owned(),
        origin: info.origin.clone(),
        log_key: info.verifier_key.clone(),
        last_seq: 0,
        ca_file,
        witnesses: Vec::new(),
        witness_keys: Vec::new(),
        quorum: 0,
        max_checkpoint_age_secs: crate::profile::DEFAULT_MAX_CHECKPOINT_AGE_SECS,
    };
    let mut profile = Profile::create(&ctx.home, data, &der, &encryption)?;
    let mut out = json!({
        "delegation": delegation,
        "name": args.name,
        "key_id": key.key_id(),
        "public_key": key.public_key(),
        "encryption_key_id": encryption_key.key_id(),
        "encryption_key": encryption_key,
        "server": profile.data.server,
        "origin": info.origin,
        "log_key": info.verifier_key,
        "log_key_id": log_key_id,
    });
    if args.bootstrap {
        let body = Body::Admission(Admission {
            delegation,
            name: args.name.clone(),
            role: Role::Secretariat,
            public_key: key.public_key(),
            encryption_key: Some(encryption_key),
        });
        // The log is empty: there is no checkpoint to check a session against
        // yet; the receipt's checkpoint is the first one pinned.
        let receipt = publish(&mut profile, &api, Distribution::green(), |_| Ok(body))?;
        out["id"] = json!(receipt.id);
        out["index"] = json!(receipt.index);
    }
    emit(ctx.json, &out, || {
        let mut s = format!(
            "profile for {delegation} in {}\nkey id          {}\npublic key      {}\nencryption key  {}\nlog             {} (key pinned)\nlog key         {}\n                check this fingerprint with the secretariat out of band: {}\n",
            ctx.home.display(),
            key.key_id(),
            key.public_key(),
            encryption_key,
            info.origin,
            info.verifier_key,
            log_key_id
        );
        if args.bootstrap {
            s.push_str(&format!(
                "founded the log as secretariat: entry {}\n",
                out["index"]
            ));
        } else {
            s.push_str(
                "give your public key and encryption key to the secretariat to be admitted\n",
            );
        }
        s
    })?;
    Ok(())
}
