//! `pishkhan release …`: re-run a published surge-release lottery offline. (`pishkhan bench
//! release` is in `pishkhan-bench`.)

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum ReleaseCommand {
    /// Re-run a published allocation from its bundle (JSON, or JSON lines for large releases)
    /// and check the published digests. Exits non-zero naming the first mismatch.
    Verify(VerifyArgs),
    /// Write a deterministic synthetic release bundle, for trying `verify`.
    Synthetic(SyntheticArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    pub file: PathBuf,
    /// The SHA-256 commitment to the seed that was published when the window opened.
    #[arg(long)]
    pub commitment: Option<String>,
}

#[derive(Args)]
pub struct SyntheticArgs {
    pub file: PathBuf,
    #[arg(long, default_value_t = 10_000)]
    pub requests: usize,
    #[arg(long, default_value_t = 50)]
    pub offices: usize,
    #[arg(long, default_value_t = 100)]
    pub slots_per_office: u32,
}

/// Largest synthetic release written by the CLI.
const MAX_SYNTHETIC_REQUESTS: usize = 5_000_000;

pub fn run(cmd: &ReleaseCommand) -> anyhow::Result<()> {
    match cmd {
        ReleaseCommand::Verify(a) => {
            let bundle = pishkhan_release::read_bundle(&a.file)
                .with_context(|| format!("cannot read {}", a.file.display()))?;
            pishkhan_release::verify_bundle(&bundle, a.commitment.as_deref())
                .map_err(|e| anyhow::anyhow!("verification failed: {e}"))?;
            let p = &bundle.publication;
            println!(
                "verified release {}: {} winners, {} waitlisted; inputs {}, allocation {}",
                p.release_id, p.winners, p.waitlisted, p.inputs_digest_hex, p.allocation_digest_hex
            );
            Ok(())
        }
        ReleaseCommand::Synthetic(a) => {
            anyhow::ensure!(
                (1..=MAX_SYNTHETIC_REQUESTS).contains(&a.requests),
                "--requests must be 1..={MAX_SYNTHETIC_REQUESTS}"
            );
            let (spec, requests) =
                pishkhan_release::synthetic(a.requests, a.offices, a.slots_per_office);
            let allocation = pishkhan_release::allocate(&spec, &requests)?;
            let bundle = pishkhan_release::Bundle {
                spec,
                requests,
                publication: allocation.publication.clone(),
            };
            pishkhan_release::write_bundle(&a.file, &bundle)?;
            println!(
                "wrote {} with {} requests; seed commitment {}",
                a.file.display(),
                bundle.requests.len(),
                pishkhan_release::commitment(&bundle.spec.seed)
            );
            Ok(())
        }
    }
}
