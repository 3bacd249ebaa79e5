//! The one error type at the HTTP boundary, answered as RFC 9457 problem+json.
//!
//! Every refusal a client can get — a statement the fold refuses
//! ([`Refusal`]), a request that is not authenticated ([`RequestRefusal`]),
//! or one of the server's own conditions — is an [`ApiError`], and
//! [`ApiError::error_response`] is the only place a problem+json body is
//! made. Each variant has a stable `type` (`urn:entente:problem:<slug>`).
//! Internal causes are logged, never sent: the client learns that something
//! failed, not how.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use entente_shared::api::{Problem, PROBLEM_CONTENT_TYPE};
use entente_shared::refusal::{Refusal, RequestRefusal, PROBLEM_BASE};

use crate::rate_limit::RateLimited;
use crate::sequencer::SubmitError;
use crate::store::StoreError;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A signed read that did not authenticate.
    #[error(transparent)]
    Unauthenticated(#[from] RequestRefusal),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// A cosignature that does not verify, or by no admitted delegation.
    #[error("{0}")]
    BadCosignature(String),
    /// A cosigned checkpoint this log never signed (or not at this size and root).
    #[error("{0}")]
    UnknownCheckpoint(String),
    #[error("the server is busy; try again shortly")]
    Busy,
    #[error("the server is shutting down")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
    /// Too many statements from one delegation, or signed requests by one key.
    #[error("{0}")]
    RateLimited(String),
    #[error("the request body did not arrive in time")]
    Timeout,
    /// An error actix answered on its own (a method a route does not take,
    /// a payload it could not read), made problem+json by [`problem_for_actix`].
    #[error("{}", .0.canonical_reason().unwrap_or("the request was refused"))]
    Protocol(StatusCode),
    /// A stream past `stream_max_per_delegation` or `stream_max_total`.
    #[error("{0}")]
    TooManyStreams(String),
    #[error("the server is still restoring its state after start-up; try again shortly")]
    Starting,
}

impl ApiError {
    /// The stable slug that ends the problem `type` (also the metrics' refusal label).
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::Refused(r) => r.slug(),
            ApiError::Unauthenticated(r) => r.slug(),
            ApiError::NotFound(_) => "not-found",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::BadCosignature(_) => "bad-cosignature",
            ApiError::UnknownCheckpoint(_) => "unknown-checkpoint",
            ApiError::Busy => "busy",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::RateLimited(_) => "rate-limited",
            ApiError::Timeout => "timeout",
            ApiError::TooManyStreams(_) => "too-many-streams",
            ApiError::Protocol(status) => match status.as_u16() {
                400 => "bad-request",
                404 => "not-found",
                405 => "method-not-allowed",
                408 => "timeout",
                411 => "length-required",
                413 => "too-large",
                414 => "uri-too-long",
                415 => "unsupported-media-type",
                431 => "headers-too-large",
                500..=599 => "internal",
                _ => "refused",
            },
            ApiError::Starting => "starting",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Refused(_) => "statement refused",
            ApiError::Unauthenticated(_) => "request not authenticated",
            ApiError::NotFound(_) => "not found",
            ApiError::BadRequest(_) => "bad request",
            ApiError::BadCosignature(_) => "cosignature refused",
            ApiError::UnknownCheckpoint(_) => "unknown checkpoint",
            ApiError::Busy => "busy",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal error",
            ApiError::RateLimited(_) => "rate limited",
            ApiError::Timeout => "request timeout",
            ApiError::TooManyStreams(_) => "too many streams",
            ApiError::Protocol(_) => "request refused",
            ApiError::Starting => "starting",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl From<RateLimited> for ApiError {
    fn from(RateLimited(author): RateLimited) -> ApiError {
        ApiError::RateLimited(format!(
            "delegation {author} is sending statements faster than the server allows; slow down"
        ))
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        match e {
            SubmitError::Refused(r) => ApiError::Refused(r),
            SubmitError::Busy => ApiError::Busy,
            SubmitError::Stopped => ApiError::Unavailable,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        let code = match self {
            ApiError::Refused(r) => r.status(),
            ApiError::Unauthenticated(r) => r.status(),
            ApiError::NotFound(_) => 404,
            ApiError::BadRequest(_) => 400,
            ApiError::BadCosignature(_) | ApiError::UnknownCheckpoint(_) => 422,
            ApiError::Busy | ApiError::Unavailable | ApiError::Starting => 503,
            ApiError::Internal(_) => 500,
            ApiError::RateLimited(_) | ApiError::TooManyStreams(_) => 429,
            ApiError::Protocol(status) => status.as_u16(),
            ApiError::Timeout => 408,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let problem = Problem {
            problem_type: format!("{PROBLEM_BASE}{}", self.slug()),
            title: self.title().into(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
        };
        let mut resp = HttpResponse::build(self.status_code());
        resp.content_type(PROBLEM_CONTENT_TYPE);
        if let ApiError::RateLimited(_) | ApiError::Starting = self {
            // The bucket refills continuously; a second is always enough for one more.
            resp.insert_header((actix_web::http::header::RETRY_AFTER, "1"));
        }
        if self.status_code() == StatusCode::UNAUTHORIZED {
            // RFC 9110 §11.6.1: a 401 names the scheme that would authenticate.
            resp.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Signature"));
        }
        resp.json(problem)
    }
}

/// `ErrorHandlers` default handler: an error answer that is not problem+json
/// already (actix's own 405, payload and handshake errors) is answered as
/// [`ApiError::Protocol`] instead, so that every error a client can get from
/// the application is problem+json. (What actix refuses before a request
/// reaches the application — a malformed request line, headers too large —
/// it answers itself.)
pub fn problem_for_actix<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let is_problem = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_CONTENT_TYPE));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, _) = res.into_parts();
    let answer = ApiError::Protocol(status).error_response();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, answer).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[actix_web::test]
    async fn actix_s_own_error_answers_become_problems() {
        use actix_web::middleware::ErrorHandlers;
        use actix_web::{test, web, App, HttpResponse};
        let app = test::init_service(
            App::new()
                .wrap(ErrorHandlers::new().default_handler(problem_for_actix))
                .route(
                    "/empty",
                    web::get().to(|| async { HttpResponse::MethodNotAllowed().finish() }),
                )
                .route(
                    "/problem",
                    web::get().to(|| async { ApiError::Busy.error_response() }),
                )
                .route(
                    "/fine",
                    web::get().to(|| async { HttpResponse::Ok().body("x") }),
                ),
        )
        .await;
        let call = |path: &'static str| {
            let app = &app;
            async move {
                let resp =
                    test::call_service(app, test::TestRequest::get().uri(path).to_request()).await;
                let status = resp.status().as_u16();
                let body: serde_json::Value =
                    serde_json::from_slice(&test::read_body(resp).await).unwrap_or_default();
                (status, body)
            }
        };
        let (status, body) = call("/empty").await;
        assert_eq!(status, 405);
        assert_eq!(body["type"], "urn:entente:problem:method-not-allowed");
        let (status, body) = call("/problem").await;
        assert_eq!(
            (status, body["type"].as_str()),
            (503, Some("urn:entente:problem:busy"))
        );
        assert_eq!(call("/fine").await.0, 200);
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let resp = ApiError::Internal("disk /secret/path failed".into()).error_response();
        assert_eq!(resp.status(), 500);
        let body = resp.into_body().try_into_bytes().unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("/secret/path"), "{text}");
        assert!(text.contains("urn:entente:problem:internal"));
    }
}
