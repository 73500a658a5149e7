//! The session cache over real HTTP, on every backend: a live session is served without a
//! database read; a sign-out (staff or citizen), a password change, a deactivation or an
//! office's suspension is refused on the very next request; on PostgreSQL, another process
//! refuses it within a second; and random tokens neither evict a signed-in member's entry
//! nor grow the cache.

use std::time::{Duration, Instant};

use pishkhan_app::SessionCacheStats;
use pishkhan_store::token_hash;
use serde_json::json;

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, Peer, Resp, TestApp};

/// Longest a test waits for something that should take a poll or two (250 ms each).
const PATIENCE: Duration = Duration::from_secs(2);

fn stats(app: &pishkhan_app::App) -> SessionCacheStats {
    app.session_cache_stats()
}

/// Requests `path` with `token` until the session is served from the cache (the first
/// request may come before the cache's first poll, and fills the cache only after it).
async fn warm(app: &TestApp, path: &str, token: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let hits = stats(app.state.app()).hits;
        let r = app.get_as(path, Some(token)).await;
        assert_eq!(r.status, 200, "[{}] {path}: {}", app.be(), r.text);
        if stats(app.state.app()).hits > hits {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "[{}] {path} never cached",
            app.be()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn walk_in(app: &TestApp, token: &str) -> Resp {
    app.post_json(
        &format!("/api/v1/offices/{DEMO_OFFICE}/queue/walk-in"),
        Some(token),
        &json!({ "service": "PSP-001" }),
    )
    .await
}

async fn set_status(app: &TestApp, regulator: &str, status: &str) {
    let r = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/offices/{DEMO_OFFICE}/status")))
                .bearer_auth(regulator)
                .json(&json!({ "status": status, "reason": "compliance test" })),
        )
        .await;
    assert_eq!(r.status, 204, "[{}] {}", app.be(), r.text);
}

#[tokio::test]
async fn a_cached_session_needs_no_database_read_until_its_ttl_ends() {
    let ttl = Duration::from_millis(1_500);
    for app in TestApp::all_with(|c| c.app.session_cache_ttl_ms = ttl.as_millis() as u64).await {
        let be = app.be();
        let staff = app.login("manager", DEMO_PASSWORD).await;
        let nc = app.fresh_national_code();
        let citizen = app.citizen_token(&nc, "09121234567").await;
        // (path, token, its table)
        let cases = [
            ("/api/v1/me", &staff, "sessions"),
            ("/api/v1/me/bookings", &citizen, "citizen_sessions"),
        ];
        for (path, token, _) in cases {
            warm(&app, path, token).await;
        }
        let cached_at = Instant::now();

        // Behind the application's back: the rows are gone, and no epoch moved.
        for (_, token, table) in cases {
            let gone = app
                .raw_sql(&format!(
                    "DELETE FROM {table} WHERE token_hash = '{}'",
                    token_hash(token)
                ))
                .await;
            assert_eq!(gone, 1, "[{be}] {table}");
        }
        for (path, token, _) in cases {
            let before = stats(app.state.app());
            let r = app.get_as(path, Some(token)).await;
            assert_eq!(
                r.status, 200,
                "[{be}] {path} served from the cache: {}",
                r.text
            );
            let after = stats(app.state.app());
            assert_eq!(
                (after.hits, after.misses),
                (before.hits + 1, before.misses),
                "[{be}] {path}: no session lookup went to the database"
            );
        }

        // The TTL bounds how long: then the database is read again, and says no.
        let deadline = Instant::now() + ttl + PATIENCE;
        for (path, token, _) in cases {
            loop {
                let r = app.get_as(path, Some(token)).await;
                if r.status == 401 {
                    r.problem(401, "unauthenticated");
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "[{be}] {path} served past the TTL"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert!(
            cached_at.elapsed() >= ttl - Duration::from_millis(300),
            "[{be}] refused after {:?}, before the TTL: the cache was not serving it",
            cached_at.elapsed()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_expired_session_is_never_served_from_the_cache() {
    for app in TestApp::all().await {
        let token = app.login("manager", DEMO_PASSWORD).await;
        warm(&app, "/api/v1/me", &token).await;
        let ttl_s = app.state.config().app.session_ttl_s as i64;
        app.clock.advance(time::Duration::seconds(ttl_s));
        app.get_as("/api/v1/me", Some(&token))
            .await
            .problem(401, "unauthenticated");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_sign_out_is_refused_on_the_very_next_request() {
    for app in TestApp::all().await {
        let be = app.be();
        // Staff.
        let token = app.login("manager", DEMO_PASSWORD).await;
        warm(&app, "/api/v1/me", &token).await;
        let out = app
            .post_json("/api/v1/auth/logout", Some(&token), &json!({}))
            .await;
        assert_eq!(out.status, 204, "[{be}] {}", out.text);
        app.get_as("/api/v1/me", Some(&token))
            .await
            .problem(401, "unauthenticated");

        // A citizen, signing out in the browser while an API client holds the same token.
        let nc = app.fresh_national_code();
        let citizen = app.citizen_token(&nc, "09121234567").await;
        warm(&app, "/api/v1/me/bookings", &citizen).await;
        let csrf = "c".repeat(32);
        let r = app
            .send(
                app.client
                    .post(app.url("/citizen/logout"))
                    .header(
                        "cookie",
                        format!("pishkhan_citizen={citizen}; pishkhan_citizen_csrf={csrf}"),
                    )
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("csrf={csrf}")),
            )
            .await;
        assert_eq!(r.status, 303, "[{be}] {}", r.text);
        app.get_as("/api/v1/me/bookings", Some(&citizen))
            .await
            .problem(401, "unauthenticated");
        app.stop().await;
    }
}

/// A citizen's API client signs out with the one sign-out endpoint there is: the token is
/// refused at once here and within a second by another process, and the citizen's other
/// session (another device) lives on.
#[tokio::test]
async fn a_citizen_bearer_token_is_ended_by_the_api_sign_out() {
    for app in TestApp::all().await {
        let be = app.be();
        let nc = app.fresh_national_code();
        let mobile = "09121234567";
        let first = app.citizen_token(&nc, mobile).await;
        // One national code may ask for a new code a minute after the last.
        app.clock.advance(time::Duration::seconds(61));
        let second = app.citizen_token(&nc, mobile).await;
        let peer = match app.backend {
            pishkhan_store::Backend::Postgres => Some(app.peer().await),
            _ => None,
        };
        for token in [&first, &second] {
            warm(&app, "/api/v1/me/bookings", token).await;
            if let Some(peer) = &peer {
                warm_peer(peer, "/api/v1/me/bookings", token).await;
            }
        }

        let out = app
            .post_json("/api/v1/auth/logout", Some(&first), &json!({}))
            .await;
        assert_eq!(out.status, 204, "[{be}] {}", out.text);
        app.get_as("/api/v1/me/bookings", Some(&first))
            .await
            .problem(401, "unauthenticated");
        app.post_json("/api/v1/auth/logout", Some(&first), &json!({}))
            .await
            .problem(401, "unauthenticated");
        let other = app.get_as("/api/v1/me/bookings", Some(&second)).await;
        assert_eq!(
            other.status, 200,
            "[{be}] the other session: {}",
            other.text
        );

        if let Some(peer) = peer {
            refused_within(&peer, "/api/v1/me/bookings", &first, 401).await;
            let other = peer.get_as("/api/v1/me/bookings", Some(&second)).await;
            assert_eq!(
                other.status, 200,
                "[{be}] the other session: {}",
                other.text
            );
            peer.stop().await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn an_office_suspension_binds_its_staff_on_the_next_request() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        warm(&app, "/api/v1/me", &operator).await;
        let ok = walk_in(&app, &operator).await;
        assert_eq!(ok.status, 200, "[{be}] {}", ok.text);

        set_status(&app, &regulator, "suspended").await;
        walk_in(&app, &operator)
            .await
            .problem(403, "office_suspended");
        // Browsing stays possible: the session itself lives on.
        let me = app.get_as("/api/v1/me", Some(&operator)).await;
        assert_eq!(me.status, 200, "[{be}] {}", me.text);

        set_status(&app, &regulator, "active").await;
        let again = walk_in(&app, &operator).await;
        assert_eq!(
            again.status, 200,
            "[{be}] reinstated at once: {}",
            again.text
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_password_change_ends_every_old_session() {
    for app in TestApp::all().await {
        let be = app.be();
        let here = app.login("manager", DEMO_PASSWORD).await;
        let elsewhere = app.login("manager", DEMO_PASSWORD).await;
        warm(&app, "/api/v1/me", &here).await;
        warm(&app, "/api/v1/me", &elsewhere).await;
        let change = |current: &str, new: &str| {
            let body = json!({ "current_password": current, "new_password": new });
            let (app, here) = (&app, here.clone());
            async move {
                app.post_json("/api/v1/me/password", Some(&here), &body)
                    .await
            }
        };

        // Refusals change nothing.
        let wrong = change("not the password", "a new passphrase").await;
        assert_eq!(
            wrong.problem(422, "wrong_password")["field"],
            "current_password"
        );
        let weak = change(DEMO_PASSWORD, "short").await;
        assert_eq!(weak.problem(422, "weak_password")["field"], "new_password");
        change(DEMO_PASSWORD, DEMO_PASSWORD)
            .await
            .problem(422, "same_password");
        let extra = app
            .post_json(
                "/api/v1/me/password",
                Some(&here),
                &json!({ "current_password": DEMO_PASSWORD, "new_password": "a new passphrase", "admin": true }),
            )
            .await;
        assert!((400..500).contains(&extra.status), "[{be}] {}", extra.text);
        crate::support::assert_problem_shape(&extra);
        let me = app.get_as("/api/v1/me", Some(&elsewhere)).await;
        assert_eq!(me.status, 200, "[{be}] {}", me.text);

        let done = change(DEMO_PASSWORD, "a new passphrase").await;
        assert_eq!(done.status, 204, "[{be}] {}", done.text);
        for token in [&here, &elsewhere] {
            app.get_as("/api/v1/me", Some(token))
                .await
                .problem(401, "unauthenticated");
        }
        app.login_response("manager", DEMO_PASSWORD)
            .await
            .problem(401, "bad_credentials");
        app.login("manager", "a new passphrase").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_deactivated_member_is_refused_on_the_next_request() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let manager = app.login("manager", DEMO_PASSWORD).await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        warm(&app, "/api/v1/me", &operator).await;
        let deactivate = |who: &str, by: &str| {
            let (who, by) = (who.to_string(), by.to_string());
            let app = &app;
            async move {
                app.post_json(
                    &format!("/api/v1/staff/{who}/deactivate"),
                    Some(&by),
                    &json!({}),
                )
                .await
            }
        };

        deactivate("manager", &operator)
            .await
            .problem(403, "forbidden_role");
        deactivate("regulator", &manager)
            .await
            .problem(403, "forbidden_other_office");
        deactivate("no.such.member", &regulator)
            .await
            .problem(404, "not_found");
        let bad = deactivate("NOT A USERNAME!", &regulator).await;
        assert_eq!(bad.status, 422, "[{be}] {}", bad.text);
        crate::support::assert_problem_shape(&bad);
        let me = app.get_as("/api/v1/me", Some(&operator)).await;
        assert_eq!(
            me.status, 200,
            "[{be}] refusals change nothing: {}",
            me.text
        );

        // The office's own manager disables the operator.
        let done = deactivate("operator", &manager).await;
        assert_eq!(done.status, 200, "[{be}] {}", done.text);
        assert_eq!(done.json()["status"], "disabled");
        app.get_as("/api/v1/me", Some(&operator))
            .await
            .problem(401, "unauthenticated");
        app.login_response("operator", DEMO_PASSWORD)
            .await
            .problem(401, "bad_credentials");
        // Again: nothing more to do.
        let again = deactivate("operator", &regulator).await;
        assert_eq!(again.status, 200, "[{be}] {}", again.text);
        assert_eq!(again.json()["status"], "disabled");
        app.stop().await;
    }
}

/// Asks `peer` for `path` with `token` until it is refused with 401; fails after `PATIENCE`.
async fn refused_within(peer: &Peer, path: &str, token: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        let r = peer.get_as(path, Some(token)).await;
        if r.status == status {
            return started.elapsed();
        }
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert!(
            started.elapsed() < PATIENCE,
            "{path} still answered after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Requests `path` on `peer` until its cache serves the session.
async fn warm_peer(peer: &Peer, path: &str, token: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let hits = stats(peer.state.app()).hits;
        let r = peer.get_as(path, Some(token)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        if stats(peer.state.app()).hits > hits {
            return;
        }
        assert!(Instant::now() < deadline, "{path} never cached on the peer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn another_process_refuses_an_ended_session_within_a_second() {
    for app in TestApp::all().await {
        if app.backend != pishkhan_store::Backend::Postgres {
            // One process owns an embedded database: there is no other process to tell.
            app.stop().await;
            continue;
        }
        let peer = app.peer().await;
        let regulator = app.login("regulator", DEMO_PASSWORD).await;

        // A sign-out on A, a session cached on B.
        let manager = app.login("manager", DEMO_PASSWORD).await;
        warm_peer(&peer, "/api/v1/me", &manager).await;
        let out = app
            .post_json("/api/v1/auth/logout", Some(&manager), &json!({}))
            .await;
        assert_eq!(out.status, 204, "{}", out.text);
        let took = refused_within(&peer, "/api/v1/me", &manager, 401).await;
        eprintln!("sign-out reached the other process after {took:?}");

        // A suspension on A binds the office's staff on B.
        let operator = app.login("operator", DEMO_PASSWORD).await;
        warm_peer(&peer, "/api/v1/me", &operator).await;
        let path = format!("/api/v1/offices/{DEMO_OFFICE}/queue/walk-in");
        let ok = peer
            .post_json(&path, Some(&operator), &json!({ "service": "PSP-001" }))
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        set_status(&app, &regulator, "suspended").await;
        let started = Instant::now();
        loop {
            let r = peer
                .post_json(&path, Some(&operator), &json!({ "service": "PSP-001" }))
                .await;
            if r.status == 403 {
                r.problem(403, "office_suspended");
                break;
            }
            assert_eq!(r.status, 200, "{}", r.text);
            assert!(
                started.elapsed() < PATIENCE,
                "suspension not seen on the peer"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        eprintln!(
            "suspension reached the other process after {:?}",
            started.elapsed()
        );

        // A deactivation on A ends the member's sessions on B.
        set_status(&app, &regulator, "active").await;
        let operator = app.login("operator", DEMO_PASSWORD).await;
        warm_peer(&peer, "/api/v1/me", &operator).await;
        let done = app
            .post_json(
                "/api/v1/staff/operator/deactivate",
                Some(&regulator),
                &json!({}),
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        refused_within(&peer, "/api/v1/me", &operator, 401).await;

        peer.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn random_tokens_neither_evict_a_signed_in_member_nor_grow_the_cache() {
    const BOUND: usize = 8;
    for app in TestApp::all_with(|c| c.app.session_cache_max_entries = BOUND).await {
        let be = app.be();
        let token = app.login("manager", DEMO_PASSWORD).await;
        warm(&app, "/api/v1/me", &token).await;

        // A sprayer: well-formed tokens no one was given, as staff and as citizens.
        for i in 0..1_000 {
            let random = pishkhan_app::secrets::new_token().unwrap();
            let path = if i % 2 == 0 {
                "/api/v1/me"
            } else {
                "/api/v1/me/bookings"
            };
            app.get_as(path, Some(&random))
                .await
                .problem(401, "unauthenticated");
        }
        let s = stats(app.state.app());
        assert_eq!(
            (s.staff_entries, s.citizen_entries),
            (1, 0),
            "[{be}] unknown tokens store nothing"
        );
        let before = stats(app.state.app());
        let me = app.get_as("/api/v1/me", Some(&token)).await;
        assert_eq!(me.status, 200, "[{be}] {}", me.text);
        let after = stats(app.state.app());
        assert_eq!(
            (after.hits, after.misses),
            (before.hits + 1, before.misses),
            "[{be}] the member is still served from the cache"
        );

        // Real sessions past the bound: the cache stays bounded and keeps who it had.
        let mut others = Vec::new();
        for _ in 0..BOUND + 4 {
            let t = app.login("operator", DEMO_PASSWORD).await;
            for _ in 0..2 {
                let r = app.get_as("/api/v1/me", Some(&t)).await;
                assert_eq!(r.status, 200, "[{be}] {}", r.text);
            }
            others.push(t);
        }
        let s = stats(app.state.app());
        assert_eq!(s.staff_entries, BOUND, "[{be}] full, and no fuller");
        let before = stats(app.state.app());
        let me = app.get_as("/api/v1/me", Some(&token)).await;
        assert_eq!(me.status, 200, "[{be}] {}", me.text);
        let after = stats(app.state.app());
        assert_eq!(
            after.hits,
            before.hits + 1,
            "[{be}] newcomers did not evict the member"
        );
        // The newcomers past the bound still work, from the database.
        let last = others.last().unwrap();
        let r = app.get_as("/api/v1/me", Some(last)).await;
        assert_eq!(r.status, 200, "[{be}] {}", r.text);
        app.stop().await;
    }
}
