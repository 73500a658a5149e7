//! Office queues: each office's day is an append-only event log. Appends are optimistic: the
//! primary key (office, day, seq) lets exactly one writer take each number.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::OfficeCode;
use sqlx::Row;

use pishkhan_domain::model::ServiceCode;

use crate::sql::{SqlStore, audit_permit, corrupt, require};
use crate::{
    AuditContext, Booking, OfficeDayFigures, Page, PageRequest, QueueAppend, QueueEffects, Result,
    StoreError, Survey,
};
use pishkhan_domain::schedule::{BookingStatus, TrackingCode};

/// Events one append may carry.
const MAX_EVENTS_PER_APPEND: usize = 1_000;

pub(crate) async fn office_bookings(
    store: &SqlStore,
    office: OfficeCode,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Booking>> {
    crate::listing::office_bookings(store, office, from_ms, to_ms).await
}

pub(crate) async fn events(
    store: &SqlStore,
    office: OfficeCode,
    day: JalaliDate,
    from_seq: u64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT event_json FROM queue_events WHERE office_code = $1 AND day = $2 AND seq >= $3 \
         ORDER BY seq",
    )
    .bind(i64::from(office.get()))
    .bind(day.to_string())
    .bind(i64::try_from(from_seq).unwrap_or(i64::MAX))
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("event_json")?)).collect()
}

/// Refuses an append its permit does not cover or that is too long; `Ok(false)` when it
/// carries nothing to write.
fn check_append(permit: &Permit, append: &QueueAppend) -> Result<bool> {
    let office = append.office;
    require(
        permit,
        |a| matches!(a, Action::OperateQueue { office: o } if *o == office),
    )?;
    let effects = &append.effects;
    let nothing_beside =
        effects.statuses.is_empty() && effects.notices.is_empty() && effects.surveys.is_empty();
    if append.events.is_empty() && nothing_beside {
        return Ok(false);
    }
    if append.events.len() > MAX_EVENTS_PER_APPEND {
        return Err(StoreError::wrong_state(
            crate::StateRule::TooManyQueueEvents,
            format!("at most {MAX_EVENTS_PER_APPEND} events per append"),
        ));
    }
    Ok(true)
}

pub(crate) async fn append(
    store: &SqlStore,
    permit: &Permit,
    append: &QueueAppend,
    ctx: &AuditContext,
) -> Result<()> {
    if !check_append(permit, append)? {
        return Ok(());
    }
    let (_turn, mut tx) = store.begin_write().await?;
    if let Err(e) = write_append(&mut tx, &store.tracking_key, permit, append, ctx).await {
        let _ = tx.rollback().await;
        return Err(e);
    }
    tx.commit().await?;
    Ok(())
}

/// One transaction for the whole batch and a savepoint for each append, so that one append's
/// conflict undoes only its own rows and the rest still share the commit.
pub(crate) async fn append_batch(
    store: &SqlStore,
    batch: &[crate::QueueWrite],
) -> Result<Vec<Result<()>>> {
    if batch.len() > crate::MAX_QUEUE_BATCH {
        return Err(StoreError::wrong_state(
            crate::StateRule::TooManyQueueEvents,
            format!("at most {} appends per batch", crate::MAX_QUEUE_BATCH),
        ));
    }
    let checked: Vec<Result<bool>> = batch
        .iter()
        .map(|w| check_append(&w.permit, &w.append))
        .collect();
    if !checked.iter().any(|c| matches!(c, Ok(true))) {
        return Ok(checked.into_iter().map(|c| c.map(|_| ())).collect());
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let mut results = Vec::with_capacity(batch.len());
    for (w, checked) in batch.iter().zip(checked) {
        match checked {
            Ok(true) => {}
            other => {
                results.push(other.map(|_| ()));
                continue;
            }
        }
        sqlx::query("SAVEPOINT queue_append")
            .execute(&mut *tx)
            .await?;
        match write_append(&mut tx, &store.tracking_key, &w.permit, &w.append, &w.ctx).await {
            Ok(()) => {
                sqlx::query("RELEASE SAVEPOINT queue_append")
                    .execute(&mut *tx)
                    .await?;
                results.push(Ok(()));
            }
            Err(e) => {
                sqlx::query("ROLLBACK TO SAVEPOINT queue_append")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("RELEASE SAVEPOINT queue_append")
                    .execute(&mut *tx)
                    .await?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// The log's rows, what they change beside it, and the audit row, in the caller's transaction.
async fn write_append(
    tx: &mut crate::sql::AnyTx<'_>,
    tracking_key: &[u8; 32],
    permit: &Permit,
    append: &QueueAppend,
    ctx: &AuditContext,
) -> Result<()> {
    let QueueAppend {
        office,
        day,
        first_seq,
        events,
        effects,
    } = append;
    let (office, day, first_seq) = (*office, *day, *first_seq);
    for (i, e) in events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO queue_events (office_code, day, seq, at_ms, event_json) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(i64::from(office.get()))
        .bind(day.to_string())
        .bind((first_seq + i as u64) as i64)
        .bind(ctx.now_ms)
        .bind(e.clone())
        .execute(&mut **tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict { .. } => StoreError::Conflict {
                what: "the queue changed meanwhile".into(),
            },
            other => other,
        })?;
    }
    write_effects(tx, tracking_key, office, day, effects, ctx.now_ms).await?;
    audit_permit(
        tx,
        permit,
        &format!("queue:{office}:{day}"),
        serde_json::json!({ "from_seq": first_seq, "events": events.len() }),
        ctx,
    )
    .await
}

/// Writes what an append changes beside the log, inside its transaction.
async fn write_effects(
    tx: &mut crate::sql::AnyTx<'_>,
    tracking_key: &[u8; 32],
    office: OfficeCode,
    day: JalaliDate,
    effects: &QueueEffects,
    now_ms: i64,
) -> Result<()> {
    for (code, status) in &effects.statuses {
        if matches!(status, BookingStatus::Booked | BookingStatus::Cancelled) {
            return Err(StoreError::wrong_state(
                crate::StateRule::QueueStatus,
                format!("a queue does not set a booking to {}", status.code()),
            ));
        }
        // A cancelled booking stays cancelled: the queue never revives it. The row is found
        // by its number (the code is a keyed permutation of it): codes have no index, and a
        // search by code stepped through every booking of the store for each status.
        sqlx::query(
            "UPDATE bookings SET status = $1, updated_at_ms = $2 \
             WHERE seq = $3 AND office_code = $4 AND status <> 'cancelled'",
        )
        .bind(status.code())
        .bind(now_ms)
        .bind(code.to_sequence(tracking_key) as i64)
        .bind(i64::from(office.get()))
        .execute(&mut **tx)
        .await?;
    }
    for s in &effects.surveys {
        sqlx::query(
            "INSERT INTO surveys (tracking_code, token_hash, office_code, service_code, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tracking_code) DO NOTHING",
        )
        .bind(s.tracking_code.as_str().to_string())
        .bind(s.token_hash.clone())
        .bind(i64::from(s.office.get()))
        .bind(s.service.as_str().to_string())
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    }
    for n in &effects.notices {
        crate::outbox::enqueue(
            tx,
            &crate::outbox::NewMessage {
                kind: n.kind,
                recipient: n.recipient.clone(),
                dedupe_key: n.dedupe_key.clone(),
                payload: n.payload.clone(),
            },
            now_ms,
        )
        .await?;
    }
    if let Some(f) = &effects.figures {
        sqlx::query(
            "INSERT INTO office_day_figures (office_code, day, figures_json, updated_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (office_code, day) \
             DO UPDATE SET figures_json = excluded.figures_json, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(i64::from(office.get()))
        .bind(day.to_string())
        .bind(f.to_string())
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        crate::rollups::queue_figures(tx, office, day, f).await?;
    }
    Ok(())
}

fn figures_from_row(r: &sqlx::any::AnyRow) -> Result<OfficeDayFigures> {
    let office: i64 = r.try_get("office_code")?;
    let day: String = r.try_get("day")?;
    let json: String = r.try_get("figures_json")?;
    Ok(OfficeDayFigures {
        office: OfficeCode::from_u32(office as u32)
            .map_err(|e| crate::sql::corrupt("figures office", e))?,
        day: JalaliDate::parse(&day).map_err(|e| crate::sql::corrupt("figures day", e))?,
        figures: serde_json::from_str(&json).map_err(|e| crate::sql::corrupt("figures", e))?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

pub(crate) async fn office_day_figures(
    store: &SqlStore,
    office: OfficeCode,
    day: JalaliDate,
) -> Result<Option<OfficeDayFigures>> {
    let row = sqlx::query(
        "SELECT office_code, day, figures_json, updated_at_ms FROM office_day_figures \
         WHERE office_code = $1 AND day = $2",
    )
    .bind(i64::from(office.get()))
    .bind(day.to_string())
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(figures_from_row).transpose()
}

pub(crate) async fn day_figures(
    store: &SqlStore,
    day: JalaliDate,
    page: PageRequest,
) -> Result<Page<OfficeDayFigures>> {
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM office_day_figures WHERE day = $1")
        .bind(day.to_string())
        .fetch_one(&store.pool)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(
        "SELECT office_code, day, figures_json, updated_at_ms FROM office_day_figures \
         WHERE day = $1 ORDER BY office_code LIMIT $2 OFFSET $3",
    )
    .bind(day.to_string())
    .bind(i64::from(page.per_page()))
    .bind(page.offset())
    .fetch_all(&store.pool)
    .await?;
    Ok(Page {
        items: rows.iter().map(figures_from_row).collect::<Result<_>>()?,
        total: total as u64,
    })
}

/// Most reminders one sweep enqueues; the next sweep continues.
const MAX_REMINDERS_PER_SWEEP: i64 = 50_000;

pub(crate) async fn enqueue_reminders(
    store: &SqlStore,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Result<u64> {
    // One statement: the outbox's unique dedupe key makes a repeated sweep a no-op, and the
    // slot time in the key gives a rescheduled booking its own reminder.
    let (_turn, mut tx) = store.begin_write().await?;
    let concat = |parts: &[&str]| parts.join(" || ");
    let reminder = crate::OutboxKind::BookingReminder.as_str();
    let key_prefix = format!("'{reminder}:'");
    let key = concat(&[
        &key_prefix,
        "tracking_code",
        "':'",
        "CAST(slot_start_ms AS TEXT)",
    ]);
    let payload = concat(&[
        "'{\"tracking_code\":\"'",
        "substr(tracking_code, 1, 4)",
        "'-'",
        "substr(tracking_code, 5, 4)",
        "'\",\"office\":\"'",
        "CAST(office_code AS TEXT)",
        "'\",\"service\":\"'",
        "service_code",
        "'\",\"slot_start_ms\":'",
        "CAST(slot_start_ms AS TEXT)",
        "',\"slot_end_ms\":'",
        "CAST(slot_end_ms AS TEXT)",
        "'}'",
    ]);
    let sql = format!(
        "INSERT INTO outbox (kind, recipient, dedupe_key, payload_json, status, next_attempt_at_ms, created_at_ms) \
         SELECT '{reminder}', mobile, {key}, {payload}, 'pending', $1, $1 FROM bookings \
         WHERE archived = 0 AND status = 'booked' AND slot_start_ms >= $2 AND slot_start_ms < $3 \
         ORDER BY slot_start_ms LIMIT {MAX_REMINDERS_PER_SWEEP} \
         ON CONFLICT (dedupe_key) DO NOTHING"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now_ms)
        .bind(from_ms)
        .bind(to_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub(crate) async fn overdue_booking_offices(
    store: &SqlStore,
    since_ms: i64,
    before_ms: i64,
    limit: u32,
) -> Result<Vec<(OfficeCode, i64)>> {
    let rows = sqlx::query(
        "SELECT office_code, MIN(slot_start_ms) AS first_ms FROM bookings \
         WHERE archived = 0 AND status = 'booked' AND slot_start_ms >= $1 AND slot_start_ms < $2 AND slot_end_ms <= $2 \
         GROUP BY office_code ORDER BY office_code LIMIT $3",
    )
    .bind(since_ms)
    .bind(before_ms)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let office: i64 = r.try_get("office_code")?;
            Ok((
                OfficeCode::from_u32(office as u32)
                    .map_err(|e| crate::sql::corrupt("booking office", e))?,
                r.try_get("first_ms")?,
            ))
        })
        .collect()
}

fn survey_from_row(r: &sqlx::any::AnyRow) -> Result<Survey> {
    let code: String = r.try_get("tracking_code")?;
    let office: i64 = r.try_get("office_code")?;
    let service: String = r.try_get("service_code")?;
    let rating: Option<i64> = r.try_get("rating")?;
    Ok(Survey {
        tracking_code: TrackingCode::parse(&code)
            .map_err(|e| crate::sql::corrupt("survey tracking code", e))?,
        office: OfficeCode::from_u32(office as u32)
            .map_err(|e| crate::sql::corrupt("survey office", e))?,
        service: pishkhan_domain::model::ServiceCode::parse(&service)
            .map_err(|e| crate::sql::corrupt("survey service", e.message))?,
        created_at_ms: r.try_get("created_at_ms")?,
        rating: rating.map(|r| r.clamp(0, 5) as u8),
        comment: r.try_get("comment")?,
    })
}

const SURVEY_COLS: &str =
    "tracking_code, office_code, service_code, created_at_ms, rating, comment";

pub(crate) async fn survey(store: &SqlStore, token_hash: &str) -> Result<Survey> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SURVEY_COLS} FROM surveys WHERE token_hash = $1"
    )))
    .bind(token_hash.to_string())
    .fetch_optional(&store.pool)
    .await?
    .ok_or(StoreError::NotFound { entity: "survey" })?;
    survey_from_row(&row)
}

pub(crate) async fn answer_survey(
    store: &SqlStore,
    token_hash: &str,
    rating: u8,
    comment: Option<&str>,
    ctx: &AuditContext,
) -> Result<Survey> {
    let (_turn, mut tx) = store.begin_write().await?;
    let answered = sqlx::query(
        "UPDATE surveys SET rating = $1, comment = $2, answered_at_ms = $3 \
         WHERE token_hash = $4 AND answered_at_ms IS NULL RETURNING tracking_code, office_code",
    )
    .bind(i64::from(rating))
    .bind(comment.map(str::to_string))
    .bind(ctx.now_ms)
    .bind(token_hash.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = &answered {
        // The link went to the booking's citizen; the comment's text stays out of the log.
        let code: String = row.try_get("tracking_code")?;
        let office: i64 = row.try_get("office_code")?;
        let office = OfficeCode::from_u32(office as u32)
            .map_err(|e| crate::sql::corrupt("survey office", e))?;
        let rated = crate::rollups::Delta::new(office, crate::rollups::day_of(ctx.now_ms))
            .with(crate::rollups::Col::Ratings, 1)
            .with(crate::rollups::Col::RatingSum, i64::from(rating));
        crate::rollups::bump(&mut tx, &[rated]).await?;
        let seq = TrackingCode::parse(&code)
            .map_err(|e| crate::sql::corrupt("survey tracking code", e))?
            .to_sequence(&store.tracking_key);
        let citizen =
            sqlx::query("SELECT national_code FROM bookings WHERE seq = $1 AND tracking_code = $2")
                .bind(seq as i64)
                .bind(code.clone())
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>("national_code"))
                .transpose()?;
        let actor = match citizen {
            Some(nc) => format!("citizen:{nc}"),
            None => "survey-link".to_string(),
        };
        crate::sql::write_audit(
            &mut tx,
            &actor,
            None,
            "survey.answer",
            &format!("survey:{code}"),
            &serde_json::json!({ "rating": rating, "comment": comment.is_some() }),
            ctx,
        )
        .await?;
    }
    tx.commit().await?;
    let done = answered.is_some();
    let survey = survey(store, token_hash).await?;
    if !done {
        return Err(StoreError::wrong_state(
            crate::StateRule::SurveyAnswered,
            "this survey was already answered",
        ));
    }
    Ok(survey)
}

#[async_trait]
impl crate::Queue for SqlStore {
    async fn queue_events(&self, office: OfficeCode, day: JalaliDate) -> Result<Vec<String>> {
        crate::queue::events(self, office, day, 0).await
    }

    async fn queue_events_from(
        &self,
        office: OfficeCode,
        day: JalaliDate,
        from_seq: u64,
    ) -> Result<Vec<String>> {
        crate::queue::events(self, office, day, from_seq).await
    }

    async fn append_queue_events(
        &self,
        permit: &Permit,
        append: &crate::QueueAppend,
        ctx: &AuditContext,
    ) -> Result<()> {
        crate::queue::append(self, permit, append, ctx).await?;
        self.bookings
            .observe_statuses(&append.effects.statuses)
            .await?;
        Ok(())
    }

    async fn append_queue_batch(&self, batch: &[crate::QueueWrite]) -> Result<Vec<Result<()>>> {
        let results = crate::queue::append_batch(self, batch).await?;
        let statuses: Vec<(TrackingCode, BookingStatus)> = batch
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .flat_map(|(w, _)| w.append.effects.statuses.iter().cloned())
            .collect();
        self.bookings.observe_statuses(&statuses).await?;
        Ok(results)
    }

    async fn office_day_figures(
        &self,
        office: OfficeCode,
        day: JalaliDate,
    ) -> Result<Option<crate::OfficeDayFigures>> {
        crate::queue::office_day_figures(self, office, day).await
    }

    async fn day_figures(
        &self,
        day: JalaliDate,
        page: PageRequest,
    ) -> Result<Page<crate::OfficeDayFigures>> {
        crate::queue::day_figures(self, day, page).await
    }

    async fn overdue_booking_offices(
        &self,
        since_ms: i64,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<(OfficeCode, i64)>> {
        crate::queue::overdue_booking_offices(self, since_ms, before_ms, limit).await
    }

    async fn office_counters(
        &self,
        office: OfficeCode,
    ) -> Result<Vec<(u16, Option<Vec<ServiceCode>>)>> {
        let rows = sqlx::query(
            "SELECT counter, services_json FROM office_counters WHERE office_code = $1 ORDER BY counter",
        )
        .bind(i64::from(office.get()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let counter: i64 = r.try_get("counter")?;
                let services = crate::capacity::counter_services(r.try_get("services_json")?)?;
                Ok((counter as u16, services))
            })
            .collect()
    }

    async fn set_office_counters(
        &self,
        permit: &Permit,
        office: OfficeCode,
        counters: &[(u16, Option<Vec<ServiceCode>>)],
        ctx: &AuditContext,
    ) -> Result<()> {
        require(
            permit,
            |a| matches!(a, Action::ConfigureSchedule { office: o } if *o == office),
        )?;
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM office_counters WHERE office_code = $1")
            .bind(i64::from(office.get()))
            .execute(&mut *tx)
            .await?;
        for (counter, services) in counters {
            let json = services
                .as_ref()
                .map(|s| {
                    serde_json::to_string(&s.iter().map(|c| c.as_str()).collect::<Vec<_>>())
                        .map_err(|e| corrupt("counter services", e))
                })
                .transpose()?;
            sqlx::query(
                "INSERT INTO office_counters (office_code, counter, services_json, updated_at_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(i64::from(office.get()))
            .bind(i64::from(*counter))
            .bind(json)
            .bind(ctx.now_ms)
            .execute(&mut *tx)
            .await?;
        }
        audit_permit(
            &mut tx,
            permit,
            &format!("office:{office}:counters"),
            serde_json::json!({ "counters": counters.len() }),
            ctx,
        )
        .await?;
        tx.commit().await?;
        self.bookings.references_changed(Some(office));
        Ok(())
    }

    async fn survey(&self, token_hash: &str) -> Result<crate::Survey> {
        crate::queue::survey(self, token_hash).await
    }

    async fn record_survey_answer(
        &self,
        token_hash: &str,
        rating: u8,
        comment: Option<&str>,
        ctx: &AuditContext,
    ) -> Result<Survey> {
        answer_survey(self, token_hash, rating, comment, ctx).await
    }
}
