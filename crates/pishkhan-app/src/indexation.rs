//! Indexing fees to inflation: the regulator imports a CPI series, runs a named rule over it to
//! propose next fiscal year's tariffs, reviews the proposal as a diff, changes single rows
//! with a reason, and publishes it with an effective date. Every step is audited.
//!
//! **Reproducible.** A run's proposal is computed from its inputs alone (the imported series,
//! the rule, floor, cap and rounding, and the tariffs in force on the last day of the year
//! before) in integer arithmetic; its canonical text's SHA-256 is stored, so running again with
//! the same inputs gives the same digest, and any changed month gives another.

use std::collections::BTreeMap;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Action;
use pishkhan_domain::fees::{FeeComponent, FeeKind, NewTariff};
use pishkhan_domain::indexation::{
    FactorRule, Rounding, RunSpec, canonical, factor, parse_cpi_csv, propose,
};
use pishkhan_domain::model::ServiceCode;
use pishkhan_domain::money::Rials;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{
    AuditContext, CpiImport, IndexationRun, NewIndexationRun, StateRule, StoreError,
};
use sha2::{Digest, Sha256};

use crate::{App, AppError, StaffSession};

/// Longest CPI file accepted, in bytes.
pub const MAX_CPI_BYTES: usize = 64 * 1024;
/// Longest source or reason text.
pub const MAX_NOTE_CHARS: usize = 300;

fn note(field: &'static str, text: &str) -> Result<String, AppError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::invalid(
            "bad_note",
            field,
            format!("{field} is 1 to {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(t.to_string())
}

/// Imports a CPI series (regulator). A bad file is refused whole, naming each bad line.
pub async fn import_cpi(
    state: &App,
    by: &StaffSession,
    source: &str,
    csv: &str,
    ctx: &AuditContext,
) -> Result<CpiImport, AppError> {
    let permit = by.permit(Action::PublishTariff)?;
    let source = note("source", source)?;
    if csv.len() > MAX_CPI_BYTES {
        return Err(AppError::invalid(
            "cpi_file_too_large",
            "csv",
            format!("a CPI file is at most {MAX_CPI_BYTES} bytes"),
        ));
    }
    let points = parse_cpi_csv(csv).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("line {}: {} ({})", e.line, e.message, e.code))
            .collect();
        AppError::invalid("bad_cpi_file", "csv", lines.join("; "))
    })?;
    let canonical: String = points
        .iter()
        .map(|p| format!("{},{},{}\n", p.year, p.month, p.index_milli))
        .collect();
    let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
    let id = state
        .store()
        .import_cpi(&permit, &source, &digest, &points, ctx)
        .await?;
    Ok(state.store().cpi_import(id).await?)
}

/// What a person asks a run to do.
#[derive(Debug, Clone)]
pub struct RunInput {
    pub cpi_import: i64,
    pub fiscal_year: i32,
    pub rule: String,
    pub floor_milli: i64,
    pub cap_milli: i64,
    /// Per fee kind code, a rounding code such as `up_1000`.
    pub rounding: BTreeMap<String, String>,
}

/// Runs the rule and stores the proposal (regulator).
pub async fn run(
    state: &App,
    by: &StaffSession,
    input: &RunInput,
    ctx: &AuditContext,
) -> Result<IndexationRun, AppError> {
    let permit = by.permit(Action::PublishTariff)?;
    let today = jalali_today(state.now());
    if !(today.year()..=today.year() + 1).contains(&input.fiscal_year) {
        return Err(AppError::invalid(
            "bad_fiscal_year",
            "fiscal_year",
            "a run proposes this fiscal year's or next year's tariffs",
        ));
    }
    let mut rounding = BTreeMap::new();
    for (kind, rule) in &input.rounding {
        rounding.insert(FeeKind::parse(kind)?, Rounding::parse(rule)?);
    }
    let spec = RunSpec::new(
        input.fiscal_year,
        FactorRule::parse(&input.rule)?,
        input.floor_milli,
        input.cap_milli,
        rounding,
    )?;
    let series = state
        .store()
        .cpi_import(input.cpi_import)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => AppError::invalid(
                "unknown_cpi_import",
                "cpi_import",
                "no CPI import has this id",
            ),
            other => other.into(),
        })?;
    let factor = factor(&series.points, &spec)?;
    // The tariffs in force on the last day of the year before the one proposed.
    let eve = JalaliDate::new(input.fiscal_year, 1, 1)?.add_days(-1);
    let current = state.store().tariffs_on(eve).await?;
    if current.is_empty() {
        return Err(AppError::invalid(
            "no_tariffs",
            "fiscal_year",
            "no tariff is in force at the end of the year before: nothing to index",
        ));
    }
    let rows = propose(&current, &factor, &spec)?;
    let text = canonical(&spec, &factor, &rows);
    let digest = hex::encode(Sha256::digest(
        format!("cpi={}\n{text}", series.digest).as_bytes(),
    ));
    let rounding = FeeKind::ALL
        .iter()
        .map(|k| {
            format!(
                "{}={}",
                k.code(),
                spec.rounding
                    .get(k)
                    .map_or_else(|| "up_1000".into(), |r| r.code())
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let id = state
        .store()
        .create_indexation_run(
            &permit,
            &NewIndexationRun {
                import_id: series.id,
                spec,
                rounding,
                factor,
                digest,
                rows,
            },
            ctx,
        )
        .await?;
    Ok(state.store().indexation_run(id).await?)
}

/// The latest runs, newest first (regulator).
pub async fn recent_runs(
    state: &App,
    by: &StaffSession,
) -> Result<Vec<pishkhan_store::IndexationRunSummary>, AppError> {
    by.permit(Action::PublishTariff)?;
    Ok(state.store().recent_indexation_runs().await?)
}

pub async fn get_run(state: &App, by: &StaffSession, id: i64) -> Result<IndexationRun, AppError> {
    by.permit(Action::PublishTariff)?;
    Ok(state.store().indexation_run(id).await?)
}

/// Changes one row's amount to publish, with the reason (regulator). Fees never fall: the
/// amount may not be below the current one.
#[allow(clippy::too_many_arguments)]
pub async fn edit_row(
    state: &App,
    by: &StaffSession,
    run_id: i64,
    service: &ServiceCode,
    kind: FeeKind,
    amount: i64,
    reason: &str,
    ctx: &AuditContext,
) -> Result<IndexationRun, AppError> {
    let permit = by.permit(Action::PublishTariff)?;
    let reason = note("reason", reason)?;
    let amount = Rials::new(amount)?;
    let run = state.store().indexation_run(run_id).await?;
    let row = run
        .rows
        .iter()
        .find(|r| &r.service == service && r.kind == kind)
        .ok_or(AppError::NotFound("indexation row"))?;
    if amount < row.old {
        return Err(AppError::invalid(
            "fee_would_fall",
            "amount_rials",
            "an indexed fee may not fall below the current one",
        ));
    }
    state
        .store()
        .edit_indexation_row(&permit, run_id, service, kind, amount, &reason, ctx)
        .await
        .map_err(published)?;
    Ok(state.store().indexation_run(run_id).await?)
}

/// Publishes a run's final amounts as tariffs from `effective_from` (regulator): a day of the
/// run's fiscal year after today.
pub async fn publish(
    state: &App,
    by: &StaffSession,
    run_id: i64,
    effective_from: JalaliDate,
    ctx: &AuditContext,
) -> Result<IndexationRun, AppError> {
    let permit = by.permit(Action::PublishTariff)?;
    let run = state.store().indexation_run(run_id).await?;
    if effective_from.year() != run.fiscal_year {
        return Err(AppError::invalid(
            "date_outside_fiscal_year",
            "effective_from",
            format!("the run proposes fiscal year {}", run.fiscal_year),
        ));
    }
    crate::fees::takes_effect_later(state, effective_from)?;
    let mut by_service: BTreeMap<&ServiceCode, Vec<FeeComponent>> = BTreeMap::new();
    for r in &run.rows {
        by_service
            .entry(&r.service)
            .or_default()
            .push(FeeComponent {
                kind: r.kind,
                amount: r.final_amount,
            });
    }
    let basis = format!(
        "indexation run {} ({}, factor {}.{:03})",
        run.id,
        run.rule.code(),
        run.factor.applied_milli / 1_000,
        run.factor.applied_milli % 1_000
    );
    let tariffs = by_service
        .into_iter()
        .map(|(service, components)| {
            NewTariff::new(service.clone(), effective_from, components, &basis)
        })
        .collect::<Result<Vec<_>, _>>()?;
    state
        .store()
        .publish_indexation_run(&permit, run_id, effective_from, &tariffs, ctx)
        .await
        .map_err(|e| match e {
            e @ StoreError::Conflict { .. } => crate::fees::tariff_conflict(e),
            other => published(other),
        })?;
    Ok(state.store().indexation_run(run_id).await?)
}

/// A published run's refusal, under its own code.
fn published(e: StoreError) -> AppError {
    match e {
        StoreError::WrongState(w) if w.rule == StateRule::RunPublished => AppError::Conflict {
            code: "run_published",
            message: w.message,
        },
        other => other.into(),
    }
}
