//! Fee tariffs for both stores: a tariff row and its component rows, written together and
//! never changed (migration 0012's triggers refuse it).

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff, Tariff};
use pishkhan_domain::model::ServiceCode;
use pishkhan_domain::money::Rials;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::areas::{Fees, MAX_TARIFF_HISTORY, MAX_TARIFFS_PER_PUBLICATION};
use crate::sql::{Arg, SqlStore, audit_permit, field, insert_rows, require};
use crate::{AuditContext, Result, StoreError};

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
    if tariffs.len() > MAX_TARIFFS_PER_PUBLICATION {
        return Err(StoreError::LimitReached {
            rule: format!("at most {MAX_TARIFFS_PER_PUBLICATION} tariffs in one publication"),
        });
    }
    if tariffs.is_empty() {
        return Ok(0);
    }
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
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
            &mut tx,
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
            &mut tx,
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
            &mut tx,
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
    .await;
    crate::bookings::finish(tx, outcome).await
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
}
