//! The state of one office's queue for one day, and how events change it.

use std::collections::BTreeMap;

use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::{BookingStatus, Slot, TrackingCode};
use pishkhan_domain::{JalaliDate, NationalCode};
use time::OffsetDateTime;

use crate::config::{CounterId, PriorityCode, QueueConfig};
use crate::error::QueueError;
use crate::event::{Event, Lane, Ticket, TicketKind};

/// Where a booking stands in today's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingState {
    /// Not checked in yet.
    Expected,
    /// Checked in on time with this ticket: waits in the booked lane.
    CheckedIn(Ticket),
    /// Checked in after its deadline with this ticket: waits in the walk-in line. Counted as a
    /// late arrival, not a no-show.
    Late(Ticket),
    /// Not checked in by the end of its window plus grace, and not arrived since.
    NoShow,
    Cancelled,
}

/// A booking the queue knows about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingInfo {
    pub tracking_code: TrackingCode,
    pub national_code: NationalCode,
    pub service: ServiceCode,
    pub slot: Slot,
    pub state: BookingState,
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketState {
    Waiting,
    /// Called to a counter and being served there.
    Called,
    Completed,
    /// Called but did not come to the counter.
    NoShow,
}

/// A person who got a ticket today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketInfo {
    pub ticket: Ticket,
    pub service: ServiceCode,
    pub lane: Lane,
    /// The booking of a booked citizen (on time or late).
    pub tracking_code: Option<TrackingCode>,
    /// The booked slot of a booked citizen.
    pub slot: Option<Slot>,
    pub priority: Option<PriorityCode>,
    /// Check-in or walk-in time.
    pub arrived_at: OffsetDateTime,
    pub state: TicketState,
    /// The counter that called this ticket.
    pub counter: Option<CounterId>,
    /// The counter this ticket was transferred to, while it waits for it: only that counter
    /// calls it, and before anyone else.
    pub reserved_for: Option<CounterId>,
    /// The (first) call; a transfer and the second call keep it.
    pub called_at: Option<OffsetDateTime>,
    /// The latest call or recall, for the display to highlight.
    pub last_called_at: Option<OffsetDateTime>,
    /// Completion or no-show at the counter.
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CounterState {
    pub(crate) serving: Option<Ticket>,
    /// Booked-lane calls since this counter's last walk-in-lane call.
    pub(crate) booked_in_row: u32,
    /// On a break: calls nobody until resumed.
    pub(crate) paused: bool,
}

/// The queue of one office for one day: an event-sourced state machine.
///
/// * Operations (`check_in_by_tracking`, `walk_in`, `call_next`, …) take `&self` and the time,
///   check everything, and return the events that record what happened. They change nothing.
/// * [`Queue::apply`] folds one event into the state. It checks only that the event fits the
///   state (a ticket is not called twice, …) and never reads the configuration or a clock, so
///   a log replays identically under any later configuration.
/// * [`Queue::rebuild`] replays a durable log.
///
/// **Invariant.** The caller runs "operation, persist its events, apply them" under one lock
/// per office; events computed against one state are only valid for that state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub(crate) office: OfficeCode,
    pub(crate) day: JalaliDate,
    pub(crate) config: QueueConfig,
    /// By tracking code without the dash.
    pub(crate) bookings: BTreeMap<String, BookingInfo>,
    pub(crate) tickets: BTreeMap<Ticket, TicketInfo>,
    pub(crate) counters: BTreeMap<CounterId, CounterState>,
    pub(crate) last_booked_no: u16,
    pub(crate) last_walk_in_no: u16,
    pub(crate) version: u64,
}

impl BookingInfo {
    /// The ticket issued at check-in.
    pub fn ticket(&self) -> Option<Ticket> {
        match self.state {
            BookingState::CheckedIn(t) | BookingState::Late(t) => Some(t),
            _ => None,
        }
    }

    fn status_with(&self, ticket: Option<&TicketInfo>) -> BookingStatus {
        match self.state {
            BookingState::Expected => BookingStatus::Booked,
            BookingState::Cancelled => BookingStatus::Cancelled,
            BookingState::NoShow => BookingStatus::NoShow,
            BookingState::CheckedIn(_) | BookingState::Late(_) => match ticket.map(|t| t.state) {
                Some(TicketState::Completed) => BookingStatus::Completed,
                Some(TicketState::NoShow) => BookingStatus::NoShow,
                _ => BookingStatus::CheckedIn,
            },
        }
    }
}

impl Queue {
    /// An empty queue for `office` on `day` (a Tehran calendar day).
    pub fn new(
        office: OfficeCode,
        day: JalaliDate,
        config: QueueConfig,
    ) -> Result<Self, QueueError> {
        config.validate()?;
        Ok(Self {
            office,
            day,
            config,
            bookings: BTreeMap::new(),
            tickets: BTreeMap::new(),
            counters: BTreeMap::new(),
            last_booked_no: 0,
            last_walk_in_no: 0,
            version: 0,
        })
    }

    /// Replays a durable log. The result equals the live queue that produced the log.
    pub fn rebuild<'a>(
        office: OfficeCode,
        day: JalaliDate,
        config: QueueConfig,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Self, QueueError> {
        let mut q = Self::new(office, day, config)?;
        q.apply_all(events)?;
        Ok(q)
    }

    pub fn office(&self) -> OfficeCode {
        self.office
    }

    pub fn day(&self) -> JalaliDate {
        self.day
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Replaces the configuration, such as when a counter closes. Events already applied are
    /// untouched; the new rules apply to later operations and queries.
    pub fn set_config(&mut self, config: QueueConfig) -> Result<(), QueueError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Events applied so far: the position in the log, for optimistic concurrency.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn booking(&self, code: &TrackingCode) -> Option<&BookingInfo> {
        self.bookings.get(code.as_str())
    }

    /// All bookings, by tracking code.
    pub fn bookings(&self) -> impl Iterator<Item = &BookingInfo> {
        self.bookings.values()
    }

    /// The booking's status in the booking system's terms (a checked-in booking whose ticket
    /// was completed is `Completed`, one whose citizen did not answer the call is `NoShow`).
    pub fn booking_status(&self, code: &TrackingCode) -> Option<BookingStatus> {
        let b = self.booking(code)?;
        Some(b.status_with(b.ticket().and_then(|t| self.tickets.get(&t))))
    }

    pub fn ticket(&self, ticket: Ticket) -> Option<&TicketInfo> {
        self.tickets.get(&ticket)
    }

    /// All tickets, booked first, each kind in number order.
    pub fn tickets(&self) -> impl Iterator<Item = &TicketInfo> {
        self.tickets.values()
    }

    /// The ticket a counter is serving.
    pub fn serving(&self, counter: CounterId) -> Option<Ticket> {
        self.counters.get(&counter).and_then(|c| c.serving)
    }

    /// Whether `counter` is on a break.
    pub fn is_paused(&self, counter: CounterId) -> bool {
        self.counters.get(&counter).is_some_and(|c| c.paused)
    }

    /// The counters on a break, by number.
    pub fn paused_counters(&self) -> Vec<CounterId> {
        self.counters
            .iter()
            .filter(|(_, c)| c.paused)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Applies events in order, stopping at the first that does not fit.
    pub fn apply_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<(), QueueError> {
        for e in events {
            self.apply(e)?;
        }
        Ok(())
    }

    /// Folds one event into the state. On error the state is unchanged.
    pub fn apply(&mut self, event: &Event) -> Result<(), QueueError> {
        let bad = |reason: String| QueueError::InvalidEvent {
            kind: event.kind(),
            reason,
        };
        match event {
            Event::BookingExpected {
                tracking_code,
                national_code,
                service,
                slot_start,
                slot_end,
            } => {
                if self.bookings.contains_key(tracking_code.as_str()) {
                    return Err(bad(format!("booking {tracking_code} is already expected")));
                }
                self.bookings.insert(
                    tracking_code.as_str().to_string(),
                    BookingInfo {
                        tracking_code: tracking_code.clone(),
                        national_code: national_code.clone(),
                        service: service.clone(),
                        slot: Slot {
                            start: *slot_start,
                            end: *slot_end,
                        },
                        state: BookingState::Expected,
                    },
                );
            }
            Event::BookingCancelled { tracking_code, .. }
            | Event::BookingNoShow { tracking_code, .. } => {
                let b = self
                    .bookings
                    .get_mut(tracking_code.as_str())
                    .ok_or_else(|| bad(format!("no booking {tracking_code}")))?;
                if b.state != BookingState::Expected {
                    return Err(bad(format!(
                        "booking {tracking_code} is {:?}, not expected",
                        b.state
                    )));
                }
                b.state = if matches!(event, Event::BookingCancelled { .. }) {
                    BookingState::Cancelled
                } else {
                    BookingState::NoShow
                };
            }
            Event::CheckedIn {
                tracking_code,
                ticket,
                at,
                priority,
                late,
            } => {
                self.check_new_ticket(*ticket, TicketKind::Booked)
                    .map_err(bad)?;
                let b = self
                    .bookings
                    .get_mut(tracking_code.as_str())
                    .ok_or_else(|| bad(format!("no booking {tracking_code}")))?;
                match (b.state, late) {
                    (BookingState::Expected, _) | (BookingState::NoShow, true) => {}
                    (state, _) => {
                        return Err(bad(format!(
                            "booking {tracking_code} is {state:?} and cannot check in"
                        )));
                    }
                }
                b.state = if *late {
                    BookingState::Late(*ticket)
                } else {
                    BookingState::CheckedIn(*ticket)
                };
                let info = TicketInfo {
                    ticket: *ticket,
                    service: b.service.clone(),
                    lane: if *late { Lane::WalkIn } else { Lane::Booked },
                    tracking_code: Some(tracking_code.clone()),
                    slot: Some(b.slot),
                    priority: priority.clone(),
                    arrived_at: *at,
                    state: TicketState::Waiting,
                    counter: None,
                    reserved_for: None,
                    called_at: None,
                    last_called_at: None,
                    finished_at: None,
                };
                self.tickets.insert(*ticket, info);
                self.last_booked_no = self.last_booked_no.max(ticket.number);
            }
            Event::WalkIn {
                ticket,
                service,
                at,
                priority,
            } => {
                self.check_new_ticket(*ticket, TicketKind::WalkIn)
                    .map_err(bad)?;
                self.tickets.insert(
                    *ticket,
                    TicketInfo {
                        ticket: *ticket,
                        service: service.clone(),
                        lane: Lane::WalkIn,
                        tracking_code: None,
                        slot: None,
                        priority: priority.clone(),
                        arrived_at: *at,
                        state: TicketState::Waiting,
                        counter: None,
                        reserved_for: None,
                        called_at: None,
                        last_called_at: None,
                        finished_at: None,
                    },
                );
                self.last_walk_in_no = self.last_walk_in_no.max(ticket.number);
            }
            Event::Called {
                ticket,
                counter,
                at,
                ..
            } => {
                if let Some(busy) = self.serving(*counter) {
                    return Err(bad(format!("counter {counter} is serving {busy}")));
                }
                if self.is_paused(*counter) {
                    return Err(bad(format!("counter {counter} is paused")));
                }
                let t = self
                    .tickets
                    .get_mut(ticket)
                    .ok_or_else(|| bad(format!("no ticket {ticket}")))?;
                if t.state != TicketState::Waiting {
                    return Err(bad(format!("ticket {ticket} is {:?}", t.state)));
                }
                if let Some(to) = t.reserved_for.filter(|to| to != counter) {
                    return Err(bad(format!("ticket {ticket} is reserved for counter {to}")));
                }
                t.state = TicketState::Called;
                t.counter = Some(*counter);
                t.reserved_for = None;
                // The wait ends at the first call: a transfer is part of the service.
                t.called_at.get_or_insert(*at);
                t.last_called_at = Some(*at);
                let lane = t.lane;
                let c = self.counters.entry(*counter).or_default();
                c.serving = Some(*ticket);
                c.booked_in_row = match lane {
                    Lane::Booked => c.booked_in_row.saturating_add(1),
                    Lane::WalkIn => 0,
                };
            }
            Event::Recalled {
                ticket,
                counter,
                at,
            } => {
                if self.serving(*counter) != Some(*ticket) {
                    return Err(bad(format!("counter {counter} is not serving {ticket}")));
                }
                let t = self
                    .tickets
                    .get_mut(ticket)
                    .ok_or_else(|| bad(format!("no ticket {ticket}")))?;
                t.last_called_at = Some(*at);
            }
            Event::Transferred {
                ticket, from, to, ..
            } => {
                if self.serving(*from) != Some(*ticket) {
                    return Err(bad(format!("counter {from} is not serving {ticket}")));
                }
                if from == to {
                    return Err(bad(format!("ticket {ticket} is already at counter {to}")));
                }
                let t = self
                    .tickets
                    .get_mut(ticket)
                    .ok_or_else(|| bad(format!("no ticket {ticket}")))?;
                t.state = TicketState::Waiting;
                t.counter = None;
                t.reserved_for = Some(*to);
                if let Some(c) = self.counters.get_mut(from) {
                    c.serving = None;
                }
            }
            Event::CounterPaused { counter, .. } => {
                if let Some(busy) = self.serving(*counter) {
                    return Err(bad(format!("counter {counter} is serving {busy}")));
                }
                let c = self.counters.entry(*counter).or_default();
                if c.paused {
                    return Err(bad(format!("counter {counter} is already paused")));
                }
                c.paused = true;
            }
            Event::CounterResumed { counter, .. } => match self.counters.get_mut(counter) {
                Some(c) if c.paused => c.paused = false,
                _ => return Err(bad(format!("counter {counter} is not paused"))),
            },
            Event::Completed { ticket, at } | Event::NoShow { ticket, at } => {
                let t = self
                    .tickets
                    .get_mut(ticket)
                    .ok_or_else(|| bad(format!("no ticket {ticket}")))?;
                if t.state != TicketState::Called {
                    return Err(bad(format!("ticket {ticket} is {:?}", t.state)));
                }
                t.state = if matches!(event, Event::Completed { .. }) {
                    TicketState::Completed
                } else {
                    TicketState::NoShow
                };
                t.finished_at = Some(*at);
                if let Some(c) = t.counter.and_then(|c| self.counters.get_mut(&c)) {
                    c.serving = None;
                }
            }
        }
        self.version += 1;
        Ok(())
    }

    fn check_new_ticket(&self, ticket: Ticket, kind: TicketKind) -> Result<(), String> {
        if ticket.kind != kind {
            return Err(format!("ticket {ticket} is of the wrong kind"));
        }
        if ticket.number == 0 {
            return Err("ticket numbers start at 1".into());
        }
        if self.tickets.contains_key(&ticket) {
            return Err(format!("ticket {ticket} was already issued"));
        }
        Ok(())
    }
}
