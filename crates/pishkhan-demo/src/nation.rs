//! Loading the demo nation into a store.

use std::time::Instant;

use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::model::Username;
use pishkhan_store::{AuditContext, NationLoad, Store};

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Loads the demo nation for `seed` into an empty store and prints what it loaded. Only the
/// three demo logins get a password, hashed with `hash_password` (the server's own hasher, so
/// that its sign-in accepts them).
pub async fn load_demo(
    store: &dyn Store,
    seed: u64,
    hash_password: impl Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let nation = pishkhan_nation::generate(seed);
    let generated = started.elapsed();
    let mut passwords = Vec::new();
    for login in pishkhan_nation::demo_logins() {
        let hash = hash_password(pishkhan_nation::DEMO_PASSWORD)?;
        passwords.push((Username::parse(login.username)?, hash));
    }
    let permit = authorize(&Principal::System { reason: "demo" }, Action::LoadDemo)?;
    store
        .load_nation(
            &permit,
            NationLoad {
                seed,
                provinces: &nation.provinces,
                agencies: &nation.agencies,
                services: &nation.services,
                offices: &nation.offices,
                staff: &nation.staff,
                passwords: &passwords,
            },
            &AuditContext {
                now_ms: now_ms(),
                ip: None,
                request_id: None,
            },
        )
        .await?;
    let year = pishkhan_domain::tehran::jalali_today(time::OffsetDateTime::now_utc()).year();
    let tariffs = crate::tariffs::demo_tariffs(&nation.services, year)?;
    let permit = authorize(&Principal::System { reason: "demo" }, Action::PublishTariff)?;
    store
        .publish_tariffs(
            &permit,
            &tariffs,
            &AuditContext {
                now_ms: now_ms(),
                ip: None,
                request_id: None,
            },
        )
        .await?;
    println!(
        "loaded the demo nation (seed {seed}): {} provinces, {} agencies, {} services, {} offices, {} staff in {:.2}s (generation {:.2}s)",
        nation.provinces.len(),
        nation.agencies.len(),
        nation.services.len(),
        nation.offices.len(),
        nation.staff.len(),
        started.elapsed().as_secs_f64(),
        generated.as_secs_f64(),
    );
    Ok(())
}
