//! Sign-in and sign-out for API clients and browsers.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::{LoginIn, LoginOut, ProblemOut, UserOut, rfc3339_ms};
use crate::AppState;
use crate::auth::{self, SignedIn, Staff};
use crate::error::ApiError;
use crate::extract::{ApiJson, Ctx};
use pishkhan_app::accounts;

/// Sign in with username and password. Returns a bearer token and sets the session cookie.
/// Failed attempts slow down further ones from the same address: for that username, and for
/// any; a refusal's `Retry-After` header says when to try again.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = LoginOut),
        (status = 401, body = ProblemOut, content_type = "application/problem+json"),
        (status = 429, body = ProblemOut, content_type = "application/problem+json",
            description = "too_many_failed_sign_ins or too_many_failed_sign_ins_from_address")))]
pub async fn login(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<LoginIn>,
) -> Result<impl IntoResponse, ApiError> {
    let done = accounts::login(state.app(), &input.username, &input.password, &ctx).await?;
    let cookie = auth::session_cookie(
        &done.token,
        state.config().app.session_ttl_s,
        state.config().cookie_secure,
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(LoginOut {
            token: done.token,
            token_type: "Bearer".into(),
            expires_at: rfc3339_ms(done.expires_at_ms),
            csrf_token: done.csrf_token,
            user: UserOut {
                username: done.record.staff.username.to_string(),
                role: done.record.staff.role.code().to_string(),
                office: done.record.staff.office.map(|o| o.to_string()),
            },
        }),
    ))
}

/// End the current session: a member of staff's (bearer or cookie) or a citizen's (bearer).
/// The token is refused from the next request on, by every server process within a second.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Ctx(ctx): Ctx,
) -> Result<impl IntoResponse, ApiError> {
    accounts::sign_out(state.app(), &signed_in.caller, &signed_in.token, &ctx).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            auth::clear_session_cookie(state.config().cookie_secure),
        )],
    ))
}

/// The signed-in member of staff.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = UserOut), (status = 401, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn me(staff: Staff) -> Json<UserOut> {
    Json(UserOut {
        username: staff.actor.username.to_string(),
        role: staff.actor.role.code().to_string(),
        office: staff.actor.office.map(|o| o.to_string()),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordIn {
    pub current_password: String,
    /// 8 to 128 characters, different from the current one.
    pub new_password: String,
}

/// Change the signed-in member's own password. Every session of theirs ends, this one
/// included: sign in again with the new password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = ChangePasswordIn,
    responses((status = 204),
        (status = 401, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json",
            description = "wrong_password, same_password, weak_password or invalid_password"),
        (status = 429, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<ChangePasswordIn>,
) -> Result<impl IntoResponse, ApiError> {
    accounts::change_password(
        state.app(),
        &staff,
        &input.current_password,
        &input.new_password,
        &ctx,
    )
    .await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            auth::clear_session_cookie(state.config().cookie_secure),
        )],
    ))
}
