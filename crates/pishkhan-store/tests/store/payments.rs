//! The payments area on every backend: idempotent creation, moves only as a payment's status
//! allows, a step and its ledger transfers commit together or not at all, refunds within
//! what is left, one settlement and one reconciliation per day, and history tables that the
//! database itself refuses to change.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::fees::FeeKind;
use pishkhan_domain::ledger::Account;
use pishkhan_domain::money::Rials;
use pishkhan_domain::payment::{self, Leg, MismatchKind, PaymentChannel, PaymentStatus};
use pishkhan_store::{
    AuditContext, NewPayment, NewSettlement, PaymentMove, StateRule, Store, StoreError,
};
use pishkhan_testkit::{TestDb, load_small_nation};

const T0: i64 = 1_764_300_000_000;

fn ctx() -> AuditContext {
    AuditContext {
        now_ms: T0,
        ip: None,
        request_id: None,
    }
}

fn new_payment(nation: &pishkhan_nation::Nation, key: &str, case: &str) -> NewPayment {
    let office = nation.offices[0].code;
    let service = &nation.services[0];
    let legs = vec![
        Leg {
            kind: FeeKind::GovernmentFee,
            account: Account::AgencyPayable(service.agency.clone()),
            amount: Rials::new(100_000).unwrap(),
        },
        Leg {
            kind: FeeKind::CounterFee,
            account: Account::OfficeCommission(office),
            amount: Rials::new(50_000).unwrap(),
        },
        Leg {
            kind: FeeKind::Vat,
            account: Account::VatPayable,
            amount: Rials::new(5_000).unwrap(),
        },
    ];
    NewPayment {
        requested_by: "staff:1".into(),
        idempotency_key: key.into(),
        request_digest: format!("digest-{case}"),
        channel: PaymentChannel::Counter,
        office,
        service: service.code.clone(),
        national_code: "0012345679".into(),
        case_id: case.into(),
        tariff_from: JalaliDate::parse("1405-01-01").unwrap(),
        amount: Rials::new(155_000).unwrap(),
        legs,
    }
}

fn take(nation: &pishkhan_nation::Nation) -> pishkhan_domain::access::Permit {
    authorize(
        &Principal::System { reason: "test" },
        Action::TakePayment {
            office: nation.offices[0].code,
        },
    )
    .unwrap()
}

async fn verified(store: &dyn Store, id: i64, legs: &[Leg], day: JalaliDate) {
    let mut pending = PaymentMove::new(PaymentStatus::Created, PaymentStatus::Pending, "token", T0);
    pending.token = Some(format!("tok-{id}"));
    store.move_payment(id, &pending).await.unwrap();
    let mut paid = PaymentMove::new(PaymentStatus::Pending, PaymentStatus::Paid, "callback", T0);
    paid.transfers = payment::reserve_transfers(id, legs);
    store.move_payment(id, &paid).await.unwrap();
    let mut ok = PaymentMove::new(PaymentStatus::Paid, PaymentStatus::Verified, "verified", T0);
    ok.transfers = payment::post_transfers(id, legs);
    ok.verified = Some((T0, day));
    ok.ref_num = Some("123456789012".into());
    store.move_payment(id, &ok).await.unwrap();
}

#[tokio::test]
async fn a_payment_moves_with_its_money_or_not_at_all() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let permit = take(&nation);
        let new = new_payment(&nation, "key-1", "case-1");
        let (p, created) = store.create_payment(&permit, &new, &ctx()).await.unwrap();
        assert!(created, "[{be}]");
        assert_eq!(p.status, PaymentStatus::Created);
        assert_eq!(p.legs, new.legs, "[{be}] the shares read back as written");
        // The same key again is the same payment; with another request it is a conflict.
        let (again, created) = store.create_payment(&permit, &new, &ctx()).await.unwrap();
        assert!(!created);
        assert_eq!(again.id, p.id);
        let other = new_payment(&nation, "key-1", "case-2");
        assert!(matches!(
            store.create_payment(&permit, &other, &ctx()).await,
            Err(StoreError::Conflict { .. })
        ));
        // Another office's permit does not cover this office's payment.
        let wrong = authorize(
            &Principal::System { reason: "test" },
            Action::TakePayment {
                office: nation.offices[1].code,
            },
        )
        .unwrap();
        assert!(matches!(
            store
                .create_payment(&wrong, &new_payment(&nation, "k9", "c9"), &ctx())
                .await,
            Err(StoreError::PermitMismatch)
        ));

        // A move the status does not allow is refused.
        let skip = PaymentMove::new(
            PaymentStatus::Created,
            PaymentStatus::Verified,
            "verified",
            T0,
        );
        match store.move_payment(p.id, &skip).await {
            Err(StoreError::WrongState(w)) => assert_eq!(w.rule, StateRule::PaymentStatus),
            other => panic!("[{be}] {other:?}"),
        }
        let mut pending =
            PaymentMove::new(PaymentStatus::Created, PaymentStatus::Pending, "token", T0);
        pending.token = Some("tok".into());
        store.move_payment(p.id, &pending).await.unwrap();
        // A step whose transfers the ledger refuses (posting what was never reserved) leaves
        // the payment where it was, with no event.
        let mut bad = PaymentMove::new(PaymentStatus::Pending, PaymentStatus::Paid, "callback", T0);
        bad.transfers = payment::post_transfers(p.id, &p.legs);
        assert!(matches!(
            store.move_payment(p.id, &bad).await,
            Err(StoreError::LedgerRefused { .. })
        ));
        assert_eq!(
            store.payment(p.id).await.unwrap().status,
            PaymentStatus::Pending
        );
        let events = store.payment_events(p.id).await.unwrap();
        assert_eq!(
            events.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
            vec!["created", "token"],
            "[{be}]"
        );
        let balances = store.all_balances().await.unwrap();
        assert!(
            balances.values().all(|b| *b == Default::default()),
            "[{be}] no money moved: {balances:?}"
        );
        // The same payment, moved properly, reserves and posts its shares.
        let mut paid =
            PaymentMove::new(PaymentStatus::Pending, PaymentStatus::Paid, "callback", T0);
        paid.transfers = payment::reserve_transfers(p.id, &p.legs);
        store.move_payment(p.id, &paid).await.unwrap();
        // The stale view of a concurrent duplicate is refused, not applied twice.
        assert!(matches!(
            store.move_payment(p.id, &paid).await,
            Err(StoreError::WrongState(_))
        ));
        let b = store.all_balances().await.unwrap();
        assert_eq!(b[&Account::PspClearing].debits_pending, 155_000, "[{be}]");
        assert!(store.verify_ledger().await.unwrap().is_ok(), "[{be}]");
    }
}

#[tokio::test]
async fn refunds_settlements_and_reconciliations_are_bounded_and_kept() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let day = JalaliDate::parse("1405-09-07").unwrap();
        let (p, _) = store
            .create_payment(&take(&nation), &new_payment(&nation, "k", "c"), &ctx())
            .await
            .unwrap();
        verified(store.as_ref(), p.id, &p.legs, day).await;

        let refund = authorize(
            &Principal::System { reason: "test" },
            Action::RefundPayment { office: p.office },
        );
        // The system may not refund (a person decides a refund); the regulator may.
        assert!(refund.is_err());
        let regulator = pishkhan_domain::access::StaffActor {
            id: 1,
            username: pishkhan_domain::model::Username::parse("regulator").unwrap(),
            role: pishkhan_domain::model::Role::Regulator,
            office: None,
            office_status: None,
        };
        let permit = authorize(
            &Principal::Staff(regulator),
            Action::RefundPayment { office: p.office },
        )
        .unwrap();
        match store
            .create_refund(
                &permit,
                p.id,
                Rials::new(155_001).unwrap(),
                "too much",
                day,
                &ctx(),
            )
            .await
        {
            Err(StoreError::WrongState(w)) => assert_eq!(w.rule, StateRule::RefundExceeds),
            other => panic!("[{be}] {other:?}"),
        }
        let r = store
            .create_refund(
                &permit,
                p.id,
                Rials::new(55_000).unwrap(),
                "partial",
                day,
                &ctx(),
            )
            .await
            .unwrap();
        store.complete_refund(r.id, "R-1", T0).await.unwrap();
        // Completing twice is one transfer.
        store.complete_refund(r.id, "R-1", T0).await.unwrap();
        let p2 = store.payment(p.id).await.unwrap();
        assert_eq!(p2.refunded.get(), 55_000, "[{be}]");
        assert_eq!(p2.status, PaymentStatus::Verified);

        let settle = authorize(
            &Principal::System { reason: "test" },
            Action::ManageSettlement,
        )
        .unwrap();
        let payee = authorize(
            &Principal::System { reason: "test" },
            Action::SetPayeeAccount { office: None },
        )
        .unwrap();
        let office = Account::OfficeCommission(p.office);
        let sheba = pishkhan_domain::Sheba::parse("IR820540102680020817909002").unwrap();
        store
            .set_payee_account(&payee, &office, &sheba, "دفتر", &ctx())
            .await
            .unwrap();
        let owed = store.balances(std::slice::from_ref(&office)).await.unwrap()[&office];
        let share = owed.credits_posted - owed.debits_posted;
        let rows = store
            .record_settlement(
                &settle,
                day,
                &[
                    NewSettlement {
                        account: office.clone(),
                        amount: Rials::new(share).unwrap(),
                        payments: 1,
                    },
                    // No Sheba on file: left out, still owed.
                    NewSettlement {
                        account: Account::VatPayable,
                        amount: Rials::new(1_000).unwrap(),
                        payments: 1,
                    },
                ],
                &[p.id],
                &ctx(),
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "[{be}] {rows:?}");
        assert_eq!(
            store.payment(p.id).await.unwrap().status,
            PaymentStatus::Settled
        );
        assert!(matches!(
            store
                .record_settlement(&settle, day, &[], &[], &ctx())
                .await,
            Err(StoreError::Conflict { .. })
        ));

        let mismatch = payment::Mismatch {
            kind: MismatchKind::MissingHere,
            order_id: 999,
            ours: None,
            theirs: Some(7_000),
            suspense: 7_000,
        };
        let rec = store
            .record_reconciliation(&settle, day, 3, 2, std::slice::from_ref(&mismatch), &ctx())
            .await
            .unwrap();
        assert_eq!(rec.mismatches.len(), 1);
        assert_eq!(rec.mismatches[0].mismatch, mismatch, "[{be}]");
        assert!(matches!(
            store
                .record_reconciliation(&settle, day, 3, 2, &[], &ctx())
                .await,
            Err(StoreError::Conflict { .. })
        ));
        let b = store.all_balances().await.unwrap();
        assert_eq!(b[&Account::Suspense].credits_posted, 7_000, "[{be}]");
        assert!(store.verify_ledger().await.unwrap().is_ok(), "[{be}]");

        // The history tables refuse every change at the database.
        let mut conn = super::raw_connection(&db).await;
        for sql in [
            "UPDATE payment_events SET detail = 'x'",
            "DELETE FROM payment_events",
            "UPDATE settlements SET amount_rials = 1",
            "DELETE FROM settlements",
            "UPDATE reconciliation_mismatches SET suspense_rials = 0",
            "DELETE FROM reconciliation_mismatches",
        ] {
            assert!(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .is_err(),
                "[{be}] {sql} was allowed"
            );
        }
    }
}
