//! API types: the public JSON contract. Kept apart from domain types so that a domain change
//! never silently changes what clients see.

use pishkhan_domain::model::{LocalizedText, Office, Service, Weekday};
use pishkhan_store::{AgencySummary, AuditRecord, ProvinceSummary, StaffRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ProvinceOut {
    pub id: u8,
    pub name_fa: String,
    pub name_en: String,
    pub capital_fa: String,
    pub capital_en: String,
    pub population: u32,
    pub lat: f64,
    pub lon: f64,
    /// Offices registered in the province.
    pub offices: u64,
}

impl From<&ProvinceSummary> for ProvinceOut {
    fn from(p: &ProvinceSummary) -> Self {
        Self {
            id: p.province.id,
            name_fa: p.province.name.fa.clone(),
            name_en: p.province.name.en.clone(),
            capital_fa: p.province.capital.fa.clone(),
            capital_en: p.province.capital.en.clone(),
            population: p.province.population,
            lat: p.province.lat,
            lon: p.province.lon,
            offices: p.offices,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgencyOut {
    pub code: String,
    pub name_fa: String,
    pub name_en: String,
    pub services: u64,
}

impl From<&AgencySummary> for AgencyOut {
    fn from(a: &AgencySummary) -> Self {
        Self {
            code: a.code.to_string(),
            name_fa: a.name.fa.clone(),
            name_en: a.name.en.clone(),
            services: a.services,
        }
    }
}

/// Opening hours per weekday, Saturday first: `"HH:MM-HH:MM"`, or null when closed.
#[derive(Serialize, ToSchema, Default)]
pub struct HoursOut {
    pub saturday: Option<String>,
    pub sunday: Option<String>,
    pub monday: Option<String>,
    pub tuesday: Option<String>,
    pub wednesday: Option<String>,
    pub thursday: Option<String>,
    pub friday: Option<String>,
}

impl HoursOut {
    pub fn from_office(o: &Office) -> Self {
        let d = |w: Weekday| o.hours.day(w).map(|h| h.to_hhmm());
        Self {
            saturday: d(Weekday::Saturday),
            sunday: d(Weekday::Sunday),
            monday: d(Weekday::Monday),
            tuesday: d(Weekday::Tuesday),
            wednesday: d(Weekday::Wednesday),
            thursday: d(Weekday::Thursday),
            friday: d(Weekday::Friday),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OfficeOut {
    /// 8-digit office code.
    pub code: String,
    pub name_fa: String,
    pub name_en: String,
    pub province: u8,
    pub city_fa: String,
    pub city_en: String,
    pub address_fa: String,
    pub address_en: String,
    pub postal_code: String,
    pub phone: String,
    pub lat: f64,
    pub lon: f64,
    pub licence_no: String,
    /// Jalali date, YYYY-MM-DD.
    pub licence_issued: String,
    /// active, warned, suspended or revoked.
    pub status: String,
    pub counters: u16,
    pub hours: HoursOut,
}

impl From<&Office> for OfficeOut {
    fn from(o: &Office) -> Self {
        Self {
            code: o.code.to_string(),
            name_fa: o.name.fa.clone(),
            name_en: o.name.en.clone(),
            province: o.province_id,
            city_fa: o.city.fa.clone(),
            city_en: o.city.en.clone(),
            address_fa: o.address.fa.clone(),
            address_en: o.address.en.clone(),
            postal_code: o.postal_code.as_str().to_string(),
            phone: o.phone.clone(),
            lat: o.lat,
            lon: o.lon,
            licence_no: o.licence_no.clone(),
            licence_issued: o.licence_issued.to_string(),
            status: o.status.code().to_string(),
            counters: o.counters,
            hours: HoursOut::from_office(o),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OfficeList {
    pub items: Vec<OfficeOut>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Serialize, ToSchema)]
pub struct TextOut {
    pub fa: String,
    pub en: String,
}

impl From<&LocalizedText> for TextOut {
    fn from(t: &LocalizedText) -> Self {
        Self {
            fa: t.fa.clone(),
            en: t.en.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceOut {
    pub code: String,
    pub title_fa: String,
    pub title_en: String,
    pub agency: String,
    pub category: String,
    pub required_documents: Vec<TextOut>,
    /// Inquiry services of the exchange, such as `civil-registry.person`.
    pub required_inquiries: Vec<String>,
    pub avg_handling_minutes: u16,
    /// counter, online or both.
    pub channel: String,
    /// networked, in_progress or not_started.
    pub digitization: String,
}

impl From<&Service> for ServiceOut {
    fn from(s: &Service) -> Self {
        Self {
            code: s.code.to_string(),
            title_fa: s.title.fa.clone(),
            title_en: s.title.en.clone(),
            agency: s.agency.to_string(),
            category: s.category.code().to_string(),
            required_documents: s.required_documents.iter().map(TextOut::from).collect(),
            required_inquiries: s.required_inquiries.clone(),
            avg_handling_minutes: s.avg_handling_minutes,
            channel: s.channel.code().to_string(),
            digitization: s.digitization.code().to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<ServiceOut>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub username: String,
    pub role: String,
    pub office: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    /// Bearer token for `Authorization: Bearer …`; also set as the session cookie.
    pub token: String,
    pub token_type: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Send as `x-csrf-token` on state-changing API calls authenticated by cookie.
    pub csrf_token: String,
    pub user: UserOut,
}

#[derive(Serialize, ToSchema)]
pub struct StaffOut {
    pub id: i64,
    pub username: String,
    pub national_code: String,
    pub first_name: String,
    pub last_name: String,
    pub mobile: String,
    pub office: Option<String>,
    pub role: String,
    /// invited, active or disabled.
    pub status: String,
}

impl From<&StaffRecord> for StaffOut {
    fn from(r: &StaffRecord) -> Self {
        Self {
            id: r.id,
            username: r.staff.username.to_string(),
            national_code: r.staff.national_code.as_str().to_string(),
            first_name: r.staff.first_name.clone(),
            last_name: r.staff.last_name.clone(),
            mobile: r.staff.mobile.as_str().to_string(),
            office: r.staff.office.map(|o| o.to_string()),
            role: r.staff.role.code().to_string(),
            status: r.status.code().to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StaffCreated {
    #[serde(flatten)]
    pub staff: StaffOut,
    /// One-time link where the new member sets their password.
    pub invitation_url: String,
    /// RFC 3339.
    pub invitation_expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&AuditRecord> for AuditOut {
    fn from(r: &AuditRecord) -> Self {
        Self {
            id: r.id,
            at: rfc3339_ms(r.at_ms),
            actor: r.actor.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            ip: r.ip.clone(),
            request_id: r.request_id.clone(),
            detail: r.detail.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditOut>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationIn {
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationOut {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub office: Option<String>,
    pub expires_at: String,
}

/// An 8-digit office code, as an item of a list. Never built: it documents the items.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(pattern = r"^[1-9][0-9]{7}$")]
pub struct OfficeCodeDoc(String);

/// A catalogue service code, such as PSP-001, as an item of a list. Never built: it documents
/// the items.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
pub struct ServiceCodeDoc(String);

/// The problem document of every error (RFC 9457).
#[derive(Serialize, ToSchema)]
pub struct ProblemOut {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, such as `invalid_national_code`.
    pub code: String,
    pub detail: String,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
}

pub fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
