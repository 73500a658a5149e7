//! What the queue writes beside its log (booking statuses, turn-near and survey messages,
//! the daily figures), the day-closing sweeper, the operator console over HTTP, and the
//! survey page, on every backend.

use serde_json::json;

use crate::queue::{book_at, book_today};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE, TestApp, fixed_now};
use crate::ui::{form, form_login, input_value, post_form};

fn messages_of<'a>(
    all: &'a [pishkhan_store::OutboxMessage],
    kind: &str,
    code: &str,
) -> Vec<&'a pishkhan_store::OutboxMessage> {
    all.iter()
        .filter(|m| m.kind == kind && m.payload["tracking_code"] == code)
        .collect()
}

#[tokio::test]
async fn the_queue_writes_statuses_messages_and_figures_back() {
    for app in TestApp::all().await {
        let be = app.be();
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let base = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
        let post = |path: String, body: serde_json::Value| {
            let req = app
                .client
                .post(app.url(&path))
                .bearer_auth(&operator)
                .json(&body);
            app.send(req)
        };
        let citizen = app.fresh_national_code();
        let code = book_today(&app, &citizen).await;
        let status = |code: String| {
            let path = format!("/api/v1/bookings/{code}");
            let token = operator.clone();
            let app = &app;
            async move { app.get_as(&path, Some(&token)).await.json()["status"].clone() }
        };
        assert_eq!(status(code.clone()).await, "booked", "[{be}]");

        let checked = post(format!("{base}/check-in"), json!({ "tracking_code": code })).await;
        assert_eq!(checked.status, 200, "[{be}] {}", checked.text);
        let ticket = checked.json()["ticket"].as_str().unwrap().to_string();
        assert_eq!(status(code.clone()).await, "checked_in", "[{be}]");
        // A checked-in booking can no longer be cancelled from afar.
        let cancel = post(format!("/api/v1/bookings/{code}/cancel"), json!({})).await;
        assert_eq!(cancel.status, 409, "[{be}] {}", cancel.text);

        // At the front of the line: one "your turn is near" message, never two.
        let walk = post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
        assert_eq!(walk.status, 200, "[{be}] {}", walk.text);
        let all = app.store.outbox_messages(None, 500).await.unwrap();
        let near = messages_of(&all, "queue.turn_near", &code);
        assert_eq!(near.len(), 1, "[{be}] {all:?}");
        assert_eq!(near[0].payload["ticket"], ticket.as_str());

        let called = post(format!("{base}/call-next"), json!({ "counter": 1 })).await;
        assert_eq!(called.json()["ticket"], ticket.as_str(), "[{be}]");
        let done = post(format!("{base}/tickets/{ticket}/complete"), json!({})).await;
        assert_eq!(done.status, 200, "[{be}] {}", done.text);
        assert_eq!(status(code.clone()).await, "completed", "[{be}]");

        // The survey link arrives once, and opens a survey that can be answered once.
        let all = app.store.outbox_messages(None, 500).await.unwrap();
        let survey = messages_of(&all, "visit.survey", &code);
        assert_eq!(survey.len(), 1, "[{be}] {all:?}");
        let url = survey[0].payload["url"].as_str().unwrap().to_string();
        let path = url
            .strip_prefix(&app.base)
            .expect("survey url on this server");
        let page = app.get(path).await;
        assert_eq!(page.status, 200, "[{be}] {}", page.text);
        assert!(page.text.contains("نظرسنجی"), "[{be}]");
        let bad = post_form(&app, path, "", form(&[("rating", "9")])).await;
        assert_eq!(bad.status, 422, "[{be}]");
        let ok = post_form(&app, path, "", form(&[("rating", "۵"), ("comment", "خوب")])).await;
        assert_eq!(ok.status, 200, "[{be}] {}", ok.text);
        assert!(ok.text.contains("survey-thanks"), "[{be}]");
        let again = post_form(&app, path, "", form(&[("rating", "1")])).await;
        assert_eq!(again.status, 409, "[{be}]");
        assert_eq!(app.get("/survey/not-a-token").await.status, 404, "[{be}]");

        // Figures: the manager sees their office, the regulator every office; operators and
        // other offices' managers do not.
        let fig_path = format!("/api/v1/offices/{DEMO_OFFICE}/figures");
        let figures = app.get_as(&fig_path, Some(&manager)).await;
        assert_eq!(figures.status, 200, "[{be}] {}", figures.text);
        let f = figures.json();
        assert_eq!(f["date"], "1405-09-07", "[{be}]");
        assert_eq!(f["bookings"], 1, "[{be}] {f}");
        assert_eq!(f["check_ins"], 1, "[{be}] {f}");
        assert_eq!(f["walk_ins"], 1, "[{be}] {f}");
        assert_eq!(f["completed"], 1, "[{be}] {f}");
        assert_eq!(f["booked_share"], 0.5, "[{be}] {f}");
        app.get_as(&fig_path, Some(&operator))
            .await
            .problem(403, "forbidden_role");
        app.get_as(
            &format!("/api/v1/offices/{OTHER_OFFICE}/figures"),
            Some(&manager),
        )
        .await
        .problem(403, "forbidden_other_office");
        app.get_as(&format!("{fig_path}?date=1405-13-40"), Some(&manager))
            .await
            .problem(422, "invalid_date");
        let daily = app
            .get_as("/api/v1/figures/daily?date=1405-09-07", Some(&regulator))
            .await;
        assert_eq!(daily.status, 200, "[{be}] {}", daily.text);
        let d = daily.json();
        assert_eq!(d["total"], 1, "[{be}] {d}");
        assert_eq!(d["items"][0]["office"], DEMO_OFFICE, "[{be}]");
        assert_eq!(d["items"][0]["completed"], 1, "[{be}] {d}");
        app.get_as("/api/v1/figures/daily", Some(&manager))
            .await
            .problem(403, "forbidden_role");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_sweeper_sends_reminders_once_and_closes_missed_bookings() {
    for app in TestApp::all().await {
        let be = app.be();
        let operator = app.login("operator", DEMO_PASSWORD).await;
        // Missed: this morning's 09:00 Tehran slot, never checked in.
        let now_ms = pishkhan_domain::schedule::unix_ms(fixed_now());
        let missed = book_at(&app, &app.fresh_national_code(), now_ms - 4 * 3600 * 1000).await;
        // Tomorrow's appointment, booked through the API.
        let day = app
            .get(&format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"
            ))
            .await
            .json();
        let start = day["days"][0]["slots"][0]["start"]
            .as_str()
            .unwrap()
            .to_string();
        let booked = app
            .post_json(
                "/api/v1/bookings",
                Some(&operator),
                &json!({ "office": DEMO_OFFICE, "service": "PSP-001", "start": start,
                         "national_code": app.fresh_national_code(), "mobile": "09121234567" }),
            )
            .await;
        assert_eq!(booked.status, 201, "[{be}] {}", booked.text);
        let tomorrow = booked.json()["tracking_code"].as_str().unwrap().to_string();

        let first = pishkhan_app::sweep::sweep(app.state.app()).await.unwrap();
        assert_eq!(first.reminders, 1, "[{be}] {first:?}");
        assert_eq!(first.offices_settled, 1, "[{be}] {first:?}");
        assert_eq!(first.bookings_settled, 1, "[{be}] {first:?}");
        let missed_now = app
            .get_as(&format!("/api/v1/bookings/{missed}"), Some(&operator))
            .await
            .json();
        assert_eq!(missed_now["status"], "no_show", "[{be}] {missed_now}");
        let all = app.store.outbox_messages(None, 500).await.unwrap();
        assert_eq!(
            messages_of(&all, "booking.reminder", &tomorrow).len(),
            1,
            "[{be}] {all:?}"
        );

        // Sweeping again changes nothing and sends nothing twice.
        let second = pishkhan_app::sweep::sweep(app.state.app()).await.unwrap();
        assert_eq!(
            second,
            pishkhan_app::sweep::SweepReport::default(),
            "[{be}]"
        );
        let all = app.store.outbox_messages(None, 500).await.unwrap();
        assert_eq!(messages_of(&all, "booking.reminder", &tomorrow).len(), 1);
        let f = app
            .get_as(
                &format!("/api/v1/offices/{DEMO_OFFICE}/figures"),
                Some(&app.login("manager", DEMO_PASSWORD).await),
            )
            .await
            .json();
        assert_eq!(f["no_shows"], 1, "[{be}] {f}");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_operator_works_the_queue_at_the_console() {
    for app in TestApp::all().await {
        let be = app.be();
        let (_, session) = form_login(&app, "operator", "/console").await;
        let get = |path: &str| app.send(app.client.get(app.url(path)).header("cookie", &session));
        let page = get("/console").await;
        assert_eq!(page.status, 200, "[{be}] {}", page.text);
        assert!(page.text.contains("میز کار باجه"), "[{be}]");
        let csrf = input_value(&page.text, "csrf");
        let citizen = app.fresh_national_code();
        let code = book_today(&app, &citizen).await;
        let page = get("/console").await;
        assert!(page.text.contains(&code), "[{be}] booking listed");

        let act = |path: &'static str, pairs: Vec<(&'static str, String)>| {
            let mut all: Vec<(&str, String)> =
                vec![("csrf", csrf.clone()), ("counter", "1".into())];
            all.extend(pairs);
            let body = form(
                &all.iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .collect::<Vec<_>>(),
            );
            post_form(&app, path, &session, body)
        };
        // Check in by national code typed in Persian digits.
        let persian: String = citizen
            .chars()
            .map(|c| char::from_u32('۰' as u32 + c.to_digit(10).unwrap()).unwrap())
            .collect();
        let checked = act("/console/check-in", vec![("code", persian)]).await;
        assert_eq!(checked.status, 303, "[{be}] {}", checked.text);
        let walk = act("/console/walk-in", vec![("service", "PSP-001".into())]).await;
        assert_eq!(walk.status, 303, "[{be}] {}", walk.text);
        let called = act("/console/call-next", vec![]).await;
        assert_eq!(called.status, 303, "[{be}]");
        let location = called.header("location").unwrap().to_string();
        assert!(location.contains("done=call"), "{location}");
        assert!(
            location.contains("ticket=B-001"),
            "[{be}] booked first: {location}"
        );
        let after = get(&location).await;
        assert!(after.text.contains("console-notice"), "[{be}]");
        assert!(
            after.text.contains("/console/tickets/B-001/complete"),
            "[{be}]"
        );
        let done = act("/console/tickets/B-001/complete", vec![]).await;
        assert_eq!(done.status, 303, "[{be}]");

        // The live panel shows the walk-in still waiting with an estimated wait.
        let live = get("/console/live?counter=1").await;
        assert_eq!(live.status, 200, "[{be}]");
        assert!(live.text.contains("W-"), "[{be}] {}", live.text);

        // Refusals re-render the console with the reason; a bad CSRF token is refused.
        let unknown = act("/console/check-in", vec![("code", "ZZZZ-ZZZZ".into())]).await;
        assert_eq!(unknown.status, 422, "[{be}]");
        assert!(
            unknown.text.contains("console-error"),
            "[{be}] {}",
            unknown.text
        );
        let forged = post_form(
            &app,
            "/console/call-next",
            &session,
            form(&[("csrf", "forged"), ("counter", "1")]),
        )
        .await;
        assert_eq!(forged.status, 403, "[{be}]");
        // Without a session there is no console.
        assert_ne!(app.get("/console").await.status, 200, "[{be}]");
        app.stop().await;
    }
}

#[tokio::test]
async fn citizens_find_the_earliest_slot_near_them_or_in_their_city() {
    for app in TestApp::all().await {
        let be = app.be();
        let me = app
            .nation
            .offices
            .iter()
            .find(|o| o.code.to_string() == DEMO_OFFICE)
            .unwrap()
            .clone();
        let near = app
            .get(&format!(
                "/api/v1/search/slots?service=PSP-001&lat={}&lon={}&limit=5",
                me.lat, me.lon
            ))
            .await;
        assert_eq!(near.status, 200, "[{be}] {}", near.text);
        let r = near.json();
        let results = r["results"].as_array().unwrap();
        assert!(!results.is_empty(), "[{be}] {r}");
        assert!(results.len() <= 5);
        assert_eq!(
            results[0]["office"], DEMO_OFFICE,
            "[{be}] the office I stand in"
        );
        assert_eq!(results[0]["distance_km"], 0.0);
        let distances: Vec<f64> = results
            .iter()
            .map(|x| x["distance_km"].as_f64().unwrap())
            .collect();
        assert!(
            distances.windows(2).all(|w| w[0] <= w[1]),
            "[{be}] {distances:?}"
        );
        assert!(
            results[0]["date"].as_str().unwrap() >= "1405-09-08",
            "from tomorrow"
        );

        // By city: only that city's offices, earliest first.
        let city = me.city.fa.clone();
        let by_city = app
            .get(&format!(
                "/api/v1/search/slots?service=PSP-001&province={}&city={}",
                me.province_id,
                crate::support::enc(&city)
            ))
            .await;
        assert_eq!(by_city.status, 200, "[{be}] {}", by_city.text);
        let r = by_city.json();
        let results = r["results"].as_array().unwrap();
        assert!(!results.is_empty(), "[{be}] {r}");
        assert!(
            results.iter().all(|x| x["city_fa"] == city.as_str()),
            "[{be}] {r}"
        );
        let starts: Vec<&str> = results
            .iter()
            .map(|x| x["start"].as_str().unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "[{be}] {starts:?}");

        // Bad input is a problem, never a guess.
        app.get("/api/v1/search/slots?lat=35&lon=51")
            .await
            .problem(422, "missing_field");
        app.get("/api/v1/search/slots?service=PSP-001&lat=35")
            .await
            .problem(422, "invalid_position");
        app.get("/api/v1/search/slots?service=PSP-001")
            .await
            .problem(422, "missing_field");
        app.get("/api/v1/search/slots?service=PSP-001&province=40")
            .await
            .problem(422, "invalid_province");
        app.get("/api/v1/search/slots?service=NOPE-9&province=1")
            .await
            .problem(422, "unknown_service");
        app.stop().await;
    }
}

#[tokio::test]
async fn counters_serve_only_their_services_and_capacity_follows() {
    for app in TestApp::all().await {
        let be = app.be();
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let avail = |_: &TestApp| {
            let path = format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"
            );
            let app = &app;
            async move {
                app.get(&path).await.json()["days"][0]["slots"][0]["capacity"]
                    .as_u64()
                    .unwrap()
            }
        };
        let before = avail(&app).await;
        let put = |body: serde_json::Value| {
            let req = app
                .client
                .put(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/counters")))
                .bearer_auth(&manager)
                .json(&body);
            app.send(req)
        };
        // Counter 1 serves only passports, counter 2 only national ID cards.
        let set = put(json!({ "counters": [
            { "counter": 1, "services": ["PSP-001"] },
            { "counter": 2, "services": ["NID-001"] },
        ]}))
        .await;
        assert_eq!(set.status, 200, "[{be}] {}", set.text);
        let after = avail(&app).await;
        assert!(after < before, "[{be}] capacity {before} -> {after}");
        assert_eq!(
            app.get(&format!("/api/v1/offices/{DEMO_OFFICE}/counters"))
                .await
                .json()["counters"][0]["services"][0],
            "PSP-001"
        );

        let base = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
        let post = |path: String, body: serde_json::Value| {
            let req = app
                .client
                .post(app.url(&path))
                .bearer_auth(&operator)
                .json(&body);
            app.send(req)
        };
        let id_card = post(format!("{base}/walk-in"), json!({ "service": "NID-001" })).await;
        assert_eq!(id_card.status, 200, "[{be}] {}", id_card.text);
        let passport = post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
        let passport_ticket = passport.json()["ticket"].as_str().unwrap().to_string();
        // Counter 1 skips the earlier ID-card ticket and calls the passport one.
        let called = post(format!("{base}/call-next"), json!({ "counter": 1 })).await;
        assert_eq!(called.json()["ticket"], passport_ticket.as_str(), "[{be}]");

        // Bad settings are refused and change nothing; operators may not set them.
        put(json!({ "counters": [{ "counter": 99 }] }))
            .await
            .problem(422, "invalid_counter");
        put(json!({ "counters": [{ "counter": 1, "services": ["NOPE-1"] }] }))
            .await
            .problem(422, "unknown_service");
        app.send(
            app.client
                .put(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/counters")))
                .bearer_auth(&operator)
                .json(&json!({ "counters": [] })),
        )
        .await
        .problem(403, "forbidden_role");
        assert_eq!(
            avail(&app).await,
            after,
            "[{be}] unchanged by refused requests"
        );
        // Back to every counter for everything.
        assert_eq!(put(json!({ "counters": [] })).await.status, 200);
        assert_eq!(avail(&app).await, before, "[{be}]");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_console_action_at_a_counter_the_office_lacks_is_refused() {
    for app in TestApp::all().await {
        let be = app.be();
        let (_, session) = form_login(&app, "operator", "/console").await;
        let page = app
            .send(
                app.client
                    .get(app.url("/console"))
                    .header("cookie", &session),
            )
            .await;
        let csrf = input_value(&page.text, "csrf");
        let citizen = app.fresh_national_code();
        book_today(&app, &citizen).await;
        let checked = post_form(
            &app,
            "/console/check-in",
            &session,
            form(&[("csrf", &csrf), ("counter", "1"), ("code", &citizen)]),
        )
        .await;
        assert_eq!(checked.status, 303, "[{be}] {}", checked.text);
        // Counter 99 does not exist: nobody is called there, or at counter 1 in its place.
        let called = post_form(
            &app,
            "/console/call-next",
            &session,
            form(&[("csrf", &csrf), ("counter", "99")]),
        )
        .await;
        assert_eq!(called.status, 422, "[{be}] {}", called.text);
        // In the page's language (Persian by default), not the API's English detail.
        assert!(
            called.text.contains("این دفتر چنین باجه‌ای ندارد"),
            "[{be}] {}",
            called.text
        );
        assert!(!called.text.contains("this office has counters"), "[{be}]");
        let board = app
            .get(&format!("/api/v1/offices/{DEMO_OFFICE}/queue"))
            .await
            .json();
        assert_eq!(
            board["now_serving"],
            serde_json::json!([]),
            "[{be}] {board}"
        );
        app.stop().await;
    }
}
