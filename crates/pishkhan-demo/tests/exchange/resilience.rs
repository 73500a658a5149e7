//! Timeouts, retries within budget, the circuit breaker, and answers that must be refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use pishkhan_agency::{Envelope, Rejection, Service};
use pishkhan_demo::ReferenceAgency;
use pishkhan_exchange::resilience::{
    Admission, CircuitBreaker, CircuitState, RETRY_BUDGET_FLOOR, RetryBudget,
};
use pishkhan_exchange::{DirectoryConfig, InquiryError, Limits, LogOutcome, SignedEnvelope};
use pishkhan_sign::{MessageClaims, new_nonce, sign_message, unix_now};
use serde_json::json;
use tokio::net::TcpListener;

use crate::common::*;

fn set_base_url(config: &mut DirectoryConfig, agency: ReferenceAgency, url: &str) {
    let m = config
        .members
        .iter_mut()
        .find(|m| m.id == agency.member_id())
        .unwrap();
    m.base_url = Some(url.to_owned());
}

async fn serve_router(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// An agency that answers nothing in time. Counts requests per path.
async fn slow_agency() -> (String, Arc<Mutex<HashMap<String, usize>>>) {
    let hits = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let counter = counter.clone();
        async move {
            *counter
                .lock()
                .unwrap()
                .entry(uri.path().to_owned())
                .or_default() += 1;
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK
        }
    });
    (format!("http://{}", serve_router(app).await), hits)
}

#[tokio::test]
async fn a_slow_agency_times_out_and_only_idempotent_inquiries_retry_within_budget() {
    let (slow, hits) = slow_agency().await;
    let limits = Limits {
        agency_timeout_ms: 150,
        retry_budget_ratio: 0.0,
        max_retries: 2,
        circuit_failures: 100,
        circuit_cooldown_ms: 1_000,
    };
    let world = World::start(limits, |c| {
        set_base_url(c, ReferenceAgency::CivilRegistry, &slow);
        set_base_url(c, ReferenceAgency::TrafficPolice, &slow);
        c.services
            .iter_mut()
            .find(|s| s.id == service(Service::TrafficFines))
            .unwrap()
            .idempotent = false;
    })
    .await;
    let code = world.population.sample(1)[0]
        .national_code
        .as_str()
        .to_owned();
    let person = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": code}),
    );

    // The budget floor is RETRY_BUDGET_FLOOR retries per window at ratio 0: the first
    // inquiry uses two (max_retries), the second the last one, the third none.
    assert_eq!(RETRY_BUDGET_FLOOR, 3);
    let started = Instant::now();
    let mut attempts = Vec::new();
    for _ in 0..3 {
        let err = world.exchange.inquire(&person).await.unwrap_err();
        assert_eq!(err.code(), "agency_timeout", "{err}");
        attempts.push(err.attempts());
        let entry = world.exchange.log_entry(&person, &Err(err), 1);
        assert_eq!(entry.outcome, LogOutcome::Failed);
        assert!(entry.request_nonce.is_some());
        assert_eq!(entry.status, None);
    }
    assert_eq!(attempts, [3, 2, 1]);
    assert!(started.elapsed() >= Duration::from_millis(6 * 150));

    // traffic.fines is not idempotent here: never retried, whatever the budget.
    let fines = inquiry(
        Service::TrafficFines,
        "SR004",
        json!({"national_code": code}),
    );
    let err = world.exchange.inquire(&fines).await.unwrap_err();
    assert_eq!((err.code(), err.attempts()), ("agency_timeout", 1));

    let hits = hits.lock().unwrap().clone();
    assert!(
        hits.get(Service::CivilRegistryPerson.path())
            .copied()
            .unwrap_or(0)
            <= 6
    );
    assert!(hits.get(Service::TrafficFines.path()).copied().unwrap_or(0) <= 1);
}

/// Wraps the real envelope; while `failing`, answers 503 (signed, as an answer to the
/// verified request).
struct Flaky {
    inner: Arc<SignedEnvelope>,
    failing: AtomicBool,
    seen: AtomicUsize,
}

impl Envelope for Flaky {
    fn verify_request(&self, s: Service, h: &HeaderMap, b: &[u8]) -> Result<(), Rejection> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        self.inner.verify_request(s, h, b)?;
        if self.failing.load(Ordering::SeqCst) {
            return Err(Rejection {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "maintenance",
                detail: "down for maintenance".into(),
            });
        }
        Ok(())
    }

    fn sign_response(
        &self,
        s: Service,
        req: &[u8],
        st: StatusCode,
        resp: &[u8],
        h: &mut HeaderMap,
    ) {
        self.inner.sign_response(s, req, st, resp, h);
    }
}

#[tokio::test]
async fn the_circuit_opens_after_consecutive_failures_and_recovers() {
    let limits = Limits {
        agency_timeout_ms: 5_000,
        retry_budget_ratio: 0.0,
        max_retries: 0,
        circuit_failures: 3,
        circuit_cooldown_ms: 300,
    };
    let flaky: Arc<Mutex<Option<Arc<Flaky>>>> = Arc::default();
    let slot = flaky.clone();
    let wrap = move |agency: ReferenceAgency, inner: Arc<SignedEnvelope>| -> Arc<dyn Envelope> {
        if agency != ReferenceAgency::CivilRegistry {
            return inner;
        }
        let f = Arc::new(Flaky {
            inner,
            failing: AtomicBool::new(true),
            seen: AtomicUsize::new(0),
        });
        *slot.lock().unwrap() = Some(f.clone());
        f
    };
    let world = World::start_with(limits, |_| {}, &wrap).await;
    let flaky = flaky.lock().unwrap().clone().unwrap();
    let sabt = member("agency:sabt");
    let person = world
        .population
        .sample(20)
        .into_iter()
        .find(|p| p.mobile.is_some())
        .unwrap();
    let q = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": person.national_code.as_str()}),
    );

    for _ in 0..3 {
        let err = world.exchange.inquire(&q).await.unwrap_err();
        assert_eq!(err.code(), "agency_failed", "{err}");
        assert_eq!(err.outcome().unwrap().status, 503);
        assert_eq!(err.outcome().unwrap().body["code"], "maintenance");
    }
    assert_eq!(world.exchange.circuit_state(&sabt), CircuitState::Open);
    let err = world.exchange.inquire(&q).await.unwrap_err();
    assert_eq!((err.code(), err.attempts()), ("agency_unavailable", 0));
    assert_eq!(
        flaky.seen.load(Ordering::SeqCst),
        3,
        "an open circuit sends nothing"
    );

    // Other agencies are not affected.
    let mobile = inquiry(
        Service::MobileOwnership,
        "SR002",
        json!({"national_code": person.national_code.as_str(),
               "mobile": person.mobile.as_ref().unwrap().as_str()}),
    );
    assert_eq!(
        world.exchange.inquire(&mobile).await.unwrap().yes_no,
        Some(true)
    );

    // After the cool-down one trial goes through; it fails, so the circuit opens again.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(world.exchange.circuit_state(&sabt), CircuitState::HalfOpen);
    assert_eq!(
        world.exchange.inquire(&q).await.unwrap_err().code(),
        "agency_failed"
    );
    assert_eq!(world.exchange.circuit_state(&sabt), CircuitState::Open);
    assert_eq!(
        world.exchange.inquire(&q).await.unwrap_err().code(),
        "agency_unavailable"
    );
    assert_eq!(flaky.seen.load(Ordering::SeqCst), 4);

    // The agency recovers; after the next cool-down the trial succeeds and closes it.
    flaky.failing.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(350)).await;
    world.exchange.inquire(&q).await.unwrap();
    assert_eq!(world.exchange.circuit_state(&sabt), CircuitState::Closed);
    world.exchange.inquire(&q).await.unwrap();
    assert_eq!(flaky.seen.load(Ordering::SeqCst), 6);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Unsigned,
    UnknownKey,
    OtherAgency,
    OtherNonce,
    OtherBody,
    BadSchema,
    Good,
}

/// A fake civil registry that answers with whatever signature `mode` says.
async fn fake_agency(mode: Arc<Mutex<Mode>>) -> String {
    let app = axum::Router::new()
        .fallback(
            |State(mode): State<Arc<Mutex<Mode>>>, headers: HeaderMap, _body: Bytes| async move {
                let mode = *mode.lock().unwrap();
                let token = headers["pishkhan-signature"].to_str().unwrap();
                let payload = base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    token.split('.').nth(1).unwrap(),
                )
                .unwrap();
                let request: MessageClaims = serde_json::from_slice(&payload).unwrap();
                let answer = match mode {
                    Mode::BadSchema => json!({"found": "yes", "national_code": "0012345679"}),
                    _ => json!({"found": false, "national_code": "0012345679"}),
                }
                .to_string();
                let signed_body = if mode == Mode::OtherBody {
                    json!({"found": true, "national_code": "0012345679"}).to_string()
                } else {
                    answer.clone()
                };
                let mut claims =
                    MessageClaims::response(&request, signed_body.as_bytes(), 200, unix_now())
                        .unwrap();
                let signer = match mode {
                    Mode::UnknownKey => key(98),
                    Mode::OtherAgency => {
                        claims.sender = "agency:post".into();
                        key(agency_seed(ReferenceAgency::Post))
                    }
                    _ => key(agency_seed(ReferenceAgency::CivilRegistry)),
                };
                if mode == Mode::OtherNonce {
                    claims.request_nonce = Some(new_nonce().unwrap());
                }
                let mut response = (StatusCode::OK, answer).into_response();
                if mode != Mode::Unsigned {
                    response.headers_mut().insert(
                        "pishkhan-signature",
                        sign_message(&signer, &claims).parse().unwrap(),
                    );
                }
                response
            },
        )
        .with_state(mode);
    format!("http://{}", serve_router(app).await)
}

#[tokio::test]
async fn unsigned_forged_and_misdirected_answers_are_refused() {
    let mode = Arc::new(Mutex::new(Mode::Good));
    let fake = fake_agency(mode.clone()).await;
    // Bad answers count as failures for the circuit: keep it closed for this test.
    let limits = Limits {
        circuit_failures: 100,
        ..fast_limits()
    };
    let world = World::start(limits, |c| {
        set_base_url(c, ReferenceAgency::CivilRegistry, &fake)
    })
    .await;
    let q = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": "0012345679"}),
    );

    let ok = world.exchange.inquire(&q).await.unwrap();
    assert_eq!(ok.body["found"], false);

    for (m, code) in [
        (Mode::Unsigned, "bad_agency_signature"),
        (Mode::UnknownKey, "bad_agency_signature"),
        (Mode::OtherAgency, "bad_agency_signature"),
        (Mode::OtherNonce, "bad_agency_signature"),
        (Mode::OtherBody, "bad_agency_signature"),
        (Mode::BadSchema, "invalid_response"),
    ] {
        *mode.lock().unwrap() = m;
        let err = world.exchange.inquire(&q).await.unwrap_err();
        assert_eq!(err.code(), code, "{m:?}: {err}");
        // A bad answer is never retried, even for an idempotent service.
        assert_eq!(err.attempts(), 1, "{m:?}");
        if let InquiryError::InvalidResponse { outcome, detail } = &err {
            assert!(detail.contains("$.found"), "{detail}");
            assert_eq!(outcome.body, serde_json::Value::Null);
        }
    }
}

#[test]
fn the_retry_budget_allows_a_ratio_of_recent_requests_plus_a_floor() {
    let mut budget = RetryBudget::new();
    let t0 = 1_000_000;
    for _ in 0..RETRY_BUDGET_FLOOR {
        assert!(budget.try_retry(0.1, t0));
    }
    assert!(!budget.try_retry(0.1, t0));
    for _ in 0..100 {
        budget.record_request(t0 + 500);
    }
    // 0.1 × 100 + 3 = 13 retries in the window; 3 are used.
    let granted = (0..20).filter(|_| budget.try_retry(0.1, t0 + 600)).count();
    assert_eq!(granted, 10);
    // Ten seconds later the window has forgotten all of it: only the floor is left.
    let later = t0 + 11_000;
    let granted = (0..20).filter(|_| budget.try_retry(0.1, later)).count();
    assert_eq!(granted, RETRY_BUDGET_FLOOR as usize);
    // Ratio 0 means only the floor, whatever the traffic.
    let mut strict = RetryBudget::new();
    for _ in 0..1000 {
        strict.record_request(t0);
    }
    assert_eq!((0..20).filter(|_| strict.try_retry(0.0, t0)).count(), 3);
}

#[test]
fn the_circuit_breaker_follows_its_states() {
    let mut c = CircuitBreaker::new();
    let t = 10_000;
    assert_eq!(c.try_acquire(t), Some(Admission::Normal));
    c.on_failure(3, 1_000, t);
    c.on_failure(3, 1_000, t);
    assert_eq!(c.state(t), CircuitState::Closed);
    c.on_success();
    c.on_failure(3, 1_000, t);
    c.on_failure(3, 1_000, t);
    assert_eq!(
        c.state(t),
        CircuitState::Closed,
        "a success resets the count"
    );
    c.on_failure(3, 1_000, t);
    assert_eq!(c.state(t), CircuitState::Open);
    assert_eq!(c.try_acquire(t + 999), None);
    assert_eq!(c.state(t + 1_000), CircuitState::HalfOpen);
    assert_eq!(c.try_acquire(t + 1_000), Some(Admission::Trial));
    assert_eq!(c.try_acquire(t + 1_001), None, "one trial at a time");
    // An abandoned trial lets the next call try.
    c.on_abandoned(Admission::Trial);
    assert_eq!(c.try_acquire(t + 1_002), Some(Admission::Trial));
    c.on_failure(3, 1_000, t + 1_010);
    assert_eq!(c.try_acquire(t + 1_500), None);
    assert_eq!(c.try_acquire(t + 2_010), Some(Admission::Trial));
    c.on_success();
    assert_eq!(c.state(t + 2_011), CircuitState::Closed);
    assert_eq!(c.try_acquire(t + 2_011), Some(Admission::Normal));
}
