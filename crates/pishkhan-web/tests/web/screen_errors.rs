//! Every message a page shows comes from the problem's stable code through the string table,
//! in the page's language: the problem's own English message is for logs and API clients.
//! Each bad input below once showed English on a Persian page.

use crate::browser::{Browser, Env};
use crate::screen_kit::{has_latin_letter, has_persian_letter, staff_session, visible_text};
use crate::support::TestApp;

/// Waits for `css` and returns its text, which must be Persian with no Latin letter in it
/// and contain `expected`.
async fn persian_message(b: &Browser, css: &str, what: &str, expected: &str) -> String {
    b.find(css).await;
    let text = visible_text(b, css).await;
    assert!(
        has_persian_letter(&text) && !has_latin_letter(&text),
        "{what}: not a Persian message: {text:?}"
    );
    assert!(text.contains(expected), "{what}: {text:?}");
    text
}

#[tokio::test]
async fn browser_refusals_are_shown_in_the_pages_language() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let fx = app.enable_exchange().await;
    let base = app.base.clone();
    let person = (0..fx.population.size())
        .map(|i| fx.population.person(i))
        .find(|p| p.alive && p.card_status == pishkhan_agency::CardStatus::Valid)
        .expect("a person to check");

    // The identity form: a month that does not exist, a date of the wrong shape, and a
    // catalogue service that does not exist.
    b.step("the identity form");
    staff_session(b, &app, "operator", "fa").await;
    let fill = |birth: String, service: &'static str| {
        let person = person.clone();
        let base = base.clone();
        async move {
            b.goto(&format!("{base}/console/identity")).await;
            b.type_into("input[name=national_code]", person.national_code.as_str())
                .await;
            b.type_into("input[name=first_name]", person.first_name)
                .await;
            b.type_into("input[name=last_name]", person.last_name).await;
            b.type_into("input[name=birth_date]", &birth).await;
            b.type_into("input[name=service_code]", service).await;
            b.type_into("input[name=case_id]", "CASE-7").await;
            b.click(&b.find("#identity-form button[type=submit]").await)
                .await;
        }
    };
    fill("1370-13-05".into(), "NID-001").await;
    persian_message(b, "#identity-error", "month 13", "تاریخ تولد").await;
    fill("1370/01".into(), "NID-001").await;
    persian_message(b, "#identity-error", "a date's shape", "تاریخ درست نیست").await;
    fill(person.birth_date.to_string(), "ZZZ-999").await;
    persian_message(
        b,
        "#identity-error",
        "an unknown service",
        "خدمتی با این کد در فهرست خدمات نیست",
    )
    .await;

    // Check-in of a tracking code nobody holds at this office today.
    b.step("check-in");
    b.goto(&format!("{base}/console")).await;
    b.type_into("#check-in-form input[name=code]", "75UE-T9B3")
        .await;
    b.click(&b.find("#check-in-form button[type=submit]").await)
        .await;
    persian_message(
        b,
        "#console-error",
        "an unknown booking",
        "امروز نوبتی با این کد رهگیری در این دفتر نیست",
    )
    .await;

    // The invitation form: one digit repeated ten times.
    b.step("the invitation form");
    staff_session(b, &app, "manager", "fa").await;
    b.goto(&format!("{base}/staff/new")).await;
    b.type_into("input[name=national_code]", "1111111111").await;
    b.type_into("input[name=first_name]", "مریم").await;
    b.type_into("input[name=last_name]", "کاظمی").await;
    b.type_into("input[name=mobile]", "09121234567").await;
    b.click(&b.find("form.form-card button[type=submit]").await)
        .await;
    persian_message(b, ".alert-error", "a repeated digit", "کد ملی درست نیست").await;

    // Error pages: a page number and a province that do not exist.
    b.step("error pages");
    b.goto(&format!("{base}/offices?page=0")).await;
    persian_message(b, "main .card p", "page 0", "شماره صفحه").await;
    b.goto(&format!("{base}/offices?province=40")).await;
    persian_message(b, "main .card p", "province 40", "استانی با این شماره نیست").await;

    // The same code in English on an English page.
    b.goto(&format!("{base}/offices?page=0&lang=en")).await;
    b.find("main .card p").await;
    assert_eq!(
        visible_text(b, "main .card p").await,
        "The page number must be a positive whole number."
    );

    drop(fx);
    env.stop().await;
    app.stop().await;
}
