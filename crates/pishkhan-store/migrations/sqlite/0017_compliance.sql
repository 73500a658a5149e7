-- Compliance (issue 13, part A): the regulator's rules as versioned data, the findings the
-- runs raise, the sanctions ladder and the office's requests to lift a sanction.

-- Every edit of the rules is a new version; a finding names the version it came from.
CREATE TABLE compliance_rules (
    version        INTEGER PRIMARY KEY,
    rules_json     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL
);
-- The first version, so the daily run has rules before anyone edits them.
INSERT INTO compliance_rules (version, rules_json, created_by, created_at_ms) VALUES (1,
    '[{"kind":"low_booked_share","severity":"high","params":{"days":14,"min_daily_visits":40,"max_booked_share_pct":20}},{"kind":"no_bookable_slots","severity":"medium","params":{"recent_days":7,"min_lookups":20,"ahead_days":7}}]',
    'system:migration', 0);

-- The payments' findings (0016, a fee above the tariff) keep their columns; a run's
-- findings also name their rule, its version, the period the figures cover and a severity.
-- `status`: open until the regulator acts on it (a sanction cites it) or dismisses it.
ALTER TABLE compliance_findings ADD COLUMN rule TEXT;
ALTER TABLE compliance_findings ADD COLUMN rule_version INTEGER;
ALTER TABLE compliance_findings ADD COLUMN period TEXT;
ALTER TABLE compliance_findings ADD COLUMN severity TEXT NOT NULL DEFAULT 'high'
    CHECK (severity IN ('low', 'medium', 'high'));
ALTER TABLE compliance_findings ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'actioned', 'dismissed'));
-- A rerun over the same rule version, office and period finds the same finding.
CREATE UNIQUE INDEX compliance_findings_once
    ON compliance_findings (office_code, rule, rule_version, period);
CREATE INDEX compliance_findings_status ON compliance_findings (status, id);

-- The daily run's claim on its day: one run per Tehran day, whichever process sweeps first.
CREATE TABLE compliance_daily_runs (
    day    TEXT PRIMARY KEY,
    at_ms  INTEGER NOT NULL
);

CREATE TABLE office_sanctions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    office_code    INTEGER NOT NULL REFERENCES offices(code),
    kind           TEXT NOT NULL CHECK (kind IN ('warning', 'suspension', 'reinstatement')),
    reason         TEXT NOT NULL,
    findings_json  TEXT NOT NULL,
    status_before  TEXT NOT NULL,
    status_after   TEXT NOT NULL,
    actor          TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL
);
CREATE INDEX office_sanctions_office ON office_sanctions (office_code, id);

-- A manager's request to be reinstated, or appeal of a sanction, and the regulator's reply.
CREATE TABLE compliance_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    office_code     INTEGER NOT NULL REFERENCES offices(code),
    kind            TEXT NOT NULL CHECK (kind IN ('reinstatement', 'appeal')),
    sanction_id     INTEGER REFERENCES office_sanctions(id),
    text            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'approved', 'refused')),
    reply           TEXT,
    requested_by    TEXT NOT NULL,
    decided_by      TEXT,
    created_at_ms   INTEGER NOT NULL,
    decided_at_ms   INTEGER
);
CREATE INDEX compliance_requests_office ON compliance_requests (office_code, id);
CREATE INDEX compliance_requests_status ON compliance_requests (status, id);

CREATE TRIGGER office_sanctions_fixed BEFORE UPDATE ON office_sanctions
BEGIN
    SELECT RAISE(ABORT, 'a sanction is never changed');
END;
CREATE TRIGGER office_sanctions_kept BEFORE DELETE ON office_sanctions
BEGIN
    SELECT RAISE(ABORT, 'a sanction is never deleted');
END;
CREATE TRIGGER compliance_rules_fixed BEFORE UPDATE ON compliance_rules
BEGIN
    SELECT RAISE(ABORT, 'a rules version is never changed');
END;
