//! A citizen's report thread is append-only at the database (migration 0018), on both
//! stores: a row can be added, never changed or removed, even with raw SQL.

use pishkhan_testkit::{TestDb, load_small_nation};

#[tokio::test]
async fn a_report_thread_refuses_every_change_at_the_database() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code.get();
        let mut conn = super::raw_connection(&db).await;
        let run = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
        run(format!(
            "INSERT INTO office_reports (office_code, national_code, mobile, category, text, \
             status, created_at_ms, updated_at_ms) VALUES ({office}, '0012345679', \
             '09121234567', 'crowding', 'too crowded to enter', 'submitted', 1, 1)"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        run(
            "INSERT INTO office_report_entries (report_id, at_ms, party, author, kind, text) \
             SELECT id, 1, 'citizen', 'citizen:0012345679', 'report', 'too crowded to enter' \
             FROM office_reports WHERE national_code = '0012345679'"
                .into(),
        )
        .execute(&mut conn)
        .await
        .unwrap();
        for sql in [
            "UPDATE office_report_entries SET text = 'nothing happened'",
            "UPDATE office_report_entries SET author = 'someone else'",
            "UPDATE office_report_entries SET at_ms = 2",
            "DELETE FROM office_report_entries",
        ] {
            assert!(
                run(sql.into()).execute(&mut conn).await.is_err(),
                "[{be}] {sql} was allowed"
            );
        }
        let left: i64 = sqlx::Row::get(
            &run("SELECT COUNT(*) AS n FROM office_report_entries WHERE text = 'too crowded to enter'".into())
                .fetch_one(&mut conn)
                .await
                .unwrap(),
            "n",
        );
        assert_eq!(left, 1, "[{be}] the entry is as written");
    }
}
