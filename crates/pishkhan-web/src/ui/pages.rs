//! Page handlers and their templates.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use pishkhan_domain::access::Action;
use pishkhan_domain::model::{
    Category, Digitization, Lang, Office, OfficeStatus, Role, Service, ServiceCode, Weekday,
};
use pishkhan_store::{AgencySummary, AuditRecord, ProvinceSummary, StaffRecord};
use serde::Deserialize;

use super::{
    Chrome, LANG_COOKIE, LOGIN_CSRF_COOKIE, PageCtx, Pager, UiError, render, safe_next, set_cookie,
};
use std::collections::HashMap;

use crate::AppState;
use crate::auth::{self, constant_time_eq};
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;
use crate::input::{
    AuditQuery, NewStaffIn, OfficeQuery, ServiceQuery, page_request, parse_office_code,
};
use pishkhan_app::AppError;
use pishkhan_app::accounts;

/// Where each person starts: the sign-in page, or their own work once signed in.
pub async fn home(page: PageCtx) -> Redirect {
    match &page.staff {
        Some(staff) => Redirect::to(&landing(staff.actor.role, staff.actor.office)),
        None => Redirect::to("/login"),
    }
}

/// A manager runs one office, so starts on its page (today's line, figures, staff); an
/// operator starts at the counter; the regulator on the national dashboard.
fn landing(role: Role, office: Option<pishkhan_domain::model::OfficeCode>) -> String {
    match (role, office) {
        (Role::Manager, Some(office)) => format!("/offices/{office}/manage"),
        (Role::Operator, Some(_)) => "/console".to_string(),
        _ => "/dashboard".to_string(),
    }
}

pub async fn switch_lang(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&lang).unwrap_or_default();
    // Return to the page the switch was clicked on, when it is ours.
    let back = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()));
    let target = safe_next(back.as_deref());
    (
        [set_cookie(LANG_COOKIE, lang.code(), 365 * 24 * 3600, false)],
        Redirect::to(&target),
    )
        .into_response()
}

// ---- sign-in ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    csrf: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_form(
    page: PageCtx,
    ApiQuery(q): ApiQuery<LoginQuery>,
) -> Result<Response, UiError> {
    if page.staff.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    let csrf = auth::new_token().map_err(|e| page.fail(e))?;
    let body = render(&LoginPage {
        chrome: page.chrome("login"),
        next: safe_next(q.next.as_deref()),
        csrf: csrf.clone(),
        username: String::new(),
        error: None,
    });
    Ok(([set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, true)], body).into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    page: PageCtx,
    headers: HeaderMap,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<LoginForm>,
) -> Result<Response, UiError> {
    let cookie_csrf = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == LOGIN_CSRF_COOKIE)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    if cookie_csrf.is_empty() || !constant_time_eq(&cookie_csrf, &form.csrf) {
        return Err(page.fail(ApiError::Csrf));
    }
    let next = safe_next(form.next.as_deref());
    match accounts::login(state.app(), &form.username, &form.password, &ctx)
        .await
        .map_err(ApiError::from)
    {
        Ok(done) => {
            let cookie = auth::session_cookie(
                &done.token,
                state.config().app.session_ttl_s,
                state.config().cookie_secure,
            );
            Ok((
                [(axum::http::header::SET_COOKIE, cookie)],
                Redirect::to(&next),
            )
                .into_response())
        }
        Err(
            e @ (ApiError::App(AppError::BadCredentials)
            | ApiError::App(AppError::TooManyRequests { .. })),
        ) => {
            let error = match &e {
                ApiError::App(AppError::TooManyRequests {
                    code: "too_many_failed_sign_ins_from_address",
                    retry_after_s,
                    ..
                }) => page
                    .t
                    .with_wait("login_rate_limited_address", *retry_after_s),
                ApiError::App(AppError::TooManyRequests { retry_after_s, .. }) => {
                    page.t.with_wait("login_rate_limited", *retry_after_s)
                }
                _ => page.t.t("login_failed"),
            };
            let body = render(&LoginPage {
                chrome: page.chrome("login"),
                next,
                csrf: form.csrf,
                username: form.username,
                error: Some(error),
            });
            Ok((e.status(), body).into_response())
        }
        Err(e) => Err(page.fail(e)),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Result<Response, UiError> {
    if let Some(staff) = &page.staff {
        staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
        accounts::logout(state.app(), staff, &ctx)
            .await
            .map_err(|e| page.fail(e))?;
    }
    Ok((
        [(
            axum::http::header::SET_COOKIE,
            auth::clear_session_cookie(state.config().cookie_secure),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

// ---- offices ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "offices.html")]
struct OfficesPage {
    chrome: Chrome,
    q: String,
    province: String,
    status: String,
    provinces: Vec<ProvinceSummary>,
    statuses: Vec<OfficeStatus>,
    offices: Vec<Office>,
    pager: Pager,
}

impl OfficesPage {
    fn province_name(&self, id: &u8) -> String {
        self.provinces
            .iter()
            .find(|p| p.province.id == *id)
            .map(|p| self.chrome.t.text(&p.province.name).to_string())
            .unwrap_or_default()
    }
}

pub async fn offices(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<OfficeQuery>,
) -> Result<Response, UiError> {
    page.require_staff()?;
    let req = page_request(q.page.as_deref(), q.per_page.as_deref()).map_err(|e| page.fail(e))?;
    let filter = q.filter().map_err(|e| page.fail(e))?;
    let result = state
        .store()
        .offices(&filter, req)
        .await
        .map_err(|e| page.fail(e))?;
    let provinces = state.store().provinces().await.map_err(|e| page.fail(e))?;
    let params = [
        ("q", q.q.clone().unwrap_or_default()),
        ("province", q.province.clone().unwrap_or_default()),
        ("status", q.status.clone().unwrap_or_default()),
    ];
    Ok(render(&OfficesPage {
        chrome: page.chrome("offices"),
        q: q.q.unwrap_or_default(),
        province: q.province.unwrap_or_default(),
        status: q.status.unwrap_or_default(),
        provinces,
        statuses: OfficeStatus::ALL.to_vec(),
        offices: result.items,
        pager: Pager::new(
            "/offices",
            &params,
            req.page(),
            req.per_page(),
            result.total,
        ),
    }))
}

#[derive(Template)]
#[template(path = "office.html")]
struct OfficePage {
    chrome: Chrome,
    office: Office,
    province: String,
    days: Vec<(String, Option<String>)>,
    staff: Option<Vec<StaffRecord>>,
    /// Whether to link the office's management page: its manager's and the regulator's.
    manage: bool,
}

impl OfficePage {
    fn coordinates(&self) -> String {
        format!("{:.4}, {:.4}", self.office.lat, self.office.lon)
    }
}

pub async fn office(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let office = state.store().office(code).await.map_err(|e| page.fail(e))?;
    let provinces = state.store().provinces().await.map_err(|e| page.fail(e))?;
    let province = provinces
        .iter()
        .find(|p| p.province.id == office.province_id)
        .map(|p| page.t.text(&p.province.name).to_string())
        .unwrap_or_default();
    let days = Weekday::ALL
        .iter()
        .map(|d| {
            (
                page.t.text(d.label()),
                office.hours.day(*d).map(|h| page.t.num(h.to_hhmm())),
            )
        })
        .collect();
    // The staff list is shown only to those allowed to see it; others just don't get it.
    let staff_list = match staff.permit(Action::ViewOfficeStaff { office: code }) {
        Ok(permit) => Some(
            state
                .store()
                .office_staff(&permit, code)
                .await
                .map_err(|e| page.fail(e))?,
        ),
        Err(_) => None,
    };
    let manage = staff
        .permit(Action::ViewOfficeFigures { office: code })
        .is_ok();
    Ok(render(&OfficePage {
        chrome: page.chrome("offices"),
        office,
        province,
        days,
        staff: staff_list,
        manage,
    }))
}

// ---- services -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage {
    chrome: Chrome,
    q: String,
    agency: String,
    category: String,
    digitization: String,
    agencies: Vec<AgencySummary>,
    categories: Vec<Category>,
    digitizations: Vec<Digitization>,
    services: Vec<Service>,
    pager: Pager,
}

impl ServicesPage {
    fn agency_name(&self, code: &str) -> String {
        self.agencies
            .iter()
            .find(|a| a.code.as_str() == code)
            .map(|a| self.chrome.t.text(&a.name).to_string())
            .unwrap_or_else(|| code.to_string())
    }
}

pub async fn services(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<ServiceQuery>,
) -> Result<Response, UiError> {
    page.require_staff()?;
    let req = page_request(q.page.as_deref(), q.per_page.as_deref()).map_err(|e| page.fail(e))?;
    let filter = q.filter().map_err(|e| page.fail(e))?;
    let result = state
        .store()
        .services(&filter, req)
        .await
        .map_err(|e| page.fail(e))?;
    let agencies = state.store().agencies().await.map_err(|e| page.fail(e))?;
    let params = [
        ("q", q.q.clone().unwrap_or_default()),
        ("agency", q.agency.clone().unwrap_or_default()),
        ("category", q.category.clone().unwrap_or_default()),
        ("digitization", q.digitization.clone().unwrap_or_default()),
    ];
    Ok(render(&ServicesPage {
        chrome: page.chrome("services"),
        q: q.q.unwrap_or_default(),
        agency: q.agency.unwrap_or_default(),
        category: q.category.unwrap_or_default(),
        digitization: q.digitization.unwrap_or_default(),
        agencies,
        categories: Category::ALL.to_vec(),
        digitizations: Digitization::ALL.to_vec(),
        services: result.items,
        pager: Pager::new(
            "/services",
            &params,
            req.page(),
            req.per_page(),
            result.total,
        ),
    }))
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    chrome: Chrome,
    service: Service,
    agency: String,
    fee: Option<FeeView>,
}

/// A fee quote as a page shows it: amounts already rendered in the page's language.
pub(crate) struct FeeView {
    pub(crate) effective_from: String,
    pub(crate) components: Vec<(String, String)>,
    pub(crate) total_rials: String,
    pub(crate) total_tomans: String,
}

impl FeeView {
    pub(crate) fn of(q: &pishkhan_app::fees::FeeQuote, t: &crate::i18n::Tr) -> Self {
        Self {
            effective_from: q.effective_from.format_long(t.lang),
            components: q
                .components
                .iter()
                .map(|c| (t.text(c.kind.title()), c.amount.format_rials(t.lang)))
                .collect(),
            total_rials: q.total.format_rials(t.lang),
            total_tomans: q.total.format_tomans(t.lang),
        }
    }
}

/// Today's fee of `service` for a page, `None` when no tariff is in force.
pub(crate) async fn fee_view(
    state: &AppState,
    service: &ServiceCode,
    t: &crate::i18n::Tr,
) -> Result<Option<FeeView>, AppError> {
    match pishkhan_app::fees::quote(state.app(), service, None).await {
        Ok(q) => Ok(Some(FeeView::of(&q, t))),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn service(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
) -> Result<Response, UiError> {
    page.require_staff()?;
    let code = ServiceCode::parse(&code)
        .map_err(|_| page.fail(ApiError::App(AppError::NotFound("service"))))?;
    let service = state
        .store()
        .service(&code)
        .await
        .map_err(|e| page.fail(e))?;
    let agencies = state.store().agencies().await.map_err(|e| page.fail(e))?;
    let agency = agencies
        .iter()
        .find(|a| a.code == service.agency)
        .map(|a| page.t.text(&a.name).to_string())
        .unwrap_or_else(|| service.agency.to_string());
    let fee = fee_view(&state, &code, &page.t)
        .await
        .map_err(|e| page.fail(ApiError::App(e)))?;
    Ok(render(&ServicePage {
        chrome: page.chrome("services"),
        service,
        agency,
        fee,
    }))
}

// ---- audit --------------------------------------------------------------------------------

/// One audit record as people read it: names, with the recorded codes kept for tooltips.
struct AuditRow {
    at_ms: i64,
    actor: String,
    actor_code: String,
    action: String,
    action_code: String,
    target: String,
    /// The name of the person acted on, shown after `target` in its own language.
    target_name: Option<String>,
    target_code: String,
    ip: Option<String>,
    request_id: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    actor: String,
    action: String,
    actions: Vec<(&'static str, String)>,
    records: Vec<AuditRow>,
    pager: Pager,
}

/// Who acted: a member of staff by name, a citizen, or the system.
fn audit_actor(t: Tr, names: &HashMap<String, String>, actor: &str) -> String {
    if let Some(code) = actor.strip_prefix("citizen:") {
        format!("{} {}", t.t("actor_citizen"), t.num(code))
    } else if actor.starts_with("system") {
        t.t("actor_system")
    } else {
        names
            .get(actor)
            .cloned()
            .unwrap_or_else(|| actor.to_string())
    }
}

/// What was acted on, in words with its number or code: a member of staff (whose name comes
/// apart, to be shown in its own language), an office, a citizen, a booking, a payment…
/// A target of a kind not known here is shown as its code.
fn audit_target(t: Tr, names: &HashMap<String, String>, target: &str) -> (String, Option<String>) {
    let (kind, rest) = target.split_once(':').unwrap_or((target, ""));
    let words = |key: &str, what: String| (format!("{} {what}", t.t(key)), None);
    match (kind, rest) {
        ("staff", u) => (
            t.t("target_staff"),
            Some(names.get(u).map_or(u, String::as_str).to_string()),
        ),
        ("office", code) => words("target_office", t.num(code)),
        ("citizen", code) => words("target_citizen", t.num(code)),
        // Tracking codes and check ids are Latin by nature, as the citizen has them.
        ("booking", code) => words("target_booking", code.to_string()),
        ("verification", id) => words("target_verification", id.to_string()),
        ("survey", code) => words("target_survey", code.to_string()),
        ("payment", n) => words("target_payment", t.num(n)),
        ("report", n) => words("target_report", t.num(n)),
        ("cpi", n) => words("target_cpi", t.num(n)),
        ("indexation_run", n) => words("target_run", t.num(n)),
        ("release", n) => words("target_release", t.num(n)),
        ("holiday", day) => words("target_holiday", t.num(day)),
        ("settlement", day) => words("target_settlement", t.num(day)),
        ("reconciliation", day) => words("target_reconciliation", t.num(day)),
        ("payee", account) => words("target_payee", t.num(account)),
        ("tariffs", n) => words("target_tariffs", t.num(n.trim_end_matches(':'))),
        ("tariff", one) => {
            let (service, from) = one.split_once('@').unwrap_or((one, ""));
            words("target_tariff", format!("{service} {}", t.num(from)))
        }
        ("queue", office_day) => {
            let (office, day) = office_day.split_once(':').unwrap_or((office_day, ""));
            words("target_queue", t.join(t.num(office), t.num(day)))
        }
        ("compliance", "run") => (t.t("target_compliance_run"), None),
        ("compliance", "rules") => (t.t("target_compliance_rules"), None),
        ("nation", "") => (t.t("target_nation"), None),
        _ => (target.to_string(), None),
    }
}

fn audit_rows(t: Tr, names: &HashMap<String, String>, records: Vec<AuditRecord>) -> Vec<AuditRow> {
    records
        .into_iter()
        .map(|r| {
            let (target, target_name) = audit_target(t, names, &r.target);
            AuditRow {
                at_ms: r.at_ms,
                actor: audit_actor(t, names, &r.actor),
                action: t.audit_action(&r.action),
                target,
                target_name,
                actor_code: r.actor,
                action_code: r.action,
                target_code: r.target,
                ip: r.ip,
                request_id: r.request_id,
            }
        })
        .collect()
}

pub async fn audit(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let permit = staff
        .permit(Action::ViewAuditLog)
        .map_err(|e| page.fail(e))?;
    let req = page_request(q.page.as_deref(), q.per_page.as_deref()).map_err(|e| page.fail(e))?;
    let result = state
        .store()
        .audit_log(&permit, &q.filter(), req)
        .await
        .map_err(|e| page.fail(e))?;
    let params = [
        ("actor", q.actor.clone().unwrap_or_default()),
        ("action", q.action.clone().unwrap_or_default()),
    ];
    let usernames = result
        .items
        .iter()
        .flat_map(|r| [Some(r.actor.as_str()), r.target.strip_prefix("staff:")])
        .flatten()
        .map(str::to_string)
        .collect();
    let names = super::staff_names(&state, usernames).await;
    let t = page.t;
    Ok(render(&AuditPage {
        chrome: page.chrome("audit"),
        actor: q.actor.unwrap_or_default(),
        action: q.action.unwrap_or_default(),
        actions: crate::i18n::AUDIT_ACTIONS
            .iter()
            .map(|a| (*a, t.audit_action(a)))
            .collect(),
        records: audit_rows(t, &names, result.items),
        pager: Pager::new("/audit", &params, req.page(), req.per_page(), result.total),
    }))
}

// ---- inviting staff -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    chrome: Chrome,
    form: InviteForm,
    roles: Vec<Role>,
    office_fixed: bool,
    error: Option<String>,
    created: Option<(String, String, String)>,
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    national_code: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    role: String,
}

fn invite_roles(role: Role) -> Vec<Role> {
    match role {
        Role::Regulator => vec![Role::Operator, Role::Manager, Role::Regulator],
        _ => vec![Role::Operator, Role::Manager],
    }
}

pub async fn invite_form(page: PageCtx) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    if staff.actor.role == Role::Operator {
        return Err(page.fail(pishkhan_domain::access::Denied::Role));
    }
    let form = InviteForm {
        office: staff
            .actor
            .office
            .map(|o| o.to_string())
            .unwrap_or_default(),
        role: Role::Operator.code().to_string(),
        ..Default::default()
    };
    Ok(render(&InvitePage {
        chrome: page.chrome("invite"),
        form,
        roles: invite_roles(staff.actor.role),
        office_fixed: staff.actor.role != Role::Regulator,
        error: None,
        created: None,
    }))
}

pub async fn invite_submit(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(mut form): ApiForm<InviteForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    if staff.actor.role != Role::Regulator {
        form.office = staff
            .actor
            .office
            .map(|o| o.to_string())
            .unwrap_or_default();
    }
    let input = NewStaffIn {
        national_code: form.national_code.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        mobile: form.mobile.clone(),
        office: Some(form.office.clone()).filter(|o| !o.trim().is_empty()),
        role: form.role.clone(),
        username: None,
    };
    let outcome = match input.parse() {
        Ok(new) => accounts::invite_staff(state.app(), staff, new, &ctx)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let t = page.t;
    let (status, error, created) = match outcome {
        Ok(done) => (
            axum::http::StatusCode::CREATED,
            None,
            Some((
                done.record.staff.username.to_string(),
                done.invitation_url,
                t.datetime_ms(done.expires_at_ms),
            )),
        ),
        Err(
            e @ (ApiError::App(AppError::Invalid { .. })
            | ApiError::App(AppError::Conflict { .. })
            | ApiError::App(AppError::NotFound(_))),
        ) => (e.status(), Some(t.problem_message(&e)), None),
        Err(e) => return Err(page.fail(e)),
    };
    let body = render(&InvitePage {
        chrome: page.chrome("invite"),
        form: if created.is_some() {
            InviteForm {
                office: form.office,
                role: form.role,
                ..Default::default()
            }
        } else {
            form
        },
        roles: invite_roles(staff.actor.role),
        office_fixed: staff.actor.role != Role::Regulator,
        error,
        created,
    });
    Ok((status, body).into_response())
}

// ---- accepting an invitation -------------------------------------------------------------

#[derive(Template)]
#[template(path = "accept.html")]
struct AcceptPage {
    chrome: Chrome,
    token: String,
    name: String,
    username: String,
    error: Option<String>,
    done: bool,
    dead: bool,
}

pub async fn accept_form(
    State(state): State<AppState>,
    page: PageCtx,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let info = accounts::invitation(state.app(), &token).await;
    let (name, username, dead) = match info {
        Ok(i) => (
            format!("{} {}", i.first_name, i.last_name),
            i.username.to_string(),
            false,
        ),
        Err(pishkhan_app::AppError::NotFound(_) | pishkhan_app::AppError::Gone(_)) => {
            (String::new(), String::new(), true)
        }
        Err(e) => return Err(page.fail(e)),
    };
    let status = if dead {
        axum::http::StatusCode::GONE
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        render(&AcceptPage {
            chrome: page.chrome("invite"),
            token,
            name,
            username,
            error: None,
            done: false,
            dead,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct AcceptForm {
    password: String,
    password_again: String,
}

pub async fn accept_submit(
    State(state): State<AppState>,
    page: PageCtx,
    Path(token): Path<String>,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<AcceptForm>,
) -> Result<Response, UiError> {
    // The unguessable token in the path is what authorizes this form, so it needs no CSRF
    // token of its own: a forged post could only set a password its forger already knows.
    let t = page.t;
    let render_with =
        |error: Option<String>, done: bool, dead: bool, username: String| AcceptPage {
            chrome: page.chrome("invite"),
            token: token.clone(),
            name: String::new(),
            username,
            error,
            done,
            dead,
        };
    if form.password != form.password_again {
        let body = render(&render_with(
            Some(t.t("passwords_differ")),
            false,
            false,
            String::new(),
        ));
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, body).into_response());
    }
    match accounts::accept_invitation(state.app(), &token, &form.password, &ctx)
        .await
        .map_err(ApiError::from)
    {
        Ok(username) => Ok(render(&render_with(
            None,
            true,
            false,
            username.to_string(),
        ))),
        Err(ApiError::App(AppError::NotFound(_)) | ApiError::App(AppError::Gone(_))) => {
            let body = render(&render_with(None, false, true, String::new()));
            Ok((axum::http::StatusCode::GONE, body).into_response())
        }
        Err(e @ ApiError::App(AppError::Invalid { .. })) => {
            let body = render(&render_with(
                Some(t.problem_message(&e)),
                false,
                false,
                String::new(),
            ));
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
        }
        Err(e) => Err(page.fail(e)),
    }
}
