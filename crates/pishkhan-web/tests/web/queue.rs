//! The office queue over HTTP, on every backend: walk-ins, check-in of today's booking, calling
//! by the rules, completing, no-shows, and the public board.

use pishkhan_domain::access::{Action, Principal, StaffActor, authorize};
use pishkhan_domain::model::{OfficeCode, OfficeStatus, Role, ServiceCode, Username};
use pishkhan_domain::schedule::BookingRules;
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{AuditContext, Booked, NewBooking};
use serde_json::json;

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE, TestApp, fixed_now};

/// A booking for today's 13:30 slot (Tehran), made straight in the store: the API only books
/// from tomorrow.
pub(crate) async fn book_today(app: &TestApp, national_code: &str) -> String {
    book_at(
        app,
        national_code,
        pishkhan_domain::schedule::unix_ms(fixed_now()),
    )
    .await
}

/// A 30-minute booking at the demo office starting at `start` (Unix ms), made in the store.
pub(crate) async fn book_at(app: &TestApp, national_code: &str, start: i64) -> String {
    let office = OfficeCode::parse(DEMO_OFFICE).unwrap();
    let operator = Principal::Staff(StaffActor {
        id: 0,
        username: Username::parse("operator").unwrap(),
        role: Role::Operator,
        office: Some(office),
        office_status: Some(OfficeStatus::Active),
    });
    let permit = authorize(&operator, Action::BookOnBehalf { office }).unwrap();
    let made = app
        .store
        .create_booking(
            &permit,
            &NewBooking {
                office,
                service: ServiceCode::parse("PSP-001").unwrap(),
                slot_start_ms: start,
                slot_end_ms: start + 30 * 60_000,
                national_code: NationalCode::parse(national_code).unwrap(),
                mobile: Mobile::parse("09121234567").unwrap(),
                rules: BookingRules::default(),
                idempotency_key: None,
            },
            &AuditContext {
                now_ms: start,
                ip: None,
                request_id: None,
            },
        )
        .await
        .unwrap();
    match made {
        Booked::New(b) => b.tracking_code.to_string(),
        Booked::Replayed(_) => panic!("replayed"),
    }
}

#[tokio::test]
async fn a_day_at_the_counter() {
    for app in TestApp::all().await {
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let base = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
        let post = |path: String, body: serde_json::Value| {
            let req = app
                .client
                .post(app.url(&path))
                .bearer_auth(&operator)
                .json(&body);
            app.send(req)
        };

        let walk = post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
        assert_eq!(walk.status, 200, "[{}] {}", app.be(), walk.text);
        let walk_ticket = walk.json()["ticket"].as_str().unwrap().to_string();
        assert!(walk_ticket.starts_with("W-"), "{walk_ticket}");

        let citizen = app.fresh_national_code();
        let code = book_today(&app, &citizen).await;
        let checked = post(format!("{base}/check-in"), json!({ "tracking_code": code })).await;
        assert_eq!(checked.status, 200, "[{}] {}", app.be(), checked.text);
        let booked_ticket = checked.json()["ticket"].as_str().unwrap().to_string();
        assert!(booked_ticket.starts_with("B-"), "{booked_ticket}");
        // Checking in twice is refused with a stable code.
        let again = post(
            format!("{base}/check-in"),
            json!({ "national_code": citizen }),
        )
        .await;
        assert_eq!(again.status, 409, "{}", again.text);
        assert!(!again.json()["code"].as_str().unwrap().is_empty());

        // The booked citizen inside their window goes first, then the walk-in.
        let first = post(format!("{base}/call-next"), json!({ "counter": 1 })).await;
        assert_eq!(first.status, 200, "{}", first.text);
        assert_eq!(first.json()["ticket"], booked_ticket.as_str());
        let second = post(format!("{base}/call-next"), json!({ "counter": 2 })).await;
        assert_eq!(second.json()["ticket"], walk_ticket.as_str());
        let board = app.get(&base).await.json();
        assert_eq!(board["now_serving"].as_array().unwrap().len(), 2);
        assert_eq!(board["day"], "1405-09-07");

        let done = post(
            format!("{base}/tickets/{booked_ticket}/complete"),
            json!({}),
        )
        .await;
        assert_eq!(done.status, 200, "{}", done.text);
        let gone = post(format!("{base}/tickets/{walk_ticket}/no-show"), json!({})).await;
        assert_eq!(gone.status, 200, "{}", gone.text);
        let board = app.get(&base).await.json();
        assert!(
            board["now_serving"].as_array().unwrap().is_empty(),
            "{board}"
        );
        // Nobody left to call.
        let empty = post(format!("{base}/call-next"), json!({ "counter": 1 })).await;
        assert_eq!(empty.status, 409, "{}", empty.text);

        // Refusals: unknown booking, other office, no token, bad input.
        let unknown = post(
            format!("{base}/check-in"),
            json!({ "tracking_code": "ZZZZ-ZZZZ" }),
        )
        .await;
        assert_eq!(unknown.status, 409, "{}", unknown.text);
        let other = app
            .send(
                app.client
                    .post(app.url(&format!("/api/v1/offices/{OTHER_OFFICE}/queue/walk-in")))
                    .bearer_auth(&operator)
                    .json(&json!({ "service": "PSP-001" })),
            )
            .await;
        other.problem(403, "forbidden_other_office");
        app.post_json(
            &format!("{base}/walk-in"),
            None,
            &json!({ "service": "PSP-001" }),
        )
        .await
        .problem(401, "unauthenticated");
        post(format!("{base}/walk-in"), json!({ "service": "NOPE-1" }))
            .await
            .problem(422, "unknown_service");
        post(format!("{base}/check-in"), json!({}))
            .await
            .problem(422, "missing_field");

        // The log replays to the same board after everything above.
        let replayed = app.get(&base).await.json();
        assert_eq!(replayed, board);
        app.stop().await;
    }
}

/// Reads the stream until `want` shows up in it, within a bounded time.
async fn read_until(resp: &mut reqwest::Response, want: &str) -> String {
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(want) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "{want:?} never arrived; stream so far: {seen}"
        );
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(Ok(None)) => panic!("the stream ended: {seen}"),
            Ok(Err(e)) => panic!("stream error {e}: {seen}"),
            Err(_) => panic!("{want:?} never arrived; stream so far: {seen}"),
        }
    }
    seen
}

#[tokio::test]
async fn the_tv_board_follows_the_queue_live() {
    for app in TestApp::all().await {
        let page = app.get(&format!("/offices/{DEMO_OFFICE}/display")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.text.contains(r#"lang="fa""#) && page.text.contains(r#"dir="rtl""#));
        assert!(
            page.text
                .contains(&format!("/api/v1/offices/{DEMO_OFFICE}/queue/stream"))
        );
        assert!(page.text.contains("/static/display.js"));
        assert!(!page.text.contains('⟦'), "untranslated string");
        assert_eq!(app.get("/static/display.js").await.status, 200);

        let mut stream = app
            .client
            .get(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/queue/stream")))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status().as_u16(), 200);
        assert!(
            stream.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        read_until(&mut stream, "event: board").await;

        // A walk-in given at the desk appears on the board without the TV asking.
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let walk = app
            .send(
                app.client
                    .post(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/queue/walk-in")))
                    .bearer_auth(&operator)
                    .json(&json!({ "service": "PSP-001" })),
            )
            .await;
        let ticket = walk.json()["ticket"].as_str().unwrap().to_string();
        let seen = read_until(&mut stream, &ticket).await;
        assert!(seen.contains("\"waiting\":1"), "[{}] {seen}", app.be());
        drop(stream);

        app.get("/offices/99999999/display").await;
        app.get("/api/v1/offices/99999999/queue/stream")
            .await
            .problem(404, "not_found");
        app.stop().await;
    }
}

/// Two processes on one database work one office's queue in turns. Each keeps the queue as it
/// last stored it and applies what the other appended since, so neither gives a ticket twice,
/// calls a person the other already called, or misses a ticket the other gave.
#[tokio::test]
async fn two_processes_work_one_queue_in_turns() {
    for app in TestApp::all().await {
        if app.backend != pishkhan_store::Backend::Postgres {
            // One process owns an embedded database: there is no other process.
            app.stop().await;
            continue;
        }
        let be = app.be();
        let peer = app.peer().await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let base = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
        let on = |node: usize, path: String, body: serde_json::Value| {
            let (app, peer, operator) = (&app, &peer, operator.clone());
            async move {
                let r = if node == 0 {
                    app.post_json(&path, Some(&operator), &body).await
                } else {
                    peer.post_json(&path, Some(&operator), &body).await
                };
                assert_eq!(r.status, 200, "[{be}] node {node} {path}: {}", r.text);
                r.json()
            }
        };
        let mut tickets = Vec::new();
        for i in 0..6 {
            let t = on(
                i % 2,
                format!("{base}/walk-in"),
                json!({ "service": "PSP-001" }),
            )
            .await;
            tickets.push(t["ticket"].as_str().expect("a ticket").to_string());
        }
        let distinct: std::collections::BTreeSet<_> = tickets.iter().collect();
        assert_eq!(
            distinct.len(),
            6,
            "[{be}] a ticket given twice: {tickets:?}"
        );

        // Calls alternate between the nodes and take the line in order.
        for (i, want) in tickets.iter().enumerate().take(4) {
            let counter = i % 2 + 1;
            if i >= 2 {
                // The person called two calls ago is completed on the other node.
                let done = &tickets[i - 2];
                on(
                    (i + 1) % 2,
                    format!("{base}/tickets/{done}/complete"),
                    json!({}),
                )
                .await;
            }
            let called = on(
                i % 2,
                format!("{base}/call-next"),
                json!({ "counter": counter }),
            )
            .await;
            assert_eq!(called["ticket"], want.as_str(), "[{be}] call {i}: {called}");
        }
        // Each node's view of the line is the same: the last two tickets wait.
        for node in 0..2 {
            let view = if node == 0 {
                app.get_as(&base, Some(&operator)).await
            } else {
                peer.get_as(&base, Some(&operator)).await
            };
            assert_eq!(view.status, 200, "[{be}] {}", view.text);
            let line: Vec<String> = view.json()["line"]
                .as_array()
                .expect("the line")
                .iter()
                .map(|e| e["ticket"].as_str().unwrap_or_default().to_string())
                .collect();
            assert_eq!(line, tickets[4..].to_vec(), "[{be}] node {node}'s line");
        }
        peer.stop().await;
        app.stop().await;
    }
}
