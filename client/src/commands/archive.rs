//! `entente archive export FILE [--since INDEX]` and `entente archive verify FILE`.
//!
//! `export` needs a trusted checkpoint (pinned, consistent, witness quorum
//! met) and checks every entry it receives against it before writing.
//! `verify` needs nothing but the file: no server, no profile.

use entente_shared::archive::Verified;
use entente_shared::b64;
use entente_shared::ledger::{Declaration, SupplierView};
use entente_shared::note::NoteVerifier;
use entente_shared::views;
use entente_shared::visibility::Reader;
use serde_json::json;

use super::Context;
use crate::archive::{export, read_and_verify};
use crate::cli::ArchiveCommand;
use crate::error::{fail, CliResult};
use crate::output::emit;
use crate::session::Session;
use crate::trust;

pub fn run(ctx: &Context, cmd: ArchiveCommand) -> CliResult<()> {
    match cmd {
        ArchiveCommand::Export { file, since } => {
            let session = Session::open(ctx)?;
            let assessed = trust::latest(&session)?;
            let s = export(
                &session.profile,
                &session.api,
                &assessed,
                &file,
                since,
                ctx.json,
            )?;
            let cosigners: Vec<String> = assessed
                .witnessed
                .valid
                .iter()
                .map(|c| c.delegation.to_string())
                .collect();
            let out = json!({
                "file": s.file.display().to_string(),
                "size": s.size,
                "root": b64::encode(&assessed.checkpoint.checkpoint.root),
                "since": since,
                "envelopes": s.envelopes,
                "hidden": s.hidden,
                "bytes": s.bytes,
                "cosigners": cosigners,
            });
            emit(ctx.json, &out, || {
                format!(
                    "wrote {} ({} bytes): {} entries, {} with envelope, {} as leaf hash only; checkpoint cosigned by {}\n",
                    s.file.display(),
                    s.bytes,
                    s.size,
                    s.envelopes,
                    s.hidden,
                    if cosigners.is_empty() { "no witness".into() } else { cosigners.join(", ") }
                )
            })?;
        }
        ArchiveCommand::Verify { file, log_key, key } => {
            let pinned: Option<NoteVerifier> = log_key
                .map(|k| k.parse().map_err(|e| fail(format!("--log-key: {e}"))))
                .transpose()?;
            let keys = key
                .as_deref()
                .map(crate::profile::read_encryption_keys)
                .transpose()?;
            let opened = keys.is_some();
            let (header, v) = read_and_verify(&file, pinned.as_ref(), keys)?;
            let declarations = v.declarations();
            let suppliers = v.supplier_views();
            // The exporter's views, as its CLI computes them from its replica.
            let reader = match v.ledger.roster().delegation(&header.exported_by) {
                Some(d) => Reader::Delegation {
                    code: d.code,
                    role: d.role,
                },
                None => Reader::Anonymous,
            };
            let own_views = json!({
                "proposals": views::proposals(&v.ledger, &reader),
                "assessments": views::assessments(&v.ledger, &reader, None),
                "positions": views::positions(&v.ledger, &reader),
                "invalid": views::invalid(&v.ledger, &reader),
            });
            let cp = &v.checkpoint.checkpoint;
            let out = json!({
                "verified": true,
                "origin": cp.origin,
                "size": cp.size,
                "root": b64::encode(&cp.root),
                "log_key": header.log_key,
                "log_key_pinned": pinned.is_some(),
                "exported_by": header.exported_by,
                "since": header.since,
                "cosigners": v.witnessed.valid.iter().map(|c| json!({
                    "delegation": c.delegation, "timestamp": c.timestamp,
                })).collect::<Vec<_>>(),
                "visible": v.visible,
                "hidden": v.hidden,
                "declarations": declarations,
                "suppliers": suppliers,
                "opened": opened,
                "views": own_views,
            });
            emit(ctx.json, &out, || {
                human(
                    &header.log_key,
                    pinned.is_some(),
                    &v,
                    &declarations,
                    &suppliers,
                )
            })?;
        }
    }
    Ok(())
}

fn human(
    log_key: &str,
    pinned: bool,
    v: &Verified,
    declarations: &[Declaration],
    suppliers: &[SupplierView],
) -> String {
    let cp = &v.checkpoint.checkpoint;
    let mut s = format!(
        "VERIFIED: log {} at size {} (root {})\n  log key {log_key} ({})\n",
        cp.origin,
        cp.size,
        b64::encode(&cp.root),
        if pinned {
            "matches the pinned key"
        } else {
            "taken from the bundle: pin it out of band with --log-key"
        }
    );
    let cosigners: Vec<String> = v
        .witnessed
        .valid
        .iter()
        .map(|c| format!("{} (at {})", c.delegation, c.timestamp))
        .collect();
    s.push_str(&format!(
        "  cosigned by {}\n  {} entries with envelope (signatures, roster rules, inclusion proofs), {} as leaf hash only\n",
        if cosigners.is_empty() { "no witness".into() } else { cosigners.join(", ") },
        v.visible,
        v.hidden
    ));
    s.push_str(&format!("\nDeclarations ({})\n", declarations.len()));
    for d in declarations {
        s.push('\n');
        s.push_str(&render_declaration(d));
    }
    s.push_str(&format!("\nSuppliers ({})\n", suppliers.len()));
    for view in suppliers {
        s.push_str(&format!("\n  {} ({})\n", view.name, view.country));
        for fw in &view.frameworks {
            let verdicts: Vec<String> = fw
                .verdicts
                .iter()
                .map(|(d, v)| format!("{d}: {v}"))
                .collect();
            s.push_str(&format!(
                "    {} v{}: {}{}\n",
                fw.framework,
                fw.framework_version,
                verdicts.join(", "),
                if fw.verdicts_diverge {
                    " (verdicts diverge)"
                } else {
                    ""
                }
            ));
        }
    }
    s
}

/// A declaration as text: title, adoption, signatories with reservations,
/// objections, abstentions, and the adopted text.
pub fn render_declaration(d: &Declaration) -> String {
    let mut s = format!(
        "  {}\n  id {}\n  adopted at entry {} ({}) under {}, revision {}\n  proposed by {}\n",
        d.title, d.id, d.adopted_index, d.adopted_at, d.rule, d.revision_number, d.proposer
    );
    for sig in &d.signatories {
        s.push_str(&format!(
            "  signed by {} (entry {}, key {}){}\n",
            sig.delegation,
            sig.index,
            sig.key_id,
            sig.reservation
                .as_ref()
                .map(|r| format!(" with reservation: {r}"))
                .unwrap_or_default()
        ));
    }
    for (code, reason) in &d.objections {
        s.push_str(&format!("  objection by {code}: {reason}\n"));
    }
    for code in &d.abstentions {
        s.push_str(&format!("  abstention by {code}\n"));
    }
    for line in d.text.lines() {
        s.push_str(&format!("    | {line}\n"));
    }
    s
}
