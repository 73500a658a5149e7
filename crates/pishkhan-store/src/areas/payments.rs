//! Payments, refunds, the payees' Sheba accounts, daily settlements, reconciliations with the
//! card processor, and the compliance findings they raise. Every step that moves money writes
//! its ledger transfers in the same transaction as the step.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::Sheba;
use pishkhan_domain::access::Permit;
use pishkhan_domain::ledger::{Account, Transfer};
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::money::Rials;

use crate::{AuditContext, Result};

pub use pishkhan_domain::payment::{
    Leg, Mismatch, MismatchKind, OrderView, PaymentChannel, PaymentStatus,
};

/// Most rows a payment list returns.
pub const MAX_PAYMENTS_LISTED: usize = 500;
/// Most events one payment keeps.
pub const MAX_PAYMENT_EVENTS: usize = 200;
/// Most payments one settlement or reconciliation day may cover.
pub const MAX_PAYMENTS_PER_DAY: usize = 2_000_000;

/// A payment to create.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// 'staff:ID' or 'citizen:CODE': the scope of the idempotency key.
    pub requested_by: String,
    pub idempotency_key: String,
    /// SHA-256 of the request's fields: the same key with another request is refused.
    pub request_digest: String,
    pub channel: PaymentChannel,
    pub office: OfficeCode,
    pub service: ServiceCode,
    pub national_code: String,
    pub case_id: String,
    pub tariff_from: JalaliDate,
    pub legs: Vec<Leg>,
    pub amount: Rials,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: i64,
    pub requested_by: String,
    pub channel: PaymentChannel,
    pub office: OfficeCode,
    pub service: ServiceCode,
    pub national_code: String,
    pub case_id: String,
    pub tariff_from: JalaliDate,
    pub legs: Vec<Leg>,
    pub amount: Rials,
    pub status: PaymentStatus,
    pub token: Option<String>,
    pub ref_num: Option<String>,
    pub card_mask: Option<String>,
    /// What the processor reported, when it differed from `amount`.
    pub reported_rials: Option<i64>,
    pub verify_deadline_ms: Option<i64>,
    pub verified_at_ms: Option<i64>,
    pub verified_day: Option<JalaliDate>,
    pub settled_day: Option<JalaliDate>,
    pub refunded: Rials,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One line of a payment's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub at_ms: i64,
    pub event: String,
    pub status: PaymentStatus,
    pub detail: String,
}

/// A payment's move to another status, with what it learned and the transfers it writes.
#[derive(Debug, Clone)]
pub struct PaymentMove {
    /// The status the caller saw; the move is refused if it changed meanwhile.
    pub from: PaymentStatus,
    pub to: PaymentStatus,
    pub event: &'static str,
    pub detail: String,
    pub token: Option<String>,
    pub ref_num: Option<String>,
    pub card_mask: Option<String>,
    pub reported_rials: Option<i64>,
    pub verify_deadline_ms: Option<i64>,
    /// Set when the move is to verified: when, and the Tehran day it counts on.
    pub verified: Option<(i64, JalaliDate)>,
    pub transfers: Vec<Transfer>,
    /// A compliance finding the move raises (a charge above the tariff).
    pub finding: Option<NewFinding>,
    pub at_ms: i64,
}

impl PaymentMove {
    pub fn new(from: PaymentStatus, to: PaymentStatus, event: &'static str, at_ms: i64) -> Self {
        Self {
            from,
            to,
            event,
            detail: String::new(),
            token: None,
            ref_num: None,
            card_mask: None,
            reported_rials: None,
            verify_deadline_ms: None,
            verified: None,
            transfers: Vec::new(),
            finding: None,
            at_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    pub office: OfficeCode,
    pub kind: String,
    /// JSON: the figures the finding rests on.
    pub evidence: String,
    pub payment: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: i64,
    pub office: OfficeCode,
    pub kind: String,
    pub evidence: String,
    pub payment: Option<i64>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// Owed to the citizen; the processor has not returned it yet.
    Owed,
    /// Returned to the card.
    Paid,
}

impl RefundStatus {
    pub fn code(self) -> &'static str {
        match self {
            RefundStatus::Owed => "owed",
            RefundStatus::Paid => "paid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: i64,
    pub payment: i64,
    pub amount: Rials,
    pub reason: String,
    pub requested_by: String,
    pub status: RefundStatus,
    pub refund_ref: Option<String>,
    pub created_at_ms: i64,
    pub created_day: JalaliDate,
    pub paid_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeAccount {
    pub account: Account,
    pub sheba: Sheba,
    pub holder: String,
    pub updated_at_ms: i64,
}

/// One payee's share of a day, before it is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSettlement {
    pub account: Account,
    pub amount: Rials,
    pub payments: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub id: i64,
    pub day: JalaliDate,
    pub account: Account,
    pub sheba: String,
    pub holder: String,
    pub amount: Rials,
    pub payments: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub id: i64,
    pub day: JalaliDate,
    pub processor_rows: i64,
    pub our_rows: i64,
    pub matched: i64,
    pub created_by: String,
    pub created_at_ms: i64,
    pub mismatches: Vec<StoredMismatch>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMismatch {
    pub id: i64,
    pub mismatch: Mismatch,
}

/// Which payments a list shows.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub office: Option<OfficeCode>,
    pub national_code: Option<String>,
    pub case_id: Option<String>,
    /// Created on this Tehran day.
    pub day: Option<JalaliDate>,
    pub limit: usize,
}

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Payments: Send + Sync + 'static {
    /// Creates a payment with its audit row, or finds the one made before under the same
    /// requester and key (`false`). The same key with another request is `Conflict`.
    async fn create_payment(
        &self,
        permit: &Permit,
        new: &NewPayment,
        ctx: &AuditContext,
    ) -> Result<(Payment, bool)>;

    async fn payment(&self, id: i64) -> Result<Payment>;

    async fn payment_by_token(&self, token: &str) -> Result<Option<Payment>>;

    /// Newest first, at most `filter.limit` (capped at [`MAX_PAYMENTS_LISTED`]).
    async fn payments(&self, filter: &PaymentFilter) -> Result<Vec<Payment>>;

    async fn payment_events(&self, id: i64) -> Result<Vec<PaymentEvent>>;

    /// Moves a payment, writing its event, its transfers and any finding in one transaction.
    /// System work driven by the card processor's answers: no permit (the processor's
    /// verification is the proof). `WrongState(PaymentStatus)` when the stored status is not
    /// `from` or the move is not allowed.
    async fn move_payment(&self, id: i64, change: &PaymentMove) -> Result<Payment>;

    /// Records something that happened to a payment without moving it (a duplicate or late
    /// callback, a failed attempt to reach the processor).
    async fn note_payment(&self, id: i64, event: &str, detail: &str, at_ms: i64) -> Result<()>;

    /// Payments waiting on the processor (created, pending or paid) last touched before
    /// `before_ms`, oldest first, at most `limit`.
    async fn payments_to_chase(&self, before_ms: i64, limit: usize) -> Result<Vec<Payment>>;

    /// A refund owed to the citizen: its row, its transfers (each payee's share to the refunds
    /// account), the payment's refunded sum and status, and the audit row, together.
    /// `WrongState(RefundExceeds)` beyond what is left to refund.
    async fn create_refund(
        &self,
        permit: &Permit,
        payment: i64,
        amount: Rials,
        reason: &str,
        day: JalaliDate,
        ctx: &AuditContext,
    ) -> Result<Refund>;

    /// The processor returned a refund to the card: its transfer, and the refund marked paid.
    /// System work. Idempotent.
    async fn complete_refund(&self, refund: i64, refund_ref: &str, at_ms: i64) -> Result<Refund>;

    async fn refunds_of(&self, payment: i64) -> Result<Vec<Refund>>;

    /// Refunds still owed, oldest first.
    async fn refunds_owed(&self, limit: usize) -> Result<Vec<Refund>>;

    async fn set_payee_account(
        &self,
        permit: &Permit,
        account: &Account,
        sheba: &Sheba,
        holder: &str,
        ctx: &AuditContext,
    ) -> Result<()>;

    async fn payee_account(&self, account: &Account) -> Result<Option<PayeeAccount>>;

    /// Verified, not yet settled payments of a day (by the day they were verified).
    async fn unsettled_on(&self, day: JalaliDate) -> Result<Vec<Payment>>;

    /// Settles a day: one row and one transfer per payee, and the day's verified payments
    /// marked settled, together. Payees without a Sheba account are left out (their money
    /// stays owed). `Conflict` when the day was settled before.
    async fn record_settlement(
        &self,
        permit: &Permit,
        day: JalaliDate,
        shares: &[NewSettlement],
        payments: &[i64],
        ctx: &AuditContext,
    ) -> Result<Vec<Settlement>>;

    /// A day's settlement rows (or, with `account`, one payee's over the last days).
    async fn settlements(
        &self,
        day: Option<JalaliDate>,
        account: Option<&Account>,
        limit: usize,
    ) -> Result<Vec<Settlement>>;

    /// What we hold for a day, as reconciliation compares it: every payment verified that day
    /// (whatever became of it since), and every refund made that day as a negative order.
    async fn verified_orders_on(&self, day: JalaliDate)
    -> Result<(Vec<OrderView>, Vec<OrderView>)>;

    /// Records a day's reconciliation and parks each mismatch in suspense, together.
    /// `Conflict` when the day was reconciled before.
    #[allow(clippy::too_many_arguments)]
    async fn record_reconciliation(
        &self,
        permit: &Permit,
        day: JalaliDate,
        processor_rows: i64,
        our_rows: i64,
        mismatches: &[Mismatch],
        ctx: &AuditContext,
    ) -> Result<Reconciliation>;

    async fn reconciliation(&self, id: i64) -> Result<Reconciliation>;

    /// The latest reconciliations, newest day first, without their mismatches.
    async fn reconciliations(&self, limit: usize) -> Result<Vec<Reconciliation>>;

    /// Compliance findings, newest first (of one office, or all).
    async fn findings(&self, office: Option<OfficeCode>, limit: usize) -> Result<Vec<Finding>>;
}
