//! The ledger's rows, engine-neutral: decoding stored columns, the digest chain, and turning
//! one `Book::apply` decision into the rows to write. Both write paths (sqlx in `ledger.rs`,
//! the native SQLite connection in `ledger_native.rs`) read into a [`Book`] here, ask the
//! domain, and write the [`Plan`] built here, so the two cannot disagree on what a batch does.

use std::collections::BTreeMap;

use pishkhan_domain::ledger::{
    Account, Applied, Balance, Book, Outcome, PendingRecord, PendingState, Phase, StoredTransfer,
    Transfer, TransferCode, TransferError, TransferId,
};
use sha2::Digest;

use crate::StoreError;

/// The columns of `ledger_transfers` every read selects, in this order.
pub(crate) const TRANSFER_COLS: &str = "seq, id, debit, credit, amount, phase, pending_id, linked, \
     chain, chain_len, code, reference, at_ms, digest";
/// The columns every insert writes, in [`RowValues`] order.
pub(crate) const INSERT_HEAD: &str = "INSERT INTO ledger_transfers (seq, id, debit, credit, amount, \
     phase, pending_id, linked, chain, chain_len, code, reference, at_ms, digest) VALUES ";
pub(crate) const INSERT_WIDTH: usize = 14;

/// The digest before the first transfer.
pub(crate) const GENESIS: [u8; 32] = [0; 32];

/// Where the ledger ends: the last store sequence and its row's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub seq: i64,
    pub digest: [u8; 32],
}

/// A `ledger_transfers` row as read, before it is trusted.
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    pub seq: i64,
    pub id: Vec<u8>,
    pub debit: String,
    pub credit: String,
    pub amount: i64,
    pub phase: String,
    pub pending_id: Option<Vec<u8>>,
    pub linked: i64,
    pub chain: Vec<u8>,
    pub chain_len: i64,
    pub code: String,
    pub reference: i64,
    pub at_ms: i64,
    pub digest: Vec<u8>,
}

impl RawRow {
    /// The id if it is one: verify names a row by it, or by its seq when it is not.
    pub(crate) fn transfer_id(&self) -> Option<TransferId> {
        TransferId::from_bytes(&self.id)
    }

    /// The stored transfer, or which column is not a valid value.
    pub(crate) fn decode(&self) -> Result<StoredTransfer, String> {
        let bad = |column: &str| format!("ledger_transfers.{column} holds no valid value");
        let id = self.transfer_id().ok_or_else(|| bad("id"))?;
        let pending = match &self.pending_id {
            None => None,
            Some(b) => Some(TransferId::from_bytes(b).ok_or_else(|| bad("pending_id"))?),
        };
        let linked = match self.linked {
            0 => false,
            1 => true,
            _ => return Err(bad("linked")),
        };
        Ok(StoredTransfer {
            transfer: Transfer {
                id,
                debit: Account::parse(&self.debit).map_err(|_| bad("debit"))?,
                credit: Account::parse(&self.credit).map_err(|_| bad("credit"))?,
                amount: self.amount,
                phase: Phase::from_parts(&self.phase, pending)
                    .ok_or_else(|| bad("phase or pending_id"))?,
                linked,
                code: TransferCode::parse(&self.code).ok_or_else(|| bad("code"))?,
                reference: self.reference,
            },
            chain: TransferId::from_bytes(&self.chain).ok_or_else(|| bad("chain"))?,
            chain_len: u16::try_from(self.chain_len).map_err(|_| bad("chain_len"))?,
            at_ms: self.at_ms,
        })
    }

    /// Decodes a row the store wrote itself (a read path, not verify): a bad value is corrupt
    /// data.
    pub(crate) fn trusted(&self) -> crate::Result<StoredTransfer> {
        self.decode()
            .map_err(|e| StoreError::Corrupt(format!("ledger transfer at seq {}: {e}", self.seq)))
    }
}

/// The canonical bytes of a row: every column but the digest, each fixed-width or
/// length-prefixed, so no two rows share them.
fn canonical(seq: i64, s: &StoredTransfer) -> Vec<u8> {
    let t = &s.transfer;
    let mut b = Vec::with_capacity(160);
    let text = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(&(s.len() as u32).to_be_bytes());
        b.extend_from_slice(s.as_bytes());
    };
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&t.id.to_bytes());
    text(&mut b, &t.debit.code());
    text(&mut b, &t.credit.code());
    b.extend_from_slice(&t.amount.to_be_bytes());
    text(&mut b, t.phase.code());
    match t.phase.pending_id() {
        Some(p) => {
            b.push(1);
            b.extend_from_slice(&p.to_bytes());
        }
        None => b.push(0),
    }
    b.push(u8::from(t.linked));
    b.extend_from_slice(&s.chain.to_bytes());
    b.extend_from_slice(&s.chain_len.to_be_bytes());
    text(&mut b, t.code.code());
    b.extend_from_slice(&t.reference.to_be_bytes());
    b.extend_from_slice(&s.at_ms.to_be_bytes());
    b
}

/// SHA-256(previous digest ‖ canonical bytes of the row at `seq`).
pub(crate) fn chain_digest(prev: &[u8; 32], seq: i64, s: &StoredTransfer) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(prev);
    h.update(canonical(seq, s));
    h.finalize().into()
}

/// What a batch must read before it is decided: every account it names, every id it uses
/// (its own and the pendings it posts or voids) and those pendings' states.
pub(crate) struct Needs {
    pub accounts: Vec<Account>,
    pub ids: Vec<TransferId>,
    pub pendings: Vec<TransferId>,
}

pub(crate) fn needs(batch: &[Transfer]) -> Needs {
    let (accounts, ids) = Book::needs(batch);
    let mut pendings: Vec<TransferId> = batch.iter().filter_map(|t| t.phase.pending_id()).collect();
    pendings.sort();
    pendings.dedup();
    Needs {
        accounts,
        ids,
        pendings,
    }
}

pub(crate) fn state_code(s: PendingState) -> &'static str {
    match s {
        PendingState::Open => "open",
        PendingState::Posted => "posted",
        PendingState::Voided => "voided",
    }
}

fn state_of(code: &str) -> Option<PendingState> {
    Some(match code {
        "open" => PendingState::Open,
        "posted" => PendingState::Posted,
        "voided" => PendingState::Voided,
        _ => return None,
    })
}

/// The [`Book`] from what was read: the accounts' balances, the stored transfers under the
/// batch's ids, and the states of the pendings it names (`(id, state)`).
pub(crate) fn book(
    balances: Vec<(String, Balance)>,
    existing: Vec<RawRow>,
    states: Vec<(Vec<u8>, String)>,
) -> crate::Result<Book> {
    let mut book = Book::default();
    for (code, b) in balances {
        let account = Account::parse(&code)
            .map_err(|_| StoreError::Corrupt(format!("ledger account {code:?}")))?;
        book.balances.insert(account, b);
    }
    for row in existing {
        let s = row.trusted()?;
        book.existing.insert(s.transfer.id, s.transfer);
    }
    for (id, state) in states {
        let corrupt = || StoreError::Corrupt(format!("ledger pending {}", hex::encode(&id)));
        let id = TransferId::from_bytes(&id).ok_or_else(corrupt)?;
        let state = state_of(&state).ok_or_else(corrupt)?;
        // A pending's accounts and amount are its transfer's, read with the batch's ids.
        let t = book.existing.get(&id).ok_or_else(corrupt)?;
        if t.phase != Phase::Pending {
            return Err(corrupt());
        }
        book.pendings.insert(
            id,
            PendingRecord {
                debit: t.debit.clone(),
                credit: t.credit.clone(),
                amount: t.amount,
                state,
            },
        );
    }
    Ok(book)
}

/// One row to insert.
pub(crate) struct NewRow {
    pub seq: i64,
    pub stored: StoredTransfer,
    pub digest: [u8; 32],
}

/// What one decided batch writes.
pub(crate) struct Plan {
    pub outcomes: Vec<Outcome>,
    pub rows: Vec<NewRow>,
    pub balances: BTreeMap<Account, Balance>,
    /// Pending transfers the batch made (stored as open, then resolved below if it did).
    pub opened: Vec<TransferId>,
    pub posted: Vec<TransferId>,
    pub voided: Vec<TransferId>,
    pub head: Head,
}

impl Plan {
    pub(crate) fn writes_nothing(&self) -> bool {
        self.rows.is_empty()
    }

    /// The refusal that explains a batch: the first transfer refused for its own sake, rather
    /// than for a chain member's.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn first_refusal(&self, batch: &[Transfer]) -> Option<(TransferId, TransferError)> {
        let refused = || {
            batch
                .iter()
                .zip(&self.outcomes)
                .filter_map(|(t, o)| match o {
                    Outcome::Refused(e) => Some((t.id, *e)),
                    _ => None,
                })
        };
        refused()
            .find(|(_, e)| *e != TransferError::LinkedEventFailed)
            .or_else(|| refused().next())
    }
}

/// Decides `batch` against `book` (the one decision: `Book::apply`) and numbers and chains
/// the rows it inserts after `head`.
pub(crate) fn plan(mut book: Book, head: Head, batch: &[Transfer], at_ms: i64) -> Plan {
    let Applied {
        outcomes,
        inserted,
        balances,
        resolved,
    } = book.apply(batch, at_ms);
    let mut next = head;
    let mut rows = Vec::with_capacity(inserted.len());
    let mut opened = Vec::new();
    for (transfer, chain, chain_len) in inserted {
        if transfer.phase == Phase::Pending {
            opened.push(transfer.id);
        }
        let stored = StoredTransfer {
            transfer,
            chain,
            chain_len,
            at_ms,
        };
        next.seq += 1;
        next.digest = chain_digest(&next.digest, next.seq, &stored);
        rows.push(NewRow {
            seq: next.seq,
            stored,
            digest: next.digest,
        });
    }
    let mut posted = Vec::new();
    let mut voided = Vec::new();
    for (id, state) in resolved {
        match state {
            PendingState::Posted => posted.push(id),
            PendingState::Voided => voided.push(id),
            PendingState::Open => {}
        }
    }
    Plan {
        outcomes,
        rows,
        balances,
        opened,
        posted,
        voided,
        head: next,
    }
}

/// A row's values in [`INSERT_HEAD`] order, for either engine's binder.
pub(crate) enum Value<'a> {
    Int(i64),
    Text(&'a str),
    OwnedText(String),
    Blob([u8; 16]),
    Digest(&'a [u8; 32]),
    Null,
}

pub(crate) fn row_values(r: &NewRow) -> [Value<'_>; INSERT_WIDTH] {
    let t = &r.stored.transfer;
    [
        Value::Int(r.seq),
        Value::Blob(t.id.to_bytes()),
        Value::OwnedText(t.debit.code()),
        Value::OwnedText(t.credit.code()),
        Value::Int(t.amount),
        Value::Text(t.phase.code()),
        match t.phase.pending_id() {
            Some(p) => Value::Blob(p.to_bytes()),
            None => Value::Null,
        },
        Value::Int(i64::from(t.linked)),
        Value::Blob(r.stored.chain.to_bytes()),
        Value::Int(i64::from(r.stored.chain_len)),
        Value::Text(t.code.code()),
        Value::Int(t.reference),
        Value::Int(r.stored.at_ms),
        Value::Digest(&r.digest),
    ]
}

/// Splits `n` items into statement sizes: as many `max` as fit, then powers of two, so a
/// statement cache holds a few shapes per table instead of one per batch length.
pub(crate) fn pieces(mut n: usize, max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while n >= max {
        out.push(max);
        n -= max;
    }
    let mut p = max.next_power_of_two();
    while n > 0 {
        while p > n {
            p /= 2;
        }
        out.push(p);
        n -= p;
    }
    out
}

/// `(?, ?), (?, ?)` or `($1, $2), ($3, $4)`: `rows` groups of `width` placeholders.
pub(crate) fn placeholders(rows: usize, width: usize, positional: bool) -> String {
    let mut s = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..width {
            if c > 0 {
                s.push_str(", ");
            }
            if positional {
                s.push('?');
            } else {
                s.push('$');
                s.push_str(&(r * width + c + 1).to_string());
            }
        }
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_every_item_in_few_shapes() {
        for n in 0..2_000 {
            let p = pieces(n, 256);
            assert_eq!(p.iter().sum::<usize>(), n);
            assert!(p.iter().all(|s| s.is_power_of_two() && *s <= 256));
        }
        assert_eq!(pieces(600, 256), vec![256, 256, 64, 16, 8]);
    }
}
