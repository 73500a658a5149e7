//! Compliance through the domain's public API: rules parsing, what a rule finds, the ladder
//! and the reinstatement conditions, and the suspended manager's schedule.

use pishkhan_domain::access::{Action, Denied, Principal, StaffActor, authorize};
use pishkhan_domain::compliance::{
    AcceptedReports, Activity, Conditions, LadderRefusal, RuleKind, RuleSet, SanctionKind,
    evaluate, next_status,
};
use pishkhan_domain::model::{OfficeCode, OfficeStatus, Role, Username};
use serde_json::json;

fn office(n: u32) -> OfficeCode {
    OfficeCode::from_u32(n).unwrap()
}

fn activity(n: u32, visits: u64, booked: u64, lookups: u64, bookable: bool) -> Activity {
    Activity {
        office: office(n),
        visits,
        booked_visits: booked,
        lookups,
        bookable_ahead: bookable,
        reports: Vec::new(),
    }
}

#[test]
fn rules_parse_round_trip_and_refuse_what_is_wrong() {
    let good = json!([
        { "kind": "low_booked_share", "severity": "high",
          "params": { "days": 14, "min_daily_visits": 40, "max_booked_share_pct": 20 } },
        { "kind": "no_bookable_slots", "severity": "low",
          "params": { "recent_days": 7, "min_lookups": 5, "ahead_days": 7 } },
    ]);
    let set = RuleSet::parse(&good).unwrap();
    assert_eq!(RuleSet::parse(&set.to_json()).unwrap(), set);
    let twice = json!([good[0].clone(), good[0].clone()]);
    for bad in [
        twice,
        json!([{ "kind": "fee", "severity": "high", "params": {} }]),
        json!([{ "kind": "low_booked_share", "severity": "high", "params": { "days": 91, "min_daily_visits": 1, "max_booked_share_pct": 1 } }]),
        json!([{ "kind": "low_booked_share", "severity": "high", "params": { "days": 1, "min_daily_visits": 1, "max_booked_share_pct": 101 } }]),
        json!([{ "kind": "no_bookable_slots", "severity": "high", "params": { "recent_days": 1, "min_lookups": -1, "ahead_days": 1 } }]),
        json!({}),
    ] {
        let e = RuleSet::parse(&bad).unwrap_err();
        assert_eq!(e.code, "invalid_rule", "{bad}");
    }
}

#[test]
fn rules_find_busy_walk_in_offices_and_lookups_without_slots() {
    let set = RuleSet::parse(&json!([
        { "kind": "low_booked_share", "severity": "high",
          "params": { "days": 10, "min_daily_visits": 40, "max_booked_share_pct": 20 } },
        { "kind": "no_bookable_slots", "severity": "medium",
          "params": { "recent_days": 7, "min_lookups": 5, "ahead_days": 7 } },
    ]))
    .unwrap();
    let offices = [
        activity(11_000_001, 650, 50, 0, true), // busy, 7 % booked: found
        activity(11_000_002, 650, 500, 0, true), // busy, booked: fine
        activity(11_000_003, 399, 0, 0, true),  // under 40 a day: fine
        activity(11_000_004, 400, 80, 0, true), // exactly 20 %: fine
        activity(11_000_005, 0, 0, 5, false),   // lookups, no slots: found
        activity(11_000_006, 0, 0, 4, false),   // too few lookups: fine
        activity(11_000_007, 0, 0, 50, true),   // slots published: fine
    ];
    let low = evaluate(&set.rules[0], &offices);
    assert_eq!(low.len(), 1);
    assert_eq!(low[0].office, office(11_000_001));
    assert_eq!(low[0].evidence["booked_share_pct"], 7);
    assert_eq!(low[0].evidence["visits_per_day"], 65);
    let slots = evaluate(&set.rules[1], &offices);
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].office, office(11_000_005));
    assert_eq!(slots[0].evidence["lookups"], 5);
}

#[test]
fn reports_threshold_names_every_category_over_it_with_the_report_ids() {
    let set = RuleSet::parse(&json!([
        { "kind": "reports_threshold", "severity": "medium",
          "params": { "days": 30, "min_reports": 3 } },
    ]))
    .unwrap();
    assert_eq!(set.rules[0].kind, RuleKind::ReportsThreshold);
    let reports = |category: &str, ids: &[i64]| AcceptedReports {
        category: category.into(),
        count: ids.len() as u64,
        ids: ids.to_vec(),
    };
    let mut over = activity(10_000_001, 0, 0, 0, true);
    over.reports = vec![
        reports("crowding", &[4, 9, 12]),
        reports("overcharging", &[5, 6]),
        reports("misconduct", &[7, 8, 11, 13]),
    ];
    let mut under = activity(10_000_002, 0, 0, 0, true);
    under.reports = vec![reports("crowding", &[1, 2])];
    let found = evaluate(&set.rules[0], &[over, under]);
    assert_eq!(found.len(), 1, "one finding per office, only where over");
    assert_eq!(found[0].office, office(10_000_001));
    let categories = found[0].evidence["categories"].as_array().unwrap();
    let named: Vec<&str> = categories
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["crowding", "misconduct"]);
    assert_eq!(categories[1]["report_ids"], json!([7, 8, 11, 13]));
    assert_eq!(categories[1]["accepted_reports"], 4);

    for bad in [
        json!([{ "kind": "reports_threshold", "severity": "low", "params": { "days": 30 } }]),
        json!([{ "kind": "reports_threshold", "severity": "low", "params": { "days": 30, "min_reports": 0 } }]),
        json!([{ "kind": "reports_threshold", "severity": "low", "params": { "days": 30, "min_reports": 3, "category": "x" } }]),
    ] {
        assert!(RuleSet::parse(&bad).is_err(), "{bad}");
    }
}

#[test]
fn the_ladder_goes_warning_suspension_reinstatement() {
    use OfficeStatus::{Active, Revoked, Suspended, Warned};
    use SanctionKind::{Reinstatement, Suspension, Warning};
    let met = Conditions {
        hours_set: true,
        booking_counters: true,
        bookable_days_ahead: 3,
    };
    let unmet = Conditions {
        bookable_days_ahead: 0,
        ..met
    };
    let table = [
        (Active, Warning, &met, Ok(Warned)),
        (Warned, Warning, &met, Ok(Warned)),
        (Active, Suspension, &met, Err("sanction_out_of_order")),
        (Warned, Suspension, &met, Ok(Suspended)),
        (Suspended, Suspension, &met, Err("sanction_out_of_order")),
        (Suspended, Warning, &met, Err("sanction_out_of_order")),
        (Suspended, Reinstatement, &met, Ok(Active)),
        (
            Suspended,
            Reinstatement,
            &unmet,
            Err("reinstatement_conditions_unmet"),
        ),
        (Warned, Reinstatement, &unmet, Ok(Active)),
        (Active, Reinstatement, &met, Err("nothing_to_lift")),
        (Revoked, Reinstatement, &met, Err("office_revoked")),
    ];
    for (from, kind, cond, want) in table {
        let got = next_status(from, kind, cond).map_err(|e| e.code());
        assert_eq!(got, want, "{from:?} {kind:?}");
    }
    let Err(LadderRefusal::ConditionsUnmet(which)) = next_status(
        Suspended,
        Reinstatement,
        &Conditions {
            hours_set: false,
            booking_counters: false,
            bookable_days_ahead: 0,
        },
    ) else {
        panic!("conditions unmet");
    };
    assert_eq!(
        which,
        ["hours_not_set", "no_booking_counters", "no_bookable_slots"]
    );
}

#[test]
fn a_suspended_manager_may_publish_slots_and_ask_but_a_revoked_one_may_not() {
    let manager = |status| {
        Principal::Staff(StaffActor {
            id: 1,
            username: Username::parse("someone").unwrap(),
            role: Role::Manager,
            office: Some(office(11_000_001)),
            office_status: Some(status),
        })
    };
    let schedule = Action::ConfigureSchedule {
        office: office(11_000_001),
    };
    let ask = Action::RequestReinstatement {
        office: office(11_000_001),
    };
    assert!(authorize(&manager(OfficeStatus::Suspended), schedule.clone()).is_ok());
    assert!(authorize(&manager(OfficeStatus::Suspended), ask).is_ok());
    assert_eq!(
        authorize(&manager(OfficeStatus::Revoked), schedule).map(|_| ()),
        Err(Denied::OfficeSuspended)
    );
    assert_eq!(
        authorize(
            &manager(OfficeStatus::Suspended),
            Action::RunInquiry {
                office: office(11_000_001)
            }
        )
        .map(|_| ()),
        Err(Denied::OfficeSuspended)
    );
}

/// A form drawn from `param_names` must send what the parser reads: every name, no other.
#[test]
fn each_kind_names_the_params_its_parser_reads() {
    use pishkhan_domain::compliance::{RuleKind, RuleParams};
    for kind in RuleKind::ALL {
        let names = kind.param_names();
        assert!(!names.is_empty(), "{}", kind.code());
        // 1 is inside every param's range: only the names are under test.
        let params: serde_json::Map<String, serde_json::Value> =
            names.iter().map(|n| (n.to_string(), json!(1))).collect();
        let parsed = RuleParams::parse(kind, &serde_json::Value::Object(params.clone()))
            .unwrap_or_else(|e| panic!("{}: {}", kind.code(), e.message));
        let written: Vec<String> = parsed
            .to_json()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        expected.sort();
        let mut written = written;
        written.sort();
        assert_eq!(written, expected, "{}", kind.code());
        for missing in names {
            let mut less = params.clone();
            less.remove(*missing);
            assert!(
                RuleParams::parse(kind, &serde_json::Value::Object(less)).is_err(),
                "{} without {missing}",
                kind.code()
            );
        }
    }
}
