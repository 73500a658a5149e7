//! The office's TV board in the waiting room: the ticket just called and its counter in very
//! large type, the latest calls, how many wait for each service, the clock and the Jalali
//! date. Public, like the board's stream.
//!
//! The page is whole without JavaScript (and then refreshes itself every 30 s); with it,
//! `assets/display.js` redraws the board from the office's board stream, shows each new call
//! (or recall) as a banner for a few seconds and, once someone enabled sound on this screen,
//! plays `assets/chime.wav`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use pishkhan_domain::model::{LocalizedText, ServiceCode, Weekday};
use pishkhan_domain::tehran::{jalali_today, to_tehran};
use pishkhan_queue::{DisplayBoard, NowServing};

use super::{PageCtx, UiError, render};
use crate::AppState;
use crate::i18n::Tr;
use crate::input::parse_office_code;

/// UI strings of the TV board: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("board_calling", "شمارهٔ اعلام‌شده", "Now calling"),
    ("board_ticket", "شماره", "Ticket"),
    (
        "board_go_to",
        "لطفاً به این باجه مراجعه کنید",
        "Please go to this counter",
    ),
    ("board_recent", "فراخوان‌های اخیر", "Recent calls"),
    (
        "board_no_calls",
        "هنوز کسی فراخوانده نشده است.",
        "Nobody has been called yet.",
    ),
    ("board_waiting_title", "در انتظار", "Waiting"),
    ("board_waiting_total", "همهٔ خدمات", "All services"),
    (
        "board_no_one_waits",
        "کسی در انتظار نیست.",
        "Nobody is waiting.",
    ),
    (
        "board_other_services",
        "خدمات دیگر ({n})",
        "Other services ({n})",
    ),
    ("board_next_up", "نفرات بعدی", "Next"),
    (
        "board_at_counters",
        "در حال خدمت در باجه‌ها",
        "At the counters",
    ),
    (
        "board_counters_idle",
        "همهٔ باجه‌ها آزادند.",
        "All counters are free.",
    ),
    ("board_sound", "صدای اعلام", "Call chime"),
    (
        "board_sound_enable",
        "فعال‌کردن صدای اعلام",
        "Turn on the call chime",
    ),
    ("board_sound_on", "روشن", "on"),
    ("board_clock", "ساعت", "Time"),
    (
        "board_live_lost",
        "ارتباط با سامانه قطع شده است؛ در حال اتصال دوباره…",
        "Connection lost; reconnecting…",
    ),
    ("board_on_break", "در استراحت", "on a break"),
];

/// How many services the waiting panel lists by name; the rest are summed in one row, so the
/// board never outgrows a 1080-line screen.
const SERVICE_ROWS: usize = 6;

/// How long a call's banner stays up, in milliseconds: long enough to read from the back of
/// the room, short enough that the next call does not wait behind it.
const ANNOUNCE_MS: u32 = 8_000;

/// The week as the script counts it, Sunday first.
const SUNDAY_FIRST: [Weekday; 7] = [
    Weekday::Sunday,
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
];

/// A call as the board shows it: digits already in the page's script.
struct CallRow {
    ticket: String,
    counter: String,
    /// `W-001@<RFC 3339 call time>`, as the script keys the stream's calls: it announces only
    /// calls the board did not show before.
    key: String,
}

struct ServiceRow {
    name: String,
    waiting: String,
}

#[derive(Template)]
#[template(path = "display.html")]
struct DisplayPage {
    t: Tr,
    office_code: String,
    office_name: String,
    /// Today, Jalali `YYYY-MM-DD`, as the stream gives the queue's day, and its weekday
    /// (0 is Sunday), from which the script names the next day's.
    day: String,
    weekday: usize,
    date: String,
    time: String,
    now_ms: i64,
    latest: Option<CallRow>,
    earlier: Vec<CallRow>,
    services: Vec<ServiceRow>,
    waiting: String,
    next_up: Vec<String>,
    serving: Vec<CallRow>,
    /// Counters on a break, their numbers in the page's digits.
    paused: Vec<String>,
    /// Service code → name in the page's language, for the script's redraws (JSON).
    service_names: String,
    /// Persian month names, or English, January-first order of the Jalali year (JSON).
    month_names: String,
    weekday_names: String,
    announce_ms: u32,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/offices/{code}/display", get(display))
}

fn call_row(t: Tr, c: &NowServing) -> CallRow {
    let at = c
        .called_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    CallRow {
        ticket: t.num(c.ticket),
        counter: t.num(c.counter.0),
        key: format!("{}@{at}", c.ticket),
    }
}

fn name_of(t: Tr, catalogue: &[(ServiceCode, LocalizedText)], code: &ServiceCode) -> String {
    catalogue
        .iter()
        .find(|(c, _)| c == code)
        .map(|(_, title)| t.text(title))
        .unwrap_or_else(|| code.to_string())
}

/// The waiting panel: the busiest services first, the rest in one row.
fn service_rows(
    t: Tr,
    catalogue: &[(ServiceCode, LocalizedText)],
    board: &DisplayBoard,
) -> Vec<ServiceRow> {
    let mut by_count: Vec<&(ServiceCode, u32)> = board.waiting_by_service.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut rows: Vec<ServiceRow> = by_count
        .iter()
        .take(SERVICE_ROWS)
        .map(|(code, n)| ServiceRow {
            name: name_of(t, catalogue, code),
            waiting: t.num(n),
        })
        .collect();
    let rest = &by_count[by_count.len().min(SERVICE_ROWS)..];
    if !rest.is_empty() {
        rows.push(ServiceRow {
            name: t
                .t("board_other_services")
                .replace("{n}", &t.num(rest.len())),
            waiting: t.num(rest.iter().map(|(_, n)| n).sum::<u32>()),
        });
    }
    rows
}

/// The board for the office's TV: public, live through server-sent events.
async fn display(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
) -> Result<Response, UiError> {
    let t = page.t;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let office = state.store().office(code).await.map_err(|e| page.fail(e))?;
    let queue = pishkhan_app::queue::today(state.app(), &office)
        .await
        .map_err(|e| page.fail(e))?;
    let catalogue = pishkhan_app::appointments::catalogue(state.app())
        .await
        .map_err(|e| page.fail(e))?;
    let now = state.now();
    let board = queue.display(now);
    let local = to_tehran(now);
    let today = jalali_today(now);
    let mut calls = board.recent_calls.iter().map(|c| call_row(t, c));
    let latest = calls.next();
    let names: serde_json::Map<String, serde_json::Value> = catalogue
        .iter()
        .map(|(code, title)| (code.to_string(), t.text(title).into()))
        .collect();
    let months: Vec<String> = (1..=12)
        .map(|m| t.text(pishkhan_domain::JalaliDate::month_name(m)))
        .collect();
    let weekdays: Vec<String> = SUNDAY_FIRST.iter().map(|d| t.text(d.label())).collect();
    Ok(render(&DisplayPage {
        t,
        office_code: office.code.to_string(),
        office_name: t.text(&office.name),
        day: today.to_string(),
        weekday: SUNDAY_FIRST
            .iter()
            .position(|d| *d == today.weekday())
            .unwrap_or(0),
        date: format!("{} {}", t.text(today.weekday().label()), t.date(today)),
        time: t.num(format!("{:02}:{:02}", local.hour(), local.minute())),
        now_ms: pishkhan_domain::schedule::unix_ms(now),
        latest,
        earlier: calls.collect(),
        services: service_rows(t, &catalogue, &board),
        waiting: t.num(board.waiting_count),
        next_up: board.next_up.iter().map(|n| t.num(n)).collect(),
        serving: board.now_serving.iter().map(|c| call_row(t, c)).collect(),
        paused: queue.paused_counters().iter().map(|c| t.num(c.0)).collect(),
        service_names: serde_json::Value::Object(names).to_string(),
        month_names: serde_json::to_string(&months).unwrap_or_default(),
        weekday_names: serde_json::to_string(&weekdays).unwrap_or_default(),
        announce_ms: ANNOUNCE_MS,
    }))
}
