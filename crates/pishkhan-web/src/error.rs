//! The HTTP layer's one error type, rendered as RFC 9457 `application/problem+json`.
//!
//! Every client mistake maps to a 4xx with a stable `code`. A 5xx logs its cause chain and
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
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<&'static str>,
        message: String,
    },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("sign-in required")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("the code is wrong")]
    BadCode,
    #[error("forbidden: {0}")]
    Forbidden(Denied),
    #[error("csrf token missing or wrong")]
    Csrf,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    Gone(&'static str),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    #[error("too many requests")]
    TooManyRequests { retry_after_s: u64 },
    #[error("service unavailable")]
    Unavailable,
    /// This server runs without the inquiry exchange.
    #[error("this server runs without the inquiry exchange")]
    ExchangeNotConfigured,
    /// An agency behind the exchange failed or did not answer in time.
    #[error("{message}")]
    Upstream {
        code: &'static str,
        message: String,
        timeout: bool,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            field: Some(field),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::BadCredentials | ApiError::BadCode => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) | ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ExchangeNotConfigured => StatusCode::NOT_FOUND,
            ApiError::Upstream {
                code: "agency_unavailable",
                ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream { timeout: true, .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { code, .. } | ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::BadCode => "wrong_code",
            ApiError::Forbidden(d) => d.code(),
            ApiError::Csrf => "csrf_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { code, .. } => code,
            ApiError::Gone(_) => "gone",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Upstream { code, .. } => code,
            ApiError::ExchangeNotConfigured => "exchange_not_configured",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Invalid { .. } => "Invalid input",
            ApiError::BadRequest { .. } => "Bad request",
            ApiError::Unauthenticated => "Sign-in required",
            ApiError::BadCredentials | ApiError::BadCode => "Sign-in failed",
            ApiError::Forbidden(_) | ApiError::Csrf => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Gone(_) => "Gone",
            ApiError::PayloadTooLarge => "Payload too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable => "Service unavailable",
            ApiError::ExchangeNotConfigured => "Not found",
            ApiError::Upstream { timeout: true, .. } => "Agency timeout",
            ApiError::Upstream { .. } => "Agency failure",
            ApiError::Internal(_) => "Internal error",
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid {
            code: e.code,
            field: Some(e.field),
            message: e.message,
        }
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        ApiError::Forbidden(d)
    }
}

/// The one mapping of the application's error kinds to HTTP.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid {
                code,
                field,
                message,
            } => ApiError::Invalid {
                code,
                field,
                message,
            },
            AppError::BadRequest { code, message } => ApiError::BadRequest { code, message },
            AppError::Unauthenticated => ApiError::Unauthenticated,
            AppError::BadCredentials => ApiError::BadCredentials,
            AppError::BadCode => ApiError::BadCode,
            AppError::Forbidden(d) => ApiError::Forbidden(d),
            AppError::NotFound(what) => ApiError::NotFound(what),
            AppError::Conflict { code, message } => ApiError::Conflict { code, message },
            AppError::Gone(what) => ApiError::Gone(what),
            AppError::TooManyRequests { retry_after_s } => {
                ApiError::TooManyRequests { retry_after_s }
            }
            AppError::Unavailable => ApiError::Unavailable,
            AppError::ExchangeNotConfigured => ApiError::ExchangeNotConfigured,
            AppError::Upstream {
                code,
                message,
                timeout,
            } => ApiError::Upstream {
                code,
                message,
                timeout,
            },
            AppError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// A plain store read in an adapter fails the way the application's would.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
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
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "something went wrong on our side; quote the x-request-id header if you report it"
                    .to_string()
            }
            other => other.to_string(),
        };
        let field = match &self {
            ApiError::Invalid { field, .. } => *field,
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
        if let ApiError::TooManyRequests { retry_after_s } = self
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
