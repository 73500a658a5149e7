//! Several stateless `pishkhan serve` nodes behind HAProxy, on one PostgreSQL primary with a
//! synchronous streaming replica (two local clusters of the test's own, `pg_cluster.rs`):
//!
//! - a session made on one node works on the others, and a sign-out or a suspension made on
//!   one is in force on all within a second;
//! - the abuse limits (sign-in codes per mobile, failed sign-ins, inquiries per operator) are
//!   counted once for the deployment, not once per node;
//! - inquiries on every node at once keep the message log one tree (the appenders take turns
//!   at the head row), and `pishkhan audit verify` passes;
//! - a booking storm over all nodes never overbooks;
//! - a release closed on two nodes at once books each winner once;
//! - stopping the primary and promoting the replica (`pg_ctl promote`) brings the nodes back
//!   through the balancer without losing an acknowledged booking (synchronous replication).
//!
//! One deployment serves every phase: loading the nation takes most of the time.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::pg_cluster::{Balancer, Pair, connect, free_port, missing};
use crate::support::{DEMO_LOAD, STARTUP, Server, pishkhan, run_cmd};

const OFFICE: &str = "11000001";
const SERVICE: &str = "PSP-001";
const PASSWORD: &str = "demo1234";
/// The default limit of inquiries per operator and minute (all at once if they come so).
const OPERATOR_PER_MIN: usize = 120;

struct Deployment {
    // Dropped in this order: nodes, then the balancer, then the clusters.
    nodes: Vec<Server>,
    lb: Balancer,
    pair: Pair,
    data: tempfile::TempDir,
    http: reqwest::Client,
    /// Straight to the primary (the outbox's codes; checks of what is stored).
    primary: sqlx::PgPool,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Deployment {
    async fn start() -> Option<Deployment> {
        std::env::var("PISHKHAN_TEST_POSTGRES_URL").ok()?;
        if let Some(what) = missing() {
            assert!(
                std::env::var("PISHKHAN_REQUIRE_MULTINODE").as_deref() != Ok("1"),
                "the multi-node test needs {what}"
            );
            eprintln!("skipped: the multi-node test needs {what}");
            return None;
        }
        let pair = Pair::start();
        let (admin, _) = connect(&pair.primary.url("postgres")).await;
        sqlx::query("CREATE DATABASE pishkhan")
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        pair.make_synchronous().await;
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let lb = Balancer::start(&pair, &ports);
        let data = tempfile::tempdir().unwrap();
        let url = lb.pg_url("pishkhan");
        let global = |cmd: &mut std::process::Command| {
            cmd.arg("--database-url")
                .arg(&url)
                .arg("--data-dir")
                .arg(data.path());
        };
        let mut load = pishkhan(data.path());
        global(&mut load);
        load.args(["demo", "--load-only"]);
        run_cmd(load, DEMO_LOAD).ok();
        // What people reach: the balancer (the demo's card processor calls back through it).
        let public_url = lb.web("");
        let mut nodes = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let mut cmd = pishkhan(data.path());
            global(&mut cmd);
            let listen = format!("127.0.0.1:{port}");
            let common = [
                "--listen",
                &listen,
                "--public-url",
                &public_url,
                "--trusted-proxy",
                "127.0.0.1",
            ];
            if i == 0 {
                // The first node is the demo: it starts the reference agencies and signs the
                // directory the others read.
                cmd.arg("demo").args(common);
                let node =
                    Server::spawn_at(cmd, "web UI:", &format!("http://{listen}"), DEMO_LOAD).await;
                node.wait_stdout("audit:");
                nodes.push(node);
            } else {
                let d = data.path();
                cmd.arg("serve").args(common);
                cmd.arg("--exchange-directory")
                    .arg(d.join("exchange/directory.jws"))
                    .arg("--exchange-key")
                    .arg(d.join("keys/exchange.jwk"))
                    .arg("--log-key")
                    .arg(d.join("keys/log.jwk"))
                    .arg("--receipt-key")
                    .arg(d.join("keys/receipt.jwk"))
                    .arg("--regulator-key")
                    .arg(d.join("exchange/regulator.pub.jwk"));
                nodes.push(
                    Server::spawn_at(
                        cmd,
                        "pishkhan serving on ",
                        &format!("http://{listen}"),
                        STARTUP,
                    )
                    .await,
                );
            }
        }
        let (primary, _) = connect(&pair.primary.url("pishkhan")).await;
        let deployment = Deployment {
            nodes,
            lb,
            pair,
            data,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            primary,
        };
        // The balancer sends traffic once its health checks find the nodes ready.
        let deadline = Instant::now() + Duration::from_secs(30);
        while deployment.lb_get("/readyz").await.map(|r| r.status) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the balancer found no ready node"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some(deployment)
    }

    fn node(&self, i: usize) -> &Server {
        &self.nodes[i % self.nodes.len()]
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Option<Reply> {
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        let text = resp.text().await.ok()?;
        Some(Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    async fn lb_get(&self, path: &str) -> Option<Reply> {
        self.send(self.http.get(self.lb.web(path))).await
    }

    /// POST to node `i` as `token`, claiming to come from `from` (the nodes trust loopback
    /// as their balancer, so they believe `X-Forwarded-For` from the test).
    async fn post(
        &self,
        i: usize,
        path: &str,
        token: Option<&str>,
        from: &str,
        body: &Value,
    ) -> Reply {
        let mut req = self
            .http
            .post(self.node(i).url(path))
            .header("x-forwarded-for", from)
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req)
            .await
            .unwrap_or_else(|| panic!("POST {path} on node {}", i % 3 + 1))
    }

    async fn get(&self, i: usize, path: &str, token: &str) -> Reply {
        self.send(self.http.get(self.node(i).url(path)).bearer_auth(token))
            .await
            .unwrap_or_else(|| panic!("GET {path} on node {}", i % 3 + 1))
    }

    async fn staff(&self, i: usize, username: &str) -> String {
        let r = self
            .post(
                i,
                "/api/v1/auth/login",
                None,
                "10.1.0.1",
                &json!({ "username": username, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, 200, "{username} signs in: {}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    /// Signs citizen `n` in on node `n`, with the code the outbox holds for their mobile.
    async fn citizen(&self, n: usize) -> (String, String) {
        let national_code = pishkhan_domain::NationalCode::from_body(610_000_000 + n as u32)
            .unwrap()
            .as_str()
            .to_string();
        let mobile = format!("0936{:07}", 2_000_000 + n);
        let from = format!("10.2.{}.{}", n / 250, n % 250 + 1);
        let ask = json!({ "national_code": national_code, "mobile": mobile });
        let sent = self
            .post(n, "/api/v1/citizen/code", None, &from, &ask)
            .await;
        assert_eq!(sent.status, 202, "citizen {n}: {}", sent.body);
        let payload: String = sqlx::query_scalar(
            "SELECT payload_json FROM outbox WHERE recipient = $1 AND kind = 'auth.otp' ORDER BY id DESC LIMIT 1",
        )
        .bind(&mobile)
        .fetch_one(&self.primary)
        .await
        .unwrap();
        let payload: Value = serde_json::from_str(&payload).unwrap();
        let code = payload["code"].as_str().expect("the code").to_string();
        let login = json!({ "national_code": national_code, "mobile": mobile, "code": code });
        let r = self
            .post(n + 1, "/api/v1/citizen/login", None, &from, &login)
            .await;
        assert_eq!(r.status, 200, "citizen {n} signs in: {}", r.body);
        (national_code, r.body["token"].as_str().unwrap().to_string())
    }

    /// Bookable slot starts of the demo office's service in the next days, with capacities.
    async fn slots(&self, token: &str, skip: usize, take: usize) -> Vec<(String, u64)> {
        let a = self
            .get(
                0,
                &format!("/api/v1/offices/{OFFICE}/availability?service={SERVICE}&days=7"),
                token,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let slots: Vec<(String, u64)> = a.body["days"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["bookable"] == true)
            .flat_map(|d| d["slots"].as_array().unwrap().clone())
            .filter(|s| s["available"].as_u64() == s["capacity"].as_u64())
            .skip(skip)
            .take(take)
            .map(|s| {
                (
                    s["start"].as_str().unwrap().to_string(),
                    s["capacity"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(slots.len(), take, "free slots of {OFFICE}");
        slots
    }

    /// `pishkhan audit verify` against `url`, with the log's key.
    fn audit_verify(&self, url: &str) -> String {
        let mut cmd = pishkhan(self.data.path());
        cmd.arg("--database-url")
            .arg(url)
            .arg("--data-dir")
            .arg(self.data.path())
            .args(["audit", "verify"]);
        run_cmd(cmd, Duration::from_secs(120)).ok().stdout
    }
}

/// The booking of a fresh citizen `n` at `start`, by `token` on node `n`.
fn booking(n: u32, start: &str) -> Value {
    let code = pishkhan_domain::NationalCode::from_body(620_000_000 + n).unwrap();
    json!({
        "office": OFFICE, "service": SERVICE, "start": start,
        "national_code": code.as_str(), "mobile": "09121234567",
    })
}

#[tokio::test]
async fn several_nodes_on_a_replicated_postgres_act_as_one_deployment() {
    let Some(mut d) = Deployment::start().await else {
        return;
    };
    sessions_and_sign_outs_reach_every_node(&d).await;
    limits_are_counted_once_for_the_deployment(&d).await;
    inquiries_on_every_node_keep_one_log(&d).await;
    a_booking_storm_over_all_nodes_never_overbooks(&d).await;
    a_release_closed_on_two_nodes_books_each_winner_once(&d).await;
    promoting_the_replica_loses_no_acknowledged_booking(&mut d).await;
    // After the failover, on the promoted replica.
    a_suspension_reaches_every_node(&d).await;
}

async fn sessions_and_sign_outs_reach_every_node(d: &Deployment) {
    let token = d.staff(0, "manager").await;
    for i in 0..3 {
        let me = d.get(i, "/api/v1/me", &token).await;
        assert_eq!(me.status, 200, "node {}: {}", i + 1, me.body);
        assert_eq!(me.body["username"], "manager");
    }
    let out = d
        .post(
            1,
            "/api/v1/auth/logout",
            Some(&token),
            "10.1.0.1",
            &json!({}),
        )
        .await;
    assert_eq!(out.status, 204, "sign-out on node 2: {}", out.body);
    // Each node polls the session epoch every 250 ms and trusts its cache for 750 ms.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for i in 0..3 {
        let me = d.get(i, "/api/v1/me", &token).await;
        assert_eq!(me.status, 401, "node {} a second after sign-out", i + 1);
    }
}

async fn limits_are_counted_once_for_the_deployment(d: &Deployment) {
    // Sign-in codes: five to one mobile, whatever national codes ask, from any node; the
    // sixth is refused, though no node saw more than two.
    let victim = "09129990001";
    for n in 0..6u32 {
        let national_code = pishkhan_domain::NationalCode::from_body(630_000_000 + n).unwrap();
        let r = d
            .post(
                n as usize,
                "/api/v1/citizen/code",
                None,
                &format!("10.3.0.{}", n + 1),
                &json!({ "national_code": national_code.as_str(), "mobile": victim }),
            )
            .await;
        if n < 5 {
            assert_eq!(r.status, 202, "code {n} on node {}: {}", n % 3 + 1, r.body);
        } else {
            assert_eq!(r.status, 429, "code {n}: {}", r.body);
            assert_eq!(r.body["code"], "too_many_codes_for_mobile");
        }
    }
    // Failed sign-ins: five free for one username at one address, then waits, wherever the
    // guesses land.
    for n in 0..6 {
        let r = d
            .post(
                n,
                "/api/v1/auth/login",
                None,
                "10.4.0.1",
                &json!({ "username": "regulator", "password": format!("guess-{n}") }),
            )
            .await;
        assert_eq!(r.status, 401, "guess {n} on node {}: {}", n % 3 + 1, r.body);
    }
    for i in 0..3 {
        let r = d
            .post(
                i,
                "/api/v1/auth/login",
                None,
                "10.4.0.1",
                &json!({ "username": "regulator", "password": PASSWORD }),
            )
            .await;
        assert_eq!(
            r.status,
            429,
            "node {} after six failures: {}",
            i + 1,
            r.body
        );
        assert_eq!(r.body["code"], "too_many_failed_sign_ins");
    }
    // Another address is not held back.
    d.staff(2, "regulator").await;
}

async fn inquiries_on_every_node_keep_one_log(d: &Deployment) {
    let token = d.staff(0, "operator").await;
    // People the reference civil registry knows.
    let sample = {
        let mut cmd = pishkhan(d.data.path());
        cmd.arg("--data-dir")
            .arg(d.data.path())
            .args(["agency", "sample", "--n", "40"]);
        run_cmd(cmd, Duration::from_secs(60)).ok().stdout
    };
    let people: Vec<Value> = sample
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // 200 inquiries by one operator at once over three nodes: each node alone would admit
    // all of its share; the deployment admits the operator's 120 and one more every 500 ms.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200usize {
        let (http, url, token) = (
            d.http.clone(),
            d.node(n).url("/api/v1/inquiries"),
            token.clone(),
        );
        let subject = people[n % people.len()]["national_code"].clone();
        tasks.spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({
                    "service": "civil-registry.person",
                    "purpose": { "legal_basis": "قانون ثبت احوال", "service_code": "NID-001", "case_id": format!("M-{n}") },
                    "subject": subject,
                }))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body)
        });
    }
    let (mut answered, mut limited) = (0usize, 0usize);
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.unwrap();
        match status {
            200 => answered += 1,
            429 => {
                assert_eq!(body["code"], "rate_limited", "{body}");
                limited += 1;
            }
            other => panic!("inquiry answered {other}: {body}"),
        }
    }
    let elapsed_ms = started.elapsed().as_millis() as usize;
    assert_eq!(answered + limited, 200);
    assert!(
        answered <= OPERATOR_PER_MIN + elapsed_ms / 500 + 1 && limited > 0,
        "one operator's rate over three nodes: {answered} answered, {limited} limited in {elapsed_ms} ms"
    );
    // One tree: every answer's record is in it, and the audit holds from the first entry.
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM exchange_log_entries")
        .fetch_one(&d.primary)
        .await
        .unwrap();
    assert!(
        logged as usize >= answered,
        "{logged} entries for {answered} answers"
    );
    let report = d.audit_verify(&d.lb.pg_url("pishkhan"));
    assert!(report.contains("verified"), "audit verify: {report}");
}

async fn a_booking_storm_over_all_nodes_never_overbooks(d: &Deployment) {
    let tokens: Vec<String> = tokens_on_each_node(d, "operator").await;
    let slots = d.slots(&tokens[0], 0, 4).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..450u32 {
        let (start, _) = slots[n as usize % slots.len()].clone();
        let i = n as usize % 3;
        let (http, url, token) = (
            d.http.clone(),
            d.node(i).url("/api/v1/bookings"),
            tokens[i].clone(),
        );
        tasks.spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&booking(n, &start))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (start, status, body)
        });
    }
    let mut made: HashMap<String, u64> = HashMap::new();
    while let Some(r) = tasks.join_next().await {
        let (start, status, body) = r.unwrap();
        match status {
            201 => *made.entry(start).or_default() += 1,
            409 => assert_eq!(body["code"], "slot_full", "{body}"),
            other => panic!("booking answered {other}: {body}"),
        }
    }
    for (start, capacity) in &slots {
        assert_eq!(
            made.get(start).copied().unwrap_or(0),
            *capacity,
            "slot {start} holds exactly its capacity"
        );
    }
}

/// The same member signed in once per node.
async fn tokens_on_each_node(d: &Deployment, username: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in 0..3 {
        tokens.push(d.staff(i, username).await);
    }
    tokens
}

async fn a_release_closed_on_two_nodes_books_each_winner_once(d: &Deployment) {
    let regulator = d.staff(1, "regulator").await;
    let offices: Vec<i64> = sqlx::query_scalar(
        "SELECT code FROM offices WHERE status = 'active' AND province_id = \
         (SELECT province_id FROM offices WHERE code = $1) ORDER BY code LIMIT 3",
    )
    .bind(OFFICE.parse::<i64>().unwrap())
    .fetch_all(&d.primary)
    .await
    .unwrap();
    assert_eq!(offices.len(), 3);
    let province: i64 = sqlx::query_scalar("SELECT province_id FROM offices WHERE code = $1")
        .bind(offices[0])
        .fetch_one(&d.primary)
        .await
        .unwrap();
    let tehran = time::UtcOffset::from_hms(3, 30, 0).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let today = pishkhan_domain::jalali::JalaliDate::from_gregorian(now.to_offset(tehran).date());
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let closes_at = now + time::Duration::seconds(25);
    let opened = d
        .post(
            1,
            "/api/v1/releases",
            Some(&regulator),
            "10.5.0.1",
            &json!({
                "service": SERVICE,
                "province": province,
                "offices": offices.iter().map(|o| json!({ "office": o.to_string(), "slots": 3 })).collect::<Vec<_>>(),
                "first_day": today.add_days(3).to_string(),
                "last_day": today.add_days(9).to_string(),
                "opens_at": rfc(now - time::Duration::seconds(5)),
                "closes_at": rfc(closes_at),
            }),
        )
        .await;
    assert_eq!(opened.status, 201, "release: {}", opened.body);
    let id = opened.body["id"].as_str().unwrap().to_string();
    let prefs: Vec<String> = offices.iter().map(i64::to_string).collect();
    let mut citizens = Vec::new();
    for n in 0..15 {
        let (national_code, token) = d.citizen(n).await;
        let r = d
            .post(
                n,
                &format!("/api/v1/releases/{id}/requests"),
                Some(&token),
                "10.6.0.1",
                &json!({ "preferences": [prefs[n % 3], prefs[(n + 1) % 3], prefs[(n + 2) % 3]] }),
            )
            .await;
        assert_eq!(r.status, 202, "request {n}: {}", r.body);
        citizens.push((national_code, token));
    }
    let wait = (closes_at - time::OffsetDateTime::now_utc()).whole_milliseconds();
    assert!(wait > 0, "the requests took longer than the window");
    tokio::time::sleep(Duration::from_millis(wait as u64 + 500)).await;
    // Two nodes close at once; each answers with the one allocation.
    let other = d.staff(0, "regulator").await;
    let path = format!("/api/v1/releases/{id}/close");
    let empty = json!({});
    let (a, b) = tokio::join!(
        d.post(0, &path, Some(&other), "10.5.0.1", &empty),
        d.post(2, &path, Some(&regulator), "10.5.0.1", &empty),
    );
    for r in [&a, &b] {
        assert_eq!(r.status, 200, "close: {}", r.body);
        assert_eq!(r.body["release"]["status"], "allocated", "{}", r.body);
    }
    let mut winners = 0;
    for (n, (national_code, token)) in citizens.iter().enumerate() {
        let mine = d.get(n, "/api/v1/me/releases", token).await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        let bookings = d.get(n + 1, "/api/v1/me/bookings", token).await;
        assert_eq!(bookings.status, 200, "{}", bookings.body);
        let held = bookings.body["items"]
            .as_array()
            .or(bookings.body.as_array())
            .map(|b| {
                b.iter()
                    .filter(|x| x["status"] == "booked" && x["service"] == SERVICE)
                    .count()
            })
            .unwrap_or(0);
        let outcome = &mine.body[0];
        let won = outcome["outcome"] == "won";
        if won {
            assert_eq!(outcome["seat"], "booked", "citizen {n}: {}", mine.body);
        }
        assert_eq!(
            held,
            usize::from(won),
            "citizen {n} ({national_code}): {}",
            mine.body
        );
        winners += usize::from(won);
    }
    assert_eq!(
        winners, 9,
        "three seats at each of three offices, fifteen asking"
    );
}

async fn a_suspension_reaches_every_node(d: &Deployment) {
    let regulator = d.staff(0, "regulator").await;
    let operators = tokens_on_each_node(d, "operator").await;
    let slots = d.slots(&operators[0], 0, 1).await;
    for kind in ["warning", "suspension"] {
        let r = d
            .post(
                0,
                &format!("/api/v1/offices/{OFFICE}/sanctions"),
                Some(&regulator),
                "10.5.0.1",
                &json!({ "kind": kind, "reason": "multi-node test" }),
            )
            .await;
        assert_eq!(r.status, 201, "{kind}: {}", r.body);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (i, token) in operators.iter().enumerate() {
        let r = d
            .post(
                i,
                "/api/v1/bookings",
                Some(token),
                "10.1.0.1",
                &booking(9_000 + i as u32, &slots[0].0),
            )
            .await;
        assert_eq!(
            r.status,
            403,
            "node {} a second after the suspension: {}",
            i + 1,
            r.body
        );
        assert_eq!(r.body["code"], "office_suspended");
    }
    let r = d
        .post(
            1,
            &format!("/api/v1/offices/{OFFICE}/sanctions"),
            Some(&regulator),
            "10.5.0.1",
            &json!({ "kind": "reinstatement", "reason": "multi-node test over" }),
        )
        .await;
    assert_eq!(r.status, 201, "reinstatement: {}", r.body);
}

async fn promoting_the_replica_loses_no_acknowledged_booking(d: &mut Deployment) {
    let tokens = tokens_on_each_node(d, "operator").await;
    let slots = d.slots(&tokens[0], 5, 30).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..6u32 {
        let (http, url, token, slots, stop) = (
            d.http.clone(),
            d.lb.web("/api/v1/bookings"),
            tokens[w as usize % 3].clone(),
            slots.clone(),
            stop.clone(),
        );
        writers.spawn(async move {
            let (mut acknowledged, mut failed) = (Vec::new(), 0u32);
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 400 {
                let (start, _) = &slots[(n as usize + w as usize) % slots.len()];
                let person = 50_000 + w * 1_000 + n;
                n += 1;
                let sent = http
                    .post(&url)
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(10))
                    .json(&booking(person, start))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        acknowledged.push(body["tracking_code"].as_str().unwrap().to_string());
                    }
                    // Full slots, and the outage: nothing acknowledged.
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            (acknowledged, failed)
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    d.pair.primary.stop_immediately();
    tokio::time::sleep(Duration::from_millis(500)).await;
    d.pair.replica.promote();
    // The balancer sends the database's connections to the promoted replica; the nodes'
    // pools reconnect. Wait until a booking goes through again.
    let deadline = Instant::now() + Duration::from_secs(60);
    let probe = d.slots_after_failover(&tokens[0], deadline).await;
    assert!(probe, "no node came back after the promotion");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    let mut failed = 0;
    while let Some(r) = writers.join_next().await {
        let (a, f) = r.unwrap();
        acknowledged.extend(a);
        failed += f;
    }
    assert!(!acknowledged.is_empty(), "bookings were acknowledged");
    eprintln!(
        "failover: {} bookings acknowledged, {failed} not, across the primary's stop",
        acknowledged.len()
    );
    // Every acknowledged booking is on the promoted replica, read through another node.
    let unique: HashSet<&String> = acknowledged.iter().collect();
    assert_eq!(unique.len(), acknowledged.len());
    for (n, code) in acknowledged.iter().enumerate() {
        let r = d
            .get(n, &format!("/api/v1/bookings/{code}"), &tokens[n % 3])
            .await;
        assert_eq!(
            r.status, 200,
            "acknowledged booking {code} after failover: {}",
            r.body
        );
    }
    let report = d.audit_verify(&d.pair.replica.url("pishkhan"));
    assert!(
        report.contains("verified"),
        "audit verify on the promoted replica: {report}"
    );
}

impl Deployment {
    /// Polls the availability through the balancer until the nodes answer again.
    async fn slots_after_failover(&self, token: &str, deadline: Instant) -> bool {
        while Instant::now() < deadline {
            let r = self
                .send(
                    self.http
                        .get(self.lb.web(&format!(
                            "/api/v1/offices/{OFFICE}/availability?service={SERVICE}&days=2"
                        )))
                        .bearer_auth(token)
                        .timeout(Duration::from_secs(5)),
                )
                .await;
            if r.is_some_and(|r| r.status == 200) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }
}
