//! The embedded store belongs to one process: a second one is refused at once with a clear
//! message, and the database is free again once the first has stopped. PostgreSQL has no such
//! lock: an import while the server runs is visible to it at once.

use std::time::Duration;

use pishkhan_store::Backend;
use pishkhan_testkit::TestDb;

use crate::support::{Server, cli, write_file};

const OFFICES: &str = "code,name_fa,name_en,province,city_fa,city_en,address_fa,address_en,\
postal_code,phone,lat,lon,licence_no,counters
90000021,دفتر پیشخوان دولت اصفهان,Isfahan Office,3,اصفهان,Isfahan,خیابان چهارباغ,Chaharbagh St,\
8143467891,031-32221100,32.6539,51.6660,ISF-21,5
";

#[tokio::test]
async fn a_busy_sqlite_store_refuses_a_second_process_at_once_while_postgres_shares() {
    for db in TestDb::all().await {
        let files = tempfile::tempdir().expect("temp dir");
        let file = write_file(files.path(), "offices.csv", OFFICES);
        cli(&db, &["migrate"]).ok();
        let server = Server::serve(&db).await;
        match db.backend() {
            Backend::Sqlite => {
                let refused = cli(&db, &["import", "offices", &file])
                    .failed()
                    .stderr_has(&["in use by another pishkhan process", "pishkhan.db"]);
                assert!(
                    refused.elapsed < Duration::from_secs(5),
                    "refused only after {:?}: {refused}",
                    refused.elapsed
                );
                cli(&db, &["migrate"])
                    .failed()
                    .stderr_has(&["in use by another pishkhan process"]);
                cli(&db, &["demo", "--load-only"])
                    .failed()
                    .stderr_has(&["in use by another pishkhan process"]);
                // The running server was not disturbed, and nothing was imported.
                server.get("/api/v1/offices/90000021").await.expect(404);
                assert_eq!(server.total("/api/v1/offices").await, 0);
                let status = server.stop();
                assert!(status.success(), "serve exits 0 on SIGTERM, got {status}");

                cli(&db, &["import", "offices", &file])
                    .ok()
                    .stdout_has(&["imported 1 offices"]);
                let server = Server::serve(&db).await;
                let office = server.get("/api/v1/offices/90000021").await.expect(200);
                assert_eq!(office["name_fa"], "دفتر پیشخوان دولت اصفهان");
                assert_eq!(office["province"], 3);
                // A server killed outright (SIGKILL, no shutdown) leaves the database usable.
                drop(server);
                cli(&db, &["migrate"])
                    .ok()
                    .stdout_has(&["0 reference rows added"]);
            }
            Backend::Postgres => {
                cli(&db, &["import", "offices", &file])
                    .ok()
                    .stdout_has(&["imported 1 offices"]);
                let office = server.get("/api/v1/offices/90000021").await.expect(200);
                assert_eq!(office["name_fa"], "دفتر پیشخوان دولت اصفهان");
                cli(&db, &["migrate"])
                    .ok()
                    .stdout_has(&["0 reference rows added"]);
                assert!(server.stop().success());
            }
        }
    }
}
