//! Turning the inquiry exchange on in the server: from flags (`serve`), or for the demo by
//! generating the deployment's keys, starting the four reference agencies as separate
//! `pishkhan agency serve` processes, and signing a directory that names them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pishkhan_app::exchange::{
    DeploymentKeys, EXCHANGE_MEMBER, ExchangeRuntime, ExchangeSetup, agency_key_file,
    sign_reference_directory, whole_catalogue,
};
use pishkhan_exchange::{Directory, DirectoryHandle, MemberId, ReferenceAgency};
use pishkhan_store::Store;
use tokio::io::AsyncBufReadExt;

use crate::{Global, ServeArgs};

/// How long an agency process may take to start listening.
const AGENCY_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the demo's directory is valid.
const DEMO_DIRECTORY_VALID_S: i64 = 365 * 24 * 3600;

/// The agency processes the demo started; they stop with it.
pub struct Agencies {
    _children: Vec<tokio::process::Child>,
    pub urls: Vec<(ReferenceAgency, String)>,
}

fn origin(public_url: &str) -> String {
    let host = public_url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    format!("{host}/inquiry-log")
}

/// The exchange from `serve` flags, if `--exchange-directory` was given.
pub async fn from_flags(
    store: Arc<dyn Store>,
    args: &ServeArgs,
    public_url: &str,
) -> anyhow::Result<Option<Arc<ExchangeRuntime>>> {
    let (Some(directory), Some(key), Some(log_key), Some(receipt_key), Some(anchor)) = (
        &args.exchange_directory,
        &args.exchange_key,
        &args.log_key,
        &args.receipt_key,
        &args.regulator_key,
    ) else {
        return Ok(None);
    };
    let anchor = crate::keys::trust_anchor(anchor)?;
    let token = std::fs::read_to_string(directory)
        .with_context(|| format!("cannot read {}", directory.display()))?;
    let dir = Directory::verify(token.trim(), &anchor, None, pishkhan_sign::unix_now())
        .with_context(|| format!("{} does not verify", directory.display()))?;
    let read = |p: &PathBuf| {
        pishkhan_sign::KeyPair::read_file(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let runtime = ExchangeRuntime::start(
        store,
        ExchangeSetup {
            directory: DirectoryHandle::new(dir),
            member: MemberId::parse(EXCHANGE_MEMBER)?,
            key: read(key)?,
            log_key: read(log_key)?,
            receipt_key: read(receipt_key)?,
            origin: origin(public_url),
        },
    )
    .await?;
    Ok(Some(runtime))
}

/// Starts one agency process and waits until it listens.
/// What an agency process reads at start: the signed directory and the regulator's public
/// key (its trust anchor), written into `dir` as `directory.jws` and `regulator.pub.jwk`.
pub(crate) struct AgencyFiles {
    pub directory: PathBuf,
    pub regulator_pub: PathBuf,
}

pub(crate) fn write_agency_files(
    dir: &Path,
    token: &str,
    regulator: &pishkhan_sign::KeyPair,
) -> anyhow::Result<AgencyFiles> {
    std::fs::create_dir_all(dir)?;
    let directory = dir.join("directory.jws");
    std::fs::write(&directory, token)?;
    let regulator_pub = dir.join("regulator.pub.jwk");
    std::fs::write(
        &regulator_pub,
        serde_json::to_string_pretty(&regulator.public().to_jwk())?,
    )?;
    Ok(AgencyFiles {
        directory,
        regulator_pub,
    })
}

pub(crate) async fn spawn_agency(
    data_dir: &Path,
    agency: ReferenceAgency,
    port: u16,
    keys_dir: &Path,
    directory: &Path,
    regulator_pub: &Path,
) -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe().context("cannot find the pishkhan executable")?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["agency", "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--member")
        .arg(agency.member_id().to_string())
        .arg("--key")
        .arg(keys_dir.join(agency_key_file(agency)))
        .arg("--directory")
        .arg(directory)
        .arg("--regulator-key")
        .arg(regulator_pub)
        // The child holds the read end; when this process ends, however it ends, the pipe
        // closes and the agency stops.
        .arg("--exit-with-parent")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start an agency process")?;
    let stdout = child.stdout.take().context("agency stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(AGENCY_START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("signing as") {
                return Ok::<bool, std::io::Error>(true);
            }
        }
        Ok(false)
    })
    .await;
    match ready {
        Ok(Ok(true)) => {}
        _ => anyhow::bail!("agency {} did not start", agency.member_id()),
    }
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(child)
}

/// The demo's exchange: keys in DATA_DIR/keys, the reference agencies as four processes over
/// the population in DATA_DIR/agency, and a freshly signed directory naming them.
pub async fn demo(
    global: &Global,
    store: Arc<dyn Store>,
    public_url: &str,
) -> anyhow::Result<(Arc<ExchangeRuntime>, Agencies)> {
    let keys_dir = global.data_dir.join("keys");
    let exchange_dir = global.data_dir.join("exchange");
    let agency_dir = global.data_dir.join("agency");
    std::fs::create_dir_all(&exchange_dir)?;
    std::fs::create_dir_all(&agency_dir)?;
    let keys = DeploymentKeys::load_or_create(&keys_dir)?;
    let snapshot = pishkhan_agency::snapshot_path(&agency_dir);
    if !snapshot.exists() {
        let pop = pishkhan_agency::Population::new(
            pishkhan_agency::DEFAULT_SEED,
            pishkhan_agency::DEMO_SIZE,
        )?;
        pop.write_snapshot(&snapshot)?;
    }
    // Ports first: the directory names each agency's address.
    let mut ports = Vec::new();
    for _ in ReferenceAgency::ALL {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        ports.push(l.local_addr()?.port());
    }
    let urls: Vec<(ReferenceAgency, String)> = ReferenceAgency::ALL
        .iter()
        .zip(&ports)
        .map(|(a, p)| (*a, format!("http://127.0.0.1:{p}")))
        .collect();
    let catalogue = whole_catalogue(store.as_ref()).await?;
    let now = pishkhan_sign::unix_now();
    let token = sign_reference_directory(
        &keys,
        &urls,
        &catalogue,
        pishkhan_exchange::Limits::default(),
        // Each start publishes a newer directory (new ports): versions only move forward.
        now as u64,
        now,
        DEMO_DIRECTORY_VALID_S,
    )?;
    let AgencyFiles {
        directory,
        regulator_pub,
    } = write_agency_files(&exchange_dir, &token, &keys.regulator)?;
    let mut children = Vec::new();
    for (agency, port) in ReferenceAgency::ALL.iter().zip(&ports) {
        children.push(
            spawn_agency(
                &agency_dir,
                *agency,
                *port,
                &keys_dir,
                &directory,
                &regulator_pub,
            )
            .await?,
        );
    }
    let dir = Directory::verify(&token, &keys.regulator_keyring()?, None, now)?;
    let runtime = ExchangeRuntime::start(
        store,
        ExchangeSetup {
            directory: DirectoryHandle::new(dir),
            member: MemberId::parse(EXCHANGE_MEMBER)?,
            key: keys.exchange,
            log_key: keys.log,
            receipt_key: keys.receipt,
            origin: origin(public_url),
        },
    )
    .await?;
    Ok((
        runtime,
        Agencies {
            _children: children,
            urls,
        },
    ))
}
