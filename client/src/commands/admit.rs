//! `entente admit`: the secretariat admits a delegation with its public
//! signing key and its encryption key (both from its `entente init`).

use entente_shared::encryption::EncryptionKey;
use entente_shared::keys::PublicKey;
use entente_shared::statement::{Admission, Body, DelegationCode, Distribution, Role};
use serde_json::json;

use super::Context;
use crate::cli::AdmitArgs;
use crate::error::{fail, CliResult};
use crate::output::emit;
use crate::session::Session;

pub fn run(ctx: &Context, args: AdmitArgs) -> CliResult<()> {
    let delegation: DelegationCode = args.code.parse().map_err(fail)?;
    let public_key: PublicKey = args.key.parse().map_err(fail)?;
    let role: Role = args.role.parse().map_err(fail)?;
    let encryption_key: Option<EncryptionKey> = args
        .encryption_key
        .map(|k| {
            k.parse()
                .map_err(|e| fail(format!("--encryption-key: {e}")))
        })
        .transpose()?;
    let mut session = Session::open(ctx)?;
    let body = Body::Admission(Admission {
        delegation,
        name: args.name,
        role,
        public_key,
        encryption_key,
    });
    let receipt = session.publish(Distribution::green(), body)?;
    let out = json!({
        "id": receipt.id,
        "index": receipt.index,
        "delegation": delegation,
        "key_id": public_key.key_id(),
        "encryption_key_id": encryption_key.map(|k| k.key_id()),
    });
    emit(ctx.json, &out, || {
        let mut s = format!(
            "admitted {delegation} as {role} (entry {})\n",
            receipt.index
        );
        if encryption_key.is_none() {
            s.push_str(&format!("{delegation} has no encryption key: it receives no AMBER or RED statement until it rotates its key\n"));
        }
        s
    })?;
    Ok(())
}
