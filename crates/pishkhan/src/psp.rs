//! `pishkhan psp serve`: the reference card processor (PSP) as a separate process, its events
//! in DATA_DIR/psp.jsonl.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Args, Subcommand};
use pishkhan_psp::{Fault, Psp, PspConfig};

use crate::Global;

#[derive(Subcommand)]
pub enum PspCommand {
    /// Serve the token, payment page, verify, reverse, refund and settlement-report routes.
    /// Events are appended to DATA_DIR/psp.jsonl and replayed at start.
    Serve(ServeArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// A merchant this PSP serves; repeat for more.
    #[arg(long = "merchant", default_value = "pishkhan")]
    pub merchants: Vec<String>,
    /// How long a paid transaction may wait for the merchant's verify before the PSP
    /// reverses it.
    #[arg(long, default_value_t = 1800)]
    pub verify_window_secs: u64,
    /// Most transactions held; past it new tokens are refused.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_transactions: usize,
    /// Bearer secret (16+ printable characters) of POST /control/faults and /control/clock;
    /// without it those routes do not exist.
    #[arg(long, env = "PISHKHAN_PSP_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// A fault for every order: timeout, duplicate_callback, late_callback, late_verify,
    /// wrong_amount (or none).
    #[arg(long)]
    pub fault: Option<String>,
    /// Stop when standard input reaches its end, so a parent that starts this process with a
    /// pipe on its stdin (the demo) takes it down when it exits, even by `kill -9`.
    #[arg(long)]
    pub exit_with_parent: bool,
}

/// Longest verify window accepted on the command line: a week.
const MAX_WINDOW_SECS: u64 = 7 * 24 * 3600;

pub async fn run(global: &Global, cmd: &PspCommand) -> anyhow::Result<()> {
    match cmd {
        PspCommand::Serve(a) => serve(global, a).await,
    }
}

async fn serve(global: &Global, a: &ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_WINDOW_SECS).contains(&a.verify_window_secs),
        "--verify-window-secs must be 1..={MAX_WINDOW_SECS}"
    );
    let fault = match &a.fault {
        Some(name) => Fault::parse(name).map_err(|e| anyhow::anyhow!("--fault: {e}"))?,
        None => None,
    };
    let config = PspConfig {
        merchants: a.merchants.clone(),
        verify_window_ms: a.verify_window_secs * 1000,
        max_transactions: a.max_transactions,
        control_token: a.control_token.clone(),
        fault,
        data_dir: Some(global.data_dir.clone()),
        ..PspConfig::default()
    };
    let psp = Psp::open(config)?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    // The demo reads this line for the address; keep its shape.
    println!(
        "psp for {} on http://{}/ ({} transactions replayed)",
        a.merchants.join(", "),
        listener.local_addr()?,
        psp.transactions()
    );
    let exit_with_parent = a.exit_with_parent;
    pishkhan_psp::serve(listener, psp, async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = crate::agency::stdin_closed(), if exit_with_parent => {
                eprintln!("standard input closed: the parent has gone; stopping");
            }
        }
    })
    .await?;
    Ok(())
}
