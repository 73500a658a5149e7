//! Compliance: the regulator's rules (data, versioned), what a run finds from an office's
//! figures, the sanctions ladder and the conditions of reinstatement. Pure: the store
//! computes each office's figures over a window in one set-based query; this module decides.
//!
//! **Adding a rule kind.** Add a [`RuleKind`] with its stored name, its [`RuleParams`] variant
//! and its checks in [`RuleParams::parse`], the figures it needs in [`Activity`] (and the
//! store's activity query), and its test in [`evaluate`]. Two kinds are planned and not wired
//! here: `reports_threshold` (N accepted citizens' reports of one category in D days; the
//! reports come from their own area) and `fee_above_tariff`, whose findings the payments
//! already write as they happen (rule `fee_above_tariff`, version 0).

use serde_json::{Value, json};

use crate::model::{FieldError, OfficeCode, OfficeStatus};

/// Rules in one version, at most.
pub const MAX_RULES: usize = 20;
/// The longest window a rule may look back or ahead, in days.
pub const MAX_WINDOW_DAYS: u16 = 90;
/// Findings a sanction may cite.
pub const MAX_CITED_FINDINGS: usize = 50;
/// Longest reason, request or reply, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    /// High traffic with a low booked share: "not serving by appointment".
    LowBookedShare,
    /// Inquiries or identity checks ran, yet no bookable slot is configured ahead.
    NoBookableSlots,
    /// Citizens' reports of one category, accepted by the regulator, pile up: a review.
    ReportsThreshold,
}

impl RuleKind {
    pub const ALL: [RuleKind; 3] = [
        RuleKind::LowBookedShare,
        RuleKind::NoBookableSlots,
        RuleKind::ReportsThreshold,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RuleKind::LowBookedShare => "low_booked_share",
            RuleKind::NoBookableSlots => "no_bookable_slots",
            RuleKind::ReportsThreshold => "reports_threshold",
        }
    }

    /// The names of the kind's params, in the order a form shows them: the fields
    /// [`RuleParams::parse`] reads. Pages draw the rules form from [`RuleKind::ALL`] and these,
    /// so a new kind needs no work in the UI beyond its labels.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            RuleKind::LowBookedShare => &["days", "min_daily_visits", "max_booked_share_pct"],
            RuleKind::NoBookableSlots => &["recent_days", "min_lookups", "ahead_days"],
            RuleKind::ReportsThreshold => &["days", "min_reports"],
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    pub fn code(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// A rule's thresholds, checked when the regulator saves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleParams {
    /// Over the last `days` days: served visits per day on average at least
    /// `min_daily_visits`, and booked visits under `max_booked_share_pct` percent of them.
    LowBookedShare {
        days: u16,
        min_daily_visits: u32,
        max_booked_share_pct: u8,
    },
    /// At least `min_lookups` inquiries and identity checks over the last `recent_days`,
    /// and no bookable day in the coming `ahead_days`.
    NoBookableSlots {
        recent_days: u16,
        min_lookups: u32,
        ahead_days: u16,
    },
    /// At least `min_reports` accepted reports of one category about the office, accepted
    /// over the last `days` days.
    ReportsThreshold { days: u16, min_reports: u32 },
}

/// Report ids an evidence lists, at most.
pub const MAX_EVIDENCE_REPORTS: usize = 50;

fn bad(message: impl Into<String>) -> FieldError {
    FieldError::new("rules", "invalid_rule", message)
}

fn uint(
    params: &Value,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, FieldError> {
    let v = params
        .get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(format!("params.{name} must be a whole number")))?;
    if !range.contains(&v) {
        return Err(bad(format!(
            "params.{name} must be {}..={}",
            range.start(),
            range.end()
        )));
    }
    Ok(v)
}

impl RuleParams {
    /// Reads and checks `params` for `kind`: every field present and in range, no other.
    pub fn parse(kind: RuleKind, params: &Value) -> Result<Self, FieldError> {
        let obj = params
            .as_object()
            .ok_or_else(|| bad("params must be an object"))?;
        let window = 1..=u64::from(MAX_WINDOW_DAYS);
        let names = kind.param_names();
        let parsed = match kind {
            RuleKind::LowBookedShare => RuleParams::LowBookedShare {
                days: uint(params, "days", window)? as u16,
                min_daily_visits: uint(params, "min_daily_visits", 1..=100_000)? as u32,
                max_booked_share_pct: uint(params, "max_booked_share_pct", 1..=100)? as u8,
            },
            RuleKind::NoBookableSlots => RuleParams::NoBookableSlots {
                recent_days: uint(params, "recent_days", window.clone())? as u16,
                min_lookups: uint(params, "min_lookups", 1..=10_000_000)? as u32,
                ahead_days: uint(params, "ahead_days", window)? as u16,
            },
            RuleKind::ReportsThreshold => RuleParams::ReportsThreshold {
                days: uint(params, "days", window)? as u16,
                min_reports: uint(params, "min_reports", 1..=1000)? as u32,
            },
        };
        if let Some(extra) = obj.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(bad(format!(
                "params.{extra} is not a field of {}",
                kind.code()
            )));
        }
        Ok(parsed)
    }

    pub fn to_json(self) -> Value {
        match self {
            RuleParams::LowBookedShare {
                days,
                min_daily_visits,
                max_booked_share_pct,
            } => json!({
                "days": days,
                "min_daily_visits": min_daily_visits,
                "max_booked_share_pct": max_booked_share_pct,
            }),
            RuleParams::NoBookableSlots {
                recent_days,
                min_lookups,
                ahead_days,
            } => json!({
                "recent_days": recent_days,
                "min_lookups": min_lookups,
                "ahead_days": ahead_days,
            }),
            RuleParams::ReportsThreshold { days, min_reports } => json!({
                "days": days,
                "min_reports": min_reports,
            }),
        }
    }

    /// The window of figures this rule reads: days back from yesterday, days ahead from
    /// tomorrow.
    pub fn window(self) -> Window {
        match self {
            RuleParams::LowBookedShare { days, .. } => Window {
                back_days: days,
                ahead_days: 0,
            },
            RuleParams::NoBookableSlots {
                recent_days,
                ahead_days,
                ..
            } => Window {
                back_days: recent_days,
                ahead_days,
            },
            RuleParams::ReportsThreshold { days, .. } => Window {
                back_days: days,
                ahead_days: 0,
            },
        }
    }
}

/// Which days a rule's figures cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub back_days: u16,
    pub ahead_days: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: RuleKind,
    pub severity: Severity,
    pub params: RuleParams,
}

/// One version of the rules: each kind at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses the stored or submitted form: `[{"kind", "severity", "params": {…}}]`.
    pub fn parse(v: &Value) -> Result<Self, FieldError> {
        let items = v.as_array().ok_or_else(|| bad("rules must be a list"))?;
        if items.len() > MAX_RULES {
            return Err(bad(format!("at most {MAX_RULES} rules")));
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(items.len());
        for item in items {
            let kind = item
                .get("kind")
                .and_then(Value::as_str)
                .and_then(RuleKind::parse)
                .ok_or_else(|| {
                    bad("kind must be one of low_booked_share, no_bookable_slots, reports_threshold")
                })?;
            if rules.iter().any(|r| r.kind == kind) {
                return Err(bad(format!("{} is listed twice", kind.code())));
            }
            let severity = item
                .get("severity")
                .and_then(Value::as_str)
                .and_then(Severity::parse)
                .ok_or_else(|| bad("severity must be low, medium or high"))?;
            let params = RuleParams::parse(kind, item.get("params").unwrap_or(&Value::Null))?;
            rules.push(Rule {
                kind,
                severity,
                params,
            });
        }
        Ok(Self { rules })
    }

    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rules
                .iter()
                .map(|r| {
                    json!({
                        "kind": r.kind.code(),
                        "severity": r.severity.code(),
                        "params": r.params.to_json(),
                    })
                })
                .collect(),
        )
    }
}

/// An office's accepted reports of one category over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedReports {
    pub category: String,
    /// How many, and the ids of the first [`MAX_EVIDENCE_REPORTS`] of them.
    pub count: u64,
    pub ids: Vec<i64>,
}

/// One office's figures over a window, as the store sums them for every office at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub office: OfficeCode,
    /// Visits served: bookings checked in (on time or late) and walk-ins.
    pub visits: u64,
    /// Of those, visits that came with a booking.
    pub booked_visits: u64,
    /// Inquiries and identity checks through the exchange (the message log's entries).
    pub lookups: u64,
    /// Whether any of the coming days is open for booking: hours set, booking counters
    /// above zero, and not every day closed.
    pub bookable_ahead: bool,
    /// Citizens' reports about the office accepted in the window, per category.
    pub reports: Vec<AcceptedReports>,
}

/// A finding a run raises: the rule, and the figures that broke it.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub office: OfficeCode,
    pub rule: RuleKind,
    pub severity: Severity,
    pub evidence: Value,
}

/// The findings `rule` raises over `activity` (figures of `days_back` days).
pub fn evaluate(rule: &Rule, activity: &[Activity]) -> Vec<Breach> {
    let mut out = Vec::new();
    for a in activity {
        let evidence = match rule.params {
            RuleParams::ReportsThreshold { days, min_reports } => {
                // One finding per office, naming every category over the threshold.
                let over: Vec<Value> = a
                    .reports
                    .iter()
                    .filter(|r| r.count >= u64::from(min_reports))
                    .map(|r| {
                        json!({
                            "category": r.category,
                            "accepted_reports": r.count,
                            "report_ids": r.ids,
                        })
                    })
                    .collect();
                if over.is_empty() {
                    continue;
                }
                json!({
                    "days": days,
                    "min_reports": min_reports,
                    "categories": over,
                })
            }
            RuleParams::LowBookedShare {
                days,
                min_daily_visits,
                max_booked_share_pct,
            } => {
                let busy = a.visits >= u64::from(min_daily_visits) * u64::from(days);
                // booked / visits < pct / 100, in integers.
                let low = a.booked_visits * 100 < u64::from(max_booked_share_pct) * a.visits;
                if !(busy && low) {
                    continue;
                }
                json!({
                    "days": days,
                    "visits": a.visits,
                    "booked_visits": a.booked_visits,
                    "walk_ins": a.visits - a.booked_visits,
                    "visits_per_day": a.visits / u64::from(days.max(1)),
                    "booked_share_pct": a.booked_visits * 100 / a.visits.max(1),
                    "min_daily_visits": min_daily_visits,
                    "max_booked_share_pct": max_booked_share_pct,
                })
            }
            RuleParams::NoBookableSlots {
                recent_days,
                min_lookups,
                ahead_days,
            } => {
                if a.lookups < u64::from(min_lookups) || a.bookable_ahead {
                    continue;
                }
                json!({
                    "recent_days": recent_days,
                    "lookups": a.lookups,
                    "min_lookups": min_lookups,
                    "ahead_days": ahead_days,
                    "bookable_ahead": false,
                })
            }
        };
        out.push(Breach {
            office: a.office,
            rule: rule.kind,
            severity: rule.severity,
            evidence,
        });
    }
    out
}

/// A step of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanctionKind {
    Warning,
    Suspension,
    Reinstatement,
}

impl SanctionKind {
    pub const ALL: [SanctionKind; 3] = [
        SanctionKind::Warning,
        SanctionKind::Suspension,
        SanctionKind::Reinstatement,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SanctionKind::Warning => "warning",
            SanctionKind::Suspension => "suspension",
            SanctionKind::Reinstatement => "reinstatement",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// What must hold before a suspended office is let back onto the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conditions {
    /// Opening hours on at least one day of the week.
    pub hours_set: bool,
    /// At least one counter serves booked citizens.
    pub booking_counters: bool,
    /// Of the coming days, how many are open for booking.
    pub bookable_days_ahead: u32,
}

impl Conditions {
    pub fn met(&self) -> bool {
        self.hours_set && self.booking_counters && self.bookable_days_ahead > 0
    }

    /// The codes of the conditions that do not hold.
    pub fn unmet(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.hours_set {
            out.push("hours_not_set");
        }
        if !self.booking_counters {
            out.push("no_booking_counters");
        }
        if self.bookable_days_ahead == 0 {
            out.push("no_bookable_slots");
        }
        out
    }
}

/// Why a step of the ladder is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LadderRefusal {
    #[error("a revoked office's licence is not handled by sanctions")]
    Revoked,
    #[error("an office is warned before it is suspended")]
    WarnFirst,
    #[error("the office is already suspended")]
    AlreadySuspended,
    #[error("only a warned or suspended office is reinstated")]
    NothingToLift,
    #[error("the reinstatement conditions do not hold: {}", .0.join(", "))]
    ConditionsUnmet(Vec<&'static str>),
}

impl LadderRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            LadderRefusal::Revoked => "office_revoked",
            LadderRefusal::WarnFirst | LadderRefusal::AlreadySuspended => "sanction_out_of_order",
            LadderRefusal::NothingToLift => "nothing_to_lift",
            LadderRefusal::ConditionsUnmet(_) => "reinstatement_conditions_unmet",
        }
    }
}

/// The status `kind` moves an office in `current` to. Reinstating a suspended office needs
/// `conditions` met; lifting a warning does not (the office never left the network).
pub fn next_status(
    current: OfficeStatus,
    kind: SanctionKind,
    conditions: &Conditions,
) -> Result<OfficeStatus, LadderRefusal> {
    match (current, kind) {
        (OfficeStatus::Revoked, _) => Err(LadderRefusal::Revoked),
        (OfficeStatus::Active | OfficeStatus::Warned, SanctionKind::Warning) => {
            Ok(OfficeStatus::Warned)
        }
        (OfficeStatus::Suspended, SanctionKind::Warning | SanctionKind::Suspension) => {
            Err(LadderRefusal::AlreadySuspended)
        }
        (OfficeStatus::Active, SanctionKind::Suspension) => Err(LadderRefusal::WarnFirst),
        (OfficeStatus::Warned, SanctionKind::Suspension) => Ok(OfficeStatus::Suspended),
        (OfficeStatus::Active, SanctionKind::Reinstatement) => Err(LadderRefusal::NothingToLift),
        (OfficeStatus::Warned, SanctionKind::Reinstatement) => Ok(OfficeStatus::Active),
        (OfficeStatus::Suspended, SanctionKind::Reinstatement) => {
            if conditions.met() {
                Ok(OfficeStatus::Active)
            } else {
                Err(LadderRefusal::ConditionsUnmet(conditions.unmet()))
            }
        }
    }
}

/// Reads a reason, request or reply: trimmed, 1 to [`MAX_TEXT_CHARS`] characters.
pub fn text(field: &'static str, s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT_CHARS {
        return Err(FieldError::new(
            field,
            "invalid_text",
            format!("{field} must be 1..={MAX_TEXT_CHARS} characters"),
        ));
    }
    if let Some(c) = crate::plain_text::first_forbidden_in_text(t) {
        return Err(crate::plain_text::refusal(field, c));
    }
    Ok(t.to_string())
}
