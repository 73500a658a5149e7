//! Fee tariffs: each service's fee components per effective date, kept as history.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Permit;
use pishkhan_domain::model::ServiceCode;

use crate::{AuditContext, Result};

pub use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff, Payee, Tariff};
pub use pishkhan_domain::indexation::{CpiPoint, Factor, FactorRule, ProposalRow, RunSpec};
pub use pishkhan_domain::money::Rials;

/// Most tariffs one publication may carry (the whole catalogue, with room to spare).
pub const MAX_TARIFFS_PER_PUBLICATION: usize = 2_000;
/// Most past tariffs of one service a history read returns.
pub const MAX_TARIFF_HISTORY: usize = 100;

/// An imported CPI series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpiImport {
    pub id: i64,
    pub source: String,
    /// SHA-256 of the series' canonical form, hex.
    pub digest: String,
    pub points: Vec<CpiPoint>,
    pub imported_by: String,
    pub imported_at_ms: i64,
}

/// A computed run to store as a proposal.
#[derive(Debug, Clone)]
pub struct NewIndexationRun {
    pub import_id: i64,
    pub spec: RunSpec,
    /// The rounding rules in canonical text, as the proposal's digest saw them.
    pub rounding: String,
    pub factor: Factor,
    pub digest: String,
    pub rows: Vec<ProposalRow>,
}

/// One service's component in a stored run: what the rule proposed and what will be
/// published (the same unless the regulator changed it, with a reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexationRow {
    pub service: ServiceCode,
    pub kind: FeeKind,
    pub old: Rials,
    pub proposed: Rials,
    pub final_amount: Rials,
    pub edit_reason: Option<String>,
    pub edited_by: Option<String>,
}

/// A stored indexation run.
#[derive(Debug, Clone)]
pub struct IndexationRun {
    pub id: i64,
    pub import_id: i64,
    pub fiscal_year: i32,
    pub rule: FactorRule,
    pub floor_milli: i64,
    pub cap_milli: i64,
    pub rounding: String,
    pub factor: Factor,
    pub digest: String,
    pub published: bool,
    pub effective_from: Option<JalaliDate>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub published_by: Option<String>,
    pub published_at_ms: Option<i64>,
    pub rows: Vec<IndexationRow>,
}

/// A run as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexationRunSummary {
    pub id: i64,
    pub import_id: i64,
    pub fiscal_year: i32,
    pub rule: FactorRule,
    pub factor_milli: i64,
    pub published: bool,
    pub effective_from: Option<JalaliDate>,
    pub created_at_ms: i64,
}

/// Most runs a list shows.
pub const MAX_RUNS_LISTED: usize = 50;

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

    /// Stores a parsed CPI series with its source; returns its id.
    async fn import_cpi(
        &self,
        permit: &Permit,
        source: &str,
        digest: &str,
        points: &[CpiPoint],
        ctx: &AuditContext,
    ) -> Result<i64>;

    async fn cpi_import(&self, id: i64) -> Result<CpiImport>;

    /// Stores a run as a proposal; returns its id.
    async fn create_indexation_run(
        &self,
        permit: &Permit,
        run: &NewIndexationRun,
        ctx: &AuditContext,
    ) -> Result<i64>;

    async fn indexation_run(&self, id: i64) -> Result<IndexationRun>;

    /// The latest runs, newest first, at most [`MAX_RUNS_LISTED`].
    async fn recent_indexation_runs(&self) -> Result<Vec<IndexationRunSummary>>;

    /// Sets one row's amount to publish, with the reason; `WrongState(RunPublished)` once the
    /// run is published, `NotFound` for a row the run does not have.
    #[allow(clippy::too_many_arguments)]
    async fn edit_indexation_row(
        &self,
        permit: &Permit,
        run_id: i64,
        service: &ServiceCode,
        kind: FeeKind,
        amount: Rials,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// Marks a proposed run published from `effective_from` and publishes `tariffs` (made from
    /// its final amounts), in one transaction. `WrongState(RunPublished)` when published already.
    async fn publish_indexation_run(
        &self,
        permit: &Permit,
        run_id: i64,
        effective_from: JalaliDate,
        tariffs: &[NewTariff],
        ctx: &AuditContext,
    ) -> Result<()>;
}
