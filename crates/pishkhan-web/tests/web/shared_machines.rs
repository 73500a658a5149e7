//! A counter PC is shared: nothing but the static assets may stay in its browser's cache,
//! HTTPS deployments tell browsers to use nothing else, and `/metrics` answers only its token.

use crate::support::{DEMO_PASSWORD, TestApp};
use crate::ui::form_login;

#[tokio::test]
async fn only_static_assets_may_be_cached() {
    for app in TestApp::all().await {
        let be = app.be();
        let login = app.login_response("operator", DEMO_PASSWORD).await;
        assert_eq!(login.status, 200, "[{be}]");
        let token = login.json()["token"].as_str().unwrap_or("").to_string();
        let (_, session) = form_login(&app, "manager", "/dashboard").await;
        let me = app.get_as("/api/v1/me", Some(&token)).await;
        let bookings = app
            .get_as("/api/v1/offices/11000001/queue", Some(&token))
            .await;
        let dashboard = app
            .send(
                app.client
                    .get(app.url("/dashboard"))
                    .header("cookie", &session),
            )
            .await;
        let public = app.get("/api/v1/offices?per_page=1").await;
        let missing = app.get("/api/v1/nothing-here").await;
        for (what, resp) in [
            ("sign-in", &login),
            ("/api/v1/me", &me),
            ("the queue", &bookings),
            ("a signed-in page", &dashboard),
            ("a public list", &public),
            ("a problem", &missing),
        ] {
            assert_eq!(
                resp.header("cache-control"),
                Some("no-store"),
                "[{be}] {what}"
            );
            assert_eq!(
                resp.header("strict-transport-security"),
                None,
                "[{be}] {what}: plain HTTP"
            );
        }
        assert_eq!(dashboard.status, 200, "[{be}]");
        let asset = app.get("/static/app.css").await;
        assert_eq!(asset.status, 200, "[{be}]");
        assert_eq!(
            asset.header("cache-control"),
            Some("public, max-age=86400"),
            "[{be}]"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn secure_cookies_come_with_strict_transport_security() {
    let app = crate::support::TestApp::start(pishkhan_testkit::TestDb::sqlite(), |c| {
        c.cookie_secure = true;
    })
    .await;
    let login = app.login_response("operator", DEMO_PASSWORD).await;
    assert_eq!(login.status, 200);
    for resp in [&login, &app.get("/healthz").await, &app.get("/login").await] {
        assert_eq!(
            resp.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{}",
            resp.text
        );
    }
    let (signed_in, _) = form_login(&app, "operator", "/dashboard").await;
    let session = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("pishkhan_session="))
        .unwrap_or_default()
        .to_string();
    assert!(session.contains("; Secure"), "{session:?}");
    assert_eq!(
        signed_in.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_answer_only_the_configured_bearer_token() {
    // No token set: nobody reads them.
    let app = TestApp::sqlite().await;
    let refused = app.get("/metrics").await;
    refused.problem(401, "metrics_token_required");
    app.get_as("/metrics", Some("anything-at-all-1234"))
        .await
        .problem(401, "metrics_token_required");
    app.stop().await;

    assert!(
        pishkhan_web::MetricsToken::new("short").is_err(),
        "a guessable token"
    );
    let token = pishkhan_web::MetricsToken::new("scrape-me-7f3a9c2e51b8").expect("token");
    assert!(
        !format!("{token:?}").contains("scrape-me"),
        "Debug hides the token"
    );
    for app in TestApp::all_with(|c| c.metrics_token = Some(token.clone())).await {
        let be = app.be();
        app.get("/metrics")
            .await
            .problem(401, "metrics_token_required");
        app.get_as("/metrics", Some("scrape-me-7f3a9c2e51b9"))
            .await
            .problem(401, "metrics_token_required");
        // A staff session is not the metrics token either.
        let staff = app.login("regulator", DEMO_PASSWORD).await;
        app.get_as("/metrics", Some(&staff))
            .await
            .problem(401, "metrics_token_required");
        let ok = app.get_as("/metrics", Some("scrape-me-7f3a9c2e51b8")).await;
        assert_eq!(ok.status, 200, "[{be}] {}", ok.text);
        assert!(ok.text.contains("pishkhan_http_requests_total"), "[{be}]");
        app.stop().await;
    }
}
