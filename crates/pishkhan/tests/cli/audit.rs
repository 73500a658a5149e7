//! The exchange end to end through the binary: `demo` starts the reference agencies as their
//! own processes, inquiries go over signed HTTP and into the Merkle log, and
//! `audit verify` accepts the log and names the first bad entry after any tampering.

use std::time::Duration;

use pishkhan_testkit::TestDb;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::{DEMO_LOAD, Server, cli, cli_within, pishkhan, run_cmd};

const INQUIRIES: usize = 6;

async fn tamper(db: &TestDb, statements: &[String]) {
    match db.data_dir() {
        Some(dir) => {
            let url = format!("sqlite://{}", dir.join("pishkhan.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            // Whoever tampers with the file can drop the append-only triggers first.
            for t in [
                "exchange_log_entries_no_update",
                "exchange_log_entries_no_delete",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {t}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
        None => {
            let mut c = sqlx::PgConnection::connect(db.url().expose())
                .await
                .unwrap();
            sqlx::query("ALTER TABLE exchange_log_entries DISABLE TRIGGER ALL")
                .execute(&mut c)
                .await
                .unwrap();
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
    }
}

fn verify(db: &TestDb, key: &std::path::Path) -> crate::support::Run {
    let key = key.to_str().unwrap();
    cli(db, &["audit", "verify", "--log-key", key])
}

#[tokio::test]
async fn demo_inquiries_are_logged_and_audit_verify_names_the_first_tampered_entry() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        cli_within(&db, &["demo", "--load-only"], DEMO_LOAD).ok();
        let server = Server::demo(&db).await;
        let out = server.wait_stdout("audit:");
        assert!(out.contains("agency:sabt"), "[{be}] {out}");
        let token = server.login("operator", "demo1234").await.expect(200)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let dir = server.data_dir(&db);
        let sample = run_cmd(
            {
                let mut c = pishkhan(&dir);
                c.args(["agency", "sample", "--n"])
                    .arg(INQUIRIES.to_string());
                c
            },
            Duration::from_secs(30),
        )
        .ok();
        let http = reqwest::Client::new();
        for (i, line) in sample.stdout.lines().enumerate() {
            let person: Value = serde_json::from_str(line).unwrap();
            let reply = http
                .post(server.url("/api/v1/inquiries"))
                .bearer_auth(&token)
                .json(&json!({
                    "service": "civil-registry.person",
                    "purpose": { "legal_basis": "قانون ثبت احوال", "service_code": "NID-001", "case_id": format!("C-{i}") },
                    "subject": person["national_code"],
                }))
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            let body: Value = reply.json().await.unwrap();
            assert_eq!(status, 200, "[{be}] {body}");
            assert_eq!(body["result"]["first_name"], person["first_name"], "[{be}]");
        }
        // An identity check: its receipt verifies offline with the receipt key, and one
        // changed byte makes it fail.
        let first: Value = serde_json::from_str(sample.stdout.lines().next().unwrap()).unwrap();
        let checked = http
            .post(server.url("/api/v1/identity/verifications"))
            .bearer_auth(&token)
            .json(&json!({
                "national_code": first["national_code"], "first_name": first["first_name"],
                "last_name": first["last_name"], "birth_date": first["birth_date"],
                "card_serial": first["card_serial"],
                "purpose": { "service_code": "NID-001", "case_id": "R-1" },
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(checked.status().as_u16(), 200, "[{be}]");
        let checked: Value = checked.json().await.unwrap();
        let receipt = checked["receipt"].as_str().unwrap().to_string();

        // Keep the keys: a PostgreSQL demo's data dir goes with the server.
        let keep = tempfile::tempdir().unwrap();
        let key = keep.path().join("log.jwk");
        std::fs::copy(dir.join("keys").join("log.jwk"), &key).unwrap();
        let receipt_key = keep.path().join("receipt.jwk");
        std::fs::copy(dir.join("keys").join("receipt.jwk"), &receipt_key).unwrap();
        let jwks = receipt_key.to_str().unwrap();
        cli(&db, &["receipt", "verify", &receipt, "--jwks", jwks])
            .ok()
            .stdout_has(&[
                "receipt verified",
                &format!("\"decision\": {}", checked["decision"]),
            ]);
        for at in [5, receipt.len() / 2, receipt.len() - 3] {
            let mut bytes = receipt.clone().into_bytes();
            bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
            let tampered = String::from_utf8(bytes).unwrap();
            cli(&db, &["receipt", "verify", &tampered, "--jwks", jwks])
                .failed()
                .stderr_has(&["does NOT verify"]);
        }
        // A crash: every answered inquiry is in the log afterwards, and the agency processes
        // the demo started go with it.
        let agencies: Vec<String> = out
            .lines()
            .filter(|l| l.trim_start().starts_with("agency:"))
            .filter_map(|l| l.split("http://").nth(1))
            .map(|a| a.trim().trim_end_matches('/').to_string())
            .collect();
        assert_eq!(agencies.len(), 4, "[{be}] {out}");
        for a in &agencies {
            assert!(std::net::TcpStream::connect(a).is_ok(), "[{be}] {a} is up");
        }
        server.kill9();
        for a in &agencies {
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while std::net::TcpStream::connect(a).is_ok() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "[{be}] the agency at {a} outlived its demo"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        verify(&db, &key)
            .ok()
            .stdout_has(&[&format!("{} entries", INQUIRIES + 1)]);

        // One altered byte in entry 2.
        tamper(
            &db,
            &[match db.data_dir() {
                Some(_) => "UPDATE exchange_log_entries SET entry = CAST(entry || x'20' AS BLOB) WHERE idx = 2".into(),
                None => "UPDATE exchange_log_entries SET entry = entry || '\\x20'::bytea WHERE idx = 2".into(),
            }],
        )
        .await;
        verify(&db, &key).failed().stderr_has(&["entry 2"]);
        tamper(
            &db,
            &[match db.data_dir() {
                Some(_) => "UPDATE exchange_log_entries SET entry = CAST(substr(entry, 1, length(entry) - 1) AS BLOB) WHERE idx = 2".into(),
                None => "UPDATE exchange_log_entries SET entry = substring(entry from 1 for length(entry) - 1) WHERE idx = 2".into(),
            }],
        )
        .await;
        verify(&db, &key).ok();

        // Entries 1 and 4 swapped (bytes and their hashes together).
        tamper(
            &db,
            &[
                "UPDATE exchange_log_entries SET idx = -1 WHERE idx = 1".into(),
                "UPDATE exchange_log_entries SET idx = 1 WHERE idx = 4".into(),
                "UPDATE exchange_log_entries SET idx = 4 WHERE idx = -1".into(),
            ],
        )
        .await;
        verify(&db, &key).failed().stderr_has(&["entry 1"]);
        tamper(
            &db,
            &[
                "UPDATE exchange_log_entries SET idx = -1 WHERE idx = 1".into(),
                "UPDATE exchange_log_entries SET idx = 1 WHERE idx = 4".into(),
                "UPDATE exchange_log_entries SET idx = 4 WHERE idx = -1".into(),
            ],
        )
        .await;
        verify(&db, &key).ok();

        // Entry 3 removed.
        tamper(
            &db,
            &["DELETE FROM exchange_log_entries WHERE idx = 3".into()],
        )
        .await;
        verify(&db, &key).failed().stderr_has(&["entry 3"]);

        // A key that did not sign the checkpoints is not trusted.
        let other = keep.path().join("other.jwk");
        cli(&db, &["keys", "generate", "--out", other.to_str().unwrap()]).ok();
        verify(&db, &other).failed();
    }
}
