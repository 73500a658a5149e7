//! The reference agencies as processes: each is `pishkhan agency serve`, started from the
//! running executable, signing as its member of a freshly signed directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use pishkhan_exchange::{Directory, Limits};
use tokio::io::AsyncBufReadExt;

use crate::keys::{DeploymentKeys, agency_key_file, sign_reference_directory};
use crate::reference::ReferenceAgency;

/// How long an agency process may take to start listening.
const AGENCY_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the demo's directory is valid.
const DEMO_DIRECTORY_VALID_S: i64 = 365 * 24 * 3600;

/// What an agency process reads at start: the signed directory and the regulator's public
/// key (its trust anchor), written into `dir` as `directory.jws` and `regulator.pub.jwk`.
pub struct AgencyFiles {
    pub directory: PathBuf,
    pub regulator_pub: PathBuf,
}

/// Writes the files an agency process reads at start (see [`AgencyFiles`]).
pub fn write_agency_files(
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

/// Starts one agency process (`pishkhan agency serve` from the running executable, which must
/// be the `pishkhan` binary) over the population in `data_dir`, and waits until it listens.
/// The process stops when the returned child is dropped or this process ends.
pub async fn spawn_agency(
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

/// The agency processes the demo started; they stop with it.
pub struct Agencies {
    _children: Vec<tokio::process::Child>,
    pub urls: Vec<(ReferenceAgency, String)>,
}

/// The demo's exchange network, running: the deployment's keys, the verified directory that
/// names the agencies, and the agencies.
pub struct DemoNetwork {
    pub keys: DeploymentKeys,
    pub directory: Directory,
    pub agencies: Agencies,
}

/// Starts the demo's exchange network under `data_dir`: keys in `keys/` (generated where
/// missing), the demo population in `agency/` (written once), and the four reference agencies
/// as processes, named by a freshly signed directory (in `exchange/`) in which `catalogue`
/// says which catalogue services need which inquiry.
pub async fn start_network(
    data_dir: &Path,
    catalogue: &[pishkhan_domain::model::Service],
) -> anyhow::Result<DemoNetwork> {
    let keys_dir = data_dir.join("keys");
    let exchange_dir = data_dir.join("exchange");
    let agency_dir = data_dir.join("agency");
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
    let now = pishkhan_sign::unix_now();
    let token = sign_reference_directory(
        &keys,
        &urls,
        catalogue,
        Limits::default(),
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
    let directory = Directory::verify(&token, &keys.regulator_keyring()?, None, now)?;
    Ok(DemoNetwork {
        keys,
        directory,
        agencies: Agencies {
            _children: children,
            urls,
        },
    })
}
