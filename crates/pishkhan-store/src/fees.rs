//! Fee tariffs for both stores: a tariff row and its component rows, written together and
//! never changed (migration 0012's triggers refuse it).

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff, Tariff};
use pishkhan_domain::indexation::{CpiPoint, Factor, FactorRule};
use pishkhan_domain::model::ServiceCode;
use pishkhan_domain::money::Rials;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::areas::{
    CpiImport, Fees, IndexationRow, IndexationRun, IndexationRunSummary, MAX_RUNS_LISTED,
    MAX_TARIFF_HISTORY, MAX_TARIFFS_PER_PUBLICATION, NewIndexationRun,
};
use crate::sql::{AnyTx, Arg, SqlStore, audit_permit, corrupt, field, insert_rows, require};
use crate::{AuditContext, Result, StateRule, StoreError};

const TARIFF_COLS: &str = "t.service_code, t.effective_from, t.basis, t.published_by, \
     t.published_at_ms, c.kind, c.amount_rials";

/// Folds (tariff × component) rows, in tariff order, into tariffs.
fn tariffs_from_rows(rows: &[AnyRow]) -> Result<Vec<Tariff>> {
    let mut out: Vec<Tariff> = Vec::new();
    for r in rows {
        let service = field(
            "tariff service",
            ServiceCode::parse(&r.try_get::<String, _>("service_code")?),
        )?;
        let effective_from = field(
            "tariff date",
            JalaliDate::parse(&r.try_get::<String, _>("effective_from")?),
        )?;
        let component = FeeComponent {
            kind: field("fee kind", FeeKind::parse(&r.try_get::<String, _>("kind")?))?,
            amount: field("fee amount", Rials::new(r.try_get("amount_rials")?))?,
        };
        match out.last_mut() {
            Some(t) if t.service == service && t.effective_from == effective_from => {
                t.components.push(component)
            }
            _ => out.push(Tariff {
                service,
                effective_from,
                components: vec![component],
                basis: r.try_get("basis")?,
                published_by: r.try_get("published_by")?,
                published_at_ms: r.try_get("published_at_ms")?,
            }),
        }
    }
    for t in &mut out {
        t.components.sort_by_key(|c| c.kind);
    }
    Ok(out)
}

async fn publish(
    store: &SqlStore,
    permit: &Permit,
    tariffs: &[NewTariff],
    ctx: &AuditContext,
) -> Result<u64> {
    require(permit, |a| matches!(a, Action::PublishTariff))?;
    if tariffs.is_empty() {
        return Ok(0);
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = insert_tariffs(store, &mut tx, permit, tariffs, ctx).await;
    crate::bookings::finish(tx, outcome).await
}

/// Writes tariffs and their components, and one audit row for the publication.
async fn insert_tariffs(
    store: &SqlStore,
    tx: &mut AnyTx<'static>,
    permit: &Permit,
    tariffs: &[NewTariff],
    ctx: &AuditContext,
) -> Result<u64> {
    if tariffs.len() > MAX_TARIFFS_PER_PUBLICATION {
        return Err(StoreError::LimitReached {
            rule: format!("at most {MAX_TARIFFS_PER_PUBLICATION} tariffs in one publication"),
        });
    }
    let publisher = permit.principal().audit_name();
    let head_rows = tariffs
        .iter()
        .map(|t| {
            let total: i64 = t.components.iter().map(|c| c.amount.get()).sum();
            vec![
                Arg::Text(t.service.as_str().to_string()),
                Arg::Text(t.effective_from.to_string()),
                Arg::Int(i64::from(t.effective_from.year())),
                Arg::Int(total),
                Arg::Text(t.basis.clone()),
                Arg::Text(publisher.clone()),
                Arg::Int(ctx.now_ms),
            ]
        })
        .collect();
    insert_rows(
        tx,
        store.dialect.as_ref(),
        "INSERT INTO tariffs (service_code, effective_from, fiscal_year, total_rials, basis, \
         published_by, published_at_ms) VALUES ",
        "",
        head_rows,
    )
    .await?;
    let component_rows = tariffs
        .iter()
        .flat_map(|t| {
            t.components.iter().map(|c| {
                vec![
                    Arg::Text(t.service.as_str().to_string()),
                    Arg::Text(t.effective_from.to_string()),
                    Arg::Text(c.kind.code().to_string()),
                    Arg::Int(c.amount.get()),
                ]
            })
        })
        .collect();
    insert_rows(
        tx,
        store.dialect.as_ref(),
        "INSERT INTO tariff_components (service_code, effective_from, kind, amount_rials) \
         VALUES ",
        "",
        component_rows,
    )
    .await?;
    // One audit row per publication: the whole catalogue's yearly tariffs are one act.
    let target = match tariffs {
        [one] => format!("tariff:{}@{}", one.service.as_str(), one.effective_from),
        _ => format!("tariffs:{}", tariffs.len()),
    };
    audit_permit(
        tx,
        permit,
        &target,
        serde_json::json!({
        "tariffs": tariffs.iter().map(|t| serde_json::json!({
            "service": t.service.as_str(),
            "effective_from": t.effective_from.to_string(),
            "basis": t.basis,
            "components": t.components.iter().map(|c| serde_json::json!({
            "kind": c.kind.code(),
            "amount_rials": c.amount.get(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        }),
        ctx,
    )
    .await?;
    Ok(tariffs.len() as u64)
}

async fn tariff_on(
    store: &SqlStore,
    service: &ServiceCode,
    date: JalaliDate,
) -> Result<Option<Tariff>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TARIFF_COLS} FROM tariffs t JOIN tariff_components c \
         ON c.service_code = t.service_code AND c.effective_from = t.effective_from \
         WHERE t.service_code = $1 AND t.effective_from = (SELECT MAX(effective_from) \
         FROM tariffs WHERE service_code = $1 AND effective_from <= $2)"
    )))
    .bind(service.as_str().to_string())
    .bind(date.to_string())
    .fetch_all(&store.pool)
    .await?;
    Ok(tariffs_from_rows(&rows)?.into_iter().next())
}

async fn tariffs_on(store: &SqlStore, date: JalaliDate) -> Result<Vec<Tariff>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TARIFF_COLS} FROM tariffs t JOIN tariff_components c \
         ON c.service_code = t.service_code AND c.effective_from = t.effective_from \
         WHERE t.effective_from = (SELECT MAX(l.effective_from) FROM tariffs l \
         WHERE l.service_code = t.service_code AND l.effective_from <= $1) \
         ORDER BY t.service_code, c.kind"
    )))
    .bind(date.to_string())
    .fetch_all(&store.pool)
    .await?;
    tariffs_from_rows(&rows)
}

async fn history(store: &SqlStore, service: &ServiceCode) -> Result<Vec<Tariff>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TARIFF_COLS} FROM tariffs t JOIN tariff_components c \
         ON c.service_code = t.service_code AND c.effective_from = t.effective_from \
         WHERE t.service_code = $1 AND t.effective_from IN (SELECT effective_from FROM tariffs \
         WHERE service_code = $1 ORDER BY effective_from DESC LIMIT $2) \
         ORDER BY t.effective_from DESC, c.kind"
    )))
    .bind(service.as_str().to_string())
    .bind(MAX_TARIFF_HISTORY as i64)
    .fetch_all(&store.pool)
    .await?;
    tariffs_from_rows(&rows)
}

// ---- CPI imports and indexation runs -------------------------------------------------------

async fn import_cpi(
    store: &SqlStore,
    permit: &Permit,
    source: &str,
    digest: &str,
    points: &[CpiPoint],
    ctx: &AuditContext,
) -> Result<i64> {
    require(permit, |a| matches!(a, Action::PublishTariff))?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let id: i64 = sqlx::query(
            "INSERT INTO cpi_imports (source, digest, months, imported_by, imported_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(source.to_string())
        .bind(digest.to_string())
        .bind(points.len() as i64)
        .bind(permit.principal().audit_name())
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let rows = points
            .iter()
            .map(|p| {
                vec![
                    Arg::Int(id),
                    Arg::Int(i64::from(p.year)),
                    Arg::Int(i64::from(p.month)),
                    Arg::Int(p.index_milli),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            store.dialect.as_ref(),
            "INSERT INTO cpi_points (import_id, year, month, index_milli) VALUES ",
            "",
            rows,
        )
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("cpi:{id}"),
            serde_json::json!({ "source": source, "months": points.len(), "digest": digest }),
            ctx,
        )
        .await?;
        Ok(id)
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

async fn cpi_import(store: &SqlStore, id: i64) -> Result<CpiImport> {
    let head = sqlx::query(
        "SELECT id, source, digest, imported_by, imported_at_ms FROM cpi_imports WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&store.pool)
    .await?
    .ok_or(StoreError::NotFound {
        entity: "CPI import",
    })?;
    let points = sqlx::query(
        "SELECT year, month, index_milli FROM cpi_points WHERE import_id = $1 \
         ORDER BY year, month",
    )
    .bind(id)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(CpiPoint {
            year: i32::try_from(r.try_get::<i64, _>("year")?).map_err(|e| corrupt("cpi", e))?,
            month: u8::try_from(r.try_get::<i64, _>("month")?).map_err(|e| corrupt("cpi", e))?,
            index_milli: r.try_get("index_milli")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(CpiImport {
        id: head.try_get("id")?,
        source: head.try_get("source")?,
        digest: head.try_get("digest")?,
        points,
        imported_by: head.try_get("imported_by")?,
        imported_at_ms: head.try_get("imported_at_ms")?,
    })
}

async fn create_run(
    store: &SqlStore,
    permit: &Permit,
    run: &NewIndexationRun,
    ctx: &AuditContext,
) -> Result<i64> {
    require(permit, |a| matches!(a, Action::PublishTariff))?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let id: i64 = sqlx::query(
            "INSERT INTO indexation_runs (import_id, fiscal_year, rule, floor_milli, cap_milli, \
             rounding, factor_from_milli, factor_to_milli, factor_raw_milli, factor_milli, \
             proposal_digest, status, created_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'proposed', $12, $13) \
             RETURNING id",
        )
        .bind(run.import_id)
        .bind(i64::from(run.spec.fiscal_year))
        .bind(run.spec.rule.code())
        .bind(run.spec.floor_milli)
        .bind(run.spec.cap_milli)
        .bind(run.rounding.clone())
        .bind(run.factor.from_milli)
        .bind(run.factor.to_milli)
        .bind(run.factor.raw_milli)
        .bind(run.factor.applied_milli)
        .bind(run.digest.clone())
        .bind(permit.principal().audit_name())
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let rows = run
            .rows
            .iter()
            .map(|r| {
                vec![
                    Arg::Int(id),
                    Arg::Text(r.service.as_str().to_string()),
                    Arg::Text(r.kind.code().to_string()),
                    Arg::Int(r.old.get()),
                    Arg::Int(r.proposed.get()),
                    Arg::Int(r.proposed.get()),
                ]
            })
            .collect();
        insert_rows(
            &mut tx,
            store.dialect.as_ref(),
            "INSERT INTO indexation_rows (run_id, service_code, kind, old_rials, proposed_rials, \
             final_rials) VALUES ",
            "",
            rows,
        )
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("indexation_run:{id}"),
            serde_json::json!({
                "cpi_import": run.import_id,
                "fiscal_year": run.spec.fiscal_year,
                "rule": run.spec.rule.code(),
                "factor_milli": run.factor.applied_milli,
                "rows": run.rows.len(),
                "digest": run.digest,
            }),
            ctx,
        )
        .await?;
        Ok(id)
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

async fn run_of(store: &SqlStore, id: i64) -> Result<IndexationRun> {
    let r = sqlx::query(
        "SELECT id, import_id, fiscal_year, rule, floor_milli, cap_milli, rounding, \
         factor_from_milli, factor_to_milli, factor_raw_milli, factor_milli, proposal_digest, \
         status, effective_from, created_by, created_at_ms, published_by, published_at_ms \
         FROM indexation_runs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&store.pool)
    .await?
    .ok_or(StoreError::NotFound {
        entity: "indexation run",
    })?;
    let rows = sqlx::query(
        "SELECT service_code, kind, old_rials, proposed_rials, final_rials, edit_reason, \
         edited_by FROM indexation_rows WHERE run_id = $1 ORDER BY service_code, kind",
    )
    .bind(id)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|x| {
        Ok(IndexationRow {
            service: field(
                "run service",
                ServiceCode::parse(&x.try_get::<String, _>("service_code")?),
            )?,
            kind: field("run kind", FeeKind::parse(&x.try_get::<String, _>("kind")?))?,
            old: field("run old", Rials::new(x.try_get("old_rials")?))?,
            proposed: field("run proposed", Rials::new(x.try_get("proposed_rials")?))?,
            final_amount: field("run final", Rials::new(x.try_get("final_rials")?))?,
            edit_reason: x.try_get("edit_reason")?,
            edited_by: x.try_get("edited_by")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let head = summary_of(&r)?;
    Ok(IndexationRun {
        id: head.id,
        import_id: head.import_id,
        fiscal_year: head.fiscal_year,
        rule: head.rule,
        floor_milli: r.try_get("floor_milli")?,
        cap_milli: r.try_get("cap_milli")?,
        rounding: r.try_get("rounding")?,
        factor: Factor {
            from_milli: r.try_get("factor_from_milli")?,
            to_milli: r.try_get("factor_to_milli")?,
            raw_milli: r.try_get("factor_raw_milli")?,
            applied_milli: head.factor_milli,
        },
        digest: r.try_get("proposal_digest")?,
        published: head.published,
        effective_from: head.effective_from,
        created_by: r.try_get("created_by")?,
        created_at_ms: head.created_at_ms,
        published_by: r.try_get("published_by")?,
        published_at_ms: r.try_get("published_at_ms")?,
        rows,
    })
}

/// The columns of a run that both the list and the whole run read.
fn summary_of(r: &AnyRow) -> Result<IndexationRunSummary> {
    let effective_from: Option<String> = r.try_get("effective_from")?;
    Ok(IndexationRunSummary {
        id: r.try_get("id")?,
        import_id: r.try_get("import_id")?,
        fiscal_year: i32::try_from(r.try_get::<i64, _>("fiscal_year")?)
            .map_err(|e| corrupt("run year", e))?,
        rule: field(
            "run rule",
            FactorRule::parse(&r.try_get::<String, _>("rule")?),
        )?,
        factor_milli: r.try_get("factor_milli")?,
        published: r.try_get::<String, _>("status")? == "published",
        effective_from: effective_from
            .map(|d| field("run date", JalaliDate::parse(&d)))
            .transpose()?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

async fn recent_runs(store: &SqlStore) -> Result<Vec<IndexationRunSummary>> {
    sqlx::query(
        "SELECT id, import_id, fiscal_year, rule, factor_milli, status, effective_from, \
         created_at_ms FROM indexation_runs ORDER BY id DESC LIMIT $1",
    )
    .bind(MAX_RUNS_LISTED as i64)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(summary_of)
    .collect()
}

fn run_published() -> StoreError {
    StoreError::wrong_state(
        StateRule::RunPublished,
        "the indexation run is published; start a new run to change its amounts",
    )
}

#[allow(clippy::too_many_arguments)]
async fn edit_row(
    store: &SqlStore,
    permit: &Permit,
    run_id: i64,
    service: &ServiceCode,
    kind: FeeKind,
    amount: Rials,
    reason: &str,
    ctx: &AuditContext,
) -> Result<()> {
    require(permit, |a| matches!(a, Action::PublishTariff))?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let status: Option<String> =
            sqlx::query("SELECT status FROM indexation_runs WHERE id = $1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("status"))
                .transpose()?;
        match status.as_deref() {
            None => {
                return Err(StoreError::NotFound {
                    entity: "indexation run",
                });
            }
            Some("proposed") => {}
            Some(_) => return Err(run_published()),
        }
        let old: Option<i64> = sqlx::query(
            "SELECT final_rials FROM indexation_rows WHERE run_id = $1 AND service_code = $2 \
             AND kind = $3",
        )
        .bind(run_id)
        .bind(service.as_str().to_string())
        .bind(kind.code())
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("final_rials"))
        .transpose()?;
        let Some(old) = old else {
            return Err(StoreError::NotFound {
                entity: "indexation row",
            });
        };
        sqlx::query(
            "UPDATE indexation_rows SET final_rials = $1, edit_reason = $2, edited_by = $3 \
             WHERE run_id = $4 AND service_code = $5 AND kind = $6",
        )
        .bind(amount.get())
        .bind(reason.to_string())
        .bind(permit.principal().audit_name())
        .bind(run_id)
        .bind(service.as_str().to_string())
        .bind(kind.code())
        .execute(&mut *tx)
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("indexation_run:{run_id}"),
            serde_json::json!({
                "service": service.as_str(),
                "kind": kind.code(),
                "from_rials": old,
                "to_rials": amount.get(),
                "reason": reason,
            }),
            ctx,
        )
        .await
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

/// Tells every office manager (not disabled), by text, that next year's fees are published: one
/// outbox row each, in the publication's transaction.
async fn notify_managers(
    tx: &mut AnyTx<'static>,
    run_id: i64,
    effective_from: JalaliDate,
    services: usize,
    now_ms: i64,
) -> Result<()> {
    let payload = serde_json::json!({
        "run": run_id,
        "fiscal_year": effective_from.year(),
        "effective_from": effective_from.to_string(),
        "services": services,
    });
    sqlx::query(
        "INSERT INTO outbox (kind, recipient, dedupe_key, payload_json, status, \
         next_attempt_at_ms, created_at_ms) \
         SELECT $1, mobile, $2 || CAST(id AS TEXT), $3, 'pending', $4, $4 FROM staff \
         WHERE role = 'manager' AND status <> 'disabled' ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(pishkhan_domain::outbox::OutboxKind::TariffsPublished.as_str())
    .bind(format!("tariffs:{run_id}:"))
    .bind(payload.to_string())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn publish_run(
    store: &SqlStore,
    permit: &Permit,
    run_id: i64,
    effective_from: JalaliDate,
    tariffs: &[NewTariff],
    ctx: &AuditContext,
) -> Result<()> {
    require(permit, |a| matches!(a, Action::PublishTariff))?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let done = sqlx::query(
            "UPDATE indexation_runs SET status = 'published', effective_from = $1, \
             published_by = $2, published_at_ms = $3 WHERE id = $4 AND status = 'proposed'",
        )
        .bind(effective_from.to_string())
        .bind(permit.principal().audit_name())
        .bind(ctx.now_ms)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists = sqlx::query("SELECT id FROM indexation_runs WHERE id = $1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Err(if exists {
                run_published()
            } else {
                StoreError::NotFound {
                    entity: "indexation run",
                }
            });
        }
        if !tariffs.is_empty() {
            insert_tariffs(store, &mut tx, permit, tariffs, ctx).await?;
        }
        notify_managers(&mut tx, run_id, effective_from, tariffs.len(), ctx.now_ms).await?;
        Ok(())
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

#[async_trait]
impl Fees for SqlStore {
    async fn publish_tariffs(
        &self,
        permit: &Permit,
        tariffs: &[NewTariff],
        ctx: &AuditContext,
    ) -> Result<u64> {
        publish(self, permit, tariffs, ctx).await
    }

    async fn tariff_on(&self, service: &ServiceCode, date: JalaliDate) -> Result<Option<Tariff>> {
        tariff_on(self, service, date).await
    }

    async fn tariffs_on(&self, date: JalaliDate) -> Result<Vec<Tariff>> {
        tariffs_on(self, date).await
    }

    async fn tariff_history(&self, service: &ServiceCode) -> Result<Vec<Tariff>> {
        history(self, service).await
    }

    async fn import_cpi(
        &self,
        permit: &Permit,
        source: &str,
        digest: &str,
        points: &[CpiPoint],
        ctx: &AuditContext,
    ) -> Result<i64> {
        import_cpi(self, permit, source, digest, points, ctx).await
    }

    async fn cpi_import(&self, id: i64) -> Result<CpiImport> {
        cpi_import(self, id).await
    }

    async fn create_indexation_run(
        &self,
        permit: &Permit,
        run: &NewIndexationRun,
        ctx: &AuditContext,
    ) -> Result<i64> {
        create_run(self, permit, run, ctx).await
    }

    async fn indexation_run(&self, id: i64) -> Result<IndexationRun> {
        run_of(self, id).await
    }

    async fn recent_indexation_runs(&self) -> Result<Vec<IndexationRunSummary>> {
        recent_runs(self).await
    }

    async fn edit_indexation_row(
        &self,
        permit: &Permit,
        run_id: i64,
        service: &ServiceCode,
        kind: FeeKind,
        amount: Rials,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<()> {
        edit_row(self, permit, run_id, service, kind, amount, reason, ctx).await
    }

    async fn publish_indexation_run(
        &self,
        permit: &Permit,
        run_id: i64,
        effective_from: JalaliDate,
        tariffs: &[NewTariff],
        ctx: &AuditContext,
    ) -> Result<()> {
        publish_run(self, permit, run_id, effective_from, tariffs, ctx).await
    }
}
