//! `pishkhan agency …`: the reference agency services as a separate process, over a
//! deterministic population kept on disk.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Args, Subcommand};
use pishkhan_agency::{DEFAULT_SEED, DEMO_SIZE, Population, Snapshot, snapshot_path};

use crate::Global;
use crate::progress::{Progress, Unit};

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
    /// Sign answers and verify requests as this exchange member, such as `agency:sabt`. Needs
    /// --key, --directory and --regulator-key; without it the services run unsigned.
    #[arg(long, requires_all = ["key", "directory", "regulator_key"])]
    pub member: Option<String>,
    /// This agency's private key file (`pishkhan keys generate`).
    #[arg(long)]
    pub key: Option<std::path::PathBuf>,
    /// The regulator-signed directory file; re-read when it changes (key rotation).
    #[arg(long)]
    pub directory: Option<std::path::PathBuf>,
    /// The regulator's public key (JWK or JWKS): the directory's trust anchor.
    #[arg(long)]
    pub regulator_key: Option<std::path::PathBuf>,
    /// Stop when standard input reaches its end. A parent that starts this process with a
    /// pipe on its stdin (the demo, the benchmarks) takes it down when the parent exits, even
    /// by `kill -9`, so no agency outlives its demo.
    #[arg(long)]
    pub exit_with_parent: bool,
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
    // Up to 84 million people: minutes of work, so it shows how far it is.
    let progress = Progress::start("population", Unit::Count("people"));
    let stats =
        pop.write_snapshot_with_progress(&path, &mut |done, total| progress.set(done, total))?;
    progress.finish(stats.records);
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
    let mut state = pishkhan_agency::AgencyState::from(snapshot);
    if let (Some(member), Some(key), Some(directory), Some(anchor)) =
        (&a.member, &a.key, &a.directory, &a.regulator_key)
    {
        let envelope = signed_envelope(member, key, directory, anchor)?;
        println!("signing as {member}; directory {}", directory.display());
        state = state.with_envelope(envelope);
    }
    let exit_with_parent = a.exit_with_parent;
    pishkhan_agency::serve(listener, state, async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = stdin_closed(), if exit_with_parent => {
                eprintln!("standard input closed: the parent has gone; stopping");
            }
        }
    })
    .await?;
    Ok(())
}

/// Resolves when standard input reaches its end (or fails).
pub(crate) async fn stdin_closed() {
    use tokio::io::AsyncReadExt as _;
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// How often the directory file is checked for a new version.
const DIRECTORY_POLL: std::time::Duration = std::time::Duration::from_secs(2);

fn signed_envelope(
    member: &str,
    key: &std::path::Path,
    directory: &std::path::Path,
    anchor: &std::path::Path,
) -> anyhow::Result<std::sync::Arc<pishkhan_exchange::SignedEnvelope>> {
    use pishkhan_exchange::{Directory, DirectoryHandle, MemberId, SignedEnvelope};
    let member = MemberId::parse(member).map_err(|e| anyhow::anyhow!("--member: {e}"))?;
    let key = pishkhan_sign::KeyPair::read_file(key)
        .with_context(|| format!("cannot read {}", key.display()))?;
    let anchor = crate::keys::trust_anchor(anchor)?;
    let read = |path: &std::path::Path| -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_string())
    };
    let dir = Directory::verify(&read(directory)?, &anchor, None, pishkhan_sign::unix_now())
        .with_context(|| format!("{} does not verify", directory.display()))?;
    let handle = DirectoryHandle::new(dir);
    let envelope = std::sync::Arc::new(SignedEnvelope::new(member, key, handle.clone())?);
    // Rotation without downtime: a newer directory (new keys, revocations) is picked up while
    // serving; an older or forged one is refused and the current one stays.
    let path = directory.to_path_buf();
    tokio::spawn(async move {
        let mut seen = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        loop {
            tokio::time::sleep(DIRECTORY_POLL).await;
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if modified == seen {
                continue;
            }
            seen = modified;
            match read(&path).map(|t| handle.update(&t, &anchor, pishkhan_sign::unix_now())) {
                Ok(Ok(v)) => tracing::info!(version = v, "directory updated"),
                Ok(Err(e)) => tracing::warn!(error = %e, "new directory refused"),
                Err(e) => tracing::warn!(error = %e, "directory unreadable"),
            }
        }
    });
    Ok(envelope)
}
