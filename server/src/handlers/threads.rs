//! `GET /v1/threads/{id}`: the signed messages attached to a statement, shown
//! only to whoever may read that statement, and only those it may read.

use actix_web::{web, HttpResponse};
use entente_shared::views;

use super::views::{found, parse_id};
use crate::auth::MaybeSigned;
use crate::error::ApiError;
use crate::state::Fold;

pub async fn show(
    auth: MaybeSigned,
    path: web::Path<String>,
    fold: Fold,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let thread = views::thread(&fold.read(), &auth.reader, &id);
    found(thread, || format!("no statement {id}"))
}
