//! The reference card processor (PSP) as a process: `pishkhan psp serve`, started from the
//! running executable on a free loopback port, like the reference agencies.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// How long the PSP process may take to replay its journal and start answering.
const PSP_START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest first answer line read from the health check.
const MAX_HEALTH_BYTES: u64 = 1024;

/// How the PSP process is started.
#[derive(Debug, Clone)]
pub struct PspOptions {
    /// Merchants it serves (`--merchant`).
    pub merchants: Vec<String>,
    pub verify_window_secs: u64,
    /// Turns on `/control/faults` and `/control/clock`; passed in the environment, not on the
    /// command line, so it does not show in the process list.
    pub control_token: Option<String>,
    /// A fault for every order (`--fault`).
    pub fault: Option<String>,
}

impl Default for PspOptions {
    fn default() -> Self {
        Self {
            merchants: vec!["pishkhan".to_string()],
            verify_window_secs: 1800,
            control_token: None,
            fault: None,
        }
    }
}

/// A running PSP process; it stops when this is dropped or this process ends.
pub struct PspProcess {
    _child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
}

/// Starts `pishkhan psp serve` (the running executable must be the `pishkhan` binary) with its
/// journal in `data_dir`, on a free loopback port, and waits until it answers its health check.
pub async fn spawn_psp(data_dir: &Path, options: &PspOptions) -> anyhow::Result<PspProcess> {
    let exe = std::env::current_exe().context("cannot find the pishkhan executable")?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(["psp", "serve", "--listen", "127.0.0.1:0"])
        .arg("--verify-window-secs")
        .arg(options.verify_window_secs.to_string());
    for m in &options.merchants {
        cmd.arg("--merchant").arg(m);
    }
    if let Some(fault) = &options.fault {
        cmd.arg("--fault").arg(fault);
    }
    match &options.control_token {
        Some(t) => cmd.env("PISHKHAN_PSP_CONTROL_TOKEN", t),
        None => cmd.env_remove("PISHKHAN_PSP_CONTROL_TOKEN"),
    };
    if std::env::var_os("RUST_LOG").is_none() {
        // The demo's month of history calls back to a server not yet listening: that is
        // expected, so the processor's undelivered-callback warnings stay out of the terminal.
        cmd.env("RUST_LOG", "info,pishkhan_psp::callback=error");
    }
    let mut child = cmd
        // The child holds the read end; when this process ends, however it ends, the pipe
        // closes and the PSP stops.
        .arg("--exit-with-parent")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the PSP process")?;
    let stdout = child.stdout.take().context("PSP stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let started = tokio::time::timeout(PSP_START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = listening_url(&line) {
                return Ok::<Option<String>, std::io::Error>(Some(url));
            }
        }
        Ok(None)
    })
    .await;
    let url = match started {
        Ok(Ok(Some(url))) => url,
        _ => anyhow::bail!("the PSP process did not start"),
    };
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    tokio::time::timeout(PSP_START_TIMEOUT, healthy(&url))
        .await
        .context("the PSP process does not answer")??;
    Ok(PspProcess { _child: child, url })
}

/// The address in `psp for … on http://127.0.0.1:PORT/ (…)`.
fn listening_url(line: &str) -> Option<String> {
    let rest = line.strip_prefix("psp for ")?;
    let (_, after) = rest.split_once(" on ")?;
    let url = after.split_whitespace().next()?;
    url.starts_with("http://")
        .then(|| url.trim_end_matches('/').to_string())
}

/// One `GET /healthz` over a plain connection: enough to know the server answers, without an
/// HTTP client in this crate.
async fn healthy(url: &str) -> anyhow::Result<()> {
    let addr = url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to the PSP at {addr}"))?;
    conn.write_all(
        format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut head = String::new();
    conn.take(MAX_HEALTH_BYTES)
        .read_to_string(&mut head)
        .await?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.1 200"),
        "the PSP's health check failed"
    );
    Ok(())
}
