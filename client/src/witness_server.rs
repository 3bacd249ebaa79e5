//! `entente witness serve`: this delegation's witness as a C2SP tlog-witness
//! HTTP service (`POST /add-checkpoint`, <https://c2sp.org/tlog-witness>),
//! so that the log server — or any client that speaks the spec — can ask it
//! to cosign, without Entente code on the asking side.
//!
//! The witness trusts one log: the one the profile pinned (origin and key).
//! Its state is the profile's witness record (`witness/cosigned`), the same
//! one `entente witness --once` keeps, so the two modes never cosign two
//! inconsistent checkpoints between them. Each request is judged by the
//! shared rules ([`entente_shared::witness_protocol::judge`]), under the
//! profile's witness lock, and a new record is written and synced (file and
//! folder) before the cosignature is answered: the check and the update are
//! one step, and a crash can never leave a cosignature out there that the
//! record does not cover. A request that proves the log forked — a second
//! log-signed root for a size it cosigned (422) — leaves both signed
//! checkpoints in `witness/fork-evidence-*`, once per presented checkpoint;
//! a bad proof leaves nothing, since anyone can send one.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer};
use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::cosignature::{self, cosign, witness_name};
use entente_shared::keys::SigningKey;
use entente_shared::note::{NoteVerifier, SignedNote};
use entente_shared::witness_protocol::{
    judge, AddCheckpoint, Cosigned, WitnessRefusal, MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE,
};
use serde_json::json;

use crate::error::{fail, CliResult};
use crate::profile::Profile;

/// What every request needs.
struct Witness {
    profile: Profile,
    log: NoteVerifier,
    key: SigningKey,
    name: String,
}

/// Serves until interrupted.
pub fn serve(profile: Profile, listen: &str, json_out: bool) -> CliResult<()> {
    let log = profile.log_verifier()?;
    let key = profile.key()?;
    let name = witness_name(&profile.data.delegation);
    let vkey = cosignature::vkey(&name, &key.public_key());
    let witness = web::Data::new(Witness {
        profile,
        log,
        key,
        name: name.clone(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(witness.clone())
            .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
            .route("/add-checkpoint", web::post().to(add_checkpoint))
    })
    .workers(1)
    .bind(listen)
    .map_err(|e| fail(format!("listening on {listen}: {e}")))?;
    // One line either way, for scripts waiting on it.
    crate::listener::announce_and_run(server.addrs(), server.run(), |url| {
        if json_out {
            println!(
                "{}",
                json!({ "witness": name, "vkey": vkey, "listening": url })
            );
        } else {
            println!("witness {name} listening on {url}; for the log's `witnesses` setting: \"{url} {vkey}\"");
        }
    })
}

async fn add_checkpoint(body: web::Bytes, witness: web::Data<Witness>) -> HttpResponse {
    let witness = Arc::clone(&witness.into_inner());
    let answer = web::block(move || witness.decide(&body)).await;
    match answer {
        Ok(Ok(line)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(line),
        Ok(Err(Refused::Spec(WitnessRefusal::Conflict(size)))) => HttpResponse::Conflict()
            .content_type(SIZE_CONTENT_TYPE)
            .body(format!("{size}\n")),
        Ok(Err(Refused::Spec(r))) => {
            HttpResponse::build(StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST))
                .content_type("text/plain; charset=utf-8")
                .body(format!("{r}\n"))
        }
        Ok(Err(Refused::Internal(e))) => {
            eprintln!("entente: witness: {e}");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("the witness could not keep its record\n")
        }
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

/// Why a request got no cosignature.
enum Refused {
    /// An answer the spec gives.
    Spec(WitnessRefusal),
    /// The witness's own failure (its record could not be read or written).
    Internal(String),
}

impl From<WitnessRefusal> for Refused {
    fn from(r: WitnessRefusal) -> Self {
        Refused::Spec(r)
    }
}

impl Witness {
    /// Judges one request and, if it passes, records and cosigns it: the
    /// signature line to answer with.
    fn decide(&self, body: &[u8]) -> Result<String, Refused> {
        let internal = |e: &dyn std::fmt::Display| Refused::Internal(e.to_string());
        let request = AddCheckpoint::parse(body)?;
        let _lock = self.profile.lock_witness().map_err(|e| internal(&e))?;
        // Never cosigned yet: start from the profile's pin, so that this
        // witness never vouches for a tree its own profile saw forked or
        // rolled back (the log then sends `old <pin size>` and a proof).
        let record = match self.profile.cosigned().map_err(|e| internal(&e))? {
            Some(text) => Some(text),
            None => self.profile.pinned().map_err(|e| internal(&e))?,
        };
        let last = match &record {
            None => None,
            Some(text) => {
                let cp = SignedCheckpoint::parse_and_verify(text, &self.log)
                    .map_err(|e| internal(&format!("the witness record does not verify: {e}")))?;
                Some(Cosigned {
                    size: cp.checkpoint.size,
                    root: cp.checkpoint.root,
                })
            }
        };
        let cp = match judge(&request, &self.log, last) {
            Ok(cp) => cp,
            Err(refusal) => {
                self.keep_fork_evidence(record.as_deref(), last, &request.checkpoint);
                return Err(refusal.into());
            }
        };
        self.profile
            .record_cosigned(&cp.to_text())
            .map_err(|e| internal(&e))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(1) as u64;
        let line = cosign(&self.name, &self.key, &cp.note.text, now)
            .map_err(|e| internal(&e))?
            .to_line();
        Ok(line)
    }

    /// Keeps the recorded and the presented checkpoint when they are two
    /// log-signed trees of one size with different roots: proof that the log
    /// forked, which only the log can make. A bad consistency proof is not
    /// kept: anyone can send one. One folder per log-signed checkpoint (at
    /// most [`crate::profile::MAX_FORK_EVIDENCE`]), so a replayed request
    /// adds nothing.
    fn keep_fork_evidence(&self, record: Option<&str>, last: Option<Cosigned>, presented: &str) {
        let (Some(record), Some(last)) = (record, last) else {
            return;
        };
        let Ok(cp) = SignedCheckpoint::parse_and_verify(presented, &self.log) else {
            return;
        };
        if cp.checkpoint.size != last.size || cp.checkpoint.root == last.root {
            return;
        }
        let reason = format!(
            "FORK: two signed checkpoints of size {} with different roots",
            last.size
        );
        // Kept as the log signed it: other lines, which anyone can vary,
        // would make every request new evidence.
        let signed = SignedNote {
            text: cp.note.text.clone(),
            signatures: cp
                .note
                .signatures
                .iter()
                .filter(|s| s.name == self.log.name() && s.key_hash == self.log.key_hash())
                .cloned()
                .collect(),
        }
        .to_text();
        if self.profile.has_fork_evidence(&signed) {
            return;
        }
        if let Ok(dir) = self.profile.save_fork_evidence(record, &signed, &reason) {
            eprintln!("entente: witness: {reason}; evidence in {}", dir.display());
        }
    }
}
