//! Citizen pages: sign in with national code, mobile and a one-time code; book, see,
//! reschedule and cancel one's own appointments.
//!
//! The citizen session lives in the HttpOnly cookie `pishkhan_citizen`. Every form carries a
//! double-submit CSRF token: the HttpOnly cookie `pishkhan_citizen_csrf` and a hidden field
//! that must match it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::OfficeCode;
use pishkhan_domain::schedule::{BookingStatus, TrackingCode};
use pishkhan_domain::tehran::{jalali_today, to_tehran};
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::PageRequest;
use serde::Deserialize;

use super::{Chrome, UiError, render, set_cookie};
use crate::AppState;
use crate::auth::{self, Caller, Citizen, constant_time_eq};
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;
use pishkhan_app::appointments;
use pishkhan_app::{AppError, citizens};

pub const CITIZEN_COOKIE: &str = "pishkhan_citizen";
pub const CITIZEN_CSRF_COOKIE: &str = "pishkhan_citizen_csrf";

/// UI strings of the citizen pages: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("c_login_title", "ورود شهروندان", "Citizen sign-in"),
    (
        "c_login_intro",
        "برای گرفتن یا دیدن نوبت، کد ملی و شماره همراه خود را وارد کنید. کد یک‌بارمصرف پیامک می‌شود.",
        "Enter your national code and mobile number to book or see appointments. We will text you a one-time code.",
    ),
    ("c_send_code", "دریافت کد ورود", "Send me a code"),
    (
        "c_code",
        "کد ۶ رقمی پیامک‌شده",
        "The 6-digit code from the SMS",
    ),
    (
        "c_code_sent",
        "کد ورود به شماره همراه شما پیامک شد و تا ۲ دقیقه اعتبار دارد.",
        "A sign-in code was texted to your mobile; it is valid for 2 minutes.",
    ),
    ("c_verify", "ورود", "Sign in"),
    ("c_resend", "دریافت کد تازه", "Send a new code"),
    (
        "c_change_number",
        "تغییر کد ملی یا شماره",
        "Change national code or number",
    ),
    (
        "c_bad_national_code",
        "کد ملی نادرست است. ده رقم آن را دوباره بررسی کنید.",
        "The national code is not valid. Check its ten digits.",
    ),
    (
        "c_bad_mobile",
        "شماره همراه نادرست است. شماره‌ای مانند ۰۹۱۲۱۲۳۴۵۶۷ وارد کنید.",
        "The mobile number is not valid. Enter a number such as 09121234567.",
    ),
    (
        "c_wrong_code",
        "کد واردشده نادرست است. دوباره تلاش کنید.",
        "The code is wrong. Please try again.",
    ),
    (
        "c_code_expired",
        "کد منقضی شده یا دیگر معتبر نیست. کد تازه بگیرید.",
        "The code has expired or is no longer valid. Ask for a new one.",
    ),
    (
        "c_too_many",
        "درخواست کد بیش از حد مجاز بود. یک دقیقه دیگر (و حداکثر ۵ بار در ساعت) دوباره تلاش کنید.",
        "Too many code requests. Try again in a minute (at most 5 times an hour).",
    ),
    (
        "c_too_many_mobile",
        "برای این شماره همراه بیش از اندازه کد ورود فرستاده شده است. {wait} دیگر دوباره تلاش کنید.",
        "Too many sign-in codes have been sent to this mobile number. Try again in {wait}.",
    ),
    (
        "c_too_many_address",
        "از شبکه شما بیش از اندازه کد ورود درخواست شده است. {wait} دیگر دوباره تلاش کنید.",
        "Too many sign-in codes have been asked for from your network. Try again in {wait}.",
    ),
    (
        "c_too_many_overall",
        "هم‌اکنون درخواست کد ورود بیش از توان سامانه است. {wait} دیگر دوباره تلاش کنید.",
        "We are sending too many sign-in codes right now. Try again in {wait}.",
    ),
    (
        "c_csrf",
        "فرم منقضی شده است. صفحه را دوباره باز کنید و دوباره تلاش کنید.",
        "This form has expired. Reload the page and try again.",
    ),
    ("c_my_bookings", "نوبت‌های من", "My appointments"),
    (
        "c_my_bookings_sub",
        "نوبت‌های شما در دفاتر پیشخوان دولت",
        "Your appointments at government service counters",
    ),
    ("c_new_booking", "گرفتن نوبت تازه", "Book an appointment"),
    (
        "c_no_bookings",
        "هنوز نوبتی نگرفته‌اید.",
        "You have no appointments yet.",
    ),
    ("c_tracking_code", "کد رهگیری", "Tracking code"),
    ("c_office", "دفتر", "Office"),
    ("c_service", "خدمت", "Service"),
    ("c_when", "زمان", "When"),
    ("c_cancel", "لغو نوبت", "Cancel"),
    ("c_reschedule", "تغییر زمان", "Change time"),
    ("c_logout", "خروج", "Sign out"),
    (
        "c_access_title",
        "چه کسی اطلاعات مرا دیده است",
        "Who looked at my data",
    ),
    (
        "c_access_intro",
        "هر استعلامی که دفاتر پیشخوان درباره شما از دستگاه‌ها گرفته‌اند، با نام دفتر، کاربر، هدف و شماره پرونده.",
        "Every inquiry counter offices made about you at an agency, with the office, the operator, the purpose and the case number.",
    ),
    (
        "c_access_empty",
        "تاکنون استعلامی درباره شما ثبت نشده است.",
        "No inquiry about you has been made.",
    ),
    ("c_access_count", "شمار استعلام‌ها", "Inquiries"),
    ("c_access_when", "زمان", "When"),
    ("c_access_who", "دفتر و کاربر", "Office and operator"),
    ("c_access_what", "استعلام", "Inquiry"),
    ("c_access_why", "هدف و پرونده", "Purpose and case"),
    ("c_access_outcome_ok", "پاسخ داده شد", "Answered"),
    ("c_access_outcome_refused", "رد شد", "Refused"),
    ("c_access_outcome_failed", "ناموفق", "Failed"),
    (
        "c_access_reused",
        "پاسخ امضاشدهٔ استعلام پیشین، از",
        "the signed answer of an earlier lookup, from",
    ),
    ("c_signed_in_as", "کد ملی", "National code"),
    (
        "c_booked",
        "نوبت شما ثبت شد. کد رهگیری را نزد خود نگه دارید و در دفتر ارائه کنید:",
        "Your appointment is booked. Keep this tracking code and show it at the office:",
    ),
    (
        "c_cancelled",
        "نوبت لغو شد.",
        "The appointment was cancelled.",
    ),
    (
        "c_moved",
        "زمان نوبت تغییر کرد.",
        "The appointment was moved.",
    ),
    ("c_book_title", "گرفتن نوبت", "Book an appointment"),
    (
        "c_book_sub",
        "دفتر و خدمت را برگزینید، سپس یکی از زمان‌های آزاد را انتخاب کنید.",
        "Choose an office and a service, then pick a free time.",
    ),
    ("c_office_code", "کد ۸ رقمی دفتر", "8-digit office code"),
    (
        "c_find_office",
        "جست‌وجوی دفتر بر پایه شهر یا نام",
        "Find an office by city or name",
    ),
    ("c_find", "جست‌وجو", "Search"),
    ("c_choose", "انتخاب", "Choose"),
    ("c_choose_service", "خدمت را برگزینید", "Choose a service"),
    ("c_service_search", "جست‌وجوی خدمت", "Search services"),
    ("c_show_slots", "نمایش زمان‌های آزاد", "Show free times"),
    ("c_free_slots", "زمان‌های آزاد", "Free times"),
    (
        "c_pick_hint",
        "روی یکی از زمان‌ها بزنید تا نوبت ثبت شود.",
        "Tap a time to book it.",
    ),
    ("c_full", "پر", "full"),
    ("c_seats_left", "جای خالی", "seats left"),
    ("c_closed_weekday", "تعطیل هفتگی", "Closed (weekly)"),
    ("c_closed", "تعطیل", "Closed"),
    ("c_not_bookable", "نوبت‌دهی ندارد", "Not taking bookings"),
    ("c_no_free", "زمان آزادی نمانده است.", "No free times left."),
    ("c_earlier_days", "روزهای پیشین", "Earlier days"),
    ("c_later_days", "روزهای بعد", "Later days"),
    ("c_reschedule_title", "تغییر زمان نوبت", "Change the time"),
    (
        "c_reschedule_sub",
        "زمان تازه را در همان دفتر و برای همان خدمت برگزینید.",
        "Pick a new time at the same office for the same service.",
    ),
    ("c_current_time", "زمان کنونی", "Current time"),
    ("c_back", "بازگشت به نوبت‌های من", "Back to my appointments"),
    (
        "c_unknown_office",
        "دفتری با این کد یافت نشد.",
        "No office has this code.",
    ),
    (
        "c_unknown_service",
        "خدمتی با این کد یافت نشد.",
        "No service has this code.",
    ),
    (
        "c_slot_full",
        "این زمان پر شده است. زمان دیگری برگزینید.",
        "This time is fully booked. Pick another one.",
    ),
    (
        "c_limit_reached",
        "برای این خدمت نوبت فعال دارید یا به سقف نوبت‌های دو هفته رسیده‌اید.",
        "You already hold an appointment for this service, or the two-week limit is reached.",
    ),
    (
        "c_outside_window",
        "این روز در بازه نوبت‌دهی (از فردا تا ۱۴ روز آینده) نیست.",
        "This day is outside the booking window (tomorrow to 14 days ahead).",
    ),
    (
        "c_office_closed",
        "دفتر در این روز تعطیل است.",
        "The office is closed that day.",
    ),
    (
        "c_not_a_slot",
        "زمان انتخاب‌شده نوبت معتبری نیست.",
        "The chosen time is not a valid slot.",
    ),
    (
        "c_office_suspended",
        "این دفتر اکنون نوبت نمی‌دهد.",
        "This office is not taking bookings.",
    ),
    (
        "c_online_only",
        "این خدمت فقط برخط ارائه می‌شود و نوبت حضوری ندارد.",
        "This service is online only; it needs no appointment.",
    ),
    (
        "c_not_cancellable",
        "این نوبت دیگر لغوشدنی نیست.",
        "This appointment can no longer be cancelled.",
    ),
    (
        "c_not_reschedulable",
        "زمان این نوبت دیگر تغییرپذیر نیست.",
        "This appointment can no longer be moved.",
    ),
    ("c_failed", "درخواست انجام نشد.", "The request failed."),
    // The booking steps, the review, the booking's own page and the cancel question.
    ("c_steps", "مراحل گرفتن نوبت", "Booking steps"),
    ("c_step_service", "خدمت", "Service"),
    ("c_step_office", "دفتر", "Office"),
    ("c_step_time", "زمان", "Time"),
    ("c_step_check", "بررسی و تأیید", "Check and confirm"),
    (
        "c_which_service",
        "چه خدمتی لازم دارید؟",
        "Which service do you need?",
    ),
    (
        "c_service_placeholder",
        "مثلاً گذرنامه یا کارت ملی",
        "For example passport or ID card",
    ),
    ("c_most_used", "پرکاربردترین خدمات", "Most used services"),
    ("c_change", "تغییر", "Change"),
    ("c_which_office", "کدام دفتر؟", "Which office?"),
    ("c_place", "شهر یا نام دفتر", "City or office name"),
    ("c_place_placeholder", "مثلاً تبریز", "For example Tabriz"),
    ("c_near_me", "نزدیک‌ترین دفترها به من", "Offices near me"),
    (
        "c_near_me_failed",
        "موقعیت شما در دسترس نیست؛ نام شهر را بنویسید.",
        "Your location is not available; type a city instead.",
    ),
    (
        "c_offices_found",
        "{n} دفتر — صفحهٔ {page} از {pages}",
        "{n} offices — page {page} of {pages}",
    ),
    ("c_km", "کیلومتر", "km"),
    ("c_other_office", "دفتر دیگر", "Another office"),
    (
        "c_closed_suspended",
        "فعالیت این دفتر به دستور ناظر تعلیق شده است و تا رفع تعلیق نوبت نمی‌پذیرد.",
        "The regulator has suspended this office; it takes no bookings until it is reinstated.",
    ),
    (
        "c_closed_revoked",
        "مجوز این دفتر لغو شده است و نوبت نمی‌پذیرد.",
        "This office's licence was revoked; it takes no bookings.",
    ),
    (
        "c_nearest_open",
        "نزدیک‌ترین دفترهای فعال",
        "The nearest open offices",
    ),
    ("c_bring", "مدارک لازم", "What to bring"),
    ("c_bring_id_card", "اصل کارت ملی", "Your national ID card"),
    (
        "c_bring_id_only",
        "فقط اصل کارت ملی",
        "Only your national ID card",
    ),
    ("c_review_title", "بررسی و تأیید نوبت", "Check your booking"),
    (
        "c_review_sub",
        "نوبت هنوز ثبت نشده است. موارد زیر را بررسی کنید و سپس تأیید کنید.",
        "Nothing is booked yet. Check the details below, then confirm.",
    ),
    ("c_takes_about", "حدود", "about"),
    (
        "c_we_check",
        "استعلام‌هایی که دفتر انجام می‌دهد",
        "What the office will check",
    ),
    (
        "c_fee_paid_at",
        "در دفتر یا پیش از آن به‌صورت برخط پرداخت می‌شود.",
        "Paid at the office, or online before you go.",
    ),
    ("c_booked_for", "نوبت برای", "Booked for"),
    (
        "c_review_sms",
        "پس از تأیید، کد پیگیری به شماره همراه شما پیامک می‌شود.",
        "Once you confirm, the tracking code is texted to your mobile.",
    ),
    ("c_confirm_booking", "تأیید و ثبت نوبت", "Confirm and book"),
    ("c_choose_other_time", "زمان دیگر", "Choose another time"),
    (
        "c_pick_again",
        "زمان انتخاب‌شده خوانا نبود؛ دوباره انتخاب کنید.",
        "The chosen time could not be read; please choose again.",
    ),
    (
        "c_slot_gone",
        "این زمان دیگر آزاد نیست؛ زمان دیگری انتخاب کنید.",
        "That time is no longer free; please choose another.",
    ),
    ("c_booking_title", "نوبت شما", "Your booking"),
    (
        "c_arrive_early",
        "لطفاً ده دقیقه زودتر برسید و کد پیگیری را در باجه بگویید.",
        "Please arrive ten minutes early and give your tracking code at the counter.",
    ),
    ("c_print", "چاپ", "Print"),
    ("c_add_calendar", "افزودن به تقویم", "Add to calendar"),
    ("c_cancel_title", "لغو نوبت", "Cancel the booking"),
    (
        "c_cancel_sub",
        "آیا می‌خواهید این نوبت را لغو کنید؟ لغو برگشت‌پذیر نیست.",
        "Do you want to cancel this booking? This cannot be undone.",
    ),
    ("c_cancel_yes", "بله، لغو شود", "Yes, cancel it"),
    ("c_cancel_keep", "نه، نگه دار", "No, keep it"),
    // The data-access page in plain words.
    ("c_access_by", "به درخواست", "Asked by"),
    ("c_access_from", "از", "From"),
    ("c_access_for", "برای خدمت", "For the service"),
    ("c_access_case", "شماره پرونده", "Case number"),
    (
        "c_access_basis",
        "مبنای قانونی ثبت‌شده",
        "Legal basis recorded",
    ),
    (
        "c_member_agency:sabt",
        "سازمان ثبت احوال کشور",
        "National Civil Registration Organization",
    ),
    (
        "c_member_agency:cra",
        "سازمان تنظیم مقررات و ارتباطات رادیویی",
        "Communications Regulatory Authority",
    ),
    ("c_member_agency:post", "شرکت ملی پست", "Iran Post"),
    ("c_member_agency:police", "پلیس راهور", "Traffic Police"),
];

pub fn router() -> Router<AppState> {
    use super::{citizen_book as book, citizen_booking as booking};
    Router::new()
        .route("/citizen", get(home))
        .route("/citizen/login", get(login_form).post(login_submit))
        .route("/citizen/logout", post(logout))
        .route(
            "/citizen/book",
            get(book::book_form).post(book::book_submit),
        )
        .route("/citizen/book/review", get(book::review))
        .route("/citizen/bookings/{code}", get(booking::show))
        .route(
            "/citizen/bookings/{code}/calendar.ics",
            get(booking::calendar),
        )
        .route(
            "/citizen/bookings/{code}/reschedule",
            get(book::reschedule_form).post(book::reschedule_submit),
        )
        .route(
            "/citizen/bookings/{code}/cancel",
            get(booking::cancel_confirm).post(cancel),
        )
        .route("/citizen/data-access", get(data_access))
}

struct AccessRow {
    when: String,
    office: String,
    office_code: String,
    operator: String,
    /// What was checked, in words, and the inquiry's id for its tooltip.
    service: String,
    service_id: String,
    agency: String,
    /// Why: the catalogue service being done for the citizen, in words.
    purpose: String,
    purpose_code: String,
    /// The legal basis as the office recorded it, when it is not the standard one.
    basis: Option<String>,
    case_id: String,
    outcome: String,
    outcome_code: &'static str,
    /// When the reused answer was given, if the answer was an earlier lookup's.
    reused: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen_access.html")]
struct AccessPage {
    chrome: Chrome,
    rows: Vec<AccessRow>,
    total: u64,
}

/// The name of an exchange member (`agency:sabt`), or nothing for one without a name.
fn member_name(t: Tr, id: Option<&str>) -> String {
    let Some(id) = id else {
        return String::new();
    };
    let text = t.t(format!("c_member_{id}"));
    if text.starts_with('⟦') {
        String::new()
    } else {
        text
    }
}

/// Who looked the citizen up through the exchange: every inquiry about them, newest first.
pub async fn data_access(
    State(state): State<AppState>,
    c: CitizenCtx,
) -> Result<Response, UiError> {
    let Some(citizen) = &c.who else {
        return Ok(to_login_then(&c.target));
    };
    let t = c.t;
    let page = PageRequest::new(1, pishkhan_store::MAX_PER_PAGE).map_err(|e| {
        c.fail(ApiError::App(AppError::Internal(anyhow::anyhow!(
            "{}", e.message
        ))))
    })?;
    let found = pishkhan_app::exchange::data_access(state.app(), citizen, page)
        .await
        .map_err(|e| c.fail(e))?;
    let total = found.total;
    let operators = found.rows.iter().map(|r| r.operator.clone()).collect();
    let names = super::staff_names(&state, operators).await;
    let mut titles: HashMap<String, String> = HashMap::new();
    for r in &found.rows {
        if let Entry::Vacant(slot) = titles.entry(r.case_service.clone()) {
            let title = match pishkhan_domain::model::ServiceCode::parse(&r.case_service) {
                Ok(code) => match state.store().service(&code).await {
                    Ok(s) => t.text(&s.title),
                    Err(_) => t.num(&r.case_service),
                },
                Err(_) => t.num(&r.case_service),
            };
            slot.insert(title);
        }
    }
    let rows = found
        .rows
        .into_iter()
        .map(|r| {
            let (outcome, reused) = (r.outcome_code(), r.cached_at_ms);
            AccessRow {
                when: when_label(t, r.at_ms),
                office: r.office_name.clone().unwrap_or_default(),
                office_code: t.num(r.office.trim_start_matches("office:")),
                operator: names.get(&r.operator).cloned().unwrap_or(r.operator),
                service: t.inquiry(&r.service),
                agency: member_name(t, r.agency.as_deref()),
                service_id: r.service,
                purpose: titles.get(&r.case_service).cloned().unwrap_or_default(),
                purpose_code: r.case_service,
                // The standard basis of the counter's identity checks goes without saying;
                // any other is shown as the office recorded it.
                basis: (r.legal_basis != pishkhan_app::identity::IDENTITY_LEGAL_BASIS)
                    .then_some(r.legal_basis),
                case_id: t.num(&r.case_id),
                outcome: t.t(format!("c_access_outcome_{outcome}")),
                outcome_code: outcome,
                reused: reused.map(|ms| when_label(t, ms)),
            }
        })
        .collect();
    Ok(c.page(
        StatusCode::OK,
        &AccessPage {
            chrome: c.chrome(),
            rows,
            total,
        },
    ))
}

// ---- request context ---------------------------------------------------------------------

/// Language, the signed-in citizen if any, and the CSRF token of the citizen pages.
pub struct CitizenCtx {
    pub(super) t: Tr,
    today: JalaliDate,
    pub(super) who: Option<Citizen>,
    /// The session cookie's token, to end the session on sign-out.
    token: Option<String>,
    pub(super) csrf: String,
    /// The CSRF cookie was missing; the response must set it.
    csrf_is_new: bool,
    path: String,
    /// The path and query asked for, to come back to after signing in.
    pub(super) target: String,
}

impl FromRequestParts<AppState> for CitizenCtx {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let t = Tr::new(super::lang_of(parts));
        let path = parts.uri.path().to_string();
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| path.clone(), |p| p.as_str().to_string());
        let fail = |err: ApiError| UiError {
            t,
            err,
            path: path.clone(),
        };
        let token = auth::cookie(parts, CITIZEN_COOKIE)
            .filter(|tok| !tok.is_empty() && tok.len() <= 256)
            .map(str::to_string);
        let who = match token.as_deref() {
            Some(token) => citizens::citizen_session(state.app(), token)
                .await
                .map_err(|e| fail(e.into()))?,
            None => None,
        };
        let (csrf, csrf_is_new) = match auth::cookie(parts, CITIZEN_CSRF_COOKIE)
            .filter(|c| (20..=100).contains(&c.len()))
        {
            Some(c) => (c.to_string(), false),
            None => (auth::new_token().map_err(|e| fail(e.into()))?, true),
        };
        Ok(CitizenCtx {
            t,
            today: jalali_today(state.now()),
            who,
            token,
            csrf,
            csrf_is_new,
            path,
            target,
        })
    }
}

impl CitizenCtx {
    pub(super) fn chrome(&self) -> Chrome {
        Chrome {
            t: self.t,
            user: None,
            csrf: String::new(),
            section: "citizen",
            today: self.t.date(self.today),
        }
    }

    pub(super) fn fail(&self, err: impl Into<ApiError>) -> UiError {
        UiError {
            t: self.t,
            err: err.into(),
            path: self.path.clone(),
        }
    }

    /// The double-submit check: the form field must equal the cookie sent with the request.
    pub(super) fn check_csrf(&self, presented: &str) -> Result<(), UiError> {
        if self.csrf_is_new || presented.is_empty() || !constant_time_eq(presented, &self.csrf) {
            return Err(self.fail(ApiError::Csrf));
        }
        Ok(())
    }

    pub(super) fn t(&self) -> Tr {
        self.t
    }

    pub(super) fn csrf(&self) -> &str {
        &self.csrf
    }

    pub(super) fn citizen(&self) -> Option<Caller> {
        self.who.clone().map(Caller::Citizen)
    }

    /// Adds the CSRF cookie when the request came without one.
    fn finish(&self, mut resp: Response) -> Response {
        if self.csrf_is_new {
            let (_, v) = set_cookie(CITIZEN_CSRF_COOKIE, &self.csrf, 24 * 3600, true);
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    }

    pub(super) fn page(&self, status: StatusCode, page: &impl Template) -> Response {
        self.finish((status, render(page)).into_response())
    }
}

pub(super) fn to_login() -> Response {
    Redirect::to("/citizen/login").into_response()
}

/// Longest page address kept to come back to after signing in.
const MAX_NEXT_CHARS: usize = 512;

/// Whether `next` is one of the citizen's own pages on this site, safe to send them to.
fn safe_next(next: &str) -> bool {
    next.len() <= MAX_NEXT_CHARS
        && next.starts_with("/citizen/")
        && !next.starts_with("/citizen/login")
        && !next.contains("//")
        && !next.contains('\\')
        && next.chars().all(|c| c.is_ascii_graphic())
}

/// To the sign-in page, coming back to `target` (a path and query of this site) after.
pub(super) fn to_login_then(target: &str) -> Response {
    if safe_next(target) {
        Redirect::to(&format!("/citizen/login?next={}", super::urlencode(target))).into_response()
    } else {
        to_login()
    }
}

fn session_cookie(token: &str, max_age_s: u64, secure: bool) -> String {
    format!(
        "{CITIZEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The Persian (or English) message for a failed booking action.
pub(super) fn error_key(e: &ApiError) -> &'static str {
    match e.code() {
        "slot_full" => "c_slot_full",
        "booking_limit_reached" => "c_limit_reached",
        "outside_booking_window" => "c_outside_window",
        "office_closed" => "c_office_closed",
        "not_a_slot" | "invalid_start" => "c_not_a_slot",
        "office_suspended" => "c_office_suspended",
        "service_not_at_counter" => "c_online_only",
        "unknown_office" | "invalid_office_code" => "c_unknown_office",
        "unknown_service" | "invalid_service_code" => "c_unknown_service",
        "not_cancellable" => "c_not_cancellable",
        "not_reschedulable" => "c_not_reschedulable",
        _ => match e {
            ApiError::App(AppError::NotFound("office")) => "c_unknown_office",
            ApiError::App(AppError::NotFound("service")) => "c_unknown_service",
            _ => "c_failed",
        },
    }
}

// ---- sign-in -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "citizen_login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf: String,
    national_code: String,
    mobile: String,
    /// The second step: the code was sent, ask for it.
    code_step: bool,
    info: Option<String>,
    error: Option<String>,
    /// The page to go to once signed in (empty: the citizen's bookings).
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where a sign-in goes: the page asked for, if it is the citizen's own, else their bookings.
fn after_sign_in(next: Option<&str>) -> String {
    next.filter(|n| safe_next(n))
        .unwrap_or("/citizen")
        .to_string()
}

pub async fn login_form(c: CitizenCtx, ApiQuery(q): ApiQuery<NextQuery>) -> Response {
    if c.who.is_some() {
        return Redirect::to(&after_sign_in(q.next.as_deref())).into_response();
    }
    c.page(
        StatusCode::OK,
        &LoginPage {
            chrome: c.chrome(),
            csrf: c.csrf.clone(),
            national_code: String::new(),
            mobile: String::new(),
            code_step: false,
            info: None,
            error: None,
            next: q.next.filter(|n| safe_next(n)).unwrap_or_default(),
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    national_code: String,
    #[serde(default)]
    mobile: String,
    /// Present on the second step.
    code: Option<String>,
    next: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<LoginForm>,
) -> Result<Response, UiError> {
    c.check_csrf(&form.csrf)?;
    let t = c.t;
    let show = |status: StatusCode, code_step: bool, info: Option<&str>, error: Option<String>| {
        c.page(
            status,
            &LoginPage {
                chrome: c.chrome(),
                csrf: c.csrf.clone(),
                national_code: form.national_code.trim().to_string(),
                mobile: form.mobile.trim().to_string(),
                code_step,
                info: info.map(|k| t.t(k)),
                error,
                next: form
                    .next
                    .clone()
                    .filter(|n| safe_next(n))
                    .unwrap_or_default(),
            },
        )
    };
    let Ok(national_code) = NationalCode::parse(&form.national_code) else {
        return Ok(show(
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            None,
            Some(t.t("c_bad_national_code")),
        ));
    };
    let Ok(mobile) = Mobile::parse(&form.mobile) else {
        return Ok(show(
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            None,
            Some(t.t("c_bad_mobile")),
        ));
    };

    let Some(code) = form.code.as_deref() else {
        // First step: send a code.
        return match citizens::send_code(state.app(), national_code, mobile, &ctx).await {
            Ok(()) => Ok(show(StatusCode::OK, true, Some("c_code_sent"), None)),
            // A code asked for a moment ago may still be live: keep the code form open.
            Err(AppError::TooManyRequests {
                code,
                retry_after_s,
                ..
            }) => {
                let text = match code {
                    "too_many_codes_for_mobile" => t.with_wait("c_too_many_mobile", retry_after_s),
                    "too_many_codes_from_address" => {
                        t.with_wait("c_too_many_address", retry_after_s)
                    }
                    "too_many_codes" => t.with_wait("c_too_many_overall", retry_after_s),
                    _ => t.t("c_too_many"),
                };
                Ok(show(StatusCode::TOO_MANY_REQUESTS, true, None, Some(text)))
            }
            Err(e) => Err(c.fail(e)),
        };
    };

    // Second step: check the code.
    match citizens::sign_in(state.app(), &national_code, &mobile, code, &ctx).await {
        Ok(signed_in) => {
            let cookie = session_cookie(
                &signed_in.token,
                ((signed_in.expires_at_ms - ctx.now_ms).max(0) / 1000) as u64,
                state.config().cookie_secure,
            );
            Ok(c.finish(
                (
                    [(header::SET_COOKIE, cookie)],
                    Redirect::to(&after_sign_in(form.next.as_deref())),
                )
                    .into_response(),
            ))
        }
        Err(AppError::BadCode) => Ok(show(
            StatusCode::UNAUTHORIZED,
            true,
            None,
            Some(t.t("c_wrong_code")),
        )),
        Err(AppError::Gone(_)) => Ok(show(
            StatusCode::UNAUTHORIZED,
            true,
            None,
            Some(t.t("c_code_expired")),
        )),
        Err(e) => Err(c.fail(e)),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Result<Response, UiError> {
    c.check_csrf(&form.csrf)?;
    // End the session on the server too, not just in this browser.
    if let Some(token) = c.token.as_deref() {
        citizens::sign_out(state.app(), token, &ctx)
            .await
            .map_err(|e| c.fail(e))?;
    }
    let clear = session_cookie("", 0, state.config().cookie_secure);
    Ok((
        [(header::SET_COOKIE, clear)],
        Redirect::to("/citizen/login"),
    )
        .into_response())
}

// ---- my bookings -------------------------------------------------------------------------

struct BookingView {
    code: String,
    when: String,
    office: String,
    office_code: String,
    service: String,
    status: String,
    badge: &'static str,
    active: bool,
    /// Today's fee and, once paid, the payment's page (see `payments::booking_fees`).
    fee: Option<super::payments::BookingFee>,
}

#[derive(Template)]
#[template(path = "citizen_home.html")]
struct HomePage {
    chrome: Chrome,
    csrf: String,
    national_code: String,
    bookings: Vec<BookingView>,
    booked: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    /// The idempotency key of the "pay online" forms: a double submit is one payment.
    pay_key: String,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    booked: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

/// "شنبه ۸ آذر ۱۴۰۵، ۰۸:۰۰"
pub(super) fn when_label(t: Tr, ms: i64) -> String {
    let at = to_tehran(appointments::instant(ms));
    let day = JalaliDate::from_gregorian(at.date());
    format!("{} {}", t.text(day.weekday().label()), t.datetime_ms(ms))
}

pub async fn home(
    State(state): State<AppState>,
    c: CitizenCtx,
    ApiQuery(q): ApiQuery<HomeQuery>,
) -> Result<Response, UiError> {
    let Some(Citizen {
        national_code: nc, ..
    }) = &c.who
    else {
        return Ok(to_login());
    };
    let t = c.t;
    let list = state
        .store()
        .citizen_bookings(nc)
        .await
        .map_err(|e| c.fail(e))?;
    let now_ms = state.now_ms();
    let mut offices: HashMap<OfficeCode, String> = HashMap::new();
    let mut services: HashMap<String, String> = HashMap::new();
    let mut bookings = Vec::new();
    for b in &list {
        if let Entry::Vacant(slot) = offices.entry(b.office) {
            let name = match state.store().office(b.office).await {
                Ok(o) => t.text(o.name),
                Err(_) => b.office.to_string(),
            };
            slot.insert(name);
        }
        let skey = b.service.to_string();
        if let Entry::Vacant(slot) = services.entry(skey.clone()) {
            let title = match state.store().service(&b.service).await {
                Ok(s) => t.text(s.title),
                Err(_) => skey.clone(),
            };
            slot.insert(title);
        }
        let active = b.status == BookingStatus::Booked && b.slot_start_ms > now_ms;
        bookings.push(BookingView {
            code: b.tracking_code.to_string(),
            when: when_label(t, b.slot_start_ms),
            office: offices.get(&b.office).cloned().unwrap_or_default(),
            office_code: t.num(b.office),
            service: services.get(&skey).cloned().unwrap_or_default(),
            status: t.text(b.status.label()),
            badge: match b.status {
                BookingStatus::Booked => "badge-active",
                BookingStatus::CheckedIn | BookingStatus::Completed => "badge-networked",
                BookingStatus::Cancelled => "badge-revoked",
                BookingStatus::NoShow => "badge-warned",
            },
            active,
            fee: None,
        });
    }
    let payable: Vec<_> = list
        .iter()
        .filter(|b| b.status == BookingStatus::Booked && b.slot_start_ms > now_ms)
        .map(|b| (b.tracking_code.to_string(), b.service.clone()))
        .collect();
    let caller = c
        .citizen()
        .ok_or_else(|| c.fail(AppError::Unauthenticated))?;
    let mut fees = super::payments::booking_fees(&state, t, &caller, &payable)
        .await
        .map_err(|e| c.fail(e))?;
    for b in &mut bookings {
        b.fee = fees.remove(&b.code);
    }
    // Only codes of the citizen's own bookings are echoed back.
    let booked = q
        .booked
        .filter(|code| bookings.iter().any(|b| &b.code == code));
    let notice = match q.done.as_deref() {
        Some("cancelled") => Some(t.t("c_cancelled")),
        Some("moved") => Some(t.t("c_moved")),
        _ => None,
    };
    let error = q.error.as_deref().and_then(|k| {
        ["c_not_cancellable", "c_not_reschedulable", "c_failed"]
            .contains(&k)
            .then(|| t.t(k))
    });
    Ok(c.page(
        StatusCode::OK,
        &HomePage {
            chrome: c.chrome(),
            csrf: c.csrf.clone(),
            national_code: t.num(nc.as_str()),
            bookings,
            booked,
            notice,
            error,
            pay_key: super::payments::pay_key().map_err(|e| c.fail(e))?,
        },
    ))
}

pub(super) fn parse_tracking(c: &CitizenCtx, code: &str) -> Result<TrackingCode, UiError> {
    TrackingCode::parse(code).map_err(|_| c.fail(ApiError::App(AppError::NotFound("booking"))))
}

pub async fn cancel(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(to_login());
    };
    c.check_csrf(&form.csrf)?;
    let code = parse_tracking(&c, &code)?;
    match appointments::cancel(state.app(), &caller, &code, &ctx).await {
        Ok(_) => Ok(Redirect::to("/citizen?done=cancelled").into_response()),
        Err(AppError::Conflict {
            code: "not_cancellable",
            ..
        }) => Ok(Redirect::to("/citizen?error=c_not_cancellable").into_response()),
        Err(e) => Err(c.fail(e)),
    }
}
