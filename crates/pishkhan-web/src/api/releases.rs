//! Surge releases over JSON: each handler parses, calls `pishkhan_app::releases` (opening,
//! requests, the close with its lottery and seating, the bundle, a citizen's outcomes) and
//! renders what it returns. The rules, the fairness argument and the close sequence are
//! described there.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pishkhan_app::appointments::instant;
use pishkhan_app::releases::{self, Entry, NewRelease, ReleaseOffices};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{Release, ReleaseOutcome, ReleaseStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::{ProblemOut, rfc3339_ms};
use crate::AppState;
use crate::auth::{Caller, Staff};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Ctx};

// ---- contract ----------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseOfficeIn {
    /// 8-digit office code.
    #[schema(pattern = r"^[1-9][0-9]{7}$")]
    pub office: String,
    pub slots: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseIn {
    /// Service code, such as PSP-001.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service: String,
    /// Province id (1..=31): every office of the release lies in it.
    #[schema(minimum = 1, maximum = 31)]
    pub province: u8,
    /// Offices and their slots. Leave out to use every office of the province that takes
    /// bookings, each with `slots_per_office`.
    pub offices: Option<Vec<ReleaseOfficeIn>>,
    pub slots_per_office: Option<u32>,
    /// First and last Jalali day of the appointments (YYYY-MM-DD), after the close.
    #[schema(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub first_day: String,
    #[schema(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub last_day: String,
    /// The request window, RFC 3339.
    #[schema(format = DateTime)]
    pub opens_at: String,
    #[schema(format = DateTime)]
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
    #[schema(value_type = Vec<super::types::OfficeCodeDoc>, min_items = 1, max_items = 5)]
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
    jalali_today(instant(ms))
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

/// The offices of a `ReleaseIn`: a list, or every office of the province with
/// `slots_per_office`.
fn release_offices(input: &ReleaseIn) -> Result<ReleaseOffices, ApiError> {
    match (&input.offices, input.slots_per_office) {
        (Some(list), None) => list
            .iter()
            .map(|o| {
                OfficeCode::parse(&o.office)
                    .map(|code| (code, o.slots))
                    .map_err(|e| ApiError::invalid(e.code, "offices", e.message))
            })
            .collect::<Result<_, _>>()
            .map(ReleaseOffices::Listed),
        (None, Some(slots)) => Ok(ReleaseOffices::EveryOffice { slots }),
        _ => Err(ApiError::invalid(
            "invalid_offices",
            "offices",
            "give either offices or slots_per_office",
        )),
    }
}

// ---- opening -----------------------------------------------------------------------------

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
    let service = ServiceCode::parse(&input.service)
        .map_err(|e| ApiError::invalid(e.code, "service", e.message))?;
    let opens_at_ms = parse_time(&input.opens_at, "opens_at", "invalid_window")?;
    let closes_at_ms = parse_time(&input.closes_at, "closes_at", "invalid_window")?;
    let first_day = parse_day(&input.first_day, "first_day")?;
    let last_day = parse_day(&input.last_day, "last_day")?;
    let offices = release_offices(&input)?;
    let release = NewRelease {
        service,
        province: input.province,
        offices,
        first_day,
        last_day,
        opens_at_ms,
        closes_at_ms,
    };
    let stored = releases::create(state.app(), &staff, &release, &ctx).await?;
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReleaseOut>, ApiError> {
    let release = releases::release(state.app(), &id).await?;
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
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReleaseRequestIn>,
) -> Result<Response, ApiError> {
    let preferences = input
        .preferences
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
    let entry = Entry { preferences };
    let done = releases::submit(state.app(), &caller, &id, &entry, &ctx).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ReleaseRequestOut {
            release: id,
            preferences: done.preferences.iter().map(ToString::to_string).collect(),
            submitted_at: rfc3339_ms(done.submitted_at_ms),
            replaced: done.replaced,
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CloseOut>, ApiError> {
    let closed = releases::close(state.app(), &staff, &id, &ctx).await?;
    Ok(Json(CloseOut {
        release: ReleaseOut::of(&closed.release, state.now_ms()),
        booked: closed.booked,
        pending: closed.pending,
        unseated: closed.unseated,
        offers: closed.offers,
    }))
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
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let bundle = releases::bundle(state.app(), &id).await?;
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
    let list = releases::mine(state.app(), caller).await?;
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
