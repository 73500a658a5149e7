//! The registry model: provinces, agencies, the service catalogue, offices and staff.
//!
//! These are domain types, not API types: the HTTP layer maps them to its own response
//! structs so that a change here never silently changes the public contract.

use std::fmt;

use crate::{JalaliDate, Mobile, NationalCode, PostalCode};

/// A string shown to people, in both UI languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocalizedText {
    pub fa: String,
    pub en: String,
}

impl LocalizedText {
    pub fn new(fa: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            fa: fa.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fa => &self.fa,
            Lang::En => &self.en,
        }
    }
}

/// The two UI languages. Persian is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Lang {
    #[default]
    Fa,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fa => "fa",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fa" => Some(Lang::Fa),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// One of Iran's 31 provinces, numbered 1..=31 in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub struct Province {
    pub id: u8,
    pub name: LocalizedText,
    pub capital: LocalizedText,
    /// Population (2016 census), used to spread offices.
    pub population: u32,
    pub lat: f64,
    pub lon: f64,
}

/// Why a field of a domain value was rejected. `code` is stable and reaches API clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

/// An 8-digit office code, 10000000..=99999999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfficeCode(u32);

impl OfficeCode {
    pub const MIN: u32 = 10_000_000;
    pub const MAX: u32 = 99_999_999;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let ascii = crate::digits::to_ascii_digits(s.trim());
        if ascii.len() != 8 || !ascii.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "office",
                "invalid_office_code",
                "an office code is exactly 8 digits",
            ));
        }
        let n: u32 = ascii
            .parse()
            .map_err(|_| FieldError::new("office", "invalid_office_code", "not a number"))?;
        Self::from_u32(n)
    }

    pub fn from_u32(n: u32) -> Result<Self, FieldError> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(FieldError::new(
                "office",
                "invalid_office_code",
                "an office code is exactly 8 digits and does not start with 0",
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for OfficeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08}", self.0)
    }
}

/// Licence state of an office. Only `Active` and `Warned` offices may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfficeStatus {
    Active,
    Warned,
    Suspended,
    Revoked,
}

impl OfficeStatus {
    pub const ALL: [OfficeStatus; 4] = [
        OfficeStatus::Active,
        OfficeStatus::Warned,
        OfficeStatus::Suspended,
        OfficeStatus::Revoked,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OfficeStatus::Active => "active",
            OfficeStatus::Warned => "warned",
            OfficeStatus::Suspended => "suspended",
            OfficeStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == s)
    }

    pub fn label(self) -> LocalizedText {
        match self {
            OfficeStatus::Active => LocalizedText::new("فعال", "Active"),
            OfficeStatus::Warned => LocalizedText::new("اخطار گرفته", "Warned"),
            OfficeStatus::Suspended => LocalizedText::new("تعلیق", "Suspended"),
            OfficeStatus::Revoked => LocalizedText::new("لغو مجوز", "Revoked"),
        }
    }

    /// Whether staff of an office in this state may act on the network.
    pub fn may_use_network(self) -> bool {
        matches!(self, OfficeStatus::Active | OfficeStatus::Warned)
    }
}

/// Days of the Iranian week, Saturday first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    Saturday,
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Saturday,
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];

    /// 0 for Saturday through 6 for Friday.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn label(self) -> LocalizedText {
        match self {
            Weekday::Saturday => LocalizedText::new("شنبه", "Saturday"),
            Weekday::Sunday => LocalizedText::new("یکشنبه", "Sunday"),
            Weekday::Monday => LocalizedText::new("دوشنبه", "Monday"),
            Weekday::Tuesday => LocalizedText::new("سه‌شنبه", "Tuesday"),
            Weekday::Wednesday => LocalizedText::new("چهارشنبه", "Wednesday"),
            Weekday::Thursday => LocalizedText::new("پنجشنبه", "Thursday"),
            Weekday::Friday => LocalizedText::new("جمعه", "Friday"),
        }
    }
}

/// Opening time of one day, in minutes after local midnight (Asia/Tehran).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayHours {
    pub open_min: u16,
    pub close_min: u16,
}

impl DayHours {
    pub fn new(open_min: u16, close_min: u16) -> Result<Self, FieldError> {
        if open_min >= close_min || close_min > 24 * 60 {
            return Err(FieldError::new(
                "hours",
                "invalid_hours",
                "opening time must be before closing time, within one day",
            ));
        }
        Ok(Self {
            open_min,
            close_min,
        })
    }

    /// "08:00-14:00".
    pub fn to_hhmm(self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.open_min / 60,
            self.open_min % 60,
            self.close_min / 60,
            self.close_min % 60
        )
    }

    pub fn parse_hhmm(s: &str) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                "hours",
                "invalid_hours",
                format!("expected HH:MM-HH:MM, got {s:?}"),
            )
        };
        let ascii = crate::digits::to_ascii_digits(s.trim());
        let (a, b) = ascii.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Result<u16, FieldError> {
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            let h: u16 = h.parse().map_err(|_| bad())?;
            let m: u16 = m.parse().map_err(|_| bad())?;
            if h > 24 || m > 59 || (h == 24 && m > 0) {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        Self::new(minutes(a)?, minutes(b)?)
    }
}

/// Opening hours for each day of the week, Saturday first; `None` is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyHours(pub [Option<DayHours>; 7]);

impl WeeklyHours {
    pub fn day(&self, d: Weekday) -> Option<DayHours> {
        self.0[d.index()]
    }

    /// The compact text form used in storage and CSV: seven `;`-separated entries, Saturday
    /// first, each `HH:MM-HH:MM` or `closed`.
    pub fn to_compact(&self) -> String {
        self.0
            .iter()
            .map(|d| d.map_or_else(|| "closed".to_string(), DayHours::to_hhmm))
            .collect::<Vec<_>>()
            .join(";")
    }

    pub fn parse_compact(s: &str) -> Result<Self, FieldError> {
        let parts: Vec<&str> = s.split(';').collect();
        if parts.len() != 7 {
            return Err(FieldError::new(
                "hours",
                "invalid_hours",
                "hours need seven ';'-separated days, Saturday first",
            ));
        }
        let mut days = [None; 7];
        for (slot, part) in days.iter_mut().zip(parts) {
            let part = part.trim();
            if part != "closed" && !part.is_empty() {
                *slot = Some(DayHours::parse_hhmm(part)?);
            }
        }
        Ok(Self(days))
    }
}

/// A counter office (daftar-e pishkhan).
#[derive(Debug, Clone, PartialEq)]
pub struct Office {
    pub code: OfficeCode,
    pub name: LocalizedText,
    pub province_id: u8,
    pub city: LocalizedText,
    pub address: LocalizedText,
    pub postal_code: PostalCode,
    pub phone: String,
    pub lat: f64,
    pub lon: f64,
    pub licence_no: String,
    pub licence_issued: JalaliDate,
    pub status: OfficeStatus,
    pub counters: u16,
    pub hours: WeeklyHours,
}

impl Office {
    /// Checks the cross-field rules that the parsed field types cannot express alone.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=31).contains(&self.province_id) {
            return Err(FieldError::new(
                "province",
                "invalid_province",
                "province must be 1..=31",
            ));
        }
        if self.name.fa.trim().is_empty() {
            return Err(FieldError::new(
                "name_fa",
                "missing_field",
                "a Persian name is required",
            ));
        }
        if self.name.en.trim().is_empty() {
            return Err(FieldError::new(
                "name_en",
                "missing_field",
                "an English name is required",
            ));
        }
        if self.city.fa.trim().is_empty() {
            return Err(FieldError::new(
                "city_fa",
                "missing_field",
                "a city is required",
            ));
        }
        if !(24.0..=40.5).contains(&self.lat) || !(44.0..=63.5).contains(&self.lon) {
            return Err(FieldError::new(
                "coordinates",
                "invalid_coordinates",
                "coordinates must lie within Iran",
            ));
        }
        if !(1..=200).contains(&self.counters) {
            return Err(FieldError::new(
                "counters",
                "invalid_counters",
                "counters must be 1..=200",
            ));
        }
        validate_phone(&self.phone)?;
        if self.licence_no.trim().is_empty() || self.licence_no.len() > 32 {
            return Err(FieldError::new(
                "licence_no",
                "invalid_licence_no",
                "a licence number of 1..=32 characters is required",
            ));
        }
        Ok(())
    }
}

/// An Iranian landline: area code and number, digits with an optional single dash,
/// such as `021-88776655`.
pub fn validate_phone(phone: &str) -> Result<(), FieldError> {
    let digits: String = phone.chars().filter(|c| *c != '-').collect();
    let ok = digits.len() == 11
        && digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && phone.matches('-').count() <= 1;
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "phone",
            "invalid_phone",
            "a phone is 11 digits starting with 0, such as 021-88776655",
        ))
    }
}

/// A short lowercase code naming an agency, such as `nocr` or `police`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyCode(String);

impl AgencyCode {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let ok = (2..=24).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && s.as_bytes()[0].is_ascii_lowercase();
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(FieldError::new(
                "agency",
                "invalid_agency_code",
                "an agency code is 2..=24 lowercase letters, digits or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A government agency that owns services and answers inquiries.
#[derive(Debug, Clone, PartialEq)]
pub struct Agency {
    pub code: AgencyCode,
    pub name: LocalizedText,
}

/// A catalogue service code: 3..=24 uppercase letters, digits or '-', such as `PSP-001`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceCode(String);

impl ServiceCode {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = crate::digits::to_ascii_digits(s.trim()).to_ascii_uppercase();
        let ok = (3..=24).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            && s.as_bytes()[0].is_ascii_uppercase();
        if ok {
            Ok(Self(s))
        } else {
            Err(FieldError::new(
                "code",
                "invalid_service_code",
                "a service code is 3..=24 letters, digits or '-', starting with a letter",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a service can be obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Counter,
    Online,
    Both,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Counter, Channel::Online, Channel::Both];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Counter => "counter",
            Channel::Online => "online",
            Channel::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == s.trim())
    }

    pub fn label(self) -> LocalizedText {
        match self {
            Channel::Counter => LocalizedText::new("حضوری در دفتر", "At the counter"),
            Channel::Online => LocalizedText::new("برخط", "Online"),
            Channel::Both => LocalizedText::new("حضوری و برخط", "Counter and online"),
        }
    }
}

/// How far a service has been connected to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Digitization {
    Networked,
    InProgress,
    NotStarted,
}

impl Digitization {
    pub const ALL: [Digitization; 3] = [
        Digitization::Networked,
        Digitization::InProgress,
        Digitization::NotStarted,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Digitization::Networked => "networked",
            Digitization::InProgress => "in_progress",
            Digitization::NotStarted => "not_started",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == s.trim())
    }

    pub fn label(self) -> LocalizedText {
        match self {
            Digitization::Networked => LocalizedText::new("شبکه‌ای شده", "Networked"),
            Digitization::InProgress => {
                LocalizedText::new("زیرساخت در دست اجرا", "Infrastructure in progress")
            }
            Digitization::NotStarted => LocalizedText::new("آغاز نشده", "Not started"),
        }
    }
}

/// Broad grouping of catalogue services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Identity,
    Travel,
    Vehicle,
    Postal,
    Tax,
    SocialSecurity,
    Judicial,
    Property,
    Business,
    Utilities,
    Education,
    Health,
    Military,
    Welfare,
}

impl Category {
    pub const ALL: [Category; 14] = [
        Category::Identity,
        Category::Travel,
        Category::Vehicle,
        Category::Postal,
        Category::Tax,
        Category::SocialSecurity,
        Category::Judicial,
        Category::Property,
        Category::Business,
        Category::Utilities,
        Category::Education,
        Category::Health,
        Category::Military,
        Category::Welfare,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Travel => "travel",
            Category::Vehicle => "vehicle",
            Category::Postal => "postal",
            Category::Tax => "tax",
            Category::SocialSecurity => "social_security",
            Category::Judicial => "judicial",
            Category::Property => "property",
            Category::Business => "business",
            Category::Utilities => "utilities",
            Category::Education => "education",
            Category::Health => "health",
            Category::Military => "military",
            Category::Welfare => "welfare",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == s.trim())
    }

    pub fn label(self) -> LocalizedText {
        let (fa, en) = match self {
            Category::Identity => ("هویتی و ثبت احوال", "Identity and civil registration"),
            Category::Travel => ("گذرنامه و سفر", "Passport and travel"),
            Category::Vehicle => ("خودرو و راهنمایی و رانندگی", "Vehicles and traffic"),
            Category::Postal => ("پستی", "Postal"),
            Category::Tax => ("مالیاتی", "Tax"),
            Category::SocialSecurity => ("بیمه و تأمین اجتماعی", "Insurance and social security"),
            Category::Judicial => ("قضایی", "Judicial"),
            Category::Property => ("املاک و ثبت اسناد", "Property and deeds"),
            Category::Business => ("کسب‌وکار و مجوزها", "Business and licences"),
            Category::Utilities => ("آب، برق، گاز و مخابرات", "Utilities and telecom"),
            Category::Education => ("آموزشی", "Education"),
            Category::Health => ("سلامت", "Health"),
            Category::Military => ("نظام وظیفه", "Military service"),
            Category::Welfare => ("حمایتی و یارانه", "Welfare and subsidies"),
        };
        LocalizedText::new(fa, en)
    }
}

/// One entry of the national service catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub code: ServiceCode,
    pub title: LocalizedText,
    pub agency: AgencyCode,
    pub category: Category,
    pub required_documents: Vec<LocalizedText>,
    /// Inquiry services of the exchange this service needs, such as `civil-registry.person`.
    pub required_inquiries: Vec<String>,
    pub avg_handling_minutes: u16,
    pub channel: Channel,
    pub digitization: Digitization,
}

impl Service {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.title.fa.trim().is_empty() {
            return Err(FieldError::new(
                "title_fa",
                "missing_field",
                "a Persian title is required",
            ));
        }
        if self.title.en.trim().is_empty() {
            return Err(FieldError::new(
                "title_en",
                "missing_field",
                "an English title is required",
            ));
        }
        if !(1..=480).contains(&self.avg_handling_minutes) {
            return Err(FieldError::new(
                "avg_handling_minutes",
                "invalid_handling_minutes",
                "average handling time must be 1..=480 minutes",
            ));
        }
        if self.required_documents.len() > 20 || self.required_inquiries.len() > 20 {
            return Err(FieldError::new(
                "required_documents",
                "too_many_items",
                "at most 20 documents and 20 inquiries",
            ));
        }
        for inq in &self.required_inquiries {
            let ok = (3..=64).contains(&inq.len())
                && inq.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !ok {
                return Err(FieldError::new(
                    "required_inquiries",
                    "invalid_inquiry_name",
                    format!("{inq:?} is not an inquiry name such as civil-registry.person"),
                ));
            }
        }
        Ok(())
    }
}

/// What a member of staff may do; see [`crate::access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Regulator,
    Manager,
    Operator,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Regulator, Role::Manager, Role::Operator];

    pub fn code(self) -> &'static str {
        match self {
            Role::Regulator => "regulator",
            Role::Manager => "manager",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == s.trim())
    }

    pub fn label(self) -> LocalizedText {
        match self {
            Role::Regulator => LocalizedText::new("ناظر ملی", "Regulator"),
            Role::Manager => LocalizedText::new("مدیر دفتر", "Office manager"),
            Role::Operator => LocalizedText::new("کارور", "Operator"),
        }
    }
}

/// A sign-in name: 3..=32 of `a-z 0-9 . _ -`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_lowercase();
        let ok = (3..=32).contains(&s.len())
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(s))
        } else {
            Err(FieldError::new(
                "username",
                "invalid_username",
                "a username is 3..=32 of a-z, 0-9, '.', '_' or '-', starting with a letter",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member of staff. Regulators belong to no office; everyone else to exactly one.
#[derive(Debug, Clone, PartialEq)]
pub struct Staff {
    pub username: Username,
    pub national_code: NationalCode,
    pub first_name: String,
    pub last_name: String,
    pub mobile: Mobile,
    pub office: Option<OfficeCode>,
    pub role: Role,
}

impl Staff {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.first_name.trim().is_empty() || self.first_name.chars().count() > 64 {
            return Err(FieldError::new(
                "first_name",
                "invalid_name",
                "a first name of 1..=64 characters is required",
            ));
        }
        if self.last_name.trim().is_empty() || self.last_name.chars().count() > 64 {
            return Err(FieldError::new(
                "last_name",
                "invalid_name",
                "a last name of 1..=64 characters is required",
            ));
        }
        crate::plain_text::check_line("first_name", &self.first_name)?;
        crate::plain_text::check_line("last_name", &self.last_name)?;
        match (self.role, self.office) {
            (Role::Regulator, Some(_)) => Err(FieldError::new(
                "office",
                "office_not_allowed",
                "regulators belong to no office",
            )),
            (Role::Manager | Role::Operator, None) => Err(FieldError::new(
                "office",
                "missing_field",
                "office staff need an office",
            )),
            _ => Ok(()),
        }
    }
}
