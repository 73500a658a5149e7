//! The reference directory: the four reference agencies, the inquiry services they answer and
//! the access rights a demo (or test) deployment gives offices. Moved here from
//! `pishkhan-exchange`, which only knows directories in general.

use std::collections::BTreeMap;

use pishkhan_exchange::{
    AccessRight, ClientSelector, DirectoryConfig, InquiryService, Limits, Member, MemberId,
    MemberKey, MemberKind, MemberStatus, ServiceId,
};
use pishkhan_protocol::Service;
use serde_json::{Value, json};

/// The agencies of the reference services (`pishkhan-agency` serves them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceAgency {
    /// National Organization for Civil Registration: `civil-registry.person`.
    CivilRegistry,
    /// Communications Regulatory Authority (Shahkar): `mobile.ownership`.
    Cra,
    /// Iran Post: `postal.address`, `postal.address-match`.
    Post,
    /// Traffic police: `traffic.fines`.
    TrafficPolice,
}

impl ReferenceAgency {
    pub const ALL: [ReferenceAgency; 4] = [
        ReferenceAgency::CivilRegistry,
        ReferenceAgency::Cra,
        ReferenceAgency::Post,
        ReferenceAgency::TrafficPolice,
    ];

    /// `agency:sabt`, `agency:cra`, `agency:post`, `agency:police`.
    pub fn member_id(self) -> MemberId {
        let id = match self {
            ReferenceAgency::CivilRegistry => "agency:sabt",
            ReferenceAgency::Cra => "agency:cra",
            ReferenceAgency::Post => "agency:post",
            ReferenceAgency::TrafficPolice => "agency:police",
        };
        MemberId::parse(id).expect("reference member ids are valid")
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            ReferenceAgency::CivilRegistry => (
                "سازمان ثبت احوال کشور",
                "National Organization for Civil Registration",
            ),
            ReferenceAgency::Cra => (
                "سازمان تنظیم مقررات و ارتباطات رادیویی",
                "Communications Regulatory Authority",
            ),
            ReferenceAgency::Post => ("شرکت ملی پست", "Iran Post"),
            ReferenceAgency::TrafficPolice => ("پلیس راهور فراجا", "FARAJA Traffic Police"),
        }
    }

    /// The reference services this agency answers.
    pub fn services(self) -> &'static [Service] {
        use Service as S;
        match self {
            ReferenceAgency::CivilRegistry => &[S::CivilRegistryPerson],
            ReferenceAgency::Cra => &[S::MobileOwnership],
            ReferenceAgency::Post => &[S::PostalAddress, S::PostalAddressMatch],
            ReferenceAgency::TrafficPolice => &[S::TrafficFines],
        }
    }

    /// The agency answering a reference service.
    pub fn of(service: Service) -> ReferenceAgency {
        *ReferenceAgency::ALL
            .iter()
            .find(|a| a.services().contains(&service))
            .expect("every reference service has an agency")
    }
}

/// The directory service id of a reference service (its [`Service::name`]).
pub fn reference_service_id(service: Service) -> ServiceId {
    ServiceId::parse(service.name()).expect("reference service names are valid ids")
}

/// One reference agency's deployment.
#[derive(Debug, Clone)]
pub struct ReferenceAgencySpec {
    pub agency: ReferenceAgency,
    /// `http(s)://host[:port]`.
    pub base_url: String,
    pub keys: Vec<MemberKey>,
}

/// What [`reference_directory`] needs to know.
#[derive(Debug, Clone)]
pub struct ReferenceParams {
    /// The central exchange's member id (kind `exchange`), such as `exchange:central`.
    pub exchange: MemberId,
    pub exchange_keys: Vec<MemberKey>,
    /// The agencies deployed; services of agencies not given are left out.
    pub agencies: Vec<ReferenceAgencySpec>,
    /// For each reference service id, the catalogue service codes that need it (canonical,
    /// such as `SR001`). A service not listed gets an empty list: no catalogue service may use
    /// it until the regulator says which may.
    pub required_by: BTreeMap<ServiceId, Vec<String>>,
    pub limits: Limits,
}

fn string(max: u64) -> Value {
    json!({"type": "string", "maxLength": max})
}

fn identifier() -> Value {
    // Identifiers arrive in any form the domain parsers take (Persian digits, separators,
    // +98); the agency canonicalises them. The bound is generous but finite.
    json!({"type": "string", "minLength": 1, "maxLength": 32})
}

struct ReferenceService {
    request: Value,
    response: Value,
    keep_bodies: bool,
    yes_no: bool,
    subject_field: Option<&'static str>,
    cache_ttl_ms: u64,
    description_fa: &'static str,
    description_en: &'static str,
}

fn reference_service(service: Service) -> ReferenceService {
    use Service as S;
    let yes_no_answer = json!({
        "type": "object",
        "required": ["match"],
        "properties": {"match": {"type": "boolean"}}
    });
    match service {
        S::CivilRegistryPerson => ReferenceService {
            request: json!({
                "type": "object",
                "required": ["national_code"],
                "additionalProperties": false,
                "properties": {"national_code": identifier()}
            }),
            response: json!({
                "type": "object",
                "required": ["found", "national_code"],
                "properties": {
                    "found": {"type": "boolean"},
                    "national_code": string(10),
                    "first_name": string(64),
                    "last_name": string(64),
                    "father_name": string(64),
                    "birth_date": string(10),
                    "birth_place": string(64),
                    "gender": {"type": "string", "enum": ["male", "female"]},
                    "card_serial": string(10),
                    "card_status": {"type": "string", "enum": ["valid", "lost", "revoked"]},
                    "alive": {"type": "boolean"}
                }
            }),
            keep_bodies: false,
            yes_no: false,
            subject_field: Some("national_code"),
            cache_ttl_ms: 60_000,
            description_fa: "استعلام هویت از ثبت احوال با کد ملی",
            description_en: "Identity inquiry from the civil registry by national code",
        },
        S::MobileOwnership => ReferenceService {
            request: json!({
                "type": "object",
                "required": ["national_code", "mobile"],
                "additionalProperties": false,
                "properties": {"national_code": identifier(), "mobile": identifier()}
            }),
            response: yes_no_answer,
            keep_bodies: true,
            yes_no: true,
            subject_field: Some("national_code"),
            cache_ttl_ms: 0,
            description_fa: "استعلام تطابق مالکیت سیم‌کارت با کد ملی (شاهکار)",
            description_en: "Does this mobile number belong to this national code (Shahkar)",
        },
        S::PostalAddress => ReferenceService {
            request: json!({
                "type": "object",
                "required": ["postal_code"],
                "additionalProperties": false,
                "properties": {"postal_code": identifier()}
            }),
            response: json!({
                "type": "object",
                "required": ["found", "postal_code"],
                "properties": {
                    "found": {"type": "boolean"},
                    "postal_code": string(10),
                    "address_fa": string(400),
                    "address_en": string(400),
                    "province": string(64),
                    "province_en": string(64),
                    "city": string(64),
                    "city_en": string(64)
                }
            }),
            keep_bodies: false,
            yes_no: false,
            subject_field: None,
            cache_ttl_ms: 3_600_000,
            description_fa: "استعلام نشانی با کد پستی",
            description_en: "Address inquiry by postal code",
        },
        S::PostalAddressMatch => ReferenceService {
            request: json!({
                "type": "object",
                "required": ["postal_code", "national_code"],
                "additionalProperties": false,
                "properties": {"postal_code": identifier(), "national_code": identifier()}
            }),
            response: yes_no_answer,
            keep_bodies: true,
            yes_no: true,
            subject_field: Some("national_code"),
            cache_ttl_ms: 600_000,
            description_fa: "استعلام تطابق کد پستی با نشانی ثبت‌شده‌ی شخص",
            description_en: "Is this postal code the person's registered address",
        },
        S::TrafficFines => ReferenceService {
            request: json!({
                "type": "object",
                "required": ["national_code"],
                "additionalProperties": false,
                "properties": {"national_code": identifier()}
            }),
            response: json!({
                "type": "object",
                "required": ["found", "national_code", "balance_rials", "plates"],
                "properties": {
                    "found": {"type": "boolean"},
                    "national_code": string(10),
                    "balance_rials": {"type": "integer", "minimum": 0},
                    "plates": {"type": "integer", "minimum": 0, "maximum": 255}
                }
            }),
            keep_bodies: true,
            yes_no: false,
            subject_field: Some("national_code"),
            cache_ttl_ms: 0,
            description_fa: "استعلام خلافی خودرو با کد ملی",
            description_en: "Unpaid traffic fines by national code",
        },
    }
}

/// Builds the standard directory of the reference agencies: the exchange, each deployed
/// agency with its services (request and response schemas, caching, what the log keeps), and
/// an access right per service for every active office, limited to the catalogue services in
/// [`ReferenceParams::required_by`]. The regulator signs the result.
pub fn reference_directory(params: &ReferenceParams) -> DirectoryConfig {
    let mut members = vec![Member {
        id: params.exchange.clone(),
        kind: MemberKind::Exchange,
        name_fa: "پیشخوان مرکزی".to_owned(),
        name_en: "Pishkhan central exchange".to_owned(),
        status: MemberStatus::Active,
        base_url: None,
        keys: params.exchange_keys.clone(),
    }];
    let mut services = Vec::new();
    let mut rights = Vec::new();
    for spec in &params.agencies {
        let (name_fa, name_en) = spec.agency.names();
        let agency = spec.agency.member_id();
        members.push(Member {
            id: agency.clone(),
            kind: MemberKind::Agency,
            name_fa: name_fa.to_owned(),
            name_en: name_en.to_owned(),
            status: MemberStatus::Active,
            base_url: Some(spec.base_url.clone()),
            keys: spec.keys.clone(),
        });
        for &service in spec.agency.services() {
            let id = reference_service_id(service);
            let r = reference_service(service);
            let allowed_attributes = r
                .response
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            rights.push(AccessRight {
                service: id.clone(),
                client: ClientSelector::AllActiveOffices,
                allowed_attributes,
                required_by: params.required_by.get(&id).cloned().unwrap_or_default(),
            });
            services.push(InquiryService {
                id,
                agency: agency.clone(),
                path: service.path().to_owned(),
                idempotent: true,
                request_schema: r.request,
                response_schema: r.response,
                keep_bodies: r.keep_bodies,
                yes_no: r.yes_no,
                subject_field: r.subject_field.map(str::to_owned),
                cache_ttl_ms: r.cache_ttl_ms,
                description_fa: r.description_fa.to_owned(),
                description_en: r.description_en.to_owned(),
            });
        }
    }
    DirectoryConfig {
        members,
        services,
        rights,
        limits: params.limits,
    }
}
