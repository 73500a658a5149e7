//! The demo's supervision story, playable end to end: the rules run once over the history,
//! and the office the rules found serving the most visits unbooked gets two demo logins of
//! its own (`manager2`, `operator2`, the demo password), so the regulator can warn and
//! suspend it, its operator see the inquiry refused, and its manager publish slots and ask
//! to be reinstated. The office is whichever the rules find; nothing in the data marks it.

use std::sync::Arc;

use pishkhan_app::{App, AppConfig, SystemClock};
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::model::{OfficeCode, Role, Staff, Username};
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{FindingFilter, NewInvitation, PageRequest, Store, token_hash};

use crate::demo_payments::national_code_from;
use crate::run::system_ctx;

/// The demo logins at the office the rules found.
pub const LOGINS: [(&str, Role); 2] = [("manager2", Role::Manager), ("operator2", Role::Operator)];

/// Pages of open findings read to choose the office.
const MAX_PAGES: u32 = 50;

/// What the first run found.
pub struct Found {
    pub open_findings: u64,
    pub office: Option<OfficeCode>,
}

/// Runs the rules (today's daily run) and gives the worst offender its demo logins.
pub async fn prepare(store: Arc<dyn Store>) -> anyhow::Result<Found> {
    let app = App::new(store.clone(), AppConfig::default(), Arc::new(SystemClock));
    pishkhan_app::compliance::daily(&app).await?;
    let filter = FindingFilter {
        status: Some("open".into()),
        office: None,
    };
    let mut open = Vec::new();
    let mut total = 0;
    for page in 1..=MAX_PAGES {
        let found = store
            .compliance_findings(&filter, PageRequest::new(page, 100)?)
            .await?;
        total = found.total;
        let done = found.items.len() < 100;
        open.extend(found.items);
        if done {
            break;
        }
    }
    // The busiest office of those not serving by appointment.
    let office = open
        .iter()
        .filter(|f| f.rule == "low_booked_share")
        .max_by_key(|f| (f.evidence["visits"].as_u64().unwrap_or(0), f.office))
        .map(|f| f.office);
    if let Some(office) = office {
        for (i, (name, role)) in LOGINS.iter().enumerate() {
            let staff = Staff {
                username: Username::parse(name)?,
                national_code: demo_code(i as u64)?,
                first_name: "نمونه".into(),
                last_name: if *role == Role::Manager {
                    "مدیر".into()
                } else {
                    "کارمند".into()
                },
                mobile: Mobile::parse(&format!("0919000000{i}"))?,
                office: Some(office),
                role: *role,
            };
            let permit = authorize(
                &Principal::System {
                    reason: "demo-offender",
                },
                Action::CreateStaff {
                    office: Some(office),
                    role: *role,
                },
            )?;
            let token = pishkhan_app::secrets::new_token()?;
            let ctx = system_ctx();
            store
                .create_staff(
                    &permit,
                    &staff,
                    &NewInvitation {
                        token_hash: token_hash(&token),
                        expires_at_ms: ctx.now_ms + 3_600_000,
                    },
                    &ctx,
                )
                .await?;
            let hash = pishkhan_app::secrets::hash_password(pishkhan_nation::DEMO_PASSWORD)?;
            store
                .accept_invitation(&token_hash(&token), &hash, &ctx)
                .await?;
        }
    }
    Ok(Found {
        open_findings: total,
        office,
    })
}

/// National codes for the two logins, far from the generated nation's and the payments'.
fn demo_code(i: u64) -> anyhow::Result<NationalCode> {
    national_code_from(700_000_000 + i)
}
