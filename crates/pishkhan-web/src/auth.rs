//! Sign-in: argon2id password hashes, random tokens, and resolving the caller of a request.
//!
//! A session has one secret token. API clients send it as `Authorization: Bearer …`; browsers
//! hold it in an HttpOnly, SameSite=Lax cookie. Only its SHA-256 is stored. A cookie-borne
//! request that changes state must also carry the session's CSRF token (a form field or the
//! `x-csrf-token` header), because a browser attaches cookies to cross-site requests.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use base64::Engine;
use pishkhan_domain::access::{Action, Denied, Permit, Principal, StaffActor, authorize};
use pishkhan_store::token_hash;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "pishkhan_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Hashes a password with argon2id and a fresh salt, as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Checks a password against a PHC string. A malformed hash never verifies.
pub fn verify_password(phc: &str, password: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash to verify against when the username is unknown, so that timing does not reveal
/// which usernames exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-not-used").unwrap_or_default())
}

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "weak_password",
            "password",
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "invalid_password",
            "password",
            format!("a password has at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// 32 random bytes, URL-safe base64: session tokens, CSRF tokens, invitation tokens.
/// Six random digits for an SMS code.
pub fn one_time_code() -> Result<String, ApiError> {
    let mut digits = [0u8; 4];
    getrandom::fill(&mut digits)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!("{:06}", u32::from_le_bytes(digits) % 1_000_000))
}

pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

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

/// The signed-in member of staff making this request.
#[derive(Debug, Clone)]
pub struct Staff {
    pub actor: StaffActor,
    pub via: AuthVia,
    pub csrf_token: String,
    pub token_hash: String,
}

impl Staff {
    pub fn principal(&self) -> Principal {
        Principal::Staff(self.actor.clone())
    }

    /// Asks the one authorization function for a permit.
    pub fn permit(&self, action: Action) -> Result<Permit, Denied> {
        authorize(&self.principal(), action)
    }

    /// For form posts: the hidden field must carry this session's CSRF token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), ApiError> {
        if self.via == AuthVia::Bearer || constant_time_eq(presented, &self.csrf_token) {
            Ok(())
        } else {
            Err(ApiError::Csrf)
        }
    }
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Finds the session token: the bearer header wins over the cookie.
fn presented_token(parts: &Parts) -> Option<(String, AuthVia)> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))?;
        return Some((token.trim().to_string(), AuthVia::Bearer));
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
    if token.len() > 256 {
        return Ok(None);
    }
    let hash = token_hash(&token);
    let Some(session) = state.store().session(&hash, state.now_ms()).await? else {
        return Ok(None);
    };
    Ok(Some(Staff {
        actor: session.actor,
        via,
        csrf_token: session.csrf_token,
        token_hash: hash,
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
            .ok_or(ApiError::Unauthenticated)?;
        // JSON API calls authenticated by cookie must prove they come from our pages.
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if staff.via == AuthVia::Cookie && unsafe_method && parts.uri.path().starts_with("/api/") {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            staff.check_csrf(presented)?;
        }
        Ok(staff)
    }
}

/// A citizen signed in with national code, mobile and a one-time code (bearer token only).
#[derive(Debug, Clone)]
pub struct Citizen {
    pub national_code: pishkhan_domain::NationalCode,
}

/// Whoever may act on bookings: a member of staff, or the citizen themself.
#[derive(Debug, Clone)]
pub enum Caller {
    Staff(Staff),
    Citizen(Citizen),
}

impl Caller {
    /// The signed-in citizen, for lists that are only a citizen's own (`not_a_citizen`
    /// otherwise).
    pub fn into_citizen(self) -> Result<Citizen, ApiError> {
        match self {
            Caller::Citizen(c) => Ok(c),
            Caller::Staff(_) => Err(ApiError::bad_request(
                "not_a_citizen",
                "this list is for signed-in citizens",
            )),
        }
    }

    /// The permit to book, move or cancel the booking of `national_code` at `office`: staff
    /// of that office (or the regulator), or that very citizen.
    pub fn booking_permit(
        &self,
        office: pishkhan_domain::model::OfficeCode,
        national_code: &pishkhan_domain::NationalCode,
    ) -> Result<Permit, Denied> {
        match self {
            Caller::Staff(s) => s.permit(Action::BookOnBehalf { office }),
            Caller::Citizen(c) => authorize(
                &Principal::Citizen(c.national_code.clone()),
                Action::BookAsCitizen {
                    national_code: national_code.clone(),
                },
            ),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(staff) = resolve(parts, state).await? {
            return Staff::from_request_parts(parts, state)
                .await
                .map(Caller::Staff)
                .or(Ok(Caller::Staff(staff)));
        }
        let Some((token, AuthVia::Bearer)) = presented_token(parts) else {
            return Err(ApiError::Unauthenticated);
        };
        let hash = token_hash(&token);
        match state.store().citizen_session(&hash, state.now_ms()).await? {
            Some((national_code, _mobile)) => Ok(Caller::Citizen(Citizen { national_code })),
            None => Err(ApiError::Unauthenticated),
        }
    }
}
