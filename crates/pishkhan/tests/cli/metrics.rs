//! `--metrics-token`: `/metrics` answers only its bearer, and a guessable token is refused at
//! start. The exposition names the store and the node on every series, and the notification
//! dispatcher's rounds reach it.

use std::time::{Duration, Instant};

use pishkhan_testkit::TestDb;

use crate::support::{Server, cli, write_file};

const TOKEN: &str = "scrape-me-7f3a9c2e51b8";

#[tokio::test]
async fn metrics_answer_only_the_configured_bearer_token() {
    for db in TestDb::all().await {
        let backend = db.backend().name();
        let server = Server::serve_with(&db, &["--metrics-token", TOKEN]).await;
        let scraped = server.get_as("/metrics", TOKEN).await;
        assert_eq!(scraped.status, 200, "{backend}: {}", scraped.text);
        assert!(
            scraped.text.contains("pishkhan_http_requests_total"),
            "{backend}: {}",
            scraped.text
        );
        let refused = server.get("/metrics").await.expect(401);
        assert_eq!(refused["code"], "metrics_token_required", "{backend}");
        server
            .get_as("/metrics", "scrape-me-wrong-token")
            .await
            .expect(401);
        assert!(server.stop().success(), "{backend}");

        cli(
            &db,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--metrics-token",
                "short",
            ],
        )
        .failed()
        .stderr_has(&["--metrics-token", "at least 16 characters"]);
    }
}

/// Whether `line` is a comment or `name{labels} value` of the text formats.
fn well_formed(line: &str) -> bool {
    if let Some(comment) = line.strip_prefix("# ") {
        return ["HELP ", "TYPE ", "UNIT "]
            .iter()
            .any(|p| comment.starts_with(p))
            || comment == "EOF";
    }
    let Some((series, value)) = line.rsplit_once(' ') else {
        return false;
    };
    let name = series.split('{').next().unwrap_or("");
    let labels_ok = match series.find('{') {
        None => true,
        Some(i) => series.ends_with('}') && series[i + 1..series.len() - 1].contains("=\""),
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        && labels_ok
        && (value.parse::<f64>().is_ok() || value == "+Inf")
}

#[tokio::test]
async fn every_series_names_the_store_and_the_node_set_in_the_config_file() {
    for db in TestDb::all().await {
        let be = db.backend().name();
        let dir = tempfile::tempdir().unwrap();
        let config = write_file(
            dir.path(),
            "pishkhan.toml",
            &format!("metrics-token = \"{TOKEN}\"\nnode-name = \"node-b\"\n"),
        );
        let server = Server::serve_with(&db, &["--config", &config]).await;
        let http = reqwest::Client::new();
        let scrape = |openmetrics: bool| {
            let mut req = http.get(server.url("/metrics")).bearer_auth(TOKEN);
            if openmetrics {
                req = req.header("accept", "application/openmetrics-text; version=1.0.0");
            }
            async move {
                let resp = req.send().await.expect("scrape");
                assert_eq!(resp.status().as_u16(), 200);
                let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
                (ct, resp.text().await.unwrap())
            }
        };
        // The dispatcher's first round runs as the server starts; its figures show at 0.
        let started = Instant::now();
        let (content_type, text) = loop {
            let (ct, text) = scrape(false).await;
            if text.contains("pishkhan_outbox_messages_total") {
                break (ct, text);
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{be}: no outbox figures:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            content_type, "text/plain; version=0.0.4; charset=utf-8",
            "{be}"
        );
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(samples.len() > 10, "{be}: {text}");
        for line in text.lines() {
            assert!(well_formed(line), "{be}: {line:?}");
        }
        for line in &samples {
            assert!(
                line.contains(&format!("store=\"{be}\"")) && line.contains("node=\"node-b\""),
                "{be}: {line}"
            );
        }
        for outcome in ["sent", "retried", "failed", "skipped"] {
            assert!(
                samples
                    .iter()
                    .any(|l| l.starts_with("pishkhan_outbox_messages_total{")
                        && l.contains(&format!("outcome=\"{outcome}\""))),
                "{be}: {outcome}:\n{text}"
            );
        }
        assert!(
            samples
                .iter()
                .any(|l| l.starts_with("pishkhan_outbox_last_round_claimed{")),
            "{be}"
        );

        let (content_type, text) = scrape(true).await;
        assert_eq!(
            content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8",
            "{be}"
        );
        assert_eq!(text.lines().last(), Some("# EOF"), "{be}");
        for line in text.lines() {
            assert!(well_formed(line), "{be}: {line:?}");
        }
        assert!(server.stop().success(), "{be}");

        cli(
            &db,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--node-name",
                "not a name",
            ],
        )
        .failed()
        .stderr_has(&["--node-name"]);
    }
}
