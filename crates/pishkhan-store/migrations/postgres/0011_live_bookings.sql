-- The embedded store archives bookings past its memory horizon (see the SQLite migration of
-- the same name); PostgreSQL keeps its ordinary indexes and never archives, but carries the
-- column so both stores read bookings with the same statements.
ALTER TABLE bookings ADD COLUMN archived SMALLINT NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
