//! `psp.jsonl`: a restart replays it (the day's report survives), a torn last line is
//! dropped, a damaged line stops the start, and one journal has one process.

use std::io::Write;

use pishkhan_app::psp_client::{ReportKind, problem};
use pishkhan_psp::{JOURNAL_FILE_NAME, Psp, PspConfig, PspError};

use crate::{CARD, Merchant, Server, config};

fn tehran_day(ms: i64) -> pishkhan_domain::JalaliDate {
    let at = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    pishkhan_domain::tehran::jalali_today(at)
}

fn durable(dir: &std::path::Path) -> PspConfig {
    PspConfig {
        data_dir: Some(dir.to_path_buf()),
        // Long enough that the restart happens inside it.
        verify_window_ms: 60_000,
        ..config()
    }
}

#[tokio::test]
async fn a_restart_replays_the_journal_and_keeps_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let merchant = Merchant::start(0).await;

    // The real clock: a restart forgets a moved clock, and the windows run on it.
    let psp = Server::start(durable(dir.path())).await;
    let client = psp.client();
    let verified = merchant.token(&client, 1, 120_000).await;
    client.pay_as_payer(&verified, CARD).await.unwrap();
    let answer = client.verify(&verified).await.unwrap();
    let today = tehran_day(answer.verified_at_ms);
    let refund_ref = client.refund(&verified, 1, 20_000).await.unwrap();
    let paid = merchant.token(&client, 2, 30_000).await;
    client.pay_as_payer(&paid, CARD).await.unwrap();
    let created = merchant.token(&client, 3, 40_000).await;
    let cancelled = merchant.token(&client, 4, 50_000).await;
    client.cancel_as_payer(&cancelled).await.unwrap();
    let report = client.settlement_report(today).await.unwrap();
    assert_eq!(report.len(), 2);
    // One journal, one process.
    let second = Psp::open(durable(dir.path())).err().expect("locked");
    assert!(matches!(second, PspError::Locked(_)), "{second}");
    psp.stop().await;

    let psp = Server::start(durable(dir.path())).await;
    let client = psp.client();
    assert_eq!(client.settlement_report(today).await.unwrap(), report);
    assert_eq!(client.verify(&verified).await.unwrap(), answer);
    assert_eq!(
        client.refund(&verified, 1, 20_000).await.unwrap(),
        refund_ref
    );
    assert_eq!(merchant.token(&client, 3, 40_000).await, created);
    let err = client.verify(&cancelled).await.unwrap_err();
    assert!(err.is_refused(problem::NOT_PAID), "{err}");
    // Still inside its window: the payment made before the restart verifies after it.
    let late = client.verify(&paid).await.unwrap();
    assert_eq!(late.amount_rials, 30_000);
    let report = client.settlement_report(today).await.unwrap();
    let kinds: Vec<_> = report.iter().map(|r| (r.kind, r.order_id)).collect();
    assert_eq!(
        kinds,
        vec![
            (ReportKind::Payment, 1),
            (ReportKind::Refund, 1),
            (ReportKind::Payment, 2)
        ]
    );
    psp.stop().await;

    let psp = Server::start(durable(dir.path())).await;
    let rows = psp.client().settlement_report(today).await.unwrap();
    assert_eq!(
        rows, report,
        "the day's report is the same after every restart"
    );
    psp.stop().await;
}

#[tokio::test]
async fn a_torn_last_line_is_dropped_and_a_damaged_line_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let merchant = Merchant::start(0).await;
    let psp = Server::start(durable(dir.path())).await;
    let token = merchant.token(&psp.client(), 1, 1_000).await;
    // Written before it was answered, while the server still runs.
    let path = dir.path().join(JOURNAL_FILE_NAME);
    assert!(std::fs::read_to_string(&path).unwrap().contains(&token));
    psp.stop().await;

    let whole = std::fs::read_to_string(&path).unwrap();
    assert_eq!(whole.lines().count(), 1);
    // A crash in the middle of a write leaves half a line.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(br#"{"ev":"paid","at_ms":1,"tok"#).unwrap();
    drop(file);
    let psp = Server::start(durable(dir.path())).await;
    let client = psp.client();
    assert_eq!(merchant.token(&client, 1, 1_000).await, token);
    client.pay_as_payer(&token, CARD).await.unwrap();
    client.verify(&token).await.unwrap();
    psp.stop().await;
    let lines = std::fs::read_to_string(&path).unwrap();
    assert_eq!(lines.lines().count(), 3, "the torn line is gone: {lines}");

    // A complete line that is not an event, or cannot follow, is named and stops the start.
    for (bad, line) in [
        ("{\"ev\":\"sold\"}\n", 4),
        (&*format!("{}\n", lines.lines().nth(2).unwrap()), 4),
    ] {
        std::fs::write(&path, format!("{lines}{bad}")).unwrap();
        let err = Psp::open(durable(dir.path())).err().expect("refused");
        match err {
            PspError::Journal { line: l, .. } => assert_eq!(l, line, "{bad}"),
            other => panic!("{other}"),
        }
    }
}
