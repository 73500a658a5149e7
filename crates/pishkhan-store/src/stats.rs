//! Statistics for both stores: grouped reads over bookings, the queue's day figures and the
//! exchange log. The SQL is plain enough to run unchanged on SQLite and PostgreSQL.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::ServiceCode;
use sqlx::Row;

use crate::Result;
use crate::areas::{
    Capped, DayBookings, FigureRow, MAX_FIGURE_ROWS, MAX_LOG_ENTRIES, Stats, StatsWindow,
};
use crate::sql::{Arg, Sql, SqlStore, corrupt, field};

/// Tehran is UTC+03:30 all year since 2022; a slot's Tehran day is its shifted Unix day.
const TEHRAN_OFFSET_MS: i64 = 12_600_000;
const DAY_MS: i64 = 86_400_000;

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

#[async_trait]
impl Stats for SqlStore {
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

    async fn bookings_by_day(&self, window: &StatsWindow) -> Result<Vec<DayBookings>> {
        let mut sql = Sql::new("SELECT (b.slot_start_ms + ");
        sql.push(&TEHRAN_OFFSET_MS.to_string())
            .push(") / ")
            .push(&DAY_MS.to_string())
            .push(
                " AS tday, \
                 SUM(CASE WHEN b.status <> 'cancelled' THEN 1 ELSE 0 END) AS booked, \
                 SUM(CASE WHEN b.status = 'completed' THEN 1 ELSE 0 END) AS completed, \
                 SUM(CASE WHEN b.status = 'no_show' THEN 1 ELSE 0 END) AS no_shows",
            );
        bookings_where(&mut sql, window, "slot_start_ms");
        sql.push(" GROUP BY tday ORDER BY tday");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(DayBookings {
                    tehran_day: r.try_get("tday")?,
                    booked: count(r.try_get("booked")?)?,
                    completed: count(r.try_get("completed")?)?,
                    no_shows: count(r.try_get("no_shows")?)?,
                })
            })
            .collect()
    }

    async fn figures_between(
        &self,
        from: JalaliDate,
        to: JalaliDate,
        province: Option<u8>,
    ) -> Result<Capped<FigureRow>> {
        // Jalali dates stored as YYYY-MM-DD compare as text in calendar order.
        let mut sql = Sql::new(
            "SELECT f.office_code, o.province_id, f.day, f.figures_json \
             FROM office_day_figures f JOIN offices o ON o.code = f.office_code WHERE f.day >= ",
        );
        sql.arg(Arg::Text(from.to_string()))
            .push(" AND f.day <= ")
            .arg(Arg::Text(to.to_string()));
        if let Some(p) = province {
            sql.push(" AND o.province_id = ")
                .arg(Arg::Int(i64::from(p)));
        }
        sql.push(" ORDER BY f.day, f.office_code LIMIT ")
            .arg(Arg::Int(MAX_FIGURE_ROWS as i64 + 1));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let truncated = rows.len() as u64 > MAX_FIGURE_ROWS;
        let rows = rows
            .iter()
            .take(MAX_FIGURE_ROWS as usize)
            .map(|r| {
                Ok(FigureRow {
                    office: u32::try_from(r.try_get::<i64, _>("office_code")?)
                        .map_err(|e| corrupt("office code", e))?,
                    province: u8::try_from(r.try_get::<i64, _>("province_id")?)
                        .map_err(|e| corrupt("province id", e))?,
                    day: field(
                        "figures day",
                        JalaliDate::parse(&r.try_get::<String, _>("day")?),
                    )?,
                    figures_json: r.try_get("figures_json")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Capped { rows, truncated })
    }

    async fn exchange_entries_between(&self, window: &StatsWindow) -> Result<Capped<Vec<u8>>> {
        let rows = sqlx::query(
            "SELECT entry FROM exchange_log_entries WHERE at_ms >= $1 AND at_ms < $2 \
             ORDER BY idx DESC LIMIT $3",
        )
        .bind(window.from_ms)
        .bind(window.to_ms)
        .bind(MAX_LOG_ENTRIES as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        let truncated = rows.len() as u64 > MAX_LOG_ENTRIES;
        let rows = rows
            .iter()
            .take(MAX_LOG_ENTRIES as usize)
            .map(|r| Ok(r.try_get::<Vec<u8>, _>("entry")?))
            .collect::<Result<Vec<_>>>()?;
        Ok(Capped { rows, truncated })
    }
}
