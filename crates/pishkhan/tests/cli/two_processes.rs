//! Two server processes sharing one PostgreSQL database, hammering the same slots, never put
//! more people in a slot than it holds.

use std::collections::HashMap;
use std::time::Duration;

use pishkhan_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::Server;

const OFFICE: &str = "11000001";
const REQUESTS_PER_PROCESS: u32 = 300;

#[tokio::test]
async fn two_processes_on_one_postgres_never_exceed_capacity() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!(
            "PostgreSQL not configured (PISHKHAN_TEST_POSTGRES_URL); SQLite has one owner by design"
        );
        return;
    };
    let first = Server::demo(&db).await;
    let second = Server::serve(&db).await;
    let mut tokens = Vec::new();
    for server in [&first, &second] {
        let t = server.login("operator", "demo1234").await.expect(200)["token"]
            .as_str()
            .unwrap()
            .to_string();
        tokens.push(t);
    }
    let availability = first
        .get(&format!(
            "/api/v1/offices/{OFFICE}/availability?service=PSP-001&days=4"
        ))
        .await
        .expect(200);
    // A handful of slots, so both processes fight over each one.
    let slots: Vec<(String, u64)> = availability["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["bookable"] == true)
        .flat_map(|d| d["slots"].as_array().unwrap().clone())
        .take(5)
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_string(),
                s["capacity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(slots.len(), 5);

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for (p, server) in [&first, &second].into_iter().enumerate() {
        for i in 0..REQUESTS_PER_PROCESS {
            let person = p as u32 * REQUESTS_PER_PROCESS + i;
            let (start, _) = slots[(person as usize) % slots.len()].clone();
            let (http, url, token) = (
                http.clone(),
                server.url("/api/v1/bookings"),
                tokens[p].clone(),
            );
            tasks.spawn(async move {
                let code = pishkhan_domain::NationalCode::from_body(400_000_000 + person).unwrap();
                let body = json!({
                    "office": OFFICE, "service": "PSP-001", "start": start,
                    "national_code": code.as_str(), "mobile": "09121234567",
                });
                let resp = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let v: Value = resp.json().await.unwrap();
                (start, status, v["code"].as_str().unwrap_or("").to_string())
            });
        }
    }
    let mut created: HashMap<String, u64> = HashMap::new();
    while let Some(r) = tasks.join_next().await {
        let (start, status, code) = r.unwrap();
        match status {
            201 => *created.entry(start).or_default() += 1,
            409 => assert_eq!(code, "slot_full"),
            other => panic!("unexpected {other} {code}"),
        }
    }
    for (start, capacity) in &slots {
        let n = created.get(start).copied().unwrap_or(0);
        assert_eq!(
            n, *capacity,
            "slot {start}: {n} bookings for capacity {capacity}"
        );
    }
    // Both processes report the same, full slots.
    for server in [&first, &second] {
        let a = server
            .get(&format!(
                "/api/v1/offices/{OFFICE}/availability?service=PSP-001&days=4"
            ))
            .await
            .expect(200);
        for (start, _) in &slots {
            let slot = a["days"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|d| d["slots"].as_array().unwrap().clone())
                .find(|s| s["start"] == start.as_str())
                .unwrap();
            assert_eq!(slot["available"], 0, "{start}");
        }
    }
    first.stop();
    second.stop();
}
