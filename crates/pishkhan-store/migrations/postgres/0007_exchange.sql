-- The exchange's message log: an RFC 6962 Merkle tree over canonical entry bytes. Rows are
-- append-only (triggers below); the head row moves forward only, under a size check, so two
-- appenders cannot interleave.
CREATE TABLE exchange_log_entries (
    idx          BIGINT PRIMARY KEY,
    leaf_hash    BYTEA NOT NULL,
    entry        BYTEA NOT NULL,
    at_ms        BIGINT NOT NULL,
    -- The national code the inquiry was about, for the citizen's data-access view.
    subject      TEXT,
    office_code  TEXT NOT NULL
);
CREATE INDEX exchange_log_subject ON exchange_log_entries (subject, idx);

-- Hashes of completed perfect subtrees (level 0 = leaves), so proofs need O(log n) reads.
CREATE TABLE exchange_log_nodes (
    level  BIGINT NOT NULL,
    idx    BIGINT NOT NULL,
    hash   BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE exchange_log_head (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    size      BIGINT NOT NULL,
    frontier  BYTEA NOT NULL
);

-- One signed checkpoint per appended batch.
CREATE TABLE exchange_log_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA NOT NULL,
    note_body  TEXT NOT NULL,
    signature  TEXT NOT NULL,
    at_ms      BIGINT NOT NULL
);

CREATE FUNCTION exchange_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the exchange log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER exchange_log_entries_append_only BEFORE UPDATE OR DELETE ON exchange_log_entries
    FOR EACH ROW EXECUTE FUNCTION exchange_log_append_only();
CREATE TRIGGER exchange_log_checkpoints_append_only BEFORE UPDATE OR DELETE ON exchange_log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION exchange_log_append_only();

-- Identity verifications at the counter: the decision, the signed receipt, the second
-- factor (a one-time code to the mobile the registry says is the person's), and the
-- failures that drive the lockout per national code and the per-operator failure report.
CREATE TABLE identity_verifications (
    id                   TEXT PRIMARY KEY,
    national_code        TEXT NOT NULL,
    office_code          BIGINT NOT NULL,
    operator             TEXT NOT NULL,
    decision             TEXT NOT NULL,
    profile_version      TEXT NOT NULL,
    receipt              TEXT NOT NULL,
    result_json          TEXT NOT NULL,
    owned_mobile         TEXT,
    otp_hash             TEXT,
    otp_expires_ms       BIGINT,
    otp_attempts         BIGINT NOT NULL DEFAULT 0,
    second_factor_at_ms  BIGINT,
    at_ms                BIGINT NOT NULL
);
CREATE INDEX identity_verifications_code ON identity_verifications (national_code, at_ms);
CREATE INDEX identity_verifications_operator ON identity_verifications (operator, at_ms);
