//! The citizen's way from "which service?" to a booking they can print, as a person sees it
//! in Chromium: the public catalogue without signing in, services found by typing in either
//! script, offices near them a page at a time, the answers checked before anything is
//! booked, the booking's own page and calendar file, and a closed office that says why and
//! where else to go. Values are checked as drawn boxes inside the viewport, at a phone's,
//! a laptop's and a desktop's width.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, Env, path_of};
use crate::screen_a11y::axe_serious_violations;
use crate::screen_kit::{WIDTHS, browser_at, citizen_session, has_latin_letter, visible_text};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OFFICES, OTHER_OFFICE, TestApp};

/// Every element `css` matches is drawn: a box of some size, inside the viewport's width.
/// Returns what is not, one line each.
async fn not_visible(b: &Browser, css: &str) -> Vec<String> {
    let found = b
        .exec(&format!(
            r#"
            const out = [];
            const els = document.querySelectorAll({css:?});
            if (!els.length) return [`${{ {css:?} }}: nothing matches`];
            const w = document.documentElement.clientWidth;
            els.forEach((e, i) => {{
              const r = e.getBoundingClientRect();
              const s = getComputedStyle(e);
              if (r.width < 1 || r.height < 1 || s.visibility === 'hidden' || s.display === 'none'
                  || r.left < -1 || r.right > w + 1) {{
                out.push(`${{ {css:?} }}[${{i}}] at ${{r.left}}..${{r.right}} of ${{w}}, ${{r.width}}x${{r.height}}`);
              }}
            }});
            if (document.documentElement.scrollWidth > window.innerWidth) {{
              out.push(`the page scrolls sideways: ${{document.documentElement.scrollWidth}} > ${{window.innerWidth}}`);
            }}
            return out;
            "#
        ))
        .await;
    crate::screen_kit::strings(&found)
}

/// axe-core's serious and critical findings on the current page, named by `page`.
async fn axe(b: &Browser, page: &str) -> Vec<String> {
    axe_serious_violations(b)
        .await
        .into_iter()
        .map(|v| format!("{page}: {v}"))
        .collect()
}

/// Waits until a script returns true (a live search's redraw), up to five seconds.
async fn wait_until(b: &Browser, what: &str, script: &str) {
    for _ in 0..50 {
        if b.exec(script).await == json!(true) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what} on {}", b.url().await);
}

/// A Chrome DevTools command through chromedriver.
async fn cdp(b: &Browser, cmd: &str, params: Value) {
    b.cmd(
        Method::POST,
        "/goog/cdp/execute",
        Some(json!({ "cmd": cmd, "params": params })),
    )
    .await;
}

fn ascii_digits(s: &str) -> String {
    pishkhan_domain::digits::to_ascii_digits(s)
}

#[tokio::test]
async fn browser_public_catalogue_finds_services_by_typing_with_what_they_need_and_where() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let work = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for width in WIDTHS {
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        for lang in ["fa", "en"] {
            b.step(&format!("catalogue {lang} at {width}px"));
            b.goto(&format!("{base}/lang/{lang}")).await;
            b.goto(&format!("{base}/catalogue")).await;
            // Nobody is signed in: the catalogue is public.
            assert_eq!(path_of(&b.url().await), "/catalogue");
            let summary = visible_text(b, "#catalogue-summary").await;
            let want = if lang == "fa" { "۵۵۰" } else { "550" };
            assert!(summary.contains(want), "all 550 services: {summary}");
            problems.extend(not_visible(b, "#catalogue-list li a").await);
            problems.extend(axe(b, &format!("/catalogue {lang} {width}")).await);
            // Typed with an Arabic keyboard's kaf and yeh, the Persian titles still match,
            // and the list redraws as the person types.
            b.type_into("#catalogue-search input[name=q]", "كارت ملي")
                .await;
            wait_until(
                b,
                "the live search",
                r#"const items = [...document.querySelectorAll('#catalogue-list li')];
                   return items.length > 0 && items.length < 30;"#,
            )
            .await;
            let titles = b.texts("#catalogue-list .pick-title").await;
            if lang == "fa" {
                assert!(
                    titles
                        .iter()
                        .all(|t| t.contains("کارت") && t.contains("ملی")),
                    "every match is about the ID card: {titles:?}"
                );
            }
            b.click(&b.find("#catalogue-list li a").await).await;
            b.wait_for_url("a service's page", |u| {
                path_of(u).starts_with("/catalogue/")
            })
            .await;
            for css in [
                "#service-needs",
                "#service-time",
                "#service-cost",
                "main h1",
            ] {
                problems.extend(not_visible(b, css).await);
            }
            // Where: the offices of a city, each one tap from its calendar.
            let city = if lang == "fa" { "تهران" } else { "Tehran" };
            b.type_into("#find-office input[name=place]", city).await;
            b.click(&b.find("#find-office button[type=submit]").await)
                .await;
            b.find("#office-list li").await;
            problems.extend(not_visible(b, "#office-list li a").await);
            problems.extend(axe(b, &format!("/catalogue/<code> {lang} {width}")).await);
            let words = visible_text(b, "main").await;
            if lang == "fa" {
                let latin: Vec<&str> = words
                    .split_whitespace()
                    .filter(|w| has_latin_letter(w))
                    .collect();
                assert!(latin.is_empty(), "Latin words on a Persian page: {latin:?}");
            }
            b.screenshot(&format!("/tmp/pishkhan-catalogue-{lang}-{width}.png"))
                .await;
        }
        // Booking from the catalogue signs in first and comes back to the service.
        b.click(&b.find("#book-service").await).await;
        let at = b
            .wait_for_url("the sign-in", |u| path_of(u).starts_with("/citizen/login"))
            .await;
        assert!(
            at.contains("next=%2Fcitizen%2Fbook%3Fservice%3D")
                || at.contains("next=/citizen/book%3Fservice%3D"),
            "the sign-in remembers the service: {at}"
        );
        let next = b
            .attr(&b.find("#ask-form input[name=next]").await, "value")
            .await
            .unwrap_or_default();
        assert!(next.starts_with("/citizen/book?service="), "{next}");
        session.quit().await;
    }
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "not visible: {problems:#?}");
}

/// The demo office's position, from the public API.
async fn position_of(app: &TestApp, office: &str) -> (f64, f64) {
    let o = app.get(&format!("/api/v1/offices/{office}")).await.json();
    (
        o["lat"].as_f64().unwrap_or_else(|| panic!("lat: {o}")),
        o["lon"].as_f64().unwrap_or_else(|| panic!("lon: {o}")),
    )
}

/// The kilometres a distance badge shows, in either script.
fn km(badge: &str) -> f64 {
    let n: String = ascii_digits(badge)
        .chars()
        .map(|c| if c == '٫' { '.' } else { c })
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    n.parse()
        .unwrap_or_else(|_| panic!("a distance: {badge:?}"))
}

#[tokio::test]
async fn browser_citizen_finds_offices_near_them_checks_the_answers_and_keeps_the_booking() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let (lat, lon) = position_of(&app, DEMO_OFFICE).await;
    let work = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (i, width) in WIDTHS.into_iter().enumerate() {
        let lang = if width == 1366 { "en" } else { "fa" };
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        b.step(&format!("booking at {width}px ({lang})"));
        let national_code = app.fresh_national_code();
        let mobile = format!("0912555{:04}", 10 + i);
        let token = app.citizen_token(&national_code, &mobile).await;
        citizen_session(b, &app, &token, lang).await;

        // The service: typed, the list redrawing as the letters come.
        b.goto(&format!("{base}/citizen/book")).await;
        problems.extend(not_visible(b, "#service-list li a").await);
        problems.extend(axe(b, &format!("/citizen/book {lang} {width}")).await);
        let typed = if lang == "fa" {
            "گذرنامه"
        } else {
            "passport"
        };
        b.type_into("#service-search input[name=sq]", typed).await;
        wait_until(
            b,
            "the services to match",
            r#"const items = [...document.querySelectorAll('#service-list li')];
               return items.length > 0 && items.length < 20;"#,
        )
        .await;
        let first = b.find("#service-list li a").await;
        let service = b.attr(&first, "data-code").await.expect("a service code");
        b.click(&first).await;
        b.find("#chosen-service").await;

        // Offices near the person: the browser's position, nearest first, page by page.
        cdp(
            b,
            "Browser.grantPermissions",
            json!({ "permissions": ["geolocation"] }),
        )
        .await;
        cdp(
            b,
            "Emulation.setGeolocationOverride",
            json!({ "latitude": lat, "longitude": lon, "accuracy": 10 }),
        )
        .await;
        b.goto(&b.url().await).await;
        b.click(&b.find("#near-me").await).await;
        b.wait_for_url("offices near me", |u| u.contains("lat="))
            .await;
        b.find("#office-list li").await;
        problems.extend(not_visible(b, "#office-list li a").await);
        problems.extend(axe(b, &format!("/citizen/book offices {lang} {width}")).await);
        let summary = visible_text(b, "#offices-summary").await;
        let found: u64 = ascii_digits(&summary)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a count: {summary}"));
        assert!(
            found > OFFICES - 5 && found <= OFFICES,
            "every open office is found: {summary}"
        );
        let first_page = b.texts("#office-list .distance").await;
        assert_eq!(first_page.len(), 25, "a page of 25 offices");
        let kms: Vec<f64> = first_page.iter().map(|d| km(d)).collect();
        assert!(
            kms[0] < 0.1,
            "the office at the person's position first: {kms:?}"
        );
        assert!(
            kms.windows(2).all(|w| w[0] <= w[1]),
            "nearest first: {kms:?}"
        );
        let names_1 = b.texts("#office-list .pick-title").await;
        b.click(&b.find("#more-offices").await).await;
        b.wait_for_url("page two", |u| u.contains("opage=2")).await;
        let names_2 = b.texts("#office-list .pick-title").await;
        assert_eq!(names_2.len(), 25, "page two has 25 more");
        assert!(
            names_2.iter().all(|n| !names_1.contains(n)),
            "page two shows other offices"
        );
        let far: Vec<f64> = b
            .texts("#office-list .distance")
            .await
            .iter()
            .map(|d| km(d))
            .collect();
        assert!(
            far[0] >= kms[24],
            "page two is farther: {far:?} after {kms:?}"
        );
        b.goto(&format!(
            "{base}/citizen/book?service={service}&office={DEMO_OFFICE}"
        ))
        .await;

        // A time, then the answers to check: nothing is booked yet.
        b.click(&b.find("#slots button.slot.btn-secondary").await)
            .await;
        b.wait_for_url("the review", |u| {
            path_of(u).starts_with("/citizen/book/review?")
        })
        .await;
        for css in [
            "#review-service",
            "#review-office",
            "#review-when",
            "#review-documents",
            "#review-fee",
            "#review-person",
        ] {
            problems.extend(not_visible(b, css).await);
        }
        problems.extend(axe(b, &format!("/citizen/book/review {lang} {width}")).await);
        let when = visible_text(b, "#review-when bdi").await;
        let nc = pishkhan_domain::NationalCode::parse(&national_code).unwrap();
        assert!(
            app.store.citizen_bookings(&nc).await.unwrap().is_empty(),
            "the review books nothing"
        );
        b.screenshot(&format!("/tmp/pishkhan-review-{lang}-{width}.png"))
            .await;
        b.click(&b.find("#confirm-booking button[type=submit]").await)
            .await;
        b.wait_for_url("the booking's page", |u| u.contains("booked=1"))
            .await;
        for css in [
            "#booking-code",
            "#booking-when",
            "#booking-office",
            "#booking-documents",
        ] {
            problems.extend(not_visible(b, css).await);
        }
        problems.extend(axe(b, &format!("/citizen/bookings/<code> {lang} {width}")).await);
        let code = visible_text(b, "#booking-code").await;
        assert_eq!(
            visible_text(b, "#booking-when").await,
            when,
            "the time checked"
        );
        let booked = app.store.citizen_bookings(&nc).await.unwrap();
        assert_eq!(booked.len(), 1);
        assert_eq!(booked[0].tracking_code.to_string(), code);

        // Printed, the page is the booking alone.
        cdp(b, "Emulation.setEmulatedMedia", json!({ "media": "print" })).await;
        let printed = b
            .exec(
                "return [getComputedStyle(document.querySelector('.site-header')).display,                  getComputedStyle(document.querySelector('#booking-actions')).display,                  document.querySelector('#booking-code').getBoundingClientRect().width > 0]",
            )
            .await;
        assert_eq!(printed, json!(["none", "none", true]), "the print layout");
        cdp(b, "Emulation.setEmulatedMedia", json!({ "media": "" })).await;
        b.screenshot(&format!("/tmp/pishkhan-booking-{lang}-{width}.png"))
            .await;

        // The calendar file: one event at the booked time, at the office.
        let href = b
            .attr(&b.find("#add-to-calendar").await, "href")
            .await
            .expect("the calendar link");
        let ics = app
            .send(
                app.client
                    .get(app.url(&href))
                    .header("cookie", format!("pishkhan_citizen={token}")),
            )
            .await;
        assert_eq!(ics.status, 200, "{}", ics.text);
        assert!(
            ics.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/calendar"),
            "{:?}",
            ics.headers
        );
        let start =
            time::OffsetDateTime::from_unix_timestamp(booked[0].slot_start_ms / 1000).unwrap();
        let dtstart = format!(
            "DTSTART:{:04}{:02}{:02}T{:02}{:02}00Z",
            start.year(),
            u8::from(start.month()),
            start.day(),
            start.hour(),
            start.minute()
        );
        assert!(ics.text.contains(&dtstart), "{dtstart} in {}", ics.text);
        assert!(ics.text.contains(&format!("UID:{code}@pishkhan")));
        assert!(ics.text.contains("BEGIN:VEVENT") && ics.text.ends_with("END:VCALENDAR\r\n"));
        assert!(
            ics.text.split("\r\n").all(|l| l.len() <= 75),
            "lines folded at 75 octets"
        );
        // Another citizen's booking is not theirs to download.
        let stranger = app
            .citizen_token(&app.fresh_national_code(), "09125559999")
            .await;
        let theirs = app
            .send(
                app.client
                    .get(app.url(&href))
                    .header("cookie", format!("pishkhan_citizen={stranger}")),
            )
            .await;
        assert_eq!(theirs.status, 404, "{}", theirs.text);

        // The question before cancelling, and the data-access page, read as well.
        b.goto(&format!("{base}/citizen/bookings/{code}/cancel"))
            .await;
        problems.extend(not_visible(b, "#cancel-question dd").await);
        problems.extend(axe(b, &format!("the cancel question {lang} {width}")).await);
        b.goto(&format!("{base}/citizen/data-access")).await;
        b.find("main h1").await;
        problems.extend(axe(b, &format!("/citizen/data-access {lang} {width}")).await);
        session.quit().await;
    }
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "not visible: {problems:#?}");
}

#[tokio::test]
async fn browser_a_suspended_office_says_why_and_points_to_the_nearest_open_ones() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let regulator = app.login("regulator", DEMO_PASSWORD).await;
    let done = app
        .put_json(
            &format!("/api/v1/offices/{OTHER_OFFICE}/status"),
            Some(&regulator),
            &json!({ "status": "suspended", "reason": "آزمون تعلیق" }),
        )
        .await;
    assert_eq!(done.status, 204, "{}", done.text);
    let work = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (width, lang, why) in [
        (390, "fa", "تعلیق شده"),
        (1366, "en", "suspended this office"),
        (1920, "fa", "تعلیق شده"),
    ] {
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        let token = app
            .citizen_token(&app.fresh_national_code(), "09125550100")
            .await;
        citizen_session(b, &app, &token, lang).await;
        b.goto(&format!(
            "{base}/citizen/book?service=PSP-001&office={OTHER_OFFICE}"
        ))
        .await;
        let closed = visible_text(b, "#office-closed").await;
        assert!(closed.contains(why), "{lang}: says why: {closed}");
        assert!(
            b.find_all("#slots").await.is_empty(),
            "no calendar to book from"
        );
        problems.extend(not_visible(b, "#office-closed").await);
        problems.extend(not_visible(b, "#alternatives li a").await);
        problems.extend(axe(b, &format!("a closed office {lang} {width}")).await);
        let links: Vec<String> = {
            let mut v = Vec::new();
            for a in b.find_all("#alternatives li a").await {
                v.push(b.attr(&a, "href").await.unwrap_or_default());
            }
            v
        };
        assert!(!links.is_empty() && links.len() <= 5, "{links:?}");
        assert!(
            links
                .iter()
                .all(|l| !l.contains(OTHER_OFFICE) && l.contains("service=PSP-001")),
            "other offices, for the same service: {links:?}"
        );
        // An alternative opens its calendar.
        b.click(&b.find("#alternatives li a").await).await;
        b.find("#slots button.slot").await;
        // A time at the closed office, typed into the address, is refused before review.
        b.goto(&format!(
            "{base}/citizen/book/review?office={OTHER_OFFICE}&service=PSP-001&start=2026-11-29T05%3A00%3A00Z"
        ))
        .await;
        let refused = visible_text(b, "#book-error").await;
        assert!(refused.contains(why), "{lang}: {refused}");
        session.quit().await;
    }
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "not visible: {problems:#?}");
}

/// Books `service` at the demo office tomorrow for a new citizen.
async fn book_for_new_citizen(app: &TestApp, service: &str, mobile: &str) {
    let national_code = app.fresh_national_code();
    let token = app.citizen_token(&national_code, mobile).await;
    let days = app
        .get(&format!(
            "/api/v1/offices/{DEMO_OFFICE}/availability?service={service}&from=1405-09-08&days=3"
        ))
        .await
        .json();
    let start = days["days"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
        .find(|s| s["available"].as_u64().unwrap_or(0) > 0)
        .and_then(|s| s["start"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("a free slot for {service}: {days}"));
    let body = json!({
        "office": DEMO_OFFICE, "service": service, "start": start,
        "national_code": national_code, "mobile": mobile,
    });
    let done = app.post_json("/api/v1/bookings", Some(&token), &body).await;
    assert_eq!(done.status, 201, "{}", done.text);
}

#[tokio::test]
async fn the_services_people_book_most_come_first() {
    let app = TestApp::sqlite().await;
    // A counter service from the end of the catalogue, which an alphabetical list would
    // show last.
    let mut last = None;
    for page in 1..=6 {
        let found = app
            .get(&format!("/api/v1/services?per_page=100&page={page}"))
            .await
            .json();
        for s in found["items"].as_array().into_iter().flatten() {
            if s["channel"] != "online" {
                last = s["code"].as_str().map(str::to_string);
            }
        }
    }
    let popular = last.expect("a counter service");
    for i in 0..3 {
        book_for_new_citizen(&app, &popular, &format!("0912777{:04}", i)).await;
    }
    let token = app
        .citizen_token(&app.fresh_national_code(), "09127770099")
        .await;
    let page = app
        .send(
            app.client
                .get(app.url("/citizen/book"))
                .header("cookie", format!("pishkhan_citizen={token}")),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let first = page
        .text
        .split("data-code=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert_eq!(first, popular, "the most booked service is listed first");
    app.stop().await;
}
