//! Offices: creating one, its status (the regulator's sanctions), and which services each of
//! its counters handles.

use pishkhan_domain::access::Action;
use pishkhan_domain::input::{OfficeDefaults, OfficeInput};
use pishkhan_domain::model::{Office, OfficeCode, OfficeStatus, ServiceCode};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::AuditContext;

use crate::{App, AppError, StaffSession};

/// Services one counter may be limited to.
pub const MAX_SERVICES_PER_COUNTER: usize = 200;
/// Longest reason given for a status change.
const MAX_REASON_CHARS: usize = 500;

/// Creates an office (the regulator). Without a code, the store allocates the next free one
/// inside its transaction; without a licence date, the licence dates from today.
pub async fn create_office(
    state: &App,
    by: &StaffSession,
    input: OfficeInput,
    ctx: &AuditContext,
) -> Result<Office, AppError> {
    // Refuse before reading anything else, so non-regulators learn nothing from validation.
    let permit = by.permit(Action::CreateOffice)?;
    let allocate = !matches!(&input.code, Some(c) if !c.trim().is_empty());
    let defaults = OfficeDefaults {
        // A placeholder the store replaces with the next free code.
        code: allocate.then_some(OfficeCode::from_u32(OfficeCode::MIN)?),
        licence_issued: jalali_today(state.now()),
    };
    let office = input.parse(&defaults)?;
    office.validate()?;
    Ok(state
        .store()
        .create_office(&permit, &office, allocate, ctx)
        .await?)
}

/// Sets an office's status (active, warned, suspended, revoked) with the reason.
pub async fn set_status(
    state: &App,
    by: &StaffSession,
    office: OfficeCode,
    status: OfficeStatus,
    reason: &str,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let permit = by.permit(Action::ChangeOfficeStatus { office })?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::invalid(
            "invalid_reason",
            "reason",
            "give a reason of at most 500 characters",
        ));
    }
    state
        .store()
        .set_office_status(&permit, office, status, reason, ctx)
        .await?;
    state.refs().forget_office(office);
    state
        .sessions()
        .forget(&pishkhan_store::SessionInvalidation::Office(office));
    Ok(())
}

/// One counter's setting: its number and the services it handles (`None`: every service).
pub struct CounterSetting {
    pub counter: u16,
    pub services: Option<Vec<ServiceCode>>,
}

/// Says which services each counter of `office` handles; counters left out handle every
/// service.
pub async fn set_counters(
    state: &App,
    by: &StaffSession,
    office: OfficeCode,
    counters: Vec<CounterSetting>,
    ctx: &AuditContext,
) -> Result<(), AppError> {
    let permit = by.permit(Action::ConfigureSchedule { office })?;
    let found = state.store().office(office).await?;
    let mut seen = std::collections::BTreeSet::new();
    let mut parsed = Vec::with_capacity(counters.len());
    for c in counters {
        if !(1..=found.counters).contains(&c.counter) || !seen.insert(c.counter) {
            return Err(AppError::invalid(
                "invalid_counter",
                "counters",
                format!(
                    "counters are numbered 1..={} and listed once each",
                    found.counters
                ),
            ));
        }
        if let Some(list) = &c.services {
            if list.is_empty() || list.len() > MAX_SERVICES_PER_COUNTER {
                return Err(AppError::invalid(
                    "invalid_services",
                    "services",
                    "list 1 to 200 services, or leave it out for every service",
                ));
            }
            for sc in list {
                state.store().service(sc).await.map_err(|_| {
                    AppError::invalid(
                        "unknown_service",
                        "services",
                        format!("no service {}", sc.as_str()),
                    )
                })?;
            }
        }
        parsed.push((c.counter, c.services));
    }
    state
        .store()
        .set_office_counters(&permit, office, &parsed, ctx)
        .await?;
    state.refs().forget_office(office);
    Ok(())
}
