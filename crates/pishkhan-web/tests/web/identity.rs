//! Identity checks at the counter through the exchange: every signal, normalized matching,
//! signed receipts that verify with the published JWKS, the second factor, the lockout, and a
//! suspended office refused.

use pishkhan_agency::{CardStatus, Person};
use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp};

fn claim(p: &Person) -> Value {
    json!({
        "national_code": p.national_code.as_str(),
        "first_name": p.first_name,
        "last_name": p.last_name,
        "father_name": p.father_name,
        "birth_date": p.birth_date.to_string(),
        "card_serial": p.card_serial.as_str(),
        "purpose": { "service_code": "NID-001", "case_id": "ID-CASE" },
    })
}

fn find(pop: &pishkhan_agency::Population, f: impl Fn(&Person) -> bool) -> Person {
    (0..pop.size())
        .map(|i| pop.person(i))
        .find(|p| f(p))
        .expect("such a person in the test population")
}

fn signals(v: &Value) -> Vec<String> {
    v["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn identity_checks_give_attributes_signals_and_signed_receipts() {
    for app in TestApp::all().await {
        let be = app.be();
        let fx = app.enable_exchange().await;
        let pop = &fx.population;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let verify = |body: Value| {
            let token = operator.clone();
            let app = &app;
            async move {
                app.post_json("/api/v1/identity/verifications", Some(&token), &body)
                    .await
            }
        };

        // A valid, living person with a valid card: verified, and a receipt any JOSE
        // library can check with our JWKS.
        let ok = find(pop, |p| {
            p.alive && p.card_status == CardStatus::Valid && p.mobile.is_some()
        });
        let done = verify(claim(&ok)).await;
        assert_eq!(done.status, 200, "[{be}] {}", done.text);
        let v = done.json();
        assert_eq!(v["decision"], "verified", "[{be}] {v}");
        assert_eq!(v["attributes"]["first_name"], "match");
        assert_eq!(v["attributes"]["mobile"], "not_given");
        assert!(signals(&v).is_empty(), "{v}");
        let jwks: pishkhan_sign::Jwks =
            serde_json::from_value(app.get("/api/v1/identity/keys").await.json()).unwrap();
        let keyring = pishkhan_sign::Keyring::from_jwks(&jwks).unwrap();
        let receipt = v["receipt"].as_str().unwrap();
        let checked = pishkhan_sign::jws::verify(receipt, &keyring).expect("receipt verifies");
        let claims: Value = serde_json::from_slice(&checked.payload).unwrap();
        assert_eq!(claims["vid"], v["verification_id"]);
        assert_eq!(claims["office"], DEMO_OFFICE);
        assert_eq!(claims["decision"], "verified");
        assert_eq!(claims["profile"], v["profile_version"]);
        assert!(
            !String::from_utf8_lossy(&checked.payload).contains(ok.national_code.as_str()),
            "the receipt carries the national code only hashed"
        );
        // One changed byte anywhere in the receipt and it no longer verifies.
        let mut bytes = receipt.as_bytes().to_vec();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert!(
            pishkhan_sign::jws::verify(std::str::from_utf8(&bytes).unwrap(), &keyring).is_err()
        );

        // Normalized matching: Arabic yeh/kaf and spacing still match, and say so.
        let mut arabic = claim(&ok);
        let folded: String = ok
            .first_name
            .chars()
            .map(|c| match c {
                'ی' => 'ي',
                'ک' => 'ك',
                other => other,
            })
            .collect();
        arabic["first_name"] = json!(format!(" {folded} "));
        let n = verify(arabic).await.json();
        assert_eq!(n["attributes"]["first_name"], "match", "[{be}] {n}");
        assert_eq!(n["attribute_details"]["first_name"]["exact"], false);
        assert_eq!(n["attribute_details"]["first_name"]["normalized"], true);

        // Every signal, each from a real registry record.
        let dead = find(pop, |p| !p.alive);
        assert!(signals(&verify(claim(&dead)).await.json()).contains(&"person_deceased".into()));
        let lost = find(pop, |p| p.alive && p.card_status == CardStatus::Lost);
        let r = verify(claim(&lost)).await.json();
        assert!(signals(&r).contains(&"card_reported_lost".into()), "{r}");
        assert_eq!(r["decision"], "rejected");
        let revoked = find(pop, |p| p.alive && p.card_status == CardStatus::Revoked);
        assert!(signals(&verify(claim(&revoked)).await.json()).contains(&"card_revoked".into()));
        let mut wrong_card = claim(&ok);
        wrong_card["card_serial"] = json!("9Z99999999");
        assert!(signals(&verify(wrong_card).await.json()).contains(&"card_serial_mismatch".into()));
        let mut bad_code = claim(&ok);
        bad_code["national_code"] = json!("1234567890");
        let r = verify(bad_code).await.json();
        assert_eq!(signals(&r), vec!["invalid_national_code"], "{r}");
        assert_eq!(r["decision"], "rejected");
        let mut nobody = claim(&ok);
        let mut unknown = None;
        for i in 0u64..10_000 {
            let candidate = format!("{:09}", 100_000_000 + i * 7919);
            let digits: Vec<u32> = candidate.chars().map(|c| c.to_digit(10).unwrap()).collect();
            let s: u32 = digits
                .iter()
                .enumerate()
                .map(|(k, d)| d * (10 - k as u32))
                .sum();
            let r = s % 11;
            let check = if r < 2 { r } else { 11 - r };
            let code = format!("{candidate}{check}");
            let known = pishkhan_domain::NationalCode::parse(&code).ok().map(|c| {
                pishkhan_agency::Registry::record_by_national_code(pop, &c)
                    .unwrap()
                    .is_some()
            });
            if known == Some(false) {
                unknown = Some(code);
                break;
            }
        }
        nobody["national_code"] = json!(unknown.expect("an unknown code"));
        assert!(signals(&verify(nobody).await.json()).contains(&"person_not_found".into()));
        let other_mobile = find(pop, |p| p.mobile.is_some() && p.mobile != ok.mobile)
            .mobile
            .unwrap();
        let mut not_owned = claim(&ok);
        not_owned["mobile"] = json!(other_mobile.as_str());
        let r = verify(not_owned).await.json();
        assert!(signals(&r).contains(&"mobile_not_owned".into()), "{r}");
        assert_eq!(r["decision"], "needs_review");

        // Malformed input is a 422 problem.
        let mut no_date = claim(&ok);
        no_date["birth_date"] = json!("1370-13-40");
        verify(no_date).await.problem(422, "invalid_date");
        let mut no_purpose = claim(&ok);
        no_purpose.as_object_mut().unwrap().remove("purpose");
        verify(no_purpose).await.problem(422, "missing_purpose");

        // Second factor: a code to the owned mobile, read back, upgrades the receipt.
        let mut with_mobile = claim(&ok);
        with_mobile["mobile"] = json!(ok.mobile.as_ref().unwrap().as_str());
        let v = verify(with_mobile).await.json();
        assert_eq!(v["attributes"]["mobile"], "match", "{v}");
        assert_eq!(v["second_factor_available"], true);
        let id = v["verification_id"].as_str().unwrap();
        let sent = app
            .post_json(
                &format!("/api/v1/identity/verifications/{id}/second-factor"),
                Some(&operator),
                &json!({}),
            )
            .await;
        assert_eq!(sent.status, 202, "[{be}] {}", sent.text);
        let sms = app
            .store
            .outbox_messages(Some(ok.mobile.as_ref().unwrap().as_str()), 20)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.kind == "identity.otp")
            .expect("the code went out by SMS");
        let code = sms.payload["code"].as_str().unwrap().to_string();
        let confirm = format!("/api/v1/identity/verifications/{id}/second-factor/confirm");
        app.post_json(&confirm, Some(&operator), &json!({ "code": "000000x" }))
            .await
            .problem(422, "wrong_code");
        let up = app
            .post_json(&confirm, Some(&operator), &json!({ "code": code }))
            .await;
        assert_eq!(up.status, 200, "[{be}] {}", up.text);
        let up = up.json();
        assert_eq!(up["second_factor"], true);
        let claims: Value = serde_json::from_slice(
            &pishkhan_sign::jws::verify(up["receipt"].as_str().unwrap(), &keyring)
                .unwrap()
                .payload,
        )
        .unwrap();
        assert_eq!(claims["second_factor"], true);

        // The checks are in the exchange log and in the citizen's data-access view.
        let mobile = ok.mobile.as_ref().unwrap().as_str().to_string();
        let token = app.citizen_token(ok.national_code.as_str(), &mobile).await;
        let seen = app
            .get_as("/api/v1/me/data-access", Some(&token))
            .await
            .json();
        assert!(
            seen["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["service"] == "civil-registry.person" && r["case_id"] == "ID-CASE"),
            "[{be}] {seen}"
        );

        // Lockout: after five rejections of one code, further checks are refused.
        let target = find(pop, |p| {
            p.alive && p.card_status == CardStatus::Valid && p.index > ok.index
        });
        for _ in 0..5 {
            let mut wrong = claim(&target);
            wrong["last_name"] = json!("نادرست");
            assert_eq!(verify(wrong).await.json()["decision"], "rejected");
        }
        verify(claim(&target)).await.problem(409, "identity_locked");

        // The regulator sees operators with a high failure share.
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let report = app
            .get_as(
                "/api/v1/identity/operators?min_attempts=5&min_rejected_share=0.2",
                Some(&regulator),
            )
            .await;
        assert_eq!(report.status, 200, "[{be}] {}", report.text);
        assert_eq!(report.json()[0]["operator"], "operator");

        // The console's verification panel and the printable receipt with its QR code.
        let (_, session) = crate::ui::form_login(&app, "operator", "/console").await;
        let panel = app
            .send(
                app.client
                    .get(app.url("/console/identity"))
                    .header("cookie", &session),
            )
            .await;
        assert_eq!(panel.status, 200, "[{be}]");
        let csrf = crate::ui::input_value(&panel.text, "csrf");
        let birth = ok.birth_date.to_string();
        let shown = crate::ui::post_form(
            &app,
            "/console/identity",
            &session,
            crate::ui::form(&[
                ("csrf", &csrf),
                ("national_code", ok.national_code.as_str()),
                ("first_name", ok.first_name),
                ("last_name", ok.last_name),
                ("birth_date", &birth),
                ("card_serial", ok.card_serial.as_str()),
                ("service_code", "NID-001"),
                ("case_id", "UI-1"),
            ]),
        )
        .await;
        assert_eq!(shown.status, 200, "[{be}] {}", shown.text);
        assert!(shown.text.contains("data-decision=\"verified\""), "[{be}]");
        assert!(shown.text.contains("هویت تأیید شد"), "[{be}]");
        let start = shown.text.find("/identity/receipts/").unwrap();
        let link: String = shown.text[start..]
            .chars()
            .take_while(|c| *c != '"')
            .collect();
        let printed = app
            .send(app.client.get(app.url(&link)).header("cookie", &session))
            .await;
        assert_eq!(printed.status, 200, "[{be}]");
        assert!(printed.text.contains("<svg"), "[{be}] a QR code");
        // Another office's staff cannot open it.
        let (_, other) = crate::ui::form_login(&app, "regulator", "/").await;
        assert_eq!(
            app.send(app.client.get(app.url(&link)).header("cookie", &other))
                .await
                .status,
            200,
            "[{be}] the regulator may"
        );

        // A suspended office is refused.
        let s = app
            .send(
                app.client
                    .put(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/status")))
                    .bearer_auth(&regulator)
                    .json(&json!({ "status": "suspended", "reason": "audit" })),
            )
            .await;
        assert_eq!(s.status, 204);
        verify(claim(&ok)).await.problem(403, "office_suspended");
        app.stop().await;
    }
}
