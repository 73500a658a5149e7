//! The double-entry ledger: immutable transfers, the accounts' balances, and the replay that
//! checks them. The rules are `pishkhan_domain::ledger`'s (`Book::apply`); the store loads
//! what a batch touches, asks the domain, and writes what it decided.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::Result;

pub use pishkhan_domain::ledger::{
    Account, Balance, LedgerFault, MAX_BATCH, Outcome, Phase, Replay, StoredTransfer, Transfer,
    TransferCode, TransferError, TransferId,
};

/// Most transfers one [`Ledger::transfers_after`] page returns.
pub const MAX_TRANSFERS_PAGE: usize = 10_000;
/// Most transfers [`Ledger::transfers_of`] returns: one payment, refund or settlement has a
/// handful; more means the reference is misused.
pub const MAX_TRANSFERS_OF: usize = 1_000;
/// Most accounts one [`Ledger::balances`] read may name.
pub const MAX_BALANCE_ACCOUNTS: usize = 2 * MAX_BATCH;

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Applies a batch of at most [`MAX_BATCH`] transfers in one transaction, as `Book::apply`
    /// decides: one outcome per transfer. A larger batch is `LedgerBatchTooLarge`.
    ///
    /// **No permit:** system work (the use cases that move money write their transfers
    /// through their own area's methods, with their audit rows).
    async fn post_transfers(&self, batch: &[Transfer]) -> Result<Vec<Outcome>>;

    /// The balances of these accounts (zero for an account never used); at most
    /// [`MAX_BALANCE_ACCOUNTS`] (`LedgerBatchTooLarge` beyond).
    async fn balances(&self, accounts: &[Account]) -> Result<BTreeMap<Account, Balance>>;

    /// Every account with a stored balance.
    async fn all_balances(&self) -> Result<BTreeMap<Account, Balance>>;

    /// Transfers in applied order after store sequence `after` (0 = from the start), at most
    /// `limit` (capped at [`MAX_TRANSFERS_PAGE`]).
    async fn transfers_after(&self, after: i64, limit: usize)
    -> Result<Vec<(i64, StoredTransfer)>>;

    /// The transfers that carry (code, reference), in applied order (at most
    /// [`MAX_TRANSFERS_OF`]).
    async fn transfers_of(&self, code: TransferCode, reference: i64)
    -> Result<Vec<StoredTransfer>>;

    /// Replays every transfer (read in pages of [`MAX_TRANSFERS_PAGE`], in one read snapshot)
    /// through `Replayer`, checks each row's place in the digest chain and the pending
    /// transfers' stored states, then `compare_balances` with the stored balances. `Ok(Err)`
    /// names the first bad transfer or account; `Err` is a failure to read.
    async fn verify_ledger(&self) -> Result<std::result::Result<Replay, LedgerFault>>;

    /// The ledger's head: the last store sequence and its row's digest, SHA-256 over the whole
    /// chain of transfers. Kept somewhere else (a signed report, a printout), it shows whether
    /// the ledger was later rewritten whole, which no check inside the database can.
    async fn ledger_head(&self) -> Result<LedgerHead>;
}

/// See [`Ledger::ledger_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerHead {
    pub seq: i64,
    pub digest: [u8; 32],
}
