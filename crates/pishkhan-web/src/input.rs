//! Input both adapters (the JSON API and the pages) parse the same way: paging, list filters,
//! office codes and the new-staff record. Parsing lives here once, so an error reads the same
//! wherever the input came from.

use pishkhan_domain::model::{
    AgencyCode, Category, Channel, Digitization, OfficeCode, OfficeStatus, Role,
    Staff as StaffModel, Username,
};
use pishkhan_domain::{Mobile, NationalCode};
use pishkhan_store::{AuditFilter, OfficeFilter, PageRequest, ServiceFilter};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use pishkhan_app::AppError;

/// Parses `page` and `per_page`, refusing values over the cap rather than clamping them.
pub fn page_request(page: Option<&str>, per_page: Option<&str>) -> Result<PageRequest, ApiError> {
    let parse = |v: Option<&str>,
                 default: u32,
                 field: &'static str,
                 code: &'static str|
     -> Result<u32, ApiError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => pishkhan_domain::digits::to_ascii_digits(s)
                .parse::<u32>()
                .map_err(|_| {
                    ApiError::invalid(
                        code,
                        field,
                        format!("{field} must be a positive whole number"),
                    )
                }),
        }
    };
    let page = parse(page, 1, "page", "invalid_page")?;
    let per_page = parse(per_page, 20, "per_page", "invalid_page_size")?;
    Ok(PageRequest::new(page, per_page)?)
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfficeQuery {
    /// Free text: name, city, address or code. Persian spelling variants match.
    pub q: Option<String>,
    /// Province id, 1..=31.
    #[param(pattern = r"^([1-9]|[12][0-9]|3[01])$")]
    pub province: Option<String>,
    /// active, warned, suspended or revoked.
    #[param(pattern = r"^(active|warned|suspended|revoked)$")]
    pub status: Option<String>,
    #[param(pattern = r"^([1-9][0-9]{0,5}|1000000)$")]
    pub page: Option<String>,
    /// 1..=100, default 20.
    #[param(pattern = r"^([1-9]|[1-9][0-9]|100)$")]
    pub per_page: Option<String>,
}

impl OfficeQuery {
    pub fn filter(&self) -> Result<OfficeFilter, ApiError> {
        let province = match non_empty(&self.province) {
            None => None,
            Some(p) => {
                let n: u8 = pishkhan_domain::digits::to_ascii_digits(p)
                    .parse()
                    .ok()
                    .filter(|n| (1..=31).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("invalid_province", "province", "province must be 1..=31")
                    })?;
                Some(n)
            }
        };
        let status = match non_empty(&self.status) {
            None => None,
            Some(s) => Some(OfficeStatus::parse(s).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_status",
                    "status",
                    "status is one of active, warned, suspended, revoked",
                )
            })?),
        };
        Ok(OfficeFilter {
            q: non_empty(&self.q).map(|q| q.chars().take(100).collect()),
            province,
            status,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// Free text: code or title. Persian spelling variants match.
    pub q: Option<String>,
    /// Agency code, such as `nocr`.
    #[param(pattern = r"^[a-z][a-z0-9-]{1,23}$")]
    pub agency: Option<String>,
    #[param(
        pattern = r"^(identity|travel|vehicle|postal|tax|social_security|judicial|property|business|utilities|education|health|military|welfare)$"
    )]
    pub category: Option<String>,
    /// networked, in_progress or not_started.
    #[param(pattern = r"^(networked|in_progress|not_started)$")]
    pub digitization: Option<String>,
    /// counter, online or both.
    #[param(pattern = r"^(counter|online|both)$")]
    pub channel: Option<String>,
    #[param(pattern = r"^([1-9][0-9]{0,5}|1000000)$")]
    pub page: Option<String>,
    /// 1..=100, default 20.
    #[param(pattern = r"^([1-9]|[1-9][0-9]|100)$")]
    pub per_page: Option<String>,
}

impl ServiceQuery {
    pub fn filter(&self) -> Result<ServiceFilter, ApiError> {
        Ok(ServiceFilter {
            q: non_empty(&self.q).map(|q| q.chars().take(100).collect()),
            agency: non_empty(&self.agency).map(AgencyCode::parse).transpose()?,
            category: non_empty(&self.category)
                .map(|c| {
                    Category::parse(c).ok_or_else(|| {
                        ApiError::invalid("invalid_category", "category", "unknown category")
                    })
                })
                .transpose()?,
            digitization: non_empty(&self.digitization)
                .map(|d| {
                    Digitization::parse(d).ok_or_else(|| {
                        ApiError::invalid(
                            "invalid_digitization",
                            "digitization",
                            "digitization is one of networked, in_progress, not_started",
                        )
                    })
                })
                .transpose()?,
            channel: non_empty(&self.channel)
                .map(|c| {
                    Channel::parse(c).ok_or_else(|| {
                        ApiError::invalid(
                            "invalid_channel",
                            "channel",
                            "channel is one of counter, online, both",
                        )
                    })
                })
                .transpose()?,
        })
    }
}

pub fn parse_office_code(code: &str) -> Result<OfficeCode, ApiError> {
    OfficeCode::parse(code).map_err(|_| ApiError::App(AppError::NotFound("office")))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor name, such as `regulator` or `system:demo`.
    pub actor: Option<String>,
    /// Exact action, such as `staff.create` or `auth.login`.
    pub action: Option<String>,
    #[param(pattern = r"^([1-9][0-9]{0,5}|1000000)$")]
    pub page: Option<String>,
    #[param(pattern = r"^([1-9]|[1-9][0-9]|100)$")]
    pub per_page: Option<String>,
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(64).collect())
        };
        AuditFilter {
            actor: clean(&self.actor),
            action: clean(&self.action),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffIn {
    #[schema(pattern = r"^[0-9]{10}$")]
    pub national_code: String,
    pub first_name: String,
    pub last_name: String,
    /// Any usual form: 0912…, +98912…, 98912…, Persian digits.
    #[schema(pattern = r"^(\+98|0098|98|0)?9[0-9]{9}$")]
    pub mobile: String,
    /// 8-digit office code; omit (or leave empty) for a regulator.
    #[schema(pattern = r"^([1-9][0-9]{7})?$")]
    pub office: Option<String>,
    /// regulator, manager or operator.
    #[schema(pattern = r"^(regulator|manager|operator)$")]
    pub role: String,
    /// Defaults to `u` followed by the national code.
    pub username: Option<String>,
}

impl NewStaffIn {
    pub fn parse(self) -> Result<StaffModel, ApiError> {
        let national_code = NationalCode::parse(&self.national_code)?;
        let role = Role::parse(&self.role).ok_or_else(|| {
            ApiError::invalid(
                "invalid_role",
                "role",
                "role is one of regulator, manager, operator",
            )
        })?;
        let office = self
            .office
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(OfficeCode::parse)
            .transpose()?;
        let username = match self
            .username
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(u) => Username::parse(u)?,
            None => Username::parse(&format!("u{}", national_code.as_str()))?,
        };
        Ok(StaffModel {
            username,
            national_code,
            first_name: self.first_name.trim().to_string(),
            last_name: self.last_name.trim().to_string(),
            mobile: Mobile::parse(&self.mobile)?,
            office,
            role,
        })
    }
}
