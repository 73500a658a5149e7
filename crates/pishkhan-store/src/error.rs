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

    /// The change is not allowed in the record's current state.
    #[error("{0}")]
    WrongState(String),

    /// Another process owns the embedded database.
    #[error("the database at {path} is in use by another pishkhan process")]
    Locked { path: String },

    #[error("invalid database url: {0}")]
    BadUrl(String),

    #[error("migration {name} failed: {reason}")]
    Migration { name: String, reason: String },

    #[error("stored data is corrupt: {0}")]
    Corrupt(String),

    #[error("database error")]
    Database(#[source] sqlx::Error),

    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
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
            R::NotBooked { .. } | R::SameSlot => StoreError::WrongState(r.to_string()),
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
