use std::collections::HashMap;

use pishkhan_agency::Service;
use pishkhan_demo::ReferenceAgency;
use pishkhan_exchange::directory::Denial;
use pishkhan_exchange::{
    AccessRight, ClientSelector, Directory, DirectoryConfig, DirectoryHandle, Limits, Member,
    MemberId, MemberKey, MemberKind, MemberStatus, ServiceId,
};
use pishkhan_sign::{ConfigEnvelope, KeyStatus, unix_now};
use serde_json::json;

use crate::common::*;

fn reference() -> DirectoryConfig {
    let urls: HashMap<_, _> = ReferenceAgency::ALL
        .iter()
        .enumerate()
        .map(|(i, &a)| (a, format!("http://127.0.0.1:{}", 9000 + i)))
        .collect();
    pishkhan_demo::reference_directory(&params(&urls, Limits::default()))
}

#[test]
fn member_and_service_ids_parse_strictly() {
    let members = [
        ("agency:sabt", Some(MemberKind::Agency)),
        ("office:11000001", Some(MemberKind::Office)),
        ("exchange:central", Some(MemberKind::Exchange)),
        ("agency:a.b_c-1", Some(MemberKind::Agency)),
        ("agency:", None),
        ("regulator:x", None),
        ("Agency:sabt", None),
        ("agency:Sabt", None),
        ("agency:-sabt", None),
        ("agency:sa bt", None),
        ("sabt", None),
        ("office:11000001\n", None),
    ];
    for (text, kind) in members {
        let parsed = MemberId::parse(text);
        assert_eq!(parsed.as_ref().ok().map(MemberId::kind), kind, "{text:?}");
    }
    let long = format!("agency:{}", "a".repeat(65));
    assert!(MemberId::parse(&long).is_err());
    assert_eq!(member("office:11000001").code(), "11000001");

    for (text, ok) in [
        ("civil-registry.person", true),
        ("mobile.ownership", true),
        ("ab", false),
        ("Civil.person", false),
        ("1abc", false),
        ("abc.", false),
        ("a_b_c", false),
    ] {
        assert_eq!(ServiceId::parse(text).is_ok(), ok, "{text:?}");
    }
}

#[test]
fn a_signed_directory_verifies_and_refuses_tampering_rollback_and_expiry() {
    let config = reference();
    let token = sign(&config, 7);
    let ring = regulator_ring();
    let now = unix_now();
    let dir = Directory::verify(&token, &ring, Some(7), now).unwrap();
    assert_eq!(dir.version(), 7);
    assert_eq!(dir.config(), &config);
    // The keyring binds every member key to its owner.
    let sabt = key(agency_seed(ReferenceAgency::CivilRegistry));
    assert_eq!(
        dir.keyring().get(sabt.kid()).unwrap().owner.as_deref(),
        Some("agency:sabt")
    );

    let rollback = Directory::verify(&token, &ring, Some(8), now).unwrap_err();
    assert_eq!(rollback.code(), "rollback");

    let expired = Directory::verify(&token, &ring, None, now + 7200).unwrap_err();
    assert_eq!(expired.code(), "expired");

    // Signed by someone else than the regulator.
    let envelope = ConfigEnvelope {
        version: 9,
        issued_at: now - 1,
        expires_at: now + 60,
        config: config.clone(),
    };
    let forged = Directory::sign(&envelope, &key(77)).unwrap();
    assert_eq!(
        Directory::verify(&forged, &ring, None, now)
            .unwrap_err()
            .code(),
        "unknown_key"
    );

    // One changed payload byte breaks the signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = parts[1].clone().into_bytes();
    payload[40] = if payload[40] == b'A' { b'B' } else { b'A' };
    parts[1] = String::from_utf8(payload).unwrap();
    let tampered = parts.join(".");
    assert!(Directory::verify(&tampered, &ring, None, now).is_err());
}

#[test]
fn the_reference_directory_is_complete_and_small_enough() {
    let config = reference();
    let token = sign(&config, 1);
    assert!(
        token.len() < pishkhan_sign::jws::MAX_TOKEN_LEN / 2,
        "{} bytes",
        token.len()
    );
    let dir = verified(&config, 1);
    for s in Service::ALL {
        let id = service(s);
        let published = dir.service(&id).unwrap();
        assert_eq!(published.path, s.path());
        assert_eq!(published.agency, ReferenceAgency::of(s).member_id());
        assert_eq!(dir.service_at(&published.agency, s.path()).unwrap().id, id);
        let right = dir.right_for(&id, &member(OFFICE)).unwrap();
        assert_eq!(right.client, ClientSelector::AllActiveOffices);
        assert_eq!(&right.required_by, &required_by()[&id]);
    }
    assert!(
        dir.service(&service(Service::MobileOwnership))
            .unwrap()
            .yes_no
    );
    // No right for agencies or exchanges as clients.
    assert!(
        dir.right_for(
            &service(Service::CivilRegistryPerson),
            &member("agency:post")
        )
        .is_none()
    );
}

#[test]
fn invalid_directories_are_refused_with_a_reason() {
    type Change = fn(&mut DirectoryConfig);
    let cases: [(&str, Change); 12] = [
        ("kind", |c| c.members[0].kind = MemberKind::Office),
        ("listed twice", |c| {
            let m = c.members[1].clone();
            c.members.push(m);
        }),
        ("base_url", |c| c.members[1].base_url = None),
        ("base_url", |c| {
            c.members[1].base_url = Some("http://127.0.0.1:1/prefix".into())
        }),
        ("not a listed agency", |c| {
            c.services[0].agency = member("agency:nobody")
        }),
        ("request_schema", |c| {
            c.services[0].request_schema = json!({"type": "object", "pattern": "x"})
        }),
        ("yes/no", |c| {
            let i = c.services.iter().position(|s| s.yes_no).unwrap();
            c.services[i].response_schema = json!({"type": "object"});
        }),
        ("allowed attribute", |c| {
            c.rights[0].allowed_attributes.push("secret".into())
        }),
        ("canonical catalogue", |c| {
            c.rights[0].required_by = vec!["sr001".into()]
        }),
        ("unlisted member", |c| {
            c.rights[0].client = ClientSelector::Member(member("office:99"))
        }),
        ("retry_budget_ratio", |c| c.limits.retry_budget_ratio = 2.0),
        ("already registered", |c| {
            let k = c.members[1].keys[0].clone();
            c.members[2].keys.push(k);
        }),
    ];
    let now = unix_now();
    for (needle, change) in cases {
        let mut config = reference();
        change(&mut config);
        let envelope = ConfigEnvelope {
            version: 1,
            issued_at: now - 1,
            expires_at: now + 60,
            config,
        };
        let err = Directory::sign(&envelope, &key(REGULATOR_SEED)).unwrap_err();
        assert_eq!(err.code(), "invalid_directory", "{needle}: {err}");
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[test]
fn rights_apply_most_specific_first_and_respect_suspension() {
    let mut config = reference();
    let person = service(Service::CivilRegistryPerson);
    let special = member("office:11000002");
    let suspended = member("office:11000003");
    for (id, status) in [
        (&special, MemberStatus::Active),
        (&suspended, MemberStatus::Suspended),
    ] {
        config.members.push(Member {
            id: id.clone(),
            kind: MemberKind::Office,
            name_fa: "دفتر پیشخوان".into(),
            name_en: "Pishkhan office".into(),
            status,
            base_url: None,
            keys: vec![],
        });
    }
    config.rights.push(AccessRight {
        service: person.clone(),
        client: ClientSelector::Member(special.clone()),
        allowed_attributes: vec!["found".into(), "first_name".into()],
        required_by: vec!["SR099".into()],
    });
    let dir = verified(&config, 1);

    let own = dir.authorize(&person, &special, "SR099").unwrap();
    assert_eq!(own.allowed_attributes, ["found", "first_name"]);
    // Its own right replaces the all-offices one, including its required_by.
    assert_eq!(
        dir.authorize(&person, &special, "SR001").unwrap_err(),
        Denial::NotRequiredBy
    );
    assert!(dir.authorize(&person, &member(OFFICE), "SR001").is_ok());
    assert_eq!(
        dir.authorize(&person, &member(OFFICE), "SR004")
            .unwrap_err(),
        Denial::NotRequiredBy
    );
    assert_eq!(
        dir.authorize(&person, &suspended, "SR001").unwrap_err(),
        Denial::ClientSuspended
    );
    assert_eq!(
        dir.authorize(&person, &member("agency:post"), "SR001")
            .unwrap_err(),
        Denial::NoRight
    );
    assert_eq!(
        dir.authorize(
            &ServiceId::parse("no.such").unwrap(),
            &member(OFFICE),
            "SR001"
        )
        .unwrap_err(),
        Denial::UnknownService
    );
}

#[test]
fn the_handle_refuses_rollback_and_keeps_revocations() {
    let mut config = reference();
    let handle = DirectoryHandle::new(verified(&config, 2));
    let exchange_kid = key(EXCHANGE_SEED).kid().to_owned();

    assert_eq!(
        handle.replace(verified(&config, 1)).unwrap_err().code(),
        "rollback"
    );

    set_exchange_keys(
        &mut config,
        vec![MemberKey::new(
            &key(EXCHANGE_SEED).public(),
            KeyStatus::Revoked,
        )],
    );
    handle.replace(verified(&config, 3)).unwrap();
    assert!(handle.current().keyring().is_revoked(&exchange_kid));

    // A later directory listing the key as active again does not bring it back.
    set_exchange_keys(
        &mut config,
        vec![MemberKey::new(
            &key(EXCHANGE_SEED).public(),
            KeyStatus::Active,
        )],
    );
    let token = sign(&config, 4);
    assert_eq!(
        handle
            .update(&token, &regulator_ring(), unix_now())
            .unwrap(),
        4
    );
    assert!(
        handle
            .current()
            .keyring()
            .verifying_entry(&exchange_kid)
            .is_none()
    );
}
