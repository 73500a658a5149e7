//! The compliance pages in headless Chromium: the regulator runs the rules, opens an
//! offender's record from the open findings with its evidence in words and numbers, warns
//! it and suspends it with the page's buttons; at a phone's and a laptop's width, in Persian
//! and English.

use crate::browser::{Env, Walk, check_page};
use crate::compliance::seed_figures;
use crate::screen_a11y::axe_violations;
use crate::screen_kit::{browser_at, staff_session, visible_text};
use crate::support::{DEMO_OFFICE, OTHER_OFFICE, TestApp};

fn digits(s: &str, lang: &str) -> String {
    pishkhan_domain::digits::localize_digits(
        s,
        pishkhan_domain::model::Lang::parse(lang).expect("fa or en"),
    )
}

#[tokio::test]
async fn browser_the_regulator_warns_and_suspends_an_offender_from_the_page() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    seed_figures(&app, DEMO_OFFICE, 14, 5, 60).await;
    seed_figures(&app, OTHER_OFFICE, 14, 4, 70).await;
    let work = tempfile::tempdir().unwrap();
    let mut walk = Walk::default();
    let mut problems = Vec::new();

    for (width, lang, office) in [(390, "fa", DEMO_OFFICE), (1366, "en", OTHER_OFFICE)] {
        env.b.step(&format!("the regulator at {width}px ({lang})"));
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        staff_session(b, &app, "regulator", lang).await;

        b.goto(&format!("{base}/compliance")).await;
        b.click(&b.find("#run-rules button[type=submit]").await)
            .await;
        b.find("#compliance-notice").await;
        let findings = visible_text(b, "#findings").await;
        let code = digits(office, lang);
        assert!(findings.contains(&code), "{office} among {findings}");
        // The evidence in words, with the booked share in the page's digits.
        let share = if office == DEMO_OFFICE { "7" } else { "5" };
        assert!(
            findings.contains(&digits(share, lang)),
            "the booked share {share} in {findings}"
        );
        if width == 390 {
            check_page(b, lang, &mut walk).await;
        }
        problems.extend(axe_violations(b).await);

        // The office's record: warn, then suspend.
        b.goto(&format!("{base}/compliance/offices/{office}")).await;
        b.type_into("#sanction-form textarea[name=reason]", "سهم نوبت کم است")
            .await;
        b.click(&b.find("#warn").await).await;
        b.find("#compliance-notice").await;
        let status = visible_text(b, "#office-status").await;
        let warned = if lang == "fa" {
            "اخطار گرفته"
        } else {
            "Warned"
        };
        assert!(status.contains(warned), "warned: {status}");

        // From a fresh page, so the notice found next is the suspension's.
        b.goto(&format!("{base}/compliance/offices/{office}")).await;
        b.type_into("#sanction-form textarea[name=reason]", "اخطار بی‌اثر بود")
            .await;
        b.click(&b.find("#suspend").await).await;
        b.find("#compliance-notice").await;
        let status = visible_text(b, "#office-status").await;
        let suspended = if lang == "fa" {
            "تعلیق"
        } else {
            "Suspended"
        };
        assert!(status.contains(suspended), "suspended: {status}");
        let sanctions = visible_text(b, "#sanctions").await;
        assert!(
            sanctions.contains(warned)
                || sanctions.contains(if lang == "fa" {
                    "اخطار"
                } else {
                    "Warning"
                }),
            "both steps listed: {sanctions}"
        );
        if width == 390 {
            check_page(b, lang, &mut walk).await;
        }
        problems.extend(axe_violations(b).await);

        // Suspending again is refused in the page's words, and nothing changes.
        b.type_into("#sanction-form textarea[name=reason]", "دوباره")
            .await;
        b.click(&b.find("#suspend").await).await;
        b.find("#compliance-error").await;
        let error = visible_text(b, "#compliance-error").await;
        let words = if lang == "fa" { "ترتیب" } else { "order" };
        assert!(
            error.contains(words),
            "the refusal in the page's words: {error}"
        );
        session.quit().await;
    }
    let office = app
        .store
        .office(pishkhan_domain::model::OfficeCode::parse(DEMO_OFFICE).unwrap())
        .await
        .unwrap();
    assert_eq!(
        office.status,
        pishkhan_domain::model::OfficeStatus::Suspended
    );
    assert!(problems.is_empty(), "accessibility: {problems:#?}");
    walk.finish();
    env.stop().await;
}
