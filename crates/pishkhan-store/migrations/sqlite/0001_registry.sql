-- Registry, staff, sessions and the audit log. Times are unix milliseconds (UTC).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE provinces (
    id          INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 31),
    name_fa     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    capital_fa  TEXT NOT NULL,
    capital_en  TEXT NOT NULL,
    population  INTEGER NOT NULL CHECK (population >= 0),
    lat         REAL NOT NULL,
    lon         REAL NOT NULL
);

CREATE TABLE agencies (
    code     TEXT PRIMARY KEY,
    name_fa  TEXT NOT NULL,
    name_en  TEXT NOT NULL
);

CREATE TABLE services (
    code            TEXT PRIMARY KEY,
    title_fa        TEXT NOT NULL,
    title_en        TEXT NOT NULL,
    agency          TEXT NOT NULL REFERENCES agencies(code),
    category        TEXT NOT NULL,
    documents_json  TEXT NOT NULL,
    inquiries_json  TEXT NOT NULL,
    avg_minutes     INTEGER NOT NULL CHECK (avg_minutes BETWEEN 1 AND 480),
    channel         TEXT NOT NULL CHECK (channel IN ('counter', 'online', 'both')),
    digitization    TEXT NOT NULL CHECK (digitization IN ('networked', 'in_progress', 'not_started')),
    search_text     TEXT NOT NULL
);
CREATE INDEX services_agency ON services(agency, code);

CREATE TABLE offices (
    code            INTEGER PRIMARY KEY CHECK (code BETWEEN 10000000 AND 99999999),
    name_fa         TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    province_id     INTEGER NOT NULL REFERENCES provinces(id),
    city_fa         TEXT NOT NULL,
    city_en         TEXT NOT NULL,
    address_fa      TEXT NOT NULL,
    address_en      TEXT NOT NULL,
    postal_code     TEXT NOT NULL,
    phone           TEXT NOT NULL,
    lat             REAL NOT NULL,
    lon             REAL NOT NULL,
    licence_no      TEXT NOT NULL UNIQUE,
    licence_issued  TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'warned', 'suspended', 'revoked')),
    counters        INTEGER NOT NULL CHECK (counters BETWEEN 1 AND 200),
    hours           TEXT NOT NULL,
    search_text     TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX offices_province ON offices(province_id, code);

CREATE TABLE staff (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT NOT NULL UNIQUE,
    national_code   TEXT NOT NULL UNIQUE,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    mobile          TEXT NOT NULL,
    office_code     INTEGER REFERENCES offices(code),
    role            TEXT NOT NULL CHECK (role IN ('regulator', 'manager', 'operator')),
    status          TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    password_hash   TEXT,
    created_at_ms   INTEGER NOT NULL,
    CHECK ((role = 'regulator') = (office_code IS NULL))
);
CREATE INDEX staff_office ON staff(office_code);

CREATE TABLE invitations (
    token_hash     TEXT PRIMARY KEY,
    staff_id       INTEGER NOT NULL REFERENCES staff(id),
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    used_at_ms     INTEGER
);
CREATE INDEX invitations_staff ON invitations(staff_id);

CREATE TABLE sessions (
    token_hash     TEXT PRIMARY KEY,
    staff_id       INTEGER NOT NULL REFERENCES staff(id),
    csrf_token     TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    ip             TEXT
);
CREATE INDEX sessions_staff ON sessions(staff_id);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms           INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    actor_staff_id  INTEGER,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    ip              TEXT,
    request_id      TEXT,
    detail_json     TEXT NOT NULL
);
CREATE INDEX audit_action ON audit_log(action, id);
CREATE INDEX audit_actor ON audit_log(actor, id);

-- The audit log is append-only: the database itself refuses edits and deletions.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
