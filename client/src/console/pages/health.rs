//! The log health page (`/health`): the latest checkpoint's size and age,
//! its witness cosignatures and whether the profile's quorum is met, and
//! fork alarms — the log contradicting this profile's pinned checkpoint
//! right now, and any fork evidence the profile's witness has kept.
//!
//! Unlike the other pages it answers even when the log does not check out:
//! that is what it is for.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::b64;
use time::OffsetDateTime;

use crate::console::page::{self, Frame};
use crate::console::state::Console;
use crate::error::CliError;
use crate::output::timestamp;
use crate::profile::Profile;

/// One valid witness cosignature, as the health and declaration pages show it.
pub struct Cosigner {
    pub witness: String,
    pub when: String,
    pub in_policy: bool,
}

/// The checkpoint's valid cosignatures, and whether the profile's policy
/// names each witness.
pub fn cosigners(assessed: &crate::trust::Assessed) -> Vec<Cosigner> {
    assessed
        .witnessed
        .valid
        .iter()
        .map(|c| Cosigner {
            witness: c.delegation.to_string(),
            when: OffsetDateTime::from_unix_timestamp(c.timestamp as i64)
                .map(timestamp)
                .unwrap_or_else(|_| c.timestamp.to_string()),
            in_policy: assessed
                .policy_cosigners
                .contains(&c.delegation.to_string()),
        })
        .collect()
}

struct Evidence {
    folder: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "console/health.html")]
struct HealthPage {
    frame: Frame,
    server: String,
    origin: String,
    pinned: u64,
    /// Why the log does not check out, if it does not.
    alarm: Option<String>,
    /// Whether the alarm is a fork or rollback (not just unreachable).
    fork: bool,
    size: Option<u64>,
    root: String,
    age: String,
    stale: bool,
    cosigners: Vec<Cosigner>,
    quorum: String,
    quorum_met: Option<bool>,
    evidence: Vec<Evidence>,
}

/// `GET /health`.
pub async fn show(req: HttpRequest, console: web::Data<Console>) -> HttpResponse {
    let page = Console::offline(&console, |console| -> Result<HealthPage, CliError> {
        let profile = Profile::open(console.home())?;
        let evidence = profile
            .fork_evidence_dirs()
            .into_iter()
            .map(|dir| Evidence {
                reason: std::fs::read_to_string(dir.join("reason"))
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                folder: dir.display().to_string(),
            })
            .collect();
        let mut page = HealthPage {
            frame: Frame::new(console, "health"),
            server: profile.data.server.clone(),
            origin: profile.data.origin.clone(),
            pinned: crate::pin::pinned_size(&profile)?,
            alarm: None,
            fork: false,
            size: None,
            root: String::new(),
            age: String::new(),
            stale: false,
            cosigners: Vec::new(),
            quorum: String::new(),
            quorum_met: None,
            evidence,
        };
        let session = match Console::session(profile) {
            Ok(session) => session,
            Err(e) => {
                page.fork = matches!(e, CliError::Inconsistent(_));
                page.alarm = Some(format!("{e:#}"));
                return Ok(page);
            }
        };
        let roster = match session.fold() {
            Ok(ledger) => ledger.roster(),
            Err(e) => {
                page.fork = matches!(e, CliError::Inconsistent(_));
                page.alarm = Some(format!("{e:#}"));
                return Ok(page);
            }
        };
        let assessed = crate::trust::assess(&session.profile, session.checkpoint.clone(), roster);
        let cp = &assessed.checkpoint.checkpoint;
        page.size = Some(cp.size);
        page.root = b64::encode(&cp.root);
        page.age = assessed.age_secs.map_or_else(
            || "unknown: no valid cosignature".into(),
            |s| format!("{s} s since the newest cosignature"),
        );
        page.stale = assessed
            .age_secs
            .is_some_and(|s| s > session.profile.data.max_checkpoint_age_secs);
        page.cosigners = cosigners(&assessed);
        page.quorum = assessed.describe(&session.profile);
        page.quorum_met = assessed.quorum_met;
        page.pinned = crate::pin::pinned_size(&session.profile)?;
        Ok(page)
    })
    .await
    .and_then(|r| r.map_err(|e| page::problem_of(&e)));
    page::answer(&req, page)
}
