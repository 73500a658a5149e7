//! The ledger through the binary: `kill -9` while a process posts linked chains leaves no
//! partial chain and loses no acknowledged one (`ledger verify` exits 0 and every id the
//! process wrote down is stored), and `ledger verify` exits non-zero naming the transfer or
//! account a tamperer changed.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pishkhan_store::{Backend, TransferId};
use pishkhan_testkit::TestDb;

use crate::support::{cli, db_args, pishkhan};

/// Chains the loader must have acknowledged before the kill, and how long it may take.
const ACKED_BEFORE_KILL: usize = 200;
const LOAD_START: Duration = Duration::from_secs(60);

fn acked(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        // The kill may cut the last line short.
        .filter(|l| l.len() == 32)
        .map(str::to_string)
        .collect()
}

/// Runs `sql` around the store, as someone with the database would.
async fn raw(db: &TestDb, sql: &str) {
    let url = match db.backend() {
        Backend::Sqlite => format!("sqlite://{}", db.url().sqlite_path().unwrap()),
        Backend::Postgres => db.url().expose().to_string(),
    };
    sqlx::any::install_default_drivers();
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut c)
        .await
        .unwrap();
}

#[tokio::test]
async fn kill_9_while_posting_leaves_no_partial_chain_and_verify_names_tampering() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let work = tempfile::tempdir().unwrap();
        let ack_file = work.path().join("acks.txt");
        let mut child = pishkhan(work.path())
            .args(db_args(&db))
            .args(["ledger", "load", "--batch", "64", "--ack-file"])
            .arg(&ack_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while acked(&ack_file).len() < ACKED_BEFORE_KILL {
            assert!(
                started.elapsed() < LOAD_START,
                "[{be}] the loader acknowledged too little"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "[{be}] the loader stopped by itself"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Mid-run: more batches are being decided and committed.
        std::thread::sleep(Duration::from_millis(150));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none(),
            "[{be}] killed by a signal: {status}"
        );
        let acknowledged = acked(&ack_file);

        cli(&db, &["ledger", "verify"]).ok().stdout_has(&[
            "ledger verified",
            "no linked chain is partial",
            "head: seq",
        ]);

        let store = db.open().await;
        let mut stored = HashSet::new();
        let mut after = 0;
        loop {
            let page = store.transfers_after(after, 10_000).await.unwrap();
            let Some((last, _)) = page.last() else { break };
            after = *last;
            stored.extend(page.into_iter().map(|(_, s)| s.transfer.id.hex()));
        }
        for id in &acknowledged {
            assert!(
                stored.contains(id),
                "[{be}] acknowledged chain {id} was lost"
            );
        }
        let third = store.transfers_after(2, 1).await.unwrap()[0].1.transfer.id;
        drop(store);

        // A changed amount (its append-only trigger dropped first) is named by its id.
        let drop_trigger = match db.backend() {
            Backend::Sqlite => "DROP TRIGGER ledger_transfers_fixed",
            Backend::Postgres => "DROP TRIGGER ledger_transfers_fixed ON ledger_transfers",
        };
        raw(&db, drop_trigger).await;
        raw(
            &db,
            "UPDATE ledger_transfers SET amount = amount + 1 WHERE seq = 3",
        )
        .await;
        let hex = third.hex();
        cli(&db, &["ledger", "verify"]).failed().stderr_has(&[
            "does NOT verify",
            &format!("transfer {hex}"),
            "seq 3",
        ]);
        assert_eq!(TransferId::parse(&hex).unwrap(), third);

        // Undone, it verifies; a changed balance is named by its account.
        raw(
            &db,
            "UPDATE ledger_transfers SET amount = amount - 1 WHERE seq = 3",
        )
        .await;
        cli(&db, &["ledger", "verify"]).ok();
        raw(
            &db,
            "UPDATE ledger_accounts SET debits_posted = debits_posted + 5 WHERE code = 'psp_clearing'",
        )
        .await;
        cli(&db, &["ledger", "verify"])
            .failed()
            .stderr_has(&["does NOT verify", "account psp_clearing"]);
    }
}
