//! Abuse limits on inquiries: a rate per operator and per office, and a cap on how many
//! distinct citizens one operator may look up in an hour. Passing the cap blocks the operator
//! (for `block_s`) and reports them to the regulator through the audit log
//! (`inquiry.blocked`): bulk scraping stops at the counter, not after the leak.
//!
//! State is per process and bounded; a multi-process deployment shares the audit trail but
//! each process counts on its own.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use pishkhan_domain::model::OfficeCode;

/// Operators and offices tracked at once; past this the oldest state is dropped.
const MAX_TRACKED: usize = 100_000;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy)]
pub struct InquiryLimitsConfig {
    pub per_operator_per_min: u32,
    pub per_office_per_min: u32,
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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last_ms: i64,
}

impl Bucket {
    fn take(&mut self, per_min: u32, now_ms: i64) -> Result<(), u64> {
        let rate = f64::from(per_min) / 60_000.0;
        let cap = f64::from(per_min.max(1));
        self.tokens = (self.tokens + (now_ms - self.last_ms).max(0) as f64 * rate).min(cap);
        self.last_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - self.tokens) / rate.max(1e-9)) / 1000.0).ceil() as u64)
        }
    }
}

#[derive(Debug)]
struct Operator {
    bucket: Bucket,
    window_start_ms: i64,
    subjects: HashSet<String>,
    blocked_until_ms: Option<i64>,
}

#[derive(Default)]
struct State {
    operators: HashMap<String, Operator>,
    offices: HashMap<u32, Bucket>,
}

pub struct InquiryLimits {
    config: InquiryLimitsConfig,
    state: Mutex<State>,
}

impl InquiryLimits {
    pub fn new(config: InquiryLimitsConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// Admits one inquiry by `operator` at `office` about `subject`, or says why not.
    pub fn admit(
        &self,
        operator: &str,
        office: OfficeCode,
        subject: Option<&str>,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let c = self.config;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.operators.len() >= MAX_TRACKED {
            st.operators
                .retain(|_, o| o.blocked_until_ms.is_some_and(|u| u > now_ms));
        }
        if st.offices.len() >= MAX_TRACKED {
            st.offices.clear();
        }
        let full = Bucket {
            tokens: f64::from(c.per_operator_per_min),
            last_ms: now_ms,
        };
        let op = st
            .operators
            .entry(operator.to_string())
            .or_insert_with(|| Operator {
                bucket: full,
                window_start_ms: now_ms,
                subjects: HashSet::new(),
                blocked_until_ms: None,
            });
        if let Some(until) = op.blocked_until_ms {
            if until > now_ms {
                return Err(Refusal::Blocked {
                    newly: false,
                    distinct: op.subjects.len() as u32,
                    until_ms: until,
                });
            }
            op.blocked_until_ms = None;
        }
        if now_ms - op.window_start_ms >= HOUR_MS {
            op.window_start_ms = now_ms;
            op.subjects.clear();
        }
        if let Some(s) = subject
            && !op.subjects.contains(s)
        {
            if op.subjects.len() as u32 >= c.distinct_subjects_per_hour {
                let until = now_ms + c.block_s as i64 * 1000;
                op.blocked_until_ms = Some(until);
                return Err(Refusal::Blocked {
                    newly: true,
                    distinct: op.subjects.len() as u32 + 1,
                    until_ms: until,
                });
            }
            op.subjects.insert(s.to_string());
        }
        op.bucket
            .take(c.per_operator_per_min, now_ms)
            .map_err(|retry_after_s| Refusal::OperatorRate { retry_after_s })?;
        let per_office = c.per_office_per_min;
        st.offices
            .entry(office.get())
            .or_insert(Bucket {
                tokens: f64::from(per_office),
                last_ms: now_ms,
            })
            .take(per_office, now_ms)
            .map_err(|retry_after_s| Refusal::OfficeRate { retry_after_s })
    }
}
