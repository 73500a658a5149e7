//! The office manager's page for their office (the regulator may open any office's): the
//! queue's day figures for the last days, a summary of its compliance record and citizens'
//! reports with links to them, and the settings the manager owns — weekly hours, the slot
//! policy, closures and which services each counter handles — each a form that calls the
//! same `pishkhan_app` function as the JSON API. Who may see or change what is decided there.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_app::offices::CounterSetting;
use pishkhan_app::{AppError, Caller, appointments, compliance, offices, reports};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Action;
use pishkhan_domain::digits::to_ascii_digits;
use pishkhan_domain::model::{
    DayHours, LocalizedText, OfficeCode, ServiceCode, Weekday, WeeklyHours,
};
use pishkhan_domain::schedule::SlotPolicy;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{FindingFilter, PageRequest, ReportFilter};
use serde::Deserialize;

use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;
use crate::input::parse_office_code;

/// Days of figures shown: today and the days before it.
const FIGURE_DAYS: i64 = 7;
/// Coming days whose closures are listed.
const CLOSURES_AHEAD_DAYS: i64 = 90;
/// Counters whose services the form offers to set, at most.
const MAX_COUNTER_FIELDS: usize = 200;
/// Fields any of the settings forms sends, at most (hours: 14, counters: one a counter).
const MAX_FORM_FIELDS: usize = MAX_COUNTER_FIELDS + 8;

/// UI strings of the manager's page: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("nav_manage", "دفتر من", "My office"),
    ("mg_title", "اداره", "Managing"),
    (
        "mg_subtitle",
        "صف امروز، آمار روزهای اخیر، پرونده نظارتی، گزارش‌های مردم، کارکنان و تنظیمات دفتر",
        "Today's line, the recent days, the compliance record, citizens' reports, the staff and the office's settings",
    ),
    ("mg_manage_link", "اداره این دفتر", "Manage this office"),
    ("mg_public_page", "صفحه دفتر", "Office page"),
    (
        "mg_figures",
        "آمار صف در روزهای اخیر",
        "The queue's recent days",
    ),
    ("mg_day", "روز", "Day"),
    ("mg_visits", "مراجعه", "Visits"),
    ("mg_bookings", "نوبت‌ها", "Bookings"),
    ("mg_booked_share", "سهم نوبت", "Booked share"),
    ("mg_no_shows", "نیامده", "No-shows"),
    ("mg_avg_wait", "میانگین انتظار", "Average wait"),
    ("mg_max_wait", "بیشترین انتظار", "Longest wait"),
    ("mg_none", "—", "—"),
    ("mg_record", "پرونده نظارتی", "Compliance record"),
    ("mg_today", "امروز در دفتر", "Today at the office"),
    ("mg_waiting_now", "در صف", "Waiting now"),
    ("mg_serving_now", "پشت باجه", "At a counter now"),
    ("mg_served_today", "خدمت‌گرفته امروز", "Served today"),
    ("mg_booked_today", "نوبت امروز", "Booked today"),
    ("mg_open_console", "رفتن به باجه", "Go to the counter"),
    ("mg_staff", "کارکنان دفتر", "The office's staff"),
    ("mg_open_findings", "یافته‌های باز", "Open findings"),
    ("mg_sanctions", "اقدام‌های ثبت‌شده", "Sanctions recorded"),
    ("mg_reports", "گزارش‌های مردم", "Citizens' reports"),
    ("mg_see_record", "دیدن پرونده", "See the record"),
    ("mg_see_reports", "دیدن گزارش‌ها", "See the reports"),
    ("mg_settings", "تنظیمات دفتر", "The office's settings"),
    ("mg_hours", "ساعات کار هفتگی", "Weekly hours"),
    (
        "mg_hours_help",
        "ساعت را به شکل ۰۸:۰۰ بنویسید؛ روزی که هر دو خانه‌اش خالی است تعطیل است.",
        "Write times as 08:00; a day with both boxes empty is closed.",
    ),
    ("mg_opens", "گشایش", "Opens"),
    ("mg_closes", "بستن", "Closes"),
    ("mg_schedule", "نوبت‌دهی", "Booking slots"),
    (
        "mg_slot_minutes",
        "طول هر نوبت (دقیقه)",
        "Slot length (minutes)",
    ),
    (
        "mg_occupancy_cap",
        "بیشینه مراجعه‌کننده در هر نوبت",
        "Most people in one slot",
    ),
    (
        "mg_booking_counters",
        "باجه‌های نوبت‌دهی",
        "Counters taking bookings",
    ),
    (
        "mg_closures",
        "روزهای تعطیل دفتر",
        "Days the office is closed",
    ),
    ("mg_closure_date", "تاریخ (خورشیدی)", "Date (Jalali)"),
    ("mg_reason_fa", "دلیل به فارسی", "Reason in Persian"),
    ("mg_reason_en", "دلیل به انگلیسی", "Reason in English"),
    (
        "mg_closures_none",
        "روز تعطیلی پیش رو نیست.",
        "No closures ahead.",
    ),
    ("mg_reopen", "باز کردن این روز", "Open this day again"),
    ("mg_counters", "خدمات هر باجه", "Services of each counter"),
    (
        "mg_counters_help",
        "کد خدمت‌ها را با ویرگول جدا کنید (مانند PSP-001، NID-001)؛ باجه‌ای که خالی بماند همه خدمت‌ها را می‌دهد.",
        "Separate service codes with commas (such as PSP-001, NID-001); a counter left empty serves every service.",
    ),
    ("mg_counter", "باجه", "Counter"),
    ("mg_save", "ذخیره", "Save"),
    ("mg_saved", "تنظیمات ذخیره شد.", "The settings were saved."),
    (
        "problem_invalid_hours",
        "ساعت‌ها درست نیست: هر روز را به شکل ۰۸:۰۰ تا ۱۴:۰۰ بنویسید و ساعت گشایش باید پیش از ساعت بستن باشد.",
        "The hours are not valid: write each day as 08:00 to 14:00, and opening must come before closing.",
    ),
    (
        "problem_closure_in_past",
        "روز گذشته را نمی‌توان تعطیل کرد؛ امروز یا روزی پیش رو را برگزینید.",
        "A day gone by cannot be closed; choose today or a day to come.",
    ),
    (
        "problem_invalid_slot_minutes",
        "طول نوبت باید میان ۵ تا ۲۴۰ دقیقه باشد.",
        "A slot is 5 to 240 minutes long.",
    ),
    (
        "problem_invalid_occupancy_cap",
        "بیشینه مراجعه‌کننده در هر نوبت باید میان ۱ تا ۱۰۰۰ باشد.",
        "The most people in one slot is 1 to 1,000.",
    ),
    (
        "problem_invalid_booking_counters",
        "باجه‌های نوبت‌دهی نمی‌تواند بیش از باجه‌های دفتر باشد.",
        "Counters taking bookings cannot be more than the office's counters.",
    ),
    (
        "problem_invalid_services",
        "برای هر باجه یک تا ۲۰۰ خدمت بنویسید، یا آن را خالی بگذارید.",
        "List 1 to 200 services for a counter, or leave it empty.",
    ),
    (
        "problem_invalid_day_name",
        "دلیل را به فارسی و انگلیسی بنویسید (هر کدام حداکثر ۲۰۰ نویسه).",
        "Give the reason in Persian and English (at most 200 characters each).",
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/offices/{code}/manage", get(page))
        .route("/offices/{code}/manage/hours", post(save_hours))
        .route("/offices/{code}/manage/schedule", post(save_schedule))
        .route("/offices/{code}/manage/closures", post(save_closure))
        .route(
            "/offices/{code}/manage/closures/removal",
            post(remove_closure),
        )
        .route("/offices/{code}/manage/counters", post(save_counters))
}

struct FigureRow {
    day: String,
    visits: String,
    bookings: String,
    booked_share: String,
    no_shows: String,
    avg_wait: String,
    max_wait: String,
}

struct HoursRow {
    index: usize,
    day: String,
    open: String,
    close: String,
}

struct CounterRow {
    counter: String,
    name: String,
    services: String,
}

/// Which settings form a message or a refused entry belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Hours,
    Schedule,
    Closure,
    Counters,
}

impl Form {
    fn code(self) -> &'static str {
        match self {
            Form::Hours => "hours",
            Form::Schedule => "schedule",
            Form::Closure => "closure",
            Form::Counters => "counters",
        }
    }
}

#[derive(Template)]
#[template(path = "office_manage.html")]
struct ManagePage {
    chrome: Chrome,
    code: String,
    /// The page's address, for its forms.
    path: String,
    name: String,
    status_code: &'static str,
    status: String,
    /// Today's line as it is now: (figure, what it counts, element id).
    today: Vec<(String, String, &'static str)>,
    figures: Vec<FigureRow>,
    /// The office's staff, for those allowed to see them.
    staff: Option<Vec<pishkhan_store::StaffRecord>>,
    open_findings: String,
    sanctions: String,
    reports: String,
    record_link: String,
    reports_link: String,
    may_configure: bool,
    hours: Vec<HoursRow>,
    slot_minutes: String,
    occupancy_cap: String,
    booking_counters: String,
    closure: (String, String, String),
    /// Each closure ahead: its date as shown, its reason, and its date as the form sends it.
    closures: Vec<(String, String, String)>,
    counters: Vec<CounterRow>,
    /// The form a notice or an error is shown beside, and the text.
    notice: Option<(&'static str, String)>,
    error: Option<(&'static str, String)>,
}

impl ManagePage {
    fn notice_for(&self, form: &str) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|(f, _)| *f == form)
            .map(|(_, m)| m.as_str())
    }

    fn error_for(&self, form: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| *f == form)
            .map(|(_, m)| m.as_str())
    }
}

/// A refused form: which, what was typed, and why.
struct Refused {
    form: Form,
    typed: Vec<(String, String)>,
    message: String,
}

impl Refused {
    fn get(&self, form: Form, key: &str) -> Option<String> {
        (self.form == form)
            .then(|| {
                self.typed
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
            .flatten()
    }
}

fn minutes(t: Tr, seconds: Option<u64>) -> String {
    match seconds {
        Some(s) => format!("{} {}", t.num(s.div_ceil(60)), t.t("wait_minutes")),
        None => t.t("mg_none"),
    }
}

fn hhmm(t: Tr, minutes: u16) -> String {
    t.num(format!("{:02}:{:02}", minutes / 60, minutes % 60))
}

async fn build(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    code: OfficeCode,
    notice: Option<(Form, String)>,
    refused: Option<Refused>,
) -> Result<ManagePage, ApiError> {
    let t = page.t;
    // The record first: the app decides whether this member may see this office's.
    let open = compliance::findings(
        state.app(),
        staff,
        &FindingFilter {
            status: Some("open".into()),
            office: Some(code),
        },
        PageRequest::new(1, 1)?,
    )
    .await?;
    let office = state.store().office(code).await?;
    let today = jalali_today(state.now());
    let line = pishkhan_app::queue::today(state.app(), &office)
        .await?
        .display(state.now());
    let mut figures = Vec::with_capacity(FIGURE_DAYS as usize);
    let mut today_cards = Vec::new();
    for back in 0..FIGURE_DAYS {
        let day = today.add_days(-back);
        let f = pishkhan_app::queue::figures(state.app(), staff, code, day).await?;
        if back == 0 {
            let count = |n: u32| t.count(u64::from(n));
            today_cards = vec![
                (
                    count(line.waiting_count),
                    t.t("mg_waiting_now"),
                    "waiting-now",
                ),
                (
                    t.count(line.now_serving.len() as u64),
                    t.t("mg_serving_now"),
                    "serving-now",
                ),
                (count(f.completed), t.t("mg_served_today"), "served-today"),
                (count(f.bookings), t.t("mg_booked_today"), "booked-today"),
            ];
        }
        let visits = f.check_ins + f.late_arrivals + f.walk_ins;
        figures.push(FigureRow {
            day: t.date(day),
            visits: t.count(u64::from(visits)),
            bookings: t.count(u64::from(f.bookings)),
            booked_share: match f.booked_share {
                Some(share) => format!(
                    "{}{}",
                    t.num((share * 100.0).round() as u64),
                    if t.code() == "fa" { "٪" } else { "%" }
                ),
                None => t.t("mg_none"),
            },
            no_shows: t.count(u64::from(f.no_shows)),
            avg_wait: minutes(t, f.avg_wait_s),
            max_wait: minutes(t, f.max_wait_s),
        });
    }
    let staff_list = match staff.permit(Action::ViewOfficeStaff { office: code }) {
        Ok(permit) => Some(state.store().office_staff(&permit, code).await?),
        Err(_) => None,
    };
    let sanctions = compliance::sanctions(state.app(), staff, Some(code)).await?;
    let caller = Caller::Staff(staff.session.clone());
    let reported = reports::list(
        state.app(),
        &caller,
        ReportFilter {
            office: Some(code),
            ..ReportFilter::default()
        },
        PageRequest::new(1, 1)?,
    )
    .await?;
    let policy = appointments::schedule(state.app(), code).await?;
    let closures = state
        .store()
        .closures(code, today, today.add_days(CLOSURES_AHEAD_DAYS))
        .await?;
    let assigned = state.store().office_counters(code).await?;

    let r = refused.as_ref();
    let typed = |form: Form, key: &str| r.and_then(|r| r.get(form, key));
    let hours = Weekday::ALL
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h = office.hours.day(*d);
            HoursRow {
                index: i,
                day: t.text(d.label()),
                open: typed(Form::Hours, &format!("open_{i}"))
                    .unwrap_or_else(|| h.map(|h| hhmm(t, h.open_min)).unwrap_or_default()),
                close: typed(Form::Hours, &format!("close_{i}"))
                    .unwrap_or_else(|| h.map(|h| hhmm(t, h.close_min)).unwrap_or_default()),
            }
        })
        .collect();
    let counters = (1..=office.counters)
        .take(MAX_COUNTER_FIELDS)
        .map(|c| {
            let name = format!("counter_{c}");
            let stored = assigned
                .iter()
                .find(|(n, _)| *n == c)
                .and_then(|(_, only)| only.as_ref())
                .map(|list| {
                    list.iter()
                        .map(|s| s.as_str().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            CounterRow {
                counter: t.num(c),
                services: typed(Form::Counters, &name).unwrap_or(stored),
                name,
            }
        })
        .collect();
    let field = |form: Form, key: &str, stored: String| typed(form, key).unwrap_or(stored);
    Ok(ManagePage {
        chrome: page.chrome("manage"),
        code: t.num(code),
        path: format!("/offices/{code}/manage"),
        name: t.text(&office.name),
        status_code: office.status.code(),
        status: t.text(office.status.label()),
        today: today_cards,
        figures,
        staff: staff_list,
        open_findings: t.count(open.total),
        sanctions: t.count(sanctions.len() as u64),
        reports: t.count(reported.total),
        record_link: format!("/compliance/offices/{code}"),
        reports_link: format!("/reports?office={code}"),
        may_configure: staff
            .permit(Action::ConfigureSchedule { office: code })
            .is_ok(),
        hours,
        slot_minutes: field(Form::Schedule, "slot_minutes", t.num(policy.slot_minutes)),
        occupancy_cap: field(Form::Schedule, "occupancy_cap", t.num(policy.occupancy_cap)),
        booking_counters: field(
            Form::Schedule,
            "booking_counters",
            t.num(policy.booking_counters),
        ),
        closure: (
            field(Form::Closure, "date", String::new()),
            field(Form::Closure, "reason_fa", String::new()),
            field(Form::Closure, "reason_en", String::new()),
        ),
        closures: closures
            .iter()
            .map(|(d, why)| (t.date(d), t.text(why), d.to_string()))
            .collect(),
        counters,
        notice: notice.map(|(f, m)| (f.code(), m)),
        error: refused.map(|r| (r.form.code(), r.message)),
    })
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    done: Option<String>,
}

/// The page: its manager's, or the regulator's for any office.
pub async fn page(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let notice = [Form::Hours, Form::Schedule, Form::Closure, Form::Counters]
        .into_iter()
        .find(|f| q.done.as_deref() == Some(f.code()))
        .map(|f| (f, page.t.t("mg_saved")));
    let body = build(&state, &page, staff, code, notice, None)
        .await
        .map_err(|e| page.fail(e))?;
    Ok(render(&body))
}

/// Why a settings form was refused, and what it is about when the problem's own text does
/// not say (the day of the week whose hours are wrong).
struct Why {
    err: ApiError,
    about: Option<String>,
}

impl From<ApiError> for Why {
    fn from(err: ApiError) -> Self {
        Why { err, about: None }
    }
}

impl From<AppError> for Why {
    fn from(err: AppError) -> Self {
        ApiError::App(err).into()
    }
}

/// After a form: back to the page, or the page again with the refusal beside the form.
async fn finish(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    code: OfficeCode,
    form: Form,
    typed: Vec<(String, String)>,
    outcome: Result<(), Why>,
) -> Result<Response, UiError> {
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!(
            "/offices/{code}/manage?done={}#{}-form",
            form.code(),
            form.code()
        ))
        .into_response()),
        Err(Why {
            err: e @ ApiError::App(AppError::Forbidden(_) | AppError::Internal(_)),
            ..
        }) => Err(page.fail(e)),
        Err(Why { err: e, about }) => {
            let text = page.t.problem_message(&e);
            let refused = Refused {
                form,
                typed,
                message: match about {
                    Some(a) => format!("{a}: {text}"),
                    None => text,
                },
            };
            let body = build(state, page, staff, code, None, Some(refused))
                .await
                .map_err(|e| page.fail(e))?;
            Ok((e.status(), render(&body)).into_response())
        }
    }
}

/// A settings form's fields, its CSRF token checked and removed.
fn checked_fields(
    page: &PageCtx,
    staff: &Staff,
    form: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, UiError> {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    staff.check_csrf(csrf).map_err(|e| page.fail(e))?;
    Ok(form
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .take(MAX_FORM_FIELDS)
        .collect())
}

fn value<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

/// The week's hours as typed: both times of a day, or neither (closed). A refusal names
/// the day, in the page's language.
fn hours_of(t: Tr, fields: &[(String, String)]) -> Result<WeeklyHours, Why> {
    let mut days = [None; 7];
    for (i, d) in Weekday::ALL.iter().enumerate() {
        let (open, close) = (
            value(fields, &format!("open_{i}")),
            value(fields, &format!("close_{i}")),
        );
        if open.is_empty() && close.is_empty() {
            continue;
        }
        days[i] = Some(
            DayHours::parse_hhmm(&format!("{open}-{close}")).map_err(|e| Why {
                err: ApiError::invalid(e.code, "hours", e.message),
                about: Some(t.text(d.label())),
            })?,
        );
    }
    Ok(WeeklyHours(days))
}

pub async fn save_hours(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let fields = checked_fields(&page, staff, form)?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let outcome = async {
        let hours = hours_of(page.t, &fields)?;
        appointments::set_hours(state.app(), staff, code, hours, &ctx).await?;
        Ok::<(), Why>(())
    }
    .await;
    finish(&state, &page, staff, code, Form::Hours, fields, outcome).await
}

fn number(
    fields: &[(String, String)],
    key: &'static str,
    code: &'static str,
) -> Result<u16, ApiError> {
    to_ascii_digits(value(fields, key))
        .parse::<u16>()
        .map_err(|_| ApiError::invalid(code, key, format!("{key} must be a whole number")))
}

pub async fn save_schedule(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let fields = checked_fields(&page, staff, form)?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let outcome = async {
        let policy = SlotPolicy {
            slot_minutes: number(&fields, "slot_minutes", "invalid_slot_minutes")?,
            occupancy_cap: number(&fields, "occupancy_cap", "invalid_occupancy_cap")?,
            booking_counters: number(&fields, "booking_counters", "invalid_booking_counters")?,
        };
        appointments::set_schedule(state.app(), staff, code, policy, &ctx).await?;
        Ok::<(), Why>(())
    }
    .await;
    finish(&state, &page, staff, code, Form::Schedule, fields, outcome).await
}

pub async fn save_closure(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let fields = checked_fields(&page, staff, form)?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let outcome = async {
        let day = JalaliDate::parse(&to_ascii_digits(value(&fields, "date")))
            .map_err(|e| ApiError::invalid(e.code, "date", e.message))?;
        let reason = LocalizedText::new(value(&fields, "reason_fa"), value(&fields, "reason_en"));
        appointments::set_closure(state.app(), staff, code, day, &reason, &ctx)
            .await
            .map_err(|e| match e {
                // The API's wording names its own fields; the page names the reason.
                AppError::Invalid {
                    code: "invalid_name",
                    ..
                } => Why::from(ApiError::invalid(
                    "invalid_day_name",
                    "reason",
                    "give the reason",
                )),
                other => other.into(),
            })?;
        Ok::<(), Why>(())
    }
    .await;
    finish(&state, &page, staff, code, Form::Closure, fields, outcome).await
}

pub async fn remove_closure(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let fields = checked_fields(&page, staff, form)?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let outcome = async {
        let day = JalaliDate::parse(&to_ascii_digits(value(&fields, "date")))
            .map_err(|e| ApiError::invalid(e.code, "date", e.message))?;
        appointments::remove_closure(state.app(), staff, code, day, &ctx).await?;
        Ok::<(), Why>(())
    }
    .await;
    // The typed date belongs to the removed day, not to the form for a new closure.
    finish(
        &state,
        &page,
        staff,
        code,
        Form::Closure,
        Vec::new(),
        outcome,
    )
    .await
}

pub async fn save_counters(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let fields = checked_fields(&page, staff, form)?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let outcome = async {
        let mut settings = Vec::new();
        for (key, raw) in &fields {
            let Some(counter) = key
                .strip_prefix("counter_")
                .and_then(|n| n.parse::<u16>().ok())
            else {
                continue;
            };
            // Persian and Latin commas and spaces all separate codes.
            let codes: Vec<&str> = raw
                .split(|c: char| c == ',' || c == '،' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .collect();
            if codes.is_empty() {
                continue;
            }
            let services = codes
                .iter()
                .map(|s| {
                    ServiceCode::parse(s)
                        .map_err(|e| ApiError::invalid(e.code, "services", e.message))
                })
                .collect::<Result<Vec<_>, _>>()?;
            settings.push(CounterSetting {
                counter,
                services: Some(services),
            });
        }
        offices::set_counters(state.app(), staff, code, settings, &ctx).await?;
        Ok::<(), Why>(())
    }
    .await;
    finish(&state, &page, staff, code, Form::Counters, fields, outcome).await
}
