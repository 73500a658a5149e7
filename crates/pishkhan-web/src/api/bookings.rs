//! Appointments: availability, bookings, office schedules, holidays and closures.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{LocalizedText, ServiceCode};
use pishkhan_domain::schedule::{SlotPolicy, TrackingCode};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{Booked, Booking};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::{Caller, Staff};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx};
use crate::input::parse_office_code;
use pishkhan_app::AppError;
use pishkhan_app::appointments::{self, BookingRequest, MAX_AVAILABILITY_DAYS, instant};

/// Longest Idempotency-Key accepted.
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Service code, such as PSP-001.
    #[param(required = true, pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service: Option<String>,
    /// First Jalali day, YYYY-MM-DD; default today.
    #[param(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub from: Option<String>,
    /// Days to show, 1..=31; default 7.
    #[param(pattern = r"^([1-9]|[12][0-9]|3[01])$")]
    pub days: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SlotOut {
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    pub capacity: u32,
    pub available: u32,
}

#[derive(Serialize, ToSchema)]
pub struct DayOut {
    /// Jalali date, YYYY-MM-DD.
    pub date: String,
    /// False outside the booking window or when the office is closed.
    pub bookable: bool,
    /// weekly_closing, holiday or closure, when the office is closed.
    pub closed: Option<String>,
    pub closed_reason_fa: Option<String>,
    pub closed_reason_en: Option<String>,
    pub slots: Vec<SlotOut>,
}

#[derive(Serialize, ToSchema)]
pub struct AvailabilityOut {
    pub office: String,
    pub service: String,
    pub days: Vec<DayOut>,
}

/// Free seats per slot of one office for one service.
#[utoipa::path(get, path = "/api/v1/offices/{code}/availability", tag = "appointments",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), AvailabilityQuery),
    responses((status = 200, body = AvailabilityOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn availability(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> Result<Json<AvailabilityOut>, ApiError> {
    let office = state.store().office(parse_office_code(&code)?).await?;
    let service_code = q
        .service
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("missing_field", "service", "service is required"))?;
    let service_code = ServiceCode::parse(service_code)
        .map_err(|e| ApiError::invalid(e.code, "service", e.message))?;
    let service =
        state.store().service(&service_code).await.map_err(|_| {
            ApiError::invalid("unknown_service", "service", "no service has this code")
        })?;
    let from = match q.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(f) => {
            JalaliDate::parse(f).map_err(|e| ApiError::invalid(e.code, "from", e.message))?
        }
        None => jalali_today(state.now()),
    };
    let days = match q.days.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(d) => Some(
            pishkhan_domain::digits::to_ascii_digits(d)
                .parse::<u16>()
                .map_err(|_| {
                    ApiError::invalid(
                        "invalid_days",
                        "days",
                        format!("days must be 1..={MAX_AVAILABILITY_DAYS}"),
                    )
                })?,
        ),
        None => None,
    };
    let calendar = appointments::availability(state.app(), &office, &service, from, days).await?;
    Ok(Json(AvailabilityOut {
        office: office.code.to_string(),
        service: service.code.to_string(),
        days: calendar
            .into_iter()
            .map(|d| {
                let (fa, en) = match &d.closed {
                    Some(
                        pishkhan_domain::schedule::ClosedReason::Holiday(t)
                        | pishkhan_domain::schedule::ClosedReason::Closure(t),
                    ) => (Some(t.fa.clone()), Some(t.en.clone())),
                    _ => (None, None),
                };
                DayOut {
                    date: d.date.to_string(),
                    bookable: d.bookable,
                    closed: d.closed.as_ref().map(|c| c.code().to_string()),
                    closed_reason_fa: fa,
                    closed_reason_en: en,
                    slots: d
                        .slots
                        .iter()
                        .map(|s| SlotOut {
                            start: rfc3339(s.slot.start),
                            end: rfc3339(s.slot.end),
                            capacity: s.capacity,
                            available: s.available,
                        })
                        .collect(),
                }
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingIn {
    /// 8-digit office code.
    #[schema(pattern = r"^[1-9][0-9]{7}$")]
    pub office: String,
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service: String,
    /// Start of the slot, RFC 3339 (as returned by availability).
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(pattern = r"^[0-9]{10}$")]
    pub national_code: String,
    #[schema(pattern = r"^(\+98|0098|98|0)?9[0-9]{9}$")]
    pub mobile: String,
}

#[derive(Serialize, ToSchema)]
pub struct BookingOut {
    /// Short code the citizen shows at the desk, such as K7M2-Q9XA.
    pub tracking_code: String,
    pub office: String,
    pub service: String,
    /// RFC 3339.
    pub start: String,
    pub end: String,
    /// Jalali date of the appointment (Tehran).
    pub date: String,
    /// booked, checked_in, completed, cancelled or no_show.
    pub status: String,
    pub national_code: String,
    pub mobile: String,
    pub created_at: String,
}

impl From<&Booking> for BookingOut {
    fn from(b: &Booking) -> Self {
        let start = instant(b.slot_start_ms);
        Self {
            tracking_code: b.tracking_code.to_string(),
            office: b.office.to_string(),
            service: b.service.to_string(),
            start: rfc3339(start),
            end: rfc3339(instant(b.slot_end_ms)),
            date: jalali_today(start).to_string(),
            status: b.status.code().to_string(),
            national_code: b.national_code.as_str().to_string(),
            mobile: b.mobile.as_str().to_string(),
            created_at: rfc3339(instant(b.created_at_ms)),
        }
    }
}

/// Book an appointment. Staff book at their own office (the regulator anywhere, as the
/// national call centre). Send an `Idempotency-Key` header so a retry returns the same booking.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "appointments", request_body = BookingIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry-safe key, at most 128 characters", pattern = r"^[!-~]{1,128}$")),
    responses((status = 201, body = BookingOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "slot_full"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "booking_limit_reached or a validation code")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<BookingIn>,
) -> Result<Response, ApiError> {
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v.to_str().map(str::trim).unwrap_or("");
            if k.is_empty() || k.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
                return Err(ApiError::invalid(
                    "invalid_idempotency_key",
                    "idempotency_key",
                    format!(
                        "Idempotency-Key must be 1..={MAX_IDEMPOTENCY_KEY_CHARS} visible characters"
                    ),
                ));
            }
            Some(k.to_string())
        }
    };
    let start = time::OffsetDateTime::parse(
        input.start.trim(),
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| {
        ApiError::invalid(
            "invalid_start",
            "start",
            "start must be an RFC 3339 time, such as 2026-12-01T05:00:00Z",
        )
    })?;
    let req = BookingRequest {
        office: pishkhan_domain::model::OfficeCode::parse(&input.office)?,
        service: ServiceCode::parse(&input.service)
            .map_err(|e| ApiError::invalid(e.code, "service", e.message))?,
        start,
        national_code: NationalCode::parse(&input.national_code)?,
        mobile: Mobile::parse(&input.mobile)?,
        idempotency_key,
    };
    let outcome = appointments::book(state.app(), &caller, req, &ctx).await?;
    let (booking, replayed) = match &outcome {
        Booked::New(b) => (b, false),
        Booked::Replayed(b) => (b, true),
    };
    let mut resp = (StatusCode::CREATED, Json(BookingOut::from(booking))).into_response();
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

fn parse_tracking(code: &str) -> Result<TrackingCode, ApiError> {
    TrackingCode::parse(code).map_err(|_| ApiError::App(AppError::NotFound("booking")))
}

/// One booking by its tracking code.
#[utoipa::path(get, path = "/api/v1/bookings/{tracking_code}", tag = "appointments",
    params(("tracking_code" = String, Path, description = "such as K7M2-Q9XA", pattern = r"^[2-9A-HJKMNP-Za-hjkmnp-z]{4}-?[2-9A-HJKMNP-Za-hjkmnp-z]{4}$")),
    responses((status = 200, body = BookingOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingOut>, ApiError> {
    let booking = appointments::booking_for(state.app(), &caller, &parse_tracking(&code)?).await?;
    Ok(Json(BookingOut::from(&booking)))
}

/// Cancel a booking; its seat is free again at once.
#[utoipa::path(post, path = "/api/v1/bookings/{tracking_code}/cancel", tag = "appointments",
    params(("tracking_code" = String, Path, description = "such as K7M2-Q9XA", pattern = r"^[2-9A-HJKMNP-Za-hjkmnp-z]{4}-?[2-9A-HJKMNP-Za-hjkmnp-z]{4}$")),
    responses((status = 200, body = BookingOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "not in a cancellable state")),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingOut>, ApiError> {
    let code = parse_tracking(&code)?;
    let cancelled = appointments::cancel(state.app(), &caller, &code, &ctx).await?;
    Ok(Json(BookingOut::from(&cancelled)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleIn {
    /// Start of the new slot, RFC 3339, at the same office.
    #[schema(format = DateTime)]
    pub start: String,
}

/// Move a booking to another slot of the same office. The new seat is taken before the old
/// one is released; if the new slot is full, nothing changes.
#[utoipa::path(post, path = "/api/v1/bookings/{tracking_code}/reschedule", tag = "appointments",
    params(("tracking_code" = String, Path, description = "such as K7M2-Q9XA", pattern = r"^[2-9A-HJKMNP-Za-hjkmnp-z]{4}-?[2-9A-HJKMNP-Za-hjkmnp-z]{4}$")), request_body = RescheduleIn,
    responses((status = 200, body = BookingOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "slot_full or not_reschedulable"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reschedule(
    State(state): State<AppState>,
    caller: Caller,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<RescheduleIn>,
) -> Result<Json<BookingOut>, ApiError> {
    let code = parse_tracking(&code)?;
    let start = time::OffsetDateTime::parse(
        input.start.trim(),
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| ApiError::invalid("invalid_start", "start", "start must be an RFC 3339 time"))?;
    let moved = appointments::reschedule(state.app(), &caller, &code, start, &ctx).await?;
    Ok(Json(BookingOut::from(&moved)))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIo {
    #[schema(minimum = 5, maximum = 240)]
    pub slot_minutes: u16,
    #[schema(minimum = 1, maximum = 1000)]
    pub occupancy_cap: u16,
    /// At most the office's counters (1 to 200).
    #[schema(minimum = 0, maximum = 200)]
    pub booking_counters: u16,
}

/// The office's appointment settings (defaults until the manager changes them).
#[utoipa::path(get, path = "/api/v1/offices/{code}/schedule", tag = "appointments",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), responses((status = 200, body = ScheduleIo)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<ScheduleIo>, ApiError> {
    let p = appointments::schedule(state.app(), parse_office_code(&code)?).await?;
    Ok(Json(ScheduleIo {
        slot_minutes: p.slot_minutes,
        occupancy_cap: p.occupancy_cap,
        booking_counters: p.booking_counters,
    }))
}

/// Change the office's slot length, occupancy cap and bookable counters (its manager, or the
/// regulator).
#[utoipa::path(put, path = "/api/v1/offices/{code}/schedule", tag = "appointments",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), request_body = ScheduleIo,
    responses((status = 200, body = ScheduleIo),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put_schedule(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<ScheduleIo>,
) -> Result<Json<ScheduleIo>, ApiError> {
    let code = parse_office_code(&code)?;
    let policy = SlotPolicy {
        slot_minutes: input.slot_minutes,
        occupancy_cap: input.occupancy_cap,
        booking_counters: input.booking_counters,
    };
    appointments::set_schedule(state.app(), &staff, code, policy, &ctx).await?;
    Ok(Json(input))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedDayIn {
    #[schema(min_length = 1, max_length = 200)]
    pub name_fa: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name_en: String,
}

fn named(input: &NamedDayIn) -> LocalizedText {
    LocalizedText::new(&input.name_fa, &input.name_en)
}

/// Enter a lunar (or extra) holiday for a Jalali day (regulator only).
#[utoipa::path(put, path = "/api/v1/holidays/{date}", tag = "appointments",
    params(("date" = String, Path, description = "Jalali YYYY-MM-DD", pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$")), request_body = NamedDayIn,
    responses((status = 204), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put_holiday(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(date): ApiPath<String>,
    ApiJson(input): ApiJson<NamedDayIn>,
) -> Result<StatusCode, ApiError> {
    let day = JalaliDate::parse(&date)?;
    appointments::set_holiday(state.app(), &staff, day, &named(&input), &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Close an office for one Jalali day (its manager, or the regulator).
#[utoipa::path(put, path = "/api/v1/offices/{code}/closures/{date}", tag = "appointments",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("date" = String, Path, description = "Jalali YYYY-MM-DD", pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$")), request_body = NamedDayIn,
    responses((status = 204), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put_closure(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, date)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<NamedDayIn>,
) -> Result<StatusCode, ApiError> {
    let code = parse_office_code(&code)?;
    let day = JalaliDate::parse(&date)?;
    appointments::set_closure(state.app(), &staff, code, day, &named(&input), &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open again a day the office had closed (its manager, or the regulator); 404 when that day
/// was not closed, 422 `closure_in_past` for a day gone by.
#[utoipa::path(delete, path = "/api/v1/offices/{code}/closures/{date}", tag = "appointments",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("date" = String, Path, description = "Jalali YYYY-MM-DD", pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$")),
    responses((status = 204),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn delete_closure(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, date)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let code = parse_office_code(&code)?;
    let day = JalaliDate::parse(&date)?;
    appointments::remove_closure(state.app(), &staff, code, day, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
