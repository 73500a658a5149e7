//! The application layer's one error type.
//!
//! Each variant is a kind of outcome a front end must tell apart (invalid input, not found, a
//! conflict, a refusal, an agency failure), with the stable machine code clients switch on.
//! It knows nothing of HTTP: the web crate maps each kind to a status in its `error.rs`, the
//! CLI to a message and an exit code. Store and domain errors become these kinds here, once.

use pishkhan_domain::access::Denied;
use pishkhan_domain::model::FieldError;
use pishkhan_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is well-formed but breaks a rule (a bad value, an unknown reference).
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<&'static str>,
        message: String,
    },
    /// The request cannot be understood as asked (a missing choice, the wrong kind of caller).
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
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Something that existed has run out (a code, an invitation).
    #[error("{0}")]
    Gone(&'static str),
    /// A limit binds: `code` names which (clients switch on it), `retry_after_s` says when
    /// it lets the next one through.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after_s: u64,
    },
    #[error("service unavailable")]
    Unavailable,
    /// This deployment runs without the inquiry exchange.
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

impl AppError {
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            field: Some(field),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { code, .. }
            | AppError::BadRequest { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Upstream { code, .. }
            | AppError::TooManyRequests { code, .. } => code,
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad_credentials",
            AppError::BadCode => "wrong_code",
            AppError::Forbidden(d) => d.code(),
            AppError::NotFound(_) => "not_found",
            AppError::Gone(_) => "gone",
            AppError::Unavailable => "unavailable",
            AppError::ExchangeNotConfigured => "exchange_not_configured",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid {
            code: e.code,
            field: Some(e.field),
            message: e.message,
        }
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        AppError::Forbidden(d)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => AppError::NotFound(entity),
            StoreError::Conflict { what } => AppError::Conflict {
                code: conflict_code(&what),
                message: conflict_message(&what),
            },
            StoreError::UnknownReference { what } => AppError::Invalid {
                code: "unknown_reference",
                field: None,
                message: format!("unknown {what}"),
            },
            StoreError::Expired(what) => AppError::Gone(what),
            StoreError::SlotFull => AppError::Conflict {
                code: "slot_full",
                message: "this slot is fully booked".into(),
            },
            StoreError::LimitReached { rule } => AppError::Invalid {
                code: "booking_limit_reached",
                field: None,
                message: rule,
            },
            StoreError::WrongState(w) => AppError::Conflict {
                code: "wrong_state",
                message: w.message,
            },
            other => AppError::Internal(other.into()),
        }
    }
}

/// Maps the constraint or column a store names to a stable code.
fn conflict_code(what: &str) -> &'static str {
    if what.contains("username") {
        "username_taken"
    } else if what.contains("national_code") {
        "national_code_taken"
    } else if what.contains("licence") {
        "licence_taken"
    } else if what.contains("office") || what.contains("offices.code") || what.contains("pkey") {
        "office_exists"
    } else {
        "conflict"
    }
}

fn conflict_message(what: &str) -> String {
    match conflict_code(what) {
        "username_taken" => "that username is already taken".into(),
        "national_code_taken" => "a member of staff with that national code already exists".into(),
        _ => what.to_string(),
    }
}
