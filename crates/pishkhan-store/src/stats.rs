//! Statistics for both stores: grouped reads over the supervision rollups (see `rollups.rs`),
//! citizens' reports, sanctions and bookings by service. The SQL is plain enough to run
//! unchanged on SQLite and PostgreSQL.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::ServiceCode;
use sqlx::Row;

use crate::Result;
use crate::areas::{DayStats, RollupFilter, Stats, StatsWindow};
use crate::rollups::{stats_from_row, sums};
use crate::sql::{Arg, Sql, SqlStore, corrupt, field};

/// Sanction rows one read returns, at most.
const MAX_SANCTION_ROWS: i64 = 200_000;

fn count(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|e| corrupt("count", e))
}

/// `FROM bookings b` joined to offices when a province is asked for, and the window's filter
/// on `column` (the slot's start or the booking's creation).
fn bookings_where(sql: &mut Sql, window: &StatsWindow, column: &str) {
    sql.push(" FROM bookings b");
    if window.province.is_some() {
        sql.push(" JOIN offices o ON o.code = b.office_code");
    }
    sql.push(" WHERE b.")
        .push(column)
        .push(" >= ")
        .arg(Arg::Int(window.from_ms))
        .push(" AND b.")
        .push(column)
        .push(" < ")
        .arg(Arg::Int(window.to_ms));
    if let Some(p) = window.province {
        sql.push(" AND o.province_id = ")
            .arg(Arg::Int(i64::from(p)));
    }
}

/// The filter's days on `alias.day`, and its province (on `province_col`) or office.
fn rollup_where(sql: &mut Sql, f: &RollupFilter, alias: &str, province_col: Option<&str>) {
    sql.push(" WHERE ")
        .push(alias)
        .push(".day >= ")
        .arg(Arg::Text(f.from.to_string()))
        .push(" AND ")
        .push(alias)
        .push(".day <= ")
        .arg(Arg::Text(f.to.to_string()));
    if let (Some(p), Some(col)) = (f.province, province_col) {
        sql.push(" AND ")
            .push(col)
            .push(" = ")
            .arg(Arg::Int(i64::from(p)));
    }
}

/// Tehran's day bounds of the filter, as Unix milliseconds `[from, to)`.
fn filter_ms(f: &RollupFilter) -> (i64, i64) {
    (
        pishkhan_domain::tehran::day_bounds_ms(f.from).0,
        pishkhan_domain::tehran::day_bounds_ms(f.to).1,
    )
}

#[async_trait]
impl Stats for SqlStore {
    async fn rollup_days(&self, f: &RollupFilter) -> Result<Vec<DayStats>> {
        // An office's days come from its own rows; otherwise the province rows (31 a day)
        // are summed, never the 17,000 office rows.
        let mut sql = Sql::new(&format!("SELECT 0 AS id, s.day, {} ", sums()));
        match f.office {
            Some(o) => {
                sql.push("FROM office_day_stats s");
                rollup_where(&mut sql, f, "s", None);
                sql.push(" AND s.office_code = ")
                    .arg(Arg::Int(i64::from(o.get())));
            }
            None => {
                sql.push("FROM province_day_stats s");
                rollup_where(&mut sql, f, "s", Some("s.province_id"));
            }
        }
        sql.push(" GROUP BY s.day ORDER BY s.day");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(|r| stats_from_row(r, "id")).collect()
    }

    async fn rollup_provinces(&self, f: &RollupFilter) -> Result<Vec<DayStats>> {
        let mut sql = Sql::new(&format!(
            "SELECT s.province_id AS id, MIN(s.day) AS day, {} ",
            sums()
        ));
        match f.office {
            // One office's own rows, under its province.
            Some(o) => {
                sql.push(
                    "FROM (SELECT t.*, o.province_id FROM office_day_stats t \
                     JOIN offices o ON o.code = t.office_code WHERE t.office_code = ",
                );
                sql.arg(Arg::Int(i64::from(o.get()))).push(") s");
            }
            None => {
                sql.push("FROM province_day_stats s");
            }
        }
        rollup_where(&mut sql, f, "s", Some("s.province_id"));
        sql.push(" GROUP BY s.province_id ORDER BY s.province_id");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let mut d = stats_from_row(r, "id")?;
                d.day = f.from;
                Ok(d)
            })
            .collect()
    }

    async fn rollup_agencies(&self, f: &RollupFilter) -> Result<Vec<(String, u64)>> {
        let mut sql = Sql::new(
            "SELECT s.agency, CAST(SUM(s.lookups) AS BIGINT) AS n FROM agency_day_stats s",
        );
        rollup_where(&mut sql, f, "s", Some("s.province_id"));
        sql.push(" GROUP BY s.agency ORDER BY n DESC, s.agency");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("agency")?, count(r.try_get("n")?)?)))
            .collect()
    }

    async fn reports_by_category(&self, f: &RollupFilter) -> Result<Vec<(String, u64)>> {
        let (from_ms, to_ms) = filter_ms(f);
        let mut sql = Sql::new("SELECT r.category, COUNT(*) AS n FROM office_reports r");
        if f.province.is_some() {
            sql.push(" JOIN offices o ON o.code = r.office_code");
        }
        sql.push(" WHERE r.created_at_ms >= ")
            .arg(Arg::Int(from_ms))
            .push(" AND r.created_at_ms < ")
            .arg(Arg::Int(to_ms));
        if let Some(p) = f.province {
            sql.push(" AND o.province_id = ")
                .arg(Arg::Int(i64::from(p)));
        }
        if let Some(o) = f.office {
            sql.push(" AND r.office_code = ")
                .arg(Arg::Int(i64::from(o.get())));
        }
        sql.push(" GROUP BY r.category ORDER BY n DESC, r.category");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("category")?, count(r.try_get("n")?)?)))
            .collect()
    }

    async fn sanctions_by_day(&self, f: &RollupFilter) -> Result<Vec<(JalaliDate, String, u64)>> {
        let (from_ms, to_ms) = filter_ms(f);
        let mut sql = Sql::new("SELECT s.kind, s.created_at_ms FROM office_sanctions s");
        if f.province.is_some() {
            sql.push(" JOIN offices o ON o.code = s.office_code");
        }
        sql.push(" WHERE s.created_at_ms >= ")
            .arg(Arg::Int(from_ms))
            .push(" AND s.created_at_ms < ")
            .arg(Arg::Int(to_ms));
        if let Some(p) = f.province {
            sql.push(" AND o.province_id = ")
                .arg(Arg::Int(i64::from(p)));
        }
        sql.push(" ORDER BY s.created_at_ms LIMIT ")
            .arg(Arg::Int(MAX_SANCTION_ROWS));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let mut out: std::collections::BTreeMap<(JalaliDate, String), u64> = Default::default();
        for r in &rows {
            let day = crate::rollups::day_of(r.try_get("created_at_ms")?);
            *out.entry((day, r.try_get("kind")?)).or_default() += 1;
        }
        Ok(out.into_iter().map(|((d, k), n)| (d, k, n)).collect())
    }

    async fn catalogue_days(
        &self,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, String, u64)>> {
        let rows = sqlx::query(
            "SELECT day, digitization, services FROM catalogue_days \
             WHERE day <= $2 AND day >= COALESCE( \
               (SELECT MAX(day) FROM catalogue_days WHERE day < $1), $1) \
             ORDER BY day, digitization",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    field(
                        "catalogue day",
                        JalaliDate::parse(&r.try_get::<String, _>("day")?),
                    )?,
                    r.try_get("digitization")?,
                    count(r.try_get("services")?)?,
                ))
            })
            .collect()
    }

    async fn load_history(
        &self,
        permit: &Permit,
        days: &[DayStats],
        agencies: &[(JalaliDate, u8, String, u64)],
    ) -> Result<()> {
        crate::sql::require(permit, |a| matches!(a, Action::LoadDemo))?;
        let positional = self.dialect.positional_params();
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = crate::rollups::load_history(&mut tx, positional, days, agencies).await;
        crate::bookings::finish(tx, outcome).await
    }

    async fn rebuild_rollups(&self) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = crate::rollups::rebuild_on(&mut tx, crate::sql::now_ms()).await;
        crate::bookings::finish(tx, outcome).await
    }

    async fn bookings_by_service(&self, window: &StatsWindow) -> Result<Vec<(ServiceCode, u64)>> {
        let mut sql = Sql::new("SELECT b.service_code AS service, COUNT(*) AS n");
        bookings_where(&mut sql, window, "created_at_ms");
        sql.push(" AND b.status <> 'cancelled' GROUP BY b.service_code ORDER BY b.service_code");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let code = field(
                    "booking service",
                    ServiceCode::parse(&r.try_get::<String, _>("service")?),
                )?;
                Ok((code, count(r.try_get("n")?)?))
            })
            .collect()
    }
}
