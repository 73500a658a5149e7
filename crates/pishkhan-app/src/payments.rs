//! Payments: taking a fee at the counter or online through the card processor (PSP), its
//! callback and verification, reversal of what is never verified in its window, refunds,
//! receipts, the daily settlement to the payees' Sheba accounts, and reconciliation with the
//! processor's daily report.
//!
//! **Rule: the processor's verification is the only proof of payment.** A callback is a hint
//! (anyone can post one); only a `verify` answer with our order and our amount moves a
//! payment to verified. A payment not verified by its deadline is reversed at the processor
//! and its reserved money voided, so its case is never served as paid.

use std::collections::BTreeMap;
use std::sync::Arc;

use pishkhan_domain::access::{Action, Denied, Permit, Principal, authorize};
use pishkhan_domain::ledger::Account;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::money::Rials;
use pishkhan_domain::payment::{self, MismatchKind, OrderView, PaymentChannel, PaymentStatus};
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_domain::tehran::{jalali_day_of_ms, jalali_today};
use pishkhan_domain::{JalaliDate, NationalCode, Sheba};
use pishkhan_store::{
    AuditContext, NewFinding, NewPayment, NewSettlement, Payment, PaymentFilter, PaymentMove,
    Reconciliation, Refund, Settlement, StateRule, StoreError,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::psp_client::{PspClient, PspError, ReportKind};
use crate::{App, AppError, Caller, StaffSession};

/// JWS `typ` of payment receipts.
pub const PAYMENT_RECEIPT_TYP: &str = "pishkhan-payment-receipt+jws";
/// Payments the sweeper chases per pass.
const CHASE_BATCH: usize = 200;
/// A payment is chased once it has waited this long for the processor.
const CHASE_AFTER_MS: i64 = 30_000;
/// A payment that never got a token is given up after this long.
const CREATED_EXPIRES_MS: i64 = 10 * 60_000;

/// The card processor as this deployment reaches it.
pub struct PaymentsRuntime {
    pub client: PspClient,
    /// How long after the token a payment may still be verified; ours is shorter than the
    /// processor's own window, so we reverse before it does.
    pub verify_window_ms: i64,
}

fn psp(state: &App) -> Result<&Arc<PaymentsRuntime>, AppError> {
    state.payments_runtime().ok_or(AppError::Unavailable)
}

/// A payment as a person asks for it.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub service: ServiceCode,
    pub national_code: NationalCode,
    /// At the counter: the case's reference. Online: the booking's tracking code.
    pub case_id: String,
}

/// A payment and where to pay it.
#[derive(Debug, Clone)]
pub struct PaymentView {
    pub payment: Payment,
    pub pay_url: Option<String>,
}

fn view(state: &App, payment: Payment) -> PaymentView {
    let pay_url = match (&payment.token, state.payments_runtime()) {
        (Some(t), Some(rt)) if payment.status == PaymentStatus::Pending => {
            Some(rt.client.pay_url(t))
        }
        _ => None,
    };
    PaymentView { payment, pay_url }
}

fn digest(parts: &[&str]) -> String {
    hex::encode(sha2::Sha256::digest(parts.join("\u{1f}").as_bytes()))
}

/// Starts a payment (the same `key` again finds it): at the counter for a member of staff,
/// online for a citizen paying for their own booking. The fee is today's tariff.
pub async fn start(
    state: &App,
    caller: &Caller,
    key: &str,
    req: &PaymentRequest,
    ctx: &AuditContext,
) -> Result<PaymentView, AppError> {
    let key = payment::parse_idempotency_key(key)?;
    let case_id = payment::parse_case_id(&req.case_id)?;
    let (permit, office, channel, requested_by) = match caller {
        Caller::Staff(s) => {
            let office = s.actor.office.ok_or(AppError::Forbidden(Denied::Role))?;
            let permit = s.permit(Action::TakePayment { office })?;
            (
                permit,
                office,
                PaymentChannel::Counter,
                format!("staff:{}", s.actor.id),
            )
        }
        Caller::Citizen(c) => {
            let permit = authorize(
                &Principal::Citizen(c.national_code.clone()),
                Action::PayOnline {
                    national_code: req.national_code.clone(),
                },
            )?;
            let office = booked_office(state, &case_id, req).await?;
            let by = format!("citizen:{}", c.national_code.as_str());
            (permit, office, PaymentChannel::Online, by)
        }
    };
    start_with(
        state,
        &permit,
        office,
        channel,
        &requested_by,
        &key,
        req,
        &case_id,
        ctx,
    )
    .await
}

/// The office of the citizen's own booked appointment for this service.
async fn booked_office(
    state: &App,
    case_id: &str,
    req: &PaymentRequest,
) -> Result<OfficeCode, AppError> {
    let not_booked = || {
        AppError::invalid(
            "no_such_booking",
            "case_id",
            "online payment is for one of your own booked appointments: give its tracking code",
        )
    };
    let code = TrackingCode::parse(case_id).map_err(|_| not_booked())?;
    let booking = state.store().booking(&code).await.map_err(|e| match e {
        StoreError::NotFound { .. } => not_booked(),
        other => other.into(),
    })?;
    if booking.national_code != req.national_code
        || booking.service != req.service
        || booking.status != pishkhan_domain::schedule::BookingStatus::Booked
    {
        return Err(not_booked());
    }
    Ok(booking.office)
}

#[allow(clippy::too_many_arguments)]
async fn start_with(
    state: &App,
    permit: &Permit,
    office: OfficeCode,
    channel: PaymentChannel,
    requested_by: &str,
    key: &str,
    req: &PaymentRequest,
    case_id: &str,
    ctx: &AuditContext,
) -> Result<PaymentView, AppError> {
    let rt = psp(state)?.clone();
    let service = state
        .store()
        .service(&req.service)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => AppError::invalid(
                "unknown_service",
                "service",
                "no catalogue service has this code",
            ),
            other => other.into(),
        })?;
    let today = jalali_day_of_ms(ctx.now_ms);
    let tariff = state
        .store()
        .tariff_on(&req.service, today)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "no_fee",
                "service",
                "this service has no fee in force today",
            )
        })?;
    let legs = payment::legs_for(&tariff, &service.agency, office);
    let amount = Rials::new(payment::total(&legs))?;
    if amount == Rials::ZERO {
        return Err(AppError::invalid(
            "no_fee",
            "service",
            "this service is free today: there is nothing to pay",
        ));
    }
    let new = NewPayment {
        requested_by: requested_by.to_string(),
        idempotency_key: key.to_string(),
        request_digest: digest(&[
            channel.code(),
            &office.to_string(),
            req.service.as_str(),
            req.national_code.as_str(),
            case_id,
        ]),
        channel,
        office,
        service: req.service.clone(),
        national_code: req.national_code.as_str().to_string(),
        case_id: case_id.to_string(),
        tariff_from: tariff.effective_from,
        legs,
        amount,
    };
    let (payment, _) = state
        .store()
        .create_payment(permit, &new, ctx)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { what } => AppError::Conflict {
                code: "idempotency_key_reused",
                message: what,
            },
            other => other.into(),
        })?;
    if payment.status != PaymentStatus::Created {
        return Ok(view(state, payment));
    }
    let base = state.config().public_url.trim_end_matches('/').to_string();
    let callback = format!("{base}/api/v1/payments/callback");
    let back = format!("{base}/payments/{}/return", payment.id);
    match rt
        .client
        .token(payment.id, amount.get(), &callback, &back)
        .await
    {
        Ok(token) => {
            let mut m = PaymentMove::new(
                PaymentStatus::Created,
                PaymentStatus::Pending,
                "token",
                state.now_ms(),
            );
            m.token = Some(token);
            m.verify_deadline_ms = Some(state.now_ms() + rt.verify_window_ms);
            let moved = state.store().move_payment(payment.id, &m).await;
            match moved {
                Ok(p) => Ok(view(state, p)),
                // A retry raced us to it: show what it made.
                Err(StoreError::WrongState(_)) => {
                    Ok(view(state, state.store().payment(payment.id).await?))
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => {
            state
                .store()
                .note_payment(
                    payment.id,
                    "psp_unreachable",
                    &e.to_string(),
                    state.now_ms(),
                )
                .await?;
            Err(upstream(&e))
        }
    }
}

fn upstream(e: &PspError) -> AppError {
    AppError::Upstream {
        code: "psp_unavailable",
        message: format!(
            "the card processor did not answer ({e}); retry with the same Idempotency-Key"
        ),
        timeout: matches!(e, PspError::Timeout),
    }
}

/// The processor's callback, as received (untrusted).
#[derive(Debug, Clone)]
pub struct CallbackInput {
    pub token: String,
    pub order_id: i64,
    pub paid: bool,
    pub ref_num: Option<String>,
    pub amount_rials: i64,
    pub card_mask: Option<String>,
}

/// Handles a callback: records it, and asks the processor to verify. Duplicates and late
/// callbacks are recorded and change nothing; a callback for a reversed payment is reversed
/// at the processor again.
pub async fn callback(state: &App, cb: &CallbackInput) -> Result<Payment, AppError> {
    let p = state
        .store()
        .payment_by_token(&cb.token)
        .await?
        .ok_or(AppError::NotFound("payment"))?;
    let now = state.now_ms();
    if cb.order_id != p.id {
        state
            .store()
            .note_payment(
                p.id,
                "callback_mismatch",
                &format!("order {}", cb.order_id),
                now,
            )
            .await?;
        return Err(AppError::invalid(
            "callback_mismatch",
            "order_id",
            "the callback names another order than its token's",
        ));
    }
    let detail = format!(
        "{} rials, reference {}",
        cb.amount_rials,
        cb.ref_num.as_deref().unwrap_or("-")
    );
    match p.status {
        PaymentStatus::Pending if cb.paid => {
            let mut m =
                PaymentMove::new(PaymentStatus::Pending, PaymentStatus::Paid, "callback", now);
            m.detail = detail;
            m.ref_num = cb.ref_num.clone();
            m.card_mask = cb.card_mask.clone();
            m.transfers = payment::reserve_transfers(p.id, &p.legs);
            let paid = match state.store().move_payment(p.id, &m).await {
                Ok(paid) => paid,
                // A concurrent duplicate moved it first.
                Err(StoreError::WrongState(_)) => state.store().payment(p.id).await?,
                Err(e) => return Err(e.into()),
            };
            confirm(state, paid).await
        }
        PaymentStatus::Pending => {
            let mut m = PaymentMove::new(
                PaymentStatus::Pending,
                PaymentStatus::Failed,
                "cancelled",
                now,
            );
            m.detail = "the payer cancelled at the processor".into();
            Ok(state.store().move_payment(p.id, &m).await?)
        }
        PaymentStatus::Paid => {
            state
                .store()
                .note_payment(p.id, "duplicate_callback", &detail, now)
                .await?;
            confirm(state, p).await
        }
        PaymentStatus::Reversed | PaymentStatus::Failed => {
            state
                .store()
                .note_payment(p.id, "late_callback", &detail, now)
                .await?;
            if let (Some(token), Ok(rt)) = (&p.token, psp(state)) {
                // The processor must not keep money for an order we gave up.
                if let Err(e) = rt.client.reverse(token).await {
                    tracing::warn!(payment = p.id, error = %e, "could not reverse a late payment");
                }
            }
            Ok(p)
        }
        _ => {
            state
                .store()
                .note_payment(p.id, "duplicate_callback", &detail, now)
                .await?;
            Ok(p)
        }
    }
}

/// Asks the processor about a pending or paid payment and moves it as the answer says.
async fn confirm(state: &App, p: Payment) -> Result<Payment, AppError> {
    let rt = psp(state)?.clone();
    let Some(token) = p.token.clone() else {
        return Ok(p);
    };
    let now = state.now_ms();
    let reserved = p.status == PaymentStatus::Paid;
    let past_deadline = p.verify_deadline_ms.is_some_and(|d| now > d);
    match rt.client.verify(&token).await {
        Ok(v) if v.order_id == p.id && v.amount_rials == p.amount.get() => {
            let mut m = PaymentMove::new(p.status, PaymentStatus::Verified, "verified", now);
            m.detail = format!("reference {}", v.ref_num);
            m.ref_num = Some(v.ref_num.clone());
            m.card_mask = Some(v.card_mask.clone());
            m.verified = Some((now, jalali_day_of_ms(now)));
            m.transfers = if reserved {
                payment::post_transfers(p.id, &p.legs)
            } else {
                // The callback was lost: reserve and post together.
                let mut t = payment::reserve_transfers(p.id, &p.legs);
                t.extend(payment::post_transfers(p.id, &p.legs));
                t
            };
            settle_move(state, &p, &m).await
        }
        Ok(v) => {
            // The processor charged another amount than the tariff's: refuse the money.
            if let Err(e) = rt.client.reverse(&token).await {
                tracing::warn!(payment = p.id, error = %e, "could not reverse a wrong amount");
            }
            let mut m = PaymentMove::new(p.status, PaymentStatus::Failed, "wrong_amount", now);
            m.detail = format!(
                "the processor reported {} rials for a fee of {}",
                v.amount_rials,
                p.amount.get()
            );
            m.reported_rials = Some(v.amount_rials);
            if reserved {
                m.transfers = payment::void_transfers(p.id, &p.legs);
            }
            if v.amount_rials > p.amount.get() {
                m.finding = Some(NewFinding {
                    office: p.office,
                    kind: "fee_above_tariff".into(),
                    evidence: serde_json::json!({
                        "payment": p.id,
                        "service": p.service.as_str(),
                        "tariff_from": p.tariff_from.to_string(),
                        "tariff_rials": p.amount.get(),
                        "charged_rials": v.amount_rials,
                        "ref_num": v.ref_num,
                    })
                    .to_string(),
                    payment: Some(p.id),
                });
            }
            settle_move(state, &p, &m).await
        }
        Err(PspError::Refused { code, .. }) if code == "reversed" => {
            let mut m = PaymentMove::new(p.status, PaymentStatus::Reversed, "reversed", now);
            m.detail = "the processor reversed it: not verified in its window".into();
            if reserved {
                m.transfers = payment::void_transfers(p.id, &p.legs);
            }
            settle_move(state, &p, &m).await
        }
        // Not paid yet: the payer may still be at the terminal, until the deadline.
        Err(PspError::Refused { code, .. }) if code == "not_paid" && !reserved => {
            if !past_deadline {
                return Ok(p);
            }
            // Nothing to reverse: if the payer pays after all, that callback comes to a
            // failed payment and is reversed then.
            let mut m = PaymentMove::new(p.status, PaymentStatus::Failed, "expired", now);
            m.detail = "not paid before its deadline".into();
            settle_move(state, &p, &m).await
        }
        Err(e) if past_deadline => {
            // Not verified in its window: reverse it ourselves, whatever the processor says.
            let reversal = rt.client.reverse(&token).await;
            let mut m = PaymentMove::new(p.status, PaymentStatus::Reversed, "reversed", now);
            m.detail = format!(
                "not verified by its deadline ({e}); reversal: {}",
                match &reversal {
                    Ok(()) => "done".to_string(),
                    Err(r) => format!("failed ({r}); reconciliation will show it"),
                }
            );
            if reserved {
                m.transfers = payment::void_transfers(p.id, &p.legs);
            }
            settle_move(state, &p, &m).await
        }
        Err(e) => {
            state
                .store()
                .note_payment(p.id, "verify_failed", &e.to_string(), now)
                .await?;
            Ok(p)
        }
    }
}

/// Applies a move; a concurrent one that got there first wins and is returned.
async fn settle_move(state: &App, p: &Payment, m: &PaymentMove) -> Result<Payment, AppError> {
    match state.store().move_payment(p.id, m).await {
        Ok(done) => Ok(done),
        Err(StoreError::WrongState(_)) => Ok(state.store().payment(p.id).await?),
        Err(e) => Err(e.into()),
    }
}

/// The sweeper's pass: payments waiting on the processor are asked about (a lost callback
/// is found by verifying; one past its deadline is reversed), and owed refunds are sent.
pub async fn chase(state: &App) -> Result<usize, AppError> {
    if state.payments_runtime().is_none() {
        return Ok(0);
    }
    let now = state.now_ms();
    let waiting = state
        .store()
        .payments_to_chase(now - CHASE_AFTER_MS, CHASE_BATCH)
        .await?;
    let mut n = 0;
    for p in waiting {
        n += 1;
        let outcome = if p.status == PaymentStatus::Created {
            if now - p.created_at_ms < CREATED_EXPIRES_MS {
                continue;
            }
            let mut m = PaymentMove::new(
                PaymentStatus::Created,
                PaymentStatus::Failed,
                "expired",
                now,
            );
            m.detail = "the card processor never issued a token".into();
            settle_move(state, &p, &m).await.map(|_| ())
        } else {
            confirm(state, p.clone()).await.map(|_| ())
        };
        if let Err(e) = outcome {
            tracing::warn!(payment = p.id, error = %e, "could not chase a payment");
        }
    }
    for r in state.store().refunds_owed(CHASE_BATCH).await? {
        if let Err(e) = send_refund(state, &r).await {
            tracing::warn!(refund = r.id, error = %e, "could not send a refund");
        }
        n += 1;
    }
    Ok(n)
}

/// Whether `caller` may see payment `p`: its office's staff and the regulator, or the
/// citizen who pays. Others are told it does not exist.
fn may_see(caller: &Caller, p: &Payment) -> Result<(), AppError> {
    match caller {
        Caller::Staff(s) => {
            s.permit(Action::ViewPayments {
                office: Some(p.office),
            })?;
            Ok(())
        }
        Caller::Citizen(c) if c.national_code.as_str() == p.national_code => Ok(()),
        Caller::Citizen(_) => Err(AppError::NotFound("payment")),
    }
}

/// One payment, with where to pay it while it waits.
pub async fn get(state: &App, caller: &Caller, id: i64) -> Result<PaymentView, AppError> {
    let p = state.store().payment(id).await?;
    may_see(caller, &p)?;
    Ok(view(state, p))
}

/// A payment's history and refunds.
pub async fn history(
    state: &App,
    caller: &Caller,
    id: i64,
) -> Result<(Vec<pishkhan_store::PaymentEvent>, Vec<Refund>), AppError> {
    let p = state.store().payment(id).await?;
    may_see(caller, &p)?;
    Ok((
        state.store().payment_events(id).await?,
        state.store().refunds_of(id).await?,
    ))
}

/// The most payments one list returns, and how many when the caller does not say.
pub const MAX_LISTED: usize = 500;
pub const DEFAULT_LISTED: usize = 100;

/// Payments a caller may list: a citizen's own; an office's (its staff, or the regulator
/// naming one); every office's for the regulator. `limit` is 1 to [`MAX_LISTED`].
///
/// Errors: `Invalid` `invalid_limit` (field `limit`).
pub async fn list(
    state: &App,
    caller: &Caller,
    office: Option<OfficeCode>,
    day: Option<JalaliDate>,
    case_id: Option<String>,
    limit: usize,
) -> Result<Vec<Payment>, AppError> {
    if !(1..=MAX_LISTED).contains(&limit) {
        return Err(AppError::invalid("invalid_limit", "limit", "1 to 500"));
    }
    let mut filter = PaymentFilter {
        day,
        case_id,
        limit,
        ..PaymentFilter::default()
    };
    match caller {
        Caller::Citizen(c) => filter.national_code = Some(c.national_code.as_str().to_string()),
        Caller::Staff(s) => {
            let office = office.or(s.actor.office);
            s.permit(Action::ViewPayments { office })?;
            filter.office = office;
        }
    }
    Ok(state.store().payments(&filter).await?)
}

/// The claims of a payment receipt: what was paid, for what, where, when, and the
/// processor's reference; the payer only as a salted hash.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PaymentReceiptClaims {
    pub pid: i64,
    pub office: String,
    pub service: String,
    pub case_id: String,
    pub amount_rials: i64,
    pub components: Vec<ReceiptComponent>,
    pub tariff_from: String,
    pub ref_num: String,
    pub card_mask: String,
    pub iat: i64,
    /// SHA-256 hex of `pid ":" national_code`.
    pub sub_hash: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ReceiptComponent {
    pub kind: String,
    pub payee: String,
    pub amount_rials: i64,
}

/// The signed receipt of a confirmed payment (compact JWS, EdDSA, the identity receipts'
/// key), which verifies offline.
pub async fn receipt(state: &App, caller: &Caller, id: i64) -> Result<String, AppError> {
    let p = state.store().payment(id).await?;
    may_see(caller, &p)?;
    let confirmed = p.status.counts_as_paid() || p.status == PaymentStatus::Refunded;
    let (Some(ref_num), Some(at), true) = (&p.ref_num, p.verified_at_ms, confirmed) else {
        return Err(AppError::Conflict {
            code: "not_paid",
            message: "a receipt exists once the payment is confirmed".into(),
        });
    };
    let claims = PaymentReceiptClaims {
        pid: p.id,
        office: p.office.to_string(),
        service: p.service.as_str().to_string(),
        case_id: p.case_id.clone(),
        amount_rials: p.amount.get(),
        components: p
            .legs
            .iter()
            .map(|l| ReceiptComponent {
                kind: l.kind.code().into(),
                payee: l.account.code(),
                amount_rials: l.amount.get(),
            })
            .collect(),
        tariff_from: p.tariff_from.to_string(),
        ref_num: ref_num.clone(),
        card_mask: p.card_mask.clone().unwrap_or_default(),
        iat: at / 1000,
        sub_hash: hex::encode(sha2::Sha256::digest(
            format!("{}:{}", p.id, p.national_code).as_bytes(),
        )),
    };
    let rt = crate::exchange::runtime(state)?;
    let payload = serde_json::to_vec(&claims).map_err(AppError::internal)?;
    Ok(pishkhan_sign::jws::sign(
        rt.receipt_key(),
        Some(PAYMENT_RECEIPT_TYP),
        &payload,
    ))
}

/// Refunds part or all of a confirmed payment (the office's manager, or the regulator),
/// with a reason: owed at once in the ledger, returned to the card by the processor.
pub async fn refund(
    state: &App,
    by: &StaffSession,
    id: i64,
    amount: i64,
    reason: &str,
    ctx: &AuditContext,
) -> Result<Refund, AppError> {
    let reason = payment::parse_refund_reason(reason)?;
    let amount = Rials::new(amount)?;
    let p = state.store().payment(id).await?;
    let permit = by.permit(Action::RefundPayment { office: p.office })?;
    let day = jalali_day_of_ms(ctx.now_ms);
    let r = state
        .store()
        .create_refund(&permit, id, amount, &reason, day, ctx)
        .await
        .map_err(|e| match e {
            StoreError::WrongState(w) if w.rule == StateRule::RefundExceeds => {
                AppError::invalid("refund_exceeds", "amount_rials", w.message)
            }
            StoreError::LedgerRefused { .. } => AppError::Conflict {
                code: "refund_exceeds_balance",
                message: "the payees' unsettled balance cannot cover this refund now".into(),
            },
            other => other.into(),
        })?;
    match send_refund(state, &r).await {
        Ok(done) => Ok(done),
        // Owed, and the sweeper sends it when the processor answers.
        Err(e) => {
            tracing::warn!(refund = r.id, error = %e, "refund left owed");
            Ok(r)
        }
    }
}

async fn send_refund(state: &App, r: &Refund) -> Result<Refund, AppError> {
    let rt = psp(state)?.clone();
    let p = state.store().payment(r.payment).await?;
    let token = p.token.ok_or(AppError::NotFound("payment token"))?;
    let reference = rt
        .client
        .refund(&token, r.id, r.amount.get())
        .await
        .map_err(|e| upstream(&e))?;
    Ok(state
        .store()
        .complete_refund(r.id, &reference, state.now_ms())
        .await?)
}

/// Records where a payee is settled: a manager for their office, the regulator for any.
pub async fn set_payee_account(
    state: &App,
    by: &StaffSession,
    account: &Account,
    sheba: &str,
    holder: &str,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let sheba = Sheba::parse(sheba)?;
    let holder = holder.trim();
    if holder.is_empty() || holder.chars().count() > 200 {
        return Err(AppError::invalid(
            "bad_holder",
            "holder",
            "name the account holder in 1 to 200 characters",
        ));
    }
    pishkhan_domain::plain_text::check_line("holder", holder)?;
    let office = match account {
        Account::OfficeCommission(o) => Some(*o),
        Account::AgencyPayable(_) | Account::VatPayable => None,
        _ => {
            return Err(AppError::invalid(
                "not_a_payee",
                "account",
                "only an office, an agency or the treasury is settled to a Sheba account",
            ));
        }
    };
    let permit = match (office, by.actor.office) {
        // A manager names their own office; the regulator may name any.
        (Some(o), Some(_)) => by.permit(Action::SetPayeeAccount { office: Some(o) })?,
        _ => by.permit(Action::SetPayeeAccount { office: None })?,
    };
    Ok(state
        .store()
        .set_payee_account(&permit, account, &sheba, holder, ctx)
        .await?)
}

fn settlement_permit(by: Option<&StaffSession>) -> Result<Permit, AppError> {
    Ok(match by {
        Some(s) => s.permit(Action::ManageSettlement)?,
        None => authorize(
            &Principal::System {
                reason: "settlement",
            },
            Action::ManageSettlement,
        )?,
    })
}

fn day_is_over(state: &App, day: JalaliDate) -> Result<(), AppError> {
    if day >= jalali_today(state.now()) {
        return Err(AppError::invalid(
            "day_not_over",
            "date",
            "a day is settled and reconciled once it is over",
        ));
    }
    Ok(())
}

/// Settles a past day: each payee's share of the day's confirmed payments, capped at what
/// the ledger still owes it (refunds may have taken some), to its Sheba account. `None` for
/// `by` is the sweeper.
pub async fn settle_day(
    state: &App,
    by: Option<&StaffSession>,
    day: JalaliDate,
    ctx: &AuditContext,
) -> Result<Vec<Settlement>, AppError> {
    let permit = settlement_permit(by)?;
    day_is_over(state, day)?;
    let payments = state.store().unsettled_on(day).await?;
    let mut shares: BTreeMap<Account, (i64, i64)> = BTreeMap::new();
    for p in &payments {
        for l in &p.legs {
            let e = shares.entry(l.account.clone()).or_default();
            e.0 += l.amount.get();
            e.1 += 1;
        }
    }
    let accounts: Vec<Account> = shares.keys().cloned().collect();
    let balances = state.store().balances(&accounts).await?;
    let mut out = Vec::new();
    for (account, (amount, count)) in shares {
        let b = balances.get(&account).copied().unwrap_or_default();
        let owed = b.credits_posted - b.debits_posted - b.debits_pending;
        let amount = amount.min(owed);
        if amount > 0 {
            out.push(NewSettlement {
                account,
                amount: Rials::new(amount)?,
                payments: count,
            });
        }
    }
    let ids: Vec<i64> = payments.iter().map(|p| p.id).collect();
    state
        .store()
        .record_settlement(&permit, day, &out, &ids, ctx)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { what } => AppError::Conflict {
                code: "already_settled",
                message: what,
            },
            other => other.into(),
        })
}

/// A day's settlement as a CSV file: one row per payee.
pub async fn settlement_csv(
    state: &App,
    by: &StaffSession,
    day: JalaliDate,
) -> Result<String, AppError> {
    let rows = settlements(state, by, Some(day), None).await?;
    let mut out = String::from("date,payee,holder,sheba,amount_rials,payments\n");
    for s in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            s.day,
            s.account.code(),
            csv_field(&s.holder),
            s.sheba,
            s.amount.get(),
            s.payments
        ));
    }
    Ok(out)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Settlement rows: the regulator sees all; a manager or operator only their office's.
pub async fn settlements(
    state: &App,
    by: &StaffSession,
    day: Option<JalaliDate>,
    account: Option<&Account>,
) -> Result<Vec<Settlement>, AppError> {
    let own = by.actor.office;
    let account = match (own, account) {
        (Some(o), _) => {
            by.permit(Action::ViewPayments { office: Some(o) })?;
            Some(Account::OfficeCommission(o))
        }
        (None, a) => {
            by.permit(Action::ViewPayments { office: None })?;
            a.cloned()
        }
    };
    Ok(state
        .store()
        .settlements(
            day,
            account.as_ref(),
            if day.is_some() { 10_000 } else { 400 },
        )
        .await?)
}

/// Reconciles a past day with the processor's report: every difference is listed and its
/// amount parked in suspense. `None` for `by` is the sweeper.
pub async fn reconcile_day(
    state: &App,
    by: Option<&StaffSession>,
    day: JalaliDate,
    ctx: &AuditContext,
) -> Result<Reconciliation, AppError> {
    let permit = settlement_permit(by)?;
    day_is_over(state, day)?;
    let rt = psp(state)?.clone();
    let report = rt
        .client
        .settlement_report(day)
        .await
        .map_err(|e| upstream(&e))?;
    let (ours, our_refunds) = state.store().verified_orders_on(day).await?;
    let mut theirs = Vec::new();
    let mut their_refunds: Vec<OrderView> = Vec::new();
    for row in &report {
        let v = OrderView {
            order_id: row.order_id,
            amount: row.amount_rials,
        };
        match row.kind {
            ReportKind::Payment => theirs.push(v),
            ReportKind::Refund => match their_refunds.iter_mut().find(|r| r.order_id == v.order_id)
            {
                Some(r) => r.amount += v.amount,
                None => their_refunds.push(v),
            },
        }
    }
    let mut mismatches = payment::reconcile(&ours, &theirs);
    // A refund is money leaving the processor: its differences park the other way.
    for mut m in payment::reconcile(&our_refunds, &their_refunds) {
        m.suspense = -m.suspense;
        if m.kind != MismatchKind::Duplicate {
            mismatches.push(m);
        }
    }
    state
        .store()
        .record_reconciliation(
            &permit,
            day,
            report.len() as i64,
            (ours.len() + our_refunds.len()) as i64,
            &mismatches,
            ctx,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { what } => AppError::Conflict {
                code: "already_reconciled",
                message: what,
            },
            other => other.into(),
        })
}

/// The daily money work of the sweeper: yesterday's settlement and reconciliation, once.
pub async fn daily(state: &App) -> Result<(), AppError> {
    if state.payments_runtime().is_none() {
        return Ok(());
    }
    let yesterday = jalali_today(state.now()).add_days(-1);
    let ctx = AuditContext {
        now_ms: state.now_ms(),
        ip: None,
        request_id: None,
    };
    if state
        .store()
        .settlements(Some(yesterday), None, 1)
        .await?
        .is_empty()
    {
        match settle_day(state, None, yesterday, &ctx).await {
            Ok(_) | Err(AppError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let done = state
        .store()
        .reconciliations(2)
        .await?
        .iter()
        .any(|r| r.day == yesterday);
    if !done {
        match reconcile_day(state, None, yesterday, &ctx).await {
            Ok(_) | Err(AppError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The latest reconciliations (regulator).
pub async fn reconciliations(
    state: &App,
    by: &StaffSession,
) -> Result<Vec<Reconciliation>, AppError> {
    by.permit(Action::ViewPayments { office: None })?;
    Ok(state.store().reconciliations(60).await?)
}

/// One reconciliation with its mismatches (regulator).
pub async fn reconciliation(
    state: &App,
    by: &StaffSession,
    id: i64,
) -> Result<Reconciliation, AppError> {
    by.permit(Action::ViewPayments { office: None })?;
    Ok(state.store().reconciliation(id).await?)
}

/// The ledger's balances: every account for the regulator, an office's own commission for
/// its staff.
pub async fn balances(
    state: &App,
    by: &StaffSession,
) -> Result<Vec<(Account, pishkhan_domain::ledger::Balance)>, AppError> {
    let map = match by.actor.office {
        Some(o) => {
            by.permit(Action::ViewPayments { office: Some(o) })?;
            state
                .store()
                .balances(&[Account::OfficeCommission(o)])
                .await?
        }
        None => {
            by.permit(Action::ViewPayments { office: None })?;
            state.store().all_balances().await?
        }
    };
    Ok(map.into_iter().collect())
}

/// Compliance findings: all (or one office's) for the regulator, the office's own for its
/// staff.
pub async fn findings(
    state: &App,
    by: &StaffSession,
    office: Option<OfficeCode>,
) -> Result<Vec<pishkhan_store::Finding>, AppError> {
    let office = by.actor.office.or(office);
    by.permit(Action::ViewPayments { office })?;
    Ok(state.store().findings(office, 200).await?)
}

/// Starts a counter payment at `office` as the system (the demo's month of history goes
/// through the same path as an operator's).
pub async fn start_as_system(
    state: &App,
    office: OfficeCode,
    key: &str,
    req: &PaymentRequest,
    ctx: &AuditContext,
) -> Result<PaymentView, AppError> {
    let key = payment::parse_idempotency_key(key)?;
    let case_id = payment::parse_case_id(&req.case_id)?;
    let permit = authorize(
        &Principal::System { reason: "payments" },
        Action::TakePayment { office },
    )?;
    start_with(
        state,
        &permit,
        office,
        PaymentChannel::Counter,
        "system",
        &key,
        req,
        &case_id,
        ctx,
    )
    .await
}

/// Asks the processor about a payment that waits on it now (the operator's "check" button;
/// the sweeper does the same for every waiting payment).
pub async fn check(state: &App, caller: &Caller, id: i64) -> Result<PaymentView, AppError> {
    let p = state.store().payment(id).await?;
    may_see(caller, &p)?;
    let p = if matches!(p.status, PaymentStatus::Pending | PaymentStatus::Paid) {
        confirm(state, p).await?
    } else {
        p
    };
    Ok(view(state, p))
}

/// [`check`] for the system (the demo's history).
pub async fn check_as_system(state: &App, id: i64) -> Result<Payment, AppError> {
    let p = state.store().payment(id).await?;
    if matches!(p.status, PaymentStatus::Pending | PaymentStatus::Paid) {
        confirm(state, p).await
    } else {
        Ok(p)
    }
}
