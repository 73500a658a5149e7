//! Which services each counter of an office handles. The queue calls a counter only for its
//! services, and a slot's capacity for a service counts only the counters that handle it.

use axum::Json;
use axum::extract::State;
use pishkhan_app::offices::{self, CounterSetting};
use pishkhan_domain::model::ServiceCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Ctx};
use crate::input::parse_office_code;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterIo {
    /// 1 up to the office's counter count (at most 200).
    #[schema(minimum = 1, maximum = 200)]
    pub counter: u16,
    /// The services this counter handles; absent or null: every service.
    #[schema(value_type = Option<Vec<super::types::ServiceCodeDoc>>)]
    pub services: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountersIo {
    /// Empty: every counter handles every service.
    pub counters: Vec<CounterIo>,
}

/// The office's counters and the services each handles.
#[utoipa::path(get, path = "/api/v1/offices/{code}/counters", tag = "schedule",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), responses((status = 200, body = CountersIo)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<CountersIo>, ApiError> {
    let office = state.store().office(parse_office_code(&code)?).await?;
    let set = state.store().office_counters(office.code).await?;
    Ok(Json(CountersIo {
        counters: set
            .into_iter()
            .map(|(counter, only)| CounterIo {
                counter,
                services: only.map(|s| s.iter().map(|c| c.as_str().to_string()).collect()),
            })
            .collect(),
    }))
}

/// Set which services each counter handles (the office's manager, or the regulator).
#[utoipa::path(put, path = "/api/v1/offices/{code}/counters", tag = "schedule",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), request_body = CountersIo,
    responses((status = 200, body = CountersIo), (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<CountersIo>,
) -> Result<Json<CountersIo>, ApiError> {
    let code = parse_office_code(&code)?;
    let mut settings = Vec::with_capacity(input.counters.len());
    for c in &input.counters {
        let services = match &c.services {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|s| {
                        ServiceCode::parse(s)
                            .map_err(|e| ApiError::invalid(e.code, "services", e.message))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        settings.push(CounterSetting {
            counter: c.counter,
            services,
        });
    }
    offices::set_counters(state.app(), &staff, code, settings, &ctx).await?;
    Ok(Json(input))
}
