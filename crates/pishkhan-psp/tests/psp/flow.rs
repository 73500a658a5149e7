//! The Shaparak flow: token, page, pay, callback, verify, report; cancel; reversal; refunds.

use std::time::Duration;

use pishkhan_app::psp_client::{CallbackStatus, ReportKind, VerifyStatus, problem};
use pishkhan_protocol::psp::is_token;

use crate::{CARD, MERCHANT, Merchant, Server, WINDOW_MS, config, day, noon_ms, raw};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn token_page_pay_callback_verify_and_the_report_lists_it() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    let today = day("1405-01-15");
    psp.control().set_now(noon_ms(today)).await.unwrap();

    let token = merchant.token(&client, 1001, 1_250_000).await;
    assert!(is_token(&token));
    // The same order and amount: the same token; another amount: refused.
    assert_eq!(merchant.token(&client, 1001, 1_250_000).await, token);
    let err = client
        .token(
            1001,
            1_250_001,
            &merchant.callback_url,
            &merchant.return_url,
        )
        .await
        .unwrap_err();
    assert!(err.is_refused(problem::ORDER_CONFLICT), "{err}");

    let page = raw().get(client.pay_url(&token)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    for expected in [
        "lang=\"fa\" dir=\"rtl\"",
        "۱٬۲۵۰٬۰۰۰ ریال",
        "۱۲۵٬۰۰۰ تومان",
        "1,250,000 rials",
        "۱۰۰۱",
        MERCHANT,
        "name=\"card\"",
        "value=\"pay\"",
        "value=\"cancel\"",
    ] {
        assert!(html.contains(expected), "the page lacks {expected}");
    }
    assert!(!html.contains("<script"), "no scripts on the page");

    let back = client
        .pay_as_payer(&token, "6037 9900 0000 0006")
        .await
        .unwrap();
    assert_eq!(back, merchant.return_url);
    let cb = merchant.next(5 * SECOND).await.expect("a callback");
    assert_eq!(cb.token, token);
    assert_eq!(cb.order_id, 1001);
    assert_eq!(cb.status, CallbackStatus::Paid);
    assert_eq!(cb.amount_rials, 1_250_000);
    assert_eq!(cb.card_mask.as_deref(), Some("603799******0006"));
    let ref_num = cb.ref_num.clone().expect("a ref_num");
    assert!(ref_num.len() == 12 && ref_num.bytes().all(|b| b.is_ascii_digit()));
    // A second submit of the page (a double click) lands in the same place, no new callback.
    assert_eq!(
        client.pay_as_payer(&token, CARD).await.unwrap(),
        merchant.return_url
    );

    let verified = client.verify(&token).await.unwrap();
    assert_eq!(verified.status, VerifyStatus::Verified);
    assert_eq!(verified.order_id, 1001);
    assert_eq!(verified.amount_rials, 1_250_000);
    assert_eq!(verified.ref_num, ref_num);
    assert_eq!(verified.card_mask, "603799******0006");
    assert_eq!(
        client.verify(&token).await.unwrap(),
        verified,
        "verify is idempotent"
    );
    assert!(merchant.next(Duration::from_millis(300)).await.is_none());

    let rows = client.settlement_report(today).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.kind,
            row.order_id,
            row.token.as_str(),
            row.ref_num.as_str()
        ),
        (ReportKind::Payment, 1001, token.as_str(), ref_num.as_str())
    );
    assert_eq!((row.date, row.amount_rials), (today, 1_250_000));
    assert!(
        client
            .settlement_report(today.add_days(-1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        client
            .settlement_report(today.add_days(1))
            .await
            .unwrap()
            .is_empty()
    );

    // Once paid, the page says so and offers no form.
    let html = raw().get(client.pay_url(&token)).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("has been paid") && !html.contains("<form"));
    psp.stop().await;
}

#[tokio::test]
async fn a_cancelled_payment_calls_back_and_cannot_be_verified_or_paid() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    let token = merchant.token(&client, 2001, 90_000).await;
    assert_eq!(
        client.cancel_as_payer(&token).await.unwrap(),
        merchant.return_url
    );
    let cb = merchant.next(5 * SECOND).await.expect("a callback");
    assert_eq!(cb.status, CallbackStatus::Cancelled);
    assert_eq!((cb.ref_num, cb.card_mask), (None, None));
    let err = client.verify(&token).await.unwrap_err();
    assert!(err.is_refused(problem::NOT_PAID), "{err}");
    let err = client.reverse(&token).await.unwrap_err();
    assert!(err.is_refused(problem::NOT_PAID), "{err}");
    // Cancelling again lands in the same place; paying now is refused (409 page).
    assert_eq!(
        client.cancel_as_payer(&token).await.unwrap(),
        merchant.return_url
    );
    let err = client.pay_as_payer(&token, CARD).await.unwrap_err();
    assert!(err.is_refused("409"), "{err}");
    psp.stop().await;
}

#[tokio::test]
async fn an_unverified_payment_is_reversed_by_the_psp_when_its_window_passes() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    let today = day("1405-02-01");
    psp.control().set_now(noon_ms(today)).await.unwrap();
    let token = merchant.token(&client, 3001, 50_000).await;
    client.pay_as_payer(&token, CARD).await.unwrap();
    merchant.next(5 * SECOND).await.expect("a callback");
    // Nobody verifies; the sweep reverses it on its own once the window has passed.
    tokio::time::sleep(Duration::from_millis(WINDOW_MS + 600)).await;
    let html = raw().get(client.pay_url(&token)).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("was reversed"), "the page shows the reversal");
    let err = client.verify(&token).await.unwrap_err();
    assert!(err.is_refused(problem::REVERSED), "{err}");
    assert!(client.settlement_report(today).await.unwrap().is_empty());
    psp.stop().await;
}

#[tokio::test]
async fn the_merchant_may_reverse_a_paid_payment_but_not_a_verified_one() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    let a = merchant.token(&client, 4001, 10_000).await;
    let b = merchant.token(&client, 4002, 20_000).await;
    client.pay_as_payer(&a, CARD).await.unwrap();
    client.pay_as_payer(&b, CARD).await.unwrap();
    client.reverse(&a).await.unwrap();
    client.reverse(&a).await.unwrap();
    let err = client.verify(&a).await.unwrap_err();
    assert!(err.is_refused(problem::REVERSED), "{err}");
    client.verify(&b).await.unwrap();
    let err = client.reverse(&b).await.unwrap_err();
    assert!(err.is_refused(problem::ALREADY_VERIFIED), "{err}");
    let _ = merchant.next(SECOND).await;
    psp.stop().await;
}

#[tokio::test]
async fn refunds_are_idempotent_and_never_exceed_the_payment() {
    let psp = Server::start(config()).await;
    let merchant = Merchant::start(0).await;
    let client = psp.client();
    let today = day("1405-03-10");
    psp.control().set_now(noon_ms(today)).await.unwrap();
    let token = merchant.token(&client, 5001, 100_000).await;
    let unverified = merchant.token(&client, 5000, 100_000).await;
    client.pay_as_payer(&token, CARD).await.unwrap();
    client.pay_as_payer(&unverified, CARD).await.unwrap();
    let err = client.refund(&token, 1, 40_000).await.unwrap_err();
    assert!(err.is_refused(problem::NOT_VERIFIED), "{err}");
    client.verify(&token).await.unwrap();

    let first = client.refund(&token, 1, 40_000).await.unwrap();
    assert_eq!(client.refund(&token, 1, 40_000).await.unwrap(), first);
    let err = client.refund(&token, 1, 30_000).await.unwrap_err();
    assert!(err.is_refused(problem::REFUND_CONFLICT), "{err}");
    let err = client.refund(&unverified, 1, 40_000).await.unwrap_err();
    assert!(err.is_refused(problem::REFUND_CONFLICT), "{err}");
    let err = client.refund(&token, 2, 60_001).await.unwrap_err();
    assert!(err.is_refused(problem::REFUND_EXCEEDS), "{err}");
    let second = client.refund(&token, 2, 60_000).await.unwrap();
    let err = client.refund(&token, 3, 1).await.unwrap_err();
    assert!(err.is_refused(problem::REFUND_EXCEEDS), "{err}");
    let err = client.refund(&unverified, 4, 1).await.unwrap_err();
    assert!(err.is_refused(problem::NOT_VERIFIED), "{err}");

    let rows = client.settlement_report(today).await.unwrap();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.kind, r.order_id, r.ref_num.as_str(), r.amount_rials))
        .collect();
    let verified = client.verify(&token).await.unwrap();
    assert_eq!(
        seen,
        vec![
            (
                ReportKind::Payment,
                5001,
                verified.ref_num.as_str(),
                100_000
            ),
            (ReportKind::Refund, 5001, first.as_str(), 40_000),
            (ReportKind::Refund, 5001, second.as_str(), 60_000),
        ]
    );
    psp.stop().await;
}

#[tokio::test]
async fn a_failed_callback_is_retried_until_the_merchant_takes_it() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(2).await;
    let client = psp.client();
    let token = merchant.token(&client, 6001, 70_000).await;
    client.pay_as_payer(&token, CARD).await.unwrap();
    let cb = merchant
        .next(5 * SECOND)
        .await
        .expect("the third attempt arrives");
    assert_eq!(cb.token, token);
    assert!(
        merchant.next(Duration::from_millis(500)).await.is_none(),
        "only once"
    );
    psp.stop().await;
}

#[tokio::test]
async fn the_report_is_sorted_by_order_and_lists_only_the_merchants_own_day() {
    let mut cfg = config();
    cfg.merchants = vec![MERCHANT.to_string(), "other".to_string()];
    let psp = Server::start(cfg).await;
    let merchant = Merchant::start(0).await;
    let client = psp.client();
    let other = pishkhan_app::psp_client::PspClient::new(&psp.url, "other", SECOND).unwrap();
    let today = day("1405-06-31");
    psp.control().set_now(noon_ms(today)).await.unwrap();
    for order in [30, 10, 20] {
        let t = merchant.token(&client, order, order * 1000).await;
        client.pay_as_payer(&t, CARD).await.unwrap();
        client.verify(&t).await.unwrap();
    }
    let t = other
        .token(10, 5_000, &merchant.callback_url, &merchant.return_url)
        .await
        .unwrap();
    other.pay_as_payer(&t, CARD).await.unwrap();
    // Another merchant's token is not found for this one.
    let err = client.verify(&t).await.unwrap_err();
    assert!(err.is_refused(problem::NOT_FOUND), "{err}");
    other.verify(&t).await.unwrap();
    // Paid today and not verified: moving the clock past midnight (and the window) reverses
    // it at once; a payment verified just after midnight is on the next day's report.
    let late = merchant.token(&client, 5, 5_000).await;
    client.pay_as_payer(&late, CARD).await.unwrap();
    let midnight = noon_ms(today.add_days(1)) - 12 * 3600 * 1000;
    psp.control().set_now(midnight + 10).await.unwrap();
    let err = client.verify(&late).await.unwrap_err();
    assert!(err.is_refused(problem::REVERSED), "{err}");
    let next_day = merchant.token(&client, 6, 6_000).await;
    client.pay_as_payer(&next_day, CARD).await.unwrap();
    client.verify(&next_day).await.unwrap();

    let orders: Vec<i64> = client
        .settlement_report(today)
        .await
        .unwrap()
        .iter()
        .map(|r| r.order_id)
        .collect();
    assert_eq!(orders, vec![10, 20, 30]);
    let theirs = other.settlement_report(today).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].amount_rials, 5_000);
    let tomorrow: Vec<i64> = client
        .settlement_report(today.add_days(1))
        .await
        .unwrap()
        .iter()
        .map(|r| r.order_id)
        .collect();
    assert_eq!(tomorrow, vec![6]);
    psp.stop().await;
}
