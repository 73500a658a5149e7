//! `--metrics-token`: `/metrics` answers only its bearer, and a guessable token is refused at
//! start.

use pishkhan_testkit::TestDb;

use crate::support::{Server, cli};

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
