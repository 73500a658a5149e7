//! Provinces, agencies, offices and the service catalogue.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pishkhan_app::offices;
use pishkhan_domain::access::Action;
use pishkhan_domain::input::OfficeInput;
use pishkhan_domain::model::{OfficeStatus, ServiceCode};
use serde::Deserialize;

use super::types::{
    AgencyOut, OfficeList, OfficeOut, ProblemOut, ProvinceOut, ServiceList, ServiceOut, StaffOut,
};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx};
use crate::input::{OfficeQuery, ServiceQuery, page_request, parse_office_code};
use pishkhan_app::AppError;

/// The 31 provinces with their office counts.
#[utoipa::path(get, path = "/api/v1/provinces", tag = "registry",
    responses((status = 200, body = [ProvinceOut])))]
pub async fn provinces(State(state): State<AppState>) -> Result<Json<Vec<ProvinceOut>>, ApiError> {
    let list = state.store().provinces().await?;
    Ok(Json(list.iter().map(ProvinceOut::from).collect()))
}

/// Agencies with their service counts.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "registry",
    responses((status = 200, body = [AgencyOut])))]
pub async fn agencies(State(state): State<AppState>) -> Result<Json<Vec<AgencyOut>>, ApiError> {
    let list = state.store().agencies().await?;
    Ok(Json(list.iter().map(AgencyOut::from).collect()))
}

/// Search offices.
#[utoipa::path(get, path = "/api/v1/offices", tag = "registry", params(OfficeQuery),
    responses((status = 200, body = OfficeList), (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn offices(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<OfficeQuery>,
) -> Result<Json<OfficeList>, ApiError> {
    let page = page_request(q.page.as_deref(), q.per_page.as_deref())?;
    let result = state.store().offices(&q.filter()?, page).await?;
    Ok(Json(OfficeList {
        items: result.items.iter().map(OfficeOut::from).collect(),
        total: result.total,
        page: page.page(),
        per_page: page.per_page(),
    }))
}

/// One office by its 8-digit code.
#[utoipa::path(get, path = "/api/v1/offices/{code}", tag = "registry",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")),
    responses((status = 200, body = OfficeOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn office(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<OfficeOut>, ApiError> {
    let office = state.store().office(parse_office_code(&code)?).await?;
    Ok(Json(OfficeOut::from(&office)))
}

/// A new office as `POST /api/v1/offices` takes it: the document of
/// `pishkhan_domain::input::OfficeInput`, which the handler reads (and which also takes the
/// numbers as text, as the CSV import does).
// Never built: it documents JSON that the domain parses.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeIn {
    /// 8-digit office code; left out, the next free one.
    #[schema(pattern = r"^[1-9][0-9]{7}$")]
    pub code: Option<String>,
    #[schema(min_length = 1, max_length = 300)]
    pub name_fa: String,
    #[schema(min_length = 1, max_length = 300)]
    pub name_en: String,
    #[schema(minimum = 1, maximum = 31)]
    pub province: u8,
    #[schema(min_length = 1, max_length = 300)]
    pub city_fa: String,
    #[schema(min_length = 1, max_length = 300)]
    pub city_en: String,
    #[schema(min_length = 1, max_length = 300)]
    pub address_fa: String,
    #[schema(min_length = 1, max_length = 300)]
    pub address_en: String,
    /// 10 digits, never a 2, none of the first five a 0, the fifth no 5.
    #[schema(pattern = r"^[13-9]{4}[134-9][013-9]{5}$")]
    pub postal_code: String,
    /// 11 digits from 0, an optional dash after the area code, such as 021-88776655.
    #[schema(pattern = r"^0[0-9]{2}-?[0-9]{8}$")]
    pub phone: String,
    /// Within Iran.
    #[schema(minimum = 24.0, maximum = 40.5)]
    pub lat: f64,
    #[schema(minimum = 44.0, maximum = 63.5)]
    pub lon: f64,
    #[schema(pattern = r"^[A-Za-z0-9/-]{1,32}$")]
    pub licence_no: String,
    /// Jalali YYYY-MM-DD; today when left out.
    #[schema(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub licence_issued: Option<String>,
    /// active when left out.
    #[schema(pattern = r"^(active|warned|suspended|revoked)$")]
    pub status: Option<String>,
    #[schema(minimum = 1, maximum = 200)]
    pub counters: u16,
    /// Seven `;`-separated days, Saturday first, each `HH:MM-HH:MM` or `closed`; the
    /// standard hours when left out.
    #[schema(
        pattern = r"^(closed|([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])(;(closed|([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])){6}$"
    )]
    pub hours: Option<String>,
}

/// Create an office (regulator only). Without `code`, the next free code is allocated.
#[utoipa::path(post, path = "/api/v1/offices", tag = "registry",
    request_body = OfficeIn,
    responses((status = 201, body = OfficeOut),
        (status = 401, body = ProblemOut, content_type = "application/problem+json"),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_office(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<OfficeInput>,
) -> Result<impl IntoResponse, ApiError> {
    let office = offices::create_office(state.app(), &staff, input, &ctx).await?;
    Ok((StatusCode::CREATED, Json(OfficeOut::from(&office))))
}

/// Staff of one office (its manager, or the regulator).
#[utoipa::path(get, path = "/api/v1/offices/{code}/staff", tag = "staff",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")),
    responses((status = 200, body = [StaffOut]), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn office_staff(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<StaffOut>>, ApiError> {
    let code = parse_office_code(&code)?;
    let permit = staff.permit(Action::ViewOfficeStaff { office: code })?;
    state.store().office(code).await?;
    let list = state.store().office_staff(&permit, code).await?;
    Ok(Json(list.iter().map(StaffOut::from).collect()))
}

/// Search the service catalogue.
#[utoipa::path(get, path = "/api/v1/services", tag = "registry", params(ServiceQuery),
    responses((status = 200, body = ServiceList), (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn services(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ServiceQuery>,
) -> Result<Json<ServiceList>, ApiError> {
    let page = page_request(q.page.as_deref(), q.per_page.as_deref())?;
    let result = state.store().services(&q.filter()?, page).await?;
    Ok(Json(ServiceList {
        items: result.items.iter().map(ServiceOut::from).collect(),
        total: result.total,
        page: page.page(),
        per_page: page.per_page(),
    }))
}

/// One catalogue service by code.
#[utoipa::path(get, path = "/api/v1/services/{code}", tag = "registry",
    params(("code" = String, Path, description = "service code, such as PSP-001", pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")),
    responses((status = 200, body = ServiceOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn service(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<ServiceOut>, ApiError> {
    let code =
        ServiceCode::parse(&code).map_err(|_| ApiError::App(AppError::NotFound("service")))?;
    let service = state.store().service(&code).await?;
    Ok(Json(ServiceOut::from(&service)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeStatusIn {
    /// active, warned, suspended or revoked.
    #[schema(pattern = r"^(active|warned|suspended|revoked)$")]
    pub status: String,
    /// Why, for the audit log and the office.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Change an office's status (regulator). A suspended or revoked office can no longer book,
/// run its queue or make inquiries.
#[utoipa::path(put, path = "/api/v1/offices/{code}/status", tag = "registry",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), request_body = OfficeStatusIn,
    responses((status = 204), (status = 403, body = super::types::ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = super::types::ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put_status(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<OfficeStatusIn>,
) -> Result<StatusCode, ApiError> {
    let code = parse_office_code(&code)?;
    let status = OfficeStatus::parse(input.status.trim()).ok_or_else(|| {
        ApiError::invalid(
            "invalid_status",
            "status",
            "use active, warned, suspended or revoked",
        )
    })?;
    offices::set_status(state.app(), &staff, code, status, &input.reason, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
