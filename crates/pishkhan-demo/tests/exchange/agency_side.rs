//! The agency's envelope, exercised by sending requests directly with reqwest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pishkhan_agency::Service;
use pishkhan_demo::ReferenceAgency;
use pishkhan_exchange::wire::{RequestParts, SignedRequest, sign_request};
use pishkhan_exchange::{
    InquiryError, Member, MemberId, MemberKey, MemberKind, MemberStatus, Purpose,
};
use pishkhan_sign::{Expectation, KeyPair, KeyStatus, unix_now, verify_message};
use serde_json::{Value, json};

use crate::common::*;

struct Sent {
    status: u16,
    code: Option<String>,
    signature: Option<String>,
    body: Vec<u8>,
}

async fn send(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Sent {
    let mut req = http().post(url).header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.body(body.to_vec()).send().await.unwrap();
    let status = resp.status().as_u16();
    let signature = resp
        .headers()
        .get("pishkhan-signature")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.bytes().await.unwrap().to_vec();
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
    Sent {
        status,
        code,
        signature,
        body,
    }
}

fn headers(signed: &SignedRequest) -> Vec<(&str, &str)> {
    vec![
        ("pishkhan-signature", signed.signature.as_str()),
        ("pishkhan-client", signed.client.as_str()),
        ("pishkhan-purpose", signed.purpose.as_str()),
    ]
}

/// `route` is (sender, recipient, path).
fn signed(
    key: &KeyPair,
    (sender, recipient, path): (&MemberId, &MemberId, &str),
    client: &MemberId,
    purpose: &Purpose,
    body: &[u8],
    now: i64,
) -> SignedRequest {
    sign_request(
        key,
        &RequestParts {
            sender,
            recipient,
            path,
            client,
            purpose,
            body,
        },
        now,
    )
    .unwrap()
}

/// A request from the exchange to the civil registry, signed with `key`.
fn person_request(key: &KeyPair, body: &[u8]) -> SignedRequest {
    signed(
        key,
        (
            &exchange_id(),
            &member("agency:sabt"),
            Service::CivilRegistryPerson.path(),
        ),
        &member(OFFICE),
        &purpose("SR001"),
        body,
        unix_now(),
    )
}

#[tokio::test]
async fn unsigned_forged_and_tampered_requests_are_refused() {
    let world = World::start(fast_limits(), |_| {}).await;
    let url = world.url(ReferenceAgency::CivilRegistry, Service::CivilRegistryPerson);
    let code = world.population.sample(1)[0]
        .national_code
        .as_str()
        .to_owned();
    let body = json!({"national_code": code}).to_string();
    let other_body =
        json!({"national_code": world.population.sample(2)[1].national_code.as_str()}).to_string();
    let good = person_request(&key(EXCHANGE_SEED), body.as_bytes());
    let forged = person_request(&key(99), body.as_bytes());
    let stale = signed(
        &key(EXCHANGE_SEED),
        (
            &exchange_id(),
            &member("agency:sabt"),
            Service::CivilRegistryPerson.path(),
        ),
        &member(OFFICE),
        &purpose("SR001"),
        body.as_bytes(),
        unix_now() - 3600,
    );
    let for_post = signed(
        &key(EXCHANGE_SEED),
        (
            &exchange_id(),
            &member("agency:post"),
            Service::CivilRegistryPerson.path(),
        ),
        &member(OFFICE),
        &purpose("SR001"),
        body.as_bytes(),
        unix_now(),
    );
    let other_purpose = purpose("SR010").to_header_value();
    let g = headers(&good);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [u8], u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no headers",
            vec![],
            body.as_bytes(),
            401,
            "unsigned_request",
        ),
        (
            "no signature",
            vec![g[1], g[2]],
            body.as_bytes(),
            401,
            "unsigned_request",
        ),
        (
            "no client",
            vec![g[0], g[2]],
            body.as_bytes(),
            400,
            "missing_client",
        ),
        (
            "bad client",
            vec![g[0], ("pishkhan-client", "nobody"), g[2]],
            body.as_bytes(),
            400,
            "invalid_client",
        ),
        (
            "no purpose",
            vec![g[0], g[1]],
            body.as_bytes(),
            400,
            "missing_purpose",
        ),
        (
            "unknown key",
            headers(&forged),
            body.as_bytes(),
            401,
            "unknown_key",
        ),
        (
            "body swapped",
            g.clone(),
            other_body.as_bytes(),
            401,
            "bad_signature",
        ),
        (
            "client swapped",
            vec![g[0], ("pishkhan-client", "office:11000002"), g[2]],
            body.as_bytes(),
            401,
            "bad_signature",
        ),
        (
            "purpose swapped",
            vec![g[0], g[1], ("pishkhan-purpose", &other_purpose)],
            body.as_bytes(),
            401,
            "bad_signature",
        ),
        (
            "garbage signature",
            vec![("pishkhan-signature", "a.b.c"), g[1], g[2]],
            body.as_bytes(),
            401,
            "bad_signature",
        ),
        (
            "other recipient",
            headers(&for_post),
            body.as_bytes(),
            401,
            "wrong_recipient",
        ),
        (
            "stale",
            headers(&stale),
            body.as_bytes(),
            401,
            "stale_request",
        ),
    ];
    for (name, h, b, status, code) in cases {
        let sent = send(&url, &h, b).await;
        assert_eq!(
            (sent.status, sent.code.as_deref()),
            (status, Some(code)),
            "{name}"
        );
        // Every refusal is signed by the agency too.
        assert!(sent.signature.is_some(), "{name}");
    }
    // The untouched request is answered, and the answer's signature verifies against the
    // request that was sent.
    let sent = send(&url, &g, body.as_bytes()).await;
    assert_eq!(sent.status, 200);
    let dir = world.exchange.directory().current();
    let claims = verify_message(
        sent.signature.as_deref().unwrap(),
        dir.keyring(),
        &Expectation::response(&good.claims, &sent.body, 200),
        unix_now(),
        60,
    )
    .unwrap();
    assert_eq!(claims.sender, "agency:sabt");
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let world = World::start(fast_limits(), |_| {}).await;
    let url = world.url(ReferenceAgency::CivilRegistry, Service::CivilRegistryPerson);
    let body =
        json!({"national_code": world.population.sample(1)[0].national_code.as_str()}).to_string();
    let captured = person_request(&key(EXCHANGE_SEED), body.as_bytes());
    let first = send(&url, &headers(&captured), body.as_bytes()).await;
    assert_eq!(first.status, 200);
    let again = send(&url, &headers(&captured), body.as_bytes()).await;
    assert_eq!(
        (again.status, again.code.as_deref()),
        (401, Some("replayed"))
    );
    // The refusal answers the replayed request's nonce, signed by the agency.
    let dir = world.exchange.directory().current();
    verify_message(
        again.signature.as_deref().unwrap(),
        dir.keyring(),
        &Expectation::response(&captured.claims, &again.body, 401),
        unix_now(),
        60,
    )
    .unwrap();
    // The same capture sent to another agency is refused there too.
    let post = world.url(ReferenceAgency::Post, Service::PostalAddress);
    let elsewhere = send(&post, &headers(&captured), body.as_bytes()).await;
    assert_eq!(elsewhere.code.as_deref(), Some("wrong_recipient"));
}

#[tokio::test]
async fn the_agency_checks_sender_client_rights_and_purpose() {
    let suspended = member("office:11000009");
    let office_with_key = member("office:11000005");
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
        c.members.push(Member {
            id: office_with_key.clone(),
            kind: MemberKind::Office,
            name_fa: "دفتر با کلید".into(),
            name_en: "Office with its own key".into(),
            status: MemberStatus::Active,
            base_url: None,
            keys: vec![MemberKey::new(&key(50).public(), KeyStatus::Active)],
        });
    })
    .await;
    let url = world.url(ReferenceAgency::CivilRegistry, Service::CivilRegistryPerson);
    let body =
        json!({"national_code": world.population.sample(1)[0].national_code.as_str()}).to_string();
    let path = Service::CivilRegistryPerson.path();
    let sabt = member("agency:sabt");
    let ex = exchange_id();
    let k = key(EXCHANGE_SEED);
    let b = body.as_bytes();
    let now = unix_now();

    let cases: Vec<(&str, SignedRequest, u16, &str)> = vec![
        (
            "catalogue service not in required_by",
            signed(
                &k,
                (&ex, &sabt, path),
                &member(OFFICE),
                &purpose("SR004"),
                b,
                now,
            ),
            403,
            "not_allowed",
        ),
        (
            "suspended office",
            signed(
                &k,
                (&ex, &sabt, path),
                &suspended,
                &purpose("SR001"),
                b,
                now,
            ),
            403,
            "not_allowed",
        ),
        (
            "an agency as client",
            signed(
                &k,
                (&ex, &sabt, path),
                &member("agency:post"),
                &purpose("SR001"),
                b,
                now,
            ),
            403,
            "not_allowed",
        ),
        (
            "an office signing for another office",
            signed(
                &key(50),
                (&office_with_key, &sabt, path),
                &member(OFFICE),
                &purpose("SR001"),
                b,
                now,
            ),
            403,
            "not_allowed",
        ),
        (
            "an office signing for itself",
            signed(
                &key(50),
                (&office_with_key, &sabt, path),
                &office_with_key,
                &purpose("SR001"),
                b,
                now,
            ),
            200,
            "",
        ),
        (
            "the exchange for an unlisted office",
            signed(
                &k,
                (&ex, &sabt, path),
                &member("office:22000001"),
                &purpose("SR010"),
                b,
                now,
            ),
            200,
            "",
        ),
    ];
    for (name, request, status, code) in cases {
        let sent = send(&url, &headers(&request), b).await;
        assert_eq!(sent.status, status, "{name}");
        assert_eq!(sent.code.as_deref().unwrap_or(""), code, "{name}");
    }

    // A purpose header that decodes but is invalid, correctly signed.
    let bad_purpose = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({"legal_basis": "x", "service_code": "SR001", "case_id": "1", "operator": "o"})
                .to_string(),
        )
    };
    let binding = pishkhan_exchange::wire::request_binding(OFFICE, &bad_purpose, b);
    let claims = pishkhan_sign::MessageClaims::request(
        ex.as_str(),
        sabt.as_str(),
        "POST",
        path,
        &binding,
        now,
    )
    .unwrap();
    let token = pishkhan_sign::sign_message(&k, &claims);
    let sent = send(
        &url,
        &[
            ("pishkhan-signature", &token),
            ("pishkhan-client", OFFICE),
            ("pishkhan-purpose", &bad_purpose),
        ],
        b,
    )
    .await;
    assert_eq!(
        (sent.status, sent.code.as_deref()),
        (400, Some("invalid_purpose"))
    );

    // A service of another agency, correctly signed for this one.
    let post_path = Service::PostalAddress.path();
    let wrong_route = signed(
        &k,
        (&ex, &sabt, post_path),
        &member(OFFICE),
        &purpose("SR003"),
        b,
        now,
    );
    let sent = send(
        &format!(
            "http://{}{post_path}",
            world.agencies[&ReferenceAgency::CivilRegistry].addr
        ),
        &headers(&wrong_route),
        b,
    )
    .await;
    assert_eq!(
        (sent.status, sent.code.as_deref()),
        (403, Some("not_allowed"))
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_after_a_directory_update() {
    let mut world = World::start(fast_limits(), |_| {}).await;
    let code = world.population.sample(1)[0]
        .national_code
        .as_str()
        .to_owned();
    let q = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": code}),
    );
    world.exchange.inquire(&q).await.unwrap();

    let old = key(EXCHANGE_SEED).public();
    let new = key(3);
    world.publish(|c| {
        set_exchange_keys(
            c,
            member_keys(&[
                (&old, KeyStatus::Revoked),
                (&new.public(), KeyStatus::Active),
            ]),
        )
    });
    // The exchange still signs with the revoked key: the very next inquiry is refused.
    let err = world.exchange.inquire(&q).await.unwrap_err();
    let InquiryError::AgencyRefused { code: refusal, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(refusal, "revoked_key");

    world.exchange.set_key(key(3));
    world.exchange.inquire(&q).await.unwrap();

    // A stale directory that lists the old key as active again does not revive it.
    world.publish(|c| {
        set_exchange_keys(
            c,
            member_keys(&[
                (&old, KeyStatus::Active),
                (&new.public(), KeyStatus::Active),
            ]),
        )
    });
    world.exchange.set_key(key(EXCHANGE_SEED));
    let err = world.exchange.inquire(&q).await.unwrap_err();
    assert_eq!(err.code(), "agency_refused");
    assert_eq!(err.outcome().unwrap().body["code"], "revoked_key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_without_downtime() {
    let mut world = World::start(fast_limits(), |_| {}).await;
    let code = world.population.sample(1)[0]
        .national_code
        .as_str()
        .to_owned();
    let q = inquiry(
        Service::CivilRegistryPerson,
        "SR001",
        json!({"national_code": code}),
    );

    // Inquiries run continuously while keys rotate on both sides.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let mut runners = Vec::new();
    for _ in 0..2 {
        let (exchange, q, stop, ok) = (world.exchange.clone(), q.clone(), stop.clone(), ok.clone());
        runners.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match exchange.inquire(&q).await {
                    Ok(_) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => failures.push(e.to_string()),
                }
            }
            failures
        }));
    }
    let wait_for = |n: usize| {
        let ok = ok.clone();
        async move {
            let target = ok.load(Ordering::Relaxed) + n;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while ok.load(Ordering::Relaxed) < target {
                assert!(
                    std::time::Instant::now() < deadline,
                    "inquiries stopped succeeding"
                );
                tokio::task::yield_now().await;
            }
        }
    };
    wait_for(5).await;

    let sabt = ReferenceAgency::CivilRegistry;
    let (ex_old, ex_new) = (key(EXCHANGE_SEED), key(4));
    let (ag_old, ag_new) = (key(agency_seed(sabt)), key(14));
    // 1. Publish the new keys beside the old ones.
    world.publish(|c| {
        set_exchange_keys(
            c,
            member_keys(&[
                (&ex_old.public(), KeyStatus::Active),
                (&ex_new.public(), KeyStatus::Active),
            ]),
        );
        set_agency_keys(
            c,
            sabt,
            member_keys(&[
                (&ag_old.public(), KeyStatus::Active),
                (&ag_new.public(), KeyStatus::Active),
            ]),
        );
    });
    wait_for(5).await;
    // 2. Switch both sides to the new keys.
    world.exchange.set_key(key(4));
    world.agencies[&sabt].envelope.set_key(key(14));
    wait_for(5).await;
    // 3. Retire the old keys: they still verify.
    world.publish(|c| {
        set_exchange_keys(
            c,
            member_keys(&[
                (&ex_old.public(), KeyStatus::Retired),
                (&ex_new.public(), KeyStatus::Active),
            ]),
        );
        set_agency_keys(
            c,
            sabt,
            member_keys(&[
                (&ag_old.public(), KeyStatus::Retired),
                (&ag_new.public(), KeyStatus::Active),
            ]),
        );
    });
    wait_for(5).await;
    let url = world.url(sabt, Service::CivilRegistryPerson);
    let body = serde_json::to_vec(&q.body).unwrap();
    let by_retired = person_request(&ex_old, &body);
    assert_eq!(send(&url, &headers(&by_retired), &body).await.status, 200);
    let by_new = person_request(&ex_new, &body);
    assert_eq!(send(&url, &headers(&by_new), &body).await.status, 200);

    stop.store(true, Ordering::Relaxed);
    for runner in runners {
        let failures = runner.await.unwrap();
        assert!(failures.is_empty(), "{failures:?}");
    }
    assert!(ok.load(Ordering::Relaxed) >= 20);
}
