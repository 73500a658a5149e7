//! The embedded store's booking engine: capacity and citizen limits decided in memory by a
//! single writer, bookings made durable by group commit.
//!
//! **Invariant:** a slot never holds more bookings than its capacity. On SQLite one process
//! owns the database (`sqlite.rs` holds an OS lock), so one writer task may decide: it takes
//! a batch of requests, decides each against the in-memory counts in arrival order, writes the
//! accepted ones in one `BEGIN IMMEDIATE` transaction, and answers each request only after the
//! commit. If the commit fails, every decision of the batch is undone and every request in it
//! gets the error. The durable record (the `bookings` table) is enough to rebuild the counts
//! at start-up, so a crash loses nothing that was acknowledged.
//!
//! Capacities are the engine's own: computed from the office's policy and counters and the
//! service's handling minutes as the database holds them, kept in memory per office (a hash
//! lookup per booking) and dropped whenever the store commits a change to those inputs
//! (`BookingWriter::references_changed`, `capacity.rs`).

use std::collections::HashMap;

use pishkhan_domain::NationalCode;
use pishkhan_domain::booking_decision::{
    BookingDecision, BookingRefusal, Change, DAY_MS, Holding, SlotLoad, decide_booking,
    decide_cancel, decide_reschedule,
};
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::{BookingStatus, TrackingCode};
use sqlx::{AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::capacity::{CapacityCache, Stale};
use crate::memory_tables::{HeldTable, OfficeListing, SlotLoads};
use crate::sql::Arg;
use crate::sqlite_commit::{Batch, Committer, Guarded, Insert};
use crate::{AuditContext, Booked, Booking, NewBooking, Result, StoreError};

/// Most requests decided and committed together.
const MAX_BATCH: usize = 2_000;
/// Requests waiting for the writer; beyond this, callers wait (backpressure).
const QUEUE_CAPACITY: usize = 65_536;
/// Visit limits look this far back and ahead; older bookings need not be in memory.
const MEMORY_HORIZON_MS: i64 = 60 * DAY_MS;

type Reply<T> = oneshot::Sender<Result<T>>;

enum Command {
    Book {
        booking: Box<NewBooking>,
        who: Who,
        ctx: AuditContext,
        reply: Reply<Booked>,
    },
    Cancel {
        code: TrackingCode,
        office: OfficeCode,
        who: Who,
        ctx: AuditContext,
        reply: Reply<Booking>,
    },
    Reschedule {
        code: TrackingCode,
        office: OfficeCode,
        to: crate::NewSlot,
        who: Who,
        ctx: AuditContext,
        reply: Reply<Booking>,
    },
    /// The queue moved bookings on (checked in, completed, no-show); memory follows the
    /// durable record, which the queue's transaction already changed.
    Statuses {
        /// Booking numbers and their new statuses.
        updates: Vec<(i64, BookingStatus)>,
        reply: oneshot::Sender<()>,
    },
    Loads {
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
        reply: oneshot::Sender<Vec<(i64, u32)>>,
    },
    /// Numbers of the live bookings a listing shows.
    Listing {
        of: Listing,
        reply: oneshot::Sender<Vec<i64>>,
    },
    /// Archives up to `limit` live bookings whose slot starts before `before_ms`.
    Archive {
        before_ms: i64,
        limit: usize,
        reply: Reply<u64>,
    },
}

/// Which live bookings a listing asks for.
pub(crate) enum Listing {
    Citizen(NationalCode),
    Office {
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    },
}

/// Handle to the writer task.
pub(crate) struct Engine {
    tx: mpsc::Sender<Command>,
    /// Capacity inputs the store changed, for the writer to drop before its next decision.
    stale: std::sync::Arc<Stale>,
    /// Tracking codes to booking numbers, which memory is keyed by.
    key: [u8; 32],
}

/// Numbers and codes of new bookings.
struct Numbering {
    next_seq: u64,
    key: [u8; 32],
}

/// One citizen's live booking numbers: most citizens have one, kept without an allocation of
/// its own, so a surge's millions of citizens cost a map entry each.
enum Seqs {
    One(i64),
    // Boxed so the enum is two words, not four: millions of `One`s pay for the rare `Many`.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<i64>>),
}

impl Seqs {
    fn as_slice(&self) -> &[i64] {
        match self {
            Seqs::One(seq) => std::slice::from_ref(seq),
            Seqs::Many(seqs) => seqs,
        }
    }

    fn push(&mut self, seq: i64) {
        match self {
            Seqs::One(first) => *self = Seqs::Many(Box::new(vec![*first, seq])),
            Seqs::Many(seqs) => seqs.push(seq),
        }
    }

    /// Drops the numbers `gone` picks; true when none is left (the caller drops the entry).
    fn remove_where(&mut self, gone: impl Fn(i64) -> bool) -> bool {
        match self {
            Seqs::One(seq) => gone(*seq),
            Seqs::Many(seqs) => {
                seqs.retain(|s| !gone(*s));
                if let [only] = seqs.as_slice() {
                    *self = Seqs::One(*only);
                    return false;
                }
                seqs.is_empty()
            }
        }
    }
}

/// A national code as memory keys it: its ten digits as one number.
fn citizen_key(national_code: &NationalCode) -> u64 {
    national_code
        .as_str()
        .bytes()
        .fold(0u64, |n, d| n * 10 + u64::from(d.wrapping_sub(b'0')))
}

/// What memory keeps of a booking that still counts (booked, checked in or completed): a few
/// numbers, so a surge's millions of bookings fit in memory.
#[derive(Clone)]
struct Held {
    office: u32,
    slot_start_ms: i64,
    /// Index into [`State::services`].
    service: u16,
    citizen: u64,
    status: BookingStatus,
}

// A surge's millions of records are sized by this: keep it at three words.
const _: () = assert!(std::mem::size_of::<Option<Held>>() == 24);

#[derive(Default)]
struct State {
    /// Seats taken per (office, slot start).
    loads: SlotLoads,
    /// Booking number → booking, for those that hold a seat.
    held: HeldTable<Held>,
    /// Citizen → numbers of every live (unarchived) booking of theirs, whatever its status.
    /// The held ones among them are the citizen's holdings for the limits; all of them are the
    /// citizen's listing (SQLite keeps no index of its own on live rows: migration 0011).
    citizens: HashMap<u64, Seqs>,
    /// Every live booking as (office, slot start, number), whatever its status.
    listed_by_office: OfficeListing,
    /// Service codes met so far, and where each sits in the list.
    services: Vec<ServiceCode>,
    service_index: HashMap<ServiceCode, u16>,
    /// Idempotency key → the booking it made, while that booking's commit is under way; a
    /// committed one is found in the durable record, so the map holds a batch or two at most.
    idempotency: HashMap<String, Booking>,
    /// Slot capacities per office and service, loaded on first use, dropped on a change.
    capacities: CapacityCache,
}

impl State {
    /// The index of `service` in [`State::services`], adding it when new.
    fn service_id(&mut self, service: &ServiceCode) -> Result<u16> {
        if let Some(i) = self.service_index.get(service) {
            return Ok(*i);
        }
        let i = u16::try_from(self.services.len())
            .map_err(|_| StoreError::Corrupt("more services than the engine can index".into()))?;
        self.services.push(service.clone());
        self.service_index.insert(service.clone(), i);
        Ok(i)
    }

    /// Counts a live booking's seat and limits.
    fn hold(&mut self, seq: i64, h: Held) {
        self.loads.add(h.office, h.slot_start_ms);
        self.held.insert(seq, h);
    }

    /// Indexes a live booking for the listings (and for its citizen's holdings).
    fn list(&mut self, citizen: u64, office: u32, slot_start_ms: i64, seq: i64) {
        match self.citizens.get_mut(&citizen) {
            Some(seqs) => seqs.push(seq),
            None => {
                self.citizens.insert(citizen, Seqs::One(seq));
            }
        }
        self.listed_by_office.insert(office, slot_start_ms, seq);
    }

    fn unlist(&mut self, citizen: u64, office: u32, slot_start_ms: i64, seq: i64) {
        if let Some(seqs) = self.citizens.get_mut(&citizen)
            && seqs.remove_where(|s| s == seq)
        {
            self.citizens.remove(&citizen);
        }
        self.listed_by_office.remove(office, slot_start_ms, seq);
    }

    /// Stops counting a booking's seat and limits; it stays listed.
    fn release(&mut self, seq: i64) -> Option<Held> {
        let h = self.held.remove(seq)?;
        self.loads.take(h.office, h.slot_start_ms);
        Some(h)
    }

    fn listing(&self, of: &Listing) -> Vec<i64> {
        match of {
            Listing::Citizen(national_code) => self
                .citizens
                .get(&citizen_key(national_code))
                .map(|seqs| seqs.as_slice().to_vec())
                .unwrap_or_default(),
            Listing::Office {
                office,
                from_ms,
                to_ms,
            } => self.listed_by_office.range(office.get(), *from_ms, *to_ms),
        }
    }

    /// The bookings memory holds for a citizen, in the decision's terms, without `except`.
    fn holdings(&self, citizen: u64, except: Option<i64>) -> Vec<Holding<'_>> {
        let Some(seqs) = self.citizens.get(&citizen) else {
            return Vec::new();
        };
        seqs.as_slice()
            .iter()
            .filter(|s| Some(**s) != except)
            .filter_map(|s| self.held.get(*s))
            .filter_map(|h| {
                Some(Holding {
                    service: self.services.get(usize::from(h.service))?,
                    slot_start_ms: h.slot_start_ms,
                    status: h.status,
                })
            })
            .collect()
    }

    fn load(&self, office: u32, slot_start_ms: i64, capacity: u32) -> SlotLoad {
        SlotLoad {
            booked: self.loads.get(office, slot_start_ms),
            capacity,
        }
    }

    /// What memory holds of booking `seq` at `office`, for a change's decision: `None` when it
    /// no longer counts. A booking of another office is refused as its status is.
    fn current(&self, seq: i64, office: OfficeCode, change: Change) -> Result<Option<&Held>> {
        match self.held.get(seq) {
            Some(h) if h.office != office.get() => Err(BookingRefusal::NotBooked {
                change,
                status: Some(h.status),
            }
            .into()),
            held => Ok(held),
        }
    }

    /// Moves a held booking's seat to `to` if the decision allows it, `capacity` being what
    /// the new slot holds for the booking's service. Returns the old slot start.
    fn move_seat(
        &mut self,
        seq: i64,
        office: OfficeCode,
        to: &crate::NewSlot,
        capacity: u32,
    ) -> Result<i64> {
        let (current, others, load) = match self.current(seq, office, Change::Reschedule)? {
            Some(h) => (
                Some((h.status, h.slot_start_ms)),
                self.holdings(h.citizen, Some(seq)),
                self.load(h.office, to.slot_start_ms, capacity),
            ),
            None => (
                None,
                Vec::new(),
                self.load(office.get(), to.slot_start_ms, capacity),
            ),
        };
        decide_reschedule(&to.rules, current, to.slot_start_ms, &others, load)?;
        drop(others);
        // An accepted reschedule had a booked booking to move.
        let Some((_, from_ms)) = current else {
            return Err(StoreError::Corrupt(
                "a reschedule accepted without a booking".into(),
            ));
        };
        self.move_held(seq, from_ms, to.slot_start_ms);
        Ok(from_ms)
    }

    /// Moves a held booking's seat from the slot at `from_ms` to the one at `to_ms`.
    fn move_held(&mut self, seq: i64, from_ms: i64, to_ms: i64) {
        let Some(h) = self.held.get_mut(seq) else {
            return;
        };
        let office = h.office;
        h.slot_start_ms = to_ms;
        self.loads.take(office, from_ms);
        self.loads.add(office, to_ms);
        if self.listed_by_office.remove(office, from_ms, seq) {
            self.listed_by_office.insert(office, to_ms, seq);
        }
    }

    /// Decides a booking against memory: the citizen's holdings and the slot's load, with
    /// `capacity` seats for its service.
    fn decide(
        &self,
        b: &NewBooking,
        prior: Option<&Booking>,
        capacity: u32,
    ) -> Result<BookingDecision> {
        Ok(decide_booking(
            &b.rules,
            &crate::bookings::ask_of(b),
            prior.map(crate::bookings::ask_of_booking).as_ref(),
            &self.holdings(citizen_key(&b.national_code), None),
            self.load(b.office.get(), b.slot_start_ms, capacity),
        )?)
    }
}

/// Who asks for a change, under which action: what its audit record names.
pub(crate) struct Who {
    name: String,
    staff_id: Option<i64>,
    action: &'static str,
}

impl Who {
    fn of(permit: &pishkhan_domain::access::Permit) -> Self {
        let p = permit.principal();
        Self {
            name: p.audit_name(),
            staff_id: p.staff_id(),
            action: permit.action().audit_name(),
        }
    }
}

/// Who made a booking, from where and under which action: its row's audit columns.
struct CreationAudit {
    staff_id: Option<i64>,
    ip: Option<String>,
    request_id: Option<String>,
    action: &'static str,
}

/// One decided change, kept so a failed commit can be undone.
enum Decided {
    Booked {
        seq: i64,
        booking: Booking,
        key: Option<String>,
        /// The creation's audit record, written into the booking's own row.
        audit: CreationAudit,
    },
    Cancelled {
        seq: i64,
        code: String,
        held: Held,
        booking: Booking,
    },
    Rescheduled {
        seq: i64,
        code: String,
        from_ms: i64,
        booking: Booking,
    },
}

impl Engine {
    /// Rebuilds memory from the durable record, then starts the writer.
    pub(crate) async fn start(
        pool: AnyPool,
        path: &std::path::Path,
        key: [u8; 32],
        now_ms: i64,
    ) -> Result<Self> {
        let committer = Committer::start(path)?;
        let state = rebuild(&pool, now_ms).await?;
        let next: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM bookings")
            .fetch_one(&pool)
            .await?
            .try_get("n")?;
        let numbering = Numbering {
            next_seq: next as u64,
            key,
        };
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let stale = std::sync::Arc::new(Stale::default());
        tokio::spawn(writer(pool, committer, state, numbering, stale.clone(), rx));
        Ok(Self { tx, stale, key })
    }

    async fn send<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| StoreError::Corrupt("the booking engine has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Corrupt("the booking engine has stopped".into()))
    }

    pub(crate) async fn book(
        &self,
        booking: &NewBooking,
        who: Who,
        ctx: &AuditContext,
    ) -> Result<Booked> {
        self.send(|reply| Command::Book {
            booking: Box::new(booking.clone()),
            who,
            ctx: ctx.clone(),
            reply,
        })
        .await?
    }

    pub(crate) async fn cancel(
        &self,
        code: &TrackingCode,
        office: OfficeCode,
        who: Who,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        self.send(|reply| Command::Cancel {
            code: code.clone(),
            office,
            who,
            ctx: ctx.clone(),
            reply,
        })
        .await?
    }

    pub(crate) async fn reschedule(
        &self,
        code: &TrackingCode,
        office: OfficeCode,
        to: &crate::NewSlot,
        who: Who,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        self.send(|reply| Command::Reschedule {
            code: code.clone(),
            office,
            to: to.clone(),
            who,
            ctx: ctx.clone(),
            reply,
        })
        .await?
    }

    pub(crate) async fn observe_statuses(
        &self,
        updates: &[(TrackingCode, BookingStatus)],
    ) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let updates = updates
            .iter()
            .map(|(c, s)| (c.to_sequence(&self.key) as i64, *s))
            .collect();
        self.send(|reply| Command::Statuses { updates, reply })
            .await
    }

    pub(crate) async fn listing(&self, of: Listing) -> Result<Vec<i64>> {
        self.send(|reply| Command::Listing { of, reply }).await
    }

    pub(crate) async fn archive(&self, before_ms: i64, limit: usize) -> Result<u64> {
        self.send(|reply| Command::Archive {
            before_ms,
            limit,
            reply,
        })
        .await?
    }

    pub(crate) async fn loads(
        &self,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32)>> {
        self.send(|reply| Command::Loads {
            office,
            from_ms,
            to_ms,
            reply,
        })
        .await
    }
}

/// Whether a booking in this status holds its seat (and counts for the citizen's limits).
fn takes_seat(status: BookingStatus) -> bool {
    matches!(
        status,
        BookingStatus::Booked | BookingStatus::CheckedIn | BookingStatus::Completed
    )
}

/// Memory from the live rows (`bookings_live`, in number order): every one is listed, and
/// those that count and lie within the horizon are held.
async fn rebuild(pool: &AnyPool, now_ms: i64) -> Result<State> {
    let mut state = State::default();
    let rows = sqlx::query(
        "SELECT seq, office_code, service_code, slot_start_ms, national_code, status \
         FROM bookings WHERE archived = 0 ORDER BY seq",
    )
    .fetch_all(pool)
    .await?;
    let horizon = now_ms - MEMORY_HORIZON_MS;
    for r in rows {
        let seq: i64 = r.try_get("seq")?;
        let status: String = r.try_get("status")?;
        let status =
            BookingStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(status.clone()))?;
        let office = r.try_get::<i64, _>("office_code")? as u32;
        let slot_start_ms: i64 = r.try_get("slot_start_ms")?;
        let national_code = NationalCode::parse(&r.try_get::<String, _>("national_code")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let citizen = citizen_key(&national_code);
        state.list(citizen, office, slot_start_ms, seq);
        if !takes_seat(status) || slot_start_ms <= horizon {
            continue;
        }
        let service = ServiceCode::parse(&r.try_get::<String, _>("service_code")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let held = Held {
            office,
            slot_start_ms,
            service: state.service_id(&service)?,
            citizen,
            status,
        };
        state.hold(seq, held);
    }
    Ok(state)
}

async fn writer(
    pool: AnyPool,
    committer: Committer,
    mut state: State,
    mut numbering: Numbering,
    stale: std::sync::Arc<Stale>,
    mut rx: mpsc::Receiver<Command>,
) {
    // Deciding a batch overlaps the commit of the one before it; answers wait for their own
    // commit, and commits run in decision order.
    let mut in_flight: Option<InFlight> = None;
    loop {
        let first = match in_flight.as_mut() {
            None => rx.recv().await,
            Some(f) => tokio::select! {
                biased;
                outcome = &mut f.commit => {
                    if let Some(f) = in_flight.take() {
                        f.settle_with(&mut state, outcome.map_err(stopped).and_then(|r| r));
                    }
                    continue;
                }
                next = rx.recv() => next,
            },
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        // Anything but new bookings reads the durable record or reports memory to a reader:
        // it waits until what memory holds is committed.
        if batch.iter().any(|c| !matches!(c, Command::Book { .. }))
            && let Some(f) = in_flight.take()
        {
            f.finish(&mut state).await;
        }
        let mut decided =
            process(&pool, &committer, &mut state, &mut numbering, &stale, batch).await;
        if let Some(mut previous) = in_flight.take() {
            let outcome = previous.wait().await;
            if let Err(e) = &outcome {
                // This batch was decided on top of the failed one: both are undone, newest
                // first.
                decided.fail(&mut state, e);
                previous.settle_with(&mut state, outcome);
                continue;
            }
            previous.settle_with(&mut state, outcome);
        }
        if !decided.decided.is_empty() {
            let commit = committer.submit(commit_batch(
                &decided.decided,
                std::mem::take(&mut decided.audit_rows),
            ));
            in_flight = Some(InFlight::new(decided, commit));
        } else {
            decided.answer();
        }
    }
    if let Some(f) = in_flight.take() {
        f.finish(&mut state).await;
    }
}

fn stopped(_: oneshot::error::RecvError) -> StoreError {
    StoreError::Corrupt("the commit thread has stopped".into())
}

struct Pending<T> {
    reply: Reply<T>,
    outcome: Result<T>,
}

/// A decided batch: its changes to memory, the writes that make them durable, and the answers
/// that wait for those writes.
#[derive(Default)]
struct DecidedBatch {
    decided: Vec<Decided>,
    audit_rows: Vec<Vec<Arg>>,
    booked_replies: Vec<Pending<Booked>>,
    cancel_replies: Vec<Pending<Booking>>,
}

impl DecidedBatch {
    fn answer(self) {
        for p in self.booked_replies {
            let _ = p.reply.send(p.outcome);
        }
        for p in self.cancel_replies {
            let _ = p.reply.send(p.outcome);
        }
    }

    /// Undoes the batch's decisions and answers every accepted request with the failure.
    fn fail(mut self, state: &mut State, e: &StoreError) {
        tracing::error!(error = %e, "booking batch failed to commit; undoing its decisions");
        undo(state, &self.decided);
        let message = e.to_string();
        for p in &mut self.booked_replies {
            if p.outcome.is_ok() {
                p.outcome = Err(StoreError::Corrupt(format!("commit failed: {message}")));
            }
        }
        for p in &mut self.cancel_replies {
            if p.outcome.is_ok() {
                p.outcome = Err(StoreError::Corrupt(format!("commit failed: {message}")));
            }
        }
        self.answer();
    }
}

/// A batch whose commit is under way.
struct InFlight {
    batch: DecidedBatch,
    commit: oneshot::Receiver<Result<()>>,
}

impl InFlight {
    fn new(batch: DecidedBatch, commit: crate::sqlite_commit::Commit) -> Self {
        Self {
            batch,
            commit: commit.into_receiver(),
        }
    }

    async fn wait(&mut self) -> Result<()> {
        (&mut self.commit).await.map_err(stopped).and_then(|r| r)
    }

    fn settle_with(self, state: &mut State, outcome: Result<()>) {
        match outcome {
            Ok(()) => {
                for d in &self.batch.decided {
                    if let Decided::Booked { key: Some(k), .. } = d {
                        state.idempotency.remove(k);
                    }
                }
                self.batch.answer()
            }
            Err(e) => self.batch.fail(state, &e),
        }
    }

    async fn finish(mut self, state: &mut State) {
        let outcome = self.wait().await;
        self.settle_with(state, outcome);
    }
}

/// Decides a batch against memory, in arrival order; reads and status notes are answered at
/// once, changes when their commit ends.
async fn process(
    pool: &AnyPool,
    committer: &Committer,
    state: &mut State,
    numbering: &mut Numbering,
    stale: &Stale,
    batch: Vec<Command>,
) -> DecidedBatch {
    let mut decided: Vec<Decided> = Vec::new();
    let mut booked_replies: Vec<Pending<Booked>> = Vec::new();
    let mut cancel_replies: Vec<Pending<Booking>> = Vec::new();
    let mut audit_rows: Vec<Vec<Arg>> = Vec::new();

    for cmd in batch {
        match cmd {
            Command::Statuses { updates, reply } => {
                for (seq, status) in updates {
                    match status {
                        // A no-show stops counting, as the rebuild from the table would have it.
                        BookingStatus::NoShow | BookingStatus::Cancelled => {
                            state.release(seq);
                        }
                        other => {
                            if let Some(h) = state.held.get_mut(seq) {
                                h.status = other;
                            }
                        }
                    }
                }
                let _ = reply.send(());
            }
            Command::Listing { of, reply } => {
                let _ = reply.send(state.listing(&of));
            }
            Command::Archive {
                before_ms,
                limit,
                reply,
            } => {
                let _ = reply.send(archive(committer, state, before_ms, limit).await);
            }
            Command::Loads {
                office,
                from_ms,
                to_ms,
                reply,
            } => {
                // Reads see only committed seats: a batch is decided after them.
                let _ = reply.send(state.loads.range(office.get(), from_ms, to_ms));
            }
            Command::Book {
                booking,
                who,
                ctx,
                reply,
            } => {
                let outcome =
                    book_one(pool, state, numbering, stale, &booking, &who.name, &ctx).await;
                if let Ok(Booked::New(b)) = &outcome {
                    decided.push(Decided::Booked {
                        seq: b.tracking_code.to_sequence(&numbering.key) as i64,
                        booking: b.clone(),
                        key: booking.idempotency_key.clone(),
                        audit: CreationAudit {
                            staff_id: who.staff_id,
                            ip: ctx.ip,
                            request_id: ctx.request_id,
                            action: who.action,
                        },
                    });
                }
                booked_replies.push(Pending { reply, outcome });
            }
            Command::Reschedule {
                code,
                office,
                to,
                who,
                ctx,
                reply,
            } => {
                let seq = code.to_sequence(&numbering.key) as i64;
                // The held booking's service decides the new slot's capacity; a booking memory
                // doesn't hold is refused without one.
                let service = state
                    .held
                    .get(seq)
                    .and_then(|h| state.services.get(usize::from(h.service)))
                    .cloned();
                let capacity = match service {
                    Some(service) => {
                        state
                            .capacities
                            .capacity(pool, stale, office, &service)
                            .await
                    }
                    None => Ok(0),
                };
                let outcome = match capacity
                    .and_then(|capacity| state.move_seat(seq, office, &to, capacity))
                {
                    Ok(from_ms) => match load_booking(pool, &numbering.key, &code).await {
                        Ok(b) => Ok((from_ms, b)),
                        Err(e) => {
                            state.move_held(seq, to.slot_start_ms, from_ms);
                            Err(e)
                        }
                    },
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok((from_ms, b)) => {
                        let moved = Booking {
                            slot_start_ms: to.slot_start_ms,
                            slot_end_ms: to.slot_end_ms,
                            updated_at_ms: ctx.now_ms,
                            ..b
                        };
                        audit_rows.push(audit_args(
                            &ctx,
                            &who,
                            &format!("booking:{}", code.as_str()),
                            serde_json::json!({ "rescheduled_from_ms": from_ms, "to_ms": to.slot_start_ms }),
                        ));
                        decided.push(Decided::Rescheduled {
                            seq,
                            code: code.as_str().to_string(),
                            from_ms,
                            booking: moved.clone(),
                        });
                        cancel_replies.push(Pending {
                            reply,
                            outcome: Ok(moved),
                        });
                    }
                    Err(e) => cancel_replies.push(Pending {
                        reply,
                        outcome: Err(e),
                    }),
                }
            }
            Command::Cancel {
                code,
                office,
                who,
                ctx,
                reply,
            } => {
                let seq = code.to_sequence(&numbering.key) as i64;
                let outcome = state
                    .current(seq, office, Change::Cancel)
                    .and_then(|h| Ok(decide_cancel(h.map(|h| h.status))?))
                    .and_then(|()| {
                        state
                            .release(seq)
                            .map(|held| (held, ctx.now_ms))
                            .ok_or_else(|| StoreError::Corrupt("held booking vanished".into()))
                    });
                match outcome {
                    Ok((held, _)) => {
                        let booking = match load_booking(pool, &numbering.key, &code).await {
                            Ok(b) => Booking {
                                status: BookingStatus::Cancelled,
                                updated_at_ms: ctx.now_ms,
                                ..b
                            },
                            Err(e) => {
                                state.hold(seq, held);
                                cancel_replies.push(Pending {
                                    reply,
                                    outcome: Err(e),
                                });
                                continue;
                            }
                        };
                        audit_rows.push(audit_args(
                            &ctx,
                            &who,
                            &format!("booking:{}", code.as_str()),
                            serde_json::json!({ "cancelled": true }),
                        ));
                        decided.push(Decided::Cancelled {
                            seq,
                            code: code.as_str().to_string(),
                            held,
                            booking: booking.clone(),
                        });
                        cancel_replies.push(Pending {
                            reply,
                            outcome: Ok(booking),
                        });
                    }
                    Err(e) => cancel_replies.push(Pending {
                        reply,
                        outcome: Err(e),
                    }),
                }
            }
        }
    }

    DecidedBatch {
        decided,
        audit_rows,
        booked_replies,
        cancel_replies,
    }
}

/// Decides one booking against memory and, when accepted, records it there.
async fn book_one(
    pool: &AnyPool,
    state: &mut State,
    numbering: &mut Numbering,
    stale: &Stale,
    b: &NewBooking,
    actor: &str,
    ctx: &AuditContext,
) -> Result<Booked> {
    let prior = match &b.idempotency_key {
        Some(key) => match state.idempotency.get(key) {
            Some(existing) => Some(existing.clone()),
            // Keys of committed bookings are found in the durable record.
            None => load_by_key(pool, key).await?,
        },
        None => None,
    };
    // Counts older than the memory horizon were not rebuilt, so such slots can't be decided
    // (a replay takes no seat and needs no counts).
    if prior.is_none() && b.slot_start_ms < ctx.now_ms - MEMORY_HORIZON_MS {
        return Err(StoreError::wrong_state(
            crate::StateRule::SlotTooOld,
            "the slot is too far in the past to book",
        ));
    }
    // A replay takes no seat: no capacity is needed to decide it.
    let capacity = match prior {
        Some(_) => 0,
        None => {
            state
                .capacities
                .capacity(pool, stale, b.office, &b.service)
                .await?
        }
    };
    let decision = state.decide(b, prior.as_ref(), capacity)?;
    if let (BookingDecision::Replay { .. }, Some(existing)) = (decision, prior) {
        // Whether the retry matches its first request is the caller's to answer
        // (`idempotency_key_reused`); the store returns the first booking either way.
        return Ok(Booked::Replayed(existing));
    }
    // Numbers of undone batches are skipped, never reused: the next start resumes after the
    // highest stored one.
    let seq = numbering.next_seq;
    numbering.next_seq += 1;
    let tracking_code = TrackingCode::from_sequence(seq, &numbering.key);
    let booking = Booking {
        tracking_code: tracking_code.clone(),
        office: b.office,
        service: b.service.clone(),
        slot_start_ms: b.slot_start_ms,
        slot_end_ms: b.slot_end_ms,
        national_code: b.national_code.clone(),
        mobile: b.mobile.clone(),
        status: BookingStatus::Booked,
        created_at_ms: ctx.now_ms,
        updated_at_ms: ctx.now_ms,
        created_by: actor.to_string(),
    };
    let citizen = citizen_key(&b.national_code);
    let held = Held {
        office: b.office.get(),
        slot_start_ms: b.slot_start_ms,
        service: state.service_id(&b.service)?,
        citizen,
        status: BookingStatus::Booked,
    };
    state.list(citizen, b.office.get(), b.slot_start_ms, seq as i64);
    state.hold(seq as i64, held);
    if let Some(key) = &b.idempotency_key {
        state.idempotency.insert(key.clone(), booking.clone());
    }
    Ok(Booked::New(booking))
}

/// Marks up to `limit` live bookings of slots before `before_ms` archived in one
/// transaction, then drops them from memory. They enter SQLite's citizen and office indexes
/// here, in one batch off the booking path.
async fn archive(
    committer: &Committer,
    state: &mut State,
    before_ms: i64,
    limit: usize,
) -> Result<u64> {
    let old = state.listed_by_office.older_than(before_ms, limit);
    if old.is_empty() {
        return Ok(0);
    }
    let updates = old
        .iter()
        .map(|(_, _, seq)| Guarded {
            sql: "UPDATE bookings SET archived = 1 WHERE seq = ? AND archived = 0",
            args: vec![Arg::Int(*seq)],
            what: format!("booking number {seq} was archived meanwhile"),
        })
        .collect();
    committer
        .commit(Batch {
            updates,
            ..Batch::default()
        })
        .await?;
    let archived: std::collections::HashSet<i64> = old.iter().map(|(_, _, seq)| *seq).collect();
    for (office, slot, seq) in &old {
        state.listed_by_office.remove(*office, *slot, *seq);
        state.release(*seq);
    }
    state
        .citizens
        .retain(|_, seqs| !seqs.remove_where(|s| archived.contains(&s)));
    // Seats of archived slots are no longer asked about.
    state.loads.forget_empty_before(before_ms);
    Ok(old.len() as u64)
}

fn undo(state: &mut State, decided: &[Decided]) {
    for d in decided.iter().rev() {
        match d {
            Decided::Booked {
                seq, key, booking, ..
            } => {
                state.release(*seq);
                state.unlist(
                    citizen_key(&booking.national_code),
                    booking.office.get(),
                    booking.slot_start_ms,
                    *seq,
                );
                if let Some(k) = key {
                    state.idempotency.remove(k);
                }
            }
            Decided::Cancelled { seq, held, .. } => state.hold(*seq, held.clone()),
            Decided::Rescheduled {
                seq,
                from_ms,
                booking,
                ..
            } => state.move_held(*seq, booking.slot_start_ms, *from_ms),
        }
    }
}

fn audit_args(ctx: &AuditContext, who: &Who, target: &str, detail: serde_json::Value) -> Vec<Arg> {
    vec![
        Arg::Int(ctx.now_ms),
        Arg::Text(who.name.clone()),
        Arg::OptInt(who.staff_id),
        Arg::Text(who.action.to_string()),
        Arg::Text(target.to_string()),
        Arg::OptText(ctx.ip.clone()),
        Arg::OptText(ctx.request_id.clone()),
        Arg::Text(detail.to_string()),
    ]
}

/// The batch's writes as one transaction: new bookings (their rows are also their creation's
/// audit record), the guarded cancellations and moves, their messages and audit rows.
fn commit_batch(decided: &[Decided], audit_rows: Vec<Vec<Arg>>) -> Batch {
    let bookings: Vec<Vec<Arg>> = decided
        .iter()
        .filter_map(|d| match d {
            Decided::Booked {
                seq,
                booking: b,
                key: idempotency_key,
                audit,
            } => Some(vec![
                Arg::Int(*seq),
                Arg::Text(b.tracking_code.as_str().to_string()),
                Arg::Int(i64::from(b.office.get())),
                Arg::Text(b.service.as_str().to_string()),
                Arg::Int(b.slot_start_ms),
                Arg::Int(b.slot_end_ms),
                Arg::Text(b.national_code.as_str().to_string()),
                Arg::Text(b.mobile.as_str().to_string()),
                Arg::Text("booked".to_string()),
                Arg::Int(b.created_at_ms),
                Arg::Int(b.updated_at_ms),
                Arg::Text(b.created_by.clone()),
                Arg::OptText(idempotency_key.clone()),
                Arg::OptInt(audit.staff_id),
                Arg::OptText(audit.ip.clone()),
                Arg::OptText(audit.request_id.clone()),
                Arg::Text(audit.action.to_string()),
            ]),
            Decided::Cancelled { .. } | Decided::Rescheduled { .. } => None,
        })
        .collect();
    let updates = decided
        .iter()
        .filter_map(|d| match d {
            // The queue may have checked the citizen in since memory decided; the table is
            // the authority, and a lost race fails the batch rather than undo a check-in.
            Decided::Rescheduled {
                seq, code, booking, ..
            } => Some(Guarded {
                sql: "UPDATE bookings SET slot_start_ms = ?, slot_end_ms = ?, updated_at_ms = ? \
                      WHERE seq = ? AND tracking_code = ? AND status = 'booked'",
                args: vec![
                    Arg::Int(booking.slot_start_ms),
                    Arg::Int(booking.slot_end_ms),
                    Arg::Int(booking.updated_at_ms),
                    Arg::Int(*seq),
                    Arg::Text(code.clone()),
                ],
                what: format!("booking {} changed meanwhile", booking.tracking_code),
            }),
            Decided::Cancelled {
                seq, code, booking, ..
            } => Some(Guarded {
                sql: "UPDATE bookings SET status = 'cancelled', updated_at_ms = ? \
                      WHERE seq = ? AND tracking_code = ? AND status = 'booked'",
                args: vec![
                    Arg::Int(booking.updated_at_ms),
                    Arg::Int(*seq),
                    Arg::Text(code.clone()),
                ],
                what: format!("booking {} changed meanwhile", booking.tracking_code),
            }),
            Decided::Booked { .. } => None,
        })
        .collect();
    let messages: Vec<Vec<Arg>> = decided
        .iter()
        .map(|d| match d {
            Decided::Booked { booking, .. } => {
                crate::outbox::booking_message(crate::OutboxKind::BookingConfirmed, booking)
                    .args(booking.updated_at_ms)
            }
            Decided::Cancelled { booking, .. } => {
                crate::outbox::booking_message(crate::OutboxKind::BookingCancelled, booking)
                    .args(booking.updated_at_ms)
            }
            Decided::Rescheduled { booking, .. } => {
                crate::outbox::rescheduled_message(booking).args(booking.updated_at_ms)
            }
        })
        .collect();
    Batch {
        inserts: vec![Insert {
            head: "INSERT INTO bookings (seq, tracking_code, office_code, service_code, slot_start_ms, \
                   slot_end_ms, national_code, mobile, status, created_at_ms, updated_at_ms, \
                   created_by, idempotency_key, actor_staff_id, client_ip, request_id, \
                   audit_action) VALUES ",
            tail: "",
            rows: bookings,
        }],
        updates,
        trailing: vec![
            Insert {
                head: crate::outbox::OUTBOX_INSERT,
                tail: crate::outbox::OUTBOX_INSERT_TAIL,
                rows: messages,
            },
            Insert {
                head: "INSERT INTO audit_log (at_ms, actor, actor_staff_id, action, target, ip, \
                       request_id, detail_json) VALUES ",
                tail: "",
                rows: audit_rows,
            },
        ],
    }
}

async fn load_by_key(pool: &AnyPool, key: &str) -> Result<Option<Booking>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM bookings WHERE idempotency_key = $1",
        crate::bookings::BOOKING_COLS
    )))
    .bind(key.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(|r| crate::bookings::booking_from_row(&r))
        .transpose()
}

async fn load_booking(pool: &AnyPool, key: &[u8; 32], code: &TrackingCode) -> Result<Booking> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM bookings WHERE seq = $1 AND tracking_code = $2",
        crate::bookings::BOOKING_COLS
    )))
    .bind(code.to_sequence(key) as i64)
    .bind(code.as_str().to_string())
    .fetch_optional(pool)
    .await?;
    match row {
        Some(r) => crate::bookings::booking_from_row(&r),
        None => Err(StoreError::NotFound { entity: "booking" }),
    }
}

/// The SQLite writer: every change goes through the engine's one task.
#[async_trait::async_trait]
impl crate::bookings::BookingWriter for Engine {
    async fn loads(
        &self,
        _store: &crate::sql::SqlStore,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32)>> {
        Engine::loads(self, office, from_ms, to_ms).await
    }

    async fn book(
        &self,
        _store: &crate::sql::SqlStore,
        permit: &pishkhan_domain::access::Permit,
        b: &NewBooking,
        ctx: &AuditContext,
    ) -> Result<Booked> {
        Engine::book(self, b, Who::of(permit), ctx).await
    }

    async fn cancel(
        &self,
        _store: &crate::sql::SqlStore,
        permit: &pishkhan_domain::access::Permit,
        current: &Booking,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        Engine::cancel(
            self,
            &current.tracking_code,
            current.office,
            Who::of(permit),
            ctx,
        )
        .await
    }

    async fn reschedule(
        &self,
        _store: &crate::sql::SqlStore,
        permit: &pishkhan_domain::access::Permit,
        current: &Booking,
        to: &crate::NewSlot,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        Engine::reschedule(
            self,
            &current.tracking_code,
            current.office,
            to,
            Who::of(permit),
            ctx,
        )
        .await
    }

    async fn observe_statuses(&self, statuses: &[(TrackingCode, BookingStatus)]) -> Result<()> {
        Engine::observe_statuses(self, statuses).await
    }

    async fn listing(&self, of: Listing) -> Result<Option<Vec<i64>>> {
        Ok(Some(Engine::listing(self, of).await?))
    }

    /// Only slots past the memory horizon: no decision needs what leaves memory.
    async fn archive(&self, now_ms: i64, limit: usize) -> Result<u64> {
        Engine::archive(self, now_ms - MEMORY_HORIZON_MS, limit).await
    }

    /// Noted at once, without waiting for the writer: any request sent after this returns is
    /// decided after the cached inputs it touched are dropped.
    fn references_changed(&self, office: Option<OfficeCode>) {
        self.stale.note(office);
    }
}
