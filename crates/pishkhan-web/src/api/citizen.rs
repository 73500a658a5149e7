//! Citizen sign-in with national code, mobile and a one-time code, and the citizen's own
//! bookings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pishkhan_app::AppError;
use pishkhan_app::citizens::{self, OTP_TTL_MS};
use pishkhan_domain::{Mobile, NationalCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bookings::BookingOut;
use super::types::{ProblemOut, rfc3339_ms};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, Ctx};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenCodeIn {
    #[schema(pattern = r"^[0-9]{10}$")]
    pub national_code: String,
    #[schema(pattern = r"^(\+98|0098|98|0)?9[0-9]{9}$")]
    pub mobile: String,
}

#[derive(Serialize, ToSchema)]
pub struct CodeOut {
    /// Seconds the code stays valid.
    pub expires_in_s: u32,
}

/// Send a one-time sign-in code by SMS to the citizen's mobile. Codes are limited per
/// national code, per mobile, per client address and in all; a refusal names the limit and
/// its `Retry-After` header says when to ask again.
#[utoipa::path(post, path = "/api/v1/citizen/code", tag = "citizen", request_body = CitizenCodeIn,
    responses((status = 202, body = CodeOut),
        (status = 422, body = ProblemOut, content_type = "application/problem+json"),
        (status = 429, body = ProblemOut, content_type = "application/problem+json",
            description = "too_many_codes_for_national_code, too_many_codes_for_mobile, too_many_codes_from_address or too_many_codes")))]
pub async fn request_code(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<CitizenCodeIn>,
) -> Result<impl IntoResponse, ApiError> {
    let national_code = NationalCode::parse(&input.national_code)?;
    let mobile = Mobile::parse(&input.mobile)?;
    citizens::send_code(state.app(), national_code, mobile, &ctx).await?;
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
    #[schema(pattern = r"^[0-9]{10}$")]
    pub national_code: String,
    #[schema(pattern = r"^(\+98|0098|98|0)?9[0-9]{9}$")]
    pub mobile: String,
    /// The six digits from the SMS (Persian digits accepted).
    #[schema(pattern = r"^[0-9۰-۹]{6}$")]
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
    let signed_in = citizens::sign_in(state.app(), &national_code, &mobile, &input.code, &ctx)
        .await
        .map_err(|e| match e {
            AppError::Gone(_) => ApiError::App(AppError::BadRequest {
                code: "code_expired",
                message: "no live code: ask for a new one".into(),
            }),
            other => other.into(),
        })?;
    Ok(Json(CitizenLoginOut {
        token: signed_in.token,
        expires_at: rfc3339_ms(signed_in.expires_at_ms),
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
