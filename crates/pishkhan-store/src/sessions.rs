//! Sign-in's SQL, shared by both engines: staff credentials and sessions, sign-in events, and
//! citizens' one-time codes (sent through the outbox) and sessions.
//!
//! **Invariant:** only hashes of codes and tokens are stored (the SMS text in the outbox is
//! the one plaintext copy, because the gateway must send it). A code is single-use, expires,
//! and allows a bounded number of wrong guesses; requests for codes are rate-limited per
//! national code in the database, so every app process sees the same limit.

use async_trait::async_trait;
use pishkhan_domain::access::StaffActor;
use pishkhan_domain::model::{OfficeCode, OfficeStatus, Role, Username};
use pishkhan_domain::{Mobile, NationalCode};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::outbox::{NewMessage, enqueue};
use crate::sql::{SqlStore, corrupt, field, write_audit};
use crate::{
    AuditContext, AuditEvent, Credentials, MAX_OTP_ATTEMPTS, NewSession, OtpRequest, Result,
    SessionRecord, StaffStatus, StoreError,
};

pub(crate) async fn request_otp(
    store: &SqlStore,
    r: &OtpRequest,
    ctx: &AuditContext,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let now = ctx.now_ms;
    let existing = sqlx::query(
        "SELECT created_at_ms, sent_in_window, window_start_ms FROM citizen_otps WHERE national_code = $1",
    )
    .bind(r.national_code.as_str().to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let (sent, window_start) = match existing {
        Some(row) => {
            let created: i64 = row.try_get("created_at_ms")?;
            let sent: i64 = row.try_get("sent_in_window")?;
            let start: i64 = row.try_get("window_start_ms")?;
            if now - created < r.min_interval_ms {
                let _ = tx.rollback().await;
                return Err(StoreError::LimitReached {
                    rule: format!(
                        "wait {} s before asking for another code",
                        (r.min_interval_ms - (now - created)) / 1000 + 1
                    ),
                });
            }
            if now - start < r.window_ms {
                if sent >= i64::from(r.max_per_window) {
                    let _ = tx.rollback().await;
                    return Err(StoreError::LimitReached {
                        rule: format!("at most {} codes per hour", r.max_per_window),
                    });
                }
                (sent + 1, start)
            } else {
                (1, now)
            }
        }
        None => (1, now),
    };
    sqlx::query(
        "INSERT INTO citizen_otps (national_code, mobile, code_hash, attempts, created_at_ms, expires_at_ms, used_at_ms, sent_in_window, window_start_ms) \
         VALUES ($1, $2, $3, 0, $4, $5, NULL, $6, $7) ON CONFLICT (national_code) DO UPDATE SET \
         mobile = excluded.mobile, code_hash = excluded.code_hash, attempts = 0, created_at_ms = excluded.created_at_ms, \
         expires_at_ms = excluded.expires_at_ms, used_at_ms = NULL, sent_in_window = excluded.sent_in_window, \
         window_start_ms = excluded.window_start_ms",
    )
    .bind(r.national_code.as_str().to_string())
    .bind(r.mobile.as_str().to_string())
    .bind(r.code_hash.clone())
    .bind(now)
    .bind(now + r.ttl_ms)
    .bind(sent)
    .bind(window_start)
    .execute(&mut *tx)
    .await?;
    enqueue(
        &mut tx,
        &NewMessage {
            kind: crate::OutboxKind::AuthOtp,
            recipient: r.mobile.as_str().to_string(),
            dedupe_key: format!(
                "{}:{}:{now}",
                crate::OutboxKind::AuthOtp,
                r.national_code.as_str()
            ),
            payload: serde_json::json!({ "code": r.code, "expires_at_ms": now + r.ttl_ms }),
        },
        now,
    )
    .await?;
    write_audit(
        &mut tx,
        &format!("citizen:{}", r.national_code.as_str()),
        None,
        "citizen.code_sent",
        &format!("citizen:{}", r.national_code.as_str()),
        &serde_json::json!({ "mobile": r.mobile.as_str() }),
        ctx,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Checks a code. `Ok(true)`: the code was right, is now used, and the session exists.
/// `Ok(false)`: a wrong guess, counted. `Expired`: no live code (unknown, used, expired, or
/// too many wrong guesses).
pub(crate) async fn verify_otp(
    store: &SqlStore,
    national_code: &NationalCode,
    mobile: &Mobile,
    code_hash: &str,
    session_token_hash: &str,
    session_ttl_ms: i64,
    ctx: &AuditContext,
) -> Result<bool> {
    let (_turn, mut tx) = store.begin_write().await?;
    let now = ctx.now_ms;
    let row = sqlx::query(
        "SELECT mobile, code_hash, attempts, expires_at_ms, used_at_ms FROM citizen_otps WHERE national_code = $1",
    )
    .bind(national_code.as_str().to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let _ = tx.rollback().await;
        return Err(StoreError::Expired("code"));
    };
    let attempts: i64 = row.try_get("attempts")?;
    let expires: i64 = row.try_get("expires_at_ms")?;
    let used: Option<i64> = row.try_get("used_at_ms")?;
    if used.is_some() || expires <= now || attempts >= MAX_OTP_ATTEMPTS {
        let _ = tx.rollback().await;
        return Err(StoreError::Expired("code"));
    }
    let stored_mobile: String = row.try_get("mobile")?;
    let stored_hash: String = row.try_get("code_hash")?;
    if stored_mobile != mobile.as_str() || stored_hash != code_hash {
        sqlx::query("UPDATE citizen_otps SET attempts = attempts + 1 WHERE national_code = $1")
            .bind(national_code.as_str().to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(false);
    }
    let done = sqlx::query(
        "UPDATE citizen_otps SET used_at_ms = $1 WHERE national_code = $2 AND used_at_ms IS NULL",
    )
    .bind(now)
    .bind(national_code.as_str().to_string())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        let _ = tx.rollback().await;
        return Err(StoreError::Expired("code"));
    }
    sqlx::query(
        "INSERT INTO citizen_sessions (token_hash, national_code, mobile, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session_token_hash.to_string())
    .bind(national_code.as_str().to_string())
    .bind(mobile.as_str().to_string())
    .bind(now)
    .bind(now + session_ttl_ms)
    .execute(&mut *tx)
    .await?;
    write_audit(
        &mut tx,
        &format!("citizen:{}", national_code.as_str()),
        None,
        "citizen.login",
        &format!("citizen:{}", national_code.as_str()),
        &serde_json::json!({}),
        ctx,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn citizen_session(
    store: &SqlStore,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<(NationalCode, Mobile)>> {
    let row = sqlx::query(
        "SELECT national_code, mobile FROM citizen_sessions WHERE token_hash = $1 AND expires_at_ms > $2",
    )
    .bind(token_hash.to_string())
    .bind(now_ms)
    .fetch_optional(&store.pool)
    .await?;
    row.map(|r| {
        let nc: String = r.try_get("national_code")?;
        let m: String = r.try_get("mobile")?;
        Ok((
            NationalCode::parse(&nc).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            Mobile::parse(&m).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ))
    })
    .transpose()
}

fn staff_actor_from_row(r: &AnyRow) -> Result<StaffActor> {
    let role: String = r.try_get("role")?;
    let office: Option<i64> = r.try_get("office_code")?;
    let office_status: Option<String> = r.try_get("office_status")?;
    Ok(StaffActor {
        id: r.try_get("staff_id")?,
        username: field(
            "username",
            Username::parse(&r.try_get::<String, _>("username")?),
        )?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        office: office
            .map(|c| field("office code", OfficeCode::from_u32(c as u32)))
            .transpose()?,
        office_status: office_status
            .map(|s| OfficeStatus::parse(&s).ok_or_else(|| corrupt("office status", &s)))
            .transpose()?,
    })
}

#[async_trait]
impl crate::Sessions for SqlStore {
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>> {
        let row = sqlx::query("SELECT id, status, password_hash FROM staff WHERE username = $1")
            .bind(username.as_str().to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let status: String = r.try_get("status")?;
            Ok(Credentials {
                staff_id: r.try_get("id")?,
                status: StaffStatus::parse(&status)
                    .ok_or_else(|| corrupt("staff status", &status))?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    async fn create_session(
        &self,
        session: &NewSession,
        event: &AuditEvent,
        ctx: &AuditContext,
    ) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, staff_id, csrf_token, created_at_ms, expires_at_ms, ip) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.token_hash.clone())
        .bind(session.staff_id)
        .bind(session.csrf_token.clone())
        .bind(session.created_at_ms)
        .bind(session.expires_at_ms)
        .bind(session.ip.clone())
        .execute(&mut *tx)
        .await?;
        // Expired sessions of this member are swept here rather than by a background job.
        sqlx::query("DELETE FROM sessions WHERE staff_id = $1 AND expires_at_ms <= $2")
            .bind(session.staff_id)
            .bind(session.created_at_ms)
            .execute(&mut *tx)
            .await?;
        write_audit(
            &mut tx,
            &event.actor,
            event.actor_staff_id,
            event.action,
            &event.target,
            &event.detail,
            ctx,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.csrf_token, s.expires_at_ms, st.id AS staff_id, st.username, st.role, \
             st.office_code, o.status AS office_status \
             FROM sessions s JOIN staff st ON st.id = s.staff_id \
             LEFT JOIN offices o ON o.code = st.office_code \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND st.status = 'active'",
        )
        .bind(token_hash.to_string())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                actor: staff_actor_from_row(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at_ms: r.try_get("expires_at_ms")?,
            })
        })
        .transpose()
    }

    async fn delete_session(
        &self,
        token_hash: &str,
        event: &AuditEvent,
        ctx: &AuditContext,
    ) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_string())
            .execute(&mut *tx)
            .await?;
        write_audit(
            &mut tx,
            &event.actor,
            event.actor_staff_id,
            event.action,
            &event.target,
            &event.detail,
            ctx,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn request_otp(&self, request: &crate::OtpRequest, ctx: &AuditContext) -> Result<()> {
        request_otp(self, request, ctx).await
    }

    async fn verify_otp(
        &self,
        national_code: &NationalCode,
        mobile: &Mobile,
        code_hash: &str,
        session_token_hash: &str,
        session_ttl_ms: i64,
        ctx: &AuditContext,
    ) -> Result<bool> {
        verify_otp(
            self,
            national_code,
            mobile,
            code_hash,
            session_token_hash,
            session_ttl_ms,
            ctx,
        )
        .await
    }

    async fn citizen_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(NationalCode, Mobile)>> {
        citizen_session(self, token_hash, now_ms).await
    }

    async fn end_citizen_session(&self, token_hash: &str, ctx: &AuditContext) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let ended = sqlx::query(
            "DELETE FROM citizen_sessions WHERE token_hash = $1 RETURNING national_code",
        )
        .bind(token_hash.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        // An unknown or already ended session changes nothing, so there is nothing to audit.
        if let Some(row) = ended {
            let national_code: String = row.try_get("national_code")?;
            let citizen = format!("citizen:{national_code}");
            write_audit(
                &mut tx,
                &citizen,
                None,
                "citizen.logout",
                &citizen,
                &serde_json::json!({}),
                ctx,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn record_event(&self, event: &AuditEvent, ctx: &AuditContext) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        write_audit(
            &mut tx,
            &event.actor,
            event.actor_staff_id,
            event.action,
            &event.target,
            &event.detail,
            ctx,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
