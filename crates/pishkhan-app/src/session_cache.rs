//! A bounded, short-lived cache of resolved sessions, so a request carrying a live session
//! needs no database read.
//!
//! **Invariant:** a session the database no longer resolves the same way (signed out, its
//! member's password changed or account disabled, its office's status changed) is never served
//! from this cache in the process that made the change, and is served by no other process more
//! than [`FRESH_FOR`] (750 ms) after the change committed. Every such change records a
//! [`SessionInvalidation`] under a new session epoch in its own transaction; the process that
//! made it drops the entries at once ([`SessionCache::forget`]), and every process polls the
//! epoch every [`POLL_EVERY`] and drops what was named since the epoch it last saw. Entries are
//! served only while the last successful poll began less than `FRESH_FOR` ago, so a poller
//! that stalls or a database that stops answering makes lookups go to the database instead.
//!
//! A session past its `expires_at_ms` (by the app's clock) is never served, and no entry lives
//! longer than the configured TTL. Only sessions the database resolved are stored: an unknown
//! token costs a read but stores nothing, so spraying random tokens can neither evict a signed-in
//! user's entry nor grow the maps. A full map takes no new entries (after dropping the timed-out
//! ones) rather than evicting live ones: a flood of real sign-ins costs the newcomers a read
//! per request until room frees, never the people already cached.
//!
//! There is no negative cache: a sprayer sends a new token each time, so it would not save
//! those reads, and any room it took would be room for sprayed entries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use pishkhan_domain::access::StaffActor;
use pishkhan_store::{SessionInvalidation, SessionRecord};

use crate::{App, AppError, Citizen};

/// How often each process asks the database for the session epoch: one primary-key read.
pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// How long after a successful poll began its view is trusted: three polls, and still inside
/// the one second within which every process must refuse an ended session.
pub const FRESH_FOR: Duration = Duration::from_millis(750);
/// Invalidations replayed one by one after a gap; a longer gap drops everything instead.
const MAX_REPLAY: i64 = 1_000;
/// A full map sweeps out timed-out entries at most this often, so a flood of sign-ins into
/// a full map does not scan it on every request.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Counters of the session cache, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCacheStats {
    /// Staff sessions held now.
    pub staff_entries: usize,
    /// Citizen sessions held now.
    pub citizen_entries: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the database.
    pub misses: u64,
}

/// A resolved staff session: the member, and the CSRF token their forms must echo.
#[derive(Clone)]
pub(crate) struct CachedStaff {
    pub actor: StaffActor,
    pub csrf_token: String,
}

struct Entry<T> {
    value: T,
    /// The session's own end, by the app's clock.
    expires_at_ms: i64,
    /// The end of this entry's time in the cache, by the monotonic clock.
    until: Instant,
}

/// One map from token hash to entry, bounded.
struct Shelf<T> {
    entries: HashMap<String, Entry<T>>,
    last_sweep: Instant,
}

impl<T: Clone> Shelf<T> {
    fn new() -> Self {
        Self {
            entries: HashMap::new(),
            last_sweep: Instant::now(),
        }
    }

    fn get(&mut self, hash: &str, now_ms: i64, now: Instant) -> Option<T> {
        let entry = self.entries.get(hash)?;
        if entry.expires_at_ms > now_ms && now < entry.until {
            return Some(entry.value.clone());
        }
        self.entries.remove(hash);
        None
    }

    fn put(&mut self, max: usize, hash: &str, entry: Entry<T>, now_ms: i64, now: Instant) {
        if self.entries.len() >= max && !self.entries.contains_key(hash) {
            if now.duration_since(self.last_sweep) < SWEEP_EVERY {
                return;
            }
            self.last_sweep = now;
            self.entries
                .retain(|_, e| e.expires_at_ms > now_ms && now < e.until);
            if self.entries.len() >= max {
                return;
            }
        }
        self.entries.insert(hash.to_owned(), entry);
    }
}

/// What the lock guards: both maps, and what decides whether a fill may land.
struct Maps {
    staff: Shelf<CachedStaff>,
    citizens: Shelf<Citizen>,
    /// Bumped by every invalidation. A fill whose database read began under an older
    /// generation is dropped: the read may predate the change that invalidated it.
    generation: u64,
    /// The newest session epoch applied here; `None` until the first poll.
    epoch: Option<i64>,
    /// Until when entries may be served: `FRESH_FOR` after the last successful poll began.
    fresh_until: Option<Instant>,
}

impl Maps {
    fn clear(&mut self) {
        self.staff.entries.clear();
        self.citizens.entries.clear();
        self.generation += 1;
    }

    fn apply(&mut self, what: &SessionInvalidation) {
        match what {
            SessionInvalidation::Token(hash) => {
                self.staff.entries.remove(hash);
                self.citizens.entries.remove(hash);
            }
            SessionInvalidation::Staff(id) => {
                self.staff.entries.retain(|_, e| e.value.actor.id != *id);
            }
            SessionInvalidation::Office(office) => {
                self.staff
                    .entries
                    .retain(|_, e| e.value.actor.office != Some(*office));
            }
        }
        self.generation += 1;
    }

    fn fresh(&self, now: Instant) -> bool {
        self.fresh_until.is_some_and(|until| now < until)
    }
}

/// Proof of the generation a lookup missed under; a fill hands it back.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(u64);

pub(crate) struct SessionCache {
    max_entries: usize,
    ttl: Duration,
    maps: Mutex<Maps>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl SessionCache {
    /// `max_entries` bounds each map (staff, citizens); `ttl` bounds each entry's stay.
    pub(crate) fn new(max_entries: usize, ttl: Duration) -> Self {
        Self {
            max_entries,
            ttl,
            maps: Mutex::new(Maps {
                staff: Shelf::new(),
                citizens: Shelf::new(),
                generation: 0,
                epoch: None,
                fresh_until: None,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup<T: Clone>(
        &self,
        shelf: impl FnOnce(&mut Maps) -> &mut Shelf<T>,
        hash: &str,
        now_ms: i64,
    ) -> Result<T, Ticket> {
        let now = Instant::now();
        let mut maps = self.lock();
        let found = if maps.fresh(now) {
            shelf(&mut maps).get(hash, now_ms, now)
        } else {
            None
        };
        self.counted(found, maps.generation)
    }

    fn fill<T: Clone>(
        &self,
        shelf: impl FnOnce(&mut Maps) -> &mut Shelf<T>,
        ticket: Ticket,
        hash: &str,
        value: T,
        expires_at_ms: i64,
        now_ms: i64,
    ) {
        let left_ms = u64::try_from(expires_at_ms.saturating_sub(now_ms)).unwrap_or(0);
        let stay = self.ttl.min(Duration::from_millis(left_ms));
        if stay.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut maps = self.lock();
        // Not since a poll vouched for the epoch, or an invalidation came in while the
        // database was being read: what was read may already be stale.
        if maps.generation != ticket.0 || !maps.fresh(now) {
            return;
        }
        let max = self.max_entries;
        shelf(&mut maps).put(
            max,
            hash,
            Entry {
                value,
                expires_at_ms,
                until: now + stay,
            },
            now_ms,
            now,
        );
    }

    /// A lookup's outcome, counted as a hit or a miss; a miss carries the generation its
    /// fill must match.
    fn counted<T>(&self, found: Option<T>, generation: u64) -> Result<T, Ticket> {
        match found {
            Some(v) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(v)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Err(Ticket(generation))
            }
        }
    }

    pub(crate) fn staff(&self, hash: &str, now_ms: i64) -> Result<CachedStaff, Ticket> {
        self.lookup(|m| &mut m.staff, hash, now_ms)
    }

    pub(crate) fn put_staff(
        &self,
        ticket: Ticket,
        hash: &str,
        session: &SessionRecord,
        now_ms: i64,
    ) {
        let value = CachedStaff {
            actor: session.actor.clone(),
            csrf_token: session.csrf_token.clone(),
        };
        self.fill(
            |m| &mut m.staff,
            ticket,
            hash,
            value,
            session.expires_at_ms,
            now_ms,
        );
    }

    pub(crate) fn citizen(&self, hash: &str, now_ms: i64) -> Result<Citizen, Ticket> {
        self.lookup(|m| &mut m.citizens, hash, now_ms)
    }

    /// A token that may be either kind's, looked up in both maps as one lookup, so a
    /// citizen's request costs no read of the staff sessions either.
    pub(crate) fn any(&self, hash: &str, now_ms: i64) -> Result<crate::Session, Ticket> {
        let now = Instant::now();
        let mut maps = self.lock();
        let found = if maps.fresh(now) {
            match maps.staff.get(hash, now_ms, now) {
                Some(s) => Some(crate::Session::Staff {
                    session: crate::StaffSession {
                        actor: s.actor,
                        token_hash: hash.to_owned(),
                    },
                    csrf_token: s.csrf_token,
                }),
                None => maps
                    .citizens
                    .get(hash, now_ms, now)
                    .map(crate::Session::Citizen),
            }
        } else {
            None
        };
        self.counted(found, maps.generation)
    }

    pub(crate) fn put_citizen(
        &self,
        ticket: Ticket,
        hash: &str,
        citizen: Citizen,
        expires_at_ms: i64,
        now_ms: i64,
    ) {
        self.fill(
            |m| &mut m.citizens,
            ticket,
            hash,
            citizen,
            expires_at_ms,
            now_ms,
        );
    }

    /// Drops what a change this process just committed invalidated.
    pub(crate) fn forget(&self, what: &SessionInvalidation) {
        self.lock().apply(what);
    }

    pub(crate) fn stats(&self) -> SessionCacheStats {
        let maps = self.lock();
        SessionCacheStats {
            staff_entries: maps.staff.entries.len(),
            citizen_entries: maps.citizens.entries.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Brings this cache up to the database's session epoch: drops the entries invalidated
    /// since the epoch last seen (everything, after a gap too long to replay), then trusts
    /// the cache for `FRESH_FOR` from when this poll began.
    async fn poll(&self, app: &App) -> Result<(), AppError> {
        let began = Instant::now();
        let head = app.store().session_epoch().await?;
        let known = self.lock().epoch;
        let replay = match known {
            Some(k) if k == head => Some(Vec::new()),
            Some(k) if k < head && head - k <= MAX_REPLAY => {
                let list = app.store().session_invalidations(k, head).await?;
                // Fewer than asked: some were pruned before this process read them.
                (list.len() as i64 == head - k).then_some(list)
            }
            // First poll, too far behind, or an epoch that went back (a restored database).
            _ => None,
        };
        let mut maps = self.lock();
        match replay {
            Some(list) => list.iter().for_each(|what| maps.apply(what)),
            None => maps.clear(),
        }
        maps.epoch = Some(head);
        maps.fresh_until = Some(began + FRESH_FOR);
        Ok(())
    }

    /// After a failed poll: nothing cached can be vouched for any more.
    fn distrust(&self) {
        let mut maps = self.lock();
        maps.clear();
        maps.epoch = None;
        maps.fresh_until = None;
    }
}

/// Polls the session epoch for `app` until the app is dropped. Holds only a weak reference,
/// so the store (and the embedded database's lock) goes with the last `App`.
pub(crate) async fn run_poller(app: Weak<crate::Inner>) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let Some(inner) = app.upgrade() else {
            return;
        };
        let app = App { inner };
        match app.sessions().poll(&app).await {
            Ok(()) => failing = false,
            Err(e) => {
                app.sessions().distrust();
                if !failing {
                    tracing::warn!(error = %e, "session epoch poll failed; sessions are read from the database until it answers");
                }
                failing = true;
            }
        }
    }
}
