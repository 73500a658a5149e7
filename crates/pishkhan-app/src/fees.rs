//! Fees: what a service costs on a day (its tariff's components, each owed to a payee), and
//! publishing tariffs. The quote is public: the catalogue shows it and a citizen sees it before
//! booking.
//!
//! **Rule: a published fee never changes the past.** A tariff takes effect on a later day than
//! the one it is published on (a person publishing), so every fee already quoted or paid stays
//! what it was; only the system principal (the demo and bulk imports) may enter history.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff, Payee, Tariff};
use pishkhan_domain::model::{AgencyCode, Service, ServiceCode};
use pishkhan_domain::money::Rials;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{AuditContext, StoreError};

use crate::{App, AppError, StaffSession};

/// One component of a quote, with who is owed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedComponent {
    pub kind: FeeKind,
    pub payee: Payee,
    /// The agency owed a government fee (the service's agency).
    pub agency: Option<AgencyCode>,
    pub amount: Rials,
}

/// A service's fee on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeQuote {
    pub service: ServiceCode,
    pub date: JalaliDate,
    pub tariff_year: i32,
    pub effective_from: JalaliDate,
    pub components: Vec<QuotedComponent>,
    pub total: Rials,
}

impl FeeQuote {
    fn of(service: &Service, date: JalaliDate, tariff: &Tariff) -> Self {
        Self {
            service: service.code.clone(),
            date,
            tariff_year: tariff.fiscal_year(),
            effective_from: tariff.effective_from,
            components: tariff
                .components
                .iter()
                .map(|c| QuotedComponent {
                    kind: c.kind,
                    payee: c.kind.payee(),
                    agency: (c.kind.payee() == Payee::Agency).then(|| service.agency.clone()),
                    amount: c.amount,
                })
                .collect(),
            total: tariff.total(),
        }
    }
}

async fn known_service(state: &App, code: &ServiceCode) -> Result<Service, AppError> {
    state.store().service(code).await.map_err(|e| match e {
        StoreError::NotFound { .. } => AppError::NotFound("service"),
        other => other.into(),
    })
}

/// `service`'s fee on `date` (today in Tehran when `None`). `NotFound("tariff")` when no
/// tariff was in force that day.
pub async fn quote(
    state: &App,
    service: &ServiceCode,
    date: Option<JalaliDate>,
) -> Result<FeeQuote, AppError> {
    let date = date.unwrap_or_else(|| jalali_today(state.now()));
    let svc = known_service(state, service).await?;
    let tariff = state
        .store()
        .tariff_on(service, date)
        .await?
        .ok_or(AppError::NotFound("tariff"))?;
    Ok(FeeQuote::of(&svc, date, &tariff))
}

/// Today's fee of every service that has one, by service code: for catalogue pages.
pub async fn todays_fees(
    state: &App,
) -> Result<std::collections::HashMap<ServiceCode, Rials>, AppError> {
    let today = jalali_today(state.now());
    Ok(state
        .store()
        .tariffs_on(today)
        .await?
        .into_iter()
        .map(|t| {
            let total = t.total();
            (t.service, total)
        })
        .collect())
}

/// `service`'s tariffs, newest first.
pub async fn history(state: &App, service: &ServiceCode) -> Result<Vec<Tariff>, AppError> {
    known_service(state, service).await?;
    Ok(state.store().tariff_history(service).await?)
}

/// A tariff as a person asks for it: the amounts per kind.
#[derive(Debug, Clone)]
pub struct TariffInput {
    pub effective_from: JalaliDate,
    pub components: Vec<(FeeKind, i64)>,
    pub basis: String,
}

fn checked(service: &ServiceCode, input: &TariffInput) -> Result<NewTariff, AppError> {
    let components = input
        .components
        .iter()
        .map(|(kind, amount)| {
            Ok(FeeComponent {
                kind: *kind,
                amount: Rials::new(*amount)?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(NewTariff::new(
        service.clone(),
        input.effective_from,
        components,
        &input.basis,
    )?)
}

/// Publishes one service's tariff (regulator). Refused when it would take effect today or
/// earlier (`tariff_not_in_future`) or when the service already has one from that date
/// (`tariff_exists`).
pub async fn publish(
    state: &App,
    by: &StaffSession,
    service: &ServiceCode,
    input: &TariffInput,
    ctx: &AuditContext,
) -> Result<Tariff, AppError> {
    let permit = by.permit(Action::PublishTariff)?;
    known_service(state, service).await?;
    let tariff = checked(service, input)?;
    takes_effect_later(state, tariff.effective_from)?;
    store_tariffs(state, &permit, std::slice::from_ref(&tariff), ctx).await?;
    state
        .store()
        .tariff_on(service, tariff.effective_from)
        .await?
        .ok_or(AppError::NotFound("tariff"))
}

/// Publishes tariffs for the whole catalogue as the system (the demo, bulk imports): history
/// may be entered, all or none.
pub async fn publish_as_system(
    state: &App,
    tariffs: &[NewTariff],
    ctx: &AuditContext,
) -> Result<u64, AppError> {
    let permit = authorize(
        &Principal::System { reason: "tariffs" },
        Action::PublishTariff,
    )?;
    store_tariffs(state, &permit, tariffs, ctx).await
}

async fn store_tariffs(
    state: &App,
    permit: &pishkhan_domain::access::Permit,
    tariffs: &[NewTariff],
    ctx: &AuditContext,
) -> Result<u64, AppError> {
    state
        .store()
        .publish_tariffs(permit, tariffs, ctx)
        .await
        .map_err(tariff_conflict)
}

/// The rule that a published fee never changes the past: a person's tariff takes effect
/// after the day it is published.
pub(crate) fn takes_effect_later(state: &App, effective_from: JalaliDate) -> Result<(), AppError> {
    if effective_from <= jalali_today(state.now()) {
        return Err(AppError::invalid(
            "tariff_not_in_future",
            "effective_from",
            "a tariff takes effect after the day it is published, so no fee already quoted changes",
        ));
    }
    Ok(())
}

/// A service that already has a tariff from that date.
pub(crate) fn tariff_conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict { .. } => AppError::Conflict {
            code: "tariff_exists",
            message: "a service already has a tariff taking effect on this date".into(),
        },
        other => other.into(),
    }
}
