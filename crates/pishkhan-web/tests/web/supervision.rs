//! Supervision through HTTP on every backend: the regulator dismisses an open finding
//! through the API (once, and only the regulator); the office manager's page changes the
//! office's hours, slot policy, closures and counters with its forms, as the API reads them
//! back, shows refusals in Persian beside the form, and is closed to another office's manager.

use serde_json::{Value, json};

use crate::compliance::seed_figures;
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE, Resp, TestApp};
use crate::ui::{form, post_form};

/// A staff session for pages: the cookie, and the CSRF token the forms carry.
async fn page_session(app: &TestApp, username: &str) -> (String, String, String) {
    let login = app.login_response(username, DEMO_PASSWORD).await.json();
    let token = login["token"].as_str().expect("token").to_string();
    let csrf = login["csrf_token"].as_str().expect("csrf").to_string();
    (format!("pishkhan_session={token}"), csrf, token)
}

async fn page_as(app: &TestApp, path: &str, cookie: &str) -> Resp {
    app.send(app.client.get(app.url(path)).header("cookie", cookie))
        .await
}

/// One open finding of the demo office; its id.
async fn open_finding(app: &TestApp, regulator: &str) -> i64 {
    seed_figures(app, DEMO_OFFICE, 14, 5, 60).await;
    let run = app
        .post_json("/api/v1/compliance/runs", Some(regulator), &json!({}))
        .await;
    assert_eq!(run.status, 201, "[{}] {}", app.be(), run.text);
    let open = app
        .get_as("/api/v1/compliance/findings?status=open", Some(regulator))
        .await
        .json();
    assert_eq!(open["total"], 1, "[{}] {open}", app.be());
    open["items"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_regulator_dismisses_an_open_finding_once() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let id = open_finding(&app, &regulator).await;
        let path = format!("/api/v1/compliance/findings/{id}/dismissal");
        let why = json!({ "reason": "ارقام اشتباه وارد شده بود" });

        app.post_json(&path, Some(&manager), &why)
            .await
            .problem(403, "forbidden_role");
        app.post_json(&path, None, &why)
            .await
            .problem(401, "unauthenticated");
        app.post_json(&path, Some(&regulator), &json!({ "reason": "  " }))
            .await
            .problem(422, "invalid_text");

        let done = app.post_json(&path, Some(&regulator), &why).await;
        assert_eq!(done.status, 200, "[{be}] {}", done.text);
        let f = done.json();
        assert_eq!(f["id"], id, "[{be}]");
        assert_eq!(f["status"], "dismissed", "[{be}] {f}");
        assert_eq!(f["office"], DEMO_OFFICE, "[{be}]");

        app.post_json(&path, Some(&regulator), &why)
            .await
            .problem(409, "finding_not_open");
        for unknown in [format!("{}", id + 1000), "0".into(), "abc".into()] {
            app.post_json(
                &format!("/api/v1/compliance/findings/{unknown}/dismissal"),
                Some(&regulator),
                &why,
            )
            .await
            .problem(404, "not_found");
        }

        let open = app
            .get_as("/api/v1/compliance/findings?status=open", Some(&regulator))
            .await
            .json();
        assert_eq!(open["total"], 0, "[{be}] no longer listed as open: {open}");
        let dismissed = app
            .get_as(
                "/api/v1/compliance/findings?status=dismissed",
                Some(&regulator),
            )
            .await
            .json();
        assert_eq!(dismissed["total"], 1, "[{be}] {dismissed}");
        let audit = app
            .get_as(
                "/api/v1/audit?action=compliance.dismissal",
                Some(&regulator),
            )
            .await
            .json();
        assert_eq!(audit["total"], 1, "[{be}] audited once: {audit}");
        assert_eq!(
            audit["items"][0]["detail"]["reason"], why["reason"],
            "[{be}] {audit}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn the_regulator_dismisses_from_the_compliance_page() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let id = open_finding(&app, &regulator).await;
        let (cookie, csrf, _) = page_session(&app, "regulator").await;
        let list = page_as(&app, "/compliance", &cookie).await;
        let action = format!("/compliance/findings/{id}/dismissal");
        assert!(
            list.text.contains(&action),
            "[{be}] a dismiss form per finding"
        );

        // No reason: refused in the page's language, and the finding stays open.
        let empty = post_form(
            &app,
            &action,
            &cookie,
            form(&[("csrf", &csrf), ("reason", "")]),
        )
        .await;
        assert_eq!(empty.status, 422, "[{be}]");
        assert!(
            empty.text.contains("id=\"compliance-error\"") && empty.text.contains("متن را بنویسید"),
            "[{be}] the refusal in Persian"
        );
        let done = post_form(
            &app,
            &action,
            &cookie,
            form(&[("csrf", &csrf), ("reason", "داده نادرست")]),
        )
        .await;
        assert_eq!(done.status, 303, "[{be}] {}", done.text);
        let open = app
            .get_as("/api/v1/compliance/findings?status=open", Some(&regulator))
            .await
            .json();
        assert_eq!(open["total"], 0, "[{be}]");
        let again = post_form(
            &app,
            &action,
            &cookie,
            form(&[("csrf", &csrf), ("reason", "دوباره")]),
        )
        .await;
        assert_eq!(again.status, 409, "[{be}]");
        assert!(again.text.contains("دیگر باز نیست"), "[{be}] in Persian");
        // Without the session's CSRF token nothing happens.
        let forged = post_form(
            &app,
            &action,
            &cookie,
            form(&[("csrf", "x"), ("reason", "y")]),
        )
        .await;
        assert_eq!(forged.status, 403, "[{be}]");
        app.stop().await;
    }
}

fn hours_form(csrf: &str, days: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = vec![("csrf".into(), csrf.into())];
    for (i, (open, close)) in days.iter().enumerate() {
        pairs.push((format!("open_{i}"), open.to_string()));
        pairs.push((format!("close_{i}"), close.to_string()));
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(&refs)
}

#[tokio::test]
async fn the_managers_forms_change_the_settings_the_api_reads() {
    for app in TestApp::all().await {
        let be = app.be();
        let (cookie, csrf, token) = page_session(&app, "manager").await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let base = format!("/offices/{DEMO_OFFICE}/manage");

        let page = page_as(&app, &base, &cookie).await;
        assert_eq!(page.status, 200, "[{be}] {}", page.text);
        for id in [
            "office-figures",
            "hours-form",
            "schedule-form",
            "closure-form",
            "counters-form",
            "record-link",
            "reports-link",
        ] {
            assert!(page.text.contains(&format!("id=\"{id}\"")), "[{be}] {id}");
        }
        assert!(
            page.text
                .contains(&format!("href=\"/offices/{DEMO_OFFICE}/manage\"")),
            "[{be}] linked from the header"
        );

        // Weekly hours, in Persian digits as a Persian keyboard types them; Friday closed.
        let week = [
            ("۰۸:۰۰", "۱۴:۰۰"),
            ("08:00", "14:00"),
            ("08:00", "14:00"),
            ("08:00", "14:00"),
            ("08:00", "14:00"),
            ("09:00", "12:30"),
            ("", ""),
        ];
        let saved = post_form(
            &app,
            &format!("{base}/hours"),
            &cookie,
            hours_form(&csrf, &week),
        )
        .await;
        assert_eq!(saved.status, 303, "[{be}] {}", saved.text);
        let office = app
            .get_as(&format!("/api/v1/offices/{DEMO_OFFICE}"), Some(&token))
            .await
            .json();
        assert_eq!(
            office["hours"]["saturday"], "08:00-14:00",
            "[{be}] {office}"
        );
        assert_eq!(office["hours"]["thursday"], "09:00-12:30", "[{be}]");
        assert_eq!(office["hours"]["friday"], Value::Null, "[{be}]");

        // Closing before opening: refused beside the form, in Persian, and nothing changes.
        let mut bad = week;
        bad[1] = ("14:00", "08:00");
        let refused = post_form(
            &app,
            &format!("{base}/hours"),
            &cookie,
            hours_form(&csrf, &bad),
        )
        .await;
        assert_eq!(refused.status, 422, "[{be}]");
        assert!(
            refused.text.contains("id=\"hours-error\"")
                && refused.text.contains("یکشنبه")
                && refused.text.contains("پیش از ساعت بستن"),
            "[{be}] the day and the problem in Persian"
        );
        assert!(
            refused.text.contains("value=\"14:00\""),
            "[{be}] kept as typed"
        );
        let office = app
            .get_as(&format!("/api/v1/offices/{DEMO_OFFICE}"), Some(&token))
            .await
            .json();
        assert_eq!(office["hours"]["sunday"], "08:00-14:00", "[{be}] unchanged");

        // The slot policy.
        let schedule = post_form(
            &app,
            &format!("{base}/schedule"),
            &cookie,
            form(&[
                ("csrf", &csrf),
                ("slot_minutes", "۲۰"),
                ("occupancy_cap", "6"),
                ("booking_counters", "1"),
            ]),
        )
        .await;
        assert_eq!(schedule.status, 303, "[{be}] {}", schedule.text);
        let policy = app
            .get(&format!("/api/v1/offices/{DEMO_OFFICE}/schedule"))
            .await
            .json();
        assert_eq!(
            policy,
            json!({ "slot_minutes": 20, "occupancy_cap": 6, "booking_counters": 1 }),
            "[{be}]"
        );
        let too_many = post_form(
            &app,
            &format!("{base}/schedule"),
            &cookie,
            form(&[
                ("csrf", &csrf),
                ("slot_minutes", "20"),
                ("occupancy_cap", "6"),
                ("booking_counters", "500"),
            ]),
        )
        .await;
        assert_eq!(too_many.status, 422, "[{be}]");
        assert!(too_many.text.contains("id=\"schedule-error\""), "[{be}]");

        // A closure tomorrow; none in the past.
        let closure = post_form(
            &app,
            &format!("{base}/closures"),
            &cookie,
            form(&[
                ("csrf", &csrf),
                ("date", "۱۴۰۵-۰۹-۰۸"),
                ("reason_fa", "تعمیر برق"),
                ("reason_en", "Electrical repairs"),
            ]),
        )
        .await;
        assert_eq!(closure.status, 303, "[{be}] {}", closure.text);
        let days = app
            .get(&format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"
            ))
            .await
            .json();
        assert_eq!(days["days"][0]["closed"], "closure", "[{be}] {days}");
        assert_eq!(
            days["days"][0]["closed_reason_en"], "Electrical repairs",
            "[{be}]"
        );
        let past = post_form(
            &app,
            &format!("{base}/closures"),
            &cookie,
            form(&[
                ("csrf", &csrf),
                ("date", "1405-09-06"),
                ("reason_fa", "دیروز"),
                ("reason_en", "Yesterday"),
            ]),
        )
        .await;
        assert_eq!(past.status, 422, "[{be}]");
        assert!(
            past.text.contains("id=\"closure-error\"") && past.text.contains("روز گذشته"),
            "[{be}] in Persian"
        );
        let listed = page_as(&app, &base, &cookie).await;
        assert!(
            listed.text.contains("تعمیر برق"),
            "[{be}] the closure is listed"
        );
        // Opened again from the page; then there is nothing to open through the API.
        let reopened = post_form(
            &app,
            &format!("{base}/closures/removal"),
            &cookie,
            form(&[("csrf", &csrf), ("date", "1405-09-08")]),
        )
        .await;
        assert_eq!(reopened.status, 303, "[{be}] {}", reopened.text);
        let days = app
            .get(&format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"
            ))
            .await
            .json();
        assert_eq!(days["days"][0]["closed"], Value::Null, "[{be}] {days}");
        let closure_api = format!("/api/v1/offices/{DEMO_OFFICE}/closures/1405-09-08");
        let gone = app
            .send(app.client.delete(app.url(&closure_api)).bearer_auth(&token))
            .await;
        gone.problem(404, "not_found");

        // Counters: the first takes passports only, the others everything.
        let counters = post_form(
            &app,
            &format!("{base}/counters"),
            &cookie,
            form(&[("csrf", &csrf), ("counter_1", "PSP-001"), ("counter_2", "")]),
        )
        .await;
        assert_eq!(counters.status, 303, "[{be}] {}", counters.text);
        let set = app
            .get(&format!("/api/v1/offices/{DEMO_OFFICE}/counters"))
            .await
            .json();
        assert_eq!(
            set,
            json!({ "counters": [{ "counter": 1, "services": ["PSP-001"] }] }),
            "[{be}]"
        );
        let unknown = post_form(
            &app,
            &format!("{base}/counters"),
            &cookie,
            form(&[("csrf", &csrf), ("counter_1", "NOPE-999")]),
        )
        .await;
        assert_eq!(unknown.status, 422, "[{be}]");
        assert!(unknown.text.contains("id=\"counters-error\""), "[{be}]");

        // Suspended, the manager may still change the hours: that is how they earn
        // reinstatement.
        for (status, reason) in [("warned", "اخطار"), ("suspended", "تعلیق")] {
            let moved = app
                .put_json(
                    &format!("/api/v1/offices/{DEMO_OFFICE}/status"),
                    Some(&regulator),
                    &json!({ "status": status, "reason": reason }),
                )
                .await;
            assert_eq!(moved.status, 204, "[{be}] {}", moved.text);
        }
        let (cookie, csrf, _) = page_session(&app, "manager").await;
        let mut later = week;
        later[0] = ("07:30", "13:30");
        let suspended = post_form(
            &app,
            &format!("{base}/hours"),
            &cookie,
            hours_form(&csrf, &later),
        )
        .await;
        assert_eq!(suspended.status, 303, "[{be}] {}", suspended.text);
        let office = app
            .get_as(&format!("/api/v1/offices/{DEMO_OFFICE}"), Some(&regulator))
            .await
            .json();
        assert_eq!(
            office["hours"]["saturday"], "07:30-13:30",
            "[{be}] {office}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn only_the_offices_manager_and_the_regulator_open_its_page() {
    for app in TestApp::all().await {
        let be = app.be();
        let (manager, csrf, _) = page_session(&app, "manager").await;
        let other = format!("/offices/{OTHER_OFFICE}/manage");
        let refused = page_as(&app, &other, &manager).await;
        assert_eq!(refused.status, 403, "[{be}] another office's page");
        assert!(!refused.text.contains("id=\"hours-form\""), "[{be}]");
        let posted = post_form(
            &app,
            &format!("{other}/hours"),
            &manager,
            hours_form(&csrf, &[("08:00", "12:00")]),
        )
        .await;
        assert_eq!(posted.status, 403, "[{be}] nor change its settings");

        let (operator, _, _) = page_session(&app, "operator").await;
        let op = page_as(&app, &format!("/offices/{DEMO_OFFICE}/manage"), &operator).await;
        assert_eq!(op.status, 403, "[{be}] an operator does not manage");

        let (regulator, _, _) = page_session(&app, "regulator").await;
        let any = page_as(&app, &other, &regulator).await;
        assert_eq!(any.status, 200, "[{be}] the regulator opens any office's");
        assert!(any.text.contains("id=\"office-figures\""), "[{be}]");

        let anonymous = app.get(&other).await;
        assert_eq!(anonymous.status, 303, "[{be}] to sign in");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_closure_is_opened_again_through_the_api_by_its_office_only() {
    for app in TestApp::all().await {
        let be = app.be();
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let reason = json!({ "name_fa": "سرشماری", "name_en": "Census" });
        let delete = |office: &str, date: &str, token: &str| {
            app.send(
                app.client
                    .delete(app.url(&format!("/api/v1/offices/{office}/closures/{date}")))
                    .bearer_auth(token.to_string()),
            )
        };
        for office in [DEMO_OFFICE, OTHER_OFFICE] {
            let put = app
                .put_json(
                    &format!("/api/v1/offices/{office}/closures/1405-09-09"),
                    Some(&regulator),
                    &reason,
                )
                .await;
            assert_eq!(put.status, 204, "[{be}] {}", put.text);
        }
        app.put_json(
            &format!("/api/v1/offices/{DEMO_OFFICE}/closures/1405-09-01"),
            Some(&manager),
            &reason,
        )
        .await
        .problem(422, "closure_in_past");
        delete(OTHER_OFFICE, "1405-09-09", &manager)
            .await
            .problem(403, "forbidden_other_office");
        delete(DEMO_OFFICE, "1405-09-01", &manager)
            .await
            .problem(422, "closure_in_past");
        let done = delete(DEMO_OFFICE, "1405-09-09", &manager).await;
        assert_eq!(done.status, 204, "[{be}] {}", done.text);
        delete(DEMO_OFFICE, "1405-09-09", &manager)
            .await
            .problem(404, "not_found");
        let other = app
            .get(&format!(
                "/api/v1/offices/{OTHER_OFFICE}/availability?service=PSP-001&from=1405-09-09&days=1"
            ))
            .await
            .json();
        assert_eq!(
            other["days"][0]["closed"], "closure",
            "[{be}] the other office's stays closed"
        );
        app.stop().await;
    }
}
