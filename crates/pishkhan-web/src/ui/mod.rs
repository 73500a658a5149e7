//! The server-rendered web UI: Persian and right-to-left by default, English on request.
//!
//! Pages are askama templates checked at compile time. Forms post back with the session's
//! CSRF token; the sign-in form uses a double-submit cookie because no session exists yet.

pub mod catalogue;
pub mod citizen;
mod citizen_book;
mod citizen_booking;
pub mod compliance;
pub mod console;
mod counter_ticket;
pub mod dashboard;
pub mod display;
pub mod identity;
pub mod manage;
mod pages;
pub mod payments;
mod reports;
pub mod settlements;
pub mod survey;
mod tariffs;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_domain::model::{Lang, Role};

use crate::AppState;
use crate::auth::{self, Staff};
use crate::error::ApiError;
use crate::i18n::Tr;
use pishkhan_app::AppError;

pub const LANG_COOKIE: &str = "pishkhan_lang";
pub const LOGIN_CSRF_COOKIE: &str = "pishkhan_login_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(citizen::router())
        .merge(console::router())
        .merge(display::router())
        .merge(survey::router())
        .merge(identity::router())
        .merge(payments::router())
        .merge(settlements::router())
        .merge(compliance::router())
        .merge(reports::router())
        .merge(manage::router())
        .merge(catalogue::router())
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/lang/{lang}", get(pages::switch_lang))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/dashboard.csv", get(dashboard::csv))
        .route("/offices", get(pages::offices))
        .route("/offices/{code}", get(pages::office))
        .route("/services", get(pages::services))
        .route("/services/{code}", get(pages::service))
        .route("/audit", get(pages::audit))
        .route("/tariffs", get(tariffs::form))
        .route("/tariffs/cpi", post(tariffs::import_cpi))
        .route("/tariffs/runs", post(tariffs::create_run))
        .route("/tariffs/runs/{id}", get(tariffs::show_run))
        .route("/tariffs/runs/{id}/rows", post(tariffs::edit_row))
        .route("/tariffs/runs/{id}/publish", post(tariffs::publish))
        .route(
            "/staff/new",
            get(pages::invite_form).post(pages::invite_submit),
        )
        .route(
            "/invite/{token}",
            get(pages::accept_form).post(pages::accept_submit),
        )
}

/// What the signed-in person sees in the header.
pub struct UserNav {
    pub username: String,
    pub role: Role,
    pub office: Option<String>,
}

impl UserNav {
    pub fn is_regulator(&self) -> bool {
        self.role == Role::Regulator
    }

    pub fn can_invite(&self) -> bool {
        matches!(self.role, Role::Regulator | Role::Manager)
    }

    /// An office's own staff take payments at the counter.
    pub fn takes_payments(&self) -> bool {
        matches!(self.role, Role::Manager | Role::Operator)
    }

    /// The regulator triages citizens' reports; an office's manager answers them.
    pub fn sees_reports(&self) -> bool {
        matches!(self.role, Role::Regulator | Role::Manager)
    }

    /// The regulator and an office's manager follow the money after the counter.
    pub fn sees_settlements(&self) -> bool {
        matches!(self.role, Role::Regulator | Role::Manager)
    }

    /// A manager's own office's page: its figures, record, reports and settings.
    pub fn managed_office(&self) -> Option<&str> {
        match self.role {
            Role::Manager => self.office.as_deref(),
            _ => None,
        }
    }

    /// The regulator supervises; an office's manager sees and answers its own record.
    pub fn sees_compliance(&self) -> bool {
        matches!(self.role, Role::Regulator | Role::Manager)
    }
}

/// The frame every page shares: language, user, CSRF token and active section.
pub struct Chrome {
    pub t: Tr,
    pub user: Option<UserNav>,
    pub csrf: String,
    pub section: &'static str,
    pub today: String,
}

impl Chrome {
    pub fn role_label(&self, role: impl std::borrow::Borrow<Role>) -> String {
        self.t.t(format!("role_{}", role.borrow().code()))
    }
}

fn lang_of(parts: &Parts) -> Lang {
    if let Some(q) = parts.uri.query() {
        for kv in q.split('&') {
            if let Some(("lang", v)) = kv.split_once('=')
                && let Some(l) = Lang::parse(v)
            {
                return l;
            }
        }
    }
    auth::cookie(parts, LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or_default()
}

/// Request context for pages: language and, when signed in, the member of staff.
pub struct PageCtx {
    pub t: Tr,
    pub staff: Option<Staff>,
    pub path: String,
    pub today: String,
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let t = Tr::new(lang_of(parts));
        let staff = auth::resolve(parts, state).await.map_err(|e| UiError {
            t,
            err: e,
            path: parts.uri.path().to_string(),
        })?;
        Ok(PageCtx {
            t,
            staff,
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            today: t.date(pishkhan_domain::tehran::jalali_today(state.now())),
        })
    }
}

impl PageCtx {
    pub fn chrome(&self, section: &'static str) -> Chrome {
        Chrome {
            t: self.t,
            user: self.staff.as_ref().map(|s| UserNav {
                username: s.actor.username.to_string(),
                role: s.actor.role,
                office: s.actor.office.map(|o| o.to_string()),
            }),
            csrf: self
                .staff
                .as_ref()
                .map(|s| s.csrf_token.clone())
                .unwrap_or_default(),
            section,
            today: self.today.clone(),
        }
    }

    /// The signed-in member, or a redirect to the sign-in page that comes back here.
    pub fn require_staff(&self) -> Result<&Staff, UiError> {
        self.staff.as_ref().ok_or_else(|| UiError {
            t: self.t,
            err: ApiError::App(AppError::Unauthenticated),
            path: self.path.clone(),
        })
    }

    pub fn fail(&self, err: impl Into<ApiError>) -> UiError {
        UiError {
            t: self.t,
            err: err.into(),
            path: self.path.clone(),
        }
    }
}

/// A failure on a page: shown as an HTML page, or a redirect to sign-in.
pub struct UiError {
    pub t: Tr,
    pub err: ApiError,
    pub path: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub heading: String,
    pub text: String,
    pub detail: Option<String>,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let t = self.t;
        let (heading, text, detail) = match &self.err {
            ApiError::App(AppError::Unauthenticated) => {
                let next = urlencode(&self.path);
                return Redirect::to(&format!("/login?next={next}")).into_response();
            }
            ApiError::App(AppError::NotFound(_)) => {
                (t.t("not_found_title"), t.t("not_found_text"), None)
            }
            ApiError::App(AppError::Forbidden(_)) | ApiError::Csrf => {
                (t.t("forbidden_title"), t.problem_message(&self.err), None)
            }
            ApiError::App(AppError::Internal(e)) => {
                crate::error::log_fault(e, "page failed");
                (t.t("error_title"), t.t("error_text"), None)
            }
            other => (t.t("bad_input_title"), t.problem_message(other), None),
        };
        let page = MessagePage {
            chrome: Chrome {
                t,
                user: None,
                csrf: String::new(),
                section: "",
                today: String::new(),
            },
            heading,
            text,
            detail,
        };
        (self.err.status(), render(&page)).into_response()
    }
}

/// The most staff names one page looks up: a page of the audit log or of inquiries.
const MAX_NAME_LOOKUPS: usize = pishkhan_store::MAX_PER_PAGE as usize;

/// The names people use ("first last") for the staff usernames a page shows, so that it need
/// not show usernames. Unknown usernames are left out; the page then shows the username.
pub async fn staff_names(
    state: &AppState,
    mut usernames: Vec<String>,
) -> std::collections::HashMap<String, String> {
    usernames.sort_unstable();
    usernames.dedup();
    usernames.truncate(MAX_NAME_LOOKUPS);
    let mut names = std::collections::HashMap::new();
    for u in usernames {
        let Ok(username) = pishkhan_domain::model::Username::parse(&u) else {
            continue;
        };
        if let Ok(rec) = state.store().staff_by_username(&username).await {
            let name = format!("{} {}", rec.staff.first_name, rec.staff.last_name);
            names.insert(u, name);
        }
    }
    names
}

pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// The page for a path no route serves, in the language the person reads the site in.
pub fn not_found_page(parts: &Parts) -> Response {
    UiError {
        t: Tr::new(lang_of(parts)),
        err: ApiError::App(AppError::NotFound("page")),
        path: parts.uri.path().to_string(),
    }
    .into_response()
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Only same-site relative paths are followed after sign-in, never another host; without
/// one, home (`/`) sends each person to where their work starts.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_s: u64,
    http_only: bool,
) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!(
            "{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age_s}{}",
            if http_only { "; HttpOnly" } else { "" }
        ),
    )
}

/// Previous/next links that keep the other query parameters.
pub struct Pager {
    pub page: u32,
    pub pages: u64,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(
        base: &str,
        params: &[(&str, String)],
        page: u32,
        per_page: u32,
        total: u64,
    ) -> Self {
        let pages = total.div_ceil(u64::from(per_page)).max(1);
        let link = |p: u32| {
            let mut q: Vec<String> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={}", urlencode(v)))
                .collect();
            q.push(format!("page={p}"));
            format!("{base}?{}", q.join("&"))
        };
        Self {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (u64::from(page) < pages).then(|| link(page + 1)),
        }
    }
}
