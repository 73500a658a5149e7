//! Citizen sign-in with national code, mobile and a one-time code sent by SMS through the
//! outbox, and resolving a citizen's session token.

use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{AuditContext, OtpRequest, SessionInvalidation, StoreError, token_hash};

use crate::secrets::{new_token, one_time_code};
use crate::{App, AppError, Citizen};

/// How long a one-time code lives.
pub const OTP_TTL_MS: i64 = 120_000;
/// Shortest gap between two codes for one national code.
pub const OTP_MIN_INTERVAL_MS: i64 = 60_000;
/// Codes per national code per hour.
const OTP_MAX_PER_HOUR: u32 = 5;
pub const CITIZEN_SESSION_TTL_MS: i64 = 2 * 3600 * 1000;

/// Sends a new one-time code to `mobile` (through the outbox). `TooManyRequests` when the
/// national code asks too often (`too_many_codes_for_national_code`, in the database), or
/// the mobile, the client's address or everyone together does (`too_many_codes_for_mobile`,
/// `too_many_codes_from_address`, `too_many_codes`: [`crate::otp_limiter`]).
pub async fn send_code(
    state: &App,
    national_code: NationalCode,
    mobile: Mobile,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let counted = crate::otp_limiter::count(
        state,
        mobile.as_str(),
        &crate::client_address::limit_key(ctx.ip.as_deref()),
    )
    .await?;
    let sent = request_code(state, national_code, mobile, ctx).await;
    if sent.is_err() {
        // No text went out: it must not use up the phone's or the address's allowance.
        if let Err(e) = crate::otp_limiter::uncount(state, counted).await {
            tracing::warn!(error = %e, "a code that was not sent could not be taken back from the limits");
        }
    }
    sent
}

async fn request_code(
    state: &App,
    national_code: NationalCode,
    mobile: Mobile,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let code = one_time_code()?;
    let request = OtpRequest {
        code_hash: token_hash(&format!("{}:{code}", national_code.as_str())),
        national_code,
        mobile,
        code,
        ttl_ms: OTP_TTL_MS,
        min_interval_ms: OTP_MIN_INTERVAL_MS,
        max_per_window: OTP_MAX_PER_HOUR,
        window_ms: 3600 * 1000,
    };
    match state.store().request_otp(&request, ctx).await {
        Ok(()) => Ok(()),
        Err(StoreError::LimitReached { rule }) => Err(AppError::TooManyRequests {
            code: "too_many_codes_for_national_code",
            message: rule,
            retry_after_s: (OTP_MIN_INTERVAL_MS / 1000) as u64,
        }),
        Err(e) => Err(e.into()),
    }
}

/// A new citizen session: its bearer token and when it ends.
pub struct SignedIn {
    pub token: String,
    pub expires_at_ms: i64,
}

/// Checks a one-time code; on success opens a citizen session. Errors: `BadCode` for a
/// wrong code, `Gone` when no code is live.
pub async fn sign_in(
    state: &App,
    national_code: &NationalCode,
    mobile: &Mobile,
    code: &str,
    ctx: &AuditContext,
) -> Result<SignedIn, AppError> {
    let code = pishkhan_domain::digits::to_ascii_digits(code.trim());
    let token = new_token()?;
    let ok = state
        .store()
        .verify_otp(
            national_code,
            mobile,
            &token_hash(&format!("{}:{code}", national_code.as_str())),
            &token_hash(&token),
            CITIZEN_SESSION_TTL_MS,
            ctx,
        )
        .await
        .map_err(|e| match e {
            StoreError::Expired(_) => AppError::Gone("code"),
            other => other.into(),
        })?;
    if ok {
        Ok(SignedIn {
            token,
            expires_at_ms: ctx.now_ms + CITIZEN_SESSION_TTL_MS,
        })
    } else {
        Err(AppError::BadCode)
    }
}

/// The citizen whose session `token` is, or `None` when no live session has it. A session
/// resolved recently comes from the session cache, without a database read.
pub async fn citizen_session(state: &App, token: &str) -> Result<Option<Citizen>, AppError> {
    if !crate::secrets::plausible_token(token) {
        return Ok(None);
    }
    let hash = token_hash(token);
    let now_ms = state.now_ms();
    let ticket = match state.sessions().citizen(&hash, now_ms) {
        Ok(cached) => return Ok(Some(cached)),
        Err(ticket) => ticket,
    };
    stored_citizen(state, &hash, ticket, now_ms).await
}

/// A cache miss: the citizen session `hash` names in the store, cached under `ticket`.
pub(crate) async fn stored_citizen(
    state: &App,
    hash: &str,
    ticket: crate::session_cache::Ticket,
    now_ms: i64,
) -> Result<Option<Citizen>, AppError> {
    let Some(session) = state.store().citizen_session(hash, now_ms).await? else {
        return Ok(None);
    };
    let citizen = Citizen {
        national_code: session.national_code,
        mobile: session.mobile,
    };
    state
        .sessions()
        .put_citizen(ticket, hash, citizen.clone(), session.expires_at_ms, now_ms);
    Ok(Some(citizen))
}

/// Ends the citizen session of `token` on the server, not just in one browser; audited.
pub async fn sign_out(state: &App, token: &str, ctx: &AuditContext) -> Result<(), AppError> {
    let hash = token_hash(token);
    state.store().end_citizen_session(&hash, ctx).await?;
    state.sessions().forget(&SessionInvalidation::Token(hash));
    Ok(())
}
