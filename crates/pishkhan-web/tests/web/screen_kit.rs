//! What the screen tests share: a browser viewport of a chosen width, signing in by cookie
//! (the sign-in forms have their own tests), a citizen with a booking, and readings of what
//! the browser really drew.

use reqwest::Method;
use serde_json::{Value, json};

use std::path::Path;

use crate::browser::{Browser, Env};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

/// The phone, a common laptop and a desktop monitor.
pub(crate) const WIDTHS: [u32; 3] = [390, 1366, 1920];

/// The service the screen tests book.
pub(crate) const SERVICE: &str = "PSP-001";

/// A second browser session next to `env`'s, whose pages are `width` CSS pixels wide; its
/// profile lives in `dir`. Checks the width on a page of `app` before handing it over.
pub(crate) async fn browser_at(env: &Env, dir: &Path, width: u32, app: &TestApp) -> Browser {
    let (_, chrome) = crate::browser::browser_binaries().expect("the browser, as env has it");
    let b = Browser::with_width(&env.driver, &chrome, &dir.join(format!("w{width}")), width).await;
    b.goto(&format!("{}/login", app.base)).await;
    assert_eq!(
        b.exec("return window.innerWidth").await,
        json!(width),
        "the viewport's width"
    );
    b
}

/// Sets a cookie for the app's origin (the browser must be on one of its pages).
pub(crate) async fn add_cookie(b: &Browser, name: &str, value: &str) {
    b.cmd(
        Method::POST,
        "/cookie",
        Some(json!({ "cookie": {
            "name": name, "value": value, "path": "/", "httpOnly": true,
        }})),
    )
    .await;
}

/// Signs `username` in through the API and hands the browser the session, in `lang`.
pub(crate) async fn staff_session(b: &Browser, app: &TestApp, username: &str, lang: &str) {
    let token = app.login(username, DEMO_PASSWORD).await;
    b.goto(&format!("{}/lang/{lang}", app.base)).await;
    add_cookie(b, "pishkhan_session", &token).await;
}

/// Hands the browser a citizen's session, in `lang`.
pub(crate) async fn citizen_session(b: &Browser, app: &TestApp, token: &str, lang: &str) {
    b.goto(&format!("{}/lang/{lang}", app.base)).await;
    add_cookie(b, "pishkhan_citizen", token).await;
}

/// A new citizen with one booking at the demo office tomorrow; returns their token.
pub(crate) async fn citizen_with_booking(app: &TestApp, mobile: &str) -> String {
    let national_code = app.fresh_national_code();
    let token = app.citizen_token(&national_code, mobile).await;
    let days = app
        .get(&format!(
            "/api/v1/offices/{DEMO_OFFICE}/availability?service={SERVICE}&from=1405-09-08&days=1"
        ))
        .await
        .json();
    let start = days["days"][0]["slots"][0]["start"]
        .as_str()
        .unwrap_or_else(|| panic!("a slot tomorrow: {days}"))
        .to_string();
    let body = json!({
        "office": DEMO_OFFICE,
        "service": SERVICE,
        "start": start,
        "national_code": national_code,
        "mobile": mobile,
    });
    let done = app
        .send(
            app.client
                .post(app.url("/api/v1/bookings"))
                .bearer_auth(&token)
                .json(&body),
        )
        .await;
    assert_eq!(done.status, 201, "{}", done.text);
    token
}

/// The strings a script returned as an array.
pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Where the browser drew the year and the day of the first `YYYY-MM-DD` date (in either
/// script's digits) under `css`: the left edges of the two, in CSS pixels. Read from the
/// rendered text, so it shows what a person sees whatever the markup.
pub(crate) async fn year_and_day_x(b: &Browser, css: &str) -> Option<(f64, f64)> {
    let got = b
        .exec(&format!(
            r#"
            const root = document.querySelector({css:?});
            if (!root) return null;
            const re = /[0-9۰-۹]{{4}}-[0-9۰-۹]{{2}}-[0-9۰-۹]{{2}}/;
            const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let n;
            while ((n = walk.nextNode())) {{
              const m = re.exec(n.textContent);
              if (!m) continue;
              const left = (i, len) => {{
                const r = document.createRange();
                r.setStart(n, i);
                r.setEnd(n, i + len);
                return r.getBoundingClientRect().left;
              }};
              return [left(m.index, 4), left(m.index + 8, 2)];
            }}
            return null;
            "#
        ))
        .await;
    let a = got.as_array()?;
    Some((a[0].as_f64()?, a[1].as_f64()?))
}

/// The visible text of `css` (empty when nothing matches).
pub(crate) async fn visible_text(b: &Browser, css: &str) -> String {
    b.exec(&format!(
        "const e = document.querySelector({css:?}); return e ? e.innerText : '';"
    ))
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

pub(crate) fn has_latin_letter(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_alphabetic())
}

pub(crate) fn has_persian_letter(s: &str) -> bool {
    s.chars()
        .any(|c| ('\u{0621}'..='\u{064A}').contains(&c) || "پچژکگی".contains(c))
}
