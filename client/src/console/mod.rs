//! `entente console`: the delegation's view of the log in a browser, served
//! by its own CLI on loopback, so its keys never leave its machine.
//!
//! Every page is made the way the CLI makes its views: a fresh
//! [`Session`](crate::session::Session) checks the server's latest checkpoint
//! against the pin, brings the verified replica up to it, and folds it with
//! the delegation's keys, so sealed AMBER and RED content is opened here and
//! nowhere else, and what a page shows is what the delegation may read.
//! Actions (a stance on a revision, an amendment) first show exactly what
//! will be signed — the proposal, the revision's digest, the TLP label —
//! and are signed with the profile's key only when confirmed.
//!
//! Who may use it ([`guard`]): the console binds loopback only and prints a
//! URL with a one-time token; the browser that opens it gets a session
//! cookie (HttpOnly, SameSite=Strict) and the token is spent. Every request
//! must name the console's own address in `Host` (no DNS rebinding) and
//! carry that cookie; every POST must come from the console's own origin and
//! carry the session's CSRF token. Pages are server-rendered HTML ([`page`],
//! askama templates under `client/templates/console`, every value escaped),
//! with no script at all and a Content-Security-Policy that allows none.
//!
//! Layers: `guard` and `page` (HTTP concerns) → `state` (sessions, one at a
//! time) → `pages::*` and `actions` (one concern each) → this module (routes
//! and the listener).

pub mod actions;
pub mod guard;
pub mod page;
pub mod pages;
pub mod state;

use std::net::TcpListener;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use serde_json::json;

use crate::cli::ConsoleArgs;
use crate::error::{fail, CliResult};
use crate::profile::Profile;
use state::Console;

/// The largest form the console accepts (an amendment's whole text).
const MAX_FORM_BYTES: usize = 512 * 1024;

/// Serves the console until interrupted (Ctrl-C stops it cleanly).
pub fn run(home: &std::path::Path, json_out: bool, args: ConsoleArgs) -> CliResult<()> {
    let addr = crate::listener::loopback(
        "--bind",
        &args.bind,
        "the console signs with this delegation's key, so it listens on a loopback address only",
    )?;
    let profile = Profile::open(home)?;
    let me = profile.data.delegation;
    drop(profile);
    let listener =
        TcpListener::bind(addr).map_err(|e| fail(format!("listening on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    let console = web::Data::new(Console::new(home.to_path_buf(), me, bound)?);
    let login = console.guard.login_url();
    let app_console = console.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_console.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_FORM_BYTES)
                    .error_handler(page::bad_form),
            )
            .app_data(web::QueryConfig::default().error_handler(page::bad_input))
            .app_data(web::PathConfig::default().error_handler(page::bad_input))
            .wrap(from_fn(guard::admit))
            .wrap(page::security_headers())
            .configure(routes)
            .default_service(web::to(page::not_found))
    })
    .workers(2)
    // Ctrl-C: a browser keeps its connections open; do not wait long for it.
    .shutdown_timeout(2)
    .listen(listener)
    .map_err(|e| fail(format!("listening on {bound}: {e}")))?
    .run();
    crate::listener::announce_and_run(vec![bound], server, |url| {
        if json_out {
            println!(
                "{}",
                json!({ "console": url, "delegation": me, "open": login })
            );
        } else {
            println!("console of {me} on {url}: open {login} in a browser on this machine (the link works once); Ctrl-C stops it");
        }
    })
}

/// The console's routes.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(guard::login))
        .route("/style.css", web::get().to(page::stylesheet))
        .route("/", web::get().to(pages::inbox::show))
        .route("/proposals", web::get().to(pages::proposal::list))
        .route("/proposals/{id}", web::get().to(pages::proposal::show))
        .route("/proposals/{id}/stance", web::post().to(actions::stance))
        .route("/proposals/{id}/amend", web::post().to(actions::amend))
        .route(
            "/proposals/{id}/amendments/{amendment}/accept",
            web::post().to(actions::accept),
        )
        .route(
            "/proposals/{id}/amendments/{amendment}/reject",
            web::post().to(actions::reject),
        )
        .route("/proposals/{id}/confirm", web::post().to(actions::confirm))
        .route("/declarations", web::get().to(pages::declarations::list))
        .route(
            "/declarations/{id}",
            web::get().to(pages::declarations::show),
        )
        .route(
            "/declarations/{id}/document",
            web::get().to(pages::declarations::document),
        )
        .route("/suppliers", web::get().to(pages::suppliers::heat_map))
        .route(
            "/assessments/{id}",
            web::get().to(pages::suppliers::assessment),
        )
        .route("/discussion", web::get().to(pages::discussion::list))
        .route(
            "/positions/{id}",
            web::get().to(pages::discussion::position),
        )
        .route("/threads/{id}", web::get().to(pages::discussion::thread))
        .route("/health", web::get().to(pages::health::show));
}
