-- The compliance read model: one row per office and day, rewritten by every queue append in
-- the append's transaction, so it is never behind the queue log it summarizes.
CREATE TABLE office_day_figures (
    office_code    BIGINT NOT NULL,
    day            TEXT NOT NULL,
    figures_json   TEXT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (office_code, day)
);
CREATE INDEX office_day_figures_day ON office_day_figures (day, office_code);

-- Satisfaction surveys offered after a booked visit is completed. The link carries a random
-- token; only its hash is kept. One survey per booking, answered at most once.
CREATE TABLE surveys (
    tracking_code   TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    office_code     BIGINT NOT NULL,
    service_code    TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    rating          BIGINT,
    comment         TEXT,
    answered_at_ms  BIGINT
);
CREATE INDEX surveys_office ON surveys (office_code, answered_at_ms);

-- Day-before reminders and the no-show sweep look for open bookings by slot time.
CREATE INDEX bookings_open_by_slot ON bookings (status, slot_start_ms);
