//! `pishkhan agency sample` and `pishkhan agency serve`: the reference agency as its own
//! process, answering over HTTP.

use serde_json::{Value, json};

use crate::support::{Server, pishkhan, run_cmd};

/// Agency population size for these tests: generated in well under a second.
const SIZE: u64 = 50_000;

fn sample(n: usize) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = pishkhan(dir.path());
    cmd.args([
        "agency",
        "sample",
        "--n",
        &n.to_string(),
        "--size",
        &SIZE.to_string(),
    ]);
    let run = run_cmd(cmd, std::time::Duration::from_secs(60)).ok();
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn sample_prints_people_with_every_case_a_counter_meets() {
    let people = sample(20);
    assert_eq!(people.len(), 20);
    for p in &people {
        for field in [
            "national_code",
            "first_name",
            "last_name",
            "father_name",
            "birth_date",
            "card_serial",
            "card_status",
            "alive",
            "mobile",
        ] {
            assert!(p.get(field).is_some(), "missing {field}: {p}");
        }
        let code = p["national_code"].as_str().unwrap();
        assert!(pishkhan_domain::NationalCode::parse(code).is_ok(), "{code}");
        assert!(pishkhan_domain::JalaliDate::parse(p["birth_date"].as_str().unwrap()).is_ok());
    }
    let has = |f: &dyn Fn(&Value) -> bool| people.iter().any(f);
    assert!(has(&|p| p["alive"] == false), "a deceased person");
    assert!(has(&|p| p["card_status"] == "lost"), "a lost card");
    assert!(has(&|p| p["card_status"] == "revoked"), "a revoked card");
    let names = |p: &Value| {
        format!(
            "{} {} {}",
            p["first_name"], p["last_name"], p["father_name"]
        )
    };
    assert!(has(&|p| names(p).contains('ی')), "a name with ی");
    assert!(has(&|p| names(p).contains('ک')), "a name with ک");
    assert!(has(&|p| names(p).contains('\u{200c}')), "a name with ZWNJ");
    // Deterministic: the same command prints the same people.
    assert_eq!(sample(20), people);
}

#[tokio::test]
async fn the_agency_answers_over_http_from_its_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let agency = Server::agency(dir.path(), SIZE).await;
    assert!(
        dir.path().join("population.pkag").exists(),
        "the population is kept on disk"
    );
    let someone = sample(1).remove(0);
    let code = someone["national_code"].as_str().unwrap();
    let found = agency
        .post(
            "/v1/civil-registry/person",
            &json!({ "national_code": code }),
        )
        .await
        .expect(200);
    assert_eq!(found["found"], true);
    assert_eq!(found["first_name"], someone["first_name"]);
    assert_eq!(found["card_serial"], someone["card_serial"]);
    let bad = agency
        .post(
            "/v1/civil-registry/person",
            &json!({ "national_code": "1111111111" }),
        )
        .await
        .expect(422);
    assert_eq!(bad["code"], "invalid_national_code");
    if let Some(mobile) = someone["mobile"].as_str() {
        let owns = agency
            .post(
                "/v1/mobile/ownership",
                &json!({ "national_code": code, "mobile": mobile }),
            )
            .await
            .expect(200);
        assert_eq!(owns["match"], true);
    }
    agency.stop();
}
