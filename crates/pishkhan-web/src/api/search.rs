//! Finding a slot: by province and city, or "the earliest free slot for this service near
//! me", ordered by distance, then time.

use axum::Json;
use axum::extract::State;
use pishkhan_app::search::SlotSearch;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::ServiceCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The service wanted.
    #[param(required = true, pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service: Option<String>,
    /// Province id, 1–31.
    pub province: Option<String>,
    /// City name in Persian or English (matched after Persian normalization).
    pub city: Option<String>,
    /// The citizen's position: both or neither.
    pub lat: Option<String>,
    pub lon: Option<String>,
    /// Jalali first day; tomorrow by default.
    #[param(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub from: Option<String>,
    /// Days to look ahead (1–31, default 14).
    #[param(pattern = r"^([1-9]|[12][0-9]|3[01])$")]
    pub days: Option<String>,
    /// Results (1–20, default 10).
    #[param(pattern = r"^([1-9]|1[0-9]|20)$")]
    pub limit: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SlotMatchOut {
    pub office: String,
    pub office_name_fa: String,
    pub office_name_en: String,
    pub city_fa: String,
    pub city_en: String,
    /// Kilometres from the given position (great-circle).
    pub distance_km: Option<f64>,
    /// The earliest free slot, RFC 3339.
    pub start: String,
    pub end: String,
    /// Jalali date of that slot.
    pub date: String,
    pub available: u32,
}

#[derive(Serialize, ToSchema)]
pub struct SearchOut {
    pub service: String,
    pub results: Vec<SlotMatchOut>,
}

fn number<T: std::str::FromStr>(
    v: &Option<String>,
    field: &'static str,
    code: &'static str,
) -> Result<Option<T>, ApiError> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            pishkhan_domain::digits::to_ascii_digits(s)
                .parse::<T>()
                .map_err(|_| ApiError::invalid(code, field, format!("{field} is not a number")))
        })
        .transpose()
}

/// Offices with a free slot for a service: near a position (by distance, then time), or in a
/// province and city (by time).
#[utoipa::path(get, path = "/api/v1/search/slots", tag = "bookings", params(SearchQuery),
    responses((status = 200, body = SearchOut), (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn slots(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchOut>, ApiError> {
    let code = q
        .service
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("missing_field", "service", "service is required"))?;
    let code =
        ServiceCode::parse(code).map_err(|e| ApiError::invalid(e.code, "service", e.message))?;
    let service =
        state.store().service(&code).await.map_err(|_| {
            ApiError::invalid("unknown_service", "service", "no service has this code")
        })?;
    let search = SlotSearch {
        lat: number(&q.lat, "lat", "invalid_position")?,
        lon: number(&q.lon, "lon", "invalid_position")?,
        province: number(&q.province, "province", "invalid_province")?,
        city: q.city.clone(),
        days: number(&q.days, "days", "invalid_days")?,
        limit: number(&q.limit, "limit", "invalid_limit")?,
        from: match q.from.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(f) => Some(
                JalaliDate::parse(f).map_err(|e| ApiError::invalid(e.code, "from", e.message))?,
            ),
            None => None,
        },
    };
    let found = pishkhan_app::search::slots(state.app(), &service, &search).await?;
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    Ok(Json(SearchOut {
        service: service.code.to_string(),
        results: found
            .into_iter()
            .map(|m| SlotMatchOut {
                office: m.office.code.to_string(),
                office_name_fa: m.office.name.fa.clone(),
                office_name_en: m.office.name.en.clone(),
                city_fa: m.office.city.fa.clone(),
                city_en: m.office.city.en.clone(),
                distance_km: m.distance_km,
                start: fmt(m.slot.start),
                end: fmt(m.slot.end),
                date: m.date.to_string(),
                available: m.available,
            })
            .collect(),
    }))
}
