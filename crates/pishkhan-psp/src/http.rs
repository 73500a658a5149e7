//! The routes: parse, call the service, render. Malformed input is a 4xx `PspProblem` on the
//! API and a small page on the payment page.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use pishkhan_domain::JalaliDate;
use pishkhan_protocol::MAX_BODY_BYTES;
use pishkhan_protocol::psp::{
    CLOCK_PATH, ClockRequest, ClockResponse, FAULTS_PATH, Fault, FaultRequest, HEALTH_PATH,
    REFUND_PATH, REVERSE_PATH, SETTLEMENT_PATH, TOKEN_PATH, VERIFY_PATH, problem,
};
use serde::Deserialize;

use crate::page::{self, Said};
use crate::problem::Problem;
use crate::service::{PayAction, PayOutcome, Shared};

type St = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route(HEALTH_PATH, get(health))
        .route(TOKEN_PATH, post(token))
        .route(VERIFY_PATH, post(verify))
        .route(REVERSE_PATH, post(reverse))
        .route(REFUND_PATH, post(refund))
        .route(SETTLEMENT_PATH, get(settlement))
        .route("/pay/{token}", get(pay_page).post(pay));
    if shared.config.control_token.is_some() {
        router = router
            .route(FAULTS_PATH, post(set_fault))
            .route(CLOCK_PATH, post(set_clock));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

fn answer<T: serde::Serialize>(result: Result<T, Problem>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(p) => p.into_response(),
    }
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    body.map(|Json(b)| b)
        .map_err(|e| Problem::rejection(e.status(), e.body_text()))
}

async fn health() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn not_found() -> Response {
    Problem::new(StatusCode::NOT_FOUND, problem::NOT_FOUND, "no such route").into_response()
}

async fn method_not_allowed() -> Response {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        problem::METHOD_NOT_ALLOWED,
        "this route does not take that method",
    )
    .into_response()
}

async fn token(
    State(s): St,
    body: Result<Json<pishkhan_protocol::psp::TokenRequest>, JsonRejection>,
) -> Response {
    match json_body(body) {
        Ok(req) => answer(s.token(req).await),
        Err(p) => p.into_response(),
    }
}

async fn verify(
    State(s): St,
    body: Result<Json<pishkhan_protocol::psp::VerifyRequest>, JsonRejection>,
) -> Response {
    match json_body(body) {
        Ok(req) => answer(s.verify(req).await),
        Err(p) => p.into_response(),
    }
}

async fn reverse(
    State(s): St,
    body: Result<Json<pishkhan_protocol::psp::ReverseRequest>, JsonRejection>,
) -> Response {
    match json_body(body) {
        Ok(req) => answer(s.reverse(req).await),
        Err(p) => p.into_response(),
    }
}

async fn refund(
    State(s): St,
    body: Result<Json<pishkhan_protocol::psp::RefundRequest>, JsonRejection>,
) -> Response {
    match json_body(body) {
        Ok(req) => answer(s.refund(req).await),
        Err(p) => p.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettlementQuery {
    merchant_id: String,
    date: String,
}

async fn settlement(
    State(s): St,
    query: Result<Query<SettlementQuery>, QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return Problem::rejection(e.status(), e.body_text()).into_response(),
    };
    let date = match JalaliDate::parse(&q.date) {
        Ok(d) => d,
        Err(e) => {
            return Problem::invalid(problem::INVALID_DATE, e.message).into_response();
        }
    };
    match s.settlement(&q.merchant_id, date).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(p) => p.into_response(),
    }
}

/// An HTML answer with the page's security headers.
fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, Html(body)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn unknown_payment() -> Response {
    html(
        StatusCode::NOT_FOUND,
        page::message_page(
            Said {
                fa: "چنین تراکنشی وجود ندارد.",
                en: "There is no such transaction.",
            },
            None,
        ),
    )
}

fn unavailable(p: Problem) -> Response {
    tracing::warn!(code = p.code, message = %p.message, "payment page failed");
    html(
        p.status,
        page::message_page(
            Said {
                fa: "درگاه اکنون در دسترس نیست؛ بعداً دوباره تلاش کنید.",
                en: "The gateway is not available now; try again later.",
            },
            None,
        ),
    )
}

async fn pay_page(State(s): St, Path(token): Path<String>) -> Response {
    match s.page(&token).await {
        Ok(Some(tx)) if tx.state == crate::book::TxState::Created => {
            html(StatusCode::OK, page::payment_page(&tx, None))
        }
        Ok(Some(tx)) => html(
            StatusCode::OK,
            page::message_page(page::state_said(tx.state), Some(&tx)),
        ),
        Ok(None) => unknown_payment(),
        Err(p) => unavailable(p),
    }
}

#[derive(Deserialize)]
struct PayForm {
    action: String,
    #[serde(default)]
    card: String,
}

async fn pay(
    State(s): St,
    Path(token): Path<String>,
    form: Result<Form<PayForm>, FormRejection>,
) -> Response {
    let bad_form = || {
        html(
            StatusCode::BAD_REQUEST,
            page::message_page(
                Said {
                    fa: "درخواست نامعتبر است.",
                    en: "The request is not valid.",
                },
                None,
            ),
        )
    };
    let Ok(Form(form)) = form else {
        return bad_form();
    };
    let action = match form.action.as_str() {
        "pay" => PayAction::Pay,
        "cancel" => PayAction::Cancel,
        _ => return bad_form(),
    };
    match s.pay(&token, action, &form.card).await {
        Ok(PayOutcome::Redirect(url)) => match HeaderValue::from_str(&url) {
            Ok(location) => {
                let mut h = HeaderMap::new();
                h.insert(header::LOCATION, location);
                (StatusCode::SEE_OTHER, h).into_response()
            }
            Err(_) => bad_form(),
        },
        Ok(PayOutcome::NotFound) => unknown_payment(),
        Ok(PayOutcome::BadCard(tx, why)) => {
            let said = Said {
                fa: "شمارهٔ کارت درست نیست؛ ۱۶ رقم کارت را دوباره وارد کنید.",
                en: why,
            };
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                page::payment_page(&tx, Some(said)),
            )
        }
        Ok(PayOutcome::Conflict(tx)) => html(
            StatusCode::CONFLICT,
            page::message_page(page::state_said(tx.state), Some(&tx)),
        ),
        Err(p) => unavailable(p),
    }
}

/// Whether the request carries the control token, compared in constant time.
fn authorized(s: &Shared, headers: &HeaderMap) -> bool {
    let Some(expected) = s.config.control_token.as_deref() else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ x);
    }
    diff == 0
}

fn unauthorized() -> Response {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        problem::UNAUTHORIZED,
        "the control routes need the control token",
    )
    .into_response()
}

async fn set_fault(
    State(s): St,
    headers: HeaderMap,
    body: Result<Json<FaultRequest>, JsonRejection>,
) -> Response {
    if !authorized(&s, &headers) {
        return unauthorized();
    }
    let req = match json_body(body) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let fault = match Fault::parse(&req.fault) {
        Ok(f) => f,
        Err(why) => return Problem::invalid(problem::UNKNOWN_FAULT, why).into_response(),
    };
    let set = s
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set(req.order_id, fault);
    if set.is_err() {
        return Problem::capacity("too many orders have a fault of their own").into_response();
    }
    tracing::info!(order_id = ?req.order_id, fault = %req.fault, "fault set");
    Json(req).into_response()
}

async fn set_clock(
    State(s): St,
    headers: HeaderMap,
    body: Result<Json<ClockRequest>, JsonRejection>,
) -> Response {
    if !authorized(&s, &headers) {
        return unauthorized();
    }
    let req = match json_body(body) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let moved = match (req.now_ms, req.offset_ms) {
        (Some(now), None) => s.clock.set_now(now),
        (None, Some(offset)) => s.clock.set_offset(offset),
        _ => Err("give exactly one of now_ms and offset_ms".to_string()),
    };
    if let Err(why) = moved {
        return Problem::invalid(problem::INVALID_CLOCK, why).into_response();
    }
    // Moving the clock forward may pass deadlines: reverse what is due now, not at the
    // next tick.
    if let Err(p) = s.sweep().await {
        return p.into_response();
    }
    Json(ClockResponse {
        now_ms: s.clock.now_ms(),
        offset_ms: s.clock.offset_ms(),
    })
    .into_response()
}
