//! `entente roster`: delegations, roles and keys.

use entente_shared::api::RosterView;
use entente_shared::ledger::KeyStatus;
use serde_json::{json, Value};

use super::Context;
use crate::error::CliResult;
use crate::output::{emit, table};
use crate::session::Session;

pub fn run(ctx: &Context) -> CliResult<()> {
    let session = Session::open(ctx)?;
    let view: RosterView = session.get("/v1/roster")?;
    let list: Vec<Value> = view
        .roster
        .delegations()
        .map(|d| {
            let mut v = json!(d);
            v["id"] = json!(d.code);
            v
        })
        .collect();
    emit(ctx.json, &Value::Array(list), || {
        let mut rows = Vec::new();
        for d in view.roster.delegations() {
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
                ]);
            }
        }
        table(&["code", "name", "role", "key id", "key status"], &rows)
    })?;
    Ok(())
}
