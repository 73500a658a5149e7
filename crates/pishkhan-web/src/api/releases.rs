//! Surge releases: the regulator opens a release (a service, offices with slots, a request
//! window), citizens ask for it with up to five preferred offices, and at the close a seeded
//! lottery (`pishkhan-release`) allocates the slots. The seed's commitment is published at the
//! opening, the seed and the digests at the close, and the bundle lets anyone re-run the
//! allocation with `pishkhan release verify FILE`.
//!
//! **Fairness.** A citizen's place in the lottery is `SHA-256(seed ‖ national code)`, so when
//! or how often they asked gives no advantage. Asking again replaces the earlier request (the
//! last one counts), up to [`MAX_SUBMISSIONS`] times.
//!
//! **Closing** is one idempotent, resumable sequence; every step can be retried after a crash:
//! 1. seal the release (no request is taken after this commits);
//! 2. run the lottery over the stored requests in arrival order and store the whole result,
//!    with the waitlist notices, in one transaction (a second attempt finds it stored);
//! 3. book each winner whose seat is still pending through the ordinary booking path (slot
//!    capacity, citizen limits), with an idempotency key per release and citizen, then record
//!    the booking and queue the `release.won` notice in one transaction;
//! 4. hand the seats of cancelled winner bookings on to the waitlist (recovery for an offer a
//!    crash lost; cancelling normally hands the seat on at once).
//!
//! The work runs in its own task, so a client that gives up does not stop it half-way.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Denied, Permit, Principal, authorize};
use pishkhan_domain::model::{Channel, Office, OfficeCode, Service, ServiceCode};
use pishkhan_domain::schedule::{BookingRules, SlotPolicy, slots_for_day, solar_holiday};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_release::{MAX_PREFERENCES, Rejection, ReleaseSpec};
use pishkhan_store::{
    AuditContext, Booked, NewBooking, NewRelease, NewReleaseRequest, NewWinner, OfficeFilter,
    PageRequest, PlannedSlot, Release, ReleaseAllocation, ReleaseOffice, ReleaseOutcome,
    ReleaseResult, ReleaseStatus, Seat, SeatSettlement, StoreError, token_hash,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::{ProblemOut, rfc3339_ms};
use crate::AppState;
use crate::appointments::policy_of;
use crate::auth::{Caller, Staff};
use crate::error::ApiError;
use crate::extract::{ApiJson, Ctx};

/// Offices one release may use.
pub const MAX_RELEASE_OFFICES: usize = 200;
/// Slots one office may give to one release.
pub const MAX_SLOTS_PER_OFFICE: u32 = 10_000;
/// Days of appointments one release may span.
pub const MAX_RELEASE_DAYS: i64 = 14;
/// How far ahead of today a release's appointments may lie.
pub const MAX_DAYS_AHEAD: i64 = 120;
/// Longest request window.
pub const MAX_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;
/// Requests one citizen may send to one release (each replaces the last).
pub const MAX_SUBMISSIONS: u32 = 20;
/// Winners booked at once at the close: the embedded store commits them as one group.
const BOOKING_CHUNK: usize = 64;

// ---- contract ----------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseOfficeIn {
    /// 8-digit office code.
    pub office: String,
    pub slots: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseIn {
    /// Service code, such as PSP-001.
    pub service: String,
    /// Province id (1..=31): every office of the release lies in it.
    pub province: u8,
    /// Offices and their slots. Leave out to use every office of the province that takes
    /// bookings, each with `slots_per_office`.
    pub offices: Option<Vec<ReleaseOfficeIn>>,
    pub slots_per_office: Option<u32>,
    /// First and last Jalali day of the appointments (YYYY-MM-DD), after the close.
    pub first_day: String,
    pub last_day: String,
    /// The request window, RFC 3339.
    pub opens_at: String,
    pub closes_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PlannedSlotOut {
    /// RFC 3339.
    pub start: String,
    pub end: String,
    /// Jalali date (Tehran).
    pub date: String,
    pub seats: u32,
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseOfficeOut {
    pub office: String,
    pub slots: u32,
    pub times: Vec<PlannedSlotOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseOut {
    pub id: String,
    pub service: String,
    pub province: u8,
    /// open, closed (sealed, result not stored yet) or allocated.
    pub status: String,
    pub opens_at: String,
    pub closes_at: String,
    /// True while requests are taken.
    pub accepting_requests: bool,
    pub total_slots: u64,
    pub offices: Vec<ReleaseOfficeOut>,
    /// SHA-256 of the seed, published at the opening.
    pub seed_commitment: String,
    /// The 32-byte seed in hex, published once allocated.
    pub seed: Option<String>,
    pub inputs_digest: Option<String>,
    pub allocation_digest: Option<String>,
    pub winners: Option<u64>,
    pub waitlisted: Option<u64>,
    /// Where the verification bundle is, once allocated.
    pub bundle: Option<String>,
}

impl ReleaseOut {
    fn of(r: &Release, now_ms: i64) -> Self {
        let allocated = r.status == ReleaseStatus::Allocated;
        Self {
            id: r.id.clone(),
            service: r.service.to_string(),
            province: r.province,
            status: r.status.code().to_string(),
            opens_at: rfc3339_ms(r.opens_at_ms),
            closes_at: rfc3339_ms(r.closes_at_ms),
            accepting_requests: r.takes_requests_at(now_ms),
            total_slots: r.total_slots,
            offices: r
                .offices
                .iter()
                .map(|o| ReleaseOfficeOut {
                    office: o.office.to_string(),
                    slots: o.slots,
                    times: o
                        .times
                        .iter()
                        .map(|t| PlannedSlotOut {
                            start: rfc3339_ms(t.start_ms),
                            end: rfc3339_ms(t.end_ms),
                            date: jalali_of(t.start_ms).to_string(),
                            seats: t.seats,
                        })
                        .collect(),
                })
                .collect(),
            seed_commitment: r.seed_commitment.clone(),
            seed: r.published_seed().map(str::to_string),
            inputs_digest: r.inputs_digest.clone(),
            allocation_digest: r.allocation_digest.clone(),
            winners: r.winners,
            waitlisted: r.waitlisted,
            bundle: allocated.then(|| format!("/api/v1/releases/{}/bundle", r.id)),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequestIn {
    /// 1 to 5 distinct office codes of the release, most wanted first.
    pub preferences: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseRequestOut {
    pub release: String,
    pub preferences: Vec<String>,
    pub submitted_at: String,
    /// True when this request replaced an earlier one (the last request counts; when it was
    /// sent makes no difference to the draw).
    pub replaced: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CloseOut {
    pub release: ReleaseOut,
    /// Winners with a booking.
    pub booked: u64,
    /// Winners whose booking is not made yet (their planned slots are full); a later close
    /// call tries again.
    pub pending: u64,
    /// Winners a booking rule refused (such as one active booking per service); their seats
    /// went to the waitlist.
    pub unseated: u64,
    /// Seats offered to the waitlist by this call.
    pub offers: u64,
}

/// The verification bundle, exactly as `pishkhan release verify FILE` reads it.
#[derive(Serialize, ToSchema)]
pub struct BundleOut {
    /// `{"id", "service", "offices": [{"office", "slots"}], "seed"}`.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// `{"national_code", "preferences"}` per citizen, in arrival order.
    #[schema(value_type = Vec<Object>)]
    pub requests: Vec<serde_json::Value>,
    /// `{"release_id", "seed_hex", "inputs_digest_hex", "allocation_digest_hex", "winners",
    /// "waitlisted"}`.
    #[schema(value_type = Object)]
    pub publication: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseOfferOut {
    pub office: String,
    pub start: String,
    pub end: String,
    /// Jalali date (Tehran).
    pub date: String,
    pub offered_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct MyReleaseOut {
    pub release: String,
    pub service: String,
    /// The release's status: open, closed or allocated.
    pub status: String,
    pub closes_at: String,
    pub preferences: Vec<String>,
    pub submitted_at: String,
    /// pending (not allocated yet), won or waitlisted.
    pub outcome: String,
    /// Winners: place in lottery order; waitlisted: place on the waitlist (1 first).
    pub place: Option<u64>,
    pub office: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    /// Jalali date of the appointment (Tehran).
    pub date: Option<String>,
    /// pending, booked or unseated.
    pub seat: Option<String>,
    pub tracking_code: Option<String>,
    /// A seat a winner gave back, offered to this waitlisted citizen: book it through
    /// `POST /api/v1/bookings`.
    pub offer: Option<ReleaseOfferOut>,
}

// ---- helpers -----------------------------------------------------------------------------

fn jalali_of(ms: i64) -> JalaliDate {
    jalali_today(crate::appointments::instant(ms))
}

fn parse_time(s: &str, field: &'static str, code: &'static str) -> Result<i64, ApiError> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(pishkhan_domain::schedule::unix_ms)
        .map_err(|_| {
            ApiError::invalid(
                code,
                field,
                format!("{field} must be an RFC 3339 time, such as 2026-12-01T05:00:00Z"),
            )
        })
}

fn parse_day(s: &str, field: &'static str) -> Result<JalaliDate, ApiError> {
    JalaliDate::parse(s).map_err(|e| ApiError::invalid(e.code, field, e.message))
}

/// Release ids are public and unguessable only by accident; they need only be unique.
fn new_release_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(format!("rel-{}", hex_of(&bytes)))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn release_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { .. } => ApiError::NotFound("release"),
        other => other.into(),
    }
}

/// Ids are `rel-` and hex; anything else names no release (and is never sent to the store).
fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::NotFound("release"))
    }
}

/// The checks of `pishkhan_release` on one request, in its order, against the release's
/// offices: a live system refuses at submission what the lottery would reject.
fn check_preferences(raw: &[String], release: &Release) -> Result<Vec<OfficeCode>, ApiError> {
    let rejected = |r: Rejection| ApiError::invalid(r.code(), "preferences", r.to_string());
    if raw.is_empty() {
        return Err(rejected(Rejection::NoPreferences));
    }
    if raw.len() > MAX_PREFERENCES {
        return Err(rejected(Rejection::TooManyPreferences { count: raw.len() }));
    }
    let prefs = raw
        .iter()
        .map(|s| OfficeCode::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            ApiError::invalid(
                "invalid_preferences",
                "preferences",
                "preferences are 8-digit office codes",
            )
        })?;
    for (i, o) in prefs.iter().enumerate() {
        if prefs[..i].contains(o) {
            return Err(rejected(Rejection::DuplicatePreference { office: *o }));
        }
    }
    if let Some(o) = prefs
        .iter()
        .find(|o| !release.offices.iter().any(|r| r.office == **o))
    {
        return Err(rejected(Rejection::UnknownOffice { office: *o }));
    }
    Ok(prefs)
}

/// The lottery's spec of a stored release (the seed included: only for running it).
fn spec_of(release: &Release) -> Result<ReleaseSpec, ApiError> {
    let seed = pishkhan_release::parse_seed(&release.seed_hex)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored release seed is not 64 hex")))?;
    Ok(ReleaseSpec {
        id: release.id.clone(),
        service: release.service.clone(),
        offices: release
            .offices
            .iter()
            .map(|o| (o.office, o.slots))
            .collect(),
        seed,
    })
}

/// The signed-in citizen making the request, with the mobile their session was opened with.
async fn citizen_of(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<(NationalCode, Mobile), ApiError> {
    if let Caller::Staff(_) = caller {
        // Staff take no part in a release; citizens ask for themselves.
        return Err(ApiError::Forbidden(Denied::Role));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthenticated)?;
    state
        .store()
        .citizen_session(&token_hash(token), state.now_ms())
        .await?
        .ok_or(ApiError::Unauthenticated)
}

// ---- opening -----------------------------------------------------------------------------

/// The days of a release's appointments and what already holds seats in them.
#[derive(Clone, Copy)]
struct Days<'a> {
    first: JalaliDate,
    last: JalaliDate,
    /// Holidays the regulator entered between `first` and `last`.
    holidays: &'a [JalaliDate],
    /// Seats planned by releases not allocated yet, per (office, slot start).
    reserved: &'a HashMap<(u32, i64), u32>,
}

/// Lays `slots` seats over the office's open slots in `days`, spread one seat per slot per
/// round so no hour is crowded, within each slot's free capacity (capacity less booked seats
/// less seats other unallocated releases planned there).
async fn plan_office(
    state: &AppState,
    office: &Office,
    service: &Service,
    slots: u32,
    days: &Days<'_>,
) -> Result<ReleaseOffice, ApiError> {
    let Days {
        first,
        last,
        holidays,
        reserved,
    } = *days;
    let policy: SlotPolicy = policy_of(state, office).await?;
    let capacity = policy.capacity(service.avg_handling_minutes);
    let closures: Vec<JalaliDate> = state
        .store()
        .closures(office.code, first, last)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let mut times = Vec::new();
    let mut day = first;
    while day <= last {
        if solar_holiday(day).is_none() && !holidays.contains(&day) && !closures.contains(&day) {
            times.extend(slots_for_day(office, &policy, day));
        }
        day = day.add_days(1);
    }
    let loads = match (times.first(), times.last()) {
        (Some(a), Some(b)) => {
            state
                .store()
                .slot_loads(office.code, a.start_ms(), b.start_ms() + 1)
                .await?
        }
        _ => Vec::new(),
    };
    let mut free: Vec<u32> = times
        .iter()
        .map(|t| {
            let booked = loads
                .iter()
                .find(|(s, _)| *s == t.start_ms())
                .map_or(0, |(_, n)| *n);
            let held = reserved
                .get(&(office.code.get(), t.start_ms()))
                .copied()
                .unwrap_or(0);
            capacity.saturating_sub(booked).saturating_sub(held)
        })
        .collect();
    let available: u64 = free.iter().map(|&n| u64::from(n)).sum();
    if available < u64::from(slots) {
        return Err(ApiError::invalid(
            "not_enough_capacity",
            "offices",
            format!(
                "office {} has {available} free seats between {first} and {last}; {slots} asked",
                office.code
            ),
        ));
    }
    let mut seats = vec![0u32; times.len()];
    let mut left = slots;
    while left > 0 {
        for (i, f) in free.iter_mut().enumerate() {
            if left == 0 {
                break;
            }
            if *f > 0 {
                *f -= 1;
                seats[i] += 1;
                left -= 1;
            }
        }
    }
    Ok(ReleaseOffice {
        office: office.code,
        slots,
        times: times
            .iter()
            .zip(seats)
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| PlannedSlot {
                start_ms: t.start_ms(),
                end_ms: pishkhan_domain::schedule::unix_ms(t.end),
                seats: n,
            })
            .collect(),
    })
}

/// The offices of the release and their slots, checked.
async fn chosen_offices(
    state: &AppState,
    input: &ReleaseIn,
) -> Result<Vec<(Office, u32)>, ApiError> {
    let check_slots = |n: u32| {
        if (1..=MAX_SLOTS_PER_OFFICE).contains(&n) {
            Ok(n)
        } else {
            Err(ApiError::invalid(
                "invalid_slots",
                "offices",
                format!("an office gives 1..={MAX_SLOTS_PER_OFFICE} slots"),
            ))
        }
    };
    match (&input.offices, input.slots_per_office) {
        (Some(list), None) => {
            if list.is_empty() || list.len() > MAX_RELEASE_OFFICES {
                return Err(ApiError::invalid(
                    "invalid_offices",
                    "offices",
                    format!("a release lists 1..={MAX_RELEASE_OFFICES} offices"),
                ));
            }
            let mut seen = HashSet::new();
            let mut out = Vec::with_capacity(list.len());
            for o in list {
                let code = OfficeCode::parse(&o.office)
                    .map_err(|e| ApiError::invalid(e.code, "offices", e.message))?;
                if !seen.insert(code) {
                    return Err(ApiError::invalid(
                        "duplicate_office",
                        "offices",
                        format!("office {code} is listed twice"),
                    ));
                }
                let slots = check_slots(o.slots)?;
                let office = state.store().office(code).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => ApiError::invalid(
                        "unknown_office",
                        "offices",
                        format!("no office has the code {code}"),
                    ),
                    other => other.into(),
                })?;
                if office.province_id != input.province {
                    return Err(ApiError::invalid(
                        "office_not_in_province",
                        "offices",
                        format!("office {code} is not in province {}", input.province),
                    ));
                }
                if !office.status.may_use_network() {
                    return Err(ApiError::invalid(
                        "office_suspended",
                        "offices",
                        format!("office {code} is not taking bookings"),
                    ));
                }
                out.push((office, slots));
            }
            Ok(out)
        }
        (None, Some(per_office)) => {
            let slots = check_slots(per_office)?;
            let filter = OfficeFilter {
                province: Some(input.province),
                ..OfficeFilter::default()
            };
            let mut out = Vec::new();
            for page in 1.. {
                let page = PageRequest::new(page, pishkhan_store::MAX_PER_PAGE)?;
                let found = state.store().offices(&filter, page).await?;
                let last = found.items.len() < page.per_page() as usize;
                out.extend(
                    found
                        .items
                        .into_iter()
                        .filter(|o| o.status.may_use_network())
                        .map(|o| (o, slots)),
                );
                if out.len() > MAX_RELEASE_OFFICES {
                    return Err(ApiError::invalid(
                        "invalid_offices",
                        "offices",
                        format!(
                            "the province has more than {MAX_RELEASE_OFFICES} offices: list them"
                        ),
                    ));
                }
                if last {
                    break;
                }
            }
            if out.is_empty() {
                return Err(ApiError::invalid(
                    "invalid_offices",
                    "province",
                    "no office of the province takes bookings",
                ));
            }
            Ok(out)
        }
        _ => Err(ApiError::invalid(
            "invalid_offices",
            "offices",
            "give either offices or slots_per_office",
        )),
    }
}

/// Open a surge release (regulator only). The server draws the 32-byte seed and keeps it
/// secret until the allocation; its SHA-256 commitment is returned now and published.
#[utoipa::path(post, path = "/api/v1/releases", tag = "releases", request_body = ReleaseIn,
    responses((status = 201, body = ReleaseOut),
        (status = 401, body = ProblemOut, content_type = "application/problem+json"),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json",
            description = "unknown_service, service_not_at_counter, unknown_province, invalid_offices, duplicate_office, unknown_office, office_not_in_province, office_suspended, invalid_slots, invalid_window, invalid_days, days_before_close, not_enough_capacity, …")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<ReleaseIn>,
) -> Result<Response, ApiError> {
    let permit = staff.permit(Action::ManageReleases)?;
    let now_ms = ctx.now_ms;

    let service_code = ServiceCode::parse(&input.service)
        .map_err(|e| ApiError::invalid(e.code, "service", e.message))?;
    let service = state
        .store()
        .service(&service_code)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => {
                ApiError::invalid("unknown_service", "service", "no service has this code")
            }
            other => other.into(),
        })?;
    if service.channel == Channel::Online {
        return Err(ApiError::invalid(
            "service_not_at_counter",
            "service",
            "this service is offered online only",
        ));
    }
    let provinces = state.store().provinces().await?;
    if !provinces.iter().any(|p| p.province.id == input.province) {
        return Err(ApiError::invalid(
            "unknown_province",
            "province",
            "no province has this id",
        ));
    }

    let opens = parse_time(&input.opens_at, "opens_at", "invalid_window")?;
    let closes = parse_time(&input.closes_at, "closes_at", "invalid_window")?;
    if closes <= opens || closes - opens > MAX_WINDOW_MS {
        return Err(ApiError::invalid(
            "invalid_window",
            "closes_at",
            "closes_at must come after opens_at, at most 30 days later",
        ));
    }
    if closes <= now_ms {
        return Err(ApiError::invalid(
            "invalid_window",
            "closes_at",
            "closes_at must be in the future",
        ));
    }
    let first = parse_day(&input.first_day, "first_day")?;
    let last = parse_day(&input.last_day, "last_day")?;
    let span = (last.to_gregorian() - first.to_gregorian()).whole_days();
    if !(0..MAX_RELEASE_DAYS).contains(&span) {
        return Err(ApiError::invalid(
            "invalid_days",
            "last_day",
            format!("last_day is first_day or later, at most {MAX_RELEASE_DAYS} days in all"),
        ));
    }
    // Appointments start after the day of the close, so every winner can be booked and told
    // in time.
    if first <= jalali_of(closes) {
        return Err(ApiError::invalid(
            "days_before_close",
            "first_day",
            format!(
                "appointments start after the close, from {} on",
                jalali_of(closes).add_days(1)
            ),
        ));
    }
    if last > jalali_today(state.now()).add_days(MAX_DAYS_AHEAD) {
        return Err(ApiError::invalid(
            "invalid_days",
            "last_day",
            format!("appointments lie at most {MAX_DAYS_AHEAD} days ahead"),
        ));
    }

    let offices = chosen_offices(&state, &input).await?;
    let holidays: Vec<JalaliDate> = state
        .store()
        .holidays(first, last)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let mut reserved: HashMap<(u32, i64), u32> = HashMap::new();
    for other in state.store().unallocated_releases().await? {
        for o in &other.offices {
            for t in &o.times {
                *reserved.entry((o.office.get(), t.start_ms)).or_insert(0) += t.seats;
            }
        }
    }
    let days = Days {
        first,
        last,
        holidays: &holidays,
        reserved: &reserved,
    };
    let mut plan = Vec::with_capacity(offices.len());
    for (office, slots) in &offices {
        plan.push(plan_office(&state, office, &service, *slots, &days).await?);
    }

    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let release = NewRelease {
        id: new_release_id()?,
        service: service.code.clone(),
        province: input.province,
        offices: plan,
        opens_at_ms: opens,
        closes_at_ms: closes,
        seed_hex: hex_of(&seed),
        seed_commitment: pishkhan_release::commitment(&seed),
    };
    // The lottery must accept what is stored; a refusal here is our bug, not the caller's.
    ReleaseSpec {
        id: release.id.clone(),
        service: release.service.clone(),
        offices: release
            .offices
            .iter()
            .map(|o| (o.office, o.slots))
            .collect(),
        seed,
    }
    .validate()
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("release spec refused: {e}")))?;
    state
        .store()
        .create_release(&permit, &release, &ctx)
        .await?;
    let stored = state
        .store()
        .release(&release.id)
        .await
        .map_err(release_not_found)?;
    let mut resp = (
        StatusCode::CREATED,
        Json(ReleaseOut::of(&stored, state.now_ms())),
    )
        .into_response();
    if let Ok(v) = format!("/api/v1/releases/{}", stored.id).parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A release: its window, offices, slots and seed commitment; once allocated, the seed and
/// the digests (public).
#[utoipa::path(get, path = "/api/v1/releases/{id}", tag = "releases",
    params(("id" = String, Path)),
    responses((status = 200, body = ReleaseOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReleaseOut>, ApiError> {
    check_id(&id)?;
    let release = state
        .store()
        .release(&id)
        .await
        .map_err(release_not_found)?;
    Ok(Json(ReleaseOut::of(&release, state.now_ms())))
}

// ---- requests ----------------------------------------------------------------------------

/// Ask for a slot (signed-in citizen), listing 1 to 5 offices of the release, most wanted
/// first. Asking again replaces the earlier request; when or how often one asks makes no
/// difference to the draw.
#[utoipa::path(post, path = "/api/v1/releases/{id}/requests", tag = "releases",
    params(("id" = String, Path)), request_body = ReleaseRequestIn,
    responses((status = 202, body = ReleaseRequestOut),
        (status = 401, body = ProblemOut, content_type = "application/problem+json"),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "release_not_open"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json",
            description = "no_preferences, too_many_preferences, duplicate_preference, unknown_office, invalid_preferences, too_many_submissions")),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReleaseRequestIn>,
) -> Result<Response, ApiError> {
    let (national_code, mobile) = citizen_of(&state, &caller, &headers).await?;
    let permit = authorize(
        &Principal::Citizen(national_code.clone()),
        Action::BookAsCitizen {
            national_code: national_code.clone(),
        },
    )?;
    check_id(&id)?;
    let release = state
        .store()
        .release(&id)
        .await
        .map_err(release_not_found)?;
    let not_open = || ApiError::Conflict {
        code: "release_not_open",
        message: format!(
            "this release takes requests from {} until {}",
            rfc3339_ms(release.opens_at_ms),
            rfc3339_ms(release.closes_at_ms)
        ),
    };
    if !release.takes_requests_at(ctx.now_ms) {
        return Err(not_open());
    }
    let preferences = check_preferences(&input.preferences, &release)?;
    let request = NewReleaseRequest {
        national_code,
        mobile,
        preferences,
        max_submissions: MAX_SUBMISSIONS,
    };
    let replaced = match state
        .store()
        .submit_release_request(&permit, &id, &request, &ctx)
        .await
    {
        Ok(r) => r,
        Err(StoreError::WrongState(_)) => return Err(not_open()),
        Err(StoreError::LimitReached { rule }) => {
            return Err(ApiError::invalid(
                "too_many_submissions",
                "preferences",
                rule,
            ));
        }
        Err(e) => return Err(release_not_found(e)),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(ReleaseRequestOut {
            release: id,
            preferences: request
                .preferences
                .iter()
                .map(ToString::to_string)
                .collect(),
            submitted_at: rfc3339_ms(ctx.now_ms),
            replaced,
        }),
    )
        .into_response())
}

// ---- closing -----------------------------------------------------------------------------

/// Close a release once its window has passed (regulator only): seal it, run the lottery,
/// store the result, book the winners, notify everyone and publish the seed. Idempotent: a
/// repeated call changes nothing, and a call after a crash finishes what was left.
#[utoipa::path(post, path = "/api/v1/releases/{id}/close", tag = "releases",
    params(("id" = String, Path)),
    responses((status = 200, body = CloseOut),
        (status = 401, body = ProblemOut, content_type = "application/problem+json"),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "release_window_open")),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<CloseOut>, ApiError> {
    let permit = staff.permit(Action::ManageReleases)?;
    check_id(&id)?;
    // In its own task: a client that gives up (or the request timeout) does not cut the
    // sequence short. Calls made meanwhile wait for it, then run the same idempotent steps
    // over the settled state: two sequences seating the same winners at once could deadlock
    // each other's booking transactions on PostgreSQL.
    let task = tokio::spawn(async move {
        let turn = state.clone();
        let key = id.clone();
        turn.one_release_close(&key, run_close(state, staff, permit, id, ctx))
            .await
    });
    match task.await {
        Ok(out) => out.map(Json),
        Err(e) => Err(ApiError::Internal(anyhow::anyhow!(
            "close task failed: {e}"
        ))),
    }
}

async fn run_close(
    state: AppState,
    staff: Staff,
    permit: Permit,
    id: String,
    ctx: AuditContext,
) -> Result<CloseOut, ApiError> {
    let store = state.store();
    let mut release = store.release(&id).await.map_err(release_not_found)?;
    let window_open = || ApiError::Conflict {
        code: "release_window_open",
        message: format!(
            "the request window is open until {}",
            rfc3339_ms(release.closes_at_ms)
        ),
    };
    if release.status == ReleaseStatus::Open {
        if ctx.now_ms < release.closes_at_ms {
            return Err(window_open());
        }
        match store.seal_release(&permit, &id, &ctx).await {
            Ok(_) => {}
            Err(StoreError::WrongState(_)) => return Err(window_open()),
            Err(e) => return Err(e.into()),
        }
        release.status = ReleaseStatus::Closed;
    }
    if release.status == ReleaseStatus::Closed {
        let result = draw(&state, &release).await?;
        store
            .record_release_result(&permit, &id, &result, &ctx)
            .await?;
    }
    let release = store.release(&id).await.map_err(release_not_found)?;
    let allocations = store.release_allocations(&id).await?;
    let pending: Vec<&ReleaseAllocation> = allocations
        .iter()
        .filter(|a| a.seat == Some(Seat::Pending))
        .collect();
    let mut offers = 0;
    if !pending.is_empty() {
        let service = store.service(&release.service).await?;
        for chunk in pending.chunks(BOOKING_CHUNK) {
            let mut tasks = tokio::task::JoinSet::new();
            for a in chunk {
                let (state, staff, release, service, a, ctx) = (
                    state.clone(),
                    staff.clone(),
                    release.clone(),
                    service.clone(),
                    (*a).clone(),
                    ctx.clone(),
                );
                tasks.spawn(async move {
                    seat_winner(&state, &staff, &release, &service, &a, &ctx).await
                });
            }
            let mut settled = Vec::with_capacity(chunk.len());
            while let Some(done) = tasks.join_next().await {
                let outcome = done
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("booking task failed: {e}")))?;
                if let Some(s) = outcome? {
                    settled.push(s);
                }
            }
            offers += store
                .settle_release_seats(&permit, &id, &settled, &ctx)
                .await?;
        }
    }
    offers += store.offer_freed_release_seats(&permit, &id, &ctx).await?;

    let allocations = store.release_allocations(&id).await?;
    let count = |seat: Seat| allocations.iter().filter(|a| a.seat == Some(seat)).count() as u64;
    Ok(CloseOut {
        release: ReleaseOut::of(&release, state.now_ms()),
        booked: count(Seat::Booked),
        pending: count(Seat::Pending),
        unseated: count(Seat::Unseated),
        offers,
    })
}

/// Runs the lottery over the stored requests (arrival order) and lays the winners' seats over
/// the planned slot times: per office, in lottery order, the earliest planned seats first.
async fn draw(state: &AppState, release: &Release) -> Result<ReleaseResult, ApiError> {
    let spec = spec_of(release)?;
    let stored = state.store().release_requests(&release.id).await?;
    let mobiles: HashMap<String, Mobile> = stored
        .iter()
        .map(|r| (r.national_code.as_str().to_string(), r.mobile.clone()))
        .collect();
    let requests: Vec<pishkhan_release::Request> = stored
        .into_iter()
        .map(|r| pishkhan_release::Request {
            national_code: r.national_code,
            preferences: r.preferences,
        })
        .collect();
    // Hashing a large release takes a while: off the async workers.
    let allocation =
        tokio::task::spawn_blocking(move || pishkhan_release::allocate(&spec, &requests))
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("lottery task failed: {e}")))?
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("lottery refused the release: {e}")))?;

    let mobile_of = |c: &NationalCode| {
        mobiles
            .get(c.as_str())
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a drawn citizen has no request")))
    };
    let mut taken: HashMap<OfficeCode, u32> = HashMap::new();
    let mut winners = Vec::with_capacity(allocation.winners.len());
    for (code, office) in &allocation.winners {
        let k = taken.entry(*office).or_insert(0);
        let plan = release
            .offices
            .iter()
            .find(|o| o.office == *office)
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("a winner's office is not planned"))
            })?;
        let mut before = 0u32;
        let slot = plan
            .times
            .iter()
            .find(|t| {
                before += t.seats;
                *k < before
            })
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("more winners than seats")))?;
        *k += 1;
        winners.push(NewWinner {
            national_code: code.clone(),
            mobile: mobile_of(code)?,
            office: *office,
            slot_start_ms: slot.start_ms,
            slot_end_ms: slot.end_ms,
        });
    }
    let waitlist = allocation
        .waitlist
        .iter()
        .map(|c| Ok((c.clone(), mobile_of(c)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(ReleaseResult {
        inputs_digest: allocation.publication.inputs_digest_hex.clone(),
        allocation_digest: allocation.publication.allocation_digest_hex.clone(),
        winners,
        waitlist,
    })
}

/// Books one winner through the ordinary booking path, at their planned slot or, if ordinary
/// bookings filled it meanwhile, at the office's next planned slot with room. `None` when all
/// are full (the seat stays pending). The idempotency key makes a retry find the first
/// booking instead of taking a second seat.
async fn seat_winner(
    state: &AppState,
    staff: &Staff,
    release: &Release,
    service: &Service,
    a: &ReleaseAllocation,
    ctx: &AuditContext,
) -> Result<Option<SeatSettlement>, ApiError> {
    let (Some(office), Some(start)) = (a.office, a.slot_start_ms) else {
        return Ok(None);
    };
    // The regulator books on the winner's behalf, as the national call centre does.
    let permit = staff.permit(Action::BookOnBehalf { office })?;
    let office_rec = state.store().office(office).await?;
    let capacity = policy_of(state, &office_rec)
        .await?
        .capacity(service.avg_handling_minutes);
    let planned = release
        .offices
        .iter()
        .find(|o| o.office == office)
        .map(|o| o.times.clone())
        .unwrap_or_default();
    let mut candidates: Vec<PlannedSlot> = planned
        .iter()
        .filter(|t| t.start_ms == start)
        .chain(planned.iter().filter(|t| t.start_ms != start))
        .copied()
        .collect();
    candidates.dedup_by_key(|t| t.start_ms);
    for slot in candidates {
        let booking = NewBooking {
            office,
            service: release.service.clone(),
            slot_start_ms: slot.start_ms,
            slot_end_ms: slot.end_ms,
            national_code: a.national_code.clone(),
            mobile: a.mobile.clone(),
            capacity,
            rules: BookingRules::default(),
            // '#' is in no username, so no caller-scoped key can take this one.
            idempotency_key: Some(format!(
                "#release:{}:{}",
                release.id,
                a.national_code.as_str()
            )),
        };
        match state.store().create_booking(&permit, &booking, ctx).await {
            Ok(Booked::New(b) | Booked::Replayed(b)) => {
                return Ok(Some(SeatSettlement::Booked(b)));
            }
            Err(StoreError::SlotFull) => continue,
            Err(StoreError::LimitReached { rule }) => {
                return Ok(Some(SeatSettlement::Unseated {
                    national_code: a.national_code.clone(),
                    reason: rule,
                }));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!(release = %release.id, office = %office, "every planned slot is full; the winner's seat stays pending");
    Ok(None)
}

// ---- publication -------------------------------------------------------------------------

/// The verification bundle of an allocated release (public): its spec with the revealed
/// seed, every request in arrival order, and the publication. Save it and run
/// `pishkhan release verify FILE --commitment <seed_commitment>`.
#[utoipa::path(get, path = "/api/v1/releases/{id}/bundle", tag = "releases",
    params(("id" = String, Path)),
    responses((status = 200, body = BundleOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "release_not_allocated")))]
pub async fn bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let release = state
        .store()
        .release(&id)
        .await
        .map_err(release_not_found)?;
    if release.status != ReleaseStatus::Allocated {
        return Err(ApiError::Conflict {
            code: "release_not_allocated",
            message: "the bundle is published once the release is allocated".into(),
        });
    }
    let spec = spec_of(&release)?;
    let requests = state
        .store()
        .release_requests(&id)
        .await?
        .into_iter()
        .map(|r| pishkhan_release::Request {
            national_code: r.national_code,
            preferences: r.preferences,
        })
        .collect();
    let publication = pishkhan_release::Publication {
        release_id: release.id.clone(),
        seed_hex: release.seed_hex.clone(),
        inputs_digest_hex: release.inputs_digest.clone().unwrap_or_default(),
        allocation_digest_hex: release.allocation_digest.clone().unwrap_or_default(),
        winners: release.winners.unwrap_or(0),
        waitlisted: release.waitlisted.unwrap_or(0),
    };
    let bundle = pishkhan_release::Bundle {
        spec,
        requests,
        publication,
    };
    let mut resp = Json(bundle).into_response();
    if let Ok(v) = format!("attachment; filename=\"{id}.json\"").parse() {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The signed-in citizen's release requests and outcomes, latest window first.
#[utoipa::path(get, path = "/api/v1/me/releases", tag = "releases",
    responses((status = 200, body = [MyReleaseOut]),
        (status = 401, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MyReleaseOut>>, ApiError> {
    let citizen = caller.into_citizen()?;
    let list = state
        .store()
        .citizen_releases(&citizen.national_code)
        .await?;
    Ok(Json(
        list.iter()
            .map(|c| {
                let a = c.allocation.as_ref();
                let start = a.and_then(|a| a.slot_start_ms);
                MyReleaseOut {
                    release: c.release.id.clone(),
                    service: c.release.service.to_string(),
                    status: c.release.status.code().to_string(),
                    closes_at: rfc3339_ms(c.release.closes_at_ms),
                    preferences: c
                        .request
                        .preferences
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    submitted_at: rfc3339_ms(c.request.at_ms),
                    outcome: a.map_or("pending", |a| a.outcome.code()).to_string(),
                    place: a.map(|a| a.place),
                    office: a.and_then(|a| a.office).map(|o| o.to_string()),
                    start: start.map(rfc3339_ms),
                    end: a.and_then(|a| a.slot_end_ms).map(rfc3339_ms),
                    date: start.map(|s| jalali_of(s).to_string()),
                    seat: a.and_then(|a| a.seat).map(|s| s.code().to_string()),
                    tracking_code: a
                        .and_then(|a| a.tracking_code.as_ref())
                        .map(ToString::to_string),
                    offer: a
                        .filter(|a| a.outcome == ReleaseOutcome::Waitlisted)
                        .and_then(|a| a.offer)
                        .map(|o| ReleaseOfferOut {
                            office: o.office.to_string(),
                            start: rfc3339_ms(o.slot_start_ms),
                            end: rfc3339_ms(o.slot_end_ms),
                            date: jalali_of(o.slot_start_ms).to_string(),
                            offered_at: rfc3339_ms(o.offered_at_ms),
                        }),
                }
            })
            .collect(),
    ))
}
