-- A booking's creation is audited by its own row, in the same transaction, instead of by a
-- second row in audit_log: who (created_by, actor_staff_id), from where (client_ip,
-- request_id), when (created_at_ms) and under which action (audit_action). Rows made before
-- this migration keep their audit_log entry and have audit_action NULL.
ALTER TABLE bookings
    ADD COLUMN actor_staff_id BIGINT,
    ADD COLUMN client_ip TEXT,
    ADD COLUMN request_id TEXT,
    ADD COLUMN audit_action TEXT;

-- The audit log is read newest first across both sources.
CREATE INDEX audit_at ON audit_log(at_ms, id);
CREATE INDEX bookings_audited_at ON bookings(created_at_ms, seq) WHERE audit_action IS NOT NULL;

-- What a booking's creation recorded can't change afterwards, and bookings are never deleted:
-- the creation record is as append-only as audit_log.
CREATE FUNCTION bookings_creation_fixed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'bookings are never deleted';
    END IF;
    IF (NEW.seq, NEW.tracking_code, NEW.office_code, NEW.service_code, NEW.national_code,
        NEW.mobile, NEW.created_at_ms, NEW.created_by, NEW.idempotency_key, NEW.actor_staff_id,
        NEW.client_ip, NEW.request_id, NEW.audit_action)
       IS DISTINCT FROM
       (OLD.seq, OLD.tracking_code, OLD.office_code, OLD.service_code, OLD.national_code,
        OLD.mobile, OLD.created_at_ms, OLD.created_by, OLD.idempotency_key, OLD.actor_staff_id,
        OLD.client_ip, OLD.request_id, OLD.audit_action) THEN
        RAISE EXCEPTION 'a booking''s creation record is append-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER bookings_creation_fixed BEFORE UPDATE OR DELETE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_creation_fixed();
CREATE TRIGGER bookings_no_truncate BEFORE TRUNCATE ON bookings
    FOR EACH STATEMENT EXECUTE FUNCTION bookings_creation_fixed();
