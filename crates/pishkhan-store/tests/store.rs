//! The storage story: one behavioural suite, run against every configured backend.
//!
//! SQLite always runs; PostgreSQL runs when `PISHKHAN_TEST_POSTGRES_URL` is set (see
//! `pishkhan-testkit`). Each scenario gets a fresh database.

use std::sync::Arc;

use pishkhan_domain::access::{Action, Principal, StaffActor, authorize};
use pishkhan_domain::model::{
    AgencyCode, Digitization, LocalizedText, OfficeCode, OfficeStatus, Role, ServiceCode, Staff,
    Username,
};
use pishkhan_domain::normalize::normalize_for_search;
use pishkhan_domain::schedule::SlotPolicy;
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{
    AuditContext, AuditEvent, AuditFilter, Backend, DatabaseUrl, NewInvitation, NewSession,
    OfficeFilter, PageRequest, ServiceFilter, StaffStatus, Store, StoreError, token_hash,
};
use pishkhan_testkit::{SMALL_OFFICES, TestDb, load_small_nation};

#[path = "store/compliance.rs"]
mod compliance;
#[path = "store/ledger.rs"]
mod ledger;
#[path = "store/limits.rs"]
mod limits;
#[path = "store/payments.rs"]
mod payments;
#[path = "store/report_thread.rs"]
mod report_thread;
#[path = "store/rollups.rs"]
mod rollups;
#[path = "store/session_invalidation.rs"]
mod session_invalidation;

const T0: i64 = 1_764_300_000_000;

/// Tomorrow at this hour, as a slot start: bookings are decided against the real clock's
/// memory horizon, so they use real times.
fn soon() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / 3_600_000 + 24) * 3_600_000
}

fn ctx(now_ms: i64) -> AuditContext {
    AuditContext {
        now_ms,
        ip: Some("127.0.0.1".into()),
        request_id: Some("test-1".into()),
    }
}

fn system(action: Action) -> pishkhan_domain::access::Permit {
    authorize(&Principal::System { reason: "test" }, action).expect("system permit")
}

fn page(n: u32, per: u32) -> PageRequest {
    PageRequest::new(n, per).expect("page")
}

async fn each_backend<F, Fut>(scenario: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::all().await {
        let backend = db.backend();
        eprintln!("scenario on {}", backend.name());
        scenario(db).await;
    }
}

#[tokio::test]
async fn empty_store_loads_a_nation_once() {
    each_backend(|db| async move {
        let store = db.open().await;
        assert!(store.is_empty().await.unwrap());
        store.ping().await.unwrap();
        let nation = load_small_nation(store.as_ref()).await;
        assert!(!store.is_empty().await.unwrap());
        assert_eq!(
            store.meta("nation_seed").await.unwrap().as_deref(),
            Some("1405")
        );

        let provinces = store.provinces().await.unwrap();
        assert_eq!(provinces.len(), 31);
        let offices: u64 = provinces.iter().map(|p| p.offices).sum();
        assert_eq!(offices, SMALL_OFFICES as u64);

        let counts = store.counts().await.unwrap();
        assert_eq!(counts.offices, SMALL_OFFICES as u64);
        assert_eq!(counts.services, 550);
        assert_eq!(counts.staff, nation.staff.len() as u64);
        assert_eq!(
            counts.staff_active, 3,
            "only the demo logins have passwords"
        );
        assert_eq!(counts.agencies, nation.agencies.len() as u64);

        // A second load is refused and changes nothing.
        let permit = system(Action::LoadDemo);
        let again = store
            .load_nation(
                &permit,
                pishkhan_store::NationLoad {
                    seed: 1,
                    provinces: &nation.provinces,
                    agencies: &nation.agencies,
                    services: &nation.services,
                    offices: &nation.offices,
                    staff: &nation.staff,
                    passwords: &[],
                },
                &ctx(T0),
            )
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict { .. })),
            "{again:?}"
        );
        assert_eq!(store.counts().await.unwrap().offices, SMALL_OFFICES as u64);
    })
    .await;
}

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    each_backend(|db| async move {
        {
            let store = db.open().await;
            load_small_nation(store.as_ref()).await;
        }
        let store = db.open().await;
        assert_eq!(store.counts().await.unwrap().offices, SMALL_OFFICES as u64);
    })
    .await;
}

#[tokio::test]
async fn the_embedded_store_has_one_owner() {
    let db = TestDb::sqlite();
    let first = db.open().await;
    match pishkhan_store::open(db.url()).await {
        Err(StoreError::Locked { .. }) => {}
        Err(e) => panic!("expected Locked, got {e}"),
        Ok(_) => panic!("a second process-level owner was allowed"),
    }
    drop(first);
    // Once the owner is gone, the database opens again.
    let again = pishkhan_store::open(db.url()).await;
    assert!(again.is_ok(), "{:?}", again.err());
}

#[tokio::test]
async fn offices_are_searched_filtered_and_paged() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;

        let all = store
            .offices(&OfficeFilter::default(), page(1, 100))
            .await
            .unwrap();
        assert_eq!(all.total, SMALL_OFFICES as u64);
        assert_eq!(all.items.len(), 100);
        let second = store
            .offices(&OfficeFilter::default(), page(2, 100))
            .await
            .unwrap();
        assert_eq!(second.items.len(), SMALL_OFFICES - 100);
        assert!(all.items.iter().all(|o| !second.items.contains(o)));
        // Ordered by code.
        assert!(all.items.windows(2).all(|w| w[0].code < w[1].code));

        // Round trip: what was loaded is what comes back.
        let first = &nation.offices[0];
        assert_eq!(&store.office(first.code).await.unwrap(), first);

        let tehran = store
            .offices(
                &OfficeFilter {
                    province: Some(1),
                    ..Default::default()
                },
                page(1, 100),
            )
            .await
            .unwrap();
        let expected = nation.offices.iter().filter(|o| o.province_id == 1).count() as u64;
        assert_eq!(tehran.total, expected);
        assert!(tehran.items.iter().all(|o| o.province_id == 1));

        for status in OfficeStatus::ALL {
            let got = store
                .offices(
                    &OfficeFilter {
                        status: Some(status),
                        ..Default::default()
                    },
                    page(1, 100),
                )
                .await
                .unwrap();
            let expected = nation.offices.iter().filter(|o| o.status == status).count() as u64;
            assert_eq!(got.total, expected, "status {status:?}");
        }

        // Persian search ignores Arabic/Persian letter variants: a street word typed with
        // Arabic yeh and kaf finds the same offices as its Persian spelling.
        let word = nation
            .offices
            .iter()
            .flat_map(|o| {
                o.address
                    .fa
                    .split(' ')
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|w| w.chars().count() >= 4 && (w.contains('ی') || w.contains('ک')))
            .find(|w| !w.chars().any(|c| c.is_ascii_digit()))
            .expect("an address word with ی or ک");
        let arabic = word.replace('ی', "ي").replace('ک', "ك");
        assert_ne!(arabic, word);
        let persian_hits = store
            .offices(
                &OfficeFilter {
                    q: Some(word.clone()),
                    ..Default::default()
                },
                page(1, 100),
            )
            .await
            .unwrap();
        let arabic_hits = store
            .offices(
                &OfficeFilter {
                    q: Some(arabic),
                    ..Default::default()
                },
                page(1, 100),
            )
            .await
            .unwrap();
        let expected = nation
            .offices
            .iter()
            .filter(|o| normalize_for_search(&o.address.fa).contains(&normalize_for_search(&word)))
            .count() as u64;
        assert!(expected > 0);
        assert!(
            persian_hits.total >= expected,
            "{} < {expected}",
            persian_hits.total
        );
        assert_eq!(persian_hits, arabic_hits);

        // Wildcards in the query are literal, not patterns.
        let none = store
            .offices(
                &OfficeFilter {
                    q: Some("%_%".into()),
                    ..Default::default()
                },
                page(1, 10),
            )
            .await
            .unwrap();
        assert_eq!(none.total, 0);

        let missing = store
            .office(OfficeCode::from_u32(99_999_999).unwrap())
            .await;
        assert!(matches!(
            missing,
            Err(StoreError::NotFound { entity: "office" })
        ));
    })
    .await;
}

#[tokio::test]
async fn services_are_searched_and_filtered() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;

        let police = AgencyCode::parse("police").unwrap();
        let got = store
            .services(
                &ServiceFilter {
                    agency: Some(police.clone()),
                    ..Default::default()
                },
                page(1, 100),
            )
            .await
            .unwrap();
        let expected = nation
            .services
            .iter()
            .filter(|s| s.agency == police)
            .count() as u64;
        assert!(expected > 0);
        assert_eq!(got.total, expected);

        for d in Digitization::ALL {
            let got = store
                .services(
                    &ServiceFilter {
                        digitization: Some(d),
                        ..Default::default()
                    },
                    page(1, 1),
                )
                .await
                .unwrap();
            let expected = nation
                .services
                .iter()
                .filter(|s| s.digitization == d)
                .count() as u64;
            assert_eq!(got.total, expected, "{d:?}");
        }

        let passport = store
            .services(
                &ServiceFilter {
                    q: Some("گذرنامه".into()),
                    ..Default::default()
                },
                page(1, 100),
            )
            .await
            .unwrap();
        assert!(passport.total > 0);
        assert!(passport.items.iter().all(|s| s.title.fa.contains("گذرنامه")
            || s.title.en.to_lowercase().contains("passport")
            || s.code.as_str().contains("PSP")));

        let s = &nation.services[0];
        assert_eq!(&store.service(&s.code).await.unwrap(), s);
        let missing = store.service(&ServiceCode::parse("ZZZ-999").unwrap()).await;
        assert!(matches!(missing, Err(StoreError::NotFound { .. })));
    })
    .await;
}

#[tokio::test]
async fn office_writes_are_all_or_nothing_and_audited() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;

        let mut new = nation.offices[0].clone();
        new.code = store.next_office_code().await.unwrap();
        new.licence_no = "PK-TEST-0001".into();
        new.name = LocalizedText::new("دفتر آزمایشی", "Test office");
        store
            .create_office(&system(Action::CreateOffice), &new, false, &ctx(T0))
            .await
            .unwrap();
        assert_eq!(store.office(new.code).await.unwrap(), new);

        // Same code again: conflict.
        let dup = store
            .create_office(&system(Action::CreateOffice), &new, false, &ctx(T0))
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");

        // A permit for another action is refused.
        let wrong = store
            .create_office(&system(Action::ImportOffices), &new, false, &ctx(T0))
            .await;
        assert!(matches!(wrong, Err(StoreError::PermitMismatch)));

        // A batch with one clash inserts nothing.
        let mut a = new.clone();
        a.code = OfficeCode::from_u32(new.code.get() + 1).unwrap();
        a.licence_no = "PK-TEST-0002".into();
        let mut b = new.clone();
        b.licence_no = "PK-TEST-0003".into(); // clashes on code with `new`
        let before = store.counts().await.unwrap().offices;
        let batch = store
            .import_offices(&system(Action::ImportOffices), &[a.clone(), b], &ctx(T0))
            .await;
        assert!(
            matches!(batch, Err(StoreError::Conflict { .. })),
            "{batch:?}"
        );
        assert_eq!(store.counts().await.unwrap().offices, before);
        assert!(matches!(
            store.office(a.code).await,
            Err(StoreError::NotFound { .. })
        ));

        // A clean batch goes in whole.
        let n = store
            .import_offices(&system(Action::ImportOffices), &[a.clone()], &ctx(T0))
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(store.office(a.code).await.unwrap(), a);

        let audit = store
            .audit_log(&system_audit_permit(), &AuditFilter::default(), page(1, 50))
            .await;
        // The system principal may not read the audit log; the regulator may.
        assert!(matches!(audit, Err(StoreError::PermitMismatch)) || audit.is_err());
        let regulator = regulator_permit(store.as_ref(), Action::ViewAuditLog).await;
        let log = store
            .audit_log(&regulator, &AuditFilter::default(), page(1, 50))
            .await
            .unwrap();
        let actions: Vec<&str> = log.items.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions[0], "import.offices", "newest first: {actions:?}");
        assert!(actions.contains(&"office.create"));
        assert!(actions.contains(&"demo.load"));
        let create = log
            .items
            .iter()
            .find(|r| r.action == "office.create")
            .unwrap();
        assert_eq!(create.actor, "system:test");
        assert_eq!(create.target, format!("office:{}", new.code));
        assert_eq!(create.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(create.request_id.as_deref(), Some("test-1"));
        assert_eq!(create.at_ms, T0);
    })
    .await;
}

fn system_audit_permit() -> pishkhan_domain::access::Permit {
    // Any permit the system can get; the audit log needs ViewAuditLog, which it is refused.
    system(Action::BrowseRegistry)
}

async fn regulator_permit(store: &dyn Store, action: Action) -> pishkhan_domain::access::Permit {
    let record = store
        .staff_by_username(&Username::parse("regulator").unwrap())
        .await
        .unwrap();
    let actor = StaffActor {
        id: record.id,
        username: record.staff.username.clone(),
        role: Role::Regulator,
        office: None,
        office_status: None,
    };
    authorize(&Principal::Staff(actor), action).unwrap()
}

#[tokio::test]
async fn services_import_upserts_and_refuses_unknown_agencies() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let mut changed = nation.services[0].clone();
        changed.avg_handling_minutes = 42;
        let mut fresh = nation.services[1].clone();
        fresh.code = ServiceCode::parse("NEW-001").unwrap();
        let n = store
            .import_services(
                &system(Action::ImportServices),
                &[changed.clone(), fresh.clone()],
                &ctx(T0),
            )
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            store
                .service(&changed.code)
                .await
                .unwrap()
                .avg_handling_minutes,
            42
        );
        assert_eq!(store.service(&fresh.code).await.unwrap(), fresh);

        let mut orphan = fresh.clone();
        orphan.code = ServiceCode::parse("NEW-002").unwrap();
        orphan.agency = AgencyCode::parse("no-such-agency").unwrap();
        let mut also = fresh.clone();
        also.code = ServiceCode::parse("NEW-003").unwrap();
        let refused = store
            .import_services(
                &system(Action::ImportServices),
                &[also.clone(), orphan],
                &ctx(T0),
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::UnknownReference { .. })),
            "{refused:?}"
        );
        assert!(
            store.service(&also.code).await.is_err(),
            "nothing of a refused batch is kept"
        );
    })
    .await;
}

fn new_operator(office: OfficeCode) -> Staff {
    Staff {
        username: Username::parse("new.operator").unwrap(),
        national_code: NationalCode::parse("0499370899").unwrap(),
        first_name: "علی".into(),
        last_name: "رضایی".into(),
        mobile: Mobile::parse("09351234567").unwrap(),
        office: Some(office),
        role: Role::Operator,
    }
}

#[tokio::test]
async fn invitations_activate_staff_once() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        let staff = new_operator(office);
        let permit = system(Action::CreateStaff {
            office: Some(office),
            role: Role::Operator,
        });
        let token = token_hash("invite-token");
        let record = store
            .create_staff(
                &permit,
                &staff,
                &NewInvitation {
                    token_hash: token.clone(),
                    expires_at_ms: T0 + 1000,
                },
                &ctx(T0),
            )
            .await
            .unwrap();
        assert_eq!(record.status, StaffStatus::Invited);
        assert_eq!(record.staff, staff);

        // Not yet able to sign in.
        let creds = store.credentials(&staff.username).await.unwrap().unwrap();
        assert_eq!(creds.status, StaffStatus::Invited);
        assert!(creds.password_hash.is_none());

        // The permit must match the staff being created.
        let other = system(Action::CreateStaff {
            office: Some(office),
            role: Role::Manager,
        });
        let mut second = staff.clone();
        second.username = Username::parse("second").unwrap();
        let refused = store
            .create_staff(
                &other,
                &second,
                &NewInvitation {
                    token_hash: token_hash("x"),
                    expires_at_ms: T0 + 1000,
                },
                &ctx(T0),
            )
            .await;
        assert!(matches!(refused, Err(StoreError::PermitMismatch)));

        // Duplicate national code: conflict, and no half-created row.
        second.role = Role::Operator;
        let dup = store
            .create_staff(
                &permit,
                &second,
                &NewInvitation {
                    token_hash: token_hash("y"),
                    expires_at_ms: T0 + 1000,
                },
                &ctx(T0),
            )
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
        assert!(store.staff_by_username(&second.username).await.is_err());

        let info = store.invitation(&token, T0 + 10).await.unwrap();
        assert_eq!(info.username, staff.username);
        assert_eq!(info.office, Some(office));

        let name = store
            .accept_invitation(&token, "$argon2id$fake", &ctx(T0 + 20))
            .await
            .unwrap();
        assert_eq!(name, staff.username);
        let creds = store.credentials(&staff.username).await.unwrap().unwrap();
        assert_eq!(creds.status, StaffStatus::Active);
        assert_eq!(creds.password_hash.as_deref(), Some("$argon2id$fake"));

        let again = store
            .accept_invitation(&token, "$argon2id$other", &ctx(T0 + 30))
            .await;
        assert!(matches!(again, Err(StoreError::Expired(_))), "{again:?}");
        assert!(matches!(
            store.invitation(&token_hash("unknown"), T0).await,
            Err(StoreError::NotFound { .. })
        ));

        // An expired invitation can't be used.
        let mut late = staff.clone();
        late.username = Username::parse("late.one").unwrap();
        late.national_code = NationalCode::parse("0790419904").unwrap();
        let late_token = token_hash("late");
        store
            .create_staff(
                &permit,
                &late,
                &NewInvitation {
                    token_hash: late_token.clone(),
                    expires_at_ms: T0 + 100,
                },
                &ctx(T0),
            )
            .await
            .unwrap();
        let expired = store
            .accept_invitation(&late_token, "$argon2id$x", &ctx(T0 + 100))
            .await;
        assert!(matches!(expired, Err(StoreError::Expired(_))));
        assert_eq!(
            store
                .credentials(&late.username)
                .await
                .unwrap()
                .unwrap()
                .status,
            StaffStatus::Invited
        );

        let list = store.office_staff(&system_view(office), office).await;
        // The system principal may not list staff; the regulator may.
        assert!(list.is_err());
        let regulator = regulator_permit(store.as_ref(), Action::ViewOfficeStaff { office }).await;
        let list = store.office_staff(&regulator, office).await.unwrap();
        assert!(list.iter().any(|r| r.staff.username == staff.username));
        assert!(list.iter().all(|r| r.staff.office == Some(office)));
    })
    .await;
}

fn system_view(_office: OfficeCode) -> pishkhan_domain::access::Permit {
    system(Action::BrowseRegistry)
}

#[tokio::test]
async fn sessions_resolve_to_actors_until_they_expire() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let manager = store
            .staff_by_username(&Username::parse("manager").unwrap())
            .await
            .unwrap();
        let event = AuditEvent {
            actor: "manager".into(),
            actor_staff_id: Some(manager.id),
            action: "auth.login",
            target: "staff:manager".into(),
            detail: serde_json::json!({}),
        };
        let hash = token_hash("session-token");
        store
            .create_session(
                &NewSession {
                    token_hash: hash.clone(),
                    staff_id: manager.id,
                    csrf_token: "csrf".into(),
                    created_at_ms: T0,
                    expires_at_ms: T0 + 1000,
                    ip: Some("127.0.0.1".into()),
                },
                &event,
                &ctx(T0),
            )
            .await
            .unwrap();
        let s = store
            .session(&hash, T0 + 1)
            .await
            .unwrap()
            .expect("live session");
        assert_eq!(s.actor.username.as_str(), "manager");
        assert_eq!(s.actor.role, Role::Manager);
        assert_eq!(s.actor.office, Some(nation.offices[0].code));
        assert_eq!(s.actor.office_status, Some(nation.offices[0].status));
        assert_eq!(s.csrf_token, "csrf");
        assert!(
            store.session(&hash, T0 + 1000).await.unwrap().is_none(),
            "expired"
        );
        assert!(
            store
                .session(&token_hash("other"), T0)
                .await
                .unwrap()
                .is_none()
        );

        store
            .delete_session(&hash, &event, &ctx(T0 + 2))
            .await
            .unwrap();
        assert!(store.session(&hash, T0 + 3).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_refuses_edits_at_the_database() {
    for db in TestDb::all().await {
        let store = db.open().await;
        load_small_nation(store.as_ref()).await;
        store
            .record_event(
                &AuditEvent {
                    actor: "x".into(),
                    actor_staff_id: None,
                    action: "auth.login_failed",
                    target: "staff:x".into(),
                    detail: serde_json::json!({}),
                },
                &ctx(T0),
            )
            .await
            .unwrap();
        // Go around the store, straight to the database, as an attacker with SQL access would.
        let mut conn = raw_connection(&db).await;
        for sql in [
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
        ] {
            let r = sqlx::Executor::execute(&mut conn, sql).await;
            assert!(r.is_err(), "{} allowed `{sql}`", db.backend().name());
        }
        let regulator = regulator_permit(store.as_ref(), Action::ViewAuditLog).await;
        let log = store
            .audit_log(&regulator, &AuditFilter::default(), page(1, 10))
            .await
            .unwrap();
        assert_eq!(log.items[0].actor, "x");
        assert!(log.total >= 2);
    }
}

#[test]
fn database_urls_never_show_passwords() {
    let cases = [
        (
            "postgres://app:s3cret@db:5432/pishkhan",
            "postgres://app:***@db:5432/pishkhan",
        ),
        (
            "postgres://app@db/pishkhan?password=s3cret&sslmode=require",
            "postgres://app@db/pishkhan?password=***&sslmode=require",
        ),
        (
            "sqlite:///var/lib/pishkhan/pishkhan.db",
            "sqlite:///var/lib/pishkhan/pishkhan.db",
        ),
    ];
    for (raw, shown) in cases {
        let url = DatabaseUrl::parse(raw).unwrap();
        assert_eq!(url.to_string(), shown);
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.expose(), raw);
    }
    for bad in ["mysql://x/y", "", "sqlite://", "http://example"] {
        assert!(DatabaseUrl::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn page_requests_are_bounded() {
    assert!(PageRequest::new(0, 10).is_err());
    assert!(PageRequest::new(1, 0).is_err());
    assert_eq!(
        PageRequest::new(1, 101).unwrap_err().code,
        "invalid_page_size"
    );
    assert_eq!(PageRequest::new(3, 100).unwrap().per_page(), 100);
}

fn booking_for(office: OfficeCode, slot_start_ms: i64, person: u32) -> pishkhan_store::NewBooking {
    pishkhan_store::NewBooking {
        office,
        service: ServiceCode::parse("PSP-001").unwrap(),
        slot_start_ms,
        slot_end_ms: slot_start_ms + 30 * 60_000,
        national_code: NationalCode::from_body(100_000_000 + person).unwrap(),
        mobile: Mobile::from_parts(912, person).unwrap(),
        rules: pishkhan_domain::schedule::BookingRules::default(),
        idempotency_key: None,
    }
}

/// Sets the office's slot policy (as the regulator), as a manager would.
async fn set_policy(store: &dyn Store, office: OfficeCode, policy: SlotPolicy) {
    let permit = regulator_permit(store, Action::ConfigureSchedule { office }).await;
    store
        .set_slot_policy(&permit, office, &policy, &ctx(T0))
        .await
        .unwrap();
}

/// Gives the office a policy under which every slot holds `capacity` people for PSP-001: long
/// slots and all counters bookable, so the occupancy cap is what binds. The store computes
/// capacity from this; callers can't pass one.
async fn set_capacity(store: &dyn Store, office: OfficeCode, capacity: u16) {
    let counters = store.office(office).await.unwrap().counters;
    let minutes = store
        .service(&ServiceCode::parse("PSP-001").unwrap())
        .await
        .unwrap()
        .avg_handling_minutes;
    let policy = SlotPolicy {
        slot_minutes: SlotPolicy::MAX_SLOT_MINUTES,
        occupancy_cap: capacity,
        booking_counters: counters,
    };
    // Set-up check: the office's counters can serve that many in one slot.
    assert_eq!(
        policy.capacity(minutes),
        u32::from(capacity),
        "office {office} can't hold {capacity} per slot"
    );
    set_policy(store, office, policy).await;
}

#[tokio::test]
async fn a_thousand_concurrent_bookings_fill_a_slot_of_ten_exactly() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        set_capacity(store.as_ref(), office, 10).await;
        let slot = soon();
        let permit = system_book(office);
        let mut tasks = Vec::new();
        for person in 0..1000u32 {
            let store = store.clone();
            let permit = permit.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .create_booking(&permit, &booking_for(office, slot, person), &ctx(T0))
                    .await
            }));
        }
        let (mut booked, mut full) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(pishkhan_store::Booked::New(_)) => booked += 1,
                Err(StoreError::SlotFull) => full += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((booked, full), (10, 990));
        assert_eq!(
            store.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 10)]
        );
    })
    .await;
}

/// A second handle on the test's database, as a second app process would open it: its own
/// pool and booking writer on PostgreSQL. The embedded store has one owner, so there it is the
/// same store.
async fn second_process(db: &TestDb, first: &Arc<dyn Store>) -> Arc<dyn Store> {
    match db.backend() {
        Backend::Postgres => db.open().await,
        Backend::Sqlite => first.clone(),
    }
}

/// The seats `slot_loads` counts per slot of `office` in `[from_ms, to_ms)` equal the booked
/// bookings there.
async fn assert_loads_match_bookings(
    store: &dyn Store,
    office: OfficeCode,
    from_ms: i64,
    to_ms: i64,
) {
    let mut booked = std::collections::BTreeMap::new();
    for b in store.office_bookings(office, from_ms, to_ms).await.unwrap() {
        if b.status == pishkhan_domain::schedule::BookingStatus::Booked {
            *booked.entry(b.slot_start_ms).or_insert(0u32) += 1;
        }
    }
    let loads: std::collections::BTreeMap<i64, u32> = store
        .slot_loads(office, from_ms, to_ms)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(loads, booked);
}

#[tokio::test]
async fn a_thousand_concurrent_bookings_through_two_processes_fill_a_slot_of_ten_exactly() {
    each_backend(|db| async move {
        let first = db.open().await;
        let nation = load_small_nation(first.as_ref()).await;
        let second = second_process(&db, &first).await;
        let office = nation.offices[0].code;
        set_capacity(first.as_ref(), office, 10).await;
        let slot = soon();
        let permit = system_book(office);
        let mut tasks = Vec::new();
        for person in 0..1000u32 {
            let store = if person % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let permit = permit.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .create_booking(&permit, &booking_for(office, slot, person), &ctx(T0))
                    .await
            }));
        }
        let (mut booked, mut full) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(pishkhan_store::Booked::New(_)) => booked += 1,
                Err(StoreError::SlotFull) => full += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((booked, full), (10, 990));
        assert_eq!(
            second.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 10)]
        );
        assert_loads_match_bookings(first.as_ref(), office, slot, slot + 1).await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_of_one_key_through_two_processes_make_one_booking() {
    each_backend(|db| async move {
        let first = db.open().await;
        let nation = load_small_nation(first.as_ref()).await;
        let second = second_process(&db, &first).await;
        let office = nation.offices[0].code;
        set_capacity(first.as_ref(), office, 5).await;
        let slot = soon();
        let permit = system_book(office);
        let mut request = booking_for(office, slot, 3);
        // Quotes, a backslash, a comma, braces and the word NULL: any text is a key.
        request.idempotency_key = Some(r#"operator:retry "1", {a\b} NULL"#.into());
        let mut tasks = Vec::new();
        for attempt in 0..20 {
            let store = if attempt % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let (permit, request) = (permit.clone(), request.clone());
            tasks.push(tokio::spawn(async move {
                store.create_booking(&permit, &request, &ctx(T0)).await
            }));
        }
        let (mut new, mut replayed) = (Vec::new(), Vec::new());
        for t in tasks {
            match t.await.unwrap() {
                Ok(pishkhan_store::Booked::New(b)) => new.push(b),
                Ok(pishkhan_store::Booked::Replayed(b)) => replayed.push(b),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((new.len(), replayed.len()), (1, 19));
        assert!(replayed.iter().all(|b| *b == new[0]));
        assert_eq!(
            first.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 1)]
        );
        let confirmations = first
            .outbox_messages(Some(request.mobile.as_str()), 10)
            .await
            .unwrap();
        assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    })
    .await;
}

#[tokio::test]
async fn a_citizen_booking_concurrently_through_two_processes_gets_only_what_the_rules_allow() {
    each_backend(|db| async move {
        let first = db.open().await;
        let nation = load_small_nation(first.as_ref()).await;
        let second = second_process(&db, &first).await;
        let office = nation.offices[0].code;
        set_capacity(first.as_ref(), office, 5).await;
        let permit = system_book(office);
        let (slot, day) = (soon(), 86_400_000);
        // One person asks for ten slots at once: five of one service (one active booking per
        // service) and five of five other services (two visits in 14 days).
        let mut tasks = Vec::new();
        for n in 0..10usize {
            let store = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let mut request = booking_for(office, slot + n as i64 * day, 7);
            if n >= 5 {
                request.service = ServiceCode::parse(nation.services[n].code.as_str()).unwrap();
            }
            let permit = permit.clone();
            tasks.push(tokio::spawn(async move {
                store.create_booking(&permit, &request, &ctx(T0)).await
            }));
        }
        let (mut booked, mut limited) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(pishkhan_store::Booked::New(_)) => booked += 1,
                Err(StoreError::LimitReached { .. }) => limited += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((booked, limited), (2, 8));
        let held = first
            .citizen_bookings(&NationalCode::from_body(100_000_007).unwrap())
            .await
            .unwrap();
        assert_eq!(held.len(), 2, "{held:?}");
        assert_loads_match_bookings(first.as_ref(), office, slot, slot + 10 * day).await;
    })
    .await;
}

#[tokio::test]
async fn reschedules_and_bookings_racing_for_one_seat_through_two_processes_keep_the_counts() {
    each_backend(|db| async move {
        let first = db.open().await;
        let nation = load_small_nation(first.as_ref()).await;
        let second = second_process(&db, &first).await;
        let office = nation.offices[0].code;
        set_capacity(first.as_ref(), office, 1).await;
        let permit = system_book(office);
        let (slot, day) = (soon(), 86_400_000);
        // Ten people each hold a seat on their own day; all of them try to move to the one
        // seat of the last day while forty others try to book it.
        let mut held = Vec::new();
        for person in 0..10u32 {
            match first
                .create_booking(
                    &permit,
                    &booking_for(office, slot + i64::from(person) * day, person),
                    &ctx(T0),
                )
                .await
                .unwrap()
            {
                pishkhan_store::Booked::New(b) => held.push(b.tracking_code),
                other => panic!("{other:?}"),
            }
        }
        let target = slot + 10 * day;
        let mut tasks = Vec::new();
        for (n, code) in held.iter().enumerate() {
            let store = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let (permit, code) = (permit.clone(), code.clone());
            tasks.push(tokio::spawn(async move {
                let to = pishkhan_store::NewSlot {
                    slot_start_ms: target,
                    slot_end_ms: target + 30 * 60_000,
                    rules: pishkhan_domain::schedule::BookingRules::default(),
                };
                store
                    .reschedule_booking(&permit, &code, &to, &ctx(T0 + 1))
                    .await
                    .map(|_| ())
            }));
        }
        for person in 100..140u32 {
            let store = if person % 2 == 0 {
                second.clone()
            } else {
                first.clone()
            };
            let permit = permit.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .create_booking(&permit, &booking_for(office, target, person), &ctx(T0))
                    .await
                    .map(|_| ())
            }));
        }
        let mut taken = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => taken += 1,
                Err(StoreError::SlotFull) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(taken, 1);
        assert_eq!(
            first.slot_loads(office, target, target + 1).await.unwrap(),
            vec![(target, 1)]
        );
        assert_loads_match_bookings(second.as_ref(), office, slot, target + 1).await;
    })
    .await;
}

#[tokio::test]
async fn a_booking_for_an_unknown_service_is_refused_alone_among_concurrent_ones() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        set_capacity(store.as_ref(), office, 20).await;
        let (slot, permit) = (soon(), system_book(office));
        let mut tasks = Vec::new();
        for person in 0..20u32 {
            let mut request = booking_for(office, slot, person);
            if person == 10 {
                request.service = ServiceCode::parse("ZZZ-999").unwrap();
            }
            let (store, permit) = (store.clone(), permit.clone());
            tasks.push(tokio::spawn(async move {
                store.create_booking(&permit, &request, &ctx(T0)).await
            }));
        }
        let mut booked = 0;
        for (person, t) in tasks.into_iter().enumerate() {
            match (person, t.await.unwrap()) {
                (10, Err(StoreError::NotFound { entity: "service" })) => {}
                (10, other) => panic!("unexpected {other:?}"),
                (_, Ok(pishkhan_store::Booked::New(_))) => booked += 1,
                (_, other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(booked, 19);
        assert_loads_match_bookings(store.as_ref(), office, slot, slot + 1).await;
    })
    .await;
}

/// The operator of an active office.
fn operator_at(office: OfficeCode) -> Principal {
    Principal::Staff(StaffActor {
        id: 0,
        username: Username::parse("operator").unwrap(),
        role: Role::Operator,
        office: Some(office),
        office_status: Some(OfficeStatus::Active),
    })
}

fn system_book(office: OfficeCode) -> pishkhan_domain::access::Permit {
    authorize(&operator_at(office), Action::BookOnBehalf { office }).unwrap()
}

#[tokio::test]
async fn bookings_respect_limits_idempotency_and_cancellation() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        set_capacity(store.as_ref(), office, 5).await;
        let permit = system_book(office);
        let day = 86_400_000;
        let slot = soon();

        // An idempotent retry returns the first booking and takes no second seat.
        let mut first = booking_for(office, slot, 1);
        first.idempotency_key = Some("operator:key-1".into());
        let made = match store
            .create_booking(&permit, &first, &ctx(T0))
            .await
            .unwrap()
        {
            pishkhan_store::Booked::New(b) => b,
            other => panic!("{other:?}"),
        };
        let retry = first.clone();
        match store
            .create_booking(&permit, &retry, &ctx(T0))
            .await
            .unwrap()
        {
            pishkhan_store::Booked::Replayed(b) => assert_eq!(b, made),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 1)]
        );
        assert_eq!(store.booking(&made.tracking_code).await.unwrap(), made);

        // One active booking per service.
        let same_service = booking_for(office, slot + day, 1);
        let refused = store.create_booking(&permit, &same_service, &ctx(T0)).await;
        assert!(
            matches!(refused, Err(StoreError::LimitReached { .. })),
            "{refused:?}"
        );

        // At most two visits in 14 days: a second service is fine, a third is not.
        let mut second = booking_for(office, slot + 2 * day, 1);
        second.service = ServiceCode::parse(nation.services[5].code.as_str()).unwrap();
        store
            .create_booking(&permit, &second, &ctx(T0))
            .await
            .unwrap();
        let mut third = booking_for(office, slot + 3 * day, 1);
        third.service = ServiceCode::parse(nation.services[6].code.as_str()).unwrap();
        let refused = store.create_booking(&permit, &third, &ctx(T0)).await;
        assert!(
            matches!(refused, Err(StoreError::LimitReached { .. })),
            "{refused:?}"
        );

        // Cancelling frees the seat and can't happen twice.
        let cancelled = store
            .cancel_booking(&permit, &made.tracking_code, &ctx(T0 + 5))
            .await
            .unwrap();
        assert_eq!(
            cancelled.status,
            pishkhan_domain::schedule::BookingStatus::Cancelled
        );
        assert_eq!(
            store.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 0)]
        );
        let again = store
            .cancel_booking(&permit, &made.tracking_code, &ctx(T0 + 6))
            .await;
        assert!(matches!(again, Err(StoreError::WrongState(_))), "{again:?}");

        // A permit for another office is refused.
        let other = system_book(nation.offices[1].code);
        let wrong = store
            .create_booking(&other, &booking_for(office, slot, 77), &ctx(T0))
            .await;
        assert!(matches!(wrong, Err(StoreError::PermitMismatch)));
    })
    .await;
}

#[tokio::test]
async fn bookings_survive_a_restart_and_still_bound_the_slot() {
    each_backend(|db| async move {
        let office;
        let slot = soon();
        let kept;
        {
            let store = db.open().await;
            let nation = load_small_nation(store.as_ref()).await;
            office = nation.offices[0].code;
            set_capacity(store.as_ref(), office, 3).await;
            let permit = system_book(office);
            let mut codes = Vec::new();
            for person in 0..3 {
                match store
                    .create_booking(&permit, &booking_for(office, slot, person), &ctx(T0))
                    .await
                    .unwrap()
                {
                    pishkhan_store::Booked::New(b) => codes.push(b.tracking_code),
                    other => panic!("{other:?}"),
                }
            }
            kept = codes;
        }
        // A new process: memory is rebuilt from the durable record.
        let store = db.open().await;
        let permit = system_book(office);
        assert_eq!(
            store.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 3)]
        );
        let full = store
            .create_booking(&permit, &booking_for(office, slot, 10), &ctx(T0))
            .await;
        assert!(matches!(full, Err(StoreError::SlotFull)), "{full:?}");
        for code in &kept {
            assert_eq!(&store.booking(code).await.unwrap().tracking_code, code);
        }
        store
            .cancel_booking(&permit, &kept[0], &ctx(T0 + 1))
            .await
            .unwrap();
        let again = store
            .create_booking(&permit, &booking_for(office, slot, 11), &ctx(T0))
            .await
            .unwrap();
        let pishkhan_store::Booked::New(b) = again else {
            panic!("replayed")
        };
        // New numbers continue after the stored ones: no code is ever reused.
        assert!(!kept.contains(&b.tracking_code));
    })
    .await;
}

#[tokio::test]
async fn bookings_queue_their_notifications_in_the_same_transaction() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        set_capacity(store.as_ref(), office, 5).await;
        let permit = system_book(office);
        let slot = soon();
        let req = booking_for(office, slot, 42);
        let pishkhan_store::Booked::New(b) =
            store.create_booking(&permit, &req, &ctx(T0)).await.unwrap()
        else {
            panic!("replayed")
        };
        // A refused booking queues nothing.
        let refused = store
            .create_booking(&permit, &booking_for(office, slot, 42), &ctx(T0))
            .await;
        assert!(refused.is_err());
        store
            .cancel_booking(&permit, &b.tracking_code, &ctx(T0 + 1))
            .await
            .unwrap();

        let mine = store
            .outbox_messages(Some(req.mobile.as_str()), 10)
            .await
            .unwrap();
        let kinds: Vec<&str> = mine.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["booking.cancelled", "booking.confirmed"],
            "newest first"
        );
        assert!(
            mine.iter()
                .all(|m| m.status == "pending" && m.attempts == 0)
        );
        assert_eq!(
            mine[1].payload["tracking_code"],
            b.tracking_code.to_string()
        );
        assert_eq!(
            mine[1].dedupe_key,
            format!(
                "booking.confirmed:{:013}:{}",
                b.created_at_ms,
                b.tracking_code.as_str()
            )
        );

        // Claiming leases the due messages; a second claim in the lease gets none of them.
        let now = T0 + 10_000;
        let claimed = store.claim_outbox(10, now, 30_000).await.unwrap();
        assert_eq!(claimed.len(), 2);
        assert!(
            store
                .claim_outbox(10, now + 1, 30_000)
                .await
                .unwrap()
                .is_empty()
        );
        // Settle one as sent and one for a retry later.
        store
            .settle_outbox(claimed[0].id, &pishkhan_store::OutboxOutcome::Sent, now)
            .await
            .unwrap();
        store
            .settle_outbox(
                claimed[1].id,
                &pishkhan_store::OutboxOutcome::Retry {
                    error: "503 from the gateway".into(),
                    next_attempt_at_ms: now + 60_000,
                },
                now,
            )
            .await
            .unwrap();
        // Settling twice is refused: a message is delivered once.
        assert!(
            store
                .settle_outbox(claimed[0].id, &pishkhan_store::OutboxOutcome::Sent, now)
                .await
                .is_err()
        );
        assert!(
            store
                .claim_outbox(10, now + 59_000, 30_000)
                .await
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        let again = store.claim_outbox(10, now + 60_000, 30_000).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].last_error.as_deref(), Some("503 from the gateway"));
        // An unsettled lease runs out and the message is due again (a crashed dispatcher).
        let after_lease = store
            .claim_outbox(10, now + 60_000 + 30_000, 30_000)
            .await
            .unwrap();
        assert_eq!(after_lease.len(), 1);
        store
            .settle_outbox(
                after_lease[0].id,
                &pishkhan_store::OutboxOutcome::Failed {
                    error: "invalid number".into(),
                },
                now,
            )
            .await
            .unwrap();
        let all = store.outbox_messages(None, 10).await.unwrap();
        let statuses: Vec<&str> = all.iter().map(|m| m.status.as_str()).collect();
        assert!(
            statuses.contains(&"sent") && statuses.contains(&"failed"),
            "{statuses:?}"
        );
        // A batch settlement reports, per message, whether it was still pending, and changes
        // none that was not.
        assert!(store.settle_outbox_batch(&[]).await.unwrap().is_empty());
        let settled = store
            .settle_outbox_batch(&[
                (claimed[0].id, pishkhan_store::OutboxOutcome::Sent, now + 1),
                (
                    after_lease[0].id,
                    pishkhan_store::OutboxOutcome::Failed {
                        error: "again".into(),
                    },
                    now + 1,
                ),
            ])
            .await
            .unwrap();
        assert_eq!(settled, vec![false, false]);
        assert_eq!(store.outbox_messages(None, 10).await.unwrap(), all);
    })
    .await;
}

fn verification(
    id: &str,
    office: OfficeCode,
    operator: &str,
    decision: &str,
) -> pishkhan_store::NewVerification {
    pishkhan_store::NewVerification {
        id: id.into(),
        national_code: NationalCode::parse("0012345679").unwrap(),
        office,
        operator: operator.into(),
        decision: decision.into(),
        profile_version: "fa-1".into(),
        receipt: format!("receipt-{id}"),
        result: serde_json::json!({ "verification_id": id, "decision": decision }),
        owned_mobile: None,
        at_ms: T0,
    }
}

#[tokio::test]
async fn verifications_are_group_committed_all_or_nothing() {
    each_backend(|db| async move {
        let store = db.open().await;
        load_small_nation(store.as_ref()).await;
        let operator = store
            .staff_by_username(&Username::parse("operator").unwrap())
            .await
            .unwrap();
        let office = operator
            .staff
            .office
            .expect("the demo operator has an office");
        let actor = StaffActor {
            id: operator.id,
            username: operator.staff.username.clone(),
            role: Role::Operator,
            office: Some(office),
            office_status: Some(OfficeStatus::Active),
        };
        let permit = authorize(
            &Principal::Staff(actor.clone()),
            Action::RunInquiry { office },
        )
        .unwrap();
        let write = |id: &str, decision: &str, permit: &pishkhan_domain::access::Permit| {
            pishkhan_store::VerificationWrite {
                permit: permit.clone(),
                verification: verification(id, office, "operator", decision),
                notices: vec![pishkhan_store::Notice {
                    kind: pishkhan_store::OutboxKind::IdentityLocked,
                    recipient: "09120000000".into(),
                    dedupe_key: format!("identity.locked:{id}"),
                    payload: serde_json::json!({}),
                }],
                ctx: ctx(T0),
            }
        };
        // A batch whose last record's permit is for another office writes nothing at all.
        let other = OfficeCode::from_u32(office.get() + 1).unwrap();
        let wrong = authorize(
            &Principal::Staff(StaffActor {
                office: Some(other),
                ..actor.clone()
            }),
            Action::RunInquiry { office: other },
        )
        .unwrap();
        let outbox_before = store.outbox_messages(None, 100).await.unwrap().len();
        let refused = store
            .record_verifications(&[
                write("v-1", "rejected", &permit),
                write("v-2", "verified", &wrong),
            ])
            .await;
        assert!(
            matches!(refused, Err(StoreError::PermitMismatch)),
            "{refused:?}"
        );
        assert!(matches!(
            store.verification("v-1").await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(
            store.outbox_messages(None, 100).await.unwrap().len(),
            outbox_before
        );

        // A batch of many commits together: every record, notice and audit row.
        let batch: Vec<_> = (0..40)
            .map(|i| {
                write(
                    &format!("v-{i}"),
                    if i % 4 == 0 { "rejected" } else { "verified" },
                    &permit,
                )
            })
            .collect();
        store.record_verifications(&batch).await.unwrap();
        for i in [0, 17, 39] {
            let r = store.verification(&format!("v-{i}")).await.unwrap();
            assert_eq!(r.office, office.get());
            assert_eq!(r.receipt, format!("receipt-v-{i}"));
        }
        let code = NationalCode::parse("0012345679").unwrap();
        assert_eq!(
            store
                .identity_rejections_since(&code, T0 - 1)
                .await
                .unwrap(),
            10
        );
        assert_eq!(
            store.outbox_messages(None, 100).await.unwrap().len(),
            outbox_before + 40
        );
        // The same id twice is refused, and the batch with it leaves nothing behind.
        let dup = store
            .record_verifications(&[
                write("v-new", "verified", &permit),
                write("v-3", "verified", &permit),
            ])
            .await;
        assert!(dup.is_err());
        assert!(store.verification("v-new").await.is_err());
        // Batches are bounded.
        let too_many: Vec<_> = (0..=pishkhan_store::MAX_VERIFICATION_BATCH)
            .map(|i| write(&format!("w-{i}"), "verified", &permit))
            .collect();
        assert!(matches!(
            store.record_verifications(&too_many).await,
            Err(StoreError::LimitReached { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn reschedules_keep_the_code_and_respect_state_capacity_and_limits() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        let permit = system_book(office);
        let day = 86_400_000;
        let slot = soon();
        // One seat per slot: the slot in two days is full once someone takes it, the others
        // have room for the one booking that moves.
        set_capacity(store.as_ref(), office, 1).await;
        let to = |start: i64| pishkhan_store::NewSlot {
            slot_start_ms: start,
            slot_end_ms: start + 30 * 60_000,
            rules: pishkhan_domain::schedule::BookingRules::default(),
        };
        let book = |b: pishkhan_store::NewBooking| {
            let store = store.clone();
            let permit = permit.clone();
            async move {
                match store.create_booking(&permit, &b, &ctx(T0)).await.unwrap() {
                    pishkhan_store::Booked::New(b) => b,
                    other => panic!("{other:?}"),
                }
            }
        };
        // Person 9 holds A (now), B (in 20 days) and C (in 34 days): no two within 14 days.
        let a = book(booking_for(office, slot, 9)).await;
        let mut b = booking_for(office, slot + 20 * day, 9);
        b.service = ServiceCode::parse(nation.services[5].code.as_str()).unwrap();
        book(b).await;
        let mut c = booking_for(office, slot + 34 * day, 9);
        c.service = ServiceCode::parse(nation.services[6].code.as_str()).unwrap();
        book(c).await;
        // Someone else takes the one seat of the slot in two days.
        book(booking_for(office, slot + 2 * day, 8)).await;

        let code = &a.tracking_code;
        let same = store
            .reschedule_booking(&permit, code, &to(slot), &ctx(T0 + 1))
            .await;
        assert!(matches!(same, Err(StoreError::WrongState(_))), "{same:?}");
        let full = store
            .reschedule_booking(&permit, code, &to(slot + 2 * day), &ctx(T0 + 1))
            .await;
        assert!(matches!(full, Err(StoreError::SlotFull)), "{full:?}");
        // In 27 days, B and C are both within 14 days: a third visit.
        let limit = store
            .reschedule_booking(&permit, code, &to(slot + 27 * day), &ctx(T0 + 1))
            .await;
        assert!(
            matches!(limit, Err(StoreError::LimitReached { .. })),
            "{limit:?}"
        );
        // Nothing changed by the refusals.
        assert_eq!(
            store.slot_loads(office, slot, slot + 3 * day).await.unwrap(),
            vec![(slot, 1), (slot + 2 * day, 1)]
        );

        // The move itself: the booking keeps its code, the seat follows it.
        let moved = store
            .reschedule_booking(&permit, code, &to(slot + day), &ctx(T0 + 2))
            .await
            .unwrap();
        assert_eq!(&moved.tracking_code, code);
        assert_eq!(moved.slot_start_ms, slot + day);
        assert_eq!(store.booking(code).await.unwrap(), moved);
        let loads = store.slot_loads(office, slot, slot + 3 * day).await.unwrap();
        assert!(loads.contains(&(slot + day, 1)), "{loads:?}");
        assert!(!loads.iter().any(|(s, n)| *s == slot && *n > 0), "{loads:?}");

        // A cancelled booking can't be moved.
        store
            .cancel_booking(&permit, code, &ctx(T0 + 3))
            .await
            .unwrap();
        let gone = store
            .reschedule_booking(&permit, code, &to(slot + 3 * day), &ctx(T0 + 4))
            .await;
        assert!(
            matches!(&gone, Err(StoreError::WrongState(m)) if m.starts_with("only a booked appointment can be rescheduled")),
            "{gone:?}"
        );
    })
    .await;
}

/// Books `person` into `slot` at `office`: `Ok(())` when a new seat is taken.
async fn try_book(
    store: &dyn Store,
    office: OfficeCode,
    slot: i64,
    person: u32,
) -> Result<(), StoreError> {
    match store
        .create_booking(
            &system_book(office),
            &booking_for(office, slot, person),
            &ctx(T0),
        )
        .await?
    {
        pishkhan_store::Booked::New(_) => Ok(()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_changed_slot_policy_binds_the_very_next_booking() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        let (slot, other_slot) = (soon(), soon() + 3_600_000);
        set_capacity(store.as_ref(), office, 4).await;
        for person in 1..=3 {
            try_book(store.as_ref(), office, slot, person)
                .await
                .unwrap();
        }
        let mover = match store
            .create_booking(
                &system_book(office),
                &booking_for(office, other_slot, 9),
                &ctx(T0),
            )
            .await
            .unwrap()
        {
            pishkhan_store::Booked::New(b) => b,
            other => panic!("{other:?}"),
        };

        // The manager lowers the cap below the seats taken: no booking or move gets in, at
        // once (nothing waits out a cache).
        set_capacity(store.as_ref(), office, 2).await;
        let refused = try_book(store.as_ref(), office, slot, 4).await;
        assert!(matches!(refused, Err(StoreError::SlotFull)), "{refused:?}");
        let moved = store
            .reschedule_booking(
                &system_book(office),
                &mover.tracking_code,
                &pishkhan_store::NewSlot {
                    slot_start_ms: slot,
                    slot_end_ms: slot + 30 * 60_000,
                    rules: pishkhan_domain::schedule::BookingRules::default(),
                },
                &ctx(T0 + 1),
            )
            .await;
        assert!(matches!(moved, Err(StoreError::SlotFull)), "{moved:?}");
        assert_eq!(
            store.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 3)]
        );

        // Raised again, the slot takes exactly the new cap.
        set_capacity(store.as_ref(), office, 5).await;
        try_book(store.as_ref(), office, slot, 4).await.unwrap();
        try_book(store.as_ref(), office, slot, 5).await.unwrap();
        let full = try_book(store.as_ref(), office, slot, 6).await;
        assert!(matches!(full, Err(StoreError::SlotFull)), "{full:?}");
        assert_eq!(
            store.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 5)]
        );
    })
    .await;
}

#[tokio::test]
async fn counters_restricted_to_other_services_bind_the_very_next_booking() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation
            .offices
            .iter()
            .find(|o| o.counters >= 3)
            .expect("an office with three counters")
            .code;
        let psp = ServiceCode::parse("PSP-001").unwrap();
        let minutes = store.service(&psp).await.unwrap().avg_handling_minutes;
        let other = nation
            .services
            .iter()
            .find(|s| s.code != psp)
            .unwrap()
            .code
            .clone();
        // Slots as long as one PSP-001 visit and three bookable counters: three seats while
        // every counter handles every service.
        let policy = SlotPolicy {
            slot_minutes: minutes.clamp(SlotPolicy::MIN_SLOT_MINUTES, SlotPolicy::MAX_SLOT_MINUTES),
            occupancy_cap: 1000,
            booking_counters: 3,
        };
        assert_eq!(policy.capacity(minutes), 3, "set-up");
        set_policy(store.as_ref(), office, policy).await;
        let slot = soon();
        try_book(store.as_ref(), office, slot, 1).await.unwrap();
        try_book(store.as_ref(), office, slot, 2).await.unwrap();

        let set_counters = |counters: Vec<(u16, Option<Vec<ServiceCode>>)>| {
            let store = store.clone();
            async move {
                let permit =
                    regulator_permit(store.as_ref(), Action::ConfigureSchedule { office }).await;
                store
                    .set_office_counters(&permit, office, &counters, &ctx(T0))
                    .await
                    .unwrap();
            }
        };
        // Only counter 1 handles PSP-001 now: one seat, and two are taken.
        set_counters(vec![
            (1, Some(vec![psp.clone()])),
            (2, Some(vec![other.clone()])),
            (3, Some(vec![other.clone()])),
        ])
        .await;
        let refused = try_book(store.as_ref(), office, slot, 3).await;
        assert!(matches!(refused, Err(StoreError::SlotFull)), "{refused:?}");

        // Counter 2 handles every service again: two seats, still full.
        set_counters(vec![
            (1, Some(vec![psp.clone()])),
            (2, None),
            (3, Some(vec![other.clone()])),
        ])
        .await;
        let refused = try_book(store.as_ref(), office, slot, 3).await;
        assert!(matches!(refused, Err(StoreError::SlotFull)), "{refused:?}");

        // Every counter handles PSP-001: the third seat is free, and only it.
        set_counters(vec![(1, None), (2, None), (3, Some(vec![psp.clone()]))]).await;
        try_book(store.as_ref(), office, slot, 3).await.unwrap();
        let full = try_book(store.as_ref(), office, slot, 4).await;
        assert!(matches!(full, Err(StoreError::SlotFull)), "{full:?}");
        assert_eq!(
            store.slot_loads(office, slot, slot + 1).await.unwrap(),
            vec![(slot, 3)]
        );
    })
    .await;
}

fn auditor() -> pishkhan_domain::access::Permit {
    let regulator = StaffActor {
        id: 0,
        username: Username::parse("regulator").unwrap(),
        role: Role::Regulator,
        office: None,
        office_status: None,
    };
    authorize(&Principal::Staff(regulator), Action::ViewAuditLog).unwrap()
}

fn audit_of(action: &str) -> AuditFilter {
    AuditFilter {
        actor: None,
        action: Some(action.into()),
    }
}

#[tokio::test]
async fn a_survey_answer_is_audited_in_its_transaction() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        set_capacity(store.as_ref(), office, 5).await;
        let req = booking_for(office, soon(), 7);
        let pishkhan_store::Booked::New(b) = store
            .create_booking(&system_book(office), &req, &ctx(T0))
            .await
            .unwrap()
        else {
            panic!("replayed")
        };
        let queue = authorize(&operator_at(office), Action::OperateQueue { office }).unwrap();
        let survey = |n: u32| pishkhan_store::NewSurvey {
            tracking_code: b.tracking_code.clone(),
            token_hash: token_hash(&format!("survey-{n}")),
            office,
            service: b.service.clone(),
        };
        let append = pishkhan_store::QueueAppend {
            office,
            day: pishkhan_domain::JalaliDate::new(1404, 9, 7).unwrap(),
            first_seq: 0,
            events: vec![],
            effects: pishkhan_store::QueueEffects {
                surveys: vec![survey(1)],
                ..Default::default()
            },
        };
        store
            .append_queue_events(&queue, &append, &ctx(T0 + 1))
            .await
            .unwrap();
        let answers = || async {
            store
                .audit_log(&auditor(), &audit_of("survey.answer"), page(1, 10))
                .await
                .unwrap()
        };
        assert_eq!(answers().await.total, 0);

        let answered = store
            .record_survey_answer(&token_hash("survey-1"), 4, Some("kind staff"), &ctx(T0 + 2))
            .await
            .unwrap();
        assert_eq!(answered.rating, Some(4));
        let log = answers().await;
        assert_eq!(log.total, 1);
        let row = &log.items[0];
        assert_eq!(row.actor, format!("citizen:{}", req.national_code.as_str()));
        assert_eq!(row.target, format!("survey:{}", b.tracking_code.as_str()));
        assert_eq!(row.at_ms, T0 + 2);
        assert_eq!(row.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(row.request_id.as_deref(), Some("test-1"));
        // The rating is logged; the comment's text is not.
        assert_eq!(
            row.detail,
            serde_json::json!({ "rating": 4, "comment": true })
        );

        // A second answer is refused and audits nothing.
        let again = store
            .record_survey_answer(&token_hash("survey-1"), 1, None, &ctx(T0 + 3))
            .await;
        assert!(matches!(again, Err(StoreError::WrongState(_))), "{again:?}");
        assert_eq!(answers().await.total, 1);
        // An unknown link changes nothing and audits nothing.
        let unknown = store
            .record_survey_answer(&token_hash("nobody"), 5, None, &ctx(T0 + 3))
            .await;
        assert!(
            matches!(unknown, Err(StoreError::NotFound { .. })),
            "{unknown:?}"
        );
        assert_eq!(answers().await.total, 1);
    })
    .await;
}

/// Group commit of queue appends: one transaction for the batch, but each append stands or
/// falls on its own, and one that fails halfway leaves none of its rows.
#[tokio::test]
async fn a_queue_batch_commits_each_append_on_its_own() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let (a, b) = (nation.offices[0].code, nation.offices[1].code);
        let operator_of =
            |office| authorize(&operator_at(office), Action::OperateQueue { office }).unwrap();
        let day = pishkhan_domain::JalaliDate::new(1404, 9, 7).unwrap();
        let write =
            |office, permit_office, first_seq: u64, events: &[&str]| pishkhan_store::QueueWrite {
                permit: operator_of(permit_office),
                append: pishkhan_store::QueueAppend {
                    office,
                    day,
                    first_seq,
                    events: events.iter().map(|e| format!("\"{e}\"")).collect(),
                    effects: Default::default(),
                },
                ctx: ctx(T0),
            };
        let batch = [
            write(a, a, 0, &["a0", "a1"]),
            write(b, b, 1, &["b1"]),
            // Takes seq 0 of b, then finds seq 1 taken: none of it may stay.
            write(b, b, 0, &["b0", "clash"]),
            write(a, b, 2, &["not mine"]),
            write(a, a, 2, &["a2"]),
        ];
        let results = store.append_queue_batch(&batch).await.unwrap();
        assert_eq!(results.len(), 5, "{results:?}");
        assert!(
            results[0].is_ok() && results[1].is_ok() && results[4].is_ok(),
            "{results:?}"
        );
        assert!(
            matches!(results[2], Err(StoreError::Conflict { .. })),
            "{results:?}"
        );
        assert!(
            matches!(results[3], Err(StoreError::PermitMismatch)),
            "{results:?}"
        );
        let events = |office| {
            let store = store.clone();
            async move { store.queue_events(office, day).await.unwrap() }
        };
        assert_eq!(events(a).await, ["\"a0\"", "\"a1\"", "\"a2\""]);
        assert_eq!(events(b).await, ["\"b1\""]);

        // Too many appends for one batch: nothing is written.
        let many: Vec<_> = (0..=pishkhan_store::MAX_QUEUE_BATCH as u64)
            .map(|i| write(a, a, 3 + i, &["more"]))
            .collect();
        assert!(store.append_queue_batch(&many).await.is_err());
        assert_eq!(events(a).await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn a_citizen_sign_out_is_audited_in_its_transaction() {
    each_backend(|db| async move {
        let store = db.open().await;
        let national_code = NationalCode::from_body(123_456_789).unwrap();
        let mobile = Mobile::from_parts(912, 77).unwrap();
        let sign_in = |at: i64, session: &'static str| {
            let store = store.clone();
            let (national_code, mobile) = (national_code.clone(), mobile.clone());
            async move {
                let code_hash = token_hash(&format!("{}:{at}", national_code.as_str()));
                let request = pishkhan_store::OtpRequest {
                    national_code: national_code.clone(),
                    mobile: mobile.clone(),
                    code: "123456".into(),
                    code_hash: code_hash.clone(),
                    ttl_ms: 120_000,
                    min_interval_ms: 0,
                    max_per_window: 100,
                    window_ms: 3_600_000,
                };
                store.request_otp(&request, &ctx(at)).await.unwrap();
                let ok = store
                    .verify_otp(
                        &national_code,
                        &mobile,
                        &code_hash,
                        &token_hash(session),
                        3_600_000,
                        &ctx(at + 1),
                    )
                    .await
                    .unwrap();
                assert!(ok);
            }
        };
        let logouts = || async {
            store
                .audit_log(&auditor(), &audit_of("citizen.logout"), page(1, 10))
                .await
                .unwrap()
        };
        sign_in(T0, "citizen-session-1").await;
        assert!(
            store
                .citizen_session(&token_hash("citizen-session-1"), T0 + 2)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(logouts().await.total, 0);

        store
            .end_citizen_session(&token_hash("citizen-session-1"), &ctx(T0 + 3))
            .await
            .unwrap();
        assert_eq!(
            store
                .citizen_session(&token_hash("citizen-session-1"), T0 + 4)
                .await
                .unwrap(),
            None
        );
        let log = logouts().await;
        assert_eq!(log.total, 1);
        let row = &log.items[0];
        let citizen = format!("citizen:{}", national_code.as_str());
        assert_eq!(
            (row.actor.as_str(), row.target.as_str()),
            (citizen.as_str(), citizen.as_str())
        );
        assert_eq!(row.at_ms, T0 + 3);
        assert_eq!(row.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(row.request_id.as_deref(), Some("test-1"));

        // Ending it again, or an unknown session, changes and audits nothing.
        store
            .end_citizen_session(&token_hash("citizen-session-1"), &ctx(T0 + 5))
            .await
            .unwrap();
        store
            .end_citizen_session(&token_hash("never-issued"), &ctx(T0 + 5))
            .await
            .unwrap();
        assert_eq!(logouts().await.total, 1);
    })
    .await;
}

/// A connection that goes around the store, as an attacker with SQL access would.
async fn raw_connection(db: &TestDb) -> sqlx::AnyConnection {
    let raw_url = match db.backend() {
        Backend::Sqlite => format!("sqlite://{}", db.url().sqlite_path().unwrap()),
        Backend::Postgres => db.url().expose().to_string(),
    };
    sqlx::any::install_default_drivers();
    <sqlx::AnyConnection as sqlx::Connection>::connect(&raw_url)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bookings_creation_is_audited_by_its_own_row_which_cannot_be_edited() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        set_capacity(store.as_ref(), office, 10).await;
        let slot = soon();
        let staff = Principal::Staff(StaffActor {
            id: 7,
            username: Username::parse("operator").unwrap(),
            role: Role::Operator,
            office: Some(office),
            office_status: Some(OfficeStatus::Active),
        });
        let permit = authorize(&staff, Action::BookOnBehalf { office }).unwrap();
        let at = ctx(T0 + 5);
        let pishkhan_store::Booked::New(b) = store
            .create_booking(&permit, &booking_for(office, slot, 1), &at)
            .await
            .unwrap()
        else {
            panic!("replayed")
        };
        let log = store
            .audit_log(&auditor(), &audit_of("booking.staff"), page(1, 10))
            .await
            .unwrap();
        assert_eq!(log.total, 1, "{}", db.backend().name());
        let entry = &log.items[0];
        assert_eq!(entry.actor, "operator");
        assert_eq!(entry.at_ms, T0 + 5);
        assert_eq!(
            entry.target,
            format!("booking:{}", b.tracking_code.as_str())
        );
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(entry.request_id.as_deref(), Some("test-1"));
        assert_eq!(entry.detail["office"], office.to_string());
        assert_eq!(entry.detail["service"], "PSP-001");
        assert_eq!(entry.detail["slot_start_ms"], slot);
        // The staff id is kept too: filtering by actor finds it, and the row holds it.
        let by_actor = store
            .audit_log(
                &auditor(),
                &AuditFilter {
                    actor: Some("operator".into()),
                    action: None,
                },
                page(1, 10),
            )
            .await
            .unwrap();
        assert_eq!(by_actor.items, log.items);

        let mut conn = raw_connection(&db).await;
        let staff_id: i64 = sqlx::Row::get(
            &sqlx::query("SELECT actor_staff_id FROM bookings")
                .fetch_one(&mut conn)
                .await
                .unwrap(),
            "actor_staff_id",
        );
        assert_eq!(staff_id, 7);
        for sql in [
            "UPDATE bookings SET seq = seq + 1000",
            "UPDATE bookings SET tracking_code = 'XXXX-XXXX-XXXX'",
            "UPDATE bookings SET office_code = office_code + 1",
            "UPDATE bookings SET service_code = 'PSP-002'",
            "UPDATE bookings SET national_code = '0000000000'",
            "UPDATE bookings SET mobile = '09000000000'",
            "UPDATE bookings SET created_at_ms = 1",
            "UPDATE bookings SET created_by = 'someone else'",
            "UPDATE bookings SET idempotency_key = 'forged'",
            "UPDATE bookings SET actor_staff_id = 8",
            "UPDATE bookings SET client_ip = '10.0.0.1'",
            "UPDATE bookings SET request_id = 'forged'",
            "UPDATE bookings SET audit_action = 'booking.citizen'",
            "UPDATE bookings SET audit_action = NULL",
            "DELETE FROM bookings",
        ] {
            let r = sqlx::Executor::execute(&mut conn, sql).await;
            assert!(r.is_err(), "{} allowed `{sql}`", db.backend().name());
        }
        // What a booking's life changes stays changeable (each change is audited on its own).
        for sql in [
            "UPDATE bookings SET status = 'checked_in'",
            "UPDATE bookings SET slot_start_ms = slot_start_ms + 1, slot_end_ms = slot_end_ms + 1",
            "UPDATE bookings SET updated_at_ms = updated_at_ms + 1",
            "UPDATE bookings SET archived = 0",
        ] {
            sqlx::Executor::execute(&mut conn, sql)
                .await
                .unwrap_or_else(|e| panic!("{} refused `{sql}`: {e}", db.backend().name()));
        }
        let after = store
            .audit_log(&auditor(), &audit_of("booking.staff"), page(1, 10))
            .await
            .unwrap();
        assert_eq!(after.items[0].actor, "operator");
        assert_eq!(after.items[0].ip.as_deref(), Some("127.0.0.1"));
    })
    .await;
}

#[tokio::test]
async fn archived_bookings_leave_the_engines_memory_and_stay_listed() {
    each_backend(|db| async move {
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let office = nation.offices[0].code;
        set_capacity(store.as_ref(), office, 10).await;
        let slot = soon();
        let permit = system_book(office);
        let mut codes = Vec::new();
        for person in 0..3 {
            let pishkhan_store::Booked::New(b) = store
                .create_booking(&permit, &booking_for(office, slot, person), &ctx(T0))
                .await
                .unwrap()
            else {
                panic!("replayed")
            };
            codes.push(b.tracking_code);
        }
        store
            .cancel_booking(&permit, &codes[2], &ctx(T0 + 1))
            .await
            .unwrap();
        // Nothing is archived while its slot is within the memory horizon.
        assert_eq!(store.archive_bookings(soon(), 100).await.unwrap(), 0);
        let later = slot + 61 * 24 * 3_600_000;
        let archived = store.archive_bookings(later, 100).await.unwrap();
        match db.backend() {
            Backend::Sqlite => assert_eq!(archived, 3),
            Backend::Postgres => assert_eq!(archived, 0),
        }
        let check = |store: std::sync::Arc<dyn Store>| {
            let codes = codes.clone();
            async move {
                let listed = store.office_bookings(office, slot, slot + 1).await.unwrap();
                let mut listed: Vec<String> = listed
                    .into_iter()
                    .map(|b| b.tracking_code.as_str().to_string())
                    .collect();
                listed.sort();
                let mut want: Vec<String> = codes.iter().map(|c| c.as_str().to_string()).collect();
                want.sort();
                assert_eq!(listed, want);
                let mine = store
                    .citizen_bookings(&booking_for(office, slot, 2).national_code)
                    .await
                    .unwrap();
                assert_eq!(mine.len(), 1);
                assert_eq!(mine[0].tracking_code, codes[2]);
                assert_eq!(
                    mine[0].status,
                    pishkhan_domain::schedule::BookingStatus::Cancelled
                );
            }
        };
        check(store.clone()).await;
        drop(store);
        // After a restart the archived rows are not rebuilt into memory and are still listed.
        let store = db.open().await;
        check(store.clone()).await;
        assert_eq!(store.archive_bookings(later, 100).await.unwrap(), 0);
        // A booking made after the archive is listed beside the archived ones.
        let pishkhan_store::Booked::New(b) = store
            .create_booking(&permit, &booking_for(office, slot, 9), &ctx(T0))
            .await
            .unwrap()
        else {
            panic!("replayed")
        };
        let listed = store.office_bookings(office, slot, slot + 1).await.unwrap();
        assert_eq!(listed.len(), 4);
        assert!(listed.iter().any(|x| x.tracking_code == b.tracking_code));
    })
    .await;
}

#[tokio::test]
async fn published_tariffs_refuse_every_change_at_the_database() {
    use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff};
    use pishkhan_domain::money::Rials;
    for db in TestDb::all().await {
        let be = db.backend().name();
        let store = db.open().await;
        let nation = load_small_nation(store.as_ref()).await;
        let service = nation.services[0].code.clone();
        let permit = pishkhan_domain::access::authorize(
            &pishkhan_domain::access::Principal::System { reason: "test" },
            Action::PublishTariff,
        )
        .unwrap();
        let tariff = NewTariff::new(
            service.clone(),
            pishkhan_domain::JalaliDate::parse("1405-01-01").unwrap(),
            vec![
                FeeComponent {
                    kind: FeeKind::GovernmentFee,
                    amount: Rials::new(100_000).unwrap(),
                },
                FeeComponent {
                    kind: FeeKind::Vat,
                    amount: Rials::new(5_000).unwrap(),
                },
            ],
            "test",
        )
        .unwrap();
        store
            .publish_tariffs(&permit, std::slice::from_ref(&tariff), &ctx(T0))
            .await
            .unwrap();
        // The same service and date again is a conflict, and nothing of it is written.
        assert!(matches!(
            store
                .publish_tariffs(&permit, std::slice::from_ref(&tariff), &ctx(T0))
                .await,
            Err(StoreError::Conflict { .. })
        ));
        let mut conn = raw_connection(&db).await;
        // Every stored column of both tables, and deletion.
        for sql in [
            "UPDATE tariffs SET service_code = service_code || 'x'",
            "UPDATE tariffs SET effective_from = '1404-01-01'",
            "UPDATE tariffs SET fiscal_year = 1",
            "UPDATE tariffs SET total_rials = 1",
            "UPDATE tariffs SET basis = 'other'",
            "UPDATE tariffs SET published_by = 'someone'",
            "UPDATE tariffs SET published_at_ms = 1",
            "DELETE FROM tariffs",
            "UPDATE tariff_components SET service_code = 'x'",
            "UPDATE tariff_components SET effective_from = '1404-01-01'",
            "UPDATE tariff_components SET kind = 'counter_fee'",
            "UPDATE tariff_components SET amount_rials = 1",
            "DELETE FROM tariff_components",
        ] {
            let r = sqlx::Executor::execute(&mut conn, sql).await;
            assert!(r.is_err(), "{be} allowed `{sql}`");
        }
        let kept = store
            .tariff_on(
                &service,
                pishkhan_domain::JalaliDate::parse("1405-06-01").unwrap(),
            )
            .await
            .unwrap()
            .expect("the tariff");
        assert_eq!(kept.total().get(), 105_000, "{be}");
        assert_eq!(kept.components.len(), 2, "{be}");
    }
}
