//! Citizen sign-in with national code, mobile and a one-time code, and the citizen's own
//! bookings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{OtpRequest, StoreError, token_hash};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bookings::BookingOut;
use super::types::{ProblemOut, rfc3339_ms};
use crate::AppState;
use crate::auth::{Caller, new_token};
use crate::error::ApiError;
use crate::extract::{ApiJson, Ctx};

/// How long a one-time code lives.
const OTP_TTL_MS: i64 = 120_000;
/// Shortest gap between two codes for one national code.
pub(crate) const OTP_MIN_INTERVAL_MS: i64 = 60_000;
/// Codes per national code per hour.
const OTP_MAX_PER_HOUR: u32 = 5;
pub(crate) const CITIZEN_SESSION_TTL_MS: i64 = 2 * 3600 * 1000;

/// Sends a new one-time code to `mobile` (through the outbox). `LimitReached` when the national
/// code asks too often. Shared by the API and the citizen pages.
pub(crate) async fn send_code(
    state: &AppState,
    national_code: NationalCode,
    mobile: Mobile,
    ctx: &pishkhan_store::AuditContext,
) -> Result<(), ApiError> {
    let code = crate::auth::one_time_code()?;
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
        Err(StoreError::LimitReached { .. }) => Err(ApiError::TooManyRequests {
            retry_after_s: (OTP_MIN_INTERVAL_MS / 1000) as u64,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Checks a one-time code; on success returns a new citizen session token. Errors:
/// `BadCode` for a wrong code, `Gone` when no code is live.
pub(crate) async fn sign_in(
    state: &AppState,
    national_code: &NationalCode,
    mobile: &Mobile,
    code: &str,
    ctx: &pishkhan_store::AuditContext,
) -> Result<String, ApiError> {
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
            StoreError::Expired(_) => ApiError::Gone("code"),
            other => other.into(),
        })?;
    if ok {
        Ok(token)
    } else {
        Err(ApiError::BadCode)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    pub national_code: String,
    pub mobile: String,
}

#[derive(Serialize, ToSchema)]
pub struct CodeOut {
    /// Seconds the code stays valid.
    pub expires_in_s: u32,
}

/// Send a one-time sign-in code by SMS to the citizen's mobile.
#[utoipa::path(post, path = "/api/v1/citizen/code", tag = "citizen", request_body = CodeIn,
    responses((status = 202, body = CodeOut),
        (status = 422, body = ProblemOut, content_type = "application/problem+json"),
        (status = 429, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn request_code(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<CodeIn>,
) -> Result<impl IntoResponse, ApiError> {
    let national_code = NationalCode::parse(&input.national_code)?;
    let mobile = Mobile::parse(&input.mobile)?;
    send_code(&state, national_code, mobile, &ctx).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeOut {
            expires_in_s: (OTP_TTL_MS / 1000) as u32,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenLoginIn {
    pub national_code: String,
    pub mobile: String,
    /// The six digits from the SMS (Persian digits accepted).
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct CitizenLoginOut {
    /// Bearer token for the citizen's own bookings.
    pub token: String,
    pub expires_at: String,
}

/// Exchange the one-time code for a citizen session.
#[utoipa::path(post, path = "/api/v1/citizen/login", tag = "citizen", request_body = CitizenLoginIn,
    responses((status = 200, body = CitizenLoginOut),
        (status = 400, body = ProblemOut, content_type = "application/problem+json", description = "code_expired"),
        (status = 401, body = ProblemOut, content_type = "application/problem+json", description = "wrong_code")))]
pub async fn login(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<CitizenLoginIn>,
) -> Result<Json<CitizenLoginOut>, ApiError> {
    let national_code = NationalCode::parse(&input.national_code)?;
    let mobile = Mobile::parse(&input.mobile)?;
    let token = sign_in(&state, &national_code, &mobile, &input.code, &ctx)
        .await
        .map_err(|e| match e {
            ApiError::Gone(_) => ApiError::BadRequest {
                code: "code_expired",
                message: "no live code: ask for a new one".into(),
            },
            other => other,
        })?;
    Ok(Json(CitizenLoginOut {
        token,
        expires_at: rfc3339_ms(ctx.now_ms + CITIZEN_SESSION_TTL_MS),
    }))
}

/// The signed-in citizen's bookings, latest first.
#[utoipa::path(get, path = "/api/v1/me/bookings", tag = "citizen",
    responses((status = 200, body = [BookingOut]), (status = 401, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn my_bookings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<BookingOut>>, ApiError> {
    let citizen = caller.into_citizen()?;
    let list = state
        .store()
        .citizen_bookings(&citizen.national_code)
        .await?;
    Ok(Json(list.iter().map(BookingOut::from).collect()))
}
