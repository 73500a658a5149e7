-- Surge releases: a seeded lottery for scarce slots (crate pishkhan-release).
--
-- The regulator opens a release: a service, a province, per office a number of slots laid out
-- over that office's slot times (`plan_json`), and a request window. The 32-byte seed is drawn
-- at the opening; only its SHA-256 (`seed_commitment`) is shown until the allocation is stored,
-- then `seed_hex` is published with the digests. Status: open -> closed (sealed: no request
-- is accepted any more) -> allocated (the result is stored; winners are then booked).
CREATE TABLE releases (
    id                 TEXT PRIMARY KEY,
    service_code       TEXT NOT NULL REFERENCES services(code),
    province_id        BIGINT NOT NULL REFERENCES provinces(id),
    -- [{"office": 11000001, "slots": 3, "times": [{"start_ms": .., "end_ms": .., "seats": 2}]}]
    plan_json          TEXT NOT NULL,
    total_slots        BIGINT NOT NULL CHECK (total_slots > 0),
    opens_at_ms        BIGINT NOT NULL,
    closes_at_ms       BIGINT NOT NULL,
    seed_commitment    TEXT NOT NULL,
    seed_hex           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('open', 'closed', 'allocated')),
    inputs_digest      TEXT,
    allocation_digest  TEXT,
    winners            BIGINT,
    waitlisted         BIGINT,
    created_by         TEXT NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    closed_at_ms       BIGINT,
    allocated_at_ms    BIGINT,
    CHECK (opens_at_ms < closes_at_ms)
);
CREATE INDEX releases_status ON releases (status);

-- One row per citizen and release: a resubmission replaces the preferences and takes a new
-- arrival number (`seq`), so the row always holds the citizen's last request. The lottery
-- position depends only on the seed and the national code, so neither arrival order nor
-- resubmitting gains anything. `submissions` bounds how often one citizen may resubmit.
CREATE TABLE release_requests (
    release_id        TEXT NOT NULL REFERENCES releases(id),
    national_code     TEXT NOT NULL,
    mobile            TEXT NOT NULL,
    preferences_json  TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    at_ms             BIGINT NOT NULL,
    submissions       BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (release_id, national_code)
);
CREATE INDEX release_requests_arrival ON release_requests (release_id, seq);
CREATE INDEX release_requests_citizen ON release_requests (national_code);
-- Arrival numbers across app processes.
CREATE SEQUENCE release_request_seq;

-- The stored result, written in one transaction with the release's move to 'allocated'.
-- Winners: `place` is their place in lottery order among the winners (1 first); `seat` is
-- pending until their booking is made (idempotency key per release and citizen), then booked
-- with its tracking code and number (`booking_seq`, the key of `bookings`), or unseated when
-- a booking rule refused it. Waitlisted: `place` is their place on the waitlist (1 first);
-- `offer_*` is the seat a winner gave back that was offered to them (each citizen is offered
-- at most one seat). `freed_at_ms` marks a winner's seat that was given back (cancelled or
-- unseated) and handed on to the waitlist, which happens at most once per seat.
CREATE TABLE release_allocations (
    release_id           TEXT NOT NULL REFERENCES releases(id),
    national_code        TEXT NOT NULL,
    mobile               TEXT NOT NULL,
    outcome              TEXT NOT NULL CHECK (outcome IN ('won', 'waitlisted')),
    place                BIGINT NOT NULL CHECK (place >= 1),
    office_code          BIGINT,
    slot_start_ms        BIGINT,
    slot_end_ms          BIGINT,
    seat                 TEXT CHECK (seat IN ('pending', 'booked', 'unseated')),
    tracking_code        TEXT,
    booking_seq          BIGINT,
    unseated_reason      TEXT,
    freed_at_ms          BIGINT,
    offer_office_code    BIGINT,
    offer_slot_start_ms  BIGINT,
    offer_slot_end_ms    BIGINT,
    offered_at_ms        BIGINT,
    PRIMARY KEY (release_id, national_code),
    CHECK ((outcome = 'won') = (office_code IS NOT NULL AND seat IS NOT NULL))
);
CREATE UNIQUE INDEX release_allocations_order ON release_allocations (release_id, outcome, place);
CREATE INDEX release_allocations_booking ON release_allocations (booking_seq);
CREATE INDEX release_allocations_citizen ON release_allocations (national_code);
