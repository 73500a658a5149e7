//! Compliance through the API on every backend: versioned rules, a run that finds a seeded
//! offender and not a compliant office, an idempotent rerun, the sanctions ladder, a
//! suspension that refuses the office's inquiries with 403 `office_suspended`, and
//! reinstatement refused until bookable slots are published, then approved.

use pishkhan_domain::JalaliDate;
use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, OTHER_OFFICE, TestApp};

/// 7 Azar 1405, the fixed test day.
const TODAY: &str = "1405-09-07";

/// Stores `days` days of queue figures for `office` before today, as its queue would.
pub(crate) async fn seed_figures(
    app: &TestApp,
    office: &str,
    days: i64,
    booked: u32,
    walk_ins: u32,
) {
    let today = JalaliDate::parse(TODAY).unwrap();
    for back in 1..=days {
        let day = today.add_days(-back);
        let figures = json!({
            "bookings": booked, "cancelled": 0, "check_ins": booked, "late_arrivals": 0,
            "no_shows": 0, "walk_ins": walk_ins, "completed": booked + walk_ins,
            "missed_calls": 0, "avg_wait_s": null, "max_wait_s": null,
            "avg_service_s": null, "booked_share": null,
        });
        app.raw_sql(&format!(
            "INSERT INTO office_day_figures (office_code, day, figures_json, updated_at_ms) \
             VALUES ({office}, '{day}', '{figures}', 0)"
        ))
        .await;
    }
    // Rows written behind the queue's back reach the rollups through a rebuild.
    app.store.rebuild_rollups().await.unwrap();
}

fn rules(max_share: u32) -> Value {
    json!({ "rules": [
        { "kind": "low_booked_share", "severity": "high",
          "params": { "days": 14, "min_daily_visits": 40, "max_booked_share_pct": max_share } },
        { "kind": "no_bookable_slots", "severity": "medium",
          "params": { "recent_days": 7, "min_lookups": 1000, "ahead_days": 7 } },
    ]})
}

fn person_inquiry(national_code: &str) -> Value {
    json!({
        "service": "civil-registry.person",
        "purpose": { "legal_basis": "قانون ثبت احوال، ماده ۱", "service_code": "NID-001", "case_id": "C-1" },
        "subject": national_code,
    })
}

async fn managers_notices(app: &TestApp) -> Vec<String> {
    let manager = app
        .nation
        .staff
        .iter()
        .find(|s| s.username.as_str() == "manager")
        .expect("the demo manager");
    app.store
        .outbox_messages(Some(manager.mobile.as_str()), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "compliance.notice")
        .map(|m| m.payload["step"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn rules_are_versioned_and_checked() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let first = app
            .get_as("/api/v1/compliance/rules", Some(&regulator))
            .await;
        assert_eq!(first.status, 200, "[{be}] {}", first.text);
        // Version 2 is the migration's: the first with the citizens' reports rule.
        assert_eq!(first.json()["version"], 2, "[{be}]");
        assert_eq!(first.json()["rules"][0]["kind"], "low_booked_share");
        assert_eq!(first.json()["rules"][2]["kind"], "reports_threshold");

        for bad in [
            json!({ "rules": [{ "kind": "nonsense", "severity": "high", "params": {} }] }),
            json!({ "rules": [{ "kind": "low_booked_share", "severity": "high",
                "params": { "days": 0, "min_daily_visits": 40, "max_booked_share_pct": 20 } }] }),
            json!({ "rules": [{ "kind": "low_booked_share", "severity": "high",
                "params": { "days": 14, "min_daily_visits": 40, "max_booked_share_pct": 20, "x": 1 } }] }),
            json!({ "rules": [{ "kind": "low_booked_share", "severity": "urgent",
                "params": { "days": 14, "min_daily_visits": 40, "max_booked_share_pct": 20 } }] }),
            json!({ "rules": "low" }),
        ] {
            app.put_json("/api/v1/compliance/rules", Some(&regulator), &bad)
                .await
                .problem(422, "invalid_rule");
        }
        app.put_json("/api/v1/compliance/rules", Some(&manager), &rules(20))
            .await
            .problem(403, "forbidden_role");
        app.get_as("/api/v1/compliance/rules", Some(&manager))
            .await
            .problem(403, "forbidden_role");

        let saved = app
            .put_json("/api/v1/compliance/rules", Some(&regulator), &rules(25))
            .await;
        assert_eq!(saved.status, 200, "[{be}] {}", saved.text);
        assert_eq!(saved.json()["version"], 3, "[{be}]");
        let again = app
            .put_json("/api/v1/compliance/rules", Some(&regulator), &rules(20))
            .await;
        assert_eq!(again.json()["version"], 4, "[{be}]");
        let now = app
            .get_as("/api/v1/compliance/rules", Some(&regulator))
            .await
            .json();
        assert_eq!(now["version"], 4, "[{be}]");
        assert_eq!(
            now["rules"][0]["params"]["max_booked_share_pct"], 20,
            "[{be}]"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_run_finds_the_offender_and_the_ladder_cuts_it_off_until_slots_are_published() {
    for app in TestApp::all().await {
        let be = app.be();
        let fx = app.enable_exchange().await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let person = fx.population.sample(1)[0]
            .national_code
            .as_str()
            .to_string();

        // Busy and walk-in only: the offender. Busy and booked: compliant. Quiet: not busy.
        seed_figures(&app, DEMO_OFFICE, 14, 5, 60).await;
        seed_figures(&app, OTHER_OFFICE, 14, 50, 10).await;
        let rules = app
            .put_json("/api/v1/compliance/rules", Some(&regulator), &rules(20))
            .await
            .json();
        let version = rules["version"].as_i64().unwrap();

        app.post_json("/api/v1/compliance/runs", Some(&manager), &json!({}))
            .await
            .problem(403, "forbidden_role");
        let run = app
            .post_json("/api/v1/compliance/runs", Some(&regulator), &json!({}))
            .await;
        assert_eq!(run.status, 201, "[{be}] {}", run.text);
        assert_eq!(run.json()["new_findings"], 1, "[{be}] {}", run.text);

        let open = app
            .get_as("/api/v1/compliance/findings?status=open", Some(&regulator))
            .await;
        assert_eq!(open.status, 200, "[{be}] {}", open.text);
        let open = open.json();
        assert_eq!(open["total"], 1, "[{be}] {open}");
        let f = &open["items"][0];
        assert_eq!(f["office"], DEMO_OFFICE, "[{be}]");
        assert_eq!(f["rule"], "low_booked_share", "[{be}]");
        assert_eq!(f["rule_version"], version, "[{be}]");
        assert_eq!(f["severity"], "high", "[{be}]");
        assert_eq!(f["evidence"]["visits"], 14 * 65, "[{be}] {f}");
        assert_eq!(f["evidence"]["booked_visits"], 14 * 5, "[{be}]");
        assert_eq!(f["evidence"]["booked_share_pct"], 7, "[{be}]");
        assert_eq!(f["evidence"]["rule_version"], version, "[{be}]");
        assert!(f["created_at"].is_string(), "[{be}]");
        let finding = f["id"].as_i64().unwrap();

        // The same rule version, office and period: no new finding.
        let rerun = app
            .post_json("/api/v1/compliance/runs", Some(&regulator), &json!({}))
            .await;
        assert_eq!(rerun.json()["new_findings"], 0, "[{be}] {}", rerun.text);
        let all = app
            .get_as("/api/v1/compliance/findings", Some(&regulator))
            .await
            .json();
        assert_eq!(all["total"], 1, "[{be}] {all}");
        // The manager sees their own office's findings, not the nation's.
        let own = app
            .get_as(
                &format!("/api/v1/compliance/findings?office={DEMO_OFFICE}"),
                Some(&manager),
            )
            .await;
        assert_eq!(own.status, 200, "[{be}] {}", own.text);
        assert_eq!(own.json()["total"], 1, "[{be}]");
        app.get_as("/api/v1/compliance/findings", Some(&manager))
            .await
            .problem(403, "forbidden_role");

        // The ladder: warn before suspending.
        let sanctions = format!("/api/v1/offices/{DEMO_OFFICE}/sanctions");
        let suspend =
            json!({ "kind": "suspension", "reason": "بی‌توجهی به نوبت‌دهی", "findings": [finding] });
        app.post_json(&sanctions, Some(&regulator), &suspend)
            .await
            .problem(409, "sanction_out_of_order");
        app.post_json(
            &sanctions,
            Some(&regulator),
            &json!({ "kind": "warning", "reason": "  ", "findings": [] }),
        )
        .await
        .problem(422, "invalid_text");
        app.post_json(
            &sanctions,
            Some(&regulator),
            &json!({ "kind": "warning", "reason": "x", "findings": [finding + 1000] }),
        )
        .await
        .problem(422, "unknown_finding");
        app.post_json(
            &sanctions,
            Some(&manager),
            &json!({ "kind": "warning", "reason": "x" }),
        )
        .await
        .problem(403, "forbidden_role");
        let warned = app
            .post_json(
                &sanctions,
                Some(&regulator),
                &json!({ "kind": "warning", "reason": "سهم نوبت کم است", "findings": [finding] }),
            )
            .await;
        assert_eq!(warned.status, 201, "[{be}] {}", warned.text);
        assert_eq!(warned.json()["status_after"], "warned", "[{be}]");
        let open = app
            .get_as("/api/v1/compliance/findings?status=open", Some(&regulator))
            .await
            .json();
        assert_eq!(open["total"], 0, "[{be}] a cited finding is actioned");

        // Still on the network while warned.
        let ok = app
            .post_json(
                "/api/v1/inquiries",
                Some(&operator),
                &person_inquiry(&person),
            )
            .await;
        assert_eq!(ok.status, 200, "[{be}] {}", ok.text);

        let suspended = app.post_json(&sanctions, Some(&regulator), &suspend).await;
        assert_eq!(suspended.status, 201, "[{be}] {}", suspended.text);
        assert_eq!(suspended.json()["status_after"], "suspended", "[{be}]");
        app.post_json(
            "/api/v1/inquiries",
            Some(&operator),
            &person_inquiry(&person),
        )
        .await
        .problem(403, "office_suspended");
        app.post_json(
            &format!("/api/v1/offices/{DEMO_OFFICE}/queue/walk-in"),
            Some(&operator),
            &json!({ "service": "PSP-001" }),
        )
        .await
        .problem(403, "office_suspended");
        // Reading stays allowed.
        let listed = app.get_as(&sanctions, Some(&manager)).await;
        assert_eq!(listed.status, 200, "[{be}] {}", listed.text);
        assert_eq!(listed.json().as_array().unwrap().len(), 2, "[{be}]");

        // Reinstatement needs bookable slots: the manager has none published.
        let schedule = format!("/api/v1/offices/{DEMO_OFFICE}/schedule");
        let none = app
            .put_json(
                &schedule,
                Some(&manager),
                &json!({ "slot_minutes": 30, "occupancy_cap": 8, "booking_counters": 0 }),
            )
            .await;
        assert_eq!(none.status, 200, "[{be}] {}", none.text);
        let requests = format!("/api/v1/offices/{DEMO_OFFICE}/reinstatement-requests");
        let asked = app
            .post_json(
                &requests,
                Some(&manager),
                &json!({ "text": "نوبت‌دهی را راه انداختیم" }),
            )
            .await;
        assert_eq!(asked.status, 201, "[{be}] {}", asked.text);
        assert_eq!(asked.json()["status"], "open", "[{be}]");
        let request = asked.json()["id"].as_i64().unwrap();
        app.post_json(&requests, Some(&manager), &json!({ "text": "دوباره" }))
            .await
            .problem(409, "request_open");
        app.post_json(&requests, Some(&operator), &json!({ "text": "x" }))
            .await
            .problem(403, "forbidden_role");
        let waiting = app
            .get_as("/api/v1/compliance/requests", Some(&regulator))
            .await
            .json();
        assert_eq!(waiting.as_array().unwrap().len(), 1, "[{be}] {waiting}");

        let decision = format!("/api/v1/compliance/requests/{request}/decision");
        let approve = json!({ "approve": true, "reply": "تأیید شد" });
        app.post_json(&decision, Some(&regulator), &approve)
            .await
            .problem(409, "reinstatement_conditions_unmet");
        app.post_json(
            "/api/v1/inquiries",
            Some(&operator),
            &person_inquiry(&person),
        )
        .await
        .problem(403, "office_suspended");

        // The manager publishes slots; the regulator approves; the operator works again.
        let some = app
            .put_json(
                &schedule,
                Some(&manager),
                &json!({ "slot_minutes": 30, "occupancy_cap": 8, "booking_counters": 2 }),
            )
            .await;
        assert_eq!(some.status, 200, "[{be}] {}", some.text);
        let approved = app.post_json(&decision, Some(&regulator), &approve).await;
        assert_eq!(approved.status, 200, "[{be}] {}", approved.text);
        assert_eq!(approved.json()["status"], "approved", "[{be}]");
        app.post_json(&decision, Some(&regulator), &approve)
            .await
            .problem(409, "request_answered");
        let again = app
            .post_json(
                "/api/v1/inquiries",
                Some(&operator),
                &person_inquiry(&person),
            )
            .await;
        assert_eq!(again.status, 200, "[{be}] {}", again.text);
        let office = app
            .get_as(&format!("/api/v1/offices/{DEMO_OFFICE}"), Some(&regulator))
            .await
            .json();
        assert_eq!(office["status"], "active", "[{be}] {office}");

        // The manager heard of every step, and the steps are in the audit log.
        let steps = managers_notices(&app).await;
        for step in [
            "warning",
            "suspension",
            "request_received",
            "request_approved",
            "reinstatement",
        ] {
            assert!(
                steps.iter().any(|s| s == step),
                "[{be}] {step} in {steps:?}"
            );
        }
        let audit = app
            .get_as(
                "/api/v1/audit?action=compliance.suspension",
                Some(&regulator),
            )
            .await
            .json();
        assert_eq!(audit["total"], 1, "[{be}] {audit}");
        app.stop().await;
    }
}

/// Everything the rollups hold, over the whole test year: per day, per province, per agency.
async fn rollups(
    app: &TestApp,
) -> (
    Vec<pishkhan_store::DayStats>,
    Vec<pishkhan_store::DayStats>,
    Vec<(String, u64)>,
) {
    let filter = pishkhan_store::RollupFilter {
        from: JalaliDate::parse("1405-01-01").unwrap(),
        to: JalaliDate::parse("1405-12-29").unwrap(),
        province: None,
        office: None,
    };
    (
        app.store.rollup_days(&filter).await.unwrap(),
        app.store.rollup_provinces(&filter).await.unwrap(),
        app.store.rollup_agencies(&filter).await.unwrap(),
    )
}

#[tokio::test]
async fn the_rollups_each_write_keeps_equal_a_rebuild_from_the_raw_rows() {
    for app in TestApp::all().await {
        let be = app.be();
        let fx = app.enable_exchange().await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let person = fx.population.sample(1)[0]
            .national_code
            .as_str()
            .to_string();
        for _ in 0..2 {
            let r = app
                .post_json(
                    "/api/v1/inquiries",
                    Some(&operator),
                    &person_inquiry(&person),
                )
                .await;
            assert_eq!(r.status, 200, "[{be}] {}", r.text);
        }
        let queue = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
        for _ in 0..3 {
            let r = app
                .post_json(
                    &format!("{queue}/walk-in"),
                    Some(&operator),
                    &json!({ "service": "PSP-001" }),
                )
                .await;
            assert_eq!(r.status, 200, "[{be}] {}", r.text);
        }
        let citizen = app
            .citizen_token(&app.fresh_national_code(), "09121234567")
            .await;
        let filed = app
            .post_json(
                "/api/v1/reports",
                Some(&citizen),
                &json!({ "office": DEMO_OFFICE, "category": "crowding", "text": "صف طولانی و نوبت داده نمی‌شود" }),
            )
            .await;
        assert_eq!(filed.status, 201, "[{be}] {}", filed.text);

        let kept = rollups(&app).await;
        let (days, provinces, agencies) = &kept;
        let sum = |f: fn(&pishkhan_store::DayStats) -> u64| days.iter().map(f).sum::<u64>();
        assert_eq!(sum(|d| d.lookups), 2, "[{be}] {days:?}");
        assert_eq!(sum(|d| d.walk_ins), 3, "[{be}] {days:?}");
        assert_eq!(sum(|d| d.visits), 3, "[{be}]");
        assert_eq!(sum(|d| d.reports), 1, "[{be}]");
        assert_eq!(
            provinces.len(),
            1,
            "[{be}] one province moved: {provinces:?}"
        );
        assert_eq!(provinces[0].lookups, 2, "[{be}]");
        assert_eq!(
            agencies.iter().map(|(_, n)| n).sum::<u64>(),
            2,
            "[{be}] {agencies:?}"
        );

        app.store.rebuild_rollups().await.unwrap();
        assert_eq!(
            rollups(&app).await,
            kept,
            "[{be}] kept as written = rebuilt"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn accepted_reports_of_one_category_raise_a_finding_with_their_ids_in_words() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let rules = json!({ "rules": [
            { "kind": "reports_threshold", "severity": "medium",
              "params": { "days": 30, "min_reports": 3 } },
        ]});
        let saved = app
            .put_json("/api/v1/compliance/rules", Some(&regulator), &rules)
            .await;
        assert_eq!(saved.status, 200, "[{be}] {}", saved.text);

        // Three citizens about one office and category, accepted; a fourth rejected; two
        // accepted about another office, under the threshold.
        let mut accepted = Vec::new();
        for (n, (office, category, decision)) in [
            (DEMO_OFFICE, "no_appointments", "accept"),
            (DEMO_OFFICE, "no_appointments", "accept"),
            (DEMO_OFFICE, "no_appointments", "reject"),
            (DEMO_OFFICE, "no_appointments", "accept"),
            (DEMO_OFFICE, "crowding", "accept"),
            (OTHER_OFFICE, "no_appointments", "accept"),
            (OTHER_OFFICE, "no_appointments", "accept"),
        ]
        .into_iter()
        .enumerate()
        {
            // One phone each: a phone gets only so many sign-in codes.
            let citizen = app
                .citizen_token(&app.fresh_national_code(), &format!("0912300000{n}"))
                .await;
            let filed = app
                .post_json(
                    "/api/v1/reports",
                    Some(&citizen),
                    &json!({ "office": office, "category": category,
                             "text": "نوبت اینترنتی نمی‌دهند و باید در صف ایستاد" }),
                )
                .await;
            assert_eq!(filed.status, 201, "[{be}] {}", filed.text);
            let id = filed.json()["id"].as_i64().unwrap();
            let triaged = app
                .post_json(
                    &format!("/api/v1/reports/{id}/triage"),
                    Some(&regulator),
                    &json!({ "decision": decision, "note": "بررسی شد" }),
                )
                .await;
            assert_eq!(triaged.status, 200, "[{be}] {}", triaged.text);
            if office == DEMO_OFFICE && category == "no_appointments" && decision == "accept" {
                accepted.push(id);
            }
        }

        let run = app
            .post_json("/api/v1/compliance/runs", Some(&regulator), &json!({}))
            .await;
        assert_eq!(run.status, 201, "[{be}] {}", run.text);
        assert_eq!(run.json()["new_findings"], 1, "[{be}] {}", run.text);
        let open = app
            .get_as("/api/v1/compliance/findings?status=open", Some(&regulator))
            .await
            .json();
        let f = &open["items"][0];
        assert_eq!(f["office"], DEMO_OFFICE, "[{be}] {open}");
        assert_eq!(f["rule"], "reports_threshold", "[{be}]");
        let categories = f["evidence"]["categories"].as_array().unwrap();
        assert_eq!(categories.len(), 1, "[{be}] only the category over it: {f}");
        assert_eq!(categories[0]["category"], "no_appointments", "[{be}]");
        assert_eq!(categories[0]["accepted_reports"], 3, "[{be}]");
        assert_eq!(categories[0]["report_ids"], json!(accepted), "[{be}]");

        // The page tells it in words, in Persian, with the reports' ids in Persian digits.
        let page = app.get_as("/compliance?lang=fa", Some(&regulator)).await;
        assert_eq!(page.status, 200, "[{be}]");
        let digits = |n: i64| pishkhan_domain::digits::to_persian_digits(&n.to_string());
        assert!(
            page.text.contains("گزارش‌های پذیرفته‌شده مردم"),
            "[{be}] the rule named in Persian"
        );
        assert!(
            page.text.contains(&digits(accepted[0])),
            "[{be}] the first report's id"
        );
        assert!(
            !page.text.contains("report_ids"),
            "[{be}] no raw evidence on the page"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_suspension_tells_the_booked_citizens_where_else_to_go_and_an_appeal_is_answered() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let mobile = "09121110000";
        let national_code = app.fresh_national_code();
        let citizen = app.citizen_token(&national_code, mobile).await;
        // The citizen books tomorrow's first free slot at the office about to be suspended.
        let avail = app
            .get(&format!(
                "/api/v1/offices/{DEMO_OFFICE}/availability?service=PSP-001&from=1405-09-08&days=1"
            ))
            .await;
        assert_eq!(avail.status, 200, "[{be}] {}", avail.text);
        let start = avail.json()["days"][0]["slots"][0]["start"]
            .as_str()
            .expect("a free slot")
            .to_string();
        let booked = app
            .post_json(
                "/api/v1/bookings",
                Some(&citizen),
                &json!({ "office": DEMO_OFFICE, "service": "PSP-001", "start": start,
                         "national_code": national_code, "mobile": mobile }),
            )
            .await;
        assert_eq!(booked.status, 201, "[{be}] {}", booked.text);
        let tracking = booked.json()["tracking_code"].as_str().unwrap().to_string();

        let sanctions = format!("/api/v1/offices/{DEMO_OFFICE}/sanctions");
        for kind in ["warning", "suspension"] {
            let r = app
                .post_json(
                    &sanctions,
                    Some(&regulator),
                    &json!({ "kind": kind, "reason": "گزارش‌های مردم", "findings": [] }),
                )
                .await;
            assert_eq!(r.status, 201, "[{be}] {kind}: {}", r.text);
        }
        let suspension = app.get_as(&sanctions, Some(&regulator)).await.json();
        let suspension_id = suspension
            .as_array()
            .and_then(|a| a.iter().find(|s| s["kind"] == "suspension"))
            .map(|s| s["id"].as_i64().unwrap())
            .unwrap_or_else(|| panic!("[{be}] the suspension listed: {suspension}"));

        let told: Vec<Value> = app
            .store
            .outbox_messages(Some(mobile), 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "office.suspended")
            .map(|m| m.payload)
            .collect();
        assert_eq!(
            told.len(),
            1,
            "[{be}] the booked citizen is told once: {told:?}"
        );
        assert_eq!(
            told[0]["tracking_code"]
                .as_str()
                .unwrap_or_default()
                .replace('-', ""),
            tracking.replace('-', ""),
            "[{be}] the notice names the booking"
        );
        assert_eq!(told[0]["office"], DEMO_OFFICE, "[{be}]");
        let alternatives = told[0]["alternatives"].as_array().unwrap();
        assert!(
            !alternatives.is_empty() && alternatives.len() <= 3,
            "[{be}] nearby offices with a free slot: {alternatives:?}"
        );
        assert!(
            alternatives
                .iter()
                .all(|a| a["office"] != DEMO_OFFICE && a["slot_start_ms"].is_i64()),
            "[{be}] {alternatives:?}"
        );

        // The manager appeals the suspension; the regulator refuses with a reply, and the
        // office stays suspended; the manager is told at each step.
        let requests = format!("/api/v1/offices/{DEMO_OFFICE}/reinstatement-requests");
        app.post_json(
            &requests,
            Some(&manager),
            &json!({ "text": "این دفتر نوبت می‌دهد", "appeal_of": suspension_id + 1000 }),
        )
        .await
        .problem(422, "unknown_sanction");
        let appeal = app
            .post_json(
                &requests,
                Some(&manager),
                &json!({ "text": "این دفتر نوبت می‌دهد", "appeal_of": suspension_id }),
            )
            .await;
        assert_eq!(appeal.status, 201, "[{be}] {}", appeal.text);
        assert_eq!(appeal.json()["kind"], "appeal", "[{be}]");
        assert_eq!(appeal.json()["sanction"], suspension_id, "[{be}]");
        let id = appeal.json()["id"].as_i64().unwrap();
        let refused = app
            .post_json(
                &format!("/api/v1/compliance/requests/{id}/decision"),
                Some(&regulator),
                &json!({ "approve": false, "reply": "شواهد گزارش‌ها پابرجاست" }),
            )
            .await;
        assert_eq!(refused.status, 200, "[{be}] {}", refused.text);
        assert_eq!(refused.json()["status"], "refused", "[{be}]");
        let office = app
            .get_as(&format!("/api/v1/offices/{DEMO_OFFICE}"), Some(&regulator))
            .await
            .json();
        assert_eq!(office["status"], "suspended", "[{be}] {office}");
        let steps = managers_notices(&app).await;
        for step in [
            "warning",
            "suspension",
            "request_received",
            "request_refused",
        ] {
            assert!(
                steps.iter().any(|s| s == step),
                "[{be}] {step} in {steps:?}"
            );
        }
        app.stop().await;
    }
}
