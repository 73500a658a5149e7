//! Payments over the JSON API on every backend, against the reference card processor
//! (`pishkhan-psp`) served on loopback: idempotent creation, the callback and verification,
//! duplicate and late callbacks, reversal of what is never verified, a wrong amount (and
//! its compliance finding), refunds, receipts, settlement and reconciliation — with the
//! ledger checked after each story.

use std::time::Duration;

use pishkhan_app::psp_client::{PspClient, PspControl};
use pishkhan_protocol::psp::Fault;
use serde_json::{Value, json};

use crate::fees::{counter_service, seed_history};
use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp, fixed_now};

/// The 1405 tariff `seed_history` publishes: government fee, counter fee and VAT.
pub(crate) const FEE: i64 = 135_000 + 81_000 + 8_100;
pub(crate) const CARD: &str = "6037990000000006";
const CONTROL: &str = "test-control-token";

pub(crate) struct Psp {
    pub(crate) payer: PspClient,
    control: PspControl,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Psp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves a reference processor on loopback with a `window_ms` verify window, its clock set
/// to the test's, and turns payments on in the server with our own deadline `ours_ms`.
pub(crate) async fn enable_payments(app: &TestApp, window_ms: u64, ours_ms: i64) -> Psp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = pishkhan_psp::PspConfig {
        verify_window_ms: window_ms,
        control_token: Some(CONTROL.into()),
        fault_hang_ms: 3_000,
        ..pishkhan_psp::PspConfig::default()
    };
    let psp = pishkhan_psp::Psp::open(config).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(pishkhan_psp::serve(listener, psp, async move {
        let _ = rx.await;
    }));
    let client = PspClient::new(&base, "pishkhan", Duration::from_millis(1_500)).unwrap();
    let control = PspControl::new(&base, CONTROL, Duration::from_secs(5)).unwrap();
    let now_ms = (fixed_now().unix_timestamp_nanos() / 1_000_000) as i64;
    control.set_now(now_ms).await.unwrap();
    let runtime = pishkhan_app::payments::PaymentsRuntime {
        client,
        verify_window_ms: ours_ms,
    };
    assert!(app.state.app().set_payments(std::sync::Arc::new(runtime)));
    Psp {
        payer: PspClient::new(&base, "pishkhan", Duration::from_secs(10)).unwrap(),
        control,
        stop: Some(tx),
    }
}

pub(crate) async fn start_payment(
    app: &TestApp,
    token: &str,
    key: &str,
    case: &str,
) -> crate::support::Resp {
    let service = counter_service(app);
    let national_code = app.nation.staff[0].national_code.as_str().to_string();
    app.send(
        app.client
            .post(app.url("/api/v1/payments"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&json!({
                "service": service.as_str(),
                "national_code": national_code,
                "case_id": case,
            })),
    )
    .await
}

pub(crate) fn token_of(pay_url: &str) -> String {
    pay_url.rsplit('/').next().unwrap().to_string()
}

/// Polls a payment until `done` holds (the callback arrives on its own task), at most 10 s.
pub(crate) async fn wait_for(
    app: &TestApp,
    token: &str,
    id: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let p = app
            .get_as(&format!("/api/v1/payments/{id}"), Some(token))
            .await;
        assert_eq!(p.status, 200, "{}", p.text);
        let v = p.json();
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "[{}] payment {id} never reached the awaited state",
        app.be()
    );
}

async fn balances(app: &TestApp, regulator: &str) -> Value {
    let b = app.get_as("/api/v1/ledger/balances", Some(regulator)).await;
    assert_eq!(b.status, 200, "{}", b.text);
    b.json()
}

fn balance(all: &Value, account: &str, field: &str) -> i64 {
    all.as_array()
        .unwrap()
        .iter()
        .find(|b| b["account"] == account)
        .map_or(0, |b| b[field].as_i64().unwrap())
}

async fn events(app: &TestApp, token: &str, id: i64) -> Vec<String> {
    let e = app
        .get_as(&format!("/api/v1/payments/{id}/events"), Some(token))
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    e.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

async fn ledger_is_sound(app: &TestApp) {
    let replay = app.store.verify_ledger().await.unwrap();
    let replay = replay.unwrap_or_else(|f| panic!("[{}] ledger unsound: {f}", app.be()));
    assert_eq!(replay.total_debits_posted, replay.total_credits_posted);
}

#[tokio::test]
async fn a_counter_payment_is_paid_once_verified_and_receipted() {
    for app in TestApp::all().await {
        let be = app.be();
        seed_history(&app, &counter_service(&app)).await;
        let psp = enable_payments(&app, 30_000, 60_000).await;
        let _exchange = app.enable_exchange().await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;

        // A payment needs its key; the same key finds the same payment; the same key for
        // another case is refused.
        let no_key = app
            .send(
                app.client
                    .post(app.url("/api/v1/payments"))
                    .bearer_auth(&operator)
                    .json(&json!({"service": "NID-001", "national_code": "0012345679", "case_id": "x"})),
            )
            .await;
        no_key.problem(422, "missing_idempotency_key");
        let first = start_payment(&app, &operator, "k-1", "case-1").await;
        assert_eq!(first.status, 201, "[{be}] {}", first.text);
        let first = first.json();
        assert_eq!(first["status"], "pending", "[{be}] {first}");
        assert_eq!(first["amount_rials"], FEE, "[{be}]");
        assert_eq!(first["office"], DEMO_OFFICE);
        let again = start_payment(&app, &operator, "k-1", "case-1").await.json();
        assert_eq!(
            again["id"], first["id"],
            "[{be}] a retry is the same payment"
        );
        start_payment(&app, &operator, "k-1", "case-2")
            .await
            .problem(409, "idempotency_key_reused");
        // The regulator takes no money at a counter.
        start_payment(&app, &regulator, "k-r", "case-1")
            .await
            .problem(403, "forbidden_role");

        let id = first["id"].as_i64().unwrap();
        let token = token_of(first["pay_url"].as_str().unwrap());
        // No receipt before the money is confirmed.
        app.get_as(&format!("/api/v1/payments/{id}/receipt"), Some(&operator))
            .await
            .problem(409, "not_paid");
        psp.payer.pay_as_payer(&token, CARD).await.unwrap();
        let paid = wait_for(&app, &operator, id, |v| v["status"] == "verified").await;
        assert!(
            paid["ref_num"].as_str().is_some_and(|r| r.len() == 12),
            "{paid}"
        );
        assert_eq!(paid["card_mask"], "603799******0006");

        let b = balances(&app, &regulator).await;
        let office = format!("office:{DEMO_OFFICE}");
        assert_eq!(balance(&b, &office, "credits_posted"), 81_000, "[{be}] {b}");
        assert_eq!(balance(&b, "vat_payable", "credits_posted"), 8_100);
        assert_eq!(balance(&b, "psp_clearing", "debits_posted"), FEE);
        assert_eq!(balance(&b, "psp_clearing", "debits_pending"), 0);

        // The receipt verifies offline with the published key, and names the payer only hashed.
        let r = app
            .get_as(&format!("/api/v1/payments/{id}/receipt"), Some(&operator))
            .await;
        assert_eq!(r.status, 200, "[{be}] {}", r.text);
        let jwks: pishkhan_sign::Jwks =
            serde_json::from_value(app.get("/api/v1/identity/keys").await.json()).unwrap();
        let keyring = pishkhan_sign::Keyring::from_jwks(&jwks).unwrap();
        let jws = r.json()["receipt"].as_str().unwrap().to_string();
        let checked = pishkhan_sign::jws::verify(&jws, &keyring).expect("receipt verifies");
        let claims: Value = serde_json::from_slice(&checked.payload).unwrap();
        assert_eq!(claims["pid"], id);
        assert_eq!(claims["amount_rials"], FEE);
        let payer = app.nation.staff[0].national_code.as_str();
        assert!(!String::from_utf8_lossy(&checked.payload).contains(payer));

        // Another citizen is told it does not exist.
        let stranger = app.fresh_national_code();
        let other = app.citizen_token(&stranger, "09121234567").await;
        app.get_as(&format!("/api/v1/payments/{id}"), Some(&other))
            .await
            .problem(404, "not_found");
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn duplicate_and_late_callbacks_make_exactly_one_payment() {
    for app in TestApp::all().await {
        let be = app.be();
        seed_history(&app, &counter_service(&app)).await;
        let psp = enable_payments(&app, 1_000, 2_000).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;

        let dup = start_payment(&app, &operator, "dup", "case-dup")
            .await
            .json();
        let dup_id = dup["id"].as_i64().unwrap();
        psp.control
            .set_fault(Some(dup_id), Some(Fault::DuplicateCallback))
            .await
            .unwrap();
        psp.payer
            .pay_as_payer(&token_of(dup["pay_url"].as_str().unwrap()), CARD)
            .await
            .unwrap();
        wait_for(&app, &operator, dup_id, |v| v["status"] == "verified").await;
        // The second callback is recorded and changes nothing.
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = events(&app, &operator, dup_id).await;
            if seen.iter().any(|e| e == "duplicate_callback") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            seen.contains(&"duplicate_callback".to_string()),
            "[{be}] {seen:?}"
        );
        assert_eq!(seen.iter().filter(|e| *e == "verified").count(), 1);
        let b = balances(&app, &regulator).await;
        assert_eq!(
            balance(&b, "psp_clearing", "debits_posted"),
            FEE,
            "[{be}] paid once"
        );

        // A late callback: held past the window, by when the payment was reversed.
        let late = start_payment(&app, &operator, "late", "case-late")
            .await
            .json();
        let late_id = late["id"].as_i64().unwrap();
        psp.control
            .set_fault(Some(late_id), Some(Fault::LateCallback))
            .await
            .unwrap();
        psp.payer
            .pay_as_payer(&token_of(late["pay_url"].as_str().unwrap()), CARD)
            .await
            .unwrap();
        // The processor reverses it when its window passes unverified; whichever comes first
        // here (the held callback, or our sweeper past our deadline) asks it and learns that.
        app.clock.advance(time::Duration::seconds(60));
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        pishkhan_app::payments::chase(app.state.app())
            .await
            .unwrap();
        wait_for(&app, &operator, late_id, |v| v["status"] == "reversed").await;
        // The processor's callback arriving again after all that changes nothing.
        let late_token = token_of(late["pay_url"].as_str().unwrap());
        let again = app
            .post_json(
                "/api/v1/payments/callback",
                None,
                &json!({"token": late_token, "order_id": late_id, "status": "paid",
                        "ref_num": "123456789012", "amount_rials": FEE, "card_mask": "603799******0006"}),
            )
            .await;
        assert_eq!(again.status, 200, "[{be}] {}", again.text);
        assert_eq!(
            again.json()["status"],
            "reversed",
            "[{be}] a late callback revives nothing"
        );
        let seen = events(&app, &operator, late_id).await;
        assert!(
            seen.contains(&"late_callback".to_string()),
            "[{be}] {seen:?}"
        );
        assert!(!seen.contains(&"verified".to_string()), "[{be}] {seen:?}");
        // A callback naming another order than its token's is refused and recorded.
        app.post_json(
            "/api/v1/payments/callback",
            None,
            &json!({"token": late_token, "order_id": late_id + 1000, "status": "paid",
                    "amount_rials": FEE}),
        )
        .await
        .problem(422, "callback_mismatch");
        let b = balances(&app, &regulator).await;
        assert_eq!(
            balance(&b, "psp_clearing", "debits_posted"),
            FEE,
            "[{be}] {b}"
        );
        assert_eq!(
            balance(&b, "psp_clearing", "debits_pending"),
            0,
            "[{be}] {b}"
        );
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn an_unverified_payment_is_reversed_and_a_wrong_amount_is_a_finding() {
    for app in TestApp::all().await {
        let be = app.be();
        seed_history(&app, &counter_service(&app)).await;
        let psp = enable_payments(&app, 1_000, 2_000).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;

        // The processor's verification answers only after its window: reversed.
        let slow = start_payment(&app, &operator, "slow", "case-slow")
            .await
            .json();
        let slow_id = slow["id"].as_i64().unwrap();
        psp.control
            .set_fault(Some(slow_id), Some(Fault::LateVerify))
            .await
            .unwrap();
        psp.payer
            .pay_as_payer(&token_of(slow["pay_url"].as_str().unwrap()), CARD)
            .await
            .unwrap();
        app.clock.advance(time::Duration::seconds(60));
        for _ in 0..40 {
            pishkhan_app::payments::chase(app.state.app())
                .await
                .unwrap();
            let v = app
                .get_as(&format!("/api/v1/payments/{slow_id}"), Some(&operator))
                .await
                .json();
            if v["status"] == "reversed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let v = app
            .get_as(&format!("/api/v1/payments/{slow_id}"), Some(&operator))
            .await
            .json();
        assert_eq!(v["status"], "reversed", "[{be}] {v}");
        let b = balances(&app, &regulator).await;
        assert_eq!(
            balance(&b, "psp_clearing", "debits_posted"),
            0,
            "[{be}] {b}"
        );
        assert_eq!(
            balance(&b, "psp_clearing", "debits_pending"),
            0,
            "[{be}] {b}"
        );

        // The processor charges more than the tariff: refused, reversed, and a finding.
        let wrong = start_payment(&app, &operator, "wrong", "case-wrong")
            .await
            .json();
        let wrong_id = wrong["id"].as_i64().unwrap();
        psp.control
            .set_fault(Some(wrong_id), Some(Fault::WrongAmount))
            .await
            .unwrap();
        psp.payer
            .pay_as_payer(&token_of(wrong["pay_url"].as_str().unwrap()), CARD)
            .await
            .unwrap();
        wait_for(&app, &operator, wrong_id, |v| v["status"] == "failed").await;
        let findings = app.get_as("/api/v1/findings", Some(&regulator)).await;
        assert_eq!(findings.status, 200, "{}", findings.text);
        let f = findings.json();
        let f = f
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["payment"] == wrong_id)
            .unwrap_or_else(|| panic!("[{be}] no finding: {f}"))
            .clone();
        assert_eq!(f["kind"], "fee_above_tariff");
        assert_eq!(f["office"], DEMO_OFFICE);
        assert_eq!(f["evidence"]["charged_rials"], FEE + 10_000);
        let b = balances(&app, &regulator).await;
        assert_eq!(
            balance(&b, "psp_clearing", "debits_pending"),
            0,
            "[{be}] {b}"
        );
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}

async fn put_payee(app: &TestApp, token: &str, account: &str, sheba: &str) -> u16 {
    app.put_json(
        &format!("/api/v1/payees/{account}"),
        Some(token),
        &json!({"sheba": sheba, "holder": "حساب تسویه"}),
    )
    .await
    .status
}

async fn paid_payment(app: &TestApp, psp: &Psp, operator: &str, key: &str) -> i64 {
    let p = start_payment(app, operator, key, &format!("case-{key}")).await;
    assert_eq!(p.status, 201, "[{}] {}", app.be(), p.text);
    let p = p.json();
    let id = p["id"].as_i64().unwrap();
    psp.payer
        .pay_as_payer(&token_of(p["pay_url"].as_str().unwrap()), CARD)
        .await
        .unwrap();
    wait_for(app, operator, id, |v| v["status"] == "verified").await;
    id
}

#[tokio::test]
async fn refunds_settlement_and_reconciliation_keep_the_ledger_whole() {
    for app in TestApp::all().await {
        let be = app.be();
        let service = counter_service(&app);
        seed_history(&app, &service).await;
        let psp = enable_payments(&app, 30_000, 60_000).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let a = paid_payment(&app, &psp, &operator, "a").await;
        let b = paid_payment(&app, &psp, &operator, "b").await;

        // Refunds: the manager, within what is left, never the operator.
        let refund = |token: String, id: i64, amount: i64| {
            let app = &app;
            async move {
                app.post_json(
                    &format!("/api/v1/payments/{id}/refunds"),
                    Some(&token),
                    &json!({"amount_rials": amount, "reason": "the service was not given"}),
                )
                .await
            }
        };
        refund(operator.clone(), a, 1_000)
            .await
            .problem(403, "forbidden_role");
        refund(manager.clone(), a, FEE + 1)
            .await
            .problem(422, "refund_exceeds");
        let r = refund(manager.clone(), a, 50_000).await;
        assert_eq!(r.status, 201, "[{be}] {}", r.text);
        assert_eq!(r.json()["status"], "paid", "[{be}] returned to the card");
        let p = app
            .get_as(&format!("/api/v1/payments/{a}"), Some(&manager))
            .await
            .json();
        assert_eq!(p["refunded_rials"], 50_000);
        assert_eq!(p["status"], "verified");

        // Payees' Sheba accounts; a manager only for their own office.
        let sheba = "IR820540102680020817909002";
        assert_eq!(
            put_payee(&app, &manager, "vat_payable", sheba).await,
            403,
            "[{be}]"
        );
        assert_eq!(
            put_payee(&app, &manager, &format!("office:{DEMO_OFFICE}"), sheba).await,
            204
        );
        let agency = app
            .nation
            .services
            .iter()
            .find(|s| s.code == service)
            .unwrap()
            .agency
            .to_string();
        assert_eq!(
            put_payee(&app, &regulator, &format!("agency:{agency}"), sheba).await,
            204
        );
        assert_eq!(put_payee(&app, &regulator, "vat_payable", sheba).await, 204);

        // A stray order at the processor that we never made: reconciliation must list it.
        let stray = psp
            .payer
            .token(
                9_000_000,
                77_000,
                "http://127.0.0.1:9/cb",
                "http://127.0.0.1:9/back",
            )
            .await
            .unwrap();
        psp.payer.pay_as_payer(&stray, CARD).await.unwrap();
        psp.payer.verify(&stray).await.unwrap();

        // Today is not over: nothing is settled yet.
        let today = "1405-09-07";
        app.post_json(
            "/api/v1/settlements",
            Some(&regulator),
            &json!({"date": today}),
        )
        .await
        .problem(422, "day_not_over");
        app.clock.advance(time::Duration::days(1));
        // Sessions last hours, not days: sign in again on the next day.
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let s = app
            .post_json(
                "/api/v1/settlements",
                Some(&regulator),
                &json!({"date": today}),
            )
            .await;
        assert_eq!(s.status, 201, "[{be}] {}", s.text);
        let rows = s.json();
        let share = |payee: &str| {
            rows.as_array()
                .unwrap()
                .iter()
                .find(|r| r["payee"] == payee)
                .map(|r| r["amount_rials"].as_i64().unwrap())
        };
        // Two counter fees, less the refund's share of them.
        let refunded_share: i64 = 50_000 * 81_000 / FEE;
        let office_share = share(&format!("office:{DEMO_OFFICE}")).unwrap();
        assert!(
            (2 * 81_000 - refunded_share - 1..=2 * 81_000 - refunded_share + 1)
                .contains(&office_share),
            "[{be}] {rows}"
        );
        assert!(
            share(&format!("agency:{agency}")).is_some(),
            "[{be}] {rows}"
        );
        app.post_json(
            "/api/v1/settlements",
            Some(&regulator),
            &json!({"date": today}),
        )
        .await
        .problem(409, "already_settled");
        let csv = app
            .get_as(
                &format!("/api/v1/settlements/{today}/file"),
                Some(&regulator),
            )
            .await;
        assert_eq!(csv.status, 200, "[{be}] {}", csv.text);
        assert!(
            csv.text
                .starts_with("date,payee,holder,sheba,amount_rials,payments\n")
        );
        assert!(csv.text.contains(sheba), "{}", csv.text);
        // The office sees its own settlement only.
        let mine = app
            .get_as("/api/v1/settlements", Some(&manager))
            .await
            .json();
        assert!(
            mine.as_array()
                .unwrap()
                .iter()
                .all(|r| r["payee"] == format!("office:{DEMO_OFFICE}")),
            "[{be}] {mine}"
        );
        for id in [a, b] {
            let p = app
                .get_as(&format!("/api/v1/payments/{id}"), Some(&manager))
                .await
                .json();
            assert_eq!(p["status"], "settled", "[{be}] {p}");
            assert_eq!(p["settled_day"], today);
        }
        let after = balances(&app, &regulator).await;
        assert_eq!(
            balance(&after, &format!("office:{DEMO_OFFICE}"), "credits_posted")
                - balance(&after, &format!("office:{DEMO_OFFICE}"), "debits_posted"),
            0,
            "[{be}] the office is owed nothing once settled: {after}"
        );

        let rec = app
            .post_json(
                "/api/v1/reconciliations",
                Some(&regulator),
                &json!({"date": today}),
            )
            .await;
        assert_eq!(rec.status, 201, "[{be}] {}", rec.text);
        let rec = rec.json();
        let mismatches = rec["mismatches"].as_array().unwrap();
        let stray_row = mismatches
            .iter()
            .find(|m| m["order_id"] == 9_000_000)
            .unwrap_or_else(|| panic!("[{be}] the stray order is listed: {rec}"));
        assert_eq!(stray_row["kind"], "missing_here");
        assert_eq!(stray_row["suspense_rials"], 77_000);
        assert!(
            !mismatches
                .iter()
                .any(|m| m["order_id"] == a || m["order_id"] == b),
            "[{be}] our own payments match: {rec}"
        );
        let after = balances(&app, &regulator).await;
        assert_eq!(
            balance(&after, "suspense", "credits_posted"),
            77_000,
            "[{be}] {after}"
        );
        app.post_json(
            "/api/v1/reconciliations",
            Some(&regulator),
            &json!({"date": today}),
        )
        .await
        .problem(409, "already_reconciled");
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}
