//! Abuse of sign-in, from the abuser's side, on every backend: texting one phone under many
//! national codes, texting many phones from one address, a flood from everywhere, spraying
//! guesses at many usernames and guessing one member's password; and the sign-in pages
//! saying so in their language.

use pishkhan_app::login_limiter::SignInLimits;
use pishkhan_app::otp_limiter::{OtpLimits, Rate};
use pishkhan_web::WebConfig;
use serde_json::json;

use crate::support::{DEMO_PASSWORD, Resp, TestApp, client_from, enc};

/// The phone someone wants flooded with texts.
const VICTIM: &str = "09121110000";

async fn ask_code(
    app: &TestApp,
    from: &reqwest::Client,
    national_code: &str,
    mobile: &str,
) -> Resp {
    app.send(
        from.post(app.url("/api/v1/citizen/code"))
            .json(&json!({ "national_code": national_code, "mobile": mobile })),
    )
    .await
}

/// Sign-in codes texted to `mobile`.
async fn texts_to(app: &TestApp, mobile: Option<&str>) -> usize {
    let messages = app.store.outbox_messages(mobile, 1_000).await.unwrap();
    messages.iter().filter(|m| m.kind == "auth.otp").count()
}

#[track_caller]
fn retry_after(r: &Resp) -> u64 {
    let s: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After: {:?}", r.headers));
    assert!(s >= 1, "Retry-After {s}");
    s
}

#[tokio::test]
async fn one_phone_gets_a_bounded_number_of_codes_whatever_the_national_codes() {
    let limit = OtpLimits::default().per_mobile.burst as usize;
    for app in TestApp::all().await {
        let be = app.be();
        // Ten made-up national codes, each from an address of its own: only the phone's
        // limit can bind.
        for i in 0..10 {
            let from = client_from(&format!("127.0.1.{}", i + 1));
            let r = ask_code(&app, &from, &app.fresh_national_code(), VICTIM).await;
            if i < limit {
                assert_eq!(r.status, 202, "[{be}] code {i}: {}", r.text);
            } else {
                r.problem(429, "too_many_codes_for_mobile");
                let wait = retry_after(&r);
                assert!(wait <= 12 * 60, "[{be}] Retry-After {wait}");
            }
        }
        assert_eq!(
            texts_to(&app, Some(VICTIM)).await,
            limit,
            "[{be}] texts sent"
        );
        // Another phone is not held back.
        let r = ask_code(&app, &app.client, &app.fresh_national_code(), "09121110001").await;
        assert_eq!(r.status, 202, "[{be}] another phone: {}", r.text);
        app.stop().await;
    }
}

#[tokio::test]
async fn one_address_gets_a_bounded_number_of_codes_whatever_the_phones() {
    let limit = OtpLimits::default().per_address.burst as usize;
    for app in TestApp::all().await {
        let be = app.be();
        for i in 0..limit + 10 {
            let mobile = format!("0912{:07}", 2_000_000 + i);
            let r = ask_code(&app, &app.client, &app.fresh_national_code(), &mobile).await;
            if i < limit {
                assert_eq!(r.status, 202, "[{be}] code {i}: {}", r.text);
            } else {
                r.problem(429, "too_many_codes_from_address");
                retry_after(&r);
            }
        }
        assert_eq!(texts_to(&app, None).await, limit, "[{be}] texts sent");
        // Another address is not held back.
        let r = ask_code(
            &app,
            &client_from("127.0.0.2"),
            &app.fresh_national_code(),
            "09121110002",
        )
        .await;
        assert_eq!(r.status, 202, "[{be}] another address: {}", r.text);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_flood_from_many_addresses_and_phones_meets_the_overall_limit() {
    let overall = Rate {
        burst: 3,
        every_ms: 3_600_000,
    };
    for app in TestApp::all_with(|c| c.app.otp_limits.overall = overall).await {
        let be = app.be();
        for i in 0..5 {
            let from = client_from(&format!("127.0.2.{}", i + 1));
            let mobile = format!("0912{:07}", 3_000_000 + i);
            let r = ask_code(&app, &from, &app.fresh_national_code(), &mobile).await;
            if i < 3 {
                assert_eq!(r.status, 202, "[{be}] code {i}: {}", r.text);
            } else {
                r.problem(429, "too_many_codes");
                retry_after(&r);
            }
        }
        assert_eq!(texts_to(&app, None).await, 3, "[{be}] texts sent");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_refused_national_code_does_not_use_up_the_phone() {
    let per_mobile = Rate {
        burst: 2,
        every_ms: 3_600_000,
    };
    for app in TestApp::all_with(|c| c.app.otp_limits.per_mobile = per_mobile).await {
        let be = app.be();
        let national_code = app.fresh_national_code();
        let first = ask_code(&app, &app.client, &national_code, VICTIM).await;
        assert_eq!(first.status, 202, "[{be}] {}", first.text);
        // Asking again at once is refused for the national code, and sends nothing...
        for _ in 0..3 {
            ask_code(&app, &app.client, &national_code, VICTIM)
                .await
                .problem(429, "too_many_codes_for_national_code");
        }
        // ...so the phone still has its second code.
        let r = ask_code(&app, &app.client, &app.fresh_national_code(), VICTIM).await;
        assert_eq!(r.status, 202, "[{be}] {}", r.text);
        assert_eq!(texts_to(&app, Some(VICTIM)).await, 2, "[{be}] texts sent");
        app.stop().await;
    }
}

/// The alert of a page: the text of its `role="alert"` element.
fn alert(page: &Resp) -> String {
    let start = page
        .text
        .find("role=\"alert\">")
        .unwrap_or_else(|| panic!("no alert on the page: {}", page.text))
        + "role=\"alert\">".len();
    let len = page.text[start..].find('<').expect("the alert ends");
    page.text[start..start + len].to_string()
}

/// Posts `form` to `path` with a double-submit CSRF cookie and the language cookie.
async fn post_page(
    app: &TestApp,
    path: &str,
    lang: &str,
    csrf_cookie: &str,
    form: &[(&str, &str)],
) -> Resp {
    let csrf = "c".repeat(32);
    let body = std::iter::once(("csrf", csrf.as_str()))
        .chain(form.iter().copied())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    app.send(
        app.client
            .post(app.url(path))
            .header(
                "cookie",
                format!("{csrf_cookie}={csrf}; pishkhan_lang={lang}"),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

#[tokio::test]
async fn the_citizen_sign_in_page_explains_the_phone_limit_in_its_language() {
    let limit = OtpLimits::default().per_mobile.burst as usize;
    for app in TestApp::all().await {
        let be = app.be();
        for _ in 0..limit {
            let r = ask_code(&app, &app.client, &app.fresh_national_code(), VICTIM).await;
            assert_eq!(r.status, 202, "[{be}] {}", r.text);
        }
        for (lang, says) in [
            (
                "fa",
                "برای این شماره همراه بیش از اندازه کد ورود فرستاده شده است",
            ),
            (
                "en",
                "Too many sign-in codes have been sent to this mobile number",
            ),
        ] {
            let nc = app.fresh_national_code();
            let page = post_page(
                &app,
                "/citizen/login",
                lang,
                "pishkhan_citizen_csrf",
                &[("national_code", &nc), ("mobile", VICTIM)],
            )
            .await;
            assert_eq!(page.status, 429, "[{be}] {lang}: {}", page.text);
            let text = alert(&page);
            assert!(text.contains(says), "[{be}] {lang}: {text}");
            let wait = if lang == "fa" {
                "دقیقه"
            } else {
                "minutes"
            };
            assert!(text.contains(wait), "[{be}] {lang} says how long: {text}");
            if lang == "fa" {
                assert!(
                    !text.chars().any(|c| c.is_ascii_digit()),
                    "[{be}] Persian digits: {text}"
                );
            }
            assert!(!page.text.contains('⟦'), "[{be}] {lang}: untranslated");
        }
        app.stop().await;
    }
}

async fn sign_in_from(
    app: &TestApp,
    from: &reqwest::Client,
    username: &str,
    password: &str,
) -> Resp {
    app.send(
        from.post(app.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password })),
    )
    .await
}

/// Waits after failed sign-ins that no test machine can outrun, so no test races them.
fn long_waits(c: &mut WebConfig) {
    c.app.sign_in_limits.per_account.first_wait_ms = 600_000;
    c.app.sign_in_limits.per_address.first_wait_ms = 600_000;
}

/// One guess at each of 25 usernames, the real member's among them, from `from`; returns
/// how many were answered before the first refusal.
async fn spray(app: &TestApp, from: &reqwest::Client) -> Option<usize> {
    let usernames = (0..25).map(|i| match i {
        10 => "manager".to_string(),
        i => format!("clerk{i:02}"),
    });
    for (i, username) in usernames.enumerate() {
        let r = sign_in_from(app, from, &username, "Tehran1404!").await;
        if r.status == 429 {
            r.problem(429, "too_many_failed_sign_ins_from_address");
            retry_after(&r);
            return Some(i);
        }
        r.problem(401, "bad_credentials");
    }
    None
}

#[tokio::test]
async fn spraying_many_usernames_from_one_address_is_throttled_and_the_member_still_signs_in() {
    let free = SignInLimits::default().per_address.free_failures as usize;
    for app in TestApp::all_with(long_waits).await {
        let be = app.be();
        let sprayer = client_from("127.0.0.3");
        // The free failures, one more that starts the wait, and the next is refused.
        assert_eq!(spray(&app, &sprayer).await, Some(free + 1), "[{be}]");
        // Nothing is checked from there while the wait lasts, not even the right password...
        sign_in_from(&app, &sprayer, "manager", DEMO_PASSWORD)
            .await
            .problem(429, "too_many_failed_sign_ins_from_address");
        // ...but the member signs in from their own address at once.
        let r = sign_in_from(&app, &client_from("127.0.0.4"), "manager", DEMO_PASSWORD).await;
        assert_eq!(r.status, 200, "[{be}] the member elsewhere: {}", r.text);
        app.stop().await;
    }
}

#[tokio::test]
async fn guessing_a_members_password_does_not_stop_them_signing_in_elsewhere() {
    let free = SignInLimits::default().per_account.free_failures;
    for app in TestApp::all_with(long_waits).await {
        let be = app.be();
        let guesser = client_from("127.0.0.5");
        for i in 0..=free {
            sign_in_from(&app, &guesser, "manager", &format!("guess-{i}"))
                .await
                .problem(401, "bad_credentials");
        }
        let r = sign_in_from(&app, &guesser, "manager", "guess-again").await;
        r.problem(429, "too_many_failed_sign_ins");
        retry_after(&r);
        // The member, from another address, is not slowed at all.
        let r = sign_in_from(&app, &client_from("127.0.0.6"), "manager", DEMO_PASSWORD).await;
        assert_eq!(r.status, 200, "[{be}] the member elsewhere: {}", r.text);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_staff_sign_in_page_explains_the_wait_in_its_language() {
    for app in TestApp::all_with(long_waits).await {
        let be = app.be();
        // The page's requests come from the test client's own address.
        assert!(spray(&app, &app.client).await.is_some(), "[{be}] throttled");
        for (lang, says, wait) in [
            ("fa", "تلاش‌های ناموفق از شبکه شما زیاد بود", "دقیقه"),
            (
                "en",
                "Too many failed sign-ins from your network",
                "minutes",
            ),
        ] {
            let page = post_page(
                &app,
                "/login",
                lang,
                "pishkhan_login_csrf",
                &[("username", "manager"), ("password", DEMO_PASSWORD)],
            )
            .await;
            assert_eq!(page.status, 429, "[{be}] {lang}: {}", page.text);
            let text = alert(&page);
            assert!(text.contains(says), "[{be}] {lang}: {text}");
            assert!(text.contains(wait), "[{be}] {lang} says how long: {text}");
            if lang == "fa" {
                assert!(
                    !text.chars().any(|c| c.is_ascii_digit()),
                    "[{be}] Persian digits: {text}"
                );
            }
            assert!(!page.text.contains('⟦'), "[{be}] {lang}: untranslated");
        }
        app.stop().await;
    }
}
