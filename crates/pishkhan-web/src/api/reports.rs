//! Citizens' reports about offices: filing, the citizen's own list, the regulator's triage,
//! the citizen's additions and the office's answers. Handlers parse, call
//! `pishkhan_app::reports` and render.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pishkhan_app::AppError;
use pishkhan_app::reports::{self, ReportRequest, SubmitView};
use pishkhan_domain::model::OfficeCode;
use pishkhan_store::{
    Report, ReportCategory, ReportEntry, ReportFilter, ReportStatus, ReportThread, TriageDecision,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::{ProblemOut, rfc3339_ms};
use crate::AppState;
use crate::auth::{Caller, Staff};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx};
use crate::input::page_request;

fn report_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::App(AppError::NotFound("report")))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIn {
    /// The office's 8-digit code.
    #[schema(pattern = r"^[1-9][0-9]{7}$")]
    pub office: String,
    /// crowding, no_appointments, overcharging, misconduct, service_refused or other.
    #[schema(
        pattern = r"^(crowding|no_appointments|overcharging|misconduct|service_refused|other)$"
    )]
    pub category: String,
    /// What happened: 10 to 2,000 characters once trimmed.
    #[schema(
        pattern = r"^\s*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]{8,1998}[^\s\u0000-\u001F\u007F-\u009F]\s*$"
    )]
    pub text: String,
    /// The tracking code of one's own booking at that office, if the report is about it;
    /// blank is the same as left out.
    #[schema(pattern = r"^(\s*|[2-9A-HJKMNP-Za-hjkmnp-z]{4}-?[2-9A-HJKMNP-Za-hjkmnp-z]{4})$")]
    pub booking: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportCreatedOut {
    pub id: i64,
    /// submitted, more_asked, accepted, rejected or answered.
    pub status: &'static str,
    /// True when this was added to your earlier report of the same office and category
    /// (within 7 days) instead of making a new one.
    pub folded: bool,
}

impl From<&SubmitView> for ReportCreatedOut {
    fn from(v: &SubmitView) -> Self {
        Self {
            id: v.id,
            status: v.status.code(),
            folded: v.folded,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReportEntryOut {
    pub at: String,
    /// citizen, regulator or office.
    pub party: &'static str,
    /// report, fold, triage, addition or answer.
    pub kind: String,
    /// accept, reject or ask_more, on a triage entry.
    pub decision: Option<&'static str>,
    pub text: String,
}

impl From<&ReportEntry> for ReportEntryOut {
    fn from(e: &ReportEntry) -> Self {
        Self {
            at: rfc3339_ms(e.at_ms),
            party: e.party.code(),
            kind: e.kind.clone(),
            decision: e.decision.map(|d| d.code()),
            text: e.text.clone(),
        }
    }
}

/// A report. Who made it is never shown: a report must be safe to make.
#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    pub id: i64,
    pub office: String,
    pub category: &'static str,
    pub text: String,
    pub booking: Option<String>,
    pub status: &'static str,
    /// Repeats folded into it.
    pub folded: u32,
    pub created_at: String,
    pub updated_at: String,
    /// The thread, oldest first (only on a single report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<ReportEntryOut>>,
}

impl From<&Report> for ReportOut {
    fn from(r: &Report) -> Self {
        Self {
            id: r.id,
            office: r.office.to_string(),
            category: r.category.code(),
            text: r.text.clone(),
            booking: r.booking.clone(),
            status: r.status.code(),
            folded: r.folded,
            created_at: rfc3339_ms(r.created_at_ms),
            updated_at: rfc3339_ms(r.updated_at_ms),
            entries: None,
        }
    }
}

impl From<&ReportThread> for ReportOut {
    fn from(t: &ReportThread) -> Self {
        Self {
            entries: Some(t.entries.iter().map(ReportEntryOut::from).collect()),
            ..ReportOut::from(&t.report)
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReportList {
    pub items: Vec<ReportOut>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// Report an office, as a signed-in citizen. At most 3 reports a day and 10 a month; a
/// report of the same office and category within 7 days of your open one is added to it
/// (`folded`). You are texted at every step.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = ReportIn,
    responses((status = 201, body = ReportCreatedOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json", description = "not_a_citizen"),
        (status = 401, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "unknown_office, booking_not_yours, invalid_report_category, invalid_text_length, control_character"),
        (status = 429, body = ProblemOut, content_type = "application/problem+json", description = "too_many_reports_today or too_many_reports_this_month, with Retry-After")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<ReportIn>,
) -> Result<impl IntoResponse, ApiError> {
    let citizen = caller.into_citizen()?;
    let req = ReportRequest {
        office: OfficeCode::parse(&input.office)?,
        category: ReportCategory::parse(&input.category)?,
        text: input.text,
        booking: input.booking,
    };
    let view = reports::submit(state.app(), &citizen, req, &ctx).await?;
    Ok((StatusCode::CREATED, Json(ReportCreatedOut::from(&view))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// submitted, more_asked, accepted, rejected or answered.
    #[param(pattern = r"^(submitted|more_asked|accepted|rejected|answered)$")]
    pub status: Option<String>,
    /// An office's code (a manager sees only their own).
    #[param(pattern = r"^[1-9][0-9]{7}$")]
    pub office: Option<String>,
    #[param(
        pattern = r"^(crowding|no_appointments|overcharging|misconduct|service_refused|other)$"
    )]
    pub category: Option<String>,
    #[param(pattern = r"^([1-9][0-9]{0,5}|1000000)$")]
    pub page: Option<String>,
    /// At most 100.
    #[param(pattern = r"^([1-9]|[1-9][0-9]|100)$")]
    pub per_page: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ReportQuery {
    fn filter(&self) -> Result<ReportFilter, ApiError> {
        Ok(ReportFilter {
            status: non_empty(&self.status)
                .map(ReportStatus::parse)
                .transpose()?,
            office: non_empty(&self.office).map(OfficeCode::parse).transpose()?,
            category: non_empty(&self.category)
                .map(ReportCategory::parse)
                .transpose()?,
            ..ReportFilter::default()
        })
    }
}

async fn listing(
    state: &AppState,
    caller: &Caller,
    q: &ReportQuery,
) -> Result<Json<ReportList>, ApiError> {
    let page = page_request(q.page.as_deref(), q.per_page.as_deref())?;
    let result = reports::list(state.app(), caller, q.filter()?, page).await?;
    Ok(Json(ReportList {
        items: result.items.iter().map(ReportOut::from).collect(),
        total: result.total,
        page: page.page(),
        per_page: page.per_page(),
    }))
}

/// Reports, the latest change first: every report for the regulator; the accepted and
/// answered reports of their own office for a manager.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, body = ReportList),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<ReportList>, ApiError> {
    listing(&state, &Caller::Staff(staff.session), &q).await
}

/// The signed-in citizen's own reports with their status.
#[utoipa::path(get, path = "/api/v1/me/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, body = ReportList),
        (status = 403, body = ProblemOut, content_type = "application/problem+json", description = "not_a_citizen"),
        (status = 401, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<ReportList>, ApiError> {
    let citizen = caller.into_citizen()?;
    listing(&state, &Caller::Citizen(citizen), &q).await
}

/// One report with its thread (the report, additions, the regulator's notes, the office's
/// answers): its citizen, the regulator, or its office's manager once accepted.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "report number", pattern = r"^[0-9]{1,18}$")),
    responses((status = 200, body = ReportOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReportOut>, ApiError> {
    let thread = reports::get(state.app(), &caller, report_id(&id)?).await?;
    Ok(Json(ReportOut::from(&thread)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageIn {
    /// accept, reject or ask_more.
    #[schema(pattern = r"^(accept|reject|ask_more)$")]
    pub decision: String,
    /// Up to 500 characters; needed to reject (why) or to ask for more (what).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

/// The regulator's decision on a submitted report; the citizen is texted.
#[utoipa::path(post, path = "/api/v1/reports/{id}/triage", tag = "reports",
    params(("id" = String, Path, description = "report number", pattern = r"^[0-9]{1,18}$")),
    request_body = TriageIn,
    responses((status = 200, body = ReportOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "report_not_submitted"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "invalid_decision, note_required")),
    security(("bearer" = [])))]
pub async fn triage(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<TriageIn>,
) -> Result<Json<ReportOut>, ApiError> {
    let decision = TriageDecision::parse(&input.decision)?;
    let r = reports::triage(
        state.app(),
        &staff,
        report_id(&id)?,
        decision,
        &input.note,
        &ctx,
    )
    .await?;
    Ok(Json(ReportOut::from(&r)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportTextIn {
    /// 10 to 2,000 characters once trimmed.
    #[schema(
        pattern = r"^\s*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]{8,1998}[^\s\u0000-\u001F\u007F-\u009F]\s*$"
    )]
    pub text: String,
}

/// The office manager's answer to an accepted report about their office (also while the
/// office is suspended); the citizen is texted.
#[utoipa::path(post, path = "/api/v1/reports/{id}/answer", tag = "reports",
    params(("id" = String, Path, description = "report number", pattern = r"^[0-9]{1,18}$")),
    request_body = ReportTextIn,
    responses((status = 200, body = ReportOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "report_not_accepted"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn answer(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReportTextIn>,
) -> Result<Json<ReportOut>, ApiError> {
    let r = reports::answer(state.app(), &staff, report_id(&id)?, &input.text, &ctx).await?;
    Ok(Json(ReportOut::from(&r)))
}

/// The citizen adds to their report when the regulator asked for more; it goes back to the
/// regulator.
#[utoipa::path(post, path = "/api/v1/reports/{id}/more", tag = "reports",
    params(("id" = String, Path, description = "report number", pattern = r"^[0-9]{1,18}$")),
    request_body = ReportTextIn,
    responses((status = 200, body = ReportOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "report_not_asked"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn more(
    State(state): State<AppState>,
    caller: Caller,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReportTextIn>,
) -> Result<Json<ReportOut>, ApiError> {
    let citizen = caller.into_citizen()?;
    let r = reports::add_more(state.app(), &citizen, report_id(&id)?, &input.text, &ctx).await?;
    Ok(Json(ReportOut::from(&r)))
}
