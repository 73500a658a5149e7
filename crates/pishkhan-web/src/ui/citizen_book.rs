//! The citizen's booking: find the service by typing, the office by place or distance, a time
//! from the calendar, then check the answers before the booking is made. Rescheduling reuses
//! the calendar.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{Channel, Office, OfficeCode, Service, ServiceCode};
use pishkhan_domain::schedule::ClosedReason;
use pishkhan_domain::tehran::to_tehran;
use pishkhan_store::StoreError;
use serde::Deserialize;

use super::citizen::{CitizenCtx, error_key, parse_tracking, to_login, when_label};
use super::{Chrome, UiError};
use crate::AppState;
use crate::auth::Citizen;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;
use pishkhan_app::AppError;
use pishkhan_app::appointments::{self, BookingRequest};

/// Days of slots shown at once.
const DAYS_PER_PAGE: i64 = 7;

// ---- the slot picker ---------------------------------------------------------------------

struct SlotView {
    start: String,
    label: String,
    free: bool,
    title: String,
}

struct DayView {
    label: String,
    note: Option<String>,
    slots: Vec<SlotView>,
}

struct Picker {
    days: Vec<DayView>,
    earlier: Option<String>,
    later: Option<String>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Up to a week of slots from `from` (clamped to the booking window), as buttons by day.
async fn picker(
    state: &AppState,
    c: &CitizenCtx,
    office: &Office,
    service: &Service,
    from: Option<&str>,
    link: impl Fn(&JalaliDate) -> String,
) -> Result<Picker, UiError> {
    let t = c.t;
    let (first, last) = appointments::booking_window(state.app());
    let from = from
        .and_then(|f| JalaliDate::parse(f).ok())
        .unwrap_or(first)
        .max(first)
        .min(last);
    let days = (last.to_gregorian() - from.to_gregorian()).whole_days() + 1;
    let days = days.clamp(1, DAYS_PER_PAGE);
    let calendar =
        appointments::availability(state.app(), office, service, from, Some(days as u16))
            .await
            .map_err(|e| c.fail(e))?;
    let days_view = calendar
        .into_iter()
        .map(|d| {
            let note = match &d.closed {
                Some(ClosedReason::Weekday) => Some(t.t("c_closed_weekday")),
                Some(ClosedReason::Holiday(n) | ClosedReason::Closure(n)) => {
                    Some(format!("{} — {}", t.t("c_closed"), t.text(n)))
                }
                None if !d.bookable => Some(t.t("c_not_bookable")),
                None if d.slots.iter().all(|s| s.available == 0) => Some(t.t("c_no_free")),
                None => None,
            };
            DayView {
                label: format!("{} {}", t.text(d.date.weekday().label()), t.date(d.date)),
                note,
                slots: if d.bookable {
                    d.slots
                        .iter()
                        .map(|s| {
                            let at = to_tehran(s.slot.start);
                            SlotView {
                                start: rfc3339(s.slot.start),
                                label: t.num(format!("{:02}:{:02}", at.hour(), at.minute())),
                                free: s.available > 0,
                                title: if s.available > 0 {
                                    format!("{} {}", t.num(s.available), t.t("c_seats_left"))
                                } else {
                                    t.t("c_full")
                                },
                            }
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let next = from.add_days(DAYS_PER_PAGE);
    let prev = from.add_days(-DAYS_PER_PAGE).max(first);
    Ok(Picker {
        days: days_view,
        earlier: (from > first).then(|| link(&prev)),
        later: (next <= last).then(|| link(&next)),
    })
}

// ---- booking -----------------------------------------------------------------------------

/// Services shown on the service step: the most booked with no query.
const SERVICES_SHOWN: usize = 20;
/// Open offices offered when the chosen one takes no bookings.
const ALTERNATIVES: usize = 5;

/// A service on the service step.
struct ServiceHit {
    code: String,
    title: String,
    minutes: String,
}

/// An office on the office step, or an alternative to a closed one.
pub(super) struct OfficeHit {
    pub(super) name: String,
    pub(super) place: String,
    pub(super) distance: Option<String>,
    pub(super) link: String,
}

struct OfficeStep {
    place: String,
    lat: String,
    lon: String,
    searched: bool,
    hits: Vec<OfficeHit>,
    summary: String,
    earlier: Option<String>,
    later: Option<String>,
}

/// Why the chosen office takes no bookings, and where else to go.
struct ClosedOffice {
    why: String,
    alternatives: Vec<OfficeHit>,
}

#[derive(Template)]
#[template(path = "citizen_book.html")]
struct BookPage {
    chrome: Chrome,
    csrf: String,
    /// Where a chosen time goes: the review (GET) when booking, the move (POST) when
    /// rescheduling.
    action: String,
    review: bool,
    /// Set when moving an existing booking.
    reschedule: Option<(String, String)>,
    /// 1 service, 2 office, 3 time.
    step: u8,
    office_input: String,
    service_input: String,
    sq: String,
    services: Vec<ServiceHit>,
    office_step: Option<OfficeStep>,
    closed: Option<ClosedOffice>,
    office: Option<(String, String, String)>,
    service: Option<String>,
    documents: Vec<String>,
    /// Today's fee of the chosen service, shown before a slot is taken.
    fee: Option<super::pages::FeeView>,
    picker: Option<Picker>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct BookQuery {
    office: Option<String>,
    service: Option<String>,
    /// The service search as typed.
    sq: Option<String>,
    /// A city or an office's name.
    #[serde(alias = "oq")]
    place: Option<String>,
    lat: Option<String>,
    lon: Option<String>,
    /// The page of offices found.
    opage: Option<String>,
    from: Option<String>,
}

fn office_view(t: Tr, o: &Office) -> (String, String, String) {
    (
        o.code.to_string(),
        t.text(&o.name),
        t.join(t.text(&o.city), t.text(&o.address)),
    )
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn degrees(s: &Option<String>) -> Option<f64> {
    non_empty(s).and_then(|v| pishkhan_domain::digits::to_ascii_digits(v).parse().ok())
}

/// "۱٫۲ کیلومتر" or "1.2 km".
pub(super) fn distance_label(t: Tr, km: f64) -> String {
    let tenths = (km * 10.0).round() / 10.0;
    let n = if tenths >= 10.0 {
        format!("{tenths:.0}")
    } else {
        format!("{tenths:.1}")
    };
    let n = match t.lang {
        pishkhan_domain::model::Lang::Fa => t.num(n.replace('.', "٫")),
        pishkhan_domain::model::Lang::En => n,
    };
    format!("{n} {}", t.t("c_km"))
}

/// Offices near `found`'s query, as hits that go on to `service`'s calendar.
pub(super) async fn office_hits(
    state: &AppState,
    t: Tr,
    found: &pishkhan_app::office_finder::FoundOffices,
    service: Option<&str>,
) -> Result<Vec<OfficeHit>, ApiError> {
    let mut hits = Vec::with_capacity(found.offices.len());
    for f in &found.offices {
        let office = state.store().office(f.location.code).await?;
        let (code, name, place) = office_view(t, &office);
        let link = match service {
            Some(s) => format!("/citizen/book?service={s}&office={code}#slots"),
            None => format!("/citizen/book?office={code}"),
        };
        hits.push(OfficeHit {
            name,
            place,
            distance: f.distance_km.map(|km| distance_label(t, km)),
            link,
        });
    }
    Ok(hits)
}

/// Why `office` takes no bookings, with the nearest open offices for `service`.
pub(super) async fn closed_office(
    state: &AppState,
    t: Tr,
    office: &Office,
    service: Option<&str>,
) -> Result<(String, Vec<OfficeHit>), ApiError> {
    let why = t.t(match office.status {
        pishkhan_domain::model::OfficeStatus::Revoked => "c_closed_revoked",
        _ => "c_closed_suspended",
    });
    let near = pishkhan_app::office_finder::find(
        state.app(),
        &pishkhan_app::office_finder::OfficeSearch {
            lat: Some(office.lat),
            lon: Some(office.lon),
            except: Some(office.code),
            ..Default::default()
        },
    )
    .await?;
    let mut alternatives = office_hits(state, t, &near, service).await?;
    alternatives.truncate(ALTERNATIVES);
    Ok((why, alternatives))
}

fn book_link(q: &BookQuery, service: &str, opage: u32) -> String {
    let mut link = format!("/citizen/book?service={service}&opage={opage}");
    for (k, v) in [("place", &q.place), ("lat", &q.lat), ("lon", &q.lon)] {
        if let Some(v) = non_empty(v) {
            link.push_str(&format!("&{k}={}", super::urlencode(v)));
        }
    }
    link.push_str("#offices");
    link
}

async fn book_page(
    state: &AppState,
    c: &CitizenCtx,
    q: &BookQuery,
    error: Option<String>,
) -> Result<BookPage, UiError> {
    let t = c.t;
    let mut error = error;
    let office = match non_empty(&q.office) {
        Some(code) => match OfficeCode::parse(code) {
            Ok(code) => match state.store().office(code).await {
                Ok(o) => Some(o),
                Err(StoreError::NotFound { .. }) => {
                    error.get_or_insert_with(|| t.t("c_unknown_office"));
                    None
                }
                Err(e) => return Err(c.fail(e)),
            },
            Err(_) => {
                error.get_or_insert_with(|| t.t("c_unknown_office"));
                None
            }
        },
        None => None,
    };
    let mut service = match non_empty(&q.service) {
        Some(code) => match ServiceCode::parse(code) {
            Ok(code) => match state.store().service(&code).await {
                Ok(s) if s.channel == Channel::Online => {
                    error.get_or_insert_with(|| t.t("c_online_only"));
                    None
                }
                Ok(s) => Some(s),
                Err(StoreError::NotFound { .. }) => {
                    error.get_or_insert_with(|| t.t("c_unknown_service"));
                    None
                }
                Err(e) => return Err(c.fail(e)),
            },
            Err(_) => {
                error.get_or_insert_with(|| t.t("c_unknown_service"));
                None
            }
        },
        None => None,
    };
    let mut services = Vec::new();
    if service.is_none() {
        let found = pishkhan_app::catalogue::find(
            state.app(),
            non_empty(&q.sq),
            pishkhan_app::catalogue::Reach::AtCounters,
            1,
            SERVICES_SHOWN,
        )
        .await
        .map_err(|e| c.fail(e))?
        .items;
        // A search with a single answer chooses that service.
        if let [one] = found.as_slice()
            && non_empty(&q.sq).is_some()
            && non_empty(&q.service).is_none()
        {
            service = Some(one.service.clone());
        } else {
            services = found
                .iter()
                .map(|r| ServiceHit {
                    code: r.service.code.to_string(),
                    title: t.text(&r.service.title),
                    minutes: format!(
                        "{} {}",
                        t.num(r.service.avg_handling_minutes),
                        t.t("minutes")
                    ),
                })
                .collect();
        }
    }
    let service_code = service.as_ref().map(|s| s.code.to_string());
    let office_step = match (&service, &office) {
        (Some(s), None) => {
            let (lat, lon) = (degrees(&q.lat), degrees(&q.lon));
            let place = non_empty(&q.place).map(str::to_string);
            let searched = place.is_some() || lat.is_some() || lon.is_some();
            let mut step = OfficeStep {
                place: place.clone().unwrap_or_default(),
                lat: lat.map(|v| format!("{v:.5}")).unwrap_or_default(),
                lon: lon.map(|v| format!("{v:.5}")).unwrap_or_default(),
                searched,
                hits: Vec::new(),
                summary: String::new(),
                earlier: None,
                later: None,
            };
            if searched {
                let page = non_empty(&q.opage)
                    .map(|p| {
                        pishkhan_domain::digits::to_ascii_digits(p)
                            .parse::<u32>()
                            .unwrap_or(0)
                    })
                    .unwrap_or(1);
                let search = pishkhan_app::office_finder::OfficeSearch {
                    lat,
                    lon,
                    place,
                    page: Some(page),
                    except: None,
                };
                match pishkhan_app::office_finder::find(state.app(), &search).await {
                    Ok(found) => {
                        let sc = s.code.to_string();
                        step.hits = office_hits(state, t, &found, Some(&sc))
                            .await
                            .map_err(|e| c.fail(e))?;
                        step.summary = t
                            .t("c_offices_found")
                            .replace("{n}", &t.count(found.total as u64))
                            .replace("{page}", &t.num(found.page))
                            .replace("{pages}", &t.num(found.pages));
                        step.earlier = (found.page > 1).then(|| book_link(q, &sc, found.page - 1));
                        step.later =
                            (found.page < found.pages).then(|| book_link(q, &sc, found.page + 1));
                    }
                    Err(e @ AppError::Invalid { .. }) => {
                        error.get_or_insert_with(|| t.problem_message(&ApiError::App(e)));
                    }
                    Err(e) => return Err(c.fail(e)),
                }
            }
            Some(step)
        }
        _ => None,
    };
    let closed = match &office {
        Some(o) if !o.status.may_use_network() => {
            let (why, alternatives) = closed_office(state, t, o, service_code.as_deref())
                .await
                .map_err(|e| c.fail(e))?;
            Some(ClosedOffice { why, alternatives })
        }
        _ => None,
    };
    let fee = match &service {
        Some(s) => super::pages::fee_view(state, &s.code, &t)
            .await
            .map_err(|e| c.fail(ApiError::App(e)))?,
        None => None,
    };
    let picker = match (&office, &service, &closed) {
        (Some(o), Some(s), None) => {
            let (oc, sc) = (o.code.to_string(), s.code.to_string());
            Some(
                picker(state, c, o, s, q.from.as_deref(), |d| {
                    format!("/citizen/book?office={oc}&service={sc}&from={d}#slots")
                })
                .await?,
            )
        }
        _ => None,
    };
    let step = match (&service, &office) {
        (None, _) => 1,
        (Some(_), None) => 2,
        (Some(_), Some(_)) => 3,
    };
    Ok(BookPage {
        chrome: c.chrome(),
        csrf: c.csrf.clone(),
        action: "/citizen/book/review".to_string(),
        review: true,
        reschedule: None,
        step,
        office_input: office
            .as_ref()
            .map(|o| o.code.to_string())
            .or_else(|| non_empty(&q.office).map(str::to_string))
            .unwrap_or_default(),
        service_input: service_code.clone().unwrap_or_default(),
        sq: q.sq.clone().unwrap_or_default(),
        services,
        office_step,
        closed,
        office: office.as_ref().map(|o| office_view(t, o)),
        documents: service
            .as_ref()
            .map(|s| s.required_documents.iter().map(|d| t.text(d)).collect())
            .unwrap_or_default(),
        service: service.as_ref().map(|s| t.text(&s.title)),
        fee,
        picker,
        error,
    })
}

pub async fn book_form(
    State(state): State<AppState>,
    c: CitizenCtx,
    ApiQuery(q): ApiQuery<BookQuery>,
) -> Result<Response, UiError> {
    if c.who.is_none() {
        return Ok(super::citizen::to_login_then(&c.target));
    }
    let page = book_page(&state, &c, &q, None).await?;
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(c.page(status, &page))
}

// ---- check your answers ------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ReviewQuery {
    #[serde(default)]
    office: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    start: String,
}

#[derive(Template)]
#[template(path = "citizen_book_review.html")]
struct ReviewPage {
    chrome: Chrome,
    csrf: String,
    office_code: String,
    office_code_shown: String,
    office_name: String,
    office_place: String,
    service_code: String,
    service_title: String,
    minutes: String,
    start: String,
    when: String,
    documents: Vec<String>,
    checks: Vec<String>,
    fee: Option<super::pages::FeeView>,
    national_code: String,
    mobile: String,
    change_time: String,
}

/// The booking as it will be made, for the citizen to check before it is: nothing is written
/// until they confirm.
pub async fn review(
    State(state): State<AppState>,
    c: CitizenCtx,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Response, UiError> {
    let Some(Citizen {
        national_code,
        mobile,
    }) = c.who.clone()
    else {
        return Ok(super::citizen::to_login_then(&c.target));
    };
    let t = c.t;
    let back = BookQuery {
        office: Some(q.office.clone()),
        service: Some(q.service.clone()),
        ..Default::default()
    };
    let refuse = |key: &str| {
        let key = key.to_string();
        let state = state.clone();
        let back = &back;
        let c = &c;
        async move {
            let page = book_page(&state, c, back, Some(c.t.t(key))).await?;
            Ok::<_, UiError>(c.page(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    };
    let (Ok(office_code), Ok(service_code), Ok(start)) = (
        OfficeCode::parse(&q.office),
        ServiceCode::parse(&q.service),
        parse_start(&q.start),
    ) else {
        return refuse("c_pick_again").await;
    };
    let office = match state.store().office(office_code).await {
        Ok(o) => o,
        Err(StoreError::NotFound { .. }) => return refuse("c_unknown_office").await,
        Err(e) => return Err(c.fail(e)),
    };
    let service = match state.store().service(&service_code).await {
        Ok(s) if s.channel != Channel::Online => s,
        Ok(_) => return refuse("c_online_only").await,
        Err(StoreError::NotFound { .. }) => return refuse("c_unknown_service").await,
        Err(e) => return Err(c.fail(e)),
    };
    if !office.status.may_use_network() {
        return refuse(match office.status {
            pishkhan_domain::model::OfficeStatus::Revoked => "c_closed_revoked",
            _ => "c_closed_suspended",
        })
        .await;
    }
    // The time must still be free: a person who waited on this page is told before they
    // confirm, not after.
    let day = JalaliDate::from_gregorian(to_tehran(start).date());
    let calendar = appointments::availability(state.app(), &office, &service, day, Some(1))
        .await
        .map_err(|e| c.fail(e))?;
    let free = calendar.iter().any(|d| {
        d.bookable
            && d.slots
                .iter()
                .any(|s| s.slot.start == start && s.available > 0)
    });
    if !free {
        return refuse("c_slot_gone").await;
    }
    let fee = super::pages::fee_view(&state, &service.code, &t)
        .await
        .map_err(|e| c.fail(ApiError::App(e)))?;
    let (code, name, place) = office_view(t, &office);
    let start_ms = (start.unix_timestamp_nanos() / 1_000_000) as i64;
    let page = ReviewPage {
        chrome: c.chrome(),
        csrf: c.csrf.clone(),
        office_code_shown: t.num(&code),
        change_time: format!(
            "/citizen/book?office={code}&service={}&from={day}#slots",
            service.code
        ),
        office_code: code,
        office_name: name,
        office_place: place,
        service_code: service.code.to_string(),
        service_title: t.text(&service.title),
        minutes: format!("{} {}", t.num(service.avg_handling_minutes), t.t("minutes")),
        start: rfc3339(start),
        when: when_label(t, start_ms),
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
        national_code: t.num(national_code.as_str()),
        mobile: t.num(mobile.as_str()),
    };
    Ok(c.page(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct SlotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    start: String,
}

fn parse_start(s: &str) -> Result<time::OffsetDateTime, ApiError> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::invalid("invalid_start", "start", "not a time"))
}

/// Makes the booking the citizen confirmed on the review page.
pub async fn book_submit(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<SlotForm>,
) -> Result<Response, UiError> {
    let (
        Some(caller),
        Some(Citizen {
            national_code: nc,
            mobile,
        }),
    ) = (c.citizen(), c.who.clone())
    else {
        return Ok(to_login());
    };
    c.check_csrf(&form.csrf)?;
    let outcome = async {
        let req = BookingRequest {
            office: OfficeCode::parse(&form.office)
                .map_err(|_| ApiError::invalid("unknown_office", "office", "bad code"))?,
            service: ServiceCode::parse(&form.service)
                .map_err(|_| ApiError::invalid("unknown_service", "service", "bad code"))?,
            start: parse_start(&form.start)?,
            national_code: nc,
            mobile,
            idempotency_key: None,
        };
        appointments::book(state.app(), &caller, req, &ctx)
            .await
            .map_err(ApiError::from)
    }
    .await;
    match outcome {
        Ok(booked) => {
            let b = match booked {
                pishkhan_store::Booked::New(b) | pishkhan_store::Booked::Replayed(b) => b,
            };
            Ok(
                Redirect::to(&format!("/citizen/bookings/{}?booked=1", b.tracking_code))
                    .into_response(),
            )
        }
        Err(e @ (ApiError::App(AppError::Internal(_)) | ApiError::App(AppError::Unavailable))) => {
            Err(c.fail(e))
        }
        Err(e) => {
            let status = e.status();
            let q = BookQuery {
                office: Some(form.office.clone()),
                service: Some(form.service.clone()),
                ..Default::default()
            };
            let page = book_page(&state, &c, &q, Some(c.t.t(error_key(&e)))).await?;
            Ok(c.page(status, &page))
        }
    }
}

// ---- rescheduling ------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct FromQuery {
    from: Option<String>,
}

async fn reschedule_page(
    state: &AppState,
    c: &CitizenCtx,
    code: &str,
    from: Option<&str>,
    error: Option<String>,
) -> Result<Result<BookPage, Response>, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(Err(to_login()));
    };
    let t = c.t;
    let (booking, office, service) =
        super::citizen_booking::own_booking(state, c, &caller, code).await?;
    let code = booking.tracking_code.to_string();
    let fee = super::pages::fee_view(state, &service.code, &t)
        .await
        .map_err(|e| c.fail(ApiError::App(e)))?;
    let picker = picker(state, c, &office, &service, from, |d| {
        format!("/citizen/bookings/{code}/reschedule?from={d}#slots")
    })
    .await?;
    Ok(Ok(BookPage {
        chrome: c.chrome(),
        csrf: c.csrf.clone(),
        action: format!("/citizen/bookings/{code}/reschedule"),
        review: false,
        reschedule: Some((code.clone(), when_label(t, booking.slot_start_ms))),
        step: 3,
        office_input: office.code.to_string(),
        service_input: service.code.to_string(),
        sq: String::new(),
        services: Vec::new(),
        office_step: None,
        closed: None,
        office: Some(office_view(t, &office)),
        documents: service
            .required_documents
            .iter()
            .map(|d| t.text(d))
            .collect(),
        service: Some(t.text(&service.title)),
        fee,
        picker: Some(picker),
        error,
    }))
}

pub async fn reschedule_form(
    State(state): State<AppState>,
    c: CitizenCtx,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<FromQuery>,
) -> Result<Response, UiError> {
    match reschedule_page(&state, &c, &code, q.from.as_deref(), None).await? {
        Ok(page) => Ok(c.page(StatusCode::OK, &page)),
        Err(redirect) => Ok(redirect),
    }
}

pub async fn reschedule_submit(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<SlotForm>,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(to_login());
    };
    c.check_csrf(&form.csrf)?;
    let tracking = parse_tracking(&c, &code)?;
    let outcome = match parse_start(&form.start) {
        Ok(start) => appointments::reschedule(state.app(), &caller, &tracking, start, &ctx)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/citizen/bookings/{code}?moved=1")).into_response()),
        Err(
            e @ (ApiError::App(AppError::Internal(_))
            | ApiError::App(AppError::Unavailable)
            | ApiError::App(AppError::NotFound(_))),
        ) => Err(c.fail(e)),
        Err(e) => {
            let status = e.status();
            let msg = c.t.t(error_key(&e));
            match reschedule_page(&state, &c, &code, None, Some(msg)).await? {
                Ok(page) => Ok(c.page(status, &page)),
                Err(redirect) => Ok(redirect),
            }
        }
    }
}
