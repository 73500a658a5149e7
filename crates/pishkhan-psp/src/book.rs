//! The PSP's state: every transaction and refund, rebuilt by applying events in order. The
//! live server and the replay at start go through the same [`Book::apply`], which refuses any
//! event that cannot follow the ones before it, so a damaged journal stops the start instead
//! of serving a wrong state.
//!
//! A transaction moves `created → paid → verified` or `created → cancelled` or
//! `paid → reversed`; refunds hang off a verified one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::event::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxState {
    Created,
    Paid,
    Cancelled,
    Verified,
    Reversed,
}

#[derive(Debug, Clone)]
pub(crate) struct Tx {
    pub merchant_id: String,
    pub order_id: i64,
    pub amount_rials: i64,
    pub callback_url: String,
    pub return_url: String,
    pub state: TxState,
    pub ref_num: Option<String>,
    pub card_mask: Option<String>,
    pub paid_at_ms: Option<i64>,
    pub verified_at_ms: Option<i64>,
    /// A `late_callback` still waiting for the window to pass.
    pub callback_held: bool,
    pub refunded_rials: i64,
    pub refunds: u32,
}

impl Tx {
    /// The last instant at which a verify is still in time, for a paid transaction.
    pub(crate) fn deadline_ms(&self, window_ms: i64) -> Option<i64> {
        self.paid_at_ms.map(|p| p.saturating_add(window_ms))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RowKind {
    Payment,
    Refund,
}

/// One line of a settlement report, kept in the order it happened.
#[derive(Debug, Clone)]
pub(crate) struct SettledRow {
    pub kind: RowKind,
    pub merchant_id: String,
    pub order_id: i64,
    pub token: String,
    /// The payment's `ref_num`, or the refund's `refund_ref`.
    pub ref_num: String,
    pub amount_rials: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefundEntry {
    pub token: String,
    pub amount_rials: i64,
    pub refund_ref: String,
}

/// Most refunds of one transaction.
pub(crate) const MAX_REFUNDS_PER_TX: u32 = 100;

#[derive(Debug)]
pub(crate) struct Book {
    window_ms: i64,
    txs: HashMap<String, Tx>,
    /// (merchant, order) → token: one token per order.
    orders: HashMap<(String, i64), String>,
    /// (merchant, refund id) → the refund: one refund per id.
    refunds: HashMap<(String, i64), RefundEntry>,
    /// Every reference number handed out (payments and refunds), so none repeats.
    refs: HashSet<String>,
    /// (deadline, token) of paid transactions and held callbacks; entries whose transaction
    /// has moved on are skipped when they come due.
    deadlines: BTreeSet<(i64, String)>,
    /// (instant, sequence) → a verified payment or a refund: the settlement reports.
    settled: BTreeMap<(i64, u64), SettledRow>,
    settled_seq: u64,
}

impl Book {
    pub(crate) fn new(window_ms: u64) -> Self {
        Self {
            window_ms: i64::try_from(window_ms).unwrap_or(i64::MAX),
            txs: HashMap::new(),
            orders: HashMap::new(),
            refunds: HashMap::new(),
            refs: HashSet::new(),
            deadlines: BTreeSet::new(),
            settled: BTreeMap::new(),
            settled_seq: 0,
        }
    }

    pub(crate) fn window_ms(&self) -> i64 {
        self.window_ms
    }

    pub(crate) fn len(&self) -> usize {
        self.txs.len()
    }

    pub(crate) fn refund_count(&self) -> usize {
        self.refunds.len()
    }

    pub(crate) fn tx(&self, token: &str) -> Option<&Tx> {
        self.txs.get(token)
    }

    pub(crate) fn token_of(&self, merchant_id: &str, order_id: i64) -> Option<&str> {
        self.orders
            .get(&(merchant_id.to_string(), order_id))
            .map(String::as_str)
    }

    pub(crate) fn refund(&self, merchant_id: &str, refund_id: i64) -> Option<&RefundEntry> {
        self.refunds.get(&(merchant_id.to_string(), refund_id))
    }

    pub(crate) fn ref_used(&self, r: &str) -> bool {
        self.refs.contains(r)
    }

    /// Takes the tokens whose deadline is at or before `now_ms`.
    pub(crate) fn take_due(&mut self, now_ms: i64) -> Vec<String> {
        let mut due = Vec::new();
        while let Some(first) = self.deadlines.first() {
            if first.0 > now_ms {
                break;
            }
            if let Some((_, token)) = self.deadlines.pop_first() {
                due.push(token);
            }
        }
        due
    }

    /// The rows settled in `[from_ms, to_ms)` for a merchant, sorted by order id (a payment
    /// before its refunds, refunds in the order they were made).
    pub(crate) fn settled_between(
        &self,
        merchant_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Vec<&SettledRow> {
        let mut rows: Vec<(&(i64, u64), &SettledRow)> = self
            .settled
            .range((from_ms, 0)..(to_ms, 0))
            .filter(|(_, r)| r.merchant_id == merchant_id)
            .collect();
        rows.sort_by_key(|(k, r)| (r.order_id, r.kind, **k));
        rows.into_iter().map(|(_, r)| r).collect()
    }

    fn tx_mut(&mut self, token: &str) -> Result<&mut Tx, String> {
        self.txs
            .get_mut(token)
            .ok_or_else(|| format!("no transaction {token}"))
    }

    fn use_ref(&mut self, r: &str) -> Result<(), String> {
        if !self.refs.insert(r.to_string()) {
            return Err(format!("reference number {r} used twice"));
        }
        Ok(())
    }

    fn settle(&mut self, at_ms: i64, row: SettledRow) {
        self.settled_seq += 1;
        self.settled.insert((at_ms, self.settled_seq), row);
    }

    /// Applies one event, or says why it cannot follow the state (and changes nothing).
    pub(crate) fn apply(&mut self, ev: &Event) -> Result<(), String> {
        match ev {
            Event::Token {
                token,
                merchant_id,
                order_id,
                amount_rials,
                callback_url,
                return_url,
                ..
            } => {
                let key = (merchant_id.clone(), *order_id);
                if self.txs.contains_key(token) || self.orders.contains_key(&key) {
                    return Err(format!("token {token} or order {order_id} issued twice"));
                }
                self.orders.insert(key, token.clone());
                self.txs.insert(
                    token.clone(),
                    Tx {
                        merchant_id: merchant_id.clone(),
                        order_id: *order_id,
                        amount_rials: *amount_rials,
                        callback_url: callback_url.clone(),
                        return_url: return_url.clone(),
                        state: TxState::Created,
                        ref_num: None,
                        card_mask: None,
                        paid_at_ms: None,
                        verified_at_ms: None,
                        callback_held: false,
                        refunded_rials: 0,
                        refunds: 0,
                    },
                );
            }
            Event::Paid {
                at_ms,
                token,
                ref_num,
                card_mask,
                callback_held,
            } => {
                expect_state(self.tx_mut(token)?, TxState::Created, "paid")?;
                self.use_ref(ref_num)?;
                let window = self.window_ms;
                let tx = self.tx_mut(token)?;
                tx.state = TxState::Paid;
                tx.ref_num = Some(ref_num.clone());
                tx.card_mask = Some(card_mask.clone());
                tx.paid_at_ms = Some(*at_ms);
                tx.callback_held = *callback_held;
                self.deadlines
                    .insert((at_ms.saturating_add(window), token.clone()));
            }
            Event::Cancelled { token, .. } => {
                let tx = self.tx_mut(token)?;
                expect_state(tx, TxState::Created, "cancelled")?;
                tx.state = TxState::Cancelled;
            }
            Event::Verified { at_ms, token } => {
                let tx = self.tx_mut(token)?;
                expect_state(tx, TxState::Paid, "verified")?;
                tx.state = TxState::Verified;
                tx.verified_at_ms = Some(*at_ms);
                let row = SettledRow {
                    kind: RowKind::Payment,
                    merchant_id: tx.merchant_id.clone(),
                    order_id: tx.order_id,
                    token: token.clone(),
                    ref_num: tx.ref_num.clone().unwrap_or_default(),
                    amount_rials: tx.amount_rials,
                };
                self.settle(*at_ms, row);
            }
            Event::Reversed { token, .. } => {
                let tx = self.tx_mut(token)?;
                expect_state(tx, TxState::Paid, "reversed")?;
                tx.state = TxState::Reversed;
            }
            Event::Refunded {
                at_ms,
                token,
                refund_id,
                amount_rials,
                refund_ref,
            } => {
                let tx = self.tx_mut(token)?;
                expect_state(tx, TxState::Verified, "refunded")?;
                let total = tx.refunded_rials.saturating_add(*amount_rials);
                if *amount_rials <= 0 || total > tx.amount_rials {
                    return Err(format!("refunds of {token} exceed its amount"));
                }
                let key = (tx.merchant_id.clone(), *refund_id);
                if self.refunds.contains_key(&key) {
                    return Err(format!("refund {refund_id} made twice"));
                }
                self.use_ref(refund_ref)?;
                let tx = self.tx_mut(token)?;
                tx.refunded_rials = total;
                tx.refunds += 1;
                let row = SettledRow {
                    kind: RowKind::Refund,
                    merchant_id: tx.merchant_id.clone(),
                    order_id: tx.order_id,
                    token: token.clone(),
                    ref_num: refund_ref.clone(),
                    amount_rials: *amount_rials,
                };
                self.refunds.insert(
                    key,
                    RefundEntry {
                        token: token.clone(),
                        amount_rials: *amount_rials,
                        refund_ref: refund_ref.clone(),
                    },
                );
                self.settle(*at_ms, row);
            }
            Event::CallbackReleased { token, .. } => {
                let tx = self.tx_mut(token)?;
                if !tx.callback_held {
                    return Err(format!("no held callback of {token} to release"));
                }
                tx.callback_held = false;
            }
        }
        Ok(())
    }
}

fn expect_state(tx: &Tx, want: TxState, to: &str) -> Result<(), String> {
    if tx.state != want {
        return Err(format!(
            "order {} cannot become {to} from {:?}",
            tx.order_id, tx.state
        ));
    }
    Ok(())
}
