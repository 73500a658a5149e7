//! The supervision rollups on every backend: history loads into the office, province and
//! agency rollups at once, refuses an office's day loaded twice (keeping nothing of that
//! load) and an office not in the registry, and a rebuild from the raw rows keeps it.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_store::{DayStats, RollupFilter, StoreError};
use pishkhan_testkit::{TestDb, load_small_nation};

fn day(s: &str) -> JalaliDate {
    JalaliDate::parse(s).unwrap()
}

fn row(office: u32, d: &str, visits: u64, booked: u64, lookups: u64) -> DayStats {
    DayStats {
        id: office,
        day: day(d),
        bookings: booked + 1,
        visits,
        booked_visits: booked,
        walk_ins: visits - booked,
        no_shows: 1,
        completed: visits,
        wait_sum_s: 600 * visits,
        waited: visits,
        lookups,
        payments: 2,
        paid_rials: 3_000_000,
        reports: 1,
        ratings: 2,
        rating_sum: 9,
    }
}

#[tokio::test]
async fn history_loads_once_into_every_level_and_a_rebuild_keeps_it() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let (a, b) = (&nation.offices[0], &nation.offices[1]);
        let permit = authorize(&Principal::System { reason: "test" }, Action::LoadDemo).unwrap();
        let rows = vec![
            row(a.code.get(), "1405-09-01", 100, 80, 30),
            row(a.code.get(), "1405-09-02", 50, 10, 20),
            row(b.code.get(), "1405-09-02", 40, 40, 5),
        ];
        let agencies = vec![
            (day("1405-09-01"), a.province_id, "sabt".to_string(), 30),
            (day("1405-09-02"), a.province_id, "sabt".to_string(), 25),
        ];
        store.load_history(&permit, &rows, &agencies).await.unwrap();

        let all = RollupFilter {
            from: day("1405-09-01"),
            to: day("1405-09-02"),
            province: None,
            office: None,
        };
        let days = store.rollup_days(&all).await.unwrap();
        assert_eq!(days.len(), 2, "[{be}] {days:?}");
        assert_eq!(
            (days[1].visits, days[1].booked_visits, days[1].lookups),
            (90, 50, 25),
            "[{be}] both offices' second day, through the province rows"
        );
        let one = store
            .rollup_days(&RollupFilter {
                office: Some(a.code),
                ..all
            })
            .await
            .unwrap();
        assert_eq!(one.iter().map(|d| d.visits).sum::<u64>(), 150, "[{be}]");
        let provinces = store.rollup_provinces(&all).await.unwrap();
        assert_eq!(
            provinces.iter().map(|p| p.visits).sum::<u64>(),
            190,
            "[{be}]"
        );
        assert_eq!(
            store.rollup_agencies(&all).await.unwrap(),
            vec![("sabt".to_string(), 55)],
            "[{be}]"
        );
        let before = (
            store.rollup_days(&all).await.unwrap(),
            store.rollup_provinces(&all).await.unwrap(),
            store.rollup_agencies(&all).await.unwrap(),
        );

        // The same office's day again: refused, and the new day in that load is not kept.
        let again = vec![
            row(b.code.get(), "1405-09-03", 7, 7, 0),
            row(a.code.get(), "1405-09-01", 1, 1, 1),
        ];
        assert!(
            store.load_history(&permit, &again, &[]).await.is_err(),
            "[{be}] a day loaded twice"
        );
        let unknown = vec![row(99_999_999, "1405-09-03", 1, 1, 1)];
        let err = store
            .load_history(&permit, &unknown, &[])
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownReference { .. }),
            "[{be}] {err:?}"
        );
        let wider = RollupFilter {
            to: day("1405-09-03"),
            ..all
        };
        assert_eq!(
            store.rollup_days(&wider).await.unwrap(),
            before.0,
            "[{be}] nothing of the refused loads"
        );

        store.rebuild_rollups().await.unwrap();
        let after = (
            store.rollup_days(&all).await.unwrap(),
            store.rollup_provinces(&all).await.unwrap(),
            store.rollup_agencies(&all).await.unwrap(),
        );
        assert_eq!(after, before, "[{be}] a rebuild counts the history again");

        let denied = authorize(
            &Principal::System { reason: "test" },
            Action::ManageCompliance,
        )
        .unwrap();
        assert!(
            store.load_history(&denied, &rows, &[]).await.is_err(),
            "[{be}] history needs its own permit"
        );
    }
}
