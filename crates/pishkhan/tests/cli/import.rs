//! `import offices|services FILE`: all rows or none, with the file, line and reason of every
//! bad row on stderr.

use std::path::Path;

use pishkhan_testkit::TestDb;
use serde_json::{Map, Value, json};

use crate::support::{Run, Server, cli, write_file};

const OFFICE_COLUMNS: [&str; 17] = [
    "code",
    "name_fa",
    "name_en",
    "province",
    "city_fa",
    "city_en",
    "address_fa",
    "address_en",
    "postal_code",
    "phone",
    "lat",
    "lon",
    "licence_no",
    "licence_issued",
    "status",
    "counters",
    "hours",
];

const SERVICE_COLUMNS: [&str; 10] = [
    "code",
    "title_fa",
    "title_en",
    "agency",
    "category",
    "required_documents",
    "required_inquiries",
    "avg_handling_minutes",
    "channel",
    "digitization",
];

/// A valid office in Tehran province (id 1), every field as text.
fn office(code: u32, name_fa: &str, name_en: &str) -> Map<String, Value> {
    let v = json!({
        "code": code.to_string(),
        "name_fa": name_fa,
        "name_en": name_en,
        "province": "1",
        "city_fa": "تهران",
        "city_en": "Tehran",
        "address_fa": "خیابان ولیعصر، کوچه نسترن، پلاک ۱۲",
        "address_en": "12 Nastaran Alley, Valiasr St",
        "postal_code": "1345678901",
        "phone": "021-88776655",
        "lat": "35.7219",
        "lon": "51.4115",
        "licence_no": format!("LIC-{code}"),
        "licence_issued": "",
        "status": "",
        "counters": "4",
        "hours": "",
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A valid service of the civil registry, every field as text.
fn service(code: &str, title_fa: &str, title_en: &str) -> Map<String, Value> {
    let v = json!({
        "code": code,
        "title_fa": title_fa,
        "title_en": title_en,
        "agency": "nocr",
        "category": "identity",
        "required_documents": "",
        "required_inquiries": "",
        "avg_handling_minutes": "15",
        "channel": "counter",
        "digitization": "networked",
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn with(mut row: Map<String, Value>, field: &str, value: impl Into<Value>) -> Map<String, Value> {
    row.insert(field.to_string(), value.into());
    row
}

fn csv_cell(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A CSV file: the header row, then one line per row (so row `i` is on line `i + 2`).
fn csv(columns: &[&str], rows: &[Map<String, Value>]) -> String {
    let mut out = columns.join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| csv_cell(row.get(*c).unwrap_or(&Value::Null)))
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A pretty-printed JSON array, and the line on which each element starts.
fn json_file(rows: &[Map<String, Value>]) -> (String, Vec<usize>) {
    let text = serde_json::to_string_pretty(rows).expect("json");
    let starts = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "  {")
        .map(|(i, _)| i + 1)
        .collect();
    (text, starts)
}

/// Asserts a refused import: non-zero exit, `FILE:LINE: ` plus the reason on stderr.
#[track_caller]
fn assert_refused(run: Run, file: &str, line: usize, reason: &[&str]) {
    let name = Path::new(file)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name");
    let run = run
        .failed()
        .stderr_has(&[&format!("{name}:{line}: "), "nothing was imported"]);
    let located = run
        .stderr
        .lines()
        .find(|l| l.contains(&format!("{name}:{line}: ")))
        .unwrap_or_default();
    for r in reason {
        assert!(
            located.contains(r),
            "line {line} of {name} is not blamed for {r:?}: {run}"
        );
    }
    assert!(!run.stdout.contains("imported"), "{run}");
}

#[tokio::test]
async fn importing_offices_is_all_or_nothing_and_names_the_bad_line() {
    for db in TestDb::all().await {
        let backend = db.backend().name();
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        cli(&db, &["migrate"]).ok();

        // Good CSV: explicit licence date, status and hours on one row, defaults on the other.
        let good_csv = write_file(
            dir,
            "offices.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[
                    with(
                        with(
                            with(
                                office(90_000_001, "دفتر پیشخوان دولت ونک", "Vanak Office"),
                                "licence_issued",
                                "1402/05/10",
                            ),
                            "status",
                            "warned",
                        ),
                        "hours",
                        "08:00-16:00;08:00-16:00;08:00-16:00;08:00-16:00;08:00-16:00;closed;closed",
                    ),
                    office(90_000_002, "دفتر پیشخوان دولت تجریش", "Tajrish Office"),
                ],
            ),
        );
        cli(&db, &["import", "offices", &good_csv])
            .ok()
            .stdout_has(&[&format!("imported 2 offices from {good_csv}")]);

        // Good JSON: numbers as numbers, Persian digits, and a file without an extension.
        let mut persian = office(90_000_003, "دفتر پیشخوان دولت شهرری", "Shahr-e Rey Office");
        persian.insert("code".into(), json!(90_000_003));
        persian.insert("province".into(), json!(1));
        persian.insert("lat".into(), json!(35.5955));
        persian.insert("lon".into(), json!(51.4357));
        persian.insert("counters".into(), json!(6));
        persian.insert("postal_code".into(), json!("۱۳۴۵۶-۷۸۹۰۱"));
        persian.insert("phone".into(), json!("۰۲۱-۵۵۹۴۴۳۳۲"));
        persian.remove("hours");
        persian.remove("status");
        let (text, _) = json_file(&[
            persian,
            office(90_000_004, "دفتر پیشخوان دولت نارمک", "Narmak Office"),
        ]);
        let good_json = write_file(dir, "offices-batch", &text);
        cli(&db, &["import", "offices", &good_json, "--format", "json"])
            .ok()
            .stdout_has(&["imported 2 offices"]);

        // Bad files: every one also carries a good row, which must not be imported either.
        let good = |code: u32| office(code, "دفتر پیشخوان دولت سالم", "Sound Office");
        let bad_postal = write_file(
            dir,
            "bad_postal.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[
                    good(91_000_001),
                    with(good(91_000_002), "postal_code", "1234567890"),
                ],
            ),
        );
        assert_refused(
            cli(&db, &["import", "offices", &bad_postal]),
            &bad_postal,
            3,
            &["postal_code: ", "never contain the digit 2"],
        );

        let no_name = write_file(
            dir,
            "no_name.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[good(91_000_003), with(good(91_000_004), "name_fa", "")],
            ),
        );
        assert_refused(
            cli(&db, &["import", "offices", &no_name]),
            &no_name,
            3,
            &["name_fa: ", "missing_field"],
        );

        let (text, lines) = json_file(&[
            good(91_000_005),
            good(91_000_006),
            with(good(91_000_007), "status", "closed"),
        ]);
        assert_eq!(lines.len(), 3);
        assert!(lines[2] > 30, "the third object starts far down: {lines:?}");
        let bad_status = write_file(dir, "bad_status.json", &text);
        assert_refused(
            cli(&db, &["import", "offices", &bad_status]),
            &bad_status,
            lines[2],
            &["status: ", "active, warned, suspended, revoked"],
        );

        let malformed = write_file(
            dir,
            "malformed.json",
            "[\n  {\"code\": \"91000008\", \"name_fa\": \"دفتر\"},\n  {\"code\": \"91000009\",\n",
        );
        let run = cli(&db, &["import", "offices", &malformed]);
        assert_refused(run, &malformed, 4, &["not a JSON array of objects"]);

        let wrong_column = write_file(
            dir,
            "wrong_column.csv",
            &csv(&OFFICE_COLUMNS, &[good(91_000_010)]).replacen("name_fa", "nam_fa", 1),
        );
        assert_refused(
            cli(&db, &["import", "offices", &wrong_column]),
            &wrong_column,
            2,
            &["unknown field `nam_fa`"],
        );

        let clash = write_file(
            dir,
            "clash.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[
                    good(91_000_011),
                    with(good(90_000_002), "licence_no", "LIC-NEW-1"),
                ],
            ),
        );
        assert_refused(
            cli(&db, &["import", "offices", &clash]),
            &clash,
            3,
            &["office 90000002 already exists"],
        );

        let licence_clash = write_file(
            dir,
            "licence_clash.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[
                    good(91_000_012),
                    with(good(91_000_013), "licence_no", "LIC-90000001"),
                ],
            ),
        );
        assert_refused(
            cli(&db, &["import", "offices", &licence_clash]),
            &licence_clash,
            3,
            &["licence LIC-90000001 is already in use"],
        );

        let twice = write_file(
            dir,
            "twice.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[
                    good(91_000_014),
                    with(good(91_000_014), "licence_no", "LIC-OTHER"),
                ],
            ),
        );
        let run = cli(&db, &["import", "offices", &twice])
            .failed()
            .stderr_has(&["office 91000014 appears twice", "nothing was imported"]);
        assert!(run.stderr.contains("twice.csv:"), "{run}");

        // A quoted cell spanning two lines moves the next row down a line.
        let multiline = write_file(
            dir,
            "multiline.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[
                    with(good(91_000_015), "address_fa", "خیابان آزادی\nطبقه دوم"),
                    with(good(91_000_016), "counters", "0"),
                ],
            ),
        );
        assert_refused(
            cli(&db, &["import", "offices", &multiline]),
            &multiline,
            4,
            &["counters: ", "1..=200"],
        );

        // Brackets, braces and escaped quotes inside JSON strings do not confuse the lines.
        let tricky = write_file(
            dir,
            "tricky.json",
            &format!(
                "[\n  {},\n\n  {}\n]\n",
                Value::Object(with(good(91_000_017), "name_fa", "دفتر \"یک\" [الف], {ب}",)),
                Value::Object(with(good(91_000_018), "lat", "91")),
            ),
        );
        assert_refused(
            cli(&db, &["import", "offices", &tricky]),
            &tricky,
            4,
            &["coordinates: ", "within Iran"],
        );

        let empty = write_file(dir, "empty.csv", &csv(&OFFICE_COLUMNS, &[]));
        cli(&db, &["import", "offices", &empty])
            .failed()
            .stderr_has(&["empty.csv holds no rows"]);

        // Only the four good offices are there, exactly as given.
        let server = Server::serve(&db).await;
        assert_eq!(server.total("/api/v1/offices").await, 4, "{backend}");
        let o = server.get("/api/v1/offices/90000001").await.expect(200);
        assert_eq!(o["name_fa"], "دفتر پیشخوان دولت ونک");
        assert_eq!(o["name_en"], "Vanak Office");
        assert_eq!(o["address_fa"], "خیابان ولیعصر، کوچه نسترن، پلاک ۱۲");
        assert_eq!(o["province"], 1);
        assert_eq!(o["postal_code"], "1345678901");
        assert_eq!(o["licence_no"], "LIC-90000001");
        assert_eq!(o["licence_issued"], "1402-05-10");
        assert_eq!(o["status"], "warned");
        assert_eq!(o["counters"], 4);
        assert_eq!(o["hours"]["saturday"], "08:00-16:00");
        assert!(o["hours"]["thursday"].is_null(), "{o}");
        let o = server.get("/api/v1/offices/90000002").await.expect(200);
        assert_eq!(o["status"], "active", "status defaults to active");
        assert_eq!(o["hours"]["thursday"], "08:00-12:00", "standard hours");
        assert!(o["hours"]["friday"].is_null(), "{o}");
        let o = server.get("/api/v1/offices/90000003").await.expect(200);
        assert_eq!(o["name_fa"], "دفتر پیشخوان دولت شهرری");
        assert_eq!(o["postal_code"], "1345678901", "Persian digits normalised");
        assert_eq!(o["phone"], "021-55944332");
        assert_eq!(o["counters"], 6);
        assert_eq!(o["lat"], 35.5955);
        server.get("/api/v1/offices/90000004").await.expect(200);
        for code in 91_000_001..=91_000_018 {
            server
                .get(&format!("/api/v1/offices/{code}"))
                .await
                .expect(404);
        }
        let found = server.total("/api/v1/offices?q=پیشخوان%20دولت").await;
        assert_eq!(found, 4, "{backend}");
        let provinces = server.get("/api/v1/provinces").await.expect(200);
        let tehran = provinces
            .as_array()
            .and_then(|l| l.iter().find(|p| p["id"] == 1))
            .cloned()
            .expect("province 1");
        assert_eq!(tehran["name_fa"], "تهران");
        assert_eq!(tehran["offices"], 4, "{tehran}");
        assert!(server.stop().success());
    }
}

#[tokio::test]
async fn importing_services_is_all_or_nothing_upserts_and_names_the_bad_line() {
    for db in TestDb::all().await {
        let backend = db.backend().name();
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        cli(&db, &["migrate"]).ok();

        let good_csv = write_file(
            dir,
            "services.csv",
            &csv(
                &SERVICE_COLUMNS,
                &[
                    with(
                        with(
                            service("TST-001", "صدور کارت ملی هوشمند", "Smart national ID card"),
                            "required_documents",
                            "اصل کارت ملی|Original national ID card;عکس|Photo",
                        ),
                        "required_inquiries",
                        "civil-registry.person;postal.tracking",
                    ),
                    with(
                        service("tst-002", "تمدید گذرنامه", "Passport renewal"),
                        "agency",
                        "police",
                    ),
                ],
            ),
        );
        cli(&db, &["import", "services", &good_csv])
            .ok()
            .stdout_has(&[&format!("imported 2 services from {good_csv}")]);

        let mut arrays = service("TST-003", "گواهی عدم سوء پیشینه", "Clean criminal record");
        arrays.insert("agency".into(), json!("judiciary"));
        arrays.insert("category".into(), json!("judicial"));
        arrays.insert(
            "required_documents".into(),
            json!([
                { "fa": "اصل شناسنامه", "en": "Original birth certificate" },
                { "fa": "کارت ملی", "en": "National ID card" }
            ]),
        );
        arrays.insert(
            "required_inquiries".into(),
            json!(["civil-registry.person", "judiciary.record"]),
        );
        arrays.insert("avg_handling_minutes".into(), json!(20));
        arrays.insert("channel".into(), json!("both"));
        let (text, _) = json_file(&[
            arrays,
            with(
                service("TST-004", "ثبت تولد", "Birth registration"),
                "digitization",
                "in_progress",
            ),
        ]);
        let good_json = write_file(dir, "services.json", &text);
        cli(&db, &["import", "services", &good_json])
            .ok()
            .stdout_has(&["imported 2 services"]);

        let good = |code: &str| service(code, "خدمت سالم", "Sound service");
        let unknown_agency = write_file(
            dir,
            "unknown_agency.csv",
            &csv(
                &SERVICE_COLUMNS,
                &[
                    good("TST-101"),
                    with(good("TST-102"), "agency", "no-such-agency"),
                ],
            ),
        );
        assert_refused(
            cli(&db, &["import", "services", &unknown_agency]),
            &unknown_agency,
            3,
            &["unknown agency no-such-agency"],
        );

        let (text, lines) = json_file(&[
            good("TST-103"),
            with(good("TST-104"), "avg_handling_minutes", json!(0)),
        ]);
        let bad_minutes = write_file(dir, "bad_minutes.json", &text);
        assert_refused(
            cli(&db, &["import", "services", &bad_minutes]),
            &bad_minutes,
            lines[1],
            &["avg_handling_minutes: ", "1..=480"],
        );

        let bad_inquiry = write_file(
            dir,
            "bad_inquiry.csv",
            &csv(
                &SERVICE_COLUMNS,
                &[
                    good("TST-105"),
                    good("TST-106"),
                    with(good("TST-107"), "required_inquiries", "Civil Registry"),
                ],
            ),
        );
        assert_refused(
            cli(&db, &["import", "services", &bad_inquiry]),
            &bad_inquiry,
            4,
            &["required_inquiries: "],
        );

        let bad_category = write_file(
            dir,
            "bad_category.csv",
            &csv(
                &SERVICE_COLUMNS,
                &[with(good("TST-108"), "category", "astrology")],
            ),
        );
        assert_refused(
            cli(&db, &["import", "services", &bad_category]),
            &bad_category,
            2,
            &["category: ", "unknown category \"astrology\""],
        );

        // Re-importing a service updates it in place.
        let update = write_file(
            dir,
            "update.csv",
            &csv(
                &SERVICE_COLUMNS,
                &[with(
                    with(
                        service(
                            "TST-001",
                            "صدور کارت ملی هوشمند (المثنی)",
                            "Smart national ID card (replacement)",
                        ),
                        "required_documents",
                        "گواهی مفقودی|Loss certificate",
                    ),
                    "avg_handling_minutes",
                    "25",
                )],
            ),
        );
        cli(&db, &["import", "services", &update])
            .ok()
            .stdout_has(&["imported 1 services"]);

        let server = Server::serve(&db).await;
        assert_eq!(server.total("/api/v1/services").await, 4, "{backend}");
        let s = server.get("/api/v1/services/TST-001").await.expect(200);
        assert_eq!(s["title_fa"], "صدور کارت ملی هوشمند (المثنی)");
        assert_eq!(s["title_en"], "Smart national ID card (replacement)");
        assert_eq!(s["avg_handling_minutes"], 25);
        assert_eq!(
            s["required_documents"],
            json!([{ "fa": "گواهی مفقودی", "en": "Loss certificate" }])
        );
        assert_eq!(s["required_inquiries"], json!([]), "replaced, not merged");
        let s = server.get("/api/v1/services/TST-002").await.expect(200);
        assert_eq!(s["code"], "TST-002", "codes are upper-cased");
        assert_eq!(s["agency"], "police");
        assert_eq!(s["title_fa"], "تمدید گذرنامه");
        let s = server.get("/api/v1/services/TST-003").await.expect(200);
        assert_eq!(s["agency"], "judiciary");
        assert_eq!(s["category"], "judicial");
        assert_eq!(s["channel"], "both");
        assert_eq!(s["avg_handling_minutes"], 20);
        assert_eq!(
            s["required_documents"],
            json!([
                { "fa": "اصل شناسنامه", "en": "Original birth certificate" },
                { "fa": "کارت ملی", "en": "National ID card" }
            ])
        );
        assert_eq!(
            s["required_inquiries"],
            json!(["civil-registry.person", "judiciary.record"])
        );
        let s = server.get("/api/v1/services/TST-004").await.expect(200);
        assert_eq!(s["digitization"], "in_progress");
        for code in 101..=108 {
            server
                .get(&format!("/api/v1/services/TST-{code}"))
                .await
                .expect(404);
        }
        // Before the update, TST-001 carried both the documents and the inquiries of the CSV.
        let nocr = server.total("/api/v1/services?agency=nocr").await;
        assert_eq!(nocr, 2, "TST-001 and TST-004");
        assert!(server.stop().success());
    }
}

#[tokio::test]
async fn csv_list_fields_are_split_on_semicolons_and_pipes() {
    // The first CSV import of a service, before any update, keeps every list item.
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("temp dir");
        cli(&db, &["migrate"]).ok();
        let file = write_file(
            dir.path(),
            "lists.csv",
            &csv(
                &SERVICE_COLUMNS,
                &[with(
                    with(
                        service("TST-201", "صدور کارت ملی", "National ID card"),
                        "required_documents",
                        "اصل کارت ملی|Original national ID card;عکس|Photo",
                    ),
                    "required_inquiries",
                    "civil-registry.person;postal.tracking",
                )],
            ),
        );
        cli(&db, &["import", "services", &file]).ok();
        let server = Server::serve(&db).await;
        let s = server.get("/api/v1/services/TST-201").await.expect(200);
        assert_eq!(
            s["required_documents"],
            json!([
                { "fa": "اصل کارت ملی", "en": "Original national ID card" },
                { "fa": "عکس", "en": "Photo" }
            ])
        );
        assert_eq!(
            s["required_inquiries"],
            json!(["civil-registry.person", "postal.tracking"])
        );
    }
}

/// BUG: `store_refusal` in crates/pishkhan/src/import.rs blames the first row whose key
/// ("licence X") is a substring of the store's message, so a clash on licence `KH-10` is
/// reported on the line of licence `KH-1`.
#[tokio::test]
async fn a_licence_clash_is_blamed_on_its_own_line_not_on_a_row_with_a_prefix_licence() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("temp dir");
        cli(&db, &["migrate"]).ok();
        let first = write_file(
            dir.path(),
            "first.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[with(
                    office(90_000_010, "دفتر پیشخوان کرج", "Karaj Office"),
                    "licence_no",
                    "KH-10",
                )],
            ),
        );
        cli(&db, &["import", "offices", &first]).ok();
        let second = write_file(
            dir.path(),
            "second.csv",
            &csv(
                &OFFICE_COLUMNS,
                &[
                    with(
                        office(90_000_011, "دفتر پیشخوان قم", "Qom Office"),
                        "licence_no",
                        "KH-1",
                    ),
                    with(
                        office(90_000_012, "دفتر پیشخوان کاشان", "Kashan Office"),
                        "licence_no",
                        "KH-10",
                    ),
                ],
            ),
        );
        assert_refused(
            cli(&db, &["import", "offices", &second]),
            &second,
            3,
            &["licence KH-10 is already in use"],
        );
    }
}

/// BUG: the same substring match blames a service listed twice (`ABC-10`, lines 3 and 4) on
/// line 2, whose code `ABC-1` is a prefix of it.
#[tokio::test]
async fn a_service_listed_twice_is_blamed_on_its_own_lines_not_on_a_prefix_code() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("temp dir");
        cli(&db, &["migrate"]).ok();
        let file = write_file(
            dir.path(),
            "twice.csv",
            &csv(
                &SERVICE_COLUMNS,
                &[
                    service("ABC-1", "خدمت یک", "Service one"),
                    service("ABC-10", "خدمت ده", "Service ten"),
                    service("ABC-10", "خدمت ده", "Service ten"),
                ],
            ),
        );
        let run = cli(&db, &["import", "services", &file])
            .failed()
            .stderr_has(&["service ABC-10 appears twice", "nothing was imported"]);
        assert!(
            run.stderr.contains("twice.csv:3: ") || run.stderr.contains("twice.csv:4: "),
            "the duplicate is on lines 3 and 4: {run}"
        );
    }
}
