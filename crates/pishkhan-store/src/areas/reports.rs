//! Citizens' reports about offices: submitting (with per-citizen limits and folding of
//! repeats), the regulator's triage, the citizen's additions and the office's answers. Each
//! step writes its thread entry, its audit row and the citizen's SMS in one transaction.

use async_trait::async_trait;
use pishkhan_domain::access::Permit;
use pishkhan_domain::model::OfficeCode;
use pishkhan_domain::{Mobile, NationalCode};

use crate::{AuditContext, Page, PageRequest, Result};

pub use pishkhan_domain::report::{
    LimitHit, ReportCategory, ReportLimits, ReportStatus, StepRefused, TriageDecision,
};

/// A report to submit.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub office: OfficeCode,
    pub national_code: NationalCode,
    /// Where the citizen is texted about each step.
    pub mobile: Mobile,
    pub category: ReportCategory,
    /// Checked already: bounded, no control characters.
    pub text: String,
    /// The tracking code of the citizen's own booking at `office`, checked already.
    pub booking: Option<String>,
}

/// What submitting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A new report.
    Created { id: i64 },
    /// Added to the citizen's open report of the same office and category.
    Folded { id: i64, status: ReportStatus },
    /// A limit binds; nothing was written.
    Limited(LimitHit),
}

/// A report as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub office: OfficeCode,
    pub national_code: String,
    pub category: ReportCategory,
    pub text: String,
    pub booking: Option<String>,
    pub status: ReportStatus,
    pub folded: u32,
    pub accepted_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Who wrote an entry of a report's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportParty {
    Citizen,
    Regulator,
    Office,
}

impl ReportParty {
    pub const fn code(self) -> &'static str {
        match self {
            ReportParty::Citizen => "citizen",
            ReportParty::Regulator => "regulator",
            ReportParty::Office => "office",
        }
    }
}

/// One entry of a report's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntry {
    pub at_ms: i64,
    pub party: ReportParty,
    /// report, fold, triage, addition or answer.
    pub kind: String,
    /// The triage decision, on a triage entry.
    pub decision: Option<TriageDecision>,
    pub text: String,
}

/// A report with its thread, oldest entry first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportThread {
    pub report: Report,
    pub entries: Vec<ReportEntry>,
}

/// Which reports a list shows; all filters are optional.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub status: Option<ReportStatus>,
    /// Any of these statuses (a manager sees only what the regulator accepted).
    pub statuses: Vec<ReportStatus>,
    pub office: Option<OfficeCode>,
    pub category: Option<ReportCategory>,
    pub national_code: Option<NationalCode>,
}

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Reports: Send + Sync + 'static {
    /// Submits a report under `ReportOffice` for that citizen. One citizen's submissions are
    /// decided one at a time: the limits count every submission (folded ones too) over the
    /// last day and month; a repeat of the same office and category within 7 days of an open
    /// report is folded into it. Texts the citizen when a report is created.
    async fn submit_report(
        &self,
        permit: &Permit,
        report: &NewReport,
        limits: ReportLimits,
        ctx: &AuditContext,
    ) -> Result<Submitted>;

    /// One report and its thread; `NotFound` when there is none.
    async fn report(&self, id: i64) -> Result<ReportThread>;

    /// Reports matching `filter`, the latest change first.
    async fn reports(&self, filter: &ReportFilter, page: PageRequest) -> Result<Page<Report>>;

    /// The regulator's decision (`TriageReports`) on a submitted report, with a note; texts
    /// the citizen. `Ok(Err(NotSubmitted))` in any other state.
    async fn triage_report(
        &self,
        permit: &Permit,
        id: i64,
        decision: TriageDecision,
        note: &str,
        ctx: &AuditContext,
    ) -> Result<std::result::Result<Report, StepRefused>>;

    /// The office's answer (`AnswerReports` for the report's own office) to an accepted
    /// report; texts the citizen. `Ok(Err(NotAccepted))` in any other state.
    async fn answer_report(
        &self,
        permit: &Permit,
        id: i64,
        text: &str,
        ctx: &AuditContext,
    ) -> Result<std::result::Result<Report, StepRefused>>;

    /// The citizen's addition (`ReportOffice` for the report's own citizen) when the
    /// regulator asked for more; the report goes back to the regulator.
    /// `Ok(Err(NotAsked))` in any other state.
    async fn add_to_report(
        &self,
        permit: &Permit,
        id: i64,
        text: &str,
        ctx: &AuditContext,
    ) -> Result<std::result::Result<Report, StepRefused>>;
}
