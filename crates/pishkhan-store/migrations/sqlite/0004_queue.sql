-- Each office's queue for a day is an append-only log of events, replayed to rebuild it.
-- The primary key makes appends optimistic: two writers can't both take the next number.
CREATE TABLE queue_events (
    office_code  INTEGER NOT NULL,
    day          TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    at_ms        INTEGER NOT NULL,
    event_json   TEXT NOT NULL,
    PRIMARY KEY (office_code, day, seq)
);
