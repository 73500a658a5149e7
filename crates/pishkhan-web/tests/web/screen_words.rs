//! Pages speak in names people use: an inquiry's name rather than `civil-registry.person`,
//! a matching profile's rather than `fa-name-1`, a member of staff's name rather than a
//! username, an audit action's rather than `auth.login`; the codes stay in tooltips and the
//! API. Digits and punctuation follow the page's language.

use crate::browser::{Browser, Env};
use crate::screen_kit::{citizen_session, has_latin_letter, staff_session, strings, visible_text};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

/// The visible text of every cell in column `n` (from 1) of the table `css`.
async fn column(b: &Browser, css: &str, n: usize) -> Vec<String> {
    strings(
        &b.exec(&format!(
            "return [...document.querySelectorAll({:?})].map(td => td.innerText.trim());",
            format!("{css} tbody tr td:nth-child({n})")
        ))
        .await,
    )
}

#[tokio::test]
async fn browser_pages_show_names_not_codes() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let fx = app.enable_exchange().await;
    let base = app.base.clone();
    let mut problems = Vec::new();
    let person = (0..fx.population.size())
        .map(|i| fx.population.person(i))
        .find(|p| {
            p.alive && p.card_status == pishkhan_agency::CardStatus::Valid && p.mobile.is_some()
        })
        .expect("a person with a mobile");
    let mobile = person.mobile.as_ref().unwrap().as_str().to_string();

    // An identity check at the counter, its result and its receipt.
    b.step("identity check");
    staff_session(b, &app, "operator", "fa").await;
    b.goto(&format!("{base}/console/identity")).await;
    b.type_into("input[name=national_code]", person.national_code.as_str())
        .await;
    b.type_into("input[name=first_name]", person.first_name)
        .await;
    b.type_into("input[name=last_name]", person.last_name).await;
    b.type_into("input[name=birth_date]", &person.birth_date.to_string())
        .await;
    b.type_into("input[name=mobile]", &mobile).await;
    b.type_into("input[name=service_code]", "NID-001").await;
    b.type_into("input[name=case_id]", "CASE-21").await;
    b.click(&b.find("#identity-form button[type=submit]").await)
        .await;
    b.find("#identity-result").await;
    let result = visible_text(b, "#identity-result").await;
    if result.contains("fa-name-1") {
        problems.push(format!(
            "identity result shows the profile's code: {result}"
        ));
    }
    let receipt = b
        .attr(&b.find("#print-receipt").await, "href")
        .await
        .expect("receipt link");
    b.goto(&format!("{base}{receipt}")).await;
    b.find("#receipt").await;
    let shown = visible_text(b, "#receipt dl").await;
    if shown.contains("fa-name-1") {
        problems.push(format!("receipt shows the profile's code: {shown}"));
    }
    if shown.lines().any(|l| l.trim() == "operator") {
        problems.push(format!("receipt shows the operator's username: {shown}"));
    }

    // The citizen's data-access page: who looked, which inquiry, on what basis.
    b.step("data access");
    let citizen = app
        .citizen_token(person.national_code.as_str(), &mobile)
        .await;
    citizen_session(b, &app, &citizen, "fa").await;
    b.goto(&format!("{base}/citizen/data-access")).await;
    b.find("#access li").await;
    for (css, what) in [
        ("#access .operator", "operator"),
        ("#access .access-what", "inquiry and agency"),
        ("#access .purpose", "purpose"),
    ] {
        let shown = visible_text(b, css).await;
        if shown.is_empty() || has_latin_letter(&shown) {
            problems.push(format!("data access: {what} {shown:?}"));
        }
    }

    // The audit log.
    b.step("audit log");
    let _ = app.login("manager", DEMO_PASSWORD).await;
    staff_session(b, &app, "regulator", "fa").await;
    b.goto(&format!("{base}/audit")).await;
    b.find("table.data tbody tr").await;
    for (n, what) in [(2, "actor"), (3, "action")] {
        for cell in column(b, "table.data", n).await {
            if has_latin_letter(&cell) {
                problems.push(format!("audit {what}: {cell:?}"));
            }
        }
    }
    for cell in column(b, "table.data", 4).await {
        if cell.starts_with("staff:") || cell.starts_with("office:") {
            problems.push(format!("audit target: {cell:?}"));
        }
    }
    let filter = visible_text(b, "form.filters").await;
    let placeholders = strings(
        &b.exec(
            "return [...document.querySelectorAll('main [placeholder]')].map(e => e.placeholder);",
        )
        .await,
    );
    if filter.contains("auth.") || placeholders.iter().any(|p| p.contains("auth.")) {
        problems.push(format!(
            "audit filter offers raw actions: {filter:?} {placeholders:?}"
        ));
    }

    // Placeholders in the page's digits; catalogue inquiries by name.
    b.step("invitation form and service page");
    staff_session(b, &app, "manager", "fa").await;
    b.goto(&format!("{base}/staff/new")).await;
    let mobile_hint = b
        .attr(&b.find("input[name=mobile]").await, "placeholder")
        .await
        .unwrap_or_default();
    if mobile_hint.chars().any(|c| c.is_ascii_digit()) {
        problems.push(format!(
            "invitation: Latin-digit placeholder {mobile_hint:?}"
        ));
    }
    b.goto(&format!("{base}/services/NID-001")).await;
    let service = visible_text(b, "main").await;
    if service.contains("civil-registry") || service.contains("mobile.ownership") {
        problems.push(format!("service page names inquiries by id: {service}"));
    }

    // English pages use the English comma.
    b.step("English office page");
    staff_session(b, &app, "manager", "en").await;
    b.goto(&format!("{base}/offices/{DEMO_OFFICE}")).await;
    let subtitle = visible_text(b, "main .subtitle").await;
    if subtitle.contains('،') {
        problems.push(format!(
            "English office page: Persian comma in {subtitle:?}"
        ));
    }

    drop(fx);
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "codes shown to people: {problems:#?}");
}
