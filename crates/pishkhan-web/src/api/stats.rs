//! Public statistics: the online-service index and the once-only view, each as JSON or, with
//! `?format=csv`, as a CSV file. Handlers parse, call `pishkhan_app::stats` and render.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pishkhan_app::AppError;
use pishkhan_app::stats::{self, OnceOnly, OnlineServiceIndex, thousandths};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` (the default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

/// Whether the caller asked for CSV; anything but `json` or `csv` is refused.
fn wants_csv(q: &FormatQuery) -> Result<bool, ApiError> {
    match q.format.as_deref().map(str::trim) {
        // An empty value is a left-out one, as in every filter.
        None | Some("" | "json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => {
            Err(AppError::invalid("invalid_format", "format", "format is json or csv").into())
        }
    }
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Serialize, ToSchema)]
pub struct AgencyIndexOut {
    pub agency: String,
    pub name_fa: String,
    pub name_en: String,
    pub services: u32,
    /// 0..1, exactly `index_thousandths / 1000` (three decimals at most).
    pub index: f64,
    /// The index in thousandths, 0..=1000: the exact figure.
    pub index_thousandths: u32,
}

#[derive(Serialize, ToSchema)]
pub struct OnlineServiceIndexOut {
    /// 0..1, exactly `national_thousandths / 1000`.
    pub national: f64,
    pub national_thousandths: u32,
    pub services: u32,
    /// How the index is computed (English).
    pub formula: String,
    pub formula_fa: String,
    /// Highest index first.
    pub agencies: Vec<AgencyIndexOut>,
}

/// An integer in thousandths as the JSON number with the same three decimals: the decimal text
/// parses to the nearest double, which prints back as that same text.
fn ratio(v: u32) -> f64 {
    thousandths(v).parse().unwrap_or(0.0)
}

impl From<&OnlineServiceIndex> for OnlineServiceIndexOut {
    fn from(o: &OnlineServiceIndex) -> Self {
        let formula = stats::osi_formula();
        Self {
            national: ratio(o.national),
            national_thousandths: o.national,
            services: o.services,
            formula: formula.en,
            formula_fa: formula.fa,
            agencies: o
                .agencies
                .iter()
                .map(|a| AgencyIndexOut {
                    agency: a.agency.to_string(),
                    name_fa: a.name.fa.clone(),
                    name_en: a.name.en.clone(),
                    services: a.services,
                    index: ratio(a.index),
                    index_thousandths: a.index,
                })
                .collect(),
        }
    }
}

/// The online-service index, in the spirit of the UN EGDI's Online Service Index: computed
/// live from the catalogue (each service's digitization stage and channel, less a penalty per
/// document the citizen must bring), per agency and nationally, with its formula.
/// `?format=csv` gives `agency,name,services,index`, the nation first.
#[utoipa::path(get, path = "/api/v1/stats/online-service-index", tag = "stats",
    params(FormatQuery),
    responses((status = 200, description = "JSON, or text/csv with ?format=csv",
        content((OnlineServiceIndexOut = "application/json"), (String = "text/csv"))),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn online_service_index(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&q)?;
    let osi = stats::online_service_index(state.app()).await?;
    if csv {
        return Ok(csv_response("online-service-index", stats::osi_csv(&osi)));
    }
    Ok(Json(OnlineServiceIndexOut::from(&osi)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct OnceOnlyItemOut {
    pub service: String,
    pub service_title_fa: String,
    pub service_title_en: String,
    pub agency: String,
    /// The document's English text as the catalogue writes it.
    pub document: String,
    pub document_fa: String,
    /// The exchange's inquiry service that could replace it, such as `civil-registry.person`.
    pub replaced_by_inquiry: String,
    /// Estimated visits a year that bring the document: the service's bookings of the last
    /// 90 days scaled to a year and up by the walk-ins each booked visit stood for.
    pub yearly_visits: u64,
}

#[derive(Serialize, ToSchema)]
pub struct OnceOnlyOut {
    /// Most yearly visits first: the paper to abolish first.
    pub items: Vec<OnceOnlyItemOut>,
    /// The items' yearly visits summed: papers a year the exchange could spare.
    pub national_yearly_visits: u64,
}

impl From<&OnceOnly> for OnceOnlyOut {
    fn from(v: &OnceOnly) -> Self {
        Self {
            items: v
                .items
                .iter()
                .map(|i| OnceOnlyItemOut {
                    service: i.service.to_string(),
                    service_title_fa: i.title.fa.clone(),
                    service_title_en: i.title.en.clone(),
                    agency: i.agency.to_string(),
                    document: i.document.en.clone(),
                    document_fa: i.document.fa.clone(),
                    replaced_by_inquiry: i.inquiry.to_string(),
                    yearly_visits: i.yearly_visits,
                })
                .collect(),
            national_yearly_visits: v.yearly_visits,
        }
    }
}

/// The once-only view: for each service, each document it asks citizens to bring that an
/// inquiry the exchange already offers could replace, weighted by yearly visits.
/// `?format=csv` gives `service,document,replaced_by_inquiry,yearly_visits`, with the national
/// sum as a last `national` row.
#[utoipa::path(get, path = "/api/v1/stats/once-only", tag = "stats",
    params(FormatQuery),
    responses((status = 200, description = "JSON, or text/csv with ?format=csv",
        content((OnceOnlyOut = "application/json"), (String = "text/csv"))),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn once_only(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&q)?;
    let view = stats::once_only(state.app()).await?;
    if csv {
        return Ok(csv_response("once-only", stats::once_only_csv(&view)));
    }
    Ok(Json(OnceOnlyOut::from(&view)).into_response())
}
