//! `pishkhan bench exchange`: end-to-end purpose-bound inquiries per second through the
//! inquiry exchange, against a civil-registry agency running as its own `pishkhan agency
//! serve` process, beside direct unsigned calls to an unsigned agency process measured in the
//! same run.
//!
//! Each measured inquiry takes the path of `pishkhan_app::exchange::run_inquiry` without the
//! HTTP request into Pishkhan itself: the office and the catalogue service are read from the
//! store, the catalogue rule is checked, [`Exchange::inquire`] signs the request, the agency
//! verifies it (signature, purpose, replay) and signs its answer, the exchange verifies and
//! minimises the answer, and [`LogAppender::append`] commits the log entry (Merkle tree,
//! signed checkpoint, one transaction per batch) before the inquiry counts as answered.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use pishkhan_app::exchange::{EXCHANGE_MEMBER, StoreLog, whole_catalogue};
use pishkhan_demo::{DeploymentKeys, ReferenceAgency, sign_reference_directory};
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_exchange::{
    Directory, DirectoryHandle, Exchange, Inquiry, LogAppender, LogStore, MemberId, Purpose,
    ServiceId, verify_log,
};
use pishkhan_sign::{KeyPair, KeyStatus, Keyring};
use pishkhan_store::{DatabaseUrl, Store};
use serde_json::Value;
use sqlx::{Connection, Executor};
use tokio::io::AsyncBufReadExt;

/// The inquiry every measured request makes.
const INQUIRY: &str = "civil-registry.person";
/// The catalogue service performed, if it requires [`INQUIRY`] (else the first that does).
const PREFERRED_SERVICE: &str = "NID-001";
/// Most offices the inquiries are spread over.
const MAX_OFFICES: usize = 256;
/// Warm-up requests before each measured run (connections, caches), at most.
const MAX_WARMUP: u32 = 2_000;
/// Length of each steady-rate run that measures latency at half load, in seconds.
const PACED_SECONDS: f64 = 10.0;
/// Longest one request may take before the benchmark counts it as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an agency process may take to start listening.
const AGENCY_START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the benchmark's directory is valid.
const DIRECTORY_VALID_S: i64 = 24 * 3600;
/// Names the benchmark's message log in its checkpoints.
const LOG_ORIGIN: &str = "pishkhan-bench.invalid/inquiry-log";
const LEGAL_BASIS: &str = "قانون ثبت احوال، ماده ۱۰";
const OPERATOR: &str = "bench-operator";
/// Linux's USER_HZ: the unit of utime and stime in /proc/PID/stat.
const CLOCK_TICKS_PER_S: f64 = 100.0;

#[derive(Args)]
pub struct ExchangeBenchArgs {
    /// People in the agency's population (a 64-byte-per-person file in a temporary
    /// directory).
    #[arg(long, default_value_t = pishkhan_agency::DEMO_SIZE,
          value_parser = clap::value_parser!(u64).range(1..=pishkhan_agency::NATIONAL_SIZE))]
    pub agency_size: u64,
    /// Inquiries in the measured run; the direct baselines make as many calls.
    #[arg(long, default_value_t = 50_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub inquiries: u32,
    /// Inquiries (and direct calls) in flight at once. The exchange lets at most 64 be in
    /// flight to one agency; more wait for a slot.
    #[arg(long, default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Log into PostgreSQL instead: postgres://USER@HOST:PORT/NAME. Database NAME must not
    /// exist; it is created for the run and dropped after it. Without this flag the log goes
    /// to a fresh SQLite database (WAL, synchronous=FULL) in a temporary directory.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Give up after this many seconds in all (setup included).
    #[arg(long, default_value_t = 1_800,
          value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub timeout_secs: u64,
}

pub async fn exchange(args: &ExchangeBenchArgs) -> anyhow::Result<()> {
    let postgres = args
        .database_url
        .as_deref()
        .map(PgTarget::parse)
        .transpose()?;
    check_no_proxy()?;
    let limit = Duration::from_secs(args.timeout_secs);
    let timed_out = || {
        anyhow::anyhow!(
            "the benchmark did not finish within {} s (--timeout-secs)",
            args.timeout_secs
        )
    };
    match postgres {
        None => tokio::time::timeout(limit, run(args, None))
            .await
            .map_err(|_| timed_out())?,
        Some(pg) => {
            pg.create().await?;
            let outcome = tokio::time::timeout(limit, run(args, Some(&pg))).await;
            pg.drop_database().await;
            outcome.map_err(|_| timed_out())?
        }
    }
}

/// A PostgreSQL database the benchmark creates and drops.
pub(crate) struct PgTarget {
    /// `postgres://USER@HOST:PORT`, without the database.
    server: String,
    pub(crate) name: String,
}

impl PgTarget {
    pub(crate) fn parse(url: &str) -> anyhow::Result<PgTarget> {
        let url = url.trim();
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "--database-url must be postgres://USER@HOST:PORT/NAME (SQLite is the default: \
             leave the flag out)"
        );
        anyhow::ensure!(
            !url.contains('?'),
            "--database-url: query parameters are not supported here"
        );
        let (server, name) = url
            .rsplit_once('/')
            .filter(|(server, _)| !server.ends_with('/'))
            .context("--database-url must name the database: postgres://USER@HOST:PORT/NAME")?;
        let valid = !name.is_empty()
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        anyhow::ensure!(
            valid,
            "--database-url: the database name must be 1-63 of a-z, 0-9 and _, not starting \
             with a digit"
        );
        anyhow::ensure!(
            !matches!(name, "postgres" | "template0" | "template1"),
            "--database-url: name a new database, not {name}"
        );
        Ok(PgTarget {
            server: server.to_string(),
            name: name.to_string(),
        })
    }

    pub(crate) fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    async fn admin(&self) -> anyhow::Result<sqlx::PgConnection> {
        let redacted = DatabaseUrl::parse(&self.url())
            .map(|u| u.to_string())
            .unwrap_or_else(|_| "the PostgreSQL server".into());
        sqlx::PgConnection::connect(&format!("{}/postgres", self.server))
            .await
            .with_context(|| format!("cannot connect to PostgreSQL for {redacted}"))
    }

    /// Creates the database; refuses one that exists (it is dropped afterwards, so it must be
    /// the benchmark's own).
    pub(crate) async fn create(&self) -> anyhow::Result<()> {
        let mut admin = self.admin().await?;
        let exists = sqlx::query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
            .bind(&self.name)
            .fetch_optional(&mut admin)
            .await?
            .is_some();
        anyhow::ensure!(
            !exists,
            "database {} already exists; the benchmark creates its database and drops it \
             afterwards, so name one that does not exist (or drop it first)",
            self.name
        );
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {}",
                self.name
            )))
            .await
            .with_context(|| format!("cannot create database {}", self.name))?;
        Ok(())
    }

    pub(crate) async fn drop_database(&self) {
        let dropped = async {
            let mut admin = self.admin().await?;
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .await?;
            anyhow::Ok(())
        }
        .await;
        match dropped {
            Ok(()) => println!("dropped database {}", self.name),
            Err(e) => eprintln!("warning: could not drop database {}: {e:#}", self.name),
        }
    }
}

/// The HTTP client would go through a proxy named in the environment; the benchmark measures
/// direct loopback calls.
fn check_no_proxy() -> anyhow::Result<()> {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    let proxied = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|k| set(k));
    let bypassed = ["no_proxy", "NO_PROXY"].iter().any(|k| {
        std::env::var(k).is_ok_and(|v| {
            v.split(',')
                .any(|h| matches!(h.trim(), "*" | "127.0.0.1" | "127.0.0.0/8"))
        })
    });
    anyhow::ensure!(
        !proxied || bypassed,
        "an HTTP proxy is set in the environment; unset http_proxy/all_proxy or add 127.0.0.1 \
         to no_proxy, so that calls go straight to the agency processes"
    );
    Ok(())
}

/// A default client of the type [`Exchange::new`] takes. This binary does not name the HTTP
/// client crate, so the type is inferred from the constructor's signature; its defaults (no
/// client timeout, unbounded idle pool) suit loopback calls, and the exchange applies the
/// directory's timeouts itself.
fn http_client<C: Default, R>(_constructor: fn(DirectoryHandle, MemberId, KeyPair, C) -> R) -> C {
    C::default()
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

/// CPU seconds (user + system) a process has used so far, from /proc.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, utime field 14, stime field 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_S)
}

/// CPU used by this process and by one agency process over a run.
struct CpuMeter {
    agency_pid: String,
    start: Option<(f64, f64)>,
}

impl CpuMeter {
    fn start(agency_pid: Option<u32>) -> CpuMeter {
        let agency_pid = agency_pid.map_or_else(|| "0".to_string(), |p| p.to_string());
        let start = cpu_seconds("self").zip(cpu_seconds(&agency_pid));
        CpuMeter { agency_pid, start }
    }

    /// `(this process, agency)` CPU seconds since [`CpuMeter::start`].
    fn stop(&self) -> Option<(f64, f64)> {
        let (s0, a0) = self.start?;
        let (s1, a1) = cpu_seconds("self").zip(cpu_seconds(&self.agency_pid))?;
        Some((s1 - s0, a1 - a0))
    }
}

/// One measured run.
struct RunReport {
    ok: u64,
    failures: BTreeMap<&'static str, u64>,
    first_failure: Option<String>,
    seconds: f64,
    /// Sorted, in microseconds.
    latencies_us: Vec<u64>,
    cpu: Option<(f64, f64)>,
}

impl RunReport {
    fn with_capacity(requests: u64) -> RunReport {
        RunReport {
            ok: 0,
            failures: BTreeMap::new(),
            first_failure: None,
            seconds: 0.0,
            latencies_us: Vec::with_capacity(requests as usize),
            cpu: None,
        }
    }

    fn record(&mut self, latency_us: u64, result: Result<(), Failure>) {
        self.latencies_us.push(latency_us);
        if let Err((code, detail)) = result {
            *self.failures.entry(code).or_default() += 1;
            self.first_failure
                .get_or_insert_with(|| format!("{code}: {detail}"));
        }
    }

    fn merge(&mut self, other: RunReport) {
        self.latencies_us.extend(other.latencies_us);
        for (code, n) in other.failures {
            *self.failures.entry(code).or_default() += n;
        }
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    fn finish(mut self, seconds: f64, cpu: Option<(f64, f64)>) -> RunReport {
        self.seconds = seconds;
        self.cpu = cpu;
        self.ok = self.latencies_us.len() as u64 - self.failed();
        self.latencies_us.sort_unstable();
        self
    }

    fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    fn per_second(&self) -> f64 {
        (self.ok + self.failed()) as f64 / self.seconds.max(1e-9)
    }

    fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    /// `(this process, agency)` CPU microseconds per request.
    fn cpu_per_request_us(&self) -> Option<(f64, f64)> {
        let n = (self.ok + self.failed()).max(1) as f64;
        self.cpu.map(|(s, a)| (s * 1e6 / n, a * 1e6 / n))
    }

    fn print(&self, label: &str, unit: &str) {
        println!(
            "{label}: {:.0} {unit}/s ({} answered, {} failed) in {:.2} s; latency p50 {:.2} ms, p99 {:.2} ms",
            self.per_second(),
            self.ok,
            self.failed(),
            self.seconds,
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
        );
        if let Some((bench, agency)) = self.cpu_per_request_us() {
            println!(
                "  CPU per request: {bench:.0} µs in this process, {agency:.0} µs in the agency process"
            );
        }
        if !self.failures.is_empty() {
            println!("  failures by code: {:?}", self.failures);
            if let Some(first) = &self.first_failure {
                println!("  first failure: {first}");
            }
        }
    }
}

type Failure = (&'static str, String);

/// One request, given up on after [`REQUEST_TIMEOUT`].
async fn within_timeout(request: impl Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    tokio::time::timeout(REQUEST_TIMEOUT, request)
        .await
        .unwrap_or_else(|_| Err(("bench_timeout", "no answer within 30 s".to_string())))
}

/// Runs `requests` through `one` from `concurrency` tasks; each request gets the index of its
/// national code.
async fn drive<F, Fut>(
    requests: std::ops::Range<u64>,
    concurrency: u32,
    agency_pid: Option<u32>,
    one: F,
) -> anyhow::Result<RunReport>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send,
{
    let next = Arc::new(AtomicU64::new(requests.start));
    let end = requests.end;
    let meter = CpuMeter::start(agency_pid);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (next, one) = (next.clone(), one.clone());
        tasks.spawn(async move {
            let mut part = RunReport::with_capacity(0);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= end {
                    break;
                }
                let t = Instant::now();
                let result = within_timeout(one(k)).await;
                part.record(t.elapsed().as_micros() as u64, result);
            }
            part
        });
    }
    let mut report = RunReport::with_capacity(end - requests.start);
    while let Some(joined) = tasks.join_next().await {
        report.merge(joined.context("a benchmark task panicked")?);
    }
    Ok(report.finish(started.elapsed().as_secs_f64(), meter.stop()))
}

/// How a run loads the system.
#[derive(Clone, Copy)]
enum Load {
    /// This many requests in flight, each starting when one answers: the saturation figure.
    Closed { concurrency: u32 },
    /// Requests started at this steady rate: latency at a known load.
    Paced { per_second: f64 },
}

async fn apply<F, Fut>(
    requests: std::ops::Range<u64>,
    load: Load,
    agency_pid: Option<u32>,
    one: F,
) -> anyhow::Result<RunReport>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    match load {
        Load::Closed { concurrency } => drive(requests, concurrency, agency_pid, one).await,
        Load::Paced { per_second } => drive_paced(requests, per_second, agency_pid, one).await,
    }
}

/// Sends requests at a steady `rate_per_s` (open loop: a request starts on schedule
/// whether or not earlier ones have answered), so latency is measured at a known load rather
/// than at saturation. Latency counts from each request's scheduled start.
async fn drive_paced<F, Fut>(
    requests: std::ops::Range<u64>,
    rate_per_s: f64,
    agency_pid: Option<u32>,
    one: F,
) -> anyhow::Result<RunReport>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    let mut report = RunReport::with_capacity(requests.end - requests.start);
    let meter = CpuMeter::start(agency_pid);
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, k) in requests.enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate_per_s);
        tokio::time::sleep_until(due).await;
        let one = one.clone();
        tasks.spawn(async move {
            let result = within_timeout(one(k)).await;
            (due.elapsed().as_micros() as u64, result)
        });
        while let Some(done) = tasks.try_join_next() {
            let (latency, result) = done.context("a benchmark task panicked")?;
            report.record(latency, result);
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (latency, result) = done.context("a benchmark task panicked")?;
        report.record(latency, result);
    }
    Ok(report.finish(started.elapsed().as_secs_f64(), meter.stop()))
}

/// What the measured inquiries share.
struct Bench {
    store: Arc<dyn Store>,
    exchange: Exchange,
    appender: LogAppender,
    offices: Vec<OfficeCode>,
    catalogue: ServiceCode,
    service: ServiceId,
    population: Arc<pishkhan_agency::Population>,
    /// With `PISHKHAN_BENCH_TRACE=1`: each inquiry's start and phase times, for the stall
    /// timeline printed after the run at half load.
    trace: Option<std::sync::Mutex<Vec<Phases>>>,
}

/// One inquiry's start and how long each phase took, in microseconds.
#[derive(Clone, Copy)]
struct Phases {
    start: Instant,
    /// The office and catalogue reads from the store.
    reads: u32,
    /// `Exchange::inquire`: the signed call to the agency and the answer's checks.
    inquire: u32,
    /// The log append: waiting for and committing the batch.
    append: u32,
}

impl Bench {
    /// The national code of request `k`: people spread over the whole population.
    fn national_code(&self, k: u64) -> String {
        let index = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) % self.population.size();
        self.population
            .record(index)
            .national_code()
            .as_str()
            .to_string()
    }

    /// One inquiry, as `run_inquiry` runs it for a member of staff, minus the HTTP request
    /// into Pishkhan: answered only once its log entry is committed.
    async fn inquiry(&self, k: u64) -> Result<(), Failure> {
        let store_err =
            |what: &'static str| move |e: pishkhan_store::StoreError| (what, e.to_string());
        let t0 = Instant::now();
        let code = self.offices[(k % self.offices.len() as u64) as usize];
        let office = self
            .store
            .office(code)
            .await
            .map_err(store_err("store_office"))?;
        let service = self
            .store
            .service(&self.catalogue)
            .await
            .map_err(store_err("store_service"))?;
        if !service
            .required_inquiries
            .iter()
            .any(|i| i == self.service.as_str())
        {
            return Err(("inquiry_not_required", service.code.as_str().to_string()));
        }
        let purpose = Purpose::new(
            LEGAL_BASIS,
            self.catalogue.as_str(),
            &format!("BENCH-{k}"),
            OPERATOR,
        )
        .map_err(|e| (e.code(), e.to_string()))?;
        let office_member = MemberId::parse(&format!("office:{}", office.code))
            .map_err(|e| ("office_member", e.to_string()))?;
        let inquiry = Inquiry {
            office: office_member,
            office_active: office.status.may_use_network(),
            service: self.service.clone(),
            catalogue_service: self.catalogue.as_str().to_string(),
            purpose,
            body: serde_json::json!({ "national_code": self.national_code(k) }),
            // Every inquiry goes to the agency: the benchmark measures the full path.
            fresh: true,
        };
        let t1 = Instant::now();
        let result = self.exchange.inquire(&inquiry).await;
        let t2 = Instant::now();
        let entry = self.exchange.log_entry(&inquiry, &result, crate::now_ms());
        self.appender
            .append(&entry)
            .await
            .map_err(|e| ("log_append", e.to_string()))?;
        if let Some(trace) = &self.trace {
            let us = |d: Duration| d.as_micros().min(u128::from(u32::MAX)) as u32;
            let phases = Phases {
                start: t0,
                reads: us(t1 - t0),
                inquire: us(t2 - t1),
                append: us(t2.elapsed()),
            };
            trace.lock().unwrap_or_else(|p| p.into_inner()).push(phases);
        }
        match result {
            Ok(outcome) if outcome.body.get("found") == Some(&Value::Bool(true)) => Ok(()),
            Ok(outcome) => Err(("unexpected_answer", outcome.body.to_string())),
            Err(e) => Err((e.code(), e.to_string())),
        }
    }
}

/// The stall timeline of a traced run: per 100 ms of inquiry starts, how many started and
/// the slowest of each phase, for every interval in which some inquiry took over 20 ms.
fn print_timeline(trace: &[Phases]) {
    let Some(first) = trace.iter().map(|p| p.start).min() else {
        return;
    };
    let mut bins: BTreeMap<u64, (u32, u32, u32, u32, u32)> = BTreeMap::new();
    for p in trace {
        let bin = (p.start - first).as_millis() as u64 / 100;
        let b = bins.entry(bin).or_default();
        b.0 += 1;
        b.1 = b.1.max(p.reads);
        b.2 = b.2.max(p.inquire);
        b.3 = b.3.max(p.append);
        b.4 = b.4.max(p.reads + p.inquire + p.append);
    }
    let ms = |us: u32| f64::from(us) / 1000.0;
    println!("stall timeline (100 ms bins with an inquiry over 20 ms; slowest per phase):");
    for (bin, (n, reads, inquire, append, total)) in bins {
        if total > 20_000 {
            println!(
                "  t={:5.1} s  n={n:4}  total {:7.1}  reads {:7.1}  inquire {:7.1}  append {:7.1} ms",
                bin as f64 / 10.0,
                ms(total),
                ms(reads),
                ms(inquire),
                ms(append)
            );
        }
    }
}

/// Direct unsigned calls to the unsigned agency with a client of the exchange's HTTP client
/// type, answers checked as the exchange checks them (status, JSON, `found`).
async fn direct_run(
    population: Arc<pishkhan_agency::Population>,
    base_url: &str,
    requests: std::ops::Range<u64>,
    load: Load,
    agency_pid: Option<u32>,
) -> anyhow::Result<RunReport> {
    let http = http_client(Exchange::new);
    let url: Arc<str> = format!(
        "{base_url}{}",
        pishkhan_agency::Service::CivilRegistryPerson.path()
    )
    .into();
    let one = move |k: u64| {
        let (http, url, population) = (http.clone(), url.clone(), population.clone());
        async move {
            let index = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) % population.size();
            let code = population.record(index).national_code();
            let body = serde_json::json!({ "national_code": code.as_str() }).to_string();
            let resp = http
                .post(&*url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| ("direct_unreachable", e.to_string()))?;
            let status = resp.status().as_u16();
            let answer = resp
                .bytes()
                .await
                .map_err(|e| ("direct_unreachable", e.to_string()))?;
            if status != 200 {
                return Err(("direct_status", format!("status {status}")));
            }
            let parsed: Value =
                serde_json::from_slice(&answer).map_err(|e| ("direct_not_json", e.to_string()))?;
            if parsed.get("found") != Some(&Value::Bool(true)) {
                return Err(("unexpected_answer", parsed.to_string()));
            }
            Ok(())
        }
    };
    apply(requests, load, agency_pid, one).await
}

/// Starts `pishkhan agency serve` without `--member` (unsigned) and waits until it listens.
async fn spawn_unsigned_agency(
    data_dir: &Path,
    port: u16,
) -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe().context("cannot find the pishkhan executable")?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["agency", "serve", "--exit-with-parent", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the unsigned agency process")?;
    let stdout = child.stdout.take().context("agency stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(AGENCY_START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("agency services for") {
                return Ok::<bool, std::io::Error>(true);
            }
        }
        Ok(false)
    })
    .await;
    anyhow::ensure!(
        matches!(ready, Ok(Ok(true))),
        "the unsigned agency process did not start"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(child)
}

/// Checkpoints (= committed batches) of trees larger than `after` entries: `(count, largest
/// batch)`.
async fn batches_after(log: &StoreLog, after: u64) -> anyhow::Result<(u64, u64)> {
    let (mut count, mut largest, mut previous) = (0u64, 0u64, after);
    loop {
        let page = log
            .checkpoints(previous + 1, pishkhan_exchange::log::MAX_READ_ROWS as usize)
            .await
            .map_err(|e| anyhow::anyhow!("reading checkpoints: {e}"))?;
        let Some(last) = page.last() else { break };
        let last_size = last.size;
        for c in &page {
            count += 1;
            largest = largest.max(c.size - previous);
            previous = c.size;
        }
        anyhow::ensure!(last_size == previous, "checkpoints out of order");
    }
    Ok((count, largest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn run(args: &ExchangeBenchArgs, postgres: Option<&PgTarget>) -> anyhow::Result<()> {
    let n = u64::from(args.inquiries);
    let c = args.concurrency;
    let warmup = args.inquiries.min(MAX_WARMUP).max(c.min(args.inquiries));
    println!(
        "machine: {} cores, shared by this process, both agency processes{}; every inquiry is \
         signed, verified and committed to the message log before it counts",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if postgres.is_some() {
            " and PostgreSQL"
        } else {
            ""
        }
    );
    let tmp = tempfile::tempdir()?;

    // The agencies' population, on disk as `pishkhan agency serve` reads it.
    let agency_dir = tmp.path().join("agency");
    std::fs::create_dir_all(&agency_dir)?;
    let population =
        pishkhan_agency::Population::new(pishkhan_agency::DEFAULT_SEED, args.agency_size)?;
    let written = population.write_snapshot(pishkhan_agency::snapshot_path(&agency_dir))?;
    println!(
        "agency population: {} people ({:.0} MB file) written in {:.2} s",
        written.records,
        written.bytes as f64 / 1e6,
        written.seconds
    );

    // The store: offices and the catalogue to check against, and the message log.
    let (url, store_label) = match postgres {
        Some(pg) => (
            DatabaseUrl::parse(&pg.url())?,
            format!("PostgreSQL database {} (created for this run)", pg.name),
        ),
        None => (
            DatabaseUrl::sqlite_in(tmp.path()),
            "SQLite in a temporary directory (WAL, synchronous=FULL)".to_string(),
        ),
    };
    let store = pishkhan_store::open(&url).await?;
    let started = Instant::now();
    let nation = crate::booking::load_nation(store.as_ref()).await?;
    let catalogue = whole_catalogue(store.as_ref()).await?;
    let requires =
        |s: &&pishkhan_domain::model::Service| s.required_inquiries.iter().any(|i| i == INQUIRY);
    let service = catalogue
        .iter()
        .filter(requires)
        .find(|s| s.code.as_str() == PREFERRED_SERVICE)
        .or_else(|| catalogue.iter().find(requires))
        .with_context(|| format!("no catalogue service requires {INQUIRY}"))?
        .code
        .clone();
    let offices: Vec<OfficeCode> = nation
        .offices
        .iter()
        .filter(|o| o.status.may_use_network())
        .take(MAX_OFFICES)
        .map(|o| o.code)
        .collect();
    anyhow::ensure!(!offices.is_empty(), "the demo nation has no active office");
    println!(
        "store: {store_label}; demo registry loaded in {:.2} s; inquiries for catalogue \
         service {} (requires {INQUIRY}) from {} offices",
        started.elapsed().as_secs_f64(),
        service.as_str(),
        offices.len()
    );

    // Keys, the signed directory, and the two agency processes.
    let keys_dir = tmp.path().join("keys");
    let keys = DeploymentKeys::load_or_create(&keys_dir)?;
    let (signed_port, direct_port) = (free_port()?, free_port()?);
    let signed_url = format!("http://127.0.0.1:{signed_port}");
    let direct_url = format!("http://127.0.0.1:{direct_port}");
    let now = pishkhan_sign::unix_now();
    let token = sign_reference_directory(
        &keys,
        &[(ReferenceAgency::CivilRegistry, signed_url.clone())],
        &catalogue,
        pishkhan_exchange::Limits::default(),
        1,
        now,
        DIRECTORY_VALID_S,
    )?;
    let pishkhan_demo::AgencyFiles {
        directory: directory_path,
        regulator_pub,
    } = pishkhan_demo::write_agency_files(&tmp.path().join("exchange"), &token, &keys.regulator)?;
    let started = Instant::now();
    let signed_agency = pishkhan_demo::spawn_agency(
        &agency_dir,
        ReferenceAgency::CivilRegistry,
        signed_port,
        &keys_dir,
        &directory_path,
        &regulator_pub,
    )
    .await?;
    let direct_agency = spawn_unsigned_agency(&agency_dir, direct_port).await?;
    println!(
        "agency processes started in {:.2} s: {} signed at {signed_url}, unsigned at {direct_url}",
        started.elapsed().as_secs_f64(),
        ReferenceAgency::CivilRegistry.member_id()
    );

    let directory = Directory::verify(&token, &keys.regulator_keyring()?, None, now)?;
    let DeploymentKeys {
        exchange: exchange_key,
        log: log_key,
        ..
    } = keys;
    let mut log_keyring = Keyring::new();
    log_keyring.add(log_key.public(), KeyStatus::Active, None)?;
    let exchange = Exchange::new(
        DirectoryHandle::new(directory),
        MemberId::parse(EXCHANGE_MEMBER)?,
        exchange_key,
        http_client(Exchange::new),
    )?;
    let log = Arc::new(StoreLog(store.clone()));
    let appender = LogAppender::start(log.clone(), log_key, LOG_ORIGIN.to_string()).await?;
    let population = Arc::new(population);
    let bench = Arc::new(Bench {
        store: store.clone(),
        exchange,
        appender,
        offices,
        catalogue: service,
        service: ServiceId::parse(INQUIRY)?,
        population: population.clone(),
        trace: (std::env::var("PISHKHAN_BENCH_TRACE").as_deref() == Ok("1"))
            .then(|| std::sync::Mutex::new(Vec::new())),
    });
    let inquire = {
        let bench = bench.clone();
        move |k: u64| {
            let bench = bench.clone();
            async move { bench.inquiry(k).await }
        }
    };
    if c as usize > pishkhan_exchange::client::MAX_IN_FLIGHT_PER_AGENCY {
        println!(
            "note: the exchange keeps at most {} inquiries in flight per agency; the other {} \
             wait for a slot",
            pishkhan_exchange::client::MAX_IN_FLIGHT_PER_AGENCY,
            c as usize - pishkhan_exchange::client::MAX_IN_FLIGHT_PER_AGENCY
        );
    }

    // Warm-up (connections, caches), with other request numbers than the measured runs'; the
    // warm-up inquiries are logged too.
    let w = u64::from(warmup);
    let closed = Load::Closed { concurrency: c };
    let warm = direct_run(
        population.clone(),
        &direct_url,
        n..n + w,
        closed,
        direct_agency.id(),
    )
    .await?;
    anyhow::ensure!(
        warm.failed() == 0,
        "direct warm-up failed: {:?}",
        warm.first_failure
    );
    let warm = drive(n..n + w, c, signed_agency.id(), inquire.clone()).await?;
    anyhow::ensure!(
        warm.failed() == 0,
        "exchange warm-up failed: {:?}",
        warm.first_failure
    );
    println!("warm-up: {warmup} direct calls and {warmup} inquiries (logged) before measuring");

    // Baselines: direct unsigned calls at the same concurrency.
    let direct = direct_run(
        population.clone(),
        &direct_url,
        0..n,
        closed,
        direct_agency.id(),
    )
    .await?;
    direct.print(
        &format!("baseline: direct unsigned HTTP, same client, {c} in flight"),
        "calls",
    );
    let meter = CpuMeter::start(direct_agency.id());
    let lean = pishkhan_agency::bench_direct(
        SocketAddr::from((Ipv4Addr::LOCALHOST, direct_port)),
        n,
        c as usize,
    )
    .await
    .context("the lean direct baseline")?;
    let lean_cpu = meter.stop();
    println!(
        "baseline: direct unsigned HTTP, lean keep-alive client (pishkhan_agency::bench_direct), \
         {c} in flight: {:.0} calls/s in {:.2} s; latency p50 {:.2} ms, p99 {:.2} ms (1 in 16 \
         asks about a valid code of nobody; {} of {} answers were not 200)",
        lean.req_per_s,
        lean.seconds,
        lean.p50_us as f64 / 1000.0,
        lean.p99_us as f64 / 1000.0,
        lean.errors,
        lean.requests
    );
    if let Some((s, a)) = lean_cpu {
        let per = 1e6 / lean.requests.max(1) as f64;
        println!(
            "  CPU per request: {:.0} µs in this process, {:.0} µs in the agency process",
            s * per,
            a * per
        );
    }

    // The exchange.
    let head_before = log
        .load_head()
        .await
        .map_err(|e| anyhow::anyhow!("log head: {e}"))?
        .map_or(0, |h| h.size);
    let measured = drive(0..n, c, signed_agency.id(), inquire.clone()).await?;
    measured.print(
        &format!(
            "exchange: signed inquiries over HTTP to {}, verified, logged durably, {c} in flight",
            ReferenceAgency::CivilRegistry.member_id()
        ),
        "inquiries",
    );
    let head_after = log
        .load_head()
        .await
        .map_err(|e| anyhow::anyhow!("log head: {e}"))?
        .map_or(0, |h| h.size);
    let (batches, largest) = batches_after(&log, head_before).await?;
    let entries = head_after - head_before;
    println!(
        "message log during the run: {entries} entries in {batches} batches (one transaction \
         and one signed checkpoint each): {:.1} entries per batch on average, {largest} at most",
        entries as f64 / batches.max(1) as f64
    );
    println!(
        "exchange vs direct (same client): {:.2}× the throughput, p50 {:+.2} ms",
        measured.per_second() / direct.per_second().max(1e-9),
        measured.percentile_ms(0.5) - direct.percentile_ms(0.5)
    );
    if let (Some((es, ea)), Some((ds, da))) =
        (measured.cpu_per_request_us(), direct.cpu_per_request_us())
    {
        println!(
            "  extra CPU per inquiry over a direct call: {:.0} µs in this process, {:.0} µs in \
             the agency process{}",
            es - ds,
            ea - da,
            if postgres.is_some() {
                " (PostgreSQL's own CPU not counted)"
            } else {
                ""
            }
        );
    }

    // Added latency at half the measured throughput: the same steady rate for direct calls
    // and for inquiries, with other request numbers than the runs above.
    let half = (measured.per_second() / 2.0).max(1.0);
    let paced_n = ((half * PACED_SECONDS) as u64).clamp(1, n);
    let paced = Load::Paced { per_second: half };
    let base = 2 * n + w;
    let direct_half = direct_run(
        population.clone(),
        &direct_url,
        base..base + paced_n,
        paced,
        direct_agency.id(),
    )
    .await?;
    direct_half.print(
        &format!("baseline at half load: direct unsigned HTTP, {half:.0} calls/s steady"),
        "calls",
    );
    if let Some(trace) = &bench.trace {
        trace.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    let exchange_half = apply(
        base + paced_n..base + 2 * paced_n,
        paced,
        signed_agency.id(),
        inquire,
    )
    .await?;
    if let Some(trace) = &bench.trace {
        print_timeline(&trace.lock().unwrap_or_else(|p| p.into_inner()));
    }
    exchange_half.print(
        &format!("exchange at half load: {half:.0} inquiries/s steady"),
        "inquiries",
    );
    println!(
        "added latency at half load ({half:.0}/s): p50 {:+.2} ms, p99 {:+.2} ms",
        exchange_half.percentile_ms(0.5) - direct_half.percentile_ms(0.5),
        exchange_half.percentile_ms(0.99) - direct_half.percentile_ms(0.99)
    );

    // Stop the agencies, then audit the whole log.
    let head_after = log
        .load_head()
        .await
        .map_err(|e| anyhow::anyhow!("log head: {e}"))?
        .map_or(0, |h| h.size);
    drop(signed_agency);
    drop(direct_agency);
    let started = Instant::now();
    let report = verify_log(log.as_ref(), &log_keyring)
        .await
        .map_err(|e| anyhow::anyhow!("the message log does not verify: {e}"))?;
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.entries == head_after,
        "verified {} entries, but the log holds {head_after}",
        report.entries
    );
    println!(
        "log verified: {} entries (warm-up included), {} signed checkpoints, root {}… in \
         {took:.2} s ({:.0} entries/s)",
        report.entries,
        report.checkpoints,
        &hex(&report.root)[..16],
        report.entries as f64 / took.max(1e-9)
    );
    drop(bench);
    drop(store);
    let failed =
        measured.failed() + direct.failed() + direct_half.failed() + exchange_half.failed();
    anyhow::ensure!(
        failed == 0,
        "{failed} requests failed (exchange {:?}, direct {:?})",
        measured.failures,
        direct.failures
    );
    Ok(())
}
