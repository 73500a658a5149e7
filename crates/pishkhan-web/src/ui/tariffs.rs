//! The regulator's tariff pages: import a CPI series, run an indexation, review the proposal
//! as a diff, change single rows with a reason, publish. Handlers parse, call
//! `pishkhan_app::indexation` and render.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use pishkhan_app::AppError;
use pishkhan_app::indexation::{self, RunInput};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Action;
use pishkhan_domain::fees::FeeKind;
use pishkhan_domain::indexation::{ProposalRow, parse_cpi_csv};
use pishkhan_domain::model::ServiceCode;
use pishkhan_store::IndexationRun;
use serde::Deserialize;

use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;

/// Rows of a run's diff shown per page.
const ROWS_PER_PAGE: usize = 50;
/// The rounding choices the run form offers, per kind.
const ROUNDINGS: [&str; 6] = [
    "up_1000",
    "up_10000",
    "nearest_1000",
    "nearest_100",
    "up_100",
    "down_1000",
];

fn regulator(page: &PageCtx) -> Result<&crate::auth::Staff, UiError> {
    let staff = page.require_staff()?;
    staff
        .permit(Action::PublishTariff)
        .map_err(|d| page.fail(ApiError::App(AppError::Forbidden(d))))?;
    Ok(staff)
}

/// A factor in thousandths as people write it: "۱٫۲۵۰" / "1.250".
fn factor_text(milli: i64, t: &Tr) -> String {
    let sep = match t.lang {
        pishkhan_domain::model::Lang::Fa => "٫",
        pishkhan_domain::model::Lang::En => ".",
    };
    t.num(format!("{}{sep}{:03}", milli / 1_000, milli % 1_000))
}

#[derive(Deserialize, Default)]
pub struct CpiForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    csv: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    cpi_import: String,
    #[serde(default)]
    fiscal_year: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    floor: String,
    #[serde(default)]
    cap: String,
    #[serde(default)]
    round_government_fee: String,
    #[serde(default)]
    round_counter_fee: String,
    #[serde(default)]
    round_vat: String,
}

#[derive(Template)]
#[template(path = "tariffs.html")]
struct TariffsPage {
    chrome: Chrome,
    source: String,
    csv: String,
    run: RunForm,
    rules: Vec<(&'static str, String)>,
    roundings: Vec<(&'static str, String)>,
    kinds: Vec<(&'static str, String)>,
    imported: Option<String>,
    error: Option<String>,
    line_errors: Vec<String>,
    /// (link, number, year, rule, factor, status) of the latest runs.
    runs: Vec<(String, String, String, String, String, String)>,
}

fn tariffs_page(page: &PageCtx, source: String, csv: String, run: RunForm) -> TariffsPage {
    let t = page.t;
    TariffsPage {
        chrome: page.chrome("tariffs"),
        source,
        csv,
        run,
        rules: ["point_to_point", "twelve_month_average"]
            .into_iter()
            .map(|r| (r, t.t(format!("rule_{r}"))))
            .collect(),
        roundings: ROUNDINGS
            .into_iter()
            .map(|r| (r, t.t(format!("rounding_{r}"))))
            .collect(),
        kinds: FeeKind::ALL
            .into_iter()
            .map(|k| (k.code(), t.text(k.title())))
            .collect(),
        imported: None,
        error: None,
        line_errors: Vec::new(),
        runs: Vec::new(),
    }
}

/// Fills the page's list of the latest runs.
async fn with_runs(
    state: &AppState,
    page: &PageCtx,
    staff: &crate::auth::Staff,
    mut view: TariffsPage,
) -> Result<TariffsPage, UiError> {
    let t = page.t;
    view.runs = indexation::recent_runs(state.app(), staff)
        .await
        .map_err(|e| page.fail(ApiError::App(e)))?
        .into_iter()
        .map(|r| {
            let status = match r.effective_from {
                Some(d) if r.published => {
                    format!("{} · {}", t.t("run_published"), d.format_long(t.lang))
                }
                _ => t.t("run_proposed"),
            };
            (
                format!("/tariffs/runs/{}", r.id),
                t.num(r.id),
                t.num(r.fiscal_year),
                t.t(format!("rule_{}", r.rule.code())),
                factor_text(r.factor_milli, &t),
                status,
            )
        })
        .collect();
    Ok(view)
}

fn default_run(today: JalaliDate) -> RunForm {
    RunForm {
        fiscal_year: (today.year() + 1).to_string(),
        rule: "twelve_month_average".into(),
        floor: "1.000".into(),
        cap: "1.500".into(),
        round_government_fee: "up_1000".into(),
        round_counter_fee: "up_1000".into(),
        round_vat: "nearest_100".into(),
        ..RunForm::default()
    }
}

pub async fn form(State(state): State<AppState>, page: PageCtx) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    let today = pishkhan_domain::tehran::jalali_today(state.now());
    let view = tariffs_page(&page, String::new(), String::new(), default_run(today));
    Ok(render(&with_runs(&state, &page, staff, view).await?))
}

pub async fn import_cpi(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<CpiForm>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let t = page.t;
    let today = pishkhan_domain::tehran::jalali_today(state.now());
    let mut view = tariffs_page(
        &page,
        form.source.clone(),
        form.csv.clone(),
        default_run(today),
    );
    // A bad file is shown line by line in the page's language.
    if let Err(lines) = parse_cpi_csv(&form.csv) {
        view.line_errors = lines
            .iter()
            .map(|e| {
                format!(
                    "{} {}: {}",
                    t.t("cpi_line"),
                    t.num(e.line),
                    t.t(format!("cpi_{}", e.code))
                )
            })
            .collect();
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&view)).into_response());
    }
    match indexation::import_cpi(state.app(), staff, &form.source, &form.csv, &ctx).await {
        Ok(imported) => {
            let ym = |p: Option<&pishkhan_domain::indexation::CpiPoint>| {
                p.map(|p| t.num(format!("{}-{:02}", p.year, p.month)))
                    .unwrap_or_default()
            };
            view.imported = Some(format!(
                "{} {} · {} {} ({} – {})",
                t.t("cpi_imported"),
                t.num(imported.id),
                t.num(imported.points.len()),
                t.t("cpi_months"),
                ym(imported.points.first()),
                ym(imported.points.last()),
            ));
            view.run.cpi_import = imported.id.to_string();
            view.source = String::new();
            view.csv = String::new();
            Ok(render(&view))
        }
        Err(e) => {
            let e = ApiError::App(e);
            view.error = Some(t.problem_message(&e));
            Ok((e.status(), render(&view)).into_response())
        }
    }
}

/// "1.250" or "1250" (thousandths) into thousandths.
fn milli(s: &str) -> Option<i64> {
    let s = pishkhan_domain::digits::to_ascii_digits(s.trim());
    match s.split_once('.') {
        Some((w, f)) if f.len() <= 3 && !w.is_empty() => {
            let w: i64 = w.parse().ok()?;
            let f: i64 = format!("{f:0<3}").parse().ok()?;
            w.checked_mul(1_000)?.checked_add(f)
        }
        Some(_) => None,
        None => {
            let n: i64 = s.parse().ok()?;
            Some(if n < 100 { n * 1_000 } else { n })
        }
    }
}

pub async fn create_run(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<RunForm>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let t = page.t;
    let number = |s: &str| {
        pishkhan_domain::digits::to_ascii_digits(s.trim())
            .parse()
            .ok()
    };
    let rounding: BTreeMap<String, String> = [
        ("government_fee", &form.round_government_fee),
        ("counter_fee", &form.round_counter_fee),
        ("vat", &form.round_vat),
    ]
    .into_iter()
    .filter(|(_, r)| !r.is_empty())
    .map(|(k, r)| (k.to_string(), r.clone()))
    .collect();
    let outcome = match (
        number(&form.cpi_import),
        number(&form.fiscal_year),
        milli(&form.floor),
        milli(&form.cap),
    ) {
        (Some(cpi_import), Some(year), Some(floor_milli), Some(cap_milli)) => {
            indexation::run(
                state.app(),
                staff,
                &RunInput {
                    cpi_import,
                    fiscal_year: i32::try_from(year).unwrap_or(0),
                    rule: form.rule.clone(),
                    floor_milli,
                    cap_milli,
                    rounding,
                },
                &ctx,
            )
            .await
        }
        _ => Err(AppError::invalid(
            "bad_run_form",
            "cpi_import",
            "the series number, year, floor and cap are numbers",
        )),
    };
    match outcome {
        Ok(run) => Ok(Redirect::to(&format!("/tariffs/runs/{}", run.id)).into_response()),
        Err(e) => {
            let e = ApiError::App(e);
            let mut view = tariffs_page(&page, String::new(), String::new(), form);
            view.error = Some(t.problem_message(&e));
            Ok((e.status(), render(&view)).into_response())
        }
    }
}

/// One row of the diff as shown.
struct RowView {
    service: String,
    service_code: String,
    kind: String,
    old: String,
    proposed: String,
    final_amount: String,
    change: String,
    edited: Option<String>,
}

#[derive(Template)]
#[template(path = "tariff_run.html")]
struct RunPage {
    chrome: Chrome,
    id: i64,
    published: bool,
    summary: Vec<(String, String)>,
    rows: Vec<RowView>,
    kinds: Vec<(&'static str, String)>,
    earlier: Option<String>,
    later: Option<String>,
    error: Option<String>,
    effective_default: String,
}

#[derive(Deserialize)]
pub struct RunQuery {
    page: Option<String>,
}

async fn run_page(
    state: &AppState,
    page: &PageCtx,
    run: &IndexationRun,
    page_no: usize,
    error: Option<String>,
) -> Result<RunPage, UiError> {
    let t = page.t;
    let lang = t.lang;
    let status = if run.published {
        "run_published"
    } else {
        "run_proposed"
    };
    let mut summary = vec![
        (t.t("run_status"), t.t(status)),
        (t.t("fiscal_year"), t.num(run.fiscal_year)),
        (t.t("run_rule"), t.t(format!("rule_{}", run.rule.code()))),
        (
            t.t("run_factor"),
            format!(
                "{} ({} {} – {})",
                factor_text(run.factor.applied_milli, &t),
                t.t("run_raw"),
                factor_text(run.factor.raw_milli, &t),
                format_args!(
                    "{} {} / {}",
                    t.t("run_limits"),
                    factor_text(run.floor_milli, &t),
                    factor_text(run.cap_milli, &t)
                )
            ),
        ),
        (t.t("run_series"), t.num(run.import_id)),
        (t.t("run_digest"), run.digest.chars().take(16).collect()),
    ];
    if let Some(d) = run.effective_from {
        summary.push((t.t("effective_from"), d.format_long(lang)));
    }
    let start = page_no.saturating_sub(1) * ROWS_PER_PAGE;
    let mut rows = Vec::new();
    for r in run.rows.iter().skip(start).take(ROWS_PER_PAGE) {
        let title = state
            .store()
            .service(&r.service)
            .await
            .map(|s| t.text(&s.title))
            .unwrap_or_else(|_| r.service.as_str().to_string());
        let change_bp = ProposalRow {
            service: r.service.clone(),
            kind: r.kind,
            old: r.old,
            proposed: r.final_amount,
        }
        .change_bp();
        rows.push(RowView {
            service: title,
            service_code: t.num(r.service.as_str()),
            kind: t.text(r.kind.title()),
            old: r.old.format_rials(lang),
            proposed: r.proposed.format_rials(lang),
            final_amount: r.final_amount.format_rials(lang),
            change: t.num(format!(
                "{}{}.{:02}{}",
                if change_bp < 0 { "−" } else { "+" },
                change_bp.abs() / 100,
                change_bp.abs() % 100,
                if lang == pishkhan_domain::model::Lang::Fa {
                    '٪'
                } else {
                    '%'
                }
            )),
            edited: r.edit_reason.clone(),
        });
    }
    let pages = run.rows.len().div_ceil(ROWS_PER_PAGE).max(1);
    Ok(RunPage {
        chrome: page.chrome("tariffs"),
        id: run.id,
        published: run.published,
        summary,
        rows,
        kinds: FeeKind::ALL
            .into_iter()
            .map(|k| (k.code(), t.text(k.title())))
            .collect(),
        earlier: (page_no > 1).then(|| format!("/tariffs/runs/{}?page={}", run.id, page_no - 1)),
        later: (page_no < pages).then(|| format!("/tariffs/runs/{}?page={}", run.id, page_no + 1)),
        error,
        effective_default: format!("{}-01-01", run.fiscal_year),
    })
}

fn run_id(page: &PageCtx, id: &str) -> Result<i64, UiError> {
    id.parse()
        .ok()
        .filter(|n: &i64| *n > 0)
        .ok_or_else(|| page.fail(ApiError::App(AppError::NotFound("indexation run"))))
}

pub async fn show_run(
    State(state): State<AppState>,
    page: PageCtx,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RunQuery>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    let id = run_id(&page, &id)?;
    let run = indexation::get_run(state.app(), staff, id)
        .await
        .map_err(|e| page.fail(ApiError::App(e)))?;
    let page_no = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    Ok(render(&run_page(&state, &page, &run, page_no, None).await?))
}

#[derive(Deserialize, Default)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

pub async fn edit_row(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<EditForm>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = run_id(&page, &id)?;
    let amount = pishkhan_domain::digits::to_ascii_digits(form.amount.trim())
        .replace([',', '٬'], "")
        .parse::<i64>()
        .map_err(|_| AppError::invalid("bad_amount", "amount_rials", "the amount is whole rials"));
    let outcome = async {
        let service = ServiceCode::parse(form.service.trim())?;
        let kind = FeeKind::parse(form.kind.trim())?;
        indexation::edit_row(
            state.app(),
            staff,
            id,
            &service,
            kind,
            amount?,
            &form.reason,
            &ctx,
        )
        .await
    }
    .await;
    finish(&state, &page, staff, id, outcome).await
}

#[derive(Deserialize, Default)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    effective_from: String,
}

pub async fn publish(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<PublishForm>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = run_id(&page, &id)?;
    let outcome = match JalaliDate::parse(&pishkhan_domain::digits::to_ascii_digits(
        form.effective_from.trim(),
    )) {
        Ok(from) => indexation::publish(state.app(), staff, id, from, &ctx).await,
        Err(e) => Err(e.into()),
    };
    finish(&state, &page, staff, id, outcome).await
}

/// After a change: back to the run, or the run with the refusal in the page's language.
async fn finish(
    state: &AppState,
    page: &PageCtx,
    staff: &crate::auth::Staff,
    id: i64,
    outcome: Result<IndexationRun, AppError>,
) -> Result<Response, UiError> {
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/tariffs/runs/{id}")).into_response()),
        Err(e) => {
            let e = ApiError::App(e);
            let message = page.t.problem_message(&e);
            let run = indexation::get_run(state.app(), staff, id)
                .await
                .map_err(|e| page.fail(ApiError::App(e)))?;
            let view = run_page(state, page, &run, 1, Some(message)).await?;
            Ok((e.status(), render(&view)).into_response())
        }
    }
}
