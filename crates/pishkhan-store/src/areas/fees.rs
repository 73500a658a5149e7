//! Fee tariffs: each service's fee components per effective date, kept as history.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Permit;
use pishkhan_domain::model::ServiceCode;

use crate::{AuditContext, Result};

pub use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff, Payee, Tariff};
pub use pishkhan_domain::money::Rials;

/// Most tariffs one publication may carry (the whole catalogue, with room to spare).
pub const MAX_TARIFFS_PER_PUBLICATION: usize = 2_000;
/// Most past tariffs of one service a history read returns.
pub const MAX_TARIFF_HISTORY: usize = 100;

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Fees: Send + Sync + 'static {
    /// Publishes tariffs, all or none, each with its audit row. `Conflict` when a service
    /// already has a tariff taking effect on the same date; `NotFound` for an unknown service.
    async fn publish_tariffs(
        &self,
        permit: &Permit,
        tariffs: &[NewTariff],
        ctx: &AuditContext,
    ) -> Result<u64>;

    /// The tariff in force for `service` on `date`: the one with the latest effective date on
    /// or before it.
    async fn tariff_on(&self, service: &ServiceCode, date: JalaliDate) -> Result<Option<Tariff>>;

    /// The tariff in force on `date` of every service that has one.
    async fn tariffs_on(&self, date: JalaliDate) -> Result<Vec<Tariff>>;

    /// `service`'s tariffs, newest effective date first, at most [`MAX_TARIFF_HISTORY`].
    async fn tariff_history(&self, service: &ServiceCode) -> Result<Vec<Tariff>>;
}
