//! In headless Chromium, at a phone's and a laptop's width, in Persian and in English: the
//! operator gives a walk-in ticket by typing a service's Persian name, prints the thermal
//! ticket, calls, recalls, transfers the person to counter 2, which calls them first, marks a
//! no-show only after confirming, and pauses and resumes counter 2.

use reqwest::Method;
use serde_json::json;

use crate::browser::{Browser, ELEMENT_KEY, Env, POLL_INTERVAL, POLL_TRIES};
use crate::screen_kit::{browser_at, has_latin_letter, has_persian_letter, staff_session};
use crate::support::TestApp;

/// The service's Persian name as an Arabic keyboard types it (Arabic yeh), with extra spaces.
const TYPED: &str = "صدور  گذرنامه عادي";

/// Clicks the first element matching `css`, finding it again if the live panel was redrawn
/// between finding and clicking.
async fn press(b: &Browser, css: &str) {
    for _ in 0..POLL_TRIES {
        if let Some(el) = b.find_all(css).await.into_iter().next() {
            let _ = b
                .try_cmd(
                    Method::POST,
                    "/execute/sync",
                    Some(json!({
                        "script": "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});",
                        "args": [{ ELEMENT_KEY: el.0 }],
                    })),
                )
                .await;
            let clicked = b
                .try_cmd(
                    Method::POST,
                    &format!("/element/{}/click", el.0),
                    Some(json!({})),
                )
                .await;
            if clicked.is_ok() {
                return;
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("could not click {css} on {}", b.url().await);
}

/// The text of `css` once it is drawn inside the viewport (scrolled to) with a non-zero box
/// and `pred` holds for it.
async fn shown(b: &Browser, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let mut last = json!(null);
    for _ in 0..POLL_TRIES {
        last = b
            .exec(&format!(
                r#"const e = document.querySelector({css:?});
                if (!e) return null;
                e.scrollIntoView({{block: 'center', behavior: 'instant'}});
                const r = e.getBoundingClientRect();
                const inside = r.width > 0 && r.height > 0 && r.left >= -1 && r.top >= -1
                  && r.right <= window.innerWidth + 1 && r.bottom <= window.innerHeight + 1;
                return inside ? (e.innerText ?? e.textContent ?? '') : '(not drawn in the viewport)';"#
            ))
            .await;
        if let Some(text) = last.as_str()
            && text != "(not drawn in the viewport)"
            && pred(text)
        {
            return text.to_string();
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("{what}: {css} was never shown as expected; last {last}");
}

async fn absent(b: &Browser, css: &str, what: &str) {
    for _ in 0..POLL_TRIES {
        if b.find_all(css).await.is_empty() {
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
    staff_session(b, app, "operator", lang).await;

    b.step(&at("walk-in: find the service by typing its Persian name"));
    b.goto(&format!("{base}/console?counter=1")).await;
    let title = shown(b, "h1", &at("title"), |t| !t.is_empty()).await;
    assert!(in_language(&title, lang), "{}: {title}", at("title"));
    b.type_into("#service-search", TYPED).await;
    let picked = b
        .exec(
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
    if !b.find_all("#outside-hours-confirm").await.is_empty() {
        let warning = shown(b, "#hours-warning", &at("hours warning"), |_| true).await;
        assert!(in_language(&warning, lang), "{warning}");
        press(b, "#outside-hours-confirm").await;
    }
    press(b, "#walk-in-form button[type=submit]").await;
    let notice = shown(b, "#console-notice", &at("walk-in issued"), |t| {
        t.contains("W-")
    })
    .await;
    let href = b
        .attr(&b.find("#print-ticket").await, "href")
        .await
        .expect("a print link");
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
    let layout = b
        .exec(
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
    press(b, "#call-next").await;
    shown(b, "#serving-ticket", &at("serving"), |t| {
        t.contains(&shown_ticket)
    })
    .await;
    absent(b, "#call-next", &at("no call-next while serving")).await;

    b.step(&at("recall"));
    press(b, "#recall").await;
    b.wait_for_url(&at("recalled"), |u| u.contains("done=recall"))
        .await;
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
    b.exec(
        "const s = document.getElementById('transfer-to'); s.value = '2';
         s.dispatchEvent(new Event('change', {bubbles: true}));",
    )
    .await;
    press(b, "#transfer").await;
    b.wait_for_url(&at("transferred"), |u| u.contains("done=transfer"))
        .await;
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
    let history = shown(b, "#moves", &at("history"), |t| t.contains(&shown_ticket)).await;
    assert!(in_language(&history, lang), "{}: {history}", at("history"));

    b.step(&at("counter 2 calls the transferred person first"));
    b.goto(&format!("{base}/console?counter=2")).await;
    press(b, "#call-next").await;
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
    press(b, ".confirm-inline .confirm-yes").await;
    b.wait_for_url(&at("no-show"), |u| u.contains("done=no-show"))
        .await;
    let gone = shown(b, "#console-notice", &at("no-show recorded"), |t| {
        !t.contains(&shown_ticket) && !t.is_empty()
    })
    .await;
    assert!(in_language(&gone, lang), "{gone}");
    shown(b, "#call-next", &at("counter 2 free"), |_| true).await;

    b.step(&at("pause and resume counter 2"));
    press(b, "#pause").await;
    b.wait_for_url(&at("paused"), |u| u.contains("done=pause"))
        .await;
    let banner = shown(b, "#paused-banner", &at("paused"), |_| true).await;
    assert!(in_language(&banner, lang), "{banner}");
    absent(b, "#call-next", &at("no call-next while paused")).await;
    press(b, "#resume").await;
    b.wait_for_url(&at("resumed"), |u| u.contains("done=resume"))
        .await;
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
            let b = browser_at(&env, &dir, width, &app).await;
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
