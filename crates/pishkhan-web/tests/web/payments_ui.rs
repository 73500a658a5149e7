//! The money screens in headless Chromium, against the reference card processor served on
//! loopback (`payments::enable_payments`): an operator takes a payment and the payer pays
//! on the processor's own page; a citizen pays online for a booking; the regulator settles
//! a past day and an office's manager sees only the office's share. At a phone's and a
//! laptop's width, in Persian and English, reading what the browser drew.

use pishkhan_domain::model::{Lang, ServiceCode};
use pishkhan_domain::money::Rials;
use serde_json::Value;

use crate::browser::{Browser, Env, Walk, check_page, path_of};
use crate::fees::{counter_service, seed_history};
use crate::payments::{CARD, FEE, Psp, enable_payments, start_payment, token_of, wait_for};
use crate::screen_a11y::axe_violations;
use crate::screen_kit::{
    SERVICE, browser_at, citizen_session, citizen_with_booking, has_latin_letter,
    has_persian_letter, staff_session, visible_text,
};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

/// The day the test clock starts on (Tehran), and the card processor's Sheba sample.
const TODAY: &str = "1405-09-07";
const SHEBA: &str = "IR820540102680020817909002";

fn lang_of(code: &str) -> Lang {
    Lang::parse(code).expect("fa or en")
}

fn amount(rials: i64, lang: &str) -> String {
    Rials::new(rials).unwrap().format_rials(lang_of(lang))
}

/// Digits as the page writes them.
fn digits(s: &str, lang: &str) -> String {
    pishkhan_domain::digits::localize_digits(s, lang_of(lang))
}

/// The payment number in the browser's path `/payments/{id}` or `/citizen/payments/{id}`.
fn id_in(url: &str) -> i64 {
    path_of(url)
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no payment number in {url}"))
}

/// Whether `css` is drawn with a size (not hidden, not collapsed).
async fn drawn(b: &Browser, css: &str) -> bool {
    b.exec(&format!(
        "const e = document.querySelector({css:?}); \
         if (!e) return false; const r = e.getBoundingClientRect(); \
         return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';"
    ))
    .await
        == Value::Bool(true)
}

/// Sets a select's value as a person picking the option would.
async fn choose(b: &Browser, css: &str, value: &str) {
    b.find(css).await;
    let set = b
        .exec(&format!(
            "const s = document.querySelector({css:?}); s.value = {value:?}; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value;"
        ))
        .await;
    assert_eq!(set, Value::String(value.into()), "{css} offers {value}");
}

/// Pays on the processor's page the browser is on, and waits to be sent back to `back`.
async fn pay_on_processor_page(b: &Browser, back: &str) {
    b.wait_for_url("the processor's payment page", |u| {
        path_of(u).starts_with("/pay/")
    })
    .await;
    b.type_into("#card", CARD).await;
    b.click(&b.find("button.pay").await).await;
    b.wait_for_url(back, |u| path_of(u).split('?').next() == Some(back))
        .await;
}

/// Waits (the page reloads itself) for the payment to be confirmed, and checks what the
/// page says: the status in words, and the receipt's reference number.
async fn confirmed(b: &Browser, app: &TestApp, token: &str, id: i64, lang: &str) {
    b.find("#payment[data-status=verified]").await;
    let status = visible_text(b, "#payment-status").await;
    let expected = match lang {
        "fa" => "پرداخت تأیید شد",
        _ => "Payment confirmed",
    };
    assert_eq!(status.trim(), expected, "payment {id} ({lang})");
    let p = app
        .get_as(&format!("/api/v1/payments/{id}"), Some(token))
        .await
        .json();
    let reference = p["ref_num"]
        .as_str()
        .expect("a reference number")
        .to_string();
    assert!(drawn(b, "#receipt-ref").await, "the reference is on screen");
    assert_eq!(
        visible_text(b, "#receipt-ref").await.trim(),
        digits(&reference, lang),
        "the receipt's reference ({lang})"
    );
    assert!(
        b.find_all("#receipt-qr svg").await.len() == 1,
        "the receipt's QR code"
    );
}

fn office_name(app: &TestApp, lang: &str) -> String {
    let office = app
        .nation
        .offices
        .iter()
        .find(|o| o.code.to_string() == DEMO_OFFICE)
        .expect("the demo office");
    office.name.get(lang_of(lang)).to_string()
}

fn agency_of(app: &TestApp, service: &ServiceCode) -> (String, String, String) {
    let code = app
        .nation
        .services
        .iter()
        .find(|s| s.code == *service)
        .expect("the service")
        .agency
        .clone();
    let agency = app
        .nation
        .agencies
        .iter()
        .find(|a| a.code == code)
        .expect("the service's agency");
    (
        code.to_string(),
        agency.name.fa.clone(),
        agency.name.en.clone(),
    )
}

#[tokio::test]
async fn browser_an_operator_takes_a_payment_the_payer_pays_and_the_receipt_shows() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let service = counter_service(&app);
    seed_history(&app, &service).await;
    let _psp: Psp = enable_payments(&app, 30_000, 60_000).await;
    // Receipts are signed with the exchange's receipt key.
    let _exchange = app.enable_exchange().await;
    let operator = app.login("operator", DEMO_PASSWORD).await;
    let payer = app.fresh_national_code();
    let work = tempfile::tempdir().unwrap();
    let mut walk = Walk::default();
    let mut problems = Vec::new();

    for (width, lang) in [(390, "fa"), (1366, "en")] {
        env.b.step(&format!("the counter at {width}px ({lang})"));
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        staff_session(b, &app, "operator", lang).await;

        // The console links to the payment step; the case comes prefilled from the query.
        b.goto(&format!("{base}/console")).await;
        b.find("#payments-link").await;
        let case = format!("CASE-{width}");
        b.goto(&format!("{base}/payments?case={case}")).await;
        let kept = b
            .attr(&b.find("input[name=case_id]").await, "value")
            .await
            .unwrap_or_default();
        assert_eq!(kept, case, "the case comes from ?case=");
        let offered = visible_text(b, "select[name=service]").await;
        assert!(
            offered.contains(&amount(FEE, lang)),
            "the service list shows the fee ({lang}): {offered}"
        );
        if width == 390 {
            check_page(b, lang, &mut walk).await;
            problems.extend(
                axe_violations(b)
                    .await
                    .into_iter()
                    .map(|v| format!("/payments: {v}")),
            );

            // A national code that cannot be: the reason in Persian, the form as typed.
            choose(b, "select[name=service]", service.as_str()).await;
            b.type_into("input[name=national_code]", "1111111111").await;
            b.click(&b.find("#take-payment button[type=submit]").await)
                .await;
            b.find("#payments-error").await;
            let said = visible_text(b, "#payments-error").await;
            assert!(
                has_persian_letter(&said) && !has_latin_letter(&said) && said.contains("کد ملی"),
                "a Persian refusal: {said:?}"
            );
            for (field, value) in [("national_code", "1111111111"), ("case_id", case.as_str())] {
                let v = b
                    .attr(&b.find(&format!("input[name={field}]")).await, "value")
                    .await
                    .unwrap_or_default();
                assert_eq!(v, value, "{field} is kept");
            }
            let chosen = b
                .exec("return document.querySelector('select[name=service]').value")
                .await;
            assert_eq!(
                chosen,
                Value::String(service.as_str().into()),
                "the service is kept"
            );
        }

        choose(b, "select[name=service]", service.as_str()).await;
        b.type_into("input[name=national_code]", &payer).await;
        b.type_into("input[name=case_id]", &case).await;
        b.click(&b.find("#take-payment button[type=submit]").await)
            .await;
        let url = b
            .wait_for_url("the payment's page", |u| {
                let p = path_of(u);
                p.starts_with("/payments/") && p[10..].bytes().all(|c| c.is_ascii_digit())
            })
            .await;
        let id = id_in(&url);

        // The amount and where to pay it, on screen.
        b.find("#payment[data-status=pending]").await;
        assert!(drawn(b, "#payment-amount").await, "the amount is drawn");
        let shown = visible_text(b, "#payment-amount").await;
        assert!(
            shown.contains(&amount(FEE, lang)),
            "the amount in {lang}: {shown:?}"
        );
        assert!(drawn(b, "#pay-link").await, "the pay link is drawn");
        assert!(
            drawn(b, "#pay-qr svg").await,
            "the pay link's QR code is drawn"
        );
        let shares = visible_text(b, "#payment-components").await;
        assert!(
            shares.contains(&office_name(&app, lang)) && !shares.contains("office:"),
            "shares name their payees ({lang}): {shares}"
        );
        if width == 390 {
            check_page(b, lang, &mut walk).await;
            problems.extend(
                axe_violations(b)
                    .await
                    .into_iter()
                    .map(|v| format!("/payments/{id}: {v}")),
            );
        }

        // The payer pays on the processor's page and is sent back.
        b.click(&b.find("#pay-link").await).await;
        pay_on_processor_page(b, &format!("/payments/{id}")).await;
        confirmed(b, &app, &operator, id, lang).await;

        // Today's list shows it.
        b.goto(&format!("{base}/payments")).await;
        let today = visible_text(b, "#payments-today").await;
        assert!(
            today.contains(&digits(&id.to_string(), lang)),
            "today's payments list {id}: {today}"
        );
        // An operator refunds nothing; the office's manager may, within what was paid.
        assert!(
            b.find_all("#refund-form").await.is_empty(),
            "no refund form for an operator"
        );
        if width == 1366 {
            refund_as_manager(b, &app, id, lang).await;
        }
        session.quit().await;
    }

    walk.finish();
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "axe-core at 390px: {problems:#?}");
}

/// The manager refunds part of payment `id`: too much is refused in the page's language with
/// the form as typed, then a part is refunded and listed.
async fn refund_as_manager(b: &Browser, app: &TestApp, id: i64, lang: &str) {
    staff_session(b, app, "manager", lang).await;
    b.goto(&format!("{}/payments/{id}", app.base)).await;
    b.type_into(
        "#refund-form input[name=amount_rials]",
        &(FEE + 1).to_string(),
    )
    .await;
    b.type_into("#refund-form input[name=reason]", "service not given")
        .await;
    b.click(&b.find("#refund-form button[type=submit]").await)
        .await;
    b.find("#payment-error").await;
    let said = visible_text(b, "#payment-error").await;
    let expected = match lang {
        "fa" => "مبلغ بازپرداخت از باقی‌ماندهٔ این پرداخت بیشتر است.",
        _ => "The refund is more than what is left of this payment.",
    };
    assert_eq!(said.trim(), expected, "too large a refund ({lang})");
    let kept = b
        .attr(&b.find("#refund-form input[name=reason]").await, "value")
        .await
        .unwrap_or_default();
    assert_eq!(kept, "service not given", "the reason is kept");
    b.type_into("#refund-form input[name=amount_rials]", "50000")
        .await;
    b.click(&b.find("#refund-form button[type=submit]").await)
        .await;
    b.find("#payment-notice").await;
    let refunds = visible_text(b, "#payment-refunds").await;
    assert!(
        refunds.contains(&amount(50_000, lang)) && refunds.contains("service not given"),
        "the refund is listed ({lang}): {refunds}"
    );
}

#[tokio::test]
async fn browser_a_citizen_pays_online_for_a_booking() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    seed_history(&app, &ServiceCode::parse(SERVICE).unwrap()).await;
    let _psp = enable_payments(&app, 30_000, 60_000).await;
    let _exchange = app.enable_exchange().await;
    let work = tempfile::tempdir().unwrap();
    let mut walk = Walk::default();
    let mut problems = Vec::new();

    for (width, lang, mobile) in [(390, "fa", "09351117701"), (1366, "en", "09351117702")] {
        env.b
            .step(&format!("a citizen pays online at {width}px ({lang})"));
        let citizen = citizen_with_booking(&app, mobile).await;
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        citizen_session(b, &app, &citizen, lang).await;

        // The booking shows its fee and a button to pay it.
        b.goto(&format!("{base}/citizen")).await;
        b.find(".booking .fee").await;
        let fee = visible_text(b, ".booking .fee").await;
        assert!(
            fee.contains(&amount(FEE, lang)),
            "the fee ({lang}): {fee:?}"
        );
        b.click(&b.find(".booking form.pay-online button").await)
            .await;

        // Straight on to the processor's page, and back to the citizen's payment.
        b.wait_for_url("the processor's page", |u| path_of(u).starts_with("/pay/"))
            .await;
        let payments = app.get_as("/api/v1/payments", Some(&citizen)).await.json();
        let id = payments[0]["id"].as_i64().expect("the citizen's payment");
        pay_on_processor_page(b, &format!("/citizen/payments/{id}")).await;
        confirmed(b, &app, &citizen, id, lang).await;
        if width == 390 {
            check_page(b, lang, &mut walk).await;
        }

        // Their list of payments shows it, confirmed, with a link to its receipt.
        b.goto(&format!("{base}/citizen/payments")).await;
        b.find("#citizen-payments").await;
        let row = visible_text(b, "#citizen-payments tbody tr").await;
        let paid = match lang {
            "fa" => "پرداخت تأیید شد",
            _ => "Payment confirmed",
        };
        assert!(
            row.contains(paid),
            "the list says it is paid ({lang}): {row}"
        );
        assert!(
            b.find_all(&format!(
                "#citizen-payments a[href='/citizen/payments/{id}']"
            ))
            .await
            .len()
                == 1,
            "the row links to the payment"
        );
        if width == 390 {
            check_page(b, lang, &mut walk).await;
            problems.extend(
                axe_violations(b)
                    .await
                    .into_iter()
                    .map(|v| format!("/citizen/payments: {v}")),
            );
        }

        // The booking no longer offers to pay.
        b.goto(&format!("{base}/citizen")).await;
        b.find(".booking .paid-link").await;
        assert!(
            b.find_all(".booking form.pay-online").await.is_empty(),
            "a paid booking is not offered for payment again"
        );
        session.quit().await;
    }

    walk.finish();
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "axe-core at 390px: {problems:#?}");
}

/// A payment taken and paid through the API (the browser story above covers the screens).
async fn paid_payment(app: &TestApp, psp: &Psp, operator: &str, case: &str) -> i64 {
    let p = start_payment(app, operator, case, case).await;
    assert_eq!(p.status, 201, "{}", p.text);
    let p = p.json();
    let id = p["id"].as_i64().unwrap();
    psp.payer
        .pay_as_payer(&token_of(p["pay_url"].as_str().unwrap()), CARD)
        .await
        .unwrap();
    wait_for(app, operator, id, |v| v["status"] == "verified").await;
    id
}

/// Fills and sends the page's Sheba form.
async fn name_sheba(b: &Browser, account: Option<&str>) {
    if let Some(account) = account {
        choose(b, "#payee-form select[name=account]", account).await;
    }
    b.type_into("#payee-form input[name=sheba]", SHEBA).await;
    b.type_into("#payee-form input[name=holder]", "حساب تسویه")
        .await;
    b.click(&b.find("#payee-form button[type=submit]").await)
        .await;
    b.find("#settlements-notice").await;
}

#[tokio::test]
async fn browser_the_regulator_settles_a_day_and_the_manager_sees_the_offices_share() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let service = counter_service(&app);
    seed_history(&app, &service).await;
    let psp = enable_payments(&app, 30_000, 60_000).await;
    let operator = app.login("operator", DEMO_PASSWORD).await;
    paid_payment(&app, &psp, &operator, "case-s1").await;
    paid_payment(&app, &psp, &operator, "case-s2").await;
    let (agency, agency_fa, agency_en) = agency_of(&app, &service);
    let work = tempfile::tempdir().unwrap();
    let mut walk = Walk::default();

    // The manager names the office's Sheba account; the regulator the agency's.
    env.b.step("Sheba accounts");
    let wide = browser_at(&env, work.path(), 1366, &app).await;
    let b = &wide;
    staff_session(b, &app, "manager", "fa").await;
    b.goto(&format!("{base}/settlements")).await;
    name_sheba(b, None).await;
    staff_session(b, &app, "regulator", "fa").await;
    b.goto(&format!("{base}/settlements")).await;
    name_sheba(b, Some(&format!("agency:{agency}"))).await;

    // Today is not over: refused in Persian, the date kept.
    env.b.step("settle today");
    b.type_into("#settle-form input[name=date]", TODAY).await;
    b.click(&b.find("#settle-form button[type=submit]").await)
        .await;
    b.find("#settlements-error").await;
    let said = visible_text(b, "#settlements-error").await;
    assert!(
        has_persian_letter(&said) && !has_latin_letter(&said),
        "a Persian refusal: {said:?}"
    );
    let kept = b
        .attr(&b.find("#settle-form input[name=date]").await, "value")
        .await
        .unwrap_or_default();
    assert_eq!(kept, TODAY, "the date is kept");

    // A day later, the regulator settles it and sees each payee's share by name.
    env.b.step("settle yesterday");
    app.clock.advance(time::Duration::days(1));
    // A day outlives the session: sign in again.
    staff_session(b, &app, "regulator", "fa").await;
    b.goto(&format!("{base}/settlements")).await;
    b.type_into("#settle-form input[name=date]", TODAY).await;
    b.click(&b.find("#settle-form button[type=submit]").await)
        .await;
    b.find("#settlements-notice").await;
    let day = visible_text(b, ".settlement-day").await;
    for (what, text) in [
        ("the office", office_name(&app, "fa")),
        ("the agency", agency_fa.clone()),
        ("the office's share", amount(2 * 81_000, "fa")),
        ("the agency's share", amount(2 * 135_000, "fa")),
    ] {
        assert!(
            day.contains(&text),
            "{what} ({text}) in the day's settlement: {day}"
        );
    }
    assert!(
        !day.contains("office:") && !day.contains("agency:"),
        "payees by name, not account codes: {day}"
    );

    // The day's file, with the browser's session.
    let session = app.login("regulator", DEMO_PASSWORD).await;
    let csv = app
        .client
        .get(app.url(&format!("/settlements/{TODAY}/file")))
        .header("cookie", format!("pishkhan_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("date,payee,holder,sheba,amount_rials,payments\n") && csv.contains(SHEBA),
        "{csv}"
    );

    // The reconciliation with the processor's report is listed.
    env.b.step("reconcile");
    b.type_into("#reconcile-form input[name=date]", TODAY).await;
    b.click(&b.find("#reconcile-form button[type=submit]").await)
        .await;
    b.find("#settlements-notice").await;
    b.find(".reconciliation").await;
    wide.quit().await;

    // The manager, on a phone in English, sees the office's share and nothing else's.
    env.b.step("the manager's view");
    let phone = browser_at(&env, work.path(), 390, &app).await;
    let b = &phone;
    staff_session(b, &app, "manager", "en").await;
    b.goto(&format!("{base}/settlements")).await;
    b.find(".settlement-day").await;
    let day = visible_text(b, ".settlement-day").await;
    assert!(
        day.contains(&office_name(&app, "en")) && day.contains(&amount(2 * 81_000, "en")),
        "the office's share: {day}"
    );
    assert!(
        !day.contains(&agency_en) && !day.contains(&amount(2 * 135_000, "en")),
        "no other payee's share: {day}"
    );
    assert!(
        b.find_all("#settle-form, #reconcile-form").await.is_empty(),
        "a manager neither settles nor reconciles"
    );
    check_page(b, "en", &mut walk).await;
    let axe = axe_violations(b).await;
    phone.quit().await;

    walk.finish();
    drop(psp);
    env.stop().await;
    app.stop().await;
    assert!(
        axe.is_empty(),
        "axe-core at 390px on /settlements: {axe:#?}"
    );
}
