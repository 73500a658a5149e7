//! Bad command lines fail with a non-zero exit and say why on stderr.

use std::path::Path;

use crate::support::{QUICK, Run, pishkhan, run_cmd, write_file};

fn run_in(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = pishkhan(dir);
    cmd.args(args);
    run_cmd(cmd, QUICK)
}

#[test]
fn bad_command_lines_exit_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();

    let run = run_in(dir, &["frobnicate"]).failed();
    assert_eq!(run.status.code(), Some(2), "{run}");
    run.stderr_has(&["unrecognized subcommand 'frobnicate'", "Usage:"]);

    let run = run_in(dir, &[]).failed();
    assert_eq!(run.status.code(), Some(2), "{run}");

    run_in(dir, &["--log-format", "xml", "migrate"])
        .failed()
        .stderr_has(&["invalid value 'xml'", "text, json"]);
    run_in(dir, &["serve", "--listen", "nowhere"])
        .failed()
        .stderr_has(&["invalid value 'nowhere' for '--listen"]);
    run_in(dir, &["import", "shops", "x.csv"])
        .failed()
        .stderr_has(&["unrecognized subcommand 'shops'"]);
    run_in(dir, &["invite", "--national-code", "0013542419"])
        .failed()
        .stderr_has(&["--first-name"]);

    for command in [&["migrate"][..], &["serve", "--listen", "127.0.0.1:0"]] {
        let mut args = vec!["--database-url", "mysql://root@localhost/pishkhan"];
        args.extend_from_slice(command);
        let run = run_in(dir, &args)
            .failed()
            .stderr_has(&["invalid database url", "sqlite://PATH or postgres://"]);
        assert!(!run.stdout.contains("serving"), "{run}");
    }
    // Booking rules are read and checked before any database is opened or port bound.
    let rules = write_file(
        dir,
        "rules.json",
        r#"{"first_day_offset": 5, "last_day_offset": 2}"#,
    );
    for command in ["serve", "demo"] {
        let run = run_in(
            dir,
            &[
                command,
                "--listen",
                "127.0.0.1:0",
                "--booking-rules",
                &rules,
            ],
        )
        .failed()
        .stderr_has(&[
            "rules.json",
            "first_day_offset must not be after last_day_offset",
        ]);
        assert!(!run.stdout.contains("serving"), "{run}");
    }
    let unknown = write_file(dir, "unknown.json", r#"{"per_citizen": 3}"#);
    run_in(dir, &["serve", "--booking-rules", &unknown])
        .failed()
        .stderr_has(&["not a booking rules file", "unknown field `per_citizen`"]);
    let zero = write_file(dir, "zero.json", r#"{"per_service": 0}"#);
    run_in(dir, &["serve", "--booking-rules", &zero])
        .failed()
        .stderr_has(&["per_service is at least 1"]);
    run_in(dir, &["--database-url", "sqlite://", "migrate"])
        .failed()
        .stderr_has(&["sqlite URL has no path"]);

    // Import arguments are checked before any database is opened.
    let txt = write_file(dir, "offices.txt", "code\n");
    run_in(dir, &["import", "offices", &txt])
        .failed()
        .stderr_has(&["cannot tell the format", "--format csv|json"]);
    let missing = dir.join("missing.csv");
    run_in(
        dir,
        &["import", "offices", missing.to_str().expect("utf-8")],
    )
    .failed()
    .stderr_has(&["cannot read", "missing.csv"]);
    let latin1 = dir.join("latin1.csv");
    std::fs::write(&latin1, b"code,name_fa\n1,caf\xe9\n").expect("write");
    run_in(dir, &["import", "offices", latin1.to_str().expect("utf-8")])
        .failed()
        .stderr_has(&["not UTF-8"]);
    assert!(
        !dir.join("data").exists(),
        "no command above should have created the default data directory"
    );
}

#[test]
fn an_unreachable_postgres_fails_without_leaking_the_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = run_in(
        dir.path(),
        &[
            "--database-url",
            "postgres://pishkhan:s3cret-pw@127.0.0.1:1/pishkhan",
            "migrate",
        ],
    )
    .failed()
    .stderr_has(&["cannot open the database postgres://pishkhan:***@127.0.0.1:1/pishkhan"]);
    assert!(!run.stderr.contains("s3cret-pw"), "{run}");
    assert!(!run.stdout.contains("s3cret-pw"), "{run}");
}
