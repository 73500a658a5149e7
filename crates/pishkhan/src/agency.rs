//! `pishkhan agency …`: the reference agency services as a separate process, over a
//! deterministic population kept on disk.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Args, Subcommand};
use pishkhan_agency::{DEFAULT_SEED, DEMO_SIZE, Population, Snapshot, snapshot_path};

use crate::Global;

#[derive(Subcommand)]
pub enum AgencyCommand {
    /// Serve the civil-registry, mobile-ownership, postal and traffic-fines services over HTTP.
    /// The population is read from DATA_DIR/population.pkag, generated there first if absent.
    Serve(ServeArgs),
    /// Write the population file into --data-dir (up to 84,000,000 people).
    Generate(GenerateArgs),
    /// Print sample people as JSON lines, including deceased people, lost and revoked cards,
    /// and names with ی, ک and ZWNJ.
    Sample(SampleArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// People to generate when the data dir holds no population yet.
    #[arg(long, default_value_t = DEMO_SIZE)]
    pub size: u64,
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

#[derive(Args)]
pub struct GenerateArgs {
    #[arg(long, default_value_t = DEMO_SIZE)]
    pub size: u64,
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

#[derive(Args)]
pub struct SampleArgs {
    #[arg(long, default_value_t = 20)]
    pub n: usize,
    #[arg(long, default_value_t = DEMO_SIZE)]
    pub size: u64,
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

/// Most sample lines printed at once.
const MAX_SAMPLE: usize = 100_000;

pub async fn run(global: &Global, cmd: &AgencyCommand) -> anyhow::Result<()> {
    match cmd {
        AgencyCommand::Serve(a) => serve(global, a).await,
        AgencyCommand::Generate(a) => generate(global, a.seed, a.size).map(|_| ()),
        AgencyCommand::Sample(a) => {
            anyhow::ensure!(
                (1..=MAX_SAMPLE).contains(&a.n),
                "--n must be 1..={MAX_SAMPLE}"
            );
            let pop = Population::new(a.seed, a.size)?;
            print!("{}", pishkhan_agency::sample_json_lines(&pop, a.n));
            Ok(())
        }
    }
}

fn generate(global: &Global, seed: u64, size: u64) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(&global.data_dir)
        .with_context(|| format!("cannot create {}", global.data_dir.display()))?;
    let path = snapshot_path(&global.data_dir);
    let pop = Population::new(seed, size)?;
    let stats = pop.write_snapshot(&path)?;
    println!(
        "wrote {} people to {} ({:.1} MB) in {:.2} s",
        stats.records,
        path.display(),
        stats.bytes as f64 / 1e6,
        stats.seconds
    );
    Ok(path)
}

async fn serve(global: &Global, a: &ServeArgs) -> anyhow::Result<()> {
    let path = snapshot_path(&global.data_dir);
    if !path.exists() {
        generate(global, a.seed, a.size)?;
    }
    let snapshot =
        Snapshot::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    println!(
        "agency services for {} people (seed {}) on http://{}/",
        snapshot.size(),
        snapshot.seed(),
        listener.local_addr()?
    );
    pishkhan_agency::serve(listener, snapshot, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
