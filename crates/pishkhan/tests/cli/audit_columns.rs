//! `audit verify` checks every column the message log is kept in. Each column of every
//! `exchange_log_*` table, changed alone around the store (the append-only triggers and checks
//! dropped first, as whoever holds the database can), makes it fail naming that column. The
//! columns are read from the database's own schema, so a column added later without a check
//! in the audit fails this test.

use std::path::Path;
use std::sync::Arc;

use pishkhan_app::exchange::StoreLog;
use pishkhan_exchange::log::LoggedPurpose;
use pishkhan_exchange::{LogAppender, LogEntry, LogOutcome, MemberId, ServiceId};
use pishkhan_sign::KeyPair;
use pishkhan_store::Backend;
use pishkhan_testkit::TestDb;
use sqlx::{AnyConnection, Connection, Row};

use crate::support::{Run, cli};

/// Appended one at a time: one batch and one checkpoint each, nodes on three levels.
const ENTRIES: u64 = 7;
/// Tables the log is known to be kept in; the schema may add more, never fewer.
const KNOWN_TABLES: [&str; 4] = [
    "exchange_log_checkpoints",
    "exchange_log_entries",
    "exchange_log_head",
    "exchange_log_nodes",
];

fn entry(i: u64) -> LogEntry {
    LogEntry {
        at_ms: 1_760_000_000_000 + i as i64,
        office: MemberId::parse("office:11000001").unwrap(),
        operator: "operator.ali".into(),
        service: ServiceId::parse("civil-registry.person").unwrap(),
        agency: Some(MemberId::parse("agency:sabt").unwrap()),
        purpose: LoggedPurpose {
            legal_basis: "قانون ثبت احوال".into(),
            service_code: "NID-001".into(),
            case_id: format!("C-{i}"),
        },
        subject: Some(format!("{:010}", 1_000_000 + i)),
        request_sha256: format!("{i:064x}"),
        response_sha256: Some(format!("{:064x}", i + 1)),
        status: Some(200),
        outcome: LogOutcome::Ok,
        error_code: None,
        request_nonce: None,
        response_signature: None,
        request_body: None,
        response_body: None,
        cached_at_ms: None,
    }
}

async fn fresh(backend: Backend) -> TestDb {
    match backend {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres().await.expect("PostgreSQL is configured"),
    }
}

/// A log of [`ENTRIES`] entries written through the store, as the server writes it.
async fn build_log(db: &TestDb, key: &Path) {
    let store = db.open().await;
    let appender = LogAppender::start(
        Arc::new(StoreLog(store)),
        KeyPair::read_file(key).unwrap(),
        "pishkhan.test/inquiry-log".into(),
    )
    .await
    .unwrap();
    for i in 0..ENTRIES {
        appender.append(&entry(i)).await.unwrap();
    }
    // The store goes with the appender, so the CLI can take the database.
    appender.shutdown().await;
}

async fn raw(db: &TestDb) -> AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match db.backend() {
        Backend::Sqlite => format!("sqlite://{}", db.url().sqlite_path().unwrap()),
        Backend::Postgres => db.url().expose().to_string(),
    };
    AnyConnection::connect(&url).await.unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Text,
    Blob,
}

#[derive(Debug)]
struct Column {
    table: String,
    name: String,
    kind: Kind,
    nullable: bool,
}

/// Every column of every `exchange_log_*` table, from the schema.
async fn log_columns(db: &TestDb) -> Vec<Column> {
    let mut c = raw(db).await;
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT m.name AS tbl, p.name AS col, lower(p.type) AS kind, \
                    CASE WHEN p.\"notnull\" = 0 AND p.pk = 0 THEN 'YES' ELSE 'NO' END AS nullable \
             FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name LIKE 'exchange\\_log\\_%' ESCAPE '\\' \
             ORDER BY m.name, p.cid"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS tbl, CAST(column_name AS TEXT) AS col, \
                    CAST(data_type AS TEXT) AS kind, CAST(is_nullable AS TEXT) AS nullable \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name LIKE 'exchange\\_log\\_%' ESCAPE '\\' \
             ORDER BY table_name, ordinal_position"
        }
    };
    let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
    rows.iter()
        .map(|r| {
            let kind: String = r.get("kind");
            Column {
                table: r.get("tbl"),
                name: r.get("col"),
                kind: match kind.as_str() {
                    "integer" | "bigint" => Kind::Integer,
                    "text" => Kind::Text,
                    "blob" | "bytea" => Kind::Blob,
                    other => panic!("no way to change a column of type {other} yet: add one"),
                },
                nullable: r.get::<String, _>("nullable") == "YES",
            }
        })
        .collect()
}

/// Runs `statements` around the store after lifting every guard on `table`: its triggers and
/// its check constraints.
async fn tamper(db: &TestDb, table: &str, statements: &[String]) -> u64 {
    let mut c = raw(db).await;
    match db.backend() {
        Backend::Sqlite => {
            sqlx::query("PRAGMA ignore_check_constraints = ON")
                .execute(&mut c)
                .await
                .unwrap();
            let triggers: Vec<String> = sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1",
            )
            .bind(table)
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("name"))
            .collect();
            for t in triggers {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER {t}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
        Backend::Postgres => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} DISABLE TRIGGER USER"
            )))
            .execute(&mut c)
            .await
            .unwrap();
            let checks: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT CAST(conname AS TEXT) AS name FROM pg_constraint \
                 WHERE conrelid = '{table}'::regclass AND contype = 'c'"
            )))
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("name"))
            .collect();
            for name in checks {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER TABLE {table} DROP CONSTRAINT {name}"
                )))
                .execute(&mut c)
                .await
                .unwrap();
            }
        }
    }
    let mut changed = 0;
    for s in statements {
        changed += sqlx::query(sqlx::AssertSqlSafe(s.clone()))
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected();
    }
    changed
}

/// `SET column = value` on the middle row of `table` (by physical row id, so no key of the
/// table is assumed).
fn update_middle_row(backend: Backend, table: &str, set: &str) -> String {
    let row_id = match backend {
        Backend::Sqlite => "rowid",
        Backend::Postgres => "ctid",
    };
    format!(
        "UPDATE {table} SET {set} WHERE {row_id} = (SELECT {row_id} FROM {table} \
         ORDER BY {row_id} LIMIT 1 OFFSET (SELECT COUNT(*) FROM {table}) / 2)"
    )
}

/// Changes to make to `column`: a different value of its type (same length for blobs, so a
/// hash still reads as 32 bytes), and NULL where the schema allows it.
fn changes(backend: Backend, column: &Column) -> Vec<String> {
    let c = &column.name;
    let mut values = vec![match (column.kind, backend) {
        (Kind::Integer, _) => format!("{c} + 1000003"),
        (Kind::Text, _) => format!("{c} || 'x'"),
        (Kind::Blob, Backend::Sqlite) => format!("zeroblob(length({c}))"),
        (Kind::Blob, Backend::Postgres) => format!("decode(repeat('00', length({c})), 'hex')"),
    }];
    if column.nullable {
        values.push("NULL".into());
    }
    values
}

fn verify(db: &TestDb, key: &Path) -> Run {
    cli(db, &["audit", "verify", "--log-key", key.to_str().unwrap()])
}

#[tokio::test]
async fn audit_verify_names_every_stored_column_of_the_log_changed_alone() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("log.jwk");
    KeyPair::generate().unwrap().write_file(&key).unwrap();

    for db in TestDb::all().await {
        let backend = db.backend();
        let be = backend.name();
        build_log(&db, &key).await;
        verify(&db, &key)
            .ok()
            .stdout_has(&[&format!("{ENTRIES} entries, {ENTRIES} signed checkpoints")]);

        let columns = log_columns(&db).await;
        for table in KNOWN_TABLES {
            assert!(
                columns.iter().any(|c| c.table == table),
                "[{be}] {table} is not in the schema read: {columns:?}"
            );
        }
        let mut cases: Vec<(String, String, String)> = columns
            .iter()
            .flat_map(|c| {
                changes(backend, c).into_iter().map(|value| {
                    (
                        c.table.clone(),
                        format!("{}.{}", c.table, c.name),
                        update_middle_row(backend, &c.table, &format!("{} = {value}", c.name)),
                    )
                })
            })
            .collect();
        // Rows added outside the log: a copy of an entry, and of a node, beyond the end.
        cases.push((
            "exchange_log_entries".into(),
            "exchange_log_entries.idx".into(),
            "INSERT INTO exchange_log_entries (idx, leaf_hash, entry, at_ms, subject, office_code) \
             SELECT idx + 1000003, leaf_hash, entry, at_ms, subject, office_code \
             FROM exchange_log_entries WHERE idx = 2"
                .into(),
        ));
        cases.push((
            "exchange_log_nodes".into(),
            "exchange_log_nodes.idx".into(),
            "INSERT INTO exchange_log_nodes (level, idx, hash) \
             SELECT level, idx + 1000003, hash FROM exchange_log_nodes WHERE level = 1 AND idx = 1"
                .into(),
        ));

        for (table, column, statement) in cases {
            let db = fresh(backend).await;
            build_log(&db, &key).await;
            let changed = tamper(&db, &table, std::slice::from_ref(&statement)).await;
            assert_eq!(changed, 1, "[{be}] {statement}");
            verify(&db, &key)
                .failed()
                .stderr_has(&["does NOT verify", &format!("column {column}:")]);
        }
    }
}
