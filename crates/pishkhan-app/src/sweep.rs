//! Work the clock does: day-before reminders, closing past appointments as no-shows so
//! their statuses and the offices' figures are right even when no one works the desk, and the
//! daily compliance run.
//!
//! Every step is idempotent (reminders dedupe in the outbox; settling a settled day changes
//! nothing), so several server processes may sweep the same database.

use std::future::Future;
use std::time::Duration;

use pishkhan_domain::schedule::{tehran_instant, unix_ms};
use pishkhan_domain::tehran::jalali_today;

use crate::App;
use crate::AppError;

/// How often the sweeper wakes.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Offices settled per sweep; the rest wait for the next one.
const MAX_OFFICES_PER_SWEEP: u32 = 500;
/// Bookings archived per sweep; a backlog drains over the following sweeps.
const MAX_ARCHIVED_PER_SWEEP: u32 = 20_000;
/// Past appointments older than this are not looked at again.
const SETTLE_LOOKBACK_MS: i64 = 7 * 24 * 3600 * 1000;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Day-before reminders newly enqueued.
    pub reminders: u64,
    /// Offices whose past day was settled.
    pub offices_settled: u32,
    /// Bookings that became no-shows (or otherwise changed status) by settling.
    pub bookings_settled: u64,
    /// Bookings archived out of the embedded engine's memory.
    pub archived: u64,
    /// Payments and refunds chased at the card processor.
    pub payments_chased: usize,
    /// Findings the day's compliance run recorded (it runs once a Tehran day).
    pub compliance_findings: u64,
}

/// One sweep: reminders for tomorrow's appointments, then the no-shows of ended ones.
pub async fn sweep(state: &App) -> Result<SweepReport, AppError> {
    let now = state.now();
    let now_ms = state.now_ms();
    let tomorrow = jalali_today(now).add_days(1);
    let reminders = state
        .store()
        .enqueue_reminders(
            unix_ms(tehran_instant(tomorrow, 0)),
            unix_ms(tehran_instant(tomorrow.add_days(1), 0)),
            now_ms,
        )
        .await?;
    let overdue = state
        .store()
        .overdue_booking_offices(now_ms - SETTLE_LOOKBACK_MS, now_ms, MAX_OFFICES_PER_SWEEP)
        .await?;
    let archived = state
        .store()
        .archive_bookings(now_ms, MAX_ARCHIVED_PER_SWEEP)
        .await?;
    let mut report = SweepReport {
        reminders,
        archived,
        ..SweepReport::default()
    };
    match crate::payments::chase(state).await {
        Ok(n) => report.payments_chased = n,
        Err(e) => tracing::warn!(error = %e, "could not chase payments"),
    }
    if let Err(e) = crate::payments::daily(state).await {
        tracing::warn!(error = %e, "could not settle or reconcile yesterday");
    }
    match crate::compliance::daily(state).await {
        Ok(Some(r)) => report.compliance_findings = r.new_findings,
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not run the compliance rules"),
    }
    for (code, first_ms) in overdue {
        let office = state.store().office(code).await?;
        let day = jalali_today(crate::appointments::instant(first_ms));
        match crate::queue::settle_day(state, &office, day).await {
            Ok(n) => {
                report.offices_settled += 1;
                report.bookings_settled += n as u64;
            }
            // One office's trouble must not stop the others.
            Err(e) => tracing::warn!(office = %code, %day, error = %e, "could not settle the day"),
        }
    }
    Ok(report)
}

/// Sweeps every [`SWEEP_INTERVAL`] until `stop` resolves.
pub async fn run_sweeper(state: App, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        match sweep(&state).await {
            Ok(r) if r != SweepReport::default() => tracing::info!(
                reminders = r.reminders,
                offices = r.offices_settled,
                settled = r.bookings_settled,
                archived = r.archived,
                "sweep"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweep failed"),
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
    }
}
