//! `GET /` and `GET /declarations/{id}`: the public register, read-only —
//! every adopted declaration under TLP:CLEAR as a page anyone can read, each
//! as the printable document the CLI renders (`entente_shared::document`),
//! with what a reader needs to check them without trusting this host.
//!
//! Only CLEAR, twice over: the declarations are the fold's view for
//! [`Reader::Anonymous`] (who may read CLEAR only, `visibility::may_read`),
//! and of those only the ones whose distribution is CLEAR are shown, so no
//! change to the audience rule can put a GREEN text on a public page. A
//! declaration that is not CLEAR answers exactly as one that does not exist
//! (the same 404, the same body): the register never tells whether a
//! restricted declaration exists.
//!
//! The pages carry no script and no `style` attribute; their stylesheets are
//! allowed by hash and nothing else is (`Content-Security-Policy:
//! default-src 'none'`), and every text a delegation wrote is escaped. The
//! list is newest adoption first, [`MAX_LIST_PAGE`] declarations a page, the
//! next (older) page at `?before=ID`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use entente_shared::api::MAX_LIST_PAGE;
use entente_shared::document::{self, escape, Parties};
use entente_shared::ledger::{Declaration, Ledger};
use entente_shared::statement::{StatementId, Tlp};
use entente_shared::views;
use entente_shared::visibility::Reader;
use serde::Deserialize;

use super::views::parse_id;
use crate::error::ApiError;
use crate::state::{AppState, Fold};

/// The register page's own rules, after the document's [`document::STYLE`]
/// (allowed by its hash like that one).
const INDEX_STYLE: &str = "\
.register{list-style:none;padding:0;margin:1.5em 0}\
.entry{border-top:1px solid #999;padding:.6em 0 .8em}\
.entry h2{font-size:1.25em;margin:.2em 0 .4em}\
.entry dl,.how dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:0}\
.entry dt,.how dt{color:#444}.entry dd,.how dd{margin:0}\
code,pre{font-family:monospace;word-break:break-all}\
pre{white-space:pre-wrap;background:#f4f4f4;padding:.4em .6em}\
.how{margin-top:2.5em;border-top:2px solid #333}";

/// `?before=ID`: the declarations adopted before that one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Older {
    pub before: Option<String>,
}

/// The one answer for a declaration not in the register, whether it does
/// not exist or is not CLEAR.
fn not_in_register() -> ApiError {
    ApiError::NotFound("no such declaration in the public register".into())
}

/// Whether `d` belongs on a public page.
fn public(d: &Declaration) -> bool {
    d.distribution.tlp == Tlp::Clear
}

/// `d` with its parties as anyone may see them.
fn with_parties(ledger: &Ledger, d: Declaration) -> (Declaration, Parties) {
    let parties = Parties::of(ledger, &Reader::Anonymous, &d);
    (d, parties)
}

/// `GET /`: the register page.
pub async fn index(
    state: web::Data<AppState>,
    older: web::Query<Older>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let before = older.before.as_deref().map(parse_id).transpose()?;
    let (page, older) = {
        let ledger = fold.read();
        let mut all: Vec<Declaration> = views::declarations(&ledger, &Reader::Anonymous)
            .into_iter()
            .filter(public)
            .collect();
        all.sort_by_key(|d| std::cmp::Reverse((d.adopted_index, d.proposal_index)));
        let (page, older) = page_before(all, |d| d.id, before, MAX_LIST_PAGE)?;
        let page: Vec<(Declaration, Parties)> =
            page.into_iter().map(|d| with_parties(&ledger, d)).collect();
        (page, older)
    };
    let body = index_html(&page, older, state.log.name(), &state.log.to_vkey());
    Ok(answer(body, &[document::STYLE, INDEX_STYLE]))
}

/// The page of `items` (newest first) after the one whose id is `before`
/// (from the first without it), at most `limit` long, and the id to ask
/// `?before=` for the next page if any items remain after it. An id not
/// among `items` is a declaration not in the register.
fn page_before<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> StatementId,
    before: Option<StatementId>,
    limit: usize,
) -> Result<(Vec<T>, Option<StatementId>), ApiError> {
    let start = match before {
        None => 0,
        Some(b) => {
            items
                .iter()
                .position(|i| id(i) == b)
                .ok_or_else(not_in_register)?
                + 1
        }
    };
    let more = items.len() > start + limit;
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = more.then(|| page.last().map(&id)).flatten();
    Ok((page, next))
}

/// `GET /declarations/{id}`: the printable document of a CLEAR declaration.
pub async fn show(path: web::Path<String>, fold: Fold) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let (d, parties) = {
        let ledger = fold.read();
        let d = views::declaration(&ledger, &Reader::Anonymous, &id)
            .filter(public)
            .ok_or_else(not_in_register)?;
        with_parties(&ledger, d)
    };
    Ok(answer(document::html(&d, &parties), &[document::STYLE]))
}

/// 200 with an HTML page whose only styles are `styles` (each the exact
/// text of one of its `<style>` elements), and the headers of a page that
/// runs nothing, loads nothing, leaks no referrer and is revalidated.
fn answer(body: String, styles: &[&str]) -> HttpResponse {
    let sources: Vec<String> = styles
        .iter()
        .map(|css| document::csp_style_source(css))
        .collect();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; style-src {}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                sources.join(" ")
            ),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// The register page: a CLEAR banner, one entry per declaration of `page`,
/// a link to the `older` ones, and how to verify, naming the log `origin`
/// and its verifier key `vkey`.
fn index_html(
    page: &[(Declaration, Parties)],
    older: Option<StatementId>,
    origin: &str,
    vkey: &str,
) -> String {
    let e = escape;
    let (meaning, class) = document::tlp_meaning_and_class(Tlp::Clear);
    let banner = format!(
        "<p class=\"tlp {class}\"><strong>TLP:CLEAR</strong> — {}</p>\n",
        e(meaning)
    );
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Public register of declarations</title>\n\
         <style>{}</style>\n<style>{INDEX_STYLE}</style>\n</head>\n<body>\n{banner}\
         <h1>Public register of declarations</h1>\n\
         <p class=\"adopted\">Declarations adopted on the log <code>{}</code> and published \
         under TLP:CLEAR, newest adoption first. Each was signed by the governments that \
         endorsed it, and can be checked without trusting this site: see \
         <a href=\"#verify\">How to verify</a>.</p>\n",
        document::STYLE,
        e(origin)
    );
    if page.is_empty() {
        s.push_str("<p>No declaration has been published here yet.</p>\n");
    } else {
        s.push_str("<ol class=\"register\">\n");
        for (d, p) in page {
            entry_html(&mut s, d, p);
        }
        s.push_str("</ol>\n");
    }
    if let Some(id) = older {
        s.push_str(&format!(
            "<p><a href=\"?before={id}\">Older declarations</a></p>\n"
        ));
    }
    let vkey = e(vkey);
    s.push_str(&format!(
        "<section class=\"how\" id=\"verify\">\n<h2>How to verify</h2>\n\
         <p>Nothing here needs to be taken on trust. A declaration is a proposal adopted in an \
         append-only Merkle log whose checkpoints the log signs and witnesses cosign; each \
         endorsement is a statement signed with its delegation's own key.</p>\n\
         <dl>\n<dt>Log origin</dt><dd><code>{}</code></dd>\n\
         <dt>Log verifier key</dt><dd><code>{vkey}</code></dd>\n</dl>\n\
         <p>Compare this key with one from elsewhere — every delegation pinned it when it \
         joined (<code>entente init</code>) — as any host could print any key here.</p>\n\
         <ol>\n\
         <li>A delegation of the log checks a declaration with its own profile \
         (<code>entente declaration show ID</code>, which reads its verified copy of the log), \
         or writes an archive of everything it may read with \
         <code>entente archive export FILE</code>: the checkpoint, every entry and an inclusion \
         proof for each. An archive holds GREEN and restricted entries too, so it goes only to \
         those who may read them; whoever holds one checks it as follows.</li>\n\
         <li>Verify it offline, with no server and no profile: every hash, proof, signature and \
         roster rule is checked, then every declaration printed; the declaration's id, title and \
         signatories must be among them.\
         <pre>entente archive verify FILE --log-key {vkey}</pre></li>\n\
         <li>Render the declaration from the verified archive alone and compare its text, \
         signatories and annex with the one served here (the archive's copy names delegations \
         by code):<pre>entente declaration show ID --from-archive FILE --format html</pre></li>\n\
         <li>Or check the archive with the verifier written independently from the protocol's \
         specification (<code>docs/protocol.md</code>) in the Entente sources, in Python:\
         <pre>python3 tests/interop/verify_archive.py FILE --log-key {vkey}</pre></li>\n\
         </ol>\n</section>\n",
        e(origin)
    ));
    s.push_str(&banner);
    s.push_str("</body>\n</html>\n");
    s
}

/// One declaration of the register: title (to its document), when and at
/// which log entry it was adopted, its signatories by code (names come from GREEN admissions), its rule
/// and its id. Every text a delegation wrote is escaped.
fn entry_html(s: &mut String, d: &Declaration, p: &Parties) {
    let e = escape;
    let codes: Vec<_> = d.signatories.iter().map(|sig| sig.delegation).collect();
    let signatories = if codes.is_empty() {
        document::no_signatories(d).to_owned()
    } else {
        p.names(&codes)
    };
    s.push_str(&format!(
        "<li class=\"entry\">\n<h2><a href=\"declarations/{id}\">{}</a></h2>\n<dl>\n\
         <dt>Adopted</dt><dd>{} at log entry {}</dd>\n\
         <dt>Signatories</dt><dd>{}</dd>\n\
         <dt>Rule</dt><dd>{}</dd>\n\
         <dt>Declaration</dt><dd><code>{id}</code></dd>\n</dl>\n</li>\n",
        e(&d.title),
        e(&document::human_time(d.adopted_at)),
        d.adopted_index,
        e(&signatories),
        e(&document::rule(d.rule)),
        id = d.id,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other_to_the_oldest() {
        let ids: Vec<StatementId> = (0u8..5).map(|i| StatementId::of_payload(&[i])).collect();
        let page = |before| page_before(ids.clone(), |i| *i, before, 2).unwrap();
        assert_eq!(page(None), (ids[..2].to_vec(), Some(ids[1])));
        assert_eq!(page(Some(ids[1])), (ids[2..4].to_vec(), Some(ids[3])));
        assert_eq!(page(Some(ids[3])), (ids[4..].to_vec(), None));
        assert_eq!(page(Some(ids[4])), (vec![], None));
        let exact = page_before(ids[..2].to_vec(), |i| *i, None, 2).unwrap();
        assert_eq!(
            exact,
            (ids[..2].to_vec(), None),
            "no next page when none remain"
        );
        let unknown = StatementId::of_payload(b"elsewhere");
        assert!(matches!(
            page_before(ids.clone(), |i| *i, Some(unknown), 2),
            Err(ApiError::NotFound(_))
        ));
    }
}
