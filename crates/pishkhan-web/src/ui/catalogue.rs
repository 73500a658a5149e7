//! The public catalogue: every service, found by typing, with what it needs, how long it
//! takes, what it costs and the offices that give it nearest to the reader. No sign-in;
//! booking from here goes through the citizen's sign-in and comes back.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pishkhan_app::AppError;
use pishkhan_app::catalogue::{self, Reach};
use pishkhan_app::office_finder::{self, OfficeSearch};
use pishkhan_domain::model::{Channel, ServiceCode};
use serde::Deserialize;

use super::citizen_book::{OfficeHit, degrees, office_hits};
use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;

/// Services per page of the list.
const PER_PAGE: usize = 30;

/// UI strings of the catalogue: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("cat_title", "خدمات پیشخوان", "Pishkhan services"),
    (
        "cat_sub",
        "هر خدمت: مدارک لازم، زمان، هزینه و نزدیک‌ترین دفترها. برای دیدن این صفحه ورود لازم نیست.",
        "Every service: what to bring, how long it takes, what it costs and the nearest offices. No sign-in needed.",
    ),
    ("cat_search", "نام خدمت", "Service name"),
    (
        "cat_search_placeholder",
        "مثلاً گواهینامه یا سند",
        "For example licence or deed",
    ),
    (
        "cat_found",
        "{n} خدمت — صفحهٔ {page} از {pages}",
        "{n} services — page {page} of {pages}",
    ),
    ("cat_at_counter", "در دفتر پیشخوان", "At a Pishkhan office"),
    ("cat_online", "فقط برخط", "Online only"),
    (
        "cat_online_note",
        "این خدمت فقط برخط ارائه می‌شود و در دفترها نوبت ندارد.",
        "This service is given online only; offices take no bookings for it.",
    ),
    ("cat_needs", "مدارک لازم", "What to bring"),
    (
        "cat_checks",
        "استعلام‌هایی که دفتر انجام می‌دهد",
        "What the office checks",
    ),
    (
        "cat_time",
        "زمان تقریبی در باجه",
        "Time at the counter, about",
    ),
    ("cat_cost", "هزینه", "Cost"),
    ("cat_where", "کجا", "Where"),
    (
        "cat_where_any",
        "در همهٔ دفترهای پیشخوان فعال. نزدیک‌ترین را پیدا کنید:",
        "At every open Pishkhan office. Find the nearest:",
    ),
    ("cat_book", "گرفتن نوبت", "Book an appointment"),
    ("cat_agency", "دستگاه ارائه‌دهنده", "Agency"),
    ("cat_all", "همهٔ خدمات", "All services"),
    ("nav_catalogue", "خدمات", "Services"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalogue", get(list))
        .route("/catalogue/{code}", get(one))
}

struct Row {
    code: String,
    title: String,
    channel: String,
    online: bool,
    minutes: String,
    fee: Option<String>,
}

#[derive(Template)]
#[template(path = "catalogue.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    rows: Vec<Row>,
    summary: String,
    earlier: Option<String>,
    later: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<String>,
}

fn page_number(s: &Option<String>) -> Result<usize, ApiError> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(1),
        Some(p) => pishkhan_domain::digits::to_ascii_digits(p)
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=1000).contains(p))
            .ok_or_else(|| ApiError::invalid("invalid_page", "page", "page must be 1..=1000")),
    }
}

pub async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, UiError> {
    let t = page.t;
    let n = page_number(&q.page).map_err(|e| page.fail(e))?;
    let text = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let found = catalogue::find(state.app(), text, Reach::All, n, PER_PAGE)
        .await
        .map_err(|e| page.fail(e))?;
    let mut rows = Vec::with_capacity(found.items.len());
    for r in &found.items {
        let s = &r.service;
        let fee = super::pages::fee_view(&state, &s.code, &t)
            .await
            .map_err(|e| page.fail(ApiError::App(e)))?;
        rows.push(Row {
            code: s.code.to_string(),
            title: t.text(&s.title),
            online: s.channel == Channel::Online,
            channel: t.t(if s.channel == Channel::Online {
                "cat_online"
            } else {
                "cat_at_counter"
            }),
            minutes: format!("{} {}", t.num(s.avg_handling_minutes), t.t("minutes")),
            fee: fee.map(|f| f.total_tomans),
        });
    }
    let pages = found.total.div_ceil(PER_PAGE).max(1);
    let link = |p: usize| {
        let mut l = format!("/catalogue?page={p}");
        if let Some(text) = text {
            l.push_str(&format!("&q={}", super::urlencode(text)));
        }
        l
    };
    Ok(render(&ListPage {
        chrome: page.chrome("catalogue"),
        q: text.unwrap_or_default().to_string(),
        rows,
        summary: t
            .t("cat_found")
            .replace("{n}", &t.count(found.total as u64))
            .replace("{page}", &t.num(n))
            .replace("{pages}", &t.num(pages)),
        earlier: (n > 1).then(|| link(n - 1)),
        later: (n < pages).then(|| link(n + 1)),
    }))
}

#[derive(Template)]
#[template(path = "catalogue_service.html")]
struct ServicePage {
    chrome: Chrome,
    code: String,
    title: String,
    agency: String,
    category: String,
    online: bool,
    minutes: String,
    documents: Vec<String>,
    checks: Vec<String>,
    fee: Option<super::pages::FeeView>,
    place: String,
    lat: String,
    lon: String,
    searched: bool,
    offices: Vec<OfficeHit>,
    summary: String,
    earlier: Option<String>,
    later: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct WhereQuery {
    place: Option<String>,
    lat: Option<String>,
    lon: Option<String>,
    opage: Option<String>,
}

pub async fn one(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<WhereQuery>,
) -> Result<Response, UiError> {
    let t = page.t;
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
        .map(|a| t.text(&a.name))
        .unwrap_or_default();
    let fee = super::pages::fee_view(&state, &code, &t)
        .await
        .map_err(|e| page.fail(ApiError::App(e)))?;
    let online = service.channel == Channel::Online;
    let (lat, lon) = (degrees(&q.lat), degrees(&q.lon));
    let place = q
        .place
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let searched = !online && (place.is_some() || lat.is_some() || lon.is_some());
    let mut offices = Vec::new();
    let (mut summary, mut earlier, mut later, mut error) = (String::new(), None, None, None);
    if searched {
        let n = page_number(&q.opage).map_err(|e| page.fail(e))?;
        let search = OfficeSearch {
            lat,
            lon,
            place: place.clone(),
            page: Some(u32::try_from(n).unwrap_or(u32::MAX)),
            except: None,
        };
        match office_finder::find(state.app(), &search).await {
            Ok(found) => {
                offices = office_hits(&state, t, &found, Some(code.as_str()))
                    .await
                    .map_err(|e| page.fail(e))?;
                summary = t
                    .t("c_offices_found")
                    .replace("{n}", &t.count(found.total as u64))
                    .replace("{page}", &t.num(found.page))
                    .replace("{pages}", &t.num(found.pages));
                let link = |p: u32| {
                    let mut l = format!("/catalogue/{code}?opage={p}");
                    for (k, v) in [("place", &q.place), ("lat", &q.lat), ("lon", &q.lon)] {
                        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                            l.push_str(&format!("&{k}={}", super::urlencode(v)));
                        }
                    }
                    l.push_str("#where");
                    l
                };
                earlier = (found.page > 1).then(|| link(found.page - 1));
                later = (found.page < found.pages).then(|| link(found.page + 1));
            }
            Err(e @ AppError::Invalid { .. }) => {
                error = Some(t.problem_message(&ApiError::App(e)));
            }
            Err(e) => return Err(page.fail(e)),
        }
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&ServicePage {
            chrome: page.chrome("catalogue"),
            code: code.to_string(),
            title: t.text(&service.title),
            agency,
            category: t.text(service.category.label()),
            online,
            minutes: format!("{} {}", t.num(service.avg_handling_minutes), t.t("minutes")),
            documents: service
                .required_documents
                .iter()
                .map(|d| t.text(d))
                .collect(),
            checks: service
                .required_inquiries
                .iter()
                .map(|i| t.inquiry(i))
                .collect(),
            fee,
            place: place.unwrap_or_default(),
            lat: lat.map(|v| format!("{v:.5}")).unwrap_or_default(),
            lon: lon.map(|v| format!("{v:.5}")).unwrap_or_default(),
            searched,
            offices,
            summary,
            earlier,
            later,
            error,
        }),
    )
        .into_response())
}
