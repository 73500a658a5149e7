//! Right-to-left pages with numbers, codes and dates in them: each drawn in its own order
//! (a date's year left of its day), and no separator a reader could take for a digit.
//! Checked on where the browser put the characters.

use serde_json::json;

use crate::browser::{Browser, Env};
use crate::screen_kit::{citizen_session, staff_session, strings, visible_text, year_and_day_x};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

/// Places where a middle dot stands beside a digit: in Persian text "·" next to "۱۵۲" reads
/// as the digit zero (۰).
async fn dots_beside_digits(b: &Browser) -> Vec<String> {
    let found = b
        .exec(
            r#"
            const text = document.body.innerText;
            const re = /.{0,12}([0-9۰-۹]\s*·|·\s*[0-9۰-۹]).{0,12}/g;
            return [...text.matchAll(re)].map(m => m[0]);
            "#,
        )
        .await;
    strings(&found)
}

/// The date under `css` is drawn year first, left to right.
async fn assert_date_reads_left_to_right(b: &Browser, css: &str, what: &str) {
    b.find(css).await;
    let (year, day) = year_and_day_x(b, css)
        .await
        .unwrap_or_else(|| panic!("{what}: no date under {css}"));
    assert!(
        year < day,
        "{what}: the year is drawn right of the day (year at x={year}, day at x={day}), \
         so the date reads backwards"
    );
}

#[tokio::test]
async fn browser_numbers_codes_and_dates_read_in_their_own_order() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let fx = app.enable_exchange().await;
    let base = app.base.clone();
    let mut dots = Vec::new();

    // The identity form's date hint, in Persian and in English.
    for lang in ["fa", "en"] {
        staff_session(b, &app, "operator", lang).await;
        b.goto(&format!("{base}/console/identity")).await;
        assert_date_reads_left_to_right(b, "#identity-form", "the birth date hint").await;
        dots.extend(dots_beside_digits(b).await);
    }
    b.goto(&format!("{base}/console")).await;
    b.find("main h1").await;
    dots.extend(dots_beside_digits(b).await);

    // Staff pages with codes and counts.
    staff_session(b, &app, "manager", "fa").await;
    for path in ["/dashboard".to_string(), format!("/offices/{DEMO_OFFICE}")] {
        b.goto(&format!("{base}{path}")).await;
        b.find("main h1").await;
        for d in dots_beside_digits(b).await {
            dots.push(format!("{path}: {d}"));
        }
    }

    // A citizen who was looked up: the data-access page's dates.
    let person = (0..fx.population.size())
        .map(|i| fx.population.person(i))
        .find(|p| {
            p.alive && p.card_status == pishkhan_agency::CardStatus::Valid && p.mobile.is_some()
        })
        .expect("a person with a mobile");
    let operator = app.login("operator", DEMO_PASSWORD).await;
    let checked = app
        .post_json(
            "/api/v1/identity/verifications",
            Some(&operator),
            &json!({
                "national_code": person.national_code.as_str(),
                "first_name": person.first_name,
                "last_name": person.last_name,
                "birth_date": person.birth_date.to_string(),
                "purpose": { "service_code": "NID-001", "case_id": "CASE-12" },
            }),
        )
        .await;
    assert_eq!(checked.status, 200, "{}", checked.text);
    let mobile = person.mobile.as_ref().unwrap().as_str().to_string();
    let citizen = app
        .citizen_token(person.national_code.as_str(), &mobile)
        .await;
    citizen_session(b, &app, &citizen, "fa").await;
    b.goto(&format!("{base}/citizen/data-access")).await;
    // The time is in words ("شنبه ۱۵ آذر ۱۴۰۵، ۱۰:۲۳"), so it cannot read backwards.
    let when = visible_text(b, "#access .when").await;
    assert!(
        when.contains("آذر ۱۴۰۵") && !when.chars().any(|c| c.is_ascii_digit()),
        "the inquiry's time in words: {when:?}"
    );
    for d in dots_beside_digits(b).await {
        dots.push(format!("/citizen/data-access: {d}"));
    }
    b.screenshot("/tmp/pishkhan-data-access-fa.png").await;

    // Office cards found by a search: the office's code beside its address.
    b.goto(&format!(
        "{base}/citizen/book?service=PSP-001&place=%DA%A9%D8%A7%D8%B4%D8%A7%D9%86%DB%8C"
    ))
    .await;
    b.find("#office-list li").await;
    for d in dots_beside_digits(b).await {
        dots.push(format!("/citizen/book (office cards): {d}"));
    }
    b.screenshot("/tmp/pishkhan-office-cards-fa.png").await;

    drop(fx);
    env.stop().await;
    app.stop().await;
    assert!(
        dots.is_empty(),
        "a middle dot beside a digit reads as a zero: {dots:#?}"
    );
}
