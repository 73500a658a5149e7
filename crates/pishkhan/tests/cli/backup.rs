//! `pishkhan backup` and `pishkhan restore` through the binary: a backup taken while a server
//! books restores elsewhere with every booking acknowledged before it began and passes
//! `audit verify` and `ledger verify`; a damaged backup is refused and the live database left
//! as it was; a backup never overwrites a file without `--force`; PostgreSQL is pointed to
//! its own tools. Also: logs and progress carry no colour codes when piped.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pishkhan_testkit::TestDb;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::{DEMO_LOAD, Run, Server, cli, cli_within, pishkhan, run_cmd, write_file};

/// Bookings acknowledged before the backup starts, and at most while it runs.
const BEFORE: u32 = 100;
const DURING_MAX: u32 = 150;
const WRITERS: u32 = 8;
/// The demo operator's office.
const OFFICE: &str = "11000001";

const OFFICES: &str = "code,name_fa,name_en,province,city_fa,city_en,address_fa,address_en,\
postal_code,phone,lat,lon,licence_no,counters
90000031,دفتر پیشخوان دولت اصفهان,Isfahan Office,3,اصفهان,Isfahan,خیابان چهارباغ,Chaharbagh St,\
8143467891,031-32221100,32.6539,51.6660,ISF-31,5
";

/// `pishkhan --data-dir DIR ARGS…` with a deadline.
fn in_dir(dir: &Path, args: &[&str], limit: Duration) -> Run {
    let mut cmd = pishkhan(dir);
    cmd.arg("--data-dir").arg(dir).args(args);
    run_cmd(cmd, limit)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Free seats of PSP-001 at the operator's office over its booking window, one entry per
/// seat: (office, slot start).
async fn open_seats(server: &Server) -> Vec<(String, String)> {
    let reply = server
        .get(&format!(
            "/api/v1/offices/{OFFICE}/availability?service=PSP-001&days=14"
        ))
        .await
        .expect(200);
    let mut seats = Vec::new();
    for day in reply["days"].as_array().unwrap() {
        if day["bookable"] != true {
            continue;
        }
        for slot in day["slots"].as_array().unwrap() {
            let start = slot["start"].as_str().unwrap();
            for _ in 0..slot["available"].as_u64().unwrap() {
                seats.push((OFFICE.to_string(), start.to_string()));
            }
        }
    }
    seats
}

/// Books `count` people (numbered from `first`), person `i` on `seats[i]`, `WRITERS` at a
/// time, until `stop` is set; returns the tracking codes and national codes acknowledged with
/// 201.
async fn book(
    server: &Server,
    token: &str,
    seats: &[(String, String)],
    first: u32,
    count: u32,
    stop: Arc<AtomicBool>,
) -> Vec<Acked> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = server.url("/api/v1/bookings");
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (http, url, token, seats, stop) = (
            http.clone(),
            url.clone(),
            token.to_string(),
            seats.to_vec(),
            stop.clone(),
        );
        writers.spawn(async move {
            let mut acked = Vec::new();
            let mut person = first + w;
            while person < first + count && !stop.load(Ordering::Relaxed) {
                let code = pishkhan_domain::NationalCode::from_body(310_000_000 + person).unwrap();
                let (office, start) = &seats[person as usize % seats.len()];
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({
                        "office": office, "service": "PSP-001", "start": start,
                        "national_code": code.as_str(), "mobile": "09121234567",
                    }))
                    .send()
                    .await
                    .expect("the server answers");
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                if status == 201 {
                    // Stored as its parsed form (the API shows it with a dash).
                    let tracking = body["tracking_code"].as_str().unwrap();
                    acked.push((
                        pishkhan_domain::schedule::TrackingCode::parse(tracking)
                            .unwrap()
                            .as_str()
                            .to_string(),
                        code.as_str().to_string(),
                        Instant::now(),
                    ));
                } else {
                    assert_eq!((status, body["code"].as_str()), (409, Some("slot_full")));
                }
                person += WRITERS;
            }
            acked
        });
    }
    let mut acked = Vec::new();
    while let Some(r) = writers.join_next().await {
        acked.extend(r.unwrap());
    }
    acked
}

/// An acknowledged booking: tracking code, national code, when the 201 arrived.
type Acked = (String, String, Instant);

/// Every booking in the SQLite file at `db`: (tracking code, national code).
async fn stored_bookings(db: &Path) -> Vec<(String, String)> {
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_as("SELECT tracking_code, national_code FROM bookings")
        .fetch_all(&mut c)
        .await
        .unwrap()
}

/// The names of the files in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The count the backup's report gives for `table`.
fn reported_rows(out: &str, table: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("rows:"))
        .unwrap_or_else(|| panic!("no rows line in {out}"));
    line.split(", ")
        .map(|part| part.trim_start_matches("  rows: "))
        .find_map(|part| part.strip_prefix(&format!("{table} ")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {table} count in {line}"))
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_elsewhere_with_every_acknowledged_booking() {
    let db = TestDb::sqlite();
    cli_within(&db, &["demo", "--load-only"], DEMO_LOAD).ok();
    let server = Server::demo(&db).await;
    let data = server.data_dir(&db);
    let key = data.join("keys").join("log.jwk");
    let token = server.login("operator", "demo1234").await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();

    // Two inquiries, so the message log the copy is audited against is not empty.
    let sample = run_cmd(
        {
            let mut c = pishkhan(&data);
            c.args(["agency", "sample", "--n", "2"]);
            c
        },
        Duration::from_secs(30),
    )
    .ok();
    for (i, line) in sample.stdout.lines().enumerate() {
        let person: Value = serde_json::from_str(line).unwrap();
        let reply = reqwest::Client::new()
            .post(server.url("/api/v1/inquiries"))
            .bearer_auth(&token)
            .json(&json!({
                "service": "civil-registry.person",
                "purpose": { "legal_basis": "قانون ثبت احوال", "service_code": "NID-001", "case_id": format!("B-{i}") },
                "subject": person["national_code"],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200);
    }

    let seats = open_seats(&server).await;
    assert!(
        seats.len() as u32 >= BEFORE + DURING_MAX,
        "enough seats for every booking: {}",
        seats.len()
    );

    let never = Arc::new(AtomicBool::new(false));
    let before = book(&server, &token, &seats, 0, BEFORE, never).await;
    assert_eq!(
        before.len() as u32,
        BEFORE,
        "every early booking had a seat"
    );

    // The backup runs while eight writers keep booking.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("pishkhan-backup.db");
    let stop = Arc::new(AtomicBool::new(false));
    let backup = {
        let (data, file) = (data.clone(), file.clone());
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(20));
            let began = Instant::now();
            (
                began,
                in_dir(&data, &["backup", "--to", path_str(&file)], DEMO_LOAD),
            )
        })
    };
    let load = book(&server, &token, &seats, BEFORE, DURING_MAX, stop.clone());
    let ((began, ended, backup), during) = tokio::join!(
        async {
            let (began, run) = backup.await.unwrap();
            stop.store(true, Ordering::Relaxed);
            (began, Instant::now(), run)
        },
        load
    );
    let backup = backup.ok().stdout_has(&[
        "backup written to",
        "SQLite integrity check: ok",
        "exchange log verified:",
        "ledger verified:",
        "rows: offices",
    ]);
    assert!(
        during.iter().any(|(_, _, at)| *at > began && *at < ended),
        "bookings were acknowledged while the backup ran"
    );
    // Nothing half-written is left beside the backup.
    assert_eq!(
        names_in(work.path()),
        vec!["pishkhan-backup.db".to_string()],
        "{backup}"
    );

    // A restore is refused while the server holds the database.
    in_dir(
        &data,
        &["restore", "--from", path_str(&file)],
        Duration::from_secs(60),
    )
    .failed()
    .stderr_has(&["in use by another pishkhan process", "stop the server"]);

    let elsewhere = tempfile::tempdir().unwrap();
    let restored = in_dir(
        elsewhere.path(),
        &[
            "restore",
            "--from",
            path_str(&file),
            "--log-key",
            path_str(&key),
        ],
        DEMO_LOAD,
    )
    .ok()
    .stdout_has(&[
        "restored",
        "exchange log verified: 2 entries",
        "ledger verified:",
    ]);
    assert!(!restored.stdout.contains("replaced database is kept"));
    in_dir(
        elsewhere.path(),
        &["audit", "verify", "--log-key", path_str(&key)],
        DEMO_LOAD,
    )
    .ok()
    .stdout_has(&["exchange log verified: 2 entries"])
    .stderr_has(&["checking the message log: done, 2 entries"]);
    in_dir(elsewhere.path(), &["ledger", "verify"], DEMO_LOAD)
        .ok()
        .stdout_has(&["ledger verified:"]);

    // A backup whose message log was changed is sound to SQLite but refused by the audit.
    let tampered = work.path().join("tampered.db");
    std::fs::copy(&file, &tampered).unwrap();
    {
        let url = format!("sqlite://{}", tampered.display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for sql in [
            "DROP TRIGGER IF EXISTS exchange_log_entries_no_update",
            "UPDATE exchange_log_entries SET subject = '0000000000' WHERE idx = 1",
        ] {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        // Closed before the copy is read, so the change is in the file itself.
        c.close().await.unwrap();
    }
    let third = tempfile::tempdir().unwrap();
    in_dir(
        third.path(),
        &[
            "restore",
            "--from",
            path_str(&tampered),
            "--log-key",
            path_str(&key),
        ],
        DEMO_LOAD,
    )
    .failed()
    .stderr_has(&["is refused", "exchange log does NOT verify: entry 1"]);
    assert!(!third.path().join("pishkhan.db").exists());

    let stored = stored_bookings(&elsewhere.path().join("pishkhan.db")).await;
    assert_eq!(
        stored.len() as u64,
        reported_rows(&backup.stdout, "bookings"),
        "the report counts the rows the backup holds"
    );
    let stored_codes: HashSet<&str> = stored.iter().map(|(t, _)| t.as_str()).collect();
    for (tracking, _, _) in &before {
        assert!(
            stored_codes.contains(tracking.as_str()),
            "{tracking}, acknowledged before the backup began, is missing from it"
        );
    }
    let ours: HashSet<&str> = before
        .iter()
        .chain(&during)
        .map(|(_, n, _)| n.as_str())
        .collect();
    let acked: HashSet<&str> = before
        .iter()
        .chain(&during)
        .map(|(t, _, _)| t.as_str())
        .collect();
    let test_rows: Vec<&(String, String)> = stored
        .iter()
        .filter(|(_, n)| ours.contains(n.as_str()))
        .collect();
    assert!(test_rows.len() >= before.len());
    assert!(test_rows.len() <= before.len() + during.len());
    for (tracking, _) in test_rows {
        assert!(
            acked.contains(tracking.as_str()),
            "{tracking} in the backup was never acknowledged"
        );
    }
    assert!(server.stop().success());
}

#[tokio::test]
async fn a_damaged_backup_is_refused_and_an_existing_file_needs_force() {
    let db = TestDb::sqlite();
    let dir = db.data_dir().unwrap().to_path_buf();
    let offices = write_file(&dir, "offices.csv", OFFICES);
    cli(&db, &["migrate"]).ok();
    cli(&db, &["import", "offices", &offices]).ok();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("b.db");
    let backup = cli(&db, &["backup", "--to", path_str(&file)])
        .ok()
        .stdout_has(&["backup written to", "exchange log: empty", "offices 1"]);
    assert!(
        backup.stderr.contains("copying the database: done"),
        "a plain progress line when stderr is piped: {backup}"
    );

    // An existing file is kept unless --force.
    let first = std::fs::read(&file).unwrap();
    cli(&db, &["backup", "--to", path_str(&file)])
        .failed()
        .stderr_has(&["exists; pass --force"]);
    assert_eq!(std::fs::read(&file).unwrap(), first);
    cli(
        &db,
        &[
            "import",
            "offices",
            &write_file(
                &dir,
                "more.csv",
                &OFFICES
                    .replace("90000031", "90000032")
                    .replace("ISF-31", "ISF-32"),
            ),
        ],
    )
    .ok();
    cli(&db, &["backup", "--to", path_str(&file), "--force"])
        .ok()
        .stdout_has(&["offices 2"]);

    // Damage: the page headers of every later page flipped.
    let live = dir.join("pishkhan.db");
    let live_before = std::fs::read(&live).unwrap();
    let names_before = names_in(&dir);
    let mut bytes = std::fs::read(&file).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages > 4, "a backup of {pages} pages");
    for page in 1..pages {
        for b in &mut bytes[page * 4096..page * 4096 + 12] {
            *b = !*b;
        }
    }
    let damaged = work.path().join("damaged.db");
    std::fs::write(&damaged, &bytes).unwrap();
    cli(&db, &["restore", "--from", path_str(&damaged)])
        .failed()
        .stderr_has(&["is refused and the database was not changed"]);
    assert_eq!(
        std::fs::read(&live).unwrap(),
        live_before,
        "the live database changed"
    );
    assert_eq!(
        names_in(&dir),
        names_before,
        "a refused restore left files behind"
    );

    // A file that is SQLite but not Pishkhan is refused too.
    let stranger = work.path().join("stranger.db");
    {
        let url = format!("sqlite://{}?mode=rwc", stranger.display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    cli(&db, &["restore", "--from", path_str(&stranger)])
        .failed()
        .stderr_has(&["not a Pishkhan database"]);

    // The sound backup restores over the live database, which is kept beside it.
    let restored = cli(&db, &["restore", "--from", path_str(&file)])
        .ok()
        .stdout_has(&["restored", "offices 2", "the replaced database is kept at"]);
    assert!(restored.stdout.contains("before-restore-"), "{restored}");
    let server = Server::serve(&db).await;
    server.get("/api/v1/offices/90000032").await.expect(200);
    assert!(server.stop().success());
}

#[tokio::test]
async fn postgres_is_pointed_to_its_own_tools() {
    let db = TestDb::sqlite();
    for args in [
        vec!["backup", "--to", "x.db"],
        vec!["restore", "--from", "x.db"],
    ] {
        let mut all = vec!["--database-url", "postgres://postgres@127.0.0.1:9/pishkhan"];
        all.extend(args);
        let mut cmd = pishkhan(db.data_dir().unwrap());
        cmd.args(&all);
        run_cmd(cmd, Duration::from_secs(30)).failed().stderr_has(&[
            "embedded SQLite database only",
            "pg_",
            "docs/backup.md",
        ]);
    }
}

#[tokio::test]
async fn piped_logs_and_progress_carry_no_colour_codes() {
    let db = TestDb::sqlite();
    let mut cmd = pishkhan(db.data_dir().unwrap());
    // What a service manager gives: info logs, no NO_COLOR, output to a pipe.
    cmd.env_remove("NO_COLOR")
        .env("PISHKHAN_LOG", "info")
        .arg("--data-dir")
        .arg(db.data_dir().unwrap())
        .arg("migrate");
    let run = run_cmd(cmd, Duration::from_secs(60)).ok();
    assert!(run.stderr.contains("opening store"), "{run}");
    assert!(!run.stderr.contains("\x1b["), "colour codes in {run}");
    assert!(!run.stdout.contains("\x1b["), "colour codes in {run}");

    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("b.db");
    let mut cmd = pishkhan(db.data_dir().unwrap());
    cmd.env_remove("NO_COLOR")
        .env("PISHKHAN_LOG", "info")
        .arg("--data-dir")
        .arg(db.data_dir().unwrap())
        .args(["backup", "--to", path_str(&file)]);
    let run = run_cmd(cmd, Duration::from_secs(60)).ok();
    assert!(run.stderr.contains("copying the database"), "{run}");
    assert!(!run.stderr.contains("\x1b["), "colour codes in {run}");
}
