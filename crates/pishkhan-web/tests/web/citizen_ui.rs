//! The citizen pages: sign in with a one-time code, book, see, reschedule and cancel one's
//! own appointments. Over plain HTTP on every backend, and in headless Chromium at phone width.
//!
//! The WebDriver scaffolding is `browser.rs`'s.

use crate::browser::{Env, Walk, check_page, path_of};
use crate::support::{DEMO_OFFICE, Resp, TestApp, enc};

const SERVICE: &str = "PSP-001";
const MOBILE: &str = "09351112233";

// ---- plain HTTP ----------------------------------------------------------------------------

/// The value of cookie `name` set by `resp`, if any.
fn set_cookie_value(resp: &Resp, name: &str) -> Option<String> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .and_then(|kv| kv.trim().split_once('='))
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
}

fn set_cookie_line<'a>(resp: &'a Resp, name: &str) -> Option<&'a str> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// A citizen's cookies, sent by hand (the test client has no cookie jar).
struct Jar {
    csrf: String,
    session: Option<String>,
}

impl Jar {
    fn header(&self) -> String {
        match &self.session {
            Some(s) => format!("pishkhan_citizen_csrf={}; pishkhan_citizen={s}", self.csrf),
            None => format!("pishkhan_citizen_csrf={}", self.csrf),
        }
    }
}

async fn get_with(app: &TestApp, jar: &Jar, path: &str) -> Resp {
    app.send(app.client.get(app.url(path)).header("cookie", jar.header()))
        .await
}

async fn post_form(app: &TestApp, cookie: Option<&str>, path: &str, form: &[(&str, &str)]) -> Resp {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.send(req).await
}

#[track_caller]
fn assert_translated(resp: &Resp) {
    assert!(
        !resp.text.contains('⟦'),
        "untranslated marker: {}",
        resp.text
            .split('⟦')
            .nth(1)
            .map(|s| s.chars().take(40).collect::<String>())
            .unwrap_or_default()
    );
}

#[track_caller]
fn assert_redirect(resp: &Resp, to_prefix: &str) -> String {
    assert!(
        (300..400).contains(&resp.status),
        "expected a redirect to {to_prefix}, got {}: {}",
        resp.status,
        resp.text
    );
    let loc = resp.header("location").unwrap_or("").to_string();
    assert!(
        loc.starts_with(to_prefix),
        "redirect to {loc}, not {to_prefix}"
    );
    loc
}

/// The start values of the free slot buttons on a picker page.
fn free_slots(html: &str) -> Vec<String> {
    let marker = "btn btn-secondary slot\" type=\"submit\" name=\"start\" value=\"";
    html.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest.find('"').map(|j| rest[..j].to_string())
        })
        .collect()
}

async fn latest_code(app: &TestApp, mobile: &str) -> String {
    let messages = app.store.outbox_messages(Some(mobile), 5).await.unwrap();
    let sms = messages
        .iter()
        .find(|m| m.kind == "auth.otp")
        .expect("an SMS with the code");
    sms.payload["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn citizen_pages_over_http_sign_in_book_move_and_cancel() {
    for app in TestApp::all().await {
        let be = app.be();
        // Signed out, the pages send the citizen to their sign-in page.
        let resp = app.get("/citizen").await;
        assert_redirect(&resp, "/citizen/login");
        let resp = app.get("/citizen/book").await;
        assert_redirect(&resp, "/citizen/login");

        let form = app.get("/citizen/login").await;
        assert_eq!(form.status, 200, "[{be}] {}", form.text);
        assert_translated(&form);
        assert!(
            form.text.contains("ورود شهروندان"),
            "[{be}] Persian by default"
        );
        let csrf = set_cookie_value(&form, "pishkhan_citizen_csrf").expect("csrf cookie");
        let line = set_cookie_line(&form, "pishkhan_citizen_csrf").unwrap();
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax"),
            "{line}"
        );
        assert!(form.text.contains(&csrf), "the form carries the token");
        let mut jar = Jar {
            csrf: csrf.clone(),
            session: None,
        };
        let cookie = jar.header();

        let citizen = app.fresh_national_code();
        let ask = [
            ("csrf", csrf.as_str()),
            ("national_code", citizen.as_str()),
            ("mobile", MOBILE),
        ];
        // The CSRF check: no cookie, no field, or a wrong field is refused.
        let r = post_form(&app, None, "/citizen/login", &ask).await;
        assert_eq!(r.status, 403, "[{be}] without the cookie: {}", r.text);
        let r = post_form(
            &app,
            Some(&cookie),
            "/citizen/login",
            &[("national_code", citizen.as_str()), ("mobile", MOBILE)],
        )
        .await;
        assert_eq!(r.status, 403, "[{be}] without the field: {}", r.text);
        let r = post_form(
            &app,
            Some(&cookie),
            "/citizen/login",
            &[
                ("csrf", "x".repeat(43).as_str()),
                ("national_code", citizen.as_str()),
                ("mobile", MOBILE),
            ],
        )
        .await;
        assert_eq!(r.status, 403, "[{be}] with a wrong field: {}", r.text);
        assert!(
            app.store
                .outbox_messages(Some(MOBILE), 5)
                .await
                .unwrap()
                .is_empty(),
            "[{be}] refused requests send no SMS"
        );

        // A bad national code is explained in Persian.
        let r = post_form(
            &app,
            Some(&cookie),
            "/citizen/login",
            &[
                ("csrf", csrf.as_str()),
                ("national_code", "1111111111"),
                ("mobile", MOBILE),
            ],
        )
        .await;
        assert_eq!(r.status, 422, "[{be}] {}", r.text);
        assert!(r.text.contains("کد ملی نادرست است"), "[{be}] {}", r.text);
        assert_translated(&r);

        // Ask for a code: the second form appears; asking again at once is too soon.
        let r = post_form(&app, Some(&cookie), "/citizen/login", &ask).await;
        assert_eq!(r.status, 200, "[{be}] {}", r.text);
        assert!(r.text.contains("name=\"code\""), "[{be}] the code form");
        assert_translated(&r);
        let r = post_form(&app, Some(&cookie), "/citizen/login", &ask).await;
        assert_eq!(r.status, 429, "[{be}] {}", r.text);
        assert!(r.text.contains("بیش از حد مجاز"), "[{be}] {}", r.text);

        let code = latest_code(&app, MOBILE).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let with_code = |c: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("national_code", citizen.clone()),
                ("mobile", MOBILE.to_string()),
                ("code", c.to_string()),
            ]
        };
        let f = with_code(wrong);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&cookie), "/citizen/login", &f).await;
        assert_eq!(r.status, 401, "[{be}] {}", r.text);
        assert!(
            r.text.contains("کد واردشده نادرست است"),
            "[{be}] {}",
            r.text
        );
        assert!(set_cookie_value(&r, "pishkhan_citizen").is_none());

        // The right code, in Persian digits, signs in.
        let persian = pishkhan_domain::digits::to_persian_digits(&code);
        let f = with_code(&persian);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&cookie), "/citizen/login", &f).await;
        assert_redirect(&r, "/citizen");
        let line = set_cookie_line(&r, "pishkhan_citizen").expect("session cookie");
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax"),
            "{line}"
        );
        jar.session = set_cookie_value(&r, "pishkhan_citizen");
        // A code works once.
        let r = post_form(&app, Some(&cookie), "/citizen/login", &f).await;
        assert_eq!(r.status, 401, "[{be}] {}", r.text);
        assert!(r.text.contains("منقضی"), "[{be}] {}", r.text);

        let home = get_with(&app, &jar, "/citizen").await;
        assert_eq!(home.status, 200, "[{be}] {}", home.text);
        assert_translated(&home);
        assert!(
            home.text.contains("هنوز نوبتی نگرفته‌اید"),
            "[{be}] empty list"
        );

        // Pick an office and a service; the free slots are listed by Jalali day.
        let picker = get_with(
            &app,
            &jar,
            &format!("/citizen/book?office={DEMO_OFFICE}&service={SERVICE}"),
        )
        .await;
        assert_eq!(picker.status, 200, "[{be}] {}", picker.text);
        assert_translated(&picker);
        assert!(
            picker.text.contains("۸ آذر ۱۴۰۵"),
            "[{be}] tomorrow is listed"
        );
        let slots = free_slots(&picker.text);
        assert!(slots.len() >= 2, "[{be}] free slots: {slots:?}");
        let searched = get_with(
            &app,
            &jar,
            &format!("/citizen/book?service={SERVICE}&place=%DA%A9%D8%A7%D8%B4%D8%A7%D9%86%DB%8C"),
        )
        .await;
        assert_eq!(searched.status, 200, "[{be}] {}", searched.text);
        assert!(
            searched.text.contains("office=11000004#slots"),
            "[{be}] office search: {}",
            searched.text
        );
        // Choosing a time only shows it to check: nothing is booked until confirmed.
        let review = get_with(
            &app,
            &jar,
            &format!(
                "/citizen/book/review?office={DEMO_OFFICE}&service={SERVICE}&start={}",
                slots[0].replace('+', "%2B")
            ),
        )
        .await;
        assert_eq!(review.status, 200, "[{be}] {}", review.text);
        assert_translated(&review);
        assert!(
            review.text.contains("id=\"confirm-booking\""),
            "[{be}] {}",
            review.text
        );
        assert!(
            app.store
                .citizen_bookings(&pishkhan_domain::NationalCode::parse(&citizen).unwrap())
                .await
                .unwrap()
                .is_empty(),
            "[{be}] the review books nothing"
        );

        let book = |start: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("office", DEMO_OFFICE.to_string()),
                ("service", SERVICE.to_string()),
                ("start", start.to_string()),
            ]
        };
        let session_cookie = jar.header();
        // Without the CSRF field nothing is booked.
        let f = book(&slots[0]);
        let f: Vec<(&str, &str)> = f.iter().skip(1).map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&session_cookie), "/citizen/book", &f).await;
        assert_eq!(r.status, 403, "[{be}] {}", r.text);
        let f = book(&slots[0]);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&session_cookie), "/citizen/book", &f).await;
        let loc = assert_redirect(&r, "/citizen/bookings/");
        let tracking = loc
            .trim_start_matches("/citizen/bookings/")
            .trim_end_matches("?booked=1")
            .to_string();
        let sheet = get_with(&app, &jar, &loc).await;
        assert_eq!(sheet.status, 200, "[{be}] {}", sheet.text);
        assert_translated(&sheet);
        assert!(sheet.text.contains("id=\"booking-notice\"") && sheet.text.contains(&tracking));
        let home = get_with(&app, &jar, "/citizen").await;
        assert_eq!(home.status, 200, "[{be}] {}", home.text);
        assert_translated(&home);
        assert!(
            home.text.contains("آذر ۱۴۰۵"),
            "[{be}] Jalali date: {}",
            home.text
        );
        assert!(home.text.contains("رزرو شده"), "[{be}] status label");
        // A second booking for the same service is refused, in Persian.
        let f = book(&slots[1]);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&session_cookie), "/citizen/book", &f).await;
        assert_eq!(r.status, 422, "[{be}] {}", r.text);
        assert!(r.text.contains("نوبت فعال دارید"), "[{be}] {}", r.text);
        assert_translated(&r);

        // Move it to the second slot.
        let path = format!("/citizen/bookings/{tracking}/reschedule");
        let page = get_with(&app, &jar, &path).await;
        assert_eq!(page.status, 200, "[{be}] {}", page.text);
        assert_translated(&page);
        let r = post_form(
            &app,
            Some(&session_cookie),
            &path,
            &[("csrf", csrf.as_str()), ("start", slots[1].as_str())],
        )
        .await;
        assert_redirect(&r, &format!("/citizen/bookings/{tracking}?moved=1"));
        let moved = app
            .store
            .booking(&pishkhan_domain::schedule::TrackingCode::parse(&tracking).unwrap())
            .await
            .unwrap();
        let want =
            time::OffsetDateTime::parse(&slots[1], &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(
            moved.slot_start_ms,
            (want.unix_timestamp_nanos() / 1_000_000) as i64,
            "[{be}] moved to the second slot"
        );

        // Someone else cannot cancel it, and without the CSRF field neither can its owner.
        let cancel = format!("/citizen/bookings/{tracking}/cancel");
        let r = post_form(&app, Some(&session_cookie), &cancel, &[]).await;
        assert_eq!(r.status, 403, "[{be}] {}", r.text);
        let r = post_form(
            &app,
            Some(&session_cookie),
            &cancel,
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_redirect(&r, "/citizen?done=cancelled");
        let home = get_with(&app, &jar, "/citizen?done=cancelled").await;
        assert!(home.text.contains("لغو شده"), "[{be}] {}", home.text);
        assert!(home.text.contains("نوبت لغو شد."), "[{be}]");
        assert!(
            !home.text.contains("/cancel\""),
            "[{be}] no cancel button on a cancelled booking"
        );

        // English.
        let en = get_with(&app, &jar, "/citizen?lang=en").await;
        assert_translated(&en);
        assert!(en.text.contains("My appointments") && en.text.contains("Cancelled"));
        assert!(en.text.contains("Azar 1405"), "[{be}] {}", en.text);

        // Sign out clears the cookie.
        let r = post_form(
            &app,
            Some(&session_cookie),
            "/citizen/logout",
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_redirect(&r, "/citizen/login");
        assert_eq!(
            set_cookie_value(&r, "pishkhan_citizen").as_deref(),
            Some("")
        );
        // The session ended on the server too: the old cookie no longer signs in.
        let stale = get_with(&app, &jar, "/citizen").await;
        assert_redirect(&stale, "/citizen/login");
        app.stop().await;
    }
}

// ---- in the browser ------------------------------------------------------------------------

#[tokio::test]
async fn browser_citizen_books_moves_and_cancels_on_a_phone() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let mut walk = Walk::default();
    let base = app.base.clone();

    b.goto(&format!("{base}/citizen")).await;
    b.wait_for_url("the citizen sign-in", |u| path_of(u) == "/citizen/login")
        .await;
    check_page(b, "fa", &mut walk).await;
    let citizen = app.fresh_national_code();
    b.type_into("#ask-form input[name=national_code]", &citizen)
        .await;
    b.type_into("#ask-form input[name=mobile]", "۰۹۳۵۱۱۱۲۲۳۳")
        .await;
    b.click(&b.find("#ask-form button[type=submit]").await)
        .await;
    b.find("#code-form input[name=code]").await;
    check_page(b, "fa", &mut walk).await;
    b.screenshot("/tmp/pishkhan-citizen-code-fa.png").await;

    // A wrong code first, then the right one in Persian digits.
    let code = latest_code(&app, MOBILE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.type_into("#code-form input[name=code]", wrong).await;
    b.click(&b.find("#code-form button[type=submit]").await)
        .await;
    let alert = b.text_of(".alert-error").await;
    assert_eq!(alert, "کد واردشده نادرست است. دوباره تلاش کنید.");
    check_page(b, "fa", &mut walk).await;
    b.type_into(
        "#code-form input[name=code]",
        &pishkhan_domain::digits::to_persian_digits(&code),
    )
    .await;
    b.click(&b.find("#code-form button[type=submit]").await)
        .await;
    b.wait_for_url("my bookings", |u| path_of(u) == "/citizen")
        .await;
    check_page(b, "fa", &mut walk).await;

    // Book.
    b.click(&b.find("#new-booking").await).await;
    b.wait_for_url("the booking page", |u| path_of(u) == "/citizen/book")
        .await;
    check_page(b, "fa", &mut walk).await;
    // Search the services by code; a single match is chosen, then the office by its code.
    b.type_into("#service-search input[name=sq]", SERVICE).await;
    b.click(&b.find("#service-search button[type=submit]").await)
        .await;
    b.find("#chosen-service").await;
    check_page(b, "fa", &mut walk).await;
    b.type_into("#choose input[name=office]", DEMO_OFFICE).await;
    b.click(&b.find("#choose button[type=submit]").await).await;
    b.find("#slots button.slot").await;
    check_page(b, "fa", &mut walk).await;
    let days = b.text_of("#slots section.day h3").await;
    assert!(days.contains("۸ آذر ۱۴۰۵"), "first day: {days}");
    b.screenshot("/tmp/pishkhan-citizen-slots-fa.png").await;
    b.click(&b.find("#slots button.slot.btn-secondary").await)
        .await;
    // Check the answers, then confirm.
    b.wait_for_url("the review", |u| {
        path_of(u).starts_with("/citizen/book/review?")
    })
    .await;
    check_page(b, "fa", &mut walk).await;
    b.click(&b.find("#confirm-booking button[type=submit]").await)
        .await;
    b.wait_for_url("the new booking", |u| u.contains("booked="))
        .await;
    check_page(b, "fa", &mut walk).await;
    let tracking = b.text_of("#booking-code").await;
    assert_eq!(tracking.len(), 9, "tracking code: {tracking}");
    b.goto(&format!("{base}/citizen")).await;
    let when = b.text_of(".booking .when").await;
    assert!(
        when.contains("آذر ۱۴۰۵") && !when.chars().any(|c| c.is_ascii_digit()),
        "Persian Jalali date and time: {when}"
    );
    b.screenshot("/tmp/pishkhan-citizen-home-fa.png").await;

    // Move it to another free time.
    b.click(&b.find(".booking a.reschedule").await).await;
    b.wait_for_url("the reschedule page", |u| u.ends_with("/reschedule"))
        .await;
    check_page(b, "fa", &mut walk).await;
    b.click(
        &b.find("#slots form.slot-form button.slot.btn-secondary:nth-of-type(3)")
            .await,
    )
    .await;
    b.wait_for_url("moved", |u| u.contains("moved=1")).await;
    check_page(b, "fa", &mut walk).await;
    b.goto(&format!("{base}/citizen")).await;
    let moved = b.text_of(".booking .when").await;
    assert_ne!(moved, when, "the time changed");
    assert_eq!(b.text_of(".booking .mono").await, tracking);

    // Cancelling asks first; keeping it changes nothing.
    b.click(&b.find(".booking a.cancel").await).await;
    b.wait_for_url("the cancel question", |u| u.ends_with("/cancel"))
        .await;
    check_page(b, "fa", &mut walk).await;
    b.click(&b.find("#keep-booking").await).await;
    b.wait_for_url("kept", |u| {
        u.ends_with(&format!("/citizen/bookings/{tracking}"))
    })
    .await;
    assert_eq!(b.text_of("#booking-status").await, "رزرو شده");
    b.click(&b.find("#cancel-link").await).await;
    b.wait_for_url("the cancel question", |u| u.ends_with("/cancel"))
        .await;
    b.click(&b.find("#confirm-cancel").await).await;
    b.wait_for_url("cancelled", |u| u.contains("done=cancelled"))
        .await;
    check_page(b, "fa", &mut walk).await;
    assert_eq!(b.text_of(".booking .badge").await, "لغو شده");
    assert!(b.find_all(".booking a.cancel").await.is_empty());

    // English, then sign out.
    b.click(&b.find("a.lang-switch").await).await;
    b.wait_for_url("back on my bookings", |u| {
        path_of(u).starts_with("/citizen")
    })
    .await;
    check_page(b, "en", &mut walk).await;
    assert_eq!(b.text_of("main h1").await, "My appointments");
    b.goto(&format!(
        "{base}/citizen/book?office={DEMO_OFFICE}&service={SERVICE}"
    ))
    .await;
    check_page(b, "en", &mut walk).await;
    b.screenshot("/tmp/pishkhan-citizen-slots-en.png").await;
    b.goto(&format!("{base}/citizen")).await;
    b.click(&b.find("#citizen-logout button").await).await;
    b.wait_for_url("signed out", |u| path_of(u) == "/citizen/login")
        .await;
    check_page(b, "en", &mut walk).await;
    b.goto(&format!("{base}/citizen")).await;
    b.wait_for_url("signed out stays out", |u| path_of(u) == "/citizen/login")
        .await;

    env.stop().await;
    app.stop().await;
    walk.finish();
}
