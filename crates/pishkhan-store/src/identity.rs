//! Identity verifications at the counter: the record of each decision with its signed
//! receipt, the second-factor code, the lockout count and the per-operator failure figures.

use async_trait::async_trait;
use pishkhan_domain::NationalCode;
use pishkhan_domain::access::{Action, Permit};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{SqlStore, audit_permit, require};
use crate::{
    AuditContext, MAX_IDENTITY_OTP_ATTEMPTS, MAX_VERIFICATION_BATCH, Notice, OperatorFailures,
    Result, StoreError, VerificationRecord, VerificationWrite,
};

const COLS: &str = "id, national_code, office_code, operator, decision, profile_version, receipt, \
    result_json, owned_mobile, second_factor_at_ms, at_ms";

fn from_row(r: &AnyRow) -> Result<VerificationRecord> {
    let office: i64 = r.try_get("office_code")?;
    let result: String = r.try_get("result_json")?;
    Ok(VerificationRecord {
        id: r.try_get("id")?,
        national_code: r.try_get("national_code")?,
        office: office as u32,
        operator: r.try_get("operator")?,
        decision: r.try_get("decision")?,
        profile_version: r.try_get("profile_version")?,
        receipt: r.try_get("receipt")?,
        result: serde_json::from_str(&result)
            .map_err(|e| crate::sql::corrupt("verification result", e))?,
        owned_mobile: r.try_get("owned_mobile")?,
        second_factor_at_ms: r.try_get("second_factor_at_ms")?,
        at_ms: r.try_get("at_ms")?,
    })
}

fn may_verify(permit: &Permit, office: pishkhan_domain::model::OfficeCode) -> Result<()> {
    require(
        permit,
        |a| matches!(a, Action::RunInquiry { office: o } if *o == office),
    )
}

pub(crate) async fn record(store: &SqlStore, batch: &[VerificationWrite]) -> Result<()> {
    if batch.len() > MAX_VERIFICATION_BATCH {
        return Err(StoreError::LimitReached {
            rule: format!("at most {MAX_VERIFICATION_BATCH} verifications per batch"),
        });
    }
    for w in batch {
        may_verify(&w.permit, w.verification.office)?;
    }
    if batch.is_empty() {
        return Ok(());
    }
    let (_turn, mut tx) = store.begin_write().await?;
    for w in batch {
        write_one(&mut tx, w).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn write_one(tx: &mut crate::sql::AnyTx<'static>, w: &VerificationWrite) -> Result<()> {
    let (permit, v, ctx) = (&w.permit, &w.verification, &w.ctx);
    sqlx::query(
        "INSERT INTO identity_verifications (id, national_code, office_code, operator, decision, \
         profile_version, receipt, result_json, owned_mobile, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(v.id.clone())
    .bind(v.national_code.as_str().to_string())
    .bind(i64::from(v.office.get()))
    .bind(v.operator.clone())
    .bind(v.decision.clone())
    .bind(v.profile_version.clone())
    .bind(v.receipt.clone())
    .bind(v.result.to_string())
    .bind(v.owned_mobile.clone())
    .bind(v.at_ms)
    .execute(&mut **tx)
    .await?;
    for n in &w.notices {
        crate::outbox::enqueue(
            tx,
            &crate::outbox::NewMessage {
                kind: n.kind,
                recipient: n.recipient.clone(),
                dedupe_key: n.dedupe_key.clone(),
                payload: n.payload.clone(),
            },
            ctx.now_ms,
        )
        .await?;
    }
    audit_permit(
        tx,
        permit,
        &format!("verification:{}", v.id),
        serde_json::json!({ "decision": v.decision, "profile": v.profile_version }),
        ctx,
    )
    .await
}

pub(crate) async fn rejected_since(
    store: &SqlStore,
    national_code: &NationalCode,
    since_ms: i64,
) -> Result<u32> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM identity_verifications \
         WHERE national_code = $1 AND decision = 'rejected' AND at_ms >= $2",
    )
    .bind(national_code.as_str().to_string())
    .bind(since_ms)
    .fetch_one(&store.pool)
    .await?
    .try_get("n")?;
    Ok(n as u32)
}

pub(crate) async fn get(store: &SqlStore, id: &str) -> Result<VerificationRecord> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM identity_verifications WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&store.pool)
    .await?
    .ok_or(StoreError::NotFound {
        entity: "verification",
    })?;
    from_row(&row)
}

pub(crate) async fn set_otp(
    store: &SqlStore,
    permit: &Permit,
    id: &str,
    otp_hash: &str,
    expires_ms: i64,
    sms: &Notice,
    ctx: &AuditContext,
) -> Result<()> {
    let current = get(store, id).await?;
    may_verify(
        permit,
        pishkhan_domain::model::OfficeCode::from_u32(current.office)
            .map_err(|e| crate::sql::corrupt("verification office", e))?,
    )?;
    if current.owned_mobile.is_none() {
        return Err(StoreError::wrong_state(
            crate::StateRule::NoSecondFactorMobile,
            "no mobile of this person is known for a second factor",
        ));
    }
    let (_turn, mut tx) = store.begin_write().await?;
    sqlx::query(
        "UPDATE identity_verifications SET otp_hash = $1, otp_expires_ms = $2, otp_attempts = 0 \
         WHERE id = $3",
    )
    .bind(otp_hash.to_string())
    .bind(expires_ms)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    crate::outbox::enqueue(
        &mut tx,
        &crate::outbox::NewMessage {
            kind: sms.kind,
            recipient: sms.recipient.clone(),
            dedupe_key: sms.dedupe_key.clone(),
            payload: sms.payload.clone(),
        },
        ctx.now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Checks a second-factor code; on success records the upgrade and the new receipt. Returns
/// whether the code was right.
pub(crate) async fn confirm_otp(
    store: &SqlStore,
    permit: &Permit,
    id: &str,
    otp_hash: &str,
    upgraded_receipt: &str,
    upgraded_result: &serde_json::Value,
    ctx: &AuditContext,
) -> Result<bool> {
    let current = get(store, id).await?;
    may_verify(
        permit,
        pishkhan_domain::model::OfficeCode::from_u32(current.office)
            .map_err(|e| crate::sql::corrupt("verification office", e))?,
    )?;
    let (_turn, mut tx) = store.begin_write().await?;
    let row = sqlx::query(
        "SELECT otp_hash, otp_expires_ms, otp_attempts FROM identity_verifications WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&mut *tx)
    .await?;
    let stored: Option<String> = row.try_get("otp_hash")?;
    let expires: Option<i64> = row.try_get("otp_expires_ms")?;
    let attempts: i64 = row.try_get("otp_attempts")?;
    let Some(stored) = stored else {
        let _ = tx.rollback().await;
        return Err(StoreError::wrong_state(
            crate::StateRule::NoCodeSent,
            "no code was sent for this verification",
        ));
    };
    if expires.is_none_or(|e| e < ctx.now_ms) || attempts >= i64::from(MAX_IDENTITY_OTP_ATTEMPTS) {
        let _ = tx.rollback().await;
        return Err(StoreError::Expired("code"));
    }
    if stored != otp_hash {
        sqlx::query(
            "UPDATE identity_verifications SET otp_attempts = otp_attempts + 1 WHERE id = $1",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(false);
    }
    sqlx::query(
        "UPDATE identity_verifications SET otp_hash = NULL, second_factor_at_ms = $1, \
         receipt = $2, result_json = $3 WHERE id = $4",
    )
    .bind(ctx.now_ms)
    .bind(upgraded_receipt.to_string())
    .bind(upgraded_result.to_string())
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    audit_permit(
        &mut tx,
        permit,
        &format!("verification:{id}"),
        serde_json::json!({ "second_factor": true }),
        ctx,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn operator_failures(
    store: &SqlStore,
    since_ms: i64,
    min_attempts: u32,
) -> Result<Vec<OperatorFailures>> {
    let rows = sqlx::query(
        "SELECT operator, MIN(office_code) AS office_code, COUNT(*) AS attempts, \
         SUM(CASE WHEN decision = 'rejected' THEN 1 ELSE 0 END) AS rejected \
         FROM identity_verifications WHERE at_ms >= $1 \
         GROUP BY operator HAVING COUNT(*) >= $2 \
         ORDER BY SUM(CASE WHEN decision = 'rejected' THEN 1 ELSE 0 END) * 1.0 / COUNT(*) DESC, operator \
         LIMIT 100",
    )
    .bind(since_ms)
    .bind(i64::from(min_attempts))
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let office: i64 = r.try_get("office_code")?;
            let attempts: i64 = r.try_get("attempts")?;
            let rejected: i64 = r.try_get("rejected")?;
            Ok(OperatorFailures {
                operator: r.try_get("operator")?,
                office: office as u32,
                attempts: attempts as u64,
                rejected: rejected as u64,
            })
        })
        .collect()
}

#[async_trait]
impl crate::Identity for SqlStore {
    async fn record_verifications(&self, batch: &[crate::VerificationWrite]) -> Result<()> {
        crate::identity::record(self, batch).await
    }

    async fn identity_rejections_since(
        &self,
        national_code: &NationalCode,
        since_ms: i64,
    ) -> Result<u32> {
        crate::identity::rejected_since(self, national_code, since_ms).await
    }

    async fn verification(&self, id: &str) -> Result<crate::VerificationRecord> {
        crate::identity::get(self, id).await
    }

    async fn set_verification_otp(
        &self,
        permit: &Permit,
        id: &str,
        otp_hash: &str,
        expires_ms: i64,
        sms: &crate::Notice,
        ctx: &AuditContext,
    ) -> Result<()> {
        crate::identity::set_otp(self, permit, id, otp_hash, expires_ms, sms, ctx).await
    }

    async fn confirm_verification_otp(
        &self,
        permit: &Permit,
        id: &str,
        otp_hash: &str,
        upgraded_receipt: &str,
        upgraded_result: &serde_json::Value,
        ctx: &AuditContext,
    ) -> Result<bool> {
        crate::identity::confirm_otp(
            self,
            permit,
            id,
            otp_hash,
            upgraded_receipt,
            upgraded_result,
            ctx,
        )
        .await
    }

    async fn operator_identity_failures(
        &self,
        since_ms: i64,
        min_attempts: u32,
    ) -> Result<Vec<crate::OperatorFailures>> {
        crate::identity::operator_failures(self, since_ms, min_attempts).await
    }
}
