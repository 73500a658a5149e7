//! Refusals: a status, a stable code from `pishkhan_protocol::psp::problem`, and a message.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pishkhan_protocol::psp::{PspProblem, problem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, problem::BAD_REQUEST, message)
    }

    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            problem::NOT_FOUND,
            "no such transaction for this merchant",
        )
    }

    pub(crate) fn capacity(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, problem::CAPACITY, message)
    }

    /// The journal could not be written; the PSP refuses everything from then on.
    pub(crate) fn journal_failed() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            problem::JOURNAL_FAILED,
            "the PSP cannot record events; it accepts nothing until restarted",
        )
    }

    /// A malformed body, form or query as the extractor saw it.
    pub(crate) fn rejection(status: StatusCode, text: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(status, problem::TOO_LARGE, text)
        } else if status.is_client_error() {
            Self::new(status, problem::BAD_REQUEST, text)
        } else {
            Self::bad_request(text)
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "psp failure");
        }
        let body = PspProblem {
            code: self.code.to_string(),
            message: self.message,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response()
    }
}
