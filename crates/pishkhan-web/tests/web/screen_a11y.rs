//! axe-core's rules, run in headless Chromium on the phone's width: a table wider than the
//! screen scrolls, and a keyboard user must be able to reach it to scroll it.
//!
//! axe-core comes from npm (a dev dependency in `web-assets/`, vendored into
//! `tests/vendor/` by `scripts/vendor-assets.sh`); the binary never serves it.

use crate::browser::{Browser, Env};
use crate::screen_kit::{staff_session, strings};
use crate::support::{DEMO_OFFICE, TestApp};

const AXE: &str = include_str!("../vendor/axe.min.js");

/// The rules checked: a scrollable region must be focusable or hold something focusable.
const RULES: &[&str] = &["scrollable-region-focusable"];

/// The violations of `RULES` on the current page, one line each: rule, impact and where.
pub(crate) async fn axe_violations(b: &Browser) -> Vec<String> {
    b.exec(&format!("{AXE}\n;return typeof axe;")).await;
    let rules = serde_json::to_string(RULES).unwrap();
    let found = b
        .exec_async(&format!(
            r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {{ runOnly: {{ type: 'rule', values: {rules} }} }})
              .then(r => done(r.violations.map(v =>
                 `${{v.id}} (${{v.impact}}): ${{v.nodes.map(n => n.target.join(' ')).join(', ')}}`)))
              .catch(e => done([`axe failed: ${{e}}`]));
            "#
        ))
        .await;
    strings(&found)
}

/// The serious and critical violations of all of axe-core's rules on the current page, one
/// line each: rule, impact, where, and axe's summary of the first node.
pub(crate) async fn axe_serious_violations(b: &Browser) -> Vec<String> {
    b.exec(&format!("{AXE}\n;return typeof axe;")).await;
    let found = b
        .exec_async(
            r#"
            const done = arguments[arguments.length - 1];
            axe.run(document)
              .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}: ${
                    (v.nodes[0] && v.nodes[0].failureSummary || '').replace(/\s+/g, ' ')}`)))
              .catch(e => done([`axe failed: ${e}`]));
            "#,
        )
        .await;
    strings(&found)
}

#[tokio::test]
async fn browser_wide_tables_can_be_scrolled_from_the_keyboard_on_a_phone() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let mut problems = Vec::new();
    // The office's page with its staff table (a manager sees it), and the audit log.
    for (who, path) in [
        ("manager", format!("/offices/{DEMO_OFFICE}")),
        ("regulator", "/audit".to_string()),
        ("regulator", "/offices".to_string()),
        ("regulator", "/services".to_string()),
        ("regulator", "/dashboard".to_string()),
        ("operator", "/console".to_string()),
    ] {
        staff_session(b, &app, who, "fa").await;
        b.goto(&format!("{base}{path}")).await;
        b.find("main h1").await;
        assert_eq!(b.exec("return window.innerWidth").await, 390, "a phone");
        for v in axe_violations(b).await {
            problems.push(format!("{path}: {v}"));
        }
    }
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "axe-core at 390px: {problems:#?}");
}
