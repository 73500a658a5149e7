//! Stopping `serve`: SIGTERM ends the live board streams (a TV's stream never ends by
//! itself), lets requests under way finish, and exits 0.

use std::time::Duration;

use pishkhan_testkit::TestDb;
use serde_json::json;

use crate::support::{Server, cli, write_file};

/// One office, so that its board can be opened.
const OFFICE: &str = "11000001";

fn office_file(dir: &std::path::Path) -> String {
    let rows = json!([{
        "code": OFFICE,
        "name_fa": "دفتر پیشخوان آزمایشی",
        "name_en": "Test office",
        "province": "1",
        "city_fa": "تهران",
        "city_en": "Tehran",
        "address_fa": "خیابان ولیعصر، پلاک ۱۲",
        "address_en": "12 Valiasr St",
        "postal_code": "1345678901",
        "phone": "021-88776655",
        "lat": "35.7219",
        "lon": "51.4115",
        "licence_no": "LIC-1",
        "counters": "2"
    }]);
    write_file(dir, "offices.json", &rows.to_string())
}

#[tokio::test]
async fn sigterm_ends_open_board_streams_and_exits_zero() {
    for db in TestDb::all().await {
        let backend = db.backend().name();
        let files = tempfile::tempdir().expect("temp dir");
        cli(&db, &["migrate"]).ok();
        cli(
            &db,
            &[
                "import",
                "offices",
                &office_file(files.path()),
                "--format",
                "json",
            ],
        )
        .ok();
        let server = Server::serve(&db).await;

        // A TV board: the stream answers, sends the board, and stays open.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let mut stream = http
            .get(server.url(&format!("/api/v1/offices/{OFFICE}/queue/stream")))
            .send()
            .await
            .expect("open the board stream");
        assert_eq!(stream.status().as_u16(), 200, "{backend}");
        let first = stream
            .chunk()
            .await
            .expect("read the stream")
            .expect("a first event");
        assert!(
            String::from_utf8_lossy(&first).contains("event: board"),
            "{backend}: {first:?}"
        );

        // `stop` sends SIGTERM and fails the test if the process outlives its 20 s guard.
        let status = tokio::task::spawn_blocking(move || server.stop())
            .await
            .expect("stop the server");
        assert!(status.success(), "{backend}: exited with {status}");

        // The server ended the stream (its last chunk came) rather than dying under it.
        let ended = loop {
            match stream.chunk().await {
                Ok(Some(_)) => continue,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        assert!(ended.is_ok(), "{backend}: the stream was cut: {ended:?}");
    }
}
