//! `migrate`: idempotent, loads the reference data; `serve` never creates demo accounts.

use std::collections::BTreeSet;

use pishkhan_testkit::TestDb;

use crate::support::{QUICK, Server, cli, db_args, pishkhan, run_cmd};

#[tokio::test]
async fn migrate_is_idempotent_loads_the_provinces_and_serve_makes_no_demo_accounts() {
    let provinces = pishkhan_nation::provinces().len();
    let agencies = pishkhan_nation::agencies().len();
    assert_eq!(provinces, 31);
    for db in TestDb::all().await {
        let backend = db.backend().name();
        let first = cli(&db, &["migrate"]).ok();
        let added = provinces + agencies;
        first.stdout_has(&[
            &format!("schema is up to date on {backend}"),
            &format!("; {added} reference rows added"),
        ]);
        cli(&db, &["migrate"]).ok().stdout_has(&[&format!(
            "schema is up to date on {backend}; 0 reference rows added"
        )]);

        // The third run logs as JSON: every line on stderr is a JSON object.
        let mut cmd = pishkhan(&std::env::temp_dir());
        cmd.env("PISHKHAN_LOG", "info").args(db_args(&db)).args([
            "--log-format",
            "json",
            "migrate",
        ]);
        let json_logs = run_cmd(cmd, QUICK).ok();
        let lines: Vec<&str> = json_logs.stderr.lines().collect();
        assert!(!lines.is_empty(), "no log lines: {json_logs}");
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("log line {line:?} is not JSON ({e}): {json_logs}"));
            assert!(v["level"].is_string(), "log line without level: {line}");
        }

        // Straight from the store, before any server runs: migrate alone loaded the provinces.
        {
            let store = db.open().await;
            let stored = store.provinces().await.expect("provinces");
            assert_eq!(stored.len(), 31, "{backend}");
            assert_eq!(store.agencies().await.expect("agencies").len(), agencies);
        }

        let server = Server::serve(&db).await;
        let ready = server.get("/readyz").await.expect(200);
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["database"], backend);

        let list = server.get("/api/v1/provinces").await.expect(200);
        let list = list.as_array().expect("province array");
        assert_eq!(list.len(), 31, "{backend}: {list:?}");
        let ids: BTreeSet<u64> = list.iter().filter_map(|p| p["id"].as_u64()).collect();
        assert_eq!(ids, (1..=31).collect::<BTreeSet<u64>>());
        let names: BTreeSet<&str> = list.iter().filter_map(|p| p["name_fa"].as_str()).collect();
        assert_eq!(names.len(), 31, "Persian names are distinct: {names:?}");
        assert!(names.contains("تهران"), "{names:?}");
        assert!(list.iter().all(|p| p["offices"] == 0));
        let listed_agencies = server.get("/api/v1/agencies").await.expect(200);
        assert_eq!(listed_agencies.as_array().map(Vec::len), Some(agencies));
        assert_eq!(server.total("/api/v1/offices").await, 0);
        assert_eq!(server.total("/api/v1/services").await, 0);

        // `serve` never creates the demo accounts.
        for (username, _) in pishkhan_testkit::demo_roles() {
            server
                .login(username, pishkhan_nation::DEMO_PASSWORD)
                .await
                .expect(401);
        }
        let status = server.stop();
        assert!(status.success(), "serve exits 0 on SIGTERM, got {status}");
    }
}
