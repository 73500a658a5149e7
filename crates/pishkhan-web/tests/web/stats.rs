//! Statistics over the JSON API on every backend: the online-service index and the once-only
//! view follow the catalogue (a service's channel, its required documents) and its use, and
//! each answers `?format=csv`. And in Chromium: the regulator's dashboard draws every chart,
//! with its table in Persian digits, at a phone's and a laptop's width.

use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::model::{Channel, Digitization, LocalizedText, Service, ServiceCode};
use pishkhan_store::AuditContext;
use serde_json::Value;

use crate::browser::{Env, Walk, check_page};
use crate::screen_kit::{browser_at, citizen_with_booking, staff_session};
use crate::support::{Resp, TestApp};

const OSI: &str = "/api/v1/stats/online-service-index";
const ONCE: &str = "/api/v1/stats/once-only";

/// Replaces a service through the import path (the system's authority, as the CLI has it).
async fn upsert(app: &TestApp, service: Service) {
    let permit = authorize(
        &Principal::System { reason: "test" },
        Action::ImportServices,
    )
    .unwrap();
    let ctx = AuditContext {
        now_ms: 0,
        ip: None,
        request_id: None,
    };
    let n = app
        .store
        .import_services(&permit, &[service], &ctx)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

fn service(app: &TestApp, code: &str) -> Service {
    let code = ServiceCode::parse(code).unwrap();
    app.nation
        .services
        .iter()
        .find(|s| s.code == code)
        .cloned()
        .expect("the service in the small nation")
}

/// A CSV body's rows, each split into fields (quoted fields may hold commas and quotes).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let mut fields = vec![String::new()];
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        chars.next();
                        fields.last_mut().unwrap().push('"');
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => fields.push(String::new()),
                    (c, _) => fields.last_mut().unwrap().push(c),
                }
            }
            assert!(!quoted, "an unclosed quote in {line:?}");
            fields
        })
        .collect()
}

fn csv_of(r: &Resp, what: &str) -> Vec<Vec<String>> {
    assert_eq!(r.status, 200, "{what}: {}", r.text);
    assert!(
        r.content_type().starts_with("text/csv"),
        "{what}: {}",
        r.content_type()
    );
    let rows = csv_rows(&r.text);
    let width = rows[0].len();
    assert!(
        rows.iter().all(|row| row.len() == width),
        "{what}: ragged rows {rows:?}"
    );
    rows
}

fn agency_index(osi: &Value, agency: &str) -> u64 {
    osi["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agency"] == agency)
        .unwrap_or_else(|| panic!("{agency} in {osi}"))["index_thousandths"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn the_online_service_index_follows_a_services_channel() {
    for app in TestApp::all().await {
        let be = app.backend;
        let before = app.get(OSI).await.json();
        assert!(
            before["formula"].as_str().is_some_and(|f| f.contains("50")),
            "[{be:?}] {before}"
        );
        let national = before["national_thousandths"].as_u64().unwrap();
        assert!(national <= 1000);
        assert_eq!(
            before["national"].as_f64().unwrap() * 1000.0,
            national as f64
        );
        for a in before["agencies"].as_array().unwrap() {
            let t = a["index_thousandths"].as_u64().unwrap();
            assert!(t <= 1000, "{a}");
            assert_eq!(
                format!("{}", a["index"]),
                format!("{}", t as f64 / 1000.0),
                "{a}"
            );
        }

        // A networked counter service goes online: its score rises by the channel's 400.
        let mut s = service(&app, "PSP-001");
        assert_eq!(
            (s.channel, s.digitization),
            (Channel::Counter, Digitization::Networked)
        );
        let agency = s.agency.to_string();
        let agency_before = agency_index(&before, &agency);
        s.channel = Channel::Online;
        upsert(&app, s.clone()).await;
        let after = app.get(OSI).await.json();
        assert!(
            agency_index(&after, &agency) > agency_before,
            "[{be:?}] {after}"
        );
        assert!(
            after["national_thousandths"].as_u64().unwrap() > national,
            "[{be:?}]"
        );

        // More paper to bring lowers it again.
        s.required_documents
            .extend((0..6).map(|i| LocalizedText::new(format!("برگه {i}"), format!("Form {i}"))));
        upsert(&app, s).await;
        let more_paper = app.get(OSI).await.json();
        assert!(
            agency_index(&more_paper, &agency) < agency_index(&after, &agency),
            "[{be:?}]"
        );

        // The CSV says the same: the nation first, then each agency, in thousandths.
        let rows = csv_of(&app.get(&format!("{OSI}?format=csv")).await, "osi csv");
        assert_eq!(rows[0], ["agency", "name", "services", "index"]);
        assert_eq!(rows[1][0], "national");
        let n = more_paper["national_thousandths"].as_u64().unwrap();
        assert_eq!(rows[1][3], format!("{}.{:03}", n / 1000, n % 1000));
        let row = rows
            .iter()
            .find(|r| r[0] == agency)
            .expect("the agency's row");
        let t = agency_index(&more_paper, &agency);
        assert_eq!(row[3], format!("{}.{:03}", t / 1000, t % 1000));
        assert_eq!(
            rows.len(),
            2 + more_paper["agencies"].as_array().unwrap().len()
        );

        let bad = app.get(&format!("{OSI}?format=xml")).await;
        assert_eq!(bad.status, 422, "{}", bad.text);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_once_only_view_follows_documents_and_use() {
    for app in TestApp::all().await {
        let be = app.backend;
        // PSP-001 asks for the birth certificate and the national card (both answered by the
        // civil registry), a photo and the military card (not). One booking makes it used.
        citizen_with_booking(&app, "09121234567").await;
        let view = app.get(ONCE).await.json();
        let items = view["items"].as_array().unwrap();
        let psp: Vec<&Value> = items.iter().filter(|i| i["service"] == "PSP-001").collect();
        let docs: Vec<&str> = psp
            .iter()
            .map(|i| i["document"].as_str().unwrap())
            .collect();
        assert_eq!(
            docs,
            [
                "Original birth certificate (shenasnameh)",
                "Original national ID card"
            ],
            "[{be:?}] {view}"
        );
        assert!(
            psp.iter()
                .all(|i| i["replaced_by_inquiry"] == "civil-registry.person")
        );
        // One booking in the last 90 days is 365 / 90 = 4 visits a year (no queue figures).
        assert!(
            psp.iter().all(|i| i["yearly_visits"] == 4),
            "[{be:?}] {psp:?}"
        );
        // The paper used most comes first; nothing else was booked.
        assert_eq!(items[0]["service"], "PSP-001");
        assert_eq!(items[1]["service"], "PSP-001");
        assert!(items[2..].iter().all(|i| i["yearly_visits"] == 0));
        assert_eq!(view["national_yearly_visits"], 8);

        let rows = csv_of(
            &app.get(&format!("{ONCE}?format=csv")).await,
            "once-only csv",
        );
        assert_eq!(
            rows[0],
            [
                "service",
                "document",
                "replaced_by_inquiry",
                "yearly_visits"
            ]
        );
        assert_eq!(
            rows[1],
            [
                "PSP-001",
                "Original birth certificate (shenasnameh)",
                "civil-registry.person",
                "4"
            ]
        );
        assert_eq!(rows.len(), items.len() + 2);
        assert_eq!(rows.last().unwrap(), &["national", "", "", "8"]);

        // The agency stops asking for the card and the certificate, and asks for proof of
        // residence instead, which the post's address inquiry answers.
        let mut s = service(&app, "PSP-001");
        s.required_documents = vec![
            LocalizedText::new(
                "عکس ۴×۶ رنگی با زمینه سفید",
                "4×6 colour photo with white background",
            ),
            LocalizedText::new("گواهی سکونت", "Proof of residence"),
        ];
        upsert(&app, s).await;
        let view = app.get(ONCE).await.json();
        let psp: Vec<(&str, &str)> = view["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["service"] == "PSP-001")
            .map(|i| {
                (
                    i["document"].as_str().unwrap(),
                    i["replaced_by_inquiry"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(psp, [("Proof of residence", "postal.address")], "[{be:?}]");
        assert_eq!(view["national_yearly_visits"], 4);
        app.stop().await;
    }
}

#[tokio::test]
async fn screen_the_regulators_dashboard_draws_every_chart() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    citizen_with_booking(&app, "09121234567").await;
    let work = tempfile::tempdir().unwrap();
    for width in [390, 1366] {
        let b = browser_at(&env, work.path(), width, &app).await;
        staff_session(&b, &app, "regulator", "fa").await;
        b.goto(&format!("{}/dashboard", app.base)).await;
        if width == 390 {
            // Persian, no untranslated string, nothing wider than the phone.
            let mut walk = Walk::default();
            check_page(&b, "fa", &mut walk).await;
            walk.finish();
        }
        let ids = b
            .exec("return [...document.querySelectorAll('[data-chart]')].map(e => e.dataset.chart)")
            .await;
        let ids: Vec<String> = serde_json::from_value(ids).unwrap();
        assert_eq!(
            ids,
            [
                "days",
                "waits",
                "activity",
                "provinces",
                "inquiries",
                "reports",
                "sanctions",
                "satisfaction",
                "offices",
                "digitization",
                "catalogue",
                "osi",
                "once-only"
            ],
            "at {width}"
        );
        // ECharts draws after the deferred scripts run: wait for every chart's svg.
        let mut last = Value::Null;
        for _ in 0..50 {
            last = b
                .exec(
                    "return [...document.querySelectorAll('[data-chart]')].map(e => { \
                       const g = e.querySelector('svg, canvas'); \
                       if (!g) return e.dataset.chart + ': nothing drawn'; \
                       const r = g.getBoundingClientRect(); \
                       const s = getComputedStyle(e); \
                       return (r.width > 0 && r.height > 0 && r.width <= window.innerWidth \
                               && s.visibility !== 'hidden' && s.display !== 'none') \
                         ? 'ok' : e.dataset.chart + ': ' + r.width + 'x' + r.height; })",
                )
                .await;
            if last.as_array().is_some_and(|a| a.iter().all(|v| v == "ok")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            last.as_array()
                .is_some_and(|a| a.len() == 13 && a.iter().all(|v| v == "ok")),
            "every chart drawn at {width}: {last}"
        );
        // The charts' tables write numbers in Persian digits.
        let table = b
            .exec("return document.querySelector('#card-offices tbody').textContent")
            .await;
        let table = table.as_str().unwrap();
        assert!(
            crate::browser::has_persian_digit(table),
            "Persian digits at {width}: {table}"
        );
        assert!(
            !table.chars().any(|c| c.is_ascii_digit()),
            "no ASCII digits: {table}"
        );
        let osi = b
            .exec("return document.querySelector('#national-osi').textContent")
            .await;
        assert!(
            osi.as_str().unwrap().starts_with("۰٫") || osi.as_str().unwrap().starts_with("۰."),
            "{osi}"
        );
        b.quit().await;
    }
    app.stop().await;
}

#[tokio::test]
async fn the_catalogues_digitization_is_kept_day_by_day() {
    for app in TestApp::all().await {
        let be = app.backend;
        let regulator = app.login("regulator", crate::support::DEMO_PASSWORD).await;
        let at = |day: &str| {
            pishkhan_domain::tehran::day_bounds_ms(pishkhan_domain::JalaliDate::parse(day).unwrap())
                .0
                + 3_600_000
        };
        let change = |mut s: Service, stage: Digitization, ms: i64| {
            s.digitization = stage;
            let store = app.store.clone();
            async move {
                let permit = authorize(
                    &Principal::System { reason: "test" },
                    Action::ImportServices,
                )
                .unwrap();
                let ctx = AuditContext {
                    now_ms: ms,
                    ip: None,
                    request_id: None,
                };
                store.import_services(&permit, &[s], &ctx).await.unwrap();
            }
        };
        let networked: Vec<Service> = app
            .nation
            .services
            .iter()
            .filter(|s| s.digitization == Digitization::Networked)
            .take(2)
            .cloned()
            .collect();
        change(
            networked[0].clone(),
            Digitization::InProgress,
            at("1405-09-05"),
        )
        .await;
        change(
            networked[1].clone(),
            Digitization::NotStarted,
            at("1405-09-06"),
        )
        .await;

        let r = app
            .get_as(
                "/dashboard.csv?chart=catalogue&from=1405-09-05&to=1405-09-07",
                Some(&regulator),
            )
            .await;
        assert_eq!(r.status, 200, "[{be:?}] {}", r.text);
        let rows = csv_rows(&r.text);
        assert_eq!(rows[0], ["date", "networked", "in_progress", "not_started"]);
        let n = |row: &Vec<String>, i: usize| row[i].parse::<u64>().unwrap();
        let (d5, d6, d7) = (&rows[1], &rows[2], &rows[3]);
        assert_eq!(
            (d5[0].as_str(), d6[0].as_str(), d7[0].as_str()),
            ("1405-09-05", "1405-09-06", "1405-09-07"),
            "[{be:?}] {rows:?}"
        );
        assert_eq!(
            n(d6, 1) + 1,
            n(d5, 1),
            "[{be:?}] one fewer networked: {rows:?}"
        );
        assert_eq!(n(d6, 3), n(d5, 3) + 1, "[{be:?}] {rows:?}");
        assert_eq!(
            d7[1..],
            d6[1..],
            "[{be:?}] carried to a day without a change"
        );
        let total = |row: &Vec<String>| n(row, 1) + n(row, 2) + n(row, 3);
        assert_eq!(total(d5), app.nation.services.len() as u64, "[{be:?}]");
        app.stop().await;
    }
}
