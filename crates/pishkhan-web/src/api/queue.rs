//! The office's queue today: check-in, walk-in tickets, calling the next person, completing,
//! no-shows, the line with estimated waits, and the board for the office's TV.
//!
//! Each handler parses, calls `pishkhan_app::queue`, and renders the queue it returns.

use axum::Json;
use axum::extract::State;
use pishkhan_app::queue::{self, CheckInBy, TicketIssued};
use pishkhan_domain::NationalCode;
use pishkhan_domain::model::{Office, OfficeCode, ServiceCode};
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_queue::{CounterId, PriorityCode, Queue, Ticket};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, Ctx};
use crate::input::parse_office_code;
use pishkhan_app::AppError;

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

/// A call or recall the TV announces.
#[derive(Serialize, ToSchema)]
pub struct RecentCallOut {
    pub ticket: String,
    pub counter: u16,
    /// The latest call or recall of the ticket (RFC 3339). A recall gives a newer time, so a
    /// board that remembers the newest call it announced announces the recall too.
    pub called_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceWaitingOut {
    /// The service's catalogue code, such as PSP-001.
    pub service: String,
    pub waiting: u32,
}

#[derive(Serialize, ToSchema)]
pub struct QueueOut {
    /// Jalali day, YYYY-MM-DD.
    pub day: String,
    pub now_serving: Vec<NowServingOut>,
    pub next_up: Vec<String>,
    pub waiting: u32,
    pub line: Vec<LineEntryOut>,
    /// The day's latest calls and recalls, newest first (at most six), whether or not the
    /// ticket is still at its counter.
    pub recent_calls: Vec<RecentCallOut>,
    /// How many wait for each service, by service code; only services someone waits for.
    pub waiting_by_service: Vec<ServiceWaitingOut>,
    /// Counters on a break, by number: they call nobody until resumed.
    pub paused_counters: Vec<u16>,
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
        recent_calls: board
            .recent_calls
            .iter()
            .map(|c| RecentCallOut {
                ticket: c.ticket.to_string(),
                counter: c.counter.0,
                called_at: c
                    .called_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            })
            .collect(),
        waiting_by_service: board
            .waiting_by_service
            .iter()
            .map(|(service, waiting)| ServiceWaitingOut {
                service: service.to_string(),
                waiting: *waiting,
            })
            .collect(),
        paused_counters: queue.paused_counters().iter().map(|c| c.0).collect(),
    }
}

/// Today's queue: who is being served, who is next, and everyone's estimated wait. Public,
/// for the office's TV.
#[utoipa::path(get, path = "/api/v1/offices/{code}/queue", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), responses((status = 200, body = QueueOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<QueueOut>, ApiError> {
    let office = state.store().office(parse_office_code(&code)?).await?;
    Ok(Json(board(&state, &office).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInIn {
    /// One of `tracking_code` and `national_code` (empty counts as left out).
    #[schema(pattern = r"^(\s*|[2-9A-HJKMNP-Za-hjkmnp-z]{4}-?[2-9A-HJKMNP-Za-hjkmnp-z]{4})$")]
    pub tracking_code: Option<String>,
    #[schema(pattern = r"^(\s*|[0-9]{10})$")]
    pub national_code: Option<String>,
    /// A configured priority group, such as `elderly` or `disabled`; empty for none.
    #[schema(pattern = r"^(\s*|[A-Za-z][A-Za-z0-9-]{1,23})$")]
    pub priority: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketOut {
    pub ticket: String,
    pub estimated_wait_s: Option<i64>,
    pub queue: QueueOut,
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

fn ticket_out(issued: TicketIssued, now: OffsetDateTime) -> Json<TicketOut> {
    Json(TicketOut {
        ticket: issued.ticket.to_string(),
        estimated_wait_s: issued
            .queue
            .estimated_wait(issued.ticket, now)
            .ok()
            .map(|d| d.whole_seconds()),
        queue: view(&issued.queue, now),
    })
}

/// Check in a booked citizen by tracking code or national code.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/check-in", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), request_body = CheckInIn,
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn check_in(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
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
    let by = match (by_code, by_person) {
        (Some(c), _) => CheckInBy::Tracking(c),
        (None, Some(n)) => CheckInBy::NationalCode(n),
        (None, None) => {
            return Err(ApiError::invalid(
                "missing_field",
                "tracking_code",
                "give tracking_code or national_code",
            ));
        }
    };
    let office = parse_office_code(&code)?;
    let issued = queue::check_in(state.app(), &staff, office, by, prio, &ctx).await?;
    Ok(ticket_out(issued, state.now()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkInIn {
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service: String,
    /// A configured priority group, such as `elderly` or `disabled`; empty for none.
    #[schema(pattern = r"^(\s*|[A-Za-z][A-Za-z0-9-]{1,23})$")]
    pub priority: Option<String>,
}

/// Give a walk-in ticket.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/walk-in", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), request_body = WalkInIn,
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn walk_in(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<WalkInIn>,
) -> Result<Json<TicketOut>, ApiError> {
    let prio = priority(&input.priority)?;
    let service = ServiceCode::parse(&input.service)
        .map_err(|e| ApiError::invalid(e.code, "service", e.message))?;
    let office = parse_office_code(&code)?;
    let issued = queue::walk_in(state.app(), &staff, office, service, prio, &ctx).await?;
    Ok(ticket_out(issued, state.now()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallIn {
    #[schema(minimum = 1, maximum = 200)]
    pub counter: u16,
}

/// The counter calls the next person by the calling rules.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/call-next", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")), request_body = CallIn,
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn call_next(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<CallIn>,
) -> Result<Json<TicketOut>, ApiError> {
    let office = parse_office_code(&code)?;
    let issued =
        queue::call_next(state.app(), &staff, office, CounterId(input.counter), &ctx).await?;
    Ok(ticket_out(issued, state.now()))
}

/// Finish serving a ticket.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/tickets/{ticket}/complete", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("ticket" = String, Path, description = "such as W-012 or B-003", pattern = r"^[BWbw][- ]?(0{0,4}[1-9]|0{0,3}[1-9][0-9]|0{0,2}[1-9][0-9]{2}|0?[1-9][0-9]{3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$")),
    responses((status = 200, body = QueueOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn complete(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, ticket)): ApiPath<(String, String)>,
) -> Result<Json<QueueOut>, ApiError> {
    let (office, ticket) = office_and_ticket(&code, &ticket)?;
    let queue = queue::complete(state.app(), &staff, office, ticket, &ctx).await?;
    Ok(Json(view(&queue, state.now())))
}

/// A called person did not come to the counter.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/tickets/{ticket}/no-show", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("ticket" = String, Path, description = "such as W-012 or B-003", pattern = r"^[BWbw][- ]?(0{0,4}[1-9]|0{0,3}[1-9][0-9]|0{0,2}[1-9][0-9]{2}|0?[1-9][0-9]{3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$")),
    responses((status = 200, body = QueueOut), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn no_show(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, ticket)): ApiPath<(String, String)>,
) -> Result<Json<QueueOut>, ApiError> {
    let (office, ticket) = office_and_ticket(&code, &ticket)?;
    let queue = queue::no_show(state.app(), &staff, office, ticket, &ctx).await?;
    Ok(Json(view(&queue, state.now())))
}

/// A counter number from the path (digits in any script).
fn office_and_counter(code: &str, counter: &str) -> Result<(OfficeCode, CounterId), ApiError> {
    let office = parse_office_code(code)?;
    let counter = pishkhan_domain::digits::to_ascii_digits(counter.trim())
        .parse::<u16>()
        .ok()
        .filter(|c| (1..=CounterId::MAX).contains(c))
        .ok_or_else(|| {
            ApiError::invalid(
                "invalid_counter",
                "counter",
                "a counter is a number, 1 to 200",
            )
        })?;
    Ok((office, CounterId(counter)))
}

/// The counter announces the person it serves again.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/counters/{counter}/recall", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("counter" = u16, Path, description = "Counter number", minimum = 1, maximum = 200)),
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "nobody_served, unknown_counter")),
    security(("bearer" = [])))]
pub async fn recall(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, counter)): ApiPath<(String, String)>,
) -> Result<Json<TicketOut>, ApiError> {
    let (office, counter) = office_and_counter(&code, &counter)?;
    let issued = queue::recall(state.app(), &staff, office, counter, &ctx).await?;
    Ok(ticket_out(issued, state.now()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferIn {
    /// The counter that takes the person over; it calls them before anyone else.
    #[schema(minimum = 1, maximum = 200)]
    pub to: u16,
}

/// The counter sends the person it serves to another counter of the office.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/counters/{counter}/transfer", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("counter" = u16, Path, description = "The counter serving the person", minimum = 1, maximum = 200)),
    request_body = TransferIn,
    responses((status = 200, body = TicketOut), (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "nobody_served, counter_cannot_serve, counter_paused, transfer_same_counter, unknown_counter")),
    security(("bearer" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, counter)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<TransferIn>,
) -> Result<Json<TicketOut>, ApiError> {
    let (office, from) = office_and_counter(&code, &counter)?;
    let issued =
        queue::transfer(state.app(), &staff, office, from, CounterId(input.to), &ctx).await?;
    Ok(ticket_out(issued, state.now()))
}

/// The counter goes on a break: it calls nobody until resumed.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/counters/{counter}/pause", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("counter" = u16, Path, description = "Counter number", minimum = 1, maximum = 200)),
    responses((status = 200, body = QueueOut), (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "counter_busy, counter_paused, unknown_counter")),
    security(("bearer" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, counter)): ApiPath<(String, String)>,
) -> Result<Json<QueueOut>, ApiError> {
    let (office, counter) = office_and_counter(&code, &counter)?;
    let queue = queue::pause(state.app(), &staff, office, counter, &ctx).await?;
    Ok(Json(view(&queue, state.now())))
}

/// The counter is back from its break.
#[utoipa::path(post, path = "/api/v1/offices/{code}/queue/counters/{counter}/resume", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$"), ("counter" = u16, Path, description = "Counter number", minimum = 1, maximum = 200)),
    responses((status = 200, body = QueueOut), (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "counter_not_paused, unknown_counter")),
    security(("bearer" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath((code, counter)): ApiPath<(String, String)>,
) -> Result<Json<QueueOut>, ApiError> {
    let (office, counter) = office_and_counter(&code, &counter)?;
    let queue = queue::resume(state.app(), &staff, office, counter, &ctx).await?;
    Ok(Json(view(&queue, state.now())))
}

/// The ticket is parsed first, as it always was, so a bad ticket reads the same everywhere.
fn office_and_ticket(code: &str, ticket: &str) -> Result<(OfficeCode, Ticket), ApiError> {
    let ticket =
        Ticket::parse(ticket).map_err(|e| ApiError::invalid(e.code(), "ticket", e.to_string()))?;
    Ok((parse_office_code(code)?, ticket))
}

/// How often a live board refreshes even without a change seen by this process (changes made
/// through another process reach it this way).
const BOARD_REFRESH: std::time::Duration = std::time::Duration::from_secs(15);

/// Today's board of `office`, as the API shows it.
pub(crate) async fn board(state: &AppState, office: &Office) -> Result<QueueOut, ApiError> {
    let queue = queue::today(state.app(), office).await?;
    Ok(view(&queue, state.now()))
}

async fn board_json(state: &AppState, office: &Office) -> String {
    match board(state, office).await {
        Ok(out) => serde_json::to_string(&out).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "live board could not load the queue");
            String::new()
        }
    }
}

/// The office board as a live stream (server-sent events): the board now, then again on every
/// change. One connection per TV; no polling.
#[utoipa::path(get, path = "/api/v1/offices/{code}/queue/stream", tag = "queue",
    params(("code" = String, Path, description = "8-digit office code", pattern = r"^[1-9][0-9]{7}$")),
    responses((status = 200, description = "text/event-stream of `board` events, each a QueueOut; its `recent_calls` (newest first) tell the TV what to announce, a recall included, and `waiting_by_service` what to count per service"),
        (status = 503, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn stream(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    let office = state.store().office(parse_office_code(&code)?).await?;
    let slot = state
        .board_streams()
        .try_acquire_owned()
        .map_err(|_| ApiError::App(AppError::Unavailable))?;
    let changes = state.app().queue_changes();
    let first = board_json(&state, &office).await;
    // The stream would never end by itself; a shutdown ends it, or the server could not stop
    // while a TV is on.
    let closing = Box::pin(state.closing());
    let stream = futures_util::stream::unfold(
        (state, office, changes, Some(first), slot, closing),
        |(state, office, mut changes, first, slot, mut closing)| async move {
            if let Some(board) = first {
                let ev = SseEvent::default().event("board").data(board);
                return Some((
                    Ok::<_, std::convert::Infallible>(ev),
                    (state, office, changes, None, slot, closing),
                ));
            }
            loop {
                tokio::select! {
                    () = &mut closing => return None,
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
            Some((Ok(ev), (state, office, changes, None, slot, closing)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
