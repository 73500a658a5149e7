//! The office's queue today: check-in, walk-in tickets, calling the next person, completing,
//! no-shows, and the line with estimated waits.
//!
//! Each operation brings the day's queue up to date with its event log (from the state this
//! process last stored, `queue_states.rs`, applying only the newer events), then with the
//! bookings (new ones expected, cancelled ones withdrawn), runs the operation, and appends the
//! new events through the group commit (`queue_writer.rs`). Appends are optimistic: if another
//! request appended first, it starts again.

use std::collections::HashMap;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::NationalCode;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::{Office, OfficeCode, ServiceCode};
use pishkhan_domain::schedule::tehran_instant;
use pishkhan_domain::schedule::{BookingStatus, Slot, TrackingCode};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_queue::{
    CounterId, Event, ExpectedBooking, PriorityCode, Queue, QueueConfig, QueueError, Ticket,
};
use pishkhan_store::OutboxKind;
use pishkhan_store::{
    AuditContext, Booking, NewSurvey, Notice, QueueAppend, QueueEffects, QueueWrite, StoreError,
};
use time::OffsetDateTime;

use crate::appointments::instant;
use crate::{App, AppError, StaffSession};

/// Times an operation is retried when another request changed the queue first.
const MAX_APPEND_ATTEMPTS: u32 = 8;

fn queue_error(e: QueueError) -> AppError {
    AppError::Conflict {
        code: e.code(),
        message: e.to_string(),
    }
}

/// The office's queue settings: its counters, each with the services it handles.
async fn config_for(state: &App, office: &Office) -> Result<QueueConfig, AppError> {
    let mut config = QueueConfig::with_counters(office.counters);
    let set = crate::appointments::counters_of(state, office.code).await?;
    if !set.is_empty() {
        config.counters = set
            .into_iter()
            .map(|(id, only)| match only {
                None => pishkhan_queue::CounterConfig::all(id),
                Some(services) => pishkhan_queue::CounterConfig::only(id, services),
            })
            .collect();
    }
    Ok(config)
}

/// A day's queue as an operation finds it.
struct Loaded {
    queue: Queue,
    /// Events the sync with the bookings produced, not yet stored.
    synced: Vec<Event>,
    /// Length of the stored log.
    len: u64,
    /// The day's bookings by tracking code (without the dash).
    bookings: HashMap<String, Booking>,
}

/// Today's queue, with the log brought up to date with the bookings (new ones expected,
/// cancelled ones withdrawn, overdue ones marked no-show).
async fn load(
    state: &App,
    office: &Office,
    day: JalaliDate,
    now: OffsetDateTime,
) -> Result<Loaded, AppError> {
    let config = config_for(state, office).await?;
    let (mut queue, held) = match state.queue_states().get(office.code, day, &config) {
        Some(held) => held,
        None => (
            Queue::new(office.code, day, config).map_err(|e| AppError::Internal(e.into()))?,
            0,
        ),
    };
    let stored = state
        .store()
        .queue_events_from(office.code, day, held)
        .await?;
    for s in &stored {
        let e: Event = serde_json::from_str(s)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("bad queue event: {e}")))?;
        queue.apply(&e).map_err(|e| AppError::Internal(e.into()))?;
    }
    let len = held + stored.len() as u64;
    let (from, to) = (tehran_instant(day, 0), tehran_instant(day.add_days(1), 0));
    let bookings = state
        .store()
        .office_bookings(
            office.code,
            pishkhan_domain::schedule::unix_ms(from),
            pishkhan_domain::schedule::unix_ms(to),
        )
        .await?;
    let mut synced = Vec::new();
    for b in &bookings {
        let known = queue.booking(&b.tracking_code).is_some();
        let new_events = match (known, b.status) {
            (
                false,
                BookingStatus::Booked | BookingStatus::CheckedIn | BookingStatus::Completed,
            ) => queue
                .expect_booking(ExpectedBooking {
                    tracking_code: b.tracking_code.clone(),
                    national_code: b.national_code.clone(),
                    service: b.service.clone(),
                    slot: Slot {
                        start: instant(b.slot_start_ms),
                        end: instant(b.slot_end_ms),
                    },
                })
                .unwrap_or_default(),
            // A cancellation after check-in is refused by the queue and left to the desk.
            (true, BookingStatus::Cancelled) => queue
                .cancel_booking(&b.tracking_code, now)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for e in new_events {
            queue.apply(&e).map_err(|e| AppError::Internal(e.into()))?;
            synced.push(e);
        }
    }
    for e in queue.expire_no_shows(now) {
        queue.apply(&e).map_err(|e| AppError::Internal(e.into()))?;
        synced.push(e);
    }
    Ok(Loaded {
        queue,
        synced,
        len,
        bookings: bookings
            .into_iter()
            .map(|b| (b.tracking_code.as_str().to_string(), b))
            .collect(),
    })
}

/// People this close to the front of the line get a "your turn is near" message.
const TURN_NEAR_AHEAD: usize = 3;

/// What an append changes beside the queue log: booking statuses the queue moved on, the
/// turn-near and survey messages, and the day's figures.
fn effects(
    state: &App,
    loaded: &Loaded,
    new_events: &[Event],
    now: OffsetDateTime,
) -> Result<QueueEffects, AppError> {
    let queue = &loaded.queue;
    let office = queue.office().to_string();
    let day = queue.day();
    let mut out = QueueEffects::default();
    for b in loaded.bookings.values() {
        match queue.booking_status(&b.tracking_code) {
            Some(
                s @ (BookingStatus::CheckedIn | BookingStatus::Completed | BookingStatus::NoShow),
            ) if s != b.status && b.status != BookingStatus::Cancelled => {
                out.statuses.push((b.tracking_code.clone(), s));
            }
            _ => {}
        }
    }
    out.statuses.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let booking_of = |ticket: Ticket| {
        queue
            .ticket(ticket)
            .and_then(|t| t.tracking_code.as_ref())
            .and_then(|c| loaded.bookings.get(c.as_str()))
    };
    for e in new_events {
        if let Event::Completed { ticket, .. } = e
            && let Some(b) = booking_of(*ticket)
        {
            let token = crate::secrets::new_token()?;
            out.surveys.push(NewSurvey {
                tracking_code: b.tracking_code.clone(),
                token_hash: pishkhan_store::token_hash(&token),
                office: b.office,
                service: b.service.clone(),
            });
            out.notices.push(Notice {
                kind: OutboxKind::VisitSurvey,
                recipient: b.mobile.as_str().to_string(),
                dedupe_key: format!("visit.survey:{}", b.tracking_code.as_str()),
                payload: serde_json::json!({
                    "tracking_code": b.tracking_code.to_string(),
                    "office": office,
                    "service": b.service.as_str(),
                    "url": format!(
                        "{}/survey/{token}",
                        state.config().public_url.trim_end_matches('/')
                    ),
                }),
            });
        }
    }
    for (ahead, entry) in queue.line(now).iter().take(TURN_NEAR_AHEAD).enumerate() {
        if let Some(b) = booking_of(entry.ticket) {
            out.notices.push(Notice {
                kind: OutboxKind::QueueTurnNear,
                recipient: b.mobile.as_str().to_string(),
                dedupe_key: format!("queue.turn_near:{office}:{day}:{}", entry.ticket),
                payload: serde_json::json!({
                    "tracking_code": b.tracking_code.to_string(),
                    "office": office,
                    "service": b.service.as_str(),
                    "ticket": entry.ticket.to_string(),
                    "ahead": ahead,
                }),
            });
        }
    }
    out.figures =
        Some(serde_json::to_value(queue.figures()).map_err(|e| AppError::Internal(e.into()))?);
    Ok(out)
}

/// Runs `op` on today's queue of `office` and stores what it produced.
async fn operate<T>(
    state: &App,
    staff: &StaffSession,
    code: OfficeCode,
    ctx: &AuditContext,
    op: impl Fn(&Queue, OffsetDateTime) -> Result<(Vec<Event>, T), QueueError>,
) -> Result<(Queue, T), AppError> {
    let permit = staff.permit(Action::OperateQueue { office: code })?;
    let office = crate::appointments::office_of(state, code).await?;
    let (queue, (out, _)) = run_on_day(state, &permit, &office, None, ctx, op).await?;
    Ok((queue, out))
}

/// Brings the queue of `office` on `day` up to date with its bookings and the clock with the
/// machine's authority: overdue bookings become no-shows and the day's figures are stored,
/// even when no one works the desk. Returns how many bookings changed status.
pub async fn settle_day(state: &App, office: &Office, day: JalaliDate) -> Result<usize, AppError> {
    let permit = pishkhan_domain::access::authorize(
        &pishkhan_domain::access::Principal::System {
            reason: "day-close",
        },
        Action::OperateQueue {
            office: office.code,
        },
    )?;
    let ctx = AuditContext {
        now_ms: state.now_ms(),
        ip: None,
        request_id: None,
    };
    let (_, changed) = run_on_day(state, &permit, office, Some(day), &ctx, |_, _| {
        Ok((Vec::new(), ()))
    })
    .await?;
    Ok(changed.1)
}

/// The shared loop of every queue change: load (and sync), run `op`, append with effects,
/// and start again if another writer appended first. `day` defaults to today.
async fn run_on_day<T>(
    state: &App,
    permit: &Permit,
    office: &Office,
    day: Option<JalaliDate>,
    ctx: &AuditContext,
    op: impl Fn(&Queue, OffsetDateTime) -> Result<(Vec<Event>, T), QueueError>,
) -> Result<(Queue, (T, usize)), AppError> {
    for _ in 0..MAX_APPEND_ATTEMPTS {
        let now = state.now();
        let day = day.unwrap_or_else(|| jalali_today(now));
        let mut loaded = load(state, office, day, now).await?;
        let (produced, out) = op(&loaded.queue, now).map_err(queue_error)?;
        for e in &produced {
            loaded.queue.apply(e).map_err(queue_error)?;
        }
        let mut events = std::mem::take(&mut loaded.synced);
        events.extend(produced);
        let effects = effects(state, &loaded, &events, now)?;
        let changed = effects.statuses.len();
        let json: Vec<String> = events
            .iter()
            .map(|e| serde_json::to_string(e).map_err(|e| AppError::Internal(e.into())))
            .collect::<Result<_, _>>()?;
        let write = QueueWrite {
            permit: permit.clone(),
            append: QueueAppend {
                office: office.code,
                day,
                first_seq: loaded.len,
                events: json,
                effects,
            },
            ctx: ctx.clone(),
        };
        match state.queue_writer().append(write).await {
            Ok(()) => {
                state
                    .queue_states()
                    .put(&loaded.queue, loaded.len + events.len() as u64);
                state.queue_changed(office.code.get());
                state.metrics().queue_stored(&events);
                return Ok((loaded.queue, (out, changed)));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict {
        code: "queue_busy",
        message: "the queue kept changing; try again".into(),
    })
}

fn ticket_of(events: &[Event]) -> Option<Ticket> {
    events.iter().find_map(|e| match e {
        Event::CheckedIn { ticket, .. }
        | Event::WalkIn { ticket, .. }
        | Event::Called { ticket, .. }
        | Event::Recalled { ticket, .. }
        | Event::Transferred { ticket, .. } => Some(*ticket),
        _ => None,
    })
}

/// How a booked citizen is found at check-in.
pub enum CheckInBy {
    Tracking(TrackingCode),
    NationalCode(NationalCode),
}

/// A ticket an operation gave, with the queue after it.
pub struct TicketIssued {
    pub queue: Queue,
    pub ticket: Ticket,
}

/// Runs an operation that gives someone a ticket (check-in, walk-in, a call).
async fn issue_ticket(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    ctx: &AuditContext,
    op: impl Fn(&Queue, OffsetDateTime) -> Result<Vec<Event>, QueueError>,
) -> Result<TicketIssued, AppError> {
    let (queue, ticket) = operate(state, staff, office, ctx, |q, now| {
        let events = op(q, now)?;
        let ticket = ticket_of(&events);
        Ok((events, ticket))
    })
    .await?;
    let ticket = ticket
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the operation made no ticket")))?;
    Ok(TicketIssued { queue, ticket })
}

/// Checks in a booked citizen by tracking code or national code.
pub async fn check_in(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    by: CheckInBy,
    priority: Option<PriorityCode>,
    ctx: &AuditContext,
) -> Result<TicketIssued, AppError> {
    issue_ticket(state, staff, office, ctx, |q, now| match &by {
        CheckInBy::Tracking(c) => q.check_in_by_tracking(c, priority.as_ref(), now),
        CheckInBy::NationalCode(n) => q.check_in_by_national_code(n, priority.as_ref(), now),
    })
    .await
}

/// Gives a walk-in ticket for `service`.
pub async fn walk_in(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    service: ServiceCode,
    priority: Option<PriorityCode>,
    ctx: &AuditContext,
) -> Result<TicketIssued, AppError> {
    state
        .store()
        .service(&service)
        .await
        .map_err(|_| AppError::invalid("unknown_service", "service", "no service has this code"))?;
    issue_ticket(state, staff, office, ctx, |q, now| {
        q.walk_in(&service, priority.as_ref(), now)
    })
    .await
}

/// The counter calls the next person by the calling rules.
pub async fn call_next(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    counter: CounterId,
    ctx: &AuditContext,
) -> Result<TicketIssued, AppError> {
    issue_ticket(state, staff, office, ctx, |q, now| {
        q.call_next(counter, now)
    })
    .await
}

/// The counter announces the person it serves again (they did not come up yet).
pub async fn recall(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    counter: CounterId,
    ctx: &AuditContext,
) -> Result<TicketIssued, AppError> {
    issue_ticket(state, staff, office, ctx, |q, now| q.recall(counter, now)).await
}

/// The counter sends the person it serves to another counter of the office, which calls them
/// before anyone else.
pub async fn transfer(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    from: CounterId,
    to: CounterId,
    ctx: &AuditContext,
) -> Result<TicketIssued, AppError> {
    issue_ticket(state, staff, office, ctx, |q, now| {
        q.transfer(from, to, now)
    })
    .await
}

/// The counter goes on a break (`counter_busy` while it serves someone).
pub async fn pause(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    counter: CounterId,
    ctx: &AuditContext,
) -> Result<Queue, AppError> {
    let (queue, ()) = operate(state, staff, office, ctx, |q, now| {
        Ok((q.pause(counter, now)?, ()))
    })
    .await?;
    Ok(queue)
}

/// The counter is back from its break.
pub async fn resume(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    counter: CounterId,
    ctx: &AuditContext,
) -> Result<Queue, AppError> {
    let (queue, ()) = operate(state, staff, office, ctx, |q, now| {
        Ok((q.resume(counter, now)?, ()))
    })
    .await?;
    Ok(queue)
}

/// The desk's latest moves at `office` today, newest first, at most `limit`: tickets given,
/// calls, recalls, transfers, breaks, completions and no-shows. The bookings' own entries,
/// which carry national codes, are left out.
pub async fn recent_moves(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    limit: usize,
) -> Result<Vec<Event>, AppError> {
    staff.permit(Action::OperateQueue { office })?;
    let day = jalali_today(state.now());
    let stored = state.store().queue_events(office, day).await?;
    let mut moves = Vec::with_capacity(limit);
    for s in stored.iter().rev() {
        let e: Event = serde_json::from_str(s)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("bad queue event: {e}")))?;
        if e.ticket().is_some() || e.counter().is_some() {
            moves.push(e);
            if moves.len() == limit {
                break;
            }
        }
    }
    Ok(moves)
}

/// Whether `now` falls outside the office's opening hours: a weekday it is closed, before
/// opening or after closing, a public holiday or one of its closures. The desk warns before
/// giving a ticket then.
pub async fn outside_hours(
    state: &App,
    office: &Office,
    now: OffsetDateTime,
) -> Result<bool, AppError> {
    let today = jalali_today(now);
    let local = pishkhan_domain::tehran::to_tehran(now);
    let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
    let in_hours = match office.hours.day(today.weekday()) {
        Some(h) => minute >= h.open_min && minute < h.close_min,
        None => false,
    };
    if !in_hours {
        return Ok(true);
    }
    let holiday = !crate::appointments::holidays_of(state, today, today)
        .await?
        .is_empty();
    let closed = !crate::appointments::closures_of(state, office.code, today, today)
        .await?
        .is_empty();
    Ok(holiday || closed)
}

/// How far back the desk looks to order services by use.
const SERVICE_USE_DAYS: i64 = 90;

/// The services the desk offers for a walk-in ticket, most used first: by bookings in the
/// office's province over the last 90 days, then by code. Every service of the catalogue is
/// listed; the queue refuses one no counter handles.
pub async fn walk_in_services(
    state: &App,
    office: &Office,
) -> Result<Vec<(ServiceCode, pishkhan_domain::model::LocalizedText, u64)>, AppError> {
    let catalogue = crate::appointments::catalogue(state).await?;
    let today = jalali_today(state.now());
    let window = pishkhan_store::StatsWindow {
        from_ms: pishkhan_domain::tehran::day_bounds_ms(today.add_days(-(SERVICE_USE_DAYS - 1))).0,
        to_ms: pishkhan_domain::tehran::day_bounds_ms(today).1,
        province: Some(office.province_id),
    };
    let used: HashMap<ServiceCode, u64> = state
        .store()
        .bookings_by_service(&window)
        .await?
        .into_iter()
        .collect();
    let mut out: Vec<_> = catalogue
        .into_iter()
        .map(|(code, title)| {
            let n = used.get(&code).copied().unwrap_or(0);
            (code, title, n)
        })
        .collect();
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.as_str().cmp(b.0.as_str())));
    Ok(out)
}

/// Finishes serving a ticket; returns the queue after it.
pub async fn complete(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    ticket: Ticket,
    ctx: &AuditContext,
) -> Result<Queue, AppError> {
    settle_ticket(state, staff, office, ticket, ctx, Queue::complete).await
}

/// A called person did not come to the counter; returns the queue after it.
pub async fn no_show(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    ticket: Ticket,
    ctx: &AuditContext,
) -> Result<Queue, AppError> {
    settle_ticket(state, staff, office, ticket, ctx, Queue::no_show).await
}

async fn settle_ticket(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    ticket: Ticket,
    ctx: &AuditContext,
    op: impl Fn(&Queue, Ticket, OffsetDateTime) -> Result<Vec<Event>, QueueError>,
) -> Result<Queue, AppError> {
    let (queue, ()) = operate(state, staff, office, ctx, |q, now| {
        Ok((op(q, ticket, now)?, ()))
    })
    .await?;
    Ok(queue)
}

/// Today's queue of `office` as of now, synced with its bookings (nothing is stored): the
/// board for the office's TV and the console.
pub async fn today(state: &App, office: &Office) -> Result<Queue, AppError> {
    let now = state.now();
    Ok(load(state, office, jalali_today(now), now).await?.queue)
}

/// The figures of `office` on `day` as of now (a past day's pending bookings count as
/// no-shows), for its manager or the regulator.
pub async fn figures(
    state: &App,
    staff: &StaffSession,
    office: OfficeCode,
    day: JalaliDate,
) -> Result<pishkhan_queue::DailyFigures, AppError> {
    staff.permit(Action::ViewOfficeFigures { office })?;
    let office = state.store().office(office).await?;
    let loaded = load(state, &office, day, state.now()).await?;
    Ok(loaded.queue.figures())
}

/// The desk a member of staff works at the console: their own office (the regulator names
/// one) and one of its counters (the first when none is named). `None` when the regulator
/// named no office; `invalid_counter` for a counter the office does not have, rather than
/// serving someone at another counter.
pub async fn desk(
    state: &App,
    staff: &StaffSession,
    office: Option<OfficeCode>,
    counter: Option<u16>,
) -> Result<Option<(Office, CounterId)>, AppError> {
    let Some(code) = staff.actor.office.or(office) else {
        return Ok(None);
    };
    staff.permit(Action::OperateQueue { office: code })?;
    let office = state.store().office(code).await?;
    let counters = office.counters.max(1);
    let counter = counter.unwrap_or(1);
    if !(1..=counters).contains(&counter) {
        return Err(AppError::invalid(
            "invalid_counter",
            "counter",
            format!("this office has counters 1 to {counters}"),
        ));
    }
    Ok(Some((office, CounterId(counter))))
}

/// One office's stored figures for a day, as the queue last wrote them.
pub struct StoredDayFigures {
    pub office: OfficeCode,
    pub day: JalaliDate,
    pub figures: pishkhan_queue::DailyFigures,
    pub updated_at_ms: i64,
}

/// Every office's stored figures for `day`, one page (the regulator): the compliance read
/// model, written by each queue change and by the day-closing sweep.
pub async fn daily_figures(
    state: &App,
    staff: &StaffSession,
    day: JalaliDate,
    page: pishkhan_store::PageRequest,
) -> Result<pishkhan_store::Page<StoredDayFigures>, AppError> {
    staff.permit(Action::ViewNationalFigures)?;
    let found = state.store().day_figures(day, page).await?;
    let items = found
        .items
        .into_iter()
        .map(|row| {
            let figures = serde_json::from_value(row.figures)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("stored figures: {e}")))?;
            Ok(StoredDayFigures {
                office: row.office,
                day: row.day,
                figures,
                updated_at_ms: row.updated_at_ms,
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(pishkhan_store::Page {
        items,
        total: found.total,
    })
}
