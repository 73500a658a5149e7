//! Abuse limits on inquiries: a rate per operator and per office, and a cap on how many
//! distinct citizens one operator may look up in an hour. Passing the cap blocks the operator
//! (for `block_s`) and reports them to the regulator through the audit log
//! (`inquiry.blocked`): bulk scraping stops at the counter, not after the leak.
//!
//! The state is the store's cells ([`pishkhan_store::Limits`]), shared by every node: an
//! operator spreading lookups over the nodes behind a load balancer meets one count. An
//! operator's cell holds its rate, its hour's window, its block and the hour's distinct
//! citizens as the first 8 bytes of each one's SHA-256 (never the national code itself).

use pishkhan_domain::model::OfficeCode;
use pishkhan_store::LimitCell;
use sha2::Digest;

use crate::limit_cells::{Rate, cell, retry_after_s, words};
use crate::{App, AppError};

const HOUR_MS: i64 = 3_600_000;
/// Most distinct citizens an operator's cell can name (its state's bound, less the three
/// numbers before them). A cap configured above this limits nothing past it.
const MAX_TRACKED_SUBJECTS: usize = (pishkhan_store::MAX_LIMIT_STATE_BYTES - 24) / 8;

#[derive(Debug, Clone, Copy)]
pub struct InquiryLimitsConfig {
    pub per_operator_per_min: u32,
    pub per_office_per_min: u32,
    /// Blocks the operator past this many distinct citizens in an hour; counts above 2,045
    /// (what one cell can name) block nothing.
    pub distinct_subjects_per_hour: u32,
    pub block_s: u64,
}

impl Default for InquiryLimitsConfig {
    fn default() -> Self {
        Self {
            per_operator_per_min: 120,
            per_office_per_min: 600,
            distinct_subjects_per_hour: 200,
            block_s: 24 * 3600,
        }
    }
}

/// Why an inquiry was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    OperatorRate {
        retry_after_s: u64,
    },
    OfficeRate {
        retry_after_s: u64,
    },
    /// Blocked for looking up too many people; `newly` on the inquiry that crossed the line.
    Blocked {
        newly: bool,
        distinct: u32,
        until_ms: i64,
    },
}

/// What an operator's cell holds.
struct Operator {
    tat: Option<i64>,
    window_start_ms: i64,
    blocked_until_ms: i64,
    /// Sorted.
    subjects: Vec<u64>,
}

impl Operator {
    fn read(c: Option<&LimitCell>, now_ms: i64) -> Self {
        match (words::<3>(c), c) {
            (Some([tat, window_start_ms, blocked_until_ms]), Some(c)) => Self {
                tat: Some(tat),
                window_start_ms,
                blocked_until_ms,
                subjects: c.state[24..]
                    .chunks_exact(8)
                    .filter_map(|b| b.try_into().ok().map(u64::from_le_bytes))
                    .collect(),
            },
            _ => Self {
                tat: None,
                window_start_ms: now_ms,
                blocked_until_ms: 0,
                subjects: Vec::new(),
            },
        }
    }

    fn cell(&self, now_ms: i64) -> LimitCell {
        let tat = self.tat.unwrap_or(now_ms);
        let tail: Vec<u8> = self.subjects.iter().flat_map(|h| h.to_le_bytes()).collect();
        let spent = tat
            .max(self.window_start_ms + HOUR_MS)
            .max(self.blocked_until_ms);
        cell(
            &[tat, self.window_start_ms, self.blocked_until_ms],
            &tail,
            spent,
        )
    }
}

fn subject_hash(subject: &str) -> u64 {
    let d = sha2::Sha256::digest(subject.as_bytes());
    u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

/// Admits one inquiry by `operator` at `office` about `subject`, or says why not.
pub(crate) async fn admit(
    state: &App,
    operator: &str,
    office: OfficeCode,
    subject: Option<&str>,
) -> Result<Result<(), Refusal>, AppError> {
    let c = state.config().inquiry_limits;
    let now = state.now_ms();
    let k_operator = format!("inquiry:operator:{operator}");
    let k_office = format!("inquiry:office:{}", office.get());
    let subject = subject.map(subject_hash);
    let mut outcome = Ok(());
    state
        .store()
        .limit_step(&[&k_operator, &k_office], now, &mut |cells| {
            outcome = decide(c, &mut cells[..], subject, now);
        })
        .await?;
    Ok(outcome)
}

fn decide(
    c: InquiryLimitsConfig,
    cells: &mut [Option<LimitCell>],
    subject: Option<u64>,
    now: i64,
) -> Result<(), Refusal> {
    let mut op = Operator::read(cells[0].as_ref(), now);
    if op.blocked_until_ms > now {
        return Err(Refusal::Blocked {
            newly: false,
            distinct: op.subjects.len() as u32,
            until_ms: op.blocked_until_ms,
        });
    }
    op.blocked_until_ms = 0;
    if now - op.window_start_ms >= HOUR_MS {
        op.window_start_ms = now;
        op.subjects.clear();
    }
    if let Some(h) = subject
        && let Err(at) = op.subjects.binary_search(&h)
    {
        if op.subjects.len() as u32 >= c.distinct_subjects_per_hour {
            op.blocked_until_ms = now.saturating_add(c.block_s.saturating_mul(1000) as i64);
            cells[0] = Some(op.cell(now));
            return Err(Refusal::Blocked {
                newly: true,
                distinct: op.subjects.len() as u32 + 1,
                until_ms: op.blocked_until_ms,
            });
        }
        if op.subjects.len() < MAX_TRACKED_SUBJECTS {
            op.subjects.insert(at, h);
        }
    }
    let admitted = Rate::per_minute(c.per_operator_per_min).admit(op.tat, now);
    if let Ok(next) = admitted {
        op.tat = Some(next);
    }
    cells[0] = Some(op.cell(now));
    admitted.map_err(|w| Refusal::OperatorRate {
        retry_after_s: retry_after_s(w),
    })?;
    let office_tat = words::<1>(cells[1].as_ref()).map(|[t]| t);
    let next = Rate::per_minute(c.per_office_per_min)
        .admit(office_tat, now)
        .map_err(|w| Refusal::OfficeRate {
            retry_after_s: retry_after_s(w),
        })?;
    cells[1] = Some(cell(&[next], &[], next));
    Ok(())
}
