use pishkhan_agency::Service;
use pishkhan_exchange::{
    AccessRight, ClientSelector, InquiryError, LogEntry, LogOutcome, Member, MemberKind,
    MemberStatus, Purpose,
};
use pishkhan_sign::MessageClaims;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::common::*;

#[tokio::test]
async fn civil_registry_person_by_national_code() {
    let world = World::start(fast_limits(), |_| {}).await;
    for person in world.population.sample(6) {
        let code = person.national_code.as_str();
        let inquiry = inquiry(
            Service::CivilRegistryPerson,
            "SR001",
            json!({"national_code": code}),
        );
        let outcome = world.exchange.inquire(&inquiry).await.unwrap();
        assert_eq!(outcome.status, 200);
        assert_eq!(outcome.attempts, 1);
        assert_eq!(outcome.agency, member("agency:sabt"));
        let b = &outcome.body;
        assert_eq!(b["found"], true);
        assert_eq!(b["national_code"], code);
        assert_eq!(b["first_name"], person.first_name);
        assert_eq!(b["last_name"], person.last_name);
        assert_eq!(b["father_name"], person.father_name);
        assert_eq!(b["card_status"], person.card_status.as_str());
        assert_eq!(b["alive"], person.alive);
        assert_eq!(outcome.yes_no, None);

        // The outcome's evidence: the request hash is of the bytes sent, and the agency's
        // signature names this exchange, the request nonce and the answer's hash.
        let sent = serde_json::to_vec(&inquiry.body).unwrap();
        assert_eq!(outcome.request_sha256, hex::encode(Sha256::digest(&sent)));
        let claims: MessageClaims = {
            let payload = outcome.response_signature.split('.').nth(1).unwrap();
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                    .unwrap();
            serde_json::from_slice(&bytes).unwrap()
        };
        assert_eq!(claims.sender, "agency:sabt");
        assert_eq!(claims.recipient, "exchange:central");
        assert_eq!(
            claims.request_nonce.as_deref(),
            Some(outcome.request_nonce.as_str())
        );
        assert_eq!(claims.status, Some(200));
        use base64::Engine as _;
        let signed_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&claims.body_sha256)
            .unwrap();
        assert_eq!(hex::encode(signed_hash), outcome.response_sha256);
    }

    // A well-formed national code of nobody in the population is a normal answer.
    let outcome = world
        .exchange
        .inquire(&inquiry(
            Service::CivilRegistryPerson,
            "SR010",
            json!({"national_code": "0012345679"}),
        ))
        .await
        .unwrap();
    assert_eq!(outcome.status, 200);
    assert!(outcome.body["found"].is_boolean());
}

#[tokio::test]
async fn mobile_ownership_answers_yes_and_no() {
    let world = World::start(fast_limits(), |_| {}).await;
    let people: Vec<_> = world
        .population
        .sample(40)
        .into_iter()
        .filter(|p| p.mobile.is_some())
        .take(2)
        .collect();
    assert_eq!(people.len(), 2);
    let ask = |who: usize, whose_mobile: usize| {
        inquiry(
            Service::MobileOwnership,
            "SR002",
            json!({
                "national_code": people[who].national_code.as_str(),
                "mobile": people[whose_mobile].mobile.as_ref().unwrap().as_str(),
            }),
        )
    };
    let yes = world.exchange.inquire(&ask(0, 0)).await.unwrap();
    assert_eq!(yes.yes_no, Some(true));
    assert_eq!(yes.body, json!({"match": true}));
    let no = world.exchange.inquire(&ask(0, 1)).await.unwrap();
    assert_eq!(no.yes_no, Some(false));
    assert_eq!(no.body, json!({"match": false}));
}

#[tokio::test]
async fn answers_are_minimised_to_the_allowed_attributes() {
    let limited = member("office:11000002");
    let world = World::start(fast_limits(), |c| {
        c.members.push(Member {
            id: limited.clone(),
            kind: MemberKind::Office,
            name_fa: "دفتر پیشخوان ۲".into(),
            name_en: "Office 2".into(),
            status: MemberStatus::Active,
            base_url: None,
            keys: vec![],
        });
        c.rights.push(AccessRight {
            service: service(Service::CivilRegistryPerson),
            client: ClientSelector::Member(limited.clone()),
            allowed_attributes: vec!["found".into(), "alive".into()],
            required_by: vec!["SR001".into()],
        });
    })
    .await;
    let person = &world.population.sample(3)[2];
    let mut q = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": person.national_code.as_str()}),
    );
    let full = world.exchange.inquire(&q).await.unwrap();
    assert!(full.body.get("first_name").is_some());

    q.office = limited;
    let minimised = world.exchange.inquire(&q).await.unwrap();
    assert_eq!(
        minimised.body,
        json!({"found": true, "alive": person.alive})
    );
    // The hash is still of what the agency signed, so the log can prove it.
    assert_eq!(minimised.response_sha256.len(), 64);
}

#[tokio::test]
async fn inquiries_are_refused_before_sending_with_stable_codes() {
    let suspended = member("office:11000009");
    let world = World::start(fast_limits(), |c| {
        c.members.push(Member {
            id: suspended.clone(),
            kind: MemberKind::Office,
            name_fa: "دفتر تعلیق‌شده".into(),
            name_en: "Suspended office".into(),
            status: MemberStatus::Suspended,
            base_url: None,
            keys: vec![],
        });
    })
    .await;
    let code = world.population.sample(1)[0]
        .national_code
        .as_str()
        .to_owned();
    let base = || {
        inquiry(
            Service::CivilRegistryPerson,
            "SR001",
            json!({"national_code": code}),
        )
    };

    type Change = Box<dyn Fn(&mut pishkhan_exchange::Inquiry)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "unknown_service",
            Box::new(|q| q.service = pishkhan_exchange::ServiceId::parse("no.such").unwrap()),
        ),
        ("office_suspended", Box::new(|q| q.office_active = false)),
        (
            "office_suspended",
            Box::new(move |q| q.office = suspended.clone()),
        ),
        (
            "inquiry_not_allowed",
            Box::new(|q| {
                q.catalogue_service = "SR004".into();
                q.purpose = purpose("SR004");
            }),
        ),
        (
            "inquiry_not_allowed",
            Box::new(|q| q.catalogue_service = "??".into()),
        ),
        (
            "inquiry_not_allowed",
            Box::new(|q| q.office = member("agency:post")),
        ),
        (
            "invalid_purpose",
            Box::new(|q| q.purpose = purpose("SR010")),
        ),
        ("invalid_request", Box::new(|q| q.body = json!({}))),
        (
            "invalid_request",
            Box::new(|q| q.body = json!({"national_code": 1234567890})),
        ),
        (
            "invalid_request",
            Box::new(|q| q.body = json!({"national_code": "0", "name": "x"})),
        ),
        (
            "invalid_request",
            Box::new(|q| q.body = json!({"national_code": "1".repeat(33)})),
        ),
        (
            "request_too_large",
            Box::new(|q| q.body = json!({"national_code": "1".repeat(20_000)})),
        ),
    ];
    for (expected, change) in cases {
        let mut q = base();
        change(&mut q);
        let err = world.exchange.inquire(&q).await.unwrap_err();
        assert_eq!(err.code(), expected, "{err}");
        assert_eq!(err.attempts(), 0);
        assert!(err.outcome().is_none());
        let entry = world.exchange.log_entry(&q, &Err(err), 1);
        assert_eq!(entry.outcome, LogOutcome::Refused);
        assert_eq!(entry.error_code.as_deref(), Some(expected));
    }
    // A request without a purpose cannot even be built.
    let missing = Purpose::parse(&Default::default()).unwrap_err();
    assert_eq!(missing.code(), "missing_purpose");
    // The untouched inquiry goes through.
    assert!(world.exchange.inquire(&base()).await.is_ok());
}

#[tokio::test]
async fn an_agency_refusal_is_signed_and_reported() {
    let world = World::start(fast_limits(), |_| {}).await;
    // Passes the schema (a string of at most 32 characters) but not the agency's checksum.
    let q = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": "1234567890"}),
    );
    let err = world.exchange.inquire(&q).await.unwrap_err();
    let InquiryError::AgencyRefused { code, outcome } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(code, "invalid_national_code");
    assert_eq!(outcome.status, 422);
    assert_eq!(outcome.body["code"], "invalid_national_code");
    assert!(!outcome.response_signature.is_empty());
    let signature = outcome.response_signature.clone();
    let entry = world.exchange.log_entry(&q, &Err(err), 5);
    assert_eq!(entry.outcome, LogOutcome::Refused);
    assert_eq!(entry.status, Some(422));
    assert_eq!(entry.response_signature, Some(signature));
}

#[tokio::test]
async fn log_entries_keep_bodies_only_where_the_directory_says() {
    let world = World::start(fast_limits(), |_| {}).await;
    let person = world
        .population
        .sample(20)
        .into_iter()
        .find(|p| p.mobile.is_some())
        .unwrap();
    // Persian digits: the subject is logged in canonical form.
    let persian: String = person
        .national_code
        .as_str()
        .chars()
        .map(|c| char::from_u32(0x06F0 + c.to_digit(10).unwrap()).unwrap())
        .collect();

    let q = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": persian}),
    );
    let result = world.exchange.inquire(&q).await;
    let outcome = result.as_ref().unwrap().clone();
    let entry = world.exchange.log_entry(&q, &result, 1_700_000_000_000);
    assert_eq!(
        entry.subject.as_deref(),
        Some(person.national_code.as_str())
    );
    assert_eq!(entry.outcome, LogOutcome::Ok);
    assert_eq!(entry.status, Some(200));
    assert_eq!(entry.request_sha256, outcome.request_sha256);
    assert_eq!(
        entry.response_sha256.as_deref(),
        Some(outcome.response_sha256.as_str())
    );
    assert_eq!(
        entry.request_nonce.as_deref(),
        Some(outcome.request_nonce.as_str())
    );
    assert_eq!(entry.agency, Some(member("agency:sabt")));
    assert_eq!(entry.operator, "operator.ali");
    assert_eq!(entry.purpose.service_code, "SR001");
    // civil-registry.person does not keep bodies.
    assert_eq!(entry.request_body, None);
    assert_eq!(entry.response_body, None);
    let bytes = entry.to_canonical_bytes();
    assert_eq!(LogEntry::from_canonical_bytes(&bytes).unwrap(), entry);

    // mobile.ownership does.
    let q = inquiry(
        Service::MobileOwnership,
        "SR002",
        json!({"national_code": person.national_code.as_str(),
               "mobile": person.mobile.as_ref().unwrap().as_str()}),
    );
    let result = world.exchange.inquire(&q).await;
    let entry = world.exchange.log_entry(&q, &result, 1_700_000_000_001);
    assert_eq!(entry.request_body, Some(q.body.clone()));
    assert_eq!(entry.response_body, Some(json!({"match": true})));
    assert!(
        !String::from_utf8(entry.to_canonical_bytes())
            .unwrap()
            .contains(": ")
    );
    let _: Value = serde_json::from_slice(&entry.to_canonical_bytes()).unwrap();
}
