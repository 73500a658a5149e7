//! `pishkhan bench ledger`: applied ledger transfers per second through the store's
//! `post_transfers`, on the embedded store and on PostgreSQL, beside a naive baseline of one
//! transaction per transfer measured in the same run, then `verify_ledger` on what each wrote.
//!
//! The load is shaped like payments: each client submits batches of linked chains: a
//! payment's 3–4 pending legs from PSP clearing to an agency, an office and VAT; later the
//! posts of those legs (or, one time in ten, their voids); and now and then a settlement of
//! what a payee was credited. Payments spread over 17,000 offices and the 39 agencies.
//!
//! **Durable** means what the store acknowledges is on disk: the embedded store commits each
//! batch in one transaction with `journal_mode=WAL` and `synchronous=FULL`, so SQLite fsyncs
//! the WAL before the commit returns; PostgreSQL runs with its server's settings (by default
//! `fsync=on`, `synchronous_commit=on`), which the bench prints.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use pishkhan_domain::ledger::IdSpace;
use pishkhan_domain::model::OfficeCode;
use pishkhan_store::{
    Account, DatabaseUrl, MAX_BATCH, Outcome, Phase, Store, Transfer, TransferCode, TransferId,
};
use sqlx::{Connection, Executor, Row};

#[derive(Args)]
pub struct LedgerBenchArgs {
    /// Seconds each measured part runs (the embedded store, PostgreSQL, the baseline).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Clients submitting batches at once.
    #[arg(long, default_value_t = 4)]
    pub clients: u32,
    /// Transfers per batch (at most 8,190).
    #[arg(long, default_value_t = MAX_BATCH)]
    pub batch: usize,
    /// Offices whose commission accounts the payments spread over.
    #[arg(long, default_value_t = 17_000)]
    pub offices: u32,
    /// Most transfers the naive baseline posts (it also stops after `--seconds`).
    #[arg(long, default_value_t = 20_000)]
    pub baseline_transfers: u64,
    /// Skip the PostgreSQL parts.
    #[arg(long)]
    pub no_postgres: bool,
    /// Payers at once in the end-to-end part through the card processor process.
    #[arg(long, default_value_t = 16)]
    pub payers: usize,
    /// Skip the end-to-end payments part.
    #[arg(long)]
    pub no_payments: bool,
}

/// The PostgreSQL server the bench uses when `--database-url` names none.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// A small deterministic generator, so every run submits the same load.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Payees a settlement may pick from: the most recently credited.
const RECENT_PAYEES: usize = 4_096;
/// One chain in this many is a settlement, one payment in `VOID_ONE_IN` is reversed.
const SETTLE_ONE_IN: u64 = 50;
const VOID_ONE_IN: u64 = 10;
/// Payments whose pending legs are acknowledged and wait for their post or void.
const MAX_OPEN_PAYMENTS: usize = 100_000;

/// One client's stream of payment-shaped transfers. Ids are derived from the payment number,
/// and each client's numbers are its own, so clients never touch each other's pendings; a
/// settlement pays out only what this client's posts credited, so none is ever refused.
pub struct PaymentLoad {
    rng: SplitMix,
    /// This client's next payment (or settlement) number, and the step between its numbers.
    next_number: i64,
    stride: i64,
    agencies: Arc<Vec<Account>>,
    offices: Arc<Vec<Account>>,
    /// Whether a payment's legs are linked (false for the one-transfer-per-call baseline).
    linked: bool,
    open: VecDeque<Vec<Transfer>>,
    /// What this client's posts credited each payee, less what it settled.
    owed: HashMap<Account, i64>,
    recent: VecDeque<Account>,
}

/// The accounts a load spreads over, shared by its clients.
#[derive(Clone)]
pub struct LoadAccounts {
    agencies: Arc<Vec<Account>>,
    offices: Arc<Vec<Account>>,
}

/// The 39 agencies' payables and `offices` offices' commissions.
pub fn accounts(offices: u32) -> anyhow::Result<LoadAccounts> {
    let agencies: Vec<Account> = pishkhan_nation::agencies()
        .into_iter()
        .map(|a| Account::AgencyPayable(a.code))
        .collect();
    let offices = (0..offices)
        .map(|i| {
            Ok(Account::OfficeCommission(OfficeCode::from_u32(
                11_000_001 + i,
            )?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!offices.is_empty(), "at least one office");
    Ok(LoadAccounts {
        agencies: Arc::new(agencies),
        offices: Arc::new(offices),
    })
}

impl PaymentLoad {
    /// Client `client` of `clients`; `first` is the first payment number of the run, so runs
    /// into one database use ids of their own.
    pub fn new(
        client: u32,
        clients: u32,
        first: i64,
        accounts: &LoadAccounts,
        linked: bool,
    ) -> Self {
        Self {
            rng: SplitMix(0x1405 + u64::from(client)),
            next_number: first + i64::from(client),
            stride: i64::from(clients.max(1)),
            agencies: accounts.agencies.clone(),
            offices: accounts.offices.clone(),
            linked,
            open: VecDeque::new(),
            owed: HashMap::new(),
            recent: VecDeque::new(),
        }
    }

    fn number(&mut self) -> i64 {
        let n = self.next_number;
        self.next_number += self.stride;
        n
    }

    /// Pending leg `leg` of payment `n` (step 1; its post is step 2, its void step 3).
    fn leg(&self, n: i64, leg: u8, credit: Account, amount: i64) -> Transfer {
        Transfer {
            id: TransferId::derived(IdSpace::Bench, n, 1, leg),
            debit: Account::PspClearing,
            credit,
            amount,
            phase: Phase::Pending,
            linked: false,
            code: TransferCode::Bench,
            reference: n,
        }
    }

    fn link(&self, mut chain: Vec<Transfer>) -> Vec<Transfer> {
        let n = chain.len();
        for (i, t) in chain.iter_mut().enumerate() {
            t.linked = self.linked && i + 1 < n;
        }
        chain
    }

    /// A payment at its callback: pending legs to an agency, an office and VAT, and to a
    /// second agency one time in three.
    fn payment(&mut self) -> Vec<Transfer> {
        let n = self.number();
        let agency = self.agencies[self.rng.below(self.agencies.len() as u64) as usize].clone();
        let office = self.offices[self.rng.below(self.offices.len() as u64) as usize].clone();
        let government = 50_000 + self.rng.below(1_950_000) as i64;
        let counter = 20_000 + self.rng.below(280_000) as i64;
        let mut legs = vec![
            self.leg(n, 0, agency, government),
            self.leg(n, 1, office, counter),
            self.leg(n, 2, Account::VatPayable, counter / 10),
        ];
        if self.rng.below(3) == 0 {
            let other = self.agencies[self.rng.below(self.agencies.len() as u64) as usize].clone();
            let fee = 10_000 + self.rng.below(90_000) as i64;
            legs.push(self.leg(n, 3, other, fee));
        }
        self.link(legs)
    }

    /// The oldest open payment's posts (verified), or its voids (reversed).
    fn resolve(&mut self) -> Option<Vec<Transfer>> {
        let pendings = self.open.pop_front()?;
        let void = self.rng.below(VOID_ONE_IN) == 0;
        let chain = pendings
            .iter()
            .map(|p| {
                let (step, phase) = if void {
                    (3, Phase::Void(p.id))
                } else {
                    (2, Phase::Post(p.id))
                };
                Transfer {
                    id: TransferId::derived(IdSpace::Bench, p.reference, step, leg_of(p.id)),
                    phase,
                    linked: false,
                    ..p.clone()
                }
            })
            .collect();
        Some(self.link(chain))
    }

    /// What a recently credited payee is owed, paid out to its account.
    fn settlement(&mut self) -> Option<Vec<Transfer>> {
        let payee = self.recent.pop_front()?;
        let amount = self.owed.remove(&payee).filter(|a| *a > 0)?;
        let n = self.number();
        Some(vec![Transfer {
            id: TransferId::derived(IdSpace::Bench, n, 4, 0),
            debit: payee,
            credit: Account::PspClearing,
            amount,
            phase: Phase::Single,
            linked: false,
            code: TransferCode::Settlement,
            reference: n,
        }])
    }

    /// Whole chains of at most `size` transfers together (4 at least): resolutions of
    /// acknowledged payments and new payments in equal measure, and a settlement now and then.
    pub fn next_batch(&mut self, size: usize) -> Vec<Transfer> {
        let size = size.clamp(4, MAX_BATCH);
        let mut batch = Vec::with_capacity(size);
        while batch.len() + 4 <= size {
            let roll = self.rng.below(2 * SETTLE_ONE_IN);
            let chain = if roll == 0 {
                self.settlement()
            } else if roll.is_multiple_of(2) || self.open.len() >= MAX_OPEN_PAYMENTS {
                self.resolve()
            } else {
                None
            };
            batch.extend(chain.unwrap_or_else(|| self.payment()));
        }
        batch
    }

    /// Learns what the store did with a batch this load made: acknowledged payments wait to
    /// be resolved, posted legs are owed to their payees.
    pub fn acknowledged(&mut self, batch: &[Transfer], outcomes: &[Outcome]) {
        let mut payment: Vec<Transfer> = Vec::new();
        for (t, o) in batch.iter().zip(outcomes) {
            if *o != Outcome::Applied {
                continue;
            }
            match t.phase {
                Phase::Pending => {
                    if payment.first().is_some_and(|p| p.reference != t.reference) {
                        self.open.push_back(std::mem::take(&mut payment));
                    }
                    payment.push(t.clone());
                }
                Phase::Post(_) => {
                    *self.owed.entry(t.credit.clone()).or_default() += t.amount;
                    if self.recent.len() < RECENT_PAYEES {
                        self.recent.push_back(t.credit.clone());
                    }
                }
                Phase::Void(_) | Phase::Single => {}
            }
        }
        if !payment.is_empty() {
            self.open.push_back(payment);
        }
    }
}

/// The leg number a derived id carries (see `TransferId::derived`).
fn leg_of(id: TransferId) -> u8 {
    (id.0 >> 104) as u8
}

/// What one part measured.
struct PartReport {
    applied: u64,
    exists: u64,
    refused: u64,
    batches: u64,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl PartReport {
    fn per_second(&self) -> f64 {
        self.applied as f64 / self.seconds
    }

    fn print(&self, label: &str) {
        let mut l = self.latencies.clone();
        l.sort();
        let pick = |q: f64| {
            l.get(((l.len().max(1) - 1) as f64 * q) as usize)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "{label}: {:.0} transfers/s ({} applied in {} batches, {} retries, {} refused) in {:.2} s; \
             batch latency p50 {:.1} ms, p99 {:.1} ms",
            self.per_second(),
            self.applied,
            self.batches,
            self.exists,
            self.refused,
            self.seconds,
            pick(0.5),
            pick(0.99)
        );
    }
}

/// How one part loads the store: `clients` clients submit batches of `batch` transfers until
/// `seconds` pass or `max` transfers were submitted; payment numbers start at `first`.
struct Part {
    first: i64,
    clients: u32,
    batch: usize,
    linked: bool,
    seconds: u64,
    max: u64,
}

async fn run_part(
    store: Arc<dyn Store>,
    accounts: &LoadAccounts,
    part: Part,
) -> anyhow::Result<PartReport> {
    let Part {
        first,
        clients,
        batch,
        linked,
        seconds,
        max,
    } = part;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let per_client = max.div_ceil(u64::from(clients.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients.max(1) {
        let store = store.clone();
        let mut load = PaymentLoad::new(c, clients, first, accounts, linked);
        tasks.spawn(async move {
            let mut r = PartReport {
                applied: 0,
                exists: 0,
                refused: 0,
                batches: 0,
                seconds: 0.0,
                latencies: Vec::new(),
            };
            let mut submitted = 0u64;
            while Instant::now() < deadline && submitted < per_client {
                let chains = load.next_batch(batch);
                // A batch of one is the baseline: each transfer in a call of its own.
                let calls: Vec<&[Transfer]> = if batch == 1 {
                    chains.chunks(1).collect()
                } else {
                    vec![&chains[..]]
                };
                for b in calls {
                    let t0 = Instant::now();
                    let out = store.post_transfers(b).await?;
                    r.latencies.push(t0.elapsed());
                    r.batches += 1;
                    submitted += b.len() as u64;
                    for o in &out {
                        match o {
                            Outcome::Applied => r.applied += 1,
                            Outcome::Exists => r.exists += 1,
                            Outcome::Refused(_) => r.refused += 1,
                        }
                    }
                    load.acknowledged(b, &out);
                }
            }
            anyhow::Ok(r)
        });
    }
    let mut total = PartReport {
        applied: 0,
        exists: 0,
        refused: 0,
        batches: 0,
        seconds: 0.0,
        latencies: Vec::new(),
    };
    while let Some(r) = tasks.join_next().await {
        let r = r??;
        total.applied += r.applied;
        total.exists += r.exists;
        total.refused += r.refused;
        total.batches += r.batches;
        total.latencies.extend(r.latencies);
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

/// The measured load: linked chains in full batches for `--seconds`.
fn batched(args: &LedgerBenchArgs) -> Part {
    Part {
        first: 1,
        clients: args.clients,
        batch: args.batch,
        linked: true,
        seconds: args.seconds,
        max: u64::MAX,
    }
}

/// `verify_ledger` on what a part wrote: its time, and an error unless sound.
async fn verify(store: &dyn Store, label: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let replay = store
        .verify_ledger()
        .await?
        .map_err(|f| anyhow::anyhow!("{label}: the ledger does NOT verify: {f}"))?;
    println!(
        "{label}: ledger verified: {} transfers, {} accounts, posted {} rials, in {:.2} s",
        replay.transfers,
        replay.balances.len(),
        replay.total_debits_posted,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the bench. `postgres` is the server URL (`--database-url`), without a database name.
pub async fn ledger(args: &LedgerBenchArgs, postgres: Option<&str>) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_BATCH).contains(&args.batch),
        "--batch is 1..={MAX_BATCH}"
    );
    anyhow::ensure!((1..=64).contains(&args.clients), "--clients is 1..=64");
    anyhow::ensure!((1..=3_600).contains(&args.seconds), "--seconds is 1..=3600");
    let accounts = accounts(args.offices)?;
    println!(
        "machine: {} cores; load: {} clients, batches of {} transfers (linked payment chains of \
         3-4 pending legs, their posts or voids, settlements) over {} offices and {} agencies",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.clients,
        args.batch,
        accounts.offices.len(),
        accounts.agencies.len()
    );
    let dir = tempfile::tempdir()?;
    let store = pishkhan_store::open(&DatabaseUrl::sqlite_in(dir.path())).await?;
    println!("embedded store: SQLite WAL, synchronous=FULL (each acknowledged batch is fsynced)");
    let r = run_part(store.clone(), &accounts, batched(args)).await?;
    r.print("embedded store");
    verify(store.as_ref(), "embedded store").await?;
    drop(store);
    if !args.no_payments {
        payments_part(args).await?;
    }
    if !args.no_postgres {
        postgres_parts(args, &accounts, postgres.unwrap_or(DEFAULT_POSTGRES)).await?;
    }
    Ok(())
}

/// Payments per second end to end (use case, processor process, callback, verify) on a
/// fresh embedded store holding the demo nation and its tariffs.
async fn payments_part(args: &LedgerBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1..=256).contains(&args.payers), "--payers is 1..=256");
    let dir = tempfile::tempdir()?;
    let store = pishkhan_store::open(&DatabaseUrl::sqlite_in(dir.path())).await?;
    pishkhan_demo::load_demo(
        store.as_ref(),
        pishkhan_nation::DEFAULT_SEED,
        pishkhan_app::secrets::hash_password,
    )
    .await?;
    let f = crate::payments::through_psp(
        store.clone(),
        &dir.path().join("psp"),
        args.seconds as f64,
        args.payers,
    )
    .await?;
    println!(
        "payments end to end through the processor process ({} payers): {} verified in {:.1} s = \
         {:.0} payments/s; latency p50 {:.1} ms, p99 {:.1} ms; {} failed; baseline, the \
         processor alone (token, page, verify): {:.0} payments/s",
        args.payers,
        f.payments,
        f.seconds,
        f.per_second,
        f.p50_ms,
        f.p99_ms,
        f.failed,
        f.baseline_per_second
    );
    verify(store.as_ref(), "payments").await?;
    Ok(())
}

async fn postgres_parts(
    args: &LedgerBenchArgs,
    accounts: &LoadAccounts,
    server: &str,
) -> anyhow::Result<()> {
    let base = server.trim_end_matches('/').to_string();
    anyhow::ensure!(
        base.starts_with("postgres://") || base.starts_with("postgresql://"),
        "--database-url names the PostgreSQL server for the bench (postgres://USER@HOST:PORT)"
    );
    let name = format!("pishkhan_bench_ledger_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .context("connect to PostgreSQL for the benchmark")?;
    let settings = sqlx::query(
        "SELECT current_setting('fsync') AS f, current_setting('synchronous_commit') AS s",
    )
    .fetch_one(&mut admin)
    .await?;
    println!(
        "postgres: fsync={}, synchronous_commit={}",
        settings.try_get::<String, _>("f")?,
        settings.try_get::<String, _>("s")?
    );
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let outcome = async {
        let store = pishkhan_store::open(&DatabaseUrl::parse(&format!("{base}/{name}"))?).await?;
        let batched = run_part(store.clone(), accounts, batched(args)).await?;
        batched.print("postgres, batched");
        // The same store and the same shape of load, one transfer per call and transaction
        // (a lone transfer cannot be linked), from the same number of clients.
        let naive = Part {
            first: 1 << 40,
            clients: args.clients,
            batch: 1,
            linked: false,
            seconds: args.seconds,
            max: args.baseline_transfers,
        };
        let naive = run_part(store.clone(), accounts, naive).await?;
        naive.print("postgres, naive baseline: one transaction per transfer");
        println!(
            "postgres batched vs naive: {:.1}x",
            batched.per_second() / naive.per_second().max(f64::MIN_POSITIVE)
        );
        verify(store.as_ref(), "postgres").await?;
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
