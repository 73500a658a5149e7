//! Surge releases in storage: the release, its requests, its stored result, the winners'
//! seats and the waitlist's offers. The lottery itself is pure and lives in `pishkhan-release`;
//! this module only keeps what goes in and what came out.
//!
//! **Invariants:**
//! - A request is stored only while its release is open and inside its window, checked in the
//!   request's own transaction against the release row, which the sealing update must wait
//!   for (`FOR SHARE` on PostgreSQL; the single writer on SQLite). So every request that was
//!   acknowledged is among those the allocation reads, and none arrives after it.
//! - One row per citizen and release (last request wins, the rule of the lottery), with a new
//!   arrival number on every resubmission and a bound on resubmissions.
//! - The result is stored all at once, in the transaction that moves the release from
//!   `closed` to `allocated`; a second attempt finds it allocated and changes nothing.
//! - Winners are booked through the ordinary booking path (capacity, citizen limits) with one
//!   idempotency key per release and citizen; `settle_seats` then records each seat once.
//! - A seat a winner gives back is handed on at most once (`freed_at_ms`), and each waitlisted
//!   citizen is offered at most one seat (`offered_at_ms`).

use async_trait::async_trait;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_domain::{Mobile, NationalCode};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::outbox::{NewMessage, enqueue};
use crate::sql::{AnyTx, Arg, SqlStore, audit_permit, corrupt, field, insert_rows, require};
use crate::{
    AuditContext, Booking, CitizenRelease, NewRelease, NewReleaseRequest, PlannedSlot, Release,
    ReleaseAllocation, ReleaseOffer, ReleaseOffice, ReleaseOutcome, ReleaseRequest, ReleaseResult,
    ReleaseStatus, Result, Seat, SeatSettlement, StoreError,
};

/// Waitlist rows read at a time while looking for the next citizen to offer a seat to.
const OFFER_SCAN_ROWS: i64 = 500;
/// Releases `unallocated_releases` returns at most.
const MAX_UNALLOCATED: i64 = 1_000;
/// Requests of one citizen `citizen_releases` returns at most.
const MAX_CITIZEN_RELEASES: i64 = 100;

fn release_cols(prefix: &str) -> String {
    [
        "id",
        "service_code",
        "province_id",
        "plan_json",
        "total_slots",
        "opens_at_ms",
        "closes_at_ms",
        "seed_commitment",
        "seed_hex",
        "status",
        "inputs_digest",
        "allocation_digest",
        "winners",
        "waitlisted",
        "created_by",
        "created_at_ms",
        "closed_at_ms",
        "allocated_at_ms",
    ]
    .iter()
    .map(|c| format!("{prefix}{c}"))
    .collect::<Vec<_>>()
    .join(", ")
}

fn plan_to_json(offices: &[ReleaseOffice]) -> String {
    serde_json::Value::Array(
        offices
            .iter()
            .map(|o| {
                serde_json::json!({
                    "office": o.office.get(),
                    "slots": o.slots,
                    "times": o.times.iter().map(|t| serde_json::json!({
                        "start_ms": t.start_ms,
                        "end_ms": t.end_ms,
                        "seats": t.seats,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
    .to_string()
}

fn plan_from_json(s: &str) -> Result<Vec<ReleaseOffice>> {
    let bad = |what: &str| corrupt("release plan", what);
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| corrupt("release plan", e))?;
    let u32_of = |v: &serde_json::Value, k: &str| -> Result<u32> {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(k))
    };
    let i64_of = |v: &serde_json::Value, k: &str| -> Result<i64> {
        v.get(k)
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| bad(k))
    };
    v.as_array()
        .ok_or_else(|| bad("not a list"))?
        .iter()
        .map(|o| {
            Ok(ReleaseOffice {
                office: field("release office", OfficeCode::from_u32(u32_of(o, "office")?))?,
                slots: u32_of(o, "slots")?,
                times: o
                    .get("times")
                    .and_then(serde_json::Value::as_array)
                    .ok_or_else(|| bad("times"))?
                    .iter()
                    .map(|t| {
                        Ok(PlannedSlot {
                            start_ms: i64_of(t, "start_ms")?,
                            end_ms: i64_of(t, "end_ms")?,
                            seats: u32_of(t, "seats")?,
                        })
                    })
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

fn prefs_to_json(prefs: &[OfficeCode]) -> String {
    serde_json::Value::Array(
        prefs
            .iter()
            .map(|o| serde_json::Value::String(o.to_string()))
            .collect(),
    )
    .to_string()
}

fn prefs_from_json(s: &str) -> Result<Vec<OfficeCode>> {
    let list: Vec<String> =
        serde_json::from_str(s).map_err(|e| corrupt("release preferences", e))?;
    list.iter()
        .map(|o| field("release preference", OfficeCode::parse(o)))
        .collect()
}

fn opt_u64(r: &AnyRow, col: &str) -> Result<Option<u64>> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(|n| n as u64))
}

fn release_from_row(r: &AnyRow) -> Result<Release> {
    let status: String = r.try_get("status")?;
    Ok(Release {
        id: r.try_get("id")?,
        service: field(
            "service",
            ServiceCode::parse(&r.try_get::<String, _>("service_code")?),
        )?,
        province: r.try_get::<i64, _>("province_id")? as u8,
        offices: plan_from_json(&r.try_get::<String, _>("plan_json")?)?,
        total_slots: r.try_get::<i64, _>("total_slots")? as u64,
        opens_at_ms: r.try_get("opens_at_ms")?,
        closes_at_ms: r.try_get("closes_at_ms")?,
        seed_commitment: r.try_get("seed_commitment")?,
        seed_hex: r.try_get("seed_hex")?,
        status: ReleaseStatus::parse(&status).ok_or_else(|| corrupt("release status", &status))?,
        inputs_digest: r.try_get("inputs_digest")?,
        allocation_digest: r.try_get("allocation_digest")?,
        winners: opt_u64(r, "winners")?,
        waitlisted: opt_u64(r, "waitlisted")?,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
        closed_at_ms: r.try_get("closed_at_ms")?,
        allocated_at_ms: r.try_get("allocated_at_ms")?,
    })
}

const REQUEST_COLS: &str =
    "release_id, national_code, mobile, preferences_json, seq, at_ms, submissions";

fn request_from_row(r: &AnyRow) -> Result<ReleaseRequest> {
    Ok(ReleaseRequest {
        release_id: r.try_get("release_id")?,
        national_code: field(
            "national code",
            NationalCode::parse(&r.try_get::<String, _>("national_code")?),
        )?,
        mobile: field("mobile", Mobile::parse(&r.try_get::<String, _>("mobile")?))?,
        preferences: prefs_from_json(&r.try_get::<String, _>("preferences_json")?)?,
        seq: r.try_get("seq")?,
        at_ms: r.try_get("at_ms")?,
        submissions: r.try_get::<i64, _>("submissions")? as u32,
    })
}

const ALLOCATION_COLS: &str = "release_id, national_code, mobile, outcome, place, office_code, \
    slot_start_ms, slot_end_ms, seat, tracking_code, unseated_reason, freed_at_ms, \
    offer_office_code, offer_slot_start_ms, offer_slot_end_ms, offered_at_ms";

fn office_of(v: Option<i64>) -> Result<Option<OfficeCode>> {
    v.map(|c| field("office code", OfficeCode::from_u32(c as u32)))
        .transpose()
}

fn allocation_from_row(r: &AnyRow) -> Result<ReleaseAllocation> {
    let outcome: String = r.try_get("outcome")?;
    let outcome = match outcome.as_str() {
        "won" => ReleaseOutcome::Won,
        "waitlisted" => ReleaseOutcome::Waitlisted,
        other => return Err(corrupt("release outcome", other)),
    };
    let seat = r
        .try_get::<Option<String>, _>("seat")?
        .map(|s| Seat::parse(&s).ok_or_else(|| corrupt("release seat", &s)))
        .transpose()?;
    let offer = match (
        office_of(r.try_get("offer_office_code")?)?,
        r.try_get::<Option<i64>, _>("offer_slot_start_ms")?,
        r.try_get::<Option<i64>, _>("offer_slot_end_ms")?,
        r.try_get::<Option<i64>, _>("offered_at_ms")?,
    ) {
        (Some(office), Some(slot_start_ms), Some(slot_end_ms), Some(offered_at_ms)) => {
            Some(ReleaseOffer {
                office,
                slot_start_ms,
                slot_end_ms,
                offered_at_ms,
            })
        }
        _ => None,
    };
    Ok(ReleaseAllocation {
        release_id: r.try_get("release_id")?,
        national_code: field(
            "national code",
            NationalCode::parse(&r.try_get::<String, _>("national_code")?),
        )?,
        mobile: field("mobile", Mobile::parse(&r.try_get::<String, _>("mobile")?))?,
        outcome,
        place: r.try_get::<i64, _>("place")? as u64,
        office: office_of(r.try_get("office_code")?)?,
        slot_start_ms: r.try_get("slot_start_ms")?,
        slot_end_ms: r.try_get("slot_end_ms")?,
        seat,
        tracking_code: r
            .try_get::<Option<String>, _>("tracking_code")?
            .map(|c| field("tracking code", TrackingCode::parse(&c)))
            .transpose()?,
        unseated_reason: r.try_get("unseated_reason")?,
        freed_at_ms: r.try_get("freed_at_ms")?,
        offer,
    })
}

fn not_found() -> StoreError {
    StoreError::NotFound { entity: "release" }
}

// ---- reads -------------------------------------------------------------------------------

pub(crate) async fn release(store: &SqlStore, id: &str) -> Result<Release> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM releases WHERE id = $1",
        release_cols("")
    )))
    .bind(id.to_string())
    .fetch_optional(&store.pool)
    .await?;
    match row {
        Some(r) => release_from_row(&r),
        None => Err(not_found()),
    }
}

pub(crate) async fn unallocated_releases(store: &SqlStore) -> Result<Vec<Release>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM releases WHERE status IN ('open', 'closed') ORDER BY created_at_ms LIMIT $1",
        release_cols("")
    )))
    .bind(MAX_UNALLOCATED)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(release_from_row).collect()
}

pub(crate) async fn requests(store: &SqlStore, id: &str) -> Result<Vec<ReleaseRequest>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLS} FROM release_requests WHERE release_id = $1 ORDER BY seq"
    )))
    .bind(id.to_string())
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(request_from_row).collect()
}

pub(crate) async fn allocations(store: &SqlStore, id: &str) -> Result<Vec<ReleaseAllocation>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ALLOCATION_COLS} FROM release_allocations WHERE release_id = $1 \
         ORDER BY outcome, place"
    )))
    .bind(id.to_string())
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(allocation_from_row).collect()
}

pub(crate) async fn citizen_releases(
    store: &SqlStore,
    national_code: &NationalCode,
) -> Result<Vec<CitizenRelease>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, r.release_id, r.national_code, r.mobile, r.preferences_json, r.seq, r.at_ms, \
         r.submissions FROM release_requests r JOIN releases l ON l.id = r.release_id \
         WHERE r.national_code = $1 ORDER BY l.closes_at_ms DESC, l.id LIMIT $2",
        release_cols("l.")
    )))
    .bind(national_code.as_str().to_string())
    .bind(MAX_CITIZEN_RELEASES)
    .fetch_all(&store.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let release = release_from_row(r)?;
        let request = request_from_row(r)?;
        let allocation = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALLOCATION_COLS} FROM release_allocations WHERE release_id = $1 AND national_code = $2"
        )))
        .bind(release.id.clone())
        .bind(national_code.as_str().to_string())
        .fetch_optional(&store.pool)
        .await?
        .map(|a| allocation_from_row(&a))
        .transpose()?;
        out.push(CitizenRelease {
            release,
            request,
            allocation,
        });
    }
    Ok(out)
}

// ---- writes ------------------------------------------------------------------------------

pub(crate) async fn create(
    store: &SqlStore,
    permit: &Permit,
    r: &NewRelease,
    ctx: &AuditContext,
) -> Result<()> {
    require(permit, |a| matches!(a, Action::ManageReleases))?;
    let total: u64 = r.offices.iter().map(|o| u64::from(o.slots)).sum();
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        sqlx::query(
            "INSERT INTO releases (id, service_code, province_id, plan_json, total_slots, opens_at_ms, \
             closes_at_ms, seed_commitment, seed_hex, status, created_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11)",
        )
        .bind(r.id.clone())
        .bind(r.service.as_str().to_string())
        .bind(i64::from(r.province))
        .bind(plan_to_json(&r.offices))
        .bind(total as i64)
        .bind(r.opens_at_ms)
        .bind(r.closes_at_ms)
        .bind(r.seed_commitment.clone())
        .bind(r.seed_hex.clone())
        .bind(permit.principal().audit_name())
        .bind(ctx.now_ms)
        .execute(&mut *tx)
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("release:{}", r.id),
            serde_json::json!({
                "opened": true,
                "service": r.service.as_str(),
                "province": r.province,
                "offices": r.offices.len(),
                "slots": total,
                "opens_at_ms": r.opens_at_ms,
                "closes_at_ms": r.closes_at_ms,
                "seed_commitment": r.seed_commitment,
            }),
            ctx,
        )
        .await
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

/// Stores (or replaces) a citizen's request; `Ok(true)` when it replaced an earlier one.
pub(crate) async fn submit(
    store: &SqlStore,
    permit: &Permit,
    id: &str,
    req: &NewReleaseRequest,
    ctx: &AuditContext,
) -> Result<bool> {
    require(
        permit,
        |a| matches!(a, Action::BookAsCitizen { national_code } if *national_code == req.national_code),
    )?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = submit_in(store, &mut tx, permit, id, req, ctx).await;
    crate::bookings::finish(tx, outcome).await
}

async fn submit_in(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    permit: &Permit,
    id: &str,
    req: &NewReleaseRequest,
    ctx: &AuditContext,
) -> Result<bool> {
    // A shared lock on PostgreSQL: submissions don't wait for each other, but sealing the
    // release waits until every request that saw it open has committed.
    let lock = store.dialect.for_share();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT status, opens_at_ms, closes_at_ms FROM releases WHERE id = $1{lock}"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(not_found)?;
    let status: String = row.try_get("status")?;
    let opens: i64 = row.try_get("opens_at_ms")?;
    let closes: i64 = row.try_get("closes_at_ms")?;
    if status != "open" || ctx.now_ms < opens || ctx.now_ms >= closes {
        return Err(StoreError::wrong_state(
            crate::StateRule::ReleaseNotOpen,
            "the release is not taking requests now",
        ));
    }
    let seq = store.dialect.next_release_request_seq(tx, id).await?;
    let stored = sqlx::query(
        "INSERT INTO release_requests (release_id, national_code, mobile, preferences_json, seq, at_ms, submissions) \
         VALUES ($1, $2, $3, $4, $5, $6, 1) ON CONFLICT (release_id, national_code) DO UPDATE SET \
         mobile = excluded.mobile, preferences_json = excluded.preferences_json, seq = excluded.seq, \
         at_ms = excluded.at_ms, submissions = release_requests.submissions + 1 \
         WHERE release_requests.submissions < $7 RETURNING submissions",
    )
    .bind(id.to_string())
    .bind(req.national_code.as_str().to_string())
    .bind(req.mobile.as_str().to_string())
    .bind(prefs_to_json(&req.preferences))
    .bind(seq)
    .bind(ctx.now_ms)
    .bind(i64::from(req.max_submissions))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(stored) = stored else {
        return Err(StoreError::LimitReached {
            rule: format!(
                "at most {} submissions per citizen and release",
                req.max_submissions
            ),
        });
    };
    let submissions: i64 = stored.try_get("submissions")?;
    audit_permit(
        tx,
        permit,
        &format!("release:{id}"),
        serde_json::json!({
            "request": req.preferences.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "submission": submissions,
        }),
        ctx,
    )
    .await?;
    Ok(submissions > 1)
}

/// Seals an open release whose window has passed: no request is taken after this commits.
/// `Ok(false)` when it was sealed already; `WrongState` while its window is still open.
pub(crate) async fn seal(
    store: &SqlStore,
    permit: &Permit,
    id: &str,
    ctx: &AuditContext,
) -> Result<bool> {
    require(permit, |a| matches!(a, Action::ManageReleases))?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let done = sqlx::query(
            "UPDATE releases SET status = 'closed', closed_at_ms = $2 \
             WHERE id = $1 AND status = 'open' AND closes_at_ms <= $2",
        )
        .bind(id.to_string())
        .bind(ctx.now_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let row = sqlx::query("SELECT status FROM releases WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(not_found)?;
            let status: String = row.try_get("status")?;
            return if status == "open" {
                Err(StoreError::wrong_state(
                    crate::StateRule::ReleaseStillOpen,
                    "the release's window has not passed yet",
                ))
            } else {
                Ok(false)
            };
        }
        audit_permit(
            &mut tx,
            permit,
            &format!("release:{id}"),
            serde_json::json!({ "sealed": true }),
            ctx,
        )
        .await?;
        Ok(true)
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

/// Stores the result of a sealed release and moves it to `allocated`, with the waitlisted
/// citizens' notices. `Ok(false)` when a result was stored already (nothing changes).
pub(crate) async fn record_result(
    store: &SqlStore,
    permit: &Permit,
    id: &str,
    result: &ReleaseResult,
    ctx: &AuditContext,
) -> Result<bool> {
    require(permit, |a| matches!(a, Action::ManageReleases))?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = record_in(store, &mut tx, permit, id, result, ctx).await;
    match outcome {
        // Nothing to write: end the transaction without an audit row.
        Ok(false) => {
            let _ = tx.rollback().await;
            Ok(false)
        }
        other => crate::bookings::finish(tx, other).await,
    }
}

async fn record_in(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    permit: &Permit,
    id: &str,
    result: &ReleaseResult,
    ctx: &AuditContext,
) -> Result<bool> {
    // First, so a concurrent attempt waits on the row and then finds it allocated.
    let moved = sqlx::query(
        "UPDATE releases SET status = 'allocated', inputs_digest = $2, allocation_digest = $3, \
         winners = $4, waitlisted = $5, allocated_at_ms = $6 WHERE id = $1 AND status = 'closed'",
    )
    .bind(id.to_string())
    .bind(result.inputs_digest.clone())
    .bind(result.allocation_digest.clone())
    .bind(result.winners.len() as i64)
    .bind(result.waitlist.len() as i64)
    .bind(ctx.now_ms)
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() == 0 {
        let row = sqlx::query("SELECT status FROM releases WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(not_found)?;
        let status: String = row.try_get("status")?;
        return if status == "allocated" {
            Ok(false)
        } else {
            Err(StoreError::wrong_state(
                crate::StateRule::ReleaseNotSealed,
                format!("a release is allocated only once sealed; this one is {status}"),
            ))
        };
    }
    let service: String = sqlx::query("SELECT service_code FROM releases WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut **tx)
        .await?
        .try_get("service_code")?;
    const HEAD: &str = "INSERT INTO release_allocations (release_id, national_code, mobile, outcome, \
        place, office_code, slot_start_ms, slot_end_ms, seat) VALUES ";
    let winners = result
        .winners
        .iter()
        .enumerate()
        .map(|(i, w)| {
            vec![
                Arg::Text(id.to_string()),
                Arg::Text(w.national_code.as_str().to_string()),
                Arg::Text(w.mobile.as_str().to_string()),
                Arg::Text("won".into()),
                Arg::Int(i as i64 + 1),
                Arg::OptInt(Some(i64::from(w.office.get()))),
                Arg::OptInt(Some(w.slot_start_ms)),
                Arg::OptInt(Some(w.slot_end_ms)),
                Arg::OptText(Some("pending".into())),
            ]
        })
        .collect();
    insert_rows(tx, &*store.dialect, HEAD, "", winners).await?;
    let waitlisted = result
        .waitlist
        .iter()
        .enumerate()
        .map(|(i, (code, mobile))| {
            vec![
                Arg::Text(id.to_string()),
                Arg::Text(code.as_str().to_string()),
                Arg::Text(mobile.as_str().to_string()),
                Arg::Text("waitlisted".into()),
                Arg::Int(i as i64 + 1),
                Arg::OptInt(None),
                Arg::OptInt(None),
                Arg::OptInt(None),
                Arg::OptText(None),
            ]
        })
        .collect();
    insert_rows(tx, &*store.dialect, HEAD, "", waitlisted).await?;
    let notices = result
        .waitlist
        .iter()
        .enumerate()
        .map(|(i, (code, mobile))| {
            NewMessage {
                kind: crate::OutboxKind::ReleaseWaitlisted,
                recipient: mobile.as_str().to_string(),
                dedupe_key: format!("release.waitlisted:{id}:{}", code.as_str()),
                payload: serde_json::json!({
                    "release": id,
                    "service": service,
                    "place": i + 1,
                }),
            }
            .args(ctx.now_ms)
        })
        .collect();
    insert_rows(
        tx,
        &*store.dialect,
        crate::outbox::OUTBOX_INSERT,
        crate::outbox::OUTBOX_INSERT_TAIL,
        notices,
    )
    .await?;
    audit_permit(
        tx,
        permit,
        &format!("release:{id}"),
        serde_json::json!({
            "allocated": true,
            "winners": result.winners.len(),
            "waitlisted": result.waitlist.len(),
            "inputs_digest": result.inputs_digest,
            "allocation_digest": result.allocation_digest,
        }),
        ctx,
    )
    .await?;
    Ok(true)
}

/// Records what became of winners' bookings, each once: a booked seat gets its tracking code
/// and the `release.won` notice; an unseated winner gets `release.unseated` and their seat
/// goes to the waitlist. Returns the offers made.
pub(crate) async fn settle_seats(
    store: &SqlStore,
    permit: &Permit,
    id: &str,
    settlements: &[SeatSettlement],
    ctx: &AuditContext,
) -> Result<u64> {
    require(permit, |a| matches!(a, Action::ManageReleases))?;
    if settlements.is_empty() {
        return Ok(0);
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = settle_in(store, &mut tx, permit, id, settlements, ctx).await;
    crate::bookings::finish(tx, outcome).await
}

async fn settle_in(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    permit: &Permit,
    id: &str,
    settlements: &[SeatSettlement],
    ctx: &AuditContext,
) -> Result<u64> {
    let service = service_of(tx, id).await?;
    let (mut booked, mut unseated, mut offers) = (0u64, 0u64, 0u64);
    for s in settlements {
        match s {
            SeatSettlement::Booked(b) => {
                let done = sqlx::query(
                    "UPDATE release_allocations SET seat = 'booked', tracking_code = $3, booking_seq = $4, \
                     office_code = $5, slot_start_ms = $6, slot_end_ms = $7 \
                     WHERE release_id = $1 AND national_code = $2 AND outcome = 'won' AND seat = 'pending' \
                     RETURNING place",
                )
                .bind(id.to_string())
                .bind(b.national_code.as_str().to_string())
                .bind(b.tracking_code.as_str().to_string())
                .bind(b.tracking_code.to_sequence(&store.tracking_key) as i64)
                .bind(i64::from(b.office.get()))
                .bind(b.slot_start_ms)
                .bind(b.slot_end_ms)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(row) = done else { continue };
                let place: i64 = row.try_get("place")?;
                booked += 1;
                enqueue(
                    tx,
                    &NewMessage {
                        kind: crate::OutboxKind::ReleaseWon,
                        recipient: b.mobile.as_str().to_string(),
                        dedupe_key: format!("release.won:{id}:{}", b.national_code.as_str()),
                        payload: serde_json::json!({
                            "release": id,
                            "service": b.service.as_str(),
                            "office": b.office.to_string(),
                            "slot_start_ms": b.slot_start_ms,
                            "slot_end_ms": b.slot_end_ms,
                            "tracking_code": b.tracking_code.to_string(),
                            "place": place,
                        }),
                    },
                    ctx.now_ms,
                )
                .await?;
            }
            SeatSettlement::Unseated {
                national_code,
                reason,
            } => {
                let done = sqlx::query(
                    "UPDATE release_allocations SET seat = 'unseated', unseated_reason = $3, freed_at_ms = $4 \
                     WHERE release_id = $1 AND national_code = $2 AND outcome = 'won' AND seat = 'pending' \
                     RETURNING mobile, office_code, slot_start_ms, slot_end_ms",
                )
                .bind(id.to_string())
                .bind(national_code.as_str().to_string())
                .bind(reason.chars().take(200).collect::<String>())
                .bind(ctx.now_ms)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(row) = done else { continue };
                unseated += 1;
                let mobile: String = row.try_get("mobile")?;
                let office = office_of(row.try_get("office_code")?)?
                    .ok_or_else(|| corrupt("release allocation", "winner without office"))?;
                let start: i64 = row.try_get::<Option<i64>, _>("slot_start_ms")?.unwrap_or(0);
                let end: i64 = row.try_get::<Option<i64>, _>("slot_end_ms")?.unwrap_or(0);
                enqueue(
                    tx,
                    &NewMessage {
                        kind: crate::OutboxKind::ReleaseUnseated,
                        recipient: mobile,
                        dedupe_key: format!("release.unseated:{id}:{}", national_code.as_str()),
                        payload: serde_json::json!({
                            "release": id,
                            "service": service.as_str(),
                            "office": office.to_string(),
                        }),
                    },
                    ctx.now_ms,
                )
                .await?;
                if offer_seat(tx, id, &service, office, start, end, ctx.now_ms)
                    .await?
                    .is_some()
                {
                    offers += 1;
                }
            }
        }
    }
    if booked + unseated > 0 {
        audit_permit(
            tx,
            permit,
            &format!("release:{id}"),
            serde_json::json!({ "booked": booked, "unseated": unseated, "offers": offers }),
            ctx,
        )
        .await?;
    }
    Ok(offers)
}

async fn service_of(tx: &mut AnyTx<'_>, id: &str) -> Result<ServiceCode> {
    let row = sqlx::query("SELECT service_code FROM releases WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(not_found)?;
    field(
        "service",
        ServiceCode::parse(&row.try_get::<String, _>("service_code")?),
    )
}

/// Offers a freed seat to the first waitlisted citizen, in waitlist order, who listed its
/// office and has not been offered a seat yet (the rule of `pishkhan_release::Waitlist`), and
/// queues the `release.offer` notice. `None` when nobody left wants that office: the seat is
/// then simply free for ordinary booking.
async fn offer_seat(
    tx: &mut AnyTx<'_>,
    id: &str,
    service: &ServiceCode,
    office: OfficeCode,
    slot_start_ms: i64,
    slot_end_ms: i64,
    now_ms: i64,
) -> Result<Option<NationalCode>> {
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT a.national_code, a.mobile, a.place, r.preferences_json FROM release_allocations a \
             JOIN release_requests r ON r.release_id = a.release_id AND r.national_code = a.national_code \
             WHERE a.release_id = $1 AND a.outcome = 'waitlisted' AND a.offered_at_ms IS NULL AND a.place > $2 \
             ORDER BY a.place LIMIT $3",
        )
        .bind(id.to_string())
        .bind(after)
        .bind(OFFER_SCAN_ROWS)
        .fetch_all(&mut **tx)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        for r in &rows {
            after = r.try_get("place")?;
            let prefs = prefs_from_json(&r.try_get::<String, _>("preferences_json")?)?;
            if !prefs.contains(&office) {
                continue;
            }
            let code: String = r.try_get("national_code")?;
            // A concurrent offer may have taken this citizen: the condition decides.
            let taken = sqlx::query(
                "UPDATE release_allocations SET offer_office_code = $3, offer_slot_start_ms = $4, \
                 offer_slot_end_ms = $5, offered_at_ms = $6 \
                 WHERE release_id = $1 AND national_code = $2 AND offered_at_ms IS NULL",
            )
            .bind(id.to_string())
            .bind(code.clone())
            .bind(i64::from(office.get()))
            .bind(slot_start_ms)
            .bind(slot_end_ms)
            .bind(now_ms)
            .execute(&mut **tx)
            .await?;
            if taken.rows_affected() != 1 {
                continue;
            }
            let place: i64 = r.try_get("place")?;
            enqueue(
                tx,
                &NewMessage {
                    kind: crate::OutboxKind::ReleaseOffer,
                    recipient: r.try_get("mobile")?,
                    dedupe_key: format!("release.offer:{id}:{code}"),
                    payload: serde_json::json!({
                        "release": id,
                        "service": service.as_str(),
                        "office": office.to_string(),
                        "slot_start_ms": slot_start_ms,
                        "slot_end_ms": slot_end_ms,
                        "place": place,
                    }),
                },
                now_ms,
            )
            .await?;
            return Ok(Some(field("national code", NationalCode::parse(&code))?));
        }
    }
}

/// Hands on the seats of the release's winners whose bookings were cancelled and not handed
/// on yet: the recovery path for an offer lost between a cancellation and its hand-on.
pub(crate) async fn offer_freed_seats(
    store: &SqlStore,
    permit: &Permit,
    id: &str,
    ctx: &AuditContext,
) -> Result<u64> {
    require(permit, |a| matches!(a, Action::ManageReleases))?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let service = service_of(&mut tx, id).await?;
        let rows = sqlx::query(
            "SELECT a.national_code, b.office_code, b.slot_start_ms, b.slot_end_ms \
             FROM release_allocations a JOIN bookings b ON b.seq = a.booking_seq \
             WHERE a.release_id = $1 AND a.seat = 'booked' AND a.freed_at_ms IS NULL AND b.status = 'cancelled' \
             ORDER BY a.place",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut offers = 0u64;
        for r in &rows {
            let code: String = r.try_get("national_code")?;
            if hand_on(&mut tx, id, &code, ctx.now_ms).await? {
                let office = field(
                    "office code",
                    OfficeCode::from_u32(r.try_get::<i64, _>("office_code")? as u32),
                )?;
                if offer_seat(
                    &mut tx,
                    id,
                    &service,
                    office,
                    r.try_get("slot_start_ms")?,
                    r.try_get("slot_end_ms")?,
                    ctx.now_ms,
                )
                .await?
                .is_some()
                {
                    offers += 1;
                }
            }
        }
        if !rows.is_empty() {
            audit_permit(
                &mut tx,
                permit,
                &format!("release:{id}"),
                serde_json::json!({ "seats_handed_on": rows.len(), "offers": offers }),
                ctx,
            )
            .await?;
        }
        Ok(offers)
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

/// Marks a winner's seat as handed on; false when it was already.
async fn hand_on(tx: &mut AnyTx<'_>, id: &str, national_code: &str, now_ms: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE release_allocations SET freed_at_ms = $3 \
         WHERE release_id = $1 AND national_code = $2 AND freed_at_ms IS NULL",
    )
    .bind(id.to_string())
    .bind(national_code.to_string())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// After a booking was cancelled: if a release made it, offer its seat to the release's
/// waitlist. Runs in its own transaction after the cancellation committed; an offer lost to a
/// crash in between is made by [`offer_freed_seats`] at the next close call.
pub(crate) async fn after_cancel(
    store: &SqlStore,
    permit: &Permit,
    cancelled: &Booking,
    ctx: &AuditContext,
) -> Result<()> {
    let seq = cancelled.tracking_code.to_sequence(&store.tracking_key) as i64;
    // Most cancelled bookings come from no release: one indexed read and done.
    let found = sqlx::query(
        "SELECT release_id, national_code FROM release_allocations \
         WHERE booking_seq = $1 AND seat = 'booked' AND freed_at_ms IS NULL",
    )
    .bind(seq)
    .fetch_optional(&store.pool)
    .await?;
    let Some(found) = found else {
        return Ok(());
    };
    let id: String = found.try_get("release_id")?;
    let code: String = found.try_get("national_code")?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        if !hand_on(&mut tx, &id, &code, ctx.now_ms).await? {
            return Ok(());
        }
        let offered = offer_seat(
            &mut tx,
            &id,
            &cancelled.service,
            cancelled.office,
            cancelled.slot_start_ms,
            cancelled.slot_end_ms,
            ctx.now_ms,
        )
        .await?;
        let p = permit.principal();
        crate::sql::write_audit(
            &mut tx,
            &p.audit_name(),
            p.staff_id(),
            "release.offer",
            &format!("release:{id}"),
            &serde_json::json!({
                "freed": cancelled.tracking_code.to_string(),
                "offered_to": offered.map(|c| c.as_str().to_string()),
            }),
            ctx,
        )
        .await
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

/// The advisory-lock class of release close sequences (its second key is the release id's
/// hash); bookings' locks use the one-key form, so the two never meet.
const RELEASE_CLOSE_LOCK_CLASS: i32 = 7;

#[async_trait]
impl crate::Releases for SqlStore {
    async fn release_close_turn(&self, release_id: &str) -> Result<crate::ReleaseCloseTurn> {
        Ok(crate::ReleaseCloseTurn {
            _held: self
                .dialect
                .hold_session_lock(&self.pool, RELEASE_CLOSE_LOCK_CLASS, release_id)
                .await?,
        })
    }

    async fn create_release(
        &self,
        permit: &Permit,
        release: &crate::NewRelease,
        ctx: &AuditContext,
    ) -> Result<()> {
        crate::releases::create(self, permit, release, ctx).await
    }

    async fn release(&self, id: &str) -> Result<crate::Release> {
        crate::releases::release(self, id).await
    }

    async fn unallocated_releases(&self) -> Result<Vec<crate::Release>> {
        crate::releases::unallocated_releases(self).await
    }

    async fn submit_release_request(
        &self,
        permit: &Permit,
        release_id: &str,
        request: &crate::NewReleaseRequest,
        ctx: &AuditContext,
    ) -> Result<bool> {
        crate::releases::submit(self, permit, release_id, request, ctx).await
    }

    async fn release_requests(&self, release_id: &str) -> Result<Vec<crate::ReleaseRequest>> {
        crate::releases::requests(self, release_id).await
    }

    async fn seal_release(
        &self,
        permit: &Permit,
        release_id: &str,
        ctx: &AuditContext,
    ) -> Result<bool> {
        crate::releases::seal(self, permit, release_id, ctx).await
    }

    async fn record_release_result(
        &self,
        permit: &Permit,
        release_id: &str,
        result: &crate::ReleaseResult,
        ctx: &AuditContext,
    ) -> Result<bool> {
        crate::releases::record_result(self, permit, release_id, result, ctx).await
    }

    async fn release_allocations(&self, release_id: &str) -> Result<Vec<crate::ReleaseAllocation>> {
        crate::releases::allocations(self, release_id).await
    }

    async fn settle_release_seats(
        &self,
        permit: &Permit,
        release_id: &str,
        settlements: &[crate::SeatSettlement],
        ctx: &AuditContext,
    ) -> Result<u64> {
        crate::releases::settle_seats(self, permit, release_id, settlements, ctx).await
    }

    async fn offer_freed_release_seats(
        &self,
        permit: &Permit,
        release_id: &str,
        ctx: &AuditContext,
    ) -> Result<u64> {
        crate::releases::offer_freed_seats(self, permit, release_id, ctx).await
    }

    async fn citizen_releases(
        &self,
        national_code: &NationalCode,
    ) -> Result<Vec<crate::CitizenRelease>> {
        crate::releases::citizen_releases(self, national_code).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_round_trip_through_json() {
        let plan = vec![ReleaseOffice {
            office: OfficeCode::from_u32(11_000_001).unwrap(),
            slots: 3,
            times: vec![
                PlannedSlot {
                    start_ms: 1_000,
                    end_ms: 2_000,
                    seats: 2,
                },
                PlannedSlot {
                    start_ms: 2_000,
                    end_ms: 3_000,
                    seats: 1,
                },
            ],
        }];
        assert_eq!(plan_from_json(&plan_to_json(&plan)).unwrap(), plan);
        assert!(plan_from_json("[{\"office\": 1}]").is_err());
    }

    #[test]
    fn a_secret_seed_stays_out_of_debug_output() {
        let r = NewRelease {
            id: "r-1".into(),
            service: ServiceCode::parse("PSP-001").unwrap(),
            province: 1,
            offices: Vec::new(),
            opens_at_ms: 0,
            closes_at_ms: 1,
            seed_hex: "ab".repeat(32),
            seed_commitment: "cd".repeat(32),
        };
        assert!(!format!("{r:?}").contains(&"ab".repeat(32)));
    }
}
