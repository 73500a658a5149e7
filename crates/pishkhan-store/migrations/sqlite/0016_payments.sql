-- Payments (issue 12). A payment's row holds its current state; payment_events is its
-- history, append-only. The money itself is in the ledger (0015): each step's transfers are
-- written in the same transaction as the step. Amounts are whole rials.
CREATE TABLE payments (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Who asked ('staff:ID' or 'citizen:CODE') and their key: a retry finds the payment.
    requested_by        TEXT NOT NULL,
    idempotency_key     TEXT NOT NULL,
    request_digest      TEXT NOT NULL,
    channel             TEXT NOT NULL CHECK (channel IN ('counter', 'online')),
    office_code         INTEGER NOT NULL REFERENCES offices(code),
    service_code        TEXT NOT NULL REFERENCES services(code),
    national_code       TEXT NOT NULL,
    case_id             TEXT NOT NULL,
    tariff_from         TEXT NOT NULL,
    -- The shares, 'kind account amount' lines: what the ledger's transfers are made from.
    legs                TEXT NOT NULL,
    amount_rials        INTEGER NOT NULL CHECK (amount_rials > 0),
    status              TEXT NOT NULL CHECK (status IN ('created', 'pending', 'paid', 'verified',
                            'settled', 'failed', 'reversed', 'refunded')),
    token               TEXT UNIQUE,
    ref_num             TEXT,
    card_mask           TEXT,
    reported_rials      INTEGER,
    verify_deadline_ms  INTEGER,
    verified_at_ms      INTEGER,
    verified_day        TEXT,
    settled_day         TEXT,
    refunded_rials      INTEGER NOT NULL DEFAULT 0 CHECK (refunded_rials >= 0),
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    UNIQUE (requested_by, idempotency_key)
);
CREATE INDEX payments_office ON payments (office_code, created_at_ms);
CREATE INDEX payments_citizen ON payments (national_code, created_at_ms);
CREATE INDEX payments_open ON payments (status, updated_at_ms);
CREATE INDEX payments_verified_day ON payments (verified_day);

CREATE TABLE payment_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id   INTEGER NOT NULL REFERENCES payments(id),
    at_ms        INTEGER NOT NULL,
    event        TEXT NOT NULL,
    status       TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, id);

CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id      INTEGER NOT NULL REFERENCES payments(id),
    amount_rials    INTEGER NOT NULL CHECK (amount_rials > 0),
    reason          TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('owed', 'paid')),
    refund_ref      TEXT,
    created_at_ms   INTEGER NOT NULL,
    created_day     TEXT NOT NULL,
    paid_at_ms      INTEGER
);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_owed ON refunds (status);

-- Where each payee is paid: an office's, an agency's or the treasury's Sheba account.
CREATE TABLE payee_accounts (
    account         TEXT PRIMARY KEY,
    sheba           TEXT NOT NULL,
    holder          TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

-- One row per payee and day: the settlement file's rows.
CREATE TABLE settlements (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    day             TEXT NOT NULL,
    account         TEXT NOT NULL,
    sheba           TEXT NOT NULL,
    holder          TEXT NOT NULL,
    amount_rials    INTEGER NOT NULL CHECK (amount_rials > 0),
    payments        INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    UNIQUE (day, account)
);

CREATE TABLE reconciliations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    day             TEXT NOT NULL UNIQUE,
    processor_rows  INTEGER NOT NULL,
    our_rows        INTEGER NOT NULL,
    matched         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL
);

CREATE TABLE reconciliation_mismatches (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    reconciliation_id   INTEGER NOT NULL REFERENCES reconciliations(id),
    kind                TEXT NOT NULL CHECK (kind IN ('missing_here', 'missing_at_processor',
                            'wrong_amount', 'duplicate')),
    order_id            INTEGER NOT NULL,
    ours_rials          INTEGER,
    theirs_rials        INTEGER,
    suspense_rials      INTEGER NOT NULL
);
CREATE INDEX reconciliation_mismatches_run ON reconciliation_mismatches (reconciliation_id);

-- What compliance monitoring found about an office (issue 13 builds the rest on it).
CREATE TABLE compliance_findings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    office_code     INTEGER NOT NULL REFERENCES offices(code),
    kind            TEXT NOT NULL,
    evidence        TEXT NOT NULL,
    payment_id      INTEGER,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX compliance_findings_office ON compliance_findings (office_code, created_at_ms);

CREATE TRIGGER payment_events_fixed BEFORE UPDATE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'a payment event is never changed');
END;
CREATE TRIGGER payment_events_kept BEFORE DELETE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'a payment event is never deleted');
END;
CREATE TRIGGER settlements_fixed BEFORE UPDATE ON settlements
BEGIN
    SELECT RAISE(ABORT, 'a settlement is never changed');
END;
CREATE TRIGGER settlements_kept BEFORE DELETE ON settlements
BEGIN
    SELECT RAISE(ABORT, 'a settlement is never deleted');
END;
CREATE TRIGGER reconciliation_mismatches_fixed BEFORE UPDATE ON reconciliation_mismatches
BEGIN
    SELECT RAISE(ABORT, 'a reconciliation is never changed');
END;
CREATE TRIGGER reconciliation_mismatches_kept BEFORE DELETE ON reconciliation_mismatches
BEGIN
    SELECT RAISE(ABORT, 'a reconciliation is never deleted');
END;
