//! The office's queue today: check-in, walk-in tickets, calling the next person, completing,
//! no-shows, the line with estimated waits, and the board for the office's TV.
//!
//! Each operation rebuilds the day's queue from its event log, brings the log up to date with
//! the bookings (new ones expected, cancelled ones withdrawn), runs the operation, and appends
//! the new events. Appends are optimistic: if another request appended first, it starts again.

use axum::Json;
use axum::extract::{Path, State};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::NationalCode;
use pishkhan_domain::access::Action;
use pishkhan_domain::model::{Office, ServiceCode};
use pishkhan_domain::schedule::tehran_instant;
use pishkhan_domain::schedule::{BookingStatus, Slot, TrackingCode};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_queue::{
    CounterId, Event, ExpectedBooking, PriorityCode, Queue, QueueConfig, QueueError, Ticket,
};
use pishkhan_store::{Booking, NewSurvey, Notice, QueueAppend, QueueEffects, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::registry::parse_office_code;
use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, Ctx};

/// Times an operation is retried when another request changed the queue first.
const MAX_APPEND_ATTEMPTS: u32 = 8;

fn queue_error(e: QueueError) -> ApiError {
    ApiError::Conflict {
        code: e.code(),
        message: e.to_string(),
    }
}

/// The office's queue settings: its counters, each with the services it handles.
async fn config_for(state: &AppState, office: &Office) -> Result<QueueConfig, ApiError> {
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
    state: &AppState,
    office: &Office,
    day: JalaliDate,
    now: OffsetDateTime,
) -> Result<Loaded, ApiError> {
    let stored = state.store().queue_events(office.code, day).await?;
    let events: Vec<Event> = stored
        .iter()
        .map(|s| {
            serde_json::from_str(s)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("bad queue event: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let mut queue = Queue::rebuild(office.code, day, config_for(state, office).await?, &events)
        .map_err(|e| ApiError::Internal(e.into()))?;
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
                        start: crate::appointments::instant(b.slot_start_ms),
                        end: crate::appointments::instant(b.slot_end_ms),
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
            queue.apply(&e).map_err(|e| ApiError::Internal(e.into()))?;
            synced.push(e);
        }
    }
    for e in queue.expire_no_shows(now) {
        queue.apply(&e).map_err(|e| ApiError::Internal(e.into()))?;
        synced.push(e);
    }
    Ok(Loaded {
        queue,
        synced,
        len: events.len() as u64,
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
    state: &AppState,
    loaded: &Loaded,
    new_events: &[Event],
    now: OffsetDateTime,
) -> Result<QueueEffects, ApiError> {
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
            let token = crate::auth::new_token()?;
            out.surveys.push(NewSurvey {
                tracking_code: b.tracking_code.clone(),
                token_hash: pishkhan_store::token_hash(&token),
                office: b.office,
                service: b.service.clone(),
            });
            out.notices.push(Notice {
                kind: "visit.survey",
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
                kind: "queue.turn_near",
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
        Some(serde_json::to_value(queue.figures()).map_err(|e| ApiError::Internal(e.into()))?);
    Ok(out)
}

/// Runs `op` on today's queue of `office` and stores what it produced.
async fn operate<T>(
    state: &AppState,
    staff: &Staff,
    code: &str,
    ctx: &pishkhan_store::AuditContext,
    op: impl Fn(&Queue, OffsetDateTime) -> Result<(Vec<Event>, T), QueueError>,
) -> Result<(Queue, T), ApiError> {
    let code = parse_office_code(code)?;
    let permit = staff.permit(Action::OperateQueue { office: code })?;
    let office = state.store().office(code).await?;
    let (queue, (out, _)) = run_on_day(state, &permit, &office, None, ctx, op).await?;
    Ok((queue, out))
}

/// Brings the queue of `office` on `day` up to date with its bookings and the clock with the
/// machine's authority: overdue bookings become no-shows and the day's figures are stored,
/// even when no one works the desk. Returns how many bookings changed status.
pub(crate) async fn settle_day(
    state: &AppState,
    office: &Office,
    day: JalaliDate,
) -> Result<usize, ApiError> {
    let permit = pishkhan_domain::access::authorize(
        &pishkhan_domain::access::Principal::System {
            reason: "day-close",
        },
        Action::OperateQueue {
            office: office.code,
        },
    )?;
    let ctx = pishkhan_store::AuditContext {
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
    state: &AppState,
    permit: &pishkhan_domain::access::Permit,
    office: &Office,
    day: Option<JalaliDate>,
    ctx: &pishkhan_store::AuditContext,
    op: impl Fn(&Queue, OffsetDateTime) -> Result<(Vec<Event>, T), QueueError>,
) -> Result<(Queue, (T, usize)), ApiError> {
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
            .map(|e| serde_json::to_string(e).map_err(|e| ApiError::Internal(e.into())))
            .collect::<Result<_, _>>()?;
        match state
            .store()
            .append_queue_events(
                permit,
                &QueueAppend {
                    office: office.code,
                    day,
                    first_seq: loaded.len,
                    events: json,
                    effects,
                },
                ctx,
            )
            .await
        {
            Ok(()) => {
                state.queue_changed(office.code.get());
                return Ok((loaded.queue, (out, changed)));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict {
        code: "queue_busy",
        message: "the queue kept changing; try again".into(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct LineEntryOut {
    /// Shown on the TV and printed on the ticket, such as B-007 or W-012.
    pub ticket: String,
    pub service: String,
    pub priority: Option<String>,
    /// Seconds until this person is expected to be called.
    pub estimated_wait_s: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct NowServingOut {
    pub counter: u16,
    pub ticket: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueueOut {
    /// Jalali day, YYYY-MM-DD.
    pub day: String,
    pub now_serving: Vec<NowServingOut>,
    pub next_up: Vec<String>,
    pub waiting: u32,
    pub line: Vec<LineEntryOut>,
}

fn view(queue: &Queue, now: OffsetDateTime) -> QueueOut {
    let board = queue.display(now);
    QueueOut {
        day: queue.day().to_string(),
        now_serving: board
            .now_serving
            .iter()
            .map(|n| NowServingOut {
                counter: n.counter.0,
                ticket: n.ticket.to_string(),
            })
            .collect(),
        next_up: board.next_up.iter().map(Ticket::to_string).collect(),
        waiting: board.waiting_count,
        line: queue
            .line(now)
            .into_iter()
            .map(|l| LineEntryOut {
                ticket: l.ticket.to_string(),
                service: l.service.to_string(),
                priority: l.priority.map(|p| p.as_str().to_string()),
                estimated_wait_s: l.estimated_wait.map(|d| d.whole_seconds()),
            })
            .collect(),
    }
}

/// Today's queue: who is being served, who is next, and everyone's estimated wait. Public,
/// for the office's TV.
#[utoipa::path(get, path = "/api/v1/offices/{code}/queue", tag = "queue",
    params(("code" = String, Path)), responses((status = 200, body = QueueOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<QueueOut>, ApiError> {
    let office = state.store().office(parse_office_code(&code)?).await?;
    let now = state.now();
    let loaded = load(&state, &office, jalali_today(now), now).await?;
    Ok(Json(view(&loaded.queue, now)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInIn {
    pub tracking_code: Option<String>,
    pub national_code: Option<String>,
    /// A configured priority group, such as `elderly` or `disabled`.
    pub priority: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketOut {
    pub ticket: String,
    pub estimated_wait_s: Option<i64>,
    pub queue: QueueOut,
}

fn ticket_out(queue: &Queue, ticket: Ticket, now: OffsetDateTime) -> TicketOut {
    TicketOut {
        ticket: ticket.to_string(),
        estimated_wait_s: queue
            .estimated_wait(ticket, now)
            .ok()
            .map(|d| d.whole_seconds()),
        queue: view(queue, now),
    }
}

fn priority(p: &Option<String>) -> Result<Option<PriorityCode>, ApiError> {
    p.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            PriorityCode::parse(s)
                .map_err(|e| ApiError::invalid(e.code(), "priority", e.to_string()))
        })
        .transpose()
}

/// Runs an operation that gives someone a ticket (check-in, walk-in, a call) and answers with
/// that ticket, its estimated wait, and the board.
async fn issue_ticket(
    state: &AppState,
    staff: &Staff,
    code: &str,
    ctx: &pishkhan_store::AuditContext,
    op: impl Fn(&Queue, OffsetDateTime) -> Result<Vec<Event>, QueueError>,
) -> Result<Json<TicketOut>, ApiError> {
    let (queue, ticket) = operate(state, staff, code, ctx, |q, now| {
        let events = op(q, now)?;
        let ticket = ticket_of(&events);
        Ok((events, ticket))
    })
    .await?;
    let ticket = ticket
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the operation made no ticket")))?;
    Ok(Json(ticket_out(&queue, ticket, state.now())))
}

/// [`issue_ticket`] for the console: the ticket it gave.
pub(crate) async fn run_ticket_op(
    state: &AppState,
    staff: &Staff,
    code: &str,
    ctx: &pishkhan_store::AuditContext,
    op: impl Fn(&Queue, OffsetDateTime) -> Result<Vec<Event>, QueueError>,
) -> Result<String, ApiError> {
    Ok(issue_ticket(state, staff, code, ctx, op).await?.0.ticket)
}

/// [`settle_ticket`] for the console.
pub(crate) async fn run_settle_op(
    state: &AppState,
    staff: &Staff,
    code: &str,
    ticket: &str,
    ctx: &pishkhan_store::AuditContext,
    op: impl Fn(&Queue, Ticket, OffsetDateTime) -> Result<Vec<Event>, QueueError>,
) -> Result<(), ApiError> {
    let _board = settle_ticket(state, staff, code, ticket, ctx, op).await?;
    Ok(())
}

/// Today's queue of `office` as of now, synced with its bookings (nothing is stored).
pub(crate) async fn today(state: &AppState, office: &Office) -> Result<Queue, ApiError> {
    let now = state.now();
    Ok(load(state, office, jalali_today(now), now).await?.queue)
}

/// Runs an operation that ends a ticket's visit (complete, no-show) and answers with the board.
async fn settle_ticket(
    state: &AppState,
    staff: &Staff,
    code: &str,
    ticket: &str,
    ctx: &pishkhan_store::AuditContext,
    op: impl Fn(&Queue, Ticket, OffsetDateTime) -> Result<Vec<Event>, QueueError>,
) -> Result<Json<QueueOut>, ApiError> {
    let ticket =
        Ticket::parse(ticket).map_err(|e| ApiError::invalid(e.code(), "ticket", e.to_string()))?;
    let (queue, ()) = operate(state, staff, code, ctx, |q, now| {
        Ok((op(q, ticket, now)?, ()))
    })
    .await?;
    Ok(Json(view(&queue, state.now())))
}

fn ticket_of(events: &[Event]) -> Option<Ticket> {
    events.iter().find_map(|e| match e {
        Event::CheckedIn { ticket, .. }
        | Event::WalkIn { ticket, .. }
        | Event::Called { ticket, .. } => Some(*ticket),
        _ => None,
    })
}

/// Check in a booked citizen by tracking code or national code.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/check-in", tag = "queue",
    params(("code" = String, Path)), request_body = CheckInIn,
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn check_in(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<CheckInIn>,
) -> Result<Json<TicketOut>, ApiError> {
    let prio = priority(&input.priority)?;
    let by_code = input
        .tracking_code
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(TrackingCode::parse)
        .transpose()?;
    let by_person = input
        .national_code
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(NationalCode::parse)
        .transpose()?;
    if by_code.is_none() && by_person.is_none() {
        return Err(ApiError::invalid(
            "missing_field",
            "tracking_code",
            "give tracking_code or national_code",
        ));
    }
    issue_ticket(&state, &staff, &code, &ctx, |q, now| {
        match (&by_code, &by_person) {
            (Some(c), _) => q.check_in_by_tracking(c, prio.as_ref(), now),
            (None, Some(n)) => q.check_in_by_national_code(n, prio.as_ref(), now),
            (None, None) => Ok(Vec::new()),
        }
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkInIn {
    pub service: String,
    pub priority: Option<String>,
}

/// Give a walk-in ticket.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/walk-in", tag = "queue",
    params(("code" = String, Path)), request_body = WalkInIn,
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn walk_in(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<WalkInIn>,
) -> Result<Json<TicketOut>, ApiError> {
    let prio = priority(&input.priority)?;
    let service = ServiceCode::parse(&input.service)
        .map_err(|e| ApiError::invalid(e.code, "service", e.message))?;
    state
        .store()
        .service(&service)
        .await
        .map_err(|_| ApiError::invalid("unknown_service", "service", "no service has this code"))?;
    issue_ticket(&state, &staff, &code, &ctx, |q, now| {
        q.walk_in(&service, prio.as_ref(), now)
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallIn {
    pub counter: u16,
}

/// The counter calls the next person by the calling rules.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/call-next", tag = "queue",
    params(("code" = String, Path)), request_body = CallIn,
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn call_next(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<CallIn>,
) -> Result<Json<TicketOut>, ApiError> {
    issue_ticket(&state, &staff, &code, &ctx, |q, now| {
        q.call_next(CounterId(input.counter), now)
    })
    .await
}

/// Finish serving a ticket.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/tickets/{ticket}/complete", tag = "queue",
    params(("code" = String, Path), ("ticket" = String, Path)),
    responses((status = 200, body = QueueOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn complete(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path((code, ticket)): Path<(String, String)>,
) -> Result<Json<QueueOut>, ApiError> {
    settle_ticket(&state, &staff, &code, &ticket, &ctx, Queue::complete).await
}

/// A called person did not come to the counter.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/tickets/{ticket}/no-show", tag = "queue",
    params(("code" = String, Path), ("ticket" = String, Path)),
    responses((status = 200, body = QueueOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn no_show(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path((code, ticket)): Path<(String, String)>,
) -> Result<Json<QueueOut>, ApiError> {
    settle_ticket(&state, &staff, &code, &ticket, &ctx, Queue::no_show).await
}

/// How often a live board refreshes even without a change seen by this process (changes made
/// through another process reach it this way).
const BOARD_REFRESH: std::time::Duration = std::time::Duration::from_secs(15);

/// The figures of `office` on `day` as of now (a past day's pending bookings count as
/// no-shows).
pub(crate) async fn figures(
    state: &AppState,
    office: &Office,
    day: JalaliDate,
) -> Result<pishkhan_queue::DailyFigures, ApiError> {
    let loaded = load(state, office, day, state.now()).await?;
    Ok(loaded.queue.figures())
}

/// Today's board of `office`, as the API shows it.
pub(crate) async fn board(state: &AppState, office: &Office) -> Result<QueueOut, ApiError> {
    let now = state.now();
    let loaded = load(state, office, jalali_today(now), now).await?;
    Ok(view(&loaded.queue, now))
}

async fn board_json(state: &AppState, office: &Office) -> String {
    let now = state.now();
    match load(state, office, jalali_today(now), now).await {
        Ok(loaded) => serde_json::to_string(&view(&loaded.queue, now)).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "live board could not load the queue");
            String::new()
        }
    }
}

/// The office board as a live stream (server-sent events): the board now, then again on every
/// change. One connection per TV; no polling.
#[utoipa::path(get, path = "/api/v1/offices/{code}/queue/stream", tag = "queue",
    params(("code" = String, Path)),
    responses((status = 200, description = "text/event-stream of `board` events, each a QueueOut"),
        (status = 503, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn stream(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    let office = state.store().office(parse_office_code(&code)?).await?;
    let slot = state
        .board_streams()
        .try_acquire_owned()
        .map_err(|_| ApiError::Unavailable)?;
    let changes = state.queue_changes();
    let first = board_json(&state, &office).await;
    let stream = futures_util::stream::unfold(
        (state, office, changes, Some(first), slot),
        |(state, office, mut changes, first, slot)| async move {
            if let Some(board) = first {
                let ev = SseEvent::default().event("board").data(board);
                return Some((
                    Ok::<_, std::convert::Infallible>(ev),
                    (state, office, changes, None, slot),
                ));
            }
            loop {
                tokio::select! {
                    got = changes.recv() => match got {
                        Ok(c) if c == office.code.get() => break,
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    },
                    () = tokio::time::sleep(BOARD_REFRESH) => break,
                }
            }
            let board = board_json(&state, &office).await;
            let ev = SseEvent::default().event("board").data(board);
            Some((Ok(ev), (state, office, changes, None, slot)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
