//! What people see: estimated waits, the line, the TV display, and the day's figures.

use std::collections::BTreeMap;

use pishkhan_domain::model::ServiceCode;
use time::{Duration, OffsetDateTime};

use crate::config::{CounterConfig, CounterId, PriorityCode};
use crate::error::QueueError;
use crate::event::{Lane, Ticket};
use crate::ops::Group;
use crate::queue::{BookingState, Queue, TicketInfo, TicketState};

/// One waiting person, as the operator's screen and the TV list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEntry {
    pub ticket: Ticket,
    pub service: ServiceCode,
    pub lane: Lane,
    pub priority: Option<PriorityCode>,
    pub arrived_at: OffsetDateTime,
    /// `None` when no counter handles the service any more.
    pub estimated_wait: Option<Duration>,
}

/// A counter and a ticket it called: the one it is serving, or one of the latest calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NowServing {
    pub counter: CounterId,
    pub ticket: Ticket,
    /// The latest call or recall, so the TV can highlight a fresh call.
    pub called_at: OffsetDateTime,
}

/// How many of the latest calls the TV lists: a person who looked away for a few calls still
/// finds their number, and six rows stay readable from across a waiting room.
const RECENT_CALLS: usize = 6;

/// The office's TV page. Numbers are plain; the page shows them in Persian digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayBoard {
    /// Busy counters, by counter number.
    pub now_serving: Vec<NowServing>,
    /// The next tickets expected to be called, soonest first
    /// (at most `QueueConfig::display_next_up`).
    pub next_up: Vec<Ticket>,
    /// Everyone waiting, including those not listed in `next_up`.
    pub waiting_count: u32,
    /// The latest calls and recalls of the day, newest first (at most six), whether or not
    /// the ticket is still at its counter. A recall moves its ticket back to the top, so the
    /// TV announces it again.
    pub recent_calls: Vec<NowServing>,
    /// How many wait for each service, by service code; only services someone waits for.
    /// The counts add up to `waiting_count`.
    pub waiting_by_service: Vec<(ServiceCode, u32)>,
}

/// The day's figures of one office, for compliance and the national dashboard.
///
/// Bookings partition as `bookings = check_ins + late_arrivals + no_shows + pending`, where
/// pending bookings are neither checked in nor past their deadline yet (run
/// [`Queue::expire_no_shows`] at closing time to settle them).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DailyFigures {
    /// Bookings for the day, not counting cancelled ones.
    pub bookings: u32,
    pub cancelled: u32,
    /// Bookings checked in on time.
    pub check_ins: u32,
    /// Bookings checked in after their deadline (served from the walk-in line).
    pub late_arrivals: u32,
    /// Bookings never checked in by their deadline.
    pub no_shows: u32,
    /// Walk-in tickets.
    pub walk_ins: u32,
    /// Tickets served to completion.
    pub completed: u32,
    /// Tickets called that did not come to the counter.
    pub missed_calls: u32,
    /// Mean wait of the tickets called so far, in whole seconds (rounded half up). A wait
    /// runs from arrival to the call; for a booked citizen who arrived before their slot
    /// started it runs from the slot start, and a call before that is a wait of zero.
    pub avg_wait_s: Option<u64>,
    pub max_wait_s: Option<u64>,
    /// Mean time from the call to completion of completed tickets, in whole seconds.
    pub avg_service_s: Option<u64>,
    /// Share of visits that came with a booking:
    /// `(check_ins + late_arrivals) / (check_ins + late_arrivals + walk_ins)`.
    pub booked_share: Option<f64>,
}

fn mean_s(sum_s: i64, n: i64) -> Option<u64> {
    (n > 0).then(|| u64::try_from((2 * sum_s + n) / (2 * n)).unwrap_or(0))
}

impl Queue {
    fn counters_for<'a>(
        &'a self,
        service: &'a ServiceCode,
    ) -> impl Iterator<Item = &'a CounterConfig> {
        self.config
            .counters
            .iter()
            .filter(move |c| c.handles(service))
    }

    /// How long `ticket` is expected to wait from `now` until it is called.
    ///
    /// **Formula.** Let `C` be the configured counters that handle the ticket's service, not
    /// on a break (all of them if all are; only the target of a transferred ticket), and
    /// `h(s)` the average handling time of service `s`. The people *ahead* are those waiting
    /// whose service some counter in `C` also handles and who come first in the calling
    /// order as it stands at `now`:
    ///
    /// * for an on-time booked citizen whose window is open: booked citizens with an earlier
    ///   key (slot start, check-in, ticket);
    /// * for someone in the walk-in line: every on-time booked citizen whose window is open,
    ///   and those earlier in the walk-in line (priority rank, check-in, ticket);
    /// * for a booked citizen whose window has not opened: every booked citizen whose window
    ///   is open, and the waiting booked citizens with earlier slots.
    ///
    /// Then
    /// `wait = ceil((Σ h(ahead) + Σ_{c ∈ C busy} max(0, h(serving c) − time since its call)) / |C|)`,
    /// and a booked citizen is never told less than the time until their window opens. The
    /// fairness rule and people arriving later are not foreseen; this is an estimate.
    pub fn estimated_wait(
        &self,
        ticket: Ticket,
        now: OffsetDateTime,
    ) -> Result<Duration, QueueError> {
        let t = self
            .ticket(ticket)
            .ok_or(QueueError::UnknownTicket(ticket))?;
        if t.state != TicketState::Waiting {
            return Err(QueueError::NotWaiting(ticket));
        }
        self.estimate(t, now)
            .ok_or_else(|| QueueError::ServiceNotServed(t.service.clone()))
    }

    fn estimate(&self, t: &TicketInfo, now: OffsetDateTime) -> Option<Duration> {
        let mut counters: Vec<&CounterConfig> = self.counters_for(&t.service).collect();
        if counters.is_empty() {
            return None;
        }
        // A ticket transferred to a counter waits for that counter alone; others wait for
        // the counters at work. When every one of them is on a break, the estimate assumes
        // they come back, as nobody knows when.
        if let Some(to) = t.reserved_for
            && counters.iter().any(|c| c.id == to)
        {
            counters.retain(|c| c.id == to);
        } else if counters.iter().any(|c| !self.is_paused(c.id)) {
            counters.retain(|c| !self.is_paused(c.id));
        }
        let key = self.line_key(t, now);
        let ahead_s: i64 = self
            .waiting()
            .filter(|p| p.ticket != t.ticket && counters.iter().any(|c| c.handles(&p.service)))
            .filter(|p| {
                let pk = self.line_key(p, now);
                match (key.0, pk.0) {
                    (_, Group::BookedDue) if key.0 != Group::BookedDue => true,
                    (mine, theirs) => mine == theirs && pk < key,
                }
            })
            .map(|p| self.config.handling_s(&p.service))
            .sum();
        let busy_s: i64 = counters
            .iter()
            .filter_map(|c| self.serving(c.id))
            .filter_map(|s| self.ticket(s))
            .map(|s| {
                let since = s.called_at.map_or(0, |at| (now - at).whole_seconds());
                (self.config.handling_s(&s.service) - since).max(0)
            })
            .sum();
        let n = counters.len() as i64;
        let mut wait = Duration::seconds((ahead_s + busy_s + n - 1) / n);
        if key.0 == Group::BookedEarly
            && let Some(slot) = t.slot
        {
            wait = wait.max(self.window_opens(&slot) - now);
        }
        Some(wait)
    }

    /// Everyone waiting, soonest expected first: by estimated wait, then calling order. People
    /// whose service no counter handles come last.
    pub fn line(&self, now: OffsetDateTime) -> Vec<LineEntry> {
        let mut line: Vec<_> = self
            .waiting()
            .map(|t| (self.estimate(t, now), self.line_key(t, now), t))
            .collect();
        line.sort_by_key(|(wait, key, _)| (wait.is_none(), *wait, *key));
        line.into_iter()
            .map(|(estimated_wait, _, t)| LineEntry {
                ticket: t.ticket,
                service: t.service.clone(),
                lane: t.lane,
                priority: t.priority.clone(),
                arrived_at: t.arrived_at,
                estimated_wait,
            })
            .collect()
    }

    /// The TV page at `now`.
    pub fn display(&self, now: OffsetDateTime) -> DisplayBoard {
        let now_serving = self
            .counters
            .iter()
            .filter_map(|(id, c)| c.serving.map(|t| (*id, t)))
            .filter_map(|(counter, ticket)| {
                let t = self.ticket(ticket)?;
                Some(NowServing {
                    counter,
                    ticket,
                    called_at: t.last_called_at?,
                })
            })
            .collect();
        let line = self.line(now);
        let mut by_service: BTreeMap<&ServiceCode, u32> = BTreeMap::new();
        for e in &line {
            *by_service.entry(&e.service).or_default() += 1;
        }
        DisplayBoard {
            now_serving,
            waiting_count: u32::try_from(line.len()).unwrap_or(u32::MAX),
            next_up: line
                .iter()
                .take(usize::from(self.config.display_next_up))
                .map(|e| e.ticket)
                .collect(),
            recent_calls: self.recent_calls(),
            waiting_by_service: by_service
                .into_iter()
                .map(|(s, n)| (s.clone(), n))
                .collect(),
        }
    }

    /// The latest calls, newest first. Calls at the same instant (two counters at once) come
    /// higher ticket first, which is the later issued of the same kind.
    fn recent_calls(&self) -> Vec<NowServing> {
        let mut calls: Vec<NowServing> = self
            .tickets
            .values()
            .filter_map(|t| {
                Some(NowServing {
                    counter: t.counter?,
                    ticket: t.ticket,
                    called_at: t.last_called_at?,
                })
            })
            .collect();
        calls.sort_by(|a, b| {
            b.called_at
                .cmp(&a.called_at)
                .then_with(|| b.ticket.cmp(&a.ticket))
        });
        calls.truncate(RECENT_CALLS);
        calls
    }

    /// The day's figures so far, computed from the applied events alone (the configuration
    /// plays no part).
    pub fn figures(&self) -> DailyFigures {
        let mut f = DailyFigures {
            bookings: 0,
            cancelled: 0,
            check_ins: 0,
            late_arrivals: 0,
            no_shows: 0,
            walk_ins: 0,
            completed: 0,
            missed_calls: 0,
            avg_wait_s: None,
            max_wait_s: None,
            avg_service_s: None,
            booked_share: None,
        };
        for b in self.bookings.values() {
            match b.state {
                BookingState::Cancelled => f.cancelled += 1,
                BookingState::Expected => {}
                BookingState::CheckedIn(_) => f.check_ins += 1,
                BookingState::Late(_) => f.late_arrivals += 1,
                BookingState::NoShow => f.no_shows += 1,
            }
            if b.state != BookingState::Cancelled {
                f.bookings += 1;
            }
        }
        let (mut waits, mut wait_sum, mut max_wait) = (0i64, 0i64, None::<i64>);
        let (mut services, mut service_sum) = (0i64, 0i64);
        for t in self.tickets.values() {
            if t.tracking_code.is_none() {
                f.walk_ins += 1;
            }
            match t.state {
                TicketState::Completed => f.completed += 1,
                TicketState::NoShow => f.missed_calls += 1,
                TicketState::Waiting | TicketState::Called => {}
            }
            let Some(called) = t.called_at else { continue };
            let from = match (t.lane, t.slot) {
                (Lane::Booked, Some(slot)) => t.arrived_at.max(slot.start),
                _ => t.arrived_at,
            };
            let wait = (called - from).whole_seconds().max(0);
            waits += 1;
            wait_sum += wait;
            max_wait = max_wait.max(Some(wait));
            if let (TicketState::Completed, Some(done)) = (t.state, t.finished_at) {
                services += 1;
                service_sum += (done - called).whole_seconds().max(0);
            }
        }
        f.avg_wait_s = mean_s(wait_sum, waits);
        f.max_wait_s = max_wait.map(|w| u64::try_from(w).unwrap_or(0));
        f.avg_service_s = mean_s(service_sum, services);
        let booked = f.check_ins + f.late_arrivals;
        let visits = booked + f.walk_ins;
        f.booked_share = (visits > 0).then(|| f64::from(booked) / f64::from(visits));
        f
    }
}

#[cfg(test)]
mod tests {
    use pishkhan_domain::JalaliDate;
    use pishkhan_domain::model::{OfficeCode, ServiceCode};
    use pishkhan_domain::schedule::tehran_instant;
    use time::OffsetDateTime;

    use crate::{CounterId, Event, NowServing, Queue, QueueConfig, QueueError, Ticket};

    fn t(h: u16, m: u16) -> OffsetDateTime {
        tehran_instant(JalaliDate::new(1404, 8, 10).unwrap(), h * 60 + m)
    }

    fn svc(code: &str) -> ServiceCode {
        ServiceCode::parse(code).unwrap()
    }

    fn queue(counters: u16) -> Queue {
        Queue::new(
            OfficeCode::from_u32(12_345_678).unwrap(),
            JalaliDate::new(1404, 8, 10).unwrap(),
            QueueConfig::with_counters(counters),
        )
        .unwrap()
    }

    fn run(q: &mut Queue, r: Result<Vec<Event>, QueueError>) {
        q.apply_all(&r.unwrap()).unwrap();
    }

    fn call(counter: u16, ticket: &str, at: OffsetDateTime) -> NowServing {
        NowServing {
            counter: CounterId(counter),
            ticket: Ticket::parse(ticket).unwrap(),
            called_at: at,
        }
    }

    #[test]
    fn recent_calls_are_newest_first_and_keep_finished_tickets() {
        let mut q = queue(2);
        assert!(q.display(t(9, 0)).recent_calls.is_empty());
        for m in 0..3 {
            let walk = q.walk_in(&svc("PSP-001"), None, t(9, m));
            run(&mut q, walk);
        }
        let first = q.call_next(CounterId(1), t(9, 5));
        run(&mut q, first); // W-001 at counter 1
        let second = q.call_next(CounterId(2), t(9, 6));
        run(&mut q, second); // W-002 at counter 2
        let done = q.complete(Ticket::walk_in(1), t(9, 7));
        run(&mut q, done);
        let third = q.call_next(CounterId(1), t(9, 8));
        run(&mut q, third); // W-003 at counter 1

        let board = q.display(t(9, 9));
        assert_eq!(
            board.recent_calls,
            vec![
                call(1, "W-003", t(9, 8)),
                call(2, "W-002", t(9, 6)),
                // Completed, but still listed: its citizen may have looked away.
                call(1, "W-001", t(9, 5)),
            ]
        );
        // Only the counters busy now are "now serving".
        assert_eq!(board.now_serving.len(), 2);
    }

    #[test]
    fn a_recall_moves_its_ticket_to_the_top_again() {
        let mut q = queue(2);
        for m in 0..2 {
            let walk = q.walk_in(&svc("PSP-001"), None, t(9, m));
            run(&mut q, walk);
        }
        let a = q.call_next(CounterId(2), t(9, 5));
        run(&mut q, a); // W-001 at counter 2
        let b = q.call_next(CounterId(1), t(9, 6));
        run(&mut q, b); // W-002 at counter 1
        let recall = q.recall(CounterId(2), t(9, 7));
        run(&mut q, recall);
        assert_eq!(
            q.display(t(9, 8)).recent_calls,
            vec![call(2, "W-001", t(9, 7)), call(1, "W-002", t(9, 6))]
        );
    }

    #[test]
    fn recent_calls_hold_the_latest_six() {
        let mut q = queue(1);
        for m in 0..8 {
            let walk = q.walk_in(&svc("PSP-001"), None, t(9, m));
            run(&mut q, walk);
        }
        for m in 0..8 {
            let called = q.call_next(CounterId(1), t(10, m));
            run(&mut q, called);
            let done = q.complete(Ticket::walk_in(m + 1), t(10, m));
            run(&mut q, done);
        }
        let recent: Vec<String> = q
            .display(t(11, 0))
            .recent_calls
            .iter()
            .map(|c| c.ticket.to_string())
            .collect();
        assert_eq!(
            recent,
            ["W-008", "W-007", "W-006", "W-005", "W-004", "W-003"]
        );
    }

    #[test]
    fn waiting_is_counted_per_service_and_adds_up() {
        let mut q = queue(2);
        for (m, code) in ["PSP-001", "VEH-002", "PSP-001", "TAX-003", "PSP-001"]
            .into_iter()
            .enumerate()
        {
            let walk = q.walk_in(&svc(code), None, t(9, m as u16));
            run(&mut q, walk);
        }
        let called = q.call_next(CounterId(1), t(9, 10));
        run(&mut q, called); // W-001, a PSP-001 ticket, leaves the line
        let board = q.display(t(9, 11));
        assert_eq!(
            board.waiting_by_service,
            vec![
                (svc("PSP-001"), 2),
                (svc("TAX-003"), 1),
                (svc("VEH-002"), 1)
            ]
        );
        let total: u32 = board.waiting_by_service.iter().map(|(_, n)| n).sum();
        assert_eq!(total, board.waiting_count);
        assert!(queue(1).display(t(9, 0)).waiting_by_service.is_empty());
    }
}
