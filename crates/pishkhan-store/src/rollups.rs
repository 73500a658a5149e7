//! The supervision read model (migration 0019): per office and day, per province and day, and
//! per province, agency and day, the counts the compliance rules and the dashboard read.
//!
//! **Invariant:** every row equals what a rebuild from the raw rows ([`rebuild`]) gives. Each
//! event moves its rows in its own transaction through [`bump`]: the province row by the same
//! amount as the office row, so the two levels never disagree. The queue's figures are
//! recomputed state rather than events, so [`queue_figures`] bumps by the difference from
//! what the office row held.

use std::collections::{BTreeMap, HashMap};

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::OfficeCode;
use pishkhan_domain::tehran::jalali_day_of_ms;
use serde_json::Value;
use sqlx::Row;

use crate::Result;
use crate::areas::DayStats;
use crate::sql::{Arg, Sql, corrupt, field};

/// A counted column of `office_day_stats` and `province_day_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Bookings,
    Visits,
    BookedVisits,
    WalkIns,
    NoShows,
    Completed,
    WaitSumS,
    Waited,
    Lookups,
    Payments,
    PaidRials,
    Reports,
    Ratings,
    RatingSum,
}

pub(crate) const COLS: [Col; 14] = [
    Col::Bookings,
    Col::Visits,
    Col::BookedVisits,
    Col::WalkIns,
    Col::NoShows,
    Col::Completed,
    Col::WaitSumS,
    Col::Waited,
    Col::Lookups,
    Col::Payments,
    Col::PaidRials,
    Col::Reports,
    Col::Ratings,
    Col::RatingSum,
];

/// The columns the queue's day figures set.
const QUEUE_COLS: [Col; 8] = [
    Col::Bookings,
    Col::Visits,
    Col::BookedVisits,
    Col::WalkIns,
    Col::NoShows,
    Col::Completed,
    Col::WaitSumS,
    Col::Waited,
];

impl Col {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Col::Bookings => "bookings",
            Col::Visits => "visits",
            Col::BookedVisits => "booked_visits",
            Col::WalkIns => "walk_ins",
            Col::NoShows => "no_shows",
            Col::Completed => "completed",
            Col::WaitSumS => "wait_sum_s",
            Col::Waited => "waited",
            Col::Lookups => "lookups",
            Col::Payments => "payments",
            Col::PaidRials => "paid_rials",
            Col::Reports => "reports",
            Col::Ratings => "ratings",
            Col::RatingSum => "rating_sum",
        }
    }

    fn index(self) -> usize {
        COLS.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// Amounts to add to one office's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delta {
    pub office: OfficeCode,
    pub day: JalaliDate,
    pub values: [i64; COLS.len()],
    /// Exchange lookups by answering agency (their sum is in `values`).
    pub agencies: Vec<(String, i64)>,
}

impl Delta {
    pub(crate) fn new(office: OfficeCode, day: JalaliDate) -> Self {
        Self {
            office,
            day,
            values: [0; COLS.len()],
            agencies: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, col: Col, n: i64) -> Self {
        self.values[col.index()] += n;
        self
    }

    fn is_zero(&self) -> bool {
        self.values.iter().all(|v| *v == 0) && self.agencies.iter().all(|(_, n)| *n == 0)
    }
}

/// How multi-row statements are written: placeholders, and rows per statement.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// `?` placeholders (SQLite's cheaper style for long statements) rather than `$N`.
    positional: bool,
    rows: usize,
}

/// An event's few rows.
const SMALL: Style = Style {
    positional: false,
    rows: 50,
};

/// A load's many rows: 500 rows of 16 values stay far under either engine's parameter limit
/// (32,766 for SQLite, 65,535 for PostgreSQL), and each statement's overhead is shared.
fn bulk(positional: bool) -> Style {
    Style {
        positional,
        rows: 500,
    }
}

fn upsert_head(table: &str, keys: &[&str], cols: &[Col]) -> String {
    let mut s = format!("INSERT INTO {table} (");
    s.push_str(&keys.join(", "));
    for c in cols {
        s.push_str(", ");
        s.push_str(c.name());
    }
    s.push_str(") VALUES ");
    s
}

fn upsert_tail(table: &str, keys: &[&str], cols: &[Col]) -> String {
    let mut s = format!(" ON CONFLICT ({}) DO UPDATE SET ", keys.join(", "));
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let n = c.name();
        s.push_str(&format!("{n} = {table}.{n} + excluded.{n}"));
    }
    s
}

/// Adds `deltas` to their offices' rows, their provinces' rows and their agencies' rows.
/// Offices not in the registry (an exchange member that is no office) are left out.
pub(crate) async fn bump(conn: &mut sqlx::AnyConnection, deltas: &[Delta]) -> Result<()> {
    let deltas: Vec<&Delta> = deltas.iter().filter(|d| !d.is_zero()).collect();
    if deltas.is_empty() {
        return Ok(());
    }
    let mut codes: Vec<i64> = deltas.iter().map(|d| i64::from(d.office.get())).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut provinces: HashMap<i64, i64> = HashMap::with_capacity(codes.len());
    for chunk in codes.chunks(500) {
        let mut sql = Sql::new("SELECT code, province_id FROM offices WHERE code IN (");
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.arg(Arg::Int(*c));
        }
        sql.push(")");
        for r in sql.query().fetch_all(&mut *conn).await? {
            provinces.insert(r.try_get("code")?, r.try_get("province_id")?);
        }
    }

    let mut offices: BTreeMap<(i64, String), [i64; COLS.len()]> = BTreeMap::new();
    let mut by_province: BTreeMap<(i64, String), [i64; COLS.len()]> = BTreeMap::new();
    let mut by_agency: BTreeMap<(String, i64, String), i64> = BTreeMap::new();
    for d in deltas {
        let code = i64::from(d.office.get());
        let Some(&province) = provinces.get(&code) else {
            continue;
        };
        let day = d.day.to_string();
        for (key, map) in [
            ((code, day.clone()), &mut offices),
            ((province, day.clone()), &mut by_province),
        ] {
            let row = map.entry(key).or_insert([0; COLS.len()]);
            for (acc, v) in row.iter_mut().zip(d.values) {
                *acc += v;
            }
        }
        for (agency, n) in &d.agencies {
            *by_agency
                .entry((day.clone(), province, agency.clone()))
                .or_default() += n;
        }
    }
    for (table, keys, rows) in [
        ("office_day_stats", ["office_code", "day"], &offices),
        ("province_day_stats", ["province_id", "day"], &by_province),
    ] {
        let rows: Vec<_> = rows
            .iter()
            .map(|((id, day), v)| (*id, day.as_str(), v))
            .collect();
        add_rows(conn, SMALL, table, keys, &rows).await?;
    }
    let rows: Vec<_> = by_agency
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|((day, province, agency), n)| (day.as_str(), *province, agency.as_str(), *n))
        .collect();
    add_agency_rows(conn, SMALL, "agency_day_stats", &rows).await
}

/// Adds `rows` (id, day, values in [`COLS`] order) to `table`, or inserts them.
async fn add_rows(
    conn: &mut sqlx::AnyConnection,
    style: Style,
    table: &str,
    keys: [&str; 2],
    rows: &[(i64, &str, &[i64; COLS.len()])],
) -> Result<()> {
    write_rows(conn, style, table, keys, rows, true).await
}

/// Writes `rows` into `table`: added to the rows already there when `add`, otherwise plain
/// inserts, where a row already there is an error.
async fn write_rows(
    conn: &mut sqlx::AnyConnection,
    style: Style,
    table: &str,
    keys: [&str; 2],
    rows: &[(i64, &str, &[i64; COLS.len()])],
    add: bool,
) -> Result<()> {
    for chunk in rows.chunks(style.rows) {
        let head = upsert_head(table, &keys, &COLS);
        let mut sql = Sql::styled(style.positional, &head);
        for (i, (id, day, values)) in chunk.iter().enumerate() {
            sql.push(if i > 0 { ", (" } else { "(" });
            sql.arg(Arg::Int(*id))
                .push(", ")
                .arg(Arg::Text(day.to_string()));
            for v in values.iter() {
                sql.push(", ").arg(Arg::Int(*v));
            }
            sql.push(")");
        }
        if add {
            sql.push(&upsert_tail(table, &keys, &COLS));
        }
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds `rows` (day, province, agency, lookups) to `table`, or inserts them.
async fn add_agency_rows(
    conn: &mut sqlx::AnyConnection,
    style: Style,
    table: &str,
    rows: &[(&str, i64, &str, i64)],
) -> Result<()> {
    for chunk in rows.chunks(style.rows * 4) {
        let head = format!("INSERT INTO {table} (day, province_id, agency, lookups) VALUES ");
        let mut sql = Sql::styled(style.positional, &head);
        for (i, (day, province, agency, n)) in chunk.iter().enumerate() {
            sql.push(if i > 0 { ", (" } else { "(" });
            sql.arg(Arg::Text(day.to_string()))
                .push(", ")
                .arg(Arg::Int(*province))
                .push(", ")
                .arg(Arg::Text(agency.to_string()))
                .push(", ")
                .arg(Arg::Int(*n))
                .push(")");
        }
        sql.push(&format!(
            " ON CONFLICT (day, province_id, agency) DO UPDATE SET \
             lookups = {table}.lookups + excluded.lookups"
        ));
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Loads days of history (office rows, and lookups per province and agency) into the
/// history tables and adds them to the rollups, in the caller's transaction. A day already
/// loaded for an office is a conflict: history is loaded once.
pub(crate) async fn load_history(
    conn: &mut sqlx::AnyConnection,
    positional: bool,
    days: &[DayStats],
    agencies: &[(JalaliDate, u8, String, u64)],
) -> Result<()> {
    let mut provinces: HashMap<i64, i64> = HashMap::new();
    for r in sqlx::query("SELECT code, province_id FROM offices")
        .fetch_all(&mut *conn)
        .await?
    {
        provinces.insert(r.try_get("code")?, r.try_get("province_id")?);
    }
    let mut rows = Vec::with_capacity(days.len());
    let mut by_province: BTreeMap<(i64, String), [i64; COLS.len()]> = BTreeMap::new();
    let day_texts: Vec<String> = days.iter().map(|d| d.day.to_string()).collect();
    for (d, day) in days.iter().zip(&day_texts) {
        let code = i64::from(d.id);
        let province =
            *provinces
                .get(&code)
                .ok_or_else(|| crate::StoreError::UnknownReference {
                    what: format!("history of office {code}, which is not in the registry"),
                })?;
        let values = values_of(d)?;
        let row = by_province
            .entry((province, day.clone()))
            .or_insert([0; COLS.len()]);
        for (acc, v) in row.iter_mut().zip(values) {
            *acc += v;
        }
        rows.push((code, day.as_str(), values));
    }
    let office_rows: Vec<_> = rows.iter().map(|(c, d, v)| (*c, *d, v)).collect();
    // The history rows' primary key refuses a second load of an office's day.
    let style = bulk(positional);
    write_rows(
        conn,
        style,
        "history_office_days",
        ["office_code", "day"],
        &office_rows,
        false,
    )
    .await?;
    add_rows(
        conn,
        style,
        "office_day_stats",
        ["office_code", "day"],
        &office_rows,
    )
    .await?;
    let province_rows: Vec<_> = by_province
        .iter()
        .map(|((id, day), v)| (*id, day.as_str(), v))
        .collect();
    add_rows(
        conn,
        style,
        "province_day_stats",
        ["province_id", "day"],
        &province_rows,
    )
    .await?;
    let agency_days: Vec<String> = agencies.iter().map(|a| a.0.to_string()).collect();
    let mut agency_rows = Vec::with_capacity(agencies.len());
    for ((_, p, agency, n), day) in agencies.iter().zip(&agency_days) {
        let n = i64::try_from(*n).map_err(|e| corrupt("history lookups", e))?;
        agency_rows.push((day.as_str(), i64::from(*p), agency.as_str(), n));
    }
    add_agency_rows(conn, style, "history_agency_days", &agency_rows).await?;
    add_agency_rows(conn, style, "agency_day_stats", &agency_rows).await
}

fn values_of(d: &DayStats) -> Result<[i64; COLS.len()]> {
    let all = [
        d.bookings,
        d.visits,
        d.booked_visits,
        d.walk_ins,
        d.no_shows,
        d.completed,
        d.wait_sum_s,
        d.waited,
        d.lookups,
        d.payments,
        d.paid_rials,
        d.reports,
        d.ratings,
        d.rating_sum,
    ];
    let mut out = [0; COLS.len()];
    for (o, v) in out.iter_mut().zip(all) {
        *o = i64::try_from(v).map_err(|e| corrupt("history figure", e))?;
    }
    Ok(out)
}

fn figure(f: &Value, name: &str) -> i64 {
    f.get(name).and_then(Value::as_i64).unwrap_or(0).max(0)
}

/// The queue columns of one office's day from the queue's figures (`DailyFigures` as JSON):
/// visits are booked arrivals (on time or late) and walk-ins; the wait sum is the mean wait
/// weighted by those visits, as the dashboard has always weighted it.
fn queue_values(f: &Value) -> [i64; QUEUE_COLS.len()] {
    let booked = figure(f, "check_ins") + figure(f, "late_arrivals");
    let visits = booked + figure(f, "walk_ins");
    let (wait_sum, waited) = match f.get("avg_wait_s").and_then(Value::as_i64) {
        Some(w) if visits > 0 => (w.max(0).saturating_mul(visits), visits),
        _ => (0, 0),
    };
    [
        figure(f, "bookings"),
        visits,
        booked,
        figure(f, "walk_ins"),
        figure(f, "no_shows"),
        figure(f, "completed"),
        wait_sum,
        waited,
    ]
}

/// Sets the queue columns of `office` on `day` to what `figures` say, moving the province by
/// the same difference.
pub(crate) async fn queue_figures(
    conn: &mut sqlx::AnyConnection,
    office: OfficeCode,
    day: JalaliDate,
    figures: &Value,
) -> Result<()> {
    let mut select = String::from("SELECT ");
    select.push_str(
        &QUEUE_COLS
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", "),
    );
    select.push_str(" FROM office_day_stats WHERE office_code = $1 AND day = $2");
    let old = sqlx::query(sqlx::AssertSqlSafe(select))
        .bind(i64::from(office.get()))
        .bind(day.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let mut delta = Delta::new(office, day);
    for (i, (col, new)) in QUEUE_COLS.iter().zip(queue_values(figures)).enumerate() {
        let was: i64 = match &old {
            Some(r) => r.try_get(i)?,
            None => 0,
        };
        delta = delta.with(*col, new - was);
    }
    bump(conn, &[delta]).await
}

/// The Tehran day of `ms`.
pub(crate) fn day_of(ms: i64) -> JalaliDate {
    jalali_day_of_ms(ms)
}

/// The office and answering agency of a canonical exchange log entry: the office as its
/// member id `office:NNNNNNNN`, the agency as `agency:NAME` (absent when none answered).
pub(crate) fn lookup_of(bytes: &[u8]) -> Option<(OfficeCode, Option<String>)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let office = office_member(v.get("office")?.as_str()?)?;
    let agency = v.get("agency").and_then(Value::as_str).map(agency_name);
    Some((office, agency))
}

pub(crate) fn office_member(member: &str) -> Option<OfficeCode> {
    OfficeCode::parse(member.strip_prefix("office:")?).ok()
}

pub(crate) fn agency_name(member: &str) -> String {
    member.strip_prefix("agency:").unwrap_or(member).to_string()
}

/// Deltas of an exchange log batch: one lookup per entry, by office and day, and by agency.
pub(crate) fn lookup_deltas<'a>(
    entries: impl Iterator<Item = (&'a str, Option<&'a str>, i64)>,
) -> Vec<Delta> {
    let mut out: BTreeMap<(OfficeCode, JalaliDate), Delta> = BTreeMap::new();
    for (office, agency, at_ms) in entries {
        let Some(code) = office_member(office) else {
            continue;
        };
        let day = day_of(at_ms);
        let d = out
            .entry((code, day))
            .or_insert_with(|| Delta::new(code, day));
        d.values[Col::Lookups.index()] += 1;
        let agency = agency.map_or_else(|| "unknown".to_string(), agency_name);
        match d.agencies.iter_mut().find(|(a, _)| *a == agency) {
            Some((_, n)) => *n += 1,
            None => d.agencies.push((agency, 1)),
        }
    }
    out.into_values().collect()
}

/// Records how many services stand at each digitization stage on `day`, replacing what an
/// earlier change that day recorded.
pub(crate) async fn catalogue_snapshot(
    conn: &mut sqlx::AnyConnection,
    day: JalaliDate,
) -> Result<()> {
    sqlx::query("DELETE FROM catalogue_days WHERE day = $1")
        .bind(day.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO catalogue_days (day, digitization, services) \
         SELECT $1, digitization, COUNT(*) FROM services GROUP BY digitization",
    )
    .bind(day.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Builds the rollups from the raw rows when they were never built (the first open after
/// migration 0019), in one transaction; a no-op afterwards.
pub(crate) async fn build_if_missing(conn: &mut sqlx::AnyConnection, now_ms: i64) -> Result<bool> {
    let built = sqlx::query("SELECT built_at_ms FROM rollup_state WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    if built.is_some() {
        return Ok(false);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    rebuild_on(&mut tx, now_ms).await?;
    // The catalogue as it stands is the first point of its history.
    catalogue_snapshot(&mut tx, day_of(now_ms)).await?;
    tx.commit().await?;
    Ok(true)
}

/// Rows read per page while rebuilding, so memory stays bounded on a large history.
const REBUILD_PAGE: i64 = 20_000;

/// Empties the rollups and counts everything again from the raw rows: the queue's day
/// figures, the exchange log, verified payments, citizens' reports and answered surveys.
pub(crate) async fn rebuild_on(conn: &mut sqlx::AnyConnection, now_ms: i64) -> Result<()> {
    for table in ["office_day_stats", "province_day_stats", "agency_day_stats"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *conn)
            .await?;
    }
    // The loaded history first, set-based, into the emptied tables.
    let cols = COLS.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    let summed = COLS
        .iter()
        .map(|c| format!("SUM(h.{})", c.name()))
        .collect::<Vec<_>>()
        .join(", ");
    for statement in [
        format!(
            "INSERT INTO office_day_stats (office_code, day, {cols}) \
             SELECT office_code, day, {cols} FROM history_office_days"
        ),
        format!(
            "INSERT INTO province_day_stats (province_id, day, {cols}) \
             SELECT o.province_id, h.day, {summed} FROM history_office_days h \
             JOIN offices o ON o.code = h.office_code GROUP BY o.province_id, h.day"
        ),
        "INSERT INTO agency_day_stats (day, province_id, agency, lookups) \
         SELECT day, province_id, agency, lookups FROM history_agency_days"
            .to_string(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut *conn)
            .await?;
    }

    let mut after: (i64, String) = (-1, String::new());
    loop {
        let rows = sqlx::query(
            "SELECT office_code, day, figures_json FROM office_day_figures \
             WHERE office_code > $1 OR (office_code = $1 AND day > $2) \
             ORDER BY office_code, day LIMIT $3",
        )
        .bind(after.0)
        .bind(after.1.clone())
        .bind(REBUILD_PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let mut deltas = Vec::with_capacity(rows.len());
        for r in &rows {
            let code: i64 = r.try_get("office_code")?;
            let day: String = r.try_get("day")?;
            let json: String = r.try_get("figures_json")?;
            let f: Value = serde_json::from_str(&json).map_err(|e| corrupt("figures", e))?;
            let office = field("figures office", OfficeCode::from_u32(code as u32))?;
            let mut d = Delta::new(office, field("figures day", JalaliDate::parse(&day))?);
            for (col, v) in QUEUE_COLS.iter().zip(queue_values(&f)) {
                d = d.with(*col, v);
            }
            deltas.push(d);
            after = (code, day);
        }
        bump(conn, &deltas).await?;
        if (rows.len() as i64) < REBUILD_PAGE {
            break;
        }
    }

    let mut after_idx: i64 = -1;
    loop {
        let rows = sqlx::query(
            "SELECT idx, entry, at_ms FROM exchange_log_entries WHERE idx > $1 \
             ORDER BY idx LIMIT $2",
        )
        .bind(after_idx)
        .bind(REBUILD_PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let mut parsed = Vec::with_capacity(rows.len());
        for r in &rows {
            after_idx = r.try_get("idx")?;
            let bytes: Vec<u8> = r.try_get("entry")?;
            let at_ms: i64 = r.try_get("at_ms")?;
            if let Some((office, agency)) = lookup_of(&bytes) {
                parsed.push((format!("office:{office}"), agency, at_ms));
            }
        }
        let deltas = lookup_deltas(
            parsed
                .iter()
                .map(|(o, a, at)| (o.as_str(), a.as_deref(), *at)),
        );
        bump(conn, &deltas).await?;
        if (rows.len() as i64) < REBUILD_PAGE {
            break;
        }
    }

    let events: [(&str, DeltaOf); 3] = [
        (
            "SELECT office_code, verified_at_ms AS at_ms, amount_rials AS n FROM payments \
             WHERE verified_at_ms IS NOT NULL",
            |r| {
                Ok(event_delta(r)?
                    .with(Col::Payments, 1)
                    .with(Col::PaidRials, r.try_get("n")?))
            },
        ),
        (
            "SELECT office_code, created_at_ms AS at_ms, 0 AS n FROM office_reports",
            |r| Ok(event_delta(r)?.with(Col::Reports, 1)),
        ),
        (
            "SELECT office_code, answered_at_ms AS at_ms, rating AS n FROM surveys \
             WHERE answered_at_ms IS NOT NULL AND rating IS NOT NULL",
            |r| {
                Ok(event_delta(r)?
                    .with(Col::Ratings, 1)
                    .with(Col::RatingSum, r.try_get("n")?))
            },
        ),
    ];
    for (select, delta_of) in events {
        let rows = sqlx::query(select).fetch_all(&mut *conn).await?;
        let deltas = rows.iter().map(delta_of).collect::<Result<Vec<_>>>()?;
        for chunk in deltas.chunks(REBUILD_PAGE as usize) {
            bump(conn, chunk).await?;
        }
    }

    sqlx::query(
        "INSERT INTO rollup_state (id, built_at_ms) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET built_at_ms = excluded.built_at_ms",
    )
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How a raw event row becomes its delta.
type DeltaOf = fn(&sqlx::any::AnyRow) -> Result<Delta>;

fn event_delta(r: &sqlx::any::AnyRow) -> Result<Delta> {
    let code: i64 = r.try_get("office_code")?;
    let office = field("rollup office", OfficeCode::from_u32(code as u32))?;
    Ok(Delta::new(office, day_of(r.try_get("at_ms")?)))
}

/// A read row of either level as [`DayStats`]; `key` names the office or province column.
pub(crate) fn stats_from_row(r: &sqlx::any::AnyRow, key: &str) -> Result<DayStats> {
    let id: i64 = r.try_get(key)?;
    let day: String = r.try_get("day")?;
    let get = |c: Col| -> Result<u64> {
        let v: i64 = r.try_get(c.name())?;
        u64::try_from(v).map_err(|e| corrupt(c.name(), e))
    };
    Ok(DayStats {
        id: u32::try_from(id).map_err(|e| corrupt(key, e))?,
        day: field("rollup day", JalaliDate::parse(&day))?,
        bookings: get(Col::Bookings)?,
        visits: get(Col::Visits)?,
        booked_visits: get(Col::BookedVisits)?,
        walk_ins: get(Col::WalkIns)?,
        no_shows: get(Col::NoShows)?,
        completed: get(Col::Completed)?,
        wait_sum_s: get(Col::WaitSumS)?,
        waited: get(Col::Waited)?,
        lookups: get(Col::Lookups)?,
        payments: get(Col::Payments)?,
        paid_rials: get(Col::PaidRials)?,
        reports: get(Col::Reports)?,
        ratings: get(Col::Ratings)?,
        rating_sum: get(Col::RatingSum)?,
    })
}

/// `SUM(col) AS col` for every counted column, for grouped reads.
pub(crate) fn sums() -> String {
    COLS.iter()
        .map(|c| format!("CAST(SUM({n}) AS BIGINT) AS {n}", n = c.name()))
        .collect::<Vec<_>>()
        .join(", ")
}
