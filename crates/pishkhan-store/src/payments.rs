//! Payments for both stores: the payment row and its events, refunds, payee accounts,
//! settlements and reconciliations. Each step's ledger transfers go through
//! `ledger::post_in_tx` inside the step's own transaction, so money and state never disagree.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::Sheba;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::fees::FeeKind;
use pishkhan_domain::ledger::Account;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::money::Rials;
use pishkhan_domain::payment::{self, Leg, Mismatch, MismatchKind, OrderView};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::areas::{
    Finding, MAX_PAYMENT_EVENTS, MAX_PAYMENTS_LISTED, MAX_PAYMENTS_PER_DAY, NewPayment,
    NewSettlement, PayeeAccount, Payment, PaymentChannel, PaymentEvent, PaymentFilter, PaymentMove,
    PaymentStatus, Payments, Reconciliation, Refund, RefundStatus, Settlement, StoredMismatch,
};
use crate::ledger::post_in_tx;
use crate::sql::{AnyTx, Arg, Sql, SqlStore, audit_permit, corrupt, field, require};
use crate::{AuditContext, Result, StateRule, StoreError};

const PAYMENT_COLS: &str = "id, requested_by, channel, office_code, service_code, national_code, \
     case_id, tariff_from, legs, amount_rials, status, token, ref_num, card_mask, reported_rials, \
     verify_deadline_ms, verified_at_ms, verified_day, settled_day, refunded_rials, \
     created_at_ms, updated_at_ms";

/// 'kind account amount' per line: the shares as stored.
fn legs_text(legs: &[Leg]) -> String {
    legs.iter()
        .map(|l| format!("{} {} {}", l.kind.code(), l.account.code(), l.amount.get()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn legs_parse(s: &str) -> Result<Vec<Leg>> {
    s.lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let (Some(kind), Some(account), Some(amount), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(corrupt("payment legs", line));
            };
            Ok(Leg {
                kind: field("leg kind", FeeKind::parse(kind))?,
                account: field("leg account", Account::parse(account))?,
                amount: field(
                    "leg amount",
                    Rials::new(amount.parse().map_err(|e| corrupt("leg amount", e))?),
                )?,
            })
        })
        .collect()
}

fn opt_day(r: &AnyRow, col: &str) -> Result<Option<JalaliDate>> {
    r.try_get::<Option<String>, _>(col)?
        .map(|d| field("payment day", JalaliDate::parse(&d)))
        .transpose()
}

fn payment_from_row(r: &AnyRow) -> Result<Payment> {
    let status: String = r.try_get("status")?;
    let channel: String = r.try_get("channel")?;
    Ok(Payment {
        id: r.try_get("id")?,
        requested_by: r.try_get("requested_by")?,
        channel: PaymentChannel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        office: field(
            "payment office",
            OfficeCode::from_u32(r.try_get::<i64, _>("office_code")? as u32),
        )?,
        service: field(
            "payment service",
            ServiceCode::parse(&r.try_get::<String, _>("service_code")?),
        )?,
        national_code: r.try_get("national_code")?,
        case_id: r.try_get("case_id")?,
        tariff_from: field(
            "tariff date",
            JalaliDate::parse(&r.try_get::<String, _>("tariff_from")?),
        )?,
        legs: legs_parse(&r.try_get::<String, _>("legs")?)?,
        amount: field("payment amount", Rials::new(r.try_get("amount_rials")?))?,
        status: PaymentStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        token: r.try_get("token")?,
        ref_num: r.try_get("ref_num")?,
        card_mask: r.try_get("card_mask")?,
        reported_rials: r.try_get("reported_rials")?,
        verify_deadline_ms: r.try_get("verify_deadline_ms")?,
        verified_at_ms: r.try_get("verified_at_ms")?,
        verified_day: opt_day(r, "verified_day")?,
        settled_day: opt_day(r, "settled_day")?,
        refunded: field("refunded", Rials::new(r.try_get("refunded_rials")?))?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

/// One payment, read on `conn` (a pool connection, or a transaction's).
async fn payment_in(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Payment> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLS} FROM payments WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound { entity: "payment" })?;
    payment_from_row(&row)
}

async fn event(
    tx: &mut AnyTx<'_>,
    id: i64,
    event: &str,
    status: PaymentStatus,
    detail: &str,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_events (payment_id, at_ms, event, status, detail) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(at_ms)
    .bind(event.to_string())
    .bind(status.code())
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn wrong_payment_state(p: &Payment, want: &str) -> StoreError {
    StoreError::wrong_state(
        StateRule::PaymentStatus,
        format!("payment {} is {}, {want}", p.id, p.status.code()),
    )
}

async fn create(
    store: &SqlStore,
    permit: &Permit,
    new: &NewPayment,
    ctx: &AuditContext,
) -> Result<(Payment, bool)> {
    require(permit, |a| match a {
        Action::TakePayment { office } => *office == new.office,
        Action::PayOnline { national_code } => national_code.as_str() == new.national_code,
        _ => false,
    })?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let found = sqlx::query(
            "SELECT id, request_digest FROM payments WHERE requested_by = $1 AND idempotency_key = $2",
        )
        .bind(new.requested_by.clone())
        .bind(new.idempotency_key.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = found {
            let digest: String = row.try_get("request_digest")?;
            if digest != new.request_digest {
                return Err(StoreError::Conflict {
                    what: "this Idempotency-Key was used for another payment request".into(),
                });
            }
            return Ok((payment_in(&mut tx, row.try_get("id")?).await?, false));
        }
        let row = sqlx::query(
            "INSERT INTO payments (requested_by, idempotency_key, request_digest, channel, \
             office_code, service_code, national_code, case_id, tariff_from, legs, amount_rials, \
             status, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'created', $12, $12) RETURNING id",
        )
        .bind(new.requested_by.clone())
        .bind(new.idempotency_key.clone())
        .bind(new.request_digest.clone())
        .bind(new.channel.code())
        .bind(i64::from(new.office.get()))
        .bind(new.service.as_str().to_string())
        .bind(new.national_code.clone())
        .bind(new.case_id.clone())
        .bind(new.tariff_from.to_string())
        .bind(legs_text(&new.legs))
        .bind(new.amount.get())
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let detail = format!("{} rials for {}", new.amount.get(), new.case_id);
        event(&mut tx, id, "created", PaymentStatus::Created, &detail, ctx.now_ms).await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("payment:{id}"),
            serde_json::json!({
                "service": new.service.as_str(),
                "office": new.office.to_string(),
                "case_id": new.case_id,
                "amount_rials": new.amount.get(),
                "channel": new.channel.code(),
            }),
            ctx,
        )
        .await?;
        Ok((payment_in(&mut tx, id).await?, true))
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

async fn move_payment(store: &SqlStore, id: i64, m: &PaymentMove) -> Result<Payment> {
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let p = payment_in(&mut tx, id).await?;
        if p.status != m.from || !m.from.may_become(m.to) {
            return Err(wrong_payment_state(
                &p,
                &format!("so it cannot become {}", m.to.code()),
            ));
        }
        let mut sql = Sql::new("UPDATE payments SET status = ");
        sql.arg(Arg::Text(m.to.code().into()));
        sql.push(", updated_at_ms = ").arg(Arg::Int(m.at_ms));
        let sets: [(&str, Option<Arg>); 6] = [
            ("token", m.token.clone().map(Arg::Text)),
            ("ref_num", m.ref_num.clone().map(Arg::Text)),
            ("card_mask", m.card_mask.clone().map(Arg::Text)),
            ("reported_rials", m.reported_rials.map(Arg::Int)),
            ("verify_deadline_ms", m.verify_deadline_ms.map(Arg::Int)),
            ("verified_at_ms", m.verified.map(|(ms, _)| Arg::Int(ms))),
        ];
        for (col, v) in sets {
            if let Some(v) = v {
                sql.push(&format!(", {col} = ")).arg(v);
            }
        }
        if let Some((_, day)) = m.verified {
            sql.push(", verified_day = ").arg(Arg::Text(day.to_string()));
        }
        sql.push(" WHERE id = ").arg(Arg::Int(id));
        sql.push(" AND status = ").arg(Arg::Text(m.from.code().into()));
        if sql.query().execute(&mut *tx).await?.rows_affected() != 1 {
            return Err(wrong_payment_state(&p, "and changed meanwhile"));
        }
        event(&mut tx, id, m.event, m.to, &m.detail, m.at_ms).await?;
        post_in_tx(store, &mut tx, &m.transfers, m.at_ms).await?;
        if let Some((ms, _)) = m.verified {
            let delta = crate::rollups::Delta::new(p.office, crate::rollups::day_of(ms))
                .with(crate::rollups::Col::Payments, 1)
                .with(crate::rollups::Col::PaidRials, p.amount.get());
            crate::rollups::bump(&mut tx, &[delta]).await?;
        }
        if let Some(f) = &m.finding {
            sqlx::query(
                "INSERT INTO compliance_findings (office_code, kind, evidence, payment_id, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(i64::from(f.office.get()))
            .bind(f.kind.clone())
            .bind(f.evidence.clone())
            .bind(f.payment)
            .bind(m.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        payment_in(&mut tx, id).await
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

async fn note(store: &SqlStore, id: i64, what: &str, detail: &str, at_ms: i64) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let p = payment_in(&mut tx, id).await?;
        let count: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM payment_events WHERE payment_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        // A processor that calls back forever must not grow the history without end.
        if count >= MAX_PAYMENT_EVENTS as i64 {
            return Ok(());
        }
        event(&mut tx, id, what, p.status, detail, at_ms).await
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

fn refund_from_row(r: &AnyRow) -> Result<Refund> {
    let status: String = r.try_get("status")?;
    Ok(Refund {
        id: r.try_get("id")?,
        payment: r.try_get("payment_id")?,
        amount: field("refund amount", Rials::new(r.try_get("amount_rials")?))?,
        reason: r.try_get("reason")?,
        requested_by: r.try_get("requested_by")?,
        status: match status.as_str() {
            "owed" => RefundStatus::Owed,
            "paid" => RefundStatus::Paid,
            other => return Err(corrupt("refund status", other)),
        },
        refund_ref: r.try_get("refund_ref")?,
        created_at_ms: r.try_get("created_at_ms")?,
        created_day: field(
            "refund day",
            JalaliDate::parse(&r.try_get::<String, _>("created_day")?),
        )?,
        paid_at_ms: r.try_get("paid_at_ms")?,
    })
}

async fn refund_in(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Refund> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REFUND_COLS} FROM refunds WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound { entity: "refund" })?;
    refund_from_row(&r)
}

const REFUND_COLS: &str = "id, payment_id, amount_rials, reason, requested_by, status, \
     refund_ref, created_at_ms, created_day, paid_at_ms";

async fn create_refund(
    store: &SqlStore,
    permit: &Permit,
    id: i64,
    amount: Rials,
    reason: &str,
    day: JalaliDate,
    ctx: &AuditContext,
) -> Result<Refund> {
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let p = payment_in(&mut tx, id).await?;
        require(permit, |a| matches!(a, Action::RefundPayment { office } if *office == p.office))?;
        if !matches!(p.status, PaymentStatus::Verified | PaymentStatus::Settled) {
            return Err(wrong_payment_state(&p, "and only a confirmed payment is refunded"));
        }
        let left = p.amount.get() - p.refunded.get();
        if amount.get() == 0 || amount.get() > left {
            return Err(StoreError::wrong_state(
                StateRule::RefundExceeds,
                format!("at most {left} rials of payment {id} are left to refund"),
            ));
        }
        let row = sqlx::query(
            "INSERT INTO refunds (payment_id, amount_rials, reason, requested_by, status, \
             created_at_ms, created_day) VALUES ($1, $2, $3, $4, 'owed', $5, $6) RETURNING id",
        )
        .bind(id)
        .bind(amount.get())
        .bind(reason.to_string())
        .bind(permit.principal().audit_name())
        .bind(ctx.now_ms)
        .bind(day.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let refund: i64 = row.try_get("id")?;
        post_in_tx(
            store,
            &mut tx,
            &payment::refund_owed_transfers(refund, &p.legs, amount.get()),
            ctx.now_ms,
        )
        .await?;
        let refunded = p.refunded.get() + amount.get();
        let status = if refunded == p.amount.get() {
            PaymentStatus::Refunded
        } else {
            p.status
        };
        sqlx::query(
            "UPDATE payments SET refunded_rials = $1, status = $2, updated_at_ms = $3 WHERE id = $4",
        )
        .bind(refunded)
        .bind(status.code())
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        event(
            &mut tx,
            id,
            "refund",
            status,
            &format!("{} rials: {reason}", amount.get()),
            ctx.now_ms,
        )
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("payment:{id}"),
            serde_json::json!({"refund": refund, "amount_rials": amount.get(), "reason": reason}),
            ctx,
        )
        .await?;
refund_in(&mut tx, refund).await
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

async fn complete_refund(
    store: &SqlStore,
    refund: i64,
    refund_ref: &str,
    at_ms: i64,
) -> Result<Refund> {
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let r = refund_in(&mut tx, refund).await?;
        if r.status == RefundStatus::Paid {
            return Ok(r);
        }
        post_in_tx(
            store,
            &mut tx,
            &[payment::refund_paid_transfer(refund, r.amount.get())],
            at_ms,
        )
        .await?;
        sqlx::query(
            "UPDATE refunds SET status = 'paid', refund_ref = $1, paid_at_ms = $2 WHERE id = $3",
        )
        .bind(refund_ref.to_string())
        .bind(at_ms)
        .bind(refund)
        .execute(&mut *tx)
        .await?;
        let p = payment_in(&mut tx, r.payment).await?;
        event(
            &mut tx,
            r.payment,
            "refund_paid",
            p.status,
            &format!("{} rials, reference {refund_ref}", r.amount.get()),
            at_ms,
        )
        .await?;
        refund_in(&mut tx, refund).await
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

fn settlement_from_row(r: &AnyRow) -> Result<Settlement> {
    Ok(Settlement {
        id: r.try_get("id")?,
        day: field(
            "settlement day",
            JalaliDate::parse(&r.try_get::<String, _>("day")?),
        )?,
        account: field(
            "settlement account",
            Account::parse(&r.try_get::<String, _>("account")?),
        )?,
        sheba: r.try_get("sheba")?,
        holder: r.try_get("holder")?,
        amount: field("settlement amount", Rials::new(r.try_get("amount_rials")?))?,
        payments: r.try_get("payments")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

const SETTLEMENT_COLS: &str =
    "id, day, account, sheba, holder, amount_rials, payments, created_at_ms";

async fn record_settlement(
    store: &SqlStore,
    permit: &Permit,
    day: JalaliDate,
    shares: &[NewSettlement],
    payments: &[i64],
    ctx: &AuditContext,
) -> Result<Vec<Settlement>> {
    require(permit, |a| matches!(a, Action::ManageSettlement))?;
    if payments.len() > MAX_PAYMENTS_PER_DAY {
        return Err(StoreError::LimitReached {
            rule: format!("at most {MAX_PAYMENTS_PER_DAY} payments are settled in one day"),
        });
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let done: i64 = sqlx::query("SELECT COUNT(*) AS n FROM settlements WHERE day = $1")
            .bind(day.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if done > 0 {
            return Err(StoreError::Conflict {
                what: format!("the settlement of {day} was made already"),
            });
        }
        let mut ids = Vec::new();
        for s in shares {
            let Some(payee) = payee_in(&mut tx, &s.account).await? else {
                continue;
            };
            let row = sqlx::query(
                "INSERT INTO settlements (day, account, sheba, holder, amount_rials, payments, \
                 created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(day.to_string())
            .bind(s.account.code())
            .bind(payee.sheba.as_str().to_string())
            .bind(payee.holder.clone())
            .bind(s.amount.get())
            .bind(s.payments)
            .bind(permit.principal().audit_name())
            .bind(ctx.now_ms)
            .fetch_one(&mut *tx)
            .await?;
            let id: i64 = row.try_get("id")?;
            post_in_tx(
                store,
                &mut tx,
                &[payment::settlement_transfer(id, &s.account, s.amount.get())],
                ctx.now_ms,
            )
            .await?;
            ids.push(id);
        }
        for chunk in payments.chunks(crate::sql::INSERT_BATCH_ROWS) {
            let mut sql = Sql::new("UPDATE payments SET status = 'settled', settled_day = ");
            sql.arg(Arg::Text(day.to_string()));
            sql.push(", updated_at_ms = ").arg(Arg::Int(ctx.now_ms));
            sql.push(" WHERE status = 'verified' AND id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.arg(Arg::Int(*id));
            }
            sql.push(")");
            sql.query().execute(&mut *tx).await?;
        }
        audit_permit(
            &mut tx,
            permit,
            &format!("settlement:{day}"),
            serde_json::json!({"payees": ids.len(), "payments": payments.len()}),
            ctx,
        )
        .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements WHERE day = $1 ORDER BY account"
        )))
        .bind(day.to_string())
        .fetch_all(&mut *tx)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

async fn payee_in(
    conn: &mut sqlx::AnyConnection,
    account: &Account,
) -> Result<Option<PayeeAccount>> {
    let row = sqlx::query(
        "SELECT account, sheba, holder, updated_at_ms FROM payee_accounts WHERE account = $1",
    )
    .bind(account.code())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(PayeeAccount {
            account: account.clone(),
            sheba: field(
                "payee sheba",
                Sheba::parse(&r.try_get::<String, _>("sheba")?),
            )?,
            holder: r.try_get("holder")?,
            updated_at_ms: r.try_get("updated_at_ms")?,
        })
    })
    .transpose()
}

fn mismatch_from_row(r: &AnyRow) -> Result<StoredMismatch> {
    let kind: String = r.try_get("kind")?;
    Ok(StoredMismatch {
        id: r.try_get("id")?,
        mismatch: Mismatch {
            kind: MismatchKind::parse(&kind).ok_or_else(|| corrupt("mismatch kind", &kind))?,
            order_id: r.try_get("order_id")?,
            ours: r.try_get("ours_rials")?,
            theirs: r.try_get("theirs_rials")?,
            suspense: r.try_get("suspense_rials")?,
        },
    })
}

fn reconciliation_from_row(r: &AnyRow) -> Result<Reconciliation> {
    Ok(Reconciliation {
        id: r.try_get("id")?,
        day: field(
            "reconciliation day",
            JalaliDate::parse(&r.try_get::<String, _>("day")?),
        )?,
        processor_rows: r.try_get("processor_rows")?,
        our_rows: r.try_get("our_rows")?,
        matched: r.try_get("matched")?,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
        mismatches: Vec::new(),
    })
}

const RECONCILIATION_COLS: &str =
    "id, day, processor_rows, our_rows, matched, created_by, created_at_ms";

async fn reconciliation(store: &SqlStore, id: i64) -> Result<Reconciliation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RECONCILIATION_COLS} FROM reconciliations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&store.pool)
    .await?
    .ok_or(StoreError::NotFound {
        entity: "reconciliation",
    })?;
    let mut rec = reconciliation_from_row(&row)?;
    let rows = sqlx::query(
        "SELECT id, kind, order_id, ours_rials, theirs_rials, suspense_rials \
         FROM reconciliation_mismatches WHERE reconciliation_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&store.pool)
    .await?;
    rec.mismatches = rows.iter().map(mismatch_from_row).collect::<Result<_>>()?;
    Ok(rec)
}

#[allow(clippy::too_many_arguments)]
async fn record_reconciliation(
    store: &SqlStore,
    permit: &Permit,
    day: JalaliDate,
    processor_rows: i64,
    our_rows: i64,
    mismatches: &[Mismatch],
    ctx: &AuditContext,
) -> Result<Reconciliation> {
    require(permit, |a| matches!(a, Action::ManageSettlement))?;
    if mismatches.len() > MAX_PAYMENTS_PER_DAY {
        return Err(StoreError::LimitReached {
            rule: format!("at most {MAX_PAYMENTS_PER_DAY} mismatches in one reconciliation"),
        });
    }
    let id = {
        let (_turn, mut tx) = store.begin_write().await?;
        let outcome = async {
            let matched = our_rows.min(processor_rows) - mismatches.len() as i64;
            let row = sqlx::query(
                "INSERT INTO reconciliations (day, processor_rows, our_rows, matched, created_by, \
                 created_at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(day.to_string())
            .bind(processor_rows)
            .bind(our_rows)
            .bind(matched.max(0))
            .bind(permit.principal().audit_name())
            .bind(ctx.now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: format!("{day} was reconciled already"),
                },
                other => other,
            })?;
            let id: i64 = row.try_get("id")?;
            for m in mismatches {
                let row = sqlx::query(
                    "INSERT INTO reconciliation_mismatches (reconciliation_id, kind, order_id, \
                     ours_rials, theirs_rials, suspense_rials) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id",
                )
                .bind(id)
                .bind(m.kind.code())
                .bind(m.order_id)
                .bind(m.ours)
                .bind(m.theirs)
                .bind(m.suspense)
                .fetch_one(&mut *tx)
                .await?;
                let mismatch: i64 = row.try_get("id")?;
                if let Some(t) = payment::suspense_transfer(mismatch, m.suspense) {
                    post_in_tx(store, &mut tx, &[t], ctx.now_ms).await?;
                }
            }
            audit_permit(
                &mut tx,
                permit,
                &format!("reconciliation:{day}"),
                serde_json::json!({"mismatches": mismatches.len(), "processor_rows": processor_rows}),
                ctx,
            )
            .await?;
            Ok(id)
        }
        .await;
        crate::bookings::finish(tx, outcome).await?
    };
    reconciliation(store, id).await
}

#[async_trait]
impl Payments for SqlStore {
    async fn create_payment(
        &self,
        permit: &Permit,
        new: &NewPayment,
        ctx: &AuditContext,
    ) -> Result<(Payment, bool)> {
        create(self, permit, new, ctx).await
    }

    async fn payment(&self, id: i64) -> Result<Payment> {
        payment_in(&mut *self.pool.acquire().await?, id).await
    }

    async fn payment_by_token(&self, token: &str) -> Result<Option<Payment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE token = $1"
        )))
        .bind(token.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(payment_from_row).transpose()
    }

    async fn payments(&self, filter: &PaymentFilter) -> Result<Vec<Payment>> {
        let mut sql = Sql::new(&format!("SELECT {PAYMENT_COLS} FROM payments WHERE 1 = 1"));
        if let Some(o) = filter.office {
            sql.push(" AND office_code = ")
                .arg(Arg::Int(i64::from(o.get())));
        }
        if let Some(n) = &filter.national_code {
            sql.push(" AND national_code = ").arg(Arg::Text(n.clone()));
        }
        if let Some(c) = &filter.case_id {
            sql.push(" AND case_id = ").arg(Arg::Text(c.clone()));
        }
        if let Some(d) = filter.day {
            let (from, to) = pishkhan_domain::tehran::day_bounds_ms(d);
            sql.push(" AND created_at_ms >= ").arg(Arg::Int(from));
            sql.push(" AND created_at_ms < ").arg(Arg::Int(to));
        }
        let limit = filter.limit.clamp(1, MAX_PAYMENTS_LISTED) as i64;
        sql.push(" ORDER BY id DESC LIMIT ").arg(Arg::Int(limit));
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn payment_events(&self, id: i64) -> Result<Vec<PaymentEvent>> {
        let rows = sqlx::query(
            "SELECT at_ms, event, status, detail FROM payment_events WHERE payment_id = $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(id)
        .bind(MAX_PAYMENT_EVENTS as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(PaymentEvent {
                    at_ms: r.try_get("at_ms")?,
                    event: r.try_get("event")?,
                    status: PaymentStatus::parse(&status)
                        .ok_or_else(|| corrupt("event status", &status))?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    async fn move_payment(&self, id: i64, change: &PaymentMove) -> Result<Payment> {
        move_payment(self, id, change).await
    }

    async fn note_payment(&self, id: i64, what: &str, detail: &str, at_ms: i64) -> Result<()> {
        note(self, id, what, detail, at_ms).await
    }

    async fn payments_to_chase(&self, before_ms: i64, limit: usize) -> Result<Vec<Payment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE status IN ('created', 'pending', 'paid') \
             AND updated_at_ms < $1 ORDER BY updated_at_ms LIMIT $2"
        )))
        .bind(before_ms)
        .bind(limit.clamp(1, MAX_PAYMENTS_LISTED) as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn create_refund(
        &self,
        permit: &Permit,
        payment: i64,
        amount: Rials,
        reason: &str,
        day: JalaliDate,
        ctx: &AuditContext,
    ) -> Result<Refund> {
        create_refund(self, permit, payment, amount, reason, day, ctx).await
    }

    async fn complete_refund(&self, refund: i64, refund_ref: &str, at_ms: i64) -> Result<Refund> {
        complete_refund(self, refund, refund_ref, at_ms).await
    }

    async fn refunds_of(&self, payment: i64) -> Result<Vec<Refund>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFUND_COLS} FROM refunds WHERE payment_id = $1 ORDER BY id LIMIT 100"
        )))
        .bind(payment)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    async fn refunds_owed(&self, limit: usize) -> Result<Vec<Refund>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFUND_COLS} FROM refunds WHERE status = 'owed' ORDER BY id LIMIT $1"
        )))
        .bind(limit.clamp(1, MAX_PAYMENTS_LISTED) as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    async fn set_payee_account(
        &self,
        permit: &Permit,
        account: &Account,
        sheba: &Sheba,
        holder: &str,
        ctx: &AuditContext,
    ) -> Result<()> {
        require(permit, |a| match (a, account) {
            (Action::SetPayeeAccount { office: Some(o) }, Account::OfficeCommission(mine)) => {
                o == mine
            }
            (
                Action::SetPayeeAccount { office: None },
                Account::AgencyPayable(_) | Account::VatPayable | Account::OfficeCommission(_),
            ) => true,
            _ => false,
        })?;
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = async {
            sqlx::query(
                "INSERT INTO payee_accounts (account, sheba, holder, updated_by, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account) DO UPDATE SET \
                 sheba = excluded.sheba, holder = excluded.holder, \
                 updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(account.code())
            .bind(sheba.as_str().to_string())
            .bind(holder.to_string())
            .bind(permit.principal().audit_name())
            .bind(ctx.now_ms)
            .execute(&mut *tx)
            .await?;
            audit_permit(
                &mut tx,
                permit,
                &format!("payee:{}", account.code()),
                serde_json::json!({"sheba": sheba.as_str(), "holder": holder}),
                ctx,
            )
            .await
        }
        .await;
        crate::bookings::finish(tx, outcome).await
    }

    async fn payee_account(&self, account: &Account) -> Result<Option<PayeeAccount>> {
        payee_in(&mut *self.pool.acquire().await?, account).await
    }

    async fn unsettled_on(&self, day: JalaliDate) -> Result<Vec<Payment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE verified_day = $1 AND status = 'verified' \
             ORDER BY id LIMIT $2"
        )))
        .bind(day.to_string())
        .bind(MAX_PAYMENTS_PER_DAY as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(payment_from_row).collect()
    }

    async fn record_settlement(
        &self,
        permit: &Permit,
        day: JalaliDate,
        shares: &[NewSettlement],
        payments: &[i64],
        ctx: &AuditContext,
    ) -> Result<Vec<Settlement>> {
        record_settlement(self, permit, day, shares, payments, ctx).await
    }

    async fn settlements(
        &self,
        day: Option<JalaliDate>,
        account: Option<&Account>,
        limit: usize,
    ) -> Result<Vec<Settlement>> {
        let mut sql = Sql::new(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements WHERE 1 = 1"
        ));
        if let Some(d) = day {
            sql.push(" AND day = ").arg(Arg::Text(d.to_string()));
        }
        if let Some(a) = account {
            sql.push(" AND account = ").arg(Arg::Text(a.code()));
        }
        sql.push(" ORDER BY day DESC, account LIMIT ")
            .arg(Arg::Int(limit.clamp(1, 10_000) as i64));
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(settlement_from_row).collect()
    }

    async fn verified_orders_on(
        &self,
        day: JalaliDate,
    ) -> Result<(Vec<OrderView>, Vec<OrderView>)> {
        let rows = sqlx::query(
            "SELECT id, amount_rials FROM payments WHERE verified_day = $1 ORDER BY id LIMIT $2",
        )
        .bind(day.to_string())
        .bind(MAX_PAYMENTS_PER_DAY as i64)
        .fetch_all(&self.pool)
        .await?;
        let payments = rows
            .iter()
            .map(|r| {
                Ok(OrderView {
                    order_id: r.try_get("id")?,
                    amount: r.try_get("amount_rials")?,
                })
            })
            .collect::<Result<_>>()?;
        let rows = sqlx::query(
            "SELECT payment_id, CAST(SUM(amount_rials) AS BIGINT) AS amount FROM refunds \
             WHERE created_day = $1 AND status = 'paid' GROUP BY payment_id ORDER BY payment_id",
        )
        .bind(day.to_string())
        .fetch_all(&self.pool)
        .await?;
        let refunds = rows
            .iter()
            .map(|r| {
                Ok(OrderView {
                    order_id: r.try_get("payment_id")?,
                    amount: r.try_get("amount")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((payments, refunds))
    }

    async fn record_reconciliation(
        &self,
        permit: &Permit,
        day: JalaliDate,
        processor_rows: i64,
        our_rows: i64,
        mismatches: &[Mismatch],
        ctx: &AuditContext,
    ) -> Result<Reconciliation> {
        record_reconciliation(self, permit, day, processor_rows, our_rows, mismatches, ctx).await
    }

    async fn reconciliation(&self, id: i64) -> Result<Reconciliation> {
        reconciliation(self, id).await
    }

    async fn reconciliations(&self, limit: usize) -> Result<Vec<Reconciliation>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECONCILIATION_COLS} FROM reconciliations ORDER BY day DESC LIMIT $1"
        )))
        .bind(limit.clamp(1, 366) as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(reconciliation_from_row).collect()
    }

    async fn findings(&self, office: Option<OfficeCode>, limit: usize) -> Result<Vec<Finding>> {
        let mut sql = Sql::new(
            "SELECT id, office_code, kind, evidence, payment_id, created_at_ms \
             FROM compliance_findings WHERE 1 = 1",
        );
        if let Some(o) = office {
            sql.push(" AND office_code = ")
                .arg(Arg::Int(i64::from(o.get())));
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .arg(Arg::Int(limit.clamp(1, MAX_PAYMENTS_LISTED) as i64));
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Finding {
                    id: r.try_get("id")?,
                    office: field(
                        "finding office",
                        OfficeCode::from_u32(r.try_get::<i64, _>("office_code")? as u32),
                    )?,
                    kind: r.try_get("kind")?,
                    evidence: r.try_get("evidence")?,
                    payment: r.try_get("payment_id")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }
}
