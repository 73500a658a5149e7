//! The PostgreSQL booking writer: bookings decided and committed in batches, one transaction
//! per batch, by a few writer tasks per process.
//!
//! **Invariant:** a slot never holds more bookings than its capacity, across any number of
//! processes. A batch's transaction takes, in this order and each in one statement:
//!
//! 1. the advisory locks of its citizens and idempotency keys, sorted by hash
//!    ([`lock_names`]): a citizen's limits and a key's replay are decided by one writer at a
//!    time in the whole deployment;
//! 2. its reads: the bookings its keys made before, its citizens' holdings, and the
//!    capacities of its (office, service) pairs (`capacity.rs`);
//! 3. the `slot_loads` rows of its slots, locked in (office, slot) order ([`lock_slots`]),
//!    which returns each slot's latest committed count. No other writer can change a count
//!    until this transaction ends, so deciding against it is exact;
//!
//! then decides every request in arrival order with the domain's `decide_booking` (requests
//! of a batch see each other's seats and holdings; a key repeated in the batch replays the
//! first request that booked with it), draws the booking numbers, and writes the seats, the
//! booking rows and their confirmation messages in one statement. The seat update re-checks
//! each slot's count against the capacity in the database and the batch fails if any slot
//! would go past it. Each request is answered only after the commit. A batch that fails
//! before its commit (a deadlock, a lost connection) runs once more with fresh reads; one that
//! fails again, or fails in the commit itself, answers every request with the error.
//!
//! Arrays go in as PostgreSQL array literals bound as text (`$1::text::bigint[]`): the
//! store's `Any` driver binds no arrays, and so the writer needs no pool or row decoding of its
//! own.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use pishkhan_domain::access::Permit;
use pishkhan_domain::booking_decision::{BookingDecision, Holding, SlotLoad, decide_booking};
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::outbox::OutboxKind;
use pishkhan_domain::schedule::{BookingStatus, TrackingCode};
use sqlx::{AnyPool, Row};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::bookings::{
    BOOKING_COLS, BookingWriter, ask_of, ask_of_booking, booking_from_row, cancel_alone,
    holdings_of, lock_names, lock_slots, reschedule_alone, stored_loads,
};
use crate::capacity::Unknown;
use crate::sql::{AnyTx, SqlStore, corrupt};
use crate::{AuditContext, Booked, Booking, NewBooking, NewSlot, Result, StoreError};

/// Most requests decided and committed in one transaction: bounds a batch's statements and
/// how long its first request waits for its last.
const MAX_BATCH: usize = 256;
/// Requests waiting for a writer; beyond this, callers wait (backpressure).
const QUEUE_CAPACITY: usize = 8_192;
/// Batches in flight at once per process, each on its own connection: one decides and
/// writes while another waits for its commit to reach the disk.
const WRITERS: usize = 2;

/// One booking request, with what its row records of who asked.
struct Request {
    booking: NewBooking,
    /// `created_by`: the principal's audit name.
    actor: String,
    actor_staff_id: Option<i64>,
    /// The permit's action, as the booking row's creation audit names it.
    action: &'static str,
    ctx: AuditContext,
    reply: oneshot::Sender<Result<Booked>>,
}

/// Handle to the writer tasks. They stop when it is dropped (with the store).
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the writers on the store's pool.
    pub(crate) fn start(pool: AnyPool, tracking_key: [u8; 32]) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WRITERS {
            tokio::spawn(writer(pool.clone(), tracking_key, waiting.clone()));
        }
        Self { queue }
    }
}

fn stopped() -> StoreError {
    StoreError::Corrupt("the booking writer has stopped".into())
}

/// Takes what is waiting (at least one request, at most a batch, never waiting for more, so
/// a lone request is committed at once) and commits it, until the store is dropped.
async fn writer(pool: AnyPool, key: [u8; 32], waiting: Arc<Mutex<mpsc::Receiver<Request>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut numbers = Numbers::default();
    loop {
        // One writer collects at a time, while the others decide or wait for their commit.
        let taken = waiting.lock().await.recv_many(&mut batch, MAX_BATCH).await;
        if taken == 0 {
            return;
        }
        commit_batch(&pool, &key, &mut numbers, std::mem::take(&mut batch)).await;
    }
}

/// Why a batch's transaction did not commit.
enum Failed {
    /// Rolled back: nothing of it was committed, so it may run again.
    BeforeCommit(StoreError),
    /// The commit itself failed: it may have taken effect, so it must not run again.
    AtCommit(StoreError),
}

async fn commit_batch(pool: &AnyPool, key: &[u8; 32], numbers: &mut Numbers, batch: Vec<Request>) {
    let mut outcome = attempt(pool, key, numbers, &batch).await;
    if let Err(Failed::BeforeCommit(e)) = &outcome {
        tracing::warn!(error = ?e, requests = batch.len(), "booking batch rolled back; running it once more");
        outcome = attempt(pool, key, numbers, &batch).await;
    }
    match outcome {
        Ok(answers) => {
            for (request, answer) in batch.into_iter().zip(answers) {
                let _ = request.reply.send(answer);
            }
        }
        Err(Failed::BeforeCommit(e) | Failed::AtCommit(e)) => {
            tracing::error!(error = ?e, requests = batch.len(), "booking batch failed");
            for request in batch {
                let _ = request.reply.send(Err(copy_of(&e)));
            }
        }
    }
}

/// The batch's error for each of its requests: the kind is kept, since callers switch on it;
/// a driver error (not `Clone`) becomes one that carries its text.
fn copy_of(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound { entity } => StoreError::NotFound { entity },
        StoreError::Conflict { what } => StoreError::Conflict { what: what.clone() },
        StoreError::SlotFull => StoreError::SlotFull,
        StoreError::LimitReached { rule } => StoreError::LimitReached { rule: rule.clone() },
        StoreError::WrongState(w) => StoreError::WrongState(w.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        other => {
            let mut text = other.to_string();
            let mut cause = std::error::Error::source(other);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
                "the booking batch failed: {text}"
            ))))
        }
    }
}

/// Begins a batch's transaction. Its statements look rows up by key, for which a probe of
/// the key's index is always right; but a plan made while a table was small (just after a
/// deploy, and plans are cached per connection) scans it, and keeps scanning as it grows. So
/// scans and hash or merge joins are ruled out where an index can serve. Sent in the one round
/// trip of `BEGIN`, and undone at its end, so the pool's connections keep their defaults.
pub(crate) const BEGIN_KEYED: &str = "BEGIN; SET LOCAL enable_seqscan = off; \
    SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";

/// One transaction for the batch: the answers, each to be sent only once this returns.
async fn attempt(
    pool: &AnyPool,
    key: &[u8; 32],
    numbers: &mut Numbers,
    batch: &[Request],
) -> std::result::Result<Vec<Result<Booked>>, Failed> {
    let mut tx = pool
        .begin_with(BEGIN_KEYED)
        .await
        .map_err(|e| Failed::BeforeCommit(e.into()))?;
    match decide_and_write(&mut tx, key, numbers, batch).await {
        Ok(answers) => {
            tx.commit().await.map_err(|e| Failed::AtCommit(e.into()))?;
            Ok(answers)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(Failed::BeforeCommit(e))
        }
    }
}

async fn decide_and_write(
    tx: &mut AnyTx<'_>,
    key: &[u8; 32],
    numbers: &mut Numbers,
    batch: &[Request],
) -> Result<Vec<Result<Booked>>> {
    let mut names: Vec<&str> = Vec::with_capacity(batch.len() * 2);
    for r in batch {
        names.push(r.booking.national_code.as_str());
        names.extend(r.booking.idempotency_key.as_deref());
    }
    lock_names(tx, &names).await?;
    let mut facts = read_facts(tx, batch).await?;
    let verdicts = decide(batch, &mut facts);
    write(tx, key, numbers, batch, verdicts).await
}

/// One of a citizen's bookings as the decision sees it.
type Held = (ServiceCode, i64, BookingStatus);

/// What the batch's transaction read, under its locks.
struct Facts {
    /// The bookings the batch's idempotency keys made before it.
    priors: HashMap<String, Booking>,
    /// Per national code, the bookings that can matter to the batch's decisions.
    holdings: HashMap<String, Vec<Held>>,
    /// Per (office, service), the slot capacity, or which of the two is unknown.
    capacities: HashMap<(u32, ServiceCode), std::result::Result<u32, Unknown>>,
    /// Seats taken per (office, slot start), as locked.
    loads: HashMap<(u32, i64), u32>,
}

async fn read_facts(tx: &mut AnyTx<'_>, batch: &[Request]) -> Result<Facts> {
    let keys: Vec<&str> = batch
        .iter()
        .filter_map(|r| r.booking.idempotency_key.as_deref())
        .collect();
    let priors = if keys.is_empty() {
        HashMap::new()
    } else {
        priors_in(tx, &keys).await?
    };
    let holdings = holdings_in(tx, batch).await?;
    // A request whose key booked before is a replay: it takes no seat, so neither its
    // capacity nor its slot is needed.
    let seat_seekers: Vec<&NewBooking> = batch
        .iter()
        .map(|r| &r.booking)
        .filter(|b| {
            b.idempotency_key
                .as_ref()
                .is_none_or(|k| !priors.contains_key(k))
        })
        .collect();
    let mut pairs: Vec<(OfficeCode, &ServiceCode)> = seat_seekers
        .iter()
        .map(|b| (b.office, &b.service))
        .collect();
    pairs.sort_unstable_by(|a, b| (a.0.get(), a.1.as_str()).cmp(&(b.0.get(), b.1.as_str())));
    pairs.dedup();
    let capacities: HashMap<_, _> = if pairs.is_empty() {
        HashMap::new()
    } else {
        let found = crate::capacity::many_in_transaction(tx, &pairs).await?;
        pairs
            .iter()
            .map(|(o, s)| (o.get(), (*s).clone()))
            .zip(found)
            .collect()
    };
    let slots: Vec<(OfficeCode, i64)> = seat_seekers
        .iter()
        .filter(|b| {
            matches!(
                capacities.get(&(b.office.get(), b.service.clone())),
                Some(Ok(_))
            )
        })
        .map(|b| (b.office, b.slot_start_ms))
        .collect();
    let loads = if slots.is_empty() {
        HashMap::new()
    } else {
        lock_slots(tx, &slots).await?
    };
    Ok(Facts {
        priors,
        holdings,
        capacities,
        loads,
    })
}

/// The bookings `keys` made, by key.
async fn priors_in(tx: &mut AnyTx<'_>, keys: &[&str]) -> Result<HashMap<String, Booking>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLS}, idempotency_key FROM bookings \
         WHERE idempotency_key = ANY($1::text::text[])"
    )))
    .bind(text_array(keys.iter().map(|k| Some(*k))))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("idempotency_key")?, booking_from_row(r)?)))
        .collect()
}

/// The batch's citizens' bookings that can matter to its decisions: read from the earliest
/// window of the batch's slots, since the visit rule ignores the visits outside each slot's
/// own window.
async fn holdings_in(tx: &mut AnyTx<'_>, batch: &[Request]) -> Result<HashMap<String, Vec<Held>>> {
    let citizens: Vec<&str> = batch
        .iter()
        .map(|r| r.booking.national_code.as_str())
        .collect();
    let after_ms = batch
        .iter()
        .map(|r| {
            r.booking
                .rules
                .visits_matter_after_ms(r.booking.slot_start_ms)
        })
        .min()
        .unwrap_or(i64::MAX);
    Ok(holdings_of(tx, &citizens, after_ms)
        .await?
        .into_iter()
        .map(|(citizen, rows)| {
            let held = rows
                .into_iter()
                .map(|(_, service, slot_start_ms, status)| (service, slot_start_ms, status))
                .collect();
            (citizen, held)
        })
        .collect())
}

/// What the batch decided for one request.
enum Verdict {
    /// Take a seat in a slot that holds `capacity` for the service.
    Book {
        capacity: u32,
    },
    /// The key's booking, made before this batch.
    Replay(Booking),
    /// The key's booking, made by that earlier request of this batch.
    ReplayOf(usize),
    Refused(StoreError),
}

/// Decides each request in arrival order; an accepted one counts in the slot's load and the
/// citizen's holdings for the requests after it.
fn decide(batch: &[Request], facts: &mut Facts) -> Vec<Verdict> {
    let mut booked_by_key: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(batch.len());
    for (i, r) in batch.iter().enumerate() {
        let b = &r.booking;
        let key = b.idempotency_key.as_deref();
        let stored = key.and_then(|k| facts.priors.get(k));
        let earlier = key.and_then(|k| booked_by_key.get(k).copied());
        let prior = match (stored, earlier) {
            (Some(p), _) => Some(ask_of_booking(p)),
            (None, Some(j)) => Some(ask_of(&batch[j].booking)),
            (None, None) => None,
        };
        // A replay takes no seat: no capacity is needed to decide it.
        let load = if prior.is_some() {
            SlotLoad {
                booked: 0,
                capacity: 0,
            }
        } else {
            match seat_facts(facts, b) {
                Ok(load) => load,
                Err(e) => {
                    out.push(Verdict::Refused(e));
                    continue;
                }
            }
        };
        let held = facts
            .holdings
            .get(b.national_code.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let holdings: Vec<Holding<'_>> = held
            .iter()
            .map(|(service, slot_start_ms, status)| Holding {
                service,
                slot_start_ms: *slot_start_ms,
                status: *status,
            })
            .collect();
        let verdict = match decide_booking(&b.rules, &ask_of(b), prior.as_ref(), &holdings, load) {
            Ok(BookingDecision::Book) => Verdict::Book {
                capacity: load.capacity,
            },
            Ok(BookingDecision::Replay { .. }) => match (stored, earlier) {
                (Some(p), _) => Verdict::Replay(p.clone()),
                (None, Some(j)) => Verdict::ReplayOf(j),
                (None, None) => Verdict::Refused(corrupt("booking", "a replay without a prior")),
            },
            Err(refusal) => Verdict::Refused(refusal.into()),
        };
        if let Verdict::Book { .. } = verdict {
            *facts
                .loads
                .entry((b.office.get(), b.slot_start_ms))
                .or_insert(0) += 1;
            facts
                .holdings
                .entry(b.national_code.as_str().to_string())
                .or_default()
                .push((b.service.clone(), b.slot_start_ms, BookingStatus::Booked));
            if let Some(k) = key {
                booked_by_key.insert(k, i);
            }
        }
        out.push(verdict);
    }
    out
}

/// The slot's seats taken (as locked, plus this batch's so far) and its capacity for the
/// request's service.
fn seat_facts(facts: &Facts, b: &NewBooking) -> Result<SlotLoad> {
    let capacity = match facts.capacities.get(&(b.office.get(), b.service.clone())) {
        Some(Ok(capacity)) => *capacity,
        Some(Err(entity)) => return Err(StoreError::NotFound { entity }),
        None => return Err(corrupt("capacity", "not read for a request")),
    };
    let booked = facts
        .loads
        .get(&(b.office.get(), b.slot_start_ms))
        .copied()
        .ok_or_else(|| corrupt("slot load", "not locked for a request"))?;
    Ok(SlotLoad { booked, capacity })
}

/// Numbers the accepted requests, writes them, and turns the verdicts into answers.
async fn write(
    tx: &mut AnyTx<'_>,
    key: &[u8; 32],
    numbers: &mut Numbers,
    batch: &[Request],
    verdicts: Vec<Verdict>,
) -> Result<Vec<Result<Booked>>> {
    let accepted = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Book { .. }))
        .count();
    // Per request, the booking it made and its number.
    let mut made: Vec<Option<(i64, Booking)>> = vec![None; batch.len()];
    if accepted > 0 {
        numbers.reserve(tx, accepted).await?;
        for (i, v) in verdicts.iter().enumerate() {
            if let Verdict::Book { .. } = v {
                let seq = numbers
                    .take()
                    .ok_or_else(|| corrupt("booking numbers", "fewer than reserved"))?;
                made[i] = Some((seq, booking_of(&batch[i], seq, key)));
            }
        }
        insert_all(tx, batch, &verdicts, &made).await?;
    }
    let made_by = |i: usize| {
        made.get(i)
            .and_then(|m| m.as_ref())
            .map(|(_, b)| b.clone())
            .ok_or_else(|| corrupt("booking", "accepted but not made"))
    };
    Ok(verdicts
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Verdict::Book { .. } => made_by(i).map(Booked::New),
            Verdict::Replay(b) => Ok(Booked::Replayed(b)),
            Verdict::ReplayOf(j) => made_by(j).map(Booked::Replayed),
            Verdict::Refused(e) => Err(e),
        })
        .collect())
}

/// Booking numbers drawn from `booking_seq` ahead of need, a block at a time, so a batch
/// rarely spends a round trip on them. A number is used once or never: one drawn for a batch
/// that then fails is dropped, and those left when the process stops are gaps, as the
/// sequence's own are.
#[derive(Default)]
struct Numbers {
    /// Drawn and not used yet, largest first.
    free: Vec<i64>,
}

/// Numbers drawn when the block runs out, at least.
const NUMBERS_PER_DRAW: usize = 128;

impl Numbers {
    /// Makes sure `n` numbers are at hand.
    async fn reserve(&mut self, tx: &mut AnyTx<'_>, n: usize) -> Result<()> {
        if self.free.len() >= n {
            return Ok(());
        }
        let draw = (n - self.free.len()).max(NUMBERS_PER_DRAW);
        let rows = sqlx::query("SELECT nextval('booking_seq') AS n FROM generate_series(1, $1)")
            .bind(draw as i64)
            .fetch_all(&mut **tx)
            .await?;
        for r in &rows {
            self.free.push(r.try_get("n")?);
        }
        // Used smallest first, so a process's bookings are numbered in arrival order.
        self.free.sort_unstable_by(|a, b| b.cmp(a));
        Ok(())
    }

    fn take(&mut self) -> Option<i64> {
        self.free.pop()
    }
}

fn booking_of(r: &Request, seq: i64, key: &[u8; 32]) -> Booking {
    let b = &r.booking;
    Booking {
        tracking_code: TrackingCode::from_sequence(seq as u64, key),
        office: b.office,
        service: b.service.clone(),
        slot_start_ms: b.slot_start_ms,
        slot_end_ms: b.slot_end_ms,
        national_code: b.national_code.clone(),
        mobile: b.mobile.clone(),
        status: BookingStatus::Booked,
        created_at_ms: r.ctx.now_ms,
        updated_at_ms: r.ctx.now_ms,
        created_by: r.actor.clone(),
    }
}

/// One accepted request as `insert_all` writes it.
struct Accepted<'a> {
    request: &'a Request,
    seq: i64,
    booking: &'a Booking,
    /// The booking's confirmation, as the outbox holds it.
    message: crate::outbox::NewMessage,
}

/// Takes the seats, inserts the booking rows (each its own creation audit record, migration
/// 0009) and their confirmation messages, in one statement. The seat update re-checks each
/// slot's count against the capacity of the last request booked in it, which the decision
/// held it below; the statement reports how many slots and bookings it wrote, and anything
/// short of all of them fails the batch.
async fn insert_all(
    tx: &mut AnyTx<'_>,
    batch: &[Request],
    verdicts: &[Verdict],
    made: &[Option<(i64, Booking)>],
) -> Result<()> {
    // Per slot: seats taken by this batch, and the capacity of the last request that took one.
    let mut seats: HashMap<(u32, i64), (i64, i64)> = HashMap::new();
    let mut accepted = Vec::new();
    for ((request, v), booking) in batch.iter().zip(verdicts).zip(made) {
        let (Verdict::Book { capacity }, Some((seq, booking))) = (v, booking) else {
            continue;
        };
        let seat = seats
            .entry((booking.office.get(), booking.slot_start_ms))
            .or_insert((0, 0));
        *seat = (seat.0 + 1, i64::from(*capacity));
        accepted.push(Accepted {
            request,
            seq: *seq,
            booking,
            message: crate::outbox::booking_message(OutboxKind::BookingConfirmed, booking),
        });
    }
    let seats: Vec<((u32, i64), (i64, i64))> = seats.into_iter().collect();
    let payloads: Vec<String> = accepted
        .iter()
        .map(|a| a.message.payload.to_string())
        .collect();
    let ints = |f: fn(&Accepted<'_>) -> i64| int_array(accepted.iter().map(f));
    let texts =
        |f: for<'a> fn(&'a Accepted<'a>) -> Option<&'a str>| text_array(accepted.iter().map(f));
    // The seats go through the primary key (an upsert on rows `lock_slots` holds), never a
    // join the planner could turn into a scan; the filter is the capacity guard.
    let written = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH r AS MATERIALIZED (SELECT * FROM unnest($1::text::bigint[], $2::text::bigint[], \
           $3::text::bigint[], $4::text::bigint[]) AS r(office, slot, k, cap)), \
         seats AS (\
           INSERT INTO slot_loads (office_code, slot_start_ms, booked) \
           SELECT office, slot, k FROM r WHERE k <= cap ORDER BY office, slot \
           ON CONFLICT (office_code, slot_start_ms) DO UPDATE \
           SET booked = slot_loads.booked + excluded.booked \
           WHERE slot_loads.booked + excluded.booked <= (SELECT r.cap FROM r \
             WHERE r.office = excluded.office_code AND r.slot = excluded.slot_start_ms) \
           RETURNING 1), \
         made AS (\
           INSERT INTO bookings (seq, tracking_code, office_code, service_code, slot_start_ms, \
             slot_end_ms, national_code, mobile, status, created_at_ms, updated_at_ms, created_by, \
             idempotency_key, actor_staff_id, client_ip, request_id, audit_action) \
           SELECT seq, tracking_code, office_code, service_code, slot_start_ms, slot_end_ms, \
             national_code, mobile, 'booked', at_ms, at_ms, created_by, idempotency_key, \
             actor_staff_id, client_ip, request_id, audit_action \
           FROM unnest($5::text::bigint[], $6::text::text[], $7::text::bigint[], $8::text::text[], \
             $9::text::bigint[], $10::text::bigint[], $11::text::text[], $12::text::text[], \
             $13::text::bigint[], $14::text::text[], $15::text::text[], $16::text::bigint[], \
             $17::text::text[], $18::text::text[], $19::text::text[]) \
           AS b(seq, tracking_code, office_code, service_code, slot_start_ms, slot_end_ms, \
             national_code, mobile, at_ms, created_by, idempotency_key, actor_staff_id, \
             client_ip, request_id, audit_action) \
           RETURNING 1), \
         queued AS (\
           INSERT INTO outbox (kind, recipient, dedupe_key, payload_json, status, \
             next_attempt_at_ms, created_at_ms) \
           SELECT kind, recipient, dedupe_key, payload, 'pending', at_ms, at_ms \
           FROM unnest($20::text::text[], $21::text::text[], $22::text::text[], \
             $23::text::text[], $13::text::bigint[]) AS m(kind, recipient, dedupe_key, payload, at_ms)\
           {tail}) \
         SELECT (SELECT count(*) FROM seats) AS seats, (SELECT count(*) FROM made) AS made",
        tail = crate::outbox::OUTBOX_INSERT_TAIL,
    )))
    .bind(int_array(seats.iter().map(|((office, _), _)| i64::from(*office))))
    .bind(int_array(seats.iter().map(|((_, slot), _)| *slot)))
    .bind(int_array(seats.iter().map(|(_, (k, _))| *k)))
    .bind(int_array(seats.iter().map(|(_, (_, cap))| *cap)))
    .bind(ints(|a| a.seq))
    .bind(texts(|a| Some(a.booking.tracking_code.as_str())))
    .bind(ints(|a| i64::from(a.booking.office.get())))
    .bind(texts(|a| Some(a.booking.service.as_str())))
    .bind(ints(|a| a.booking.slot_start_ms))
    .bind(ints(|a| a.booking.slot_end_ms))
    .bind(texts(|a| Some(a.booking.national_code.as_str())))
    .bind(texts(|a| Some(a.booking.mobile.as_str())))
    .bind(ints(|a| a.booking.created_at_ms))
    .bind(texts(|a| Some(a.booking.created_by.as_str())))
    .bind(texts(|a| a.request.booking.idempotency_key.as_deref()))
    .bind(opt_int_array(accepted.iter().map(|a| a.request.actor_staff_id)))
    .bind(texts(|a| a.request.ctx.ip.as_deref()))
    .bind(texts(|a| a.request.ctx.request_id.as_deref()))
    .bind(texts(|a| Some(a.request.action)))
    .bind(texts(|a| Some(a.message.kind.as_str())))
    .bind(texts(|a| Some(a.message.recipient.as_str())))
    .bind(texts(|a| Some(a.message.dedupe_key.as_str())))
    .bind(text_array(payloads.iter().map(|p| Some(p.as_str()))))
    .fetch_one(&mut **tx)
    .await?;
    let (slots_taken, bookings_made): (i64, i64) =
        (written.try_get("seats")?, written.try_get("made")?);
    if slots_taken != seats.len() as i64 || bookings_made != accepted.len() as i64 {
        return Err(corrupt(
            "slot loads",
            "a seat the batch decided on was refused by the database",
        ));
    }
    Ok(())
}

/// A PostgreSQL array literal of `values` (`{1,2}`), bound as text and cast in the statement
/// (`$1::text::bigint[]`): the store's `Any` driver binds no arrays.
pub(crate) fn int_array(values: impl IntoIterator<Item = i64>) -> String {
    opt_int_array(values.into_iter().map(Some))
}

/// As [`int_array`], `None` being NULL.
pub(crate) fn opt_int_array(values: impl IntoIterator<Item = Option<i64>>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str("NULL"),
        }
    }
    out.push('}');
    out
}

/// A PostgreSQL array literal of `values` (`{"a","b\"c",NULL}`), bound as text and cast in
/// the statement (`$1::text::text[]`). Every element is quoted, with `"` and `\` escaped, so
/// any text (commas, braces, the word NULL) comes through as it is; `None` is NULL.
pub(crate) fn text_array<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Some(text) => {
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            None => out.push_str("NULL"),
        }
    }
    out.push('}');
    out
}

#[async_trait]
impl BookingWriter for GroupCommit {
    async fn loads(
        &self,
        store: &SqlStore,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32)>> {
        stored_loads(store, office, from_ms, to_ms).await
    }

    async fn book(
        &self,
        _store: &SqlStore,
        permit: &Permit,
        b: &NewBooking,
        ctx: &AuditContext,
    ) -> Result<Booked> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            booking: b.clone(),
            actor: permit.principal().audit_name(),
            actor_staff_id: permit.principal().staff_id(),
            action: permit.action().audit_name(),
            ctx: ctx.clone(),
            reply,
        };
        self.queue.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn cancel(
        &self,
        store: &SqlStore,
        permit: &Permit,
        current: &Booking,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        cancel_alone(store, permit, current, ctx).await
    }

    async fn reschedule(
        &self,
        store: &SqlStore,
        permit: &Permit,
        current: &Booking,
        to: &NewSlot,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        reschedule_alone(store, permit, current, to, ctx).await
    }

    /// The statuses are in the database already; there is no memory to tell.
    async fn observe_statuses(&self, _statuses: &[(TrackingCode, BookingStatus)]) -> Result<()> {
        Ok(())
    }

    /// Capacity is read inside each batch's transaction; there is nothing to drop.
    fn references_changed(&self, _office: Option<OfficeCode>) {}
}
