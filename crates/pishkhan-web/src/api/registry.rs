//! Provinces, agencies, offices and the service catalogue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pishkhan_domain::access::Action;
use pishkhan_domain::input::{OfficeDefaults, OfficeInput};
use pishkhan_domain::model::{
    AgencyCode, Category, Channel, Digitization, OfficeCode, OfficeStatus, ServiceCode,
};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{OfficeFilter, PageRequest, ServiceFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use super::types::{
    AgencyOut, OfficeList, OfficeOut, ProblemOut, ProvinceOut, ServiceList, ServiceOut, StaffOut,
};
use crate::AppState;
use crate::actions;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Ctx};

/// Parses `page` and `per_page`, refusing values over the cap rather than clamping them.
pub fn page_request(page: Option<&str>, per_page: Option<&str>) -> Result<PageRequest, ApiError> {
    let parse = |v: Option<&str>,
                 default: u32,
                 field: &'static str,
                 code: &'static str|
     -> Result<u32, ApiError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => pishkhan_domain::digits::to_ascii_digits(s)
                .parse::<u32>()
                .map_err(|_| {
                    ApiError::invalid(
                        code,
                        field,
                        format!("{field} must be a positive whole number"),
                    )
                }),
        }
    };
    let page = parse(page, 1, "page", "invalid_page")?;
    let per_page = parse(per_page, 20, "per_page", "invalid_page_size")?;
    Ok(PageRequest::new(page, per_page)?)
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Deserialize, IntoParams)]
pub struct OfficeQuery {
    /// Free text: name, city, address or code. Persian spelling variants match.
    pub q: Option<String>,
    /// Province id, 1..=31.
    pub province: Option<String>,
    /// active, warned, suspended or revoked.
    pub status: Option<String>,
    pub page: Option<String>,
    /// 1..=100, default 20.
    pub per_page: Option<String>,
}

impl OfficeQuery {
    pub fn filter(&self) -> Result<OfficeFilter, ApiError> {
        let province = match non_empty(&self.province) {
            None => None,
            Some(p) => {
                let n: u8 = pishkhan_domain::digits::to_ascii_digits(p)
                    .parse()
                    .ok()
                    .filter(|n| (1..=31).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("invalid_province", "province", "province must be 1..=31")
                    })?;
                Some(n)
            }
        };
        let status = match non_empty(&self.status) {
            None => None,
            Some(s) => Some(OfficeStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_status",
                    "status",
                    "status is one of active, warned, suspended, revoked",
                )
            })?),
        };
        Ok(OfficeFilter {
            q: non_empty(&self.q).map(|q| q.chars().take(100).collect()),
            province,
            status,
        })
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ServiceQuery {
    /// Free text: code or title. Persian spelling variants match.
    pub q: Option<String>,
    /// Agency code, such as `nocr`.
    pub agency: Option<String>,
    pub category: Option<String>,
    /// networked, in_progress or not_started.
    pub digitization: Option<String>,
    /// counter, online or both.
    pub channel: Option<String>,
    pub page: Option<String>,
    /// 1..=100, default 20.
    pub per_page: Option<String>,
}

impl ServiceQuery {
    pub fn filter(&self) -> Result<ServiceFilter, ApiError> {
        Ok(ServiceFilter {
            q: non_empty(&self.q).map(|q| q.chars().take(100).collect()),
            agency: non_empty(&self.agency).map(AgencyCode::parse).transpose()?,
            category: non_empty(&self.category)
                .map(|c| {
                    Category::parse(c).ok_or_else(|| {
                        ApiError::invalid("invalid_category", "category", "unknown category")
                    })
                })
                .transpose()?,
            digitization: non_empty(&self.digitization)
                .map(|d| {
                    Digitization::parse(d).ok_or_else(|| {
                        ApiError::invalid(
                            "invalid_digitization",
                            "digitization",
                            "digitization is one of networked, in_progress, not_started",
                        )
                    })
                })
                .transpose()?,
            channel: non_empty(&self.channel)
                .map(|c| {
                    Channel::parse(c).ok_or_else(|| {
                        ApiError::invalid(
                            "invalid_channel",
                            "channel",
                            "channel is one of counter, online, both",
                        )
                    })
                })
                .transpose()?,
        })
    }
}

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

pub fn parse_office_code(code: &str) -> Result<OfficeCode, ApiError> {
    OfficeCode::parse(code).map_err(|_| ApiError::NotFound("office"))
}

/// One office by its 8-digit code.
#[utoipa::path(get, path = "/api/v1/offices/{code}", tag = "registry",
    params(("code" = String, Path, description = "8-digit office code")),
    responses((status = 200, body = OfficeOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn office(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<OfficeOut>, ApiError> {
    let office = state.store().office(parse_office_code(&code)?).await?;
    Ok(Json(OfficeOut::from(&office)))
}

/// Create an office (regulator only). Without `code`, the next free code is allocated.
#[utoipa::path(post, path = "/api/v1/offices", tag = "registry",
    request_body(content = Object, description = "code?, name_fa, name_en, province, city_fa, city_en, address_fa, address_en, postal_code, phone, lat, lon, licence_no, licence_issued? (Jalali), status?, counters, hours? (seven ';'-separated days, Saturday first)"),
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
    // Refuse before reading anything else, so non-regulators learn nothing from validation.
    staff.permit(Action::CreateOffice)?;
    let allocate = !matches!(&input.code, Some(c) if !c.trim().is_empty());
    let defaults = OfficeDefaults {
        // A placeholder the store replaces with the next free code, inside its transaction.
        code: allocate.then_some(OfficeCode::from_u32(OfficeCode::MIN)?),
        licence_issued: jalali_today(state.now()),
    };
    let office = input.parse(&defaults)?;
    let office = actions::create_office(&state, &staff, &office, allocate, &ctx).await?;
    Ok((StatusCode::CREATED, Json(OfficeOut::from(&office))))
}

/// Staff of one office (its manager, or the regulator).
#[utoipa::path(get, path = "/api/v1/offices/{code}/staff", tag = "staff",
    params(("code" = String, Path, description = "8-digit office code")),
    responses((status = 200, body = [StaffOut]), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn office_staff(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
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
    params(("code" = String, Path, description = "service code, such as PSP-001")),
    responses((status = 200, body = ServiceOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn service(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<ServiceOut>, ApiError> {
    let code = ServiceCode::parse(&code).map_err(|_| ApiError::NotFound("service"))?;
    let service = state.store().service(&code).await?;
    Ok(Json(ServiceOut::from(&service)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeStatusIn {
    /// active, warned, suspended or revoked.
    pub status: String,
    /// Why, for the audit log and the office.
    pub reason: String,
}

/// Change an office's status (regulator). A suspended or revoked office can no longer book,
/// run its queue or make inquiries.
#[utoipa::path(put, path = "/api/v1/offices/{code}/status", tag = "registry",
    params(("code" = String, Path)), request_body = OfficeStatusIn,
    responses((status = 204), (status = 403, body = super::types::ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = super::types::ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put_status(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<OfficeStatusIn>,
) -> Result<StatusCode, ApiError> {
    let code = parse_office_code(&code)?;
    let permit = staff.permit(Action::ChangeOfficeStatus { office: code })?;
    let status =
        pishkhan_domain::model::OfficeStatus::parse(input.status.trim()).ok_or_else(|| {
            ApiError::invalid(
                "invalid_status",
                "status",
                "use active, warned, suspended or revoked",
            )
        })?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::invalid(
            "invalid_reason",
            "reason",
            "give a reason of at most 500 characters",
        ));
    }
    state
        .store()
        .set_office_status(&permit, code, status, reason, &ctx)
        .await?;
    state.refs().forget_office(code);
    Ok(StatusCode::NO_CONTENT)
}
