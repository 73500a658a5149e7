//! Indexing fees to inflation over the JSON API on every backend: a CPI import (refused whole
//! with its bad lines), a run's proposal and its digest, row edits, publishing, and the fee
//! that follows.

use serde_json::{Value, json};

use crate::fees::seed_history;
use crate::support::{DEMO_PASSWORD, TestApp};

/// Jalali months of 1404 and 1405; Esfand 1404 is 200 and Esfand 1405 is `esfand_1405`.
pub(crate) fn series(esfand_1405: &str) -> String {
    let mut csv = String::from("year,month,index\n");
    for m in 1..=12 {
        csv.push_str(&format!(
            "1404,{m},{}\n",
            if m == 12 { "200" } else { "190.5" }
        ));
    }
    for m in 1..=12 {
        let v = if m == 12 { esfand_1405 } else { "240" };
        csv.push_str(&format!("1405,{m},{v}\n"));
    }
    csv
}

fn rows(run: &Value) -> Vec<(String, String, i64, i64, i64)> {
    run["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["service"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
                r["old_rials"].as_i64().unwrap(),
                r["proposed_rials"].as_i64().unwrap(),
                r["final_rials"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_indexation_run_proposes_reproducibly_and_publishes_next_years_fees() {
    for app in TestApp::all().await {
        let be = app.be();
        let service = app
            .nation
            .services
            .iter()
            .find(|s| s.channel != pishkhan_domain::model::Channel::Online)
            .unwrap()
            .code
            .clone();
        let code = service.as_str().to_string();
        seed_history(&app, &service).await;
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;

        // ---- the CPI import ----
        let import = |token: String, csv: String| {
            let app = &app;
            async move {
                app.post_json(
                    "/api/v1/cpi-imports",
                    Some(&token),
                    &json!({"source": "Statistical Centre of Iran", "csv": csv}),
                )
                .await
            }
        };
        import(operator.clone(), series("250"))
            .await
            .problem(403, "forbidden_role");
        let bad = import(
            reg.clone(),
            "year,month,index\n1404,1,100\n1404,13,100\n1404,2,x\n".into(),
        )
        .await;
        let p = bad.problem(422, "bad_cpi_file");
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("line 3") && detail.contains("line 4") && !detail.contains("line 2"),
            "{be}: every bad line and only those: {detail}"
        );
        let first = import(reg.clone(), series("250")).await;
        assert_eq!(first.status, 201, "{be}: {}", first.text);
        let first = first.json();
        assert_eq!(
            (
                first["months"].as_i64(),
                first["first"].as_str(),
                first["last"].as_str()
            ),
            (Some(24), Some("1404-01"), Some("1405-12")),
            "{be}"
        );

        // ---- a run: Esfand over Esfand, 250 / 200 = 1.250 ----
        let run_body = |import: &Value, cap: i64| {
            json!({
                "cpi_import": import["id"], "fiscal_year": 1406, "rule": "point_to_point",
                "floor_milli": 1000, "cap_milli": cap,
                "rounding": {"government_fee": "up_1000", "vat": "nearest_100"}
            })
        };
        let run = app
            .post_json(
                "/api/v1/indexation-runs",
                Some(&reg),
                &run_body(&first, 1500),
            )
            .await;
        assert_eq!(run.status, 201, "{be}: {}", run.text);
        let run = run.json();
        assert_eq!(run["factor"]["applied_milli"], 1250, "{be}");
        assert_eq!(run["status"], "proposed", "{be}");
        // 135,000 × 1.25 = 168,750 → up to 169,000; 81,000 → 101,250 → (default) 102,000;
        // 8,100 → 10,125 → nearest 100: 10,100.
        assert_eq!(
            rows(&run),
            vec![
                (code.clone(), "counter_fee".into(), 81_000, 102_000, 102_000),
                (
                    code.clone(),
                    "government_fee".into(),
                    135_000,
                    169_000,
                    169_000
                ),
                (code.clone(), "vat".into(), 8_100, 10_100, 10_100),
            ],
            "{be}"
        );
        assert_eq!(run["rows"][1]["change_bp"], 2518, "{be}: +25.18 %");

        // The same inputs give the same proposal, byte for byte; a changed month another.
        let again = app
            .post_json(
                "/api/v1/indexation-runs",
                Some(&reg),
                &run_body(&first, 1500),
            )
            .await
            .json();
        assert_eq!(again["digest"], run["digest"], "{be}");
        assert_ne!(again["id"], run["id"], "{be}");
        let second = import(reg.clone(), series("260")).await.json();
        let other = app
            .post_json(
                "/api/v1/indexation-runs",
                Some(&reg),
                &run_body(&second, 1500),
            )
            .await
            .json();
        assert_eq!(other["factor"]["applied_milli"], 1300, "{be}");
        assert_ne!(other["digest"], run["digest"], "{be}");
        // The cap binds.
        let capped = app
            .post_json(
                "/api/v1/indexation-runs",
                Some(&reg),
                &run_body(&first, 1200),
            )
            .await
            .json();
        assert_eq!(
            (
                capped["factor"]["raw_milli"].as_i64(),
                capped["factor"]["applied_milli"].as_i64()
            ),
            (Some(1250), Some(1200)),
            "{be}"
        );
        for (body, code) in [
            (
                json!({"cpi_import": first["id"], "fiscal_year": 1409, "rule": "point_to_point", "floor_milli": 1000, "cap_milli": 1500}),
                "bad_fiscal_year",
            ),
            (
                json!({"cpi_import": first["id"], "fiscal_year": 1406, "rule": "guess", "floor_milli": 1000, "cap_milli": 1500}),
                "unknown_rule",
            ),
            (
                json!({"cpi_import": first["id"], "fiscal_year": 1406, "rule": "point_to_point", "floor_milli": 900, "cap_milli": 1500}),
                "bad_floor",
            ),
            (
                json!({"cpi_import": first["id"], "fiscal_year": 1406, "rule": "point_to_point", "floor_milli": 1000, "cap_milli": 1500, "rounding": {"vat": "up_7"}}),
                "unknown_rounding",
            ),
            (
                json!({"cpi_import": 999_999, "fiscal_year": 1406, "rule": "point_to_point", "floor_milli": 1000, "cap_milli": 1500}),
                "unknown_cpi_import",
            ),
            // The 12-month rule (checked below, not refused).
            (
                json!({"cpi_import": first["id"], "fiscal_year": 1406, "rule": "twelve_month_average", "floor_milli": 1000, "cap_milli": 1500}),
                "",
            ),
        ] {
            let r = app
                .post_json("/api/v1/indexation-runs", Some(&reg), &body)
                .await;
            if code.is_empty() {
                // The 12-month rule: mean 1405 over mean 1404 = 240.833… / 191.291… = 1.259.
                assert_eq!(r.status, 201, "{be}: {}", r.text);
                assert_eq!(r.json()["factor"]["applied_milli"], 1259, "{be}");
            } else {
                r.problem(422, code);
            }
        }

        // A series without Esfand 1404 cannot give a point-to-point factor for 1406.
        let partial = import(reg.clone(), "year,month,index\n1405,12,250\n".into())
            .await
            .json();
        app.post_json(
            "/api/v1/indexation-runs",
            Some(&reg),
            &run_body(&partial, 1500),
        )
        .await
        .problem(422, "series_incomplete");

        // ---- review: one row changed with a reason ----
        let id = run["id"].as_i64().unwrap();
        let edit = |amount: i64| json!({"service": code, "kind": "counter_fee", "amount_rials": amount, "reason": "counter costs rose less"});
        app.put_json(
            &format!("/api/v1/indexation-runs/{id}/rows"),
            Some(&reg),
            &edit(80_000),
        )
        .await
        .problem(422, "fee_would_fall");
        let edited = app
            .put_json(
                &format!("/api/v1/indexation-runs/{id}/rows"),
                Some(&reg),
                &edit(95_000),
            )
            .await;
        assert_eq!(edited.status, 200, "{be}: {}", edited.text);
        let edited = edited.json();
        assert_eq!(edited["rows"][0]["final_rials"], 95_000, "{be}");
        assert_eq!(edited["rows"][0]["proposed_rials"], 102_000, "{be}");
        assert_eq!(
            edited["rows"][0]["edit_reason"], "counter costs rose less",
            "{be}"
        );

        // ---- publishing ----
        let publish = |from: &str| {
            let app = &app;
            let reg = reg.clone();
            let body = json!({"effective_from": from});
            async move {
                app.post_json(
                    &format!("/api/v1/indexation-runs/{id}/publish"),
                    Some(&reg),
                    &body,
                )
                .await
            }
        };
        publish("1405-12-01")
            .await
            .problem(422, "date_outside_fiscal_year");
        let published = publish("1406-01-01").await;
        assert_eq!(published.status, 200, "{be}: {}", published.text);
        assert_eq!(published.json()["status"], "published", "{be}");
        publish("1406-01-01").await.problem(409, "run_published");
        app.put_json(
            &format!("/api/v1/indexation-runs/{id}/rows"),
            Some(&reg),
            &edit(99_000),
        )
        .await
        .problem(409, "run_published");
        let fee = app
            .get(&format!("/api/v1/services/{code}/fee?date=1406-01-01"))
            .await
            .json();
        assert_eq!(
            (fee["tariff_year"].as_i64(), fee["total_rials"].as_i64()),
            (Some(1406), Some(169_000 + 95_000 + 10_100)),
            "{be}"
        );
        // This year's fee is unchanged.
        let today = app
            .get(&format!("/api/v1/services/{code}/fee"))
            .await
            .json();
        assert_eq!(today["total_rials"], 224_100, "{be}");
        // Every office manager is texted that next year's fees are out, once.
        let managers: Vec<_> = app
            .nation
            .staff
            .iter()
            .filter(|s| s.role == pishkhan_domain::model::Role::Manager)
            .collect();
        assert!(!managers.is_empty());
        for m in managers.iter().take(5) {
            let texts = app
                .store
                .outbox_messages(Some(m.mobile.as_str()), 20)
                .await
                .unwrap();
            let notices: Vec<_> = texts
                .iter()
                .filter(|t| t.kind == "tariffs.published")
                .collect();
            assert_eq!(notices.len(), 1, "{be}: {texts:?}");
            assert_eq!(notices[0].payload["fiscal_year"], 1406, "{be}");
            assert_eq!(notices[0].payload["effective_from"], "1406-01-01", "{be}");
        }
        app.stop().await;
    }
}

/// Waits until the text of `css` satisfies `ok` (the page after a form's submission), and
/// returns it.
async fn text_when(b: &crate::browser::Browser, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = b
            .exec(&format!(
                "const e = document.querySelector('{css}'); return e ? e.innerText : '';"
            ))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        if ok(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{css} never became what was expected: {last}");
}

/// The regulator's tariff pages on a phone, in Persian: a bad CPI file is refused line by
/// line in Persian, a good one is imported, a run shows its proposal, a row is changed with a
/// reason, and the run is published.
#[tokio::test]
async fn browser_the_regulator_indexes_and_publishes_tariffs_on_a_phone() {
    use crate::browser::Env;
    use crate::screen_kit::{has_latin_letter, staff_session};
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let service = app
        .nation
        .services
        .iter()
        .find(|s| s.channel != pishkhan_domain::model::Channel::Online)
        .unwrap()
        .code
        .clone();
    seed_history(&app, &service).await;
    staff_session(b, &app, "regulator", "fa").await;
    b.goto(&format!("{}/tariffs", app.base)).await;

    // A bad file: every bad line, in Persian.
    b.type_into("#cpi-form input[name=source]", "مرکز آمار ایران")
        .await;
    b.type_into(
        "#cpi-form textarea[name=csv]",
        "year,month,index\n1404,13,100\n1404,2,x\n",
    )
    .await;
    b.click(&b.find("#cpi-form button[type=submit]").await)
        .await;
    text_when(b, "#cpi-errors", |t| !t.is_empty()).await;
    let errors = b.texts("#cpi-errors li").await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("خط ۲") && errors[1].starts_with("خط ۳"),
        "{errors:?}"
    );
    assert!(!errors.iter().any(|e| has_latin_letter(e)), "{errors:?}");

    // A good file, then a run from it.
    b.type_into("#cpi-form input[name=source]", "مرکز آمار ایران")
        .await;
    b.type_into("#cpi-form textarea[name=csv]", &series("250"))
        .await;
    b.click(&b.find("#cpi-form button[type=submit]").await)
        .await;
    let done = text_when(b, "#cpi-imported", |t| !t.is_empty()).await;
    assert!(done.contains("۲۴"), "{done}");
    let select = |name: &str, value: &str| {
        format!("document.querySelector('#run-form select[name={name}]').value = '{value}';")
    };
    b.exec(&format!(
        "{} {} return true;",
        select("rule", "point_to_point"),
        select("round_vat", "nearest_100")
    ))
    .await;
    b.click(&b.find("#run-form button[type=submit]").await)
        .await;
    b.wait_for_url("the run's page", |u| u.contains("/tariffs/runs/"))
        .await;
    let summary = b.text_of("#run-summary").await;
    assert!(summary.contains("۱٫۲۵۰"), "{summary}");
    let diff = b.texts("#run-diff tbody tr").await;
    assert_eq!(diff.len(), 3, "{diff:?}");
    assert!(
        diff.iter()
            .any(|r| r.contains("۱۶۹٬۰۰۰ ریال") && r.contains("+۲۵٫۱۸٪")
                || r.contains("۱۶۹٬۰۰۰ ریال") && r.contains("+۲۵.۱۸٪")),
        "{diff:?}"
    );

    // A changed row with its reason, a refusal in Persian, then publishing.
    b.type_into("#edit-form input[name=service]", service.as_str())
        .await;
    b.exec("document.querySelector('#edit-form select[name=kind]').value = 'counter_fee'; return true;")
        .await;
    b.type_into("#edit-form input[name=amount]", "1000").await;
    b.type_into(
        "#edit-form input[name=reason]",
        "هزینه دفتر کمتر افزایش یافت",
    )
    .await;
    b.click(&b.find("#edit-form button[type=submit]").await)
        .await;
    let refusal = text_when(b, "#run-error", |t| !t.is_empty()).await;
    assert!(
        refusal.contains("کمتر") && !has_latin_letter(&refusal),
        "the refusal in Persian: {refusal}"
    );
    b.type_into("#edit-form input[name=service]", service.as_str())
        .await;
    b.exec("document.querySelector('#edit-form select[name=kind]').value = 'counter_fee'; return true;")
        .await;
    b.type_into("#edit-form input[name=amount]", "۹۵۰۰۰").await;
    b.type_into(
        "#edit-form input[name=reason]",
        "هزینه دفتر کمتر افزایش یافت",
    )
    .await;
    b.click(&b.find("#edit-form button[type=submit]").await)
        .await;
    let diff = text_when(b, "#run-diff", |t| t.contains("۹۵٬۰۰۰")).await;
    assert!(
        diff.contains("۹۵٬۰۰۰ ریال") && diff.contains("هزینه دفتر کمتر افزایش یافت"),
        "{diff}"
    );
    b.type_into("#publish-form input[name=effective_from]", "1406-01-01")
        .await;
    b.click(&b.find("#publish-form button[type=submit]").await)
        .await;
    text_when(b, "#run-summary", |t| t.contains("منتشرشده")).await;
    // The tariffs page lists the run, published, with its date.
    b.goto(&format!("{}/tariffs", app.base)).await;
    let runs = text_when(b, "#runs", |t| !t.is_empty()).await;
    assert!(
        runs.contains("منتشرشده") && runs.contains("۱٫۲۵۰"),
        "{runs}"
    );
    let fee = app
        .get(&format!(
            "/api/v1/services/{}/fee?date=1406-01-01",
            service.as_str()
        ))
        .await
        .json();
    assert_eq!(fee["total_rials"], 169_000 + 95_000 + 10_100);
    app.stop().await;
    env.stop().await;
}
