//! The registry's SQL, shared by both engines: provinces, agencies, offices, services, staff,
//! invitations and the audit log.

use std::collections::HashSet;

use async_trait::async_trait;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::{
    Agency, AgencyCode, Category, Channel, Digitization, LocalizedText, Office, OfficeCode,
    OfficeStatus, Province, Role, Service, ServiceCode, Staff, Username, WeeklyHours,
};
use pishkhan_domain::normalize::normalize_for_search;
use pishkhan_domain::{JalaliDate, Mobile, NationalCode, PostalCode};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::dialect::Dialect;
use crate::sessions::invalidate_sessions;
use crate::sql::{
    AnyTx, Arg, INSERT_BATCH_ROWS, Sql, SqlStore, audit_permit, corrupt, field, insert_rows,
    require, write_audit,
};
use crate::{
    AgencySummary, AuditContext, AuditFilter, AuditRecord, Backend, InvitationInfo, NationLoad,
    NewInvitation, OfficeFilter, Page, PageRequest, ProvinceSummary, RegistryCounts, Result,
    ServiceFilter, SessionInvalidation, StaffRecord, StaffStatus, StoreError,
};

/// Free-text queries use at most this many words.
const MAX_SEARCH_TERMS: usize = 6;

/// `LIKE` needles for a free-text query: normalized words with wildcards escaped.
fn like_terms(q: &str) -> Vec<String> {
    normalize_for_search(q)
        .split(' ')
        .filter(|w| !w.is_empty())
        .take(MAX_SEARCH_TERMS)
        .map(|w| {
            let escaped = w
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        })
        .collect()
}

fn push_like_terms(sql: &mut Sql, column: &str, q: &Option<String>) {
    if let Some(q) = q {
        for term in like_terms(q) {
            sql.push(" AND ").push(column).push(" LIKE ");
            sql.arg(Arg::Text(term)).push(" ESCAPE '\\'");
        }
    }
}

pub(crate) const OFFICE_COLS: &str = "code, name_fa, name_en, province_id, city_fa, city_en, address_fa, \
    address_en, postal_code, phone, lat, lon, licence_no, licence_issued, status, counters, hours";

pub(crate) fn office_from_row(r: &AnyRow) -> Result<Office> {
    let code: i64 = r.try_get("code")?;
    let code = field("office code", OfficeCode::from_u32(code as u32))?;
    let status: String = r.try_get("status")?;
    let province: i64 = r.try_get("province_id")?;
    let counters: i64 = r.try_get("counters")?;
    let hours: String = r.try_get("hours")?;
    Ok(Office {
        code,
        name: LocalizedText::new(
            r.try_get::<String, _>("name_fa")?,
            r.try_get::<String, _>("name_en")?,
        ),
        province_id: province as u8,
        city: LocalizedText::new(
            r.try_get::<String, _>("city_fa")?,
            r.try_get::<String, _>("city_en")?,
        ),
        address: LocalizedText::new(
            r.try_get::<String, _>("address_fa")?,
            r.try_get::<String, _>("address_en")?,
        ),
        postal_code: field(
            "postal code",
            PostalCode::parse(&r.try_get::<String, _>("postal_code")?),
        )?,
        phone: r.try_get("phone")?,
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
        licence_no: r.try_get("licence_no")?,
        licence_issued: field(
            "licence date",
            JalaliDate::parse(&r.try_get::<String, _>("licence_issued")?),
        )?,
        status: OfficeStatus::parse(&status).ok_or_else(|| corrupt("office status", &status))?,
        counters: counters as u16,
        hours: field("hours", WeeklyHours::parse_compact(&hours))?,
    })
}

fn office_search_text(o: &Office) -> String {
    normalize_for_search(&format!(
        "{} {} {} {} {} {} {} {}",
        o.code,
        o.name.fa,
        o.name.en,
        o.city.fa,
        o.city.en,
        o.address.fa,
        o.address.en,
        o.postal_code.as_str()
    ))
}

fn office_args(o: &Office, now_ms: i64) -> Vec<Arg> {
    vec![
        Arg::Int(i64::from(o.code.get())),
        Arg::Text(o.name.fa.clone()),
        Arg::Text(o.name.en.clone()),
        Arg::Int(i64::from(o.province_id)),
        Arg::Text(o.city.fa.clone()),
        Arg::Text(o.city.en.clone()),
        Arg::Text(o.address.fa.clone()),
        Arg::Text(o.address.en.clone()),
        Arg::Text(o.postal_code.as_str().to_string()),
        Arg::Text(o.phone.clone()),
        Arg::Real(o.lat),
        Arg::Real(o.lon),
        Arg::Text(o.licence_no.clone()),
        Arg::Text(o.licence_issued.to_string()),
        Arg::Text(o.status.code().to_string()),
        Arg::Int(i64::from(o.counters)),
        Arg::Text(o.hours.to_compact()),
        Arg::Text(office_search_text(o)),
        Arg::Int(now_ms),
    ]
}

const SERVICE_COLS: &str = "code, title_fa, title_en, agency, category, documents_json, \
    inquiries_json, avg_minutes, channel, digitization";

fn service_from_row(r: &AnyRow) -> Result<Service> {
    let code: String = r.try_get("code")?;
    let agency: String = r.try_get("agency")?;
    let category: String = r.try_get("category")?;
    let channel: String = r.try_get("channel")?;
    let digitization: String = r.try_get("digitization")?;
    let docs: String = r.try_get("documents_json")?;
    let inquiries: String = r.try_get("inquiries_json")?;
    let minutes: i64 = r.try_get("avg_minutes")?;
    Ok(Service {
        code: field("service code", ServiceCode::parse(&code))?,
        title: LocalizedText::new(
            r.try_get::<String, _>("title_fa")?,
            r.try_get::<String, _>("title_en")?,
        ),
        agency: field("agency", AgencyCode::parse(&agency))?,
        category: Category::parse(&category).ok_or_else(|| corrupt("category", &category))?,
        required_documents: serde_json::from_str(&docs).map_err(|e| corrupt("documents", e))?,
        required_inquiries: serde_json::from_str(&inquiries)
            .map_err(|e| corrupt("inquiries", e))?,
        avg_handling_minutes: minutes as u16,
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        digitization: Digitization::parse(&digitization)
            .ok_or_else(|| corrupt("digitization", &digitization))?,
    })
}

fn service_args(s: &Service) -> Result<Vec<Arg>> {
    let search = normalize_for_search(&format!(
        "{} {} {} {}",
        s.code, s.title.fa, s.title.en, s.agency
    ));
    Ok(vec![
        Arg::Text(s.code.as_str().to_string()),
        Arg::Text(s.title.fa.clone()),
        Arg::Text(s.title.en.clone()),
        Arg::Text(s.agency.as_str().to_string()),
        Arg::Text(s.category.code().to_string()),
        Arg::Text(
            serde_json::to_string(&s.required_documents).map_err(|e| corrupt("documents", e))?,
        ),
        Arg::Text(
            serde_json::to_string(&s.required_inquiries).map_err(|e| corrupt("inquiries", e))?,
        ),
        Arg::Int(i64::from(s.avg_handling_minutes)),
        Arg::Text(s.channel.code().to_string()),
        Arg::Text(s.digitization.code().to_string()),
        Arg::Text(search),
    ])
}

const STAFF_COLS: &str = "id, username, national_code, first_name, last_name, mobile, office_code, role, status, created_at_ms";

fn staff_from_row(r: &AnyRow) -> Result<StaffRecord> {
    let role: String = r.try_get("role")?;
    let status: String = r.try_get("status")?;
    let office: Option<i64> = r.try_get("office_code")?;
    Ok(StaffRecord {
        id: r.try_get("id")?,
        staff: Staff {
            username: field(
                "username",
                Username::parse(&r.try_get::<String, _>("username")?),
            )?,
            national_code: field(
                "national code",
                NationalCode::parse(&r.try_get::<String, _>("national_code")?),
            )?,
            first_name: r.try_get("first_name")?,
            last_name: r.try_get("last_name")?,
            mobile: field("mobile", Mobile::parse(&r.try_get::<String, _>("mobile")?))?,
            office: office
                .map(|c| field("office code", OfficeCode::from_u32(c as u32)))
                .transpose()?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        },
        status: StaffStatus::parse(&status).ok_or_else(|| corrupt("staff status", &status))?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

fn staff_args(s: &Staff, status: StaffStatus, now_ms: i64) -> Vec<Arg> {
    vec![
        Arg::Text(s.username.as_str().to_string()),
        Arg::Text(s.national_code.as_str().to_string()),
        Arg::Text(s.first_name.clone()),
        Arg::Text(s.last_name.clone()),
        Arg::Text(s.mobile.as_str().to_string()),
        Arg::OptInt(s.office.map(|o| i64::from(o.get()))),
        Arg::Text(s.role.code().to_string()),
        Arg::Text(status.code().to_string()),
        Arg::Int(now_ms),
    ]
}

const OFFICE_INSERT: &str = "INSERT INTO offices (code, name_fa, name_en, province_id, city_fa, \
    city_en, address_fa, address_en, postal_code, phone, lat, lon, licence_no, licence_issued, \
    status, counters, hours, search_text, created_at_ms) VALUES ";

const SERVICE_INSERT: &str = "INSERT INTO services (code, title_fa, title_en, agency, category, \
    documents_json, inquiries_json, avg_minutes, channel, digitization, search_text) VALUES ";

const SERVICE_UPSERT_TAIL: &str = " ON CONFLICT (code) DO UPDATE SET title_fa = excluded.title_fa, \
    title_en = excluded.title_en, agency = excluded.agency, category = excluded.category, \
    documents_json = excluded.documents_json, inquiries_json = excluded.inquiries_json, \
    avg_minutes = excluded.avg_minutes, channel = excluded.channel, \
    digitization = excluded.digitization, search_text = excluded.search_text";

const STAFF_INSERT: &str = "INSERT INTO staff (username, national_code, first_name, last_name, \
    mobile, office_code, role, status, created_at_ms) VALUES ";

/// Provinces and agencies are fixed reference data: existing rows are kept as they are.
async fn insert_reference(
    tx: &mut AnyTx<'_>,
    dialect: &dyn Dialect,
    provinces: &[Province],
    agencies: &[Agency],
) -> Result<u64> {
    let p = insert_rows(
        tx,
        dialect,
        "INSERT INTO provinces (id, name_fa, name_en, capital_fa, capital_en, population, lat, lon) VALUES ",
        " ON CONFLICT (id) DO NOTHING",
        provinces
            .iter()
            .map(|p| {
                vec![
                    Arg::Int(i64::from(p.id)),
                    Arg::Text(p.name.fa.clone()),
                    Arg::Text(p.name.en.clone()),
                    Arg::Text(p.capital.fa.clone()),
                    Arg::Text(p.capital.en.clone()),
                    Arg::Int(i64::from(p.population)),
                    Arg::Real(p.lat),
                    Arg::Real(p.lon),
                ]
            })
            .collect(),
    )
    .await?;
    let a = insert_rows(
        tx,
        dialect,
        "INSERT INTO agencies (code, name_fa, name_en) VALUES ",
        " ON CONFLICT (code) DO NOTHING",
        agencies
            .iter()
            .map(|a| {
                vec![
                    Arg::Text(a.code.as_str().to_string()),
                    Arg::Text(a.name.fa.clone()),
                    Arg::Text(a.name.en.clone()),
                ]
            })
            .collect(),
    )
    .await?;
    Ok(p + a)
}

/// Refuses offices whose code or licence number is already stored, naming the first clash.
async fn check_new_offices(
    tx: &mut AnyTx<'_>,
    dialect: &dyn Dialect,
    offices: &[Office],
) -> Result<()> {
    let mut seen_codes = HashSet::new();
    let mut seen_licences = HashSet::new();
    for o in offices {
        if !seen_codes.insert(o.code) {
            return Err(StoreError::Conflict {
                what: format!("office {} appears twice", o.code),
            });
        }
        if !seen_licences.insert(o.licence_no.as_str()) {
            return Err(StoreError::Conflict {
                what: format!("licence {} appears twice", o.licence_no),
            });
        }
    }
    for chunk in offices.chunks(INSERT_BATCH_ROWS) {
        let mut sql = Sql::bulk(
            dialect,
            "SELECT code, licence_no FROM offices WHERE code IN (",
        );
        for (i, o) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.arg(Arg::Int(i64::from(o.code.get())));
        }
        sql.push(") OR licence_no IN (");
        for (i, o) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.arg(Arg::Text(o.licence_no.clone()));
        }
        sql.push(")");
        if let Some(row) = sql.query().fetch_optional(&mut **tx).await? {
            let code: i64 = row.try_get("code")?;
            let licence: String = row.try_get("licence_no")?;
            let clash = chunk
                .iter()
                .find(|o| i64::from(o.code.get()) == code)
                .map(|o| format!("office {} already exists", o.code))
                .unwrap_or_else(|| format!("licence {licence} is already in use"));
            return Err(StoreError::Conflict { what: clash });
        }
    }
    Ok(())
}

async fn check_provinces_exist(tx: &mut AnyTx<'_>, offices: &[Office]) -> Result<()> {
    let rows = sqlx::query("SELECT id FROM provinces")
        .fetch_all(&mut **tx)
        .await?;
    let known: HashSet<i64> = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<std::result::Result<_, _>>()?;
    match offices
        .iter()
        .find(|o| !known.contains(&i64::from(o.province_id)))
    {
        Some(o) => Err(StoreError::UnknownReference {
            what: format!("province {}", o.province_id),
        }),
        None => Ok(()),
    }
}

#[async_trait]
impl crate::Registry for SqlStore {
    fn backend(&self) -> Backend {
        self.dialect.backend()
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM offices) + (SELECT COUNT(*) FROM staff) AS n",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? == 0)
    }

    async fn seed_reference_data(
        &self,
        permit: &Permit,
        provinces: &[Province],
        agencies: &[Agency],
        ctx: &AuditContext,
    ) -> Result<u64> {
        require(permit, |a| matches!(a, Action::SeedReferenceData))?;
        let (_turn, mut tx) = self.begin_write().await?;
        let n = insert_reference(&mut tx, &*self.dialect, provinces, agencies).await?;
        if n > 0 {
            audit_permit(
                &mut tx,
                permit,
                "reference",
                serde_json::json!({ "inserted": n }),
                ctx,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn load_nation(
        &self,
        permit: &Permit,
        load: NationLoad<'_>,
        ctx: &AuditContext,
    ) -> Result<()> {
        require(permit, |a| matches!(a, Action::LoadDemo))?;
        let (_turn, mut tx) = self.begin_write().await?;
        let existing = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM offices) + (SELECT COUNT(*) FROM staff) AS n",
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>("n")?;
        if existing > 0 {
            return Err(StoreError::Conflict {
                what: "the database already holds offices or staff".into(),
            });
        }
        insert_reference(&mut tx, &*self.dialect, load.provinces, load.agencies).await?;
        let services = load
            .services
            .iter()
            .map(service_args)
            .collect::<Result<Vec<_>>>()?;
        insert_rows(
            &mut tx,
            &*self.dialect,
            SERVICE_INSERT,
            SERVICE_UPSERT_TAIL,
            services,
        )
        .await?;
        crate::rollups::catalogue_snapshot(&mut tx, crate::rollups::day_of(ctx.now_ms)).await?;
        insert_rows(
            &mut tx,
            &*self.dialect,
            OFFICE_INSERT,
            "",
            load.offices
                .iter()
                .map(|o| office_args(o, ctx.now_ms))
                .collect(),
        )
        .await?;
        insert_rows(
            &mut tx,
            &*self.dialect,
            STAFF_INSERT,
            "",
            load.staff
                .iter()
                .map(|s| staff_args(s, StaffStatus::Invited, ctx.now_ms))
                .collect(),
        )
        .await?;
        for (username, hash) in load.passwords {
            let done = sqlx::query(
                "UPDATE staff SET password_hash = $1, status = 'active' WHERE username = $2",
            )
            .bind(hash.clone())
            .bind(username.as_str().to_string())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::UnknownReference {
                    what: format!("demo login {username}"),
                });
            }
        }
        sqlx::query("INSERT INTO meta (key, value) VALUES ('nation_seed', $1)")
            .bind(load.seed.to_string())
            .execute(&mut *tx)
            .await?;
        audit_permit(
            &mut tx,
            permit,
            "nation",
            serde_json::json!({
                "seed": load.seed,
                "provinces": load.provinces.len(),
                "agencies": load.agencies.len(),
                "services": load.services.len(),
                "offices": load.offices.len(),
                "staff": load.staff.len(),
            }),
            ctx,
        )
        .await?;
        tx.commit().await?;
        self.bookings.references_changed(None);
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn provinces(&self) -> Result<Vec<ProvinceSummary>> {
        let rows = sqlx::query(
            "SELECT p.id, p.name_fa, p.name_en, p.capital_fa, p.capital_en, p.population, p.lat, p.lon, \
             (SELECT COUNT(*) FROM offices o WHERE o.province_id = p.id) AS offices \
             FROM provinces p ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProvinceSummary {
                    province: Province {
                        id: r.try_get::<i64, _>("id")? as u8,
                        name: LocalizedText::new(
                            r.try_get::<String, _>("name_fa")?,
                            r.try_get::<String, _>("name_en")?,
                        ),
                        capital: LocalizedText::new(
                            r.try_get::<String, _>("capital_fa")?,
                            r.try_get::<String, _>("capital_en")?,
                        ),
                        population: r.try_get::<i64, _>("population")? as u32,
                        lat: r.try_get("lat")?,
                        lon: r.try_get("lon")?,
                    },
                    offices: r.try_get::<i64, _>("offices")? as u64,
                })
            })
            .collect()
    }

    async fn agencies(&self) -> Result<Vec<AgencySummary>> {
        let rows = sqlx::query(
            "SELECT a.code, a.name_fa, a.name_en, \
             (SELECT COUNT(*) FROM services s WHERE s.agency = a.code) AS services \
             FROM agencies a ORDER BY a.code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AgencySummary {
                    code: field(
                        "agency",
                        AgencyCode::parse(&r.try_get::<String, _>("code")?),
                    )?,
                    name: LocalizedText::new(
                        r.try_get::<String, _>("name_fa")?,
                        r.try_get::<String, _>("name_en")?,
                    ),
                    services: r.try_get::<i64, _>("services")? as u64,
                })
            })
            .collect()
    }

    async fn offices(&self, filter: &OfficeFilter, page: PageRequest) -> Result<Page<Office>> {
        let build = |select: &str| {
            let mut sql = Sql::new(select);
            sql.push(" FROM offices WHERE 1 = 1");
            if let Some(p) = filter.province {
                sql.push(" AND province_id = ").arg(Arg::Int(i64::from(p)));
            }
            if let Some(s) = filter.status {
                sql.push(" AND status = ")
                    .arg(Arg::Text(s.code().to_string()));
            }
            push_like_terms(&mut sql, "search_text", &filter.q);
            sql
        };
        let total: i64 = build("SELECT COUNT(*) AS n")
            .query()
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let mut sql = build(&format!("SELECT {OFFICE_COLS}"));
        sql.push(" ORDER BY code LIMIT ")
            .arg(Arg::Int(i64::from(page.per_page())))
            .push(" OFFSET ")
            .arg(Arg::Int(page.offset()));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(Page {
            items: rows.iter().map(office_from_row).collect::<Result<_>>()?,
            total: total as u64,
        })
    }

    async fn office(&self, code: OfficeCode) -> Result<Office> {
        let mut sql = Sql::new(&format!("SELECT {OFFICE_COLS} FROM offices WHERE code = "));
        sql.arg(Arg::Int(i64::from(code.get())));
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => office_from_row(&r),
            None => Err(StoreError::NotFound { entity: "office" }),
        }
    }

    async fn services(&self, filter: &ServiceFilter, page: PageRequest) -> Result<Page<Service>> {
        let build = |select: &str| {
            let mut sql = Sql::new(select);
            sql.push(" FROM services WHERE 1 = 1");
            if let Some(a) = &filter.agency {
                sql.push(" AND agency = ")
                    .arg(Arg::Text(a.as_str().to_string()));
            }
            if let Some(d) = filter.digitization {
                sql.push(" AND digitization = ")
                    .arg(Arg::Text(d.code().to_string()));
            }
            if let Some(c) = filter.category {
                sql.push(" AND category = ")
                    .arg(Arg::Text(c.code().to_string()));
            }
            if let Some(c) = filter.channel {
                sql.push(" AND channel = ")
                    .arg(Arg::Text(c.code().to_string()));
            }
            push_like_terms(&mut sql, "search_text", &filter.q);
            sql
        };
        let total: i64 = build("SELECT COUNT(*) AS n")
            .query()
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let mut sql = build(&format!("SELECT {SERVICE_COLS}"));
        sql.push(" ORDER BY code LIMIT ")
            .arg(Arg::Int(i64::from(page.per_page())))
            .push(" OFFSET ")
            .arg(Arg::Int(page.offset()));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(Page {
            items: rows.iter().map(service_from_row).collect::<Result<_>>()?,
            total: total as u64,
        })
    }

    async fn service(&self, code: &ServiceCode) -> Result<Service> {
        let mut sql = Sql::new(&format!(
            "SELECT {SERVICE_COLS} FROM services WHERE code = "
        ));
        sql.arg(Arg::Text(code.as_str().to_string()));
        match sql.query().fetch_optional(&self.pool).await? {
            Some(r) => service_from_row(&r),
            None => Err(StoreError::NotFound { entity: "service" }),
        }
    }

    async fn counts(&self) -> Result<RegistryCounts> {
        let mut c = RegistryCounts::default();
        for r in sqlx::query("SELECT status, COUNT(*) AS n FROM offices GROUP BY status")
            .fetch_all(&self.pool)
            .await?
        {
            let status: String = r.try_get("status")?;
            let n = r.try_get::<i64, _>("n")? as u64;
            let s =
                OfficeStatus::parse(&status).ok_or_else(|| corrupt("office status", &status))?;
            c.offices += n;
            c.offices_by_status.push((s, n));
        }
        c.offices_by_status.sort_by_key(|(s, _)| *s as u8);
        for r in
            sqlx::query("SELECT digitization, COUNT(*) AS n FROM services GROUP BY digitization")
                .fetch_all(&self.pool)
                .await?
        {
            let d: String = r.try_get("digitization")?;
            let n = r.try_get::<i64, _>("n")? as u64;
            let d = Digitization::parse(&d).ok_or_else(|| corrupt("digitization", &d))?;
            c.services += n;
            c.services_by_digitization.push((d, n));
        }
        c.services_by_digitization.sort_by_key(|(d, _)| *d as u8);
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM agencies) AS agencies, (SELECT COUNT(*) FROM staff) AS staff, \
             (SELECT COUNT(*) FROM staff WHERE status = 'active') AS active",
        )
        .fetch_one(&self.pool)
        .await?;
        c.agencies = r.try_get::<i64, _>("agencies")? as u64;
        c.staff = r.try_get::<i64, _>("staff")? as u64;
        c.staff_active = r.try_get::<i64, _>("active")? as u64;
        Ok(c)
    }

    async fn next_office_code(&self) -> Result<OfficeCode> {
        let n: i64 = sqlx::query("SELECT COALESCE(MAX(code), 9999999) + 1 AS n FROM offices")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        OfficeCode::from_u32(n as u32).map_err(|_| StoreError::Conflict {
            what: "office codes are exhausted".into(),
        })
    }

    async fn create_office(
        &self,
        permit: &Permit,
        office: &Office,
        allocate_code: bool,
        ctx: &AuditContext,
    ) -> Result<Office> {
        require(permit, |a| matches!(a, Action::CreateOffice))?;
        let (_turn, mut tx) = self.begin_write().await?;
        let mut office = office.clone();
        if allocate_code {
            // Allocations queue here until the previous one commits.
            self.dialect.lock_office_codes(&mut tx).await?;
            let n: i64 = sqlx::query("SELECT COALESCE(MAX(code), 9999999) + 1 AS n FROM offices")
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            office.code = OfficeCode::from_u32(n as u32).map_err(|_| StoreError::Conflict {
                what: "office codes are exhausted".into(),
            })?;
        }
        let office = &office;
        let one = std::slice::from_ref(office);
        check_provinces_exist(&mut tx, one).await?;
        check_new_offices(&mut tx, &*self.dialect, one).await?;
        insert_rows(
            &mut tx,
            &*self.dialect,
            OFFICE_INSERT,
            "",
            vec![office_args(office, ctx.now_ms)],
        )
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("office:{}", office.code),
            serde_json::json!({ "name": office.name.fa, "province": office.province_id }),
            ctx,
        )
        .await?;
        tx.commit().await?;
        self.bookings.references_changed(Some(office.code));
        Ok(office.clone())
    }

    async fn import_offices(
        &self,
        permit: &Permit,
        offices: &[Office],
        ctx: &AuditContext,
    ) -> Result<u64> {
        require(permit, |a| matches!(a, Action::ImportOffices))?;
        let (_turn, mut tx) = self.begin_write().await?;
        check_provinces_exist(&mut tx, offices).await?;
        check_new_offices(&mut tx, &*self.dialect, offices).await?;
        let n = insert_rows(
            &mut tx,
            &*self.dialect,
            OFFICE_INSERT,
            "",
            offices.iter().map(|o| office_args(o, ctx.now_ms)).collect(),
        )
        .await?;
        audit_permit(
            &mut tx,
            permit,
            "offices",
            serde_json::json!({ "inserted": n }),
            ctx,
        )
        .await?;
        tx.commit().await?;
        self.bookings.references_changed(None);
        Ok(n)
    }

    async fn import_services(
        &self,
        permit: &Permit,
        services: &[Service],
        ctx: &AuditContext,
    ) -> Result<u64> {
        require(permit, |a| matches!(a, Action::ImportServices))?;
        let (_turn, mut tx) = self.begin_write().await?;
        let rows = sqlx::query("SELECT code FROM agencies")
            .fetch_all(&mut *tx)
            .await?;
        let agencies: HashSet<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("code"))
            .collect::<std::result::Result<_, _>>()?;
        if let Some(s) = services
            .iter()
            .find(|s| !agencies.contains(s.agency.as_str()))
        {
            return Err(StoreError::UnknownReference {
                what: format!("agency {} (service {})", s.agency, s.code),
            });
        }
        let mut seen = HashSet::new();
        if let Some(s) = services.iter().find(|s| !seen.insert(&s.code)) {
            return Err(StoreError::Conflict {
                what: format!("service {} appears twice", s.code),
            });
        }
        let rows = services
            .iter()
            .map(service_args)
            .collect::<Result<Vec<_>>>()?;
        let n = insert_rows(
            &mut tx,
            &*self.dialect,
            SERVICE_INSERT,
            SERVICE_UPSERT_TAIL,
            rows,
        )
        .await?;
        audit_permit(
            &mut tx,
            permit,
            "services",
            serde_json::json!({ "upserted": n }),
            ctx,
        )
        .await?;
        crate::rollups::catalogue_snapshot(&mut tx, crate::rollups::day_of(ctx.now_ms)).await?;
        tx.commit().await?;
        // Handling minutes may have changed, and with them every office's capacities.
        self.bookings.references_changed(None);
        Ok(n)
    }

    async fn create_staff(
        &self,
        permit: &Permit,
        staff: &Staff,
        invitation: &NewInvitation,
        ctx: &AuditContext,
    ) -> Result<StaffRecord> {
        require(
            permit,
            |a| matches!(a, Action::CreateStaff { office, role } if *office == staff.office && *role == staff.role),
        )?;
        let (_turn, mut tx) = self.begin_write().await?;
        if let Some(office) = staff.office {
            let found = sqlx::query("SELECT 1 AS one FROM offices WHERE code = $1")
                .bind(i64::from(office.get()))
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::NotFound { entity: "office" });
            }
        }
        insert_rows(
            &mut tx,
            &*self.dialect,
            STAFF_INSERT,
            "",
            vec![staff_args(staff, StaffStatus::Invited, ctx.now_ms)],
        )
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLS} FROM staff WHERE username = $1"
        )))
        .bind(staff.username.as_str().to_string())
        .fetch_one(&mut *tx)
        .await?;
        let record = staff_from_row(&row)?;
        sqlx::query(
            "INSERT INTO invitations (token_hash, staff_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(invitation.token_hash.clone())
        .bind(record.id)
        .bind(ctx.now_ms)
        .bind(invitation.expires_at_ms)
        .execute(&mut *tx)
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("staff:{}", staff.username),
            serde_json::json!({
                "role": staff.role.code(),
                "office": staff.office.map(|o| o.to_string()),
            }),
            ctx,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn deactivate_staff(
        &self,
        permit: &Permit,
        staff_id: i64,
        ctx: &AuditContext,
    ) -> Result<StaffRecord> {
        require(
            permit,
            |a| matches!(a, Action::DeactivateStaff { staff, .. } if *staff == staff_id),
        )?;
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLS} FROM staff WHERE id = $1"
        )))
        .bind(staff_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let _ = tx.rollback().await;
            return Err(StoreError::NotFound { entity: "staff" });
        };
        let mut record = staff_from_row(&row)?;
        // The permit was decided on an office and a role; they must be this member's.
        require(permit, |a| {
            matches!(a, Action::DeactivateStaff { office, role, .. }
                if *office == record.staff.office && *role == record.staff.role)
        })?;
        if record.status == StaffStatus::Disabled {
            let _ = tx.rollback().await;
            return Ok(record);
        }
        sqlx::query("UPDATE staff SET status = 'disabled' WHERE id = $1")
            .bind(staff_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE invitations SET used_at_ms = $1 WHERE staff_id = $2 AND used_at_ms IS NULL",
        )
        .bind(ctx.now_ms)
        .bind(staff_id)
        .execute(&mut *tx)
        .await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
            .bind(staff_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        audit_permit(
            &mut tx,
            permit,
            &format!("staff:{}", record.staff.username),
            serde_json::json!({
                "office": record.staff.office.map(|o| o.to_string()),
                "role": record.staff.role.code(),
                "was": record.status.code(),
                "sessions_ended": ended,
            }),
            ctx,
        )
        .await?;
        invalidate_sessions(&mut tx, &SessionInvalidation::Staff(staff_id), ctx.now_ms).await?;
        tx.commit().await?;
        record.status = StaffStatus::Disabled;
        Ok(record)
    }

    async fn staff_by_username(&self, username: &Username) -> Result<StaffRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLS} FROM staff WHERE username = $1"
        )))
        .bind(username.as_str().to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => staff_from_row(&r),
            None => Err(StoreError::NotFound { entity: "staff" }),
        }
    }

    async fn office_staff(&self, permit: &Permit, office: OfficeCode) -> Result<Vec<StaffRecord>> {
        require(
            permit,
            |a| matches!(a, Action::ViewOfficeStaff { office: o } if *o == office),
        )?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLS} FROM staff WHERE office_code = $1 ORDER BY role, username"
        )))
        .bind(i64::from(office.get()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(staff_from_row).collect()
    }

    async fn invitation(&self, token_hash: &str, now_ms: i64) -> Result<InvitationInfo> {
        let row = sqlx::query(
            "SELECT i.staff_id, i.expires_at_ms, i.used_at_ms, s.username, s.first_name, s.last_name, \
             s.role, s.office_code FROM invitations i JOIN staff s ON s.id = i.staff_id \
             WHERE i.token_hash = $1",
        )
        .bind(token_hash.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { entity: "invitation" })?;
        let used: Option<i64> = row.try_get("used_at_ms")?;
        let expires: i64 = row.try_get("expires_at_ms")?;
        if used.is_some() || expires <= now_ms {
            return Err(StoreError::Expired("invitation"));
        }
        let role: String = row.try_get("role")?;
        let office: Option<i64> = row.try_get("office_code")?;
        Ok(InvitationInfo {
            staff_id: row.try_get("staff_id")?,
            username: field(
                "username",
                Username::parse(&row.try_get::<String, _>("username")?),
            )?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            office: office
                .map(|c| field("office code", OfficeCode::from_u32(c as u32)))
                .transpose()?,
            expires_at_ms: expires,
        })
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        ctx: &AuditContext,
    ) -> Result<Username> {
        let info = self.invitation(token_hash, ctx.now_ms).await?;
        let (_turn, mut tx) = self.begin_write().await?;
        // The conditional update is what makes the link single-use under concurrent clicks.
        let used = sqlx::query(
            "UPDATE invitations SET used_at_ms = $1 WHERE token_hash = $2 AND used_at_ms IS NULL AND expires_at_ms > $1",
        )
        .bind(ctx.now_ms)
        .bind(token_hash.to_string())
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Err(StoreError::Expired("invitation"));
        }
        // Only an invited member: a deactivated one's link must not bring the account back.
        let activated = sqlx::query(
            "UPDATE staff SET password_hash = $1, status = 'active' WHERE id = $2 AND status = 'invited'",
        )
        .bind(password_hash.to_string())
        .bind(info.staff_id)
        .execute(&mut *tx)
        .await?;
        if activated.rows_affected() != 1 {
            let _ = tx.rollback().await;
            return Err(StoreError::Expired("invitation"));
        }
        write_audit(
            &mut tx,
            info.username.as_str(),
            Some(info.staff_id),
            "staff.activate",
            &format!("staff:{}", info.username),
            &serde_json::json!({}),
            ctx,
        )
        .await?;
        tx.commit().await?;
        Ok(info.username)
    }

    async fn office_locations(&self) -> Result<Vec<crate::OfficeLocation>> {
        let rows = sqlx::query(
            "SELECT code, province_id, city_fa, city_en, lat, lon, status FROM offices ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let code: i64 = r.try_get("code")?;
                let province: i64 = r.try_get("province_id")?;
                let status: String = r.try_get("status")?;
                Ok(crate::OfficeLocation {
                    code: OfficeCode::from_u32(code as u32)
                        .map_err(|e| corrupt("office code", e.message))?,
                    province: province as u8,
                    city: LocalizedText::new(
                        r.try_get::<String, _>("city_fa")?,
                        r.try_get::<String, _>("city_en")?,
                    ),
                    lat: r.try_get("lat")?,
                    lon: r.try_get("lon")?,
                    status: OfficeStatus::parse(&status)
                        .ok_or_else(|| corrupt("office status", &status))?,
                })
            })
            .collect()
    }

    async fn set_office_status(
        &self,
        permit: &Permit,
        office: OfficeCode,
        status: OfficeStatus,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<()> {
        require(
            permit,
            |a| matches!(a, Action::ChangeOfficeStatus { office: o } if *o == office),
        )?;
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query("UPDATE offices SET status = $1 WHERE code = $2")
            .bind(status.code())
            .bind(i64::from(office.get()))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            let _ = tx.rollback().await;
            return Err(StoreError::NotFound { entity: "office" });
        }
        audit_permit(
            &mut tx,
            permit,
            &format!("office:{office}"),
            serde_json::json!({ "status": status.code(), "reason": reason }),
            ctx,
        )
        .await?;
        // Its staff's sessions carry the office's status, which their permits are decided on.
        invalidate_sessions(&mut tx, &SessionInvalidation::Office(office), ctx.now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_log(
        &self,
        permit: &Permit,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>> {
        require(permit, |a| matches!(a, Action::ViewAuditLog))?;
        // Two sources, read as one log: audit_log, and the bookings whose own row records
        // their creation (`audit_action` set, migration 0009). A booking's entry has the
        // negated booking number as its id.
        let filtered = |sql: &mut Sql, actor: &str, action: &str| {
            if let Some(a) = &filter.actor {
                sql.push(" AND ")
                    .push(actor)
                    .push(" = ")
                    .arg(Arg::Text(a.clone()));
            }
            if let Some(a) = &filter.action {
                sql.push(" AND ")
                    .push(action)
                    .push(" = ")
                    .arg(Arg::Text(a.clone()));
            }
        };
        let mut count = Sql::new("SELECT (SELECT COUNT(*) FROM audit_log WHERE 1 = 1");
        filtered(&mut count, "actor", "action");
        count.push(") + (SELECT COUNT(*) FROM bookings WHERE audit_action IS NOT NULL");
        filtered(&mut count, "created_by", "audit_action");
        count.push(") AS n");
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut sql = Sql::new(
            "SELECT id, at_ms, actor, action, target, ip, request_id, detail_json, \
             NULL AS b_office, NULL AS b_service, NULL AS b_slot FROM audit_log WHERE 1 = 1",
        );
        filtered(&mut sql, "actor", "action");
        sql.push(
            " UNION ALL SELECT -seq, created_at_ms, created_by, audit_action, tracking_code, \
             client_ip, request_id, NULL, office_code, service_code, slot_start_ms \
             FROM bookings WHERE audit_action IS NOT NULL",
        );
        filtered(&mut sql, "created_by", "audit_action");
        sql.push(" ORDER BY at_ms DESC, id DESC LIMIT ")
            .arg(Arg::Int(i64::from(page.per_page())))
            .push(" OFFSET ")
            .arg(Arg::Int(page.offset()));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let target: String = r.try_get("target")?;
                let (target, detail) = if id < 0 {
                    // The detail a booking's creation wrote to audit_log before 0009.
                    let office: i64 = r.try_get("b_office")?;
                    let office = OfficeCode::from_u32(office as u32)
                        .map_err(|e| corrupt("booking office", e))?;
                    let detail = serde_json::json!({
                        "office": office.to_string(),
                        "service": r.try_get::<String, _>("b_service")?,
                        "slot_start_ms": r.try_get::<i64, _>("b_slot")?,
                    });
                    (format!("booking:{target}"), detail)
                } else {
                    let detail: String = r.try_get("detail_json")?;
                    let detail =
                        serde_json::from_str(&detail).map_err(|e| corrupt("audit detail", e))?;
                    (target, detail)
                };
                Ok(AuditRecord {
                    id,
                    at_ms: r.try_get("at_ms")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target,
                    ip: r.try_get("ip")?,
                    request_id: r.try_get("request_id")?,
                    detail,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page {
            items,
            total: total as u64,
        })
    }
}
