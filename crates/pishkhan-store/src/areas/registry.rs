//! The registry: provinces, agencies, offices, the service catalogue, staff and their
//! invitations, and reads of the audit log. Also the store-wide basics (backend, ping, meta).

use async_trait::async_trait;
use pishkhan_domain::access::Permit;
use pishkhan_domain::model::{
    Agency, AgencyCode, Category, Channel, Digitization, LocalizedText, Office, OfficeCode,
    OfficeStatus, Province, Role, Service, ServiceCode, Staff, Username,
};

use crate::{AuditContext, Backend, Page, PageRequest, Result};

#[derive(Debug, Clone, Default)]
pub struct OfficeFilter {
    /// Free text over name, city, address and code, matched after Persian normalization.
    pub q: Option<String>,
    pub province: Option<u8>,
    pub status: Option<OfficeStatus>,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// Free text over code and titles, matched after Persian normalization.
    pub q: Option<String>,
    pub agency: Option<AgencyCode>,
    pub digitization: Option<Digitization>,
    pub category: Option<Category>,
    pub channel: Option<Channel>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// One row of the audit log as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
}

/// State of a staff account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffStatus {
    /// Created, waiting for the person to set a password through an invitation.
    Invited,
    Active,
    Disabled,
}

impl StaffStatus {
    pub fn code(self) -> &'static str {
        match self {
            StaffStatus::Invited => "invited",
            StaffStatus::Active => "active",
            StaffStatus::Disabled => "disabled",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            StaffStatus::Invited,
            StaffStatus::Active,
            StaffStatus::Disabled,
        ]
        .into_iter()
        .find(|v| v.code() == s)
    }
}

/// A member of staff as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffRecord {
    pub id: i64,
    pub staff: Staff,
    pub status: StaffStatus,
    pub created_at_ms: i64,
}

/// A one-time invitation. Only the SHA-256 of the token in the link is stored.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub token_hash: String,
    pub expires_at_ms: i64,
}

/// What the invitation page shows before the password is set.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationInfo {
    pub staff_id: i64,
    pub username: Username,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub office: Option<OfficeCode>,
    pub expires_at_ms: i64,
}

/// Figures for the dashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistryCounts {
    pub offices: u64,
    pub offices_by_status: Vec<(OfficeStatus, u64)>,
    pub services: u64,
    pub services_by_digitization: Vec<(Digitization, u64)>,
    pub agencies: u64,
    pub staff: u64,
    pub staff_active: u64,
}

/// Everything the demo loader writes in one transaction.
#[derive(Debug, Clone)]
pub struct NationLoad<'a> {
    pub seed: u64,
    pub provinces: &'a [Province],
    pub agencies: &'a [Agency],
    pub services: &'a [Service],
    pub offices: &'a [Office],
    pub staff: &'a [Staff],
    /// Usernames that get a password at load time (argon2id PHC strings), activated at once.
    pub passwords: &'a [(Username, String)],
}

/// A province with its office count, for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvinceSummary {
    pub province: Province,
    pub offices: u64,
}

/// Label pair of an agency with its service count.
#[derive(Debug, Clone, PartialEq)]
pub struct AgencySummary {
    pub code: AgencyCode,
    pub name: LocalizedText,
    pub services: u64,
}

/// Where an office is, for search.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeLocation {
    pub code: OfficeCode,
    pub province: u8,
    pub city: LocalizedText,
    pub lat: f64,
    pub lon: f64,
    pub status: OfficeStatus,
}

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<()>;

    /// True when no offices and no staff exist yet.
    async fn is_empty(&self) -> Result<bool>;

    /// Inserts the provinces and agencies that are missing; returns how many were added.
    async fn seed_reference_data(
        &self,
        permit: &Permit,
        provinces: &[Province],
        agencies: &[Agency],
        ctx: &AuditContext,
    ) -> Result<u64>;

    /// Loads a whole nation in one transaction. Fails with `Conflict` unless the store is
    /// empty; reference rows already present are kept.
    async fn load_nation(
        &self,
        permit: &Permit,
        load: NationLoad<'_>,
        ctx: &AuditContext,
    ) -> Result<()>;

    async fn meta(&self, key: &str) -> Result<Option<String>>;

    async fn provinces(&self) -> Result<Vec<ProvinceSummary>>;

    async fn agencies(&self) -> Result<Vec<AgencySummary>>;

    async fn offices(&self, filter: &OfficeFilter, page: PageRequest) -> Result<Page<Office>>;

    async fn office(&self, code: OfficeCode) -> Result<Office>;

    async fn services(&self, filter: &ServiceFilter, page: PageRequest) -> Result<Page<Service>>;

    async fn service(&self, code: &ServiceCode) -> Result<Service>;

    async fn counts(&self) -> Result<RegistryCounts>;

    /// One past the highest office code in use.
    async fn next_office_code(&self) -> Result<OfficeCode>;

    /// Creates one office. With `allocate_code`, the office's code is replaced by the next
    /// free one, chosen inside the inserting transaction so concurrent creations never clash.
    /// Returns the office as stored.
    async fn create_office(
        &self,
        permit: &Permit,
        office: &Office,
        allocate_code: bool,
        ctx: &AuditContext,
    ) -> Result<Office>;

    /// Inserts every office or none. Fails with `Conflict` naming the first clash.
    async fn import_offices(
        &self,
        permit: &Permit,
        offices: &[Office],
        ctx: &AuditContext,
    ) -> Result<u64>;

    /// Inserts new services and replaces existing ones with the same code, all or none.
    async fn import_services(
        &self,
        permit: &Permit,
        services: &[Service],
        ctx: &AuditContext,
    ) -> Result<u64>;

    async fn create_staff(
        &self,
        permit: &Permit,
        staff: &Staff,
        invitation: &NewInvitation,
        ctx: &AuditContext,
    ) -> Result<StaffRecord>;

    async fn staff_by_username(&self, username: &Username) -> Result<StaffRecord>;

    async fn office_staff(&self, permit: &Permit, office: OfficeCode) -> Result<Vec<StaffRecord>>;

    async fn invitation(&self, token_hash: &str, now_ms: i64) -> Result<InvitationInfo>;

    /// Disables a member of staff's account: it can't sign in, its sessions end and any unused
    /// invitation is void, audited in the same transaction. The permit names the member, their
    /// office and role. Deactivating a disabled member changes and audits nothing. Returns
    /// the member as now stored.
    async fn deactivate_staff(
        &self,
        permit: &Permit,
        staff_id: i64,
        ctx: &AuditContext,
    ) -> Result<StaffRecord>;

    /// Sets the password and activates the account; the invitation can't be used again.
    ///
    /// **No permit:** the invitation token is the capability (only its holder has it); the
    /// activation is audited as the invited member.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        ctx: &AuditContext,
    ) -> Result<Username>;

    /// Every office's code, province, city and position, for searching by place and distance.
    async fn office_locations(&self) -> Result<Vec<OfficeLocation>>;

    /// Changes an office's status (the regulator's compliance decision), with the reason in
    /// the audit log.
    async fn set_office_status(
        &self,
        permit: &Permit,
        office: OfficeCode,
        status: OfficeStatus,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<()>;

    async fn audit_log(
        &self,
        permit: &Permit,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>>;
}
