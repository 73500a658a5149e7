//! `invite`: the first regulator of a new deployment, activated through the API.

use pishkhan_domain::NationalCode;
use pishkhan_testkit::TestDb;
use serde_json::json;

use crate::support::{Server, cli};

const PASSWORD: &str = "گذرواژه-بلند-۱۴۰۵";

#[tokio::test]
async fn an_invited_regulator_activates_through_the_api_and_signs_in() {
    let national_code = NationalCode::from_body(12_345_678)
        .expect("valid body")
        .as_str()
        .to_string();
    let username = format!("u{national_code}");
    let other_code = NationalCode::from_body(87_654_321)
        .expect("valid body")
        .as_str()
        .to_string();
    let invite = |db: &TestDb, extra: &[&str]| {
        let mut args = vec![
            "invite",
            "--first-name",
            "مریم",
            "--last-name",
            "میرزاخانی",
            "--mobile",
            "۰۹۱۲۳۴۵۶۷۸۹",
        ];
        args.extend_from_slice(extra);
        cli(db, &args)
    };
    for db in TestDb::all().await {
        let backend = db.backend().name();
        cli(&db, &["migrate"]).ok();

        // A national code whose check digit is wrong is refused before anything is stored.
        let mut bad = national_code.clone();
        let last = bad.pop().and_then(|c| c.to_digit(10)).expect("digit");
        bad.push(char::from_digit((last + 1) % 10, 10).expect("digit"));
        invite(&db, &["--national-code", &bad])
            .failed()
            .stderr_has(&["national_code", "checksum digit does not match"]);
        invite(&db, &["--national-code", "12345"])
            .failed()
            .stderr_has(&["national_code", "exactly 10 digits"]);
        invite(
            &db,
            &["--national-code", &national_code, "--role", "manager"],
        )
        .failed()
        .stderr_has(&["office staff need an office"]);
        invite(
            &db,
            &["--national-code", &national_code, "--role", "janitor"],
        )
        .failed()
        .stderr_has(&["role is one of regulator, manager, operator"]);
        let unknown_office = invite(
            &db,
            &[
                "--national-code",
                &national_code,
                "--role",
                "operator",
                "--office",
                "99999999",
            ],
        )
        .failed();
        assert!(
            unknown_office.stderr.contains("office not found"),
            "{unknown_office}"
        );

        let run = invite(
            &db,
            &[
                "--national-code",
                &national_code,
                "--role",
                "regulator",
                "--public-url",
                "https://pishkhan.example.ir/",
            ],
        )
        .ok()
        .stdout_has(&[&format!("invited {username} (regulator)")]);
        let link = run
            .stdout
            .lines()
            .find(|l| l.contains("/invite/"))
            .unwrap_or_else(|| panic!("no invitation link: {run}"))
            .trim();
        let token = link
            .strip_prefix("https://pishkhan.example.ir/invite/")
            .unwrap_or_else(|| panic!("link not on the public URL: {link}"));
        assert_eq!(token.len(), 64, "{link}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{link}");

        // The same person cannot be invited twice, nor a username taken twice.
        invite(&db, &["--national-code", &national_code])
            .failed()
            .stderr_has(&["conflict"]);
        invite(
            &db,
            &["--national-code", &other_code, "--username", &username],
        )
        .failed()
        .stderr_has(&["conflict", "username"]);
        invite(
            &db,
            &["--national-code", &national_code, "--username", "maryam"],
        )
        .failed()
        .stderr_has(&["conflict", "national_code"]);

        let server = Server::serve(&db).await;
        let info = server
            .get(&format!("/api/v1/invitations/{token}"))
            .await
            .expect(200);
        assert_eq!(info["username"], username.as_str());
        assert_eq!(info["first_name"], "مریم");
        assert_eq!(info["last_name"], "میرزاخانی");
        assert_eq!(info["role"], "regulator");
        assert!(info["office"].is_null());
        server
            .get(&format!("/api/v1/invitations/{}", "0".repeat(64)))
            .await
            .expect(404);

        // No password yet: the account cannot sign in.
        server.login(&username, PASSWORD).await.expect(401);
        let accept = format!("/api/v1/invitations/{token}/accept");
        server
            .post(&accept, &json!({ "password": "short" }))
            .await
            .expect(422);
        let accepted = server
            .post(&accept, &json!({ "password": PASSWORD }))
            .await
            .expect(200);
        assert_eq!(accepted["username"], username.as_str());
        assert_eq!(accepted["role"], "regulator");
        let reuse = server.post(&accept, &json!({ "password": PASSWORD })).await;
        assert!(
            matches!(reuse.status, 404 | 410),
            "a used link is dead: {} {}",
            reuse.status,
            reuse.text
        );

        let login = server.login(&username, PASSWORD).await.expect(200);
        assert_eq!(login["user"]["role"], "regulator", "{backend}");
        let token = login["token"].as_str().expect("session token");
        let me = server.get_as("/api/v1/me", token).await.expect(200);
        assert_eq!(me["username"], username.as_str());
        // A regulator may read the audit log, which records the CLI invitation.
        let audit = server.get_as("/api/v1/audit", token).await.expect(200);
        let items = audit["items"].as_array().expect("audit items");
        assert!(
            items
                .iter()
                .any(|e| e["target"] == format!("staff:{username}").as_str()),
            "{audit}"
        );
        server.login(&username, "wrong-password").await.expect(401);
        assert!(server.stop().success());
    }
}
