//! Surge releases through the HTTP API, on every backend: opening (regulator only, bad input
//! refused with nothing written), citizens' requests inside the window (a resubmission
//! replaces, order gives nothing), refusals outside it, the close (exactly the slot count
//! allocated, winners really booked, waitlist places, one notice per citizen), a second and a
//! concurrent close changing nothing, the published bundle re-verifying offline (and failing
//! when tampered with), and a cancelled winner's seat offered to the waitlist.

use std::collections::{BTreeMap, HashMap};

use pishkhan_domain::model::OfficeCode;
use pishkhan_release::{Bundle, VerifyError, verify_bundle};
use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, Resp, TestApp, fixed_now};

const SERVICE: &str = "PSP-001";
/// The clock is fixed at 7 Azar 1405; appointments on the next two days (Sunday, Monday).
const FIRST_DAY: &str = "1405-09-08";
const LAST_DAY: &str = "1405-09-09";
const CITIZENS: usize = 7;

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

struct Citizen {
    national_code: String,
    mobile: String,
    token: String,
}

/// Signs a citizen in with the one-time code the outbox holds for their mobile.
async fn sign_in(app: &TestApp, i: usize) -> Citizen {
    let national_code = app.fresh_national_code();
    let mobile = format!("0935{:07}", 4_000_000 + i);
    let ask = json!({ "national_code": national_code, "mobile": mobile });
    let sent = app.post_json("/api/v1/citizen/code", None, &ask).await;
    assert_eq!(sent.status, 202, "[{}] {}", app.be(), sent.text);
    let messages = app.store.outbox_messages(Some(&mobile), 5).await.unwrap();
    let code = messages
        .iter()
        .find(|m| m.kind == "auth.otp")
        .and_then(|m| m.payload["code"].as_str())
        .expect("an SMS with the code")
        .to_string();
    let login = app
        .post_json(
            "/api/v1/citizen/login",
            None,
            &json!({ "national_code": national_code, "mobile": mobile, "code": code }),
        )
        .await;
    assert_eq!(login.status, 200, "[{}] {}", app.be(), login.text);
    Citizen {
        national_code,
        mobile,
        token: login.json()["token"].as_str().unwrap().to_string(),
    }
}

/// Four offices of the demo office's province that take bookings, the demo office first.
/// (The small nation's offices all lie in one province.)
fn offices(app: &TestApp) -> Vec<String> {
    let home = app
        .nation
        .offices
        .iter()
        .find(|o| o.code.to_string() == DEMO_OFFICE)
        .expect("the demo office")
        .province_id;
    let mut same: Vec<String> = app
        .nation
        .offices
        .iter()
        .filter(|o| o.province_id == home && o.status.may_use_network())
        .map(|o| o.code.to_string())
        .collect();
    same.sort_by_key(|c| c != DEMO_OFFICE);
    assert!(
        same.len() >= 4,
        "the small nation has 4 offices in province {home}"
    );
    same.truncate(4);
    same
}

fn province_of(app: &TestApp) -> u8 {
    app.nation
        .offices
        .iter()
        .find(|o| o.code.to_string() == DEMO_OFFICE)
        .unwrap()
        .province_id
}

async fn submit(app: &TestApp, id: &str, token: Option<&str>, prefs: Value) -> Resp {
    app.post_json(
        &format!("/api/v1/releases/{id}/requests"),
        token,
        &json!({ "preferences": prefs }),
    )
    .await
}

async fn close(app: &TestApp, id: &str, token: &str) -> Resp {
    app.post_json(
        &format!("/api/v1/releases/{id}/close"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn mine(app: &TestApp, c: &Citizen) -> Vec<Value> {
    let resp = app.get_as("/api/v1/me/releases", Some(&c.token)).await;
    assert_eq!(resp.status, 200, "[{}] {}", app.be(), resp.text);
    resp.json().as_array().unwrap().clone()
}

/// The `release.*` notices, per recipient.
async fn release_notices(app: &TestApp) -> BTreeMap<String, Vec<(String, Value)>> {
    let mut out: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for m in app.store.outbox_messages(None, 10_000).await.unwrap() {
        if m.kind.starts_with("release.") {
            out.entry(m.recipient.clone())
                .or_default()
                .push((m.kind.clone(), m.payload.clone()));
        }
    }
    out
}

#[tokio::test]
async fn a_surge_release_runs_from_opening_to_a_verified_allocation() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let same = offices(&app);
        let (a, b, c, d) = (&same[0], &same[1], &same[2], &same[3]);
        let now = fixed_now();
        let opens_at = rfc3339(now);
        let closes_at = rfc3339(now + time::Duration::hours(1));
        let body = json!({
            "service": SERVICE,
            "province": province_of(&app),
            "offices": [{ "office": a, "slots": 2 }, { "office": b, "slots": 1 }, { "office": c, "slots": 1 }],
            "first_day": FIRST_DAY,
            "last_day": LAST_DAY,
            "opens_at": opens_at,
            "closes_at": closes_at,
        });

        // ---- opening: regulator only; bad input refused with stable codes, nothing written.
        let audit_before = app.audit_total(&regulator).await;
        app.post_json("/api/v1/releases", Some(&manager), &body)
            .await
            .problem(403, "forbidden_role");
        app.post_json("/api/v1/releases", None, &body)
            .await
            .problem(401, "unauthenticated");
        let with = |k: &str, v: Value| {
            let mut x = body.clone();
            x[k] = v;
            x
        };
        let both = {
            let mut x = body.clone();
            x["slots_per_office"] = json!(1);
            x
        };
        let past = rfc3339(now - time::Duration::minutes(1));
        let other_province = if province_of(&app) == 1 { 2 } else { 1 };
        let bad: Vec<(Value, u16, &str)> = vec![
            (with("service", json!("NOPE-1")), 422, "unknown_service"),
            (
                with("province", json!(other_province)),
                422,
                "office_not_in_province",
            ),
            (with("province", json!(99)), 422, "unknown_province"),
            (with("offices", json!([])), 422, "invalid_offices"),
            (
                with(
                    "offices",
                    json!([{ "office": a, "slots": 1 }, { "office": a, "slots": 1 }]),
                ),
                422,
                "duplicate_office",
            ),
            (
                with("offices", json!([{ "office": "99999999", "slots": 1 }])),
                422,
                "unknown_office",
            ),
            (
                with("offices", json!([{ "office": a, "slots": 0 }])),
                422,
                "invalid_slots",
            ),
            (
                with("offices", json!([{ "office": a, "slots": 9_999 }])),
                422,
                "not_enough_capacity",
            ),
            (both, 422, "invalid_offices"),
            (with("closes_at", json!(opens_at)), 422, "invalid_window"),
            (with("closes_at", json!(past)), 422, "invalid_window"),
            (with("opens_at", json!("soon")), 422, "invalid_window"),
            (
                with("first_day", json!("1405-09-07")),
                422,
                "days_before_close",
            ),
            (with("last_day", json!("1405-09-01")), 422, "invalid_days"),
            (with("first_day", json!("1405-13-01")), 422, "invalid_date"),
            (with("extra", json!(1)), 422, "invalid_body"),
        ];
        for (input, status, code) in &bad {
            app.post_json("/api/v1/releases", Some(&regulator), input)
                .await
                .problem(*status, code);
        }
        assert_eq!(app.audit_total(&regulator).await, audit_before, "[{be}]");
        assert!(app.store.unallocated_releases().await.unwrap().is_empty());

        let opened = app
            .post_json("/api/v1/releases", Some(&regulator), &body)
            .await;
        assert_eq!(opened.status, 201, "[{be}] {}", opened.text);
        let opened = opened.json();
        let id = opened["id"].as_str().unwrap().to_string();
        let commitment = opened["seed_commitment"].as_str().unwrap().to_string();
        assert_eq!(commitment.len(), 64);
        assert_eq!(opened["status"], "open");
        assert_eq!(opened["accepting_requests"], true);
        assert_eq!(opened["seed"], Value::Null);
        assert_eq!(opened["total_slots"], 4);
        let planned: u64 = opened["offices"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|o| o["times"].as_array().unwrap())
            .map(|t| t["seats"].as_u64().unwrap())
            .sum();
        assert_eq!(planned, 4, "[{be}] seats laid over slot times");
        // Public, and the seed stays secret while open.
        let public = app.get(&format!("/api/v1/releases/{id}")).await;
        assert_eq!(public.status, 200, "[{be}] {}", public.text);
        assert_eq!(public.json()["seed_commitment"], commitment.as_str());
        assert_eq!(public.json()["seed"], Value::Null);
        assert_eq!(public.json()["inputs_digest"], Value::Null);
        app.get("/api/v1/releases/rel-0000000000000000")
            .await
            .problem(404, "not_found");

        // ---- requests inside the window.
        let mut citizens = Vec::new();
        for i in 0..CITIZENS {
            citizens.push(sign_in(&app, i).await);
        }
        let first = submit(&app, &id, Some(&citizens[0].token), json!([b])).await;
        assert_eq!(first.status, 202, "[{be}] {}", first.text);
        assert_eq!(first.json()["replaced"], false);
        let orders = [[a, b, c], [b, c, a], [c, a, b]];
        for (i, citizen) in citizens.iter().enumerate() {
            let resp = submit(&app, &id, Some(&citizen.token), json!(orders[i % 3])).await;
            assert_eq!(resp.status, 202, "[{be}] {}", resp.text);
            // Citizen 0 asked before: the new request replaced the old one.
            assert_eq!(resp.json()["replaced"], i == 0, "[{be}] {}", resp.text);
        }
        // Invalid preferences: the lottery's rejection codes, nothing stored.
        let stored = app.store.release_requests(&id).await.unwrap();
        let t = Some(citizens[1].token.as_str());
        for (prefs, code) in [
            (json!([]), "no_preferences"),
            (json!([a, b, c, d, a, b]), "too_many_preferences"),
            (json!([a, a]), "duplicate_preference"),
            (json!([d]), "unknown_office"),
            (json!(["abc"]), "invalid_preferences"),
        ] {
            submit(&app, &id, t, prefs).await.problem(422, code);
        }
        submit(&app, &id, Some(&regulator), json!([a]))
            .await
            .problem(403, "forbidden_role");
        submit(&app, &id, None, json!([a]))
            .await
            .problem(401, "unauthenticated");
        submit(&app, "rel-0000000000000000", t, json!([a]))
            .await
            .problem(404, "not_found");
        assert_eq!(
            app.store.release_requests(&id).await.unwrap(),
            stored,
            "[{be}]"
        );
        assert_eq!(stored.len(), CITIZENS);
        for r in &stored {
            let again = r.national_code.as_str() == citizens[0].national_code;
            assert_eq!(r.submissions, if again { 2 } else { 1 }, "[{be}] {r:?}");
        }
        // Arrival order is that of each citizen's last request.
        assert_eq!(stored[0].national_code.as_str(), citizens[0].national_code);
        assert!(stored.windows(2).all(|w| w[0].seq < w[1].seq));

        // ---- not yet: the window is open; only the regulator closes; nothing published.
        close(&app, &id, &regulator)
            .await
            .problem(409, "release_window_open");
        close(&app, &id, &manager)
            .await
            .problem(403, "forbidden_role");
        app.get(&format!("/api/v1/releases/{id}/bundle"))
            .await
            .problem(409, "release_not_allocated");

        // A release whose window opens later refuses requests until then.
        let mut later = body.clone();
        later["offices"] = json!([{ "office": d, "slots": 1 }]);
        later["opens_at"] = json!(rfc3339(now + time::Duration::minutes(30)));
        let later = app
            .post_json("/api/v1/releases", Some(&regulator), &later)
            .await;
        assert_eq!(later.status, 201, "[{be}] {}", later.text);
        let later_id = later.json()["id"].as_str().unwrap().to_string();
        submit(&app, &later_id, t, json!([d]))
            .await
            .problem(409, "release_not_open");

        // ---- the window passes: requests refused, the close allocates.
        // Past the close, while the citizens' two-hour sessions still live.
        app.clock.advance(time::Duration::minutes(61));
        submit(&app, &id, t, json!([a]))
            .await
            .problem(409, "release_not_open");
        let (one, two) = tokio::join!(close(&app, &id, &regulator), close(&app, &id, &regulator));
        assert_eq!(one.status, 200, "[{be}] {}", one.text);
        assert_eq!(two.status, 200, "[{be}] {}", two.text);
        let closed = one.json();
        for out in [&closed, &two.json()] {
            assert_eq!(out["release"]["status"], "allocated", "[{be}] {out}");
            assert_eq!(out["release"]["winners"], 4, "[{be}] {out}");
            assert_eq!(out["release"]["waitlisted"], 3, "[{be}] {out}");
            assert_eq!(out["booked"], 4, "[{be}] {out}");
            assert_eq!(out["pending"], 0);
            assert_eq!(out["unseated"], 0);
        }
        let published = app.get(&format!("/api/v1/releases/{id}")).await.json();
        let seed = published["seed"].as_str().expect("the seed is published");
        let seed = pishkhan_release::parse_seed(seed).expect("64 hex digits");
        assert_eq!(pishkhan_release::commitment(&seed), commitment, "[{be}]");
        assert_eq!(published["seed_commitment"], commitment.as_str());
        assert!(
            published["inputs_digest"]
                .as_str()
                .is_some_and(|d| d.len() == 64)
        );
        assert!(
            published["allocation_digest"]
                .as_str()
                .is_some_and(|d| d.len() == 64)
        );
        assert_eq!(published["accepting_requests"], false);

        // ---- outcomes: exactly the slot count won, each with a real booking at an office of
        // their own list, within each office's slots; the rest waitlisted in order.
        let slots: HashMap<&str, usize> =
            [(a.as_str(), 2), (b.as_str(), 1), (c.as_str(), 1)].into();
        let mut won_at: HashMap<String, usize> = HashMap::new();
        let mut places = Vec::new();
        let mut outcomes = HashMap::new();
        for citizen in &citizens {
            let list = mine(&app, citizen).await;
            assert_eq!(list.len(), 1, "[{be}] {list:?}");
            let m = &list[0];
            assert_eq!(m["release"], id.as_str());
            assert_eq!(m["preferences"].as_array().unwrap().len(), 3, "[{be}] {m}");
            outcomes.insert(citizen.national_code.clone(), m.clone());
            match m["outcome"].as_str().unwrap() {
                "won" => {
                    let office = m["office"].as_str().unwrap().to_string();
                    assert!(
                        m["preferences"]
                            .as_array()
                            .unwrap()
                            .contains(&json!(office))
                    );
                    assert_eq!(m["seat"], "booked");
                    let code = m["tracking_code"].as_str().unwrap();
                    let booking = app
                        .get_as(&format!("/api/v1/bookings/{code}"), Some(&citizen.token))
                        .await;
                    assert_eq!(booking.status, 200, "[{be}] {}", booking.text);
                    let booking = booking.json();
                    assert_eq!(booking["status"], "booked");
                    assert_eq!(booking["national_code"], citizen.national_code.as_str());
                    assert_eq!(booking["office"], office.as_str());
                    assert_eq!(booking["service"], SERVICE);
                    assert_eq!(booking["start"], m["start"]);
                    assert!([FIRST_DAY, LAST_DAY].contains(&booking["date"].as_str().unwrap()));
                    *won_at.entry(office).or_insert(0) += 1;
                }
                "waitlisted" => {
                    assert_eq!(m["tracking_code"], Value::Null);
                    places.push(m["place"].as_u64().unwrap());
                }
                other => panic!("[{be}] unexpected outcome {other}"),
            }
        }
        assert_eq!(won_at.values().sum::<usize>(), 4, "[{be}] {won_at:?}");
        for (office, n) in &won_at {
            assert!(*n <= slots[office.as_str()], "[{be}] {won_at:?}");
        }
        places.sort_unstable();
        assert_eq!(places, vec![1, 2, 3], "[{be}]");

        // One release notice per citizen, matching their outcome; winners also got the
        // ordinary booking confirmation.
        let notices = release_notices(&app).await;
        let all = app.store.outbox_messages(None, 10_000).await.unwrap();
        for citizen in &citizens {
            let mine = notices.get(&citizen.mobile).cloned().unwrap_or_default();
            assert_eq!(mine.len(), 1, "[{be}] {mine:?}");
            let outcome = outcomes[&citizen.national_code]["outcome"]
                .as_str()
                .unwrap();
            assert_eq!(mine[0].0, format!("release.{outcome}"), "[{be}]");
            let confirmations = all
                .iter()
                .filter(|m| m.recipient == citizen.mobile && m.kind == "booking.confirmed")
                .count();
            assert_eq!(confirmations, usize::from(outcome == "won"), "[{be}]");
        }

        // ---- closing again changes nothing.
        let outbox_before = all.len();
        let audit_before = app.audit_total(&regulator).await;
        let again = close(&app, &id, &regulator).await;
        assert_eq!(again.status, 200, "[{be}] {}", again.text);
        assert_eq!(again.json()["booked"], 4);
        assert_eq!(again.json()["offers"], 0);
        assert_eq!(again.json()["release"], closed["release"], "[{be}]");
        assert_eq!(
            app.store.outbox_messages(None, 10_000).await.unwrap().len(),
            outbox_before,
            "[{be}]"
        );
        assert_eq!(app.audit_total(&regulator).await, audit_before, "[{be}]");
        for citizen in &citizens {
            assert_eq!(
                mine(&app, citizen).await[0],
                outcomes[&citizen.national_code]
            );
        }

        // ---- the published bundle re-runs to the same result, offline.
        let bundle = app.get(&format!("/api/v1/releases/{id}/bundle")).await;
        assert_eq!(bundle.status, 200, "[{be}] {}", bundle.text);
        let bundle: Bundle = serde_json::from_slice(&bundle.bytes).expect("the bundle format");
        assert_eq!(bundle.requests.len(), CITIZENS);
        assert_eq!(bundle.publication.winners, 4);
        assert_eq!(bundle.publication.waitlisted, 3);
        assert_eq!(
            Some(bundle.publication.allocation_digest_hex.as_str()),
            published["allocation_digest"].as_str()
        );
        verify_bundle(&bundle, Some(&commitment)).expect("the bundle verifies");
        // Through the file reader `pishkhan release verify FILE` uses.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("release.json");
        std::fs::write(&file, serde_json::to_vec(&bundle).unwrap()).unwrap();
        let read = pishkhan_release::read_bundle(&file).unwrap();
        verify_bundle(&read, Some(&commitment)).expect("the file verifies");
        // Tampering is caught.
        let mut t1 = bundle.clone();
        t1.publication.allocation_digest_hex = "0".repeat(64);
        assert!(matches!(
            verify_bundle(&t1, None),
            Err(VerifyError::AllocationDigest { .. })
        ));
        let mut t2 = bundle.clone();
        t2.publication.winners += 1;
        t2.publication.waitlisted -= 1;
        assert!(matches!(
            verify_bundle(&t2, None),
            Err(VerifyError::Counts { .. })
        ));
        let mut t3 = bundle.clone();
        t3.requests[0].preferences = vec![OfficeCode::parse(d).unwrap()];
        assert!(matches!(
            verify_bundle(&t3, None),
            Err(VerifyError::InputsDigest { .. })
        ));
        assert!(matches!(
            verify_bundle(&bundle, Some(&"0".repeat(64))),
            Err(VerifyError::Commitment { .. })
        ));

        // ---- a winner cancels: the seat is offered to the first waitlisted citizen who
        // listed that office (everyone listed every office: waitlist place 1), who books it
        // through the ordinary booking API.
        let winner = citizens
            .iter()
            .find(|c| outcomes[&c.national_code]["outcome"] == "won")
            .unwrap();
        let won = &outcomes[&winner.national_code];
        let cancelled = app
            .send(
                app.client
                    .post(app.url(&format!(
                        "/api/v1/bookings/{}/cancel",
                        won["tracking_code"].as_str().unwrap()
                    )))
                    .bearer_auth(&winner.token),
            )
            .await;
        assert_eq!(cancelled.status, 200, "[{be}] {}", cancelled.text);
        let next = citizens
            .iter()
            .find(|c| {
                outcomes[&c.national_code]["place"] == 1
                    && outcomes[&c.national_code]["outcome"] == "waitlisted"
            })
            .unwrap();
        let offers: Vec<_> = release_notices(&app)
            .await
            .into_values()
            .flatten()
            .filter(|(k, _)| k == "release.offer")
            .collect();
        assert_eq!(offers.len(), 1, "[{be}] {offers:?}");
        let notices = release_notices(&app).await;
        let theirs = &notices[&next.mobile];
        assert!(
            theirs
                .iter()
                .any(|(k, p)| k == "release.offer" && p["office"] == won["office"])
        );
        let shown = mine(&app, next).await;
        let offer = &shown[0]["offer"];
        assert_eq!(offer["office"], won["office"], "[{be}] {shown:?}");
        assert_eq!(offer["start"], won["start"]);
        let booked = app
            .send(
                app.client
                    .post(app.url("/api/v1/bookings"))
                    .bearer_auth(&next.token)
                    .json(&json!({
                        "office": won["office"],
                        "service": SERVICE,
                        "start": offer["start"],
                        "national_code": next.national_code,
                        "mobile": next.mobile,
                    })),
            )
            .await;
        assert_eq!(booked.status, 201, "[{be}] {}", booked.text);
        // The seat is handed on once: another close makes no second offer.
        let again = close(&app, &id, &regulator).await;
        assert_eq!(again.json()["offers"], 0, "[{be}] {}", again.text);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_winner_a_booking_rule_refuses_is_unseated_and_told() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let office = offices(&app)[1].clone();
        let now = fixed_now();
        let opened = app
            .post_json(
                "/api/v1/releases",
                Some(&regulator),
                &json!({
                    "service": SERVICE,
                    "province": province_of(&app),
                    "offices": [{ "office": office, "slots": 2 }],
                    "first_day": FIRST_DAY,
                    "last_day": FIRST_DAY,
                    "opens_at": rfc3339(now),
                    "closes_at": rfc3339(now + time::Duration::minutes(30)),
                }),
            )
            .await;
        assert_eq!(opened.status, 201, "[{be}] {}", opened.text);
        let id = opened.json()["id"].as_str().unwrap().to_string();
        let holder = sign_in(&app, 0).await;
        let other = sign_in(&app, 1).await;
        // The holder already has an appointment for the service.
        let slots = app
            .get(&format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service={SERVICE}&from={FIRST_DAY}&days=1"
            ))
            .await
            .json();
        let existing = app
            .post_json(
                "/api/v1/bookings",
                Some(&holder.token),
                &json!({
                    "office": DEMO_OFFICE,
                    "service": SERVICE,
                    "start": slots["days"][0]["slots"][0]["start"],
                    "national_code": holder.national_code,
                    "mobile": holder.mobile,
                }),
            )
            .await;
        assert_eq!(existing.status, 201, "[{be}] {}", existing.text);
        for c in [&holder, &other] {
            let r = submit(&app, &id, Some(&c.token), json!([office])).await;
            assert_eq!(r.status, 202, "[{be}] {}", r.text);
        }
        app.clock.advance(time::Duration::minutes(31));
        let closed = close(&app, &id, &regulator).await;
        assert_eq!(closed.status, 200, "[{be}] {}", closed.text);
        let closed = closed.json();
        assert_eq!(closed["release"]["winners"], 2, "[{be}] {closed}");
        assert_eq!(closed["booked"], 1, "[{be}] {closed}");
        assert_eq!(closed["unseated"], 1, "[{be}] {closed}");
        let theirs = mine(&app, &holder).await;
        assert_eq!(theirs[0]["outcome"], "won");
        assert_eq!(theirs[0]["seat"], "unseated");
        assert_eq!(theirs[0]["tracking_code"], Value::Null);
        assert_eq!(mine(&app, &other).await[0]["seat"], "booked");
        let notices = release_notices(&app).await;
        assert_eq!(
            notices[&holder.mobile]
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            vec!["release.unseated"],
            "[{be}]"
        );
        // The holder keeps the one booking they had.
        let list = app.get_as("/api/v1/me/bookings", Some(&holder.token)).await;
        assert_eq!(list.json().as_array().unwrap().len(), 1, "[{be}]");
        // Closing again books nobody twice and tells nobody twice.
        let again = close(&app, &id, &regulator).await.json();
        assert_eq!(
            (again["booked"].clone(), again["unseated"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(release_notices(&app).await, notices, "[{be}]");
        app.stop().await;
    }
}
