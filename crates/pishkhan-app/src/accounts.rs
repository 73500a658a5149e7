//! Staff accounts: sign-in and sign-out, resolving a session token to its member of staff,
//! inviting staff and accepting an invitation, changing one's password and disabling an
//! account.

use pishkhan_domain::access::Action;
use pishkhan_domain::model::{Staff as StaffModel, Username};
use pishkhan_store::{
    AuditContext, AuditEvent, NewInvitation, NewSession, SessionInvalidation, StaffRecord,
    StaffStatus, StateRule, StoreError, token_hash,
};

use crate::App;
use crate::AppError;
use crate::login_limiter;
use crate::secrets as auth;
use crate::{Session, StaffSession};

pub struct LoggedIn {
    pub token: String,
    pub csrf_token: String,
    pub expires_at_ms: i64,
    pub record: StaffRecord,
}

/// Checks a username and password and opens a session. Failures are audited and slow down
/// further attempts from the same client address, for that username and for any
/// ([`crate::login_limiter`]): `TooManyRequests` while such a wait lasts.
pub async fn login(
    state: &App,
    username: &str,
    password: &str,
    ctx: &AuditContext,
) -> Result<LoggedIn, AppError> {
    let address = crate::client_address::limit_key(ctx.ip.as_deref());
    let name = Username::parse(username).ok();
    login_limiter::check(state, name.as_ref(), &address).await?;
    let name = match name {
        Some(name) if password.chars().count() <= auth::MAX_PASSWORD_CHARS => name,
        other => {
            login_limiter::failed(state, other.as_ref(), &address).await?;
            return Err(AppError::BadCredentials);
        }
    };
    let creds = state.store().credentials(&name).await?;
    let (hash, creds) = match &creds {
        Some(c) if c.status == StaffStatus::Active => {
            (c.password_hash.clone().unwrap_or_default(), Some(c))
        }
        _ => (auth::decoy_hash().to_string(), None),
    };
    let pw = password.to_string();
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&hash, &pw))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let Some(creds) = creds.filter(|_| ok) else {
        login_limiter::failed(state, Some(&name), &address).await?;
        state
            .store()
            .record_event(
                &AuditEvent {
                    actor: name.to_string(),
                    actor_staff_id: None,
                    action: "auth.login_failed",
                    target: format!("staff:{name}"),
                    detail: serde_json::json!({}),
                },
                ctx,
            )
            .await?;
        return Err(AppError::BadCredentials);
    };
    login_limiter::succeeded(state, &name, &address).await?;

    let token = auth::new_token()?;
    let csrf_token = auth::new_token()?;
    let expires_at_ms = ctx.now_ms + (state.config().session_ttl_s as i64) * 1000;
    state
        .store()
        .create_session(
            &NewSession {
                token_hash: token_hash(&token),
                staff_id: creds.staff_id,
                csrf_token: csrf_token.clone(),
                created_at_ms: ctx.now_ms,
                expires_at_ms,
                ip: ctx.ip.clone(),
            },
            &AuditEvent {
                actor: name.to_string(),
                actor_staff_id: Some(creds.staff_id),
                action: "auth.login",
                target: format!("staff:{name}"),
                detail: serde_json::json!({}),
            },
            ctx,
        )
        .await?;
    let record = state.store().staff_by_username(&name).await?;
    Ok(LoggedIn {
        token,
        csrf_token,
        expires_at_ms,
        record,
    })
}

pub async fn logout(state: &App, staff: &StaffSession, ctx: &AuditContext) -> Result<(), AppError> {
    state
        .store()
        .delete_session(
            &staff.token_hash,
            &AuditEvent {
                actor: staff.actor.username.to_string(),
                actor_staff_id: Some(staff.actor.id),
                action: "auth.logout",
                target: format!("staff:{}", staff.actor.username),
                detail: serde_json::json!({}),
            },
            ctx,
        )
        .await?;
    state
        .sessions()
        .forget(&SessionInvalidation::Token(staff.token_hash.clone()));
    Ok(())
}

/// Ends the session `token` opens, whichever kind `caller` (resolved from that token) is: a
/// member of staff's or a citizen's. Audited, and dropped from the session cache here at
/// once and, through the session epoch, in every other process.
pub async fn sign_out(
    state: &App,
    caller: &crate::Caller,
    token: &str,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    match caller {
        crate::Caller::Staff(staff) => logout(state, staff, ctx).await,
        crate::Caller::Citizen(_) => crate::citizens::sign_out(state, token, ctx).await,
    }
}

/// Changes the caller's own password, given the current one, and ends every session of
/// theirs (this one included): whoever held one must sign in with the new password. Wrong
/// current passwords count as failed sign-ins for the caller's address and username.
pub async fn change_password(
    state: &App,
    staff: &StaffSession,
    current: &str,
    new: &str,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let permit = staff.permit(Action::ChangeOwnPassword {
        staff: staff.actor.id,
    })?;
    auth::check_new_password(new).map_err(|e| match e {
        AppError::Invalid { code, message, .. } => AppError::Invalid {
            code,
            field: Some("new_password"),
            message,
        },
        other => other,
    })?;
    let address = crate::client_address::limit_key(ctx.ip.as_deref());
    login_limiter::check(state, Some(&staff.actor.username), &address).await?;
    let wrong = || {
        AppError::invalid(
            "wrong_password",
            "current_password",
            "the current password is wrong",
        )
    };
    if current.chars().count() > auth::MAX_PASSWORD_CHARS {
        return Err(wrong());
    }
    if current == new {
        return Err(AppError::invalid(
            "same_password",
            "new_password",
            "the new password must differ from the current one",
        ));
    }
    let creds = state
        .store()
        .credentials(&staff.actor.username)
        .await?
        .filter(|c| c.status == StaffStatus::Active && c.staff_id == staff.actor.id)
        .ok_or(AppError::Unauthenticated)?;
    let current_hash = creds.password_hash.unwrap_or_default();
    let (pw, new_pw, phc) = (current.to_string(), new.to_string(), current_hash.clone());
    // Two argon2 runs: tens of milliseconds of CPU, off the async workers.
    let new_hash = tokio::task::spawn_blocking(move || {
        if auth::verify_password(&phc, &pw) {
            auth::hash_password(&new_pw).map(Some)
        } else {
            Ok(None)
        }
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::Internal)?;
    let Some(new_hash) = new_hash else {
        login_limiter::failed(state, Some(&staff.actor.username), &address).await?;
        return Err(wrong());
    };
    login_limiter::succeeded(state, &staff.actor.username, &address).await?;
    match state
        .store()
        .change_password(&permit, staff.actor.id, &current_hash, &new_hash, ctx)
        .await
    {
        Ok(()) => {}
        // Changed by a concurrent request since it was read: the one given is not current.
        Err(StoreError::WrongState(w)) if w.rule == StateRule::PasswordChanged => {
            return Err(wrong());
        }
        Err(e) => return Err(e.into()),
    }
    state
        .sessions()
        .forget(&SessionInvalidation::Staff(staff.actor.id));
    Ok(())
}

/// Disables the account of `username` (a manager for their own office's staff, the regulator
/// for anyone): they can no longer sign in, and their sessions end at once. Disabling a
/// disabled account changes nothing.
pub async fn deactivate_staff(
    state: &App,
    by: &StaffSession,
    username: &Username,
    ctx: &AuditContext,
) -> Result<StaffRecord, AppError> {
    let found = state.store().staff_by_username(username).await?;
    let permit = by.permit(Action::DeactivateStaff {
        staff: found.id,
        office: found.staff.office,
        role: found.staff.role,
    })?;
    let record = state
        .store()
        .deactivate_staff(&permit, found.id, ctx)
        .await?;
    state
        .sessions()
        .forget(&SessionInvalidation::Staff(found.id));
    Ok(record)
}

pub struct Invited {
    pub record: StaffRecord,
    pub invitation_url: String,
    pub expires_at_ms: i64,
}

/// Creates a member of staff in the `invited` state with a one-time invitation link.
pub async fn invite_staff(
    state: &App,
    by: &StaffSession,
    new: StaffModel,
    ctx: &AuditContext,
) -> Result<Invited, AppError> {
    let permit = by.permit(Action::CreateStaff {
        office: new.office,
        role: new.role,
    })?;
    new.validate()?;
    let token = auth::new_token()?;
    let expires_at_ms = ctx.now_ms + (state.config().invitation_ttl_s as i64) * 1000;
    let record = state
        .store()
        .create_staff(
            &permit,
            &new,
            &NewInvitation {
                token_hash: token_hash(&token),
                expires_at_ms,
            },
            ctx,
        )
        .await?;
    Ok(Invited {
        record,
        invitation_url: format!(
            "{}/invite/{token}",
            state.config().public_url.trim_end_matches('/')
        ),
        expires_at_ms,
    })
}

/// The invitation a link's token opens: who it is for. `Gone` once used or expired,
/// `NotFound` for a token no invitation has.
pub async fn invitation(
    state: &App,
    token: &str,
) -> Result<pishkhan_store::InvitationInfo, AppError> {
    if !crate::secrets::plausible_token(token) {
        return Err(AppError::NotFound("invitation"));
    }
    Ok(state
        .store()
        .invitation(&token_hash(token), state.now_ms())
        .await?)
}

/// Sets the password of an invited member and activates the account.
pub async fn accept_invitation(
    state: &App,
    token: &str,
    password: &str,
    ctx: &AuditContext,
) -> Result<Username, AppError> {
    auth::check_new_password(password)?;
    let hash_input = token_hash(token);
    // Fail fast on a dead link before spending argon2 time.
    state.store().invitation(&hash_input, ctx.now_ms).await?;
    let pw = password.to_string();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)?;
    Ok(state
        .store()
        .accept_invitation(&hash_input, &phc, ctx)
        .await?)
}

/// The member of staff whose session `token` is, with the CSRF token their browser forms
/// must echo; `None` when no live session has it. A session resolved recently comes from the
/// session cache, without a database read.
pub async fn staff_session(
    state: &App,
    token: &str,
) -> Result<Option<(StaffSession, String)>, AppError> {
    if !crate::secrets::plausible_token(token) {
        return Ok(None);
    }
    let hash = token_hash(token);
    let now_ms = state.now_ms();
    let ticket = match state.sessions().staff(&hash, now_ms) {
        Ok(cached) => {
            return Ok(Some((
                StaffSession {
                    actor: cached.actor,
                    token_hash: hash,
                },
                cached.csrf_token,
            )));
        }
        Err(ticket) => ticket,
    };
    let Some(session) = state.store().session(&hash, now_ms).await? else {
        return Ok(None);
    };
    state.sessions().put_staff(ticket, &hash, &session, now_ms);
    Ok(Some((
        StaffSession {
            actor: session.actor,
            token_hash: hash,
        },
        session.csrf_token,
    )))
}

/// The session `token` opens: a member of staff's, or (when `citizens` may call) a citizen's;
/// `None` when no live session has it. Both kinds are asked of the session cache before the
/// database, so a cached session of either kind costs no database read.
pub async fn any_session(
    state: &App,
    token: &str,
    citizens: bool,
) -> Result<Option<Session>, AppError> {
    if !crate::secrets::plausible_token(token) {
        return Ok(None);
    }
    let hash = token_hash(token);
    let now_ms = state.now_ms();
    let ticket = match state.sessions().any(&hash, now_ms) {
        Ok(Session::Citizen(_)) if !citizens => return Ok(None),
        Ok(found) => return Ok(Some(found)),
        Err(ticket) => ticket,
    };
    if let Some(session) = state.store().session(&hash, now_ms).await? {
        state.sessions().put_staff(ticket, &hash, &session, now_ms);
        return Ok(Some(Session::Staff {
            session: StaffSession {
                actor: session.actor,
                token_hash: hash,
            },
            csrf_token: session.csrf_token,
        }));
    }
    if !citizens {
        return Ok(None);
    }
    Ok(
        crate::citizens::stored_citizen(state, &hash, ticket, now_ms)
            .await?
            .map(Session::Citizen),
    )
}
