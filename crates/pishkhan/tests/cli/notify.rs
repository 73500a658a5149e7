//! The running server delivers booking confirmations from the outbox: by default into
//! DATA_DIR/notifications.log, one line per event, in Persian and English.

use std::time::{Duration, Instant};

use pishkhan_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::Server;

#[tokio::test]
async fn a_booking_confirmation_reaches_the_notification_log_once() {
    let db = TestDb::sqlite();
    let server = Server::demo(&db).await;
    let token = server.login("operator", "demo1234").await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let availability = server
        .get("/api/v1/offices/11000001/availability?service=PSP-001&days=5")
        .await
        .expect(200);
    let start = availability["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["bookable"] == true)
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .next()
        .unwrap()["start"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let made: Value = http
        .post(server.url("/api/v1/bookings"))
        .bearer_auth(&token)
        .json(&json!({
            "office": "11000001", "service": "PSP-001", "start": start,
            "national_code": "0499370899", "mobile": "09121234567",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = made["tracking_code"].as_str().expect("booked").to_string();

    let log = db.data_dir().unwrap().join("notifications.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains(&code)) {
            break l.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no notification for {code} in {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["kind"], "booking.confirmed");
    assert_eq!(entry["recipient"], "09121234567");
    let fa = entry["text_fa"].as_str().unwrap();
    assert!(fa.contains(&code), "{fa}");
    assert!(
        fa.chars().any(|c| ('۰'..='۹').contains(&c)),
        "Persian digits: {fa}"
    );
    assert!(entry["text_en"].as_str().unwrap().contains(&code));
    server.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(&code) && l.contains("booking.confirmed"))
            .count(),
        1
    );
}
