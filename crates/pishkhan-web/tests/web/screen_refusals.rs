//! Every form's refusal, as a person sees it: each form of the pages is sent with bad input
//! (and each list page asked for a page or filter that does not exist), and the message that
//! answers must be on screen where the person looks (drawn, inside the viewport, on top)
//! and in the page's language, by the rules of `screen_rules.rs`. On a phone, in Persian and
//! English; screenshots as `refusal-<case>-<lang>-390.png` beside the sweep's.

use std::time::Duration;

use serde_json::Value;

use crate::browser::{Browser, Env};
use crate::screen_rules::{language_problems, not_in_view, settle, shown_texts};
use crate::screen_sweep::{Sweep, Who, shoot};
use crate::support::{DEMO_OFFICE, OTHER_OFFICE};

/// A form sent with bad input: who sends it where, what is typed (a `select` is chosen),
/// the button that sends it (none: the path itself is the bad input), and where the
/// refusal is shown.
struct Refusal {
    name: &'static str,
    who: Who,
    path: String,
    fill: Vec<(&'static str, String)>,
    submit: Option<&'static str>,
    shown_in: &'static str,
}

fn refusals(sweep: &Sweep) -> Vec<Refusal> {
    use Who::*;
    let person = (0..sweep.exchange.population.size())
        .map(|i| sweep.exchange.population.person(i))
        .find(|p| p.alive && p.card_status == pishkhan_agency::CardStatus::Valid)
        .expect("a person to check");
    let case = |name, who, path: String, fill: &[(&'static str, &str)], submit, shown_in| Refusal {
        name,
        who,
        path,
        fill: fill.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        submit,
        shown_in,
    };
    let card = "main .card p";
    let manage = format!("/offices/{DEMO_OFFICE}/manage");
    let birth = person.birth_date.to_string();
    let mut all = vec![
        case(
            "sign-in-wrong-password",
            Nobody,
            "/login".into(),
            &[
                ("input[name=username]", "regulator"),
                ("input[name=password]", "not-the-password-1"),
            ],
            Some("form.form-card button[type=submit]"),
            ".alert-error",
        ),
        case(
            "invitation-repeated-digit",
            Staff("manager"),
            "/staff/new".into(),
            &[
                ("input[name=national_code]", "1111111111"),
                ("input[name=first_name]", "مریم"),
                ("input[name=last_name]", "کاظمی"),
                ("input[name=mobile]", "09121234567"),
            ],
            Some("form.form-card button[type=submit]"),
            ".alert-error",
        ),
        case(
            "invitation-passwords-differ",
            Nobody,
            format!("/invite/{}", sweep.invitation),
            &[
                ("input[name=password]", "Persian-pass-1405"),
                ("input[name=password_again]", "Persian-pass-1406"),
            ],
            Some("form.form-card button[type=submit]"),
            ".alert-error",
        ),
        case(
            "identity-month-13",
            Staff("operator"),
            "/console/identity".into(),
            &[
                ("input[name=national_code]", person.national_code.as_str()),
                ("input[name=first_name]", person.first_name),
                ("input[name=last_name]", person.last_name),
                ("input[name=birth_date]", "1370-13-05"),
                ("input[name=service_code]", "NID-001"),
                ("input[name=case_id]", "CASE-7"),
            ],
            Some("#identity-form button[type=submit]"),
            "#identity-error",
        ),
        case(
            "identity-unknown-service",
            Staff("operator"),
            "/console/identity".into(),
            &[
                ("input[name=national_code]", person.national_code.as_str()),
                ("input[name=first_name]", person.first_name),
                ("input[name=last_name]", person.last_name),
                ("input[name=birth_date]", &birth),
                ("input[name=service_code]", "ZZZ-999"),
                ("input[name=case_id]", "CASE-8"),
            ],
            Some("#identity-form button[type=submit]"),
            "#identity-error",
        ),
        case(
            "cpi-bad-lines",
            Staff("regulator"),
            "/tariffs".into(),
            &[
                ("#cpi-form input[name=source]", "مرکز آمار ایران"),
                (
                    "#cpi-form textarea[name=csv]",
                    "year,month,index\n1404,13,100\n1404,2,x\n",
                ),
            ],
            Some("#cpi-form button[type=submit]"),
            "main .alert-error",
        ),
        case(
            "tariff-run-unknown-series",
            Staff("regulator"),
            "/tariffs".into(),
            &[("#run-form input[name=cpi_import]", "999999")],
            Some("#run-form button[type=submit]"),
            "main .alert-error",
        ),
        case(
            "tariff-publish-bad-date",
            Staff("regulator"),
            format!("/tariffs/runs/{}", sweep.run),
            &[("#publish-form input[name=effective_from]", "1406-13-01")],
            Some("#publish-form button[type=submit]"),
            "#run-error",
        ),
        case(
            "tariff-row-unknown-service",
            Staff("regulator"),
            format!("/tariffs/runs/{}", sweep.run),
            &[
                ("#edit-form input[name=service]", "ZZZ-999"),
                ("#edit-form input[name=amount]", "100000"),
                ("#edit-form input[name=reason]", "اصلاح مبلغ"),
            ],
            Some("#edit-form button[type=submit]"),
            "#run-error",
        ),
        case(
            "payment-repeated-digit",
            Staff("operator"),
            "/payments".into(),
            &[
                ("select[name=service]", &sweep.service),
                ("input[name=national_code]", "1111111111"),
                ("input[name=case_id]", "CASE-9"),
            ],
            Some("#take-payment button[type=submit]"),
            "#payments-error",
        ),
        case(
            "refund-too-large",
            Staff("manager"),
            format!("/payments/{}", sweep.paid),
            &[
                ("#refund-form input[name=amount_rials]", "999999999"),
                ("#refund-form input[name=reason]", "خدمت داده نشد"),
            ],
            Some("#refund-form button[type=submit]"),
            "#payment-error",
        ),
        case(
            "settle-bad-date",
            Staff("regulator"),
            "/settlements".into(),
            &[("#settle-form input[name=date]", "1405-13-01")],
            Some("#settle-form button[type=submit]"),
            "#settlements-error",
        ),
        case(
            "payee-bad-sheba",
            Staff("manager"),
            "/settlements".into(),
            &[
                (
                    "#payee-form input[name=sheba]",
                    "IR000000000000000000000001",
                ),
                ("#payee-form input[name=holder]", "دفتر پیشخوان"),
            ],
            Some("#payee-form button[type=submit]"),
            "#settlements-error",
        ),
        case(
            "hours-past-midnight",
            Staff("manager"),
            manage.clone(),
            &[("#hours-form input[name^=open_]", "25:00")],
            Some("#hours-form button[type=submit]"),
            "#hours-error",
        ),
        case(
            "schedule-zero-minutes",
            Staff("manager"),
            manage.clone(),
            &[("#schedule-form input[name=slot_minutes]", "0")],
            Some("#schedule-form button[type=submit]"),
            "#schedule-error",
        ),
        case(
            "closure-bad-date",
            Staff("manager"),
            manage.clone(),
            &[
                ("#closure-form input[name=date]", "1405-13-40"),
                ("#closure-form input[name=reason_fa]", "سرشماری"),
                ("#closure-form input[name=reason_en]", "Census"),
            ],
            Some("#closure-form button[type=submit]"),
            "#closure-error",
        ),
        case(
            "counters-unknown-service",
            Staff("manager"),
            manage,
            &[("#counters-form input:not([type=hidden])", "ZZZ-999")],
            Some("#counters-form button[type=submit]"),
            "#counters-error",
        ),
        case(
            "rules-negative-threshold",
            Staff("regulator"),
            "/compliance".into(),
            &[("#rules-form input[inputmode=numeric]", "-5")],
            Some("#rules-form button[type=submit]"),
            "#rules-error",
        ),
        case(
            "reinstate-an-active-office",
            Staff("regulator"),
            format!("/compliance/offices/{OTHER_OFFICE}"),
            &[("#sanction-form textarea[name=reason]", "بازگشایی دفتر")],
            Some("#reinstate"),
            "#compliance-error",
        ),
        case(
            "check-in-unknown-code",
            Staff("operator"),
            "/console".into(),
            &[("#check-in-form input[name=code]", "75UE-T9B3")],
            Some("#check-in-form button[type=submit]"),
            "#console-error",
        ),
        case(
            "citizen-sign-in-bad-mobile",
            Nobody,
            "/citizen/login".into(),
            &[
                ("input[name=national_code]", person.national_code.as_str()),
                ("input[name=mobile]", "0912"),
            ],
            Some("main form button[type=submit]"),
            ".alert-error",
        ),
    ];
    for (name, path) in [
        ("offices-page-0", "/offices?page=0"),
        ("offices-province-99", "/offices?province=99"),
        ("services-page-0", "/services?page=0"),
        ("audit-page-0", "/audit?page=0"),
        ("reports-page-0", "/reports?page=0"),
        ("no-such-page", "/no-such-page"),
    ] {
        all.push(case(name, Staff("regulator"), path.into(), &[], None, card));
    }
    all
}

/// Sets a `select` as a person choosing the option would.
async fn choose(b: &Browser, css: &str, value: &str) -> bool {
    b.exec(&format!(
        "const s = document.querySelector({css:?}); if (!s) return false; s.value = {value:?}; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value === {value:?};"
    ))
    .await
        == Value::Bool(true)
}

/// Waits, bounded, for `css` to be on the page.
pub(crate) async fn appears(b: &Browser, css: &str) -> bool {
    for _ in 0..60 {
        if !b.find_all(css).await.is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Sends one bad input and says what is wrong with the refusal shown, if anything.
async fn try_refusal(b: &Browser, sweep: &Sweep, r: &Refusal, lang: &str) -> Vec<String> {
    b.goto(&format!("{}{}", sweep.app.base, r.path)).await;
    let mut problems = Vec::new();
    for (css, value) in &r.fill {
        let filled = if css.starts_with("select") {
            choose(b, css, value).await
        } else if b.find_all(css).await.is_empty() {
            false
        } else {
            b.type_into(css, value).await;
            true
        };
        if !filled {
            problems.push(format!("no field {css} to fill"));
        }
    }
    if let Some(button) = r.submit {
        match b.find_all(button).await.into_iter().next() {
            Some(el) if problems.is_empty() => b.click(&el).await,
            Some(_) => {}
            None => problems.push(format!("no button {button}")),
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    if !appears(b, r.shown_in).await {
        return vec![format!("no refusal shown in {}", r.shown_in)];
    }
    settle(b).await;
    if let Some(why) = not_in_view(b, r.shown_in).await {
        problems.push(format!("the refusal is not in view: {why}"));
    }
    let texts = shown_texts(b, r.shown_in).await;
    let said: String = texts
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let in_words = match lang {
        "fa" => said.chars().any(|c| ('\u{0621}'..='\u{06CC}').contains(&c)),
        _ => said.chars().any(|c| c.is_ascii_alphabetic()),
    };
    if !in_words {
        problems.push(format!("no words in the page's language: {said:?}"));
    }
    problems.extend(language_problems(&texts, lang));
    problems
}

#[tokio::test]
async fn browser_every_forms_refusal_is_seen_in_the_pages_language() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let sweep = Sweep::start().await;
    let cases = refusals(&sweep);
    let mut problems = Vec::new();
    for lang in ["fa", "en"] {
        let mut current = None;
        for r in &cases {
            b.step(&format!("refusal {} ({lang})", r.name));
            if current != Some(r.who) {
                sweep.be(b, r.who, lang).await;
                current = Some(r.who);
            }
            let found = try_refusal(b, &sweep, r, lang).await;
            let shot = shoot(b, &format!("refusal-{}", r.name), lang, 390).await;
            for p in found {
                problems.push(format!("{} ({lang}): {p} (see {shot})", r.name));
            }
        }
    }
    env.stop().await;
    sweep.stop().await;
    assert!(
        problems.is_empty(),
        "refusals not seen right: {problems:#?}"
    );
}
