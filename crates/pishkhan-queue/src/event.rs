//! The durable record of a queue: tickets and events.

use std::fmt;

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::ServiceCode;
use pishkhan_domain::schedule::{Slot, TrackingCode};
use time::OffsetDateTime;

use crate::QueueError;
use crate::config::{CounterId, PriorityCode};

/// Whether a ticket was issued to a booked citizen at check-in or to a walk-in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// Shown as `B-007`.
    Booked,
    /// Shown as `W-012`.
    WalkIn,
}

impl TicketKind {
    pub fn prefix(self) -> char {
        match self {
            TicketKind::Booked => 'B',
            TicketKind::WalkIn => 'W',
        }
    }
}

/// The short number a person is called by. Numbers run from 1 per kind and day.
///
/// `Display` gives the plain ASCII form `W-012`; putting it in Persian digits (and, if wanted,
/// a Persian letter for the kind) is the UI's job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Ticket {
    pub kind: TicketKind,
    pub number: u16,
}

impl Ticket {
    pub fn booked(number: u16) -> Self {
        Self {
            kind: TicketKind::Booked,
            number,
        }
    }

    pub fn walk_in(number: u16) -> Self {
        Self {
            kind: TicketKind::WalkIn,
            number,
        }
    }

    /// Accepts `W-012`, `w12`, `W 12` and Persian digits.
    pub fn parse(s: &str) -> Result<Self, QueueError> {
        let bad = || QueueError::InvalidTicket(s.to_string());
        let ascii = pishkhan_domain::digits::to_ascii_digits(s.trim());
        let mut chars = ascii.chars();
        let kind = match chars.next().map(|c| c.to_ascii_uppercase()) {
            Some('B') => TicketKind::Booked,
            Some('W') => TicketKind::WalkIn,
            _ => return Err(bad()),
        };
        let digits: String = chars.filter(|c| !matches!(c, '-' | ' ')).collect();
        if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let number: u16 = digits.parse().map_err(|_| bad())?;
        if number == 0 {
            return Err(bad());
        }
        Ok(Self { kind, number })
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:03}", self.kind.prefix(), self.number)
    }
}

impl TryFrom<String> for Ticket {
    type Error = QueueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Ticket> for String {
    fn from(t: Ticket) -> String {
        t.to_string()
    }
}

/// Which line a waiting person stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// Booked citizens who checked in on time, called by slot.
    Booked,
    /// Walk-ins and late booked citizens, called by priority group and arrival.
    WalkIn,
}

/// Which rule chose the person a counter called; recorded for audits and the operator's
/// screen. See the crate documentation for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallReason {
    /// Rule 1: a booked citizen whose window has opened.
    Booked,
    /// Rule 2: the head of the walk-in line, nobody booked being due.
    WalkIn,
    /// Rule 3: the fairness rule gave the turn to the walk-in line.
    Fairness,
    /// Rule 4: nobody else was there, so a booked citizen was called before their window.
    EarlyBooked,
    /// Rule 0: another counter transferred the person here, so they go before anyone else.
    Transferred,
}

/// One fact of the day, in the order it happened. Operations return events; `apply` folds them
/// into the state; a durable log of them rebuilds the queue.
///
/// JSON form: `{"type":"walk_in","ticket":"W-012","service":"PSP-001","at":"…","priority":null}`,
/// with RFC 3339 instants (exact to the nanosecond, so a round trip is lossless).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A booking for this office and day, known before the citizen arrives.
    BookingExpected {
        #[serde(with = "codec::tracking")]
        tracking_code: TrackingCode,
        national_code: NationalCode,
        #[serde(with = "codec::service")]
        service: ServiceCode,
        #[serde(with = "time::serde::rfc3339")]
        slot_start: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        slot_end: OffsetDateTime,
    },
    /// The booking was cancelled before check-in.
    BookingCancelled {
        #[serde(with = "codec::tracking")]
        tracking_code: TrackingCode,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The booking was not checked in by the end of its window plus grace.
    BookingNoShow {
        #[serde(with = "codec::tracking")]
        tracking_code: TrackingCode,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A booked citizen arrived and got `ticket`. `late` puts them in the walk-in line.
    CheckedIn {
        #[serde(with = "codec::tracking")]
        tracking_code: TrackingCode,
        ticket: Ticket,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        priority: Option<PriorityCode>,
        late: bool,
    },
    /// Someone without a booking took a ticket.
    WalkIn {
        ticket: Ticket,
        #[serde(with = "codec::service")]
        service: ServiceCode,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        priority: Option<PriorityCode>,
    },
    /// A counter called a waiting person.
    Called {
        ticket: Ticket,
        counter: CounterId,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        reason: CallReason,
    },
    /// The counter announced its current person again.
    Recalled {
        ticket: Ticket,
        counter: CounterId,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The counter sent its current person to another counter: they wait again, reserved for
    /// `to`, which calls them before anyone else; other counters pass them by.
    Transferred {
        ticket: Ticket,
        from: CounterId,
        to: CounterId,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The counter stopped calling (a break); it serves nobody while paused.
    CounterPaused {
        counter: CounterId,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The paused counter calls again.
    CounterResumed {
        counter: CounterId,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The service was done.
    Completed {
        ticket: Ticket,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The called person did not come to the counter.
    NoShow {
        ticket: Ticket,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

impl Event {
    /// The ticket this event is about, if it is about one.
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            Event::CheckedIn { ticket, .. }
            | Event::WalkIn { ticket, .. }
            | Event::Called { ticket, .. }
            | Event::Recalled { ticket, .. }
            | Event::Transferred { ticket, .. }
            | Event::Completed { ticket, .. }
            | Event::NoShow { ticket, .. } => Some(*ticket),
            Event::BookingExpected { .. }
            | Event::BookingCancelled { .. }
            | Event::BookingNoShow { .. }
            | Event::CounterPaused { .. }
            | Event::CounterResumed { .. } => None,
        }
    }

    /// When the event happened; `None` for `BookingExpected`, which records a fact known
    /// beforehand.
    pub fn at(&self) -> Option<OffsetDateTime> {
        match self {
            Event::BookingExpected { .. } => None,
            Event::BookingCancelled { at, .. }
            | Event::BookingNoShow { at, .. }
            | Event::CheckedIn { at, .. }
            | Event::WalkIn { at, .. }
            | Event::Called { at, .. }
            | Event::Recalled { at, .. }
            | Event::Transferred { at, .. }
            | Event::CounterPaused { at, .. }
            | Event::CounterResumed { at, .. }
            | Event::Completed { at, .. }
            | Event::NoShow { at, .. } => Some(*at),
        }
    }

    /// Every kind [`Event::kind`] names, so front ends can prove they word each one.
    pub const KINDS: [&'static str; 12] = [
        "booking_expected",
        "booking_cancelled",
        "booking_no_show",
        "checked_in",
        "walk_in",
        "called",
        "recalled",
        "transferred",
        "counter_paused",
        "counter_resumed",
        "completed",
        "no_show",
    ];

    /// The counter this event is about, if it is about one.
    pub fn counter(&self) -> Option<CounterId> {
        match self {
            Event::Called { counter, .. }
            | Event::Recalled { counter, .. }
            | Event::CounterPaused { counter, .. }
            | Event::CounterResumed { counter, .. } => Some(*counter),
            Event::Transferred { from, .. } => Some(*from),
            _ => None,
        }
    }

    /// A stable snake_case name, as in the JSON `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::BookingExpected { .. } => "booking_expected",
            Event::BookingCancelled { .. } => "booking_cancelled",
            Event::BookingNoShow { .. } => "booking_no_show",
            Event::CheckedIn { .. } => "checked_in",
            Event::WalkIn { .. } => "walk_in",
            Event::Called { .. } => "called",
            Event::Recalled { .. } => "recalled",
            Event::Transferred { .. } => "transferred",
            Event::CounterPaused { .. } => "counter_paused",
            Event::CounterResumed { .. } => "counter_resumed",
            Event::Completed { .. } => "completed",
            Event::NoShow { .. } => "no_show",
        }
    }

    pub(crate) fn booking_expected(
        tracking_code: TrackingCode,
        national_code: NationalCode,
        service: ServiceCode,
        slot: Slot,
    ) -> Self {
        Event::BookingExpected {
            tracking_code,
            national_code,
            service,
            slot_start: slot.start,
            slot_end: slot.end,
        }
    }
}

/// Serde for the domain's code types, which parse on the way in.
mod codec {
    pub mod tracking {
        use pishkhan_domain::schedule::TrackingCode;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &TrackingCode, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(v.as_str())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TrackingCode, D::Error> {
            let s = String::deserialize(d)?;
            TrackingCode::parse(&s).map_err(serde::de::Error::custom)
        }
    }

    pub mod service {
        use pishkhan_domain::model::ServiceCode;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &ServiceCode, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(v.as_str())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ServiceCode, D::Error> {
            let s = String::deserialize(d)?;
            ServiceCode::parse(&s).map_err(serde::de::Error::custom)
        }
    }
}
