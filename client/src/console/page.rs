//! How the console answers: HTML pages from askama templates (every value
//! escaped), the headers every answer carries (a Content-Security-Policy
//! that allows no script and nothing from elsewhere), the TLP banners, and
//! refusals — an HTML page for a browser, RFC 9457 problem+json otherwise.

use actix_web::http::{header, StatusCode};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use entente_shared::api::Problem;
use entente_shared::refusal::PROBLEM_BASE;
use entente_shared::statement::Distribution;

use crate::error::CliError;
use crate::output::marking;

/// No script, no frame, no image, nothing from elsewhere: the console's own
/// stylesheet, forms posted to the console only.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers on every answer.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends
        // `Origin: null` with the console's own forms, which could not be told
        // from a forged one.
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add(("cross-origin-opener-policy", "same-origin"))
        .add(("cross-origin-resource-policy", "same-origin"))
}

/// What every page's frame shows: whose console, which section, and the
/// CSRF token its forms carry.
pub struct Frame {
    pub me: String,
    pub section: &'static str,
    pub csrf: String,
}

impl Frame {
    pub fn new(console: &super::state::Console, section: &'static str) -> Frame {
        Frame {
            me: console.me.to_string(),
            section,
            csrf: console.guard.csrf_token(),
        }
    }

    /// `current` on the navigation link of this page's section.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "current"
        } else {
            ""
        }
    }
}

/// A TLP 2.0 banner: the marking, what it allows, and its colour class.
pub struct Banner {
    pub class: &'static str,
    pub label: String,
    pub meaning: &'static str,
}

/// The banner of content under `d`.
pub fn banner(d: &Distribution) -> Banner {
    let (meaning, class) = crate::document::tlp_meaning_and_class(d.tlp);
    Banner {
        class,
        label: marking(d),
        meaning,
    }
}

/// A rendered page, or the problem of rendering it.
pub fn html(template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => plain_problem(&internal(&format!("rendering the page: {e}"))),
    }
}

/// A page, or the problem that stopped it.
pub fn answer<T: Template>(req: &HttpRequest, page: Result<T, Problem>) -> HttpResponse {
    match page {
        Ok(page) => html(&page),
        Err(problem) => problem_response(req, &problem),
    }
}

/// A problem of the console's own (`urn:entente:problem:console-<kind>`).
pub fn problem(status: u16, kind: &str, title: &str, detail: &str) -> Problem {
    Problem {
        problem_type: format!("{PROBLEM_BASE}console-{kind}"),
        title: title.into(),
        status,
        detail: detail.into(),
    }
}

/// Something that should not happen.
pub fn internal(detail: &str) -> Problem {
    problem(500, "internal", "the console failed", detail)
}

/// What a CLI error is as a refusal to the browser: the server's own
/// problem when it refused; a fork or rollback as the alarm it is.
pub fn problem_of(e: &CliError) -> Problem {
    match e {
        CliError::Problem(p) => p.clone(),
        CliError::Inconsistent(why) => problem(
            502,
            "log-inconsistent",
            "LOG INCONSISTENT: the host forked or rolled back the log",
            why,
        ),
        CliError::Untrusted(why) => problem(502, "untrusted", "checkpoint not trusted", why),
        CliError::Archive(why) => problem(502, "archive", "archive does not verify", why),
        // The host unreachable or failing: a gateway's error, not the user's.
        CliError::Other(why) if why.chain().any(|c| c.is::<reqwest::Error>()) => problem(
            502,
            "unreachable",
            "the log server did not answer",
            &format!("{why:#}"),
        ),
        CliError::Other(why) => problem(400, "failed", "could not be done", &format!("{why:#}")),
    }
}

/// The problem page for a browser, problem+json for anything else.
pub fn problem_response(req: &HttpRequest, p: &Problem) -> HttpResponse {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        return plain_problem(p);
    }
    let page = ProblemPage {
        status: p.status,
        title: &p.title,
        detail: &p.detail,
        problem_type: &p.problem_type,
    };
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(_) => plain_problem(p),
    }
}

/// RFC 9457 problem+json.
fn plain_problem(p: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .body(serde_json::to_string(p).unwrap_or_default())
}

#[derive(Template)]
#[template(path = "console/problem.html")]
struct ProblemPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
    problem_type: &'a str,
}

/// Characters that change how a text looks without showing — zero-width
/// ones, bidirectional controls, the byte order mark, the soft hyphen —
/// shown as `⟨U+202E⟩`, so a text reads as the bytes a digest covers.
pub fn visible(text: &str) -> String {
    let hidden = |c: char| {
        matches!(c as u32,
            0x00AD | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
            | 0x2066..=0x2069 | 0xFEFF)
    };
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if hidden(c) {
                format!("⟨U+{:04X}⟩", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A malformed path, query or form: refused before anything is read or signed.
pub fn bad_input(
    e: impl std::fmt::Display + std::fmt::Debug + 'static,
    req: &HttpRequest,
) -> actix_web::Error {
    let p = problem(400, "bad-request", "malformed request", &e.to_string());
    let response = problem_response(req, &p);
    actix_web::error::InternalError::from_response(e, response).into()
}

/// A form refused before anything is read or signed: too large (413), or
/// malformed (400).
pub fn bad_form(e: actix_web::error::UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    if let actix_web::error::UrlencodedError::Overflow { size, limit } = &e {
        let p = problem(
            413,
            "too-large",
            "form too large",
            &format!("the form has {size} bytes; the console takes at most {limit}"),
        );
        let response = problem_response(req, &p);
        return actix_web::error::InternalError::from_response(e, response).into();
    }
    bad_input(e, req)
}

/// Any path the console does not serve.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    problem_response(&req, &not_found_problem(req.path()))
}

/// The same answer for what does not exist and what this delegation may
/// not read.
pub fn not_found_problem(what: &str) -> Problem {
    problem(404, "not-found", "not found", &format!("no {what} here"))
}

/// `GET /style.css`: the console's one stylesheet, built into the binary.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(include_str!("style.css"))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn a_problem_is_a_page_for_a_browser_and_json_for_anything_else() {
        let p = problem(403, "csrf", "forged", "<script>alert(1)</script>");
        let browser = TestRequest::get()
            .insert_header((header::ACCEPT, "text/html,application/xhtml+xml"))
            .to_http_request();
        let page = problem_response(&browser, &p);
        assert_eq!(page.status(), 403);
        let body = actix_web::body::to_bytes(page.into_body());
        let body = futures_util::FutureExt::now_or_never(body)
            .unwrap()
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(!body.contains("<script>"), "escaped: {body}");
        assert!(body.contains("urn:entente:problem:console-csrf"));
        let other = TestRequest::get().to_http_request();
        let json = problem_response(&other, &p);
        assert_eq!(
            json.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
    }

    #[test]
    fn a_fork_is_an_alarm_and_a_refusal_keeps_the_servers_words() {
        let fork = problem_of(&CliError::Inconsistent("FORK: two roots".into()));
        assert_eq!(fork.status, 502);
        assert!(fork.title.contains("LOG INCONSISTENT"));
        let refused = problem(409, "x", "t", "d");
        assert_eq!(problem_of(&CliError::Problem(refused.clone())), refused);
    }

    #[test]
    fn banners_carry_the_tlp_colour_class_and_marking() {
        let amber = Distribution {
            tlp: entente_shared::statement::Tlp::Amber,
            to: vec!["US".parse().unwrap()],
        };
        let b = banner(&amber);
        assert_eq!(b.class, "tlp-amber");
        assert_eq!(b.label, "TLP:AMBER (US)");
        assert_eq!(banner(&Distribution::green()).class, "tlp-green");
    }

    #[test]
    fn invisible_and_direction_changing_characters_are_shown() {
        assert_eq!(visible("plain text"), "plain text");
        assert_eq!(visible("a\u{202E}b\u{200B}c"), "a⟨U+202E⟩b⟨U+200B⟩c");
    }
}
