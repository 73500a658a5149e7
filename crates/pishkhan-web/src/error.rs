//! The HTTP layer's one error type, rendered as RFC 9457 `application/problem+json`.
//!
//! An `ApiError` is either the application's outcome ([`AppError`], whose kinds this file maps
//! to HTTP statuses, in one place) or one of the few refusals only HTTP knows (a missing CSRF
//! token, a body too large, a wrong media type or method, `/metrics` without its token). Every
//! client mistake is a 4xx with a stable `code`. A 5xx logs its cause chain on one line and
//! tells the client only that something failed, with the request id to quote.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pishkhan_app::AppError;
use pishkhan_domain::access::Denied;
use pishkhan_domain::model::FieldError;
use pishkhan_store::StoreError;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What the application decided (invalid input, not found, a refusal, a fault).
    #[error(transparent)]
    App(#[from] AppError),
    #[error("csrf token missing or wrong")]
    Csrf,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// `/metrics` without the bearer token the server was started with (or with none set).
    #[error("metrics need the bearer token set with --metrics-token")]
    MetricsToken,
}

impl ApiError {
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        ApiError::App(AppError::invalid(code, field, message))
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::App(AppError::bad_request(code, message))
    }

    pub fn status(&self) -> StatusCode {
        let app = match self {
            ApiError::App(e) => e,
            ApiError::Csrf => return StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge => return StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => return StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => return StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MetricsToken => return StatusCode::UNAUTHORIZED,
        };
        match app {
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated | AppError::BadCredentials | AppError::BadCode => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) | AppError::ExchangeNotConfigured => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream {
                code: "agency_unavailable",
                ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream { timeout: true, .. } => StatusCode::GATEWAY_TIMEOUT,
            AppError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::App(e) => e.code(),
            ApiError::Csrf => "csrf_failed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::MetricsToken => "metrics_token_required",
        }
    }

    fn title(&self) -> &'static str {
        let app = match self {
            ApiError::App(e) => e,
            ApiError::Csrf => return "Forbidden",
            ApiError::PayloadTooLarge => return "Payload too large",
            ApiError::UnsupportedMediaType => return "Unsupported media type",
            ApiError::MethodNotAllowed => return "Method not allowed",
            ApiError::MetricsToken => return "Metrics token required",
        };
        match app {
            AppError::Invalid { .. } => "Invalid input",
            AppError::BadRequest { .. } => "Bad request",
            AppError::Unauthenticated => "Sign-in required",
            AppError::BadCredentials | AppError::BadCode => "Sign-in failed",
            AppError::Forbidden(_) => "Forbidden",
            AppError::NotFound(_) | AppError::ExchangeNotConfigured => "Not found",
            AppError::Conflict { .. } => "Conflict",
            AppError::Gone(_) => "Gone",
            AppError::TooManyRequests { .. } => "Too many requests",
            AppError::Unavailable => "Service unavailable",
            AppError::Upstream { timeout: true, .. } => "Agency timeout",
            AppError::Upstream { .. } => "Agency failure",
            AppError::Internal(_) => "Internal error",
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::App(e.into())
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        ApiError::App(d.into())
    }
}

/// A plain store read in an adapter fails the way the application's would.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::App(e.into())
    }
}

/// Logs a fault as one line: its cause chain (`outer: cause: cause`), without the backtrace
/// the error's `Debug` form carries, so that a burst of faults stays readable.
pub(crate) fn log_fault(e: &anyhow::Error, what: &'static str) {
    let chain = format!("{e:#}").replace(['\n', '\r'], " ");
    tracing::error!(error = %chain, "{what}");
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::App(AppError::Internal(e)) => {
                log_fault(e, "internal error");
                "something went wrong on our side; quote the x-request-id header if you report it"
                    .to_string()
            }
            other => other.to_string(),
        };
        let field = match &self {
            ApiError::App(AppError::Invalid { field, .. }) => *field,
            _ => None,
        };
        let body = Problem {
            kind: format!("https://pishkhan.example/problems/{}", self.code()),
            title: self.title(),
            status: status.as_u16(),
            code: self.code(),
            detail,
            field,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let ApiError::App(AppError::TooManyRequests { retry_after_s, .. }) = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"pishkhan\""),
            );
        }
        resp
    }
}
