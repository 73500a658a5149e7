//! The pages' own Content-Security-Policy allows scripts only from our files
//! (`script-src 'self'`), so an inline handler (`onchange=`, `onclick=`…) is dead code in
//! every browser. No page has one, and what they did works from `app.js`.

use serde_json::json;

use crate::browser::{Env, path_of};
use crate::console_ui::wait_text;
use crate::screen_kit::{citizen_with_booking, staff_session};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

/// The inline event handlers in `html`: attributes named `on…` inside a tag.
fn inline_handlers(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        for attr in tag.split_whitespace().skip(1) {
            let name = attr
                .split('=')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if name.len() > 2 && name.starts_with("on") && attr.contains('=') {
                found.push(format!("<{}", tag.chars().take(80).collect::<String>()));
            }
        }
    }
    found
}

#[tokio::test]
async fn no_page_has_an_inline_event_handler() {
    let app = TestApp::sqlite().await;
    let fx = app.enable_exchange().await;
    let person = (0..fx.population.size())
        .map(|i| fx.population.person(i))
        .find(|p| p.alive && p.card_status == pishkhan_agency::CardStatus::Valid)
        .expect("a person to check");
    let operator = app.login("operator", DEMO_PASSWORD).await;
    let verified = app
        .post_json(
            "/api/v1/identity/verifications",
            Some(&operator),
            &json!({
                "national_code": person.national_code.as_str(),
                "first_name": person.first_name,
                "last_name": person.last_name,
                "birth_date": person.birth_date.to_string(),
                "purpose": { "service_code": "NID-001", "case_id": "CASE-1" },
            }),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let vid = verified.json()["verification_id"]
        .as_str()
        .unwrap()
        .to_string();
    let citizen = citizen_with_booking(&app, "09351112255").await;

    let regulator = app.login("regulator", DEMO_PASSWORD).await;
    let manager = app.login("manager", DEMO_PASSWORD).await;
    let staff_pages = [
        (&regulator, "/dashboard".to_string()),
        (&regulator, "/offices".to_string()),
        (&regulator, "/services".to_string()),
        (&regulator, "/services/NID-001".to_string()),
        (&regulator, "/audit".to_string()),
        (&regulator, "/staff/new".to_string()),
        (&manager, format!("/offices/{DEMO_OFFICE}")),
        (&operator, "/console".to_string()),
        (&operator, "/console/identity".to_string()),
        (&operator, format!("/identity/receipts/{vid}")),
    ];
    let mut found = Vec::new();
    for (token, path) in &staff_pages {
        let page = app
            .send(
                app.client
                    .get(app.url(path))
                    .header("cookie", format!("pishkhan_session={token}")),
            )
            .await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        for h in inline_handlers(&page.text) {
            found.push(format!("{path}: {h}"));
        }
    }
    let citizen_pages = [
        "/citizen".to_string(),
        format!("/citizen/book?office={DEMO_OFFICE}&service=PSP-001"),
        "/citizen/data-access".to_string(),
    ];
    for path in &citizen_pages {
        let page = app
            .send(
                app.client
                    .get(app.url(path))
                    .header("cookie", format!("pishkhan_citizen={citizen}")),
            )
            .await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        for h in inline_handlers(&page.text) {
            found.push(format!("{path}: {h}"));
        }
    }
    for path in [
        "/login".to_string(),
        "/citizen/login".to_string(),
        format!("/offices/{DEMO_OFFICE}/display"),
    ] {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        for h in inline_handlers(&page.text) {
            found.push(format!("{path}: {h}"));
        }
    }
    drop(fx);
    app.stop().await;
    assert!(
        found.is_empty(),
        "inline handlers, refused by the pages' CSP: {found:#?}"
    );
}

/// With JavaScript on (so the `<noscript>` button is gone), choosing a counter opens it.
#[tokio::test]
async fn browser_choosing_a_counter_in_the_console_opens_it() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    staff_session(b, &app, "operator", "fa").await;
    b.goto(&format!("{base}/console")).await;
    let options = b.find_all("select[name=counter] option").await;
    assert!(
        options.len() >= 2,
        "the demo office has two counters or more"
    );
    assert!(
        b.find_all("form button[type=submit]").await.len() > 1,
        "the console is open"
    );
    b.click(&b.find("select[name=counter] option[value='2']").await)
        .await;
    let url = b
        .wait_for_url("counter 2 opened", |u| u.contains("counter=2"))
        .await;
    assert!(path_of(&url).starts_with("/console"), "{url}");
    wait_text(b, ".console-serving h2", "counter 2's panel", |t| {
        t.contains("باجه ۲")
    })
    .await;
    assert_eq!(
        b.exec("return document.querySelector('select[name=counter]').value")
            .await,
        "2",
        "counter 2 stays chosen"
    );
    env.stop().await;
    app.stop().await;
}
