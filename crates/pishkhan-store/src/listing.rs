//! Listings of bookings by citizen and by office day, for both stores.
//!
//! PostgreSQL reads them through its indexes. The embedded store keeps no index of its own on
//! live bookings (migration 0011): its engine's memory names their numbers, read here by primary
//! key, and only archived rows come from SQLite's (partial) citizen and office indexes.

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::OfficeCode;

use crate::Booking;
use crate::Result;
use crate::bookings::{BOOKING_COLS, booking_from_row};
use crate::engine::Listing;
use crate::sql::{Arg, Sql, SqlStore};

/// Most numbers bound in one `IN (…)` read.
const SEQS_PER_READ: usize = 500;
/// A citizen's listing shows their latest bookings, by slot.
const CITIZEN_LISTING: usize = 100;

pub(crate) async fn office_bookings(
    store: &SqlStore,
    office: OfficeCode,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Booking>> {
    let live = store
        .bookings
        .listing(Listing::Office {
            office,
            from_ms,
            to_ms,
        })
        .await?;
    let archived_only = live.is_some();
    let mut sql = Sql::new(&format!(
        "SELECT {BOOKING_COLS}, seq FROM bookings WHERE office_code = "
    ));
    sql.arg(Arg::Int(i64::from(office.get())))
        .push(" AND slot_start_ms >= ")
        .arg(Arg::Int(from_ms))
        .push(" AND slot_start_ms < ")
        .arg(Arg::Int(to_ms));
    if archived_only {
        sql.push(" AND archived = 1");
    }
    let mut found = rows(store, sql).await?;
    if let Some(seqs) = live {
        found.extend(by_seqs(store, &seqs).await?);
        // Memory's listing may be wider than asked (memory_tables.rs): the range is exact here.
        found.retain(|(_, b)| (from_ms..to_ms).contains(&b.slot_start_ms));
    }
    found.sort_by_key(|(seq, b)| (b.slot_start_ms, *seq));
    Ok(found.into_iter().map(|(_, b)| b).collect())
}

pub(crate) async fn citizen_bookings(
    store: &SqlStore,
    national_code: &NationalCode,
) -> Result<Vec<Booking>> {
    let live = store
        .bookings
        .listing(Listing::Citizen(national_code.clone()))
        .await?;
    let mut sql = Sql::new(&format!(
        "SELECT {BOOKING_COLS}, seq FROM bookings WHERE national_code = "
    ));
    sql.arg(Arg::Text(national_code.as_str().to_string()));
    if live.is_some() {
        sql.push(" AND archived = 1");
    }
    sql.push(" ORDER BY slot_start_ms DESC LIMIT ")
        .arg(Arg::Int(CITIZEN_LISTING as i64));
    let mut found = rows(store, sql).await?;
    if let Some(seqs) = live {
        found.extend(by_seqs(store, &seqs).await?);
    }
    found.sort_by_key(|(seq, b)| std::cmp::Reverse((b.slot_start_ms, *seq)));
    found.truncate(CITIZEN_LISTING);
    Ok(found.into_iter().map(|(_, b)| b).collect())
}

async fn rows(store: &SqlStore, sql: Sql) -> Result<Vec<(i64, Booking)>> {
    sql.query()
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|r| Ok((sqlx::Row::try_get(r, "seq")?, booking_from_row(r)?)))
        .collect()
}

async fn by_seqs(store: &SqlStore, seqs: &[i64]) -> Result<Vec<(i64, Booking)>> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(SEQS_PER_READ) {
        let mut sql = Sql::bulk(
            store.dialect.as_ref(),
            &format!("SELECT {BOOKING_COLS}, seq FROM bookings WHERE seq IN ("),
        );
        for (i, seq) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.arg(Arg::Int(*seq));
        }
        sql.push(")");
        out.extend(rows(store, sql).await?);
    }
    Ok(out)
}
