//! Operations: each checks the request against the state and the configuration, and returns the
//! events that record it. Nothing changes until the caller applies them.

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::ServiceCode;
use pishkhan_domain::schedule::{Slot, TrackingCode};
use pishkhan_domain::tehran::jalali_today;
use time::{Duration, OffsetDateTime};

use crate::config::{CounterConfig, CounterId, PriorityCode};
use crate::error::QueueError;
use crate::event::{CallReason, Event, Lane, Ticket};
use crate::queue::{BookingInfo, BookingState, Queue, TicketInfo, TicketState};

/// A booking for today, as the booking system holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedBooking {
    pub tracking_code: TrackingCode,
    pub national_code: NationalCode,
    pub service: ServiceCode,
    pub slot: Slot,
}

/// The three groups a waiting person falls in at a given moment, in calling order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    /// Booked, checked in on time, window open.
    BookedDue,
    /// Walk-ins and late booked citizens.
    WalkIn,
    /// Booked, checked in on time, window not open yet.
    BookedEarly,
}

/// Sort key within a group: (group, priority rank, time, arrival, ticket). Booked citizens sort
/// by slot start; the walk-in line by priority rank and then arrival.
pub(crate) type LineKey = (Group, u16, OffsetDateTime, OffsetDateTime, Ticket);

impl Queue {
    /// When a booked citizen's window opens: `grace_before_min` before the slot starts.
    pub fn window_opens(&self, slot: &Slot) -> OffsetDateTime {
        slot.start - Duration::minutes(i64::from(self.config.grace_before_min))
    }

    /// The last moment a booked citizen may check in and count as on time: `grace_after_min`
    /// after the slot ends. A booking not checked in by then is a no-show.
    pub fn check_in_deadline(&self, slot: &Slot) -> OffsetDateTime {
        slot.end + Duration::minutes(i64::from(self.config.grace_after_min))
    }

    pub(crate) fn group(&self, t: &TicketInfo, now: OffsetDateTime) -> Group {
        match (t.lane, t.slot) {
            (Lane::Booked, Some(slot)) if now < self.window_opens(&slot) => Group::BookedEarly,
            (Lane::Booked, _) => Group::BookedDue,
            (Lane::WalkIn, _) => Group::WalkIn,
        }
    }

    pub(crate) fn line_key(&self, t: &TicketInfo, now: OffsetDateTime) -> LineKey {
        let group = self.group(t, now);
        match group {
            Group::BookedDue | Group::BookedEarly => {
                let start = t.slot.map_or(t.arrived_at, |s| s.start);
                (group, 0, start, t.arrived_at, t.ticket)
            }
            Group::WalkIn => (
                group,
                self.config.priority_rank(t.priority.as_ref()),
                t.arrived_at,
                t.arrived_at,
                t.ticket,
            ),
        }
    }

    pub(crate) fn waiting(&self) -> impl Iterator<Item = &TicketInfo> {
        self.tickets
            .values()
            .filter(|t| t.state == TicketState::Waiting)
    }

    fn check_day(&self, now: OffsetDateTime) -> Result<(), QueueError> {
        let day = jalali_today(now);
        if day == self.day {
            Ok(())
        } else {
            Err(QueueError::WrongDay {
                queue_day: self.day,
                day,
            })
        }
    }

    fn check_priority(&self, priority: Option<&PriorityCode>) -> Result<(), QueueError> {
        match priority {
            Some(p) if self.config.priority_group(p).is_none() => {
                Err(QueueError::UnknownPriorityGroup(p.clone()))
            }
            _ => Ok(()),
        }
    }

    fn check_served(&self, service: &ServiceCode) -> Result<(), QueueError> {
        if self.config.is_served(service) {
            Ok(())
        } else {
            Err(QueueError::ServiceNotServed(service.clone()))
        }
    }

    fn next_number(&self, last: u16) -> Result<u16, QueueError> {
        if last >= self.config.max_tickets_per_kind {
            Err(QueueError::TicketLimit(self.config.max_tickets_per_kind))
        } else {
            Ok(last + 1)
        }
    }

    /// Records a booking for today. The slot must start on this queue's day (in Tehran).
    pub fn expect_booking(&self, booking: ExpectedBooking) -> Result<Vec<Event>, QueueError> {
        let ExpectedBooking {
            tracking_code,
            national_code,
            service,
            slot,
        } = booking;
        if slot.start >= slot.end {
            return Err(QueueError::InvalidSlot);
        }
        self.check_day(slot.start)?;
        if self.bookings.contains_key(tracking_code.as_str()) {
            return Err(QueueError::DuplicateBooking(tracking_code));
        }
        Ok(vec![Event::booking_expected(
            tracking_code,
            national_code,
            service,
            slot,
        )])
    }

    /// Withdraws a booking that has not been checked in.
    pub fn cancel_booking(
        &self,
        code: &TrackingCode,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        let b = self
            .booking(code)
            .ok_or_else(|| QueueError::UnknownBooking(code.clone()))?;
        match b.state {
            BookingState::Expected => Ok(vec![Event::BookingCancelled {
                tracking_code: code.clone(),
                at: now,
            }]),
            BookingState::Cancelled => Err(QueueError::BookingCancelled(code.clone())),
            BookingState::NoShow => Err(QueueError::BookingNoShow(code.clone())),
            BookingState::CheckedIn(ticket) | BookingState::Late(ticket) => {
                Err(QueueError::AlreadyCheckedIn {
                    tracking_code: code.clone(),
                    ticket,
                })
            }
        }
    }

    /// Checks in a booked citizen by tracking code and issues their ticket.
    ///
    /// On time (at or before [`Queue::check_in_deadline`]) they wait in the booked lane; later
    /// they join the walk-in line by their check-in time, even if their booking was already
    /// marked a no-show (it then counts as a late arrival instead). The code of a booking on
    /// another day is unknown to this day's queue (`UnknownBooking`); checking in on another
    /// day than the queue's is `WrongDay`.
    pub fn check_in_by_tracking(
        &self,
        code: &TrackingCode,
        priority: Option<&PriorityCode>,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        self.check_day(now)?;
        let b = self
            .booking(code)
            .ok_or_else(|| QueueError::UnknownBooking(code.clone()))?;
        self.check_in(b, priority, now)
    }

    /// Checks in a booked citizen by national code, finding their booking today: the earliest
    /// booking that can still be checked in on time, or else the latest missed one (checked
    /// in late). When none is left to check in: `AlreadyCheckedIn` if the citizen has a
    /// checked-in booking today, otherwise `NoBookingToday` (cancelled bookings do not count).
    pub fn check_in_by_national_code(
        &self,
        national_code: &NationalCode,
        priority: Option<&PriorityCode>,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        self.check_day(now)?;
        let mine = || {
            self.bookings
                .values()
                .filter(move |b| &b.national_code == national_code)
        };
        let open =
            || mine().filter(|b| matches!(b.state, BookingState::Expected | BookingState::NoShow));
        fn key<'a>(b: &&'a BookingInfo) -> (OffsetDateTime, &'a str) {
            (b.slot.start, b.tracking_code.as_str())
        }
        let on_time = open()
            .filter(|b| b.state == BookingState::Expected && now <= self.check_in_deadline(&b.slot))
            .min_by_key(key);
        // Otherwise the latest missed booking, or else a checked-in one, to say it is.
        let chosen = on_time
            .or_else(|| open().max_by_key(key))
            .or_else(|| mine().filter(|b| b.ticket().is_some()).max_by_key(key));
        match chosen {
            Some(b) => self.check_in(b, priority, now),
            None => Err(QueueError::NoBookingToday),
        }
    }

    fn check_in(
        &self,
        b: &BookingInfo,
        priority: Option<&PriorityCode>,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        match b.state {
            BookingState::Expected | BookingState::NoShow => {}
            BookingState::Cancelled => {
                return Err(QueueError::BookingCancelled(b.tracking_code.clone()));
            }
            BookingState::CheckedIn(ticket) | BookingState::Late(ticket) => {
                return Err(QueueError::AlreadyCheckedIn {
                    tracking_code: b.tracking_code.clone(),
                    ticket,
                });
            }
        }
        self.check_priority(priority)?;
        self.check_served(&b.service)?;
        let number = self.next_number(self.last_booked_no)?;
        let late = b.state == BookingState::NoShow || now > self.check_in_deadline(&b.slot);
        Ok(vec![Event::CheckedIn {
            tracking_code: b.tracking_code.clone(),
            ticket: Ticket::booked(number),
            at: now,
            priority: priority.cloned(),
            late,
        }])
    }

    /// Issues the next walk-in ticket for `service`.
    pub fn walk_in(
        &self,
        service: &ServiceCode,
        priority: Option<&PriorityCode>,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        self.check_day(now)?;
        self.check_priority(priority)?;
        self.check_served(service)?;
        let number = self.next_number(self.last_walk_in_no)?;
        Ok(vec![Event::WalkIn {
            ticket: Ticket::walk_in(number),
            service: service.clone(),
            at: now,
            priority: priority.cloned(),
        }])
    }

    /// Chooses who `counter` serves next, by the calling rules of the crate documentation, and
    /// returns one `Called` event. The counter must have finished with its current person.
    pub fn call_next(
        &self,
        counter: CounterId,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        self.check_day(now)?;
        let cfg = self
            .config
            .counter(counter)
            .ok_or(QueueError::UnknownCounter(counter))?;
        if let Some(ticket) = self.serving(counter) {
            return Err(QueueError::CounterBusy { counter, ticket });
        }
        if self.is_paused(counter) {
            return Err(QueueError::CounterPaused(counter));
        }
        // Rule 0: whoever was transferred here goes first, the one called earliest first.
        let transferred = self
            .waiting()
            .filter(|t| t.reserved_for == Some(counter))
            .min_by_key(|t| (t.last_called_at, t.ticket));
        if let Some(t) = transferred {
            return Ok(vec![Event::Called {
                ticket: t.ticket,
                counter,
                at: now,
                reason: CallReason::Transferred,
            }]);
        }
        let mut best: [Option<(LineKey, &TicketInfo)>; 3] = [None, None, None];
        let mut longest_walk_in_wait = Duration::ZERO;
        let mine = |t: &&TicketInfo| t.reserved_for.is_none() && cfg.handles(&t.service);
        for t in self.waiting().filter(mine) {
            let key = self.line_key(t, now);
            let slot = &mut best[key.0 as usize];
            if slot.as_ref().is_none_or(|(k, _)| key < *k) {
                *slot = Some((key, t));
            }
            if key.0 == Group::WalkIn {
                longest_walk_in_wait = longest_walk_in_wait.max(now - t.arrived_at);
            }
        }
        let [due, walk_in, early] = best.map(|b| b.map(|(_, t)| t.ticket));
        let row = self.counters.get(&counter).map_or(0, |c| c.booked_in_row);
        let rule = self.config.fairness;
        let starving = row >= u32::from(rule.max_booked_in_row)
            && longest_walk_in_wait >= Duration::minutes(i64::from(rule.walk_in_wait_min));
        let (ticket, reason) = match (due, walk_in, early) {
            (Some(_), Some(w), _) if starving => (w, CallReason::Fairness),
            (Some(b), _, _) => (b, CallReason::Booked),
            (None, Some(w), _) => (w, CallReason::WalkIn),
            (None, None, Some(e)) => (e, CallReason::EarlyBooked),
            (None, None, None) => return Err(QueueError::NobodyWaiting(counter)),
        };
        Ok(vec![Event::Called {
            ticket,
            counter,
            at: now,
            reason,
        }])
    }

    /// Announces the counter's current person again.
    pub fn recall(
        &self,
        counter: CounterId,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        let ticket = self
            .serving(counter)
            .ok_or(QueueError::NobodyServed(counter))?;
        Ok(vec![Event::Recalled {
            ticket,
            counter,
            at: now,
        }])
    }

    fn known_counter(&self, counter: CounterId) -> Result<&CounterConfig, QueueError> {
        self.config
            .counter(counter)
            .ok_or(QueueError::UnknownCounter(counter))
    }

    /// Sends the person `from` is serving to counter `to`: they wait again, and `to` calls
    /// them before anyone else (other counters pass them by). `to` must be another counter of
    /// the office that handles their service and is not on a break.
    pub fn transfer(
        &self,
        from: CounterId,
        to: CounterId,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        self.check_day(now)?;
        self.known_counter(from)?;
        let ticket = self.serving(from).ok_or(QueueError::NobodyServed(from))?;
        let target = self.known_counter(to)?;
        if from == to {
            return Err(QueueError::SameCounter(to));
        }
        let service = &self
            .ticket(ticket)
            .ok_or(QueueError::UnknownTicket(ticket))?
            .service;
        if !target.handles(service) {
            return Err(QueueError::CounterCannotServe {
                counter: to,
                service: service.clone(),
            });
        }
        if self.is_paused(to) {
            return Err(QueueError::CounterPaused(to));
        }
        Ok(vec![Event::Transferred {
            ticket,
            from,
            to,
            at: now,
        }])
    }

    /// The counter goes on a break: it calls nobody until resumed. It must have finished with
    /// its current person first.
    pub fn pause(&self, counter: CounterId, now: OffsetDateTime) -> Result<Vec<Event>, QueueError> {
        self.known_counter(counter)?;
        if let Some(ticket) = self.serving(counter) {
            return Err(QueueError::CounterBusy { counter, ticket });
        }
        if self.is_paused(counter) {
            return Err(QueueError::CounterPaused(counter));
        }
        Ok(vec![Event::CounterPaused { counter, at: now }])
    }

    /// The counter is back from its break.
    pub fn resume(
        &self,
        counter: CounterId,
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, QueueError> {
        self.known_counter(counter)?;
        if !self.is_paused(counter) {
            return Err(QueueError::CounterNotPaused(counter));
        }
        Ok(vec![Event::CounterResumed { counter, at: now }])
    }

    fn called(&self, ticket: Ticket) -> Result<(), QueueError> {
        let t = self
            .ticket(ticket)
            .ok_or(QueueError::UnknownTicket(ticket))?;
        if t.state == TicketState::Called {
            Ok(())
        } else {
            Err(QueueError::NotCalled(ticket))
        }
    }

    /// The called person was served.
    pub fn complete(&self, ticket: Ticket, now: OffsetDateTime) -> Result<Vec<Event>, QueueError> {
        self.called(ticket)?;
        Ok(vec![Event::Completed { ticket, at: now }])
    }

    /// The called person did not come to the counter; the counter is free again.
    pub fn no_show(&self, ticket: Ticket, now: OffsetDateTime) -> Result<Vec<Event>, QueueError> {
        self.called(ticket)?;
        Ok(vec![Event::NoShow { ticket, at: now }])
    }

    /// Marks as no-shows the bookings not checked in by their deadline
    /// ([`Queue::check_in_deadline`]), strictly before `now`. Ordered by deadline, then
    /// tracking code. Calling it again emits nothing new.
    pub fn expire_no_shows(&self, now: OffsetDateTime) -> Vec<Event> {
        let mut due: Vec<&BookingInfo> = self
            .bookings
            .values()
            .filter(|b| b.state == BookingState::Expected && now > self.check_in_deadline(&b.slot))
            .collect();
        due.sort_by_key(|b| (b.slot.end, b.tracking_code.as_str()));
        due.into_iter()
            .map(|b| Event::BookingNoShow {
                tracking_code: b.tracking_code.clone(),
                at: now,
            })
            .collect()
    }
}
