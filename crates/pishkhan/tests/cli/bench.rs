//! `pishkhan bench nation` at a small scale: a national day's report has its shape (the
//! throughput, every operation with its percentiles, the refusals apart from the errors, the
//! baseline), every kind of work happened, and nothing failed.

use std::time::Duration;

use crate::support::{pishkhan, run_cmd};

/// The operations a day must have run at least once.
const OPERATIONS: [&str; 11] = [
    "book",
    "check_in",
    "walk_in",
    "desk",
    "call_next",
    "complete",
    "identity.verify",
    "inquiry",
    "release.create",
    "release.submit",
    "release.close",
];

#[test]
fn a_small_national_day_reports_every_operation_without_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = pishkhan(dir.path());
    cmd.args([
        "bench",
        "nation",
        "--visits",
        "3000",
        "--offices",
        "40",
        "--agency-size",
        "20000",
        "--concurrency",
        "8",
    ]);
    let run = run_cmd(cmd, Duration::from_secs(600)).ok().stdout_has(&[
        "machine: ",
        "day: ",
        "3000 visits over ",
        "booking phase: ",
        "day phase: ",
        "busiest half hour: ",
        "surge release ",
        "visits/s",
        "operations/s",
        "refusals (expected business outcomes): ",
        "identity decisions: ",
        "errors: none",
        "baseline: Store::create_booking alone",
    ]);
    // Progress goes to stderr as plain lines when no person watches a terminal.
    let run = run.stderr_has(&[
        "population: done, 20000 people",
        "booking: done",
        "national day: done",
    ]);

    let header = run
        .stdout
        .lines()
        .position(|l| l.starts_with("operation "))
        .expect("the table's header");
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .skip(header + 1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .take_while(|cols| cols.len() == 8)
        .collect();
    for op in OPERATIONS {
        let row = rows
            .iter()
            .find(|cols| cols[0] == op)
            .unwrap_or_else(|| panic!("no row for {op}:\n{}", run.stdout));
        let count: u64 = row[1].parse().expect("a count");
        assert!(count > 0, "{op} never ran:\n{}", run.stdout);
        let [p50, p95, p99, max]: [f64; 4] =
            std::array::from_fn(|i| row[2 + i].parse().expect("a latency in ms"));
        assert!(
            p50 <= p95 && p95 <= p99 && p99 <= max,
            "{op}'s percentiles are out of order:\n{}",
            run.stdout
        );
        assert_eq!(row[7], "0", "{op} had errors:\n{}", run.stdout);
    }
    // Every visit was either served, turned away at the counter or never came: the bookings
    // and walk-ins together took as many tickets as the visitors who came.
    let count = |op: &str| -> u64 {
        rows.iter()
            .find(|c| c[0] == op)
            .map_or(0, |c| c[1].parse().unwrap_or(0))
    };
    let called = count("call_next");
    assert_eq!(
        called,
        count("complete") + count("no_show"),
        "every person called is completed or a no-show:\n{}",
        run.stdout
    );
    assert_eq!(
        called,
        count("check_in") + count("walk_in"),
        "everyone who took a ticket was called by the end of the day:\n{}",
        run.stdout
    );
}
