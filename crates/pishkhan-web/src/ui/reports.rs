//! Citizens' reports as pages: the citizen's "report this office" form and their reports with
//! each one's thread (and the form to add more when asked); the regulator's triage list with
//! filters; the office manager's list with the answer form. Each page calls
//! `pishkhan_app::reports` and renders.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_app::reports::{self, ReportRequest};
use pishkhan_domain::access::Action;
use pishkhan_domain::model::{OfficeCode, Role};
use pishkhan_domain::report::ReportCategory;
use pishkhan_store::{
    PageRequest, Report, ReportFilter, ReportStatus, ReportThread, TriageDecision,
};
use serde::Deserialize;

use super::citizen::CitizenCtx;
use super::{Chrome, PageCtx, Pager, UiError, render};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;
use crate::input::page_request;
use pishkhan_app::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/citizen/reports", get(citizen_list).post(citizen_file))
        .route("/citizen/reports/new", get(citizen_form))
        .route("/citizen/reports/{id}/more", post(citizen_more))
        .route("/reports", get(staff_list))
        .route("/reports/{id}/triage", post(staff_triage))
        .route("/reports/{id}/answer", post(staff_answer))
}

/// Most reports one citizen page shows (the limits allow ten a month).
const CITIZEN_LISTED: u32 = 50;

fn report_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::App(AppError::NotFound("report")))
}

fn badge(s: ReportStatus) -> &'static str {
    match s {
        ReportStatus::Submitted | ReportStatus::MoreAsked => "badge-warned",
        ReportStatus::Accepted => "badge-active",
        ReportStatus::Rejected => "badge-revoked",
        ReportStatus::Answered => "badge-networked",
    }
}

pub struct EntryView {
    pub who: String,
    pub when: String,
    pub decision: Option<String>,
    pub text: String,
}

pub struct ReportCard {
    pub id: i64,
    pub number: String,
    pub office: String,
    pub office_code: String,
    pub category: String,
    pub status_code: &'static str,
    pub status: String,
    pub badge: &'static str,
    pub created: String,
    pub booking: Option<String>,
    pub folded: Option<String>,
    pub entries: Vec<EntryView>,
    /// Which form the card carries for this viewer.
    pub can_add: bool,
    pub can_triage: bool,
    pub can_answer: bool,
}

/// Office names for the offices a page shows (a page holds at most a page of reports).
async fn office_names(state: &AppState, t: Tr, reports: &[&Report]) -> HashMap<OfficeCode, String> {
    let mut names = HashMap::new();
    for r in reports {
        if names.contains_key(&r.office) {
            continue;
        }
        if let Ok(o) = state.store().office(r.office).await {
            names.insert(r.office, t.text(&o.name));
        }
    }
    names
}

fn card(
    t: Tr,
    names: &HashMap<OfficeCode, String>,
    th: &ReportThread,
    viewer: Viewer,
) -> ReportCard {
    let r = &th.report;
    ReportCard {
        id: r.id,
        number: t.num(r.id),
        office: names.get(&r.office).cloned().unwrap_or_default(),
        office_code: t.num(r.office),
        category: t.t(format!("rep_cat_{}", r.category.code())),
        status_code: r.status.code(),
        status: t.t(format!("rep_status_{}", r.status.code())),
        badge: badge(r.status),
        created: t.datetime_ms(r.created_at_ms),
        booking: r.booking.clone(),
        folded: (r.folded > 0).then(|| t.num(r.folded)),
        entries: th
            .entries
            .iter()
            .map(|e| EntryView {
                who: t.t(format!("rep_party_{}", e.party.code())),
                when: t.datetime_ms(e.at_ms),
                decision: e
                    .decision
                    .map(|d| t.t(format!("rep_decision_{}", d.code()))),
                text: e.text.clone(),
            })
            .collect(),
        can_add: viewer == Viewer::Citizen && r.status == ReportStatus::MoreAsked,
        can_triage: viewer == Viewer::Regulator && r.status == ReportStatus::Submitted,
        can_answer: viewer == Viewer::Manager
            && matches!(r.status, ReportStatus::Accepted | ReportStatus::Answered),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Viewer {
    Citizen,
    Regulator,
    Manager,
}

async fn cards(
    state: &AppState,
    t: Tr,
    caller: &Caller,
    list: &[Report],
    viewer: Viewer,
) -> Result<Vec<ReportCard>, ApiError> {
    let refs: Vec<&Report> = list.iter().collect();
    let names = office_names(state, t, &refs).await;
    let mut out = Vec::with_capacity(list.len());
    for r in list {
        let thread = reports::get(state.app(), caller, r.id).await?;
        out.push(card(t, &names, &thread, viewer));
    }
    Ok(out)
}

fn categories(t: Tr) -> Vec<(&'static str, String)> {
    ReportCategory::ALL
        .iter()
        .map(|c| (c.code(), t.t(format!("rep_cat_{}", c.code()))))
        .collect()
}

// ---- the citizen's pages -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "citizen_reports.html")]
struct CitizenReportsPage {
    chrome: Chrome,
    csrf: String,
    reports: Vec<ReportCard>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct FiledQuery {
    filed: Option<String>,
    folded: Option<String>,
}

async fn citizen_page(
    state: &AppState,
    c: &CitizenCtx,
    caller: &Caller,
    notice: Option<String>,
    error: Option<String>,
) -> Result<CitizenReportsPage, UiError> {
    let t = c.t();
    let page = PageRequest::new(1, CITIZEN_LISTED).map_err(|e| c.fail(e))?;
    let list = reports::list(state.app(), caller, ReportFilter::default(), page)
        .await
        .map_err(|e| c.fail(e))?;
    let reports = cards(state, t, caller, &list.items, Viewer::Citizen)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(CitizenReportsPage {
        chrome: c.chrome(),
        csrf: c.csrf().to_string(),
        reports,
        notice,
        error,
    })
}

/// The citizen's reports, the latest change first, each with its thread.
pub async fn citizen_list(
    State(state): State<AppState>,
    c: CitizenCtx,
    ApiQuery(q): ApiQuery<FiledQuery>,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(super::citizen::to_login());
    };
    let t = c.t();
    let notice = q
        .filed
        .as_deref()
        .and_then(|id| report_id(id).ok())
        .map(|id| {
            let key = if q.folded.is_some() {
                "rep_folded"
            } else {
                "rep_filed"
            };
            format!("{} {}", t.t(key), t.num(id))
        });
    let body = citizen_page(&state, &c, &caller, notice, None).await?;
    Ok(c.page(StatusCode::OK, &body))
}

#[derive(Template)]
#[template(path = "citizen_report_new.html")]
struct NewReportPage {
    chrome: Chrome,
    csrf: String,
    form: ReportForm,
    categories: Vec<(&'static str, String)>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    booking: String,
    #[serde(default)]
    text: String,
}

/// The "report this office" form, filled in from an office's page or a booking.
pub async fn citizen_form(
    c: CitizenCtx,
    ApiQuery(q): ApiQuery<ReportForm>,
) -> Result<Response, UiError> {
    if c.citizen().is_none() {
        return Ok(super::citizen::to_login());
    }
    let body = NewReportPage {
        chrome: c.chrome(),
        csrf: c.csrf().to_string(),
        categories: categories(c.t()),
        form: ReportForm {
            csrf: String::new(),
            office: pishkhan_domain::digits::to_ascii_digits(q.office.trim()),
            booking: q.booking.trim().to_string(),
            ..ReportForm::default()
        },
        error: None,
    };
    Ok(c.page(StatusCode::OK, &body))
}

/// Files the report; a refusal shows the form again as typed, with what was wrong.
pub async fn citizen_file(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<ReportForm>,
) -> Result<Response, UiError> {
    let Some(Caller::Citizen(citizen)) = c.citizen() else {
        return Ok(super::citizen::to_login());
    };
    c.check_csrf(&form.csrf)?;
    let outcome = async {
        let req = ReportRequest {
            office: OfficeCode::parse(&form.office)?,
            category: ReportCategory::parse(&form.category)?,
            text: form.text.clone(),
            booking: Some(form.booking.clone()).filter(|b| !b.trim().is_empty()),
        };
        Ok::<_, ApiError>(reports::submit(state.app(), &citizen, req, &ctx).await?)
    }
    .await;
    match outcome {
        Ok(v) => {
            let folded = if v.folded { "&folded=1" } else { "" };
            Ok(Redirect::to(&format!("/citizen/reports?filed={}{folded}", v.id)).into_response())
        }
        Err(e) => {
            let body = NewReportPage {
                chrome: c.chrome(),
                csrf: c.csrf().to_string(),
                categories: categories(c.t()),
                error: Some(c.t().problem_message(&e)),
                form,
            };
            Ok(c.page(e.status(), &body))
        }
    }
}

#[derive(Deserialize, Default)]
pub struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// The citizen adds what the regulator asked for.
pub async fn citizen_more(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<TextForm>,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(super::citizen::to_login());
    };
    let Caller::Citizen(citizen) = &caller else {
        return Ok(super::citizen::to_login());
    };
    c.check_csrf(&form.csrf)?;
    let id = report_id(&id).map_err(|e| c.fail(e))?;
    match reports::add_more(state.app(), citizen, id, &form.text, &ctx).await {
        Ok(_) => Ok(Redirect::to("/citizen/reports").into_response()),
        Err(e @ AppError::Internal(_)) => Err(c.fail(e)),
        Err(e) => {
            let e = ApiError::App(e);
            let message = c.t().problem_message(&e);
            let body = citizen_page(&state, &c, &caller, None, Some(message)).await?;
            Ok(c.page(e.status(), &body))
        }
    }
}

// ---- the regulator's and the manager's page ------------------------------------------------

#[derive(Template)]
#[template(path = "reports.html")]
struct StaffReportsPage {
    chrome: Chrome,
    regulator: bool,
    reports: Vec<ReportCard>,
    statuses: Vec<(&'static str, String)>,
    categories: Vec<(&'static str, String)>,
    status: String,
    office: String,
    category: String,
    decisions: Vec<(&'static str, String)>,
    pager: Pager,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct StaffQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    category: String,
    page: Option<String>,
}

fn staff_viewer(page: &PageCtx) -> Result<(Caller, Viewer), UiError> {
    let staff = page.require_staff()?;
    let viewer = match staff.actor.role {
        Role::Regulator => Viewer::Regulator,
        _ => Viewer::Manager,
    };
    if viewer == Viewer::Manager {
        staff
            .permit(Action::ViewCompliance {
                office: staff.actor.office,
            })
            .map_err(|d| page.fail(ApiError::App(AppError::Forbidden(d))))?;
    }
    Ok((Caller::Staff(staff.session.clone()), viewer))
}

async fn staff_page(
    state: &AppState,
    page: &PageCtx,
    q: &StaffQuery,
    error: Option<String>,
) -> Result<StaffReportsPage, ApiError> {
    let t = page.t;
    let (caller, viewer) = match staff_viewer(page) {
        Ok(v) => v,
        Err(e) => return Err(e.err),
    };
    let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let filter = ReportFilter {
        status: non_empty(&q.status)
            .map(|s| ReportStatus::parse(&s))
            .transpose()?,
        office: non_empty(&q.office)
            .map(|s| OfficeCode::parse(&s))
            .transpose()?,
        category: non_empty(&q.category)
            .map(|s| ReportCategory::parse(&s))
            .transpose()?,
        ..ReportFilter::default()
    };
    let paging = page_request(q.page.as_deref(), None)?;
    let list = reports::list(state.app(), &caller, filter, paging).await?;
    let reports = cards(state, t, &caller, &list.items, viewer).await?;
    let params = [
        ("status", q.status.clone()),
        ("office", q.office.clone()),
        ("category", q.category.clone()),
    ];
    let shown: &[ReportStatus] = if viewer == Viewer::Regulator {
        &ReportStatus::ALL
    } else {
        &[ReportStatus::Accepted, ReportStatus::Answered]
    };
    Ok(StaffReportsPage {
        chrome: page.chrome("reports"),
        regulator: viewer == Viewer::Regulator,
        reports,
        statuses: shown
            .iter()
            .map(|s| (s.code(), t.t(format!("rep_status_{}", s.code()))))
            .collect(),
        categories: categories(t),
        status: q.status.clone(),
        office: q.office.clone(),
        category: q.category.clone(),
        decisions: [
            TriageDecision::Accept,
            TriageDecision::AskMore,
            TriageDecision::Reject,
        ]
        .iter()
        .map(|d| (d.code(), t.t(format!("rep_decision_{}", d.code()))))
        .collect(),
        pager: Pager::new(
            "/reports",
            &params,
            paging.page(),
            paging.per_page(),
            list.total,
        ),
        error,
    })
}

/// The regulator's triage list (every report, with filters) or a manager's list (their
/// office's accepted and answered reports).
pub async fn staff_list(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<StaffQuery>,
) -> Result<Response, UiError> {
    page.require_staff()?;
    let body = staff_page(&state, &page, &q, None)
        .await
        .map_err(|e| page.fail(e))?;
    Ok(render(&body))
}

async fn after_step(
    state: &AppState,
    page: &PageCtx,
    outcome: Result<Report, AppError>,
) -> Result<Response, UiError> {
    match outcome {
        Ok(r) => Ok(Redirect::to(&format!("/reports#report-{}", r.id)).into_response()),
        Err(e @ (AppError::Forbidden(_) | AppError::Internal(_))) => Err(page.fail(e)),
        Err(e) => {
            let e = ApiError::App(e);
            let message = page.t.problem_message(&e);
            let body = staff_page(state, page, &StaffQuery::default(), Some(message))
                .await
                .map_err(|e| page.fail(e))?;
            Ok((e.status(), render(&body)).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub struct TriageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn staff_triage(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<TriageForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = report_id(&id).map_err(|e| page.fail(e))?;
    let outcome = match TriageDecision::parse(&form.decision) {
        Ok(d) => reports::triage(state.app(), staff, id, d, &form.note, &ctx).await,
        Err(e) => Err(e.into()),
    };
    after_step(&state, &page, outcome).await
}

pub async fn staff_answer(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<TextForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = report_id(&id).map_err(|e| page.fail(e))?;
    let outcome = reports::answer(state.app(), staff, id, &form.text, &ctx).await;
    after_step(&state, &page, outcome).await
}
