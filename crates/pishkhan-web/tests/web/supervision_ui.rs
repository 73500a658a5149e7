//! The supervision pages in headless Chromium: the manager's office page at a phone's and a
//! laptop's width draws the office's figures and the hours form where a person sees them,
//! and a bad hours value is refused in Persian beside the form; the regulator edits a rule's
//! threshold on `/compliance` and the page shows the new version.

use serde_json::json;

use crate::browser::{Browser, Env, Walk, check_page};
use crate::screen_a11y::axe_violations;
use crate::screen_kit::{browser_at, staff_session, visible_text};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

fn digits(s: &str, lang: &str) -> String {
    pishkhan_domain::digits::localize_digits(
        s,
        pishkhan_domain::model::Lang::parse(lang).expect("fa or en"),
    )
}

/// Why `css` is not where a person would see it, or `None` when it is: it exists, is drawn
/// with a size, lies within the viewport's width, and is the topmost thing at its centre
/// once scrolled there.
async fn not_shown(b: &Browser, css: &str) -> Option<String> {
    let got = b
        .exec(&format!(
            r#"
            const e = document.querySelector({css:?});
            if (!e) return 'missing';
            e.scrollIntoView({{ block: 'center', inline: 'nearest', behavior: 'instant' }});
            const s = getComputedStyle(e);
            if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0)
              return 'hidden';
            const r = e.getBoundingClientRect();
            if (r.width < 1 || r.height < 1) return `drawn ${{r.width}}x${{r.height}}`;
            if (r.left < -1 || r.right > window.innerWidth + 1)
              return `outside the viewport: ${{r.left}}..${{r.right}} of ${{window.innerWidth}}`;
            // A point of it inside the viewport: a tall table's centre may lie below it.
            const x = Math.min(Math.max(r.left + r.width / 2, 0), window.innerWidth - 1);
            const y = Math.max(r.top, 0) + Math.min(r.bottom - Math.max(r.top, 0), 40) / 2;
            const top = document.elementFromPoint(x, y);
            if (!top || !(e === top || e.contains(top))) return `covered by ${{top && top.outerHTML.slice(0, 80)}}`;
            return null;
            "#
        ))
        .await;
    got.as_str().map(str::to_string)
}

#[tokio::test]
async fn browser_the_managers_page_shows_figures_and_hours_and_refuses_bad_hours_in_persian() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    // One walk-in today: a figure the page must show.
    let operator = app.login("operator", DEMO_PASSWORD).await;
    let walk = app
        .post_json(
            &format!("/api/v1/offices/{DEMO_OFFICE}/queue/walk-in"),
            Some(&operator),
            &json!({ "service": "PSP-001" }),
        )
        .await;
    assert!(walk.status < 300, "{}", walk.text);
    // A day closed ahead, which the page opens again.
    let manager = app.login("manager", DEMO_PASSWORD).await;
    let closed = app
        .put_json(
            &format!("/api/v1/offices/{DEMO_OFFICE}/closures/1405-09-10"),
            Some(&manager),
            &json!({ "name_fa": "سرشماری", "name_en": "Census" }),
        )
        .await;
    assert_eq!(closed.status, 204, "{}", closed.text);
    let work = tempfile::tempdir().unwrap();
    let mut walk_pages = Walk::default();
    let mut problems = Vec::new();

    for (width, lang) in [(390, "fa"), (1366, "en")] {
        env.b.step(&format!("the manager at {width}px ({lang})"));
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        staff_session(b, &app, "manager", lang).await;
        b.goto(&format!("{base}/dashboard")).await;
        // The header leads a manager to their office's page.
        b.click(
            &b.find(&format!("nav a[href='/offices/{DEMO_OFFICE}/manage']"))
                .await,
        )
        .await;
        b.find("#office-figures").await;
        for css in [
            "#office-figures",
            "#office-figures tbody tr:first-child",
            "#hours-form",
            "#hours-form input[name=open_0]",
            "#hours-form input[name=close_6]",
            "#hours-form button[type=submit]",
        ] {
            if let Some(why) = not_shown(b, css).await {
                panic!("{css} at {width}px: {why}");
            }
        }
        let today = visible_text(b, "#office-figures tbody tr:first-child").await;
        let day = if lang == "fa" { "۷ آذر" } else { "7 Azar" };
        assert!(today.contains(day), "today first: {today}");
        // Today's visits: the one walk-in, in the page's digits.
        let visits = visible_text(b, "#office-figures tbody tr:first-child td:nth-child(2)").await;
        assert!(
            visits.contains(&digits("1", lang)),
            "one visit today: {visits}"
        );
        if width == 390 {
            check_page(b, lang, &mut walk_pages).await;
        }
        problems.extend(axe_violations(b).await);

        if lang == "fa" {
            // Closing before opening on Sunday: refused in Persian beside the form.
            b.type_into("#hours-form input[name=open_1]", "14:00").await;
            b.type_into("#hours-form input[name=close_1]", "08:00")
                .await;
            b.click(&b.find("#hours-form button[type=submit]").await)
                .await;
            b.find("#hours-error").await;
            if let Some(why) = not_shown(b, "#hours-error").await {
                panic!("the error at {width}px: {why}");
            }
            let error = visible_text(b, "#hours-error").await;
            assert!(
                error.contains("یکشنبه") && error.contains("پیش از ساعت بستن"),
                "the day and the problem in Persian: {error}"
            );
            assert!(
                !error.chars().any(|c| c.is_ascii_alphabetic()),
                "no English in the Persian error: {error}"
            );
            check_page(b, lang, &mut walk_pages).await;

            // Put right, it saves.
            b.type_into("#hours-form input[name=open_1]", "۰۸:۰۰").await;
            b.type_into("#hours-form input[name=close_1]", "۱۳:۰۰")
                .await;
            b.click(&b.find("#hours-form button[type=submit]").await)
                .await;
            b.find("#hours-notice").await;

            // The closure's button opens the day again.
            b.click(&b.find("#closures button").await).await;
            b.find("#closure-notice").await;
            b.find("#no-closures").await;
        }
        session.quit().await;
    }
    let office = app
        .get(&format!("/api/v1/offices/{DEMO_OFFICE}"))
        .await
        .json();
    assert_eq!(office["hours"]["sunday"], "08:00-13:00", "{office}");
    assert!(problems.is_empty(), "accessibility: {problems:#?}");
    walk_pages.finish();
    env.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_the_regulator_saves_a_changed_threshold_as_a_new_version() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let work = tempfile::tempdir().unwrap();
    let mut walk = Walk::default();
    let mut problems = Vec::new();
    for (width, lang, share, version) in [(390, "fa", "25", "3"), (1366, "en", "30", "4")] {
        env.b.step(&format!("the regulator at {width}px ({lang})"));
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        staff_session(b, &app, "regulator", lang).await;
        b.goto(&format!("{base}/compliance")).await;
        let field = "#rules-form input[name='low_booked_share.max_booked_share_pct']";
        b.find(field).await;
        if let Some(why) = not_shown(b, field).await {
            panic!("{field} at {width}px: {why}");
        }
        if width == 390 {
            check_page(b, lang, &mut walk).await;
        }
        problems.extend(axe_violations(b).await);

        // Out of range first: refused in the page's language, naming the param.
        b.type_into(field, "500").await;
        b.click(&b.find("#rules-form button[type=submit]").await)
            .await;
        b.find("#rules-error").await;
        let error = visible_text(b, "#rules-error").await;
        let named = if lang == "fa" {
            "بیشینه سهم نوبت"
        } else {
            "Highest booked share"
        };
        assert!(error.contains(named), "the param named: {error}");

        b.type_into(field, &digits(share, lang)).await;
        b.click(&b.find("#rules-form button[type=submit]").await)
            .await;
        b.find("#compliance-notice").await;
        let notice = visible_text(b, "#compliance-notice").await;
        assert!(
            notice.contains(&digits(version, lang)),
            "the new version {version} in {notice}"
        );
        let shown = visible_text(b, "#rules-version-number").await;
        assert_eq!(shown.trim(), digits(version, lang), "the version in force");
        let value = b
            .exec(&format!("return document.querySelector({field:?}).value"))
            .await;
        assert_eq!(value, json!(digits(share, lang)), "the saved threshold");
        session.quit().await;
    }
    let regulator = app.login("regulator", DEMO_PASSWORD).await;
    let rules = app
        .get_as("/api/v1/compliance/rules", Some(&regulator))
        .await
        .json();
    assert_eq!(rules["version"], 4, "{rules}");
    assert_eq!(
        rules["rules"][0]["params"]["max_booked_share_pct"], 30,
        "{rules}"
    );
    assert_eq!(rules["rules"][0]["kind"], "low_booked_share");
    assert!(problems.is_empty(), "accessibility: {problems:#?}");
    walk.finish();
    env.stop().await;
    app.stop().await;
}
