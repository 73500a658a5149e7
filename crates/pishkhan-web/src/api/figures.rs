//! Daily figures per office (bookings, check-ins, no-shows, walk-ins, waiting and service
//! times, the booked share): one office for its manager, every office for the regulator's
//! compliance view.

use axum::Json;
use axum::extract::State;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_queue::DailyFigures;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::input::{page_request, parse_office_code};

#[derive(Serialize, ToSchema)]
pub struct FiguresOut {
    pub office: String,
    /// Jalali day, YYYY-MM-DD.
    pub date: String,
    /// Bookings for the day, not counting cancelled ones.
    pub bookings: u32,
    pub cancelled: u32,
    /// Bookings checked in on time.
    pub check_ins: u32,
    /// Bookings checked in after their window (served from the walk-in line).
    pub late_arrivals: u32,
    pub no_shows: u32,
    pub walk_ins: u32,
    pub completed: u32,
    /// Called tickets that did not come to the counter.
    pub missed_calls: u32,
    pub avg_wait_s: Option<u64>,
    pub max_wait_s: Option<u64>,
    pub avg_service_s: Option<u64>,
    /// Share of visits that came with a booking, 0..1.
    pub booked_share: Option<f64>,
}

impl FiguresOut {
    fn new(office: String, date: String, f: DailyFigures) -> Self {
        Self {
            office,
            date,
            bookings: f.bookings,
            cancelled: f.cancelled,
            check_ins: f.check_ins,
            late_arrivals: f.late_arrivals,
            no_shows: f.no_shows,
            walk_ins: f.walk_ins,
            completed: f.completed,
            missed_calls: f.missed_calls,
            avg_wait_s: f.avg_wait_s,
            max_wait_s: f.max_wait_s,
            avg_service_s: f.avg_service_s,
            booked_share: f.booked_share,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// Jalali day, YYYY-MM-DD; today by default.
    #[param(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub date: Option<String>,
    #[param(pattern = r"^([1-9][0-9]{0,5}|1000000)$")]
    pub page: Option<String>,
    #[param(pattern = r"^([1-9]|[1-9][0-9]|100)$")]
    pub per_page: Option<String>,
}

/// One office's day: no paging, the answer is one row.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfficeDayQuery {
    /// Jalali day, YYYY-MM-DD; today by default.
    #[param(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub date: Option<String>,
}

fn day_of(state: &AppState, date: Option<&str>) -> Result<JalaliDate, ApiError> {
    match date.map(str::trim).filter(|s| !s.is_empty()) {
        Some(d) => JalaliDate::parse(d).map_err(|e| ApiError::invalid(e.code, "date", e.message)),
        None => Ok(jalali_today(state.now())),
    }
}

/// One office's figures for a day, computed from its queue log and bookings as of now.
#[utoipa::path(get, path = "/api/v1/offices/{code}/figures", tag = "figures",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), OfficeDayQuery),
    responses((status = 200, body = FiguresOut), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn office(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<OfficeDayQuery>,
) -> Result<Json<FiguresOut>, ApiError> {
    let code = parse_office_code(&code)?;
    let day = day_of(&state, q.date.as_deref())?;
    let figures = pishkhan_app::queue::figures(state.app(), &staff, code, day).await?;
    Ok(Json(FiguresOut::new(
        code.to_string(),
        day.to_string(),
        figures,
    )))
}

#[derive(Serialize, ToSchema)]
pub struct FiguresRowOut {
    #[serde(flatten)]
    pub figures: FiguresOut,
    /// When the office's queue last changed them (RFC 3339).
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct FiguresList {
    pub items: Vec<FiguresRowOut>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// Every office's stored figures for a day: the compliance read model, written by each
/// queue change and by the day-closing sweep.
#[utoipa::path(get, path = "/api/v1/figures/daily", tag = "figures",
    params(DayQuery),
    responses((status = 200, body = FiguresList), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn daily(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> Result<Json<FiguresList>, ApiError> {
    let day = day_of(&state, q.date.as_deref())?;
    let page = page_request(q.page.as_deref(), q.per_page.as_deref())?;
    let found = pishkhan_app::queue::daily_figures(state.app(), &staff, day, page).await?;
    let items = found
        .items
        .into_iter()
        .map(|row| FiguresRowOut {
            figures: FiguresOut::new(row.office.to_string(), row.day.to_string(), row.figures),
            updated_at: pishkhan_app::appointments::instant(row.updated_at_ms)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        })
        .collect();
    Ok(Json(FiguresList {
        items,
        total: found.total,
        page: page.page(),
        per_page: page.per_page(),
    }))
}
