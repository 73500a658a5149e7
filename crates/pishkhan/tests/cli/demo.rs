//! `demo`: loads the whole demo nation once, reuses it afterwards, and serves it with the
//! three demo logins.

use pishkhan_testkit::TestDb;

use crate::support::{DEMO_LOAD, Server, cli, cli_within};

const OFFICES: u64 = 17_000;
const STAFF: u64 = 40_000;
const SERVICES: u64 = 550;

#[tokio::test]
async fn demo_loads_the_nation_once_then_reuses_it_and_serves_the_demo_logins() {
    for db in TestDb::all().await {
        let backend = db.backend().name();
        let load = cli_within(&db, &["demo", "--load-only"], DEMO_LOAD).ok();
        eprintln!(
            "full demo load on {backend}: {:.2}s wall ({})",
            load.elapsed.as_secs_f64(),
            load.stdout.trim()
        );
        let load = load.stdout_has(&[
            "loaded the demo nation (seed 1405): 31 provinces, 39 agencies, \
             550 services, 17000 offices, 40000 staff",
        ]);
        assert!(!load.stdout.contains("reusing"), "{load}");

        let again = cli(&db, &["demo", "--load-only"])
            .ok()
            .stdout_has(&["reusing the existing database"]);
        assert!(!again.stdout.contains("loaded the demo nation"), "{again}");

        // The store itself holds exactly the nation, loaded once.
        {
            let store = db.open().await;
            let counts = store.counts().await.expect("counts");
            assert_eq!(counts.offices, OFFICES, "{backend}");
            assert_eq!(counts.staff, STAFF, "{backend}");
            assert_eq!(counts.services, SERVICES, "{backend}");
            assert_eq!(counts.agencies, 39, "{backend}");
        }

        let server = Server::demo(&db).await;
        let out = server.wait_stdout("operator");
        assert!(out.contains("reusing the existing database"), "{out}");
        assert!(out.contains("Pishkhan demo is ready in"), "{out}");
        assert!(
            out.contains(&format!("web UI:   {}/", server.base)),
            "{out}"
        );
        assert!(out.contains(&format!("{}/readyz", server.base)), "{out}");
        assert!(out.contains("sign in as (password demo1234):"), "{out}");
        let login_line = |name: &str| -> Vec<String> {
            out.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("no login line for {name}: {out}"))
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        assert_eq!(
            login_line("regulator"),
            ["regulator", "regulator", "national"]
        );
        let manager = login_line("manager");
        assert_eq!(manager[..3], ["manager", "manager", "office"], "{out}");
        let office = manager[3].clone();
        assert_eq!(office.len(), 8, "{out}");
        let operator = login_line("operator");
        assert_eq!(
            operator,
            ["operator", "operator", "office", office.as_str()]
        );

        let ready = server.get("/readyz").await.expect(200);
        assert_eq!(ready["database"], backend);
        assert_eq!(server.total("/api/v1/offices?per_page=1").await, OFFICES);
        assert_eq!(server.total("/api/v1/services?per_page=1").await, SERVICES);
        let provinces = server.get("/api/v1/provinces").await.expect(200);
        let per_province: u64 = provinces
            .as_array()
            .expect("province array")
            .iter()
            .map(|p| p["offices"].as_u64().expect("office count"))
            .sum();
        assert_eq!(per_province, OFFICES);
        let first = server
            .get(&format!("/api/v1/offices/{office}"))
            .await
            .expect(200);
        assert_eq!(first["code"], office.as_str());

        let pw = pishkhan_nation::DEMO_PASSWORD;
        let regulator = server.login("regulator", pw).await.expect(200);
        assert_eq!(regulator["user"]["role"], "regulator");
        assert!(regulator["user"]["office"].is_null());
        let token = regulator["token"].as_str().expect("token");
        let me = server.get_as("/api/v1/me", token).await.expect(200);
        assert_eq!(me["username"], "regulator");
        let manager = server.login("manager", pw).await.expect(200);
        assert_eq!(manager["user"]["role"], "manager");
        assert_eq!(manager["user"]["office"], office.as_str());
        let operator = server.login("operator", pw).await.expect(200);
        assert_eq!(operator["user"]["role"], "operator");
        assert_eq!(operator["user"]["office"], office.as_str());
        server
            .login("regulator", "not-the-password")
            .await
            .expect(401);

        let status = server.stop();
        assert!(status.success(), "demo exits 0 on SIGTERM, got {status}");
    }
}

#[tokio::test]
async fn demo_history_loads_the_traffic_and_the_citizens_reports_the_rules_read() {
    for db in TestDb::all().await {
        let backend = db.backend().name();
        let load = cli_within(
            &db,
            &["demo", "--load-only", "--history-days", "3"],
            DEMO_LOAD * 2,
        )
        .ok()
        .stdout_has(&[
            "loaded 3 days of history: ",
            "citizens' reports of the last 30 days",
        ]);
        let store = db.open().await;
        let today = pishkhan_domain::tehran::jalali_today(time::OffsetDateTime::now_utc());
        let days = store
            .rollup_days(&pishkhan_store::RollupFilter {
                from: today.add_days(-3),
                to: today,
                province: None,
                office: None,
            })
            .await
            .expect("rollup days");
        // Three days before today, each with visits and lookups for the nation.
        assert!(
            days.iter()
                .filter(|d| d.visits > 1000 && d.lookups > 0)
                .count()
                >= 2,
            "{backend}: {days:?}\n{load}"
        );
        assert!(
            days.iter().map(|d| d.reports).sum::<u64>() > 0,
            "{backend}: the demo's reports are counted where they were filed"
        );
        // A rebuild from the raw rows keeps what the load and the reports wrote.
        let before = days.clone();
        store.rebuild_rollups().await.expect("rebuild");
        let after = store
            .rollup_days(&pishkhan_store::RollupFilter {
                from: today.add_days(-3),
                to: today,
                province: None,
                office: None,
            })
            .await
            .expect("rollup days");
        assert_eq!(after, before, "{backend}");
        drop(store);
        let bad = cli(&db, &["demo", "--load-only", "--history-days", "400"]);
        assert!(!bad.status.success(), "{backend}: 400 days is refused");
    }
}
