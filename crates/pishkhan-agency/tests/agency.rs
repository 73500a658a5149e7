//! The agency crate through its public API: the generated population, the snapshot file and
//! the HTTP services over a real socket.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use pishkhan_agency::{
    AgencyError, AgencyState, CardStatus, Envelope, Gender, HouseholdRole, MAX_POPULATION,
    Population, Registry, Rejection, Service, Snapshot, bench_direct, sample_json_lines,
};
use pishkhan_domain::{Mobile, NationalCode, PostalCode};
use serde_json::{Value, json};

const SEED: u64 = 1405;

/// A small deterministic index generator for the tests (SplitMix64).
fn indices(seed: u64, n: usize, size: u64) -> Vec<u64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % size
        })
        .collect()
}

#[test]
fn same_seed_same_people_other_seed_other_people() {
    let a = Population::new(SEED, 100_000).unwrap();
    let b = Population::new(SEED, 100_000).unwrap();
    let c = Population::new(SEED + 1, 100_000).unwrap();
    let mut differing = 0;
    for i in indices(1, 500, 100_000) {
        assert_eq!(a.person(i), b.person(i));
        if a.person(i).national_code != c.person(i).national_code {
            differing += 1;
        }
    }
    assert_eq!(differing, 500);
    // A person does not depend on the population's size.
    let big = Population::new(SEED, 1_000_000).unwrap();
    assert_eq!(a.person(99_999), big.person(99_999));
}

#[test]
fn sizes_are_checked_against_the_code_spaces() {
    assert_eq!(MAX_POPULATION, 300_000_000);
    let err = Population::new(SEED, MAX_POPULATION + 1).unwrap_err();
    assert!(matches!(err, AgencyError::TooLarge { .. }), "{err}");
    let nation = Population::new(SEED, 84_000_000).unwrap();
    let last = nation.person(83_999_999);
    assert_eq!(nation.index_of(&last.national_code), Some(83_999_999));
    assert_eq!(Population::new(SEED, 0).unwrap().sample(5), vec![]);
}

#[test]
fn national_codes_are_valid_and_distinct() {
    let pop = Population::new(SEED, 84_000_000).unwrap();
    let mut seen = HashSet::new();
    let mut picks = indices(2, 20_000, pop.size());
    picks.extend([0, 1, 2, pop.size() - 2, pop.size() - 1]);
    picks.sort_unstable();
    picks.dedup();
    for i in &picks {
        let code = pop.codes().national_code(*i);
        let reparsed = NationalCode::parse(code.as_str()).expect("valid national code");
        assert_eq!(reparsed, code);
        assert!(seen.insert(code), "duplicate code at {i}");
    }
}

#[test]
fn identifiers_round_trip_to_the_person() {
    let pop = Population::new(SEED, 84_000_000).unwrap();
    let mut picks = indices(3, 2_000, pop.size());
    picks.extend([0, pop.size() - 1, pop.size() - 2, pop.size() - 33]);
    for i in picks {
        let p = pop.person(i);
        assert_eq!(p.index, i);
        assert_eq!(pop.index_of(&p.national_code), Some(i));
        assert_eq!(
            pop.find_by_national_code(&p.national_code).as_ref(),
            Some(&p)
        );
        match &p.mobile {
            Some(m) => {
                assert!(p.age() >= 18);
                assert_eq!(Mobile::parse(m.as_str()).as_ref(), Ok(m));
                assert_eq!(pop.owner_of_mobile(m).as_ref(), Some(&p.national_code));
                assert!(pop.mobile_matches(&p.national_code, m).unwrap());
            }
            None => {
                assert!(p.age() < 18);
                // The number reserved for a child belongs to nobody yet.
                let reserved = pop.codes().mobile(i);
                assert_eq!(pop.owner_of_mobile(&reserved), None);
            }
        }
        assert_eq!(
            PostalCode::parse(p.postal_code.as_str()).as_ref(),
            Ok(&p.postal_code)
        );
        assert_eq!(p.address.postal_code, p.postal_code);
        assert_eq!(
            pop.address_by_postal_code(&p.postal_code).as_ref(),
            Some(&p.address)
        );
        assert!(
            pop.postal_code_matches(&p.postal_code, &p.national_code)
                .unwrap()
        );
    }
}

#[test]
fn valid_identifiers_outside_the_population_find_nobody() {
    let size = 10_000;
    let pop = Population::new(SEED, size).unwrap();
    let bigger = Population::new(SEED, size * 4).unwrap();
    let outsider = bigger.person(size + 7);
    assert_eq!(pop.find_by_national_code(&outsider.national_code), None);
    assert_eq!(pop.index_of(&outsider.national_code), None);
    let adult = (size..size * 4)
        .map(|i| bigger.person(i))
        .find(|p| p.mobile.is_some())
        .unwrap();
    assert_eq!(pop.owner_of_mobile(adult.mobile.as_ref().unwrap()), None);
    let far_household = pop.household_count() + 3;
    let far_postal = bigger.codes().postal_code(far_household);
    assert_eq!(pop.address_by_postal_code(&far_postal), None);
    // A prefix that is never handed out, and a postal code in the valid space.
    assert_eq!(
        pop.owner_of_mobile(&Mobile::parse("09341234567").unwrap()),
        None
    );
    assert_eq!(
        pop.address_by_postal_code(&PostalCode::parse("1346713579").unwrap()),
        pop.codes()
            .household_of_postal_code(&PostalCode::parse("1346713579").unwrap())
            .filter(|h| *h < pop.household_count())
            .map(|h| pop.household_address(h))
    );
    // Someone else's mobile or postal code does not match.
    let owner = (0..size)
        .map(|i| pop.person(i))
        .find(|p| p.mobile.is_some())
        .unwrap();
    let other = pop.person(owner.index + 40);
    assert_ne!(owner.household, other.household);
    let mobile = owner.mobile.as_ref().unwrap();
    assert!(pop.mobile_matches(&owner.national_code, mobile).unwrap());
    assert!(!pop.mobile_matches(&other.national_code, mobile).unwrap());
    assert!(
        !pop.postal_code_matches(&owner.postal_code, &other.national_code)
            .unwrap()
    );
    assert!(
        !pop.mobile_matches(&outsider.national_code, adult.mobile.as_ref().unwrap())
            .unwrap()
    );
}

#[test]
fn households_share_an_address_and_the_fathers_names() {
    let pop = Population::new(SEED, 330).unwrap();
    assert_eq!(pop.household_count(), 100);
    let people: Vec<_> = (0..pop.size()).map(|i| pop.person(i)).collect();
    let mut by_household: std::collections::BTreeMap<u64, Vec<&_>> = Default::default();
    for p in &people {
        by_household.entry(p.household).or_default().push(p);
    }
    for members in by_household.values() {
        let head = members[0];
        assert_eq!(head.household_role, HouseholdRole::Head);
        assert!(members.iter().all(|m| m.postal_code == head.postal_code));
        if members.len() >= 3 {
            let spouse = members[1];
            let father = if head.gender == Gender::Male {
                head
            } else {
                spouse
            };
            for c in &members[2..] {
                assert_eq!(c.last_name, father.last_name);
                assert_eq!(c.father_name, father.first_name);
            }
        }
    }
    let postal: HashSet<_> = people.iter().map(|p| p.postal_code.clone()).collect();
    assert_eq!(postal.len(), 100);
}

#[test]
fn rates_match_the_documented_shares() {
    let pop = Population::new(SEED, 200_000).unwrap();
    let (mut dead, mut lost, mut revoked, mut minors) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..pop.size() {
        let r = pop.record(i);
        dead += u64::from(!r.alive());
        lost += u64::from(r.card_status() == CardStatus::Lost);
        revoked += u64::from(r.card_status() == CardStatus::Revoked);
        minors += u64::from(!r.has_mobile());
        assert!(r.age() <= 100);
        assert_eq!(r.has_mobile(), r.age() >= 18);
    }
    let share = |n: u64| n as f64 / pop.size() as f64;
    assert!(
        (0.02..0.04).contains(&share(dead)),
        "deceased {}",
        share(dead)
    );
    assert!(
        (0.015..0.025).contains(&share(lost)),
        "lost {}",
        share(lost)
    );
    assert!(
        (0.003..0.007).contains(&share(revoked)),
        "revoked {}",
        share(revoked)
    );
    assert!(
        (0.2..0.4).contains(&share(minors)),
        "minors {}",
        share(minors)
    );
}

#[test]
fn sample_exercises_the_hard_cases() {
    let pop = Population::new(SEED, 1_000_000).unwrap();
    let sample = pop.sample(20);
    assert_eq!(sample.len(), 20);
    assert_eq!(sample, pop.sample(20), "deterministic");
    let distinct: HashSet<_> = sample.iter().map(|p| p.index).collect();
    assert_eq!(distinct.len(), 20);
    let names =
        |p: &pishkhan_agency::Person| format!("{} {} {}", p.first_name, p.last_name, p.father_name);
    assert!(sample.iter().any(|p| !p.alive));
    assert!(sample.iter().any(|p| p.card_status == CardStatus::Lost));
    assert!(sample.iter().any(|p| p.card_status == CardStatus::Revoked));
    assert!(sample.iter().any(|p| names(p).contains('\u{200c}')));
    assert!(sample.iter().any(|p| names(p).contains('ک')));
    assert!(sample.iter().any(|p| names(p).contains('ی')));
    assert!(sample.iter().any(|p| p.mobile.is_none()));
    assert!(sample.iter().any(|p| p.traffic_fines_rials > 0));
    // Registry spelling: never the Arabic yeh or kaf.
    assert!(
        sample
            .iter()
            .all(|p| !names(p).contains('\u{064A}') && !names(p).contains('\u{0643}'))
    );
    // The special cases are spread, not bunched at the front.
    let last_special = sample
        .iter()
        .rposition(|p| p.card_status != CardStatus::Valid || !p.alive)
        .unwrap();
    assert!(last_special >= 2);

    let lines = sample_json_lines(&pop, 20);
    assert_eq!(lines.lines().count(), 20);
    for (line, p) in lines.lines().zip(&sample) {
        let v: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "alive",
                "birth_date",
                "card_serial",
                "card_status",
                "father_name",
                "first_name",
                "last_name",
                "mobile",
                "national_code"
            ]
        );
        assert_eq!(v["national_code"], p.national_code.as_str());
        assert_eq!(v["birth_date"], p.birth_date.to_string());
        assert_eq!(
            pishkhan_domain::JalaliDate::parse(v["birth_date"].as_str().unwrap()).unwrap(),
            p.birth_date
        );
        let serial = v["card_serial"].as_str().unwrap().as_bytes();
        assert_eq!(serial.len(), 10);
        assert!(serial[0].is_ascii_digit() && serial[1].is_ascii_uppercase());
        assert!(serial[2..].iter().all(u8::is_ascii_digit));
        assert!(["valid", "lost", "revoked"].contains(&v["card_status"].as_str().unwrap()));
        match &p.mobile {
            Some(m) => assert_eq!(v["mobile"], m.as_str()),
            None => assert!(v["mobile"].is_null()),
        }
    }
}

#[test]
fn snapshot_round_trips_and_rejects_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.pkag");
    let pop = Population::new(SEED, 10_000).unwrap();
    let stats = pop.write_snapshot(&path).unwrap();
    assert_eq!(stats.records, 10_000);
    assert_eq!(stats.bytes, 64 + 10_000 * 64);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), stats.bytes);

    let snap = Population::open_snapshot(&path).unwrap();
    assert_eq!((snap.seed(), snap.size()), (SEED, 10_000));
    assert_eq!(Registry::source(&snap), "snapshot");
    snap.verify().unwrap();
    for i in 0..pop.size() {
        assert_eq!(snap.record(i).unwrap(), pop.record(i), "record {i}");
    }
    for i in indices(4, 300, pop.size()) {
        let p = pop.person(i);
        assert_eq!(snap.person(i).unwrap(), p);
        assert_eq!(
            snap.find_by_national_code(&p.national_code).unwrap(),
            Some(p.clone())
        );
        if let Some(m) = &p.mobile {
            assert_eq!(
                snap.owner_of_mobile(m).unwrap(),
                Some(p.national_code.clone())
            );
        }
        assert_eq!(
            snap.address_by_postal_code(&p.postal_code).unwrap(),
            Some(p.address.clone())
        );
    }
    assert!(matches!(
        snap.record(10_000),
        Err(AgencyError::OutOfRange { .. })
    ));

    let original = std::fs::read(&path).unwrap();
    let damaged = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let p = dir.path().join(name);
        let mut bytes = original.clone();
        edit(&mut bytes);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // A flipped bit in the header's seed.
    let err = Snapshot::open(damaged("seed.pkag", &|b| b[17] ^= 0x10)).unwrap_err();
    assert!(matches!(err, AgencyError::HeaderChecksum { .. }), "{err}");
    assert!(
        err.to_string().contains("header checksum mismatch"),
        "{err}"
    );
    let err = Snapshot::open(damaged("magic.pkag", &|b| b[0] = b'X')).unwrap_err();
    assert!(matches!(err, AgencyError::NotASnapshot { .. }), "{err}");
    let err = Snapshot::open(damaged("short.pkag", &|b| b.truncate(b.len() - 64))).unwrap_err();
    assert!(matches!(err, AgencyError::WrongLength { .. }), "{err}");
    let err = Snapshot::open(damaged("tiny.pkag", &|b| b.truncate(10))).unwrap_err();
    assert!(matches!(err, AgencyError::NotASnapshot { .. }), "{err}");
    // A damaged record is refused when read, and by a full verification.
    let bad = Snapshot::open(damaged("record.pkag", &|b| b[64 + 64 * 5 + 4] ^= 1)).unwrap();
    assert!(matches!(
        bad.record(5),
        Err(AgencyError::CorruptRecord { index: 5, .. })
    ));
    assert!(bad.record(6).is_ok());
    assert!(matches!(
        bad.verify(),
        Err(AgencyError::DataChecksum { .. })
    ));
    // A snapshot of another seed does not pass for this one: records are checked against
    // the national code their index must have.
    let mut other = original.clone();
    let other_pop = Population::new(SEED + 1, 10_000).unwrap();
    let other_path = dir.path().join("other.pkag");
    other_pop.write_snapshot(&other_path).unwrap();
    let theirs = std::fs::read(&other_path).unwrap();
    other[64..].copy_from_slice(&theirs[64..]);
    let swapped = dir.path().join("swapped.pkag");
    std::fs::write(&swapped, other).unwrap();
    let swapped = Snapshot::open(&swapped).unwrap();
    assert!(matches!(
        swapped.record(0),
        Err(AgencyError::CorruptRecord { .. })
    ));
    assert!(!dir.path().join("people.pkag.partial").exists());
}

async fn start(state: AgencyState) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        pishkhan_agency::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

async fn post(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    body: Value,
) -> (u16, String, Value) {
    post_raw(client, addr, path, body.to_string()).await
}

async fn post_raw(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    body: String,
) -> (u16, String, Value) {
    let resp = client
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let v = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, ct, v)
}

fn assert_problem(got: (u16, String, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{:?}", got.2);
    assert_eq!(got.1, "application/problem+json");
    assert_eq!(got.2["code"], code, "{:?}", got.2);
    assert_eq!(got.2["status"], status);
    assert!(got.2["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

fn to_persian_digits(s: &str) -> String {
    pishkhan_domain::digits::to_persian_digits(s)
}

async fn exercise_services(addr: SocketAddr, pop: &Population, source: &str) {
    let client = reqwest::Client::new();
    let health: Value = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health,
        json!({"status": "ok", "source": source, "seed": SEED, "size": pop.size()})
    );

    let sample = pop.sample(20);
    for p in &sample {
        let (status, ct, v) = post(
            &client,
            addr,
            "/v1/civil-registry/person",
            json!({"national_code": p.national_code}),
        )
        .await;
        assert_eq!((status, ct.as_str()), (200, "application/json"));
        assert_eq!(
            v,
            json!({
                "found": true,
                "national_code": p.national_code,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "father_name": p.father_name,
                "birth_date": p.birth_date.to_string(),
                "birth_place": p.birth_place,
                "gender": p.gender.as_str(),
                "card_serial": p.card_serial.as_str(),
                "card_status": p.card_status.as_str(),
                "alive": p.alive,
            })
        );
        let (_, _, v) = post(
            &client,
            addr,
            "/v1/traffic/fines",
            json!({"national_code": p.national_code}),
        )
        .await;
        assert_eq!(
            v,
            json!({"found": true, "national_code": p.national_code, "balance_rials": p.traffic_fines_rials, "plates": p.vehicle_plates})
        );
        let (_, _, v) = post(
            &client,
            addr,
            "/v1/postal/address",
            json!({"postal_code": p.postal_code}),
        )
        .await;
        assert_eq!(v["found"], true);
        assert_eq!(v["address_fa"], p.address.text_fa);
        assert_eq!(v["address_en"], p.address.text_en);
        assert_eq!(v["province"], p.address.province_fa);
        assert_eq!(v["city"], p.address.city_fa);
        let (_, _, v) = post(
            &client,
            addr,
            "/v1/postal/address-match",
            json!({"postal_code": p.postal_code, "national_code": p.national_code}),
        )
        .await;
        assert_eq!(v, json!({"match": true}));
        if let Some(m) = &p.mobile {
            let (status, _, v) = post(
                &client,
                addr,
                "/v1/mobile/ownership",
                json!({"national_code": p.national_code, "mobile": m}),
            )
            .await;
            assert_eq!((status, v), (200, json!({"match": true})));
        }
    }

    // Persian digits and international mobile forms are accepted.
    let adult = sample.iter().find(|p| p.mobile.is_some()).unwrap();
    let m = adult.mobile.as_ref().unwrap();
    let (_, _, v) = post(
        &client,
        addr,
        "/v1/mobile/ownership",
        json!({"national_code": to_persian_digits(adult.national_code.as_str()), "mobile": m.e164()}),
    )
    .await;
    assert_eq!(v, json!({"match": true}));
    // Someone else's mobile does not match.
    let other = sample.iter().find(|p| p.index != adult.index).unwrap();
    let (_, _, v) = post(
        &client,
        addr,
        "/v1/mobile/ownership",
        json!({"national_code": other.national_code, "mobile": m}),
    )
    .await;
    assert_eq!(v, json!({"match": false}));
    let (_, _, v) = post(
        &client,
        addr,
        "/v1/postal/address-match",
        json!({"postal_code": other.postal_code, "national_code": adult.national_code}),
    )
    .await;
    assert_eq!(v["match"], other.household == adult.household);

    // Unknown people are answers, not errors.
    let outsider = Population::new(SEED, pop.size() + 100)
        .unwrap()
        .codes()
        .national_code(pop.size() + 50);
    let (status, _, v) = post(
        &client,
        addr,
        "/v1/civil-registry/person",
        json!({"national_code": outsider}),
    )
    .await;
    assert_eq!(
        (status, v),
        (200, json!({"found": false, "national_code": outsider}))
    );
    let (status, _, v) = post(
        &client,
        addr,
        "/v1/traffic/fines",
        json!({"national_code": outsider}),
    )
    .await;
    assert_eq!(
        (status, v["found"].clone(), v["balance_rials"].clone()),
        (200, json!(false), json!(0))
    );
    let far_postal = pop.codes().postal_code(pop.household_count() + 1);
    let (status, _, v) = post(
        &client,
        addr,
        "/v1/postal/address",
        json!({"postal_code": far_postal}),
    )
    .await;
    assert_eq!(
        (status, v),
        (200, json!({"found": false, "postal_code": far_postal}))
    );
    let (status, _, v) = post(
        &client,
        addr,
        "/v1/mobile/ownership",
        json!({"national_code": outsider, "mobile": "09121234567"}),
    )
    .await;
    assert_eq!((status, v), (200, json!({"match": false})));

    // Bad input: problem+json with stable codes, never a 500.
    let person = "/v1/civil-registry/person";
    assert_problem(
        post(
            &client,
            addr,
            person,
            json!({"national_code": "0012345678"}),
        )
        .await,
        422,
        "invalid_national_code",
    );
    assert_problem(
        post(&client, addr, person, json!({})).await,
        422,
        "invalid_national_code",
    );
    assert_problem(
        post(&client, addr, person, json!({"national_code": 12})).await,
        400,
        "malformed_json",
    );
    assert_problem(
        post_raw(&client, addr, person, "{\"national_code\":".into()).await,
        400,
        "malformed_json",
    );
    assert_problem(
        post_raw(&client, addr, person, String::new()).await,
        400,
        "malformed_json",
    );
    assert_problem(
        post_raw(&client, addr, person, "[1,2]".into()).await,
        400,
        "malformed_json",
    );
    assert_problem(
        post(
            &client,
            addr,
            "/v1/mobile/ownership",
            json!({"national_code": adult.national_code, "mobile": "0912"}),
        )
        .await,
        422,
        "invalid_mobile",
    );
    assert_problem(
        post(
            &client,
            addr,
            "/v1/postal/address",
            json!({"postal_code": "1234567890"}),
        )
        .await,
        422,
        "invalid_postal_code",
    );
    assert_problem(
        post(
            &client,
            addr,
            "/v1/postal/address-match",
            json!({"postal_code": "11111", "national_code": adult.national_code}),
        )
        .await,
        422,
        "invalid_postal_code",
    );
    let big = json!({"national_code": adult.national_code, "padding": "x".repeat(17 * 1024)});
    assert_problem(
        post(&client, addr, person, big).await,
        413,
        "payload_too_large",
    );
    let resp = client
        .get(format!("http://{addr}{person}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_problem(
        post(&client, addr, "/v1/nothing", json!({})).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn services_answer_from_the_generated_population() {
    let pop = Population::new(SEED, 50_000).unwrap();
    let (addr, stop) = start(pop.clone().into()).await;
    exercise_services(addr, &pop, "generated").await;

    let report = bench_direct(addr, 2_000, 8).await.unwrap();
    assert_eq!(report.requests, 2_000);
    assert_eq!(report.errors, 0);
    assert!(
        report.req_per_s > 0.0 && report.p50_us <= report.p99_us && report.p99_us <= report.max_us
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn services_answer_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = pishkhan_agency::snapshot_path(dir.path());
    let pop = Population::new(SEED, 20_000).unwrap();
    pop.write_snapshot(&path).unwrap();
    let snap = Snapshot::open(&path).unwrap();
    let (addr, stop) = start(snap.into()).await;
    exercise_services(addr, &pop, "snapshot").await;
    let _ = stop.send(());
}

/// A stand-in for the exchange's signatures: requests need `x-test-signature: ok`, answers
/// get `x-test-signed: <service>/<status>/<body length>`.
struct TestEnvelope;

impl Envelope for TestEnvelope {
    fn verify_request(&self, _: Service, headers: &HeaderMap, _: &[u8]) -> Result<(), Rejection> {
        match headers.get("x-test-signature") {
            Some(v) if v == "ok" => Ok(()),
            _ => Err(Rejection {
                status: StatusCode::UNAUTHORIZED,
                code: "bad_signature",
                detail: "the request is not signed".into(),
            }),
        }
    }

    fn sign_response(
        &self,
        service: Service,
        _request: &[u8],
        status: StatusCode,
        body: &[u8],
        headers: &mut HeaderMap,
    ) {
        let v = format!("{}/{}/{}", service.name(), status.as_u16(), body.len());
        headers.insert("x-test-signed", HeaderValue::from_str(&v).unwrap());
    }
}

#[tokio::test]
async fn envelopes_verify_requests_and_sign_answers() {
    let pop = Population::new(SEED, 1_000).unwrap();
    let code = pop.person(3).national_code;
    let state = AgencyState::new(Arc::new(pop)).with_envelope(Arc::new(TestEnvelope));
    let (addr, stop) = start(state).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/v1/civil-registry/person");
    let body = json!({"national_code": code}).to_string();

    let resp = client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let signed = resp.headers()["x-test-signed"]
        .to_str()
        .unwrap()
        .to_string();
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["code"], "bad_signature");
    assert!(signed.starts_with("civil-registry.person/401/"));

    let resp = client
        .post(&url)
        .header("x-test-signature", "ok")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let signed = resp.headers()["x-test-signed"]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(signed, format!("civil-registry.person/200/{}", bytes.len()));
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["found"], true);
    let _ = stop.send(());
}

/// Pins the generator: if this fails, every population of every seed changed, and
/// snapshots written before no longer match. Bump the generator version in that case.
#[test]
fn generator_is_pinned() {
    let pop = Population::new(SEED, 1_000_000).unwrap();
    let p = pop.person(0);
    let got = format!(
        "{} {} {} {} {} {} {} {}",
        p.national_code,
        p.first_name,
        p.last_name,
        p.father_name,
        p.birth_date,
        p.card_serial,
        p.postal_code,
        p.mobile.as_ref().map_or("-", |m| m.as_str())
    );
    assert_eq!(
        got,
        "8761137057 یاسر بهرامی بابک 1336-11-17 5D38348806 6897766680 09386332755"
    );
}
