-- Indexing fees to inflation (issue 12). The regulator imports a monthly CPI series with its
-- source; a run turns one import into a factor by a named rule (with a floor and a cap) and
-- proposes next fiscal year's amounts, one row per service and fee component; the regulator
-- may change single rows with a reason, then publishes the run as tariffs (migration 0012)
-- with an effective date. Imports are never changed; a run's rows change only while it is
-- proposed (enforced by the store, under the write lock).
CREATE TABLE cpi_imports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL,
    digest          TEXT NOT NULL,
    months          INTEGER NOT NULL CHECK (months > 0),
    imported_by     TEXT NOT NULL,
    imported_at_ms  INTEGER NOT NULL
);

CREATE TABLE cpi_points (
    import_id    INTEGER NOT NULL REFERENCES cpi_imports(id),
    year         INTEGER NOT NULL,
    month        INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
    index_milli  INTEGER NOT NULL CHECK (index_milli > 0),
    PRIMARY KEY (import_id, year, month)
);

CREATE TABLE indexation_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id          INTEGER NOT NULL REFERENCES cpi_imports(id),
    fiscal_year        INTEGER NOT NULL,
    rule               TEXT NOT NULL,
    floor_milli        INTEGER NOT NULL,
    cap_milli          INTEGER NOT NULL,
    rounding           TEXT NOT NULL,
    factor_from_milli  INTEGER NOT NULL,
    factor_to_milli    INTEGER NOT NULL,
    factor_raw_milli   INTEGER NOT NULL,
    factor_milli       INTEGER NOT NULL,
    proposal_digest    TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('proposed', 'published')),
    effective_from     TEXT,
    created_by         TEXT NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    published_by       TEXT,
    published_at_ms    INTEGER
);

CREATE TABLE indexation_rows (
    run_id          INTEGER NOT NULL REFERENCES indexation_runs(id),
    service_code    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('government_fee', 'counter_fee', 'vat')),
    old_rials       INTEGER NOT NULL CHECK (old_rials >= 0),
    proposed_rials  INTEGER NOT NULL CHECK (proposed_rials >= 0),
    final_rials     INTEGER NOT NULL CHECK (final_rials >= 0),
    edit_reason     TEXT,
    edited_by       TEXT,
    PRIMARY KEY (run_id, service_code, kind)
);
