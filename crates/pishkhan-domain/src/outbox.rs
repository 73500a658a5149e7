//! The kinds of notification the outbox carries.
//!
//! Every kind is listed once, in [`OutboxKind::ALL`], with the text stored in the outbox's
//! `kind` column and sent in the webhook payload. That text is a contract with the database
//! and with receivers: never change an existing one, only add new kinds.

use std::fmt;

/// What happened, as the outbox stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    /// A booking was made.
    BookingConfirmed,
    /// A booking was cancelled.
    BookingCancelled,
    /// A booking moved to another slot.
    BookingRescheduled,
    /// The day-before reminder of a booking.
    BookingReminder,
    /// The citizen's turn in the queue is near.
    QueueTurnNear,
    /// A survey link after a completed visit.
    VisitSurvey,
    /// A citizen's one-time sign-in code.
    AuthOtp,
    /// Identity checks of a national code were locked after failures.
    IdentityLocked,
    /// A second-factor code for an identity check.
    IdentityOtp,
    /// A surge-release request went onto the waitlist.
    ReleaseWaitlisted,
    /// A surge-release request won a seat.
    ReleaseWon,
    /// A surge-release winner's seat could not be booked.
    ReleaseUnseated,
    /// A freed surge-release seat is offered to the waitlist.
    ReleaseOffer,
    /// Next year's fees were published (to every office's manager).
    TariffsPublished,
    /// The office of a citizen's booking was suspended; nearby offices are offered.
    OfficeSuspended,
    /// A step of the office's sanctions or requests (to its managers).
    ComplianceNotice,
    /// A citizen's report about an office was received.
    ReportReceived,
    /// The regulator triaged a citizen's report (accepted, rejected, or asked for more).
    ReportTriaged,
    /// The office answered a citizen's report.
    ReportAnswered,
}

impl OutboxKind {
    /// Every kind, once.
    pub const ALL: [OutboxKind; 19] = [
        OutboxKind::BookingConfirmed,
        OutboxKind::BookingCancelled,
        OutboxKind::BookingRescheduled,
        OutboxKind::BookingReminder,
        OutboxKind::QueueTurnNear,
        OutboxKind::VisitSurvey,
        OutboxKind::AuthOtp,
        OutboxKind::IdentityLocked,
        OutboxKind::IdentityOtp,
        OutboxKind::ReleaseWaitlisted,
        OutboxKind::ReleaseWon,
        OutboxKind::ReleaseUnseated,
        OutboxKind::ReleaseOffer,
        OutboxKind::TariffsPublished,
        OutboxKind::OfficeSuspended,
        OutboxKind::ComplianceNotice,
        OutboxKind::ReportReceived,
        OutboxKind::ReportTriaged,
        OutboxKind::ReportAnswered,
    ];

    /// The stored and transmitted text.
    pub const fn as_str(self) -> &'static str {
        match self {
            OutboxKind::BookingConfirmed => "booking.confirmed",
            OutboxKind::BookingCancelled => "booking.cancelled",
            OutboxKind::BookingRescheduled => "booking.rescheduled",
            OutboxKind::BookingReminder => "booking.reminder",
            OutboxKind::QueueTurnNear => "queue.turn_near",
            OutboxKind::VisitSurvey => "visit.survey",
            OutboxKind::AuthOtp => "auth.otp",
            OutboxKind::IdentityLocked => "identity.locked",
            OutboxKind::IdentityOtp => "identity.otp",
            OutboxKind::ReleaseWaitlisted => "release.waitlisted",
            OutboxKind::ReleaseWon => "release.won",
            OutboxKind::ReleaseUnseated => "release.unseated",
            OutboxKind::ReleaseOffer => "release.offer",
            OutboxKind::TariffsPublished => "tariffs.published",
            OutboxKind::OfficeSuspended => "office.suspended",
            OutboxKind::ComplianceNotice => "compliance.notice",
            OutboxKind::ReportReceived => "report.received",
            OutboxKind::ReportTriaged => "report.triaged",
            OutboxKind::ReportAnswered => "report.answered",
        }
    }

    /// The kind whose text is `s`; `None` for text no kind uses.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for OutboxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A notification waiting in, or delivered from, the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    /// What happened, as stored: the text of an [`OutboxKind`] (`booking.confirmed`, …), kept
    /// as text so a row written by a newer version still reads; see [`OutboxKind::parse`].
    pub kind: String,
    /// The citizen's mobile.
    pub recipient: String,
    /// One per event; sent with every delivery so receivers can drop repeats.
    pub dedupe_key: String,
    pub payload: serde_json::Value,
    /// pending, sent or failed.
    pub status: String,
    pub attempts: u32,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// A notification a change asks for, written to the outbox in the change's transaction.
/// A repeated `dedupe_key` is not a second message.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// What happened; stored as its text (`queue.turn_near`, `visit.survey`, …).
    pub kind: OutboxKind,
    pub recipient: String,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxOutcome {
    Sent,
    Retry {
        error: String,
        next_attempt_at_ms: i64,
    },
    Failed {
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::OutboxKind;

    #[test]
    fn every_kind_round_trips_through_its_text_and_texts_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for k in OutboxKind::ALL {
            assert_eq!(OutboxKind::parse(k.as_str()), Some(k));
            assert_eq!(k.to_string(), k.as_str());
            assert!(seen.insert(k.as_str()), "{k} listed twice");
        }
    }

    #[test]
    fn stored_texts_are_unchanged() {
        // The outbox column and the webhook payload carry these exact bytes.
        let texts: Vec<&str> = OutboxKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            texts,
            [
                "booking.confirmed",
                "booking.cancelled",
                "booking.rescheduled",
                "booking.reminder",
                "queue.turn_near",
                "visit.survey",
                "auth.otp",
                "identity.locked",
                "identity.otp",
                "release.waitlisted",
                "release.won",
                "release.unseated",
                "release.offer",
                "tariffs.published",
                "office.suspended",
                "compliance.notice",
                "report.received",
                "report.triaged",
                "report.answered",
            ]
        );
    }

    #[test]
    fn unknown_text_parses_to_none() {
        for s in [
            "",
            "booking",
            "Booking.Confirmed",
            "booking.confirmed ",
            "x.y",
        ] {
            assert_eq!(OutboxKind::parse(s), None, "{s:?}");
        }
    }
}
