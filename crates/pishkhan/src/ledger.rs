//! `pishkhan ledger verify`: replay every ledger transfer and check every stored column,
//! pending state and balance against the replay. Exits non-zero naming the first bad transfer
//! (its hex id) or account. (`pishkhan bench ledger` is in `pishkhan-bench`.)
//!
//! Also `pishkhan ledger load`, hidden: posts payment-shaped linked chains and appends each
//! acknowledged chain's id to a file as soon as its commit returns, for the `kill -9` test.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use pishkhan_store::{Outcome, Transfer};

use crate::Global;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Recompute every balance from the transfers, check that debits equal credits, that no
    /// linked chain is partial and that no stored column was changed. Exits non-zero naming
    /// the first bad transfer or account.
    Verify,
    /// Post payment-shaped linked chains, writing each acknowledged chain's id to a file.
    #[command(hide = true)]
    Load(LoadArgs),
}

#[derive(Args)]
pub struct LoadArgs {
    /// Each acknowledged chain's first transfer id (hex), one a line, written as soon as its
    /// batch's commit returns.
    #[arg(long)]
    pub ack_file: PathBuf,
    /// Transfers per batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Batches to post before stopping.
    #[arg(long, default_value_t = 100_000)]
    pub batches: u64,
}

pub async fn run(global: &Global, cmd: &LedgerCommand) -> anyhow::Result<()> {
    match cmd {
        LedgerCommand::Verify => verify(global).await,
        LedgerCommand::Load(a) => load(global, a).await,
    }
}

async fn verify(global: &Global) -> anyhow::Result<()> {
    let store = crate::run::open_store(global).await?;
    let replay = match store.verify_ledger().await? {
        Ok(r) => r,
        Err(fault) => anyhow::bail!("the ledger does NOT verify: {fault}"),
    };
    let head = store.ledger_head().await?;
    let pending: i64 = replay.balances.values().map(|b| b.debits_pending).sum();
    println!(
        "ledger verified: {} transfers, {} accounts; posted {} rials (debits = credits), \
         pending {pending} rials; no linked chain is partial",
        replay.transfers,
        replay.balances.len(),
        replay.total_debits_posted,
    );
    // Kept elsewhere, the head digest shows a later rewrite of the whole ledger.
    println!(
        "head: seq {}, digest {}",
        head.seq,
        head.digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Ok(())
}

/// Most transfers `load` puts in one batch.
const MAX_LOAD_BATCH: usize = 1_024;

async fn load(global: &Global, a: &LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (4..=MAX_LOAD_BATCH).contains(&a.batch),
        "--batch is 4..={MAX_LOAD_BATCH}"
    );
    let store = crate::run::open_store(global).await?;
    let mut acks = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.ack_file)
        .with_context(|| format!("cannot open {}", a.ack_file.display()))?;
    let accounts = pishkhan_bench::ledger::accounts(100)?;
    // Payment numbers from the clock in microseconds, so runs into one database never reuse ids.
    let first = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
    let first = i64::try_from(first).context("the clock")?;
    let mut source = pishkhan_bench::ledger::PaymentLoad::new(0, 1, first, &accounts, true);
    for _ in 0..a.batches {
        let batch = source.next_batch(a.batch);
        let outcomes = store.post_transfers(&batch).await?;
        anyhow::ensure!(
            outcomes.iter().all(|o| *o == Outcome::Applied),
            "a load transfer was not applied: {outcomes:?}"
        );
        let mut lines = String::new();
        for head in chain_heads(&batch) {
            lines.push_str(&head.id.hex());
            lines.push('\n');
        }
        acks.write_all(lines.as_bytes())?;
        acks.flush()?;
        source.acknowledged(&batch, &outcomes);
    }
    Ok(())
}

/// The first transfer of every chain in `batch`.
fn chain_heads(batch: &[Transfer]) -> impl Iterator<Item = &Transfer> {
    batch
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || !batch[i - 1].linked)
        .map(|(_, t)| t)
}
