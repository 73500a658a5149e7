//! Why an operation was refused.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::ServiceCode;
use pishkhan_domain::schedule::TrackingCode;

use crate::config::{CounterId, PriorityCode};
use crate::event::Ticket;

/// A refused operation, or an event that does not fit the state it is applied to.
///
/// [`QueueError::code`] is stable and meant for clients; the messages are English for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("invalid queue configuration: {0}")]
    InvalidConfig(String),
    #[error("{0:?} is not a ticket number such as W-012")]
    InvalidTicket(String),
    #[error("this queue is for {queue_day}, not {day}")]
    WrongDay {
        queue_day: JalaliDate,
        day: JalaliDate,
    },
    #[error("the slot must start before it ends")]
    InvalidSlot,
    #[error("booking {0} is already expected")]
    DuplicateBooking(TrackingCode),
    #[error("no booking {0} at this office today")]
    UnknownBooking(TrackingCode),
    #[error("no booking for this national code at this office today")]
    NoBookingToday,
    #[error("booking {tracking_code} is already checked in as {ticket}")]
    AlreadyCheckedIn {
        tracking_code: TrackingCode,
        ticket: Ticket,
    },
    #[error("booking {0} was cancelled")]
    BookingCancelled(TrackingCode),
    #[error("booking {0} was already marked a no-show")]
    BookingNoShow(TrackingCode),
    #[error("{0:?} is not a priority group code (2..=24 of a-z, 0-9, '-')")]
    InvalidPriorityCode(String),
    #[error("unknown priority group {0}")]
    UnknownPriorityGroup(PriorityCode),
    #[error("no counter handles service {0}")]
    ServiceNotServed(ServiceCode),
    #[error("the office has issued its {0} tickets of this kind for today")]
    TicketLimit(u16),
    #[error("no counter {0}")]
    UnknownCounter(CounterId),
    #[error("counter {counter} is still serving {ticket}")]
    CounterBusy { counter: CounterId, ticket: Ticket },
    #[error("counter {0} is paused")]
    CounterPaused(CounterId),
    #[error("counter {0} is not paused")]
    CounterNotPaused(CounterId),
    #[error("counter {counter} does not handle service {service}")]
    CounterCannotServe {
        counter: CounterId,
        service: ServiceCode,
    },
    #[error("a ticket cannot be transferred to the counter already serving it")]
    SameCounter(CounterId),
    #[error("nobody is waiting for counter {0}")]
    NobodyWaiting(CounterId),
    #[error("counter {0} is serving nobody")]
    NobodyServed(CounterId),
    #[error("no ticket {0} today")]
    UnknownTicket(Ticket),
    #[error("ticket {0} is not being served at a counter")]
    NotCalled(Ticket),
    #[error("ticket {0} is not waiting")]
    NotWaiting(Ticket),
    /// An event that cannot follow the current state: a corrupt or reordered log.
    #[error("event {kind} does not fit the queue: {reason}")]
    InvalidEvent { kind: &'static str, reason: String },
}

impl QueueError {
    /// A stable snake_case code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            QueueError::InvalidConfig(_) => "invalid_queue_config",
            QueueError::InvalidTicket(_) => "invalid_ticket",
            QueueError::WrongDay { .. } => "wrong_day",
            QueueError::InvalidSlot => "invalid_slot",
            QueueError::DuplicateBooking(_) => "duplicate_booking",
            QueueError::UnknownBooking(_) => "unknown_booking",
            QueueError::NoBookingToday => "no_booking_today",
            QueueError::AlreadyCheckedIn { .. } => "already_checked_in",
            QueueError::BookingCancelled(_) => "booking_cancelled",
            QueueError::BookingNoShow(_) => "booking_no_show",
            QueueError::InvalidPriorityCode(_) => "invalid_priority_code",
            QueueError::UnknownPriorityGroup(_) => "unknown_priority_group",
            QueueError::ServiceNotServed(_) => "service_not_served",
            QueueError::TicketLimit(_) => "ticket_limit",
            QueueError::UnknownCounter(_) => "unknown_counter",
            QueueError::CounterBusy { .. } => "counter_busy",
            QueueError::CounterPaused(_) => "counter_paused",
            QueueError::CounterNotPaused(_) => "counter_not_paused",
            QueueError::CounterCannotServe { .. } => "counter_cannot_serve",
            QueueError::SameCounter(_) => "transfer_same_counter",
            QueueError::NobodyWaiting(_) => "nobody_waiting",
            QueueError::NobodyServed(_) => "nobody_served",
            QueueError::UnknownTicket(_) => "unknown_ticket",
            QueueError::NotCalled(_) => "not_called",
            QueueError::NotWaiting(_) => "not_waiting",
            QueueError::InvalidEvent { .. } => "invalid_event",
        }
    }
}
