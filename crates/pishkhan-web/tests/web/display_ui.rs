//! The office TV board, in headless Chromium at a 1080p screen, a laptop and a phone, in
//! Persian and English: an operator calls tickets through the API and the board shows the
//! ticket and its counter in large type, announces each call with a banner that goes away
//! again, lists the latest calls and who waits for which service, and keeps the Jalali date
//! and a clock. Plain HTTP checks the board without JavaScript, the stream's new fields and
//! the chime.

use std::path::Path;
use std::time::Duration;

use pishkhan_app::Clock;
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::model::OfficeCode;
use pishkhan_queue::{CounterId, Event, Ticket};
use pishkhan_store::{AuditContext, QueueAppend};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, Env, POLL_INTERVAL, has_ascii_digit, has_persian_digit};
use crate::screen_a11y::axe_serious_violations;
use crate::screen_kit::browser_at;
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp, fixed_now};

/// Two services people wait for at the demo office.
const PASSPORT: &str = "PSP-001";
const ID_CARD: &str = "NID-001";

/// A banner stays 8 s; waiting for it to go is bounded well past that.
const BANNER_GONE: Duration = Duration::from_secs(20);

fn board_path() -> String {
    format!("/offices/{DEMO_OFFICE}/display")
}

/// The operator's API calls, with the clock moved on before each, as time passes at a desk.
struct Desk<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Desk<'a> {
    async fn open(app: &'a TestApp) -> Desk<'a> {
        let token = app.login("operator", DEMO_PASSWORD).await;
        Desk { app, token }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.app.clock.advance(time::Duration::seconds(20));
        let resp = self
            .app
            .post_json(
                &format!("/api/v1/offices/{DEMO_OFFICE}/queue/{path}"),
                Some(&self.token),
                &body,
            )
            .await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.text);
        resp.json()
    }

    async fn walk_in(&self, service: &str) -> String {
        self.post("walk-in", json!({ "service": service })).await["ticket"]
            .as_str()
            .expect("a ticket")
            .to_string()
    }

    async fn complete(&self, ticket: &str) {
        self.post(&format!("tickets/{ticket}/complete"), json!({}))
            .await;
    }

    async fn call(&self, counter: u16) -> String {
        self.post("call-next", json!({ "counter": counter })).await["ticket"]
            .as_str()
            .expect("a called ticket")
            .to_string()
    }

    /// The counter calls its ticket again. No use case offers a recall yet, so the event goes
    /// to the store the way the queue runner writes it, and a walk-in through the API makes
    /// the live boards look again.
    async fn recall(&self, counter: u16, service_for_the_nudge: &str) {
        self.app.clock.advance(time::Duration::seconds(20));
        let office = OfficeCode::parse(DEMO_OFFICE).unwrap();
        let day = pishkhan_domain::tehran::jalali_today(self.app.clock.now());
        let stored = self.app.store.queue_events(office, day).await.unwrap();
        let events: Vec<Event> = stored
            .iter()
            .map(|s| serde_json::from_str(s).unwrap())
            .collect();
        let ticket = events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::Called {
                    ticket, counter: c, ..
                } if *c == CounterId(counter) => Some(*ticket),
                _ => None,
            })
            .expect("the counter called someone");
        let recall = Event::Recalled {
            ticket,
            counter: CounterId(counter),
            at: self.app.clock.now(),
        };
        let permit = authorize(
            &Principal::System {
                reason: "test recall",
            },
            Action::OperateQueue { office },
        )
        .unwrap();
        self.app
            .store
            .append_queue_events(
                &permit,
                &QueueAppend {
                    office,
                    day,
                    first_seq: stored.len() as u64,
                    events: vec![serde_json::to_string(&recall).unwrap()],
                    effects: Default::default(),
                },
                &AuditContext {
                    now_ms: pishkhan_domain::schedule::unix_ms(self.app.clock.now()),
                    ip: None,
                    request_id: None,
                },
            )
            .await
            .unwrap();
        self.walk_in(service_for_the_nudge).await;
    }
}

/// A service's name in `lang`, as the catalogue gives it.
async fn service_name(app: &TestApp, code: &str, lang: &str) -> String {
    let s = app.get(&format!("/api/v1/services/{code}")).await.json();
    s[format!("title_{lang}")]
        .as_str()
        .expect("a title")
        .to_string()
}

/// Digits in the script of `lang`.
fn digits(s: &str, lang: &str) -> String {
    if lang == "fa" {
        s.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32(0x06F0 + d).unwrap(),
                None => c,
            })
            .collect()
    } else {
        s.to_string()
    }
}

/// What the browser drew for `css`: its text, box, font size, and whether it is shown and
/// inside the viewport.
async fn seen(b: &Browser, css: &str) -> Value {
    b.exec(&format!(
        r#"
        const e = document.querySelector({css:?});
        if (!e) return null;
        const r = e.getBoundingClientRect();
        const s = getComputedStyle(e);
        let shown = r.width > 0 && r.height > 0 && s.visibility !== 'hidden';
        // Inside the viewport, and not cut off by an ancestor that clips its overflow.
        let inside = r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth + 0.5
                     && r.bottom <= window.innerHeight + 0.5;
        for (let p = e; p; p = p.parentElement) {{
          const ps = getComputedStyle(p);
          if (p.hidden || ps.display === 'none') shown = false;
          if (p !== e && (ps.overflowX !== 'visible' || ps.overflowY !== 'visible')) {{
            const c = p.getBoundingClientRect();
            if (r.left < c.left - 0.5 || r.top < c.top - 0.5 || r.right > c.right + 0.5
                || r.bottom > c.bottom + 0.5) inside = false;
          }}
        }}
        return {{
          text: e.innerText.trim(),
          shown,
          inside,
          font: parseFloat(s.fontSize),
          w: r.width, h: r.height,
        }};
        "#
    ))
    .await
}

/// Polls until `pred` holds for what the browser drew for `css`; bounded by `limit`.
async fn wait_seen(
    b: &Browser,
    css: &str,
    what: &str,
    limit: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let got = seen(b, css).await;
        if pred(&got) {
            return got;
        }
        if std::time::Instant::now() > deadline {
            let shot = format!("/tmp/pishkhan-board-{}.png", what.replace(' ', "-"));
            b.screenshot(&shot).await;
            panic!("{what}: {css} never matched; last {got} (screenshot {shot})");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn text(v: &Value) -> &str {
    v["text"].as_str().unwrap_or_default()
}

fn shown_inside(v: &Value) -> bool {
    v["shown"] == true && v["inside"] == true
}

/// No sideways scroll; on the 1080p screen no scroll at all.
async fn assert_fits(b: &Browser, width: u32, full_screen: bool) {
    let m = b
        .exec(
            "const d = document.documentElement; \
             return [d.scrollWidth, window.innerWidth, d.scrollHeight, window.innerHeight];",
        )
        .await;
    assert_eq!(m[1], json!(width), "the viewport's width");
    assert!(
        m[0].as_f64() <= m[1].as_f64(),
        "sideways scroll at {width}px: {m}"
    );
    if full_screen {
        assert!(
            m[2].as_f64() <= m[3].as_f64(),
            "the board scrolls at {width}x1080: {m}"
        );
    }
}

/// A browser whose viewport is 1920x1080, a TV's.
async fn tv_browser(env: &Env, dir: &Path, app: &TestApp) -> Browser {
    let b = browser_at(env, dir, 1920, app).await;
    for _ in 0..3 {
        let inner = b
            .exec("return [window.innerHeight, window.outerHeight]")
            .await;
        let (inner, outer) = (inner[0].as_i64().unwrap(), inner[1].as_i64().unwrap());
        if inner == 1080 {
            return b;
        }
        b.cmd(
            Method::POST,
            "/window/rect",
            Some(json!({ "width": 1920, "height": outer + 1080 - inner })),
        )
        .await;
    }
    assert_eq!(
        b.exec("return [window.innerWidth, window.innerHeight]")
            .await,
        json!([1920, 1080]),
        "a 1080p viewport"
    );
    b
}

/// The banner shows `ticket` at `counter`, large and on screen, then goes away.
async fn banner_comes_and_goes(b: &Browser, lang: &str, ticket: &str, counter: u16, big: bool) {
    let want = digits(ticket, lang);
    let shown = wait_seen(
        b,
        "#board-announce-ticket",
        "the banner",
        BANNER_GONE,
        |v| shown_inside(v) && text(v) == want,
    )
    .await;
    let at = seen(b, "#board-announce-counter").await;
    assert_eq!(text(&at), digits(&counter.to_string(), lang), "{at}");
    assert!(shown_inside(&at), "the banner's counter on screen: {at}");
    let go = seen(b, ".tv-announce-go").await;
    let expected_go = if lang == "fa" {
        "لطفاً به این باجه مراجعه کنید"
    } else {
        "Please go to this counter"
    };
    assert_eq!(text(&go), expected_go);
    if big {
        assert!(
            shown["font"].as_f64().unwrap() >= 200.0,
            "the banner's ticket is huge on a TV: {shown}"
        );
    }
    // The banner covers the board: the middle of the screen is the banner.
    let on_top = b
        .exec(
            "const e = document.elementFromPoint(innerWidth / 2, innerHeight / 2); \
             return !!(e && e.closest('#board-announce'));",
        )
        .await;
    assert_eq!(on_top, true, "the banner is on top");
    let width = b.exec("return window.innerWidth").await;
    b.screenshot(&format!("/tmp/pishkhan-board-banner-{width}-{lang}.png"))
        .await;
    wait_seen(b, "#board-announce", "the banner to go", BANNER_GONE, |v| {
        v["shown"] == false
    })
    .await;
}

/// The newest call on the board itself: ticket and counter visible, in large type on a TV,
/// and not under anything.
async fn latest_is(b: &Browser, lang: &str, ticket: &str, counter: u16, min_font: f64) {
    let want = digits(ticket, lang);
    let t = wait_seen(
        b,
        "#board-latest-ticket",
        "the newest call",
        BANNER_GONE,
        |v| shown_inside(v) && text(v) == want,
    )
    .await;
    let c = seen(b, "#board-latest-counter").await;
    assert!(shown_inside(&c), "the counter on screen: {c}");
    assert_eq!(text(&c), digits(&counter.to_string(), lang));
    assert!(
        t["font"].as_f64().unwrap() >= min_font,
        "the ticket's type: {t} (want {min_font}px or more)"
    );
    assert!(
        c["font"].as_f64().unwrap() >= min_font / 2.0,
        "the counter's type: {c}"
    );
    let uncovered = b
        .exec(
            "const e = document.getElementById('board-latest-ticket'); \
             const r = e.getBoundingClientRect(); \
             const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
             return !!hit && e.contains(hit);",
        )
        .await;
    assert_eq!(uncovered, true, "nothing covers the newest call");
}

/// The rows of a list, as drawn.
async fn rows(b: &Browser, css: &str) -> Vec<String> {
    crate::screen_kit::strings(
        &b.exec(&format!(
            "return [...document.querySelectorAll({css:?})].map(e => e.innerText.replace(/\\s+/g, ' ').trim());"
        ))
        .await,
    )
}

async fn board_walk(lang: &str) {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let work = tempfile::tempdir().unwrap();
    let desk = Desk::open(&app).await;
    let counter_word = if lang == "fa" { "باجه" } else { "Counter" };

    // Three people for passports and two for ID cards are waiting when the TV is switched on.
    for service in [PASSPORT, PASSPORT, ID_CARD, PASSPORT, ID_CARD] {
        desk.walk_in(service).await;
    }
    let passport = service_name(&app, PASSPORT, lang).await;
    let id_card = service_name(&app, ID_CARD, lang).await;

    let tv = tv_browser(&env, &work.path().join("tv"), &app).await;
    tv.goto(&format!("{base}/lang/{lang}")).await;
    tv.goto(&format!("{base}{}", board_path())).await;
    tv.step("tv: the board before any call");
    let html = tv
        .exec("return [document.documentElement.lang, document.documentElement.dir]")
        .await;
    assert_eq!(
        html,
        json!([lang, if lang == "fa" { "rtl" } else { "ltr" }])
    );
    assert!(!tv.source().await.contains('⟦'), "untranslated string");
    let total = seen(&tv, "#board-waiting").await;
    assert!(shown_inside(&total), "{total}");
    assert_eq!(text(&total), digits("5", lang));
    assert_eq!(
        rows(&tv, "#board-services li").await,
        [
            format!("{passport} {}", digits("3", lang)),
            format!("{id_card} {}", digits("2", lang)),
        ]
    );

    // The Jalali date and the clock, in the page's digits. The server's clock is fixed at
    // 7 Azar 1405, 13:30 in Tehran (a Saturday), plus the minutes the walk-ins took.
    let date = seen(&tv, "#board-date").await;
    assert!(shown_inside(&date), "{date}");
    let expected_date = if lang == "fa" {
        "شنبه ۷ آذر ۱۴۰۵"
    } else {
        "Saturday 7 Azar 1405"
    };
    assert_eq!(text(&date), expected_date);
    let clock = seen(&tv, "#board-clock").await;
    assert!(shown_inside(&clock), "{clock}");
    let clock_text = text(&clock).to_string();
    assert!(
        clock_text.starts_with(&digits("13:", lang)) && clock_text.chars().count() == 5,
        "Tehran time: {clock_text}"
    );
    if lang == "fa" {
        assert!(
            !has_ascii_digit(&clock_text) && has_persian_digit(&clock_text),
            "{clock_text}"
        );
        let head = seen(&tv, ".tv-head").await;
        assert!(
            !has_ascii_digit(text(&head)),
            "Persian digits in the head: {head}"
        );
    } else {
        assert!(!has_persian_digit(&clock_text), "{clock_text}");
    }
    assert_fits(&tv, 1920, true).await;

    // The sound button, in the page's language; turned on, it stays on after a reload.
    tv.step("tv: turn the chime on");
    let sound = seen(&tv, "#board-sound").await;
    assert!(shown_inside(&sound), "{sound}");
    let enable = if lang == "fa" {
        "فعال‌کردن صدای اعلام"
    } else {
        "Turn on the call chime"
    };
    assert_eq!(text(&sound), enable);
    tv.click(&tv.find("#board-sound").await).await;
    assert_eq!(
        tv.exec("return localStorage.getItem('pishkhan.board.sound')")
            .await,
        "on"
    );
    tv.goto(&format!("{base}{}", board_path())).await;
    let sound = seen(&tv, "#board-sound").await;
    let on = if lang == "fa" {
        "صدای اعلام: روشن"
    } else {
        "Call chime: on"
    };
    assert_eq!(text(&sound), on, "the choice is remembered");
    // A click on the page lets the browser play without asking again.
    tv.click(&tv.find("#board-sound").await).await;
    tv.click(&tv.find("#board-sound").await).await;
    assert_eq!(text(&seen(&tv, "#board-sound").await), on);

    tv.step("tv: the first call");
    let first = desk.call(1).await;
    assert_eq!(first, "W-001");
    banner_comes_and_goes(&tv, lang, &first, 1, true).await;
    latest_is(&tv, lang, &first, 1, 150.0).await;
    let chimes = tv
        .exec("return document.getElementById('board').dataset.chimes || '0'")
        .await;
    assert_ne!(chimes, "0", "the chime rang for the call");

    tv.step("tv: a second call at another counter");
    let second = desk.call(2).await;
    assert_eq!(second, "W-002");
    banner_comes_and_goes(&tv, lang, &second, 2, true).await;
    latest_is(&tv, lang, &second, 2, 150.0).await;
    assert_eq!(
        rows(&tv, "#board-recent li").await,
        [format!(
            "{} {counter_word} {}",
            digits(&first, lang),
            digits("1", lang)
        )]
    );
    let recent = seen(&tv, "#board-recent li").await;
    assert!(shown_inside(&recent), "{recent}");
    assert!(
        recent["font"].as_f64().unwrap() >= 40.0,
        "earlier calls readable from afar: {recent}"
    );
    assert_eq!(text(&seen(&tv, "#board-waiting").await), digits("3", lang));
    assert_eq!(
        rows(&tv, "#board-services li").await,
        [
            format!("{id_card} {}", digits("2", lang)),
            format!("{passport} {}", digits("1", lang)),
        ]
    );
    let serving = rows(&tv, "#board-serving li").await;
    assert_eq!(
        serving,
        [
            format!(
                "{} {counter_word} {}",
                digits(&first, lang),
                digits("1", lang)
            ),
            format!(
                "{} {counter_word} {}",
                digits(&second, lang),
                digits("2", lang)
            ),
        ]
    );
    assert_fits(&tv, 1920, true).await;
    tv.screenshot(&format!("/tmp/pishkhan-board-1920-{lang}.png"))
        .await;

    tv.step("tv: counter 1 calls its ticket again");
    desk.recall(1, PASSPORT).await;
    banner_comes_and_goes(&tv, lang, &first, 1, true).await;
    latest_is(&tv, lang, &first, 1, 150.0).await;
    assert_eq!(
        rows(&tv, "#board-recent li").await,
        [format!(
            "{} {counter_word} {}",
            digits(&second, lang),
            digits("2", lang)
        )]
    );
    // The walk-in that made the boards look: one more passport.
    assert_eq!(text(&seen(&tv, "#board-waiting").await), digits("4", lang));

    // A laptop and a phone: the same board, nothing sideways, the newest call in sight.
    // Counter 2 finishes with its ticket and calls the next one while each screen watches.
    let mut latest = (first.clone(), 1);
    let mut at_counter_2 = second.clone();
    for width in [1366, 390] {
        tv.step(&format!("the board at {width}px"));
        let b = browser_at(&env, work.path(), width, &app).await;
        b.goto(&format!("{base}/lang/{lang}")).await;
        b.goto(&format!("{base}{}", board_path())).await;
        let min_font = if width == 390 { 60.0 } else { 80.0 };
        latest_is(&b, lang, &latest.0, latest.1, min_font).await;
        let recent = seen(&b, "#board-recent li").await;
        assert!(recent["shown"] == true, "{recent}");
        assert_fits(&b, width, false).await;
        if width == 1366 {
            // A laptop's window still holds the whole board.
            for css in ["#board-recent li", "#board-services li", "#board-sound"] {
                let v = seen(&b, css).await;
                assert!(shown_inside(&v), "{css} at 1366: {v}");
            }
        }
        desk.complete(&at_counter_2).await;
        at_counter_2 = desk.call(2).await;
        banner_comes_and_goes(&b, lang, &at_counter_2, 2, false).await;
        latest = (at_counter_2.clone(), 2);
        latest_is(&b, lang, &latest.0, 2, min_font).await;
        assert_fits(&b, width, false).await;
        b.screenshot(&format!("/tmp/pishkhan-board-{width}-{lang}.png"))
            .await;
        b.quit().await;
    }

    tv.quit().await;
    env.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_tv_board_announces_calls_in_persian() {
    board_walk("fa").await;
}

#[tokio::test]
async fn browser_tv_board_announces_calls_in_english() {
    board_walk("en").await;
}

/// At midnight the board turns to the new day where it stands: the date (and its weekday)
/// from the stream, the day's empty queue, and no reload that would cost the screen its sound.
#[tokio::test]
async fn browser_tv_board_turns_to_the_next_day_at_midnight() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let desk = Desk::open(&app).await;
    desk.walk_in(PASSPORT).await;
    desk.call(1).await;
    let b = &env.b;
    b.goto(&format!("{base}/lang/fa")).await;
    b.goto(&format!("{base}{}", board_path())).await;
    assert_eq!(text(&seen(b, "#board-date").await), "شنبه ۷ آذر ۱۴۰۵");
    b.find("#board-latest-ticket").await;
    b.exec("window.stillTheSamePage = true;").await;

    // 13:30 and a few seconds in Tehran; a minute past midnight is 10 h 30 min later.
    app.clock
        .advance(time::Duration::hours(10) + time::Duration::minutes(31));
    let desk = Desk::open(&app).await;
    let ticket = desk.walk_in(ID_CARD).await;
    assert_eq!(ticket, "W-001", "the new day's first ticket");
    wait_seen(
        b,
        "#board-date",
        "the next day",
        Duration::from_secs(10),
        |v| text(v) == "یکشنبه ۸ آذر ۱۴۰۵",
    )
    .await;
    assert_eq!(text(&seen(b, "#board-waiting").await), "۱");
    let latest = seen(b, "#board-latest").await;
    assert_eq!(text(&latest), "هنوز کسی فراخوانده نشده است.");
    assert_eq!(
        b.exec("return window.stillTheSamePage === true").await,
        true,
        "no reload"
    );
    env.stop().await;
    app.stop().await;
}

/// A busy hour: nine services waiting and six calls made. On the TV the board still fits the
/// screen with every row in sight: five earlier calls, six services by name and one row for
/// the rest; on a laptop nothing goes sideways.
#[tokio::test]
async fn browser_tv_board_fits_a_busy_hour() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let work = tempfile::tempdir().unwrap();
    let desk = Desk::open(&app).await;
    let listed = app.get("/api/v1/services?per_page=40").await.json();
    let codes: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["channel"] != "online")
        .map(|s| s["code"].as_str().unwrap().to_string())
        .take(9)
        .collect();
    assert_eq!(codes.len(), 9, "{listed}");
    // Six passport tickets are called first; then each of nine services has one waiting.
    for _ in 0..6 {
        desk.walk_in(PASSPORT).await;
    }
    for code in &codes {
        desk.walk_in(code).await;
    }
    for n in 1..=6 {
        let called = desk.call(1).await;
        assert_eq!(called, format!("W-{n:03}"));
        if n < 6 {
            desk.complete(&called).await;
        }
    }

    let tv = tv_browser(&env, &work.path().join("tv"), &app).await;
    for lang in ["fa", "en"] {
        tv.goto(&format!("{base}/lang/{lang}")).await;
        tv.goto(&format!("{base}{}", board_path())).await;
        latest_is(&tv, lang, "W-006", 1, 150.0).await;
        let recent = rows(&tv, "#board-recent li").await;
        assert_eq!(recent.len(), 5, "{recent:?}");
        let services = rows(&tv, "#board-services li").await;
        assert_eq!(services.len(), 7, "{services:?}");
        let other = if lang == "fa" {
            "خدمات دیگر (۳) ۳"
        } else {
            "Other services (3) 3"
        };
        assert_eq!(services[6], other, "{services:?}");
        for css in [
            "#board-recent li:last-child",
            "#board-services li:last-child",
            "#board-next li",
            "#board-serving li",
            "#board-sound",
        ] {
            let v = seen(&tv, css).await;
            if !shown_inside(&v) {
                tv.screenshot("/tmp/pishkhan-board-busy-failed.png").await;
            }
            assert!(shown_inside(&v), "{lang}: {css} at 1920x1080: {v}");
        }
        assert_fits(&tv, 1920, true).await;
        tv.screenshot(&format!("/tmp/pishkhan-board-busy-{lang}.png"))
            .await;
    }
    let laptop = browser_at(&env, work.path(), 1366, &app).await;
    laptop.goto(&format!("{base}{}", board_path())).await;
    latest_is(&laptop, "fa", "W-006", 1, 80.0).await;
    assert_fits(&laptop, 1366, false).await;
    laptop.screenshot("/tmp/pishkhan-board-busy-1366.png").await;
    laptop.quit().await;
    tv.quit().await;
    env.stop().await;
    app.stop().await;
}

/// axe-core's rules, all of them, on the board with calls and people waiting: nothing serious
/// or critical, in either language, on the TV and on a phone.
#[tokio::test]
async fn browser_tv_board_passes_axe_core() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let work = tempfile::tempdir().unwrap();
    let desk = Desk::open(&app).await;
    for service in [PASSPORT, ID_CARD, PASSPORT] {
        desk.walk_in(service).await;
    }
    desk.call(1).await;
    desk.call(2).await;
    let tv = tv_browser(&env, &work.path().join("tv"), &app).await;
    let mut problems = Vec::new();
    for b in [&tv, &env.b] {
        for lang in ["fa", "en"] {
            b.goto(&format!("{base}/lang/{lang}")).await;
            b.goto(&format!("{base}{}", board_path())).await;
            b.find("#board-latest-ticket").await;
            let width = b.exec("return window.innerWidth").await;
            for v in axe_serious_violations(b).await {
                problems.push(format!("{lang} at {width}px: {v}"));
            }
        }
    }
    tv.quit().await;
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "axe-core on the board: {problems:#?}");
}

/// Without JavaScript the board is all there: the server renders the newest call, the
/// earlier ones, the counts per service and the date, and the page refreshes itself.
#[tokio::test]
async fn the_board_is_whole_without_javascript() {
    let app = TestApp::sqlite().await;
    let desk = Desk::open(&app).await;
    for service in [PASSPORT, ID_CARD, PASSPORT] {
        desk.walk_in(service).await;
    }
    desk.call(1).await;
    desk.call(2).await;
    let page = app.get(&board_path()).await;
    assert_eq!(page.status, 200);
    let html = &page.text;
    assert!(!html.contains('⟦'), "untranslated string");
    assert!(html.contains(r#"<meta http-equiv="refresh" content="30">"#));
    let latest = html
        .split(r#"id="board-latest""#)
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("the newest call");
    assert!(
        latest.contains("W-۰۰۲") && latest.contains("باجه") && latest.contains(">۲<"),
        "{latest}"
    );
    let recent = html
        .split(r#"id="board-recent""#)
        .nth(1)
        .and_then(|s| s.split("</ol>").next())
        .expect("the earlier calls");
    assert!(recent.contains("W-۰۰۱"), "{recent}");
    assert!(
        !recent.contains("W-۰۰۲"),
        "the newest is not repeated: {recent}"
    );
    let passport = service_name(&app, PASSPORT, "fa").await;
    let services = html
        .split(r#"id="board-services""#)
        .nth(1)
        .and_then(|s| s.split("</ul>").next())
        .expect("the waiting panel");
    // One passport ticket waits (W-003); W-001 and W-002 were called.
    assert!(services.contains(&passport), "{services}");
    assert!(
        services.contains(r#"<bdi class="tv-service-count">۱</bdi>"#),
        "{services}"
    );
    assert!(html.contains("۷ آذر ۱۴۰۵"), "the Jalali date");
    app.stop().await;
}

/// The stream's board carries the latest calls, newest first, and the counts per service.
#[tokio::test]
async fn the_board_json_lists_recent_calls_and_waiting_per_service() {
    for app in TestApp::all().await {
        let desk = Desk::open(&app).await;
        for service in [PASSPORT, PASSPORT, ID_CARD, PASSPORT, ID_CARD] {
            desk.walk_in(service).await;
        }
        desk.call(1).await;
        desk.call(2).await;
        let board = app
            .get(&format!("/api/v1/offices/{DEMO_OFFICE}/queue"))
            .await
            .json();
        let calls = board["recent_calls"].as_array().expect("recent_calls");
        let tickets: Vec<&str> = calls
            .iter()
            .map(|c| c["ticket"].as_str().unwrap())
            .collect();
        assert_eq!(tickets, ["W-002", "W-001"], "[{}] {board}", app.be());
        assert_eq!(calls[0]["counter"], 2);
        let newest = time::OffsetDateTime::parse(
            calls[0]["called_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(newest > fixed_now(), "the call's time: {newest}");
        assert_eq!(
            board["waiting_by_service"],
            json!([
                { "service": ID_CARD, "waiting": 2 },
                { "service": PASSPORT, "waiting": 1 },
            ]),
            "[{}]",
            app.be()
        );
        assert_eq!(board["waiting"], 3);
        let ticket = Ticket::parse(tickets[1]).unwrap();
        assert_eq!(ticket, Ticket::walk_in(1));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_chime_is_served_as_audio() {
    let app = TestApp::sqlite().await;
    let chime = app.get("/static/chime.wav").await;
    assert_eq!(chime.status, 200);
    assert_eq!(chime.content_type(), "audio/wav");
    assert!(
        chime.bytes.starts_with(b"RIFF") && chime.bytes[8..12] == *b"WAVE",
        "a WAV file"
    );
    assert!(
        chime.bytes.len() > 10_000,
        "a real sound, not an empty file"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_counter_on_a_break_shows_on_the_board_in_both_languages() {
    let app = TestApp::sqlite().await;
    let operator = app.login("operator", DEMO_PASSWORD).await;
    let base = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
    let paused = app
        .post_json(
            &format!("{base}/counters/2/pause"),
            Some(&operator),
            &json!({}),
        )
        .await;
    assert!(paused.status < 300, "{}", paused.text);
    let board = app.get(&base).await.json();
    assert_eq!(board["paused_counters"], json!([2]), "{board}");
    for (lang, words, two) in [("fa", "در استراحت", "۲"), ("en", "on a break", "2")] {
        let page = app
            .get(&format!("/offices/{DEMO_OFFICE}/display?lang={lang}"))
            .await;
        assert_eq!(page.status, 200);
        let line = page
            .text
            .split("class=\"tv-paused\"")
            .nth(1)
            .and_then(|rest| rest.split("</li>").next())
            .unwrap_or_else(|| panic!("{lang}: no counter on a break on the board"));
        assert!(line.contains(words) && line.contains(two), "{lang}: {line}");
    }
    let resumed = app
        .post_json(
            &format!("{base}/counters/2/resume"),
            Some(&operator),
            &json!({}),
        )
        .await;
    assert!(resumed.status < 300, "{}", resumed.text);
    let page = app.get(&format!("/offices/{DEMO_OFFICE}/display")).await;
    assert!(!page.text.contains("class=\"tv-paused\""), "back at work");
    app.stop().await;
}
