//! Fees: a service's fee on a day (public), its tariff history, and publishing a tariff
//! (regulator). Handlers parse, call `pishkhan_app::fees` and render.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pishkhan_app::AppError;
use pishkhan_app::fees::{self, FeeQuote, TariffInput};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::fees::{FeeKind, Tariff};
use pishkhan_domain::model::ServiceCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx};

fn service_code(code: &str) -> Result<ServiceCode, ApiError> {
    ServiceCode::parse(code).map_err(|_| ApiError::App(AppError::NotFound("service")))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeeQuery {
    /// Jalali date, such as 1405-01-15; today (Tehran) when left out.
    #[param(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub date: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FeeComponentOut {
    /// government_fee, counter_fee or vat.
    pub kind: &'static str,
    /// agency, office or treasury.
    pub payee: &'static str,
    /// The agency's code, for a government fee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    pub amount_rials: i64,
}

#[derive(Serialize, ToSchema)]
pub struct FeeOut {
    pub service: String,
    /// The Jalali date quoted.
    pub date: String,
    /// The Jalali fiscal year of the tariff in force.
    pub tariff_year: i32,
    /// When that tariff took effect.
    pub effective_from: String,
    pub components: Vec<FeeComponentOut>,
    pub total_rials: i64,
}

impl From<&FeeQuote> for FeeOut {
    fn from(q: &FeeQuote) -> Self {
        Self {
            service: q.service.as_str().to_string(),
            date: q.date.to_string(),
            tariff_year: q.tariff_year,
            effective_from: q.effective_from.to_string(),
            components: q
                .components
                .iter()
                .map(|c| FeeComponentOut {
                    kind: c.kind.code(),
                    payee: c.payee.code(),
                    agency: c.agency.as_ref().map(|a| a.as_str().to_string()),
                    amount_rials: c.amount.get(),
                })
                .collect(),
            total_rials: q.total.get(),
        }
    }
}

/// A service's fee on a day: the components of the tariff in force and their total.
#[utoipa::path(get, path = "/api/v1/services/{code}/fee", tag = "fees",
    params(("code" = String, Path, description = "service code, such as NID-001", pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$"), FeeQuery),
    responses((status = 200, body = FeeOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json", description = "no such service, or no tariff in force that day"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn fee(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<FeeQuery>,
) -> Result<Json<FeeOut>, ApiError> {
    let code = service_code(&code)?;
    let date = q
        .date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(JalaliDate::parse)
        .transpose()
        .map_err(AppError::from)?;
    let quote = fees::quote(state.app(), &code, date).await?;
    Ok(Json(FeeOut::from(&quote)))
}

#[derive(Serialize, ToSchema)]
pub struct TariffComponentOut {
    pub kind: &'static str,
    pub payee: &'static str,
    pub amount_rials: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TariffOut {
    pub service: String,
    pub effective_from: String,
    pub fiscal_year: i32,
    pub components: Vec<TariffComponentOut>,
    pub total_rials: i64,
    pub basis: String,
    pub published_by: String,
    pub published_at_ms: i64,
}

impl From<&Tariff> for TariffOut {
    fn from(t: &Tariff) -> Self {
        Self {
            service: t.service.as_str().to_string(),
            effective_from: t.effective_from.to_string(),
            fiscal_year: t.fiscal_year(),
            components: t
                .components
                .iter()
                .map(|c| TariffComponentOut {
                    kind: c.kind.code(),
                    payee: c.kind.payee().code(),
                    amount_rials: c.amount.get(),
                })
                .collect(),
            total_rials: t.total().get(),
            basis: t.basis.clone(),
            published_by: t.published_by.clone(),
            published_at_ms: t.published_at_ms,
        }
    }
}

/// A service's tariffs, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/services/{code}/tariffs", tag = "fees",
    params(("code" = String, Path, description = "service code", pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")),
    responses((status = 200, body = [TariffOut]),
        (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn tariffs(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<TariffOut>>, ApiError> {
    let code = service_code(&code)?;
    let list = fees::history(state.app(), &code).await?;
    Ok(Json(list.iter().map(TariffOut::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffComponentIn {
    /// government_fee, counter_fee or vat.
    #[schema(pattern = r"^(government_fee|counter_fee|vat)$")]
    pub kind: String,
    /// Whole rials, 0 to 10,000,000,000,000.
    #[schema(minimum = 0, maximum = 10_000_000_000_000.0)]
    pub amount_rials: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffIn {
    /// Jalali date after today, such as 1406-01-01.
    #[schema(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub effective_from: String,
    /// One to eight components, each kind at most once.
    #[schema(min_items = 1, max_items = 8)]
    pub components: Vec<TariffComponentIn>,
    /// Why the tariff is set, for the record (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub basis: String,
}

/// Publish a service's tariff from a later date (regulator). Earlier tariffs are kept.
#[utoipa::path(post, path = "/api/v1/services/{code}/tariffs", tag = "fees",
    params(("code" = String, Path, description = "service code", pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")), request_body = TariffIn,
    responses((status = 201, body = TariffOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "tariff_exists"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<TariffIn>,
) -> Result<impl IntoResponse, ApiError> {
    let code = service_code(&code)?;
    let effective_from = JalaliDate::parse(input.effective_from.trim()).map_err(AppError::from)?;
    let components = input
        .components
        .iter()
        .map(|c| Ok((FeeKind::parse(c.kind.trim())?, c.amount_rials)))
        .collect::<Result<Vec<_>, AppError>>()?;
    let tariff = fees::publish(
        state.app(),
        &staff,
        &code,
        &TariffInput {
            effective_from,
            components,
            basis: input.basis,
        },
        &ctx,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(TariffOut::from(&tariff))))
}
