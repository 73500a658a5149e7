//! In headless Chromium, at a phone's and a laptop's width, in Persian and in English: the
//! operator gives a walk-in ticket by typing a service's Persian name, prints the thermal
//! ticket, calls, recalls, transfers the person to counter 2, which calls them first, marks a
//! no-show only after confirming, and pauses and resumes counter 2.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, ELEMENT_KEY, Env, POLL_INTERVAL};
use crate::screen_kit::{has_latin_letter, has_persian_letter};
use crate::support::{DEMO_PASSWORD, TestApp};

/// The service's Persian name as an Arabic keyboard types it (Arabic yeh), with extra spaces.
const TYPED: &str = "صدور  گذرنامه عادي";

/// How long a step may take. Generous: the test machine may be busy, and a page that loads
/// slowly is not a failure of the counter.
const PATIENCE: Duration = Duration::from_secs(90);

/// Runs `script`; `None` while the browser is busy loading a page.
async fn try_exec(b: &Browser, script: &str) -> Option<Value> {
    b.try_cmd(
        Method::POST,
        "/execute/sync",
        Some(json!({ "script": script, "args": [] })),
    )
    .await
    .ok()
}

/// Runs `script`, waiting out a page that is still loading.
async fn exec(b: &Browser, script: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(v) = try_exec(b, script).await {
            return v;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("the browser never ran {script}");
}

/// Opens `url`; a load slower than the driver's timeout is waited out by the next step.
async fn visit(b: &Browser, url: &str) {
    let _ = b
        .try_cmd(Method::POST, "/url", Some(json!({ "url": url })))
        .await;
}

/// Signs the operator in through the API and hands the browser the session, in `lang`.
async fn operator_session(b: &Browser, app: &TestApp, lang: &str) {
    let token = app.login("operator", DEMO_PASSWORD).await;
    visit(b, &format!("{}/lang/{lang}", app.base)).await;
    let cookie = json!({ "cookie": {
        "name": "pishkhan_session", "value": token, "path": "/", "httpOnly": true,
    }});
    let deadline = Instant::now() + PATIENCE;
    while b
        .try_cmd(Method::POST, "/cookie", Some(cookie.clone()))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the session cookie was never set"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The first element matching `css`, if the page has one now.
async fn element(b: &Browser, css: &str) -> Option<String> {
    let found = b
        .try_cmd(
            Method::POST,
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .ok()?;
    found.as_array()?.first()?[ELEMENT_KEY]
        .as_str()
        .map(str::to_string)
}

/// Clicks the first element matching `css`, finding it again if the live panel was redrawn
/// between finding and clicking. A click whose page is slow to load counts as done: clicking
/// again would submit twice.
async fn press(b: &Browser, css: &str) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(id) = element(b, css).await {
            let _ = b
                .try_cmd(
                    Method::POST,
                    "/execute/sync",
                    Some(json!({
                        "script": "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});",
                        "args": [{ ELEMENT_KEY: id }],
                    })),
                )
                .await;
            match b
                .try_cmd(
                    Method::POST,
                    &format!("/element/{id}/click"),
                    Some(json!({})),
                )
                .await
            {
                Ok(_) => return,
                Err(e) if e["error"] == "timeout" => return,
                Err(_) => {}
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("could not click {css}");
}

/// Types `text` into the field `css`.
async fn type_into(b: &Browser, css: &str, text: &str) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(id) = element(b, css).await {
            let typed = b
                .try_cmd(
                    Method::POST,
                    &format!("/element/{id}/value"),
                    Some(json!({ "text": text })),
                )
                .await;
            if typed.is_ok() {
                return;
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("could not type into {css}");
}

/// Waits until the browser's address satisfies `pred`.
async fn wait_url(b: &Browser, what: &str, pred: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Some(v) = try_exec(b, "return location.href;").await {
            if v.as_str().is_some_and(&pred) {
                return;
            }
            last = v;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("{what}: the browser stayed at {last}");
}

/// Presses a button that posts a desk action, and waits for the console to come back with
/// `done=<done>` in its address. A click lost because the live panel was redrawn at that very
/// instant (the page stayed, loaded, with the button still on it) is pressed again; a click
/// whose page is still loading is not, as that would post twice.
async fn submit(b: &Browser, css: &str, what: &str, done: &str) {
    let want = format!("done={done}");
    let deadline = Instant::now() + PATIENCE;
    let before = exec(b, "return location.href;").await;
    loop {
        press(b, css).await;
        let attempt = Instant::now() + Duration::from_secs(10);
        while Instant::now() < attempt {
            if let Some(url) = try_exec(b, "return location.href;").await
                && url.as_str().is_some_and(|u| u.contains(&want))
            {
                return;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        let script = format!(
            "return [document.readyState, location.href, document.querySelector({css:?}) !== null];"
        );
        let lost = try_exec(b, &script)
            .await
            .is_some_and(|v| v[0] == "complete" && v[1] == before && v[2] == true);
        assert!(
            Instant::now() < deadline,
            "{what}: never came back with {want}"
        );
        if !lost {
            wait_url(b, what, |u| u.contains(&want)).await;
            return;
        }
    }
}

/// The text of `css` once it is drawn inside the viewport (scrolled to) with a non-zero box
/// and `pred` holds for it.
async fn shown(b: &Browser, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let mut last = json!(null);
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let got = try_exec(
            b,
            &format!(
                r#"const e = document.querySelector({css:?});
                if (!e) return null;
                e.scrollIntoView({{block: 'center', behavior: 'instant'}});
                const r = e.getBoundingClientRect();
                const inside = r.width > 0 && r.height > 0 && r.left >= -1 && r.top >= -1
                  && r.right <= window.innerWidth + 1 && r.bottom <= window.innerHeight + 1;
                return inside ? (e.innerText ?? e.textContent ?? '') : '(not drawn in the viewport)';"#
            ),
        )
        .await;
        if let Some(v) = got {
            if let Some(text) = v.as_str()
                && text != "(not drawn in the viewport)"
                && pred(text)
            {
                return text.to_string();
            }
            last = v;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("{what}: {css} was never shown as expected; last {last}");
}

async fn absent(b: &Browser, css: &str, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let script = format!("return document.querySelector({css:?}) === null;");
        if try_exec(b, &script).await == Some(json!(true)) {
            return;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("{what}: {css} is still on the page");
}

/// Whether `text` is in the page's language: Persian letters and digits on a Persian page,
/// none on an English one.
fn in_language(text: &str, lang: &str) -> bool {
    let persian_digit = text.chars().any(|c| ('۰'..='۹').contains(&c));
    let ascii_digit = text.chars().any(|c| c.is_ascii_digit());
    match lang {
        "fa" => has_persian_letter(text) && !ascii_digit,
        _ => has_latin_letter(text) && !has_persian_letter(text) && !persian_digit,
    }
}

/// The ticket in the page's digits.
fn in_digits(ticket: &str, lang: &str) -> String {
    match lang {
        "fa" => ticket
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32('۰' as u32 + d).unwrap(),
                None => c,
            })
            .collect(),
        _ => ticket.to_string(),
    }
}

async fn walk_the_counter(b: &Browser, app: &TestApp, lang: &str, width: u32) {
    let base = &app.base;
    let at = |s: &str| format!("[{lang} {width}px] {s}");
    operator_session(b, app, lang).await;

    b.step(&at("walk-in: find the service by typing its Persian name"));
    visit(b, &format!("{base}/console?counter=1")).await;
    let title = shown(b, "h1", &at("title"), |t| !t.is_empty()).await;
    assert!(in_language(&title, lang), "{}: {title}", at("title"));
    type_into(b, "#service-search", TYPED).await;
    let picked = exec(
        b,
        "const s = document.getElementById('walk-in-service');
             const o = s.options[s.selectedIndex];
             const hidden = Array.prototype.filter.call(s.options, x => x.hidden).length;
             return [o.value, o.dataset.search, o.hidden, hidden];",
    )
    .await;
    assert_eq!(picked[0], "PSP-001", "{}: {picked}", at("the first match"));
    assert_eq!(picked[2], false, "{}", at("the chosen service is shown"));
    assert!(
        picked[3].as_u64().unwrap() > 0,
        "{}: typing filtered the list",
        at("filter")
    );
    if element(b, "#outside-hours-confirm").await.is_some() {
        let warning = shown(b, "#hours-warning", &at("hours warning"), |_| true).await;
        assert!(in_language(&warning, lang), "{warning}");
        press(b, "#outside-hours-confirm").await;
    }
    submit(
        b,
        "#walk-in-form button[type=submit]",
        &at("walk-in"),
        "walk-in",
    )
    .await;
    let notice = shown(b, "#console-notice", &at("walk-in issued"), |t| {
        t.contains("W-")
    })
    .await;
    let href = exec(
        b,
        "const a = document.getElementById('print-ticket'); return a ? a.getAttribute('href') : '';",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string();
    let ticket = href
        .split('/')
        .find(|p| p.starts_with("W-"))
        .expect("the ticket in the print link")
        .to_string();
    let shown_ticket = in_digits(&ticket, lang);
    assert!(notice.contains(&shown_ticket), "{}: {notice}", at("notice"));

    b.step(&at("print: the 80 mm ticket"));
    press(b, "#print-ticket").await;
    let number = shown(b, "#thermal-number", &at("ticket number"), |t| {
        t.contains(&shown_ticket)
    })
    .await;
    assert_eq!(number.trim(), shown_ticket);
    let service = shown(b, "#thermal-service", &at("ticket service"), |_| true).await;
    assert!(in_language(&service, lang), "{}: {service}", at("service"));
    shown(b, "#thermal-issued", &at("issued"), |t| !t.is_empty()).await;
    shown(b, "#thermal-ahead", &at("people ahead"), |t| !t.is_empty()).await;
    shown(b, "#thermal-qr svg", &at("qr"), |_| true).await;
    let layout = exec(
        b,
        r#"const t = document.getElementById('thermal-ticket').getBoundingClientRect();
            const n = document.getElementById('thermal-number');
            let page = null;
            for (const sheet of document.styleSheets) {
              for (const rule of sheet.cssRules) {
                if (rule.media && rule.media.mediaText === 'print') {
                  for (const inner of rule.cssRules) {
                    if (inner.type === CSSRule.PAGE_RULE) page = inner.cssText;
                  }
                }
              }
            }
            return [t.width, parseFloat(getComputedStyle(n).fontSize), page, t.height];"#,
    )
    .await;
    let width_px = layout[0].as_f64().unwrap();
    // 80 mm is 302 CSS pixels.
    assert!(
        (295.0..=310.0).contains(&width_px),
        "{}: {layout}",
        at("80 mm wide")
    );
    assert!(
        layout[1].as_f64().unwrap() >= 40.0,
        "{}: a big number {layout}",
        at("number size")
    );
    let page_rule = layout[2].as_str().unwrap_or_default().replace(' ', "");
    assert!(
        page_rule.contains("size:80mm200mm") && page_rule.contains("margin:0"),
        "{}: {layout}",
        at("@page rule")
    );
    // The whole ticket fits on one 200 mm page (756 CSS pixels).
    assert!(
        layout[3].as_f64().unwrap() < 756.0,
        "{}: {layout}",
        at("one page")
    );
    press(b, "#ticket-back").await;

    b.step(&at("call next: the button is gone while serving"));
    submit(b, "#call-next", &at("call next"), "call").await;
    shown(b, "#serving-ticket", &at("serving"), |t| {
        t.contains(&shown_ticket)
    })
    .await;
    absent(b, "#call-next", &at("no call-next while serving")).await;

    b.step(&at("recall"));
    submit(b, "#recall", &at("recalled"), "recall").await;
    let recalled = shown(b, "#console-notice", &at("recalled"), |t| {
        t.contains(&shown_ticket)
    })
    .await;
    assert!(in_language(&recalled, lang), "{recalled}");
    shown(b, "#serving-ticket", &at("still serving"), |t| {
        t.contains(&shown_ticket)
    })
    .await;

    b.step(&at("transfer to counter 2"));
    shown(b, "#transfer-to", &at("transfer select"), |_| true).await;
    exec(
        b,
        "const s = document.getElementById('transfer-to'); s.value = '2';
         s.dispatchEvent(new Event('change', {bubbles: true}));",
    )
    .await;
    submit(b, "#transfer", &at("transferred"), "transfer").await;
    let moved = shown(b, "#console-notice", &at("transferred"), |t| {
        t.contains(&shown_ticket)
    })
    .await;
    assert!(in_language(&moved, lang), "{moved}");
    shown(b, "#call-next", &at("counter 1 free again"), |_| true).await;
    shown(
        b,
        "#line [data-reserved-for='2']",
        &at("reserved for 2"),
        |_| true,
    )
    .await;
    let moved_words = match lang {
        "fa" => "از باجه ۱ به باجه ۲",
        _ => "from Counter 1 to Counter 2",
    };
    let history = shown(b, "#moves", &at("history"), |t| {
        t.contains(&shown_ticket) && t.contains(moved_words)
    })
    .await;
    assert!(in_language(&history, lang), "{}: {history}", at("history"));

    b.step(&at("counter 2 calls the transferred person first"));
    visit(b, &format!("{base}/console?counter=2")).await;
    submit(b, "#call-next", &at("call next"), "call").await;
    shown(b, "#serving-ticket", &at("counter 2 serving"), |t| {
        t.contains(&shown_ticket)
    })
    .await;
    absent(b, "#call-next", &at("no call-next at counter 2")).await;

    b.step(&at("no-show asks first"));
    press(b, "#no-show").await;
    let question = shown(b, ".confirm-inline", &at("the question"), |_| true).await;
    assert!(
        in_language(&question, lang),
        "{}: {question}",
        at("question")
    );
    press(b, ".confirm-inline .confirm-no").await;
    absent(b, ".confirm-inline", &at("the question closed")).await;
    shown(b, "#serving-ticket", &at("nothing happened"), |t| {
        t.contains(&shown_ticket)
    })
    .await;
    press(b, "#no-show").await;
    submit(b, ".confirm-inline .confirm-yes", &at("no-show"), "no-show").await;
    let gone = shown(b, "#console-notice", &at("no-show recorded"), |t| {
        !t.contains(&shown_ticket) && !t.is_empty()
    })
    .await;
    assert!(in_language(&gone, lang), "{gone}");
    shown(b, "#call-next", &at("counter 2 free"), |_| true).await;

    b.step(&at("pause and resume counter 2"));
    submit(b, "#pause", &at("paused"), "pause").await;
    let banner = shown(b, "#paused-banner", &at("paused"), |_| true).await;
    assert!(in_language(&banner, lang), "{banner}");
    absent(b, "#call-next", &at("no call-next while paused")).await;
    submit(b, "#resume", &at("resumed"), "resume").await;
    shown(b, "#call-next", &at("calling again"), |_| true).await;
    absent(b, "#paused-banner", &at("the banner went")).await;
}

#[tokio::test]
async fn browser_operator_works_the_counter_at_two_widths_in_two_languages() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let work = tempfile::tempdir().unwrap();
    for width in [390, 1366] {
        for lang in ["fa", "en"] {
            let dir = work.path().join(lang);
            let (_, chrome) = crate::browser::browser_binaries().expect("the browser");
            let b =
                Browser::with_width(&env.driver, &chrome, &dir.join(format!("w{width}")), width)
                    .await;
            visit(&b, &format!("{}/login", app.base)).await;
            assert_eq!(
                exec(&b, "return window.innerWidth").await,
                json!(width),
                "the viewport's width"
            );
            walk_the_counter(&b, &app, lang, width).await;
            b.quit().await;
        }
    }
    env.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn without_script_a_no_show_is_confirmed_on_its_own_page() {
    let app = TestApp::sqlite().await;
    let operator = app.login("operator", crate::support::DEMO_PASSWORD).await;
    let base = format!("/api/v1/offices/{}/queue", crate::support::DEMO_OFFICE);
    let post = |path: String, body: serde_json::Value| {
        app.send(
            app.client
                .post(app.url(&path))
                .bearer_auth(&operator)
                .json(&body),
        )
    };
    let walk = post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
    let ticket = walk.json()["ticket"].as_str().unwrap().to_string();
    post(format!("{base}/call-next"), json!({ "counter": 1 })).await;
    let page = app
        .send(
            app.client
                .get(app.url(&format!(
                    "/console/tickets/{ticket}/no-show?counter=1&lang=en"
                )))
                .bearer_auth(&operator),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Mark this person as a no-show?"));
    assert!(
        page.text
            .contains(&format!(r#"action="/console/tickets/{ticket}/no-show""#))
    );
    assert!(page.text.contains(r#"id="confirm-no""#));
    let started = std::time::Instant::now();
    let console = app
        .send(
            app.client
                .get(app.url("/console?counter=1&lang=en"))
                .bearer_auth(&operator),
        )
        .await;
    eprintln!("console page in {:?}", started.elapsed());
    assert_eq!(console.status, 200, "{}", console.text);
    // Without script the no-show button opens the question, it does not post.
    assert!(console.text.contains(&format!(
        r#"method="get" action="/console/tickets/{ticket}/no-show""#
    )));
    // The question alone changed nothing.
    let board = app.get(&base).await.json();
    assert_eq!(
        board["now_serving"][0]["ticket"],
        ticket.as_str(),
        "{board}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_desk_shows_whose_booking_checked_in_and_warns_outside_hours() {
    let app = TestApp::sqlite().await;
    let operator = app.login("operator", crate::support::DEMO_PASSWORD).await;
    let form = |path: &str, fields: &[(&str, &str)]| {
        app.send(
            app.client
                .post(app.url(path))
                .bearer_auth(&operator)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    fields
                        .iter()
                        .map(|(k, v)| format!("{k}={}", crate::support::enc(v)))
                        .collect::<Vec<_>>()
                        .join("&"),
                ),
        )
    };
    let page = |path: String| app.send(app.client.get(app.url(&path)).bearer_auth(&operator));

    let citizen = app.fresh_national_code();
    let code = crate::queue::book_today(&app, &citizen).await;
    let done = form(
        "/console/check-in?lang=en",
        &[("counter", "1"), ("code", code.as_str())],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.text);
    let to = done
        .header("location")
        .expect("back to the console")
        .to_string();
    assert!(to.contains("done=check-in"), "{to}");
    let card = page(format!("{to}&lang=en")).await;
    assert_eq!(card.status, 200, "{}", card.text);
    let masked = format!("••••••{}", &citizen[6..]);
    assert!(card.text.contains(r#"id="checked-in""#), "{}", card.text);
    assert!(card.text.contains(&masked), "the masked national code");
    assert!(
        !card.text.contains(&citizen),
        "the whole national code is not shown"
    );
    assert!(card.text.contains("Ordinary passport: first issue"));
    assert!(card.text.contains("13:30–14:00"), "the slot");
    assert!(card.text.contains(&code), "the tracking code");

    // At 13:30 on a Saturday the office is open: no warning.
    let open = page("/console?counter=1&lang=en".into()).await;
    assert!(!open.text.contains(r#"id="hours-warning""#), "open now");
    // A closure today closes it, hours or not.
    let manager = app.login("manager", crate::support::DEMO_PASSWORD).await;
    let closure = format!(
        "/api/v1/offices/{}/closures/1405-09-07",
        crate::support::DEMO_OFFICE
    );
    let closed = app
        .put_json(
            &closure,
            Some(&manager),
            &serde_json::json!({ "name_fa": "تعمیرات", "name_en": "Repairs" }),
        )
        .await;
    assert!(closed.status < 300, "{}", closed.text);
    let console = page("/console?counter=1&lang=en".into()).await;
    assert!(
        console.text.contains(r#"id="hours-warning""#),
        "closed today"
    );
    let reopened = app
        .send(app.client.delete(app.url(&closure)).bearer_auth(&manager))
        .await;
    assert!(reopened.status < 300, "{}", reopened.text);

    // Late in the evening the office is closed: the desk warns, and gives a ticket only when
    // the operator confirms.
    app.clock.advance(time::Duration::hours(9));
    let console = page("/console?counter=1&lang=en".into()).await;
    assert!(
        console.text.contains(r#"id="hours-warning""#),
        "the warning"
    );
    let refused = form(
        "/console/walk-in?lang=en",
        &[("counter", "1"), ("service", "PSP-001")],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("outside the office"),
        "{}",
        refused.text
    );
    let given = form(
        "/console/walk-in?lang=en",
        &[
            ("counter", "1"),
            ("service", "PSP-001"),
            ("outside_hours", "confirm"),
        ],
    )
    .await;
    assert_eq!(given.status, 303, "{}", given.text);
    assert!(given.header("location").unwrap().contains("done=walk-in"));
    app.stop().await;
}
