//! Sign-in's SQL, shared by both engines: staff credentials and sessions, sign-in events, and
//! citizens' one-time codes (sent through the outbox) and sessions.
//!
//! **Invariant:** only hashes of codes and tokens are stored (the SMS text in the outbox is
//! the one plaintext copy, because the gateway must send it). A code is single-use, expires,
//! and allows a bounded number of wrong guesses; requests for codes are rate-limited per
//! national code in the database, so every app process sees the same limit.

use async_trait::async_trait;
use pishkhan_domain::access::{Action, Permit, StaffActor};
use pishkhan_domain::model::{OfficeCode, OfficeStatus, Role, Username};
use pishkhan_domain::{Mobile, NationalCode};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::outbox::{NewMessage, enqueue};
use crate::sql::{AnyTx, SqlStore, audit_permit, corrupt, field, require, write_audit};
use crate::{
    AuditContext, AuditEvent, CitizenSession, Credentials, MAX_OTP_ATTEMPTS, NewSession,
    OtpRequest, Result, SessionInvalidation, SessionRecord, StaffStatus, StateRule, StoreError,
};

/// Invalidations kept for processes to catch up on. At a poll every 250 ms a process falls
/// this far behind only past 40,000 invalidations a second, far beyond what the one epoch
/// row lets commit; one that does anyway drops its whole cache.
const KEPT_INVALIDATIONS: i64 = 10_000;

/// Records that the committing transaction invalidated `what` among the sessions processes
/// may have cached: bumps the session epoch and logs `what` under the new epoch.
///
/// Call it last before the commit: the epoch row's lock is held until then, which is what
/// makes epochs commit in order (a reader that sees epoch n has every change up to n), and
/// what serializes these transactions.
pub(crate) async fn invalidate_sessions(
    tx: &mut AnyTx<'_>,
    what: &SessionInvalidation,
    now_ms: i64,
) -> Result<()> {
    let row =
        sqlx::query("UPDATE session_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch")
            .fetch_one(&mut **tx)
            .await?;
    let epoch: i64 = row.try_get("epoch")?;
    let (kind, subject) = match what {
        SessionInvalidation::Token(hash) => ("token", hash.clone()),
        SessionInvalidation::Staff(id) => ("staff", id.to_string()),
        SessionInvalidation::Office(code) => ("office", code.get().to_string()),
    };
    sqlx::query(
        "INSERT INTO session_invalidations (epoch, at_ms, kind, subject) VALUES ($1, $2, $3, $4)",
    )
    .bind(epoch)
    .bind(now_ms)
    .bind(kind)
    .bind(subject)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM session_invalidations WHERE epoch <= $1")
        .bind(epoch - KEPT_INVALIDATIONS)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn invalidation_from_row(r: &AnyRow) -> Result<SessionInvalidation> {
    let kind: String = r.try_get("kind")?;
    let subject: String = r.try_get("subject")?;
    let number = |what: &str| -> Result<i64> { subject.parse().map_err(|e| corrupt(what, e)) };
    match kind.as_str() {
        "token" => Ok(SessionInvalidation::Token(subject)),
        "staff" => Ok(SessionInvalidation::Staff(number("invalidated staff id")?)),
        "office" => Ok(SessionInvalidation::Office(field(
            "invalidated office",
            OfficeCode::from_u32(number("invalidated office")? as u32),
        )?)),
        other => Err(corrupt("invalidation kind", other)),
    }
}

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
) -> Result<Option<CitizenSession>> {
    let row = sqlx::query(
        "SELECT national_code, mobile, expires_at_ms FROM citizen_sessions WHERE token_hash = $1 AND expires_at_ms > $2",
    )
    .bind(token_hash.to_string())
    .bind(now_ms)
    .fetch_optional(&store.pool)
    .await?;
    row.map(|r| {
        let nc: String = r.try_get("national_code")?;
        let m: String = r.try_get("mobile")?;
        Ok(CitizenSession {
            national_code: NationalCode::parse(&nc)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            mobile: Mobile::parse(&m).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            expires_at_ms: r.try_get("expires_at_ms")?,
        })
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
        invalidate_sessions(
            &mut tx,
            &SessionInvalidation::Token(token_hash.to_string()),
            ctx.now_ms,
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
    ) -> Result<Option<CitizenSession>> {
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
            invalidate_sessions(
                &mut tx,
                &SessionInvalidation::Token(token_hash.to_string()),
                ctx.now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn change_password(
        &self,
        permit: &Permit,
        staff_id: i64,
        current_hash: &str,
        new_hash: &str,
        ctx: &AuditContext,
    ) -> Result<()> {
        require(
            permit,
            |a| matches!(a, Action::ChangeOwnPassword { staff } if *staff == staff_id),
        )?;
        let (_turn, mut tx) = self.begin_write().await?;
        // Conditional on the hash the caller verified against: of two concurrent changes
        // that both knew the old password, only one wins.
        let changed = sqlx::query(
            "UPDATE staff SET password_hash = $1 WHERE id = $2 AND status = 'active' AND password_hash = $3",
        )
        .bind(new_hash.to_string())
        .bind(staff_id)
        .bind(current_hash.to_string())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            let _ = tx.rollback().await;
            return Err(StoreError::wrong_state(
                StateRule::PasswordChanged,
                "the password is no longer the one given",
            ));
        }
        let ended = sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
            .bind(staff_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        audit_permit(
            &mut tx,
            permit,
            &format!("staff:{}", permit.principal().audit_name()),
            serde_json::json!({ "sessions_ended": ended }),
            ctx,
        )
        .await?;
        invalidate_sessions(&mut tx, &SessionInvalidation::Staff(staff_id), ctx.now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_epoch(&self) -> Result<i64> {
        let row = sqlx::query("SELECT epoch FROM session_epoch WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("epoch")?)
    }

    async fn session_invalidations(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<Vec<SessionInvalidation>> {
        let rows = sqlx::query(
            "SELECT kind, subject FROM session_invalidations WHERE epoch > $1 AND epoch <= $2 ORDER BY epoch",
        )
        .bind(after)
        .bind(upto)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invalidation_from_row).collect()
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
