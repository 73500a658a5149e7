//! What the request log may hold: one line per server fault.

use crate::support::{DEMO_PASSWORD, TestApp, capture_logs};

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
