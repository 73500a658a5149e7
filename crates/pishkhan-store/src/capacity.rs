//! A slot's capacity for a service, computed where it is enforced.
//!
//! **Invariant:** the capacity a booking is decided against comes from the store's own data,
//! never from the caller: the office's stored `SlotPolicy` (or `SlotPolicy::default_for` the
//! office when none is stored), the service's average handling minutes and which services each
//! of the office's counters handles, put through the domain's
//! [`SlotPolicy::capacity_at_counters`].
//!
//! - PostgreSQL reads the inputs inside the booking's transaction, one statement for all the
//!   (office, service) pairs of a batch ([`many_in_transaction`]): what that read sees is what
//!   the seats are counted against under the slots' row locks.
//! - The SQLite engine owns the database, so it keeps the inputs in memory ([`CapacityCache`]),
//!   loaded on first use and dropped whenever the store commits a change to them: every such
//!   write path calls `BookingWriter::references_changed` after its commit, which notes the
//!   change in a [`Stale`] the engine checks before each decision.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::SlotPolicy;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::pg_group_commit::{int_array, text_array};
use crate::registry::{OFFICE_COLS, office_from_row};
use crate::sql::{AnyTx, corrupt};
use crate::{Result, StoreError};

/// Which services each counter handles: counter, `None` = every service; empty = every
/// counter handles every service.
pub(crate) type Counters = Vec<(u16, Option<Vec<ServiceCode>>)>;

/// `office_counters.services_json`: a JSON array of service codes, or NULL for every service.
pub(crate) fn counter_services(json: Option<String>) -> Result<Option<Vec<ServiceCode>>> {
    json.map(|j| {
        let codes: Vec<String> =
            serde_json::from_str(&j).map_err(|e| corrupt("counter services", e))?;
        codes
            .iter()
            .map(|c| ServiceCode::parse(c).map_err(|e| corrupt("service", e.message)))
            .collect::<Result<Vec<_>>>()
    })
    .transpose()
}

/// An office's inputs to capacity, before the service is known.
#[derive(Debug, Clone)]
pub(crate) struct OfficeInputs {
    /// The stored policy, or the default for the office.
    pub(crate) policy: SlotPolicy,
    pub(crate) counters: Counters,
}

impl OfficeInputs {
    /// People one slot holds for `service`, taking `handling_minutes` each.
    pub(crate) fn capacity(&self, service: &ServiceCode, handling_minutes: u16) -> u32 {
        self.policy
            .capacity_at_counters(service, handling_minutes, &self.counters)
    }
}

/// The office's row (`OFFICE_COLS`) beside its stored policy's columns, NULL when none is
/// stored: the policy in force.
fn policy_of_row(r: &AnyRow) -> Result<SlotPolicy> {
    let stored: Option<i64> = r.try_get("slot_minutes")?;
    match stored {
        Some(slot_minutes) => Ok(SlotPolicy {
            slot_minutes: slot_minutes as u16,
            occupancy_cap: r.try_get::<i64, _>("occupancy_cap")? as u16,
            booking_counters: r.try_get::<i64, _>("booking_counters")? as u16,
        }),
        None => Ok(SlotPolicy::default_for(&office_from_row(r)?)),
    }
}

fn minutes_of(minutes: Option<i64>) -> Result<u16> {
    match minutes {
        Some(m) => u16::try_from(m).map_err(|_| corrupt("handling minutes", m)),
        None => Err(StoreError::NotFound { entity: "service" }),
    }
}

/// Why a pair has no capacity: the office or the service it names is unknown (the entity
/// of `StoreError::NotFound`).
pub(crate) type Unknown = &'static str;

/// The slot capacity of `service` at `office`, read inside `tx` (PostgreSQL).
pub(crate) async fn in_transaction(
    tx: &mut AnyTx<'_>,
    office: OfficeCode,
    service: &ServiceCode,
) -> Result<u32> {
    let mut one = many_in_transaction(tx, &[(office, service)]).await?;
    match one.pop() {
        Some(Ok(capacity)) => Ok(capacity),
        Some(Err(entity)) => Err(StoreError::NotFound { entity }),
        None => Err(corrupt("capacity", "no row for the pair asked")),
    }
}

/// The slot capacities of many (office, service) pairs, read inside `tx` in one round trip
/// (PostgreSQL), in the order asked: per pair the office with its stored policy, the
/// service's handling minutes and the office's counters as one JSON array. The pairs go in as
/// array literals (the `Any` driver binds no arrays), and are looked up pair by pair
/// (LATERAL), so each is a primary-key probe whatever the planner guesses of their number.
///
/// A manager's concurrent change is ordered by this read: a booking that read the old policy
/// serialises before the change, one that reads the new one after it, and the seats are
/// counted under the slot's row lock either way.
pub(crate) async fn many_in_transaction(
    tx: &mut AnyTx<'_>,
    pairs: &[(OfficeCode, &ServiceCode)],
) -> Result<Vec<std::result::Result<u32, Unknown>>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT q.ord, o.* FROM unnest($1::text::bigint[], $2::text::text[]) WITH ORDINALITY \
           AS q(want_office, want_service, ord) \
         LEFT JOIN LATERAL (\
           SELECT {OFFICE_COLS}, p.slot_minutes, p.occupancy_cap, p.booking_counters, \
           (SELECT s.avg_minutes FROM services s WHERE s.code = q.want_service) AS avg_minutes, \
           (SELECT json_agg(json_build_array(c.counter, c.services_json) ORDER BY c.counter)::text \
            FROM office_counters c WHERE c.office_code = offices.code) AS counter_rows \
           FROM offices LEFT JOIN office_schedules p ON p.office_code = offices.code \
           WHERE offices.code = q.want_office) o ON true"
    )))
    .bind(int_array(
        pairs.iter().map(|(office, _)| i64::from(office.get())),
    ))
    .bind(text_array(
        pairs.iter().map(|(_, service)| Some(service.as_str())),
    ))
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<Option<std::result::Result<u32, Unknown>>> = vec![None; pairs.len()];
    for r in &rows {
        let ord: i64 = r.try_get("ord")?;
        let (slot, (_, service)) = usize::try_from(ord - 1)
            .ok()
            .and_then(|i| Some((out.get_mut(i)?, pairs.get(i)?)))
            .ok_or_else(|| corrupt("capacity row", ord))?;
        *slot = Some(capacity_of_row(r, service)?);
    }
    out.into_iter()
        .map(|c| c.ok_or_else(|| corrupt("capacity", "no row for a pair asked")))
        .collect()
}

/// One pair's row of [`many_in_transaction`].
fn capacity_of_row(r: &AnyRow, service: &ServiceCode) -> Result<std::result::Result<u32, Unknown>> {
    let office: Option<i64> = r.try_get("code")?;
    if office.is_none() {
        return Ok(Err("office"));
    }
    let Some(minutes) = r.try_get::<Option<i64>, _>("avg_minutes")? else {
        return Ok(Err("service"));
    };
    let minutes = minutes_of(Some(minutes))?;
    let counters: Option<String> = r.try_get("counter_rows")?;
    let counters = match counters {
        None => Vec::new(),
        Some(json) => {
            let rows: Vec<(i64, Option<String>)> =
                serde_json::from_str(&json).map_err(|e| corrupt("office counters", e))?;
            rows.into_iter()
                .map(|(counter, services)| Ok((counter as u16, counter_services(services)?)))
                .collect::<Result<_>>()?
        }
    };
    let inputs = OfficeInputs {
        policy: policy_of_row(r)?,
        counters,
    };
    Ok(Ok(inputs.capacity(service, minutes)))
}

/// An office's inputs as committed (the SQLite engine, on a cache miss).
async fn office_inputs(pool: &AnyPool, office: OfficeCode) -> Result<OfficeInputs> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFICE_COLS}, p.slot_minutes, p.occupancy_cap, p.booking_counters \
         FROM offices LEFT JOIN office_schedules p ON p.office_code = offices.code \
         WHERE offices.code = $1"
    )))
    .bind(i64::from(office.get()))
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound { entity: "office" })?;
    let policy = policy_of_row(&row)?;
    let rows = sqlx::query(
        "SELECT counter, services_json FROM office_counters WHERE office_code = $1 ORDER BY counter",
    )
    .bind(i64::from(office.get()))
    .fetch_all(pool)
    .await?;
    let counters = rows
        .iter()
        .map(|r| {
            let counter: i64 = r.try_get("counter")?;
            Ok((
                counter as u16,
                counter_services(r.try_get("services_json")?)?,
            ))
        })
        .collect::<Result<_>>()?;
    Ok(OfficeInputs { policy, counters })
}

/// Every office's inputs and every service's handling minutes as committed, in three
/// statements (the SQLite engine, when its cache is cold).
async fn all_inputs(
    pool: &AnyPool,
) -> Result<(HashMap<u32, OfficeInputs>, HashMap<ServiceCode, u16>)> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OFFICE_COLS}, p.slot_minutes, p.occupancy_cap, p.booking_counters \
         FROM offices LEFT JOIN office_schedules p ON p.office_code = offices.code"
    )))
    .fetch_all(pool)
    .await?;
    let mut offices = HashMap::with_capacity(rows.len());
    for r in &rows {
        let code: i64 = r.try_get("code")?;
        offices.insert(
            code as u32,
            OfficeInputs {
                policy: policy_of_row(r)?,
                counters: Vec::new(),
            },
        );
    }
    let rows = sqlx::query(
        "SELECT office_code, counter, services_json FROM office_counters ORDER BY office_code, counter",
    )
    .fetch_all(pool)
    .await?;
    for r in &rows {
        let office: i64 = r.try_get("office_code")?;
        let counter: i64 = r.try_get("counter")?;
        if let Some(o) = offices.get_mut(&(office as u32)) {
            o.counters.push((
                counter as u16,
                counter_services(r.try_get("services_json")?)?,
            ));
        }
    }
    let rows = sqlx::query("SELECT code, avg_minutes FROM services")
        .fetch_all(pool)
        .await?;
    let mut minutes = HashMap::with_capacity(rows.len());
    for r in &rows {
        let code: String = r.try_get("code")?;
        let code = ServiceCode::parse(&code).map_err(|e| corrupt("service", e.message))?;
        minutes.insert(code, minutes_of(r.try_get("avg_minutes")?)?);
    }
    Ok((offices, minutes))
}

/// A service's average handling minutes as committed (the SQLite engine, on a cache miss).
async fn handling_minutes(pool: &AnyPool, service: &ServiceCode) -> Result<u16> {
    let row = sqlx::query("SELECT avg_minutes FROM services WHERE code = $1")
        .bind(service.as_str().to_string())
        .fetch_optional(pool)
        .await?;
    minutes_of(row.map(|r| r.try_get("avg_minutes")).transpose()?)
}

/// Changes the store committed to capacity inputs, noted by the write paths after their commit
/// and applied by the engine before its next decision. Lossless and never blocks on the engine:
/// a note is a pushed office (or "everything") and a bumped version.
#[derive(Default)]
pub(crate) struct Stale {
    version: AtomicU64,
    touched: Mutex<Touched>,
}

#[derive(Default)]
struct Touched {
    all: bool,
    offices: Vec<u32>,
}

impl Stale {
    /// `office`'s inputs changed; `None`: any office's or service's may have.
    pub(crate) fn note(&self, office: Option<OfficeCode>) {
        let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        match office {
            Some(o) if !t.all => t.offices.push(o.get()),
            Some(_) => {}
            None => {
                t.all = true;
                t.offices.clear();
            }
        }
        // Bumped after the note is in place: whoever sees the new version finds it.
        self.version.fetch_add(1, Ordering::SeqCst);
    }
}

/// Entries after which the cache starts over rather than grow.
const MAX_CACHED: usize = 1_000_000;

/// The SQLite engine's capacities: per office its inputs and the capacity computed per service,
/// and every service's handling minutes. Owned by the engine's one task.
#[derive(Default)]
pub(crate) struct CapacityCache {
    offices: HashMap<u32, CachedOffice>,
    minutes: HashMap<ServiceCode, u16>,
    /// Whether the maps were filled from every office and service since the last full drop:
    /// a cold cache loads them all at once (three statements) rather than office by office.
    warm: bool,
    /// Capacities computed, over all offices.
    entries: usize,
    /// The [`Stale`] version applied last.
    seen: u64,
}

struct CachedOffice {
    inputs: OfficeInputs,
    per_service: HashMap<ServiceCode, u32>,
}

impl CapacityCache {
    /// Drops what committed changes touched since the last call.
    fn apply(&mut self, stale: &Stale) {
        let version = stale.version.load(Ordering::SeqCst);
        if version == self.seen {
            return;
        }
        let touched = std::mem::take(&mut *stale.touched.lock().unwrap_or_else(|p| p.into_inner()));
        // A note made after the load above bumps the version again: the next call takes it.
        self.seen = version;
        if touched.all {
            self.clear();
        } else {
            for office in touched.offices {
                if let Some(gone) = self.offices.remove(&office) {
                    self.entries -= gone.per_service.len();
                }
            }
        }
    }

    fn clear(&mut self) {
        self.offices.clear();
        self.minutes.clear();
        self.entries = 0;
        self.warm = false;
    }

    /// The slot capacity of `service` at `office`: two hash lookups once loaded.
    pub(crate) async fn capacity(
        &mut self,
        pool: &AnyPool,
        stale: &Stale,
        office: OfficeCode,
        service: &ServiceCode,
    ) -> Result<u32> {
        self.apply(stale);
        if let Some(c) = self
            .offices
            .get(&office.get())
            .and_then(|o| o.per_service.get(service))
        {
            return Ok(*c);
        }
        if self.entries >= MAX_CACHED {
            self.clear();
        }
        if !self.warm {
            // Offices and services added or dropped from here on are loaded one by one.
            let (offices, minutes) = all_inputs(pool).await?;
            self.offices = offices
                .into_iter()
                .map(|(code, inputs)| {
                    (
                        code,
                        CachedOffice {
                            inputs,
                            per_service: HashMap::new(),
                        },
                    )
                })
                .collect();
            self.minutes = minutes;
            self.entries = 0;
            self.warm = true;
        }
        // A change committed while these load is noted with a newer version, so what they
        // read is dropped before the next decision after it.
        let minutes = match self.minutes.get(service) {
            Some(m) => *m,
            None => {
                let m = handling_minutes(pool, service).await?;
                self.minutes.insert(service.clone(), m);
                m
            }
        };
        let cached = match self.offices.entry(office.get()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(CachedOffice {
                inputs: office_inputs(pool, office).await?,
                per_service: HashMap::new(),
            }),
        };
        let capacity = cached.inputs.capacity(service, minutes);
        cached.per_service.insert(service.clone(), capacity);
        self.entries += 1;
        Ok(capacity)
    }
}
