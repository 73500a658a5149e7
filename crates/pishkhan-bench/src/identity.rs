//! `pishkhan bench identity`: end-to-end identity verifications per second through Pishkhan's
//! own HTTP API, the exchange and a civil-registry agency running as its own process over the
//! 1,000,000-person reference population.
//!
//! One verification here is everything a counter's check costs: the operator's HTTP request
//! and bearer session, authorization, the lockout count, the signed purpose-bound inquiry to
//! the agency process (signature, replay check, signed answer), the Merkle log entry with its
//! signed checkpoint, the decision, the EdDSA receipt, and the verification row — committed
//! before the answer. The embedded store is durable (WAL, synchronous=FULL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use pishkhan_app::SystemClock;
use pishkhan_app::exchange::{EXCHANGE_MEMBER, ExchangeRuntime, ExchangeSetup, whole_catalogue};
use pishkhan_demo::{DeploymentKeys, ReferenceAgency, sign_reference_directory};
use pishkhan_exchange::{Directory, DirectoryHandle, MemberId};
use pishkhan_web::{AppState, WebConfig};
use serde_json::{Value, json};

#[derive(Args)]
pub struct IdentityBenchArgs {
    /// Verifications to run (after a warm-up of 1 % of them).
    #[arg(long, default_value_t = 20_000)]
    pub verifications: u64,
    /// Verifications in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// People in the reference civil registry.
    #[arg(long, default_value_t = pishkhan_agency::DEMO_SIZE)]
    pub agency_size: u64,
    /// Also present the mobile: a second inquiry (Shahkar ownership) per verification.
    #[arg(long)]
    pub with_mobile: bool,
    /// Use PostgreSQL instead: postgres://USER@HOST:PORT/NAME. Database NAME must not exist;
    /// it is created for the run and dropped after it. Without this flag the store is a fresh
    /// SQLite database (WAL, synchronous=FULL) in a temporary directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

/// Most verifications one run may ask for.
const MAX_VERIFICATIONS: u64 = 1_000_000;
/// The whole run gives up after this long.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);

pub async fn identity(args: &IdentityBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_VERIFICATIONS).contains(&args.verifications),
        "--verifications must be 1..={MAX_VERIFICATIONS}"
    );
    anyhow::ensure!(
        (1..=4096).contains(&args.concurrency),
        "--concurrency must be 1..=4096"
    );
    let postgres = args
        .database_url
        .as_deref()
        .map(crate::exchange::PgTarget::parse)
        .transpose()?;
    if let Some(pg) = &postgres {
        pg.create().await?;
    }
    let outcome = tokio::time::timeout(RUN_TIMEOUT, run(args, postgres.as_ref()))
        .await
        .context("the benchmark took too long");
    if let Some(pg) = &postgres {
        pg.drop_database().await;
    }
    outcome?
}

async fn run(
    args: &IdentityBenchArgs,
    postgres: Option<&crate::exchange::PgTarget>,
) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let dir = work.path();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let url = match postgres {
        Some(pg) => {
            println!(
                "machine: {cores} cores; PostgreSQL database {} (created for this run)",
                pg.name
            );
            pishkhan_store::DatabaseUrl::parse(&pg.url())?
        }
        None => {
            println!(
                "machine: {cores} cores; embedded store (SQLite, WAL, synchronous=FULL) in {}",
                dir.display()
            );
            pishkhan_store::DatabaseUrl::parse(&format!(
                "sqlite://{}",
                dir.join("pishkhan.db").display()
            ))?
        }
    };
    let store = pishkhan_store::open(&url).await?;
    pishkhan_demo::load_demo(
        store.as_ref(),
        pishkhan_nation::DEFAULT_SEED,
        pishkhan_app::secrets::hash_password,
    )
    .await?;

    let keys_dir = dir.join("keys");
    let keys = DeploymentKeys::load_or_create(&keys_dir)?;
    let agency_dir = dir.join("agency");
    std::fs::create_dir_all(&agency_dir)?;
    let pop = pishkhan_agency::Population::new(pishkhan_agency::DEFAULT_SEED, args.agency_size)?;
    pop.write_snapshot(pishkhan_agency::snapshot_path(&agency_dir))?;
    let wanted = [ReferenceAgency::CivilRegistry, ReferenceAgency::Cra];
    let mut urls = Vec::new();
    for a in wanted {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        urls.push((a, format!("http://{}", l.local_addr()?)));
    }
    let catalogue = whole_catalogue(store.as_ref()).await?;
    let now = pishkhan_sign::unix_now();
    let token = sign_reference_directory(
        &keys,
        &urls,
        &catalogue,
        pishkhan_exchange::Limits::default(),
        1,
        now,
        24 * 3600,
    )?;
    let pishkhan_demo::AgencyFiles {
        directory,
        regulator_pub,
    } = pishkhan_demo::write_agency_files(dir, &token, &keys.regulator)?;
    let mut children = Vec::new();
    for (agency, url) in &urls {
        let port: u16 = url.rsplit(':').next().unwrap_or("0").parse()?;
        children.push(
            pishkhan_demo::spawn_agency(
                &agency_dir,
                *agency,
                port,
                &keys_dir,
                &directory,
                &regulator_pub,
            )
            .await?,
        );
    }
    let dir_ok = Directory::verify(&token, &keys.regulator_keyring()?, None, now)?;
    let runtime = ExchangeRuntime::start(
        store.clone(),
        ExchangeSetup {
            directory: DirectoryHandle::new(dir_ok),
            member: MemberId::parse(EXCHANGE_MEMBER)?,
            key: keys.exchange,
            log_key: keys.log,
            receipt_key: keys.receipt,
            origin: "bench.pishkhan/inquiry-log".into(),
        },
    )
    .await?;
    // One operator runs the whole load: lift the per-operator abuse limits, which would
    // (rightly) block a single account looking up thousands of people.
    let mut config = WebConfig::default();
    config.app.inquiry_limits.per_operator_per_min = u32::MAX / 2;
    config.app.inquiry_limits.per_office_per_min = u32::MAX / 2;
    config.app.inquiry_limits.distinct_subjects_per_hour = u32::MAX / 2;
    config.max_concurrent_requests = 8192;
    let state = AppState::new(store.clone(), config, Arc::new(SystemClock));
    state.set_exchange(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pishkhan_web::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": "operator", "password": pishkhan_nation::DEMO_PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    let bearer = login["token"]
        .as_str()
        .context("the demo operator could not sign in")?
        .to_string();

    // Claims as people would present them: the living, with their current card.
    let size = pop.size();
    let stride = (size / (args.verifications + 1).max(1)).max(1);
    let claim = |i: u64| -> Value {
        let p = pop.person((i.wrapping_mul(stride) + 7) % size);
        let mut c = json!({
            "national_code": p.national_code.as_str(),
            "first_name": p.first_name,
            "last_name": p.last_name,
            "birth_date": p.birth_date.to_string(),
            "card_serial": p.card_serial.as_str(),
            "purpose": { "service_code": "NID-001", "case_id": format!("B-{i}") },
        });
        if args.with_mobile
            && let Some(m) = &p.mobile
        {
            c["mobile"] = json!(m.as_str());
        }
        c
    };
    let endpoint = format!("{base}/api/v1/identity/verifications");
    let warm = (args.verifications / 100).max(1);
    let (_, _, _) = drive(
        &http,
        &endpoint,
        &bearer,
        (0..warm).map(claim).collect(),
        args.concurrency,
    )
    .await?;
    let claims: Vec<Value> = (warm..warm + args.verifications).map(claim).collect();
    let started = Instant::now();
    let (mut latencies, decisions, failures) =
        drive(&http, &endpoint, &bearer, claims, args.concurrency).await?;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let rate = args.verifications as f64 / elapsed.as_secs_f64();
    println!(
        "identity verifications: {} in {:.2} s = {:.0}/s at {} in flight ({}); p50 {:.2} ms, p99 {:.2} ms",
        args.verifications,
        elapsed.as_secs_f64(),
        rate,
        args.concurrency,
        if args.with_mobile {
            "registry + Shahkar inquiries"
        } else {
            "registry inquiry"
        },
        pct(0.50),
        pct(0.99),
    );
    println!("decisions: {decisions:?}; failed requests: {failures}");
    println!(
        "baseline: MOSIP ID Authentication's published performance run held 50 authentications/s"
    );
    let _ = stop_tx.send(());
    let _ = server.await;
    drop(children);
    anyhow::ensure!(failures == 0, "{failures} verifications failed");
    Ok(())
}

type Outcome = (Vec<Duration>, std::collections::BTreeMap<String, u64>, u64);

async fn drive(
    http: &reqwest::Client,
    endpoint: &str,
    bearer: &str,
    claims: Vec<Value>,
    concurrency: usize,
) -> anyhow::Result<Outcome> {
    let queue = Arc::new(std::sync::Mutex::new(claims.into_iter()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        let http = http.clone();
        let endpoint = endpoint.to_string();
        let bearer = bearer.to_string();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut decisions = std::collections::BTreeMap::<String, u64>::new();
            let mut failed = 0u64;
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some(body) = next else { break };
                let t = Instant::now();
                let reply = http
                    .post(&endpoint)
                    .bearer_auth(&bearer)
                    .json(&body)
                    .send()
                    .await;
                match reply {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        lat.push(t.elapsed());
                        let d = v["decision"].as_str().unwrap_or("?").to_string();
                        *decisions.entry(d).or_default() += 1;
                    }
                    Ok(r) => {
                        failed += 1;
                        if failed <= 3 {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            eprintln!("failed: {status} {text}");
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("failed: {e}");
                        }
                    }
                }
            }
            (lat, decisions, failed)
        });
    }
    let mut all = (Vec::new(), std::collections::BTreeMap::new(), 0u64);
    while let Some(done) = tasks.join_next().await {
        let (lat, decisions, failed) = done?;
        all.0.extend(lat);
        for (k, v) in decisions {
            *all.1.entry(k).or_default() += v;
        }
        all.2 += failed;
    }
    Ok(all)
}
