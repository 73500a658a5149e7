-- Citizens' reports about offices (issue 13, part B). A report's row holds its current state;
-- office_report_entries is its thread (the report, folded repeats, triage notes, the
-- citizen's additions, the office's answers), append-only.
CREATE TABLE office_reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    office_code     INTEGER NOT NULL REFERENCES offices(code),
    national_code   TEXT NOT NULL,
    -- Where the citizen is texted about each step: the mobile they signed in with.
    mobile          TEXT NOT NULL,
    category        TEXT NOT NULL CHECK (category IN ('crowding', 'no_appointments',
                        'overcharging', 'misconduct', 'service_refused', 'other')),
    text            TEXT NOT NULL,
    -- A tracking code of the citizen's own booking at this office, when given.
    booking         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('submitted', 'more_asked', 'accepted',
                        'rejected', 'answered')),
    -- Repeats of this report folded into it (same citizen, office and category in 7 days).
    folded          INTEGER NOT NULL DEFAULT 0 CHECK (folded >= 0),
    -- When the regulator accepted it: what the compliance rules count per office, category
    -- and 30 days.
    accepted_at_ms  INTEGER,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX office_reports_citizen ON office_reports (national_code, created_at_ms);
CREATE INDEX office_reports_accepted ON office_reports (office_code, category, accepted_at_ms);
CREATE INDEX office_reports_status ON office_reports (status, updated_at_ms);
CREATE INDEX office_reports_office ON office_reports (office_code, updated_at_ms);

CREATE TABLE office_report_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id   INTEGER NOT NULL REFERENCES office_reports(id),
    at_ms       INTEGER NOT NULL,
    -- Who wrote it: the citizen, the regulator or the office.
    party       TEXT NOT NULL CHECK (party IN ('citizen', 'regulator', 'office')),
    -- The audit name of the writer ('citizen:CODE', a username).
    author      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('report', 'fold', 'triage', 'addition', 'answer')),
    decision    TEXT CHECK (decision IN ('accept', 'reject', 'ask_more')),
    text        TEXT NOT NULL
);
CREATE INDEX office_report_entries_report ON office_report_entries (report_id, id);
-- A citizen's submissions over the last month: the per-citizen limits.
CREATE INDEX office_report_entries_author ON office_report_entries (author, at_ms);

-- One row per citizen who ever reported, updated first in every report's transaction, so
-- one citizen's reports are decided one at a time (limits and folding) on every engine.
CREATE TABLE office_report_citizens (
    national_code   TEXT PRIMARY KEY,
    last_at_ms      INTEGER NOT NULL
);

CREATE TRIGGER office_report_entries_fixed BEFORE UPDATE ON office_report_entries
BEGIN
    SELECT RAISE(ABORT, 'a report entry is never changed');
END;
CREATE TRIGGER office_report_entries_kept BEFORE DELETE ON office_report_entries
BEGIN
    SELECT RAISE(ABORT, 'a report entry is never deleted');
END;
