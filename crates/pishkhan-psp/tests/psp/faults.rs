//! Each injectable fault, the controls that set them, and the clock.

use std::time::{Duration, Instant};

use pishkhan_app::psp_client::{
    CallbackStatus, Fault, PspClient, PspControl, PspError, ReportKind, problem,
};

use crate::{CARD, CONTROL, MERCHANT, Merchant, Server, WINDOW_MS, config, day, noon_ms, raw};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn timeout_holds_token_and_verify_so_the_client_gives_up() {
    let mut cfg = config();
    // Room for the timed-out calls before the verify that should succeed.
    cfg.verify_window_ms = 20_000;
    let psp = Server::start(cfg).await;
    let merchant = Merchant::start(0).await;
    let quick = PspClient::new(&psp.url, MERCHANT, Duration::from_millis(300)).unwrap();
    psp.control()
        .set_fault(Some(7), Some(Fault::Timeout))
        .await
        .unwrap();
    let started = Instant::now();
    let err = quick
        .token(7, 10_000, &merchant.callback_url, &merchant.return_url)
        .await
        .unwrap_err();
    assert!(matches!(err, PspError::Timeout), "{err}");
    assert!(started.elapsed() < 3 * SECOND);
    // Other orders are not affected.
    let token = merchant.token(&quick, 8, 10_000).await;
    quick.pay_as_payer(&token, CARD).await.unwrap();
    psp.control()
        .set_fault(Some(8), Some(Fault::Timeout))
        .await
        .unwrap();
    let err = quick.verify(&token).await.unwrap_err();
    assert!(matches!(err, PspError::Timeout), "{err}");
    // Cleared, the order answers again.
    psp.control().set_fault(Some(8), None).await.unwrap();
    quick.verify(&token).await.unwrap();
    // Not stopped gracefully: the held requests would keep it for the full hang. The test's
    // runtime ends them.
    drop(psp);
}

#[tokio::test]
async fn duplicate_callback_delivers_the_callback_twice() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    psp.control()
        .set_fault(Some(11), Some(Fault::DuplicateCallback))
        .await
        .unwrap();
    let token = merchant.token(&client, 11, 30_000).await;
    client.pay_as_payer(&token, CARD).await.unwrap();
    let first = merchant.next(5 * SECOND).await.expect("first");
    let second = merchant.next(5 * SECOND).await.expect("second");
    assert_eq!(first, second);
    assert!(merchant.next(Duration::from_millis(300)).await.is_none());
    client.verify(&token).await.unwrap();
    psp.stop().await;
}

#[tokio::test]
async fn late_callback_arrives_after_the_psp_reversed_the_payment() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    psp.control()
        .set_fault(Some(12), Some(Fault::LateCallback))
        .await
        .unwrap();
    let token = merchant.token(&client, 12, 40_000).await;
    let paid = Instant::now();
    client.pay_as_payer(&token, CARD).await.unwrap();
    let cb = merchant.next(5 * SECOND).await.expect("the late callback");
    assert!(
        paid.elapsed() >= Duration::from_millis(WINDOW_MS),
        "held past the window"
    );
    assert_eq!(cb.status, CallbackStatus::Paid);
    assert!(cb.ref_num.is_some());
    // By the time it arrives the PSP has reversed the payment.
    let err = client.verify(&token).await.unwrap_err();
    assert!(err.is_refused(problem::REVERSED), "{err}");
    assert!(
        merchant.next(Duration::from_millis(300)).await.is_none(),
        "once"
    );
    psp.stop().await;
}

#[tokio::test]
async fn late_verify_answers_after_the_window_with_reversed() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    psp.control()
        .set_fault(Some(13), Some(Fault::LateVerify))
        .await
        .unwrap();
    let token = merchant.token(&client, 13, 40_000).await;
    client.pay_as_payer(&token, CARD).await.unwrap();
    merchant.next(5 * SECOND).await.expect("a callback");
    let asked = Instant::now();
    let err = client.verify(&token).await.unwrap_err();
    assert!(err.is_refused(problem::REVERSED), "{err}");
    assert!(
        asked.elapsed() >= Duration::from_millis(WINDOW_MS / 2),
        "held"
    );
    psp.stop().await;
}

#[tokio::test]
async fn wrong_amount_is_in_the_callback_and_verify_but_not_the_report() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    let today = day("1405-04-04");
    psp.control().set_now(noon_ms(today)).await.unwrap();
    // Set for every order, then cleared for one.
    psp.control()
        .set_fault(None, Some(Fault::WrongAmount))
        .await
        .unwrap();
    psp.control().set_fault(Some(15), None).await.unwrap();
    let token = merchant.token(&client, 14, 250_000).await;
    client.pay_as_payer(&token, CARD).await.unwrap();
    let cb = merchant.next(5 * SECOND).await.expect("a callback");
    assert_eq!(cb.amount_rials, 260_000);
    assert_eq!(client.verify(&token).await.unwrap().amount_rials, 260_000);
    let exempt = merchant.token(&client, 15, 250_000).await;
    client.pay_as_payer(&exempt, CARD).await.unwrap();
    assert_eq!(
        merchant.next(5 * SECOND).await.unwrap().amount_rials,
        250_000
    );
    assert_eq!(client.verify(&exempt).await.unwrap().amount_rials, 250_000);
    // The report says what was really paid: reconciliation finds the difference.
    let rows = client.settlement_report(today).await.unwrap();
    let amounts: Vec<_> = rows.iter().map(|r| (r.kind, r.amount_rials)).collect();
    assert_eq!(
        amounts,
        vec![
            (ReportKind::Payment, 250_000),
            (ReportKind::Payment, 250_000)
        ]
    );
    // Clearing every fault: the next order is reported truly.
    psp.control().set_fault(None, None).await.unwrap();
    let cleared = merchant.token(&client, 16, 1_000).await;
    client.pay_as_payer(&cleared, CARD).await.unwrap();
    assert_eq!(merchant.next(5 * SECOND).await.unwrap().amount_rials, 1_000);
    psp.stop().await;
}

#[tokio::test]
async fn a_fault_given_at_start_applies_to_every_order() {
    let mut cfg = config();
    cfg.fault = Some(Fault::DuplicateCallback);
    let psp = Server::start(cfg).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    let token = merchant.token(&client, 21, 1_000).await;
    client.cancel_as_payer(&token).await.unwrap();
    assert!(merchant.next(5 * SECOND).await.is_some());
    assert!(merchant.next(5 * SECOND).await.is_some());
    psp.stop().await;
}

#[tokio::test]
async fn controls_need_their_token_and_refuse_bad_requests() {
    let psp = Server::start(config()).await;
    let wrong = PspControl::new(&psp.url, "not-the-control-secret", SECOND).unwrap();
    let err = wrong
        .set_fault(None, Some(Fault::Timeout))
        .await
        .unwrap_err();
    assert!(err.is_refused(problem::UNAUTHORIZED), "{err}");
    let err = wrong.set_now(noon_ms(day("1405-01-01"))).await.unwrap_err();
    assert!(err.is_refused(problem::UNAUTHORIZED), "{err}");

    let fault = raw()
        .post(format!("{}/control/faults", psp.url))
        .bearer_auth(CONTROL)
        .json(&serde_json::json!({"order_id": 1, "fault": "slow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 422);
    let body: serde_json::Value = fault.json().await.unwrap();
    assert_eq!(body["code"], problem::UNKNOWN_FAULT);

    for clock in [
        serde_json::json!({}),
        serde_json::json!({"now_ms": 1, "offset_ms": 1}),
        serde_json::json!({"now_ms": 1}),
        serde_json::json!({"offset_ms": i64::MAX}),
    ] {
        let resp = raw()
            .post(format!("{}/control/clock", psp.url))
            .bearer_auth(CONTROL)
            .json(&clock)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{clock}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], problem::INVALID_CLOCK);
    }
    let moved = psp.control().set_offset(-86_400_000).await.unwrap();
    assert_eq!(moved.offset_ms, -86_400_000);
    assert_eq!(psp.control().set_offset(0).await.unwrap().offset_ms, 0);
    psp.stop().await;

    // Without a control token the routes do not exist.
    let mut cfg = config();
    cfg.control_token = None;
    let psp = Server::start(cfg).await;
    let err = psp.control().set_fault(None, None).await.unwrap_err();
    assert!(err.is_refused(problem::NOT_FOUND), "{err}");
    psp.stop().await;
}
