//! Citizens' reports about offices: what a report may say, the states it moves through, and
//! the limits that keep one citizen from flooding the regulator.
//!
//! A report is submitted, triaged by the regulator (accepted, rejected, or more asked of the
//! citizen, who then adds to it and it is submitted again), and an accepted report is answered
//! by the office's manager. The same citizen reporting the same office for the same thing
//! within [`FOLD_WINDOW_MS`] adds to the open report instead of making a new one.

use crate::model::FieldError;
use crate::plain_text::first_forbidden_in_text;

/// Fewest characters a report's text may have: "bad" tells the regulator nothing.
pub const MIN_TEXT_CHARS: usize = 10;
/// Most characters a report, an addition, a note or an answer may have.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Most characters of a triage note (a note may be left out).
pub const MAX_NOTE_CHARS: usize = 500;
/// A second report of the same office and category by the same citizen within this window is
/// folded into the first.
pub const FOLD_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// Most entries (the report, additions, notes, answers) one report's thread may hold.
pub const MAX_ENTRIES_PER_REPORT: usize = 100;

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportCategory {
    Crowding,
    NoAppointments,
    Overcharging,
    Misconduct,
    ServiceRefused,
    Other,
}

impl ReportCategory {
    pub const ALL: [ReportCategory; 6] = [
        ReportCategory::Crowding,
        ReportCategory::NoAppointments,
        ReportCategory::Overcharging,
        ReportCategory::Misconduct,
        ReportCategory::ServiceRefused,
        ReportCategory::Other,
    ];

    /// The stored and transmitted text.
    pub const fn code(self) -> &'static str {
        match self {
            ReportCategory::Crowding => "crowding",
            ReportCategory::NoAppointments => "no_appointments",
            ReportCategory::Overcharging => "overcharging",
            ReportCategory::Misconduct => "misconduct",
            ReportCategory::ServiceRefused => "service_refused",
            ReportCategory::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|c| c.code() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "category",
                    "invalid_report_category",
                    "category must be crowding, no_appointments, overcharging, misconduct, \
                     service_refused or other",
                )
            })
    }
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportStatus {
    /// Waiting for the regulator.
    Submitted,
    /// The regulator asked the citizen for more; waiting for the citizen.
    MoreAsked,
    /// The regulator found it credible; the office's manager may answer. Counts towards the
    /// compliance rules.
    Accepted,
    /// The regulator found nothing to act on.
    Rejected,
    /// The office's manager answered an accepted report (it stays accepted for the rules).
    Answered,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 5] = [
        ReportStatus::Submitted,
        ReportStatus::MoreAsked,
        ReportStatus::Accepted,
        ReportStatus::Rejected,
        ReportStatus::Answered,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            ReportStatus::Submitted => "submitted",
            ReportStatus::MoreAsked => "more_asked",
            ReportStatus::Accepted => "accepted",
            ReportStatus::Rejected => "rejected",
            ReportStatus::Answered => "answered",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|c| c.code() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "status",
                    "invalid_report_status",
                    "status must be submitted, more_asked, accepted, rejected or answered",
                )
            })
    }

    /// Whether a new report of the same office and category folds into this one: only while
    /// it is still open to the regulator or the office.
    pub fn folds_new_reports(self) -> bool {
        matches!(
            self,
            ReportStatus::Submitted | ReportStatus::MoreAsked | ReportStatus::Accepted
        )
    }
}

/// The regulator's decision on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriageDecision {
    Accept,
    Reject,
    AskMore,
}

impl TriageDecision {
    pub const fn code(self) -> &'static str {
        match self {
            TriageDecision::Accept => "accept",
            TriageDecision::Reject => "reject",
            TriageDecision::AskMore => "ask_more",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim() {
            "accept" => Ok(TriageDecision::Accept),
            "reject" => Ok(TriageDecision::Reject),
            "ask_more" => Ok(TriageDecision::AskMore),
            _ => Err(FieldError::new(
                "decision",
                "invalid_decision",
                "decision must be accept, reject or ask_more",
            )),
        }
    }

    /// The status the report moves to.
    pub fn status(self) -> ReportStatus {
        match self {
            TriageDecision::Accept => ReportStatus::Accepted,
            TriageDecision::Reject => ReportStatus::Rejected,
            TriageDecision::AskMore => ReportStatus::MoreAsked,
        }
    }
}

/// Why a step on a report is refused in the report's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepRefused {
    /// Triage only decides a submitted report.
    NotSubmitted,
    /// Only an accepted (or already answered) report is answered by the office.
    NotAccepted,
    /// The citizen adds to a report only when asked.
    NotAsked,
}

impl StepRefused {
    pub const fn code(self) -> &'static str {
        match self {
            StepRefused::NotSubmitted => "report_not_submitted",
            StepRefused::NotAccepted => "report_not_accepted",
            StepRefused::NotAsked => "report_not_asked",
        }
    }

    pub const fn message(self) -> &'static str {
        match self {
            StepRefused::NotSubmitted => "only a submitted report can be triaged",
            StepRefused::NotAccepted => "only an accepted report can be answered",
            StepRefused::NotAsked => "more can be added only when the regulator asks for it",
        }
    }
}

/// Triage moves a submitted report; nothing else.
pub fn check_triage(status: ReportStatus) -> Result<(), StepRefused> {
    match status {
        ReportStatus::Submitted => Ok(()),
        _ => Err(StepRefused::NotSubmitted),
    }
}

/// The office answers an accepted report, and may answer again once answered.
pub fn check_answer(status: ReportStatus) -> Result<(), StepRefused> {
    match status {
        ReportStatus::Accepted | ReportStatus::Answered => Ok(()),
        _ => Err(StepRefused::NotAccepted),
    }
}

/// The citizen adds to their report only when the regulator asked for more.
pub fn check_addition(status: ReportStatus) -> Result<(), StepRefused> {
    match status {
        ReportStatus::MoreAsked => Ok(()),
        _ => Err(StepRefused::NotAsked),
    }
}

/// Text of a report, an addition or an answer: trimmed, [`MIN_TEXT_CHARS`]..=[`MAX_TEXT_CHARS`]
/// characters, no control characters (line breaks are fine).
pub fn report_text(field: &'static str, s: &str) -> Result<String, FieldError> {
    bounded(field, s, MIN_TEXT_CHARS, MAX_TEXT_CHARS)
}

/// A triage note: up to [`MAX_NOTE_CHARS`] characters, may be empty.
pub fn triage_note(s: &str) -> Result<String, FieldError> {
    bounded("note", s, 0, MAX_NOTE_CHARS)
}

fn bounded(field: &'static str, s: &str, min: usize, max: usize) -> Result<String, FieldError> {
    if let Some(c) = first_forbidden_in_text(s) {
        return Err(crate::plain_text::refusal(field, c));
    }
    let t = s.trim();
    let n = t.chars().count();
    if n < min || n > max {
        return Err(FieldError::new(
            field,
            "invalid_text_length",
            format!("{field} must be {min} to {max} characters"),
        ));
    }
    Ok(t.to_string())
}

/// How many reports a citizen may make: folded ones count too, so folding is no way around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportLimits {
    pub per_day: u32,
    pub per_month: u32,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            per_day: 3,
            per_month: 10,
        }
    }
}

pub const DAY_MS: i64 = 24 * 3600 * 1000;
pub const MONTH_MS: i64 = 30 * DAY_MS;

/// Which limit binds, and when it lets the next report through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitHit {
    /// `too_many_reports_today` or `too_many_reports_this_month`.
    pub code: &'static str,
    pub retry_after_ms: i64,
}

/// Decides whether one more report is allowed, given the times of the citizen's reports in
/// the last [`MONTH_MS`] (any order).
pub fn check_limits(limits: ReportLimits, recent_ms: &[i64], now_ms: i64) -> Result<(), LimitHit> {
    let hit = |window_ms: i64, max: u32, code: &'static str| -> Result<(), LimitHit> {
        let mut inside: Vec<i64> = recent_ms
            .iter()
            .copied()
            .filter(|t| *t > now_ms - window_ms)
            .collect();
        if inside.len() < max as usize {
            return Ok(());
        }
        // The window frees a place when the oldest of the last `max` reports leaves it.
        inside.sort_unstable_by(|a, b| b.cmp(a));
        let freeing = inside.get(max.saturating_sub(1) as usize).copied();
        let retry_after_ms = freeing.map_or(window_ms, |t| (t + window_ms - now_ms).max(1_000));
        Err(LimitHit {
            code,
            retry_after_ms,
        })
    };
    hit(DAY_MS, limits.per_day, "too_many_reports_today")?;
    hit(MONTH_MS, limits.per_month, "too_many_reports_this_month")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in ReportCategory::ALL {
            assert_eq!(ReportCategory::parse(c.code()), Ok(c));
        }
        for s in ReportStatus::ALL {
            assert_eq!(ReportStatus::parse(s.code()), Ok(s));
        }
        for d in [
            TriageDecision::Accept,
            TriageDecision::Reject,
            TriageDecision::AskMore,
        ] {
            assert_eq!(TriageDecision::parse(d.code()), Ok(d));
        }
        assert!(ReportCategory::parse("Crowding").is_err());
        assert!(TriageDecision::parse("maybe").is_err());
    }

    #[test]
    fn text_is_bounded_and_free_of_controls() {
        assert!(report_text("text", "short").is_err());
        assert_eq!(
            report_text("text", "  صف بسیار طولانی بود  ").as_deref(),
            Ok("صف بسیار طولانی بود")
        );
        assert!(report_text("text", &"ا".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(report_text("text", &"ا".repeat(MAX_TEXT_CHARS + 1)).is_err());
        let e = report_text("text", "line one\u{0}line two").unwrap_err();
        assert_eq!(e.code, "control_character");
        assert!(report_text("text", "line one\nline two").is_ok());
        assert_eq!(triage_note("").as_deref(), Ok(""));
        assert!(triage_note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
    }

    #[test]
    fn steps_only_from_their_states() {
        use ReportStatus::*;
        for s in ReportStatus::ALL {
            assert_eq!(check_triage(s).is_ok(), s == Submitted, "{s:?}");
            assert_eq!(
                check_answer(s).is_ok(),
                matches!(s, Accepted | Answered),
                "{s:?}"
            );
            assert_eq!(check_addition(s).is_ok(), s == MoreAsked, "{s:?}");
        }
    }

    #[test]
    fn limits_say_which_binds_and_when_it_frees() {
        let l = ReportLimits::default();
        let now = 100 * DAY_MS;
        assert_eq!(check_limits(l, &[], now), Ok(()));
        let two = [now - 1_000, now - 2_000];
        assert_eq!(check_limits(l, &two, now), Ok(()));
        let three = [now - 1_000, now - 2_000, now - 3_600_000];
        let hit = check_limits(l, &three, now).unwrap_err();
        assert_eq!(hit.code, "too_many_reports_today");
        assert_eq!(hit.retry_after_ms, DAY_MS - 3_600_000);
        // Ten over the month, none today: the monthly limit binds.
        let month: Vec<i64> = (1..=10).map(|d| now - d * DAY_MS - 1).collect();
        let hit = check_limits(l, &month, now).unwrap_err();
        assert_eq!(hit.code, "too_many_reports_this_month");
        assert!(hit.retry_after_ms > 0 && hit.retry_after_ms <= MONTH_MS);
    }
}
