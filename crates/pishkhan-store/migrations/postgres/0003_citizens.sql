-- Citizens sign in with national code, mobile and a one-time code sent by SMS.
-- Only a hash of each code is kept; one live code per national code.
CREATE TABLE citizen_otps (
    national_code   TEXT PRIMARY KEY,
    mobile          TEXT NOT NULL,
    code_hash       TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    created_at_ms   BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    used_at_ms      BIGINT,
    sent_in_window  BIGINT NOT NULL DEFAULT 1,
    window_start_ms BIGINT NOT NULL
);

CREATE TABLE citizen_sessions (
    token_hash     TEXT PRIMARY KEY,
    national_code  TEXT NOT NULL,
    mobile         TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);
CREATE INDEX citizen_sessions_citizen ON citizen_sessions(national_code);
