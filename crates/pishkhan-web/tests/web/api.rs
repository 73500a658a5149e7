//! The JSON API through real HTTP, on every configured backend.

use std::collections::BTreeSet;

use pishkhan_app::login_limiter::{Backoff, SignInLimits};
use pishkhan_domain::normalize::contains_normalized;
use serde_json::{Value, json};

use crate::support::{
    DEMO_OFFICE, DEMO_PASSWORD, OFFICES, OTHER_OFFICE, Resp, TestApp, assert_problem_shape, enc,
    invitation_token, office_json, staff_json,
};

/// Every `/api/v1` route the router serves, with its method.
const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/compliance/rules"),
    ("put", "/api/v1/compliance/rules"),
    ("post", "/api/v1/compliance/runs"),
    ("get", "/api/v1/compliance/findings"),
    ("post", "/api/v1/compliance/findings/{id}/dismissal"),
    ("get", "/api/v1/compliance/requests"),
    ("post", "/api/v1/compliance/requests/{id}/decision"),
    ("get", "/api/v1/offices/{code}/sanctions"),
    ("post", "/api/v1/offices/{code}/sanctions"),
    ("get", "/api/v1/offices/{code}/reinstatement-requests"),
    ("post", "/api/v1/offices/{code}/reinstatement-requests"),
    ("get", "/api/v1/stats/online-service-index"),
    ("get", "/api/v1/stats/once-only"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/me/password"),
    ("get", "/api/v1/provinces"),
    ("get", "/api/v1/agencies"),
    ("get", "/api/v1/offices"),
    ("post", "/api/v1/offices"),
    ("get", "/api/v1/offices/{code}"),
    ("get", "/api/v1/offices/{code}/staff"),
    ("get", "/api/v1/services"),
    ("get", "/api/v1/services/{code}"),
    ("get", "/api/v1/services/{code}/fee"),
    ("get", "/api/v1/services/{code}/tariffs"),
    ("post", "/api/v1/services/{code}/tariffs"),
    ("post", "/api/v1/cpi-imports"),
    ("post", "/api/v1/indexation-runs"),
    ("get", "/api/v1/indexation-runs/{id}"),
    ("put", "/api/v1/indexation-runs/{id}/rows"),
    ("post", "/api/v1/indexation-runs/{id}/publish"),
    ("get", "/api/v1/payments"),
    ("post", "/api/v1/payments"),
    ("post", "/api/v1/payments/callback"),
    ("get", "/api/v1/payments/{id}"),
    ("get", "/api/v1/payments/{id}/events"),
    ("get", "/api/v1/payments/{id}/receipt"),
    ("post", "/api/v1/payments/{id}/check"),
    ("post", "/api/v1/payments/{id}/refunds"),
    ("put", "/api/v1/payees/{account}"),
    ("get", "/api/v1/settlements"),
    ("post", "/api/v1/settlements"),
    ("get", "/api/v1/settlements/{date}/file"),
    ("get", "/api/v1/reconciliations"),
    ("post", "/api/v1/reconciliations"),
    ("get", "/api/v1/reconciliations/{id}"),
    ("get", "/api/v1/ledger/balances"),
    ("get", "/api/v1/findings"),
    ("post", "/api/v1/reports"),
    ("get", "/api/v1/reports"),
    ("get", "/api/v1/reports/{id}"),
    ("post", "/api/v1/reports/{id}/triage"),
    ("post", "/api/v1/reports/{id}/answer"),
    ("post", "/api/v1/reports/{id}/more"),
    ("get", "/api/v1/me/reports"),
    ("post", "/api/v1/staff"),
    ("post", "/api/v1/staff/{username}/deactivate"),
    ("get", "/api/v1/invitations/{token}"),
    ("post", "/api/v1/invitations/{token}/accept"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/offices/{code}/availability"),
    ("get", "/api/v1/offices/{code}/schedule"),
    ("put", "/api/v1/offices/{code}/schedule"),
    ("put", "/api/v1/offices/{code}/closures/{date}"),
    ("delete", "/api/v1/offices/{code}/closures/{date}"),
    ("put", "/api/v1/holidays/{date}"),
    ("post", "/api/v1/bookings"),
    ("get", "/api/v1/bookings/{tracking_code}"),
    ("post", "/api/v1/bookings/{tracking_code}/cancel"),
    ("post", "/api/v1/bookings/{tracking_code}/reschedule"),
    ("post", "/api/v1/citizen/code"),
    ("post", "/api/v1/citizen/login"),
    ("get", "/api/v1/me/bookings"),
    ("post", "/api/v1/releases"),
    ("get", "/api/v1/releases/{id}"),
    ("post", "/api/v1/releases/{id}/requests"),
    ("post", "/api/v1/releases/{id}/close"),
    ("get", "/api/v1/releases/{id}/bundle"),
    ("get", "/api/v1/me/releases"),
    ("get", "/api/v1/offices/{code}/queue"),
    ("get", "/api/v1/offices/{code}/queue/stream"),
    ("post", "/api/v1/offices/{code}/queue/check-in"),
    ("post", "/api/v1/offices/{code}/queue/walk-in"),
    ("get", "/api/v1/offices/{code}/figures"),
    ("get", "/api/v1/figures/daily"),
    ("put", "/api/v1/offices/{code}/status"),
    ("post", "/api/v1/identity/verifications"),
    ("get", "/api/v1/identity/verifications/{id}"),
    ("post", "/api/v1/identity/verifications/{id}/second-factor"),
    (
        "post",
        "/api/v1/identity/verifications/{id}/second-factor/confirm",
    ),
    ("get", "/api/v1/identity/keys"),
    ("get", "/api/v1/identity/operators"),
    ("get", "/api/v1/search/slots"),
    ("get", "/api/v1/offices/{code}/counters"),
    ("put", "/api/v1/offices/{code}/counters"),
    ("post", "/api/v1/inquiries"),
    ("get", "/api/v1/exchange/proof/{message_id}"),
    ("get", "/api/v1/exchange/checkpoint"),
    ("get", "/api/v1/exchange/keys"),
    ("get", "/api/v1/me/data-access"),
    ("post", "/api/v1/offices/{code}/queue/call-next"),
    (
        "post",
        "/api/v1/offices/{code}/queue/tickets/{ticket}/complete",
    ),
    (
        "post",
        "/api/v1/offices/{code}/queue/tickets/{ticket}/no-show",
    ),
    (
        "post",
        "/api/v1/offices/{code}/queue/counters/{counter}/recall",
    ),
    (
        "post",
        "/api/v1/offices/{code}/queue/counters/{counter}/transfer",
    ),
    (
        "post",
        "/api/v1/offices/{code}/queue/counters/{counter}/pause",
    ),
    (
        "post",
        "/api/v1/offices/{code}/queue/counters/{counter}/resume",
    ),
];

/// Offices of the small nation whose Persian address names Ayatollah Kashani boulevard
/// ("بلوار آیت‌الله کاشانی"): a word with both Persian kaf and Persian yeh.
const KASHANI_OFFICES: &[&str] = &["11000004", "11000028", "11000037", "11000049"];

fn codes(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items array")
        .iter()
        .map(|o| o["code"].as_str().expect("code").to_string())
        .collect()
}

// ---- health, metrics, OpenAPI --------------------------------------------------------------

#[tokio::test]
async fn health_readiness_metrics_and_security_headers() {
    let scraper = "scrape-me-7f3a9c2e51b8";
    let token = pishkhan_web::MetricsToken::new(scraper).expect("a long enough token");
    for app in TestApp::all_with(|c| c.metrics_token = Some(token.clone())).await {
        let be = app.be();
        let health = app.get("/healthz").await;
        assert_eq!(health.status, 200, "[{be}] {}", health.text);
        assert_eq!(health.json(), json!({ "status": "ok" }), "[{be}]");
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
        ] {
            assert_eq!(health.header(name), Some(value), "[{be}] header {name}");
        }
        assert!(
            health
                .header("content-security-policy")
                .is_some_and(|v| v.contains("default-src 'self'")),
            "[{be}] CSP header"
        );
        assert!(
            health.header("x-request-id").is_some_and(|v| !v.is_empty()),
            "[{be}] x-request-id on every response"
        );

        let ready = app.get("/readyz").await;
        assert_eq!(ready.status, 200, "[{be}] {}", ready.text);
        assert_eq!(
            ready.json(),
            json!({ "status": "ready", "database": be }),
            "[{be}] readiness names the backend that answered"
        );

        // Two more requests with distinct routes and statuses, then read the counters.
        assert_eq!(app.get("/api/v1/offices/11000001").await.status, 200);
        assert_eq!(app.get("/api/v1/offices/99999999").await.status, 404);
        let metrics = app.get_as("/metrics", Some(scraper)).await;
        assert_eq!(metrics.status, 200, "[{be}]");
        assert_eq!(
            metrics.content_type(),
            "text/plain; version=0.0.4; charset=utf-8",
            "[{be}] the classic text format unless OpenMetrics is asked for"
        );
        let samples = parse_exposition(&metrics.text);
        assert!(
            metrics
                .text
                .lines()
                .any(|l| l == "# TYPE pishkhan_http_requests_total counter"),
            "[{be}] {}",
            metrics.text
        );
        let node = pishkhan_web::NodeName::of_host();
        for s in &samples {
            assert_eq!(
                s.label("store"),
                Some(be),
                "[{be}] every series names the store: {s:?}"
            );
            assert_eq!(
                s.label("node"),
                Some(node.as_str()),
                "[{be}] and the node: {s:?}"
            );
        }
        for (route, status) in [
            ("/healthz", "2xx"),
            ("/readyz", "2xx"),
            ("/api/v1/offices/{code}", "2xx"),
            ("/api/v1/offices/{code}", "4xx"),
        ] {
            let n = sum(
                &samples,
                "pishkhan_http_requests_total",
                &[("method", "GET"), ("route", route), ("status", status)],
            );
            assert_eq!(n, 1.0, "[{be}] {route} {status}:\n{}", metrics.text);
        }
        assert_eq!(
            sum(
                &samples,
                "pishkhan_http_request_duration_seconds_count",
                &[]
            ),
            4.0,
            "[{be}] four requests timed before this scrape"
        );
        assert_eq!(
            sum(
                &samples,
                "pishkhan_http_request_duration_seconds_count",
                &[("route", "/api/v1/offices/{code}")]
            ),
            2.0,
            "[{be}] latency by route"
        );
        assert_eq!(
            sum(
                &samples,
                "pishkhan_build_info",
                &[("version", env!("CARGO_PKG_VERSION"))]
            ),
            1.0,
            "[{be}]"
        );
        app.stop().await;
    }
}

/// One sample line of an exposition: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Every sample of a Prometheus text (0.0.4) or OpenMetrics exposition; panics on a line that
/// is neither a comment nor a well-formed sample.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
            && !n.as_bytes()[0].is_ascii_digit()
    };
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            let mut words = line.splitn(4, ' ');
            let (hash, what) = (words.next(), words.next());
            assert_eq!(hash, Some("#"), "comment line {line:?}");
            assert!(
                matches!(what, Some("HELP" | "TYPE" | "UNIT" | "EOF")),
                "comment line {line:?}"
            );
            continue;
        }
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i..]),
            None => line.split_at(
                line.find(' ')
                    .unwrap_or_else(|| panic!("no value: {line:?}")),
            ),
        };
        assert!(name_ok(name), "metric name of {line:?}");
        let mut labels = Vec::new();
        let mut rest = rest;
        if let Some(inner) = rest.strip_prefix('{') {
            // key="value" pairs, comma-separated; a value may hold escaped quotes.
            let mut chars = inner.char_indices();
            let end = loop {
                let mut key = String::new();
                let closed = loop {
                    match chars.next() {
                        Some((_, '=')) => break None,
                        Some((i, '}')) if key.is_empty() => break Some(i),
                        Some((_, c)) => key.push(c),
                        None => panic!("unclosed labels: {line:?}"),
                    }
                };
                if let Some(i) = closed {
                    break i;
                }
                assert!(name_ok(&key), "label name {key:?} in {line:?}");
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line:?}");
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some(c @ ('\\' | '"')) => value.push(c),
                            other => panic!("bad escape {other:?} in {line:?}"),
                        },
                        Some((_, c)) => value.push(c),
                        None => panic!("unclosed value: {line:?}"),
                    }
                }
                labels.push((key, value));
                match chars.next() {
                    Some((_, ',')) => {}
                    Some((i, '}')) => break i,
                    other => panic!("after a label {other:?} in {line:?}"),
                }
            };
            rest = &inner[end + 1..];
        }
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no value: {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
        };
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

/// The sum of the samples named `name` that carry every label of `labels`.
fn sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .map(|s| s.value)
        .sum()
}

#[tokio::test]
async fn metrics_count_bookings_inquiries_identity_checks_and_queue_events_once() {
    let scraper = "scrape-me-7f3a9c2e51b8";
    let token = pishkhan_web::MetricsToken::new(scraper).expect("a long enough token");
    let node = pishkhan_web::NodeName::new("node-a.test").expect("a node name");
    for app in TestApp::all_with(|c| {
        c.metrics_token = Some(token.clone());
        c.node_name = node.clone();
    })
    .await
    {
        let be = app.be();
        let fx = app.enable_exchange().await;
        let operator = app.login("operator", DEMO_PASSWORD).await;

        // A booking tomorrow (the test clock's first bookable day), and one refused.
        let days = app
            .get(&format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"
            ))
            .await
            .json();
        let start = days["days"][0]["slots"][0]["start"]
            .as_str()
            .expect("a slot tomorrow")
            .to_string();
        let booking = |office: &str| {
            json!({
                "office": office, "service": "PSP-001", "start": start,
                "national_code": app.fresh_national_code(), "mobile": "09121234567",
            })
        };
        let made = app
            .post_json("/api/v1/bookings", Some(&operator), &booking(DEMO_OFFICE))
            .await;
        assert_eq!(made.status, 201, "[{be}] {}", made.text);
        let code = made.json()["tracking_code"].as_str().unwrap().to_string();
        app.post_json("/api/v1/bookings", Some(&operator), &booking(OTHER_OFFICE))
            .await
            .problem(403, "forbidden_other_office");
        let cancelled = app
            .post_json(
                &format!("/api/v1/bookings/{code}/cancel"),
                Some(&operator),
                &json!({}),
            )
            .await;
        assert_eq!(cancelled.status, 200, "[{be}] {}", cancelled.text);

        // An identity check: one decision, and the civil-registry inquiry it made.
        let person = (0..fx.population.size())
            .map(|i| fx.population.person(i))
            .find(|p| p.alive && p.card_status == pishkhan_agency::CardStatus::Valid)
            .expect("a living person with a valid card");
        let checked = app
            .post_json(
                "/api/v1/identity/verifications",
                Some(&operator),
                &json!({
                    "national_code": person.national_code.as_str(),
                    "first_name": person.first_name, "last_name": person.last_name,
                    "father_name": person.father_name,
                    "birth_date": person.birth_date.to_string(),
                    "card_serial": person.card_serial.as_str(),
                    "purpose": { "service_code": "NID-001", "case_id": "M-1" },
                }),
            )
            .await;
        assert_eq!(checked.status, 200, "[{be}] {}", checked.text);
        assert_eq!(checked.json()["decision"], "verified", "[{be}]");

        // A walk-in ticket, and a page whose path holds a bearer token.
        let walk = app
            .post_json(
                &format!("/api/v1/offices/{DEMO_OFFICE}/queue/walk-in"),
                Some(&operator),
                &json!({ "service": "PSP-001" }),
            )
            .await;
        assert_eq!(walk.status, 200, "[{be}] {}", walk.text);
        let secret = "0123456789abcdef0123456789abcdef";
        app.get(&format!("/invite/{secret}")).await;

        let scraped = app
            .send(
                app.client
                    .get(app.url("/metrics"))
                    .bearer_auth(scraper)
                    .header(
                        "accept",
                        "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
                    ),
            )
            .await;
        assert_eq!(scraped.status, 200, "[{be}] {}", scraped.text);
        assert_eq!(
            scraped.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            "[{be}]"
        );
        assert_eq!(scraped.text.lines().last(), Some("# EOF"), "[{be}]");
        assert!(
            !scraped.text.contains(secret),
            "[{be}] a path's token leaked"
        );
        let samples = parse_exposition(&scraped.text);
        for s in &samples {
            assert_eq!(s.label("store"), Some(be), "[{be}] {s:?}");
            assert_eq!(s.label("node"), Some("node-a.test"), "[{be}] {s:?}");
        }
        let text = &scraped.text;
        for (name, labels, want) in [
            ("pishkhan_bookings_made_total", vec![], 1.0),
            (
                "pishkhan_bookings_refused_total",
                vec![("reason", "forbidden_other_office")],
                1.0,
            ),
            ("pishkhan_bookings_cancelled_total", vec![], 1.0),
            (
                "pishkhan_identity_checks_total",
                vec![("decision", "verified")],
                1.0,
            ),
            (
                "pishkhan_inquiries_total",
                vec![
                    ("service", "civil-registry.person"),
                    ("outcome", "answered"),
                ],
                1.0,
            ),
            (
                "pishkhan_inquiry_duration_seconds_count",
                vec![("service", "civil-registry.person")],
                1.0,
            ),
            (
                "pishkhan_queue_events_total",
                vec![("kind", "walk_in")],
                1.0,
            ),
            (
                "pishkhan_http_requests_total",
                vec![("route", "/invite/{token}"), ("method", "GET")],
                1.0,
            ),
        ] {
            assert_eq!(
                sum(&samples, name, &labels),
                want,
                "[{be}] {name} {labels:?}:\n{text}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn openapi_document_lists_every_served_api_route() {
    for app in TestApp::all().await {
        let be = app.be();
        let resp = app.get("/api/v1/openapi.json").await;
        assert_eq!(resp.status, 200, "[{be}]");
        assert!(
            resp.content_type().starts_with("application/json"),
            "[{be}]"
        );
        let doc = resp.json();
        assert_eq!(
            doc,
            pishkhan_web::openapi_json(),
            "[{be}] served = generated"
        );
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
            "[{be}] OpenAPI 3 document: {}",
            doc["openapi"]
        );
        assert_eq!(doc["info"]["title"], "Pishkhan API", "[{be}]");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
            "[{be}] bearer security scheme"
        );
        let paths = doc["paths"].as_object().expect("paths object");
        for (method, path) in API_ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "[{be}] OpenAPI lacks {method} {path}"
            );
        }
        let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
        let served: BTreeSet<&str> = API_ROUTES.iter().map(|(_, p)| *p).collect();
        assert_eq!(documented, served, "[{be}] documented paths = served paths");

        // Each route in the table really is served: neither an unknown route nor a wrong method.
        for (method, path) in API_ROUTES {
            let url = app.url(
                &path
                    .replace("{code}", "11000001")
                    .replace("{token}", "no-such-token")
                    .replace("{date}", "1405-09-10")
                    .replace("{tracking_code}", "NOSUCHCODE")
                    .replace("{id}", "1"),
            );
            let req = match *method {
                "get" => app.client.get(url),
                "put" => app.client.put(url),
                "delete" => app.client.delete(url),
                _ => app.client.post(url),
            }
            .header("content-type", "application/json")
            .body("{}");
            if path.ends_with("/stream") {
                // An event stream never ends: the status and content type are the answer.
                let resp = req.send().await.expect("stream request");
                assert_eq!(resp.status().as_u16(), 200, "[{be}] {method} {path}");
                continue;
            }
            let r = app.send(req).await;
            assert_ne!(r.status, 405, "[{be}] {method} {path}: {}", r.text);
            assert!(r.status < 500, "[{be}] {method} {path}: {}", r.text);
            if r.status >= 400 {
                assert_problem_shape(&r);
            }
            if r.status == 404 {
                assert_ne!(
                    r.json()["detail"],
                    "route not found",
                    "[{be}] {method} {path} is not routed"
                );
            }
        }
        app.stop().await;
    }
}

// ---- sign-in -------------------------------------------------------------------------------

#[tokio::test]
async fn demo_logins_get_a_token_and_an_httponly_cookie() {
    let table = [
        ("regulator", "regulator", None),
        ("manager", "manager", Some(DEMO_OFFICE)),
        ("operator", "operator", Some(DEMO_OFFICE)),
        // Usernames are case-insensitive and trimmed.
        ("  Manager ", "manager", Some(DEMO_OFFICE)),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        for (login, username, office) in table {
            let resp = app.login_response(login, DEMO_PASSWORD).await;
            assert_eq!(resp.status, 200, "[{be}] {login}: {}", resp.text);
            let body = resp.json();
            let token = body["token"].as_str().expect("token");
            assert!(token.len() >= 40, "[{be}] token {token:?}");
            assert_eq!(body["token_type"], "Bearer", "[{be}]");
            assert!(
                body["csrf_token"]
                    .as_str()
                    .is_some_and(|c| c.len() >= 40 && c != token),
                "[{be}] csrf token"
            );
            // 12 h after the fixed clock.
            assert_eq!(body["expires_at"], "2026-11-28T22:00:00Z", "[{be}]");
            assert_eq!(
                body["user"],
                json!({ "username": username, "role": username, "office": office }),
                "[{be}] {login}"
            );
            let cookie = resp.header("set-cookie").expect("set-cookie");
            assert!(
                cookie.starts_with(&format!("pishkhan_session={token};")),
                "[{be}] cookie {cookie}"
            );
            for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
                assert!(
                    cookie.split("; ").any(|a| a == attr),
                    "[{be}] cookie lacks {attr}: {cookie}"
                );
            }
            assert!(!cookie.contains("Secure"), "[{be}] plain-HTTP demo cookie");

            let me = app.get_as("/api/v1/me", Some(token)).await;
            assert_eq!(me.status, 200, "[{be}] {}", me.text);
            assert_eq!(
                me.json(),
                json!({ "username": username, "role": username, "office": office }),
                "[{be}]"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn wrong_credentials_and_missing_sessions_are_401_problems() {
    let long = "x".repeat(129);
    let bad = [
        ("regulator", "wrong-password"),
        ("regulator", ""),
        ("regulator", "DEMO1234"),
        ("nobody", DEMO_PASSWORD),
        ("", DEMO_PASSWORD),
        ("not a username!", DEMO_PASSWORD),
        ("operator", long.as_str()),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let audit_before = app.audit_total(&reg).await;
        for (username, password) in bad {
            let resp = app.login_response(username, password).await;
            let body = resp.problem(401, "bad_credentials");
            assert!(
                resp.header("set-cookie").is_none(),
                "[{be}] no cookie on failure"
            );
            assert_eq!(
                resp.header("www-authenticate"),
                Some("Bearer realm=\"pishkhan\""),
                "[{be}] {body}"
            );
        }
        // Failures of well-formed usernames are audited.
        let failed = app
            .get_as("/api/v1/audit?action=auth.login_failed", Some(&reg))
            .await;
        assert_eq!(failed.status, 200, "[{be}]");
        let actors: BTreeSet<String> = failed.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["actor"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(
            actors.contains("regulator") && actors.contains("nobody"),
            "[{be}] failed sign-ins audited: {actors:?}"
        );
        assert!(app.audit_total(&reg).await > audit_before, "[{be}]");

        // No token, a bad token, a malformed header, an empty cookie.
        app.get("/api/v1/me").await.problem(401, "unauthenticated");
        app.get_as("/api/v1/me", Some("not-a-token"))
            .await
            .problem(401, "unauthenticated");
        app.get_as("/api/v1/me", Some(&"a".repeat(300)))
            .await
            .problem(401, "unauthenticated");
        app.send(
            app.client
                .get(app.url("/api/v1/me"))
                .header("authorization", format!("Basic {reg}")),
        )
        .await
        .problem(401, "unauthenticated");
        app.send(
            app.client
                .get(app.url("/api/v1/me"))
                .header("cookie", "pishkhan_session="),
        )
        .await
        .problem(401, "unauthenticated");
        app.stop().await;
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_only_that_session() {
    for app in TestApp::all().await {
        let be = app.be();
        let first = app.login("operator", DEMO_PASSWORD).await;
        let second = app.login("operator", DEMO_PASSWORD).await;
        assert_ne!(first, second, "[{be}] each sign-in gets its own token");
        let out = app
            .send(
                app.client
                    .post(app.url("/api/v1/auth/logout"))
                    .bearer_auth(&first),
            )
            .await;
        assert_eq!(out.status, 204, "[{be}] {}", out.text);
        let cleared = out.header("set-cookie").expect("cookie cleared");
        assert!(
            cleared.starts_with("pishkhan_session=;") && cleared.contains("Max-Age=0"),
            "[{be}] {cleared}"
        );
        app.get_as("/api/v1/me", Some(&first))
            .await
            .problem(401, "unauthenticated");
        app.send(
            app.client
                .post(app.url("/api/v1/auth/logout"))
                .bearer_auth(&first),
        )
        .await
        .problem(401, "unauthenticated");
        let me = app.get_as("/api/v1/me", Some(&second)).await;
        assert_eq!(me.status, 200, "[{be}] the other session lives on");
        app.stop().await;
    }
}

#[tokio::test]
async fn sessions_expire_after_their_ttl() {
    for app in TestApp::all().await {
        let be = app.be();
        let token = app.login("manager", DEMO_PASSWORD).await;
        app.clock.advance(time::Duration::hours(11));
        assert_eq!(
            app.get_as("/api/v1/me", Some(&token)).await.status,
            200,
            "[{be}] still valid after 11 h"
        );
        app.clock.advance(time::Duration::hours(1));
        app.get_as("/api/v1/me", Some(&token))
            .await
            .problem(401, "unauthenticated");
        app.stop().await;
    }
}

#[tokio::test]
async fn repeated_failed_logins_slow_down_that_username_at_that_address() {
    // Waits no test machine can outrun, so the test does not race them.
    let per_account = Backoff {
        free_failures: 3,
        first_wait_ms: 600_000,
        ..SignInLimits::default().per_account
    };
    for app in TestApp::all_with(|c| c.app.sign_in_limits.per_account = per_account).await {
        let be = app.be();
        // Three free failures, and a fourth that starts the wait.
        for i in 0..4 {
            let r = app.login_response("manager", &format!("guess-{i}")).await;
            r.problem(401, "bad_credentials");
        }
        for password in ["guess-again", DEMO_PASSWORD] {
            let r = app.login_response("manager", password).await;
            r.problem(429, "too_many_failed_sign_ins");
            let retry: u64 = r
                .header("retry-after")
                .and_then(|v| v.parse().ok())
                .expect("numeric Retry-After");
            assert!((1..=600).contains(&retry), "[{be}] Retry-After {retry}");
        }
        // The wait is per username: others from the same address still get in.
        let r = app.login_response("operator", DEMO_PASSWORD).await;
        assert_eq!(r.status, 200, "[{be}] {}", r.text);
        // A success starts the username's count at that address over.
        for _ in 0..3 {
            app.login_response("regulator", "nope-nope")
                .await
                .problem(401, "bad_credentials");
        }
        app.login("regulator", DEMO_PASSWORD).await;
        for _ in 0..3 {
            app.login_response("regulator", "nope-nope")
                .await
                .problem(401, "bad_credentials");
        }
        app.login("regulator", DEMO_PASSWORD).await;
        app.stop().await;
    }
}

// ---- registry reads ------------------------------------------------------------------------

#[tokio::test]
async fn provinces_and_agencies() {
    for app in TestApp::all().await {
        let be = app.be();
        let resp = app.get("/api/v1/provinces").await;
        assert_eq!(resp.status, 200, "[{be}]");
        let list = resp.json();
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 31, "[{be}]");
        let ids: Vec<u64> = list.iter().map(|p| p["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, (1..=31).collect::<Vec<_>>(), "[{be}] ordered by id");
        assert_eq!(list[0]["name_fa"], "تهران", "[{be}]");
        assert_eq!(list[0]["name_en"], "Tehran", "[{be}]");
        // The small nation's 120 offices are all in Tehran.
        assert_eq!(list[0]["offices"], 120, "[{be}]");
        let total: u64 = list.iter().map(|p| p["offices"].as_u64().unwrap()).sum();
        assert_eq!(total, OFFICES, "[{be}]");

        let resp = app.get("/api/v1/agencies").await;
        assert_eq!(resp.status, 200, "[{be}]");
        let agencies = resp.json();
        let agencies = agencies.as_array().expect("array");
        assert_eq!(agencies.len(), app.nation.agencies.len(), "[{be}]");
        let services: u64 = agencies
            .iter()
            .map(|a| a["services"].as_u64().unwrap())
            .sum();
        assert_eq!(services, 550, "[{be}]");
        let nocr = agencies
            .iter()
            .find(|a| a["code"] == "nocr")
            .expect("nocr agency");
        assert_eq!(nocr["services"], 13, "[{be}]");
        app.stop().await;
    }
}

#[tokio::test]
async fn offices_page_and_filter() {
    // (query, expected total)
    let filters: &[(&str, u64)] = &[
        ("", 120),
        ("province=1", 120),
        ("province=۱", 120),
        ("province=2", 0),
        ("status=active", 116),
        ("status=warned", 3),
        ("status=revoked", 1),
        ("status=suspended", 0),
        ("province=1&status=warned", 3),
        ("province=2&status=warned", 0),
        ("q=11000014", 1),
        ("q=%DB%B1%DB%B1%DB%B0%DB%B0%DB%B0%DB%B0%DB%B1%DB%B4", 1), // ۱۱۰۰۰۰۱۴
        ("q=no-such-office-anywhere", 0),
        ("q=&province=&status=", 120),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        let first = app.get("/api/v1/offices").await;
        assert_eq!(first.status, 200, "[{be}]");
        let body = first.json();
        assert_eq!(
            (&body["total"], &body["page"], &body["per_page"]),
            (&json!(120), &json!(1), &json!(20)),
            "[{be}] defaults"
        );
        assert_eq!(codes(&body).len(), 20, "[{be}]");
        let first_item = &body["items"][0];
        let o = &app.nation.offices[0];
        assert_eq!(first_item["code"], "11000001", "[{be}]");
        assert_eq!(first_item["name_fa"], o.name.fa, "[{be}]");

        let p1 = app.get("/api/v1/offices?per_page=5&page=1").await.json();
        let p2 = app.get("/api/v1/offices?per_page=5&page=2").await.json();
        assert_eq!(
            codes(&p1),
            ["11000001", "11000002", "11000003", "11000004", "11000005"],
            "[{be}]"
        );
        assert_eq!(
            codes(&p2),
            ["11000006", "11000007", "11000008", "11000009", "11000010"],
            "[{be}]"
        );
        assert_eq!(
            (&p1["total"], &p2["total"]),
            (&json!(120), &json!(120)),
            "[{be}]"
        );
        assert_eq!(
            (&p2["page"], &p2["per_page"]),
            (&json!(2), &json!(5)),
            "[{be}]"
        );
        let last = app.get("/api/v1/offices?per_page=100&page=2").await.json();
        assert_eq!(codes(&last).len(), 20, "[{be}] 120 = 100 + 20");
        let beyond = app.get("/api/v1/offices?page=99").await.json();
        assert_eq!(
            (codes(&beyond).len(), &beyond["total"]),
            (0, &json!(120)),
            "[{be}] past the end"
        );
        let persian_digits = app.get("/api/v1/offices?per_page=%DB%B7").await.json(); // ۷
        assert_eq!(codes(&persian_digits).len(), 7, "[{be}]");

        for (query, total) in filters {
            let resp = app
                .get(&format!("/api/v1/offices?{query}&per_page=100"))
                .await;
            assert_eq!(resp.status, 200, "[{be}] {query}: {}", resp.text);
            let body = resp.json();
            assert_eq!(body["total"], json!(total), "[{be}] {query}");
            let items = body["items"].as_array().unwrap();
            assert_eq!(items.len() as u64, (*total).min(100), "[{be}] {query}");
            for item in items {
                if let Some(s) = query.strip_prefix("status=") {
                    assert_eq!(item["status"], s, "[{be}] {query}");
                }
                if query.contains("province=1") {
                    assert_eq!(item["province"], 1, "[{be}] {query}");
                }
            }
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn office_search_folds_arabic_letters_and_spacing() {
    // All of these must find exactly the offices on Ayatollah Kashani boulevard.
    let spellings = [
        "کاشانی",          // Persian kaf and yeh, as stored
        "كاشاني",          // Arabic kaf U+0643 and Arabic yeh U+064A
        "كاشانى",          // Arabic kaf and alef maksura
        "آيت‌الله كاشاني",  // with ZWNJ and Arabic letters
        "آیت الله کاشانی", // with a space instead of the ZWNJ
        "  کاشانـــی  ",   // tatweel and surrounding spaces
        "KASHANI",         // English address, any case
        "kashani blvd",
    ];
    for app in TestApp::all().await {
        let be = app.be();
        // The table is real data: check it against the nation that was loaded.
        let expected: Vec<String> = app
            .nation
            .offices
            .iter()
            .filter(|o| contains_normalized(&o.address.fa, "کاشانی"))
            .map(|o| o.code.to_string())
            .collect();
        assert_eq!(expected, KASHANI_OFFICES, "[{be}] test data");
        for q in spellings {
            let resp = app
                .get(&format!("/api/v1/offices?per_page=100&q={}", enc(q)))
                .await;
            assert_eq!(resp.status, 200, "[{be}] {q}: {}", resp.text);
            let body = resp.json();
            assert_eq!(codes(&body), KASHANI_OFFICES, "[{be}] q={q:?}");
            assert_eq!(body["total"], 4, "[{be}] q={q:?}");
        }
        // The office name spelled with Arabic yeh and Arabic-Indic digits finds the same
        // offices as the Persian spelling (each word matches on its own, so the number also
        // matches postal codes and phones: compare the two result sets).
        let persian = "دفتر پیشخوان دولت ۱۱۷ تهران";
        let arabic = "دفتر پيشخوان دولت ١١٧ تهران";
        let a = app
            .get(&format!("/api/v1/offices?per_page=100&q={}", enc(persian)))
            .await
            .json();
        let b = app
            .get(&format!("/api/v1/offices?per_page=100&q={}", enc(arabic)))
            .await
            .json();
        assert!(codes(&a).contains(&"11000117".to_string()), "[{be}] {a}");
        assert_eq!(codes(&a), codes(&b), "[{be}]");
        assert!(
            a["total"].as_u64().unwrap() < OFFICES,
            "[{be}] the words narrow it down"
        );
        // LIKE wildcards in the query are literal characters.
        for q in ["%", "_", "11%01", "\\"] {
            let body = app
                .get(&format!("/api/v1/offices?q={}", enc(q)))
                .await
                .json();
            assert_eq!(body["total"], 0, "[{be}] q={q:?} matched as a wildcard");
        }
        app.stop().await;
    }
}

/// (path, status, code, field)
#[rustfmt::skip]
const BAD_LISTING_PARAMS: &[(&str, u16, &str, Option<&str>)] = &[
    ("/api/v1/offices?per_page=101", 422, "invalid_page_size", Some("per_page")),
    ("/api/v1/offices?per_page=0", 422, "invalid_page_size", Some("per_page")),
    ("/api/v1/offices?per_page=-1", 422, "invalid_page_size", Some("per_page")),
    ("/api/v1/offices?page=abc", 422, "invalid_page", Some("page")),
    ("/api/v1/offices?page=0", 422, "invalid_page", Some("page")),
    ("/api/v1/offices?page=99999999999", 422, "invalid_page", Some("page")),
    ("/api/v1/offices?province=99", 422, "invalid_province", Some("province")),
    ("/api/v1/offices?province=0", 422, "invalid_province", Some("province")),
    ("/api/v1/offices?province=tehran", 422, "invalid_province", Some("province")),
    ("/api/v1/offices?status=closed", 422, "invalid_status", Some("status")),
    ("/api/v1/services?per_page=101", 422, "invalid_page_size", Some("per_page")),
    ("/api/v1/services?agency=NOCR!", 422, "invalid_agency_code", Some("agency")),
    ("/api/v1/services?digitization=done", 422, "invalid_digitization", Some("digitization")),
    ("/api/v1/services?channel=fax", 422, "invalid_channel", Some("channel")),
    ("/api/v1/services?category=nope", 422, "invalid_category", Some("category")),
];

#[tokio::test]
async fn bad_listing_parameters_are_problems() {
    let table = BAD_LISTING_PARAMS;
    for app in TestApp::all().await {
        let be = app.be();
        for (path, status, code, field) in table {
            let resp = app.get(path).await;
            let body = resp.problem(*status, code);
            assert_eq!(
                body["field"].as_str(),
                *field,
                "[{be}] {path}: {}",
                resp.text
            );
        }
        // A query string that is not valid at all is refused, not a 500.
        let resp = app.get("/api/v1/offices?page=1&page=2").await;
        assert!(
            resp.status == 200 || (resp.status >= 400 && resp.status < 500),
            "[{be}] repeated parameter: {}",
            resp.status
        );
        if resp.status >= 400 {
            assert_problem_shape(&resp);
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn one_office_by_code() {
    // (code in the path, expected status)
    let table: &[(&str, u16)] = &[
        ("11000001", 200),
        ("11000120", 200),
        ("%DB%B1%DB%B1%DB%B0%DB%B0%DB%B0%DB%B0%DB%B0%DB%B1", 200), // ۱۱۰۰۰۰۰۱
        ("11000121", 404),
        ("99999999", 404),
        ("01100000", 404),
        ("1100000", 404),
        ("110000011", 404),
        ("abc", 404),
        ("1100000a", 404),
        ("-1", 404),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        for (code, status) in table {
            let resp = app.get(&format!("/api/v1/offices/{code}")).await;
            if *status == 200 {
                assert_eq!(resp.status, 200, "[{be}] {code}: {}", resp.text);
            } else {
                resp.problem(*status, "not_found");
            }
        }
        let body = app.get("/api/v1/offices/11000001").await.json();
        let o = &app.nation.offices[0];
        assert_eq!(body["code"], "11000001", "[{be}]");
        assert_eq!(body["name_fa"], o.name.fa, "[{be}]");
        assert_eq!(body["name_en"], o.name.en, "[{be}]");
        assert_eq!(body["province"], 1, "[{be}]");
        assert_eq!(body["city_fa"], "تهران", "[{be}]");
        assert_eq!(body["postal_code"], o.postal_code.as_str(), "[{be}]");
        assert_eq!(body["phone"], o.phone, "[{be}]");
        assert_eq!(body["licence_no"], o.licence_no, "[{be}]");
        assert_eq!(
            body["licence_issued"],
            o.licence_issued.to_string(),
            "[{be}]"
        );
        assert_eq!(body["status"], "active", "[{be}]");
        assert_eq!(body["counters"], o.counters, "[{be}]");
        assert_eq!(
            body["hours"]["friday"],
            Value::Null,
            "[{be}] {}",
            body["hours"]
        );
        assert!(
            (body["lat"].as_f64().unwrap() - o.lat).abs() < 1e-9,
            "[{be}]"
        );
        let revoked = app.get("/api/v1/offices/11000028").await.json();
        assert_eq!(revoked["status"], "revoked", "[{be}]");
        app.stop().await;
    }
}

type FieldIs = Option<(&'static str, &'static str)>;

/// (query, expected total, (field, value) every item must have)
#[rustfmt::skip]
const SERVICE_FILTERS: &[(&str, u64, FieldIs)] = &[
    ("agency=nocr", 13, Some(("agency", "nocr"))),
    ("agency=police", 35, Some(("agency", "police"))),
    ("agency=no-such-agency", 0, None),
    ("digitization=networked", 220, Some(("digitization", "networked"))),
    ("digitization=in_progress", 192, Some(("digitization", "in_progress"))),
    ("digitization=not_started", 138, Some(("digitization", "not_started"))),
    ("agency=nocr&digitization=not_started", 1, Some(("code", "BRC-008"))),
    ("agency=nocr&digitization=networked", 7, Some(("agency", "nocr"))),
    ("q=NID-003", 1, Some(("code", "NID-003"))),
    ("q=nid-003", 1, Some(("code", "NID-003"))),
];

#[tokio::test]
async fn services_filter_and_lookup() {
    for app in TestApp::all().await {
        let be = app.be();
        let all = app.get("/api/v1/services?per_page=100").await.json();
        assert_eq!(all["total"], 550, "[{be}]");
        let first = codes(&all);
        assert_eq!(first.len(), 100, "[{be}]");
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(first, sorted, "[{be}] ordered by code");

        let table = SERVICE_FILTERS;
        for (query, total, every) in table {
            let resp = app
                .get(&format!("/api/v1/services?{query}&per_page=100"))
                .await;
            assert_eq!(resp.status, 200, "[{be}] {query}: {}", resp.text);
            let body = resp.json();
            assert_eq!(body["total"], json!(total), "[{be}] {query}");
            let items = body["items"].as_array().unwrap();
            assert_eq!(items.len() as u64, (*total).min(100), "[{be}] {query}");
            if let Some((field, value)) = every {
                for item in items {
                    assert_eq!(item[*field], *value, "[{be}] {query}");
                }
            }
        }

        // Free text in Persian, typed with Persian or with Arabic letters.
        for word in ["کارت هوشمند", "گواهی", "شناسنامه"] {
            let expected = app
                .nation
                .services
                .iter()
                .filter(|s| word.split(' ').all(|w| contains_normalized(&s.title.fa, w)))
                .count() as u64;
            assert!(expected > 0, "test data has {word}");
            let arabic = word.replace('ک', "ك").replace('ی', "ي");
            for q in [word.to_string(), arabic] {
                let body = app
                    .get(&format!("/api/v1/services?per_page=100&q={}", enc(&q)))
                    .await
                    .json();
                assert_eq!(body["total"], expected, "[{be}] q={q}");
            }
        }

        let one = app.get("/api/v1/services/NID-001").await;
        assert_eq!(one.status, 200, "[{be}]");
        let one = one.json();
        let s = &app.nation.services[0];
        assert_eq!(one["code"], "NID-001", "[{be}]");
        assert_eq!(one["title_fa"], s.title.fa, "[{be}]");
        assert_eq!(one["title_en"], s.title.en, "[{be}]");
        assert_eq!(one["agency"], "nocr", "[{be}]");
        assert_eq!(one["digitization"], "networked", "[{be}]");
        assert_eq!(
            one["required_documents"].as_array().map(Vec::len),
            Some(s.required_documents.len()),
            "[{be}]"
        );
        for code in ["NID-999", "nope!", "X", &"A".repeat(40)] {
            app.get(&format!("/api/v1/services/{}", enc(code)))
                .await
                .problem(404, "not_found");
        }
        app.stop().await;
    }
}

// ---- creating offices ----------------------------------------------------------------------

#[tokio::test]
async fn regulator_creates_offices() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let resp = app
            .post_json(
                "/api/v1/offices",
                Some(&reg),
                &office_json(Some("11000500"), "PK-TEST-0001"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        let created = resp.json();
        assert_eq!(created["code"], "11000500", "[{be}]");
        assert_eq!(created["status"], "active", "[{be}] default status");
        // Without licence_issued the date is today's in Tehran: 7 Azar 1405.
        assert_eq!(created["licence_issued"], "1405-09-07", "[{be}]");
        assert_eq!(created["postal_code"], "1345765345", "[{be}] normalized");
        assert_eq!(
            created["hours"]["saturday"], "07:30-14:30",
            "[{be}] standard hours"
        );
        let fetched = app.get("/api/v1/offices/11000500").await;
        assert_eq!(fetched.status, 200, "[{be}]");
        assert_eq!(
            fetched.json(),
            created,
            "[{be}] GET returns what POST stored"
        );
        assert_eq!(app.office_count().await, OFFICES + 1, "[{be}]");

        // Without a code, the next one after the highest in use is allocated.
        let resp = app
            .post_json(
                "/api/v1/offices",
                Some(&reg),
                &office_json(None, "PK-TEST-0002"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        assert_eq!(resp.json()["code"], "11000501", "[{be}]");
        // Persian digits and every optional field.
        let mut full = office_json(Some("۱۱۰۰۰۶۰۰"), "PK-TEST-0003");
        full["status"] = json!("warned");
        full["licence_issued"] = json!("1399-01-15");
        full["hours"] =
            json!("08:00-16:00;08:00-16:00;08:00-16:00;08:00-16:00;08:00-16:00;closed;closed");
        full["phone"] = json!("۰۲۱-۸۸۷۷۶۶۵۵");
        let resp = app.post_json("/api/v1/offices", Some(&reg), &full).await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        let body = resp.json();
        assert_eq!(body["code"], "11000600", "[{be}]");
        assert_eq!(body["status"], "warned", "[{be}]");
        assert_eq!(body["licence_issued"], "1399-01-15", "[{be}]");
        assert_eq!(body["phone"], "021-88776655", "[{be}]");
        assert_eq!(body["hours"]["thursday"], Value::Null, "[{be}]");
        assert_eq!(body["hours"]["monday"], "08:00-16:00", "[{be}]");
        assert_eq!(app.office_count().await, OFFICES + 3, "[{be}]");
        // The new office is searchable at once.
        let found = app
            .get(&format!("/api/v1/offices?q={}", enc("آزمايشی")))
            .await
            .json();
        assert_eq!(found["total"], 3, "[{be}]");
        app.stop().await;
    }
}

/// Changes a valid request body.
type Edit = fn(&mut Value);

fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().expect("object").remove(key);
}

/// (what, edit, acceptable `field`s, code)
#[rustfmt::skip]
const INVALID_OFFICES: &[(&str, Edit, &[&str], &str)] = &[
    ("bad postal code", |v| v["postal_code"] = json!("1234567890"), &["postal_code"], "invalid_postal_code"),
    ("short postal code", |v| v["postal_code"] = json!("13457"), &["postal_code"], "invalid_postal_code"),
    ("bad phone", |v| v["phone"] = json!("12345"), &["phone"], "invalid_phone"),
    ("phone with two dashes", |v| v["phone"] = json!("021-8877-6655"), &["phone"], "invalid_phone"),
    ("phone too short", |v| v["phone"] = json!("021-8877665"), &["phone"], "invalid_phone"),
    ("missing name_fa", |v| remove(v, "name_fa"), &["name_fa"], "missing_field"),
    ("blank name_fa", |v| v["name_fa"] = json!("   "), &["name_fa"], "missing_field"),
    ("null name_en", |v| v["name_en"] = Value::Null, &["name_en"], "missing_field"),
    ("too long name", |v| v["name_fa"] = json!("ب".repeat(301)), &["name_fa"], "too_long"),
    // The domain names the pair "coordinates"; "lat"/"lon" would serve form clients better.
    ("latitude outside Iran", |v| v["lat"] = json!(10.0), &["lat", "coordinates"], "invalid_coordinates"),
    ("longitude outside Iran", |v| v["lon"] = json!(70.5), &["lon", "coordinates"], "invalid_coordinates"),
    ("latitude not a number", |v| v["lat"] = json!("north"), &["lat"], "invalid_coordinates"),
    ("province 32", |v| v["province"] = json!(32), &["province"], "invalid_province"),
    ("province 0", |v| v["province"] = json!(0), &["province"], "invalid_province"),
    ("no counters", |v| v["counters"] = json!(0), &["counters"], "invalid_counters"),
    ("short code", |v| v["code"] = json!("123"), &["code"], "invalid_office_code"),
    ("code with a leading zero", |v| v["code"] = json!("01234567"), &["code"], "invalid_office_code"),
    ("unknown status", |v| v["status"] = json!("closed"), &["status"], "invalid_status"),
    ("unknown field", |v| v["colour"] = json!("red"), &[], "invalid_body"),
    ("wrong type", |v| v["name_fa"] = json!({ "fa": "x" }), &[], "invalid_body"),
    ("not an object", |v| *v = json!("an office"), &[], "invalid_body"),
];

#[tokio::test]
async fn invalid_offices_are_refused_and_nothing_is_written() {
    let table = INVALID_OFFICES;
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let count = app.office_count().await;
        let audit = app.audit_total(&reg).await;
        for (what, edit, fields, code) in table {
            let mut body = office_json(Some("11000700"), "PK-TEST-0700");
            edit(&mut body);
            let resp = app.post_json("/api/v1/offices", Some(&reg), &body).await;
            let problem = resp.problem(422, code);
            match problem.get("field").and_then(Value::as_str) {
                Some(f) => assert!(
                    fields.contains(&f),
                    "[{be}] {what}: field {f:?}, expected one of {fields:?}"
                ),
                None => assert!(
                    fields.is_empty(),
                    "[{be}] {what}: no field named: {problem}"
                ),
            }
            assert_eq!(
                app.office_count().await,
                count,
                "[{be}] {what}: nothing written"
            );
        }
        assert_eq!(app.audit_total(&reg).await, audit, "[{be}] nothing audited");
        app.get("/api/v1/offices/11000700")
            .await
            .problem(404, "not_found");
        app.stop().await;
    }
}

#[tokio::test]
async fn refused_office_requests_write_nothing() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let count = app.office_count().await;
        let audit = app.audit_total(&reg).await;
        let good = office_json(Some("11000800"), "PK-TEST-0800");
        let existing_licence = app.nation.offices[5].licence_no.clone();

        let mut checks: Vec<(String, Resp, u16, &str)> = Vec::new();
        let r = app
            .post_json(
                "/api/v1/offices",
                Some(&reg),
                &office_json(Some("11000001"), "PK-TEST-0801"),
            )
            .await;
        checks.push(("duplicate code".into(), r, 409, "office_exists"));
        let r = app
            .post_json(
                "/api/v1/offices",
                Some(&reg),
                &office_json(Some("11000802"), &existing_licence),
            )
            .await;
        checks.push(("duplicate licence".into(), r, 409, "licence_taken"));
        for (who, token) in [("manager", &manager), ("operator", &operator)] {
            let r = app.post_json("/api/v1/offices", Some(token), &good).await;
            checks.push((format!("{who} creates"), r, 403, "forbidden_role"));
            // Refused before validation: an invalid body gets the same answer.
            let r = app
                .post_json("/api/v1/offices", Some(token), &json!({ "name_fa": "" }))
                .await;
            checks.push((format!("{who} sends garbage"), r, 403, "forbidden_role"));
        }
        let r = app.post_json("/api/v1/offices", None, &good).await;
        checks.push(("anonymous".into(), r, 401, "unauthenticated"));
        let r = app
            .post_json("/api/v1/offices", Some("forged-token"), &good)
            .await;
        checks.push(("forged token".into(), r, 401, "unauthenticated"));
        let r = app
            .post_raw(
                "/api/v1/offices",
                Some(&reg),
                "application/json",
                r#"{"name_fa": "دفتر", "#,
            )
            .await;
        checks.push(("malformed JSON".into(), r, 400, "malformed_json"));
        let r = app
            .post_raw("/api/v1/offices", Some(&reg), "application/json", "")
            .await;
        checks.push(("empty body".into(), r, 400, "malformed_json"));
        let r = app
            .post_raw(
                "/api/v1/offices",
                Some(&reg),
                "text/plain",
                good.to_string(),
            )
            .await;
        checks.push(("text/plain".into(), r, 415, "unsupported_media_type"));
        let r = app
            .post_raw(
                "/api/v1/offices",
                Some(&reg),
                "application/x-www-form-urlencoded",
                "name_fa=x",
            )
            .await;
        checks.push(("form body".into(), r, 415, "unsupported_media_type"));
        let r = app
            .send(
                app.client
                    .post(app.url("/api/v1/offices"))
                    .bearer_auth(&reg)
                    .body(good.to_string()),
            )
            .await;
        checks.push(("no content-type".into(), r, 415, "unsupported_media_type"));
        let mut huge = good.clone();
        huge["address_en"] = json!("x".repeat(300 * 1024));
        let r = app.post_json("/api/v1/offices", Some(&reg), &huge).await;
        checks.push(("300 KiB body".into(), r, 413, "payload_too_large"));

        for (what, resp, status, code) in &checks {
            assert_eq!(
                (resp.status, resp.json()["code"].as_str().unwrap_or("")),
                (*status, *code),
                "[{be}] {what}: {}",
                resp.text.chars().take(300).collect::<String>()
            );
            assert_problem_shape(resp);
        }
        assert_eq!(app.office_count().await, count, "[{be}] nothing written");
        assert_eq!(app.audit_total(&reg).await, audit, "[{be}] nothing audited");
        app.get("/api/v1/offices/11000800")
            .await
            .problem(404, "not_found");

        // A body just under the limit is read (and then judged on its content).
        let mut big = good.clone();
        big["address_en"] = json!("x".repeat(250 * 1024));
        let r = app.post_json("/api/v1/offices", Some(&reg), &big).await;
        r.problem(422, "too_long");
        app.stop().await;
    }
}

// ---- staff and invitations -----------------------------------------------------------------

#[tokio::test]
async fn staff_are_invited_by_regulator_and_manager() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let other_before = app.office_staff(&reg, OTHER_OFFICE).await.len();
        let own_before = app.office_staff(&reg, DEMO_OFFICE).await.len();

        // The regulator invites a manager anywhere.
        let nc = app.fresh_national_code();
        let resp = app
            .post_json(
                "/api/v1/staff",
                Some(&reg),
                &staff_json(&nc, Some(OTHER_OFFICE), "manager"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        let body = resp.json();
        assert_eq!(
            body["username"],
            format!("u{nc}"),
            "[{be}] default username"
        );
        assert_eq!(body["national_code"], nc, "[{be}]");
        assert_eq!(body["first_name"], "سارا", "[{be}]");
        assert_eq!(body["mobile"], "09121234567", "[{be}] canonical mobile");
        assert_eq!(body["office"], OTHER_OFFICE, "[{be}]");
        assert_eq!(body["role"], "manager", "[{be}]");
        assert_eq!(body["status"], "invited", "[{be}]");
        assert!(body["id"].as_i64().is_some(), "[{be}]");
        let url = body["invitation_url"].as_str().expect("invitation_url");
        assert!(
            url.starts_with(&format!("{}/invite/", app.base)) && url.len() > app.base.len() + 40,
            "[{be}] {url}"
        );
        assert_eq!(
            body["invitation_expires_at"], "2026-12-05T10:00:00Z",
            "[{be}] 7 days"
        );
        let staff = app.office_staff(&reg, OTHER_OFFICE).await;
        assert_eq!(staff.len(), other_before + 1, "[{be}]");
        assert!(
            staff
                .iter()
                .any(|s| s["national_code"] == nc && s["status"] == "invited"),
            "[{be}]"
        );

        // The regulator invites another regulator, who has no office.
        let resp = app
            .post_json(
                "/api/v1/staff",
                Some(&reg),
                &staff_json(&app.fresh_national_code(), None, "regulator"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        assert_eq!(resp.json()["office"], Value::Null, "[{be}]");

        // The manager invites an operator, and a manager, at their own office.
        let mut body = staff_json(&app.fresh_national_code(), Some(DEMO_OFFICE), "operator");
        body["username"] = json!("New.Operator");
        body["mobile"] = json!("+98 935 111 2233");
        let resp = app.post_json("/api/v1/staff", Some(&manager), &body).await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        let created = resp.json();
        assert_eq!(created["username"], "new.operator", "[{be}]");
        assert_eq!(created["mobile"], "09351112233", "[{be}]");
        assert_eq!(created["office"], DEMO_OFFICE, "[{be}]");
        let resp = app
            .post_json(
                "/api/v1/staff",
                Some(&manager),
                &staff_json(&app.fresh_national_code(), Some(DEMO_OFFICE), "manager"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        assert_eq!(
            app.office_staff(&reg, DEMO_OFFICE).await.len(),
            own_before + 2,
            "[{be}]"
        );
        // The manager sees their own office's staff, with the new ones.
        let seen = app
            .get_as(
                &format!("/api/v1/offices/{DEMO_OFFICE}/staff"),
                Some(&manager),
            )
            .await;
        assert_eq!(seen.status, 200, "[{be}]");
        assert!(
            seen.json()
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["username"] == "new.operator"),
            "[{be}]"
        );
        app.stop().await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Regulator,
    Manager,
    Operator,
    Anonymous,
}

/// Which national code a request carries.
#[derive(Debug, Clone, Copy)]
enum Nc {
    /// Valid and unused.
    Fresh,
    /// The fresh one with its check digit changed.
    BadChecksum,
    /// Valid, but a member of staff already has it.
    Taken,
    Is(&'static str),
}

fn keep(_: &mut Value) {}

/// (what, who, national code, office, role, edit, status, code, field)
#[rustfmt::skip]
#[allow(clippy::type_complexity)]
const STAFF_REFUSALS: &[(&str, Who, Nc, Option<&str>, &str, Edit, u16, &str, Option<&str>)] = &[
    ("manager at another office", Who::Manager, Nc::Fresh, Some(OTHER_OFFICE), "operator", keep, 403, "forbidden_other_office", None),
    ("manager invites a regulator", Who::Manager, Nc::Fresh, Some(DEMO_OFFICE), "regulator", keep, 403, "forbidden_role", None),
    ("manager invites an officeless regulator", Who::Manager, Nc::Fresh, None, "regulator", keep, 403, "forbidden_other_office", None),
    ("operator invites an operator", Who::Operator, Nc::Fresh, Some(DEMO_OFFICE), "operator", keep, 403, "forbidden_role", None),
    ("operator invites elsewhere", Who::Operator, Nc::Fresh, Some(OTHER_OFFICE), "operator", keep, 403, "forbidden_role", None),
    ("anonymous", Who::Anonymous, Nc::Fresh, Some(DEMO_OFFICE), "operator", keep, 401, "unauthenticated", None),
    ("repeated digits", Who::Regulator, Nc::Is("1111111111"), Some(DEMO_OFFICE), "operator", keep, 422, "invalid_national_code", Some("national_code")),
    ("bad checksum", Who::Regulator, Nc::BadChecksum, Some(DEMO_OFFICE), "operator", keep, 422, "invalid_national_code", Some("national_code")),
    ("nine digits", Who::Regulator, Nc::Is("123456789"), Some(DEMO_OFFICE), "operator", keep, 422, "invalid_national_code", Some("national_code")),
    ("letters", Who::Regulator, Nc::Is("12345abcde"), Some(DEMO_OFFICE), "operator", keep, 422, "invalid_national_code", Some("national_code")),
    ("landline as mobile", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| v["mobile"] = json!("02188776655"), 422, "invalid_mobile", Some("mobile")),
    ("not an operator prefix", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| v["mobile"] = json!("09512345678"), 422, "invalid_mobile", Some("mobile")),
    ("short mobile", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| v["mobile"] = json!("0912"), 422, "invalid_mobile", Some("mobile")),
    ("unknown role", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "admin", keep, 422, "invalid_role", Some("role")),
    ("operator without office", Who::Regulator, Nc::Fresh, None, "operator", keep, 422, "missing_field", Some("office")),
    ("regulator with office", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "regulator", keep, 422, "office_not_allowed", Some("office")),
    ("bad office code", Who::Regulator, Nc::Fresh, Some("1234"), "operator", keep, 422, "invalid_office_code", Some("office")),
    ("unknown office", Who::Regulator, Nc::Fresh, Some("11000999"), "operator", keep, 404, "not_found", None),
    ("blank first name", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| v["first_name"] = json!("  "), 422, "invalid_name", Some("first_name")),
    ("bad username", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| v["username"] = json!("9lives"), 422, "invalid_username", Some("username")),
    ("unknown field", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| v["is_admin"] = json!(true), 422, "invalid_body", None),
    ("missing mobile", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| remove(v, "mobile"), 422, "invalid_body", None),
    ("taken national code", Who::Regulator, Nc::Taken, Some(DEMO_OFFICE), "operator", |v| v["username"] = json!("fresh.name"), 409, "national_code_taken", None),
    ("taken username", Who::Regulator, Nc::Fresh, Some(DEMO_OFFICE), "operator", |v| v["username"] = json!("operator"), 409, "username_taken", None),
];

#[tokio::test]
async fn refused_staff_requests_write_nothing() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let (reg, manager, operator) = (reg.as_str(), manager.as_str(), operator.as_str());
        let own = app.office_staff(reg, DEMO_OFFICE).await.len();
        let other = app.office_staff(reg, OTHER_OFFICE).await.len();
        let audit = app.audit_total(reg).await;

        let valid = app.fresh_national_code();
        let bad_checksum = {
            let mut b = valid.clone().into_bytes();
            b[9] = b'0' + (b[9] - b'0' + 1) % 10;
            String::from_utf8(b).unwrap()
        };
        let taken = app.nation.staff[0].national_code.as_str().to_string();
        for (what, who, nc, office, role, edit, status, code, field) in STAFF_REFUSALS {
            let nc = match nc {
                Nc::Fresh => valid.as_str(),
                Nc::BadChecksum => bad_checksum.as_str(),
                Nc::Taken => taken.as_str(),
                Nc::Is(s) => s,
            };
            let token = match who {
                Who::Regulator => Some(reg),
                Who::Manager => Some(manager),
                Who::Operator => Some(operator),
                Who::Anonymous => None,
            };
            let mut body = staff_json(nc, *office, role);
            edit(&mut body);
            let resp = app.post_json("/api/v1/staff", token, &body).await;
            let problem = resp.problem(*status, code);
            assert_eq!(
                problem.get("field").and_then(Value::as_str),
                *field,
                "[{be}] {what}: {problem}"
            );
        }
        assert_eq!(
            app.office_staff(reg, DEMO_OFFICE).await.len(),
            own,
            "[{be}]"
        );
        assert_eq!(
            app.office_staff(reg, OTHER_OFFICE).await.len(),
            other,
            "[{be}]"
        );
        assert_eq!(app.audit_total(reg).await, audit, "[{be}] nothing audited");
        app.stop().await;
    }
}

#[tokio::test]
async fn invitation_is_accepted_once_and_the_new_member_signs_in() {
    for app in TestApp::all().await {
        let be = app.be();
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let nc = app.fresh_national_code();
        let resp = app
            .post_json(
                "/api/v1/staff",
                Some(&manager),
                &staff_json(&nc, Some(DEMO_OFFICE), "operator"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        let token = invitation_token(resp.json()["invitation_url"].as_str().unwrap());
        let username = format!("u{nc}");

        let info = app.get(&format!("/api/v1/invitations/{token}")).await;
        assert_eq!(info.status, 200, "[{be}] {}", info.text);
        assert_eq!(
            info.json(),
            json!({
                "username": username,
                "first_name": "سارا",
                "last_name": "کریمی",
                "role": "operator",
                "office": DEMO_OFFICE,
                "expires_at": "2026-12-05T10:00:00Z",
            }),
            "[{be}]"
        );
        // Not active yet: no password works.
        app.login_response(&username, "correct horse battery")
            .await
            .problem(401, "bad_credentials");

        let accept = format!("/api/v1/invitations/{token}/accept");
        let short = app
            .post_json(&accept, None, &json!({ "password": "short" }))
            .await;
        assert_eq!(
            short.problem(422, "weak_password")["field"],
            "password",
            "[{be}]"
        );
        app.post_json(&accept, None, &json!({ "password": "1234567" }))
            .await
            .problem(422, "weak_password");
        app.post_json(&accept, None, &json!({ "password": "p".repeat(129) }))
            .await
            .problem(422, "invalid_password");
        app.post_json(&accept, None, &json!({ "pass": "correct horse battery" }))
            .await
            .problem(422, "invalid_body");
        // Still usable after refused attempts.
        assert_eq!(
            app.get(&format!("/api/v1/invitations/{token}"))
                .await
                .status,
            200,
            "[{be}]"
        );

        let ok = app
            .post_json(
                &accept,
                None,
                &json!({ "password": "correct horse battery" }),
            )
            .await;
        assert_eq!(ok.status, 200, "[{be}] {}", ok.text);
        assert_eq!(
            ok.json(),
            json!({ "username": username, "role": "operator", "office": DEMO_OFFICE }),
            "[{be}]"
        );
        let new_token = app.login(&username, "correct horse battery").await;
        let me = app.get_as("/api/v1/me", Some(&new_token)).await.json();
        assert_eq!(me["role"], "operator", "[{be}]");
        assert_eq!(me["office"], DEMO_OFFICE, "[{be}]");

        // One use only.
        app.post_json(&accept, None, &json!({ "password": "another password" }))
            .await
            .problem(410, "gone");
        app.get(&format!("/api/v1/invitations/{token}"))
            .await
            .problem(410, "gone");
        app.login_response(&username, "another password")
            .await
            .problem(401, "bad_credentials");
        // Unknown tokens.
        for t in ["no-such-token", &"x".repeat(43)] {
            app.get(&format!("/api/v1/invitations/{t}"))
                .await
                .problem(404, "not_found");
            app.post_json(
                &format!("/api/v1/invitations/{t}/accept"),
                None,
                &json!({ "password": "correct horse battery" }),
            )
            .await
            .problem(404, "not_found");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn concurrent_accepts_of_one_invitation_let_exactly_one_through() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let nc = app.fresh_national_code();
        let resp = app
            .post_json(
                "/api/v1/staff",
                Some(&reg),
                &staff_json(&nc, Some(DEMO_OFFICE), "operator"),
            )
            .await;
        let token = invitation_token(resp.json()["invitation_url"].as_str().unwrap());
        let path = format!("/api/v1/invitations/{token}/accept");
        let attempts = (0..4).map(|i| {
            let body = json!({ "password": format!("password number {i}") });
            let path = path.clone();
            let app = &app;
            async move { app.post_json(&path, None, &body).await }
        });
        let results = join_all(attempts).await;
        let winners: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status == 200)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "[{be}] statuses {:?}",
            results
                .iter()
                .map(|r| (r.status, r.text.clone()))
                .collect::<Vec<_>>()
        );
        for r in results.iter().filter(|r| r.status != 200) {
            r.problem(410, "gone");
        }
        // The winner's password is the one that works.
        let username = format!("u{nc}");
        app.login(&username, &format!("password number {}", winners[0]))
            .await;
        app.stop().await;
    }
}

/// Runs futures concurrently on the current task and returns their outputs in order.
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("finished")).collect()
}

/// Writes that arrive together must all succeed: a database busy with another writer is a
/// reason to wait, not a 500. (SQLite: deferred transactions that read and then write fail
/// with "database is locked" under concurrency.)
#[tokio::test]
async fn concurrent_staff_invitations_all_succeed() {
    let mut outcomes = Vec::new();
    for app in TestApp::all().await {
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let before = app.office_staff(&reg, DEMO_OFFICE).await.len();
        let codes: Vec<String> = (0..6).map(|_| app.fresh_national_code()).collect();
        let attempts = codes.iter().map(|nc| {
            let (app, reg) = (&app, &reg);
            async move {
                app.post_json(
                    "/api/v1/staff",
                    Some(reg),
                    &staff_json(nc, Some(DEMO_OFFICE), "operator"),
                )
                .await
            }
        });
        let statuses: Vec<(u16, String)> = join_all(attempts)
            .await
            .into_iter()
            .map(|r| {
                (
                    r.status,
                    r.json()["code"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let created = statuses.iter().filter(|(s, _)| *s == 201).count();
        let after = app.office_staff(&reg, DEMO_OFFICE).await.len();
        outcomes.push((app.be(), statuses, after - before == created));
        app.stop().await;
    }
    for (be, statuses, consistent) in &outcomes {
        assert!(consistent, "[{be}] staff written = 201s");
        assert!(
            statuses.iter().all(|(s, _)| *s == 201),
            "[{be}] concurrent invitations: {statuses:?} (all: {outcomes:?})"
        );
    }
}

/// Offices with distinct codes created at the same moment must all be stored.
#[tokio::test]
async fn concurrent_office_creations_with_distinct_codes_all_succeed() {
    let mut outcomes = Vec::new();
    for app in TestApp::all().await {
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let attempts = (0..6u32).map(|i| {
            let (app, reg) = (&app, &reg);
            let body = office_json(Some(&(11_000_300 + i).to_string()), &format!("PK-PAR-{i}"));
            async move { app.post_json("/api/v1/offices", Some(reg), &body).await }
        });
        let statuses: Vec<u16> = join_all(attempts).await.iter().map(|r| r.status).collect();
        let count = app.office_count().await;
        outcomes.push((app.be(), statuses, count));
        app.stop().await;
    }
    for (be, statuses, count) in &outcomes {
        assert_eq!(
            (statuses.as_slice(), *count),
            ([201; 6].as_slice(), OFFICES + 6),
            "[{be}] concurrent creations (all: {outcomes:?})"
        );
    }
}

/// Without a code the server allocates one; a client that chose no code must never get
/// 409 office_exists because another request took the same allocated code meanwhile.
#[tokio::test]
async fn concurrent_office_creations_without_code_get_distinct_codes() {
    let mut outcomes = Vec::new();
    for app in TestApp::all().await {
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let attempts = (0..6u32).map(|i| {
            let (app, reg) = (&app, &reg);
            let body = office_json(None, &format!("PK-AUTO-{i}"));
            async move { app.post_json("/api/v1/offices", Some(reg), &body).await }
        });
        let results: Vec<(u16, String)> = join_all(attempts)
            .await
            .iter()
            .map(|r| {
                let v = r.json();
                let label = v["code"].as_str().unwrap_or("").to_string();
                (r.status, label)
            })
            .collect();
        outcomes.push((app.be(), results));
        app.stop().await;
    }
    for (be, results) in &outcomes {
        let codes: BTreeSet<&str> = results.iter().map(|(_, c)| c.as_str()).collect();
        assert!(
            results.iter().all(|(s, _)| *s == 201) && codes.len() == 6,
            "[{be}] (status, code or problem code): {results:?} (all: {outcomes:?})"
        );
    }
}

#[tokio::test]
async fn invitations_expire() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let resp = app
            .post_json(
                "/api/v1/staff",
                Some(&reg),
                &staff_json(&app.fresh_national_code(), Some(OTHER_OFFICE), "operator"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        let token = invitation_token(resp.json()["invitation_url"].as_str().unwrap());
        app.clock
            .advance(time::Duration::days(7) - time::Duration::seconds(1));
        assert_eq!(
            app.get(&format!("/api/v1/invitations/{token}"))
                .await
                .status,
            200,
            "[{be}] valid until the last second"
        );
        app.clock.advance(time::Duration::seconds(1));
        app.get(&format!("/api/v1/invitations/{token}"))
            .await
            .problem(410, "gone");
        app.post_json(
            &format!("/api/v1/invitations/{token}/accept"),
            None,
            &json!({ "password": "correct horse battery" }),
        )
        .await
        .problem(410, "gone");
        app.stop().await;
    }
}

// ---- authorization -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Act {
    CreateOffice,
    CreateStaffOwnOffice,
    CreateStaffOtherOffice,
    ViewAudit,
    ViewStaffOwnOffice,
    ViewStaffOtherOffice,
    ListOffices,
    Me,
}

#[tokio::test]
async fn authorization_by_role() {
    // Expected status for (regulator, manager, operator, anonymous).
    let table: &[(Act, [u16; 4])] = &[
        (Act::CreateOffice, [201, 403, 403, 401]),
        (Act::CreateStaffOwnOffice, [201, 201, 403, 401]),
        (Act::CreateStaffOtherOffice, [201, 403, 403, 401]),
        (Act::ViewAudit, [200, 403, 403, 401]),
        (Act::ViewStaffOwnOffice, [200, 200, 403, 401]),
        (Act::ViewStaffOtherOffice, [200, 403, 403, 401]),
        (Act::ListOffices, [200, 200, 200, 200]),
        (Act::Me, [200, 200, 200, 401]),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let tokens = [
            ("regulator", Some(reg.clone())),
            ("manager", Some(app.login("manager", DEMO_PASSWORD).await)),
            ("operator", Some(app.login("operator", DEMO_PASSWORD).await)),
            ("anonymous", None),
        ];
        let mut next_office = 11000900u32;
        for (act, expected) in table {
            for ((who, token), status) in tokens.iter().zip(expected) {
                let token = token.as_deref();
                let offices_before = app.office_count().await;
                let staff_before = app.office_staff(&reg, DEMO_OFFICE).await.len()
                    + app.office_staff(&reg, OTHER_OFFICE).await.len();
                let resp = match act {
                    Act::CreateOffice => {
                        next_office += 1;
                        app.post_json(
                            "/api/v1/offices",
                            token,
                            &office_json(
                                Some(&next_office.to_string()),
                                &format!("PK-AUTHZ-{next_office}"),
                            ),
                        )
                        .await
                    }
                    Act::CreateStaffOwnOffice | Act::CreateStaffOtherOffice => {
                        let office = match act {
                            Act::CreateStaffOwnOffice => DEMO_OFFICE,
                            _ => OTHER_OFFICE,
                        };
                        app.post_json(
                            "/api/v1/staff",
                            token,
                            &staff_json(&app.fresh_national_code(), Some(office), "operator"),
                        )
                        .await
                    }
                    Act::ViewAudit => app.get_as("/api/v1/audit", token).await,
                    Act::ViewStaffOwnOffice => {
                        app.get_as(&format!("/api/v1/offices/{DEMO_OFFICE}/staff"), token)
                            .await
                    }
                    Act::ViewStaffOtherOffice => {
                        app.get_as(&format!("/api/v1/offices/{OTHER_OFFICE}/staff"), token)
                            .await
                    }
                    Act::ListOffices => app.get_as("/api/v1/offices", token).await,
                    Act::Me => app.get_as("/api/v1/me", token).await,
                };
                assert_eq!(
                    resp.status, *status,
                    "[{be}] {act:?} as {who}: {}",
                    resp.text
                );
                let written: i64 = if *status == 201 { 1 } else { 0 };
                if resp.status >= 400 {
                    assert_problem_shape(&resp);
                    let code = resp.json()["code"].as_str().unwrap().to_string();
                    let expected_codes: &[&str] = match resp.status {
                        401 => &["unauthenticated"],
                        _ => &["forbidden_role", "forbidden_other_office"],
                    };
                    assert!(
                        expected_codes.contains(&code.as_str()),
                        "[{be}] {act:?} as {who}: code {code}"
                    );
                }
                let offices_after = app.office_count().await;
                let staff_after = app.office_staff(&reg, DEMO_OFFICE).await.len()
                    + app.office_staff(&reg, OTHER_OFFICE).await.len();
                let (offices_written, staff_written) = match act {
                    Act::CreateOffice => (written, 0),
                    Act::CreateStaffOwnOffice | Act::CreateStaffOtherOffice => (0, written),
                    _ => (0, 0),
                };
                assert_eq!(
                    (
                        offices_after as i64 - offices_before as i64,
                        staff_after as i64 - staff_before as i64
                    ),
                    (offices_written, staff_written),
                    "[{be}] {act:?} as {who}: writes"
                );
            }
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn manager_of_a_revoked_office_may_not_invite() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        // 11000028 is revoked in the small nation.
        let nc = app.fresh_national_code();
        let resp = app
            .post_json(
                "/api/v1/staff",
                Some(&reg),
                &staff_json(&nc, Some("11000028"), "manager"),
            )
            .await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        let token = invitation_token(resp.json()["invitation_url"].as_str().unwrap());
        let ok = app
            .post_json(
                &format!("/api/v1/invitations/{token}/accept"),
                None,
                &json!({ "password": "revoked office pw" }),
            )
            .await;
        assert_eq!(ok.status, 200, "[{be}] {}", ok.text);
        let manager = app.login(&format!("u{nc}"), "revoked office pw").await;
        let before = app.office_staff(&reg, "11000028").await.len();
        app.post_json(
            "/api/v1/staff",
            Some(&manager),
            &staff_json(&app.fresh_national_code(), Some("11000028"), "operator"),
        )
        .await
        .problem(403, "office_suspended");
        assert_eq!(
            app.office_staff(&reg, "11000028").await.len(),
            before,
            "[{be}]"
        );
        // Reading their own office's staff is still allowed.
        assert_eq!(
            app.get_as("/api/v1/offices/11000028/staff", Some(&manager))
                .await
                .status,
            200,
            "[{be}]"
        );
        app.stop().await;
    }
}

// ---- audit log -----------------------------------------------------------------------------

#[tokio::test]
async fn audit_log_records_changes_newest_first() {
    for app in TestApp::all().await {
        let be = app.be();
        let login = app.login_response("regulator", DEMO_PASSWORD).await;
        assert_eq!(login.status, 200, "[{be}]");
        let login_request_id = login
            .header("x-request-id")
            .expect("request id")
            .to_string();
        let reg = login.json()["token"].as_str().unwrap().to_string();
        let office = app
            .post_json(
                "/api/v1/offices",
                Some(&reg),
                &office_json(Some("11000555"), "PK-AUDIT-1"),
            )
            .await;
        assert_eq!(office.status, 201, "[{be}] {}", office.text);
        let office_request_id = office.header("x-request-id").unwrap().to_string();
        let nc = app.fresh_national_code();
        let staff = app
            .post_json(
                "/api/v1/staff",
                Some(&reg),
                &staff_json(&nc, Some("11000555"), "manager"),
            )
            .await;
        assert_eq!(staff.status, 201, "[{be}] {}", staff.text);
        assert_ne!(
            login_request_id, office_request_id,
            "[{be}] request ids are unique"
        );

        let resp = app.get_as("/api/v1/audit", Some(&reg)).await;
        assert_eq!(resp.status, 200, "[{be}] {}", resp.text);
        let body = resp.json();
        assert_eq!(
            (&body["page"], &body["per_page"]),
            (&json!(1), &json!(20)),
            "[{be}]"
        );
        let items = body["items"].as_array().unwrap();
        assert!(items.len() >= 3, "[{be}]");
        let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "[{be}] newest first: {ids:?}"
        );
        let top: Vec<(&str, &str)> = items[..3]
            .iter()
            .map(|i| (i["action"].as_str().unwrap(), i["target"].as_str().unwrap()))
            .collect();
        let target_staff = format!("staff:u{nc}");
        assert_eq!(
            top,
            [
                ("staff.create", target_staff.as_str()),
                ("office.create", "office:11000555"),
                ("auth.login", "staff:regulator"),
            ],
            "[{be}]"
        );
        for item in &items[..3] {
            assert_eq!(item["actor"], "regulator", "[{be}] {item}");
            assert_eq!(item["ip"], "127.0.0.1", "[{be}] {item}");
            assert_eq!(item["at"], "2026-11-28T10:00:00Z", "[{be}] {item}");
            assert!(item["detail"].is_object(), "[{be}] {item}");
        }
        assert_eq!(items[2]["request_id"], login_request_id, "[{be}]");
        assert_eq!(items[1]["request_id"], office_request_id, "[{be}]");
        assert_eq!(items[1]["detail"]["province"], 1, "[{be}]");
        assert_eq!(items[0]["detail"]["role"], "manager", "[{be}]");
        assert_eq!(items[0]["detail"]["office"], "11000555", "[{be}]");

        // Filters.
        let logins = app
            .get_as(
                "/api/v1/audit?action=auth.login&actor=regulator",
                Some(&reg),
            )
            .await
            .json();
        assert_eq!(logins["total"], 1, "[{be}] {logins}");
        let creates = app
            .get_as("/api/v1/audit?action=office.create", Some(&reg))
            .await
            .json();
        assert_eq!(creates["total"], 1, "[{be}]");
        let paged = app
            .get_as("/api/v1/audit?per_page=1&page=2", Some(&reg))
            .await
            .json();
        assert_eq!(paged["items"][0]["id"], items[1]["id"], "[{be}]");
        app.get_as("/api/v1/audit?per_page=101", Some(&reg))
            .await
            .problem(422, "invalid_page_size");

        // Only the regulator reads it.
        for who in ["manager", "operator"] {
            let token = app.login(who, DEMO_PASSWORD).await;
            app.get_as("/api/v1/audit", Some(&token))
                .await
                .problem(403, "forbidden_role");
        }
        app.get("/api/v1/audit")
            .await
            .problem(401, "unauthenticated");
        app.stop().await;
    }
}

// ---- cookies and CSRF ----------------------------------------------------------------------

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_to_change_state() {
    for app in TestApp::all().await {
        let be = app.be();
        let login = app.login_response("regulator", DEMO_PASSWORD).await.json();
        let token = login["token"].as_str().unwrap().to_string();
        let csrf = login["csrf_token"].as_str().unwrap().to_string();
        let cookie = format!("pishkhan_session={token}");
        let count = app.office_count().await;
        let post = |csrf: Option<&str>, code: &str| {
            let mut req = app
                .client
                .post(app.url("/api/v1/offices"))
                .header("cookie", cookie.clone())
                .header("content-type", "application/json")
                .body(office_json(Some(code), &format!("PK-CSRF-{code}")).to_string());
            if let Some(c) = csrf {
                req = req.header("x-csrf-token", c);
            }
            app.send(req)
        };
        post(None, "11000901").await.problem(403, "csrf_failed");
        post(Some(""), "11000902").await.problem(403, "csrf_failed");
        post(Some("wrong-token"), "11000903")
            .await
            .problem(403, "csrf_failed");
        post(Some(&token), "11000904")
            .await
            .problem(403, "csrf_failed");
        assert_eq!(app.office_count().await, count, "[{be}] nothing written");

        let ok = post(Some(&csrf), "11000905").await;
        assert_eq!(ok.status, 201, "[{be}] {}", ok.text);
        assert_eq!(app.office_count().await, count + 1, "[{be}]");

        // Reads by cookie need no CSRF token.
        let me = app
            .send(
                app.client
                    .get(app.url("/api/v1/me"))
                    .header("cookie", cookie.clone()),
            )
            .await;
        assert_eq!(me.status, 200, "[{be}]");
        // A bearer token needs none either: it is never sent by a browser on its own.
        let ok = app
            .post_json(
                "/api/v1/offices",
                Some(&token),
                &office_json(Some("11000906"), "PK-CSRF-11000906"),
            )
            .await;
        assert_eq!(ok.status, 201, "[{be}] {}", ok.text);

        // Sign-out by cookie is a state change as well.
        let out = |csrf: Option<&str>| {
            let mut req = app
                .client
                .post(app.url("/api/v1/auth/logout"))
                .header("cookie", cookie.clone());
            if let Some(c) = csrf {
                req = req.header("x-csrf-token", c);
            }
            app.send(req)
        };
        out(None).await.problem(403, "csrf_failed");
        assert_eq!(out(Some(&csrf)).await.status, 204, "[{be}]");
        app.send(
            app.client
                .get(app.url("/api/v1/me"))
                .header("cookie", cookie.clone()),
        )
        .await
        .problem(401, "unauthenticated");
        app.stop().await;
    }
}

// ---- unknown routes and methods -------------------------------------------------------------

#[tokio::test]
async fn unknown_api_routes_are_404_problems() {
    let table: &[(&str, &str)] = &[
        ("GET", "/api/v1/nope"),
        ("GET", "/api/v1/offices/11000001/nope"),
        ("POST", "/api/v1/nope"),
        ("DELETE", "/api/v1/nope"),
        ("GET", "/api/v2/offices"),
        ("GET", "/api/"),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        for (method, path) in table {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let resp = app.send(app.client.request(m, app.url(path))).await;
            let body = resp.problem(404, "not_found");
            assert_eq!(body["detail"], "route not found", "[{be}] {method} {path}");
        }
        // Outside the API an unknown page is an HTML page, not JSON.
        let page = app.get("/no-such-page").await;
        assert_eq!(page.status, 404, "[{be}]");
        assert!(page.content_type().starts_with("text/html"), "[{be}]");
        assert!(page.text.contains("یافت نشد"), "[{be}]");
        app.stop().await;
    }
}

/// The problem document of a 405 must carry status 405 too (RFC 9457: `status` is the HTTP
/// status of the response), not the 400 of the error it was built from.
#[tokio::test]
async fn wrong_method_is_a_405_problem() {
    let table: &[(&str, &str)] = &[
        ("POST", "/api/v1/provinces"),
        ("DELETE", "/api/v1/offices/11000001"),
        ("PUT", "/api/v1/staff"),
        ("GET", "/api/v1/auth/login"),
        ("PATCH", "/api/v1/audit"),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        for (method, path) in table {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let resp = app.send(app.client.request(m, app.url(path))).await;
            assert_eq!(resp.status, 405, "[{be}] {method} {path}");
            assert_eq!(resp.json()["code"], "method_not_allowed", "[{be}]");
            // The body agrees with the status line, and the title is not "Bad request".
            let body = resp.problem(405, "method_not_allowed");
            assert_ne!(
                body["title"], "Bad request",
                "[{be}] {method} {path}: {body}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_on_the_booking_routes_too() {
    // The booking routes accept staff or citizens; a cookie-borne staff session must still
    // prove it comes from our pages before it books, cancels or moves anything.
    for app in TestApp::all().await {
        let be = app.be();
        let login = app.login_response("operator", DEMO_PASSWORD).await.json();
        let token = login["token"].as_str().unwrap().to_string();
        let csrf = login["csrf_token"].as_str().unwrap().to_string();
        let cookie = format!("pishkhan_session={token}");
        let days = app
            .get(&format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"
            ))
            .await
            .json();
        let start = days["days"][0]["slots"][0]["start"]
            .as_str()
            .unwrap()
            .to_string();
        let citizen = app.fresh_national_code();
        let body = json!({
            "office": DEMO_OFFICE, "service": "PSP-001", "start": start,
            "national_code": citizen, "mobile": "09121234567",
        });
        let post = |path: String, csrf: Option<&str>, body: Value| {
            let mut req = app
                .client
                .post(app.url(&path))
                .header("cookie", cookie.clone())
                .json(&body);
            if let Some(c) = csrf {
                req = req.header("x-csrf-token", c);
            }
            app.send(req)
        };
        for bad in [None, Some("forged")] {
            post("/api/v1/bookings".into(), bad, body.clone())
                .await
                .problem(403, "csrf_failed");
        }
        let list = app
            .get_as(
                &format!("/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"),
                None,
            )
            .await
            .json();
        assert_eq!(
            list["days"][0]["slots"][0]["available"], days["days"][0]["slots"][0]["available"],
            "[{be}] nothing booked without the token"
        );

        let made = post("/api/v1/bookings".into(), Some(&csrf), body.clone()).await;
        assert_eq!(made.status, 201, "[{be}] {}", made.text);
        let code = made.json()["tracking_code"].as_str().unwrap().to_string();
        post(format!("/api/v1/bookings/{code}/cancel"), None, json!({}))
            .await
            .problem(403, "csrf_failed");
        post(
            format!("/api/v1/bookings/{code}/reschedule"),
            None,
            json!({ "start": start }),
        )
        .await
        .problem(403, "csrf_failed");
        let got = app
            .get_as(&format!("/api/v1/bookings/{code}"), Some(&token))
            .await
            .json();
        assert_eq!(got["status"], "booked", "[{be}] still booked");
        app.stop().await;
    }
}

/// The values of a GET operation's query parameter `name` that the document enumerates,
/// without the empty one (a left-out filter).
fn enumerated(doc: &Value, path: &str, name: &str) -> Vec<String> {
    let param = doc["paths"][path]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"));
    param["schema"]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("GET {path} {name} is no enum: {param}"))
        .iter()
        .filter_map(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Closed sets are enums of exactly the domain's codes: a client (or the contract run) then
/// sends only values the server takes, and a code added to the domain shows up here.
#[test]
fn closed_sets_in_the_document_are_the_domain_codes() {
    use pishkhan_domain::model::{Category, Channel, Digitization, OfficeStatus, Role};
    let doc = pishkhan_web::openapi_json();
    let codes = |all: Vec<&str>| all.into_iter().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        enumerated(&doc, "/api/v1/offices", "status"),
        codes(OfficeStatus::ALL.iter().map(|s| s.code()).collect())
    );
    assert_eq!(
        enumerated(&doc, "/api/v1/services", "category"),
        codes(Category::ALL.iter().map(|c| c.code()).collect())
    );
    assert_eq!(
        enumerated(&doc, "/api/v1/services", "channel"),
        codes(Channel::ALL.iter().map(|c| c.code()).collect())
    );
    assert_eq!(
        enumerated(&doc, "/api/v1/services", "digitization"),
        codes(Digitization::ALL.iter().map(|d| d.code()).collect())
    );
    let role = &doc["components"]["schemas"]["NewStaffIn"]["properties"]["role"];
    let roles: Vec<&str> = role["enum"]
        .as_array()
        .expect("role enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        roles,
        Role::ALL.iter().map(|r| r.code()).collect::<Vec<_>>()
    );
    // An enum replaces the pattern it came from.
    assert!(role["pattern"].is_null(), "{role}");
}

/// The document's bounds are the server's: a page past the last one it takes is outside the
/// pattern, an optional filter may be empty (read as left out), and the compliance rules are
/// a list of typed rules, not a bare object.
#[test]
fn pages_filters_and_rules_have_the_servers_shape() {
    let doc = pishkhan_web::openapi_json();
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_else(|| panic!("GET {path} has no {name}"))
    };
    // `PageRequest` takes pages 1..=1,000,000; empty is the first.
    let page = param("/api/v1/audit", "page");
    assert_eq!(
        page["schema"]["pattern"], "^(([1-9][0-9]{0,5}|1000000))?$",
        "{page}"
    );
    let status = param("/api/v1/offices", "status");
    assert!(
        status["schema"]["enum"]
            .as_array()
            .is_some_and(|v| v.contains(&json!(""))),
        "an empty filter is allowed: {status}"
    );
    let rules = &doc["components"]["schemas"]["RulesIn"]["properties"]["rules"];
    assert_eq!(rules["type"], "array", "{rules}");
    assert_eq!(rules["maxItems"], 3, "{rules}");
    let out = &doc["components"]["schemas"]["RulesOut"]["properties"]["rules"];
    assert_eq!(
        out["type"], "array",
        "GET /compliance/rules answers a list: {out}"
    );
}

/// What the document now allows, the server takes: an empty filter value is a left-out one
/// on the fee quote, the statistics and the settlements too.
#[tokio::test]
async fn an_empty_filter_value_is_a_left_out_one() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        for path in [
            "/api/v1/offices?status=&page=&per_page=&province=",
            "/api/v1/services?category=&agency=&channel=",
            "/api/v1/stats/once-only?format=",
            "/api/v1/stats/online-service-index?format=",
            "/api/v1/settlements?date=&payee=",
            "/api/v1/payments?office=&date=",
            "/api/v1/findings?office=",
        ] {
            let r = app.get_as(path, Some(&reg)).await;
            assert_eq!(r.status, 200, "[{be}] {path}: {}", r.text);
        }
        let services = app.get("/api/v1/services?per_page=1").await.json();
        let code = services["items"][0]["code"]
            .as_str()
            .expect("a service")
            .to_string();
        let r = app.get(&format!("/api/v1/services/{code}/fee?date=")).await;
        assert_ne!(r.status, 422, "[{be}] empty date: {}", r.text);
        app.stop().await;
    }
}
