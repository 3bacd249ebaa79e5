//! Answers that cannot grow without bound: JSON built item by item as the
//! client reads it, a page cut at [`MAX_PAGE_BYTES`], and a deadline.
//!
//! A reader that asks for a large page and never reads it holds a
//! connection, not memory: the body is a stream that actix pulls only when
//! its write buffer (32 KiB) has room, so each item is read from the store
//! and serialised only when the client has taken the ones before it. A
//! reader still reading when `response_deadline_secs` has passed since the
//! answer began loses the connection (it asks again for the rest).

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::HttpResponse;
use entente_shared::api::{MAX_LIST_PAGE, MAX_PAGE_BYTES};
use futures_util::stream;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// One item of a list, serialised, or why it could not be.
pub type Item = Result<Vec<u8>, ApiError>;

/// `200` with `head`, the items (comma-separated), then `tail`, streamed.
/// Stops after the item that takes the body past [`MAX_PAGE_BYTES`] (so a
/// page always holds at least one item); `items` must end on their own.
pub fn json_stream(
    head: &'static str,
    items: impl Iterator<Item = Item> + 'static,
    tail: &'static str,
    deadline: Duration,
) -> HttpResponse {
    let started = tokio::time::Instant::now();
    let state = Body {
        items: Box::new(items),
        sent: 0,
        first: true,
        done: false,
    };
    let head = stream::once(async move { Ok::<_, ApiError>(Bytes::from_static(head.as_bytes())) });
    let middle = stream::unfold(state, move |mut s| async move {
        if s.done || s.sent > MAX_PAGE_BYTES {
            return None;
        }
        if started.elapsed() > deadline {
            // Ends the connection: the client never sees a complete page.
            return Some((Err(ApiError::Timeout), Body { done: true, ..s }));
        }
        let item = s.items.next()?;
        let chunk = item.map(|mut bytes| {
            if !s.first {
                bytes.insert(0, b',');
            }
            bytes
        });
        s.first = false;
        if let Ok(bytes) = &chunk {
            s.sent += bytes.len();
        } else {
            s.done = true;
        }
        Some((chunk.map(Bytes::from), s))
    });
    let tail = stream::once(async move { Ok(Bytes::from_static(tail.as_bytes())) });
    use futures_util::StreamExt as _;
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(head.chain(middle).chain(tail))
}

struct Body {
    items: Box<dyn Iterator<Item = Item>>,
    /// Bytes of items sent so far.
    sent: usize,
    first: bool,
    /// An item failed (or the deadline passed): nothing more.
    done: bool,
}

/// Which page of a list: the items whose log index is past `after`, at most
/// `limit` (and [`MAX_LIST_PAGE`]) of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub after: Option<u64>,
    pub limit: Option<usize>,
}

/// One page of `items` (in log order, `index` giving each one's log index)
/// as a JSON array, cut at `page.limit`, [`MAX_LIST_PAGE`] items or about
/// [`MAX_PAGE_BYTES`]; when more remain, a `Link: <PATH?QUERYafter=N>;
/// rel="next"` header (RFC 8288) names the next page, `query` being the
/// route's other parameters, each followed by `&`.
pub fn json_page<T: Serialize>(
    path: &str,
    query: &str,
    items: Vec<T>,
    index: impl Fn(&T) -> u64,
    page: &Page,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit.unwrap_or(MAX_LIST_PAGE).clamp(1, MAX_LIST_PAGE);
    let mut body = vec![b'['];
    let mut last = None;
    let mut more = false;
    let wanted = items
        .iter()
        .filter(|i| page.after.is_none_or(|after| index(i) > after));
    for (count, item) in wanted.enumerate() {
        if count == limit || body.len() > MAX_PAGE_BYTES {
            more = true;
            break;
        }
        if count > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, item).map_err(|e| ApiError::Internal(e.to_string()))?;
        last = Some(index(item));
    }
    body.push(b']');
    let mut resp = HttpResponse::Ok();
    resp.content_type("application/json");
    if let (true, Some(last)) = (more, last) {
        resp.insert_header((
            actix_web::http::header::LINK,
            format!("<{path}?{query}after={last}>; rel=\"next\""),
        ));
    }
    Ok(resp.body(body))
}
