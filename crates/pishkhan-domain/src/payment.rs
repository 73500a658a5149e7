//! Payments, pure: a payment's states and the moves between them, what a callback or a
//! verification means for a payment, and the ledger transfers each step writes.
//!
//! A payment follows Iran's card flow (Shaparak): created → pending (the processor issued a
//! token) → paid (its callback was seen; the money is reserved in the ledger as pending
//! transfers) → verified (we asked the processor and it confirmed within its window; the
//! pending transfers are posted) → settled (the day's settlement paid the payees). A payment
//! that is never verified in its window is reversed (its pending transfers voided); one the
//! payer cancels, or that the processor reports wrongly, fails; a full refund ends refunded.

use crate::fees::{FeeKind, Tariff};
use crate::ledger::{Account, IdSpace, Phase, Transfer, TransferCode, TransferId};
use crate::model::{AgencyCode, FieldError, LocalizedText, OfficeCode};
use crate::money::Rials;

/// Longest case reference (a booking's tracking code, a ticket, a file number).
pub const MAX_CASE_ID_CHARS: usize = 64;
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;
/// Longest refund reason.
pub const MAX_REFUND_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Created,
    Pending,
    Paid,
    Verified,
    Settled,
    Failed,
    Reversed,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Created,
        PaymentStatus::Pending,
        PaymentStatus::Paid,
        PaymentStatus::Verified,
        PaymentStatus::Settled,
        PaymentStatus::Failed,
        PaymentStatus::Reversed,
        PaymentStatus::Refunded,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PaymentStatus::Created => "created",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Verified => "verified",
            PaymentStatus::Settled => "settled",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Reversed => "reversed",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == s)
    }

    pub fn title(self) -> LocalizedText {
        let (fa, en) = match self {
            PaymentStatus::Created => ("ثبت شده", "Created"),
            PaymentStatus::Pending => ("در انتظار پرداخت", "Awaiting payment"),
            PaymentStatus::Paid => ("پرداخت شده، در حال تأیید", "Paid, being verified"),
            PaymentStatus::Verified => ("پرداخت تأیید شد", "Payment confirmed"),
            PaymentStatus::Settled => ("تسویه شده", "Settled"),
            PaymentStatus::Failed => ("ناموفق", "Failed"),
            PaymentStatus::Reversed => ("برگشت خورده", "Reversed"),
            PaymentStatus::Refunded => ("بازپرداخت شده", "Refunded"),
        };
        LocalizedText {
            fa: fa.into(),
            en: en.into(),
        }
    }

    /// Whether the money is the office's to serve the case with: verified and after.
    pub fn counts_as_paid(self) -> bool {
        matches!(self, PaymentStatus::Verified | PaymentStatus::Settled)
    }

    /// The moves a payment may make; every store write checks its move here.
    pub fn may_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Created, Pending)
                | (Created, Failed)
                | (Pending, Paid)
                | (Pending, Failed)
                // A lost callback: the verification found it paid.
                | (Pending, Verified)
                | (Pending, Reversed)
                | (Paid, Verified)
                | (Paid, Reversed)
                | (Paid, Failed)
                | (Verified, Settled)
                | (Verified, Refunded)
                | (Settled, Refunded)
        )
    }
}

/// Where the citizen pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentChannel {
    /// At the office's card terminal, started by the operator.
    Counter,
    /// On the processor's page, started by the citizen for a booked service.
    Online,
}

impl PaymentChannel {
    pub fn code(self) -> &'static str {
        match self {
            PaymentChannel::Counter => "counter",
            PaymentChannel::Online => "online",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "counter" => Some(PaymentChannel::Counter),
            "online" => Some(PaymentChannel::Online),
            _ => None,
        }
    }
}

/// One share of a payment: a fee component and the account it is owed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub kind: FeeKind,
    pub account: Account,
    pub amount: Rials,
}

/// The shares of a fee: each non-zero component to its payee's account.
pub fn legs_for(tariff: &Tariff, agency: &AgencyCode, office: OfficeCode) -> Vec<Leg> {
    tariff
        .components
        .iter()
        .filter(|c| c.amount.get() > 0)
        .map(|c| Leg {
            kind: c.kind,
            account: match c.kind {
                FeeKind::GovernmentFee => Account::AgencyPayable(agency.clone()),
                FeeKind::CounterFee => Account::OfficeCommission(office),
                FeeKind::Vat => Account::VatPayable,
            },
            amount: c.amount,
        })
        .collect()
}

pub fn total(legs: &[Leg]) -> i64 {
    legs.iter().map(|l| l.amount.get()).sum()
}

/// The steps of a payment in the ledger; each names its transfers' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    Reserve = 1,
    Post = 2,
    Void = 3,
}

fn chain(mut transfers: Vec<Transfer>) -> Vec<Transfer> {
    let n = transfers.len();
    for (i, t) in transfers.iter_mut().enumerate() {
        t.linked = i + 1 < n;
    }
    transfers
}

fn leg_transfer(payment: i64, step: Step, i: usize, leg: &Leg, phase: Phase) -> Transfer {
    Transfer {
        id: TransferId::derived(IdSpace::Payment, payment, step as u8, i as u8),
        debit: Account::PspClearing,
        credit: leg.account.clone(),
        amount: leg.amount.get(),
        phase,
        linked: false,
        code: TransferCode::Payment,
        reference: payment,
    }
}

/// At the callback: the money is reserved, one pending transfer per share, all or none.
pub fn reserve_transfers(payment: i64, legs: &[Leg]) -> Vec<Transfer> {
    chain(
        legs.iter()
            .enumerate()
            .map(|(i, l)| leg_transfer(payment, Step::Reserve, i, l, Phase::Pending))
            .collect(),
    )
}

fn resolve(payment: i64, legs: &[Leg], step: Step) -> Vec<Transfer> {
    chain(
        legs.iter()
            .enumerate()
            .map(|(i, l)| {
                let pending =
                    TransferId::derived(IdSpace::Payment, payment, Step::Reserve as u8, i as u8);
                let phase = match step {
                    Step::Post => Phase::Post(pending),
                    _ => Phase::Void(pending),
                };
                leg_transfer(payment, step, i, l, phase)
            })
            .collect(),
    )
}

/// At verification: the reserved money becomes final.
pub fn post_transfers(payment: i64, legs: &[Leg]) -> Vec<Transfer> {
    resolve(payment, legs, Step::Post)
}

/// At reversal: the reserved money is released.
pub fn void_transfers(payment: i64, legs: &[Leg]) -> Vec<Transfer> {
    resolve(payment, legs, Step::Void)
}

/// Splits `amount` over the shares in proportion, the rounding remainder to the largest
/// shares first, so the parts always add up to `amount`.
pub fn split(legs: &[Leg], amount: i64) -> Vec<i64> {
    let whole = total(legs);
    if whole <= 0 {
        return vec![0; legs.len()];
    }
    let mut parts: Vec<i64> = legs
        .iter()
        .map(|l| ((l.amount.get() as i128 * amount as i128) / whole as i128) as i64)
        .collect();
    let mut rest = amount - parts.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..legs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(legs[i].amount));
    for i in order.into_iter().cycle() {
        if rest <= 0 {
            break;
        }
        if parts[i] < legs[i].amount.get() {
            parts[i] += 1;
            rest -= 1;
        }
    }
    parts
}

/// A refund, owed to the citizen: each payee's share of `amount` moves to the refunds
/// account, all or none.
pub fn refund_owed_transfers(refund: i64, legs: &[Leg], amount: i64) -> Vec<Transfer> {
    chain(
        legs.iter()
            .zip(split(legs, amount))
            .enumerate()
            .filter(|(_, (_, part))| *part > 0)
            .map(|(i, (leg, part))| Transfer {
                id: TransferId::derived(IdSpace::Refund, refund, 1, i as u8),
                debit: leg.account.clone(),
                credit: Account::Refunds,
                amount: part,
                phase: Phase::Single,
                linked: false,
                code: TransferCode::Refund,
                reference: refund,
            })
            .collect(),
    )
}

/// The refund returned to the card by the processor.
pub fn refund_paid_transfer(refund: i64, amount: i64) -> Transfer {
    Transfer {
        id: TransferId::derived(IdSpace::Refund, refund, 2, 0),
        debit: Account::Refunds,
        credit: Account::PspClearing,
        amount,
        phase: Phase::Single,
        linked: false,
        code: TransferCode::Refund,
        reference: refund,
    }
}

/// A day's settlement to one payee: the processor pays the payee's Sheba account.
pub fn settlement_transfer(settlement: i64, account: &Account, amount: i64) -> Transfer {
    Transfer {
        id: TransferId::derived(IdSpace::Settlement, settlement, 1, 0),
        debit: account.clone(),
        credit: Account::PspClearing,
        amount,
        phase: Phase::Single,
        linked: false,
        code: TransferCode::Settlement,
        reference: settlement,
    }
}

/// What reconciliation found wrong with one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MismatchKind {
    /// The processor reports money we have no verified payment for.
    MissingHere,
    /// We hold a verified payment the processor does not report.
    MissingAtProcessor,
    /// Both have it, with different amounts.
    WrongAmount,
    /// The processor reports the same order more than once.
    Duplicate,
}

impl MismatchKind {
    pub const ALL: [MismatchKind; 4] = [
        MismatchKind::MissingHere,
        MismatchKind::MissingAtProcessor,
        MismatchKind::WrongAmount,
        MismatchKind::Duplicate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MismatchKind::MissingHere => "missing_here",
            MismatchKind::MissingAtProcessor => "missing_at_processor",
            MismatchKind::WrongAmount => "wrong_amount",
            MismatchKind::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }

    pub fn title(self) -> LocalizedText {
        let (fa, en) = match self {
            MismatchKind::MissingHere => (
                "در گزارش پرداخت‌یار هست، نزد ما نیست",
                "Reported by the processor, unknown here",
            ),
            MismatchKind::MissingAtProcessor => (
                "نزد ما هست، در گزارش پرداخت‌یار نیست",
                "Verified here, missing from the processor's report",
            ),
            MismatchKind::WrongAmount => ("مبلغ متفاوت", "Different amount"),
            MismatchKind::Duplicate => (
                "تکراری در گزارش پرداخت‌یار",
                "Reported twice by the processor",
            ),
        };
        LocalizedText {
            fa: fa.into(),
            en: en.into(),
        }
    }
}

/// One order as the two sides see it on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: i64,
    pub amount: i64,
}

/// A mismatch and the amount parked in suspense for it: positive when the processor holds
/// more than we know of (suspense is credited), negative when less.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub kind: MismatchKind,
    pub order_id: i64,
    pub ours: Option<i64>,
    pub theirs: Option<i64>,
    pub suspense: i64,
}

/// Compares our verified payments of a day with the processor's report of the same day.
/// Every difference is listed; nothing is dropped. Sorted by order id, then kind.
pub fn reconcile(ours: &[OrderView], theirs: &[OrderView]) -> Vec<Mismatch> {
    use std::collections::BTreeMap;
    let mut mine: BTreeMap<i64, i64> = BTreeMap::new();
    for o in ours {
        *mine.entry(o.order_id).or_default() += o.amount;
    }
    let mut reported: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for o in theirs {
        reported.entry(o.order_id).or_default().push(o.amount);
    }
    let mut out = Vec::new();
    for (&order, amounts) in &reported {
        let first = amounts[0];
        for &extra in &amounts[1..] {
            out.push(Mismatch {
                kind: MismatchKind::Duplicate,
                order_id: order,
                ours: mine.get(&order).copied(),
                theirs: Some(extra),
                suspense: extra,
            });
        }
        match mine.get(&order) {
            None => out.push(Mismatch {
                kind: MismatchKind::MissingHere,
                order_id: order,
                ours: None,
                theirs: Some(first),
                suspense: first,
            }),
            Some(&amount) if amount != first => out.push(Mismatch {
                kind: MismatchKind::WrongAmount,
                order_id: order,
                ours: Some(amount),
                theirs: Some(first),
                suspense: first - amount,
            }),
            Some(_) => {}
        }
    }
    for (&order, &amount) in &mine {
        if !reported.contains_key(&order) {
            out.push(Mismatch {
                kind: MismatchKind::MissingAtProcessor,
                order_id: order,
                ours: Some(amount),
                theirs: None,
                suspense: -amount,
            });
        }
    }
    out.sort_by_key(|m| (m.order_id, m.kind.code()));
    out
}

/// The suspense transfer for mismatch number `id`: money the processor holds beyond what we
/// know of is parked as owed to no one yet; money we expected and it does not hold is the
/// reverse.
pub fn suspense_transfer(id: i64, suspense: i64) -> Option<Transfer> {
    if suspense == 0 {
        return None;
    }
    let (debit, credit) = if suspense > 0 {
        (Account::PspClearing, Account::Suspense)
    } else {
        (Account::Suspense, Account::PspClearing)
    };
    Some(Transfer {
        id: TransferId::derived(IdSpace::Reconciliation, id, 1, 0),
        debit,
        credit,
        amount: suspense.abs(),
        phase: Phase::Single,
        linked: false,
        code: TransferCode::Suspense,
        reference: id,
    })
}

/// A case reference, checked: bounded, one line, not blank.
pub fn parse_case_id(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_CASE_ID_CHARS {
        return Err(FieldError::new(
            "case_id",
            "bad_case_id",
            format!("a case reference is 1 to {MAX_CASE_ID_CHARS} characters"),
        ));
    }
    crate::plain_text::check_line("case_id", s)?;
    Ok(s.to_string())
}

/// An idempotency key: 1 to 128 visible ASCII characters.
pub fn parse_idempotency_key(s: &str) -> Result<String, FieldError> {
    if s.is_empty() || s.len() > MAX_IDEMPOTENCY_KEY || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(
            "Idempotency-Key",
            "bad_idempotency_key",
            format!("an Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        ));
    }
    Ok(s.to_string())
}

/// A refund's reason, checked.
pub fn parse_refund_reason(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_REFUND_REASON_CHARS {
        return Err(FieldError::new(
            "reason",
            "bad_reason",
            format!("give the reason in 1 to {MAX_REFUND_REASON_CHARS} characters"),
        ));
    }
    if let Some(c) = crate::plain_text::first_forbidden_in_text(s) {
        return Err(crate::plain_text::refusal("reason", c));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Book, Outcome};

    fn legs() -> Vec<Leg> {
        vec![
            Leg {
                kind: FeeKind::GovernmentFee,
                account: Account::AgencyPayable(AgencyCode::parse("civil-registry").unwrap()),
                amount: Rials::new(700_000).unwrap(),
            },
            Leg {
                kind: FeeKind::CounterFee,
                account: Account::OfficeCommission(OfficeCode::parse("11000001").unwrap()),
                amount: Rials::new(250_000).unwrap(),
            },
            Leg {
                kind: FeeKind::Vat,
                account: Account::VatPayable,
                amount: Rials::new(25_000).unwrap(),
            },
        ]
    }

    #[test]
    fn a_payment_reserves_posts_and_refunds_without_losing_a_rial() {
        let mut book = Book::default();
        let l = legs();
        let all = |o: &[Outcome]| o.iter().all(|o| *o == Outcome::Applied);
        assert!(all(&book.apply(&reserve_transfers(7, &l), 0).outcomes));
        assert!(all(&book.apply(&post_transfers(7, &l), 0).outcomes));
        // Voiding after posting is refused as a whole chain.
        assert!(!all(&book.apply(&void_transfers(7, &l), 0).outcomes));
        assert!(all(&book
            .apply(&refund_owed_transfers(1, &l, 100_001), 0)
            .outcomes));
        assert!(all(&book
            .apply(&[refund_paid_transfer(1, 100_001)], 0)
            .outcomes));
        let clearing = book.balances[&Account::PspClearing];
        assert_eq!(
            clearing.debits_posted - clearing.credits_posted,
            975_000 - 100_001
        );
        assert_eq!(split(&l, 100_001).iter().sum::<i64>(), 100_001);
    }

    #[test]
    fn reconciliation_lists_every_difference() {
        let ours = [
            OrderView {
                order_id: 1,
                amount: 100,
            },
            OrderView {
                order_id: 2,
                amount: 200,
            },
            OrderView {
                order_id: 3,
                amount: 300,
            },
        ];
        let theirs = [
            OrderView {
                order_id: 1,
                amount: 100,
            },
            OrderView {
                order_id: 2,
                amount: 250,
            },
            OrderView {
                order_id: 4,
                amount: 400,
            },
            OrderView {
                order_id: 4,
                amount: 400,
            },
        ];
        let found = reconcile(&ours, &theirs);
        let kinds: Vec<_> = found
            .iter()
            .map(|m| (m.order_id, m.kind, m.suspense))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (2, MismatchKind::WrongAmount, 50),
                (3, MismatchKind::MissingAtProcessor, -300),
                (4, MismatchKind::Duplicate, 400),
                (4, MismatchKind::MissingHere, 400),
            ]
        );
    }

    #[test]
    fn statuses_move_only_forward() {
        assert!(PaymentStatus::Paid.may_become(PaymentStatus::Verified));
        assert!(!PaymentStatus::Reversed.may_become(PaymentStatus::Verified));
        assert!(!PaymentStatus::Verified.may_become(PaymentStatus::Reversed));
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.code()), Some(s));
        }
    }
}
