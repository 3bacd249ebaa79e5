//! What the console holds between requests: the profile's folder, the
//! delegation, its [`Guard`], and one lock so that requests touch the
//! profile (replica, sequence numbers) one at a time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::web;
use entente_shared::api::Problem;
use entente_shared::statement::DelegationCode;

use super::actions::Pending;
use super::guard::Guard;
use super::page;
use crate::error::CliResult;
use crate::http::Api;
use crate::profile::Profile;
use crate::session::Session;

/// The console's state, shared by every worker.
pub struct Console {
    home: PathBuf,
    pub me: DelegationCode,
    pub guard: Guard,
    /// Statements shown on a confirmation page, not signed yet.
    pub pending: Pending,
    /// Held while a request reads or writes the profile.
    work: Mutex<()>,
}

impl Console {
    pub fn new(home: PathBuf, me: DelegationCode, bound: SocketAddr) -> CliResult<Console> {
        Ok(Console {
            home,
            me,
            guard: Guard::new(bound)?,
            pending: Pending::default(),
            work: Mutex::new(()),
        })
    }

    /// The profile's folder.
    pub fn home(&self) -> &std::path::Path {
        &self.home
    }

    /// A session for a page: the server's latest checkpoint checked against
    /// the pin, through a client that gives up on a stalling host in
    /// seconds ([`Api::for_pages`]).
    pub fn session(profile: Profile) -> CliResult<Session> {
        let api = Api::for_profile(&profile)?.for_pages();
        Session::connect_with(profile, api)
    }

    /// Runs `work` off the async workers on a freshly opened session (the
    /// server's latest checkpoint checked against the pin), one request at
    /// a time. A failure becomes the problem the page shows.
    pub async fn with_session<T, F>(console: &web::Data<Console>, work: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Console, &mut Session) -> CliResult<T> + Send + 'static,
    {
        let console = Arc::clone(console);
        let answer = web::block(move || {
            let _one_at_a_time = console.work.lock().unwrap_or_else(|e| e.into_inner());
            let mut session = Console::session(Profile::open(&console.home)?)?;
            work(&console, &mut session)
        })
        .await;
        match answer {
            Ok(result) => result.map_err(|e| page::problem_of(&e)),
            Err(_) => Err(page::internal("the request's worker stopped")),
        }
    }

    /// Runs `work` off the async workers, one request at a time, leaving it
    /// to open the profile and reach the server as it sees fit (the health
    /// page, which must answer when the log does not check out).
    pub async fn offline<T, F>(console: &web::Data<Console>, work: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Console) -> T + Send + 'static,
    {
        let console = Arc::clone(console);
        web::block(move || {
            let _one_at_a_time = console.work.lock().unwrap_or_else(|e| e.into_inner());
            work(&console)
        })
        .await
        .map_err(|_| page::internal("the request's worker stopped"))
    }
}
