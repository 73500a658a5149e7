//! The queue engine of one counter office for one day: check-in of booked citizens, walk-in
//! tickets, counters calling the next person, estimated waits, the TV display, and the day's
//! figures.
//!
//! Pure: no I/O and no clock. Every operation takes `now`, and time is read in Tehran
//! (UTC+03:30) only to decide which calendar day an instant falls on.
//!
//! # Event sourcing
//!
//! An operation ([`Queue::walk_in`], [`Queue::call_next`], …) checks a request and returns
//! the [`Event`]s that record it, changing nothing. The caller persists them and then folds
//! them in with [`Queue::apply`]. After a restart, [`Queue::rebuild`] replays the durable log
//! and yields a queue equal to the one that wrote it. `apply` never reads the configuration,
//! so a log replays the same way after the manager changes counters or priority groups.
//!
//! ```text
//! let events = queue.call_next(counter, now)?;   // decide
//! store.append(office, day, &events)?;           // persist
//! queue.apply_all(&events)?;                     // fold
//! ```
//!
//! # Arrival
//!
//! * A booked citizen checks in by tracking code or national code and gets a ticket
//!   `B-001`, `B-002`, … in check-in order, keeping their tracking code.
//! * **On time** means checking in no later than the slot end plus `grace_after_min`
//!   ([`Queue::check_in_deadline`]). Early check-in is always allowed.
//! * A booked citizen checking in after that deadline is **late**: they join the walk-in line
//!   by their check-in time. This holds even if their booking was already marked a no-show;
//!   it then counts as a late arrival instead.
//! * A booking not checked in by its deadline becomes a no-show when
//!   [`Queue::expire_no_shows`] runs (strictly after the deadline).
//! * A walk-in gets `W-001`, `W-002`, … Either kind of arrival may name a configured priority
//!   group.
//!
//! # Calling rules
//!
//! A counter considers only waiting people whose service it handles, and only when it is free
//! (its current person completed, marked a no-show or transferred) and not paused. Then:
//!
//! 0. **Transferred first.** Someone another counter transferred here
//!    ([`Queue::transfer`]) is called before anyone else; every other counter passes them by.
//! 1. **Booked first.** Booked citizens who checked in on time and whose window has opened
//!    (`grace_before_min` before the slot start) are called first, by slot start, then
//!    check-in time, then ticket.
//! 2. **Walk-in line.** Otherwise the head of the walk-in line, which holds walk-ins and late
//!    booked citizens: priority groups first by rank (1 first), then everyone else; within
//!    a rank by check-in time, then ticket.
//! 3. **Fairness.** Rule 1 yields to rule 2 when this counter's last `K =
//!    fairness.max_booked_in_row` calls were all booked calls and someone in the walk-in line
//!    that it can serve has waited at least `W = fairness.walk_in_wait_min` minutes. So once
//!    walk-ins have waited W minutes, each counter gives them at least one of every K + 1
//!    calls.
//! 4. **No idle counter.** If nobody is eligible under rules 1 and 2, a booked citizen whose
//!    window has not opened yet is called early (earliest slot first).
//!
//! Each `Called` event records which rule chose the person ([`CallReason`]).
//!
//! # Breaks
//!
//! A counter with nobody at it may pause ([`Queue::pause`]): it calls nobody until it resumes
//! ([`Queue::resume`]), and nobody can be transferred to it meanwhile.
//!
//! # Estimates, display, figures
//!
//! See [`Queue::estimated_wait`] for the formula, [`Queue::display`] for the TV page, and
//! [`DailyFigures`] for the definitions of the compliance figures.

mod config;
mod error;
mod event;
mod ops;
mod queue;
mod report;

pub use config::{
    CounterConfig, CounterId, CounterServices, FairnessRule, PriorityCode, PriorityGroup,
    QueueConfig,
};
pub use error::QueueError;
pub use event::{CallReason, Event, Lane, Ticket, TicketKind};
pub use ops::ExpectedBooking;
pub use queue::{BookingInfo, BookingState, Queue, TicketInfo, TicketState};
pub use report::{DailyFigures, DisplayBoard, LineEntry, NowServing};
