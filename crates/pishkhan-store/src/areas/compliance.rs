//! Compliance: the regulator's versioned rules, each office's figures over a window (one
//! set-based query for every office), the findings runs raise (in the table the payments'
//! findings share), the sanctions ladder and the office's requests to lift a sanction.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Permit;
use pishkhan_domain::compliance::{Activity, SanctionKind};
use pishkhan_domain::model::{OfficeCode, OfficeStatus, ServiceCode};
use pishkhan_domain::outbox::{Notice, OutboxKind};

use crate::{AuditContext, Page, PageRequest, Result};

/// Findings one run records, at most (one per office and rule).
pub const MAX_FINDINGS_PER_RUN: usize = 200_000;
/// Booked citizens one suspension notifies, at most.
pub const MAX_NOTIFIED_BOOKINGS: u32 = 5_000;

/// One stored version of the rules, as JSON (`RuleSet::parse` reads it).
#[derive(Debug, Clone, PartialEq)]
pub struct RulesVersion {
    pub version: i64,
    pub rules: serde_json::Value,
    pub created_by: String,
    pub created_at_ms: i64,
}

/// The days a run's figures cover: `from..=to` back (and the same span in ms), and the
/// coming days `ahead_from..=ahead_to` checked for bookable slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityWindow {
    pub from: JalaliDate,
    pub to: JalaliDate,
    pub from_ms: i64,
    pub to_ms: i64,
    pub ahead_from: JalaliDate,
    pub ahead_to: JalaliDate,
    pub ahead_days: u16,
}

/// A finding a run asks to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRuleFinding {
    pub office: OfficeCode,
    pub rule: &'static str,
    pub rule_version: i64,
    /// `FROM..TO`, the days the figures cover: with the rule version and office, the
    /// finding's identity.
    pub period: String,
    pub severity: &'static str,
    pub evidence: serde_json::Value,
}

/// A finding: a run's, or a payment's (`rule` = its kind, version 0).
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceFinding {
    pub id: i64,
    pub office: OfficeCode,
    pub rule: String,
    pub rule_version: i64,
    pub period: Option<String>,
    pub severity: String,
    pub status: String,
    pub evidence: serde_json::Value,
    pub payment: Option<i64>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingFilter {
    pub status: Option<String>,
    pub office: Option<OfficeCode>,
}

/// A note to every active manager of the office, written with the change.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerNotice {
    pub kind: OutboxKind,
    /// Prefix of the dedupe key; the manager's staff id is appended.
    pub dedupe: String,
    pub payload: serde_json::Value,
}

/// A step of the ladder as the use case decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct SanctionWrite {
    pub office: OfficeCode,
    pub kind: SanctionKind,
    pub reason: String,
    pub findings: Vec<i64>,
    /// The status it was decided on: the write fails when it changed meanwhile.
    pub from: OfficeStatus,
    pub to: OfficeStatus,
    /// To the citizens booked there (a suspension).
    pub notices: Vec<Notice>,
    pub manager: Option<ManagerNotice>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sanction {
    pub id: i64,
    pub office: OfficeCode,
    pub kind: String,
    pub reason: String,
    pub findings: Vec<i64>,
    pub status_before: String,
    pub status_after: String,
    pub actor: String,
    pub created_at_ms: i64,
}

/// A manager's request for reinstatement, or appeal of a sanction.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceRequest {
    pub id: i64,
    pub office: OfficeCode,
    /// `reinstatement` or `appeal`.
    pub kind: String,
    pub sanction: Option<i64>,
    pub text: String,
    /// `open`, `approved` or `refused`.
    pub status: String,
    pub reply: Option<String>,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub created_at_ms: i64,
    pub decided_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewComplianceRequest {
    pub office: OfficeCode,
    pub kind: &'static str,
    pub sanction: Option<i64>,
    pub text: String,
    pub manager: Option<ManagerNotice>,
}

/// The regulator's answer to a request; an approval carries the reinstatement it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestDecision {
    pub id: i64,
    pub approve: bool,
    pub reply: String,
    pub reinstatement: Option<SanctionWrite>,
    pub manager: Option<ManagerNotice>,
}

/// A booking still to come at an office, for the notice a suspension sends.
#[derive(Debug, Clone, PartialEq)]
pub struct UpcomingBooking {
    pub tracking_code: String,
    pub service: ServiceCode,
    pub mobile: String,
    pub slot_start_ms: i64,
}

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Compliance: Send + Sync + 'static {
    /// The newest version of the rules (migration 0017 stores the first).
    async fn compliance_rules(&self) -> Result<RulesVersion>;

    /// Stores `rules` as the next version (`ManageCompliance`), audited.
    async fn save_compliance_rules(
        &self,
        permit: &Permit,
        rules: &serde_json::Value,
        ctx: &AuditContext,
    ) -> Result<RulesVersion>;

    /// Claims the daily run of `day` (Tehran): true for the first caller only.
    ///
    /// **No permit:** system work (the sweeper); the run itself writes with one.
    async fn claim_daily_compliance_run(&self, day: JalaliDate, now_ms: i64) -> Result<bool>;

    /// Every office's figures over `window` but the revoked ones', in one statement.
    async fn compliance_activity(&self, window: &ActivityWindow) -> Result<Vec<Activity>>;

    /// Records a run's findings (`ManageCompliance`): a finding already recorded for the
    /// same office, rule version and period, or an open one of the same office, rule and
    /// version, is not recorded again. Returns how many were new; audits the run once.
    async fn record_findings(
        &self,
        permit: &Permit,
        findings: &[NewRuleFinding],
        ctx: &AuditContext,
    ) -> Result<u64>;

    async fn compliance_findings(
        &self,
        filter: &FindingFilter,
        page: PageRequest,
    ) -> Result<Page<ComplianceFinding>>;

    /// The office's bookings still to come from `from_ms`, at most `limit`.
    async fn upcoming_bookings(
        &self,
        office: OfficeCode,
        from_ms: i64,
        limit: u32,
    ) -> Result<Vec<UpcomingBooking>>;

    /// Takes a step of the ladder (`ManageCompliance`): the office's status, the sanction
    /// row, its cited findings marked actioned, the notices, the audit row, and the staff's
    /// sessions refreshed, in one transaction. `WrongState` when the status changed
    /// meanwhile; `UnknownReference` when a cited finding is not the office's.
    async fn record_sanction(
        &self,
        permit: &Permit,
        write: &SanctionWrite,
        ctx: &AuditContext,
    ) -> Result<Sanction>;

    async fn sanctions(&self, office: Option<OfficeCode>, limit: u32) -> Result<Vec<Sanction>>;

    /// Files a manager's request (`RequestReinstatement`); `Conflict` while another of the
    /// office's requests is open.
    async fn create_compliance_request(
        &self,
        permit: &Permit,
        request: &NewComplianceRequest,
        ctx: &AuditContext,
    ) -> Result<ComplianceRequest>;

    async fn compliance_request(&self, id: i64) -> Result<ComplianceRequest>;

    async fn compliance_requests(
        &self,
        office: Option<OfficeCode>,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ComplianceRequest>>;

    /// Answers an open request (`ManageCompliance`), with the reinstatement an approval
    /// makes, in one transaction; `WrongState` when it was already answered.
    async fn decide_compliance_request(
        &self,
        permit: &Permit,
        decision: &RequestDecision,
        ctx: &AuditContext,
    ) -> Result<ComplianceRequest>;

    /// Dismisses an open finding (`ManageCompliance`) with the regulator's reason, audited,
    /// in one transaction. `NotFound` for an unknown id; `WrongState` when it is no longer
    /// open (already dismissed, or cited by a sanction).
    async fn dismiss_finding(
        &self,
        permit: &Permit,
        id: i64,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<ComplianceFinding>;
}
