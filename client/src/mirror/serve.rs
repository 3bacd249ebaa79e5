//! The mirror's read API: the log server's routes for what the mirror holds
//! (`/v1/checkpoint`, `/v1/log`, `/v1/entries`, `/v1/proofs/*`), plus
//! `/v1/mirror`, its own state. Everything else, and every write, is a 404
//! problem: publishing goes to the log server.
//!
//! Requests are judged as the log server judges them
//! ([`entente_shared::httpsig::request`]) against the mirror's verified
//! roster, with a nonce cache of its own; an unsigned request reads as
//! anyone. An entry is served whole only to a reader who may read it.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use entente_shared::api::{
    ConsistencyProof, Entries, Entry, InclusionProof, LogInfo, Problem, MAX_ENTRIES_PER_PAGE,
    MAX_PAGE_BYTES, PROBLEM_CONTENT_TYPE,
};
use entente_shared::dsse::Envelope;
use entente_shared::httpsig::request::{authenticate, join_field, Window};
use entente_shared::httpsig::Message;
use entente_shared::keys::KeyId;
use entente_shared::merkle::{consistency_proof, inclusion_proof};
use entente_shared::refusal::{RequestRefusal, PROBLEM_BASE};
use entente_shared::statement::Statement;
use entente_shared::visibility::{may_read_statement, Reader};
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use crate::error::{fail, CliResult};

/// How far a request's `created` may be from the mirror's clock.
const WINDOW_SECS: u64 = 300;
/// Most nonces remembered for one key within the window; past it, that
/// key's signed requests wait (429) and other keys are unaffected.
const MAX_NONCES_PER_KEY: usize = 10_000;

/// What every handler reads.
struct Mirror {
    view: Shared,
    log: LogInfo,
    started_at: i64,
    /// The URL readers use, when a proxy stands in front.
    public_url: Option<String>,
    /// Nonces of verified requests, until their window closes.
    nonces: Mutex<HashMap<KeyId, HashMap<String, i64>>>,
}

/// Serves until interrupted; prints the address (one line) first.
pub fn serve(
    view: Shared,
    log: LogInfo,
    listen: &str,
    public_url: Option<String>,
    json_out: bool,
) -> CliResult<()> {
    let mirror = web::Data::new(Mirror {
        view,
        log,
        public_url,
        started_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        nonces: Mutex::new(HashMap::new()),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(mirror.clone())
            .route("/v1/checkpoint", web::get().to(checkpoint))
            .route("/v1/log", web::get().to(log_info))
            .route("/v1/entries", web::get().to(entries))
            .route("/v1/proofs/inclusion", web::get().to(inclusion))
            .route("/v1/proofs/consistency", web::get().to(consistency))
            .route("/v1/mirror", web::get().to(status))
            .default_service(web::to(|| async {
                problem(
                    404,
                    "not-found",
                    "a mirror serves the log's reads only (checkpoint, log, entries, proofs); publish to the log server",
                )
            }))
    })
    .workers(2)
    .bind(listen)
    .map_err(|e| fail(format!("listening on {listen}: {e}")))?;
    crate::listener::announce_and_run(server.addrs(), server.run(), |url| {
        if json_out {
            println!("{}", json!({ "listening": url }));
        } else {
            println!("mirror listening on {url}");
        }
    })
}

fn problem(status: u16, slug: &str, detail: &str) -> HttpResponse {
    let body = Problem {
        problem_type: format!("{PROBLEM_BASE}{slug}"),
        title: slug.replace('-', " "),
        status,
        detail: detail.to_owned(),
    };
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .content_type(PROBLEM_CONTENT_TYPE)
    .body(serde_json::to_string(&body).unwrap_or_default())
}

fn bad_request(detail: &str) -> HttpResponse {
    problem(400, "bad-request", detail)
}

/// Why a request is not read as anyone's.
enum Denied {
    Refused(RequestRefusal),
    /// The nonce cache is full.
    Full,
}

impl Denied {
    fn answer(&self) -> HttpResponse {
        match self {
            Denied::Refused(r) => problem(r.status(), r.slug(), &r.to_string()),
            Denied::Full => problem(
                429,
                "rate-limited",
                "too many signed requests within the window; try again shortly",
            ),
        }
    }
}

impl Mirror {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, super::View> {
        self.view.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Who is asking: a delegation by its signed request, else anyone.
    fn reader(&self, req: &HttpRequest) -> Result<Reader, Denied> {
        let field = |name: &str| {
            join_field(name, req.headers().get_all(name).map(|v| v.to_str().ok()))
                .map_err(Denied::Refused)
        };
        let (input, signature) = match (field("signature-input")?, field("signature")?) {
            (None, None) => return Ok(Reader::Anonymous),
            (Some(i), Some(s)) => (i, s),
            _ => {
                return Err(Denied::Refused(RequestRefusal::BadSignature(
                    "Signature-Input and Signature come together".into(),
                )))
            }
        };
        let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        // Behind a TLS proxy clients sign the URL they use: `--public-url`.
        let base = match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = req
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                format!("http://{host}")
            }
        };
        let msg = Message {
            method: req.method().as_str().to_owned(),
            target_uri: format!("{base}{path}"),
            headers: req
                .headers()
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let window = Window {
            now,
            secs: WINDOW_SECS,
            not_before: self.started_at,
        };
        let signed = authenticate(&input, &signature, &msg, false, window, |key_id| {
            let view = self.read();
            let (delegation, record) = view
                .ledger
                .roster()
                .usable_key(key_id)
                .map_err(RequestRefusal::from)?;
            Ok((
                Reader::Delegation {
                    code: delegation.code,
                    role: delegation.role,
                },
                record.public_key,
            ))
        })
        .map_err(Denied::Refused)?;
        let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        let seen = nonces.entry(signed.key_id).or_default();
        seen.retain(|_, expires| *expires >= now);
        if seen.contains_key(&signed.nonce) {
            return Err(Denied::Refused(RequestRefusal::Replayed));
        }
        if seen.len() >= MAX_NONCES_PER_KEY {
            return Err(Denied::Full);
        }
        seen.insert(signed.nonce, signed.expires_at);
        Ok(signed.reader)
    }
}

async fn checkpoint(mirror: web::Data<Mirror>) -> HttpResponse {
    match &mirror.read().checkpoint {
        Some(text) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(text.clone()),
        None => problem(
            503,
            "starting",
            "the mirror has not verified a checkpoint yet; try again shortly",
        ),
    }
}

async fn log_info(mirror: web::Data<Mirror>) -> HttpResponse {
    let size = mirror.read().entries.len() as u64;
    HttpResponse::Ok().json(LogInfo {
        size,
        ..mirror.log.clone()
    })
}

async fn status(mirror: web::Data<Mirror>) -> HttpResponse {
    let view = mirror.read();
    HttpResponse::Ok().json(json!({
        "upstream": view.upstream,
        "size": view.entries.len(),
        "following": view.stopped.is_none(),
        "stopped": view.stopped,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    start: u64,
    end: Option<u64>,
}

async fn entries(
    req: HttpRequest,
    range: web::Query<Range>,
    mirror: web::Data<Mirror>,
) -> HttpResponse {
    let reader = match mirror.reader(&req) {
        Ok(r) => r,
        Err(denied) => return denied.answer(),
    };
    let view = mirror.read();
    let size = view.entries.len() as u64;
    if range.start > size {
        return bad_request(&format!(
            "start {} is past the mirror's size {size}",
            range.start
        ));
    }
    let end = range
        .end
        .unwrap_or(size)
        .min(size)
        .min(range.start.saturating_add(MAX_ENTRIES_PER_PAGE));
    // An end before the start is an empty page, as at the log server; a
    // page ends after the entry that takes it past MAX_PAGE_BYTES.
    let mut page: Vec<Entry> = Vec::new();
    let mut bytes = 0;
    for e in view
        .entries
        .get(range.start as usize..end.max(range.start) as usize)
        .unwrap_or(&[])
    {
        if bytes > MAX_PAGE_BYTES {
            break;
        }
        let entry = as_read_by(&reader, e);
        bytes += entry
            .envelope
            .as_ref()
            .map_or(0, |env| env.payload.len() * 4 / 3)
            + 128;
        page.push(entry);
    }
    HttpResponse::Ok().json(Entries { entries: page })
}

/// `entry` whole if `reader` may read it, else its index and leaf hash.
fn as_read_by(reader: &Reader, entry: &Entry) -> Entry {
    let readable = entry
        .envelope
        .as_ref()
        .and_then(|e: &Envelope| Statement::decode(&e.payload).ok())
        .is_some_and(|s| may_read_statement(reader, &s));
    if readable {
        entry.clone()
    } else {
        Entry {
            index: entry.index,
            leaf_hash: entry.leaf_hash,
            id: None,
            envelope: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: u64,
    size: u64,
}

async fn inclusion(q: web::Query<InclusionQuery>, mirror: web::Data<Mirror>) -> HttpResponse {
    let view = mirror.read();
    let held = view.entries.len() as u64;
    if q.size > held || q.index >= q.size {
        return bad_request(&format!(
            "index {} in size {} is not within the mirror's {held} entries",
            q.index, q.size
        ));
    }
    match inclusion_proof(&view.tree, q.index, q.size) {
        Ok(proof) => HttpResponse::Ok().json(InclusionProof {
            index: q.index,
            size: q.size,
            leaf_hash: view.entries[q.index as usize].leaf_hash,
            proof,
        }),
        Err(e) => bad_request(&e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
}

async fn consistency(q: web::Query<ConsistencyQuery>, mirror: web::Data<Mirror>) -> HttpResponse {
    let view = mirror.read();
    let held = view.entries.len() as u64;
    if q.to > held {
        return bad_request(&format!(
            "size {} is past the mirror's {held} entries",
            q.to
        ));
    }
    match consistency_proof(&view.tree, q.from, q.to) {
        Ok(proof) => HttpResponse::Ok().json(ConsistencyProof {
            from: q.from,
            to: q.to,
            proof,
        }),
        Err(e) => bad_request(&e.to_string()),
    }
}
