//! The notification story, through public APIs only, on every configured backend: real
//! bookings queue messages in the outbox, and the dispatcher delivers each event once through
//! the log or a webhook, with retries on a clock the tests move by hand.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use pishkhan_domain::access::{Action, Principal, StaffActor, authorize};
use pishkhan_domain::model::{OfficeCode, OfficeStatus, Role, ServiceCode, Username};
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_notify::{
    Clock, DispatchConfig, Dispatcher, Error, LOG_FILE_NAME, LogLimits, LogSender, Rendered,
    Renderer, SendError, Sender, WebhookSender, sender_from_spec,
};
use pishkhan_store::{AuditContext, Booked, Booking, OutboxMessage, Store};
use pishkhan_testkit::{TestDb, load_small_nation};

/// The audit time of every change; the outbox rows are due from then.
const T0: i64 = 1_764_300_000_000;

/// Tomorrow at this hour: bookings are decided against the real clock's horizon.
fn soon() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / 3_600_000 + 24) * 3_600_000
}

fn ctx(now_ms: i64) -> AuditContext {
    AuditContext {
        now_ms,
        ip: Some("127.0.0.1".into()),
        request_id: Some("notify-test".into()),
    }
}

fn operator_permit(office: OfficeCode) -> pishkhan_domain::access::Permit {
    let staff = Principal::Staff(StaffActor {
        id: 0,
        username: Username::parse("operator").unwrap(),
        role: Role::Operator,
        office: Some(office),
        office_status: Some(OfficeStatus::Active),
    });
    authorize(&staff, Action::BookOnBehalf { office }).unwrap()
}

/// Gives `office` a policy under which every slot holds ten people (long slots, all counters
/// bookable, an occupancy cap of ten): the store computes capacity from it.
async fn hold_ten_per_slot(store: &dyn Store, office: &pishkhan_domain::model::Office) {
    let regulator = store
        .staff_by_username(&Username::parse("regulator").unwrap())
        .await
        .unwrap();
    let actor = Principal::Staff(StaffActor {
        id: regulator.id,
        username: regulator.staff.username.clone(),
        role: Role::Regulator,
        office: None,
        office_status: None,
    });
    let permit = authorize(
        &actor,
        Action::ConfigureSchedule {
            office: office.code,
        },
    )
    .unwrap();
    let policy = pishkhan_domain::schedule::SlotPolicy {
        slot_minutes: pishkhan_domain::schedule::SlotPolicy::MAX_SLOT_MINUTES,
        occupancy_cap: 10,
        booking_counters: office.counters,
    };
    store
        .set_slot_policy(&permit, office.code, &policy, &ctx(T0))
        .await
        .unwrap();
}

async fn book(store: &dyn Store, office: OfficeCode, slot_start_ms: i64, person: u32) -> Booking {
    let req = pishkhan_store::NewBooking {
        office,
        service: ServiceCode::parse("PSP-001").unwrap(),
        slot_start_ms,
        slot_end_ms: slot_start_ms + 30 * 60_000,
        national_code: NationalCode::from_body(100_000_000 + person).unwrap(),
        mobile: Mobile::from_parts(912, person).unwrap(),
        rules: pishkhan_domain::schedule::BookingRules::default(),
        idempotency_key: None,
    };
    match store
        .create_booking(&operator_permit(office), &req, &ctx(T0))
        .await
        .unwrap()
    {
        Booked::New(b) => b,
        other => panic!("{other:?}"),
    }
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct FakeClock(Arc<AtomicI64>);

impl FakeClock {
    fn new() -> Self {
        Self(Arc::new(AtomicI64::new(T0 + 1_000)))
    }
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn advance(&self, ms: u64) {
        self.0.fetch_add(ms as i64, Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let t = self.0.clone();
        Arc::new(move || t.load(Ordering::SeqCst))
    }
}

async fn message(store: &dyn Store, dedupe_key: &str) -> OutboxMessage {
    store
        .outbox_messages(None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.dedupe_key == dedupe_key)
        .unwrap_or_else(|| panic!("no outbox message {dedupe_key}"))
}

fn log_lines(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join(LOG_FILE_NAME)).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn is_persian_digit(c: char) -> bool {
    ('۰'..='۹').contains(&c)
}

// ---------------------------------------------------------------------------------------------
// Log sender

#[tokio::test]
async fn the_log_gets_one_line_per_event_even_across_a_crash() {
    for db in TestDb::all().await {
        eprintln!("scenario on {}", db.backend().name());
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = &nation.offices[0];
        hold_ten_per_slot(store.as_ref(), office).await;
        let slot = soon();
        let mut booked = Vec::new();
        for person in 1..=3 {
            booked.push(book(store.as_ref(), office.code, slot, person).await);
        }
        store
            .cancel_booking(
                &operator_permit(office.code),
                &booked[0].tracking_code,
                &ctx(T0 + 1),
            )
            .await
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let clock = FakeClock::new();
        let sender = sender_from_spec("log", dir.path()).unwrap();
        let dispatcher = Dispatcher::new(
            store.clone(),
            sender.clone(),
            DispatchConfig::default(),
            clock.clock(),
        )
        .unwrap();
        let stats = dispatcher.run_once().await;
        assert_eq!((stats.claimed, stats.sent), (4, 4), "{stats:?}");
        for m in store.outbox_messages(None, 100).await.unwrap() {
            assert_eq!((m.status.as_str(), m.attempts), ("sent", 1), "{m:?}");
            assert_eq!(m.sent_at_ms, Some(clock.now()));
        }

        let lines = log_lines(dir.path());
        assert_eq!(lines.len(), 4);
        let keys: HashSet<&str> = lines
            .iter()
            .map(|l| l["dedupe_key"].as_str().unwrap())
            .collect();
        assert_eq!(keys.len(), 4, "one line per event");
        let by_key: HashMap<&str, &serde_json::Value> = lines
            .iter()
            .map(|l| (l["dedupe_key"].as_str().unwrap(), l))
            .collect();
        for b in &booked {
            let line = by_key[format!(
                "booking.confirmed:{:013}:{}",
                b.created_at_ms,
                b.tracking_code.as_str()
            )
            .as_str()];
            let code = b.tracking_code.to_string();
            let fa = line["text_fa"].as_str().unwrap();
            let en = line["text_en"].as_str().unwrap();
            assert_eq!(line["kind"], "booking.confirmed");
            assert_eq!(line["recipient"], b.mobile.as_str());
            assert!(line["id"].as_i64().is_some() && line["at"].as_str().is_some());
            assert!(fa.contains(&code) && en.contains(&code), "{fa} / {en}");
            assert!(fa.contains(&office.name.fa), "{fa}");
            assert!(fa.contains("ثبت شد"), "{fa}");
            // Dates and times in Persian digits; the only ASCII digits are the code's.
            assert!(fa.chars().any(is_persian_digit), "{fa}");
            assert!(
                !fa.replace(&code, "").chars().any(|c| c.is_ascii_digit()),
                "{fa}"
            );
        }
        let cancelled = lines
            .iter()
            .find(|l| {
                l["kind"] == "booking.cancelled"
                    && l["dedupe_key"]
                        .as_str()
                        .unwrap()
                        .ends_with(booked[0].tracking_code.as_str())
            })
            .expect("the cancellation's line");
        assert!(cancelled["text_fa"].as_str().unwrap().contains("لغو شد"));

        // Nothing is due any more: running again sends nothing.
        clock.advance(3_600_000);
        let again = dispatcher.run_once().await;
        assert_eq!((again.claimed, again.sent), (0, 0));
        assert_eq!(log_lines(dir.path()).len(), 4);

        // A crash between send and settle: the line is written, the store still says pending.
        let b4 = book(store.as_ref(), office.code, slot, 4).await;
        let key4 = format!(
            "booking.confirmed:{:013}:{}",
            b4.created_at_ms,
            b4.tracking_code.as_str()
        );
        let crashed_at = clock.now();
        let claimed = store.claim_outbox(10, crashed_at, 30_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let text = Renderer::new(store.clone()).render(&claimed[0]).await;
        sender.send(&claimed[0], &text).await.unwrap();
        drop(dispatcher);
        drop(sender);
        assert_eq!(log_lines(dir.path()).len(), 5);
        assert_eq!(message(store.as_ref(), &key4).await.status, "pending");

        // The restart: a fresh sender over the same file.
        let sender = sender_from_spec("log", dir.path()).unwrap();
        let dispatcher = Dispatcher::new(
            store.clone(),
            sender,
            DispatchConfig::default(),
            clock.clock(),
        )
        .unwrap();
        assert_eq!(dispatcher.run_once().await.claimed, 0, "still leased");
        clock.advance(30_000);
        let stats = dispatcher.run_once().await;
        assert_eq!((stats.claimed, stats.sent), (1, 1), "{stats:?}");
        let m = message(store.as_ref(), &key4).await;
        assert_eq!((m.status.as_str(), m.attempts), ("sent", 1));
        let lines = log_lines(dir.path());
        assert_eq!(lines.len(), 5, "the key was not written again");
        assert_eq!(
            lines
                .iter()
                .filter(|l| l["dedupe_key"] == key4.as_str())
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn a_sign_in_code_is_sent_while_valid_and_dropped_after() {
    for db in TestDb::all().await {
        eprintln!("scenario on {}", db.backend().name());
        let store = db.open().await;
        for (person, code, ttl_ms) in [(21u32, "012345", 120_000), (22, "654321", 1_000)] {
            let national_code = NationalCode::from_body(100_000_000 + person).unwrap();
            let request = pishkhan_store::OtpRequest {
                code_hash: pishkhan_store::token_hash(&format!(
                    "{}:{code}",
                    national_code.as_str()
                )),
                national_code,
                mobile: Mobile::from_parts(912, person).unwrap(),
                code: code.into(),
                ttl_ms,
                min_interval_ms: 60_000,
                max_per_window: 5,
                window_ms: 3_600_000,
            };
            store.request_otp(&request, &ctx(T0)).await.unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let clock = FakeClock::new();
        clock.advance(500); // T0 + 1.5 s: the second code has expired.
        let dispatcher = Dispatcher::new(
            store.clone(),
            sender_from_spec("log", dir.path()).unwrap(),
            DispatchConfig::default(),
            clock.clock(),
        )
        .unwrap();
        let s = dispatcher.run_once().await;
        assert_eq!((s.claimed, s.sent, s.failed), (2, 1, 1), "{s:?}");
        let lines = log_lines(dir.path());
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["kind"], "auth.otp");
        let fa = lines[0]["text_fa"].as_str().unwrap();
        assert!(fa.contains("012345") && fa.contains("۲ دقیقه"), "{fa}");
        let stale = store
            .outbox_messages(Some(Mobile::from_parts(912, 22).unwrap().as_str()), 10)
            .await
            .unwrap();
        assert_eq!(stale[0].status, "failed");
        assert!(stale[0].last_error.as_deref().unwrap().contains("expired"));
    }
}

fn plain_message(id: i64, key: &str) -> OutboxMessage {
    OutboxMessage {
        id,
        kind: "booking.confirmed".into(),
        recipient: "09120000001".into(),
        dedupe_key: key.into(),
        payload: serde_json::json!({}),
        status: "pending".into(),
        attempts: 0,
        created_at_ms: T0,
        sent_at_ms: None,
        last_error: None,
    }
}

fn some_text() -> Rendered {
    Rendered {
        text_fa: "متن".into(),
        text_en: "text".into(),
    }
}

#[tokio::test]
async fn the_log_survives_a_torn_line_and_bounds_its_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join(LOG_FILE_NAME);
    let limits = LogLimits {
        max_keys: 2,
        max_scan_bytes: 1 << 20,
    };
    let log = LogSender::open_with(&path, limits).unwrap();
    for (id, key) in [(1, "k1"), (2, "k2"), (3, "k3"), (3, "k3")] {
        log.send(&plain_message(id, key), &some_text())
            .await
            .unwrap();
    }
    assert_eq!(log.remembered_keys(), 2, "bounded");
    drop(log);
    // A crash mid-write leaves a torn last line.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"id":4,"dedupe_key":"k4","ki"#).unwrap();
    }
    let log = LogSender::open_with(&path, limits).unwrap();
    assert_eq!(log.remembered_keys(), 2, "the torn line does not count");
    log.send(&plain_message(3, "k3"), &some_text())
        .await
        .unwrap();
    log.send(&plain_message(4, "k4"), &some_text())
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(serde_json::from_str::<serde_json::Value>(lines[3]).is_err());
    let last: serde_json::Value = serde_json::from_str(lines[4]).unwrap();
    assert_eq!(last["dedupe_key"], "k4");
    assert!(text.ends_with('\n'));

    // Only the tail of a large file is read.
    let tail = LogSender::open_with(
        &path,
        LogLimits {
            max_keys: 100,
            max_scan_bytes: (lines[4].len() + 1) as u64,
        },
    )
    .unwrap();
    assert_eq!(tail.remembered_keys(), 1);
}

/// Holds its first send until the test opens the gate.
struct GatedSender {
    inner: Arc<dyn Sender>,
    started: tokio::sync::mpsc::UnboundedSender<i64>,
    gate: Arc<tokio::sync::Semaphore>,
}

#[async_trait]
impl Sender for GatedSender {
    async fn send(&self, msg: &OutboxMessage, text: &Rendered) -> Result<(), SendError> {
        let _ = self.started.send(msg.id);
        let _pass = self.gate.acquire().await.unwrap();
        self.inner.send(msg, text).await
    }
}

#[tokio::test]
async fn shutdown_finishes_the_sends_in_flight_and_starts_no_more() {
    for db in TestDb::all().await {
        eprintln!("scenario on {}", db.backend().name());
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        hold_ten_per_slot(store.as_ref(), &nation.offices[0]).await;
        let office = nation.offices[0].code;
        let slot = soon();
        for person in 1..=3 {
            book(store.as_ref(), office, slot, person).await;
        }
        let dir = tempfile::tempdir().unwrap();
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let sender = Arc::new(GatedSender {
            inner: sender_from_spec("log", dir.path()).unwrap(),
            started: started_tx,
            gate: gate.clone(),
        });
        let clock = FakeClock::new();
        let config = DispatchConfig {
            concurrency: 1,
            ..DispatchConfig::default()
        };
        let dispatcher =
            Dispatcher::new(store.clone(), sender, config.clone(), clock.clock()).unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(dispatcher.run(async move {
            let _ = stop_rx.await;
            let _ = seen_tx.send(());
        }));
        // The test runs on one thread (the default of `#[tokio::test]`), so once `seen_rx`
        // fires the dispatcher has already noted the shutdown: no race with the gate below.
        let first = started.recv().await.unwrap();
        stop_tx.send(()).unwrap();
        seen_rx.await.unwrap();
        gate.add_permits(10);
        let total = running.await.unwrap();
        assert_eq!(
            (total.claimed, total.sent, total.skipped),
            (3, 1, 2),
            "{total:?}"
        );
        let all = store.outbox_messages(None, 10).await.unwrap();
        for m in &all {
            let expected = if m.id == first { "sent" } else { "pending" };
            assert_eq!(m.status, expected, "{m:?}");
        }
        assert_eq!(log_lines(dir.path()).len(), 1);

        // The skipped ones come back after their lease.
        let later = Dispatcher::new(
            store.clone(),
            sender_from_spec("log", dir.path()).unwrap(),
            config.clone(),
            clock.clock(),
        )
        .unwrap();
        clock.advance(config.lease_ms);
        assert_eq!(later.run_once().await.sent, 2);
        assert_eq!(log_lines(dir.path()).len(), 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook sender

/// A webhook receiver: answers from a script, then with a default status; accepts a key once.
#[derive(Clone)]
struct Receiver(Arc<Mutex<ReceiverState>>);

struct ReceiverState {
    script: VecDeque<u16>,
    default: u16,
    keys: Vec<String>,
    accepted: Vec<serde_json::Value>,
    accepted_keys: HashSet<String>,
}

impl Receiver {
    fn keys(&self) -> Vec<String> {
        self.0.lock().unwrap().keys.clone()
    }
    fn accepted(&self) -> Vec<serde_json::Value> {
        self.0.lock().unwrap().accepted.clone()
    }
}

async fn hook(
    State(r): State<Receiver>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut s = r.0.lock().unwrap();
    let status = s.script.pop_front().unwrap_or(s.default);
    s.keys.push(key.clone());
    if (200..300).contains(&status) && s.accepted_keys.insert(key) {
        s.accepted.push(body);
    }
    StatusCode::from_u16(status).unwrap()
}

async fn start_receiver(script: &[u16], default: u16) -> (String, Receiver) {
    let receiver = Receiver(Arc::new(Mutex::new(ReceiverState {
        script: script.iter().copied().collect(),
        default,
        keys: Vec::new(),
        accepted: Vec::new(),
        accepted_keys: HashSet::new(),
    })));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(receiver.clone());
    // Bound before the server starts: connections wait in the backlog, no readiness wait.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), receiver)
}

#[tokio::test]
async fn the_webhook_retries_with_backoff_and_is_accepted_once() {
    for db in TestDb::all().await {
        eprintln!("scenario on {}", db.backend().name());
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let b = book(store.as_ref(), nation.offices[0].code, soon(), 7).await;
        let key = format!(
            "booking.confirmed:{:013}:{}",
            b.created_at_ms,
            b.tracking_code.as_str()
        );
        let (url, receiver) = start_receiver(&[503, 503], 200).await;
        let sender = Arc::new(WebhookSender::new(&url, 5_000).unwrap());
        let clock = FakeClock::new();
        let config = DispatchConfig::default();
        let dispatcher =
            Dispatcher::new(store.clone(), sender.clone(), config.clone(), clock.clock()).unwrap();
        let id = message(store.as_ref(), &key).await.id;

        // First attempt: 503, a retry after the first backoff.
        let s = dispatcher.run_once().await;
        assert_eq!((s.claimed, s.retried), (1, 1), "{s:?}");
        let m = message(store.as_ref(), &key).await;
        assert_eq!((m.status.as_str(), m.attempts), ("pending", 1));
        assert!(m.last_error.as_deref().unwrap().contains("503"), "{m:?}");
        let wait1 = config.backoff_ms(id, 1);
        assert!((750..=1_250).contains(&wait1), "{wait1}");
        clock.advance(wait1 - 1);
        assert_eq!(dispatcher.run_once().await.claimed, 0, "not due yet");
        clock.advance(1);

        // Second attempt: 503 again, and a longer wait.
        let s = dispatcher.run_once().await;
        assert_eq!((s.claimed, s.retried), (1, 1), "{s:?}");
        assert_eq!(message(store.as_ref(), &key).await.attempts, 2);
        let wait2 = config.backoff_ms(id, 2);
        assert!((1_500..=2_500).contains(&wait2) && wait2 > wait1, "{wait2}");
        clock.advance(wait2 - 1);
        assert_eq!(dispatcher.run_once().await.claimed, 0, "not due yet");
        clock.advance(1);

        // Third attempt: accepted.
        let s = dispatcher.run_once().await;
        assert_eq!((s.claimed, s.sent), (1, 1), "{s:?}");
        let m = message(store.as_ref(), &key).await;
        assert_eq!((m.status.as_str(), m.attempts), ("sent", 3));
        assert_eq!(m.sent_at_ms, Some(clock.now()));
        assert_eq!(m.last_error, None);

        assert_eq!(receiver.keys(), vec![key.clone(); 3], "same key every time");
        let accepted = receiver.accepted();
        assert_eq!(accepted.len(), 1);
        let body = &accepted[0];
        assert_eq!(body["id"], id);
        assert_eq!(body["dedupe_key"], key.as_str());
        assert_eq!(body["kind"], "booking.confirmed");
        assert_eq!(body["recipient"], b.mobile.as_str());
        assert_eq!(
            body["payload"]["tracking_code"],
            b.tracking_code.to_string()
        );
        let fa = body["text_fa"].as_str().unwrap();
        assert!(fa.contains(&b.tracking_code.to_string()) && fa.chars().any(is_persian_digit));
        assert!(body["text_en"].as_str().unwrap().contains("Tracking code"));

        // Nothing more is sent; a repeat (as after a crash before settling) is dropped by the
        // receiver thanks to the key.
        clock.advance(config.max_backoff_ms);
        assert_eq!(dispatcher.run_once().await.claimed, 0);
        let m = message(store.as_ref(), &key).await;
        let text = Renderer::new(store.clone()).render(&m).await;
        sender.send(&m, &text).await.unwrap();
        assert_eq!(receiver.keys().len(), 4);
        assert_eq!(receiver.accepted().len(), 1);
    }
}

#[tokio::test]
async fn a_rejected_webhook_fails_at_once() {
    for db in TestDb::all().await {
        eprintln!("scenario on {}", db.backend().name());
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let b = book(store.as_ref(), nation.offices[0].code, soon(), 8).await;
        let key = format!(
            "booking.confirmed:{:013}:{}",
            b.created_at_ms,
            b.tracking_code.as_str()
        );
        let (url, receiver) = start_receiver(&[], 400).await;
        let clock = FakeClock::new();
        let dispatcher = Dispatcher::new(
            store.clone(),
            sender_from_spec(&format!("webhook:{url}"), Path::new("/nonexistent")).unwrap(),
            DispatchConfig::default(),
            clock.clock(),
        )
        .unwrap();
        let s = dispatcher.run_once().await;
        assert_eq!((s.claimed, s.failed), (1, 1), "{s:?}");
        let m = message(store.as_ref(), &key).await;
        assert_eq!((m.status.as_str(), m.attempts), ("failed", 1));
        assert!(m.last_error.as_deref().unwrap().contains("400"), "{m:?}");
        clock.advance(86_400_000);
        assert_eq!(dispatcher.run_once().await.claimed, 0);
        assert_eq!(receiver.keys().len(), 1);
        assert!(receiver.accepted().is_empty());
    }
}

#[tokio::test]
async fn an_unreachable_webhook_is_retried_until_max_attempts() {
    for db in TestDb::all().await {
        eprintln!("scenario on {}", db.backend().name());
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let b = book(store.as_ref(), nation.offices[0].code, soon(), 9).await;
        let key = format!(
            "booking.confirmed:{:013}:{}",
            b.created_at_ms,
            b.tracking_code.as_str()
        );
        // A port held by a socket that never listens: connections are refused, and no other
        // test can take the port meanwhile.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let url = format!("http://{}/hook", socket.local_addr().unwrap());
        let clock = FakeClock::new();
        let config = DispatchConfig {
            max_attempts: 3,
            ..DispatchConfig::default()
        };
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::new(WebhookSender::new(&url, 5_000).unwrap()),
            config.clone(),
            clock.clock(),
        )
        .unwrap();

        let s = dispatcher.run_once().await;
        assert_eq!((s.claimed, s.retried), (1, 1), "{s:?}");
        let m = message(store.as_ref(), &key).await;
        assert_eq!((m.status.as_str(), m.attempts), ("pending", 1));
        assert!(
            m.last_error.as_deref().unwrap().contains("cannot connect"),
            "{m:?}"
        );

        let mut rounds = 0;
        while message(store.as_ref(), &key).await.status == "pending" {
            rounds += 1;
            assert!(rounds <= 10, "never gave up");
            clock.advance(config.max_backoff_ms);
            dispatcher.run_once().await;
        }
        let m = message(store.as_ref(), &key).await;
        assert_eq!((m.status.as_str(), m.attempts), ("failed", 3), "{m:?}");
        assert!(
            m.last_error
                .as_deref()
                .unwrap()
                .starts_with("gave up after 3 attempts"),
            "{m:?}"
        );
        drop(socket);
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn sender_specs_and_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    assert!(sender_from_spec("log", dir.path()).is_ok());
    assert!(sender_from_spec("  ", dir.path()).is_ok());
    assert!(dir.path().join(LOG_FILE_NAME).exists());
    assert!(sender_from_spec("webhook:http://127.0.0.1:9/hook", dir.path()).is_ok());
    for bad in [
        "sms",
        "webhook:",
        "webhook:https://gateway.example/hook",
        "webhook:ftp://x/",
        "log:/tmp/x",
    ] {
        assert!(
            matches!(
                sender_from_spec(bad, dir.path()),
                Err(Error::BadSpec { .. })
            ),
            "{bad}"
        );
    }
    assert!(DispatchConfig::default().validate().is_ok());
    for bad in [
        DispatchConfig {
            batch: 0,
            ..DispatchConfig::default()
        },
        DispatchConfig {
            concurrency: 0,
            ..DispatchConfig::default()
        },
        DispatchConfig {
            send_timeout_ms: 20_000,
            ..DispatchConfig::default()
        },
        DispatchConfig {
            base_backoff_ms: 400_000,
            ..DispatchConfig::default()
        },
    ] {
        assert!(
            matches!(bad.validate(), Err(Error::BadConfig(_))),
            "{bad:?}"
        );
    }
    // Backoff doubles, is spread per message, and is capped.
    let c = DispatchConfig::default();
    let spread: HashSet<u64> = (1..50).map(|id| c.backoff_ms(id, 1)).collect();
    assert!(spread.len() > 10 && spread.iter().all(|d| (750..=1_250).contains(d)));
    assert_eq!(c.backoff_ms(5, 3), c.backoff_ms(5, 3), "deterministic");
    assert!((3_000..=5_000).contains(&c.backoff_ms(5, 3)));
    assert!(c.backoff_ms(5, 60) <= c.max_backoff_ms);
}
