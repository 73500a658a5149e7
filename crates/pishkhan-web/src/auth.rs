//! Who is calling: the session token from the bearer header or the cookie, resolved by the
//! application ([`pishkhan_app::accounts`], [`pishkhan_app::citizens`]), and CSRF.
//!
//! A session has one secret token. API clients send it as `Authorization: Bearer …`; browsers
//! hold it in an HttpOnly, SameSite=Lax cookie. Only its SHA-256 is stored. A cookie-borne
//! request that changes state must also carry the session's CSRF token (a form field or the
//! `x-csrf-token` header), because a browser attaches cookies to cross-site requests.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use pishkhan_app::{Session, StaffSession, accounts};

pub use pishkhan_app::{Caller, Citizen};

pub use pishkhan_app::secrets::{constant_time_eq, new_token};

use crate::AppState;
use crate::error::ApiError;
use pishkhan_app::AppError;

pub const SESSION_COOKIE: &str = "pishkhan_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Reads a cookie by name from the request headers.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn session_cookie(token: &str, max_age_s: u64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    Bearer,
    Cookie,
}

/// The signed-in member of staff making this request: the application's session, and how
/// it came (a bearer token needs no CSRF token; a cookie does).
#[derive(Debug, Clone)]
pub struct Staff {
    pub session: StaffSession,
    pub via: AuthVia,
    pub csrf_token: String,
}

impl std::ops::Deref for Staff {
    type Target = StaffSession;

    fn deref(&self) -> &StaffSession {
        &self.session
    }
}

impl Staff {
    /// For form posts: the hidden field must carry this session's CSRF token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), ApiError> {
        if self.via == AuthVia::Bearer || constant_time_eq(presented, &self.csrf_token) {
            Ok(())
        } else {
            Err(ApiError::Csrf)
        }
    }
}

/// The token of an `Authorization: Bearer …` header; `None` without one, `Some("")` for
/// another scheme.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?;
    let v = v.to_str().unwrap_or("");
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .unwrap_or("");
    Some(token.trim())
}

/// Finds the session token: the bearer header wins over the cookie.
fn presented_token(parts: &Parts) -> Option<(String, AuthVia)> {
    if let Some(token) = bearer(&parts.headers) {
        return (!token.is_empty()).then(|| (token.to_string(), AuthVia::Bearer));
    }
    cookie(parts, SESSION_COOKIE)
        .filter(|t| !t.is_empty())
        .map(|t| (t.to_string(), AuthVia::Cookie))
}

/// Resolves the caller, or `None` when no valid session is presented.
pub async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Staff>, ApiError> {
    let Some((token, via)) = presented_token(parts) else {
        return Ok(None);
    };
    Ok(accounts::staff_session(state.app(), &token)
        .await?
        .map(|(session, csrf_token)| Staff {
            session,
            via,
            csrf_token,
        }))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let staff = resolve(parts, state)
            .await?
            .ok_or(ApiError::App(AppError::Unauthenticated))?;
        require_csrf(parts, &staff)?;
        Ok(staff)
    }
}

/// JSON API calls authenticated by cookie must prove they come from our pages.
fn require_csrf(parts: &Parts, staff: &Staff) -> Result<(), ApiError> {
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if staff.via == AuthVia::Cookie && unsafe_method && parts.uri.path().starts_with("/api/") {
        let presented = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        staff.check_csrf(presented)?;
    }
    Ok(())
}

/// Whoever presented a session token, with the token: what signing out ends.
pub struct SignedIn {
    pub caller: Caller,
    pub token: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some((token, via)) = presented_token(parts) else {
            return Err(ApiError::App(AppError::Unauthenticated));
        };
        // Citizens carry their token as a bearer only; a cookie here is a staff session's.
        let citizens = via == AuthVia::Bearer;
        let caller = match accounts::any_session(state.app(), &token, citizens).await? {
            Some(Session::Staff {
                session,
                csrf_token,
            }) => {
                let staff = Staff {
                    session,
                    via,
                    csrf_token,
                };
                require_csrf(parts, &staff)?;
                Caller::Staff(staff.session)
            }
            Some(Session::Citizen(citizen)) => Caller::Citizen(citizen),
            None => return Err(ApiError::App(AppError::Unauthenticated)),
        };
        Ok(SignedIn { caller, token })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(SignedIn::from_request_parts(parts, state).await?.caller)
    }
}
