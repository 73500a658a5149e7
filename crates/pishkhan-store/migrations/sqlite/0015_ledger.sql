-- The double-entry ledger (issue 12). Transfers are immutable: what `Book::apply` (in
-- pishkhan-domain) accepted is appended, never changed or deleted. `seq` is the order they
-- were applied in, given out by the store from `ledger_head` without gaps; `pishkhan ledger
-- verify` replays them in that order. A linked chain is stored contiguously, head first.
--
-- `digest` chains every row to the one before it: SHA-256 of the previous row's digest and
-- this row's canonical bytes (every other column). `ledger_head` holds the last seq and digest,
-- so a changed, moved or missing row shows up in verify, and the head digest it prints can be
-- kept elsewhere to show a rewrite of the whole chain.
CREATE TABLE ledger_transfers (
    seq        INTEGER PRIMARY KEY,
    id         BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
    debit      TEXT NOT NULL,
    credit     TEXT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    phase      TEXT NOT NULL CHECK (phase IN ('single', 'pending', 'post', 'void')),
    pending_id BLOB,
    linked     INTEGER NOT NULL CHECK (linked IN (0, 1)),
    chain      BLOB NOT NULL,
    chain_len  INTEGER NOT NULL,
    code       TEXT NOT NULL,
    reference  INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL,
    digest     BLOB NOT NULL
);
-- A payment's, refund's or settlement's transfers, in applied order (the rowid is seq).
CREATE INDEX ledger_transfers_by_reference ON ledger_transfers (code, reference);

-- Each account's four balances, written in the transaction of the transfers that moved them.
CREATE TABLE ledger_accounts (
    code            TEXT PRIMARY KEY,
    debits_pending  INTEGER NOT NULL,
    debits_posted   INTEGER NOT NULL,
    credits_pending INTEGER NOT NULL,
    credits_posted  INTEGER NOT NULL
) WITHOUT ROWID;

-- What each pending transfer has become, so a post or void finds it with one key lookup. A
-- pending is resolved once: open → posted or voided, never back.
CREATE TABLE ledger_pendings (
    id    BLOB PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('open', 'posted', 'voided'))
) WITHOUT ROWID;

-- The ledger's one append point: the last seq and digest.
CREATE TABLE ledger_head (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    seq    INTEGER NOT NULL,
    digest BLOB NOT NULL
);
INSERT INTO ledger_head (id, seq, digest) VALUES (1, 0, zeroblob(32));

CREATE TRIGGER ledger_transfers_fixed BEFORE UPDATE ON ledger_transfers
BEGIN
    SELECT RAISE(ABORT, 'a ledger transfer is never changed');
END;
CREATE TRIGGER ledger_transfers_kept BEFORE DELETE ON ledger_transfers
BEGIN
    SELECT RAISE(ABORT, 'a ledger transfer is never deleted');
END;
CREATE TRIGGER ledger_pendings_once BEFORE UPDATE ON ledger_pendings
    WHEN OLD.state <> 'open' OR NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'a pending transfer is resolved once');
END;
CREATE TRIGGER ledger_pendings_kept BEFORE DELETE ON ledger_pendings
BEGIN
    SELECT RAISE(ABORT, 'a pending transfer is never deleted');
END;
CREATE TRIGGER ledger_accounts_kept BEFORE DELETE ON ledger_accounts
BEGIN
    SELECT RAISE(ABORT, 'a ledger account is never deleted');
END;
CREATE TRIGGER ledger_head_forward BEFORE UPDATE ON ledger_head
    WHEN NEW.seq < OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'the ledger head only moves forward');
END;
CREATE TRIGGER ledger_head_kept BEFORE DELETE ON ledger_head
BEGIN
    SELECT RAISE(ABORT, 'the ledger head is never deleted');
END;
