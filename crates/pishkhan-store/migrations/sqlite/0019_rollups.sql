-- The supervision read model (issue 13): what the rules and the dashboard count, per office
-- and Tehran day, per province and day, and per province, agency and day. Each row is moved
-- by the event it counts, in that event's transaction (a queue append, an exchange log batch,
-- a verified payment, a citizen's report, an answered survey), so no page or rule run
-- recomputes it from raw rows. Days are Jalali YYYY-MM-DD, which compare as text in order.
CREATE TABLE office_day_stats (
    office_code     BIGINT NOT NULL,
    day             TEXT NOT NULL,
    -- From the queue's day figures (overwritten as the queue recomputes them).
    bookings        BIGINT NOT NULL DEFAULT 0,
    visits          BIGINT NOT NULL DEFAULT 0,
    booked_visits   BIGINT NOT NULL DEFAULT 0,
    walk_ins        BIGINT NOT NULL DEFAULT 0,
    no_shows        BIGINT NOT NULL DEFAULT 0,
    completed       BIGINT NOT NULL DEFAULT 0,
    wait_sum_s      BIGINT NOT NULL DEFAULT 0,
    waited          BIGINT NOT NULL DEFAULT 0,
    -- Counted as they happen.
    lookups         BIGINT NOT NULL DEFAULT 0,
    payments        BIGINT NOT NULL DEFAULT 0,
    paid_rials      BIGINT NOT NULL DEFAULT 0,
    reports         BIGINT NOT NULL DEFAULT 0,
    ratings         BIGINT NOT NULL DEFAULT 0,
    rating_sum      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (office_code, day)
);
CREATE INDEX office_day_stats_day ON office_day_stats (day, office_code);

CREATE TABLE province_day_stats (
    province_id     BIGINT NOT NULL,
    day             TEXT NOT NULL,
    bookings        BIGINT NOT NULL DEFAULT 0,
    visits          BIGINT NOT NULL DEFAULT 0,
    booked_visits   BIGINT NOT NULL DEFAULT 0,
    walk_ins        BIGINT NOT NULL DEFAULT 0,
    no_shows        BIGINT NOT NULL DEFAULT 0,
    completed       BIGINT NOT NULL DEFAULT 0,
    wait_sum_s      BIGINT NOT NULL DEFAULT 0,
    waited          BIGINT NOT NULL DEFAULT 0,
    lookups         BIGINT NOT NULL DEFAULT 0,
    payments        BIGINT NOT NULL DEFAULT 0,
    paid_rials      BIGINT NOT NULL DEFAULT 0,
    reports         BIGINT NOT NULL DEFAULT 0,
    ratings         BIGINT NOT NULL DEFAULT 0,
    rating_sum      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, province_id)
);

CREATE TABLE agency_day_stats (
    day             TEXT NOT NULL,
    province_id     BIGINT NOT NULL,
    agency          TEXT NOT NULL,
    lookups         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, province_id, agency)
);

-- Days from before this system counted them (the demo's and the benchmark's generated
-- history; legacy counters' records): added to the rollups when loaded, and again by a
-- rebuild, like raw rows.
CREATE TABLE history_office_days (
    office_code     BIGINT NOT NULL,
    day             TEXT NOT NULL,
    bookings        BIGINT NOT NULL DEFAULT 0,
    visits          BIGINT NOT NULL DEFAULT 0,
    booked_visits   BIGINT NOT NULL DEFAULT 0,
    walk_ins        BIGINT NOT NULL DEFAULT 0,
    no_shows        BIGINT NOT NULL DEFAULT 0,
    completed       BIGINT NOT NULL DEFAULT 0,
    wait_sum_s      BIGINT NOT NULL DEFAULT 0,
    waited          BIGINT NOT NULL DEFAULT 0,
    lookups         BIGINT NOT NULL DEFAULT 0,
    payments        BIGINT NOT NULL DEFAULT 0,
    paid_rials      BIGINT NOT NULL DEFAULT 0,
    reports         BIGINT NOT NULL DEFAULT 0,
    ratings         BIGINT NOT NULL DEFAULT 0,
    rating_sum      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (office_code, day)
);
CREATE TABLE history_agency_days (
    day             TEXT NOT NULL,
    province_id     BIGINT NOT NULL,
    agency          TEXT NOT NULL,
    lookups         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, province_id, agency)
);

-- The catalogue's digitization over time: each day the catalogue changed, how many services
-- stood at each stage after the change (written in the change's transaction).
CREATE TABLE catalogue_days (
    day             TEXT NOT NULL,
    digitization    TEXT NOT NULL,
    services        BIGINT NOT NULL,
    PRIMARY KEY (day, digitization)
);

-- Present once the rollups hold everything recorded before them: the first open after this
-- migration builds them from the raw rows, under the migration lock.
CREATE TABLE rollup_state (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    built_at_ms     BIGINT NOT NULL
);

-- The dashboard's reports by category, over a period.
CREATE INDEX office_reports_created ON office_reports (created_at_ms);

-- The rules' second version adds the citizens' reports rule, unless the regulator has
-- already saved rules of their own.
INSERT INTO compliance_rules (version, rules_json, created_by, created_at_ms)
SELECT 2,
    '[{"kind":"low_booked_share","severity":"high","params":{"days":14,"min_daily_visits":40,"max_booked_share_pct":20}},{"kind":"no_bookable_slots","severity":"medium","params":{"recent_days":7,"min_lookups":20,"ahead_days":7}},{"kind":"reports_threshold","severity":"medium","params":{"days":30,"min_reports":5}}]',
    'system:migration', 0
WHERE (SELECT MAX(version) FROM compliance_rules) = 1
  AND (SELECT created_by FROM compliance_rules WHERE version = 1) = 'system:migration';
