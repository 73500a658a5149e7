//! The inquiry exchange through the server's API, against the reference agencies over real
//! HTTP with signed envelopes: purpose binding, the catalogue rule, office status, the Merkle
//! log with proofs a verifier accepts, and the citizen's view of who looked them up.

use base64::Engine;
use pishkhan_demo::ReferenceAgency;
use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE, TestApp};

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn hex32(s: &Value) -> [u8; 32] {
    let s = s.as_str().unwrap();
    assert_eq!(s, s.to_lowercase(), "lowercase hex");
    hex::decode(s).unwrap().try_into().unwrap()
}

fn person_inquiry(national_code: &str, case: &str) -> Value {
    json!({
        "service": "civil-registry.person",
        "purpose": { "legal_basis": "قانون ثبت احوال، ماده ۱", "service_code": "NID-001", "case_id": case },
        "subject": national_code,
    })
}

#[tokio::test]
async fn offices_inquire_through_the_signed_logged_exchange() {
    for app in TestApp::all().await {
        let be = app.be();
        let mut fx = app.enable_exchange().await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let person = fx.population.sample(3)[0].clone();
        let code = person.national_code.as_str().to_string();

        // A purpose-bound inquiry: the registry answers, signed.
        let done = app
            .post_json(
                "/api/v1/inquiries",
                Some(&operator),
                &person_inquiry(&code, "CASE-1"),
            )
            .await;
        assert_eq!(done.status, 200, "[{be}] {}", done.text);
        let out = done.json();
        assert_eq!(out["agency"], "agency:sabt", "[{be}]");
        assert_eq!(out["result"]["found"], true, "[{be}] {out}");
        assert_eq!(out["result"]["first_name"], person.first_name, "[{be}]");
        assert!(out["agency_signature"].as_str().unwrap().split('.').count() == 3);
        let first_id = out["message_id"].as_u64().unwrap();

        // A yes/no inquiry (Shahkar-style).
        if let Some(mobile) = &person.mobile {
            let owned = app
                .post_json(
                    "/api/v1/inquiries",
                    Some(&operator),
                    &json!({
                        "service": "mobile.ownership",
                        "purpose": { "legal_basis": "آیین‌نامه شاهکار", "service_code": "NID-001", "case_id": "CASE-1" },
                        "subject": code,
                        "request": { "mobile": mobile.as_str() },
                    }),
                )
                .await;
            assert_eq!(owned.status, 200, "[{be}] {}", owned.text);
            assert_eq!(owned.json()["answer"], true, "[{be}]");
        }

        // Refusals: no purpose, a service that does not need it, wrong office, regulator.
        let mut no_purpose = person_inquiry(&code, "X");
        no_purpose.as_object_mut().unwrap().remove("purpose");
        app.post_json("/api/v1/inquiries", Some(&operator), &no_purpose)
            .await
            .problem(422, "missing_purpose");
        let mut blank = person_inquiry(&code, "X");
        blank["purpose"]["legal_basis"] = json!("  ");
        app.post_json("/api/v1/inquiries", Some(&operator), &blank)
            .await
            .problem(422, "invalid_purpose");
        let mut unrelated = person_inquiry(&code, "X");
        unrelated["service"] = json!("traffic.fines");
        // (the catalogue service NID-001 does not list traffic fines)
        app.post_json("/api/v1/inquiries", Some(&operator), &unrelated)
            .await
            .problem(422, "inquiry_not_required");
        let mut other = person_inquiry(&code, "X");
        other["office"] = json!(OTHER_OFFICE);
        app.post_json("/api/v1/inquiries", Some(&operator), &other)
            .await
            .problem(403, "forbidden_other_office");
        let mut from_above = person_inquiry(&code, "X");
        from_above["office"] = json!(DEMO_OFFICE);
        app.post_json("/api/v1/inquiries", Some(&regulator), &from_above)
            .await
            .problem(403, "forbidden_role");

        // The record is in the log: its inclusion proof verifies against the signed
        // checkpoint, with the log key the server publishes.
        let proof = app
            .get_as(
                &format!("/api/v1/exchange/proof/{first_id}"),
                Some(&operator),
            )
            .await;
        assert_eq!(proof.status, 200, "[{be}] {}", proof.text);
        let p = proof.json();
        let entry = b64(p["entry"].as_str().unwrap());
        let leaf = pishkhan_merkle::leaf_hash(&entry);
        assert_eq!(leaf, hex32(&p["leaf_hash"]));
        assert_eq!(p["leaf_index"], first_id);
        let path: Vec<[u8; 32]> = p["audit_path"]
            .as_array()
            .unwrap()
            .iter()
            .map(hex32)
            .collect();
        let size = p["tree_size"].as_u64().unwrap();
        let root = hex32(&p["root"]);
        assert_eq!(p["checkpoint"]["root"], p["root"]);
        pishkhan_merkle::verify_inclusion(&leaf, first_id, size, &path, &root)
            .expect("inclusion proof verifies");
        let entry_json: Value = serde_json::from_slice(&entry).unwrap();
        assert_eq!(entry_json["subject"], code.as_str(), "[{be}] {entry_json}");
        assert_eq!(entry_json["purpose"]["case_id"], "CASE-1");
        let jwks = app.get("/api/v1/exchange/keys").await.json();
        let keyring = pishkhan_sign::Keyring::from_jwks(
            &serde_json::from_value::<pishkhan_sign::Jwks>(jwks).unwrap(),
        )
        .unwrap();
        let signed =
            pishkhan_sign::jws::verify(p["checkpoint"]["signature"].as_str().unwrap(), &keyring)
                .expect("checkpoint signature verifies");
        assert_eq!(
            signed.payload,
            p["checkpoint"]["note_body"].as_str().unwrap().as_bytes()
        );
        // Someone else's inquiry is not even shown to exist.
        let other_manager = app.login("manager", DEMO_PASSWORD).await;
        assert_eq!(
            app.get_as(
                &format!("/api/v1/exchange/proof/{first_id}"),
                Some(&other_manager)
            )
            .await
            .status,
            200,
            "[{be}] same office"
        );

        // The citizen sees who looked them up, with the purpose and case.
        let mobile = person
            .mobile
            .as_ref()
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "09121234567".into());
        let token = app.citizen_token(&code, &mobile).await;
        let seen = app.get_as("/api/v1/me/data-access", Some(&token)).await;
        assert_eq!(seen.status, 200, "[{be}] {}", seen.text);
        let seen = seen.json();
        assert!(seen["total"].as_u64().unwrap() >= 1, "[{be}] {seen}");
        let row = seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["message_id"] == first_id)
            .expect("the inquiry is listed");
        assert_eq!(row["office"], format!("office:{DEMO_OFFICE}"));
        assert_eq!(row["operator"], "operator");
        assert_eq!(row["service"], "civil-registry.person");
        assert_eq!(row["case_id"], "CASE-1");
        assert_eq!(row["case_service"], "NID-001");
        // The same list as a page, in Persian.
        let page = app
            .send(
                app.client
                    .get(app.url("/citizen/data-access"))
                    .header("cookie", format!("pishkhan_citizen={token}")),
            )
            .await;
        assert_eq!(page.status, 200, "[{be}]");
        assert!(page.text.contains("چه کسی اطلاعات مرا دیده است"), "[{be}]");
        assert!(page.text.contains("civil-registry.person"), "[{be}]");
        // The citizen can fetch the proof of an inquiry about them, not of others.
        assert_eq!(
            app.get_as(&format!("/api/v1/exchange/proof/{first_id}"), Some(&token))
                .await
                .status,
            200
        );

        // An agency that is down: a clear 5xx problem, and the failure is logged too.
        let before = app.get("/api/v1/exchange/checkpoint").await.json()["size"]
            .as_u64()
            .unwrap();
        let url = fx.stop_agency(ReferenceAgency::CivilRegistry);
        // The person was asked about a moment ago: the service's policy allows reusing that
        // signed answer for a while, so the counter carries on, and says the answer is cached.
        let cached = app
            .post_json(
                "/api/v1/inquiries",
                Some(&operator),
                &person_inquiry(&code, "CASE-2"),
            )
            .await;
        assert_eq!(cached.status, 200, "[{be}] {}", cached.text);
        let cached = cached.json();
        assert!(cached["cached_at"].is_string(), "[{be}] {cached}");
        assert_eq!(cached["result"]["national_code"], code.as_str());
        // The citizen sees that lookup too, marked as a reused answer, in both languages.
        let seen = app
            .get_as("/api/v1/me/data-access", Some(&token))
            .await
            .json();
        let reused = seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["message_id"] == cached["message_id"])
            .expect("the cached inquiry is listed");
        assert_eq!(reused["case_id"], "CASE-2");
        assert!(reused["cached_at"].is_string(), "[{be}] {reused}");
        assert!(reused["cached_at_local"].is_string(), "[{be}] {reused}");
        let first_row = seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["message_id"] == first_id)
            .unwrap();
        assert!(first_row["cached_at"].is_null(), "[{be}] a fresh answer");
        for (lang, label) in [
            ("fa", "پاسخ امضاشدهٔ استعلام پیشین"),
            ("en", "an earlier lookup"),
        ] {
            let page = app
                .send(
                    app.client
                        .get(app.url(&format!("/citizen/data-access?lang={lang}")))
                        .header("cookie", format!("pishkhan_citizen={token}")),
                )
                .await;
            assert_eq!(page.status, 200, "[{be}]");
            assert!(page.text.contains(label), "[{be}] {lang}");
        }
        let before = before + 1;
        let mut fresh = person_inquiry(&code, "CASE-2");
        fresh["fresh"] = json!(true);
        let down = app
            .post_json("/api/v1/inquiries", Some(&operator), &fresh)
            .await;
        down.problem(503, "agency_unavailable");
        let after = app.get("/api/v1/exchange/checkpoint").await.json()["size"]
            .as_u64()
            .unwrap();
        assert_eq!(after, before + 1, "[{be}] the failed inquiry is logged");
        // The agency comes back and the exchange recovers (after the circuit's cool-down).
        fx.restart_agency(ReferenceAgency::CivilRegistry, &url)
            .await;
        let mut recovered = false;
        for _ in 0..100 {
            let again = app
                .post_json("/api/v1/inquiries", Some(&operator), &fresh)
                .await;
            if again.status == 200 {
                assert!(again.json()["cached_at"].is_null(), "[{be}] a fresh answer");
                recovered = true;
                break;
            }
            assert_eq!(again.status, 503, "[{be}] {}", again.text);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(recovered, "[{be}] the exchange recovers");

        // A suspended office may not inquire.
        let suspend = app
            .send(
                app.client
                    .put(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/status")))
                    .bearer_auth(&regulator)
                    .json(&json!({ "status": "suspended", "reason": "audit finding" })),
            )
            .await;
        assert_eq!(suspend.status, 204, "[{be}] {}", suspend.text);
        let mut mobile_q = person_inquiry(&code, "CASE-3");
        mobile_q["service"] = json!("postal.address");
        app.post_json("/api/v1/inquiries", Some(&operator), &mobile_q)
            .await
            .problem(403, "office_suspended");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_operator_looking_up_too_many_people_is_blocked_and_reported() {
    for app in TestApp::all_with(|c| c.app.inquiry_limits.distinct_subjects_per_hour = 3).await {
        let be = app.be();
        let fx = app.enable_exchange().await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let people = fx.population.sample(6);
        for p in &people[..3] {
            let ok = app
                .post_json(
                    "/api/v1/inquiries",
                    Some(&operator),
                    &person_inquiry(p.national_code.as_str(), "BULK"),
                )
                .await;
            assert_eq!(ok.status, 200, "[{be}] {}", ok.text);
        }
        // The same person again is fine; a fourth different one crosses the line.
        let again = app
            .post_json(
                "/api/v1/inquiries",
                Some(&operator),
                &person_inquiry(people[0].national_code.as_str(), "BULK"),
            )
            .await;
        assert_eq!(again.status, 200, "[{be}]");
        app.post_json(
            "/api/v1/inquiries",
            Some(&operator),
            &person_inquiry(people[3].national_code.as_str(), "BULK"),
        )
        .await
        .problem(403, "inquiries_blocked");
        // Blocked now even for people already looked up.
        app.post_json(
            "/api/v1/inquiries",
            Some(&operator),
            &person_inquiry(people[0].national_code.as_str(), "BULK"),
        )
        .await
        .problem(403, "inquiries_blocked");
        // The regulator sees the report in the audit log.
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let report = app
            .get_as("/api/v1/audit?action=inquiry.blocked", Some(&regulator))
            .await
            .json();
        assert_eq!(report["total"], 1, "[{be}] {report}");
        assert_eq!(report["items"][0]["actor"], "operator");
        app.stop().await;
    }
}
