//! Fees over the JSON API on every backend: quotes from the tariff in force on a day, the
//! tariff history, and publishing (regulator only, future dates only, never twice a date).

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff};
use pishkhan_domain::model::{Channel, ServiceCode};
use pishkhan_domain::money::Rials;
use pishkhan_store::AuditContext;
use serde_json::json;

use crate::support::{DEMO_PASSWORD, TestApp};

pub(crate) fn counter_service(app: &TestApp) -> ServiceCode {
    app.nation
        .services
        .iter()
        .find(|s| s.channel != Channel::Online)
        .expect("a counter service")
        .code
        .clone()
}

fn new_tariff(service: &ServiceCode, from: &str, amounts: &[(FeeKind, i64)]) -> NewTariff {
    NewTariff::new(
        service.clone(),
        JalaliDate::parse(from).unwrap(),
        amounts
            .iter()
            .map(|(kind, n)| FeeComponent {
                kind: *kind,
                amount: Rials::new(*n).unwrap(),
            })
            .collect(),
        "test history",
    )
    .unwrap()
}

/// Enters past tariffs as the system principal does for bulk imports.
pub(crate) async fn seed_history(app: &TestApp, service: &ServiceCode) {
    let permit = authorize(&Principal::System { reason: "test" }, Action::PublishTariff).unwrap();
    let published = app
        .store
        .publish_tariffs(
            &permit,
            &[
                new_tariff(
                    service,
                    "1404-01-01",
                    &[
                        (FeeKind::GovernmentFee, 100_000),
                        (FeeKind::CounterFee, 60_000),
                        (FeeKind::Vat, 6_000),
                    ],
                ),
                new_tariff(
                    service,
                    "1405-01-01",
                    &[
                        (FeeKind::Vat, 8_100),
                        (FeeKind::GovernmentFee, 135_000),
                        (FeeKind::CounterFee, 81_000),
                    ],
                ),
            ],
            &AuditContext {
                now_ms: 0,
                ip: None,
                request_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(published, 2);
}

#[tokio::test]
async fn a_fee_is_quoted_from_the_tariff_in_force_on_the_day() {
    for app in TestApp::all().await {
        let be = app.be();
        let service = counter_service(&app);
        let code = service.as_str();
        let path = |q: &str| format!("/api/v1/services/{code}/fee{q}");

        // No tariff yet: a 404 problem, not a zero fee.
        app.get(&path("")).await.problem(404, "not_found");
        seed_history(&app, &service).await;

        let old = app.get(&path("?date=1404-06-01")).await;
        assert_eq!(old.status, 200, "{be}: {}", old.text);
        let old = old.json();
        assert_eq!(old["tariff_year"], 1404, "{be}");
        assert_eq!(old["date"], "1404-06-01", "{be}");
        assert_eq!(old["total_rials"], 166_000, "{be}");
        let kinds: Vec<(&str, &str, i64)> = old["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["kind"].as_str().unwrap(),
                    c["payee"].as_str().unwrap(),
                    c["amount_rials"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("government_fee", "agency", 100_000),
                ("counter_fee", "office", 60_000),
                ("vat", "treasury", 6_000),
            ],
            "{be}"
        );
        let agency = app
            .nation
            .services
            .iter()
            .find(|s| s.code == service)
            .unwrap()
            .agency
            .as_str()
            .to_string();
        assert_eq!(old["components"][0]["agency"], agency.as_str(), "{be}");

        // The last day of the old year and the first of the new one.
        let eve = app.get(&path("?date=1404-12-29")).await.json();
        assert_eq!(eve["total_rials"], 166_000, "{be}");
        let new = app.get(&path("?date=1405-01-01")).await.json();
        assert_eq!(
            (new["tariff_year"].as_i64(), new["total_rials"].as_i64()),
            (Some(1405), Some(224_100)),
            "{be}"
        );
        // Without a date: today in Tehran (the test clock's 7 Azar 1405).
        let today = app.get(&path("")).await.json();
        assert_eq!(
            (today["date"].as_str(), today["total_rials"].as_i64()),
            (Some("1405-09-07"), Some(224_100)),
            "{be}"
        );
        // Before the first tariff, a bad date, an unknown service.
        app.get(&path("?date=1403-12-29"))
            .await
            .problem(404, "not_found");
        app.get(&path("?date=1405-13-01"))
            .await
            .problem(422, "invalid_date");
        app.get(&path("?date=tomorrow"))
            .await
            .problem(422, "invalid_date");
        app.get("/api/v1/services/ZZZ-999/fee")
            .await
            .problem(404, "not_found");

        let history = app
            .get(&format!("/api/v1/services/{code}/tariffs"))
            .await
            .json();
        let dates: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["effective_from"].as_str().unwrap())
            .collect();
        assert_eq!(dates, vec!["1405-01-01", "1404-01-01"], "{be}");
        app.stop().await;
    }
}

#[tokio::test]
async fn only_the_regulator_publishes_and_only_for_a_later_day() {
    for app in TestApp::all().await {
        let be = app.be();
        let service = counter_service(&app);
        let path = format!("/api/v1/services/{}/tariffs", service.as_str());
        let body = |from: &str, components: serde_json::Value| json!({"effective_from": from, "components": components, "basis": "indexation 1406"});
        let good = json!([
            {"kind": "government_fee", "amount_rials": 150_000},
            {"kind": "counter_fee", "amount_rials": 90_000},
            {"kind": "vat", "amount_rials": 9_000}
        ]);

        let operator = app.login("operator", DEMO_PASSWORD).await;
        app.post_json(&path, Some(&operator), &body("1406-01-01", good.clone()))
            .await
            .problem(403, "forbidden_role");
        app.post_json(&path, None, &body("1406-01-01", good.clone()))
            .await
            .problem(401, "unauthenticated");

        let reg = app.login("regulator", DEMO_PASSWORD).await;
        // Today (7 Azar 1405) would change fees already quoted today.
        app.post_json(&path, Some(&reg), &body("1405-09-07", good.clone()))
            .await
            .problem(422, "tariff_not_in_future");
        for (components, code) in [
            (
                json!([{"kind": "vat", "amount_rials": 1}, {"kind": "vat", "amount_rials": 2}]),
                "duplicate_fee_kind",
            ),
            (
                json!([{"kind": "vat", "amount_rials": -5}]),
                "negative_amount",
            ),
            (
                json!([{"kind": "tip", "amount_rials": 5}]),
                "unknown_fee_kind",
            ),
            (json!([]), "bad_components"),
            (
                json!([{"kind": "vat", "amount_rials": 10_000_000_000_001i64}]),
                "amount_too_large",
            ),
        ] {
            app.post_json(&path, Some(&reg), &body("1406-01-01", components))
                .await
                .problem(422, code);
        }

        let created = app
            .post_json(&path, Some(&reg), &body("1406-01-01", good.clone()))
            .await;
        assert_eq!(created.status, 201, "{be}: {}", created.text);
        let t = created.json();
        assert_eq!(
            (t["fiscal_year"].as_i64(), t["total_rials"].as_i64()),
            (Some(1406), Some(249_000)),
            "{be}"
        );
        assert_eq!(t["published_by"], "regulator", "{be}");
        app.post_json(&path, Some(&reg), &body("1406-01-01", good))
            .await
            .problem(409, "tariff_exists");

        // Quoted from its day on, not before; the publication is in the audit log.
        let fee = |q: &'static str| {
            let app = &app;
            let code = service.as_str().to_string();
            async move {
                app.get(&format!("/api/v1/services/{code}/fee?date={q}"))
                    .await
            }
        };
        fee("1405-12-29").await.problem(404, "not_found");
        assert_eq!(
            fee("1406-01-01").await.json()["total_rials"],
            249_000,
            "{be}"
        );
        let audit = app
            .get_as("/api/v1/audit?action=tariff.publish", Some(&reg))
            .await;
        assert_eq!(audit.status, 200, "{be}: {}", audit.text);
        assert!(
            audit
                .text
                .contains(&format!("tariff:{}@1406-01-01", service.as_str())),
            "{be}: {}",
            audit.text
        );
        app.stop().await;
    }
}

/// The service page shows today's fee in the page's language and digits, readable (not
/// squeezed or clipped) on a phone, a laptop and a desktop.
#[tokio::test]
async fn browser_the_service_page_shows_todays_fee_at_phone_and_desktop_widths() {
    use crate::browser::Env;
    use crate::screen_kit::{WIDTHS, browser_at, staff_session};
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let service = counter_service(&app);
    seed_history(&app, &service).await;
    let work = tempfile::tempdir().unwrap();
    for width in WIDTHS {
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        for (lang, total, government) in [
            (
                "fa",
                ["۲۲۴٬۱۰۰ ریال", "۲۲٬۴۱۰ تومان"],
                ["هزینه دولتی", "۱۳۵٬۰۰۰ ریال"],
            ),
            (
                "en",
                ["224,100 rials", "22,410 tomans"],
                ["Government fee", "135,000 rials"],
            ),
        ] {
            staff_session(b, &app, "regulator", lang).await;
            b.goto(&format!("{}/services/{}", app.base, service.as_str()))
                .await;
            b.find("#fee").await;
            let cells = b
                .exec(
                    "return [...document.querySelectorAll('#fee td, #fee th')].map(e => { \
                       const r = e.getBoundingClientRect(); \
                       return {text: e.innerText, width: r.width, \
                               clipped: e.scrollWidth > e.clientWidth + 1, \
                               inside: r.left >= 0 && r.right <= window.innerWidth + 1, \
                               shown: r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'}; });",
                )
                .await;
            let cells = cells.as_array().expect("fee cells");
            let at = format!("{width}px {lang}");
            assert_eq!(
                cells.len(),
                8,
                "{at}: three components and the total: {cells:?}"
            );
            for c in cells {
                assert_eq!(c["shown"], true, "{at}: {c}");
                assert_eq!(c["clipped"], false, "{at}: {c}");
                assert_eq!(c["inside"], true, "{at}: outside the viewport: {c}");
                assert!(c["width"].as_f64().unwrap() >= 60.0, "{at}: squeezed: {c}");
            }
            let texts: Vec<&str> = cells.iter().map(|c| c["text"].as_str().unwrap()).collect();
            assert!(
                texts
                    .iter()
                    .any(|t| t.contains(total[0]) && t.contains(total[1])),
                "{at}: the total in rials and tomans: {texts:?}"
            );
            assert!(
                texts.contains(&government[0]) && texts.contains(&government[1]),
                "{at}: {texts:?}"
            );
            if lang == "fa" {
                assert!(
                    !texts.iter().any(|t| t.chars().any(|c| c.is_ascii_digit())),
                    "{at}: Latin digits in the Persian page: {texts:?}"
                );
            }
        }
        // The regulator's tariff page fits the same width.
        staff_session(b, &app, "regulator", "fa").await;
        b.goto(&format!("{}/tariffs", app.base)).await;
        b.find("#run-form").await;
        let year = b
            .exec(
                "const e = document.querySelector('#run-form input[name=fiscal_year]'); \
                 const r = e.getBoundingClientRect(); \
                 return {value: e.value, width: r.width, inside: r.left >= 0 && r.right <= window.innerWidth + 1};",
            )
            .await;
        assert_eq!(year["value"], "1406", "{width}px: {year}");
        assert_eq!(year["inside"], true, "{width}px: {year}");
        assert!(year["width"].as_f64().unwrap() >= 60.0, "{width}px: {year}");

        // A citizen choosing the service sees its fee before taking a slot.
        let token = app
            .citizen_token(&app.fresh_national_code(), "09121110000")
            .await;
        crate::screen_kit::citizen_session(b, &app, &token, "fa").await;
        b.goto(&format!(
            "{}/citizen/book?office={}&service={}",
            app.base,
            crate::support::DEMO_OFFICE,
            service.as_str()
        ))
        .await;
        b.find("#fee").await;
        let fee = b
            .exec(
                "const e = document.querySelector('#fee'); const r = e.getBoundingClientRect(); \
                 return {text: e.innerText, width: r.width, inside: r.left >= 0 && r.right <= window.innerWidth + 1};",
            )
            .await;
        let text = fee["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("۲۲۴٬۱۰۰ ریال") && !text.chars().any(|c| c.is_ascii_digit()),
            "{width}px: {fee}"
        );
        assert_eq!(fee["inside"], true, "{width}px: {fee}");
        session.quit().await;
    }
    app.stop().await;
    env.stop().await;
}
