-- Which services each counter of an office handles. No rows: every counter handles every
-- service. A row with services_json NULL: that counter handles every service.
CREATE TABLE office_counters (
    office_code    INTEGER NOT NULL,
    counter        INTEGER NOT NULL CHECK (counter BETWEEN 1 AND 999),
    services_json  TEXT,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (office_code, counter)
);
