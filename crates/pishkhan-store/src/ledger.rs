//! The ledger's storage on both engines (migration 0015): transfers appended in the order they
//! were applied, each account's balances, each pending transfer's state, and the head (the
//! last seq and digest).
//!
//! Every write is one path: lock the head, load what the batch touches into a `Book`, ask
//! `Book::apply` (the one decision, in `pishkhan-domain`), and write what it decided
//! (`ledger_rows::plan`). The store adds no rule of its own.
//!
//! **Invariant: ledger writers run one at a time, everywhere.** Each begins by updating the
//! one `ledger_head` row, which on PostgreSQL holds its row lock until commit, so concurrent
//! processes apply batches in one order, which is the order of `seq` (given out from the head
//! without gaps) and of the digest chain. Every payment debits `psp_clearing`, so batches
//! would queue on that account's row anyway; the head makes the order total and costs no
//! deadlocks. On SQLite the writer's turn already orders every write transaction; there
//! `post_transfers` runs on a native connection (`ledger_native.rs`) under the same turn.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::ledger_rows::{self, Head, Needs, Plan, RawRow, Value};
use crate::sql::{AnyTx, SqlStore, corrupt};
use crate::{
    Account, Balance, Ledger, LedgerFault, LedgerHead, MAX_BALANCE_ACCOUNTS, MAX_BATCH,
    MAX_TRANSFERS_OF, MAX_TRANSFERS_PAGE, Outcome, Replay, Result, StoreError, StoredTransfer,
    Transfer, TransferCode, TransferId,
};

/// Keys per `IN (…)` read.
const READ_PIECE: usize = 512;
/// Rows per multi-row insert: 14 values each stays under both engines' parameter limits.
const INSERT_PIECE: usize = 256;

/// Applies `batch` inside the caller's transaction (which must come from `begin_write`, so on
/// SQLite it holds the writer's turn). It locks the ledger head first (on PostgreSQL, until
/// the caller commits: call it last in the transaction), then reads the accounts and pendings
/// the batch names. Any refused transfer is `Err(StoreError::LedgerRefused{..})`, nothing is
/// written, and the caller's transaction must roll back; `Exists` (a retry) is fine.
// Called by the payments' area (issue 12) in its own transactions; tested below.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) async fn post_in_tx(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    batch: &[Transfer],
    at_ms: i64,
) -> Result<()> {
    let plan = decide_in_tx(store, tx, batch, at_ms).await?;
    if let Some((transfer, error)) = plan.first_refusal(batch) {
        return Err(StoreError::LedgerRefused { transfer, error });
    }
    write_in_tx(store, tx, &plan).await
}

fn check_batch(len: usize) -> Result<()> {
    if len > MAX_BATCH {
        return Err(StoreError::LedgerBatchTooLarge {
            len,
            max: MAX_BATCH,
        });
    }
    Ok(())
}

/// `post_transfers` through sqlx: PostgreSQL's path (and SQLite's when the native connection
/// is not available).
async fn post_through_sqlx(
    store: &SqlStore,
    batch: &[Transfer],
    at_ms: i64,
) -> Result<Vec<Outcome>> {
    let (_turn, mut tx) = store.begin_write().await?;
    let plan = decide_in_tx(store, &mut tx, batch, at_ms).await?;
    if plan.writes_nothing() {
        // Retries and refusals only: nothing to keep, and the head's lock goes at once.
        tx.rollback().await?;
    } else {
        write_in_tx(store, &mut tx, &plan).await?;
        tx.commit().await?;
    }
    Ok(plan.outcomes)
}

async fn decide_in_tx(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    batch: &[Transfer],
    at_ms: i64,
) -> Result<Plan> {
    check_batch(batch.len())?;
    // The head first: on PostgreSQL this row lock is what orders ledger writers.
    let row = sqlx::query("UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, digest")
        .fetch_one(&mut **tx)
        .await?;
    let head = head_of(&row)?;
    let needs = ledger_rows::needs(batch);
    let book = load(store, tx, &needs).await?;
    Ok(ledger_rows::plan(book, head, batch, at_ms))
}

fn head_of(row: &AnyRow) -> Result<Head> {
    let digest: Vec<u8> = row.try_get("digest")?;
    Ok(Head {
        seq: row.try_get("seq")?,
        digest: digest
            .try_into()
            .map_err(|_| corrupt("ledger_head.digest", "not 32 bytes"))?,
    })
}

/// One key of an `IN (…)` read.
enum Key<'a> {
    Text(String),
    Id(&'a TransferId),
}

/// `SELECT … WHERE column IN (keys)` in pieces, every row of every piece.
async fn select_in(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    head: &str,
    keys: Vec<Key<'_>>,
) -> Result<Vec<AnyRow>> {
    let positional = store.dialect.positional_params();
    let mut out = Vec::new();
    let mut keys = keys.into_iter();
    for n in ledger_rows::pieces(keys.len(), READ_PIECE) {
        let text = format!("{head} ({})", placeholders_list(n, positional));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for k in keys.by_ref().take(n) {
            q = match k {
                Key::Text(s) => q.bind(s),
                Key::Id(id) => q.bind(id.to_bytes().to_vec()),
            };
        }
        out.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(out)
}

fn placeholders_list(n: usize, positional: bool) -> String {
    let one_row = ledger_rows::placeholders(1, n, positional);
    one_row[1..one_row.len() - 1].to_string()
}

async fn load(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    needs: &Needs,
) -> Result<pishkhan_domain::ledger::Book> {
    let accounts = select_in(
        store,
        tx,
        "SELECT code, debits_pending, debits_posted, credits_pending, credits_posted \
         FROM ledger_accounts WHERE code IN",
        needs.accounts.iter().map(|a| Key::Text(a.code())).collect(),
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get("code")?, balance_of(r)?)))
    .collect::<Result<Vec<_>>>()?;
    let existing = select_in(
        store,
        tx,
        &format!(
            "SELECT {} FROM ledger_transfers WHERE id IN",
            ledger_rows::TRANSFER_COLS
        ),
        needs.ids.iter().map(Key::Id).collect(),
    )
    .await?
    .iter()
    .map(raw_row)
    .collect::<Result<Vec<_>>>()?;
    let states = if needs.pendings.is_empty() {
        Vec::new()
    } else {
        select_in(
            store,
            tx,
            "SELECT id, state FROM ledger_pendings WHERE id IN",
            needs.pendings.iter().map(Key::Id).collect(),
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("state")?)))
        .collect::<Result<Vec<_>>>()?
    };
    ledger_rows::book(accounts, existing, states)
}

fn balance_of(r: &AnyRow) -> Result<Balance> {
    Ok(Balance {
        debits_pending: r.try_get("debits_pending")?,
        debits_posted: r.try_get("debits_posted")?,
        credits_pending: r.try_get("credits_pending")?,
        credits_posted: r.try_get("credits_posted")?,
    })
}

fn raw_row(r: &AnyRow) -> Result<RawRow> {
    Ok(RawRow {
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        debit: r.try_get("debit")?,
        credit: r.try_get("credit")?,
        amount: r.try_get("amount")?,
        phase: r.try_get("phase")?,
        pending_id: r.try_get("pending_id")?,
        linked: r.try_get("linked")?,
        chain: r.try_get("chain")?,
        chain_len: r.try_get("chain_len")?,
        code: r.try_get("code")?,
        reference: r.try_get("reference")?,
        at_ms: r.try_get("at_ms")?,
        digest: r.try_get("digest")?,
    })
}

async fn write_in_tx(store: &SqlStore, tx: &mut AnyTx<'_>, plan: &Plan) -> Result<()> {
    if plan.writes_nothing() {
        return Ok(());
    }
    let positional = store.dialect.positional_params();
    let mut rows = plan.rows.iter();
    for n in ledger_rows::pieces(plan.rows.len(), INSERT_PIECE) {
        let text = format!(
            "{}{}",
            ledger_rows::INSERT_HEAD,
            ledger_rows::placeholders(n, ledger_rows::INSERT_WIDTH, positional)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for r in rows.by_ref().take(n) {
            for v in ledger_rows::row_values(r) {
                q = match v {
                    Value::Int(i) => q.bind(i),
                    Value::Text(s) => q.bind(s.to_string()),
                    Value::OwnedText(s) => q.bind(s),
                    Value::Blob(b) => q.bind(b.to_vec()),
                    Value::Digest(d) => q.bind(d.to_vec()),
                    Value::Null => q.bind(None::<Vec<u8>>),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    let mut opened = plan.opened.iter();
    for n in ledger_rows::pieces(plan.opened.len(), READ_PIECE) {
        let text = format!(
            "INSERT INTO ledger_pendings (id, state) VALUES {}",
            ledger_rows::placeholders(n, 2, positional)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for id in opened.by_ref().take(n) {
            q = q.bind(id.to_bytes().to_vec()).bind("open");
        }
        q.execute(&mut **tx).await?;
    }
    for (ids, state) in [(&plan.posted, "posted"), (&plan.voided, "voided")] {
        let mut ids = ids.iter();
        for n in ledger_rows::pieces(ids.len(), READ_PIECE) {
            let mut q = if positional {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE ledger_pendings SET state = ? WHERE state = 'open' AND id IN ({})",
                    placeholders_list(n, true)
                )))
            } else {
                // $1 is the state; the ids follow from $2.
                let list: Vec<String> = (2..n + 2).map(|i| format!("${i}")).collect();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE ledger_pendings SET state = $1 WHERE state = 'open' AND id IN ({})",
                    list.join(", ")
                )))
            };
            q = q.bind(state);
            for id in ids.by_ref().take(n) {
                q = q.bind(id.to_bytes().to_vec());
            }
            let done = q.execute(&mut **tx).await?.rows_affected();
            if done != n as u64 {
                // The book read them open under the head's lock: only a writer that skipped
                // the lock could have changed them.
                return Err(StoreError::Conflict {
                    what: format!("ledger pendings changed while a batch {state} them"),
                });
            }
        }
    }
    let mut balances = plan.balances.iter();
    for n in ledger_rows::pieces(plan.balances.len(), READ_PIECE) {
        let text = format!(
            "INSERT INTO ledger_accounts (code, debits_pending, debits_posted, credits_pending, \
             credits_posted) VALUES {} ON CONFLICT (code) DO UPDATE SET \
             debits_pending = excluded.debits_pending, debits_posted = excluded.debits_posted, \
             credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted",
            ledger_rows::placeholders(n, 5, positional)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for (account, b) in balances.by_ref().take(n) {
            q = q
                .bind(account.code())
                .bind(b.debits_pending)
                .bind(b.debits_posted)
                .bind(b.credits_pending)
                .bind(b.credits_posted);
        }
        q.execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE ledger_head SET seq = $1, digest = $2 WHERE id = 1")
        .bind(plan.head.seq)
        .bind(plan.head.digest.to_vec())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---- reads ---------------------------------------------------------------------------------

fn balances_from(rows: &[AnyRow]) -> Result<BTreeMap<Account, Balance>> {
    rows.iter()
        .map(|r| {
            let code: String = r.try_get("code")?;
            let account = Account::parse(&code)
                .map_err(|_| corrupt("ledger_accounts.code", format!("{code:?}")))?;
            Ok((account, balance_of(r)?))
        })
        .collect()
}

const BALANCE_COLS: &str = "SELECT code, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger_accounts";

async fn all_balances_in(conn: &mut sqlx::AnyConnection) -> Result<BTreeMap<Account, Balance>> {
    let rows = sqlx::query(BALANCE_COLS).fetch_all(&mut *conn).await?;
    balances_from(&rows)
}

async fn page_after(
    conn: &mut sqlx::AnyConnection,
    after: i64,
    limit: usize,
) -> Result<Vec<RawRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM ledger_transfers WHERE seq > $1 ORDER BY seq LIMIT $2",
        ledger_rows::TRANSFER_COLS
    )))
    .bind(after)
    .bind(limit.min(MAX_TRANSFERS_PAGE) as i64)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(raw_row).collect()
}

#[async_trait]
impl Ledger for SqlStore {
    async fn post_transfers(&self, batch: &[Transfer]) -> Result<Vec<Outcome>> {
        check_batch(batch.len())?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let at_ms = crate::sql::now_ms();
        if let Some(native) = self.ledger_native().await? {
            let _turn = self.dialect.write_turn().await;
            return native.post(batch.to_vec(), at_ms).await;
        }
        post_through_sqlx(self, batch, at_ms).await
    }

    async fn balances(&self, accounts: &[Account]) -> Result<BTreeMap<Account, Balance>> {
        if accounts.len() > MAX_BALANCE_ACCOUNTS {
            return Err(StoreError::LedgerBatchTooLarge {
                len: accounts.len(),
                max: MAX_BALANCE_ACCOUNTS,
            });
        }
        let mut conn = self.pool.acquire().await?;
        let positional = self.dialect.positional_params();
        let mut out: BTreeMap<Account, Balance> = accounts
            .iter()
            .map(|a| (a.clone(), Balance::default()))
            .collect();
        let mut codes = out
            .keys()
            .map(Account::code)
            .collect::<Vec<_>>()
            .into_iter();
        for n in ledger_rows::pieces(codes.len(), READ_PIECE) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{BALANCE_COLS} WHERE code IN ({})",
                placeholders_list(n, positional)
            )));
            for c in codes.by_ref().take(n) {
                q = q.bind(c);
            }
            out.extend(balances_from(&q.fetch_all(&mut *conn).await?)?);
        }
        Ok(out)
    }

    async fn all_balances(&self) -> Result<BTreeMap<Account, Balance>> {
        let mut conn = self.pool.acquire().await?;
        all_balances_in(&mut conn).await
    }

    async fn transfers_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, StoredTransfer)>> {
        let mut conn = self.pool.acquire().await?;
        page_after(&mut conn, after, limit)
            .await?
            .iter()
            .map(|r| Ok((r.seq, r.trusted()?)))
            .collect()
    }

    async fn transfers_of(
        &self,
        code: TransferCode,
        reference: i64,
    ) -> Result<Vec<StoredTransfer>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM ledger_transfers WHERE code = $1 AND reference = $2 ORDER BY seq LIMIT $3",
            ledger_rows::TRANSFER_COLS
        )))
        .bind(code.code())
        .bind(reference)
        .bind(MAX_TRANSFERS_OF as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| raw_row(r)?.trusted()).collect()
    }

    async fn verify_ledger(&self) -> Result<std::result::Result<Replay, LedgerFault>> {
        // One read snapshot for the whole replay, so writers may go on meanwhile and the
        // balances read at the end are those of the transfers replayed.
        let mut tx = self.pool.begin_with(self.dialect.read_snapshot()).await?;
        let verdict = crate::ledger_verify::verify(&mut tx).await;
        let _ = tx.rollback().await;
        verdict
    }

    async fn ledger_head(&self) -> Result<LedgerHead> {
        let row = sqlx::query("SELECT seq, digest FROM ledger_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let head = head_of(&row)?;
        Ok(LedgerHead {
            seq: head.seq,
            digest: head.digest,
        })
    }
}

pub(crate) async fn read_page(conn: &mut sqlx::AnyConnection, after: i64) -> Result<Vec<RawRow>> {
    page_after(conn, after, MAX_TRANSFERS_PAGE).await
}

pub(crate) async fn read_balances(
    conn: &mut sqlx::AnyConnection,
) -> Result<BTreeMap<Account, Balance>> {
    all_balances_in(conn).await
}

pub(crate) async fn read_head(conn: &mut sqlx::AnyConnection) -> Result<Head> {
    let row = sqlx::query("SELECT seq, digest FROM ledger_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    head_of(&row)
}

impl SqlStore {
    /// The native ledger connection on the embedded store (started once), `None` on
    /// PostgreSQL.
    async fn ledger_native(&self) -> Result<Option<&crate::ledger_native::NativeLedger>> {
        let native = self
            .ledger
            .get_or_try_init(|| async {
                self.dialect
                    .embedded_file()
                    .map(crate::ledger_native::NativeLedger::start)
                    .transpose()
            })
            .await?;
        Ok(native.as_ref())
    }
}

#[cfg(test)]
mod tests {
    //! `post_in_tx` inside a caller's transaction, on both engines (PostgreSQL when
    //! `PISHKHAN_TEST_POSTGRES_URL` is set), and mixed with `post_transfers` (SQLite's native
    //! path) under the one writer's turn.

    use pishkhan_domain::ledger::IdSpace;

    use super::*;
    use crate::{DatabaseUrl, Phase, TransferError};

    /// A store, and what removes it afterwards.
    struct Db {
        store: Option<SqlStore>,
        _dir: Option<tempfile::TempDir>,
        pg: Option<(String, String)>,
    }

    impl Db {
        fn store(&self) -> &SqlStore {
            self.store.as_ref().expect("open")
        }

        async fn close(mut self) {
            if let Some(s) = self.store.take() {
                s.pool.close().await;
            }
            if let Some((admin, name)) = self.pg.take() {
                use sqlx::{Connection, Executor};
                let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                c.execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE {name} WITH (FORCE)"
                )))
                .await
                .unwrap();
            }
        }
    }

    async fn stores() -> Vec<Db> {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = crate::sqlite::open(&DatabaseUrl::sqlite_in(dir.path()))
            .await
            .unwrap();
        let mut out = vec![Db {
            store: Some(sqlite),
            _dir: Some(dir),
            pg: None,
        }];
        if let Ok(base) = std::env::var("PISHKHAN_TEST_POSTGRES_URL")
            && !base.trim().is_empty()
        {
            use sqlx::{Connection, Executor};
            let base = base.trim_end_matches('/');
            let name = format!(
                "pishkhan_unit_ledger_{}_{}",
                std::process::id(),
                now_nanos()
            );
            let admin = format!("{base}/postgres");
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap();
            let url = DatabaseUrl::parse(&format!("{base}/{name}")).unwrap();
            out.push(Db {
                store: Some(crate::postgres::open(&url).await.unwrap()),
                _dir: None,
                pg: Some((admin, name)),
            });
        }
        out
    }

    fn now_nanos() -> u32 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    }

    fn t(
        n: i64,
        step: u8,
        leg: u8,
        debit: Account,
        credit: Account,
        amount: i64,
        phase: Phase,
    ) -> Transfer {
        Transfer {
            id: TransferId::derived(IdSpace::Payment, n, step, leg),
            debit,
            credit,
            amount,
            phase,
            linked: false,
            code: TransferCode::Payment,
            reference: n,
        }
    }

    /// A payment's two pending legs, linked.
    fn payment(n: i64) -> Vec<Transfer> {
        let mut a = t(
            n,
            1,
            0,
            Account::PspClearing,
            Account::VatPayable,
            1_000,
            Phase::Pending,
        );
        a.linked = true;
        let b = t(
            n,
            1,
            1,
            Account::PspClearing,
            Account::Suspense,
            500,
            Phase::Pending,
        );
        vec![a, b]
    }

    async fn post(store: &SqlStore, batch: &[Transfer]) -> Result<()> {
        let (_turn, mut tx) = store.begin_write().await?;
        match post_in_tx(store, &mut tx, batch, 1).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(())
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    #[tokio::test]
    async fn post_in_tx_applies_whole_batches_or_names_the_refusal() {
        for db in stores().await {
            let store = db.store();
            let be = store.dialect.backend().name();
            post(store, &payment(1)).await.unwrap();
            let head = store.ledger_head().await.unwrap();
            assert_eq!(head.seq, 2, "{be}");
            // A retry is no error and writes nothing.
            post(store, &payment(1)).await.unwrap();
            assert_eq!(store.ledger_head().await.unwrap(), head, "{be}");
            // A chain whose second member breaks a rule: the error names that member.
            let mut post_vat = t(
                1,
                2,
                0,
                Account::PspClearing,
                Account::VatPayable,
                1_000,
                Phase::Post(payment(1)[0].id),
            );
            post_vat.linked = true;
            let wrong = t(
                1,
                2,
                1,
                Account::PspClearing,
                Account::Suspense,
                499,
                Phase::Post(payment(1)[1].id),
            );
            match post(store, &[post_vat.clone(), wrong.clone()]).await {
                Err(StoreError::LedgerRefused { transfer, error }) => {
                    assert_eq!(
                        (transfer, error),
                        (wrong.id, TransferError::PendingMismatch),
                        "{be}"
                    )
                }
                other => panic!("{be}: {other:?}"),
            }
            // Another chain applied beside a refused one still fails the whole call.
            let lone = t(
                9,
                1,
                0,
                Account::PspClearing,
                Account::Suspense,
                5,
                Phase::Post(TransferId(7)),
            );
            let mut batch = payment(2);
            batch.push(lone.clone());
            assert!(
                matches!(post(store, &batch).await, Err(StoreError::LedgerRefused { transfer, error: TransferError::PendingNotFound }) if transfer == lone.id),
                "{be}"
            );
            assert_eq!(
                store.ledger_head().await.unwrap(),
                head,
                "{be}: nothing written"
            );
            let right = t(
                1,
                2,
                1,
                Account::PspClearing,
                Account::Suspense,
                500,
                Phase::Post(payment(1)[1].id),
            );
            post(store, &[post_vat, right]).await.unwrap();
            let b = store.balances(&[Account::VatPayable]).await.unwrap();
            assert_eq!(b[&Account::VatPayable].credits_posted, 1_000, "{be}");
            assert!(store.verify_ledger().await.unwrap().is_ok(), "{be}");
            db.close().await;
        }
    }

    #[tokio::test]
    async fn post_in_tx_and_post_transfers_interleave_under_one_order() {
        for db in stores().await {
            let s = db.store();
            let be = s.dialect.backend().name();
            // Writers through both paths at once, each its own payments.
            let mut tasks = Vec::new();
            for w in 0..4i64 {
                tasks.push(async move {
                    for k in 0..25i64 {
                        let n = 1_000 + w * 100 + k;
                        if w % 2 == 0 {
                            post(s, &payment(n)).await.unwrap();
                        } else {
                            let out = s.post_transfers(&payment(n)).await.unwrap();
                            assert!(out.iter().all(|o| *o == Outcome::Applied));
                        }
                    }
                });
            }
            futures_join_all(tasks).await;
            let replay = s.verify_ledger().await.unwrap().expect("sound");
            assert_eq!(replay.transfers, 200, "{be}");
            assert_eq!(s.ledger_head().await.unwrap().seq, 200, "{be}");
            db.close().await;
        }
    }

    /// Polls every future to its end on this task (no `futures` crate needed).
    async fn futures_join_all<F: std::future::Future<Output = ()>>(fs: Vec<F>) {
        let mut fs: Vec<_> = fs.into_iter().map(Box::pin).collect();
        std::future::poll_fn(|cx| {
            fs.retain_mut(|f| f.as_mut().poll(cx).is_pending());
            if fs.is_empty() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}
