//! Server-rendered pages through plain HTTP (no browser): CSRF on forms and redirects that
//! never leave the site. On every configured backend.

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, Resp, TestApp, enc};

/// The value of a hidden or text input named `name` in a page.
pub(crate) fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name} in page"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The cookie pair (`name=value`) a response sets for `name`.
pub(crate) fn set_cookie(resp: &Resp, name: &str) -> String {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie set"))
        .to_string()
}

pub(crate) async fn post_form(app: &TestApp, path: &str, cookie: &str, body: String) -> Resp {
    app.send(
        app.client
            .post(app.url(path))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

/// Signs in through the form (double-submit CSRF) and returns the session cookie pair.
pub(crate) async fn form_login(app: &TestApp, username: &str, next: &str) -> (Resp, String) {
    let page = app.get("/login").await;
    assert_eq!(page.status, 200, "[{}]", app.be());
    let csrf_cookie = set_cookie(&page, "pishkhan_login_csrf");
    let csrf = input_value(&page.text, "csrf");
    assert_eq!(csrf_cookie, format!("pishkhan_login_csrf={csrf}"));
    let resp = post_form(
        app,
        "/login",
        &csrf_cookie,
        form(&[
            ("username", username),
            ("password", DEMO_PASSWORD),
            ("csrf", &csrf),
            ("next", next),
        ]),
    )
    .await;
    let session = if resp.status == 303 || resp.status == 302 || resp.status == 307 {
        set_cookie(&resp, "pishkhan_session")
    } else {
        String::new()
    };
    (resp, session)
}

#[tokio::test]
async fn sign_in_form_needs_its_csrf_cookie() {
    for app in TestApp::all().await {
        let be = app.be();
        let page = app.get("/login").await;
        let csrf = input_value(&page.text, "csrf");
        let body = form(&[
            ("username", "regulator"),
            ("password", DEMO_PASSWORD),
            ("csrf", &csrf),
        ]);
        // No cookie, or a cookie that does not match the field: refused, no session.
        for cookie in ["", "pishkhan_login_csrf=something-else"] {
            let resp = post_form(&app, "/login", cookie, body.clone()).await;
            assert_eq!(resp.status, 403, "[{be}] cookie {cookie:?}");
            assert!(resp.headers.get("set-cookie").is_none(), "[{be}]");
            assert!(resp.content_type().starts_with("text/html"), "[{be}]");
        }
        let (resp, session) = form_login(&app, "regulator", "/offices").await;
        assert!(
            [302, 303, 307].contains(&resp.status),
            "[{be}] {}",
            resp.status
        );
        assert_eq!(resp.header("location"), Some("/offices"), "[{be}]");
        let dash = app
            .send(
                app.client
                    .get(app.url("/dashboard"))
                    .header("cookie", &session),
            )
            .await;
        assert_eq!(dash.status, 200, "[{be}]");
        assert!(dash.text.contains("regulator"), "[{be}]");
        app.stop().await;
    }
}

#[tokio::test]
async fn redirects_never_leave_the_site() {
    let nexts = [
        ("/offices?q=x", "/offices?q=x"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ];
    let referers = [
        (
            "http://127.0.0.1/services?agency=nocr",
            "/services?agency=nocr",
        ),
        ("http://evil.example//evil.org/x", "/"),
        ("http://evil.example", "/"),
        ("not a url", "/"),
    ];
    for app in TestApp::all().await {
        let be = app.be();
        for (next, expected) in nexts {
            let (resp, _) = form_login(&app, "operator", next).await;
            assert_eq!(
                resp.header("location"),
                Some(expected),
                "[{be}] next={next:?}"
            );
        }
        for (referer, expected) in referers {
            let resp = app
                .send(
                    app.client
                        .get(app.url("/lang/en"))
                        .header("referer", referer),
                )
                .await;
            assert_eq!(
                resp.header("location"),
                Some(expected),
                "[{be}] referer {referer:?}"
            );
            assert!(
                set_cookie(&resp, "pishkhan_lang") == "pishkhan_lang=en",
                "[{be}]"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn page_forms_need_the_session_csrf_token() {
    for app in TestApp::all().await {
        let be = app.be();
        let (_, session) = form_login(&app, "manager", "/dashboard").await;
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let before = app.office_staff(&reg, DEMO_OFFICE).await.len();
        let page = app
            .send(
                app.client
                    .get(app.url("/staff/new"))
                    .header("cookie", &session),
            )
            .await;
        assert_eq!(page.status, 200, "[{be}]");
        let csrf = input_value(&page.text, "csrf");
        assert!(csrf.len() >= 40, "[{be}] csrf field");
        let invite = |csrf: &str| {
            form(&[
                ("csrf", csrf),
                ("national_code", &app.fresh_national_code()),
                ("first_name", "رضا"),
                ("last_name", "یزدانی"),
                ("mobile", "09121112233"),
                ("office", DEMO_OFFICE),
                ("role", "operator"),
            ])
        };
        for bad in ["", "forged"] {
            let resp = post_form(&app, "/staff/new", &session, invite(bad)).await;
            assert_eq!(resp.status, 403, "[{be}] csrf {bad:?}");
        }
        assert_eq!(
            app.office_staff(&reg, DEMO_OFFICE).await.len(),
            before,
            "[{be}]"
        );
        let resp = post_form(&app, "/staff/new", &session, invite(&csrf)).await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        assert!(resp.text.contains("invitation-link"), "[{be}]");
        assert_eq!(
            app.office_staff(&reg, DEMO_OFFICE).await.len(),
            before + 1,
            "[{be}]"
        );
        // A manager's form always invites into their own office, whatever is posted.
        let mut other = invite(&csrf);
        other = other.replace(&format!("office={DEMO_OFFICE}"), "office=11000002");
        let resp = post_form(&app, "/staff/new", &session, other).await;
        assert_eq!(resp.status, 201, "[{be}] {}", resp.text);
        assert_eq!(
            app.office_staff(&reg, "11000002").await.len(),
            app.nation
                .staff
                .iter()
                .filter(|s| s.office.is_some_and(|o| o.to_string() == "11000002"))
                .count(),
            "[{be}] nothing added elsewhere"
        );
        // Sign-out by form needs the token too.
        let resp = post_form(&app, "/logout", &session, form(&[("csrf", "forged")])).await;
        assert_eq!(resp.status, 403, "[{be}]");
        let still = app
            .send(
                app.client
                    .get(app.url("/dashboard"))
                    .header("cookie", &session),
            )
            .await;
        assert_eq!(still.status, 200, "[{be}] still signed in");
        let resp = post_form(&app, "/logout", &session, form(&[("csrf", &csrf)])).await;
        assert_eq!(resp.header("location"), Some("/login"), "[{be}]");
        let gone = app
            .send(
                app.client
                    .get(app.url("/dashboard"))
                    .header("cookie", &session),
            )
            .await;
        assert_eq!(
            gone.header("location"),
            Some("/login?next=%2Fdashboard"),
            "[{be}] signed out"
        );
        app.stop().await;
    }
}
