//! Which services each counter of an office handles. The queue calls a counter only for its
//! services, and a slot's capacity for a service counts only the counters that handle it.

use axum::Json;
use axum::extract::{Path, State};
use pishkhan_domain::access::Action;
use pishkhan_domain::model::ServiceCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::registry::parse_office_code;
use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, Ctx};

/// Services one counter may list, at most.
const MAX_SERVICES_PER_COUNTER: usize = 200;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterIo {
    /// 1 up to the office's counter count.
    pub counter: u16,
    /// The services this counter handles; absent or null: every service.
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
    params(("code" = String, Path)), responses((status = 200, body = CountersIo)))]
pub async fn get(
    State(state): State<AppState>,
    Path(code): Path<String>,
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
    params(("code" = String, Path)), request_body = CountersIo,
    responses((status = 200, body = CountersIo), (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<CountersIo>,
) -> Result<Json<CountersIo>, ApiError> {
    let code = parse_office_code(&code)?;
    let permit = staff.permit(Action::ConfigureSchedule { office: code })?;
    let office = state.store().office(code).await?;
    let mut seen = std::collections::BTreeSet::new();
    let mut parsed = Vec::with_capacity(input.counters.len());
    for c in &input.counters {
        if !(1..=office.counters).contains(&c.counter) || !seen.insert(c.counter) {
            return Err(ApiError::invalid(
                "invalid_counter",
                "counters",
                format!(
                    "counters are numbered 1..={} and listed once each",
                    office.counters
                ),
            ));
        }
        let services = match &c.services {
            None => None,
            Some(list) => {
                if list.is_empty() || list.len() > MAX_SERVICES_PER_COUNTER {
                    return Err(ApiError::invalid(
                        "invalid_services",
                        "services",
                        "list 1 to 200 services, or leave it out for every service",
                    ));
                }
                let mut out = Vec::with_capacity(list.len());
                for s in list {
                    let sc = ServiceCode::parse(s)
                        .map_err(|e| ApiError::invalid(e.code, "services", e.message))?;
                    state.store().service(&sc).await.map_err(|_| {
                        ApiError::invalid("unknown_service", "services", format!("no service {s}"))
                    })?;
                    out.push(sc);
                }
                Some(out)
            }
        };
        parsed.push((c.counter, services));
    }
    state
        .store()
        .set_office_counters(&permit, code, &parsed, &ctx)
        .await?;
    state.refs().forget_office(code);
    Ok(Json(input))
}
