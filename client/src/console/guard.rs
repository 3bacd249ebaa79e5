//! Who may use the console: the one browser that opened the printed URL.
//!
//! - **One-time login.** `entente console` prints
//!   `http://127.0.0.1:PORT/login?token=T`. The first request with the right
//!   `T` spends it and gets the session cookie (`entente_console_PORT`,
//!   `HttpOnly`, `SameSite=Strict`, random, 256 bits); a wrong token spends
//!   nothing, a spent one opens nothing. A browser sends cookies to every
//!   port of a host, so a service on another port of this machine that the
//!   browser visits could see it: it still cannot act (it is not this
//!   console's origin and has no CSRF token), but could read pages. Run the
//!   console on a machine whose other local services you trust.
//! - **Host.** Every request must name the console's own address in `Host`,
//!   so a page on another site cannot reach it through a name it controls
//!   (DNS rebinding).
//! - **Session.** Every request but the login and the stylesheet must carry
//!   the session cookie.
//! - **Cross-site requests.** A POST must come from the console's own origin
//!   (`Origin`, `Sec-Fetch-Site` when the browser sends them) and carry the
//!   session's CSRF token in its form (checked by [`Guard::check_csrf`]);
//!   the cookie's `SameSite=Strict` keeps it off cross-site requests too.
//!
//! Secrets are compared in constant time and never printed by `Debug`.

use std::net::SocketAddr;
use std::sync::Mutex;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use entente_shared::api::Problem;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::page;
use super::state::Console;
use crate::error::{fail, CliResult};

/// The session cookie's name, followed by the console's port: cookies are
/// not kept apart by port (RFC 6265), so two consoles on one machine (two
/// profiles) must not overwrite each other's.
pub const COOKIE: &str = "entente_console_";

/// 32 random bytes, shown as hex; compared in constant time.
struct Secret([u8; 32]);

impl Secret {
    fn new() -> CliResult<Secret> {
        use ring::rand::SecureRandom as _;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| fail("the operating system's random source failed"))?;
        Ok(Secret(bytes))
    }

    fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether `presented` is this secret's hex, in constant time.
    fn matches(&self, presented: &str) -> bool {
        let Ok(bytes) = hex::decode(presented.trim()) else {
            return false;
        };
        bytes.len() == self.0.len() && bool::from(bytes.ct_eq(&self.0))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The console's secrets and its own address.
#[derive(Debug)]
pub struct Guard {
    /// `http://127.0.0.1:PORT`, as printed.
    origin: String,
    /// [`COOKIE`] and the port.
    cookie: String,
    /// The `Host` values that name this console.
    hosts: Vec<String>,
    /// The login token, until it is spent.
    token: Mutex<Option<Secret>>,
    session: Secret,
    csrf: Secret,
}

impl Guard {
    pub fn new(bound: SocketAddr) -> CliResult<Guard> {
        let port = bound.port();
        let mut hosts = vec![bound.to_string(), format!("localhost:{port}")];
        let loopback = if bound.ip().is_ipv4() {
            format!("127.0.0.1:{port}")
        } else {
            format!("[::1]:{port}")
        };
        if !hosts.contains(&loopback) {
            hosts.push(loopback);
        }
        Ok(Guard {
            origin: format!("http://{bound}"),
            cookie: format!("{COOKIE}{port}"),
            hosts,
            token: Mutex::new(Some(Secret::new()?)),
            session: Secret::new()?,
            csrf: Secret::new()?,
        })
    }

    /// The URL to open, with the login token.
    pub fn login_url(&self) -> String {
        let token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        let hex = token.as_ref().map(Secret::hex).unwrap_or_default();
        format!("{}/login?token={hex}", self.origin)
    }

    /// The CSRF token every form carries.
    pub fn csrf_token(&self) -> String {
        self.csrf.hex()
    }

    /// Spends the login token if `presented` is it.
    fn spend(&self, presented: &str) -> bool {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if token.as_ref().is_some_and(|t| t.matches(presented)) {
            *token = None;
            return true;
        }
        false
    }

    /// Refuses a form whose CSRF token is not the session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), Problem> {
        if self.csrf.matches(presented) {
            return Ok(());
        }
        Err(page::problem(
            403,
            "csrf",
            "forged or stale form",
            "the form does not carry this console session's CSRF token: nothing was signed. Reload the page and try again",
        ))
    }

    /// Every rule but the CSRF token's (see the module documentation).
    fn check(&self, req: &HttpRequest) -> Result<(), Problem> {
        let host = header_str(req, header::HOST);
        if !self.hosts.iter().any(|h| Some(h.as_str()) == host) {
            return Err(page::problem(
                421,
                "wrong-host",
                "not this console's address",
                &format!("this console answers only at {}", self.origin),
            ));
        }
        let path = req.path();
        if path == "/login" || path == "/style.css" {
            return Ok(());
        }
        // Every cookie of that name: another site on this host could set
        // one for a narrower path, which the browser sends first.
        let has_session = req.cookies().is_ok_and(|cookies| {
            cookies
                .iter()
                .any(|c| c.name() == self.cookie && self.session.matches(c.value()))
        });
        if !has_session {
            return Err(page::problem(
                403,
                "no-session",
                "no console session",
                "open the URL `entente console` printed (it works once, in one browser); restart the console for a new one",
            ));
        }
        let safe = matches!(req.method().as_str(), "GET" | "HEAD");
        if !safe {
            let site = header_str(req, "sec-fetch-site");
            let origin = header_str(req, header::ORIGIN);
            let same_site = site.is_none_or(|s| s == "same-origin");
            let same_origin =
                origin.is_none_or(|o| self.hosts.iter().any(|h| o == format!("http://{h}")));
            if !same_site || !same_origin {
                return Err(page::problem(
                    403,
                    "cross-site",
                    "cross-site request refused",
                    "a request to act must come from this console's own pages: nothing was signed",
                ));
            }
        }
        Ok(())
    }

    fn session_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie,
            self.session.hex()
        )
    }
}

fn header_str(req: &HttpRequest, name: impl header::AsHeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The middleware every request passes: [`Guard::check`].
pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = match req.app_data::<web::Data<Console>>() {
        Some(console) => console.guard.check(req.request()).err(),
        None => Some(page::internal("the console's state is missing")),
    };
    if let Some(problem) = refused {
        let response = page::problem_response(req.request(), &problem);
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[derive(Deserialize)]
pub struct Login {
    token: String,
}

/// `GET /login?token=T`: spends the token, sets the session cookie, and
/// sends the browser to the inbox (so the token leaves the address bar).
pub async fn login(
    req: HttpRequest,
    console: web::Data<Console>,
    query: web::Query<Login>,
) -> HttpResponse {
    if !console.guard.spend(&query.token) {
        let problem = page::problem(
            403,
            "login",
            "login link spent or wrong",
            "this link works once: restart `entente console` for a new one",
        );
        return page::problem_response(&req, &problem);
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .insert_header((header::SET_COOKIE, console.guard.session_cookie()))
        .finish()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn guard() -> Guard {
        Guard::new("127.0.0.1:4000".parse().unwrap()).unwrap()
    }

    #[test]
    fn the_login_token_works_once_and_a_wrong_one_spends_nothing() {
        let g = guard();
        let url = g.login_url();
        let token = url.split("token=").nth(1).unwrap().to_owned();
        assert!(!g.spend("00"));
        assert!(!g.spend(&"0".repeat(64)));
        assert!(g.spend(&token));
        assert!(!g.spend(&token), "spent");
        assert!(!g.login_url().contains(&token));
    }

    #[test]
    fn requests_need_the_host_and_the_session_and_posts_the_origin() {
        let g = guard();
        let cookie = actix_web::cookie::Cookie::new("entente_console_4000", g.session.hex());
        let ok = TestRequest::get()
            .uri("/")
            .insert_header((header::HOST, "127.0.0.1:4000"))
            .cookie(cookie.clone())
            .to_http_request();
        assert!(g.check(&ok).is_ok());
        let rebound = TestRequest::get()
            .uri("/")
            .insert_header((header::HOST, "evil.example:4000"))
            .cookie(cookie.clone())
            .to_http_request();
        assert_eq!(g.check(&rebound).unwrap_err().status, 421);
        let no_cookie = TestRequest::get()
            .uri("/")
            .insert_header((header::HOST, "localhost:4000"))
            .to_http_request();
        assert_eq!(g.check(&no_cookie).unwrap_err().status, 403);
        let wrong_cookie = TestRequest::get()
            .uri("/")
            .insert_header((header::HOST, "localhost:4000"))
            .cookie(actix_web::cookie::Cookie::new(
                "entente_console_4000",
                "ab".repeat(32),
            ))
            .to_http_request();
        assert_eq!(g.check(&wrong_cookie).unwrap_err().status, 403);
        let cross = TestRequest::post()
            .uri("/proposals/x/stance")
            .insert_header((header::HOST, "127.0.0.1:4000"))
            .insert_header((header::ORIGIN, "https://evil.example"))
            .cookie(cookie.clone())
            .to_http_request();
        assert_eq!(g.check(&cross).unwrap_err().status, 403);
        let cross_site = TestRequest::post()
            .uri("/proposals/x/stance")
            .insert_header((header::HOST, "127.0.0.1:4000"))
            .insert_header(("sec-fetch-site", "cross-site"))
            .cookie(cookie.clone())
            .to_http_request();
        assert_eq!(g.check(&cross_site).unwrap_err().status, 403);
        let own = TestRequest::post()
            .uri("/proposals/x/stance")
            .insert_header((header::HOST, "127.0.0.1:4000"))
            .insert_header((header::ORIGIN, "http://127.0.0.1:4000"))
            .insert_header(("sec-fetch-site", "same-origin"))
            .cookie(cookie)
            .to_http_request();
        assert!(g.check(&own).is_ok());
        assert!(g.check_csrf(&g.csrf_token()).is_ok());
        assert_eq!(g.check_csrf("").unwrap_err().status, 403);
        assert!(!format!("{g:?}").contains(&g.session.hex()));
    }
}
