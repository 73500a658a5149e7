//! Indexing fees to inflation (regulator): CPI imports, indexation runs and their proposals,
//! row edits with a reason, publishing. Handlers parse, call `pishkhan_app::indexation` and
//! render.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pishkhan_app::AppError;
use pishkhan_app::indexation::{self, RunInput};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::fees::FeeKind;
use pishkhan_domain::indexation::ProposalRow;
use pishkhan_domain::model::ServiceCode;
use pishkhan_store::{CpiImport, IndexationRun};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Ctx};

fn run_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::App(AppError::NotFound("indexation run")))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CpiImportIn {
    /// Where the series comes from, such as "Statistical Centre of Iran, Esfand 1404".
    #[schema(min_length = 1, max_length = 300)]
    pub source: String,
    /// CSV text: a header `year,month,index`, then one Jalali month per line.
    pub csv: String,
}

#[derive(Serialize, ToSchema)]
pub struct CpiImportOut {
    pub id: i64,
    pub source: String,
    /// SHA-256 of the series, hex.
    pub digest: String,
    pub months: usize,
    /// First and last month, `YYYY-MM`.
    pub first: String,
    pub last: String,
    pub imported_by: String,
}

impl From<&CpiImport> for CpiImportOut {
    fn from(c: &CpiImport) -> Self {
        let ym = |p: Option<&pishkhan_domain::indexation::CpiPoint>| {
            p.map(|p| format!("{}-{:02}", p.year, p.month))
                .unwrap_or_default()
        };
        Self {
            id: c.id,
            source: c.source.clone(),
            digest: c.digest.clone(),
            months: c.points.len(),
            first: ym(c.points.first()),
            last: ym(c.points.last()),
            imported_by: c.imported_by.clone(),
        }
    }
}

/// Import a monthly CPI series (regulator). A bad file is refused whole with each bad line.
#[utoipa::path(post, path = "/api/v1/cpi-imports", tag = "fees", request_body = CpiImportIn,
    responses((status = 201, body = CpiImportOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "bad_cpi_file: the detail lists every bad line")),
    security(("bearer" = [])))]
pub async fn import_cpi(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<CpiImportIn>,
) -> Result<impl IntoResponse, ApiError> {
    let imported =
        indexation::import_cpi(state.app(), &staff, &input.source, &input.csv, &ctx).await?;
    Ok((StatusCode::CREATED, Json(CpiImportOut::from(&imported))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunIn {
    pub cpi_import: i64,
    /// The Jalali fiscal year proposed: this year or next.
    pub fiscal_year: i32,
    /// point_to_point (Esfand over Esfand) or twelve_month_average.
    #[schema(pattern = r"^(point_to_point|twelve_month_average)$")]
    pub rule: String,
    /// Lowest factor in thousandths, at least 1000 (fees never fall).
    #[schema(minimum = 1000, maximum = 10_000)]
    pub floor_milli: i64,
    /// Highest factor in thousandths, at least the floor.
    #[schema(minimum = 1000, maximum = 10_000)]
    pub cap_milli: i64,
    /// Per kind, a rule such as up_1000; default up_1000.
    #[serde(default)]
    #[schema(value_type = RoundingDoc)]
    pub rounding: BTreeMap<String, String>,
}

/// The rounding of each fee kind, as `RunIn.rounding` takes it.
// Never built: it documents JSON that the domain parses.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundingDoc {
    #[schema(
        nullable = false,
        pattern = r"^(up|nearest|down)_(1|10|100|1000|10000)$"
    )]
    pub government_fee: Option<String>,
    #[schema(
        nullable = false,
        pattern = r"^(up|nearest|down)_(1|10|100|1000|10000)$"
    )]
    pub counter_fee: Option<String>,
    #[schema(
        nullable = false,
        pattern = r"^(up|nearest|down)_(1|10|100|1000|10000)$"
    )]
    pub vat: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FactorOut {
    pub from_milli: i64,
    pub to_milli: i64,
    pub raw_milli: i64,
    pub applied_milli: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RunRowOut {
    pub service: String,
    pub kind: &'static str,
    pub old_rials: i64,
    pub proposed_rials: i64,
    /// What publishing will set: the proposal unless changed with a reason.
    pub final_rials: i64,
    /// Change from old to final, in hundredths of a per cent.
    pub change_bp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RunOut {
    pub id: i64,
    pub cpi_import: i64,
    pub fiscal_year: i32,
    pub rule: &'static str,
    pub floor_milli: i64,
    pub cap_milli: i64,
    pub rounding: String,
    pub factor: FactorOut,
    /// SHA-256 of the proposal's canonical form: equal inputs give an equal digest.
    pub digest: String,
    /// proposed or published.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<String>,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_by: Option<String>,
    pub rows: Vec<RunRowOut>,
}

impl From<&IndexationRun> for RunOut {
    fn from(r: &IndexationRun) -> Self {
        Self {
            id: r.id,
            cpi_import: r.import_id,
            fiscal_year: r.fiscal_year,
            rule: r.rule.code(),
            floor_milli: r.floor_milli,
            cap_milli: r.cap_milli,
            rounding: r.rounding.clone(),
            factor: FactorOut {
                from_milli: r.factor.from_milli,
                to_milli: r.factor.to_milli,
                raw_milli: r.factor.raw_milli,
                applied_milli: r.factor.applied_milli,
            },
            digest: r.digest.clone(),
            status: if r.published { "published" } else { "proposed" },
            effective_from: r.effective_from.map(|d| d.to_string()),
            created_by: r.created_by.clone(),
            published_by: r.published_by.clone(),
            rows: r
                .rows
                .iter()
                .map(|x| RunRowOut {
                    service: x.service.as_str().to_string(),
                    kind: x.kind.code(),
                    old_rials: x.old.get(),
                    proposed_rials: x.proposed.get(),
                    final_rials: x.final_amount.get(),
                    change_bp: ProposalRow {
                        service: x.service.clone(),
                        kind: x.kind,
                        old: x.old,
                        proposed: x.final_amount,
                    }
                    .change_bp(),
                    edit_reason: x.edit_reason.clone(),
                    edited_by: x.edited_by.clone(),
                })
                .collect(),
        }
    }
}

/// Run an indexation rule over a CPI import and store the proposal (regulator).
#[utoipa::path(post, path = "/api/v1/indexation-runs", tag = "fees", request_body = RunIn,
    responses((status = 201, body = RunOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_run(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<RunIn>,
) -> Result<impl IntoResponse, ApiError> {
    let run = indexation::run(
        state.app(),
        &staff,
        &RunInput {
            cpi_import: input.cpi_import,
            fiscal_year: input.fiscal_year,
            rule: input.rule.trim().to_string(),
            floor_milli: input.floor_milli,
            cap_milli: input.cap_milli,
            rounding: input.rounding,
        },
        &ctx,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(RunOut::from(&run))))
}

/// An indexation run with its proposal as a diff (regulator).
#[utoipa::path(get, path = "/api/v1/indexation-runs/{id}", tag = "fees",
    params(("id" = i64, Path, minimum = 1)),
    responses((status = 200, body = RunOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_run(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RunOut>, ApiError> {
    let run = indexation::get_run(state.app(), &staff, run_id(&id)?).await?;
    Ok(Json(RunOut::from(&run)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowEditIn {
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service: String,
    #[schema(pattern = r"^(government_fee|counter_fee|vat)$")]
    pub kind: String,
    #[schema(minimum = 0, maximum = 10_000_000_000_000.0)]
    pub amount_rials: i64,
    /// Why the row departs from the rule (1 to 300 characters).
    #[schema(min_length = 1, max_length = 300)]
    pub reason: String,
}

/// Change one row of a proposed run, with a reason (regulator).
#[utoipa::path(put, path = "/api/v1/indexation-runs/{id}/rows", tag = "fees",
    params(("id" = i64, Path, minimum = 1)), request_body = RowEditIn,
    responses((status = 200, body = RunOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "run_published"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn edit_row(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RowEditIn>,
) -> Result<Json<RunOut>, ApiError> {
    let service = ServiceCode::parse(input.service.trim()).map_err(AppError::from)?;
    let kind = FeeKind::parse(input.kind.trim()).map_err(AppError::from)?;
    let run = indexation::edit_row(
        state.app(),
        &staff,
        run_id(&id)?,
        &service,
        kind,
        input.amount_rials,
        &input.reason,
        &ctx,
    )
    .await?;
    Ok(Json(RunOut::from(&run)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRunIn {
    /// A Jalali date of the run's fiscal year, after today.
    #[schema(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub effective_from: String,
}

/// Publish a run's final amounts as tariffs from a date (regulator).
#[utoipa::path(post, path = "/api/v1/indexation-runs/{id}/publish", tag = "fees",
    params(("id" = i64, Path, minimum = 1)), request_body = PublishRunIn,
    responses((status = 200, body = RunOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "run_published or tariff_exists"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<PublishRunIn>,
) -> Result<Json<RunOut>, ApiError> {
    let from = JalaliDate::parse(input.effective_from.trim()).map_err(AppError::from)?;
    let run = indexation::publish(state.app(), &staff, run_id(&id)?, from, &ctx).await?;
    Ok(Json(RunOut::from(&run)))
}
