-- Appointments: per-office settings, holidays, closures, slot loads and bookings.
CREATE TABLE office_schedules (
    office_code       INTEGER PRIMARY KEY REFERENCES offices(code),
    slot_minutes      INTEGER NOT NULL CHECK (slot_minutes BETWEEN 5 AND 240),
    occupancy_cap     INTEGER NOT NULL CHECK (occupancy_cap BETWEEN 1 AND 1000),
    booking_counters  INTEGER NOT NULL CHECK (booking_counters >= 0),
    updated_at_ms     INTEGER NOT NULL
);

-- Lunar holidays entered by the regulator; fixed solar ones live in the code.
CREATE TABLE holidays (
    day      TEXT PRIMARY KEY,
    name_fa  TEXT NOT NULL,
    name_en  TEXT NOT NULL
);

CREATE TABLE office_closures (
    office_code  INTEGER NOT NULL REFERENCES offices(code),
    day          TEXT NOT NULL,
    reason_fa    TEXT NOT NULL,
    reason_en    TEXT NOT NULL,
    PRIMARY KEY (office_code, day)
);

-- How many people each slot holds now. The conditional upsert on this row is what makes
-- overbooking impossible.
CREATE TABLE slot_loads (
    office_code    INTEGER NOT NULL,
    slot_start_ms  INTEGER NOT NULL,
    booked         INTEGER NOT NULL CHECK (booked >= 0),
    PRIMARY KEY (office_code, slot_start_ms)
);

-- A booking's number is its primary key: rows are appended in number order, and the
-- tracking code is a keyed permutation of the number, so codes need no index of their own.
CREATE TABLE bookings (
    seq              INTEGER PRIMARY KEY,
    tracking_code    TEXT NOT NULL,
    office_code      INTEGER NOT NULL REFERENCES offices(code),
    service_code     TEXT NOT NULL REFERENCES services(code),
    slot_start_ms    INTEGER NOT NULL,
    slot_end_ms      INTEGER NOT NULL,
    national_code    TEXT NOT NULL,
    mobile           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'completed', 'cancelled', 'no_show')),
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    idempotency_key  TEXT UNIQUE
);
CREATE INDEX bookings_citizen ON bookings(national_code, slot_start_ms);
CREATE INDEX bookings_office_slot ON bookings(office_code, slot_start_ms);

-- The transactional outbox: messages written in the same transaction as the change that
-- causes them, delivered later by the dispatcher. One row per event (`dedupe_key`).
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL,
    recipient           TEXT NOT NULL,
    dedupe_key          TEXT NOT NULL UNIQUE,
    payload_json        TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER NOT NULL,
    lease_until_ms      INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT,
    created_at_ms       INTEGER NOT NULL,
    sent_at_ms          INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at_ms);
