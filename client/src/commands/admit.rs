//! `entente admit`: the secretariat admits a delegation with its public key.

use entente_shared::keys::PublicKey;
use entente_shared::statement::{Admission, Body, DelegationCode, Distribution, Role};
use serde_json::json;

use super::Context;
use crate::cli::AdmitArgs;
use crate::error::{fail, CliResult};
use crate::http::Api;
use crate::output::emit;
use crate::profile::Profile;
use crate::publish::publish;

pub fn run(ctx: &Context, args: AdmitArgs) -> CliResult<()> {
    let mut profile = Profile::open(&ctx.home)?;
    let key = profile.key()?;
    let delegation: DelegationCode = args.code.parse().map_err(fail)?;
    let public_key: PublicKey = args.key.parse().map_err(fail)?;
    let role: Role = args.role.parse().map_err(fail)?;
    let api = Api::for_profile(&profile)?;
    let body = Body::Admission(Admission {
        delegation,
        name: args.name,
        role,
        public_key,
    });
    let receipt = publish(&mut profile, &api, &key, Distribution::green(), body)?;
    let out = json!({
        "id": receipt.id,
        "index": receipt.index,
        "delegation": delegation,
        "key_id": public_key.key_id(),
    });
    emit(ctx.json, &out, || {
        format!(
            "admitted {delegation} as {role} (entry {})\n",
            receipt.index
        )
    })?;
    Ok(())
}
