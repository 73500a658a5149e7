//! Cross-cutting HTTP concerns: request ids, tracing, limits, security headers, health,
//! metrics, and problem responses for unknown routes.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::LatencyUnit;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::error::ApiError;
use crate::{AppState, WebConfig};
use pishkhan_app::AppError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a per-process random prefix and a counter, cheap and unique enough to grep.
#[derive(Clone)]
struct RequestIds {
    prefix: String,
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _req: &axum::http::Request<B>) -> Option<RequestId> {
        let n = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:08x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Wraps every route in the cross-cutting layers, outermost first.
pub fn wrap(router: Router<AppState>, config: &WebConfig) -> Router<AppState> {
    let mut prefix = [0u8; 4];
    let _ = getrandom::fill(&mut prefix);
    let hsts = config
        .cookie_secure
        .then(|| HeaderValue::from_static("max-age=31536000"));
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(
            REQUEST_ID,
            RequestIds {
                prefix: hex_lower(&prefix),
            },
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // The query is never logged: it may carry what the path would not.
                tracing::info_span!("http", method = %req.method(), path = %loggable_path(req), request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Micros))
            // A fault logs its own line (`error.rs`) and the response line has the status;
            // a third line per 5xx says nothing new.
            .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // Pages and API answers may show personal data, and a shared counter PC's browser
        // must not keep them; only the static assets (which set their own) may be cached.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Behind TLS (which `cookie_secure` says), browsers are told to use nothing else.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &Response| hsts.clone(),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(config.request_timeout_ms),
        ))
        .layer(ConcurrencyLimitLayer::new(config.max_concurrent_requests))
        .layer(axum::extract::DefaultBodyLimit::max(config.max_body_bytes));
    router.layer(layers)
}

/// Route parameters that are bearer secrets (invitation and survey links): whoever reads
/// the log must not be able to use them.
const SECRET_PARAMS: &[&str] = &["{token}"];

/// The request's path with the segments its route names in [`SECRET_PARAMS`] replaced by
/// `[redacted]`. Routing has run (these layers wrap each route), so the route is known.
fn loggable_path(req: &Request) -> Cow<'_, str> {
    let path = req.uri().path();
    let Some(route) = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    else {
        return Cow::Borrowed(path);
    };
    if !SECRET_PARAMS.iter().any(|p| route.contains(p)) {
        return Cow::Borrowed(path);
    }
    let segments: Vec<&str> = route
        .split('/')
        .zip(path.split('/'))
        .map(|(r, p)| {
            if SECRET_PARAMS.contains(&r) {
                "[redacted]"
            } else {
                p
            }
        })
        .collect();
    Cow::Owned(segments.join("/"))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Counts every request by its route template, method and status class.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The template, never the path: a path may carry a bearer token (see `SECRET_PARAMS`).
    let route = req.extensions().get::<MatchedPath>().cloned();
    state.metrics().started();
    let resp = next.run(req).await;
    state.metrics().finished(
        method.as_str(),
        route.as_ref().map(MatchedPath::as_str),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

pub fn ops_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), state.store().ping()).await {
        Ok(Ok(())) => Ok(axum::Json(serde_json::json!({
            "status": "ready",
            "database": state.store().backend().name(),
        }))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::App(AppError::Unavailable))
        }
        Err(_) => Err(ApiError::App(AppError::Unavailable)),
    }
}

/// The metrics, for the holder of `--metrics-token` only: they name the deployment's routes,
/// load and backend, and nothing on the open internet needs them.
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let presented = crate::auth::bearer(&headers);
    let allowed = match (&state.config().metrics_token, presented) {
        (Some(token), Some(presented)) => token.matches(presented),
        _ => false,
    };
    if !allowed {
        return Err(ApiError::MetricsToken);
    }
    // Prometheus asks for OpenMetrics first; curl and older scrapers get the classic text.
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let body = state
        .metrics()
        .render(openmetrics)
        .map_err(|e| ApiError::App(AppError::internal(anyhow::anyhow!("metrics: {e}"))))?;
    let content_type = if openmetrics {
        crate::metrics::OPENMETRICS
    } else {
        crate::metrics::PROMETHEUS_TEXT
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body))
}

pub async fn not_found(parts: axum::http::request::Parts) -> Response {
    if parts.uri.path().starts_with("/api/") {
        ApiError::App(AppError::NotFound("route")).into_response()
    } else {
        crate::ui::not_found_page(&parts).into_response()
    }
}

pub async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}
