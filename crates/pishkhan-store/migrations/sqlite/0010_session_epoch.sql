-- Processes cache resolved sessions for a few seconds. Every change that ends a session or
-- alters what it resolves to (sign-out, a password change, a deactivation, an office's
-- status) bumps `epoch` and records what it invalidated, in the change's own transaction;
-- every process polls `epoch` and drops the entries named since the epoch it last saw.
-- The update of the one epoch row serializes those transactions, so epochs commit in order.
CREATE TABLE session_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  INTEGER NOT NULL
);
INSERT INTO session_epoch (id, epoch) VALUES (1, 0);

-- Only the newest entries are kept; a process that falls further behind drops its whole cache.
CREATE TABLE session_invalidations (
    epoch    INTEGER PRIMARY KEY,
    at_ms    INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('token', 'staff', 'office')),
    subject  TEXT NOT NULL
);
