//! The counter's own moves over HTTP, on every backend: recall, transfer to another counter
//! (and the counters that cannot take the person), pause and resume, with their stable codes.

use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

#[tokio::test]
async fn recall_transfer_pause_and_resume_at_the_counter() {
    for app in TestApp::all().await {
        let be = app.be();
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let base = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
        let post = |path: String, body: Value| {
            let req = app
                .client
                .post(app.url(&path))
                .bearer_auth(&operator)
                .json(&body);
            app.send(req)
        };
        let office = app
            .get(&format!("/api/v1/offices/{DEMO_OFFICE}"))
            .await
            .json();
        let counters = office["counters"].as_u64().unwrap();
        assert!(
            counters >= 2,
            "[{be}] the demo office has {counters} counters"
        );
        let services = app.get("/api/v1/services?per_page=100").await.json();
        let other_service = services["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["code"].as_str().unwrap().to_string())
            .find(|c| c != "PSP-001")
            .expect("a second service");

        // Nobody to recall, transfer or call yet.
        post(format!("{base}/counters/1/recall"), json!({}))
            .await
            .problem(409, "nobody_served");
        post(format!("{base}/counters/1/transfer"), json!({ "to": 2 }))
            .await
            .problem(409, "nobody_served");
        post(format!("{base}/counters/x/recall"), json!({}))
            .await
            .problem(422, "invalid_counter");

        let first = post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
        assert_eq!(first.status, 200, "[{be}] {}", first.text);
        let first = first.json()["ticket"].as_str().unwrap().to_string();
        let second = post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
        let second = second.json()["ticket"].as_str().unwrap().to_string();

        let called = post(format!("{base}/call-next"), json!({ "counter": 1 })).await;
        assert_eq!(called.json()["ticket"], first.as_str(), "[{be}]");
        // Calling again while serving is refused; so is a break.
        post(format!("{base}/call-next"), json!({ "counter": 1 }))
            .await
            .problem(409, "counter_busy");
        post(format!("{base}/counters/1/pause"), json!({}))
            .await
            .problem(409, "counter_busy");

        let recalled = post(format!("{base}/counters/1/recall"), json!({})).await;
        assert_eq!(recalled.status, 200, "[{be}] {}", recalled.text);
        assert_eq!(recalled.json()["ticket"], first.as_str());
        let serving = &recalled.json()["queue"]["now_serving"];
        assert_eq!(serving[0]["counter"], 1, "[{be}] {serving}");

        // Counter 2 handles another service only: it cannot take a passport applicant.
        let only_other = json!({ "counters": [
            { "counter": 1, "services": null },
            { "counter": 2, "services": [other_service] },
        ]});
        let set = app
            .put_json(
                &format!("/api/v1/offices/{DEMO_OFFICE}/counters"),
                Some(&manager),
                &only_other,
            )
            .await;
        assert_eq!(set.status, 200, "[{be}] {}", set.text);
        post(format!("{base}/counters/1/transfer"), json!({ "to": 2 }))
            .await
            .problem(409, "counter_cannot_serve");
        post(format!("{base}/counters/1/transfer"), json!({ "to": 1 }))
            .await
            .problem(409, "transfer_same_counter");
        post(
            format!("{base}/counters/1/transfer"),
            json!({ "to": counters + 5 }),
        )
        .await
        .problem(409, "unknown_counter");
        let every = app
            .put_json(
                &format!("/api/v1/offices/{DEMO_OFFICE}/counters"),
                Some(&manager),
                &json!({ "counters": [] }),
            )
            .await;
        assert_eq!(every.status, 200, "[{be}] {}", every.text);

        let moved = post(format!("{base}/counters/1/transfer"), json!({ "to": 2 })).await;
        assert_eq!(moved.status, 200, "[{be}] {}", moved.text);
        assert_eq!(moved.json()["ticket"], first.as_str());
        let board = &moved.json()["queue"];
        assert!(
            board["now_serving"].as_array().unwrap().is_empty(),
            "[{be}] {board}"
        );
        assert_eq!(board["waiting"], 2, "[{be}] {board}");

        // Counter 1 passes the transferred person by; counter 2 calls them first.
        let next1 = post(format!("{base}/call-next"), json!({ "counter": 1 })).await;
        assert_eq!(next1.json()["ticket"], second.as_str(), "[{be}]");
        let next2 = post(format!("{base}/call-next"), json!({ "counter": 2 })).await;
        assert_eq!(next2.json()["ticket"], first.as_str(), "[{be}]");

        // Breaks.
        post(format!("{base}/tickets/{first}/complete"), json!({})).await;
        post(format!("{base}/counters/2/resume"), json!({}))
            .await
            .problem(409, "counter_not_paused");
        let paused = post(format!("{base}/counters/2/pause"), json!({})).await;
        assert_eq!(paused.status, 200, "[{be}] {}", paused.text);
        assert_eq!(paused.json()["paused_counters"], json!([2]), "[{be}]");
        post(format!("{base}/counters/2/pause"), json!({}))
            .await
            .problem(409, "counter_paused");
        post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
        post(format!("{base}/call-next"), json!({ "counter": 2 }))
            .await
            .problem(409, "counter_paused");
        // Nobody can be sent to a counter on a break.
        post(format!("{base}/counters/1/transfer"), json!({ "to": 2 }))
            .await
            .problem(409, "counter_paused");
        let board = app.get(&base).await.json();
        assert_eq!(board["paused_counters"], json!([2]), "[{be}] {board}");
        let resumed = post(format!("{base}/counters/2/resume"), json!({})).await;
        assert_eq!(resumed.status, 200, "[{be}] {}", resumed.text);
        assert_eq!(resumed.json()["paused_counters"], json!([]));
        let called = post(format!("{base}/call-next"), json!({ "counter": 2 })).await;
        assert_eq!(called.status, 200, "[{be}] {}", called.text);

        // Only staff of the office move its counters.
        app.post_json(&format!("{base}/counters/1/pause"), None, &json!({}))
            .await
            .problem(401, "unauthenticated");

        // The log replays to the same board.
        let now = app.get(&base).await.json();
        assert_eq!(app.get(&base).await.json(), now);
        app.stop().await;
    }
}
