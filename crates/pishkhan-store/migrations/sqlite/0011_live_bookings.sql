-- The embedded store keeps no random-key index on the bookings it is still taking: a row is
-- "live" (archived = 0) from its booking until its slot is past the engine's memory horizon.
-- The engine's memory is the index of live rows (by citizen, by office and slot), rebuilt at
-- start from `bookings_live`, an index in booking-number order, so appending a booking touches
-- only the right edge of each index. The sweep archives rows past the horizon; only then do
-- they enter the citizen and office indexes, off the booking path.
ALTER TABLE bookings ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
DROP INDEX bookings_citizen;
DROP INDEX bookings_office_slot;
DROP INDEX bookings_open_by_slot;
CREATE INDEX bookings_live ON bookings(seq) WHERE archived = 0;
CREATE INDEX bookings_citizen_archived ON bookings(national_code, slot_start_ms) WHERE archived = 1;
CREATE INDEX bookings_office_archived ON bookings(office_code, slot_start_ms) WHERE archived = 1;
