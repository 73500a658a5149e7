//! One of the citizen's bookings on a page of its own: everything they need on the day, to
//! print or keep; the same as a calendar file (`.ics`); and the question asked before it is
//! cancelled.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pishkhan_domain::schedule::BookingStatus;
use serde::Deserialize;

use super::citizen::{CitizenCtx, parse_tracking, to_login_then, when_label};
use super::{Chrome, UiError};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::i18n::Tr;
use pishkhan_app::appointments;

/// What the booking page and the cancel question show of one booking.
struct BookingSheet {
    code: String,
    service: String,
    minutes: String,
    office_name: String,
    office_place: String,
    office_code: String,
    office_phone: String,
    when: String,
    status: String,
    badge: &'static str,
    /// Still ahead and booked: it may be moved or cancelled.
    active: bool,
    documents: Vec<String>,
    fee: Option<super::pages::FeeView>,
}

#[derive(Template)]
#[template(path = "citizen_booking.html")]
struct BookingPage {
    chrome: Chrome,
    b: BookingSheet,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen_cancel.html")]
struct CancelPage {
    chrome: Chrome,
    csrf: String,
    b: BookingSheet,
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    booked: Option<String>,
    moved: Option<String>,
}

fn badge(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::Booked => "badge-active",
        BookingStatus::CheckedIn | BookingStatus::Completed => "badge-networked",
        BookingStatus::Cancelled => "badge-revoked",
        BookingStatus::NoShow => "badge-warned",
    }
}

/// The signed-in citizen's booking `code` with its office and service. Another person's code
/// is "not found", as the API answers.
pub(super) async fn own_booking(
    state: &AppState,
    c: &CitizenCtx,
    caller: &pishkhan_app::Caller,
    code: &str,
) -> Result<
    (
        pishkhan_store::Booking,
        pishkhan_domain::model::Office,
        pishkhan_domain::model::Service,
    ),
    UiError,
> {
    let tracking = parse_tracking(c, code)?;
    let booking = appointments::booking_for(state.app(), caller, &tracking)
        .await
        .map_err(|e| c.fail(e))?;
    let office = state
        .store()
        .office(booking.office)
        .await
        .map_err(|e| c.fail(e))?;
    let service = state
        .store()
        .service(&booking.service)
        .await
        .map_err(|e| c.fail(e))?;
    Ok((booking, office, service))
}

/// The booking `code` of the signed-in citizen with its office and service, or the page to
/// go to instead. Another person's code is "not found", as the API answers.
async fn sheet(
    state: &AppState,
    c: &CitizenCtx,
    code: &str,
) -> Result<
    Result<
        (
            BookingSheet,
            pishkhan_store::Booking,
            pishkhan_domain::model::Office,
            pishkhan_domain::model::Service,
        ),
        Response,
    >,
    UiError,
> {
    let Some(caller) = c.citizen() else {
        return Ok(Err(to_login_then(&c.target)));
    };
    let t = c.t;
    let (booking, office, service) = own_booking(state, c, &caller, code).await?;
    let fee = super::pages::fee_view(state, &service.code, &t)
        .await
        .map_err(|e| c.fail(ApiError::App(e)))?;
    let sheet = BookingSheet {
        code: booking.tracking_code.to_string(),
        service: t.text(&service.title),
        minutes: format!("{} {}", t.num(service.avg_handling_minutes), t.t("minutes")),
        office_name: t.text(&office.name),
        office_place: t.join(t.text(&office.city), t.text(&office.address)),
        office_code: t.num(office.code),
        office_phone: t.num(&office.phone),
        when: when_label(t, booking.slot_start_ms),
        status: t.text(booking.status.label()),
        badge: badge(booking.status),
        active: booking.status == BookingStatus::Booked && booking.slot_start_ms > state.now_ms(),
        documents: service
            .required_documents
            .iter()
            .map(|d| t.text(d))
            .collect(),
        fee,
    };
    Ok(Ok((sheet, booking, office, service)))
}

pub async fn show(
    State(state): State<AppState>,
    c: CitizenCtx,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<ShowQuery>,
) -> Result<Response, UiError> {
    let (b, ..) = match sheet(&state, &c, &code).await? {
        Ok(found) => found,
        Err(redirect) => return Ok(redirect),
    };
    let notice = if q.booked.is_some() {
        Some(c.t.t("c_booked"))
    } else if q.moved.is_some() {
        Some(c.t.t("c_moved"))
    } else {
        None
    };
    Ok(c.page(
        StatusCode::OK,
        &BookingPage {
            chrome: c.chrome(),
            b,
            notice,
        },
    ))
}

pub async fn cancel_confirm(
    State(state): State<AppState>,
    c: CitizenCtx,
    Path(code): Path<String>,
) -> Result<Response, UiError> {
    let (b, ..) = match sheet(&state, &c, &code).await? {
        Ok(found) => found,
        Err(redirect) => return Ok(redirect),
    };
    Ok(c.page(
        StatusCode::OK,
        &CancelPage {
            chrome: c.chrome(),
            csrf: c.csrf.clone(),
            b,
        },
    ))
}

/// The booking as an iCalendar event (RFC 5545), for the citizen's phone calendar.
pub async fn calendar(
    State(state): State<AppState>,
    c: CitizenCtx,
    Path(code): Path<String>,
) -> Result<Response, UiError> {
    let (b, booking, office, _) = match sheet(&state, &c, &code).await? {
        Ok(found) => found,
        Err(redirect) => return Ok(redirect),
    };
    let body = ics(c.t, &b, &booking, &office, state.now_ms());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"pishkhan-{}.ics\"", b.code),
            ),
        ],
        body,
    )
        .into_response())
}

fn ics_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A TEXT value with RFC 5545's escapes.
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a UTF-8 character (RFC 5545, 3.1).
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
    let mut width = 0;
    for ch in line.chars() {
        let n = ch.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += n;
    }
    out.push_str("\r\n");
    out
}

fn ics(
    t: Tr,
    b: &BookingSheet,
    booking: &pishkhan_store::Booking,
    office: &pishkhan_domain::model::Office,
    now_ms: i64,
) -> String {
    let mut description = format!("{}: {}", t.t("c_tracking_code"), b.code);
    if !b.documents.is_empty() {
        description.push_str(&format!(
            "\n{}: {}",
            t.t("c_bring"),
            b.documents.join(&t.t("list_comma"))
        ));
    }
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Pishkhan//Booking//FA".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}@pishkhan", b.code),
        format!("DTSTAMP:{}", ics_time(now_ms)),
        format!("DTSTART:{}", ics_time(booking.slot_start_ms)),
        format!("DTEND:{}", ics_time(booking.slot_end_ms)),
        format!(
            "SUMMARY:{}",
            ics_text(&format!("{} — {}", b.service, b.office_name))
        ),
        format!(
            "LOCATION:{}",
            ics_text(&t.join(&b.office_name, &b.office_place))
        ),
        format!("GEO:{:.6};{:.6}", office.lat, office.lon),
        format!("DESCRIPTION:{}", ics_text(&description)),
        format!(
            "STATUS:{}",
            if booking.status == BookingStatus::Cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ),
        "BEGIN:VALARM".to_string(),
        "ACTION:DISPLAY".to_string(),
        "TRIGGER:-PT1H".to_string(),
        format!("DESCRIPTION:{}", ics_text(&b.service)),
        "END:VALARM".to_string(),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}
