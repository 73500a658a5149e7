//! Every change that ends a session or alters what it resolves to bumps the session epoch and
//! names what it invalidated, in its own transaction; the app's session caches in every
//! process poll for exactly this.

use super::*;
use pishkhan_store::SessionInvalidation;

fn login_event(who: &str, id: i64) -> AuditEvent {
    AuditEvent {
        actor: who.into(),
        actor_staff_id: Some(id),
        action: "auth.login",
        target: format!("staff:{who}"),
        detail: serde_json::json!({}),
    }
}

async fn open_session(store: &dyn Store, staff_id: i64, who: &str, token: &str) -> String {
    let hash = token_hash(token);
    store
        .create_session(
            &NewSession {
                token_hash: hash.clone(),
                staff_id,
                csrf_token: "csrf".into(),
                created_at_ms: T0,
                expires_at_ms: T0 + 3_600_000,
                ip: None,
            },
            &login_event(who, staff_id),
            &ctx(T0),
        )
        .await
        .unwrap();
    hash
}

/// The invalidations since `before`, checking the epoch moved by exactly their number.
async fn since(store: &dyn Store, before: i64) -> Vec<SessionInvalidation> {
    let head = store.session_epoch().await.unwrap();
    let list = store.session_invalidations(before, head).await.unwrap();
    assert_eq!(list.len() as i64, head - before, "one entry per epoch");
    list
}

fn actor_of(record: &pishkhan_store::StaffRecord, status: Option<OfficeStatus>) -> StaffActor {
    StaffActor {
        id: record.id,
        username: record.staff.username.clone(),
        role: record.staff.role,
        office: record.staff.office,
        office_status: status,
    }
}

#[tokio::test]
async fn session_ending_changes_bump_the_epoch_and_name_what_they_invalidated() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        let manager = store
            .staff_by_username(&Username::parse("manager").unwrap())
            .await
            .unwrap();
        let start = store.session_epoch().await.unwrap();

        // Sign-out.
        let hash = open_session(store.as_ref(), manager.id, "manager", "s-1").await;
        assert_eq!(store.session_epoch().await.unwrap(), start, "sign-in bumps nothing");
        store
            .delete_session(&hash, &login_event("manager", manager.id), &ctx(T0 + 1))
            .await
            .unwrap();
        assert_eq!(
            since(store.as_ref(), start).await,
            [SessionInvalidation::Token(hash)]
        );

        // An office's status.
        let before = store.session_epoch().await.unwrap();
        let permit = regulator_permit(store.as_ref(), Action::ChangeOfficeStatus { office }).await;
        store
            .set_office_status(&permit, office, OfficeStatus::Suspended, "test", &ctx(T0 + 2))
            .await
            .unwrap();
        assert_eq!(
            since(store.as_ref(), before).await,
            [SessionInvalidation::Office(office)]
        );

        // A password change: only from the stored hash, and it ends every session.
        let kept = open_session(store.as_ref(), manager.id, "manager", "s-2").await;
        let current = store
            .credentials(&manager.staff.username)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap();
        let own = authorize(
            &Principal::Staff(actor_of(&manager, Some(OfficeStatus::Suspended))),
            Action::ChangeOwnPassword { staff: manager.id },
        )
        .unwrap();
        let before = store.session_epoch().await.unwrap();
        let stale = store
            .change_password(&own, manager.id, "$argon2id$not-it", "$argon2id$new", &ctx(T0 + 3))
            .await;
        assert!(
            matches!(&stale, Err(StoreError::WrongState(w)) if w.rule == pishkhan_store::StateRule::PasswordChanged),
            "{stale:?}"
        );
        assert!(store.session(&kept, T0 + 3).await.unwrap().is_some());
        assert_eq!(store.session_epoch().await.unwrap(), before, "a refusal bumps nothing");
        // The permit is for this very account.
        let other = authorize(
            &Principal::Staff(actor_of(&manager, None)),
            Action::ChangeOwnPassword { staff: manager.id + 1 },
        );
        assert!(other.is_err(), "someone else's password");
        store
            .change_password(&own, manager.id, &current, "$argon2id$new", &ctx(T0 + 4))
            .await
            .unwrap();
        assert!(store.session(&kept, T0 + 4).await.unwrap().is_none());
        assert_eq!(
            since(store.as_ref(), before).await,
            [SessionInvalidation::Staff(manager.id)]
        );
        let creds = store.credentials(&manager.staff.username).await.unwrap().unwrap();
        assert_eq!(creds.password_hash.as_deref(), Some("$argon2id$new"));
        let changes = store
            .audit_log(&auditor(), &audit_of("staff.password"), page(1, 10))
            .await
            .unwrap();
        assert_eq!(changes.total, 1);
        assert_eq!(changes.items[0].target, "staff:manager");

        // A deactivation: the permit names the member's office and role.
        let operator = store
            .staff_by_username(&Username::parse("operator").unwrap())
            .await
            .unwrap();
        let live = open_session(store.as_ref(), operator.id, "operator", "s-3").await;
        let wrong_role = regulator_permit(
            store.as_ref(),
            Action::DeactivateStaff {
                staff: operator.id,
                office: operator.staff.office,
                role: Role::Manager,
            },
        )
        .await;
        let refused = store
            .deactivate_staff(&wrong_role, operator.id, &ctx(T0 + 5))
            .await;
        assert!(matches!(refused, Err(StoreError::PermitMismatch)), "{refused:?}");
        let permit = regulator_permit(
            store.as_ref(),
            Action::DeactivateStaff {
                staff: operator.id,
                office: operator.staff.office,
                role: operator.staff.role,
            },
        )
        .await;
        let before = store.session_epoch().await.unwrap();
        let done = store
            .deactivate_staff(&permit, operator.id, &ctx(T0 + 6))
            .await
            .unwrap();
        assert_eq!(done.status, StaffStatus::Disabled);
        assert!(store.session(&live, T0 + 6).await.unwrap().is_none());
        assert_eq!(
            since(store.as_ref(), before).await,
            [SessionInvalidation::Staff(operator.id)]
        );
        // Again: nothing changes, nothing is audited, nothing is invalidated.
        let before = store.session_epoch().await.unwrap();
        let again = store
            .deactivate_staff(&permit, operator.id, &ctx(T0 + 7))
            .await
            .unwrap();
        assert_eq!(again.status, StaffStatus::Disabled);
        assert_eq!(store.session_epoch().await.unwrap(), before);
        let log = store
            .audit_log(&auditor(), &audit_of("staff.deactivate"), page(1, 10))
            .await
            .unwrap();
        assert_eq!(log.total, 1);
        assert_eq!(log.items[0].target, "staff:operator");
        assert_eq!(log.items[0].detail["sessions_ended"], 1);

        // A citizen's sign-out names the token; an unknown one names nothing.
        let before = store.session_epoch().await.unwrap();
        store
            .end_citizen_session(&token_hash("never-issued"), &ctx(T0 + 8))
            .await
            .unwrap();
        assert_eq!(store.session_epoch().await.unwrap(), before);

        // Ranges are exact: nothing before `after`, nothing after `upto`.
        let head = store.session_epoch().await.unwrap();
        assert_eq!(head - start, 4);
        let middle = store
            .session_invalidations(start + 1, start + 3)
            .await
            .unwrap();
        assert_eq!(
            middle,
            [
                SessionInvalidation::Office(office),
                SessionInvalidation::Staff(manager.id)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_deactivated_members_invitation_no_longer_activates_them() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        let staff = new_operator(office);
        let token = token_hash("invite-then-disable");
        let record = store
            .create_staff(
                &system(Action::CreateStaff {
                    office: Some(office),
                    role: Role::Operator,
                }),
                &staff,
                &NewInvitation {
                    token_hash: token.clone(),
                    expires_at_ms: T0 + 100_000,
                },
                &ctx(T0),
            )
            .await
            .unwrap();
        let permit = regulator_permit(
            store.as_ref(),
            Action::DeactivateStaff {
                staff: record.id,
                office: Some(office),
                role: Role::Operator,
            },
        )
        .await;
        store
            .deactivate_staff(&permit, record.id, &ctx(T0 + 1))
            .await
            .unwrap();
        let used = store
            .accept_invitation(&token, "$argon2id$x", &ctx(T0 + 2))
            .await;
        assert!(matches!(used, Err(StoreError::Expired(_))), "{used:?}");
        let creds = store.credentials(&staff.username).await.unwrap().unwrap();
        assert_eq!(creds.status, StaffStatus::Disabled);
        assert!(creds.password_hash.is_none());
    })
    .await;
}
