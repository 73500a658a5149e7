//! Bad input is a 4xx `PspProblem` with a stable code (a small page on the payment page), and
//! every limit holds.

use std::time::Duration;

use pishkhan_app::psp_client::problem;
use serde_json::{Value, json};

use crate::{CARD, MERCHANT, Merchant, Server, config, raw};

/// Posts `body` (raw bytes) as JSON and returns the status and the problem's code.
async fn post_raw(url: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let resp = raw()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let problem: Value = resp.json().await.unwrap();
    assert!(problem["message"].is_string(), "{problem}");
    (status, problem["code"].as_str().unwrap_or("").to_string())
}

fn token_request(merchant: &Merchant, order_id: i64, amount: i64) -> Value {
    json!({
        "merchant_id": MERCHANT,
        "order_id": order_id,
        "amount_rials": amount,
        "callback_url": merchant.callback_url,
        "return_url": merchant.return_url,
    })
}

#[tokio::test]
async fn bad_token_requests_are_refused_with_their_codes() {
    let psp = Server::start(config()).await;
    let merchant = Merchant::start(0).await;
    let url = format!("{}/api/token", psp.url);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = token_request(&merchant, 1, 1_000);
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(String, u16, &str)> = vec![
        ("{not json".into(), 400, problem::BAD_REQUEST),
        (
            with(&|v| v["amount_rials"] = json!("1000")),
            422,
            problem::BAD_REQUEST,
        ),
        (with(&|v| v["extra"] = json!(1)), 422, problem::BAD_REQUEST),
        (
            with(&|v| v["amount_rials"] = json!(0)),
            422,
            problem::INVALID_AMOUNT,
        ),
        (
            with(&|v| v["amount_rials"] = json!(-5)),
            422,
            problem::INVALID_AMOUNT,
        ),
        (
            with(&|v| v["amount_rials"] = json!(10_000_000_000_001i64)),
            422,
            problem::INVALID_AMOUNT,
        ),
        (
            with(&|v| v["order_id"] = json!(0)),
            422,
            problem::INVALID_ID,
        ),
        (
            with(&|v| v["callback_url"] = json!("ftp://x/cb")),
            422,
            problem::INVALID_URL,
        ),
        (
            with(&|v| v["callback_url"] = json!("not a url")),
            422,
            problem::INVALID_URL,
        ),
        (
            with(&|v| v["return_url"] = json!("http://user:pw@shop/return")),
            422,
            problem::INVALID_URL,
        ),
        (
            with(&|v| v["return_url"] = json!(format!("http://shop/{}", "a".repeat(2100)))),
            422,
            problem::INVALID_URL,
        ),
        (
            with(&|v| v["merchant_id"] = json!("stranger")),
            403,
            problem::UNKNOWN_MERCHANT,
        ),
    ];
    for (body, status, code) in cases {
        let got = post_raw(&url, body.clone()).await;
        assert_eq!(got, (status, code.to_string()), "{body}");
    }
    let huge = format!("{{\"merchant_id\": \"{}\"}}", "x".repeat(17 * 1024));
    assert_eq!(
        post_raw(&url, huge).await,
        (413, problem::TOO_LARGE.to_string())
    );
    // The largest amount is accepted.
    let max = with(&|v| v["amount_rials"] = json!(10_000_000_000_000i64));
    let resp = raw()
        .post(&url)
        .header("content-type", "application/json")
        .body(max)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    psp.stop().await;
}

#[tokio::test]
async fn bad_verify_reverse_refund_and_report_requests_are_refused() {
    let psp = Server::start(config()).await;
    let merchant = Merchant::start(0).await;
    let client = psp.client();
    let token = merchant.token(&client, 1, 5_000).await;
    client.pay_as_payer(&token, CARD).await.unwrap();
    client.verify(&token).await.unwrap();
    let unknown = "A".repeat(32);
    let url = |p: &str| format!("{}{p}", psp.url);
    let cases = [
        (
            "/api/verify",
            json!({"merchant_id": MERCHANT, "token": unknown}),
            404,
            problem::NOT_FOUND,
        ),
        (
            "/api/verify",
            json!({"merchant_id": MERCHANT, "token": "short"}),
            404,
            problem::NOT_FOUND,
        ),
        (
            "/api/verify",
            json!({"merchant_id": "stranger", "token": token}),
            403,
            problem::UNKNOWN_MERCHANT,
        ),
        (
            "/api/verify",
            json!({"merchant_id": MERCHANT}),
            422,
            problem::BAD_REQUEST,
        ),
        (
            "/api/reverse",
            json!({"merchant_id": MERCHANT, "token": unknown}),
            404,
            problem::NOT_FOUND,
        ),
        (
            "/api/refund",
            json!({"merchant_id": MERCHANT, "token": token, "refund_id": 0, "amount_rials": 1}),
            422,
            problem::INVALID_ID,
        ),
        (
            "/api/refund",
            json!({"merchant_id": MERCHANT, "token": token, "refund_id": 1, "amount_rials": 0}),
            422,
            problem::INVALID_AMOUNT,
        ),
        (
            "/api/refund",
            json!({"merchant_id": MERCHANT, "token": unknown, "refund_id": 1, "amount_rials": 1}),
            404,
            problem::NOT_FOUND,
        ),
    ];
    for (path, body, status, code) in cases {
        let got = post_raw(&url(path), body.to_string()).await;
        assert_eq!(got, (status, code.to_string()), "{path} {body}");
    }
    for (query, status, code) in [
        (
            "merchant_id=pishkhan&date=1405-13-01",
            422,
            problem::INVALID_DATE,
        ),
        (
            "merchant_id=pishkhan&date=yesterday",
            422,
            problem::INVALID_DATE,
        ),
        ("merchant_id=pishkhan", 400, problem::BAD_REQUEST),
        (
            "merchant_id=stranger&date=1405-01-01",
            403,
            problem::UNKNOWN_MERCHANT,
        ),
    ] {
        let resp = raw()
            .get(url(&format!("/api/settlement?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{query}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], code, "{query}");
    }
    let resp = raw().get(url("/api/nothing")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        problem::NOT_FOUND
    );
    let resp = raw().get(url("/api/token")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        problem::METHOD_NOT_ALLOWED
    );
    psp.stop().await;
}

#[tokio::test]
async fn the_payment_page_refuses_bad_cards_and_unknown_tokens() {
    let psp = Server::start(config()).await;
    let mut merchant = Merchant::start(0).await;
    let client = psp.client();
    let token = merchant.token(&client, 1, 5_000).await;
    for card in [
        "6037990000000007",
        "603799000000000",
        "",
        "6037-9900-0000-000x",
    ] {
        let resp = raw()
            .post(client.pay_url(&token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("action=pay&card={card}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{card}");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains("role=\"alert\"") && html.contains("<form"),
            "{card}"
        );
    }
    for body in ["action=steal", "card=1", ""] {
        let resp = raw()
            .post(client.pay_url(&token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
    }
    assert!(
        merchant.next(Duration::from_millis(200)).await.is_none(),
        "nothing paid"
    );
    // Persian digits with spaces are a card number too.
    let back = client
        .pay_as_payer(&token, "۶۰۳۷ ۹۹۰۰ ۰۰۰۰ ۰۰۰۶")
        .await
        .unwrap();
    assert_eq!(back, merchant.return_url);
    for path in ["/pay/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/pay/%3Cscript%3E"] {
        let resp = raw()
            .get(format!("{}{path}", psp.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert!(resp.text().await.unwrap().contains("no such transaction"));
    }
    psp.stop().await;
}

#[tokio::test]
async fn tokens_past_the_limit_are_refused_but_repeats_still_answer() {
    let mut cfg = config();
    cfg.max_transactions = 2;
    let psp = Server::start(cfg).await;
    let merchant = Merchant::start(0).await;
    let client = psp.client();
    let first = merchant.token(&client, 1, 1_000).await;
    merchant.token(&client, 2, 1_000).await;
    let err = client
        .token(3, 1_000, &merchant.callback_url, &merchant.return_url)
        .await
        .unwrap_err();
    assert!(err.is_refused(problem::CAPACITY), "{err}");
    assert_eq!(merchant.token(&client, 1, 1_000).await, first);
    psp.stop().await;
}

#[tokio::test]
async fn bad_configurations_do_not_start() {
    let bad = [
        pishkhan_psp::PspConfig {
            merchants: vec![],
            ..config()
        },
        pishkhan_psp::PspConfig {
            merchants: vec!["Has Space".into()],
            ..config()
        },
        pishkhan_psp::PspConfig {
            verify_window_ms: 0,
            ..config()
        },
        pishkhan_psp::PspConfig {
            control_token: Some("short".into()),
            ..config()
        },
        pishkhan_psp::PspConfig {
            max_transactions: 0,
            ..config()
        },
    ];
    for cfg in bad {
        let err = pishkhan_psp::Psp::open(cfg.clone()).err().expect("refused");
        assert!(matches!(err, pishkhan_psp::PspError::Config(_)), "{err}");
    }
    // The control token never shows in Debug.
    let shown = format!("{:?}", config());
    assert!(!shown.contains(crate::CONTROL) && shown.contains("redacted"));
}

#[tokio::test]
async fn urls_are_kept_in_their_encoded_form() {
    let psp = Server::start(config()).await;
    let merchant = Merchant::start(0).await;
    let client = psp.client();
    let return_url = "http://shop.example/بازگشت?سفارش=۱";
    let token = client
        .token(1, 1_000, &merchant.callback_url, return_url)
        .await
        .unwrap();
    let back = client.pay_as_payer(&token, CARD).await.unwrap();
    assert_eq!(
        back,
        "http://shop.example/%D8%A8%D8%A7%D8%B2%DA%AF%D8%B4%D8%AA?%D8%B3%D9%81%D8%A7%D8%B1%D8%B4=%DB%B1"
    );
    psp.stop().await;
}
