//! The double-entry ledger, pure: accounts, immutable transfers, two-phase and linked
//! transfers, and the one function that decides whether a batch of transfers may be applied
//! ([`Book::apply`]). Both stores call it and write no rule of their own; `ledger verify`
//! replays every stored transfer through the same function ([`replay`]).
//!
//! The model is TigerBeetle's:
//! - every transfer moves `amount` from one account's debits to another's credits, so debits
//!   equal credits by construction and nothing is ever changed or deleted;
//! - a **pending** transfer reserves the amount (it counts in `*_pending`) until a **post**
//!   moves it to `*_posted` or a **void** releases it; each pending is resolved at most once;
//! - transfers marked **linked** form a chain with the transfer after them; a chain applies
//!   all or none;
//! - the id is the client's, so it is the idempotency key: the same transfer again is
//!   `Exists`, a different one under a used id is refused;
//! - an account may refuse to owe more than it holds (payables cannot be settled or refunded
//!   beyond what they were credited).

use std::collections::{BTreeMap, HashMap};

use crate::model::{AgencyCode, FieldError, OfficeCode};

/// Most transfers one batch may carry.
pub const MAX_BATCH: usize = 8_190;
/// Most transfers one linked chain may carry.
pub const MAX_CHAIN: usize = 64;

/// A ledger account. Its code is stable: it is stored, shown and exported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// What the card processor owes us: debited when a citizen pays, credited when the
    /// processor settles to a payee or refunds a card.
    PspClearing,
    /// What we owe an agency (its government fees), by agency code.
    AgencyPayable(AgencyCode),
    /// What we owe an office (its counter fees).
    OfficeCommission(OfficeCode),
    /// What we owe the treasury in VAT.
    VatPayable,
    /// What we owe citizens in refunds, until the card processor returns it.
    Refunds,
    /// Money that cannot be matched yet: reconciliation parks each mismatch here.
    Suspense,
}

impl Account {
    /// "psp_clearing", "agency:civil-registry", "office:11000001", "vat_payable", "refunds",
    /// "suspense".
    pub fn code(&self) -> String {
        match self {
            Account::PspClearing => "psp_clearing".into(),
            Account::AgencyPayable(a) => format!("agency:{a}"),
            Account::OfficeCommission(o) => format!("office:{o}"),
            Account::VatPayable => "vat_payable".into(),
            Account::Refunds => "refunds".into(),
            Account::Suspense => "suspense".into(),
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new("account", "invalid_account", "not a ledger account code");
        Ok(match s {
            "psp_clearing" => Account::PspClearing,
            "vat_payable" => Account::VatPayable,
            "refunds" => Account::Refunds,
            "suspense" => Account::Suspense,
            _ => {
                if let Some(a) = s.strip_prefix("agency:") {
                    Account::AgencyPayable(AgencyCode::parse(a).map_err(|_| bad())?)
                } else if let Some(o) = s.strip_prefix("office:") {
                    Account::OfficeCommission(OfficeCode::parse(o).map_err(|_| bad())?)
                } else {
                    return Err(bad());
                }
            }
        })
    }

    /// Accounts that hold what we owe may never owe less than nothing: their debits (posted
    /// and pending) may not exceed their posted credits.
    pub fn debits_must_not_exceed_credits(&self) -> bool {
        matches!(
            self,
            Account::AgencyPayable(_)
                | Account::OfficeCommission(_)
                | Account::VatPayable
                | Account::Refunds
        )
    }
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code())
    }
}

/// A transfer's id, chosen by the client so that a retry is recognised. 128 bits; shown as
/// 32 lowercase hex digits. Ids derived from a payment or settlement number use
/// [`TransferId::derived`], so the same step of the same payment always has the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransferId(pub u128);

impl TransferId {
    /// The id of leg `leg` of step `step` of record `number` in namespace `space`: unique by
    /// construction, never random.
    pub fn derived(space: IdSpace, number: i64, step: u8, leg: u8) -> Self {
        let hi = ((space as u128) << 56) | ((step as u128) << 48) | ((leg as u128) << 40);
        TransferId((hi << 64) | (number as u64 as u128))
    }

    pub fn hex(self) -> String {
        format!("{:032x}", self.0)
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new("id", "invalid_transfer_id", "32 hex digits expected");
        if s.len() != 32 {
            return Err(bad());
        }
        u128::from_str_radix(s, 16)
            .map(TransferId)
            .map_err(|_| bad())
    }

    /// Big-endian bytes, so byte order is numeric order.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        Some(TransferId(u128::from_be_bytes(b.try_into().ok()?)))
    }
}

impl std::fmt::Display for TransferId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Namespaces of derived transfer ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum IdSpace {
    Payment = 1,
    Refund = 2,
    Settlement = 3,
    Reconciliation = 4,
    /// The benchmark's and tests' own transfers.
    Bench = 9,
}

/// What a transfer does to the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Final at once: the amount moves into both accounts' posted balances.
    Single,
    /// Reserved: counts in both accounts' pending balances until posted or voided.
    Pending,
    /// Makes the pending transfer `.0` final (same accounts, same amount).
    Post(TransferId),
    /// Releases the pending transfer `.0`.
    Void(TransferId),
}

impl Phase {
    pub fn code(self) -> &'static str {
        match self {
            Phase::Single => "single",
            Phase::Pending => "pending",
            Phase::Post(_) => "post",
            Phase::Void(_) => "void",
        }
    }

    pub fn pending_id(self) -> Option<TransferId> {
        match self {
            Phase::Post(id) | Phase::Void(id) => Some(id),
            _ => None,
        }
    }

    /// The phase from its stored code and pending id.
    pub fn from_parts(code: &str, pending: Option<TransferId>) -> Option<Self> {
        Some(match (code, pending) {
            ("single", None) => Phase::Single,
            ("pending", None) => Phase::Pending,
            ("post", Some(p)) => Phase::Post(p),
            ("void", Some(p)) => Phase::Void(p),
            _ => return None,
        })
    }
}

/// Why money moved: shown in the ledger's views and used by reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferCode {
    Payment,
    Refund,
    Settlement,
    Suspense,
    Bench,
}

impl TransferCode {
    pub const ALL: [TransferCode; 5] = [
        TransferCode::Payment,
        TransferCode::Refund,
        TransferCode::Settlement,
        TransferCode::Suspense,
        TransferCode::Bench,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TransferCode::Payment => "payment",
            TransferCode::Refund => "refund",
            TransferCode::Settlement => "settlement",
            TransferCode::Suspense => "suspense",
            TransferCode::Bench => "bench",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// One transfer as a client submits it. For a post or void, `debit`, `credit` and `amount`
/// must equal the pending transfer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub debit: Account,
    pub credit: Account,
    /// Whole rials, more than zero.
    pub amount: i64,
    pub phase: Phase,
    /// Chains this transfer to the next one in the batch: all of a chain apply, or none.
    pub linked: bool,
    pub code: TransferCode,
    /// The payment, refund, settlement or reconciliation number this transfer belongs to.
    pub reference: i64,
}

/// A transfer as stored: what was submitted, with the chain it belonged to (its first
/// transfer's id and its length: 1 for an unlinked transfer) and when it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransfer {
    pub transfer: Transfer,
    pub chain: TransferId,
    pub chain_len: u16,
    pub at_ms: i64,
}

/// Why one transfer was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// Another transfer of its chain failed.
    LinkedEventFailed,
    /// The batch ends inside an open chain.
    LinkedEventChainOpen,
    /// A chain longer than [`MAX_CHAIN`].
    ChainTooLong,
    AmountMustBePositive,
    AccountsMustBeDifferent,
    /// This id holds a different transfer.
    ExistsWithDifferentFields,
    PendingNotFound,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    /// A post or void whose accounts or amount differ from its pending transfer.
    PendingMismatch,
    /// The debit would make an account that may not go below zero do so.
    ExceedsCredits,
}

impl TransferError {
    pub fn code(self) -> &'static str {
        match self {
            TransferError::LinkedEventFailed => "linked_event_failed",
            TransferError::LinkedEventChainOpen => "linked_event_chain_open",
            TransferError::ChainTooLong => "chain_too_long",
            TransferError::AmountMustBePositive => "amount_must_be_positive",
            TransferError::AccountsMustBeDifferent => "accounts_must_be_different",
            TransferError::ExistsWithDifferentFields => "exists_with_different_fields",
            TransferError::PendingNotFound => "pending_not_found",
            TransferError::PendingAlreadyPosted => "pending_already_posted",
            TransferError::PendingAlreadyVoided => "pending_already_voided",
            TransferError::PendingMismatch => "pending_mismatch",
            TransferError::ExceedsCredits => "exceeds_credits",
        }
    }
}

/// What became of one submitted transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// The identical transfer was applied before: a retry, and not an error.
    Exists,
    Refused(TransferError),
}

/// One account's four balances, TigerBeetle's way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl Balance {
    /// Credits minus debits, posted only: what a credit-normal account owes.
    pub fn net_credit_posted(&self) -> i64 {
        self.credits_posted - self.debits_posted
    }
}

/// What a pending transfer has become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingState {
    Open,
    Posted,
    Voided,
}

/// A pending transfer as [`Book`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecord {
    pub debit: Account,
    pub credit: Account,
    pub amount: i64,
    pub state: PendingState,
}

/// The part of the ledger a batch touches: the balances of its accounts, the pending
/// transfers it posts or voids, and the transfers already stored under its ids. A store loads
/// it (locking what it read), asks [`Book::apply`], and writes [`Applied`] back.
#[derive(Debug, Clone, Default)]
pub struct Book {
    pub balances: HashMap<Account, Balance>,
    pub pendings: HashMap<TransferId, PendingRecord>,
    /// Transfers already stored under ids the batch uses.
    pub existing: HashMap<TransferId, Transfer>,
}

/// What a batch changed, for the store to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// One per submitted transfer, in order.
    pub outcomes: Vec<Outcome>,
    /// The transfers to insert, with their chains.
    pub inserted: Vec<(Transfer, TransferId, u16)>,
    /// The new balances of every account an inserted transfer touched.
    pub balances: BTreeMap<Account, Balance>,
    /// Pending transfers whose state changed.
    pub resolved: Vec<(TransferId, PendingState)>,
}

impl Book {
    /// The ids and accounts a store must load before [`Book::apply`]: every account named,
    /// every id used and every pending id referenced.
    pub fn needs(batch: &[Transfer]) -> (Vec<Account>, Vec<TransferId>) {
        let mut accounts: Vec<Account> = Vec::new();
        let mut ids = Vec::new();
        for t in batch {
            accounts.push(t.debit.clone());
            accounts.push(t.credit.clone());
            ids.push(t.id);
            if let Some(p) = t.phase.pending_id() {
                ids.push(p);
            }
        }
        accounts.sort();
        accounts.dedup();
        ids.sort();
        ids.dedup();
        (accounts, ids)
    }

    /// Decides a batch: each chain all or none, in order, each transfer against the state the
    /// ones before it left. The book is updated to the state after the batch.
    pub fn apply(&mut self, batch: &[Transfer], at_ms: i64) -> Applied {
        let _ = at_ms;
        let mut applied = Applied {
            outcomes: Vec::with_capacity(batch.len()),
            ..Applied::default()
        };
        let mut start = 0;
        while start < batch.len() {
            let mut end = start;
            while end < batch.len() && batch[end].linked {
                end += 1;
            }
            if end == batch.len() {
                // The last transfer says it links to one that is not there.
                for _ in start..batch.len() {
                    applied
                        .outcomes
                        .push(Outcome::Refused(TransferError::LinkedEventChainOpen));
                }
                break;
            }
            let chain = &batch[start..=end];
            self.apply_chain(chain, &mut applied);
            start = end + 1;
        }
        for (t, _, _) in &applied.inserted {
            for a in [&t.debit, &t.credit] {
                let b = self.balances.get(a).copied().unwrap_or_default();
                applied.balances.insert(a.clone(), b);
            }
        }
        applied
    }

    fn apply_chain(&mut self, chain: &[Transfer], applied: &mut Applied) {
        if chain.len() > MAX_CHAIN {
            for _ in chain {
                applied
                    .outcomes
                    .push(Outcome::Refused(TransferError::ChainTooLong));
            }
            return;
        }
        // Work on copies so that a failure leaves the book as it was.
        let mut balances: HashMap<Account, Balance> = HashMap::new();
        let mut pendings: HashMap<TransferId, PendingRecord> = HashMap::new();
        let mut fresh: HashMap<TransferId, &Transfer> = HashMap::new();
        let mut outcomes = Vec::with_capacity(chain.len());
        let mut failed = None;
        for (i, t) in chain.iter().enumerate() {
            match self.decide(t, &mut balances, &mut pendings, &fresh) {
                Ok(o) => {
                    if o == Outcome::Applied {
                        fresh.insert(t.id, t);
                    }
                    outcomes.push(o);
                }
                Err(e) => {
                    failed = Some((i, e));
                    break;
                }
            }
        }
        if let Some((at, err)) = failed {
            for i in 0..chain.len() {
                let e = if i == at {
                    err
                } else {
                    TransferError::LinkedEventFailed
                };
                applied.outcomes.push(Outcome::Refused(e));
            }
            return;
        }
        // A chain of retries is all `Exists`; a chain part old, part new is refused, since
        // its first run must have applied all of it.
        let existing = outcomes.iter().filter(|o| **o == Outcome::Exists).count();
        if existing > 0 && existing < chain.len() {
            for _ in chain {
                applied
                    .outcomes
                    .push(Outcome::Refused(TransferError::ExistsWithDifferentFields));
            }
            return;
        }
        self.balances.extend(balances);
        self.pendings.extend(pendings.clone());
        for (id, p) in pendings {
            if p.state != PendingState::Open {
                applied.resolved.push((id, p.state));
            }
        }
        let head = chain[0].id;
        let len = chain.len() as u16;
        for (t, o) in chain.iter().zip(&outcomes) {
            if *o == Outcome::Applied {
                self.existing.insert(t.id, t.clone());
                applied.inserted.push((t.clone(), head, len));
            }
        }
        applied.outcomes.extend(outcomes);
    }

    fn decide(
        &self,
        t: &Transfer,
        balances: &mut HashMap<Account, Balance>,
        pendings: &mut HashMap<TransferId, PendingRecord>,
        fresh: &HashMap<TransferId, &Transfer>,
    ) -> Result<Outcome, TransferError> {
        if let Some(old) = self.existing.get(&t.id).or(fresh.get(&t.id).copied()) {
            return if same_transfer(old, t) {
                Ok(Outcome::Exists)
            } else {
                Err(TransferError::ExistsWithDifferentFields)
            };
        }
        if t.amount <= 0 {
            return Err(TransferError::AmountMustBePositive);
        }
        if t.debit == t.credit {
            return Err(TransferError::AccountsMustBeDifferent);
        }
        let balance = |a: &Account, balances: &HashMap<Account, Balance>| {
            balances
                .get(a)
                .or_else(|| self.balances.get(a))
                .copied()
                .unwrap_or_default()
        };
        let mut debit = balance(&t.debit, balances);
        let mut credit = balance(&t.credit, balances);
        match t.phase {
            Phase::Single => {
                debit.debits_posted += t.amount;
                credit.credits_posted += t.amount;
            }
            Phase::Pending => {
                debit.debits_pending += t.amount;
                credit.credits_pending += t.amount;
                pendings.insert(
                    t.id,
                    PendingRecord {
                        debit: t.debit.clone(),
                        credit: t.credit.clone(),
                        amount: t.amount,
                        state: PendingState::Open,
                    },
                );
            }
            Phase::Post(p) | Phase::Void(p) => {
                let rec = pendings
                    .get(&p)
                    .or_else(|| self.pendings.get(&p))
                    .cloned()
                    .ok_or(TransferError::PendingNotFound)?;
                match rec.state {
                    PendingState::Posted => return Err(TransferError::PendingAlreadyPosted),
                    PendingState::Voided => return Err(TransferError::PendingAlreadyVoided),
                    PendingState::Open => {}
                }
                if rec.debit != t.debit || rec.credit != t.credit || rec.amount != t.amount {
                    return Err(TransferError::PendingMismatch);
                }
                debit.debits_pending -= t.amount;
                credit.credits_pending -= t.amount;
                let state = if let Phase::Post(_) = t.phase {
                    debit.debits_posted += t.amount;
                    credit.credits_posted += t.amount;
                    PendingState::Posted
                } else {
                    PendingState::Voided
                };
                pendings.insert(p, PendingRecord { state, ..rec });
            }
        }
        if t.debit.debits_must_not_exceed_credits()
            && debit.debits_posted + debit.debits_pending > debit.credits_posted
        {
            return Err(TransferError::ExceedsCredits);
        }
        balances.insert(t.debit.clone(), debit);
        balances.insert(t.credit.clone(), credit);
        Ok(Outcome::Applied)
    }
}

fn same_transfer(a: &Transfer, b: &Transfer) -> bool {
    a == b
}

/// Why a stored ledger is not sound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerFault {
    /// The first transfer found wrong (None when only a stored balance disagrees).
    pub transfer: Option<TransferId>,
    pub account: Option<Account>,
    pub reason: String,
}

impl std::fmt::Display for LedgerFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.transfer, &self.account) {
            (Some(t), _) => write!(f, "transfer {t}: {}", self.reason),
            (None, Some(a)) => write!(f, "account {a}: {}", self.reason),
            (None, None) => f.write_str(&self.reason),
        }
    }
}

/// What a replay of the whole ledger found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    pub transfers: u64,
    pub balances: BTreeMap<Account, Balance>,
    pub total_debits_posted: i64,
    pub total_credits_posted: i64,
}

/// Replays stored transfers in the order they were applied, through [`Book::apply`]'s own
/// rules, and checks every chain is whole. The caller compares the balances with the stored
/// ones. Stops at the first bad transfer.
pub struct Replayer {
    book: Book,
    replay: Replay,
    open_chain: Option<(TransferId, u16, u16)>,
    seen: std::collections::HashSet<TransferId>,
}

impl Default for Replayer {
    fn default() -> Self {
        Self::new()
    }
}

impl Replayer {
    pub fn new() -> Self {
        Self {
            book: Book::default(),
            replay: Replay::default(),
            open_chain: None,
            seen: std::collections::HashSet::new(),
        }
    }

    /// Feeds the next stored transfer.
    pub fn push(&mut self, s: &StoredTransfer) -> Result<(), LedgerFault> {
        let t = &s.transfer;
        let fault = |reason: String| LedgerFault {
            transfer: Some(t.id),
            account: None,
            reason,
        };
        if !self.seen.insert(t.id) {
            return Err(fault("the id appears twice".into()));
        }
        // Chains are stored contiguously: head first, then its members.
        match self.open_chain {
            None => {
                if s.chain != t.id {
                    return Err(fault(format!(
                        "belongs to chain {} whose head is missing or out of order",
                        s.chain
                    )));
                }
                if s.chain_len == 0 {
                    return Err(fault("a chain of length zero".into()));
                }
                if s.chain_len > 1 {
                    self.open_chain = Some((s.chain, s.chain_len, 1));
                }
            }
            Some((head, len, seen)) => {
                if s.chain != head || s.chain_len != len {
                    return Err(LedgerFault {
                        transfer: Some(head),
                        account: None,
                        reason: format!("linked chain of {len} is partial: {seen} stored"),
                    });
                }
                self.open_chain = if seen + 1 == len {
                    None
                } else {
                    Some((head, len, seen + 1))
                };
            }
        }
        let linked = s.chain_len > 1 && self.open_chain.is_some();
        if linked != t.linked {
            return Err(fault("its linked flag disagrees with its chain".into()));
        }
        // A stored transfer is checked alone: its chain applied as a whole when it was written.
        let single = Transfer {
            linked: false,
            ..t.clone()
        };
        let applied = self.book.apply(std::slice::from_ref(&single), s.at_ms);
        match applied.outcomes[0] {
            Outcome::Applied => {}
            Outcome::Exists => return Err(fault("the id appears twice".into())),
            Outcome::Refused(e) => return Err(fault(format!("breaks the rule {}", e.code()))),
        }
        // Keep the book small: existing ids are only needed for a batch's own retries.
        self.book.existing.clear();
        if let Phase::Single | Phase::Post(_) = t.phase {
            self.replay.total_debits_posted += t.amount;
            self.replay.total_credits_posted += t.amount;
        }
        self.replay.transfers += 1;
        Ok(())
    }

    /// Ends the replay: a chain still open is partial.
    pub fn finish(mut self) -> Result<Replay, LedgerFault> {
        if let Some((head, len, seen)) = self.open_chain {
            return Err(LedgerFault {
                transfer: Some(head),
                account: None,
                reason: format!("linked chain of {len} is partial: {seen} stored"),
            });
        }
        self.replay.balances = self.book.balances.into_iter().collect();
        Ok(self.replay)
    }
}

/// Checks stored balances against a replay: every account the replay knows must be stored
/// with the same four figures, and no stored account may hold anything the replay does not.
pub fn compare_balances(
    replay: &Replay,
    stored: &BTreeMap<Account, Balance>,
) -> Result<(), LedgerFault> {
    let zero = Balance::default();
    for (account, b) in stored {
        let want = replay.balances.get(account).unwrap_or(&zero);
        if want != b {
            return Err(LedgerFault {
                transfer: None,
                account: Some(account.clone()),
                reason: format!("stored balance {b:?} but the transfers give {want:?}"),
            });
        }
    }
    for (account, want) in &replay.balances {
        if *want != zero && !stored.contains_key(account) {
            return Err(LedgerFault {
                transfer: None,
                account: Some(account.clone()),
                reason: "has transfers but no stored balance".into(),
            });
        }
    }
    let sum = |f: fn(&Balance) -> i64| replay.balances.values().map(f).sum::<i64>();
    if sum(|b| b.debits_posted) != sum(|b| b.credits_posted)
        || sum(|b| b.debits_pending) != sum(|b| b.credits_pending)
    {
        return Err(LedgerFault {
            transfer: None,
            account: None,
            reason: "debits do not equal credits".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u128, debit: Account, credit: Account, amount: i64, phase: Phase) -> Transfer {
        Transfer {
            id: TransferId(n),
            debit,
            credit,
            amount,
            phase,
            linked: false,
            code: TransferCode::Bench,
            reference: 0,
        }
    }

    fn agency() -> Account {
        Account::AgencyPayable(AgencyCode::parse("civil-registry").unwrap())
    }

    #[test]
    fn a_chain_applies_all_or_none() {
        let mut book = Book::default();
        let mut a = t(1, Account::PspClearing, agency(), 100, Phase::Single);
        a.linked = true;
        // Settling more than the agency is owed breaks the second transfer, so neither applies.
        let b = t(2, agency(), Account::PspClearing, 150, Phase::Single);
        let out = book.apply(&[a.clone(), b], 0);
        assert_eq!(
            out.outcomes,
            vec![
                Outcome::Refused(TransferError::LinkedEventFailed),
                Outcome::Refused(TransferError::ExceedsCredits)
            ]
        );
        assert!(out.inserted.is_empty());
        assert!(book.balances.is_empty());
        let ok = book.apply(
            &[
                a.clone(),
                t(2, agency(), Account::PspClearing, 60, Phase::Single),
            ],
            0,
        );
        assert_eq!(ok.outcomes, vec![Outcome::Applied, Outcome::Applied]);
        assert_eq!(book.balances[&agency()].net_credit_posted(), 40);
        // The same chain again is a retry.
        let again = book.apply(
            &[a, t(2, agency(), Account::PspClearing, 60, Phase::Single)],
            0,
        );
        assert_eq!(again.outcomes, vec![Outcome::Exists, Outcome::Exists]);
    }

    #[test]
    fn a_pending_is_posted_or_voided_once() {
        let mut book = Book::default();
        let p = t(1, Account::PspClearing, agency(), 500, Phase::Pending);
        assert_eq!(book.apply(&[p], 0).outcomes, vec![Outcome::Applied]);
        assert_eq!(book.balances[&agency()].credits_pending, 500);
        let post = t(
            2,
            Account::PspClearing,
            agency(),
            500,
            Phase::Post(TransferId(1)),
        );
        assert_eq!(book.apply(&[post], 0).outcomes, vec![Outcome::Applied]);
        let void = t(
            3,
            Account::PspClearing,
            agency(),
            500,
            Phase::Void(TransferId(1)),
        );
        assert_eq!(
            book.apply(&[void], 0).outcomes,
            vec![Outcome::Refused(TransferError::PendingAlreadyPosted)]
        );
        assert_eq!(book.balances[&agency()].credits_posted, 500);
        assert_eq!(book.balances[&agency()].credits_pending, 0);
    }

    #[test]
    fn replay_names_a_partial_chain() {
        let mut a = t(1, Account::PspClearing, agency(), 10, Phase::Single);
        a.linked = true;
        let stored = StoredTransfer {
            transfer: a,
            chain: TransferId(1),
            chain_len: 2,
            at_ms: 0,
        };
        let mut r = Replayer::new();
        r.push(&stored).unwrap();
        let err = r.finish().unwrap_err();
        assert_eq!(err.transfer, Some(TransferId(1)));
        assert!(err.reason.contains("partial"), "{err}");
    }

    #[test]
    fn account_codes_round_trip() {
        for a in [
            Account::PspClearing,
            agency(),
            Account::OfficeCommission(OfficeCode::parse("11000001").unwrap()),
            Account::VatPayable,
            Account::Refunds,
            Account::Suspense,
        ] {
            assert_eq!(Account::parse(&a.code()).unwrap(), a);
        }
        assert!(Account::parse("agency:").is_err());
        assert!(Account::parse("bank").is_err());
        let id = TransferId::derived(IdSpace::Payment, 42, 1, 2);
        assert_eq!(TransferId::parse(&id.hex()).unwrap(), id);
    }
}
