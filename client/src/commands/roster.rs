//! `entente roster`: delegations, roles, keys and the encryption key that
//! came with each.

use entente_shared::ledger::KeyStatus;
use serde_json::{json, Value};

use super::Context;
use crate::error::CliResult;
use crate::output::{emit, table};
use crate::session::Session;

pub fn run(ctx: &Context) -> CliResult<()> {
    let session = Session::open(ctx)?;
    // The roster of this delegation's own verified fold, not the server's word.
    let roster = session.fold()?.roster();
    let list: Vec<Value> = roster
        .delegations()
        .map(|d| {
            let mut v = json!(d);
            v["id"] = json!(d.code);
            v
        })
        .collect();
    emit(ctx.json, &Value::Array(list), || {
        let mut rows = Vec::new();
        for d in roster.delegations() {
            for k in &d.keys {
                let status = match &k.status {
                    KeyStatus::Active => "active".to_string(),
                    KeyStatus::Rotated { at, .. } => format!("rotated at {at}"),
                    KeyStatus::Revoked { at, .. } => format!("revoked at {at}"),
                };
                rows.push(vec![
                    d.code.to_string(),
                    d.name.clone(),
                    d.role.to_string(),
                    k.key_id.to_string(),
                    status,
                    k.encryption_key
                        .map(|e| e.key_id().to_string())
                        .unwrap_or_else(|| "none".into()),
                ]);
            }
        }
        table(
            &[
                "code",
                "name",
                "role",
                "key id",
                "key status",
                "encryption key id",
            ],
            &rows,
        )
    })?;
    Ok(())
}
