//! `kill -9` during a booking load: after a restart every acknowledged booking is there, and
//! no slot holds more than its capacity.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pishkhan_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::Server;

/// Booking requests each writer sends at most, and how long the load runs before the kill.
const MAX_REQUESTS_PER_WRITER: u32 = 400;
const WRITERS: u32 = 8;
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1500);

async fn free_slots(server: &Server, office: &str) -> Vec<(String, u64)> {
    let body = server
        .get(&format!(
            "/api/v1/offices/{office}/availability?service=PSP-001&days=10"
        ))
        .await
        .expect(200);
    body["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["bookable"] == true)
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_string(),
                s["capacity"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn booked_per_slot(server: &Server, office: &str) -> HashMap<String, (u64, u64)> {
    let body = server
        .get(&format!(
            "/api/v1/offices/{office}/availability?service=PSP-001&days=10"
        ))
        .await
        .expect(200);
    body["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .map(|s| {
            let cap = s["capacity"].as_u64().unwrap();
            let free = s["available"].as_u64().unwrap();
            (s["start"].as_str().unwrap().to_string(), (cap, cap - free))
        })
        .collect()
}

#[tokio::test]
async fn kill_9_during_a_booking_load_loses_no_acknowledged_booking() {
    for db in TestDb::all().await {
        let server = Server::demo(&db).await;
        let token = server.login("operator", "demo1234").await.expect(200)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let office = "11000001".to_string();
        let slots = free_slots(&server, &office).await;
        assert!(slots.len() > 20, "enough slots to spread the load");

        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let url = server.url("/api/v1/bookings");
        let started = Instant::now();
        let booked = Arc::new(AtomicUsize::new(0));
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..WRITERS {
            let (http, url, token, slots, office, booked) = (
                http.clone(),
                url.clone(),
                token.clone(),
                slots.clone(),
                office.clone(),
                booked.clone(),
            );
            writers.spawn(async move {
                let mut acknowledged: Vec<(String, String)> = Vec::new();
                for i in 0..MAX_REQUESTS_PER_WRITER {
                    let person = w * MAX_REQUESTS_PER_WRITER + i;
                    let code =
                        pishkhan_domain::NationalCode::from_body(300_000_000 + person).unwrap();
                    let (start, _) = &slots[(person as usize * 7) % slots.len()];
                    let body = json!({
                        "office": office, "service": "PSP-001", "start": start,
                        "national_code": code.as_str(), "mobile": "09121234567",
                    });
                    let Ok(resp) = http.post(&url).bearer_auth(&token).json(&body).send().await
                    else {
                        break; // the server is gone
                    };
                    let status = resp.status().as_u16();
                    let Ok(v) = resp.json::<Value>().await else {
                        break;
                    };
                    if status == 201 {
                        booked.fetch_add(1, Ordering::Relaxed);
                        acknowledged.push((
                            v["tracking_code"].as_str().unwrap().to_string(),
                            start.clone(),
                        ));
                    } else {
                        assert_eq!(
                            (status, v["code"].as_str()),
                            (409, Some("slot_full")),
                            "{v}"
                        );
                    }
                }
                acknowledged
            });
        }
        // Under way means bookings are being acknowledged: on a loaded machine the first
        // ones can take longer than the planned load, and a kill before any proves nothing.
        let deadline = started + Duration::from_secs(60);
        while booked.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(LOAD_BEFORE_KILL.saturating_sub(started.elapsed())).await;
        server.kill9();
        let mut acknowledged = Vec::new();
        while let Some(r) = writers.join_next().await {
            acknowledged.extend(r.unwrap());
        }
        assert!(
            !acknowledged.is_empty(),
            "[{}] the load booked something before the kill",
            db.backend().name()
        );

        let server = Server::demo(&db).await;
        let token = server.login("operator", "demo1234").await.expect(200)["token"]
            .as_str()
            .unwrap()
            .to_string();
        for (code, _) in &acknowledged {
            let got = server
                .get_as(&format!("/api/v1/bookings/{code}"), &token)
                .await
                .expect(200);
            assert_eq!(got["status"], "booked", "[{}] {code}", db.backend().name());
        }
        let per_slot = booked_per_slot(&server, &office).await;
        let mut acked_per_slot: HashMap<&str, u64> = HashMap::new();
        for (_, start) in &acknowledged {
            *acked_per_slot.entry(start.as_str()).or_default() += 1;
        }
        for (start, n) in acked_per_slot {
            let (cap, booked) = per_slot[start];
            assert!(
                booked <= cap,
                "[{}] slot {start} over capacity: {booked} > {cap}",
                db.backend().name()
            );
            assert!(
                n <= booked,
                "[{}] slot {start}: {n} acknowledged but {booked} stored",
                db.backend().name()
            );
        }
        server.stop();
    }
}
