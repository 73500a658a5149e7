//! Inviting staff and activating their accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::types::{
    AcceptInvitationIn, InvitationOut, ProblemOut, StaffCreated, StaffOut, UserOut, rfc3339_ms,
};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Ctx};
use crate::input::NewStaffIn;
use pishkhan_app::accounts;
use pishkhan_domain::model::Username;

/// Invite a member of staff: the regulator for any office, a manager for their own.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = NewStaffIn,
    responses((status = 201, body = StaffCreated),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<NewStaffIn>,
) -> Result<impl IntoResponse, ApiError> {
    let new = input.parse()?;
    let invited = accounts::invite_staff(state.app(), &staff, new, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(StaffCreated {
            staff: StaffOut::from(&invited.record),
            invitation_url: invited.invitation_url,
            invitation_expires_at: rfc3339_ms(invited.expires_at_ms),
        }),
    ))
}

/// What an invitation link is for, before the password is set.
#[utoipa::path(get, path = "/api/v1/invitations/{token}", tag = "staff",
    params(("token" = String, Path)),
    responses((status = 200, body = InvitationOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 410, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn invitation(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<InvitationOut>, ApiError> {
    let info = accounts::invitation(state.app(), &token).await?;
    Ok(Json(InvitationOut {
        username: info.username.to_string(),
        first_name: info.first_name,
        last_name: info.last_name,
        role: info.role.code().to_string(),
        office: info.office.map(|o| o.to_string()),
        expires_at: rfc3339_ms(info.expires_at_ms),
    }))
}

/// Set a password through a one-time invitation; the account becomes active.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "staff",
    params(("token" = String, Path)), request_body = AcceptInvitationIn,
    responses((status = 200, body = UserOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 410, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn accept(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<AcceptInvitationIn>,
) -> Result<Json<UserOut>, ApiError> {
    let username = accounts::accept_invitation(state.app(), &token, &input.password, &ctx).await?;
    let record = state.store().staff_by_username(&username).await?;
    Ok(Json(UserOut {
        username: username.to_string(),
        role: record.staff.role.code().to_string(),
        office: record.staff.office.map(|o| o.to_string()),
    }))
}

/// Disable a member of staff's account: the regulator for anyone, a manager for their own
/// office's staff. Their sessions end at once and they can no longer sign in; disabling a
/// disabled account changes nothing.
#[utoipa::path(post, path = "/api/v1/staff/{username}/deactivate", tag = "staff",
    params(("username" = String, Path, description = "3 to 32 of a-z, 0-9, '.', '_' or '-', starting with a letter", pattern = r"^[A-Za-z][A-Za-z0-9._-]{2,31}$")),
    responses((status = 200, body = StaffOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<StaffOut>, ApiError> {
    let username = Username::parse(&username)?;
    let record = accounts::deactivate_staff(state.app(), &staff, &username, &ctx).await?;
    Ok(Json(StaffOut::from(&record)))
}
