-- The abuse limits' cells (issue 15): what each limiter keeps about a key (a mobile, a client
-- address, a username at an address, an operator, an office), shared by every node on this
-- database so a deployment counts once, not once per node. `state` is the limiter's own
-- encoding; a row restrains nothing once `spent_at_ms` has passed, and is deleted by a purge.
CREATE TABLE limit_cells (
    key TEXT PRIMARY KEY,
    state BYTEA NOT NULL,
    spent_at_ms BIGINT NOT NULL
);
CREATE INDEX limit_cells_spent ON limit_cells (spent_at_ms);
