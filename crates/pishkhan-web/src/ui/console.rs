//! The operator console: one counter's desk for today's queue. Check in booked citizens (and
//! see whose booking it is), give walk-in tickets (a service found by typing, a printable
//! ticket, a warning outside the office's hours), call the next person, recall them, transfer
//! them to another counter, complete or mark a no-show (after asking), pause and resume the
//! counter, and watch the line with estimated waits and the desk's recent moves. The live part
//! redraws from the office's board stream.
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
use pishkhan_domain::normalize::normalize_compact;
use pishkhan_domain::tehran::to_tehran;
use pishkhan_domain::{NationalCode, schedule::TrackingCode};
use pishkhan_queue::{CounterId, Event, PriorityCode, QueueConfig, Ticket};
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
    ("console_recall", "فراخوان دوباره", "Recall"),
    ("console_transfer", "انتقال به باجه", "Transfer to counter"),
    ("console_transfer_to", "باجهٔ مقصد", "Target counter"),
    ("console_pause", "استراحت باجه", "Pause counter"),
    ("console_resume", "ادامهٔ کار باجه", "Resume counter"),
    (
        "console_paused",
        "این باجه در حالت استراحت است و کسی را فرا نمی‌خواند.",
        "This counter is paused and calls no one.",
    ),
    (
        "console_paused_counters",
        "باجه‌های در استراحت",
        "Paused counters",
    ),
    (
        "console_done_recall",
        "دوباره فراخوانده شد:",
        "Called again:",
    ),
    (
        "console_done_transfer",
        "به باجهٔ دیگر منتقل شد:",
        "Transferred to another counter:",
    ),
    (
        "console_done_pause",
        "باجه در حالت استراحت است.",
        "The counter is paused.",
    ),
    (
        "console_done_resume",
        "باجه دوباره کار می‌کند.",
        "The counter is working again.",
    ),
    (
        "console_done_cancel",
        "نوبت لغو شد.",
        "The booking was cancelled.",
    ),
    ("console_cancel_booking", "لغو نوبت", "Cancel booking"),
    (
        "console_confirm_no_show",
        "ثبت شود که این فرد حاضر نشد؟",
        "Mark this person as a no-show?",
    ),
    (
        "console_confirm_cancel",
        "این نوبت لغو شود؟ این کار بازگشت ندارد.",
        "Cancel this booking? This cannot be undone.",
    ),
    ("console_confirm_title", "تأیید", "Confirm"),
    ("console_confirm_yes", "بله، ثبت شود", "Yes, go ahead"),
    ("console_confirm_no", "خیر، بازگشت", "No, go back"),
    ("console_checked_in_title", "پذیرش انجام شد", "Checked in"),
    ("console_national_code", "کد ملی", "National code"),
    ("console_slot", "زمان نوبت", "Booked slot"),
    ("console_search_service", "جست‌وجوی خدمت", "Search services"),
    ("console_search", "یافتن", "Find"),
    (
        "console_search_hint",
        "بخشی از نام یا کد خدمت را بنویسید",
        "Type part of a service's name or code",
    ),
    (
        "console_no_service_found",
        "خدمتی با این نام پیدا نشد.",
        "No service matches.",
    ),
    (
        "console_outside_hours",
        "اکنون بیرون از ساعت کاری دفتر است.",
        "It is now outside the office's opening hours.",
    ),
    (
        "console_outside_hours_confirm",
        "با این حال نوبت داده شود",
        "Issue the ticket anyway",
    ),
    ("console_print_ticket", "چاپ برگهٔ نوبت", "Print the ticket"),
    ("console_print", "چاپ", "Print"),
    ("console_back", "بازگشت به میز کار", "Back to the console"),
    ("console_ticket_title", "برگهٔ نوبت", "Queue ticket"),
    (
        "console_people_ahead",
        "نفرات پیش از شما",
        "People ahead of you",
    ),
    ("console_issued_at", "زمان صدور", "Issued"),
    (
        "console_follow_board",
        "نوبت‌ها را روی تلفن خود دنبال کنید",
        "Follow the queue on your phone",
    ),
    ("console_history", "رویدادهای اخیر", "Recent events"),
    ("console_from", "از", "from"),
    ("console_to", "به", "to"),
    ("console_reserved_for", "برای باجه", "for counter"),
    (
        "console_history_empty",
        "هنوز رویدادی نیست.",
        "Nothing has happened yet.",
    ),
    ("event_booking_expected", "نوبت ثبت شد", "Booking expected"),
    (
        "event_booking_cancelled",
        "نوبت لغو شد",
        "Booking cancelled",
    ),
    (
        "event_booking_no_show",
        "نوبت بدون مراجعه",
        "Booking not attended",
    ),
    ("event_checked_in", "پذیرش", "Checked in"),
    ("event_walk_in", "نوبت حضوری", "Walk-in ticket"),
    ("event_called", "فراخوان", "Called"),
    ("event_recalled", "فراخوان دوباره", "Called again"),
    ("event_transferred", "انتقال", "Transferred"),
    ("event_counter_paused", "استراحت باجه", "Counter paused"),
    ("event_counter_resumed", "ادامهٔ کار باجه", "Counter resumed"),
    ("event_completed", "پایان خدمت", "Completed"),
    ("event_no_show", "حاضر نشد", "No-show"),
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
        .route("/console/recall", post(recall))
        .route("/console/transfer", post(transfer))
        .route("/console/pause", post(pause))
        .route("/console/resume", post(resume))
        .route("/console/tickets/{ticket}/complete", post(complete))
        .route(
            "/console/tickets/{ticket}/no-show",
            get(confirm_no_show).post(no_show),
        )
        .route(
            "/console/bookings/{code}/cancel",
            get(confirm_cancel).post(cancel_booking),
        )
        .route(
            "/console/tickets/{ticket}/print",
            get(super::counter_ticket::print),
        )
}

#[derive(Deserialize, Default)]
pub struct ConsoleQuery {
    pub(super) office: Option<String>,
    pub(super) counter: Option<String>,
    done: Option<String>,
    ticket: Option<String>,
    /// Text typed to find a service for a walk-in ticket.
    q: Option<String>,
}

/// The office and counter a console request is about. Staff of an office work their own; the
/// regulator names one.
pub(super) struct Desk {
    pub(super) office: Office,
    pub(super) counter: u16,
}

impl Desk {
    /// The console's address for this desk.
    pub(super) fn url(&self) -> String {
        format!(
            "/console?office={}&counter={}",
            self.office.code, self.counter
        )
    }
}

pub(super) async fn desk(
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

/// The desk a page is about, or the console's own error when none is named.
async fn named_desk(
    state: &AppState,
    page: &PageCtx,
    office: Option<&str>,
    counter: Option<&str>,
) -> Result<Desk, UiError> {
    let staff = page.require_staff()?;
    desk(state, staff, office, counter)
        .await
        .map_err(|e| page.fail(e))?
        .ok_or_else(|| {
            page.fail(ApiError::invalid(
                "missing_field",
                "office",
                "name an office",
            ))
        })
}

struct LineRow {
    ticket: String,
    service: String,
    priority: String,
    wait_min: Option<i64>,
    /// The counter a transferred person waits for.
    reserved_for: Option<u16>,
}

struct BookingRow {
    time: String,
    tracking_code: String,
    service: String,
    status: &'static str,
    can_check_in: bool,
}

/// One of the desk's recent moves, in words.
struct MoveRow {
    time: String,
    what: String,
    ticket: Option<String>,
    /// "counter 2", or "from counter 1 to counter 2".
    place: Option<String>,
}

#[derive(Template)]
#[template(path = "console_live.html")]
struct LivePanel {
    t: Tr,
    csrf: String,
    office_code: String,
    counter: u16,
    serving: Option<(String, String)>,
    paused: bool,
    /// The office's other counters, for a transfer.
    others: Vec<u16>,
    all_serving: Vec<(u16, String)>,
    paused_counters: Vec<u16>,
    line: Vec<LineRow>,
    bookings: Vec<BookingRow>,
    figures: Vec<(&'static str, String)>,
    moves: Vec<MoveRow>,
}

/// A service offered for a walk-in ticket, with the folded text the search compares.
struct ServiceRow {
    code: String,
    title: String,
    search: String,
}

/// Who just checked in, for the operator to greet and check against the booking.
struct CheckedInCard {
    ticket: String,
    tracking_code: String,
    national_code: String,
    service: String,
    slot: String,
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
    services: Vec<ServiceRow>,
    search: String,
    priorities: Vec<(String, String)>,
    notice: Option<String>,
    print_ticket: Option<String>,
    checked_in: Option<CheckedInCard>,
    outside_hours: bool,
    error: Option<String>,
    pick_office: bool,
    live_html: String,
}

pub(super) fn service_label(
    t: Tr,
    catalogue: &[(ServiceCode, LocalizedText)],
    code: &str,
) -> String {
    catalogue
        .iter()
        .find(|(c, _)| c.as_str() == code)
        .map(|(_, title)| t.text(title))
        .unwrap_or_else(|| code.to_string())
}

/// Tehran wall-clock time, `HH:MM`.
pub(super) fn clock(at: time::OffsetDateTime) -> String {
    let local = to_tehran(at);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// Moves shown on the console.
const MOVES_SHOWN: usize = 8;

fn move_row(t: Tr, e: &Event) -> MoveRow {
    let counter = |c: CounterId| format!("{} {}", t.t("console_counter"), t.num(c.0));
    let place = match e {
        Event::Transferred { from, to, .. } => Some(format!(
            "{} {} {} {}",
            t.t("console_from"),
            counter(*from),
            t.t("console_to"),
            counter(*to)
        )),
        _ => e.counter().map(counter),
    };
    MoveRow {
        time: e.at().map(|at| t.num(clock(at))).unwrap_or_default(),
        what: t.t(format!("event_{}", e.kind())),
        ticket: e.ticket().map(|tk| t.num(tk)),
        place,
    }
}

/// The live part of the console: who this counter serves, the line, today's bookings, figures.
async fn live_panel(
    state: &AppState,
    staff: &Staff,
    t: Tr,
    desk: &Desk,
) -> Result<LivePanel, ApiError> {
    let catalogue = pishkhan_app::appointments::catalogue(state.app()).await?;
    let now = state.now();
    let queue = pishkhan_app::queue::today(state.app(), &desk.office).await?;
    let counter = CounterId(desk.counter);
    let serving = queue.serving(counter).and_then(|ticket| {
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
            reserved_for: queue
                .ticket(l.ticket)
                .and_then(|i| i.reserved_for)
                .map(|c| c.0),
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
            BookingRow {
                time: clock(b.slot.start),
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
    let moves = queue::recent_moves(state.app(), staff, desk.office.code, MOVES_SHOWN)
        .await?
        .iter()
        .map(|e| move_row(t, e))
        .collect();
    Ok(LivePanel {
        t,
        csrf: staff.csrf_token.clone(),
        office_code: desk.office.code.to_string(),
        counter: desk.counter,
        serving,
        paused: queue.is_paused(counter),
        others: (1..=desk.office.counters.max(1))
            .filter(|c| *c != desk.counter)
            .collect(),
        all_serving: board
            .now_serving
            .iter()
            .map(|n| (n.counter.0, n.ticket.to_string()))
            .collect(),
        paused_counters: queue.paused_counters().iter().map(|c| c.0).collect(),
        line,
        bookings,
        figures,
        moves,
    })
}

fn notice(t: Tr, q: &ConsoleQuery) -> Option<String> {
    let key = match q.done.as_deref()? {
        "check-in" => "console_done_check_in",
        "walk-in" => "console_done_walk_in",
        "call" => "console_done_call",
        "recall" => "console_done_recall",
        "transfer" => "console_done_transfer",
        "pause" => "console_done_pause",
        "resume" => "console_done_resume",
        "complete" => "console_done_complete",
        "no-show" => "console_done_no_show",
        "cancel" => "console_done_cancel",
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

/// A national code with all but its last four digits hidden: enough to check against the
/// citizen's card, not enough to copy from a screen others can see.
fn masked(code: &NationalCode) -> String {
    let s = code.as_str();
    let keep = s.len().saturating_sub(4);
    format!("{}{}", "•".repeat(keep), &s[keep..])
}

/// The booking behind a ticket just checked in.
fn checked_in_card(
    t: Tr,
    queue: &pishkhan_queue::Queue,
    catalogue: &[(ServiceCode, LocalizedText)],
    ticket: Ticket,
) -> Option<CheckedInCard> {
    let info = queue.ticket(ticket)?;
    let booking = queue.booking(info.tracking_code.as_ref()?)?;
    Some(CheckedInCard {
        ticket: t.num(ticket),
        tracking_code: booking.tracking_code.to_string(),
        national_code: masked(&booking.national_code),
        service: service_label(t, catalogue, booking.service.as_str()),
        slot: format!(
            "{}{}{}–{}",
            t.date(pishkhan_domain::tehran::jalali_today(booking.slot.start)),
            t.t("list_comma"),
            t.num(clock(booking.slot.start)),
            t.num(clock(booking.slot.end)),
        ),
    })
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
            search: String::new(),
            priorities: Vec::new(),
            notice: None,
            print_ticket: None,
            checked_in: None,
            outside_hours: false,
            error,
            pick_office: true,
            live_html: String::new(),
        };
        return Ok(render(&body));
    };
    let live = live_panel(state, staff, t, &desk)
        .await
        .map_err(|e| page.fail(e))?;
    let live_html = live
        .render()
        .map_err(|e| page.fail(ApiError::App(AppError::Internal(e.into()))))?;
    let search = q.q.as_deref().unwrap_or("").trim().to_string();
    let services = queue::walk_in_services(state.app(), &desk.office)
        .await
        .map_err(|e| page.fail(e))?
        .into_iter()
        .map(|(code, title, _)| ServiceRow {
            search: normalize_compact(&format!("{} {} {}", title.fa, title.en, code.as_str())),
            code: code.as_str().to_string(),
            title: t.text(&title),
        })
        .filter(|s| search.is_empty() || s.search.contains(&normalize_compact(&search)))
        .collect();
    let priorities = QueueConfig::default_priority_groups()
        .into_iter()
        .map(|g| (g.code.as_str().to_string(), t.text(&g.label)))
        .collect();
    let done_ticket = q.ticket.as_deref().and_then(|s| Ticket::parse(s).ok());
    let checked_in = match (q.done.as_deref(), done_ticket) {
        (Some("check-in"), Some(ticket)) => {
            let catalogue = pishkhan_app::appointments::catalogue(state.app())
                .await
                .map_err(|e| page.fail(e))?;
            let queue = queue::today(state.app(), &desk.office)
                .await
                .map_err(|e| page.fail(e))?;
            checked_in_card(t, &queue, &catalogue, ticket)
        }
        _ => None,
    };
    let print_ticket = match (q.done.as_deref(), done_ticket) {
        (Some("walk-in" | "check-in"), Some(ticket)) => Some(ticket.to_string()),
        _ => None,
    };
    let outside_hours = queue::outside_hours(state.app(), &desk.office, state.now())
        .await
        .map_err(|e| page.fail(e))?;
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
        search,
        priorities,
        notice: notice(t, q),
        print_ticket,
        checked_in,
        outside_hours,
        error,
        pick_office: false,
        live_html,
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
    let desk = named_desk(&state, &page, q.office.as_deref(), q.counter.as_deref()).await?;
    let staff = page.require_staff()?;
    let panel = live_panel(&state, staff, page.t, &desk)
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
    /// The counter a transfer goes to.
    #[serde(default)]
    to: String,
    /// `confirm` when the operator gives a ticket outside the office's hours on purpose.
    #[serde(default)]
    outside_hours: String,
}

fn back(desk: &Desk, done: &str, ticket: Option<&str>) -> Response {
    let mut url = format!("{}&done={done}", desk.url());
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
    let desk = named_desk(state, page, Some(&form.office), Some(&form.counter)).await?;
    let q = ConsoleQuery {
        office: Some(desk.office.code.to_string()),
        counter: Some(desk.counter.to_string()),
        ..ConsoleQuery::default()
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
        // The desk may serve past its hours (a queue still inside at closing), but only when
        // the operator says so.
        let outside = queue::outside_hours(state.app(), &desk.office, state.now()).await?;
        if outside && form.outside_hours != "confirm" {
            return Err(ApiError::App(AppError::Conflict {
                code: "outside_office_hours",
                message: "outside the office's hours; confirm to issue the ticket".into(),
            }));
        }
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

pub async fn recall(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "recall", |desk| async {
        let counter = CounterId(desk.counter);
        let issued = queue::recall(state.app(), &staff, desk.office.code, counter, &ctx).await?;
        Ok((desk, Some(issued.ticket.to_string())))
    })
    .await
}

pub async fn transfer(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "transfer", |desk| async {
        let to = pishkhan_domain::digits::to_ascii_digits(form.to.trim())
            .parse::<u16>()
            .map_err(|_| ApiError::invalid("invalid_counter", "to", "a counter is a number"))?;
        let from = CounterId(desk.counter);
        let issued = queue::transfer(
            state.app(),
            &staff,
            desk.office.code,
            from,
            CounterId(to),
            &ctx,
        )
        .await?;
        Ok((desk, Some(issued.ticket.to_string())))
    })
    .await
}

pub async fn pause(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "pause", |desk| async {
        let counter = CounterId(desk.counter);
        queue::pause(state.app(), &staff, desk.office.code, counter, &ctx).await?;
        Ok((desk, None))
    })
    .await
}

pub async fn resume(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "resume", |desk| async {
        let counter = CounterId(desk.counter);
        queue::resume(state.app(), &staff, desk.office.code, counter, &ctx).await?;
        Ok((desk, None))
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

pub async fn cancel_booking(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<DeskForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    act(&state, &page, &form, "cancel", |desk| async {
        let code = TrackingCode::parse(&code)?;
        let caller = pishkhan_app::Caller::Staff(staff.session.clone());
        pishkhan_app::appointments::cancel(state.app(), &caller, &code, &ctx).await?;
        Ok((desk, None))
    })
    .await
}

/// The step that asks before a move that cannot be undone: for a browser without script (the
/// console's script asks in place).
#[derive(Template)]
#[template(path = "console_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    t: Tr,
    csrf: String,
    office_code: String,
    counter: u16,
    question: String,
    subject: String,
    action: String,
    back: String,
}

async fn confirm_page(
    state: &AppState,
    page: &PageCtx,
    q: &ConsoleQuery,
    question: &'static str,
    subject: String,
    action: String,
) -> Result<Response, UiError> {
    let desk = named_desk(state, page, q.office.as_deref(), q.counter.as_deref()).await?;
    let staff = page.require_staff()?;
    Ok(render(&ConfirmPage {
        chrome: page.chrome("console"),
        t: page.t,
        csrf: staff.csrf_token.clone(),
        office_code: desk.office.code.to_string(),
        counter: desk.counter,
        question: page.t.t(question),
        subject,
        action,
        back: desk.url(),
    }))
}

pub async fn confirm_no_show(
    State(state): State<AppState>,
    page: PageCtx,
    Path(ticket): Path<String>,
    ApiQuery(q): ApiQuery<ConsoleQuery>,
) -> Result<Response, UiError> {
    let ticket = Ticket::parse(&ticket)
        .map_err(|e| page.fail(ApiError::invalid(e.code(), "ticket", e.to_string())))?;
    let action = format!("/console/tickets/{ticket}/no-show");
    let subject = format!("{} {}", page.t.t("console_ticket"), page.t.num(ticket));
    confirm_page(
        &state,
        &page,
        &q,
        "console_confirm_no_show",
        subject,
        action,
    )
    .await
}

pub async fn confirm_cancel(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<ConsoleQuery>,
) -> Result<Response, UiError> {
    let code = TrackingCode::parse(&code).map_err(|e| page.fail(e))?;
    let action = format!("/console/bookings/{code}/cancel");
    let subject = format!("{} {code}", page.t.t("c_tracking_code"));
    confirm_page(&state, &page, &q, "console_confirm_cancel", subject, action).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_event_is_worded_in_both_languages() {
        for kind in Event::KINDS {
            for lang in [
                pishkhan_domain::model::Lang::Fa,
                pishkhan_domain::model::Lang::En,
            ] {
                let text = Tr::new(lang).t(format!("event_{kind}"));
                assert!(
                    !text.starts_with('⟦') && !text.contains('_'),
                    "{kind}: {text}"
                );
            }
        }
    }

    #[test]
    fn a_masked_national_code_shows_only_its_last_four_digits() {
        let code = NationalCode::parse("0012345679").unwrap();
        assert_eq!(masked(&code), "••••••5679");
    }
}
