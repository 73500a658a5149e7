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
//! The work runs in its own task, so a caller that gives up does not stop it half-way, and
//! only one close sequence of a release runs at a time in this process.

use std::collections::{HashMap, HashSet};

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Denied, Permit, Principal, authorize};
use pishkhan_domain::model::{Channel, Office, OfficeCode, Service, ServiceCode};
use pishkhan_domain::schedule::{SlotPolicy, slots_for_day, solar_holiday};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_release::{Bundle, MAX_PREFERENCES, Rejection, ReleaseSpec};
use pishkhan_store::{
    AuditContext, Booked, CitizenRelease, NewBooking, NewReleaseRequest, NewWinner, OfficeFilter,
    PageRequest, PlannedSlot, Release, ReleaseAllocation, ReleaseOffice, ReleaseResult,
    ReleaseStatus, Seat, SeatSettlement, StateRule, StoreError,
};

use crate::appointments::{instant, policy_of};
use crate::{App, AppError, Caller, StaffSession};

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

// ---- commands and results ----------------------------------------------------------------

/// Which offices a release uses.
#[derive(Debug, Clone)]
pub enum ReleaseOffices {
    /// These offices, each with its slots.
    Listed(Vec<(OfficeCode, u32)>),
    /// Every office of the province that takes bookings, each with `slots`.
    EveryOffice { slots: u32 },
}

/// A release the regulator asks to open, its fields parsed.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub service: ServiceCode,
    /// Province id: every office of the release lies in it.
    pub province: u8,
    pub offices: ReleaseOffices,
    /// First and last day of the appointments, after the close.
    pub first_day: JalaliDate,
    pub last_day: JalaliDate,
    /// The request window.
    pub opens_at_ms: i64,
    pub closes_at_ms: i64,
}

/// A citizen's request: offices of the release, most wanted first.
#[derive(Debug, Clone)]
pub struct Entry {
    pub preferences: Vec<OfficeCode>,
}

/// A stored request.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub preferences: Vec<OfficeCode>,
    pub submitted_at_ms: i64,
    /// True when this request replaced an earlier one of the same citizen.
    pub replaced: bool,
}

/// What a close call leaves.
#[derive(Debug, Clone)]
pub struct Closed {
    pub release: Release,
    /// Winners with a booking.
    pub booked: u64,
    /// Winners whose booking is not made yet (their planned slots are full).
    pub pending: u64,
    /// Winners a booking rule refused; their seats went to the waitlist.
    pub unseated: u64,
    /// Seats offered to the waitlist by this call.
    pub offers: u64,
}

// ---- helpers -----------------------------------------------------------------------------

fn jalali_of(ms: i64) -> JalaliDate {
    jalali_today(instant(ms))
}

/// RFC 3339, as the messages quote times.
fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn no_randomness(e: getrandom::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("no randomness: {e}"))
}

/// Release ids are public and unguessable only by accident; they need only be unique.
fn new_release_id() -> Result<String, AppError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(no_randomness)?;
    Ok(format!("rel-{}", hex::encode(bytes)))
}

fn release_not_found(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound { .. } => AppError::NotFound("release"),
        other => other.into(),
    }
}

/// Ids are `rel-` and hex; anything else names no release (and is never sent to the store).
fn check_id(id: &str) -> Result<(), AppError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::NotFound("release"))
    }
}

/// The checks of `pishkhan_release` on one request, in its order, against the release's
/// offices: a live system refuses at submission what the lottery would reject.
fn check_preferences(prefs: &[OfficeCode], release: &Release) -> Result<(), AppError> {
    let rejected = |r: Rejection| AppError::invalid(r.code(), "preferences", r.to_string());
    if prefs.is_empty() {
        return Err(rejected(Rejection::NoPreferences));
    }
    if prefs.len() > MAX_PREFERENCES {
        return Err(rejected(Rejection::TooManyPreferences {
            count: prefs.len(),
        }));
    }
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
    Ok(())
}

/// The lottery's spec of a stored release (the seed included: only for running it).
fn spec_of(release: &Release) -> Result<ReleaseSpec, AppError> {
    let seed = pishkhan_release::parse_seed(&release.seed_hex)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stored release seed is not 64 hex")))?;
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

/// The signed-in citizen making a request, with the mobile their session was opened with.
fn citizen_of(caller: &Caller) -> Result<(NationalCode, Mobile), AppError> {
    match caller {
        // Staff take no part in a release; citizens ask for themselves.
        Caller::Staff(_) => Err(AppError::Forbidden(Denied::Role)),
        Caller::Citizen(c) => Ok((c.national_code.clone(), c.mobile.clone())),
    }
}

// ---- reads -------------------------------------------------------------------------------

/// A release by id (public): `NotFound("release")` for an id no release has.
pub async fn release(state: &App, id: &str) -> Result<Release, AppError> {
    check_id(id)?;
    state.store().release(id).await.map_err(release_not_found)
}

/// The verification bundle of an allocated release (public): its spec with the revealed
/// seed, every request in arrival order, and the publication. `release_not_allocated` before.
pub async fn bundle(state: &App, id: &str) -> Result<Bundle, AppError> {
    let release = release(state, id).await?;
    if release.status != ReleaseStatus::Allocated {
        return Err(AppError::Conflict {
            code: "release_not_allocated",
            message: "the bundle is published once the release is allocated".into(),
        });
    }
    let spec = spec_of(&release)?;
    let requests = state
        .store()
        .release_requests(id)
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
    Ok(Bundle {
        spec,
        requests,
        publication,
    })
}

/// The signed-in citizen's release requests and outcomes, latest window first.
pub async fn mine(state: &App, caller: Caller) -> Result<Vec<CitizenRelease>, AppError> {
    let citizen = caller.into_citizen()?;
    Ok(state
        .store()
        .citizen_releases(&citizen.national_code)
        .await?)
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
    state: &App,
    office: &Office,
    service: &Service,
    slots: u32,
    days: &Days<'_>,
) -> Result<ReleaseOffice, AppError> {
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
        return Err(AppError::invalid(
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
async fn chosen_offices(state: &App, input: &NewRelease) -> Result<Vec<(Office, u32)>, AppError> {
    let check_slots = |n: u32| {
        if (1..=MAX_SLOTS_PER_OFFICE).contains(&n) {
            Ok(n)
        } else {
            Err(AppError::invalid(
                "invalid_slots",
                "offices",
                format!("an office gives 1..={MAX_SLOTS_PER_OFFICE} slots"),
            ))
        }
    };
    match &input.offices {
        ReleaseOffices::Listed(list) => {
            if list.is_empty() || list.len() > MAX_RELEASE_OFFICES {
                return Err(AppError::invalid(
                    "invalid_offices",
                    "offices",
                    format!("a release lists 1..={MAX_RELEASE_OFFICES} offices"),
                ));
            }
            let mut seen = HashSet::new();
            let mut out = Vec::with_capacity(list.len());
            for &(code, slots) in list {
                if !seen.insert(code) {
                    return Err(AppError::invalid(
                        "duplicate_office",
                        "offices",
                        format!("office {code} is listed twice"),
                    ));
                }
                let slots = check_slots(slots)?;
                let office = state.store().office(code).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => AppError::invalid(
                        "unknown_office",
                        "offices",
                        format!("no office has the code {code}"),
                    ),
                    other => other.into(),
                })?;
                if office.province_id != input.province {
                    return Err(AppError::invalid(
                        "office_not_in_province",
                        "offices",
                        format!("office {code} is not in province {}", input.province),
                    ));
                }
                if !office.status.may_use_network() {
                    return Err(AppError::invalid(
                        "office_suspended",
                        "offices",
                        format!("office {code} is not taking bookings"),
                    ));
                }
                out.push((office, slots));
            }
            Ok(out)
        }
        ReleaseOffices::EveryOffice { slots: per_office } => {
            let slots = check_slots(*per_office)?;
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
                    return Err(AppError::invalid(
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
                return Err(AppError::invalid(
                    "invalid_offices",
                    "province",
                    "no office of the province takes bookings",
                ));
            }
            Ok(out)
        }
    }
}

/// Opens a surge release (regulator only): checks the service, province, window, days and
/// offices, lays each office's seats over its free slot times, draws the 32-byte seed (kept
/// secret until the allocation; its SHA-256 commitment is published now) and returns the
/// stored release.
pub async fn create(
    state: &App,
    by: &StaffSession,
    input: &NewRelease,
    ctx: &AuditContext,
) -> Result<Release, AppError> {
    let permit = by.permit(Action::ManageReleases)?;
    let now_ms = ctx.now_ms;

    let service = state
        .store()
        .service(&input.service)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => {
                AppError::invalid("unknown_service", "service", "no service has this code")
            }
            other => other.into(),
        })?;
    if service.channel == Channel::Online {
        return Err(AppError::invalid(
            "service_not_at_counter",
            "service",
            "this service is offered online only",
        ));
    }
    let provinces = state.store().provinces().await?;
    if !provinces.iter().any(|p| p.province.id == input.province) {
        return Err(AppError::invalid(
            "unknown_province",
            "province",
            "no province has this id",
        ));
    }

    let (opens, closes) = (input.opens_at_ms, input.closes_at_ms);
    if closes <= opens || closes - opens > MAX_WINDOW_MS {
        return Err(AppError::invalid(
            "invalid_window",
            "closes_at",
            "closes_at must come after opens_at, at most 30 days later",
        ));
    }
    if closes <= now_ms {
        return Err(AppError::invalid(
            "invalid_window",
            "closes_at",
            "closes_at must be in the future",
        ));
    }
    let (first, last) = (input.first_day, input.last_day);
    let span = (last.to_gregorian() - first.to_gregorian()).whole_days();
    if !(0..MAX_RELEASE_DAYS).contains(&span) {
        return Err(AppError::invalid(
            "invalid_days",
            "last_day",
            format!("last_day is first_day or later, at most {MAX_RELEASE_DAYS} days in all"),
        ));
    }
    // Appointments start after the day of the close, so every winner can be booked and told
    // in time.
    if first <= jalali_of(closes) {
        return Err(AppError::invalid(
            "days_before_close",
            "first_day",
            format!(
                "appointments start after the close, from {} on",
                jalali_of(closes).add_days(1)
            ),
        ));
    }
    if last > jalali_today(state.now()).add_days(MAX_DAYS_AHEAD) {
        return Err(AppError::invalid(
            "invalid_days",
            "last_day",
            format!("appointments lie at most {MAX_DAYS_AHEAD} days ahead"),
        ));
    }

    let offices = chosen_offices(state, input).await?;
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
        plan.push(plan_office(state, office, &service, *slots, &days).await?);
    }

    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(no_randomness)?;
    let release = pishkhan_store::NewRelease {
        id: new_release_id()?,
        service: service.code.clone(),
        province: input.province,
        offices: plan,
        opens_at_ms: opens,
        closes_at_ms: closes,
        seed_hex: hex::encode(seed),
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
    .map_err(|e| AppError::Internal(anyhow::anyhow!("release spec refused: {e}")))?;
    state.store().create_release(&permit, &release, ctx).await?;
    state
        .store()
        .release(&release.id)
        .await
        .map_err(release_not_found)
}

// ---- requests ----------------------------------------------------------------------------

/// A signed-in citizen asks for a slot, listing 1 to 5 offices of the release, most wanted
/// first. Asking again replaces the earlier request; when or how often one asks makes no
/// difference to the draw. The outcome goes to the mobile the citizen signed in with.
pub async fn submit(
    state: &App,
    caller: &Caller,
    id: &str,
    entry: &Entry,
    ctx: &AuditContext,
) -> Result<Submitted, AppError> {
    let (national_code, mobile) = citizen_of(caller)?;
    let permit = authorize(
        &Principal::Citizen(national_code.clone()),
        Action::BookAsCitizen {
            national_code: national_code.clone(),
        },
    )?;
    let release = release(state, id).await?;
    let not_open = || AppError::Conflict {
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
    check_preferences(&entry.preferences, &release)?;
    let request = NewReleaseRequest {
        national_code,
        mobile,
        preferences: entry.preferences.clone(),
        max_submissions: MAX_SUBMISSIONS,
    };
    let replaced = match state
        .store()
        .submit_release_request(&permit, id, &request, ctx)
        .await
    {
        Ok(r) => r,
        Err(StoreError::WrongState(w)) if w.rule == StateRule::ReleaseNotOpen => {
            return Err(not_open());
        }
        Err(StoreError::LimitReached { rule }) => {
            return Err(AppError::invalid(
                "too_many_submissions",
                "preferences",
                rule,
            ));
        }
        Err(e) => return Err(release_not_found(e)),
    };
    Ok(Submitted {
        preferences: request.preferences,
        submitted_at_ms: ctx.now_ms,
        replaced,
    })
}

// ---- closing -----------------------------------------------------------------------------

/// Closes a release once its window has passed (regulator only): seals it, runs the lottery,
/// stores the result, books the winners, notifies everyone and publishes the seed.
/// Idempotent: a repeated call changes nothing, and a call after a crash finishes what was
/// left. `release_window_open` while requests are still taken.
pub async fn close(
    state: &App,
    by: &StaffSession,
    id: &str,
    ctx: &AuditContext,
) -> Result<Closed, AppError> {
    let permit = by.permit(Action::ManageReleases)?;
    check_id(id)?;
    // In its own task: a caller that gives up (or a request timeout) does not cut the
    // sequence short. Calls made meanwhile, in this process or on another node, wait for it,
    // then run the same idempotent steps over the settled state: two sequences seating the
    // same winners at once could deadlock each other's booking transactions on PostgreSQL.
    let (app, by, id, ctx) = (state.clone(), by.clone(), id.to_owned(), ctx.clone());
    let task = tokio::spawn(async move {
        let turn = app.clone();
        let key = id.clone();
        turn.one_release_close(&key, async move {
            // Other nodes' sequences too: one at a time in the whole deployment.
            let _deployment_turn = app.store().release_close_turn(&id).await?;
            run_close(app, by, permit, id, ctx).await
        })
        .await
    });
    match task.await {
        Ok(out) => out,
        Err(e) => Err(AppError::Internal(anyhow::anyhow!(
            "close task failed: {e}"
        ))),
    }
}

async fn run_close(
    state: App,
    by: StaffSession,
    permit: Permit,
    id: String,
    ctx: AuditContext,
) -> Result<Closed, AppError> {
    let store = state.store();
    let mut release = store.release(&id).await.map_err(release_not_found)?;
    let window_open = || AppError::Conflict {
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
            Err(StoreError::WrongState(w)) if w.rule == StateRule::ReleaseStillOpen => {
                return Err(window_open());
            }
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
                let (state, by, release, service, a, ctx) = (
                    state.clone(),
                    by.clone(),
                    release.clone(),
                    service.clone(),
                    (*a).clone(),
                    ctx.clone(),
                );
                tasks.spawn(
                    async move { seat_winner(&state, &by, &release, &service, &a, &ctx).await },
                );
            }
            let mut settled = Vec::with_capacity(chunk.len());
            while let Some(done) = tasks.join_next().await {
                let outcome = done
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("booking task failed: {e}")))?;
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
    Ok(Closed {
        release,
        booked: count(Seat::Booked),
        pending: count(Seat::Pending),
        unseated: count(Seat::Unseated),
        offers,
    })
}

/// Runs the lottery over the stored requests (arrival order) and lays the winners' seats over
/// the planned slot times: per office, in lottery order, the earliest planned seats first.
async fn draw(state: &App, release: &Release) -> Result<ReleaseResult, AppError> {
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
            .map_err(|e| AppError::Internal(anyhow::anyhow!("lottery task failed: {e}")))?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("lottery refused the release: {e}")))?;

    let mobile_of = |c: &NationalCode| {
        mobiles
            .get(c.as_str())
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a drawn citizen has no request")))
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
                AppError::Internal(anyhow::anyhow!("a winner's office is not planned"))
            })?;
        let mut before = 0u32;
        let slot = plan
            .times
            .iter()
            .find(|t| {
                before += t.seats;
                *k < before
            })
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("more winners than seats")))?;
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
        .collect::<Result<Vec<_>, AppError>>()?;
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
    state: &App,
    by: &StaffSession,
    release: &Release,
    _service: &Service,
    a: &ReleaseAllocation,
    ctx: &AuditContext,
) -> Result<Option<SeatSettlement>, AppError> {
    let (Some(office), Some(start)) = (a.office, a.slot_start_ms) else {
        return Ok(None);
    };
    // The regulator books on the winner's behalf, as the national call centre does.
    let permit = by.permit(Action::BookOnBehalf { office })?;
    // The store computes each slot's capacity for the service itself.
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
            rules: state.config().booking_rules,
            // '#' is in no username, so no caller-scoped key can take this one.
            idempotency_key: Some(format!(
                "#release:{}:{}",
                release.id,
                a.national_code.as_str()
            )),
        };
        match state.store().create_booking(&permit, &booking, ctx).await {
            Ok(booked) => {
                state.metrics().made(&booked);
                let (Booked::New(b) | Booked::Replayed(b)) = booked;
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
