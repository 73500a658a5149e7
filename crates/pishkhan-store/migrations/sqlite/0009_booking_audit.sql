-- A booking's creation is audited by its own row, in the same transaction, instead of by a
-- second row in audit_log: who (created_by, actor_staff_id), from where (client_ip,
-- request_id), when (created_at_ms) and under which action (audit_action). Rows made before
-- this migration keep their audit_log entry and have audit_action NULL.
ALTER TABLE bookings ADD COLUMN actor_staff_id INTEGER;
ALTER TABLE bookings ADD COLUMN client_ip TEXT;
ALTER TABLE bookings ADD COLUMN request_id TEXT;
ALTER TABLE bookings ADD COLUMN audit_action TEXT;

-- The audit log is read newest first across both sources; both orderings are append-only.
CREATE INDEX audit_at ON audit_log(at_ms, id);
CREATE INDEX bookings_audited_at ON bookings(created_at_ms, seq) WHERE audit_action IS NOT NULL;

-- What a booking's creation recorded can't change afterwards, and bookings are never deleted:
-- the creation record is as append-only as audit_log.
CREATE TRIGGER bookings_creation_fixed BEFORE UPDATE OF
    seq, tracking_code, office_code, service_code, national_code, mobile, created_at_ms,
    created_by, idempotency_key, actor_staff_id, client_ip, request_id, audit_action ON bookings
BEGIN
    SELECT RAISE(ABORT, 'a booking''s creation record is append-only');
END;
CREATE TRIGGER bookings_no_delete BEFORE DELETE ON bookings
BEGIN
    SELECT RAISE(ABORT, 'bookings are never deleted');
END;
