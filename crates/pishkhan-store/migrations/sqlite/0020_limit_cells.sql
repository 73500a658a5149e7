-- The abuse limits' cells (issue 15). The embedded database has one owning process, so its
-- limits live in that process's memory (`limits.rs`); the table exists so both trees hold the
-- same schema, and stays empty here.
CREATE TABLE limit_cells (
    key TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    spent_at_ms INTEGER NOT NULL
);
