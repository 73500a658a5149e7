//! Loose input records for offices and services, as they arrive from the API, CSV or JSON
//! files, and their parsing into domain values with errors that name the field at fault.
//!
//! Every field arrives as text (numbers are accepted too), so one parser serves every input
//! format and a bad row is always reported the same way.

use serde::{Deserialize, Deserializer};

use crate::model::{
    AgencyCode, Category, Channel, DayHours, Digitization, FieldError, LocalizedText, Office,
    OfficeCode, OfficeStatus, Service, ServiceCode, WeeklyHours,
};
use crate::{JalaliDate, PostalCode};

/// Longest free-text field accepted (names, addresses, titles).
pub const MAX_TEXT_CHARS: usize = 300;

/// Accepts a JSON string, number or boolean as text; `null` or absence is `None`.
fn loose_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        S(String),
        I(i64),
        F(f64),
        B(bool),
    }
    Ok(Option::<Loose>::deserialize(d)?.map(|v| match v {
        Loose::S(s) => s,
        Loose::I(i) => i.to_string(),
        Loose::F(f) => f.to_string(),
        Loose::B(b) => b.to_string(),
    }))
}

/// A list given either as an array or as one `;`-separated string.
fn loose_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        S(String),
        L(Vec<String>),
    }
    Ok(Option::<Loose>::deserialize(d)?.map(|v| match v {
        Loose::S(s) => split_list(&s),
        Loose::L(l) => l,
    }))
}

/// Documents as an array of `{fa, en}`, or one string of `fa|en` pairs separated by `;`.
fn loose_docs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<LocalizedText>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        S(String),
        L(Vec<LocalizedText>),
    }
    Ok(Option::<Loose>::deserialize(d)?.map(|v| match v {
        Loose::S(s) => split_list(&s)
            .into_iter()
            .map(|pair| match pair.split_once('|') {
                Some((fa, en)) => LocalizedText::new(fa.trim(), en.trim()),
                None => LocalizedText::new(pair.trim(), pair.trim()),
            })
            .collect(),
        Loose::L(l) => l,
    }))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn required(field: &'static str, v: Option<String>) -> Result<String, FieldError> {
    match v.map(|s| s.trim().to_string()) {
        Some(s) if !s.is_empty() => {
            if s.chars().count() > MAX_TEXT_CHARS {
                Err(FieldError::new(
                    field,
                    "too_long",
                    format!("at most {MAX_TEXT_CHARS} characters"),
                ))
            } else {
                crate::plain_text::check_line(field, &s)?;
                Ok(s)
            }
        }
        _ => Err(FieldError::new(
            field,
            "missing_field",
            format!("{field} is required"),
        )),
    }
}

/// A required document's names are shown on one line like a title and are held to the same
/// rules; `required` cannot be used as a document may leave one language empty.
fn check_document(doc: &LocalizedText) -> Result<(), FieldError> {
    const FIELD: &str = "required_documents";
    for text in [&doc.fa, &doc.en] {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(FieldError::new(
                FIELD,
                "too_long",
                format!("at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        crate::plain_text::check_line(FIELD, text)?;
    }
    Ok(())
}

fn number<T: std::str::FromStr>(
    field: &'static str,
    code: &'static str,
    v: Option<String>,
) -> Result<T, FieldError> {
    let s = required(field, v)?;
    crate::digits::to_ascii_digits(&s)
        .parse()
        .map_err(|_| FieldError::new(field, code, format!("{s:?} is not a valid number")))
}

/// An office as submitted. Absent optional fields take the defaults given to [`Self::parse`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeInput {
    #[serde(default, deserialize_with = "loose_text")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub name_fa: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub name_en: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub province: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub city_fa: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub city_en: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub address_fa: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub address_en: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub postal_code: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub lat: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub lon: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub licence_no: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub licence_issued: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub counters: Option<String>,
    /// Seven `;`-separated days, Saturday first, each `HH:MM-HH:MM` or `closed`.
    #[serde(default, deserialize_with = "loose_text")]
    pub hours: Option<String>,
}

/// Values for fields an office submission may leave out.
#[derive(Debug, Clone)]
pub struct OfficeDefaults {
    /// Used when no code is given (the API allocates the next free one).
    pub code: Option<OfficeCode>,
    pub licence_issued: JalaliDate,
}

/// Saturday to Wednesday 07:30–14:30, Thursday 08:00–12:00, Friday closed.
pub fn standard_hours() -> WeeklyHours {
    let full = DayHours::new(7 * 60 + 30, 14 * 60 + 30).ok();
    let thursday = DayHours::new(8 * 60, 12 * 60).ok();
    WeeklyHours([full, full, full, full, full, thursday, None])
}

impl OfficeInput {
    pub fn parse(self, defaults: &OfficeDefaults) -> Result<Office, FieldError> {
        let code = match self
            .code
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(c) => OfficeCode::parse(c).map_err(|e| FieldError { field: "code", ..e })?,
            None => defaults
                .code
                .ok_or_else(|| FieldError::new("code", "missing_field", "code is required"))?,
        };
        let province: u8 = number("province", "invalid_province", self.province)?;
        let status = match self
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => OfficeStatus::parse(s).ok_or_else(|| {
                FieldError::new(
                    "status",
                    "invalid_status",
                    "status is one of active, warned, suspended, revoked",
                )
            })?,
            None => OfficeStatus::Active,
        };
        let hours = match self
            .hours
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(h) => WeeklyHours::parse_compact(h)?,
            None => standard_hours(),
        };
        let licence_issued = match self
            .licence_issued
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(d) => JalaliDate::parse(d).map_err(|e| FieldError {
                field: "licence_issued",
                ..e
            })?,
            None => defaults.licence_issued,
        };
        let postal = required("postal_code", self.postal_code)?;
        let office = Office {
            code,
            name: LocalizedText::new(
                required("name_fa", self.name_fa)?,
                required("name_en", self.name_en)?,
            ),
            province_id: province,
            city: LocalizedText::new(
                required("city_fa", self.city_fa)?,
                required("city_en", self.city_en)?,
            ),
            address: LocalizedText::new(
                required("address_fa", self.address_fa)?,
                required("address_en", self.address_en)?,
            ),
            postal_code: PostalCode::parse(&postal)?,
            phone: crate::digits::to_ascii_digits(&required("phone", self.phone)?),
            lat: number("lat", "invalid_coordinates", self.lat)?,
            lon: number("lon", "invalid_coordinates", self.lon)?,
            licence_no: required("licence_no", self.licence_no)?,
            licence_issued,
            status,
            counters: number("counters", "invalid_counters", self.counters)?,
            hours,
        };
        office.validate()?;
        Ok(office)
    }
}

/// A catalogue service as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    #[serde(default, deserialize_with = "loose_text")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub title_fa: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub title_en: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub agency: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "loose_docs")]
    pub required_documents: Option<Vec<LocalizedText>>,
    #[serde(default, deserialize_with = "loose_list")]
    pub required_inquiries: Option<Vec<String>>,
    #[serde(default, deserialize_with = "loose_text")]
    pub avg_handling_minutes: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "loose_text")]
    pub digitization: Option<String>,
}

impl ServiceInput {
    pub fn parse(self) -> Result<Service, FieldError> {
        let category = required("category", self.category)?;
        let channel = required("channel", self.channel)?;
        let digitization = required("digitization", self.digitization)?;
        let required_documents = self.required_documents.unwrap_or_default();
        for doc in &required_documents {
            check_document(doc)?;
        }
        let service = Service {
            code: ServiceCode::parse(&required("code", self.code)?)?,
            title: LocalizedText::new(
                required("title_fa", self.title_fa)?,
                required("title_en", self.title_en)?,
            ),
            agency: AgencyCode::parse(&required("agency", self.agency)?)?,
            category: Category::parse(&category).ok_or_else(|| {
                FieldError::new(
                    "category",
                    "invalid_category",
                    format!("unknown category {category:?}"),
                )
            })?,
            required_documents,
            required_inquiries: self.required_inquiries.unwrap_or_default(),
            avg_handling_minutes: number(
                "avg_handling_minutes",
                "invalid_handling_minutes",
                self.avg_handling_minutes,
            )?,
            channel: Channel::parse(&channel).ok_or_else(|| {
                FieldError::new(
                    "channel",
                    "invalid_channel",
                    "channel is one of counter, online, both",
                )
            })?,
            digitization: Digitization::parse(&digitization).ok_or_else(|| {
                FieldError::new(
                    "digitization",
                    "invalid_digitization",
                    "digitization is one of networked, in_progress, not_started",
                )
            })?,
        };
        service.validate()?;
        Ok(service)
    }
}
