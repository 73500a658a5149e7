//! Appointments through the HTTP API, on every backend: availability, booking, idempotency,
//! cancellation, refusals that change nothing, and 1,000 concurrent requests for one slot.

use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE, TestApp};

/// The clock is fixed at 7 Azar 1405 (a Saturday); bookings open the next day.
const TOMORROW: &str = "1405-09-08";
const FRIDAY: &str = "1405-09-13";
const SERVICE: &str = "PSP-001";

async fn availability(app: &TestApp, office: &str, from: &str, days: u32) -> Value {
    let resp = app
        .get(&format!(
            "/api/v1/offices/{office}/availability?service={SERVICE}&from={from}&days={days}"
        ))
        .await;
    assert_eq!(resp.status, 200, "[{}] {}", app.be(), resp.text);
    resp.json()
}

fn first_slot(day: &Value) -> &Value {
    &day["slots"][0]
}

fn booking(office: &str, start: &str, national_code: &str) -> Value {
    json!({
        "office": office,
        "service": SERVICE,
        "start": start,
        "national_code": national_code,
        "mobile": "09121234567",
    })
}

async fn book(app: &TestApp, token: &str, body: &Value, key: Option<&str>) -> crate::support::Resp {
    let mut req = app
        .client
        .post(app.url("/api/v1/bookings"))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    app.send(req).await
}

async fn set_cap(app: &TestApp, manager: &str, cap: u16) {
    let resp = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/schedule")))
                .bearer_auth(manager)
                // Long slots, so the occupancy cap (not counter time) bounds each one.
                .json(&json!({ "slot_minutes": 240, "occupancy_cap": cap, "booking_counters": 2 })),
        )
        .await;
    assert_eq!(resp.status, 200, "[{}] {}", app.be(), resp.text);
}

#[tokio::test]
async fn availability_follows_the_contract_and_the_calendar() {
    for app in TestApp::all().await {
        let body = availability(&app, DEMO_OFFICE, "1405-09-07", 7).await;
        let days = body["days"].as_array().unwrap();
        assert_eq!(days.len(), 7);
        assert_eq!(days[0]["date"], "1405-09-07");
        assert_eq!(days[1]["date"], TOMORROW);
        // Today is outside the window; tomorrow is bookable with free seats.
        assert_eq!(days[0]["bookable"], false);
        assert!(
            days[0]["slots"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["available"] == 0)
        );
        assert_eq!(days[1]["bookable"], true);
        let slot = first_slot(&days[1]);
        let start = time::OffsetDateTime::parse(
            slot["start"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let end = time::OffsetDateTime::parse(
            slot["end"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(end - start, time::Duration::minutes(30));
        // 07:30 in Tehran is 04:00 UTC.
        assert_eq!(slot["start"], "2026-11-29T04:00:00Z");
        assert!(slot["capacity"].as_u64().unwrap() >= 1);
        assert_eq!(slot["available"], slot["capacity"]);
        // Friday is the weekend.
        let friday = days.iter().find(|d| d["date"] == FRIDAY).unwrap();
        assert_eq!(friday["closed"], "weekly_closing");
        assert!(friday["slots"].as_array().unwrap().is_empty());

        // A regulator-entered holiday closes the day.
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let resp = app
            .send(
                app.client
                    .put(app.url("/api/v1/holidays/1405-09-09"))
                    .bearer_auth(&regulator)
                    .json(&json!({ "name_fa": "تعطیل آزمایشی", "name_en": "Test holiday" })),
            )
            .await;
        assert_eq!(resp.status, 204, "[{}] {}", app.be(), resp.text);
        let body = availability(&app, DEMO_OFFICE, "1405-09-09", 1).await;
        assert_eq!(body["days"][0]["closed"], "holiday");
        assert_eq!(body["days"][0]["closed_reason_en"], "Test holiday");

        for (query, code) in [
            ("service=NOPE-1&days=3", "unknown_service"),
            ("service=PSP-001&days=0", "invalid_days"),
            ("service=PSP-001&days=99", "invalid_days"),
            ("service=PSP-001&from=1405-13-01", "invalid_date"),
            ("days=3", "missing_field"),
        ] {
            let resp = app
                .get(&format!(
                    "/api/v1/offices/{DEMO_OFFICE}/availability?{query}"
                ))
                .await;
            resp.problem(422, code);
        }
        app.get("/api/v1/offices/99999999/availability?service=PSP-001")
            .await
            .problem(404, "not_found");
        app.stop().await;
    }
}

#[tokio::test]
async fn booking_idempotency_cancellation_and_limits() {
    for app in TestApp::all().await {
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let days = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        let slot = first_slot(&days["days"][0]).clone();
        let start = slot["start"].as_str().unwrap();
        let capacity = slot["capacity"].as_u64().unwrap();
        let citizen = app.fresh_national_code();

        let first = book(
            &app,
            &operator,
            &booking(DEMO_OFFICE, start, &citizen),
            Some("retry-1"),
        )
        .await;
        assert_eq!(first.status, 201, "[{}] {}", app.be(), first.text);
        let made = first.json();
        let code = made["tracking_code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 9, "XXXX-XXXX: {code}");
        assert_eq!(made["status"], "booked");
        assert_eq!(made["date"], TOMORROW);

        // The retry returns the same booking and takes no second seat.
        let retry = book(
            &app,
            &operator,
            &booking(DEMO_OFFICE, start, &citizen),
            Some("retry-1"),
        )
        .await;
        assert_eq!(retry.status, 201);
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        assert_eq!(retry.json()["tracking_code"], made["tracking_code"]);
        let after = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        assert_eq!(
            first_slot(&after["days"][0])["available"].as_u64().unwrap(),
            capacity - 1
        );

        // The same key for a different booking is refused.
        let other = app.fresh_national_code();
        book(
            &app,
            &operator,
            &booking(DEMO_OFFICE, start, &other),
            Some("retry-1"),
        )
        .await
        .problem(422, "idempotency_key_reused");

        // One active booking per service.
        let later = days["days"][0]["slots"][3]["start"].as_str().unwrap();
        book(
            &app,
            &operator,
            &booking(DEMO_OFFICE, later, &citizen),
            None,
        )
        .await
        .problem(422, "booking_limit_reached");

        // Anyone may look it up by tracking code only if they may book at that office.
        let got = app
            .get_as(&format!("/api/v1/bookings/{code}"), Some(&operator))
            .await;
        assert_eq!(got.status, 200);
        assert_eq!(got.json()["national_code"], citizen.as_str());
        app.get_as("/api/v1/bookings/ZZZZ-ZZZZ", Some(&operator))
            .await
            .problem(404, "not_found");

        // Cancel: the seat is free again, and a second cancel is refused.
        let cancelled = app
            .send(
                app.client
                    .post(app.url(&format!("/api/v1/bookings/{code}/cancel")))
                    .bearer_auth(&operator),
            )
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        assert_eq!(cancelled.json()["status"], "cancelled");
        let after = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        assert_eq!(
            first_slot(&after["days"][0])["available"].as_u64().unwrap(),
            capacity
        );
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/bookings/{code}/cancel")))
                .bearer_auth(&operator),
        )
        .await
        .problem(409, "not_cancellable");
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_booking_requests_are_refused_and_change_nothing() {
    for app in TestApp::all().await {
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let days = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        let start = first_slot(&days["days"][0])["start"]
            .as_str()
            .unwrap()
            .to_string();
        let citizen = app.fresh_national_code();
        let base = booking(DEMO_OFFICE, &start, &citizen);
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let table: Vec<(Value, u16, &str)> = vec![
            (
                with("national_code", json!("1111111111")),
                422,
                "invalid_national_code",
            ),
            (
                with("national_code", json!("0499370898")),
                422,
                "invalid_national_code",
            ),
            (with("mobile", json!("0812")), 422, "invalid_mobile"),
            (
                with("start", json!("tomorrow morning")),
                422,
                "invalid_start",
            ),
            (
                with("start", json!("2026-11-28T04:00:00Z")),
                422,
                "outside_booking_window",
            ),
            (
                with("start", json!("2027-01-30T04:00:00Z")),
                422,
                "outside_booking_window",
            ),
            (
                with("start", json!("2026-12-04T04:00:00Z")),
                422,
                "office_closed",
            ),
            (
                with("start", json!("2026-11-29T04:07:00Z")),
                422,
                "not_a_slot",
            ),
            (
                with("start", json!("2026-11-29T01:00:00Z")),
                422,
                "not_a_slot",
            ),
            (with("office", json!("99999999")), 422, "unknown_office"),
            (with("office", json!("1234")), 422, "invalid_office_code"),
            (with("service", json!("NOPE-999")), 422, "unknown_service"),
        ];
        for (body, status, code) in table {
            // The regulator may book anywhere, so only the input decides.
            book(&app, &regulator, &body, None)
                .await
                .problem(status, code);
        }
        // The operator books only at their own office.
        book(
            &app,
            &operator,
            &booking(OTHER_OFFICE, &start, &citizen),
            None,
        )
        .await
        .problem(403, "forbidden_other_office");
        // Without a token there is no staff booking.
        app.post_json("/api/v1/bookings", None, &base)
            .await
            .problem(401, "unauthenticated");
        // Nothing was taken.
        let after = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        assert_eq!(
            first_slot(&after["days"][0])["available"],
            first_slot(&days["days"][0])["available"]
        );
        // The regulator's booking at any office works.
        let other_days = availability(&app, OTHER_OFFICE, TOMORROW, 1).await;
        let other_start = first_slot(&other_days["days"][0])["start"]
            .as_str()
            .unwrap()
            .to_string();
        let ok = book(
            &app,
            &regulator,
            &booking(OTHER_OFFICE, &other_start, &citizen),
            None,
        )
        .await;
        assert_eq!(ok.status, 201, "[{}] {}", app.be(), ok.text);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_thousand_concurrent_requests_for_a_slot_of_ten_give_exactly_ten_bookings() {
    for app in TestApp::all().await {
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        set_cap(&app, &manager, 10).await;
        let days = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        let slot = first_slot(&days["days"][0]).clone();
        assert_eq!(slot["capacity"], 10, "the occupancy cap bounds the slot");
        let start = slot["start"].as_str().unwrap().to_string();

        let citizens: Vec<String> = (0..1000).map(|_| app.fresh_national_code()).collect();
        // Bounded fan-out: all 1,000 requests are in flight together, over 64 connections.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        let url = app.url("/api/v1/bookings");
        let mut tasks = tokio::task::JoinSet::new();
        for citizen in citizens {
            let client = client.clone();
            let url = url.clone();
            let token = operator.clone();
            let body = booking(DEMO_OFFICE, &start, &citizen);
            tasks.spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                (status, body["code"].as_str().unwrap_or("").to_string())
            });
        }
        let (mut created, mut full) = (0, 0);
        while let Some(r) = tasks.join_next().await {
            match r.unwrap() {
                (201, _) => created += 1,
                (409, code) if code == "slot_full" => full += 1,
                other => panic!("[{}] unexpected {other:?}", app.be()),
            }
        }
        assert_eq!((created, full), (10, 990), "[{}]", app.be());
        let after = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        assert_eq!(first_slot(&after["days"][0])["available"], 0);
        app.stop().await;
    }
}

#[tokio::test]
async fn rescheduling_takes_the_new_seat_before_releasing_the_old_one() {
    for app in TestApp::all().await {
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let days = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        let slots = days["days"][0]["slots"].as_array().unwrap().clone();
        let (a, b) = (
            slots[0]["start"].as_str().unwrap(),
            slots[1]["start"].as_str().unwrap(),
        );
        let citizen = app.fresh_national_code();
        let made = book(&app, &operator, &booking(DEMO_OFFICE, a, &citizen), None).await;
        assert_eq!(made.status, 201, "{}", made.text);
        let code = made.json()["tracking_code"].as_str().unwrap().to_string();
        let url = app.url(&format!("/api/v1/bookings/{code}/reschedule"));

        let moved = app
            .send(
                app.client
                    .post(&url)
                    .bearer_auth(&operator)
                    .json(&json!({ "start": b })),
            )
            .await;
        assert_eq!(moved.status, 200, "[{}] {}", app.be(), moved.text);
        assert_eq!(moved.json()["start"], b);
        assert_eq!(
            moved.json()["tracking_code"],
            code.as_str(),
            "the citizen keeps their code"
        );
        let after = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        let slot = |i: usize| after["days"][0]["slots"][i]["available"].as_u64().unwrap();
        let cap = |i: usize| after["days"][0]["slots"][i]["capacity"].as_u64().unwrap();
        assert_eq!(
            (slot(0), slot(1)),
            (cap(0), cap(1) - 1),
            "[{}] the seat moved",
            app.be()
        );

        // Fill slot a with other citizens, then try to move back: refused, nothing changes.
        for _ in 0..cap(0) {
            let other = app.fresh_national_code();
            assert_eq!(
                book(&app, &operator, &booking(DEMO_OFFICE, a, &other), None)
                    .await
                    .status,
                201
            );
        }
        app.send(
            app.client
                .post(&url)
                .bearer_auth(&operator)
                .json(&json!({ "start": a })),
        )
        .await
        .problem(409, "slot_full");
        let still = app
            .get_as(&format!("/api/v1/bookings/{code}"), Some(&operator))
            .await
            .json();
        assert_eq!(
            still["start"],
            b,
            "[{}] a refused move changes nothing",
            app.be()
        );
        let after = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        assert_eq!(after["days"][0]["slots"][0]["available"], 0);
        assert_eq!(
            after["days"][0]["slots"][1]["available"].as_u64().unwrap(),
            cap(1) - 1
        );

        // Bad targets.
        app.send(
            app.client
                .post(&url)
                .bearer_auth(&operator)
                .json(&json!({ "start": "2026-12-04T04:00:00Z" })),
        )
        .await
        .problem(422, "office_closed");
        app.send(
            app.client
                .post(&url)
                .bearer_auth(&operator)
                .json(&json!({ "start": "soon" })),
        )
        .await
        .problem(422, "invalid_start");
        // A cancelled booking can't be moved.
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/bookings/{code}/cancel")))
                .bearer_auth(&manager),
        )
        .await;
        app.send(
            app.client
                .post(&url)
                .bearer_auth(&operator)
                .json(&json!({ "start": slots[2]["start"] })),
        )
        .await
        .problem(409, "not_reschedulable");
        app.stop().await;
    }
}

#[tokio::test]
async fn citizens_sign_in_with_a_one_time_code_and_manage_only_their_own_bookings() {
    for app in TestApp::all().await {
        let citizen = app.fresh_national_code();
        let mobile = "09351112233";
        let ask = json!({ "national_code": citizen, "mobile": mobile });
        let sent = app.post_json("/api/v1/citizen/code", None, &ask).await;
        assert_eq!(sent.status, 202, "[{}] {}", app.be(), sent.text);
        app.post_json("/api/v1/citizen/code", None, &ask)
            .await
            .problem(429, "too_many_codes_for_national_code");
        app.post_json(
            "/api/v1/citizen/code",
            None,
            &json!({ "national_code": "1111111111", "mobile": mobile }),
        )
        .await
        .problem(422, "invalid_national_code");

        // The code went out through the outbox, as an SMS to that mobile.
        let messages = app.store.outbox_messages(Some(mobile), 5).await.unwrap();
        let sms = messages
            .iter()
            .find(|m| m.kind == "auth.otp")
            .expect("an SMS with the code");
        let code = sms.payload["code"].as_str().unwrap().to_string();
        assert_eq!(code.len(), 6);

        let wrong = if code == "000000" { "111111" } else { "000000" };
        app.post_json(
            "/api/v1/citizen/login",
            None,
            &json!({ "national_code": citizen, "mobile": mobile, "code": wrong }),
        )
        .await
        .problem(401, "wrong_code");
        let persian: String = pishkhan_domain::digits::to_persian_digits(&code);
        let login = app
            .post_json(
                "/api/v1/citizen/login",
                None,
                &json!({ "national_code": citizen, "mobile": mobile, "code": persian }),
            )
            .await;
        assert_eq!(login.status, 200, "[{}] {}", app.be(), login.text);
        let token = login.json()["token"].as_str().unwrap().to_string();
        // A code works once.
        app.post_json(
            "/api/v1/citizen/login",
            None,
            &json!({ "national_code": citizen, "mobile": mobile, "code": code }),
        )
        .await
        .problem(400, "code_expired");

        let days = availability(&app, DEMO_OFFICE, TOMORROW, 1).await;
        let start = first_slot(&days["days"][0])["start"]
            .as_str()
            .unwrap()
            .to_string();
        let mine = book(&app, &token, &booking(DEMO_OFFICE, &start, &citizen), None).await;
        assert_eq!(mine.status, 201, "[{}] {}", app.be(), mine.text);
        let code = mine.json()["tracking_code"].as_str().unwrap().to_string();
        // Not for someone else.
        let other = app.fresh_national_code();
        book(&app, &token, &booking(DEMO_OFFICE, &start, &other), None)
            .await
            .problem(403, "forbidden_not_yours");
        let list = app.get_as("/api/v1/me/bookings", Some(&token)).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.json()[0]["tracking_code"], code.as_str());
        // Someone else's booking is invisible.
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let theirs = book(&app, &operator, &booking(DEMO_OFFICE, &start, &other), None).await;
        let theirs = theirs.json()["tracking_code"].as_str().unwrap().to_string();
        app.get_as(&format!("/api/v1/bookings/{theirs}"), Some(&token))
            .await
            .problem(404, "not_found");
        // Their own they can cancel; staff-only endpoints stay closed.
        let cancelled = app
            .send(
                app.client
                    .post(app.url(&format!("/api/v1/bookings/{code}/cancel")))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        app.get_as("/api/v1/audit", Some(&token))
            .await
            .problem(401, "unauthenticated");
        app.stop().await;
    }
}

#[tokio::test]
async fn booking_rules_come_from_configuration_on_every_store() {
    // A deployment that lets a citizen hold two bookings of one service, and opens bookings
    // only three days ahead.
    let rules = pishkhan_domain::schedule::BookingRules {
        per_service: 2,
        last_day_offset: 3,
        ..Default::default()
    };
    for app in TestApp::all_with(|c| c.app.booking_rules = rules).await {
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let days = availability(&app, DEMO_OFFICE, TOMORROW, 7).await;
        let slots = &days["days"][0]["slots"];
        let citizen = app.fresh_national_code();
        for i in [0, 3] {
            let start = slots[i]["start"].as_str().unwrap();
            let made = book(
                &app,
                &operator,
                &booking(DEMO_OFFICE, start, &citizen),
                None,
            )
            .await;
            assert_eq!(made.status, 201, "[{}] slot {i}: {}", app.be(), made.text);
        }
        // The third of the same service is over the configured limit.
        let third = slots[5]["start"].as_str().unwrap();
        book(
            &app,
            &operator,
            &booking(DEMO_OFFICE, third, &citizen),
            None,
        )
        .await
        .problem(422, "booking_limit_reached");

        // Four days ahead is outside the configured window: not offered, and refused.
        let bookable: Vec<bool> = days["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["bookable"].as_bool().unwrap())
            .collect();
        assert!(
            !bookable[3..].iter().any(|b| *b),
            "[{}] {bookable:?}",
            app.be()
        );
        let beyond = days["days"]
            .as_array()
            .unwrap()
            .iter()
            .skip(3)
            .find_map(|d| d["slots"][0]["start"].as_str())
            .expect("an open day past the window");
        let other = app.fresh_national_code();
        book(&app, &operator, &booking(DEMO_OFFICE, beyond, &other), None)
            .await
            .problem(422, "outside_booking_window");
        app.stop().await;
    }
}
