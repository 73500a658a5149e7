//! What the request log may hold: no bearer secrets from a path (invitation and survey
//! links), and one line per server fault.

use serde_json::json;

use crate::support::{
    DEMO_OFFICE, DEMO_PASSWORD, TestApp, capture_logs, invitation_token, staff_json,
};

#[tokio::test]
async fn invitation_and_survey_tokens_never_reach_the_log() {
    let (logs, _guard) = capture_logs();
    let mut secrets = Vec::new();
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        let created = app
            .post_json(
                "/api/v1/staff",
                Some(&reg),
                &staff_json(&app.fresh_national_code(), Some(DEMO_OFFICE), "operator"),
            )
            .await;
        assert_eq!(created.status, 201, "[{be}] {}", created.text);
        let token = invitation_token(created.json()["invitation_url"].as_str().unwrap_or(""));
        assert_eq!(
            app.get(&format!("/invite/{token}")).await.status,
            200,
            "[{be}]"
        );
        let info = app.get(&format!("/api/v1/invitations/{token}")).await;
        assert_eq!(info.status, 200, "[{be}] {}", info.text);
        let accepted = app
            .post_json(
                &format!("/api/v1/invitations/{token}/accept"),
                None,
                &json!({ "password": "a long enough password 42" }),
            )
            .await;
        assert_eq!(accepted.status, 200, "[{be}] {}", accepted.text);
        // A survey link is as much a bearer secret, known or not.
        let survey = format!("{:064x}", 0x5eed_u64 + secrets.len() as u64);
        assert_eq!(
            app.get(&format!("/survey/{survey}")).await.status,
            404,
            "[{be}]"
        );
        secrets.extend([token, survey]);
        // Other paths are logged as they came.
        assert_eq!(
            app.get(&format!("/api/v1/offices/{DEMO_OFFICE}"))
                .await
                .status,
            200
        );
        app.stop().await;
    }
    let log = logs.text();
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds {secret}:\n{log}"
        );
    }
    for path in [
        "path=/invite/[redacted]",
        "path=/api/v1/invitations/[redacted] ",
        "path=/api/v1/invitations/[redacted]/accept",
        "path=/survey/[redacted]",
        &format!("path=/api/v1/offices/{DEMO_OFFICE} "),
    ] {
        assert!(log.contains(path), "the log lacks {path:?}:\n{log}");
    }
}

#[tokio::test]
async fn a_server_fault_is_one_log_line() {
    let (logs, _guard) = capture_logs();
    for app in TestApp::all().await {
        let be = app.be();
        let reg = app.login("regulator", DEMO_PASSWORD).await;
        // Behind the store's back, the audit log's table goes away.
        app.raw_sql("ALTER TABLE audit_log RENAME TO audit_log_gone")
            .await;
        let before = logs.text().len();
        let failed = app.get_as("/api/v1/audit", Some(&reg)).await;
        failed.problem(500, "internal");
        app.raw_sql("ALTER TABLE audit_log_gone RENAME TO audit_log")
            .await;
        let log = logs.text()[before..].to_string();
        let faults: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(faults.len(), 1, "[{be}] one line per fault:\n{log}");
        assert!(
            faults[0].contains("internal error") && faults[0].contains("audit_log"),
            "[{be}] the line names the fault and its cause:\n{log}"
        );
        // Every line of this request is an event line, none a continuation (a backtrace,
        // a "Caused by:" list).
        for line in log.lines() {
            assert!(
                line.contains(" INFO ") || line.contains(" ERROR ") || line.contains(" WARN "),
                "[{be}] not a log line: {line:?}\n{log}"
            );
        }
        app.stop().await;
    }
}
