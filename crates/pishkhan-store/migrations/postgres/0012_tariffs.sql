-- Fee tariffs (issue 12). A tariff is a service's fee from its effective date (Jalali,
-- 'YYYY-MM-DD', which sorts as dates do) until the next one; the fee of a day is the tariff
-- with the latest effective date on or before it. Tariffs are history: never changed, never
-- deleted, so any past day's fee can be quoted again.
CREATE TABLE tariffs (
    service_code     TEXT NOT NULL REFERENCES services(code),
    effective_from   TEXT NOT NULL CHECK (length(effective_from) = 10),
    fiscal_year      INTEGER NOT NULL,
    total_rials      BIGINT NOT NULL CHECK (total_rials >= 0),
    basis            TEXT NOT NULL,
    published_by     TEXT NOT NULL,
    published_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (service_code, effective_from)
);

CREATE TABLE tariff_components (
    service_code    TEXT NOT NULL,
    effective_from  TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('government_fee', 'counter_fee', 'vat')),
    amount_rials    BIGINT NOT NULL CHECK (amount_rials >= 0),
    PRIMARY KEY (service_code, effective_from, kind),
    FOREIGN KEY (service_code, effective_from) REFERENCES tariffs (service_code, effective_from)
);

CREATE FUNCTION tariffs_fixed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a published tariff is never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tariffs_fixed BEFORE UPDATE OR DELETE ON tariffs
    FOR EACH ROW EXECUTE FUNCTION tariffs_fixed();
CREATE TRIGGER tariffs_no_truncate BEFORE TRUNCATE ON tariffs
    FOR EACH STATEMENT EXECUTE FUNCTION tariffs_fixed();
CREATE TRIGGER tariff_components_fixed BEFORE UPDATE OR DELETE ON tariff_components
    FOR EACH ROW EXECUTE FUNCTION tariffs_fixed();
CREATE TRIGGER tariff_components_no_truncate BEFORE TRUNCATE ON tariff_components
    FOR EACH STATEMENT EXECUTE FUNCTION tariffs_fixed();
