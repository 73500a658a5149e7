//! The one error type of the storage layer. Driver errors are mapped here, once.

/// What went wrong in storage. `NotFound` and `Conflict` are expected outcomes that callers
/// turn into 404 and 409; `Database` is a fault whose text never reaches a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },

    /// A uniqueness or state rule refused the change; `what` names the clashing field.
    #[error("conflict: {what}")]
    Conflict { what: String },

    /// The change names something that does not exist, such as an unknown agency.
    #[error("unknown {what}")]
    UnknownReference { what: String },

    /// The permit passed in was made for a different action: a programming error.
    #[error("the permit does not cover this change")]
    PermitMismatch,

    /// An invitation or session that exists but can no longer be used.
    #[error("{0} has expired or was already used")]
    Expired(&'static str),

    /// The slot holds as many people as its capacity allows.
    #[error("the slot is full")]
    SlotFull,

    /// A booking rule refused the request; `rule` says which.
    #[error("{rule}")]
    LimitReached { rule: String },

    /// The change is not allowed in the record's current state; the kind says which rule.
    #[error("{0}")]
    WrongState(WrongState),

    /// Another process owns the embedded database.
    #[error("the database at {path} is in use by another pishkhan process")]
    Locked { path: String },

    #[error("invalid database url: {0}")]
    BadUrl(String),

    #[error("migration {name} failed: {reason}")]
    Migration { name: String, reason: String },

    /// `Book::apply` refused a transfer of a batch that had to apply whole (`post_in_tx`).
    #[error("ledger transfer {transfer} refused: {}", error.code())]
    LedgerRefused {
        transfer: pishkhan_domain::ledger::TransferId,
        error: pishkhan_domain::ledger::TransferError,
    },

    /// A ledger call carried more items than one call may: a caller's mistake.
    #[error("a ledger call carries at most {max} items, not {len}")]
    LedgerBatchTooLarge { len: usize, max: usize },

    #[error("stored data is corrupt: {0}")]
    Corrupt(String),

    #[error("database error")]
    Database(#[source] sqlx::Error),

    /// A fault of the embedded engine's native commit connection (`sqlite_commit.rs`).
    #[error("database error: {0}")]
    Embedded(#[from] rusqlite::Error),

    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Which state rule refused a change. Callers switch on this, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateRule {
    /// Only a booked appointment can be cancelled or moved.
    NotBooked,
    /// A booking cannot be moved to the slot it already holds.
    SameSlot,
    /// The slot lies before what the embedded engine keeps in memory.
    SlotTooOld,
    /// An identity check has no mobile known for a second factor.
    NoSecondFactorMobile,
    /// An identity check's code was confirmed before any was sent.
    NoCodeSent,
    /// A queue append carried more events than one append may.
    TooManyQueueEvents,
    /// A queue tried to set a booking status only bookings set (booked, cancelled).
    QueueStatus,
    /// A survey is answered once.
    SurveyAnswered,
    /// An outbox message was settled that is not pending.
    OutboxNotPending,
    /// A release takes requests only while its window is open.
    ReleaseNotOpen,
    /// A release is sealed only once its window has passed.
    ReleaseStillOpen,
    /// A release is allocated only once sealed.
    ReleaseNotSealed,
    /// A password is changed only from the one stored, on an active account.
    PasswordChanged,
    /// An indexation run's rows change, and it is published, only while it is a proposal.
    RunPublished,
    /// A payment moves only as its status allows (`PaymentStatus::may_become`).
    PaymentStatus,
    /// A refund may not exceed what is left of the payment.
    RefundExceeds,
    /// A sanction or request moved on meanwhile (the office's status, an answered request).
    ComplianceState,
}

/// A refusal for the record's current state: the rule, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongState {
    pub rule: StateRule,
    pub message: String,
}

impl WrongState {
    pub fn new(rule: StateRule, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for WrongState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The message, for code that only shows it.
impl std::ops::Deref for WrongState {
    type Target = str;

    fn deref(&self) -> &str {
        &self.message
    }
}

impl StoreError {
    pub fn wrong_state(rule: StateRule, message: impl Into<String>) -> Self {
        StoreError::WrongState(WrongState::new(rule, message))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            // PostgreSQL names the constraint (`staff_username_key`), SQLite the column
            // (`staff.username`); both become `staff.username is already in use`.
            let what = match (db.constraint(), db.table()) {
                (Some(c), Some(t)) => {
                    let column = c
                        .strip_prefix(&format!("{t}_"))
                        .unwrap_or(c)
                        .trim_end_matches("_key");
                    // The primary keys that clash in practice are codes.
                    let column = if column == "pkey" { "code" } else { column };
                    format!("{t}.{column}")
                }
                (Some(c), None) => c.to_string(),
                _ => unique_field_from_message(db.message()),
            };
            return StoreError::Conflict {
                what: format!("{what} is already in use"),
            };
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StoreError::NotFound { entity: "row" };
        }
        StoreError::Database(e)
    }
}

/// A refusal of the booking decision, in the store's terms: the citizen's limits are
/// `LimitReached` (`booking_limit_reached`), capacity is `SlotFull` (`slot_full`), and a
/// booking in the wrong state is `WrongState` with the refusal's message.
impl From<pishkhan_domain::booking_decision::BookingRefusal> for StoreError {
    fn from(r: pishkhan_domain::booking_decision::BookingRefusal) -> Self {
        use pishkhan_domain::booking_decision::BookingRefusal as R;
        match r {
            R::PerServiceLimit { .. } | R::VisitLimit { .. } => StoreError::LimitReached {
                rule: r.to_string(),
            },
            R::SlotFull => StoreError::SlotFull,
            R::NotBooked { .. } => StoreError::wrong_state(StateRule::NotBooked, r.to_string()),
            R::SameSlot => StoreError::wrong_state(StateRule::SameSlot, r.to_string()),
        }
    }
}

/// SQLite names the column ("UNIQUE constraint failed: staff.username"); keep just that.
fn unique_field_from_message(msg: &str) -> String {
    msg.rsplit(':')
        .next()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unique".to_string())
}
