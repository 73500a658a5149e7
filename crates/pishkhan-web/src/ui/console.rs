//! The operator console: one counter's desk for today's queue. Check in booked citizens, give
//! walk-in tickets, call the next person, complete or mark a no-show, and watch the line with
//! estimated waits. The line redraws live from the office's board stream.
//!
//! Every action goes through the same queue operations as the API (`pishkhan_app::queue`), so the
//! calling rules, the audit log, booking statuses and notifications are the same.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_domain::model::{LocalizedText, Office, ServiceCode};
use pishkhan_domain::tehran::to_tehran;
use pishkhan_domain::{NationalCode, schedule::TrackingCode};
use pishkhan_queue::{CounterId, PriorityCode, QueueConfig, Ticket};
use serde::Deserialize;

use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;
use crate::input::parse_office_code;
use pishkhan_app::AppError;
use pishkhan_app::queue::{self, CheckInBy};

/// UI strings of the console: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("console_title", "میز کار باجه", "Counter console"),
    ("nav_console", "میز کار", "Console"),
    ("console_counter", "باجه", "Counter"),
    (
        "console_pick_office",
        "کد دفتر را وارد کنید",
        "Enter an office code",
    ),
    ("console_open", "باز کردن", "Open"),
    (
        "console_serving",
        "در حال خدمت در این باجه",
        "Being served at this counter",
    ),
    (
        "console_idle",
        "این باجه کسی را صدا نزده است.",
        "This counter has called no one.",
    ),
    ("console_call_next", "فراخوان نفر بعد", "Call next"),
    ("console_complete", "پایان خدمت", "Complete"),
    ("console_no_show", "حاضر نشد", "No-show"),
    ("console_check_in", "پذیرش نوبت‌دار", "Check in a booking"),
    (
        "console_check_in_hint",
        "کد پیگیری یا کد ملی",
        "Tracking code or national code",
    ),
    ("console_walk_in", "نوبت حضوری", "Walk-in ticket"),
    ("console_service", "خدمت", "Service"),
    ("console_priority", "گروه اولویت", "Priority group"),
    ("console_no_priority", "بدون اولویت", "No priority"),
    ("console_line", "صف انتظار", "Waiting line"),
    (
        "console_line_empty",
        "کسی در صف نیست.",
        "No one is waiting.",
    ),
    ("console_ticket", "نوبت", "Ticket"),
    ("console_wait", "انتظار تخمینی", "Estimated wait"),
    ("console_minutes", "دقیقه", "min"),
    ("console_bookings", "نوبت‌های امروز", "Today's bookings"),
    (
        "console_bookings_empty",
        "امروز نوبتی ثبت نشده است.",
        "No bookings today.",
    ),
    ("console_time", "ساعت", "Time"),
    ("console_status", "وضعیت", "Status"),
    ("console_figures", "آمار امروز", "Today's figures"),
    (
        "console_done_check_in",
        "پذیرش شد؛ نوبت",
        "Checked in; ticket",
    ),
    (
        "console_done_walk_in",
        "نوبت حضوری داده شد:",
        "Walk-in ticket issued:",
    ),
    ("console_done_call", "فراخوانده شد:", "Called:"),
    (
        "console_done_complete",
        "خدمت پایان یافت.",
        "Service completed.",
    ),
    (
        "console_done_no_show",
        "ثبت شد که حاضر نشد.",
        "Marked as a no-show.",
    ),
    ("console_display", "صفحه نمایش سالن", "Hall display"),
    ("console_all_counters", "همه باجه‌ها", "All counters"),
    ("status_booked", "در انتظار مراجعه", "Expected"),
    ("status_checked_in", "پذیرش‌شده", "Checked in"),
    ("status_completed", "انجام‌شده", "Completed"),
    ("status_cancelled", "لغوشده", "Cancelled"),
    ("status_no_show", "غایب", "No-show"),
    ("fig_bookings", "نوبت‌ها", "Bookings"),
    ("fig_check_ins", "پذیرش‌ها", "Check-ins"),
    ("fig_no_shows", "غایبان", "No-shows"),
    ("fig_walk_ins", "حضوری‌ها", "Walk-ins"),
    ("fig_completed", "انجام‌شده", "Completed"),
    (
        "fig_avg_wait",
        "میانگین انتظار (دقیقه)",
        "Average wait (min)",
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(page))
        .route("/console/live", get(live))
        .route("/console/check-in", post(check_in))
        .route("/console/walk-in", post(walk_in))
        .route("/console/call-next", post(call_next))
        .route("/console/tickets/{ticket}/complete", post(complete))
        .route("/console/tickets/{ticket}/no-show", post(no_show))
}

#[derive(Deserialize, Default)]
pub struct ConsoleQuery {
    office: Option<String>,
    counter: Option<String>,
    done: Option<String>,
    ticket: Option<String>,
}

/// The office and counter a console request is about. Staff of an office work their own; the
/// regulator names one.
struct Desk {
    office: Office,
    counter: u16,
}

async fn desk(
    state: &AppState,
    staff: &Staff,
    office: Option<&str>,
    counter: Option<&str>,
) -> Result<Option<Desk>, ApiError> {
    let office = match office.map(str::trim) {
        Some(o) if !o.is_empty() && staff.actor.office.is_none() => Some(parse_office_code(o)?),
        _ => None,
    };
    let counter = match counter.map(|c| pishkhan_domain::digits::to_ascii_digits(c.trim())) {
        Some(c) if !c.is_empty() => Some(c.parse::<u16>().map_err(|_| {
            ApiError::invalid("invalid_counter", "counter", "a counter is a number")
        })?),
        _ => None,
    };
    Ok(queue::desk(state.app(), staff, office, counter)
        .await?
        .map(|(office, counter)| Desk {
            office,
            counter: counter.0,
        }))
}

struct LineRow {
    ticket: String,
    service: String,
    priority: String,
    wait_min: Option<i64>,
}

struct BookingRow {
    time: String,
    tracking_code: String,
    service: String,
    status: &'static str,
    can_check_in: bool,
}

#[derive(Template)]
#[template(path = "console_live.html")]
struct LivePanel {
    t: Tr,
    csrf: String,
    office_code: String,
    counter: u16,
    serving: Option<(String, String)>,
    all_serving: Vec<(u16, String)>,
    line: Vec<LineRow>,
    bookings: Vec<BookingRow>,
    figures: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    chrome: Chrome,
    t: Tr,
    csrf: String,
    office_code: String,
    office_name: String,
    counter: u16,
    counters: Vec<u16>,
    services: Vec<(String, String)>,
    priorities: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
    pick_office: bool,
    serving: Option<(String, String)>,
    all_serving: Vec<(u16, String)>,
    line: Vec<LineRow>,
    bookings: Vec<BookingRow>,
    figures: Vec<(&'static str, String)>,
}

fn service_label(t: Tr, catalogue: &[(ServiceCode, LocalizedText)], code: &str) -> String {
    catalogue
        .iter()
        .find(|(c, _)| c.as_str() == code)
        .map(|(_, title)| t.text(title))
        .unwrap_or_else(|| code.to_string())
}

/// The live part of the console: who this counter serves, the line, today's bookings, figures.
async fn live_panel(
    state: &AppState,
    t: Tr,
    csrf: String,
    desk: &Desk,
) -> Result<LivePanel, ApiError> {
    let catalogue = pishkhan_app::appointments::catalogue(state.app()).await?;
    let now = state.now();
    let queue = pishkhan_app::queue::today(state.app(), &desk.office).await?;
    let serving = queue.serving(CounterId(desk.counter)).and_then(|ticket| {
        queue.ticket(ticket).map(|info| {
            (
                ticket.to_string(),
                service_label(t, &catalogue, info.service.as_str()),
            )
        })
    });
    let board = queue.display(now);
    let line = queue
        .line(now)
        .into_iter()
        .map(|l| LineRow {
            ticket: l.ticket.to_string(),
            service: service_label(t, &catalogue, l.service.as_str()),
            priority: l
                .priority
                .and_then(|p| queue.config().priority_group(&p).map(|g| t.text(&g.label)))
                .unwrap_or_default(),
            wait_min: l.estimated_wait.map(|d| (d.whole_seconds() + 59) / 60),
        })
        .collect();
    let mut bookings: Vec<_> = queue.bookings().collect();
    bookings.sort_by_key(|b| (b.slot.start, b.tracking_code.as_str().to_string()));
    let bookings = bookings
        .into_iter()
        .map(|b| {
            let status = queue
                .booking_status(&b.tracking_code)
                .map(|s| s.code())
                .unwrap_or("booked");
            let local = to_tehran(b.slot.start);
            BookingRow {
                time: format!("{:02}:{:02}", local.hour(), local.minute()),
                tracking_code: b.tracking_code.to_string(),
                service: service_label(t, &catalogue, b.service.as_str()),
                status,
                can_check_in: status == "booked",
            }
        })
        .collect();
    let f = queue.figures();
    let figures = vec![
        ("fig_bookings", t.num(f.bookings)),
        ("fig_check_ins", t.num(f.check_ins + f.late_arrivals)),
        ("fig_walk_ins", t.num(f.walk_ins)),
        ("fig_completed", t.num(f.completed)),
        ("fig_no_shows", t.num(f.no_shows)),
        (
            "fig_avg_wait",
            f.avg_wait_s
                .map(|s| t.num(s.div_ceil(60)))
                .unwrap_or_else(|| "—".into()),
        ),
    ];
    Ok(LivePanel {
        t,
        csrf,
        office_code: desk.office.code.to_string(),
        counter: desk.counter,
        serving,
        all_serving: board
            .now_serving
            .iter()
            .map(|n| (n.counter.0, n.ticket.to_string()))
            .collect(),
        line,
        bookings,
        figures,
    })
}

fn notice(t: Tr, q: &ConsoleQuery) -> Option<String> {
    let key = match q.done.as_deref()? {
        "check-in" => "console_done_check_in",
        "walk-in" => "console_done_walk_in",
        "call" => "console_done_call",
        "complete" => "console_done_complete",
        "no-show" => "console_done_no_show",
        _ => return None,
    };
    let ticket = q
        .ticket
        .as_deref()
        .and_then(|s| Ticket::parse(s).ok())
        .map(|tk| format!(" {}", t.num(tk)))
        .unwrap_or_default();
    Some(format!("{}{ticket}", t.t(key)))
}

async fn render_page(
    state: &AppState,
    page: &PageCtx,
    q: &ConsoleQuery,
    error: Option<String>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let t = page.t;
    let desk = desk(state, staff, q.office.as_deref(), q.counter.as_deref())
        .await
        .map_err(|e| page.fail(e))?;
    let Some(desk) = desk else {
        let body = ConsolePage {
            chrome: page.chrome("console"),
            t,
            csrf: staff.csrf_token.clone(),
            office_code: String::new(),
            office_name: String::new(),
            counter: 1,
            counters: Vec::new(),
            services: Vec::new(),
            priorities: Vec::new(),
            notice: None,
            error,
            pick_office: true,
            serving: None,
            all_serving: Vec::new(),
            line: Vec::new(),
            bookings: Vec::new(),
            figures: Vec::new(),
        };
        return Ok(render(&body));
    };
    let live = live_panel(state, t, staff.csrf_token.clone(), &desk)
        .await
        .map_err(|e| page.fail(e))?;
    let services = pishkhan_app::appointments::catalogue(state.app())
        .await
        .map_err(|e| page.fail(e))?
        .iter()
        .map(|(c, title)| (c.as_str().to_string(), t.text(title)))
        .collect();
    let priorities = QueueConfig::default_priority_groups()
        .into_iter()
        .map(|g| (g.code.as_str().to_string(), t.text(&g.label)))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = ConsolePage {
        chrome: page.chrome("console"),
        t,
        csrf: staff.csrf_token.clone(),
        office_code: desk.office.code.to_string(),
        office_name: t.text(&desk.office.name),
        counter: desk.counter,
        counters: (1..=desk.office.counters.max(1)).collect(),
        services,
        priorities,
        notice: notice(t, q),
        error,
        pick_office: false,
        serving: live.serving,
        all_serving: live.all_serving,
        line: live.line,
        bookings: live.bookings,
        figures: live.figures,
    };
    Ok((status, render(&body)).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<ConsoleQuery>,
) -> Result<Response, UiError> {
    render_page(&state, &page, &q, None).await
}

/// The live panel alone, fetched by the console's script on every board change.
pub async fn live(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<ConsoleQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let desk = desk(&state, staff, q.office.as_deref(), q.counter.as_deref())
        .await
        .map_err(|e| page.fail(e))?
        .ok_or_else(|| {
            page.fail(ApiError::invalid(
                "missing_field",
                "office",
                "name an office",
            ))
        })?;
    let panel = live_panel(&state, page.t, staff.csrf_token.clone(), &desk)
        .await
        .map_err(|e| page.fail(e))?;
    Ok(render(&panel))
}

#[derive(Deserialize, Default)]
pub struct DeskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    counter: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    priority: String,
}

fn back(desk: &Desk, done: &str, ticket: Option<&str>) -> Response {
    let mut url = format!(
        "/console?office={}&counter={}&done={done}",
        desk.office.code, desk.counter
    );
    if let Some(t) = ticket {
        url.push_str("&ticket=");
        url.push_str(t);
    }
    Redirect::to(&url).into_response()
}

/// Runs one desk action; a refusal the operator can fix (unknown code, nobody waiting…)
/// re-renders the console with the reason.
async fn act<F, Fut>(
    state: &AppState,
    page: &PageCtx,
    form: &DeskForm,
    done: &'static str,
    run: F,
) -> Result<Response, UiError>
where
    F: FnOnce(Desk) -> Fut,
    Fut: std::future::Future<Output = Result<(Desk, Option<String>), ApiError>>,
{
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let desk = desk(state, staff, Some(&form.office), Some(&form.counter))
        .await
        .map_err(|e| page.fail(e))?
        .ok_or_else(|| {
            page.fail(ApiError::invalid(
                "missing_field",
                "office",
                "name an office",
            ))
        })?;
    let q = ConsoleQuery {
        office: Some(desk.office.code.to_string()),
        counter: Some(desk.counter.to_string()),
        done: None,
        ticket: None,
    };
    match run(desk).await {
        Ok((desk, ticket)) => Ok(back(&desk, done, ticket.as_deref())),
        Err(
            e @ (ApiError::App(AppError::Invalid { .. })
            | ApiError::App(AppError::Conflict { .. })
            | ApiError::App(AppError::NotFound(_))),
        ) => render_page(state, page, &q, Some(page.t.problem_message(&e))).await,
        Err(e) => Err(page.fail(e)),
    }
}

fn priority(p: &str) -> Result<Option<PriorityCode>, ApiError> {
    let p = p.trim();
    if p.is_empty() {
        return Ok(None);
    }
    PriorityCode::parse(p)
        .map(Some)
        .map_err(|e| ApiError::invalid(e.code(), "priority", e.to_string()))
}

pub async fn check_in(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "check-in", |desk| async {
        let prio = priority(&form.priority)?;
        let raw = pishkhan_domain::digits::to_ascii_digits(form.code.trim());
        // Ten digits are a national code; anything else is read as a tracking code.
        let by_person = raw.len() == 10 && raw.bytes().all(|b| b.is_ascii_digit());
        let by = if by_person {
            CheckInBy::NationalCode(NationalCode::parse(&raw)?)
        } else {
            CheckInBy::Tracking(TrackingCode::parse(&raw)?)
        };
        let issued = queue::check_in(state.app(), &staff, desk.office.code, by, prio, &ctx).await?;
        Ok((desk, Some(issued.ticket.to_string())))
    })
    .await
}

pub async fn walk_in(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "walk-in", |desk| async {
        let prio = priority(&form.priority)?;
        let service = ServiceCode::parse(form.service.trim())
            .map_err(|e| ApiError::invalid(e.code, "service", e.message))?;
        let issued =
            queue::walk_in(state.app(), &staff, desk.office.code, service, prio, &ctx).await?;
        Ok((desk, Some(issued.ticket.to_string())))
    })
    .await
}

pub async fn call_next(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "call", |desk| async {
        let counter = CounterId(desk.counter);
        let issued = queue::call_next(state.app(), &staff, desk.office.code, counter, &ctx).await?;
        Ok((desk, Some(issued.ticket.to_string())))
    })
    .await
}

async fn settle(
    state: AppState,
    page: PageCtx,
    ctx: pishkhan_store::AuditContext,
    ticket: String,
    form: DeskForm,
    done: &'static str,
    no_show: bool,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, done, |desk| async {
        let ticket = Ticket::parse(&ticket)
            .map_err(|e| ApiError::invalid(e.code(), "ticket", e.to_string()))?;
        if no_show {
            queue::no_show(state.app(), &staff, desk.office.code, ticket, &ctx).await?;
        } else {
            queue::complete(state.app(), &staff, desk.office.code, ticket, &ctx).await?;
        }
        Ok((desk, None))
    })
    .await
}

pub async fn complete(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(ticket): Path<String>,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    settle(state, page, ctx, ticket, form, "complete", false).await
}

pub async fn no_show(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(ticket): Path<String>,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    settle(state, page, ctx, ticket, form, "no-show", true).await
}
