//! The compliance area on every backend: the set-based activity read sums every office's
//! figures, lookups and schedule at once; a run's findings are recorded once per rule
//! version, office and period, and once while open; the payments' findings read in the same
//! list; a sanction moves the status only from the one it was decided on; sanctions are
//! never changed at the database.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::compliance::SanctionKind;
use pishkhan_domain::model::{OfficeCode, OfficeStatus};
use pishkhan_store::{
    ActivityWindow, AuditContext, FindingFilter, NewRuleFinding, PageRequest, SanctionWrite,
    StoreError,
};
use pishkhan_testkit::{TestDb, load_small_nation};
use serde_json::json;

const T0: i64 = 1_764_300_000_000;

fn ctx() -> AuditContext {
    AuditContext {
        now_ms: T0,
        ..AuditContext::default()
    }
}

fn manage() -> pishkhan_domain::access::Permit {
    authorize(
        &Principal::System { reason: "test" },
        Action::ManageCompliance,
    )
    .unwrap()
}

fn day(s: &str) -> JalaliDate {
    JalaliDate::parse(s).unwrap()
}

fn finding(office: OfficeCode, period: &str) -> NewRuleFinding {
    NewRuleFinding {
        office,
        rule: "low_booked_share",
        rule_version: 1,
        period: period.into(),
        severity: "high",
        evidence: json!({ "visits": 1 }),
    }
}

#[tokio::test]
async fn one_read_sums_every_office_and_findings_are_recorded_once() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let [busy, quiet, no_slots, closed] = [0, 1, 2, 3].map(|i| nation.offices[i].code);
        for d in ["1405-09-01", "1405-09-02", "1405-08-30"] {
            for (office, booked, walk_ins) in [(busy, 5, 60), (quiet, 3, 1)] {
                let figures =
                    json!({ "check_ins": booked, "late_arrivals": 1, "walk_ins": walk_ins });
                db.execute_raw(&format!(
                    "INSERT INTO office_day_figures (office_code, day, figures_json, updated_at_ms) \
                     VALUES ({office}, '{d}', '{figures}', 0)"
                ))
                .await;
            }
        }
        // Outside the window: not counted.
        db.execute_raw(&format!(
            "INSERT INTO office_day_figures (office_code, day, figures_json, updated_at_ms) \
             VALUES ({busy}, '1405-09-05', '{{\"walk_ins\": 1000}}', 0)"
        ))
        .await;
        let bytes = |b: &[u8]| {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            match db.backend() {
                pishkhan_store::Backend::Sqlite => format!("X'{hex}'"),
                pishkhan_store::Backend::Postgres => format!("'\\x{hex}'::bytea"),
            }
        };
        let leaf = bytes(&[0]);
        // Two lookups on the window's last day, one on a day after it.
        let last = pishkhan_domain::tehran::day_bounds_ms(day("1405-09-02")).0;
        let later = pishkhan_domain::tehran::day_bounds_ms(day("1405-09-04")).0;
        for (idx, at) in [(0, last + 10), (1, last + 5_000), (2, later + 10)] {
            let entry = bytes(
                format!(r#"{{"agency":"agency:sabt","at_ms":{at},"office":"office:{no_slots}"}}"#)
                    .as_bytes(),
            );
            db.execute_raw(&format!(
                "INSERT INTO exchange_log_entries (idx, leaf_hash, entry, at_ms, subject, office_code) \
                 VALUES ({idx}, {leaf}, {entry}, {at}, NULL, 'office:{no_slots}')"
            ))
            .await;
        }
        // Rows written behind the writers' backs reach the rollups through a rebuild.
        store.rebuild_rollups().await.unwrap();
        db.execute_raw(&format!(
            "INSERT INTO office_schedules (office_code, slot_minutes, occupancy_cap, booking_counters, updated_at_ms) \
             VALUES ({no_slots}, 30, 4, 0, 0)"
        ))
        .await;
        for d in ["1405-09-08", "1405-09-09"] {
            db.execute_raw(&format!(
                "INSERT INTO office_closures (office_code, day, reason_fa, reason_en) \
                 VALUES ({closed}, '{d}', 'تعمیر', 'Repairs')"
            ))
            .await;
        }
        let window = ActivityWindow {
            from: day("1405-08-30"),
            to: day("1405-09-02"),
            from_ms: T0 - 1_000,
            to_ms: T0,
            ahead_from: day("1405-09-08"),
            ahead_to: day("1405-09-09"),
            ahead_days: 2,
        };
        let all = store.compliance_activity(&window).await.unwrap();
        let live = nation
            .offices
            .iter()
            .filter(|o| o.status != OfficeStatus::Revoked)
            .count();
        assert_eq!(all.len(), live, "[{be}] every office but the revoked, once");
        let of = |o: OfficeCode| all.iter().find(|a| a.office == o).unwrap().clone();
        assert_eq!(
            (of(busy).visits, of(busy).booked_visits),
            (3 * 66, 18),
            "[{be}]"
        );
        assert_eq!(
            (of(quiet).visits, of(quiet).booked_visits),
            (15, 12),
            "[{be}]"
        );
        assert_eq!(of(no_slots).lookups, 2, "[{be}]");
        assert!(!of(no_slots).bookable_ahead, "[{be}] no booking counters");
        assert!(!of(closed).bookable_ahead, "[{be}] closed every day ahead");
        assert!(of(busy).bookable_ahead, "[{be}]");

        // Once per rule version, office and period; and not again while one is open.
        let p = manage();
        let first = finding(busy, "1405-08-30..1405-09-02");
        assert_eq!(
            store
                .record_findings(&p, std::slice::from_ref(&first), &ctx())
                .await
                .unwrap(),
            1,
            "[{be}]"
        );
        assert_eq!(
            store
                .record_findings(&p, std::slice::from_ref(&first), &ctx())
                .await
                .unwrap(),
            0,
            "[{be}]"
        );
        let slid = finding(busy, "1405-08-31..1405-09-03");
        assert_eq!(
            store
                .record_findings(&p, std::slice::from_ref(&slid), &ctx())
                .await
                .unwrap(),
            0,
            "[{be}]"
        );
        let open = FindingFilter {
            status: Some("open".into()),
            office: None,
        };
        let listed = store
            .compliance_findings(&open, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(listed.total, 1, "[{be}]");
        let id = listed.items[0].id;
        assert_eq!(listed.items[0].rule_version, 1, "[{be}]");

        // A sanction citing it closes it; it is decided on the status it found.
        let write = SanctionWrite {
            office: busy,
            kind: SanctionKind::Warning,
            reason: "r".into(),
            findings: vec![id],
            from: OfficeStatus::Active,
            to: OfficeStatus::Warned,
            notices: Vec::new(),
            manager: None,
        };
        store.record_sanction(&p, &write, &ctx()).await.unwrap();
        let stale = store.record_sanction(&p, &write, &ctx()).await.unwrap_err();
        assert!(
            matches!(stale, StoreError::WrongState(_)),
            "[{be}] {stale:?}"
        );
        let other = SanctionWrite {
            office: quiet,
            findings: vec![id],
            ..write.clone()
        };
        let err = store.record_sanction(&p, &other, &ctx()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownReference { .. }),
            "[{be}] {err:?}"
        );
        assert_eq!(
            store.office(quiet).await.unwrap().status,
            OfficeStatus::Active,
            "[{be}] nothing of a refused sanction is kept"
        );
        assert_eq!(
            store.record_findings(&p, &[slid], &ctx()).await.unwrap(),
            1,
            "[{be}]"
        );

        // A payment's finding (0016's columns only) reads as rule fee_above_tariff, version 0.
        db.execute_raw(&format!(
            "INSERT INTO compliance_findings (office_code, kind, evidence, payment_id, created_at_ms) \
             VALUES ({quiet}, 'fee_above_tariff', '{{\"charged\": 2}}', 7, {T0})"
        ))
        .await;
        let mine = store
            .compliance_findings(
                &FindingFilter {
                    status: Some("open".into()),
                    office: Some(quiet),
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(mine.total, 1, "[{be}]");
        assert_eq!(mine.items[0].rule, "fee_above_tariff", "[{be}]");
        assert_eq!(mine.items[0].rule_version, 0, "[{be}]");
        assert_eq!(mine.items[0].payment, Some(7), "[{be}]");

        // The record of sanctions is fixed at the database.
        let mut conn = super::raw_connection(&db).await;
        for sql in [
            "UPDATE office_sanctions SET reason = 'changed'",
            "DELETE FROM office_sanctions",
        ] {
            let r = sqlx::Executor::execute(&mut conn, sql).await;
            assert!(r.is_err(), "[{be}] allowed `{sql}`");
        }
        let kept = store.sanctions(Some(busy), 10).await.unwrap();
        assert_eq!(kept[0].reason, "r", "[{be}]");
    }
}

#[tokio::test]
async fn dismissing_closes_an_open_finding_once() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        let p = manage();
        store
            .record_findings(&p, &[finding(office, "1405-08-30..1405-09-02")], &ctx())
            .await
            .unwrap();
        let open = FindingFilter {
            status: Some("open".into()),
            office: Some(office),
        };
        let listed = store
            .compliance_findings(&open, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(listed.total, 1, "[{be}]");
        let id = listed.items[0].id;

        let dismissed = store
            .dismiss_finding(&p, id, "figures were a data-entry error", &ctx())
            .await
            .unwrap();
        assert_eq!(dismissed.id, id, "[{be}]");
        assert_eq!(dismissed.status, "dismissed", "[{be}]");
        assert_eq!(dismissed.office, office, "[{be}]");
        let still_open = store
            .compliance_findings(&open, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(still_open.total, 0, "[{be}] no longer listed as open");
        let kept = store
            .compliance_findings(
                &FindingFilter {
                    status: Some("dismissed".into()),
                    office: Some(office),
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(kept.total, 1, "[{be}] kept, as dismissed");

        let twice = store
            .dismiss_finding(&p, id, "again", &ctx())
            .await
            .unwrap_err();
        assert!(
            matches!(twice, StoreError::WrongState(_)),
            "[{be}] {twice:?}"
        );
        // A dismissed finding is no evidence for a sanction, and keeps its status.
        let cite = SanctionWrite {
            office,
            kind: SanctionKind::Warning,
            reason: "r".into(),
            findings: vec![id],
            from: OfficeStatus::Active,
            to: OfficeStatus::Warned,
            notices: Vec::new(),
            manager: None,
        };
        let err = store.record_sanction(&p, &cite, &ctx()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownReference { .. }),
            "[{be}] {err:?}"
        );
        assert_eq!(
            store.office(office).await.unwrap().status,
            OfficeStatus::Active,
            "[{be}] nothing of the refused sanction is kept"
        );
        let unknown = store
            .dismiss_finding(&p, id + 1_000, "none", &ctx())
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, StoreError::NotFound { .. }),
            "[{be}] {unknown:?}"
        );

        // Only the compliance permit dismisses.
        let other = authorize(
            &Principal::System { reason: "test" },
            Action::BrowseRegistry,
        )
        .unwrap();
        let refused = store
            .dismiss_finding(&other, id, "x", &ctx())
            .await
            .unwrap_err();
        assert!(
            matches!(refused, StoreError::PermitMismatch),
            "[{be}] {refused:?}"
        );
    }
}
