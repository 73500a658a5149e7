//! `--config FILE`: the file's settings under the environment and the flags, over the
//! defaults; an unknown key or a malformed line refused by name; no value from it printed.

use std::path::Path;
use std::process::Command;

use crate::support::{QUICK, Run, pishkhan, run_cmd, write_file};

/// The binary in `cwd` with no configuration of its own from the test's environment.
fn bare(cwd: &Path) -> Command {
    let mut cmd = pishkhan(cwd);
    cmd.env_remove("PISHKHAN_CONFIG")
        .env_remove("PISHKHAN_NODE_NAME");
    cmd
}

fn run(mut cmd: Command, args: &[&str]) -> Run {
    cmd.args(args);
    run_cmd(cmd, QUICK)
}

/// Which of the candidate data dirs under `root` holds the embedded database.
fn databases_in(root: &Path) -> Vec<&'static str> {
    ["data", "file", "env", "flag"]
        .into_iter()
        .filter(|d| root.join(d).join("pishkhan.db").exists())
        .collect()
}

#[test]
fn defaults_then_the_file_then_the_environment_then_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["data", "file", "env", "flag"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let at = |d: &str| root.join(d).to_str().unwrap().to_string();
    let config = write_file(
        root,
        "pishkhan.toml",
        &format!(
            "# the file's data dir\ndata-dir = \"{}\"\nlog-format = \"text\"\n",
            at("file")
        ),
    );
    // Nothing set: the default, ./data.
    run(bare(root), &["migrate"]).ok();
    assert_eq!(databases_in(root), ["data"]);
    std::fs::remove_file(root.join("data/pishkhan.db")).unwrap();

    // The file beats the default.
    run(bare(root), &["--config", &config, "migrate"]).ok();
    assert_eq!(databases_in(root), ["file"]);
    std::fs::remove_file(root.join("file/pishkhan.db")).unwrap();

    // The environment beats the file.
    let mut cmd = bare(root);
    cmd.env("PISHKHAN_DATA_DIR", at("env"));
    run(cmd, &["migrate", "--config", &config]).ok();
    assert_eq!(databases_in(root), ["env"]);
    std::fs::remove_file(root.join("env/pishkhan.db")).unwrap();

    // A flag beats the environment.
    let mut cmd = bare(root);
    cmd.env("PISHKHAN_DATA_DIR", at("env"));
    let flag = at("flag");
    run(cmd, &["--config", &config, "--data-dir", &flag, "migrate"]).ok();
    assert_eq!(databases_in(root), ["flag"]);
    std::fs::remove_file(root.join("flag/pishkhan.db")).unwrap();

    // PISHKHAN_CONFIG names the file as --config does.
    let mut cmd = bare(root);
    cmd.env("PISHKHAN_CONFIG", &config);
    run(cmd, &["migrate"]).ok();
    assert_eq!(databases_in(root), ["file"]);
}

#[test]
fn an_unknown_key_is_refused_by_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "pishkhan.toml",
        "listen = \"127.0.0.1:0\"\n\nmetrics_token = \"s3cret-s3cret-s3cret\"\n",
    );
    let refused = run(bare(dir.path()), &["--config", &config, "migrate"])
        .failed()
        .stderr_has(&["line 3", "unknown key `metrics_token`", "metrics-token"]);
    assert!(!refused.stderr.contains("s3cret"), "{refused}");
    assert!(!dir.path().join("data").exists(), "nothing ran: {refused}");
}

#[test]
fn a_malformed_file_is_refused_by_line_without_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "pishkhan.toml",
        "listen = \"127.0.0.1:0\"\nmetrics-token = s3cret-s3cret-s3cret\n",
    );
    let refused = run(bare(dir.path()), &["--config", &config, "serve"])
        .failed()
        .stderr_has(&["line 2", "not TOML"]);
    assert!(!refused.stderr.contains("s3cret"), "{refused}");

    let missing = dir.path().join("nowhere.toml");
    run(
        bare(dir.path()),
        &["--config", missing.to_str().unwrap(), "migrate"],
    )
    .failed()
    .stderr_has(&["cannot read the config", "nowhere.toml"]);

    let list = write_file(dir.path(), "list.toml", "listen = [\"127.0.0.1:0\"]\n");
    run(bare(dir.path()), &["--config", &list, "serve"])
        .failed()
        .stderr_has(&["line 1", "`listen`"]);
}

#[test]
fn secrets_from_the_file_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_file(
        dir.path(),
        "pishkhan.toml",
        "database-url = \"postgres://pishkhan:pa55word-in-file@127.0.0.1:1/none\"\n\
         metrics-token = \"short-s3cret\"\n",
    );
    let help = run(bare(dir.path()), &["--config", &config, "serve", "--help"]).ok();
    for secret in ["pa55word-in-file", "short-s3cret"] {
        assert!(!help.stdout.contains(secret), "{help}");
        assert!(!help.stderr.contains(secret), "{help}");
    }
    assert!(help.stdout.contains("--config"), "{help}");
    // A bad token from the file is refused before anything opens, and not echoed.
    let refused = run(
        bare(dir.path()),
        &["--config", &config, "serve", "--listen", "127.0.0.1:0"],
    )
    .failed()
    .stderr_has(&["--metrics-token", "at least 16 characters"]);
    for secret in ["pa55word-in-file", "short-s3cret"] {
        assert!(!refused.stderr.contains(secret), "{refused}");
    }
}
