//! `pishkhan bench booking`: durable bookings per second through the store, on the embedded
//! engine and on PostgreSQL, beside a conventional baseline measured in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use pishkhan_domain::access::{Action, Principal, StaffActor, authorize};
use pishkhan_domain::model::{Office, Role, ServiceCode, Username};
use pishkhan_domain::schedule::{BookingRules, SlotPolicy, slots_for_day};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{
    AuditContext, Booked, DatabaseUrl, NationLoad, NewBooking, Store, StoreError,
};
use sqlx::{Connection, Executor, Row};

#[derive(Args)]
pub struct BookingBenchArgs {
    /// Booking requests per measured run.
    #[arg(long, default_value_t = 200_000)]
    pub requests: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: u32,
    /// Requests in flight in the surge run: a nation booking at once has thousands of requests
    /// waiting, and group commit takes them together. 0 skips the run.
    #[arg(long, default_value_t = 4096)]
    pub surge_concurrency: u32,
    /// PostgreSQL server for the PostgreSQL runs (a database is created and dropped);
    /// `none` skips them.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub postgres: String,
    /// Requests in the PostgreSQL runs (they are slower).
    #[arg(long, default_value_t = 20_000)]
    pub postgres_requests: u32,
    /// Instead of the speed runs: book one seat in every slot of every office for the next 14
    /// days on the embedded store, and report the resident memory that holds them.
    #[arg(long)]
    pub memory: bool,
    /// Concurrent clients of the SELECT … FOR UPDATE baseline.
    #[arg(long, default_value_t = 16)]
    pub baseline_clients: u32,
}

/// A small deterministic generator, so every run books the same slots.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `n` booking requests for random slots among all offices' next 14 days, each by a
/// different citizen.
fn requests(offices: &[Office], service: &ServiceCode, n: u32, seed: u64) -> Vec<NewBooking> {
    let today = jalali_today(time::OffsetDateTime::now_utc());
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(n as usize);
    // Each run's citizens are distinct from every other run's.
    let mut person = (seed as u32) * 20_000_000;
    while out.len() < n as usize {
        let office = &offices[(rng.next() % offices.len() as u64) as usize];
        let day = today.add_days(1 + (rng.next() % 14) as i64);
        let policy = SlotPolicy::default_for(office);
        let slots = slots_for_day(office, &policy, day);
        if slots.is_empty() || !office.status.may_use_network() {
            continue;
        }
        let slot = slots[(rng.next() % slots.len() as u64) as usize];
        person += 1;
        let Ok(national_code) = NationalCode::from_body(100_000_000 + person) else {
            continue;
        };
        out.push(NewBooking {
            office: office.code,
            service: service.clone(),
            slot_start_ms: slot.start_ms(),
            slot_end_ms: pishkhan_domain::schedule::unix_ms(slot.end),
            national_code,
            mobile: Mobile::from_parts(912, person % 10_000_000)
                .unwrap_or_else(|_| Mobile::parse("09120000000").expect("a valid mobile")),
            rules: BookingRules::default(),
            idempotency_key: None,
        });
    }
    out
}

struct RunReport {
    booked: u64,
    full: u64,
    seconds: f64,
}

impl RunReport {
    fn per_second(&self) -> f64 {
        (self.booked + self.full) as f64 / self.seconds
    }
}

async fn run(
    store: Arc<dyn Store>,
    reqs: Vec<NewBooking>,
    concurrency: u32,
) -> anyhow::Result<RunReport> {
    let regulator = regulator()?;
    let queue = Arc::new(std::sync::Mutex::new(reqs));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let store = store.clone();
        let queue = queue.clone();
        let regulator = regulator.clone();
        tasks.spawn(async move {
            let (mut booked, mut full) = (0u64, 0u64);
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                let Some(req) = next else { break };
                let permit = authorize(&regulator, Action::BookOnBehalf { office: req.office })?;
                let ctx = AuditContext {
                    now_ms: crate::now_ms(),
                    ip: None,
                    request_id: None,
                };
                match store.create_booking(&permit, &req, &ctx).await {
                    Ok(Booked::New(_)) | Ok(Booked::Replayed(_)) => booked += 1,
                    Err(StoreError::SlotFull) => full += 1,
                    Err(e) => return Err(anyhow::Error::new(e)),
                }
            }
            anyhow::Ok((booked, full))
        });
    }
    let (mut booked, mut full) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (b, f) = r??;
        booked += b;
        full += f;
    }
    Ok(RunReport {
        booked,
        full,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The national call centre, which may book at any office: the benchmarks' caller.
fn regulator() -> anyhow::Result<Principal> {
    Ok(Principal::Staff(StaffActor {
        id: 0,
        username: Username::parse("bench")?,
        role: Role::Regulator,
        office: None,
        office_status: None,
    }))
}

/// Latency of lone requests, one after another: p50 and p99 in milliseconds.
async fn lone_latency(store: Arc<dyn Store>, reqs: Vec<NewBooking>) -> anyhow::Result<(f64, f64)> {
    let mut times = Vec::new();
    for r in reqs {
        let started = Instant::now();
        let one = run(store.clone(), vec![r], 1).await?;
        anyhow::ensure!(one.booked + one.full == 1, "lone request lost");
        times.push(started.elapsed());
    }
    times.sort();
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1000.0;
    Ok((pick(0.5), pick(0.99)))
}

/// The demo nation's registry (offices, staff and the service catalogue) into the store,
/// without passwords.
pub(crate) async fn load_nation(store: &dyn Store) -> anyhow::Result<pishkhan_nation::Nation> {
    let nation = pishkhan_nation::generate(pishkhan_nation::DEFAULT_SEED);
    load_slice(store, &nation, &nation.offices, &nation.staff).await?;
    Ok(nation)
}

/// Loads `offices` and `staff` of `nation` with its whole catalogue, without passwords.
pub(crate) async fn load_slice(
    store: &dyn Store,
    nation: &pishkhan_nation::Nation,
    offices: &[pishkhan_domain::model::Office],
    staff: &[pishkhan_domain::model::Staff],
) -> anyhow::Result<()> {
    let permit = authorize(&Principal::System { reason: "bench" }, Action::LoadDemo)?;
    store
        .load_nation(
            &permit,
            NationLoad {
                seed: pishkhan_nation::DEFAULT_SEED,
                provinces: &nation.provinces,
                agencies: &nation.agencies,
                services: &nation.services,
                offices,
                staff,
                passwords: &[],
            },
            &crate::system_ctx(),
        )
        .await?;
    Ok(())
}

fn print_run(label: &str, r: &RunReport) {
    println!(
        "{label}: {:.0} requests/s ({} booked, {} refused as full) in {:.2} s",
        r.per_second(),
        r.booked,
        r.full,
        r.seconds
    );
}

pub async fn booking(args: &BookingBenchArgs) -> anyhow::Result<()> {
    println!(
        "machine: {} cores; every acknowledged booking is durable",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if args.memory {
        return memory(args).await;
    }
    // Embedded store.
    let dir = tempfile::tempdir()?;
    let url = DatabaseUrl::sqlite_in(dir.path());
    let store = pishkhan_store::open(&url).await?;
    let nation = load_nation(store.as_ref()).await?;
    let service = nation.services[0].code.clone();
    let minutes = nation.services[0].avg_handling_minutes;
    println!(
        "embedded store: SQLite WAL, synchronous=FULL, group commit; {} offices × 14 days of slots",
        nation.offices.len()
    );
    let lone = requests(&nation.offices, &service, 200, 1);
    let (p50, p99) = lone_latency(store.clone(), lone).await?;
    println!("embedded lone request latency: p50 {p50:.2} ms, p99 {p99:.2} ms");
    let reqs = requests(&nation.offices, &service, args.requests, 2);
    let r = run(store.clone(), reqs, args.concurrency).await?;
    print_run(
        &format!("embedded engine, {} in flight", args.concurrency),
        &r,
    );
    if args.surge_concurrency > 0 {
        let reqs = requests(&nation.offices, &service, args.requests, 6);
        let r = run(store.clone(), reqs, args.surge_concurrency).await?;
        print_run(
            &format!(
                "embedded engine, surge: {} in flight",
                args.surge_concurrency
            ),
            &r,
        );
    }
    // Slots are computed, not stored; memory holds the loaded nation and the booked seats,
    // so the peak after these runs is what the engine costs at this many bookings.
    if let Some(peak) = peak_rss_mib() {
        println!("peak resident memory of this process after the embedded runs: {peak} MiB");
    }
    drop(store);

    if args.postgres != "none" {
        postgres_runs(args, &nation, &service, minutes).await?;
    }
    Ok(())
}

async fn postgres_runs(
    args: &BookingBenchArgs,
    nation: &pishkhan_nation::Nation,
    service: &ServiceCode,
    minutes: u16,
) -> anyhow::Result<()> {
    let base = args.postgres.trim_end_matches('/').to_string();
    let name = format!("pishkhan_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .context("connect to PostgreSQL for the benchmark")?;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let url = format!("{base}/{name}");
    let outcome = async {
        let store = pishkhan_store::open(&DatabaseUrl::parse(&url)?).await?;
        load_nation(store.as_ref()).await?;
        let lone = requests(&nation.offices, service, 200, 3);
        let (p50, p99) = lone_latency(store.clone(), lone).await?;
        println!("postgres lone request latency: p50 {p50:.2} ms, p99 {p99:.2} ms");
        let reqs = requests(&nation.offices, service, args.postgres_requests, 4);
        let r = run(store.clone(), reqs, args.concurrency).await?;
        print_run(
            &format!(
                "postgres store, group commit, {} in flight",
                args.concurrency
            ),
            &r,
        );
        if args.surge_concurrency > 0 {
            let reqs = requests(&nation.offices, service, args.postgres_requests, 7);
            let s = run(store.clone(), reqs, args.surge_concurrency).await?;
            print_run(
                &format!(
                    "postgres store, group commit, surge: {} in flight",
                    args.surge_concurrency
                ),
                &s,
            );
        }
        drop(store);
        let reqs = requests(&nation.offices, service, args.postgres_requests, 5);
        // The store computes capacity from the offices' (default) policies; the baseline's
        // slot rows get the same numbers.
        let capacity: std::collections::HashMap<u32, u32> = nation
            .offices
            .iter()
            .map(|o| (o.code.get(), SlotPolicy::default_for(o).capacity(minutes)))
            .collect();
        let b = baseline(&url, reqs, &capacity, args.baseline_clients).await?;
        print_run(
            &format!(
                "baseline: postgres, one transaction per booking with SELECT … FOR UPDATE, {} clients",
                args.baseline_clients
            ),
            &b,
        );
        println!(
            "postgres store vs baseline: {:.2}×",
            r.per_second() / b.per_second()
        );
        anyhow::Ok(())
    }
    .await;
    let _ = admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await;
    outcome
}

/// The conventional design: lock the slot row, check, update, insert, commit — per booking.
async fn baseline(
    url: &str,
    reqs: Vec<NewBooking>,
    capacity: &std::collections::HashMap<u32, u32>,
    clients: u32,
) -> anyhow::Result<RunReport> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(clients)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    pool.execute(
        "CREATE TABLE bench_slots (office BIGINT, slot BIGINT, capacity INT, booked INT, PRIMARY KEY (office, slot));
         CREATE TABLE bench_bookings (id BIGSERIAL PRIMARY KEY, office BIGINT, slot BIGINT, national_code TEXT)",
    )
    .await?;
    for chunk in reqs.chunks(1000) {
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO bench_slots (office, slot, capacity, booked) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(i64::from(r.office.get()))
                .push_bind(r.slot_start_ms)
                .push_bind(capacity.get(&r.office.get()).copied().unwrap_or(0) as i32)
                .push_bind(0i32);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&pool).await?;
    }
    let queue = Arc::new(std::sync::Mutex::new(reqs));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let pool = pool.clone();
        let queue = queue.clone();
        tasks.spawn(async move {
            let (mut booked, mut full) = (0u64, 0u64);
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                let Some(r) = next else { break };
                let mut tx = pool.begin().await?;
                let row = sqlx::query("SELECT capacity, booked FROM bench_slots WHERE office = $1 AND slot = $2 FOR UPDATE")
                    .bind(i64::from(r.office.get()))
                    .bind(r.slot_start_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                let (cap, taken): (i32, i32) = (row.try_get("capacity")?, row.try_get("booked")?);
                if taken < cap {
                    sqlx::query("UPDATE bench_slots SET booked = booked + 1 WHERE office = $1 AND slot = $2")
                        .bind(i64::from(r.office.get()))
                        .bind(r.slot_start_ms)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("INSERT INTO bench_bookings (office, slot, national_code) VALUES ($1, $2, $3)")
                        .bind(i64::from(r.office.get()))
                        .bind(r.slot_start_ms)
                        .bind(r.national_code.as_str())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    booked += 1;
                } else {
                    tx.rollback().await?;
                    full += 1;
                }
            }
            anyhow::Ok((booked, full))
        });
    }
    let (mut booked, mut full) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (b, f) = r??;
        booked += b;
        full += f;
    }
    Ok(RunReport {
        booked,
        full,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The process's peak resident set (VmHWM) in MiB, where /proc is available.
fn peak_rss_mib() -> Option<u64> {
    status_mib("VmHWM:")
}

fn status_mib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// One booking request per slot of every open office for the next 14 days, made as they are
/// taken, so the requests themselves never sit in memory.
struct EverySlot {
    offices: Vec<Office>,
    service: ServiceCode,
    today: pishkhan_domain::JalaliDate,
    office: usize,
    day: i64,
    pending: Vec<pishkhan_domain::schedule::Slot>,
    person: u32,
}

impl EverySlot {
    fn next(&mut self) -> Option<NewBooking> {
        loop {
            if let Some(slot) = self.pending.pop() {
                let office = &self.offices[self.office];
                self.person += 1;
                let national_code = NationalCode::from_body(500_000_000 + self.person).ok()?;
                return Some(NewBooking {
                    office: office.code,
                    service: self.service.clone(),
                    slot_start_ms: slot.start_ms(),
                    slot_end_ms: pishkhan_domain::schedule::unix_ms(slot.end),
                    national_code,
                    mobile: Mobile::from_parts(912, self.person % 10_000_000).ok()?,
                    rules: BookingRules::default(),
                    // Every request carries a key, as a careful client's would: memory must
                    // not keep one per booking.
                    idempotency_key: Some(format!("memory-{}", self.person)),
                });
            }
            self.day += 1;
            if self.day > 14 {
                self.day = 1;
                self.office += 1;
            }
            let office = self.offices.get(self.office)?;
            if office.status.may_use_network() {
                let policy = SlotPolicy::default_for(office);
                self.pending = slots_for_day(office, &policy, self.today.add_days(self.day));
            }
        }
    }
}

/// Fills every slot of the next 14 days once and reports what memory holds them.
async fn memory(args: &BookingBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = pishkhan_store::open(&DatabaseUrl::sqlite_in(dir.path())).await?;
    let nation = load_nation(store.as_ref()).await?;
    let before = status_mib("VmRSS:").unwrap_or(0);
    let source = Arc::new(std::sync::Mutex::new(EverySlot {
        offices: nation.offices.clone(),
        service: nation.services[0].code.clone(),
        today: jalali_today(time::OffsetDateTime::now_utc()),
        office: 0,
        day: 0,
        pending: Vec::new(),
        person: 0,
    }));
    let regulator = regulator()?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.surge_concurrency.max(1) {
        let (store, source, regulator) = (store.clone(), source.clone(), regulator.clone());
        tasks.spawn(async move {
            let mut booked = 0u64;
            loop {
                let next = source
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .next();
                let Some(req) = next else { break };
                let permit = authorize(&regulator, Action::BookOnBehalf { office: req.office })?;
                let ctx = AuditContext {
                    now_ms: crate::now_ms(),
                    ip: None,
                    request_id: None,
                };
                store.create_booking(&permit, &req, &ctx).await?;
                booked += 1;
            }
            anyhow::Ok(booked)
        });
    }
    let mut booked = 0;
    while let Some(r) = tasks.join_next().await {
        booked += r??;
    }
    let after = status_mib("VmRSS:").unwrap_or(0);
    println!(
        "every slot of {} offices for 14 days booked once: {booked} bookings in {:.1} s",
        nation.offices.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "resident memory: {before} MiB with the nation loaded, {after} MiB holding those slots' \
         loads and bookings (peak {} MiB)",
        peak_rss_mib().unwrap_or(0)
    );
    Ok(())
}
