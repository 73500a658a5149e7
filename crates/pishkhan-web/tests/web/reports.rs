//! Citizens' reports over the JSON API on every backend: filing (one's own booking only, text
//! bounded and free of control characters), the per-citizen limits from the abuser's side,
//! folding of repeats, triage, the citizen's addition, the office's answer, and the citizen
//! following the report to that answer; each step texted and audited.

use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE, TestApp};

const MOBILE: &str = "09121234567";

fn report(office: &str, category: &str, text: &str) -> Value {
    json!({ "office": office, "category": category, "text": text })
}

async fn file(app: &TestApp, token: &str, body: &Value) -> crate::support::Resp {
    app.post_json("/api/v1/reports", Some(token), body).await
}

async fn texts(app: &TestApp, kind: &str) -> Vec<Value> {
    app.store
        .outbox_messages(Some(MOBILE), 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == kind)
        .map(|m| m.payload)
        .collect()
}

async fn audited(app: &TestApp, regulator: &str, action: &str) -> u64 {
    let r = app
        .get_as(
            &format!("/api/v1/audit?action={action}&per_page=1"),
            Some(regulator),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["total"].as_u64().unwrap()
}

/// Books the first free slot tomorrow at `office` for the signed-in citizen.
async fn book(app: &TestApp, token: &str, office: &str, national_code: &str) -> String {
    let avail = app
        .get(&format!(
            "/api/v1/offices/{office}/availability?service=PSP-001&from=1405-09-08&days=1"
        ))
        .await;
    assert_eq!(avail.status, 200, "{}", avail.text);
    let start = avail.json()["days"][0]["slots"][0]["start"]
        .as_str()
        .expect("a free slot")
        .to_string();
    let body = json!({ "office": office, "service": "PSP-001", "start": start,
        "national_code": national_code, "mobile": MOBILE });
    let r = app.post_json("/api/v1/bookings", Some(token), &body).await;
    assert_eq!(r.status, 201, "[{}] {}", app.be(), r.text);
    r.json()["tracking_code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_citizen_reports_an_office_and_follows_it_to_the_answer() {
    for app in TestApp::all().await {
        let be = app.be();
        let citizen_code = app.fresh_national_code();
        let citizen = app.citizen_token(&citizen_code, MOBILE).await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;

        let made = file(
            &app,
            &citizen,
            &report(
                DEMO_OFFICE,
                "no_appointments",
                "هیچ نوبتی به ما داده نشد و گفتند حضوری بیایید",
            ),
        )
        .await;
        assert_eq!(made.status, 201, "[{be}] {}", made.text);
        let made = made.json();
        assert_eq!(made["status"], "submitted", "[{be}]");
        assert_eq!(made["folded"], false, "[{be}]");
        let id = made["id"].as_i64().unwrap();
        let received = texts(&app, "report.received").await;
        assert_eq!(received.len(), 1, "[{be}]");
        assert_eq!(received[0]["report"], id, "[{be}]");

        // The office does not see what the regulator has not accepted.
        let office_list = app.get_as("/api/v1/reports", Some(&manager)).await;
        assert_eq!(office_list.status, 200, "[{be}] {}", office_list.text);
        assert_eq!(office_list.json()["total"], 0, "[{be}]");
        app.get_as(&format!("/api/v1/reports/{id}"), Some(&manager))
            .await
            .problem(404, "not_found");
        let answer = json!({ "text": "از فردا نوبت‌دهی اینترنتی فعال است" });
        app.post_json(
            &format!("/api/v1/reports/{id}/answer"),
            Some(&manager),
            &answer,
        )
        .await
        .problem(404, "not_found");

        // The regulator's queue; a rejection or a request for more needs a note.
        let queue = app
            .get_as(
                &format!(
                    "/api/v1/reports?status=submitted&office={DEMO_OFFICE}&category=no_appointments"
                ),
                Some(&regulator),
            )
            .await;
        assert_eq!(queue.status, 200, "[{be}] {}", queue.text);
        let queue = queue.json();
        assert_eq!(queue["total"], 1, "[{be}]");
        assert_eq!(queue["items"][0]["id"], id, "[{be}]");
        assert!(queue["items"][0].get("national_code").is_none(), "[{be}]");
        let triage = |decision: &str, note: &str| json!({ "decision": decision, "note": note });
        let path = format!("/api/v1/reports/{id}/triage");
        app.post_json(&path, Some(&regulator), &triage("ask_more", ""))
            .await
            .problem(422, "note_required");
        app.post_json(&path, Some(&regulator), &triage("maybe", "x"))
            .await
            .problem(422, "invalid_decision");
        app.post_json(&path, Some(&manager), &triage("accept", ""))
            .await
            .problem(403, "forbidden_role");
        let asked = app
            .post_json(
                &path,
                Some(&regulator),
                &triage("ask_more", "کدام روز و ساعت؟"),
            )
            .await;
        assert_eq!(asked.status, 200, "[{be}] {}", asked.text);
        assert_eq!(asked.json()["status"], "more_asked", "[{be}]");
        app.post_json(&path, Some(&regulator), &triage("accept", ""))
            .await
            .problem(409, "report_not_submitted");

        // The citizen adds what was asked; someone else cannot.
        let more = json!({ "text": "شنبه ۱ آذر ساعت ۹ صبح مراجعه کردم" });
        let stranger = app
            .citizen_token(&app.fresh_national_code(), "09120000000")
            .await;
        app.post_json(
            &format!("/api/v1/reports/{id}/more"),
            Some(&stranger),
            &more,
        )
        .await
        .problem(404, "not_found");
        let added = app
            .post_json(&format!("/api/v1/reports/{id}/more"), Some(&citizen), &more)
            .await;
        assert_eq!(added.status, 200, "[{be}] {}", added.text);
        assert_eq!(added.json()["status"], "submitted", "[{be}]");
        app.post_json(&format!("/api/v1/reports/{id}/more"), Some(&citizen), &more)
            .await
            .problem(409, "report_not_asked");

        let accepted = app
            .post_json(&path, Some(&regulator), &triage("accept", ""))
            .await;
        assert_eq!(accepted.status, 200, "[{be}] {}", accepted.text);
        assert_eq!(accepted.json()["status"], "accepted", "[{be}]");

        // Now the office sees it and answers; the operator and the regulator may not.
        let office_list = app.get_as("/api/v1/reports", Some(&manager)).await.json();
        assert_eq!(office_list["total"], 1, "[{be}]");
        let answer_path = format!("/api/v1/reports/{id}/answer");
        app.post_json(&answer_path, Some(&operator), &answer)
            .await
            .problem(403, "forbidden_role");
        app.post_json(&answer_path, Some(&regulator), &answer)
            .await
            .problem(403, "forbidden_role");
        let answered = app.post_json(&answer_path, Some(&manager), &answer).await;
        assert_eq!(answered.status, 200, "[{be}] {}", answered.text);
        assert_eq!(answered.json()["status"], "answered", "[{be}]");

        // The citizen follows it to the answer.
        let mine = app.get_as("/api/v1/me/reports", Some(&citizen)).await;
        assert_eq!(mine.status, 200, "[{be}] {}", mine.text);
        let mine = mine.json();
        assert_eq!(mine["total"], 1, "[{be}]");
        assert_eq!(mine["items"][0]["status"], "answered", "[{be}]");
        let one = app
            .get_as(&format!("/api/v1/reports/{id}"), Some(&citizen))
            .await
            .json();
        let entries = one["entries"].as_array().unwrap();
        let kinds: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e["party"].as_str().unwrap(), e["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("citizen", "report"),
                ("regulator", "triage"),
                ("citizen", "addition"),
                ("regulator", "triage"),
                ("office", "answer"),
            ],
            "[{be}]"
        );
        assert_eq!(entries[4]["text"], answer["text"], "[{be}]");
        assert_eq!(entries[1]["decision"], "ask_more", "[{be}]");
        // Someone else's report is not there for them.
        app.get_as(&format!("/api/v1/reports/{id}"), Some(&stranger))
            .await
            .problem(404, "not_found");

        // Every step was texted and audited.
        let triaged = texts(&app, "report.triaged").await;
        let decisions: Vec<&str> = triaged
            .iter()
            .map(|p| p["decision"].as_str().unwrap())
            .collect();
        assert_eq!(decisions.len(), 2, "[{be}]");
        assert!(
            decisions.contains(&"ask_more") && decisions.contains(&"accept"),
            "[{be}]"
        );
        assert_eq!(texts(&app, "report.answered").await.len(), 1, "[{be}]");
        assert_eq!(
            audited(&app, &regulator, "report.create").await,
            2,
            "[{be}]"
        );
        assert_eq!(
            audited(&app, &regulator, "report.triage").await,
            2,
            "[{be}]"
        );
        assert_eq!(
            audited(&app, &regulator, "report.answer").await,
            1,
            "[{be}]"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_report_names_only_the_citizens_own_booking_at_that_office() {
    for app in TestApp::all().await {
        let be = app.be();
        let owner_code = app.fresh_national_code();
        let owner = app.citizen_token(&owner_code, MOBILE).await;
        let code = book(&app, &owner, DEMO_OFFICE, &owner_code).await;
        let other = app.citizen_token(&app.fresh_national_code(), MOBILE).await;
        let with = |office: &str, booking: &str| {
            json!({ "office": office, "category": "misconduct",
                "text": "کارمند باجه با من بی‌احترامی کرد", "booking": booking })
        };

        file(&app, &other, &with(DEMO_OFFICE, &code))
            .await
            .problem(422, "booking_not_yours");
        file(&app, &owner, &with(OTHER_OFFICE, &code))
            .await
            .problem(422, "booking_not_yours");
        file(&app, &owner, &with(DEMO_OFFICE, "ZZZZ-ZZZZ"))
            .await
            .problem(422, "booking_not_yours");
        file(&app, &owner, &with(DEMO_OFFICE, "not a code"))
            .await
            .problem(422, "invalid_tracking_code");
        let ok = file(&app, &owner, &with(DEMO_OFFICE, &code)).await;
        assert_eq!(ok.status, 201, "[{be}] {}", ok.text);
        let id = ok.json()["id"].as_i64().unwrap();
        let one = app
            .get_as(&format!("/api/v1/reports/{id}"), Some(&owner))
            .await
            .json();
        assert_eq!(one["booking"], code.replace('-', ""), "[{be}]");
        app.stop().await;
    }
}

#[tokio::test]
async fn one_citizen_cannot_flood_the_regulator_and_repeats_fold() {
    for app in TestApp::all().await {
        let be = app.be();
        let citizen_code = app.fresh_national_code();
        let citizen = app.citizen_token(&citizen_code, MOBILE).await;
        let text = "صف بسیار طولانی بود و کسی پاسخگو نبود";

        // Refusals of bad input, which count for nothing.
        let bad = [
            (
                report(DEMO_OFFICE, "crowding", "short"),
                422,
                "invalid_text_length",
            ),
            (
                report(DEMO_OFFICE, "crowding", &"ا".repeat(2_001)),
                422,
                "invalid_text_length",
            ),
            (
                report(DEMO_OFFICE, "crowding", "a null\u{0} byte in it"),
                422,
                "control_character",
            ),
            (
                report(DEMO_OFFICE, "crowding", "a bell\u{7} in the text"),
                422,
                "control_character",
            ),
            (
                report(DEMO_OFFICE, "noise", text),
                422,
                "invalid_report_category",
            ),
            (report("99999999", "crowding", text), 422, "unknown_office"),
        ];
        for (body, status, code) in &bad {
            file(&app, &citizen, body).await.problem(*status, code);
        }
        let manager = app.login("manager", DEMO_PASSWORD).await;
        file(&app, &manager, &report(DEMO_OFFICE, "crowding", text))
            .await
            .problem(403, "not_a_citizen");
        app.post_json(
            "/api/v1/reports",
            None,
            &report(DEMO_OFFICE, "crowding", text),
        )
        .await
        .problem(401, "unauthenticated");

        // A repeat of the same office and category folds into the first report.
        let first = file(&app, &citizen, &report(DEMO_OFFICE, "crowding", text)).await;
        assert_eq!(first.status, 201, "[{be}] {}", first.text);
        let id = first.json()["id"].as_i64().unwrap();
        let again = file(
            &app,
            &citizen,
            &report(DEMO_OFFICE, "crowding", "دوباره همان صف طولانی امروز"),
        )
        .await;
        assert_eq!(again.status, 201, "[{be}] {}", again.text);
        let again = again.json();
        assert_eq!(
            (again["id"].as_i64(), again["folded"].as_bool()),
            (Some(id), Some(true)),
            "[{be}]"
        );
        let third = file(&app, &citizen, &report(OTHER_OFFICE, "crowding", text)).await;
        assert_eq!(third.status, 201, "[{be}] {}", third.text);
        assert_ne!(third.json()["id"].as_i64(), Some(id), "[{be}]");

        // Folded or not, three a day is the limit: the fourth waits, and says how long.
        let fourth = file(&app, &citizen, &report(OTHER_OFFICE, "misconduct", text)).await;
        fourth.problem(429, "too_many_reports_today");
        let wait: u64 = fourth.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&wait), "[{be}] retry-after {wait}");
        let mine = app
            .get_as("/api/v1/me/reports", Some(&citizen))
            .await
            .json();
        assert_eq!(mine["total"], 2, "[{be}]");
        assert_eq!(
            mine["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["folded"].as_u64().unwrap())
                .sum::<u64>(),
            1,
            "[{be}]"
        );

        // Many at once from the same citizen still get only the day's limit past.
        app.clock.advance(time::Duration::hours(25));
        // A new day, a new session (the last one has expired).
        let citizen = app.citizen_token(&citizen_code, MOBILE).await;
        let burst: Vec<_> = (0..8)
            .map(|i| {
                let cat = ["crowding", "misconduct", "overcharging", "other"][i % 4];
                let office = if i < 4 { DEMO_OFFICE } else { OTHER_OFFICE };
                let body = report(office, cat, text);
                let app = &app;
                let citizen = &citizen;
                async move { file(app, citizen, &body).await.status }
            })
            .collect();
        let statuses = futures_util::future::join_all(burst).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            3,
            "[{be}] {statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count(),
            5,
            "[{be}] {statuses:?}"
        );
        app.stop().await;
    }
}

// ---- in the browser ------------------------------------------------------------------------

use crate::browser::{Browser, Env, Walk, check_page, path_of};
use crate::screen_a11y::axe_violations;
use crate::screen_kit::{
    browser_at, citizen_session, citizen_with_booking, staff_session, visible_text,
};

async fn submit(b: &Browser, form: &str) {
    b.click(&b.find(&format!("{form} button[type=submit]")).await)
        .await;
}

/// The Done-means of issue 13: a citizen reports an office from their booking, the regulator
/// accepts it, the manager answers it, and the citizen reads the answer; at a phone's width
/// in Persian and a laptop's in English.
#[tokio::test]
async fn browser_a_citizen_reports_an_office_and_follows_it_to_the_answer() {
    let Some(env) = Env::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let work = tempfile::tempdir().unwrap();
    let mut walk = Walk::default();
    let mut problems = Vec::new();

    for (width, lang, mobile) in [(390, "fa", "09351117801"), (1366, "en", "09351117802")] {
        env.b.step(&format!(
            "a citizen's report to its answer at {width}px ({lang})"
        ));
        let citizen = citizen_with_booking(&app, mobile).await;
        let session = browser_at(&env, work.path(), width, &app).await;
        let b = &session;
        citizen_session(b, &app, &citizen, lang).await;

        // From the booking, to the form with the booking and the office filled in.
        b.goto(&format!("{base}/citizen")).await;
        b.click(&b.find(".booking .report-link").await).await;
        b.wait_for_url("the report form", |u| {
            path_of(u).starts_with("/citizen/reports/new")
        })
        .await;
        let office = b
            .attr(&b.find("#report-form input[name=office]").await, "value")
            .await;
        assert_eq!(
            office.as_deref(),
            Some(DEMO_OFFICE),
            "the office comes from the booking"
        );
        b.click(
            &b.find("#report-form select[name=category] option[value=no_appointments]")
                .await,
        )
        .await;
        let text = match lang {
            "fa" => "به من نوبت اینترنتی ندادند و گفتند حضوری بیا",
            _ => "They gave me no online appointment and told me to walk in",
        };
        b.type_into("#report-form textarea[name=text]", text).await;
        if width == 390 {
            check_page(b, lang, &mut walk).await;
            problems.extend(
                axe_violations(b)
                    .await
                    .into_iter()
                    .map(|v| format!("/citizen/reports/new: {v}")),
            );
        }
        submit(b, "#report-form").await;
        b.wait_for_url("the citizen's reports", |u| {
            path_of(u).starts_with("/citizen/reports?")
        })
        .await;
        b.find("#report-notice").await;
        let mine = app
            .get_as("/api/v1/me/reports", Some(&citizen))
            .await
            .json();
        let id = mine["items"][0]["id"].as_i64().expect("the report");
        assert!(
            mine["items"][0]["booking"].is_string(),
            "the booking went with it"
        );
        let card = format!("#report-{id}");
        let waiting = match lang {
            "fa" => "در انتظار بررسی",
            _ => "Awaiting review",
        };
        let status = visible_text(b, &format!("{card} .report-status")).await;
        assert!(status.contains(waiting), "{lang}: {status}");
        if width == 390 {
            check_page(b, lang, &mut walk).await;
            problems.extend(
                axe_violations(b)
                    .await
                    .into_iter()
                    .map(|v| format!("/citizen/reports: {v}")),
            );
        }

        // The regulator accepts it from the triage list.
        let reg = browser_at(&env, &work.path().join(format!("reg{width}")), width, &app).await;
        staff_session(&reg, &app, "regulator", lang).await;
        reg.goto(&format!("{base}/reports?status=submitted")).await;
        reg.find(&format!("{card} form.triage")).await;
        if width == 390 {
            check_page(&reg, lang, &mut walk).await;
            problems.extend(
                axe_violations(&reg)
                    .await
                    .into_iter()
                    .map(|v| format!("/reports (regulator): {v}")),
            );
        }
        reg.click(
            &reg.find(&format!("{card} form.triage option[value=accept]"))
                .await,
        )
        .await;
        submit(&reg, &format!("{card} form.triage")).await;
        reg.wait_for_url("back on the list", |u| path_of(u).contains("#report-"))
            .await;
        reg.quit().await;

        // The manager answers it.
        let mgr = browser_at(&env, &work.path().join(format!("mgr{width}")), width, &app).await;
        staff_session(&mgr, &app, "manager", lang).await;
        mgr.goto(&format!("{base}/reports")).await;
        mgr.find(&format!("{card} form.answer")).await;
        let answer = match lang {
            "fa" => "از امروز نوبت‌دهی اینترنتی برای همه خدمات باز است",
            _ => "Online booking is open for every service from today",
        };
        mgr.type_into(&format!("{card} form.answer textarea"), answer)
            .await;
        if width == 390 {
            check_page(&mgr, lang, &mut walk).await;
            problems.extend(
                axe_violations(&mgr)
                    .await
                    .into_iter()
                    .map(|v| format!("/reports (manager): {v}")),
            );
        }
        submit(&mgr, &format!("{card} form.answer")).await;
        mgr.wait_for_url("back on the list", |u| path_of(u).contains("#report-"))
            .await;
        mgr.quit().await;

        // The citizen reads the answer.
        b.goto(&format!("{base}/citizen/reports")).await;
        let answered = match lang {
            "fa" => "دفتر پاسخ داد",
            _ => "Answered",
        };
        let status = visible_text(b, &format!("{card} .report-status")).await;
        assert!(status.contains(answered), "{lang}: {status}");
        let thread = visible_text(b, &format!("{card} .report-thread")).await;
        assert!(
            thread.contains(answer) && thread.contains(text),
            "{lang}: {thread}"
        );
        session.quit().await;
    }

    walk.finish();
    env.stop().await;
    app.stop().await;
    assert!(problems.is_empty(), "axe-core at 390px: {problems:#?}");
}
