-- The double-entry ledger (issue 12). Transfers are immutable: what `Book::apply` (in
-- pishkhan-domain) accepted is appended, never changed or deleted. `seq` is the order they
-- were applied in, given out by the store from `ledger_head` without gaps (a sequence would
-- leave gaps at every rollback); `pishkhan ledger verify` replays them in that order. A linked
-- chain is stored contiguously, head first.
--
-- `digest` chains every row to the one before it: SHA-256 of the previous row's digest and
-- this row's canonical bytes (every other column). `ledger_head` holds the last seq and digest,
-- so a changed, moved or missing row shows up in verify, and the head digest it prints can be
-- kept elsewhere to show a rewrite of the whole chain.
CREATE TABLE ledger_transfers (
    seq        BIGINT PRIMARY KEY,
    id         BYTEA NOT NULL UNIQUE CHECK (length(id) = 16),
    debit      TEXT NOT NULL,
    credit     TEXT NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    phase      TEXT NOT NULL CHECK (phase IN ('single', 'pending', 'post', 'void')),
    pending_id BYTEA,
    linked     SMALLINT NOT NULL CHECK (linked IN (0, 1)),
    chain      BYTEA NOT NULL,
    chain_len  INTEGER NOT NULL,
    code       TEXT NOT NULL,
    reference  BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL,
    digest     BYTEA NOT NULL
);
-- A payment's, refund's or settlement's transfers, in applied order.
CREATE INDEX ledger_transfers_by_reference ON ledger_transfers (code, reference, seq);

-- Each account's four balances, written in the transaction of the transfers that moved them.
CREATE TABLE ledger_accounts (
    code            TEXT PRIMARY KEY,
    debits_pending  BIGINT NOT NULL,
    debits_posted   BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted  BIGINT NOT NULL
);

-- What each pending transfer has become, so a post or void finds it with one key lookup. A
-- pending is resolved once: open → posted or voided, never back.
CREATE TABLE ledger_pendings (
    id    BYTEA PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('open', 'posted', 'voided'))
);

-- The ledger's one append point: the last seq and digest. Every writer locks this row first,
-- which orders all ledger transactions in the deployment (see `post_in_tx`).
CREATE TABLE ledger_head (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    seq    BIGINT NOT NULL,
    digest BYTEA NOT NULL
);
INSERT INTO ledger_head (id, seq, digest) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION ledger_transfers_fixed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a ledger transfer is never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transfers_fixed BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_transfers_fixed();
CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_fixed();

CREATE FUNCTION ledger_pendings_once() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = 'open' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a pending transfer is resolved once and never deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_pendings_once BEFORE UPDATE OR DELETE ON ledger_pendings
    FOR EACH ROW EXECUTE FUNCTION ledger_pendings_once();
CREATE TRIGGER ledger_pendings_no_truncate BEFORE TRUNCATE ON ledger_pendings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_pendings_once();

CREATE FUNCTION ledger_kept() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'ledger_head' AND NEW.seq >= OLD.seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is never deleted, and the ledger head only moves forward', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_accounts_kept BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_kept();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_kept();
CREATE TRIGGER ledger_head_forward BEFORE UPDATE OR DELETE ON ledger_head
    FOR EACH ROW EXECUTE FUNCTION ledger_kept();
CREATE TRIGGER ledger_head_no_truncate BEFORE TRUNCATE ON ledger_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_kept();
