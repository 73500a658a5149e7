//! `pishkhan audit verify`: recompute the exchange's Merkle message log from the stored rows
//! and check every signed checkpoint. Exits non-zero naming the first bad entry and the
//! column that disagrees.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use pishkhan_exchange::LogStore;

use crate::Global;
use crate::progress::{Progress, Unit};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the message log's tree, every column stored beside its entries, and check
    /// every checkpoint and its signature.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The log's public key (JWK, JWKS or the private key file); defaults to
    /// DATA_DIR/keys/log.jwk.
    #[arg(long)]
    pub log_key: Option<PathBuf>,
}

pub async fn run(global: &Global, cmd: &AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify(a) => verify(global, a).await,
    }
}

async fn verify(global: &Global, a: &VerifyArgs) -> anyhow::Result<()> {
    let key = a
        .log_key
        .clone()
        .unwrap_or_else(|| global.data_dir.join("keys").join("log.jwk"));
    let keyring = crate::keys::trust_anchor(&key).with_context(|| {
        format!(
            "the log key {} is needed to check checkpoints",
            key.display()
        )
    })?;
    let store = crate::run::open_store(global).await?;
    let log = pishkhan_app::exchange::StoreLog(store);
    println!("{}", verify_with_progress(&log, &keyring).await?);
    Ok(())
}

/// Audits the message log as `audit verify` does, showing progress on stderr: the report's
/// line, or an error naming the first bad entry or checkpoint and the column that disagrees.
pub async fn verify_with_progress(
    log: &pishkhan_app::exchange::StoreLog,
    keyring: &pishkhan_sign::Keyring,
) -> anyhow::Result<String> {
    let progress = Progress::start("checking the message log", Unit::Entries);
    let outcome = pishkhan_exchange::verify_log_with_progress(log, keyring, &|done, total| {
        progress.set(done, total)
    })
    .await;
    match outcome {
        Ok(report) => {
            progress.finish(report.entries);
            Ok(format!(
                "exchange log verified: {} entries, {} signed checkpoints, root {}",
                report.entries,
                report.checkpoints,
                hex_of(&report.root)
            ))
        }
        Err(f) => {
            let mut at = match (f.first_bad_index, f.checkpoint_size) {
                (Some(i), _) => format!("entry {i}"),
                (None, Some(size)) => format!("checkpoint at size {size}"),
                (None, None) => "the log".to_string(),
            };
            if let Some(column) = f.column {
                at.push_str(&format!(", column {}", log.column_name(column)));
            }
            anyhow::bail!(
                "exchange log does NOT verify: {at}: {} ({})",
                f.reason,
                f.code
            )
        }
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
