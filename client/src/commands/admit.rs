//! `entente admit`: the secretariat admits a delegation with its public key.

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
    let mut session = Session::open(ctx)?;
    let body = Body::Admission(Admission {
        delegation,
        name: args.name,
        role,
        public_key,
    });
    let receipt = session.publish(Distribution::green(), body)?;
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
