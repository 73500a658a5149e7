//! In headless Chromium at a phone's, a laptop's and a desktop's width: every value of a
//! detail list has room to be read, and no dashboard card scrolls sideways or hides its
//! counts. Measured on what the browser drew, not on the HTML.

use crate::browser::{Browser, Env};
use crate::screen_kit::{WIDTHS, browser_at, citizen_session, citizen_with_booking, staff_session};
use crate::support::{DEMO_OFFICE, TestApp};

/// Detail values narrower than this cannot hold a time, a name or a code.
const MIN_VALUE_WIDTH: f64 = 100.0;

/// What is wrong with the page's detail lists: values too narrow, clipped or empty.
async fn detail_problems(b: &Browser) -> Vec<String> {
    let found = b
        .exec(&format!(
            r#"
            const out = [];
            const dds = document.querySelectorAll('dl.details dd');
            if (dds.length === 0) out.push('no detail list on the page');
            for (const dd of dds) {{
              const dt = dd.previousElementSibling;
              const what = dt ? dt.textContent.trim() : '?';
              const w = dd.getBoundingClientRect().width;
              if (w < {MIN_VALUE_WIDTH}) out.push(`${{what}}: value ${{w.toFixed(0)}}px wide`);
              if (dd.scrollWidth > dd.clientWidth + 1) out.push(`${{what}}: value overflows`);
              if (!dd.innerText.trim()) out.push(`${{what}}: value empty`);
            }}
            if (document.documentElement.scrollWidth > window.innerWidth)
              out.push(`page ${{document.documentElement.scrollWidth}}px wide`);
            return out;
            "#
        ))
        .await;
    crate::screen_kit::strings(&found)
}

/// What is wrong with the dashboard's cards: a part that scrolls sideways, or a count drawn
/// outside its card (so hidden, or cut off).
async fn card_problems(b: &Browser) -> Vec<String> {
    let found = b
        .exec(
            r#"
            const out = [];
            for (const card of document.querySelectorAll('main .card')) {
              const title = (card.querySelector('h2') || card).textContent.trim().slice(0, 40);
              const box = card.getBoundingClientRect();
              for (const el of card.querySelectorAll('*')) {
                const style = getComputedStyle(el);
                if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
                  out.push(`${title}: scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
                const own = [...el.childNodes].filter(n => n.nodeType === 3)
                  .map(n => n.textContent.trim()).join('');
                if (/^[0-9۰-۹٬,]+$/.test(own)) {
                  const r = el.getBoundingClientRect();
                  if (r.width === 0 || r.left < box.left - 1 || r.right > box.right + 1)
                    out.push(`${title}: count ${own} outside its card`);
                }
              }
            }
            if (document.querySelectorAll('main .card').length === 0) out.push('no cards');
            if (document.documentElement.scrollWidth > window.innerWidth)
              out.push(`page ${document.documentElement.scrollWidth}px wide`);
            return out;
            "#,
        )
        .await;
    crate::screen_kit::strings(&found)
}

#[tokio::test]
async fn browser_detail_values_are_readable_at_every_width() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let citizen = citizen_with_booking(&app, "09351112244").await;
    let work = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for width in WIDTHS {
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;

        // A citizen's own appointments.
        citizen_session(b, &app, &citizen, "fa").await;
        b.goto(&format!("{base}/citizen")).await;
        b.find(".booking dl.details").await;
        for p in detail_problems(b).await {
            problems.push(format!("/citizen at {width}px: {p}"));
        }
        b.screenshot(&format!("/tmp/pishkhan-citizen-{width}.png"))
            .await;

        // An office's page, in both languages.
        for lang in ["fa", "en"] {
            staff_session(b, &app, "manager", lang).await;
            b.goto(&format!("{base}/offices/{DEMO_OFFICE}")).await;
            b.find("dl.details").await;
            for p in detail_problems(b).await {
                problems.push(format!("/offices/{DEMO_OFFICE} ({lang}) at {width}px: {p}"));
            }
            b.screenshot(&format!("/tmp/pishkhan-office-{lang}-{width}.png"))
                .await;
        }
        session.quit().await;
    }

    env.stop().await;
    app.stop().await;
    assert!(
        problems.is_empty(),
        "detail values not readable: {problems:#?}"
    );
}

#[tokio::test]
async fn browser_dashboard_cards_fit_and_show_their_counts_at_every_width() {
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
            staff_session(b, &app, "regulator", lang).await;
            b.goto(&format!("{base}/dashboard")).await;
            b.find("main .card").await;
            for p in card_problems(b).await {
                problems.push(format!("/dashboard ({lang}) at {width}px: {p}"));
            }
            b.screenshot(&format!("/tmp/pishkhan-dashboard-{lang}-{width}.png"))
                .await;
        }
        session.quit().await;
    }
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "dashboard cards: {problems:#?}");
}
