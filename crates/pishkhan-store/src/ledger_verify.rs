//! `verify_ledger`: replays every stored transfer and checks each stored column against it.
//!
//! Row by row, in `seq` order, a page of [`MAX_TRANSFERS_PAGE`] at a time: `seq` runs from 1
//! without gaps; every column holds a valid value; the row's digest is SHA-256 of the
//! previous digest and its columns (so any changed column, including the digest, is seen at
//! its row); and `Replayer` applies it under `Book::apply`'s rules (chains whole and
//! contiguous, pendings resolved once, constrained accounts never below zero). Then the head
//! must be the last row's seq and digest, every pending's stored state the one its transfers
//! give, and every stored balance the replayed one (`compare_balances`, which also checks
//! that debits equal credits). The first fault is returned, naming a transfer (by id, with its
//! seq) or an account.
//!
//! What it cannot see: a ledger rewritten whole, digests and head included, by someone who
//! can write the database. The head digest (`Ledger::ledger_head`, printed by `pishkhan ledger
//! verify`) kept outside the database shows that.

use std::collections::HashMap;

use pishkhan_domain::ledger::{PendingState, Phase, Replayer, compare_balances};
use sqlx::Row;

use crate::ledger_rows::{GENESIS, RawRow, chain_digest, state_code};
use crate::sql::AnyTx;
use crate::{LedgerFault, MAX_TRANSFERS_PAGE, Replay, Result, TransferId};

fn fault(transfer: Option<TransferId>, reason: String) -> LedgerFault {
    LedgerFault {
        transfer,
        account: None,
        reason,
    }
}

/// Where the replay stands between rows.
struct Walk {
    replayer: Replayer,
    prev: [u8; 32],
    next_seq: i64,
    /// The head of the chain the last row left open (it was linked to the next).
    open_chain: Option<TransferId>,
    /// What each pending transfer's transfers make it, to check `ledger_pendings` against.
    pendings: HashMap<TransferId, PendingState>,
}

impl Walk {
    fn row(&mut self, row: &RawRow) -> std::result::Result<(), LedgerFault> {
        let id = row.transfer_id();
        let seq = row.seq;
        if seq != self.next_seq {
            return Err(self.out_of_place(row));
        }
        let stored = row
            .decode()
            .map_err(|e| fault(id, format!("at seq {seq}: {e}")))?;
        let digest = chain_digest(&self.prev, seq, &stored);
        if row.digest != digest {
            return Err(fault(
                id,
                format!(
                    "at seq {seq}: ledger_transfers.digest does not match the row's columns and \
                     the row before it: a column was changed"
                ),
            ));
        }
        self.replayer.push(&stored).map_err(|mut f| {
            f.reason = format!("at seq {seq}: {}", f.reason);
            f
        })?;
        let t = &stored.transfer;
        match t.phase {
            Phase::Pending => {
                self.pendings.insert(t.id, PendingState::Open);
            }
            Phase::Post(p) => {
                self.pendings.insert(p, PendingState::Posted);
            }
            Phase::Void(p) => {
                self.pendings.insert(p, PendingState::Voided);
            }
            Phase::Single => {}
        }
        self.open_chain = t.linked.then_some(stored.chain);
        self.prev = digest;
        self.next_seq += 1;
        Ok(())
    }

    /// A row whose seq is not the next one: rows before it were deleted or moved (or it was
    /// moved). A hole inside a chain is the chain's: named by its head, as a partial chain.
    fn out_of_place(&self, row: &RawRow) -> LedgerFault {
        let (seq, missing) = (row.seq, self.next_seq);
        if seq < missing {
            return fault(
                row.transfer_id(),
                format!("stored at seq {seq}, out of place (seq {missing} expected)"),
            );
        }
        let member_of = row
            .decode()
            .ok()
            .filter(|s| s.chain != s.transfer.id)
            .map(|s| s.chain);
        match self.open_chain.or(member_of) {
            Some(head) => fault(
                Some(head),
                format!(
                    "linked chain is partial: seq {missing} is missing before seq {seq}; a \
                     transfer was deleted or moved"
                ),
            ),
            None => fault(
                row.transfer_id(),
                format!(
                    "stored at seq {seq} but seq {missing} is missing before it; a transfer was \
                     deleted or moved"
                ),
            ),
        }
    }
}

pub(crate) async fn verify(tx: &mut AnyTx<'_>) -> Result<std::result::Result<Replay, LedgerFault>> {
    let mut walk = Walk {
        replayer: Replayer::new(),
        prev: GENESIS,
        next_seq: 1,
        open_chain: None,
        pendings: HashMap::new(),
    };
    let mut after = i64::MIN;
    loop {
        let page = crate::ledger::read_page(&mut **tx, after).await?;
        for row in &page {
            if let Err(f) = walk.row(row) {
                return Ok(Err(f));
            }
            after = row.seq;
        }
        if page.len() < MAX_TRANSFERS_PAGE {
            break;
        }
    }
    let last = walk.next_seq - 1;
    let head = crate::ledger::read_head(&mut **tx).await?;
    if head.seq != last {
        return Ok(Err(fault(
            None,
            format!(
                "ledger_head says {} transfers but {last} are stored: the last ones were deleted, \
                 or the head was changed",
                head.seq
            ),
        )));
    }
    if head.digest != walk.prev {
        return Ok(Err(fault(
            None,
            "ledger_head.digest is not the last transfer's digest".into(),
        )));
    }
    let replay = match walk.replayer.finish() {
        Ok(r) => r,
        Err(f) => return Ok(Err(f)),
    };
    if let Err(f) = check_pendings(tx, walk.pendings).await? {
        return Ok(Err(f));
    }
    let stored = crate::ledger::read_balances(&mut **tx).await?;
    Ok(compare_balances(&replay, &stored).map(|()| replay))
}

/// Every pending transfer has its `ledger_pendings` row, in the state its transfers give, and
/// the table holds nothing else.
async fn check_pendings(
    tx: &mut AnyTx<'_>,
    mut want: HashMap<TransferId, PendingState>,
) -> Result<std::result::Result<(), LedgerFault>> {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let limit = MAX_TRANSFERS_PAGE as i64;
        let q = match &after {
            None => sqlx::query("SELECT id, state FROM ledger_pendings ORDER BY id LIMIT $1")
                .bind(limit),
            Some(a) => sqlx::query(
                "SELECT id, state FROM ledger_pendings WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(a.clone())
            .bind(limit),
        };
        let rows = q.fetch_all(&mut **tx).await?;
        for r in &rows {
            let raw: Vec<u8> = r.try_get("id")?;
            let state: String = r.try_get("state")?;
            let Some(id) = TransferId::from_bytes(&raw) else {
                return Ok(Err(fault(
                    None,
                    format!("ledger_pendings holds an id of {} bytes", raw.len()),
                )));
            };
            match want.remove(&id) {
                None => {
                    return Ok(Err(fault(
                        Some(id),
                        "ledger_pendings holds a row for no pending transfer".into(),
                    )));
                }
                Some(s) if state_code(s) != state => {
                    return Ok(Err(fault(
                        Some(id),
                        format!(
                            "ledger_pendings says {state} but its transfers make it {}",
                            state_code(s)
                        ),
                    )));
                }
                Some(_) => {}
            }
            after = Some(raw);
        }
        if rows.len() < MAX_TRANSFERS_PAGE {
            break;
        }
    }
    if let Some(id) = want.keys().min() {
        return Ok(Err(fault(
            Some(*id),
            "a pending transfer has no ledger_pendings row".into(),
        )));
    }
    Ok(Ok(()))
}
