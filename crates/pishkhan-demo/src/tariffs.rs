//! The demo's fee tariffs: last fiscal year's and this year's, for every service, so fees and
//! their history have something to show. Amounts follow a fixed pattern by service code: a
//! government fee for the agency, a counter fee for the office at counter services, and VAT
//! on the counter fee; this year's are last year's indexed by 35 % and rounded up to the next
//! 1,000 rials.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff};
use pishkhan_domain::model::{Channel, Service};
use pishkhan_domain::money::Rials;

/// Indexation from last year to this one, in per-mille.
const INDEX_PER_MILLE: i64 = 1_350;
/// VAT on the counter fee, in per-cent.
const VAT_PERCENT: i64 = 10;

fn round_up_to_thousand(n: i64) -> i64 {
    (n + 999) / 1_000 * 1_000
}

fn component(kind: FeeKind, amount: i64) -> anyhow::Result<FeeComponent> {
    Ok(FeeComponent {
        kind,
        amount: Rials::new(amount)?,
    })
}

/// Last year's amounts of `service`: government fee and counter fee (zero online-only).
fn base_amounts(service: &Service) -> (i64, i64) {
    let spread: i64 = service
        .code
        .as_str()
        .bytes()
        .fold(7i64, |h, b| (h * 31 + i64::from(b)) % 997);
    let government = 50_000 + (spread % 40) * 25_000;
    let counter = match service.channel {
        Channel::Online => 0,
        _ => 60_000 + (spread % 5) * 10_000,
    };
    (government, counter)
}

fn tariff(
    service: &Service,
    effective_from: JalaliDate,
    government: i64,
    counter: i64,
    basis: &str,
) -> anyhow::Result<NewTariff> {
    let mut components = vec![component(FeeKind::GovernmentFee, government)?];
    if counter > 0 {
        components.push(component(FeeKind::CounterFee, counter)?);
        components.push(component(FeeKind::Vat, counter * VAT_PERCENT / 100)?);
    }
    Ok(NewTariff::new(
        service.code.clone(),
        effective_from,
        components,
        basis,
    )?)
}

/// Tariffs of every service for the fiscal year before `year` and for `year`, each from the
/// year's first day (1 Farvardin).
pub fn demo_tariffs(services: &[Service], year: i32) -> anyhow::Result<Vec<NewTariff>> {
    let last_year = JalaliDate::new(year - 1, 1, 1)?;
    let this_year = JalaliDate::new(year, 1, 1)?;
    let mut out = Vec::with_capacity(services.len() * 2);
    for s in services {
        let (government, counter) = base_amounts(s);
        out.push(tariff(
            s,
            last_year,
            government,
            counter,
            "demo: tariff of the previous fiscal year",
        )?);
        let index = |n: i64| round_up_to_thousand(n * INDEX_PER_MILLE / 1_000);
        out.push(tariff(
            s,
            this_year,
            index(government),
            index(counter),
            "demo: indexed by 35 %, rounded up to 1,000 rials",
        )?);
    }
    Ok(out)
}
