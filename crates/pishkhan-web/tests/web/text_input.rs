//! Control characters in any text a request carries (path, query, JSON, form) are a 422
//! `control_character` on every backend: never a 500 (PostgreSQL refuses a null byte), never
//! stored (SQLite would keep it).

use serde_json::json;

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp, staff_json};
use crate::ui::{form, form_login, input_value, post_form};

#[tokio::test]
async fn control_characters_are_refused_wherever_text_arrives() {
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let staff_before = app.office_staff(&reg, DEMO_OFFICE).await.len();

        // The two requests of the report: a null in a JSON string, and in a query.
        let mut body = staff_json(&app.fresh_national_code(), Some(DEMO_OFFICE), "operator");
        body["first_name"] = json!("ab\u{0}cd");
        assert!(body.to_string().contains(r"ab\u0000cd"), "{body}");
        let p = app.post_json("/api/v1/staff", Some(&reg), &body).await;
        p.problem(422, "control_character");
        assert!(
            p.json()["detail"].as_str().unwrap_or("").contains("U+0000"),
            "[{be}] {}",
            p.text
        );
        app.get("/api/v1/offices?q=%00%00")
            .await
            .problem(422, "control_character");

        // Other controls and other places: an escape, raw DEL and C1 in a JSON body, a path
        // segment, a page's query.
        for raw in [
            r#"{"username":"regulator","password":"demo\u001b1234"}"#,
            "{\"username\":\"regulator\u{7f}\",\"password\":\"demo1234\"}",
            "{\"username\":\"\u{85}regulator\",\"password\":\"demo1234\"}",
            r#"{"username":"regulator","password":"demo1234\b"}"#,
        ] {
            app.post_raw(
                "/api/v1/auth/login",
                None,
                "application/json",
                raw.to_string(),
            )
            .await
            .problem(422, "control_character");
        }
        for path in [
            "/api/v1/invitations/ab%00cd",
            "/api/v1/offices/1100%1F0001",
            "/offices?q=%7F",
            "/api/v1/services?q=x%C2%9By",
        ] {
            app.get(path).await.problem(422, "control_character");
        }

        // Line breaks pass the request check (free text may hold them), but a name is one
        // line, and says so with the same code and its field.
        let mut body = staff_json(&app.fresh_national_code(), Some(DEMO_OFFICE), "operator");
        body["last_name"] = json!("کریمی\nمدیر");
        let p = app.post_json("/api/v1/staff", Some(&reg), &body).await;
        assert_eq!(
            p.problem(422, "control_character")["field"],
            "last_name",
            "[{be}]"
        );

        // Persian names keep their zero-width non-joiner.
        let mut body = staff_json(&app.fresh_national_code(), Some(DEMO_OFFICE), "operator");
        body["last_name"] = json!("رحمانی\u{200c}پور");
        let ok = app.post_json("/api/v1/staff", Some(&reg), &body).await;
        assert_eq!(ok.status, 201, "[{be}] {}", ok.text);

        // The page form: a null is refused as the API refuses it; a line break in a name
        // gets the page's own message, in Persian.
        let (_, session) = form_login(&app, "manager", "/dashboard").await;
        let page = app
            .send(
                app.client
                    .get(app.url("/staff/new"))
                    .header("cookie", &session),
            )
            .await;
        let csrf = input_value(&page.text, "csrf");
        for (first, expect_page) in [("ab\u{0}cd", false), ("رضا\r\nرضا", true)] {
            let resp = post_form(
                &app,
                "/staff/new",
                &session,
                form(&[
                    ("csrf", &csrf),
                    ("national_code", &app.fresh_national_code()),
                    ("first_name", first),
                    ("last_name", "یزدانی"),
                    ("mobile", "09121112233"),
                    ("office", DEMO_OFFICE),
                    ("role", "operator"),
                ]),
            )
            .await;
            if expect_page {
                assert_eq!(resp.status, 422, "[{be}] {}", resp.text);
                assert!(
                    resp.text.contains("نویسه‌های کنترلی"),
                    "[{be}] {}",
                    resp.text
                );
            } else {
                resp.problem(422, "control_character");
            }
        }

        let staff_after = app.office_staff(&reg, DEMO_OFFICE).await;
        assert_eq!(
            staff_after.len(),
            staff_before + 1,
            "[{be}] only the good one"
        );
        assert!(
            staff_after
                .iter()
                .all(|s| !s.to_string().contains("\\u0000")),
            "[{be}] no null stored"
        );
        app.stop().await;
    }
}
