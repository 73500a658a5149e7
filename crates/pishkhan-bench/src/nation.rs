//! `pishkhan bench nation`: one national day on one machine. The demo nation (17,000 offices,
//! 550 services) is loaded into a fresh store, the reference agencies run as their own
//! processes, and `--visits` citizens visit the offices through the application layer's real
//! use cases (`pishkhan_app`, what the API and the pages call):
//!
//! 1. **Booking**, the evening before: most visitors book a slot as themselves
//!    (`appointments::book`), at offices chosen by size (counters) and at times with a morning
//!    peak; a full slot sends them to the next ones, and after [`MAX_SLOT_TRIES`] they come as
//!    walk-ins instead.
//! 2. **The day**, in half-hour ticks of a simulated clock: the booked arrive and check in
//!    (some never come, and the queue marks them no-shows itself), walk-ins take tickets, each
//!    counter calls the next person as long as its half hour lasts, checks identity and runs
//!    the inquiries that the visit's catalogue service requires, and completes the visit (or
//!    records a no-show when the person called does not come up). One surge release is
//!    created at 09:00, takes requests until 10:00, and is closed (lottery and bookings).
//! 3. **Baseline**, in the same run: booking through `Store::create_booking` alone (what
//!    `pishkhan bench booking` measures), to show what the application layer adds.
//!
//! Every operation's latency is kept (microseconds, a sorted vector), with refusals that are
//! business outcomes (a full slot, a booking limit) counted apart from errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use pishkhan_app::appointments::{BookingRequest, book};
use pishkhan_app::exchange::{
    EXCHANGE_MEMBER, ExchangeRuntime, ExchangeSetup, InquiryRequest, run_inquiry, whole_catalogue,
};
use pishkhan_app::identity::{ClaimInput, VerifyCommand, VerifyPurpose, decision_code, verify};
use pishkhan_app::queue::{CheckInBy, call_next, check_in, complete, no_show, walk_in};
use pishkhan_app::releases::{Entry, NewRelease, ReleaseOffices};
use pishkhan_app::{App, AppConfig, AppError, Caller, Citizen, Clock, StaffSession};
use pishkhan_demo::ReferenceAgency;
use pishkhan_domain::access::{Action, Principal, StaffActor, authorize};
use pishkhan_domain::model::{Channel, Office, OfficeCode, Role, Service, Weekday};
use pishkhan_domain::schedule::{
    BookingRules, Slot, SlotPolicy, TrackingCode, slots_for_day, solar_holiday, tehran_instant,
    unix_ms,
};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_domain::{JalaliDate, Mobile};
use pishkhan_exchange::{DirectoryHandle, MemberId};
use pishkhan_nation::rng::Rng;
use pishkhan_store::{AuditContext, Booked, DatabaseUrl, Store};
use serde_json::json;

use crate::progress::{Progress, Unit};

#[derive(Args)]
pub struct NationBenchArgs {
    /// Visits in the day, booked and walk-in.
    #[arg(long, default_value_t = 2_000_000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_VISITS))]
    pub visits: u64,
    /// Offices of the demo nation to load (the first ones); all 17,000 by default. A smaller
    /// nation makes a quick check.
    #[arg(long, default_value_t = pishkhan_nation::OFFICE_COUNT as u64,
          value_parser = clap::value_parser!(u64).range(1..=pishkhan_nation::OFFICE_COUNT as u64))]
    pub offices: u64,
    /// Worker tasks, each running one office's work of a tick (or one booking) at a time.
    #[arg(long, default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
    /// People in the agencies' population; 0: one per visitor and release request, at least
    /// 1,000,000.
    #[arg(long, default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=pishkhan_agency::NATIONAL_SIZE))]
    pub agency_size: u64,
    /// Requests to the surge release, as a share of the visits in thousandths.
    #[arg(long, default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub release_per_mille: u64,
    /// Give up after this many seconds in all (setup included).
    #[arg(long, default_value_t = 14_400,
          value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub timeout_secs: u64,
}

/// Most visits one run may simulate: 2.5 times a heavy national day.
const MAX_VISITS: u64 = 5_000_000;
/// Share of visits that book ahead, in percent; the rest walk in.
const BOOKED_PERCENT: u64 = 70;
/// Booked visitors who never come, in percent (the queue marks them no-shows itself).
const ABSENT_PERCENT: u64 = 6;
/// Of those called to a counter, who do not come up, in per mille.
const NOT_UP_PER_MILLE: u64 = 15;
/// Slots a citizen tries, the one wanted and the next ones, before coming as a walk-in.
const MAX_SLOT_TRIES: usize = 4;
/// The morning peak: slots starting from 08:00 until 11:00 Tehran time weigh this many times
/// an ordinary slot. With the usual 07:30-15:30 day that puts about three quarters of the
/// visits in those three hours, as offices report.
const PEAK_WEIGHT: u64 = 6;
const PEAK_FROM_MIN: u16 = 8 * 60;
const PEAK_TO_MIN: u16 = 11 * 60;
/// The simulated day: half-hour ticks from 06:00 until 21:00, then a last pass that serves
/// whoever is still waiting.
const DAY_START_MIN: u16 = 6 * 60;
const TICK_MIN: u16 = 30;
const TICKS: u16 = 30;
/// The surge release: opened at 09:00, closed at 10:00, with this many seats per office of
/// its province.
const RELEASE_OPEN_MIN: u16 = 9 * 60;
const RELEASE_CLOSE_MIN: u16 = 10 * 60;
const RELEASE_SEATS_PER_OFFICE: u32 = 4;
/// Requests in the store-only baseline, at most.
const BASELINE_REQUESTS: u64 = 100_000;
const LEGAL_BASIS: &str = "آیین‌نامه خدمات پیشخوان دولت، ماده ۵";
/// Refusals that are the business answering, not the system failing.
const EXPECTED_REFUSALS: [&str; 5] = [
    "slot_full",
    "booking_limit_reached",
    "identity_locked",
    "too_many_submissions",
    "office_closed",
];

/// The App's clock in the simulation: set by the driver, the same for every worker.
struct SimClock(AtomicI64);

impl SimClock {
    fn set(&self, t: time::OffsetDateTime) {
        self.0.store(unix_ms(t), Ordering::SeqCst);
    }
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// An index drawn by `weights` (their sum is `total`), from the nation's PRNG.
fn weighted(rng: &mut Rng, weights: &[u64], total: u64) -> usize {
    let mut x = rng.below(total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

impl Clock for SimClock {
    fn now(&self) -> time::OffsetDateTime {
        pishkhan_domain::schedule::from_unix_ms(self.now_ms())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

// ---- measurements -----------------------------------------------------------------------

/// One operation's figures.
#[derive(Default)]
struct OpFigures {
    latencies_us: Vec<u32>,
    refused: BTreeMap<&'static str, u64>,
    errors: BTreeMap<&'static str, u64>,
    first_error: Option<String>,
}

/// What a worker saw, merged into the run's figures.
#[derive(Default)]
struct Recorder {
    ops: BTreeMap<&'static str, OpFigures>,
    decisions: BTreeMap<&'static str, u64>,
}

impl Recorder {
    /// Records one call, started at `started`; an error comes back as its code.
    fn record<T>(
        &mut self,
        op: &'static str,
        started: Instant,
        result: Result<T, AppError>,
    ) -> Result<T, &'static str> {
        let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        let f = self.ops.entry(op).or_default();
        f.latencies_us.push(us);
        result.map_err(|e| {
            let code = e.code();
            if EXPECTED_REFUSALS.contains(&code) {
                *f.refused.entry(code).or_default() += 1;
            } else {
                *f.errors.entry(code).or_default() += 1;
                f.first_error.get_or_insert_with(|| format!("{code}: {e}"));
            }
            code
        })
    }

    /// A failure of the benchmark's own bookkeeping (a ticket it cannot place).
    fn bench_error(&mut self, op: &'static str, detail: String) {
        let f = self.ops.entry(op).or_default();
        *f.errors.entry("bench_mismatch").or_default() += 1;
        f.first_error.get_or_insert(detail);
    }

    fn merge(&mut self, other: Recorder) {
        for (op, o) in other.ops {
            let f = self.ops.entry(op).or_default();
            f.latencies_us.extend(o.latencies_us);
            for (c, n) in o.refused {
                *f.refused.entry(c).or_default() += n;
            }
            for (c, n) in o.errors {
                *f.errors.entry(c).or_default() += n;
            }
            if f.first_error.is_none() {
                f.first_error = o.first_error;
            }
        }
        for (d, n) in other.decisions {
            *self.decisions.entry(d).or_default() += n;
        }
    }

    fn operations(&self) -> u64 {
        self.ops.values().map(|f| f.latencies_us.len() as u64).sum()
    }

    fn errors(&self) -> u64 {
        self.ops
            .values()
            .flat_map(|f| f.errors.values())
            .sum::<u64>()
    }
}

/// The `q` quantile of sorted microseconds, in milliseconds.
fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

// ---- the plan -----------------------------------------------------------------------------

/// One visitor of the day.
#[derive(Clone)]
struct Visit {
    /// Index in the agencies' population.
    person: u64,
    /// Index in the counter services.
    service: usize,
    /// The slot wanted (index in the office's slots of the day).
    slot: usize,
    /// Books ahead; `booked` is the booking once made (else they come as a walk-in).
    wants_booking: bool,
    booked: Option<TrackingCode>,
    /// A booked visitor who never comes.
    absent: bool,
    /// Called to a counter, does not come up.
    not_up: bool,
    /// The tick they arrive in.
    tick: u16,
}

/// One office's day.
struct OfficeDay {
    office: Office,
    operator: StaffSession,
    slots: Vec<Slot>,
    visits: Vec<Visit>,
}

/// What a counter needs of a service at the desk.
struct DeskService {
    service: Service,
    /// The person is identified against the civil registry (and Shahkar, if `mobile`).
    identity: bool,
    mobile: bool,
    /// Further inquiries a reference agency answers.
    inquiries: Vec<String>,
}

/// The tick a moment of the day falls in.
fn tick_of(day: JalaliDate, t: time::OffsetDateTime) -> u16 {
    let minutes = (t - tehran_instant(day, 0)).whole_minutes().max(0) as u16;
    (minutes.saturating_sub(DAY_START_MIN) / TICK_MIN).min(TICKS - 1)
}

fn tick_time(day: JalaliDate, tick: u16) -> time::OffsetDateTime {
    tehran_instant(day, DAY_START_MIN + tick * TICK_MIN)
}

/// The day simulated: the first Saturday from tomorrow on that is no public holiday.
fn sim_day(today: JalaliDate) -> JalaliDate {
    let mut d = today.add_days(1);
    while d.weekday() != Weekday::Saturday || solar_holiday(d).is_some() {
        d = d.add_days(1);
    }
    d
}

fn slot_weights(slots: &[Slot], day: JalaliDate) -> Vec<u64> {
    let midnight = tehran_instant(day, 0);
    slots
        .iter()
        .map(|s| {
            let m = (s.start - midnight).whole_minutes();
            if (i64::from(PEAK_FROM_MIN)..i64::from(PEAK_TO_MIN)).contains(&m) {
                PEAK_WEIGHT
            } else {
                1
            }
        })
        .collect()
}

// ---- the run -------------------------------------------------------------------------------

pub async fn nation(args: &NationBenchArgs, database_url: Option<&str>) -> anyhow::Result<()> {
    let postgres = match database_url {
        None => None,
        Some(u) if u.starts_with("sqlite:") => anyhow::bail!(
            "the nation benchmark makes its own SQLite store in a temporary directory; give \
             --database-url only for PostgreSQL (postgres://USER@HOST:PORT/NEW_DATABASE)"
        ),
        Some(u) => Some(crate::exchange::PgTarget::parse(u)?),
    };
    if let Some(pg) = &postgres {
        pg.create().await?;
    }
    let limit = Duration::from_secs(args.timeout_secs);
    let outcome = tokio::time::timeout(limit, run(args, postgres.as_ref())).await;
    if let Some(pg) = &postgres {
        pg.drop_database().await;
    }
    outcome.map_err(|_| {
        anyhow::anyhow!(
            "the benchmark did not finish within {} s (--timeout-secs)",
            args.timeout_secs
        )
    })?
}

/// Everything a worker needs, shared.
struct Ctx {
    app: App,
    clock: Arc<SimClock>,
    day: JalaliDate,
    services: Vec<DeskService>,
    pop: pishkhan_agency::Population,
    offices: Vec<OfficeDay>,
}

async fn run(
    args: &NationBenchArgs,
    postgres: Option<&crate::exchange::PgTarget>,
) -> anyhow::Result<()> {
    let setup_started = Instant::now();
    let work = tempfile::tempdir()?;
    let dir = work.path();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (url, store_name) = match postgres {
        Some(pg) => (
            DatabaseUrl::parse(&pg.url())?,
            format!("PostgreSQL database {} (created for this run)", pg.name),
        ),
        None => (
            DatabaseUrl::sqlite_in(dir),
            "embedded store (SQLite, WAL, synchronous=FULL)".to_string(),
        ),
    };
    println!("machine: {cores} cores; {store_name}");
    let store = pishkhan_store::open(&url).await?;

    // The nation, drawn as it is generated.
    let progress = Progress::start("nation", Unit::Count("steps"));
    let nation = pishkhan_nation::generate_with_progress(
        pishkhan_nation::DEFAULT_SEED,
        &mut |done, total| progress.set(done, total),
    );
    progress.finish(2 * pishkhan_nation::OFFICE_COUNT as u64);
    let kept = args.offices as usize;
    load(store.as_ref(), &nation, kept).await?;
    let offices = &nation.offices[..kept];

    // The population the agencies serve, which the visitors are.
    let release_requests = args.visits * args.release_per_mille / 1000;
    let size = if args.agency_size == 0 {
        (args.visits + release_requests)
            .clamp(pishkhan_agency::DEMO_SIZE, pishkhan_agency::NATIONAL_SIZE)
    } else {
        args.agency_size
    };
    let agency_dir = dir.join("agency");
    std::fs::create_dir_all(&agency_dir)?;
    let pop = pishkhan_agency::Population::new(pishkhan_agency::DEFAULT_SEED, size)?;
    let progress = Progress::start("population", Unit::Count("people"));
    pop.write_snapshot_with_progress(pishkhan_agency::snapshot_path(&agency_dir), &mut |d, t| {
        progress.set(d, t)
    })?;
    progress.finish(size);

    // The reference agencies as processes, and the exchange.
    let catalogue = whole_catalogue(store.as_ref()).await?;
    let network = pishkhan_demo::start_network(dir, &catalogue).await?;
    let runtime = ExchangeRuntime::start(
        store.clone(),
        ExchangeSetup {
            directory: DirectoryHandle::new(network.directory),
            member: MemberId::parse(EXCHANGE_MEMBER)?,
            key: network.keys.exchange,
            log_key: network.keys.log,
            receipt_key: network.keys.receipt,
            origin: "bench.pishkhan/inquiry-log".into(),
        },
    )
    .await?;
    let _agencies = network.agencies;

    let today = jalali_today(time::OffsetDateTime::now_utc());
    let day = sim_day(today);
    let clock = Arc::new(SimClock(AtomicI64::new(0)));
    clock.set(tehran_instant(day.add_days(-1), 20 * 60));
    let mut config = AppConfig::default();
    // One operator per office does the work of all its counters here, so the per-operator
    // abuse limits (rightly tight for one person) would refuse a whole office's day.
    config.inquiry_limits.per_operator_per_min = u32::MAX / 2;
    config.inquiry_limits.per_office_per_min = u32::MAX / 2;
    config.inquiry_limits.distinct_subjects_per_hour = u32::MAX / 2;
    let app = App::new(store.clone(), config, clock.clone());
    app.set_exchange(runtime);

    let services = desk_services(&nation.services);
    let identity_share = services.iter().filter(|s| s.identity).count();
    let inquiry_share: usize = services.iter().map(|s| s.inquiries.len()).sum();
    println!(
        "catalogue: {} counter services; {} of them identify the person (civil registry), \
         {} further reference inquiries in all; visits draw services uniformly, so identity \
         checks and inquiries come in those proportions",
        services.len(),
        identity_share,
        inquiry_share
    );
    let plan = plan_day(store.as_ref(), offices, &services, day, args.visits, size).await?;
    let ctx = Arc::new(Ctx {
        app,
        clock,
        day,
        services,
        pop,
        offices: plan,
    });
    let setup_s = setup_started.elapsed().as_secs_f64();
    println!(
        "day: {day} ({:?}); {} visits over {} offices ({BOOKED_PERCENT} % booked ahead, \
         {ABSENT_PERCENT} % of those never come); {} workers; setup {setup_s:.1} s",
        day.weekday(),
        args.visits,
        ctx.offices.len(),
        args.concurrency
    );

    // 1. Booking, the evening before.
    let mut all = Recorder::default();
    let started = Instant::now();
    let (booked, rec) = booking_phase(ctx.clone(), args.concurrency as usize).await?;
    let booking_s = started.elapsed().as_secs_f64();
    all.merge(rec);
    let ctx = Arc::new(apply_bookings(
        Arc::try_unwrap(ctx).map_err(|_| anyhow::anyhow!("workers still hold the plan"))?,
        booked,
    ));
    let peak = ctx
        .offices
        .iter()
        .flat_map(|o| o.visits.iter())
        .filter(|v| {
            let m = DAY_START_MIN + v.tick * TICK_MIN;
            (PEAK_FROM_MIN..PEAK_TO_MIN).contains(&m)
        })
        .count();
    println!(
        "booking phase: {:.1} s; arrivals between 08:00 and 11:00: {:.0} %",
        booking_s,
        100.0 * peak as f64 / args.visits.max(1) as f64
    );

    // 2. The day.
    let started = Instant::now();
    let (rec, ticks) = day_phase(ctx.clone(), args.concurrency as usize, release_requests).await?;
    let day_s = started.elapsed().as_secs_f64();
    all.merge(rec);
    println!("day phase: {day_s:.1} s");
    if let Some((tick, ops, secs)) = ticks
        .iter()
        .copied()
        .max_by(|a, b| (a.1 as f64 / a.2.max(1e-9)).total_cmp(&(b.1 as f64 / b.2.max(1e-9))))
    {
        let at = DAY_START_MIN + tick * TICK_MIN;
        println!(
            "  busiest half hour: {:02}:{:02}, {ops} operations in {secs:.1} s ({:.0}/s)",
            at / 60,
            at % 60,
            ops as f64 / secs.max(1e-9)
        );
    }
    let slowest = ticks
        .iter()
        .copied()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap_or((0, 0, 0.0));
    let at = DAY_START_MIN + slowest.0 * TICK_MIN;
    println!(
        "  longest half hour: {:02}:{:02}, {} operations in {:.1} s",
        at / 60,
        at % 60,
        slowest.1,
        slowest.2
    );

    let total_s = booking_s + day_s;
    report(&mut all, args.visits, total_s);

    // 3. Baseline: the store alone, on the same store and at the same concurrency.
    let n = BASELINE_REQUESTS.min(args.visits);
    let b = baseline(store.clone(), &ctx, n, args.concurrency as usize).await?;
    let app_book = all
        .ops
        .get("book")
        .map_or(0.0, |f| f.latencies_us.len() as f64)
        / booking_s.max(1e-9);
    println!(
        "baseline: Store::create_booking alone (no application layer), {n} requests at {} in \
         flight: {:.0}/s; p50 {:.2} ms, p99 {:.2} ms; the day's booking phase ran {:.0} \
         bookings/s through pishkhan_app",
        args.concurrency, b.0, b.1, b.2, app_book
    );
    let errors = all.errors();
    anyhow::ensure!(errors == 0, "{errors} operations failed (see errors above)");
    Ok(())
}

/// The first `kept` offices of the nation, their staff and the whole catalogue.
async fn load(
    store: &dyn Store,
    nation: &pishkhan_nation::Nation,
    kept: usize,
) -> anyhow::Result<()> {
    let offices = &nation.offices[..kept];
    let codes: std::collections::HashSet<OfficeCode> = offices.iter().map(|o| o.code).collect();
    let staff: Vec<_> = nation
        .staff
        .iter()
        .filter(|s| s.office.is_none_or(|o| codes.contains(&o)))
        .cloned()
        .collect();
    crate::booking::load_slice(store, nation, offices, &staff).await
}

/// The services a counter performs, with the checks each needs from a reference agency.
fn desk_services(catalogue: &[Service]) -> Vec<DeskService> {
    let answered: Vec<&str> = ReferenceAgency::ALL
        .iter()
        .flat_map(|a| a.services().iter().map(|s| s.name()))
        .collect();
    catalogue
        .iter()
        .filter(|s| s.channel != Channel::Online)
        .map(|s| {
            let needs = |n: &str| s.required_inquiries.iter().any(|i| i == n);
            let identity = needs("civil-registry.person");
            DeskService {
                service: s.clone(),
                identity,
                mobile: identity && needs("mobile.ownership"),
                inquiries: s
                    .required_inquiries
                    .iter()
                    .filter(|i| {
                        answered.contains(&i.as_str())
                            && !(identity
                                && matches!(
                                    i.as_str(),
                                    "civil-registry.person" | "mobile.ownership"
                                ))
                    })
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

/// Spreads the visits over the offices by their counters, and each office's visits over its
/// slots with the morning peak.
async fn plan_day(
    store: &dyn Store,
    offices: &[Office],
    services: &[DeskService],
    day: JalaliDate,
    visits: u64,
    people: u64,
) -> anyhow::Result<Vec<OfficeDay>> {
    let first_office = offices.first().map(|o| o.code);
    let mut days = Vec::new();
    for o in offices {
        let slots = slots_for_day(o, &SlotPolicy::default_for(o), day);
        if o.status.may_use_network() && !slots.is_empty() {
            let name = if Some(o.code) == first_office {
                // The demo's operator is operator 1 of the first office.
                "operator".to_string()
            } else {
                format!("o{}-1", o.code)
            };
            days.push(OfficeDay {
                operator: staff_session(store, &name, Some(o)).await?,
                office: o.clone(),
                slots,
                visits: Vec::new(),
            });
        }
    }
    anyhow::ensure!(!days.is_empty(), "no office is open on {day}");
    // Visits by the offices' shares of the counters; what rounding leaves goes to offices
    // drawn by the same weights.
    let weights: Vec<u64> = days
        .iter()
        .map(|d| u64::from(d.office.counters.max(1)))
        .collect();
    let total: u64 = weights.iter().sum();
    let mut rng = Rng::new(0x5EED_1405);
    let mut counts: Vec<u64> = weights.iter().map(|w| visits * w / total).collect();
    let mut left = visits - counts.iter().sum::<u64>();
    while left > 0 {
        counts[weighted(&mut rng, &weights, total)] += 1;
        left -= 1;
    }
    let mut person = 0u64;
    for (d, n) in days.iter_mut().zip(counts) {
        let sw = slot_weights(&d.slots, day);
        let st: u64 = sw.iter().sum();
        d.visits.reserve(n as usize);
        for _ in 0..n {
            let slot = weighted(&mut rng, &sw, st);
            let wants_booking = rng.below(100) < BOOKED_PERCENT;
            d.visits.push(Visit {
                person: person % people,
                service: rng.below(services.len() as u64) as usize,
                slot,
                wants_booking,
                booked: None,
                absent: wants_booking && rng.below(100) < ABSENT_PERCENT,
                not_up: rng.below(1000) < NOT_UP_PER_MILLE,
                tick: tick_of(day, d.slots[slot].start),
            });
            person += 1;
        }
    }
    Ok(days)
}

/// A member of staff as a signed-in session would hold them.
async fn staff_session(
    store: &dyn Store,
    name: &str,
    office: Option<&Office>,
) -> anyhow::Result<StaffSession> {
    let username = pishkhan_domain::model::Username::parse(name)?;
    let rec = store
        .staff_by_username(&username)
        .await
        .with_context(|| format!("no staff member {name}"))?;
    Ok(StaffSession {
        actor: StaffActor {
            id: rec.id,
            username,
            role: rec.staff.role,
            office: rec.staff.office,
            office_status: office.map(|o| o.status),
        },
        token_hash: format!("bench-{name}"),
    })
}

// ---- phase 1: booking ---------------------------------------------------------------------

/// A booking made: office, visit, its tracking code and the slot it took.
type Made = (usize, usize, TrackingCode, usize);

impl Ctx {
    fn audit(&self) -> AuditContext {
        AuditContext {
            now_ms: self.clock.now_ms(),
            ip: None,
            request_id: None,
        }
    }

    /// The visitor as a signed-in citizen. A child has no mobile of their own; a parent's
    /// stands in, as at a real counter.
    fn citizen(&self, person: u64) -> Citizen {
        let p = self.pop.person(person);
        let mobile = p.mobile.unwrap_or_else(|| {
            Mobile::from_parts(912, (person % 10_000_000) as u32)
                .unwrap_or_else(|_| Mobile::parse("09120000000").expect("a valid mobile"))
        });
        Citizen {
            national_code: p.national_code,
            mobile,
        }
    }
}

/// Runs `one(item, recorder)` for items `0..n` on `workers` tasks; returns what they recorded.
async fn drive<F, Fut>(n: usize, workers: usize, one: F) -> anyhow::Result<Recorder>
where
    F: Fn(usize, Recorder) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Recorder> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.min(n).max(1) {
        let (next, one) = (next.clone(), one.clone());
        tasks.spawn(async move {
            let mut rec = Recorder::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                rec = one(i, rec).await;
            }
            rec
        });
    }
    let mut all = Recorder::default();
    while let Some(r) = tasks.join_next().await {
        all.merge(r?);
    }
    Ok(all)
}

async fn booking_phase(ctx: Arc<Ctx>, workers: usize) -> anyhow::Result<(Vec<Made>, Recorder)> {
    let wanted: Arc<Vec<(usize, usize)>> = Arc::new(
        ctx.offices
            .iter()
            .enumerate()
            .flat_map(|(o, d)| {
                d.visits
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.wants_booking)
                    .map(move |(v, _)| (o, v))
            })
            .collect(),
    );
    let made = Arc::new(std::sync::Mutex::new(Vec::with_capacity(wanted.len())));
    let done = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Progress::start("booking", Unit::Count("visitors")));
    let total = wanted.len() as u64;
    let rec = {
        let (ctx, wanted, made, done, progress) = (
            ctx.clone(),
            wanted.clone(),
            made.clone(),
            done.clone(),
            progress.clone(),
        );
        drive(wanted.len(), workers, move |i, mut rec| {
            let (ctx, wanted, made, done, progress) = (
                ctx.clone(),
                wanted.clone(),
                made.clone(),
                done.clone(),
                progress.clone(),
            );
            async move {
                let (o, v) = wanted[i];
                let d = &ctx.offices[o];
                let visit = &d.visits[v];
                let citizen = ctx.citizen(visit.person);
                let caller = Caller::Citizen(citizen.clone());
                let service = &ctx.services[visit.service].service;
                for k in 0..MAX_SLOT_TRIES.min(d.slots.len()) {
                    let slot = (visit.slot + k) % d.slots.len();
                    let req = BookingRequest {
                        office: d.office.code,
                        service: service.code.clone(),
                        start: d.slots[slot].start,
                        national_code: citizen.national_code.clone(),
                        mobile: citizen.mobile.clone(),
                        idempotency_key: None,
                    };
                    let t = Instant::now();
                    let r = book(&ctx.app, &caller, req, &ctx.audit()).await;
                    match rec.record("book", t, r) {
                        Ok(Booked::New(b) | Booked::Replayed(b)) => {
                            if let Ok(mut m) = made.lock() {
                                m.push((o, v, b.tracking_code, slot));
                            }
                            break;
                        }
                        Err("slot_full") => continue,
                        Err(_) => break,
                    }
                }
                progress.set(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                rec
            }
        })
        .await?
    };
    progress.finish(total);
    let made = std::mem::take(&mut *made.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok((made, rec))
}

/// Writes the bookings made into the plan: the booked come at their slot, the rest walk in
/// at the time they wanted.
fn apply_bookings(mut ctx: Ctx, made: Vec<Made>) -> Ctx {
    let day = ctx.day;
    for (o, v, code, slot) in made {
        let d = &mut ctx.offices[o];
        let start = d.slots[slot].start;
        let visit = &mut d.visits[v];
        visit.booked = Some(code);
        visit.slot = slot;
        visit.tick = tick_of(day, start);
    }
    ctx
}

// ---- phase 2: the day ---------------------------------------------------------------------

/// One office's counters through one tick.
struct OfficeWork {
    office: usize,
    /// Visits arriving in this tick.
    arriving: Vec<u32>,
}

/// Tickets waiting at each office (ticket as shown → visit). Each office is worked by one
/// task at a time, so its lock is never contended.
type Waiting = Vec<tokio::sync::Mutex<HashMap<String, usize>>>;

/// The day's figures per tick: tick, operations, seconds.
type TickFigures = Vec<(u16, u64, f64)>;

async fn day_phase(
    ctx: Arc<Ctx>,
    workers: usize,
    release_requests: u64,
) -> anyhow::Result<(Recorder, TickFigures)> {
    let day = ctx.day;
    // Who arrives when, per tick and office.
    let mut agenda: Vec<BTreeMap<usize, Vec<u32>>> = vec![BTreeMap::new(); usize::from(TICKS)];
    for (o, d) in ctx.offices.iter().enumerate() {
        for (v, visit) in d.visits.iter().enumerate() {
            agenda[usize::from(visit.tick)]
                .entry(o)
                .or_default()
                .push(v as u32);
        }
    }
    let waiting: Arc<Waiting> = Arc::new(
        (0..ctx.offices.len())
            .map(|_| tokio::sync::Mutex::new(HashMap::new()))
            .collect(),
    );
    let queued: Arc<Vec<AtomicU64>> =
        Arc::new((0..ctx.offices.len()).map(|_| AtomicU64::new(0)).collect());
    let total: u64 = ctx.offices.iter().map(|d| d.visits.len() as u64).sum();
    let settled = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Progress::start("national day", Unit::Count("visits")));
    let regulator = Arc::new(staff_session(ctx.app.store(), "regulator", None).await?);
    let open_tick = (RELEASE_OPEN_MIN - DAY_START_MIN) / TICK_MIN;
    let close_tick = (RELEASE_CLOSE_MIN - DAY_START_MIN) / TICK_MIN;
    let mut release: Option<Arc<(String, Vec<OfficeCode>)>> = None;
    let mut all = Recorder::default();
    let mut ticks = Vec::new();
    for tick in 0..=TICKS {
        let last = tick == TICKS;
        ctx.clock.set(tick_time(day, tick));
        let started = Instant::now();
        let before = all.operations();
        if tick == open_tick {
            release = create_release(&ctx, &regulator, &mut all).await;
        }
        if tick == close_tick
            && let Some(r) = &release
        {
            let t = Instant::now();
            let closed =
                pishkhan_app::releases::close(&ctx.app, &regulator, &r.0, &ctx.audit()).await;
            if let Ok(c) = all.record("release.close", t, closed) {
                println!(
                    "surge release {}: closed at 10:00; {} winners booked, {} pending, {} unseated, {} seats offered to the waitlist",
                    r.0, c.booked, c.pending, c.unseated, c.offers
                );
            }
        }
        let mut work: Vec<OfficeWork> = match agenda.get_mut(usize::from(tick)) {
            Some(a) => std::mem::take(a)
                .into_iter()
                .map(|(office, arriving)| OfficeWork { office, arriving })
                .collect(),
            None => Vec::new(),
        };
        let arriving: std::collections::HashSet<usize> = work.iter().map(|w| w.office).collect();
        for (o, q) in queued.iter().enumerate() {
            if q.load(Ordering::Relaxed) > 0 && !arriving.contains(&o) {
                work.push(OfficeWork {
                    office: o,
                    arriving: Vec::new(),
                });
            }
        }
        let work = Arc::new(work);
        let (c, w, q, s, p) = (
            ctx.clone(),
            waiting.clone(),
            queued.clone(),
            settled.clone(),
            progress.clone(),
        );
        let rec = drive(work.len(), workers, move |i, rec| {
            let (c, w, q, s, p, work) = (
                c.clone(),
                w.clone(),
                q.clone(),
                s.clone(),
                p.clone(),
                work.clone(),
            );
            async move {
                let office = &work[i];
                let rec = office_tick(&c, &w, &q, &s, office, last, rec).await;
                p.set(s.load(Ordering::Relaxed), total);
                rec
            }
        })
        .await?;
        all.merge(rec);
        if tick >= open_tick
            && tick < close_tick
            && let Some(r) = &release
        {
            // The requests come spread over the window's ticks.
            let window = u64::from(close_tick - open_tick);
            let k = u64::from(tick - open_tick);
            let from = release_requests * k / window;
            let to = release_requests * (k + 1) / window;
            let rec = submissions(ctx.clone(), r.clone(), from..to, workers).await?;
            all.merge(rec);
        }
        let ops = all.operations() - before;
        if ops > 0 {
            ticks.push((tick, ops, started.elapsed().as_secs_f64()));
        }
    }
    progress.finish(settled.load(Ordering::Relaxed));
    Ok((all, ticks))
}

/// One office through one tick: arrivals take tickets, then each counter serves for its half
/// hour (the last pass serves everyone left).
async fn office_tick(
    ctx: &Ctx,
    waiting: &Waiting,
    queued: &[AtomicU64],
    settled: &AtomicU64,
    work: &OfficeWork,
    last: bool,
    mut rec: Recorder,
) -> Recorder {
    let d = &ctx.offices[work.office];
    let staff = &d.operator;
    let code = d.office.code;
    let mut line = waiting[work.office].lock().await;
    for &v in &work.arriving {
        let visit = &d.visits[v as usize];
        let t = Instant::now();
        let issued = match (&visit.booked, visit.absent) {
            (Some(_), true) => {
                // Never comes: the queue marks the booking a no-show once its window passes.
                settled.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            (Some(tracking), false) => {
                let r = check_in(
                    &ctx.app,
                    staff,
                    code,
                    CheckInBy::Tracking(tracking.clone()),
                    None,
                    &ctx.audit(),
                )
                .await;
                rec.record("check_in", t, r)
            }
            (None, _) => {
                let service = ctx.services[visit.service].service.code.clone();
                let r = walk_in(&ctx.app, staff, code, service, None, &ctx.audit()).await;
                rec.record("walk_in", t, r)
            }
        };
        match issued {
            Ok(i) => {
                line.insert(i.ticket.to_string(), v as usize);
            }
            Err(_) => {
                settled.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    for counter in 1..=d.office.counters.max(1) {
        if line.is_empty() {
            break;
        }
        // The counter as the console resolves it for its operator.
        let t = Instant::now();
        let desk = pishkhan_app::queue::desk(&ctx.app, staff, Some(code), Some(counter)).await;
        let Ok(Some((_, counter))) = rec.record("desk", t, desk) else {
            rec.bench_error("desk", format!("office {code} has no counter {counter}"));
            break;
        };
        let mut minutes = 0u32;
        while !line.is_empty() && (last || minutes < u32::from(TICK_MIN)) {
            let t = Instant::now();
            let r = call_next(&ctx.app, staff, code, counter, &ctx.audit()).await;
            let Ok(called) = rec.record("call_next", t, r) else {
                break;
            };
            let Some(v) = line.remove(&called.ticket.to_string()) else {
                rec.bench_error(
                    "call_next",
                    format!(
                        "office {code} called ticket {}, not one of ours",
                        called.ticket
                    ),
                );
                break;
            };
            let visit = &d.visits[v];
            let desk = &ctx.services[visit.service];
            minutes += u32::from(desk.service.avg_handling_minutes.max(1));
            let t = Instant::now();
            if visit.not_up {
                let r = no_show(&ctx.app, staff, code, called.ticket, &ctx.audit()).await;
                let _ = rec.record("no_show", t, r);
            } else {
                rec = at_the_desk(ctx, staff, code, visit, desk, rec).await;
                let t = Instant::now();
                let r = complete(&ctx.app, staff, code, called.ticket, &ctx.audit()).await;
                let _ = rec.record("complete", t, r);
            }
            settled.fetch_add(1, Ordering::Relaxed);
        }
    }
    queued[work.office].store(line.len() as u64, Ordering::Relaxed);
    rec
}

/// What the operator checks for the visit's service: the person's identity, then the
/// further inquiries the catalogue requires.
async fn at_the_desk(
    ctx: &Ctx,
    staff: &StaffSession,
    office: OfficeCode,
    visit: &Visit,
    desk: &DeskService,
    mut rec: Recorder,
) -> Recorder {
    let p = ctx.pop.person(visit.person);
    let case = format!("N-{}-{}", staff.actor.username, visit.person);
    if desk.identity {
        let claim = ClaimInput {
            national_code: p.national_code.as_str().to_string(),
            first_name: p.first_name.to_string(),
            last_name: p.last_name.to_string(),
            father_name: None,
            birth_date: p.birth_date.to_string(),
            card_serial: Some(p.card_serial.as_str().to_string()),
            mobile: desk
                .mobile
                .then(|| p.mobile.as_ref().map(|m| m.as_str().to_string()))
                .flatten(),
        };
        let t = Instant::now();
        let r = verify(
            &ctx.app,
            staff,
            &ctx.audit(),
            VerifyCommand {
                claim,
                purpose: Some(VerifyPurpose {
                    service_code: desk.service.code.as_str().to_string(),
                    case_id: case.clone(),
                }),
            },
        )
        .await;
        if let Ok(v) = rec.record("identity.verify", t, r) {
            *rec.decisions
                .entry(decision_code(v.evaluation.decision))
                .or_default() += 1;
        }
    }
    for inquiry in &desk.inquiries {
        // Each service takes exactly its own fields: the exchange refuses any other.
        let body = match inquiry.as_str() {
            "postal.address" => json!({ "postal_code": p.postal_code.as_str() }),
            "postal.address-match" => json!({
                "postal_code": p.postal_code.as_str(),
                "national_code": p.national_code.as_str(),
            }),
            "mobile.ownership" => json!({
                "national_code": p.national_code.as_str(),
                "mobile": p.mobile.as_ref().map_or("", |m| m.as_str()),
            }),
            _ => json!({ "national_code": p.national_code.as_str() }),
        };
        let t = Instant::now();
        let r = run_inquiry(
            &ctx.app,
            staff,
            InquiryRequest {
                office,
                service: inquiry.clone(),
                catalogue_service: desk.service.code.as_str().to_string(),
                legal_basis: LEGAL_BASIS.to_string(),
                case_id: case.clone(),
                body,
                fresh: false,
            },
        )
        .await;
        let _ = rec.record("inquiry", t, r);
    }
    rec
}

/// The regulator opens the day's surge release at 09:00 over every office of the first
/// office's province (or, past the most one release may take, the first of them), taking
/// requests until 10:00, for appointments the next two days.
async fn create_release(
    ctx: &Ctx,
    regulator: &StaffSession,
    rec: &mut Recorder,
) -> Option<Arc<(String, Vec<OfficeCode>)>> {
    let first = ctx.offices.first()?;
    let service = ctx.services.first()?.service.code.clone();
    let province = first.office.province_id;
    let in_province: Vec<OfficeCode> = ctx
        .offices
        .iter()
        .filter(|o| o.office.province_id == province)
        .map(|o| o.office.code)
        .collect();
    let offices = if in_province.len() > pishkhan_app::releases::MAX_RELEASE_OFFICES {
        ReleaseOffices::Listed(
            in_province
                .iter()
                .take(pishkhan_app::releases::MAX_RELEASE_OFFICES)
                .map(|&code| (code, RELEASE_SEATS_PER_OFFICE))
                .collect(),
        )
    } else {
        ReleaseOffices::EveryOffice {
            slots: RELEASE_SEATS_PER_OFFICE,
        }
    };
    let input = NewRelease {
        service,
        province,
        offices,
        first_day: ctx.day.add_days(1),
        last_day: ctx.day.add_days(2),
        opens_at_ms: ctx.clock.now_ms(),
        closes_at_ms: unix_ms(tehran_instant(ctx.day, RELEASE_CLOSE_MIN)),
    };
    let t = Instant::now();
    let r = pishkhan_app::releases::create(&ctx.app, regulator, &input, &ctx.audit()).await;
    let release = rec.record("release.create", t, r).ok()?;
    let offices: Vec<OfficeCode> = release.offices.iter().map(|o| o.office).collect();
    println!(
        "surge release {}: {} offices of province {}, {} seats, requests 09:00-10:00",
        release.id,
        offices.len(),
        release.province,
        release.total_slots
    );
    Some(Arc::new((release.id, offices)))
}

/// Citizens ask the release for a seat: one to three of its offices each, most wanted first.
/// They are people beyond the day's visitors.
async fn submissions(
    ctx: Arc<Ctx>,
    release: Arc<(String, Vec<OfficeCode>)>,
    range: std::ops::Range<u64>,
    workers: usize,
) -> anyhow::Result<Recorder> {
    let visits: u64 = ctx.offices.iter().map(|d| d.visits.len() as u64).sum();
    let from = range.start;
    drive(
        (range.end - range.start) as usize,
        workers,
        move |i, mut rec| {
            let (ctx, release) = (ctx.clone(), release.clone());
            async move {
                let n = from + i as u64;
                let mut rng = Rng::new(n ^ 0xA11_0CA7E);
                let offices = &release.1;
                let mut preferences = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    let o = offices[rng.below(offices.len() as u64) as usize];
                    if !preferences.contains(&o) {
                        preferences.push(o);
                    }
                }
                let caller = Caller::Citizen(ctx.citizen((visits + n) % ctx.pop.size()));
                let t = Instant::now();
                let r = pishkhan_app::releases::submit(
                    &ctx.app,
                    &caller,
                    &release.0,
                    &Entry { preferences },
                    &ctx.audit(),
                )
                .await;
                let _ = rec.record("release.submit", t, r);
                rec
            }
        },
    )
    .await
}

// ---- the report ----------------------------------------------------------------------------

fn report(all: &mut Recorder, visits: u64, seconds: f64) {
    let ops = all.operations();
    println!(
        "national day: {visits} visits in {seconds:.1} s = {:.0} visits/s; {ops} operations = {:.0} operations/s",
        visits as f64 / seconds.max(1e-9),
        ops as f64 / seconds.max(1e-9)
    );
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "operation", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "refused", "errors"
    );
    for (op, f) in all.ops.iter_mut() {
        f.latencies_us.sort_unstable();
        let l = &f.latencies_us;
        println!(
            "{:<16} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9} {:>7}",
            op,
            l.len(),
            quantile_ms(l, 0.50),
            quantile_ms(l, 0.95),
            quantile_ms(l, 0.99),
            quantile_ms(l, 1.0),
            f.refused.values().sum::<u64>(),
            f.errors.values().sum::<u64>()
        );
    }
    let mut refused: BTreeMap<&str, u64> = BTreeMap::new();
    let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
    for f in all.ops.values() {
        for (c, n) in &f.refused {
            *refused.entry(*c).or_default() += n;
        }
        for (c, n) in &f.errors {
            *errors.entry(*c).or_default() += n;
        }
    }
    println!(
        "refusals (expected business outcomes): {}",
        by_code(&refused)
    );
    println!("identity decisions: {}", by_code(&all.decisions));
    println!("errors: {}", by_code(&errors));
    for (op, f) in &all.ops {
        if let Some(e) = &f.first_error {
            println!("  first {op} error: {e}");
        }
    }
}

fn by_code<K: std::fmt::Display>(m: &BTreeMap<K, u64>) -> String {
    if m.values().all(|n| *n == 0) {
        return "none".to_string();
    }
    m.iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- phase 3: the baseline -----------------------------------------------------------------

/// `n` bookings straight into the store (`Store::create_booking`, as `pishkhan bench booking`
/// does), on days after the simulated one: requests per second, p50 and p99 in ms.
async fn baseline(
    store: Arc<dyn Store>,
    ctx: &Ctx,
    n: u64,
    workers: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let mut rng = Rng::new(0x0BA5_E11E);
    let service = ctx
        .services
        .first()
        .context("no counter service")?
        .service
        .code
        .clone();
    let mut reqs = Vec::with_capacity(n as usize);
    let mut person = 0u32;
    while (reqs.len() as u64) < n {
        let d = &ctx.offices[rng.below(ctx.offices.len() as u64) as usize];
        let day = ctx.day.add_days(3 + rng.below(7) as i64);
        let slots = slots_for_day(&d.office, &SlotPolicy::default_for(&d.office), day);
        if slots.is_empty() {
            continue;
        }
        let slot = slots[rng.below(slots.len() as u64) as usize];
        person += 1;
        reqs.push(pishkhan_store::NewBooking {
            office: d.office.code,
            service: service.clone(),
            slot_start_ms: slot.start_ms(),
            slot_end_ms: unix_ms(slot.end),
            national_code: pishkhan_domain::NationalCode::from_body(300_000_000 + person)?,
            mobile: Mobile::from_parts(935, person % 10_000_000)?,
            rules: BookingRules::default(),
            idempotency_key: None,
        });
    }
    let regulator = Principal::Staff(StaffActor {
        id: 0,
        username: pishkhan_domain::model::Username::parse("bench")?,
        role: Role::Regulator,
        office: None,
        office_status: None,
    });
    let reqs = Arc::new(reqs);
    let now_ms = unix_ms(tehran_instant(ctx.day.add_days(-1), 20 * 60));
    let started = Instant::now();
    let rec = drive(reqs.len(), workers, move |i, mut rec| {
        let (store, reqs, regulator) = (store.clone(), reqs.clone(), regulator.clone());
        async move {
            let req = &reqs[i];
            let t = Instant::now();
            let r: Result<Booked, AppError> = async {
                let permit = authorize(&regulator, Action::BookOnBehalf { office: req.office })?;
                let ctx = AuditContext {
                    now_ms,
                    ip: None,
                    request_id: None,
                };
                match store.create_booking(&permit, req, &ctx).await {
                    Ok(b) => Ok(b),
                    Err(pishkhan_store::StoreError::SlotFull) => Err(AppError::Conflict {
                        code: "slot_full",
                        message: "full".into(),
                    }),
                    Err(e) => Err(e.into()),
                }
            }
            .await;
            let _ = rec.record("baseline.book", t, r);
            rec
        }
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut l = rec
        .ops
        .get("baseline.book")
        .map(|f| f.latencies_us.clone())
        .unwrap_or_default();
    l.sort_unstable();
    anyhow::ensure!(rec.errors() == 0, "the baseline's bookings failed");
    Ok((
        l.len() as f64 / seconds.max(1e-9),
        quantile_ms(&l, 0.5),
        quantile_ms(&l, 0.99),
    ))
}
