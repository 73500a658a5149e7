//! Compliance: the regulator's rules, runs over every office (daily and on demand), the
//! findings with their evidence, the sanctions ladder (warning, suspension, reinstatement)
//! and the manager's requests and appeals with the regulator's reply.
//!
//! A suspension changes the office's status, which every permit of its staff is decided on
//! (`access.rs`): their inquiries, identity checks, payments, walk-ins and new bookings are
//! refused with `office_suspended` at once, since their sessions are refreshed in the same
//! transaction; reading stays allowed.

use std::collections::{BTreeMap, HashMap};

use pishkhan_domain::access::{Action, Permit, Principal, authorize};
use pishkhan_domain::compliance::{
    self, Conditions, LadderRefusal, RuleSet, SanctionKind, Window, next_status,
};
use pishkhan_domain::model::{Office, OfficeCode, OfficeStatus};
use pishkhan_domain::outbox::{Notice, OutboxKind};
use pishkhan_domain::schedule::{solar_holiday, tehran_instant, unix_ms};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{
    ActivityWindow, AuditContext, ComplianceFinding, ComplianceRequest, FindingFilter,
    MAX_NOTIFIED_BOOKINGS, ManagerNotice, NewComplianceRequest, NewRuleFinding, Page, PageRequest,
    RequestDecision, Sanction, SanctionWrite, StoreError,
};
use serde_json::json;

use crate::{App, AppError, StaffSession};

/// Days ahead that reinstatement looks for a bookable day.
pub const REINSTATEMENT_AHEAD_DAYS: u16 = 7;
/// Services whose nearby offices a suspension looks up for its notices, at most; bookings
/// of other services are told without alternatives.
const MAX_SERVICES_WITH_ALTERNATIVES: usize = 20;
/// Nearby offices offered per notice.
const ALTERNATIVES: usize = 3;
/// Sanctions and requests listed at once.
const MAX_LISTED: u32 = 200;

/// The rules in force, with their version.
#[derive(Debug, Clone)]
pub struct RulesView {
    pub version: i64,
    pub rules: RuleSet,
    pub created_by: String,
    pub created_at_ms: i64,
}

fn view_of(v: pishkhan_store::RulesVersion) -> Result<RulesView, AppError> {
    Ok(RulesView {
        rules: RuleSet::parse(&v.rules)
            .map_err(|e| AppError::internal(anyhow::anyhow!(e.message)))?,
        version: v.version,
        created_by: v.created_by,
        created_at_ms: v.created_at_ms,
    })
}

/// The rules in force (the regulator).
pub async fn rules(state: &App, by: &StaffSession) -> Result<RulesView, AppError> {
    by.permit(Action::ViewCompliance { office: None })?;
    view_of(state.store().compliance_rules().await?)
}

/// Saves `rules` as the next version (the regulator); the old versions stay, and the
/// findings made under them keep naming them.
pub async fn save_rules(
    state: &App,
    by: &StaffSession,
    rules: &serde_json::Value,
    ctx: &AuditContext,
) -> Result<RulesView, AppError> {
    let permit = by.permit(Action::ManageCompliance)?;
    let parsed = RuleSet::parse(rules)?;
    let stored = state
        .store()
        .save_compliance_rules(&permit, &parsed.to_json(), ctx)
        .await?;
    view_of(stored)
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub rule_version: i64,
    pub offices: usize,
    /// Offices breaking a rule, per rule, this run.
    pub breaches: usize,
    /// Of those, findings not recorded before.
    pub new_findings: u64,
}

/// Runs the rules over every office now (the regulator).
pub async fn run(
    state: &App,
    by: &StaffSession,
    ctx: &AuditContext,
) -> Result<RunReport, AppError> {
    let permit = by.permit(Action::ManageCompliance)?;
    run_with(state, &permit, ctx).await
}

/// The daily run, once per Tehran day whichever process sweeps first; `None` when today's
/// run was already made.
pub async fn daily(state: &App) -> Result<Option<RunReport>, AppError> {
    let today = jalali_today(state.now());
    if !state
        .store()
        .claim_daily_compliance_run(today, state.now_ms())
        .await?
    {
        return Ok(None);
    }
    let permit = authorize(
        &Principal::System {
            reason: "compliance-daily",
        },
        Action::ManageCompliance,
    )?;
    let ctx = AuditContext {
        now_ms: state.now_ms(),
        ..AuditContext::default()
    };
    run_with(state, &permit, &ctx).await.map(Some)
}

fn window_of(state: &App, w: Window) -> ActivityWindow {
    let today = jalali_today(state.now());
    let from = today.add_days(-i64::from(w.back_days));
    ActivityWindow {
        from,
        to: today.add_days(-1),
        from_ms: unix_ms(tehran_instant(from, 0)),
        to_ms: unix_ms(tehran_instant(today, 0)),
        ahead_from: today.add_days(1),
        ahead_to: today.add_days(i64::from(w.ahead_days)),
        ahead_days: w.ahead_days,
    }
}

async fn run_with(state: &App, permit: &Permit, ctx: &AuditContext) -> Result<RunReport, AppError> {
    let current = view_of(state.store().compliance_rules().await?)?;
    // One set-based read per distinct window, whatever the number of offices.
    let mut figures: HashMap<Window, (ActivityWindow, Vec<compliance::Activity>)> = HashMap::new();
    let mut found = Vec::new();
    let mut offices = 0;
    for rule in &current.rules.rules {
        let w = rule.params.window();
        if let std::collections::hash_map::Entry::Vacant(slot) = figures.entry(w) {
            let aw = window_of(state, w);
            let activity = state.store().compliance_activity(&aw).await?;
            slot.insert((aw, activity));
        }
        let Some((aw, activity)) = figures.get(&w) else {
            continue;
        };
        offices = offices.max(activity.len());
        for b in compliance::evaluate(rule, activity) {
            let mut evidence = b.evidence;
            if let Some(o) = evidence.as_object_mut() {
                o.insert("rule".into(), json!(b.rule.code()));
                o.insert("rule_version".into(), json!(current.version));
                o.insert("from".into(), json!(aw.from.to_string()));
                o.insert("to".into(), json!(aw.to.to_string()));
            }
            found.push(NewRuleFinding {
                office: b.office,
                rule: b.rule.code(),
                rule_version: current.version,
                period: format!("{}..{}", aw.from, aw.to),
                severity: b.severity.code(),
                evidence,
            });
        }
    }
    let new_findings = state.store().record_findings(permit, &found, ctx).await?;
    Ok(RunReport {
        rule_version: current.version,
        offices,
        breaches: found.len(),
        new_findings,
    })
}

/// Findings, newest first: the regulator's of every office, a manager's of their own.
pub async fn findings(
    state: &App,
    by: &StaffSession,
    filter: &FindingFilter,
    page: PageRequest,
) -> Result<Page<ComplianceFinding>, AppError> {
    by.permit(Action::ViewCompliance {
        office: filter.office,
    })?;
    if let Some(s) = &filter.status
        && !["open", "actioned", "dismissed"].contains(&s.as_str())
    {
        return Err(AppError::invalid(
            "invalid_status",
            "status",
            "status is open, actioned or dismissed",
        ));
    }
    Ok(state.store().compliance_findings(filter, page).await?)
}

/// What reinstating `office` needs, as things stand.
pub async fn conditions(state: &App, office: &Office) -> Result<Conditions, AppError> {
    let policy = crate::appointments::policy_of(state, office).await?;
    let today = jalali_today(state.now());
    let (from, to) = (
        today.add_days(1),
        today.add_days(i64::from(REINSTATEMENT_AHEAD_DAYS)),
    );
    let holidays = state.store().holidays(from, to).await?;
    let closures = state.store().closures(office.code, from, to).await?;
    let hours_set = office.hours.0.iter().any(Option::is_some);
    let booking_counters = policy.booking_counters > 0;
    let mut open = 0;
    if booking_counters {
        for i in 0..REINSTATEMENT_AHEAD_DAYS {
            let d = from.add_days(i64::from(i));
            let closed = solar_holiday(d).is_some()
                || holidays.iter().any(|(h, _)| *h == d)
                || closures.iter().any(|(c, _)| *c == d)
                || office.hours.day(d.weekday()).is_none();
            if !closed {
                open += 1;
            }
        }
    }
    Ok(Conditions {
        hours_set,
        booking_counters,
        bookable_days_ahead: open,
    })
}

fn refused(r: LadderRefusal) -> AppError {
    AppError::Conflict {
        code: r.code(),
        message: r.to_string(),
    }
}

async fn office(state: &App, code: OfficeCode) -> Result<Office, AppError> {
    state.store().office(code).await.map_err(|e| match e {
        StoreError::NotFound { .. } => AppError::NotFound("office"),
        other => other.into(),
    })
}

/// A sanction as the regulator asks for it.
#[derive(Debug, Clone)]
pub struct SanctionCommand {
    pub kind: SanctionKind,
    pub reason: String,
    pub findings: Vec<i64>,
}

fn manager_notice(office: OfficeCode, step: &str, at_ms: i64) -> ManagerNotice {
    ManagerNotice {
        kind: OutboxKind::ComplianceNotice,
        dedupe: format!("compliance:{office}:{step}:{at_ms}"),
        payload: json!({ "office": office.to_string(), "step": step }),
    }
}

/// The notices a suspension sends to the citizens booked at `office`, each with the nearest
/// open offices that have a free slot for their service.
async fn booked_notices(state: &App, office: &Office) -> Result<Vec<Notice>, AppError> {
    let upcoming = state
        .store()
        .upcoming_bookings(office.code, state.now_ms(), MAX_NOTIFIED_BOOKINGS)
        .await?;
    let mut nearby: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for b in &upcoming {
        let key = b.service.as_str().to_string();
        if nearby.contains_key(&key) || nearby.len() >= MAX_SERVICES_WITH_ALTERNATIVES {
            continue;
        }
        let alternatives = match crate::appointments::service_of(state, &b.service).await {
            Ok(service) => {
                let search = crate::search::SlotSearch {
                    lat: Some(office.lat),
                    lon: Some(office.lon),
                    limit: Some(ALTERNATIVES + 1),
                    ..Default::default()
                };
                match crate::search::slots(state, &service, &search).await {
                    Ok(found) => found
                        .into_iter()
                        .filter(|m| m.office.code != office.code)
                        .take(ALTERNATIVES)
                        .map(|m| {
                            json!({
                                "office": m.office.code.to_string(),
                                "name_fa": m.office.name.fa,
                                "name_en": m.office.name.en,
                                "date": m.date.to_string(),
                                "slot_start_ms": m.slot.start_ms(),
                            })
                        })
                        .collect(),
                    // Without alternatives the citizen is still told.
                    Err(e) => {
                        tracing::warn!(error = %e, "no nearby offices for a suspension notice");
                        Vec::new()
                    }
                }
            }
            Err(_) => Vec::new(),
        };
        nearby.insert(key, serde_json::Value::Array(alternatives));
    }
    Ok(upcoming
        .iter()
        .map(|b| Notice {
            kind: OutboxKind::OfficeSuspended,
            recipient: b.mobile.clone(),
            dedupe_key: format!("office.suspended:{}:{}", b.tracking_code, state.now_ms()),
            payload: json!({
                "office": office.code.to_string(),
                "service": b.service.as_str(),
                "tracking_code": b.tracking_code,
                "slot_start_ms": b.slot_start_ms,
                "alternatives": nearby.get(b.service.as_str()).cloned().unwrap_or(json!([])),
            }),
        })
        .collect())
}

/// Decides a step of the ladder for `office` as it stands.
async fn decide_step(
    state: &App,
    office: &Office,
    cmd: &SanctionCommand,
) -> Result<SanctionWrite, AppError> {
    let conditions = conditions(state, office).await?;
    let to = next_status(office.status, cmd.kind, &conditions).map_err(refused)?;
    let notices = if to == OfficeStatus::Suspended {
        booked_notices(state, office).await?
    } else {
        Vec::new()
    };
    Ok(SanctionWrite {
        office: office.code,
        kind: cmd.kind,
        reason: cmd.reason.clone(),
        findings: cmd.findings.clone(),
        from: office.status,
        to,
        notices,
        manager: Some(manager_notice(office.code, cmd.kind.code(), state.now_ms())),
    })
}

fn forget(state: &App, office: OfficeCode) {
    state.refs().forget_office(office);
    state
        .sessions()
        .forget(&pishkhan_store::SessionInvalidation::Office(office));
}

/// Warns, suspends or reinstates `office` (the regulator), with a reason and the findings it
/// rests on. Refused out of order (`sanction_out_of_order`: warn before suspending) and,
/// for a reinstatement, until its conditions hold (`reinstatement_conditions_unmet`).
pub async fn sanction(
    state: &App,
    by: &StaffSession,
    code: OfficeCode,
    mut cmd: SanctionCommand,
    ctx: &AuditContext,
) -> Result<Sanction, AppError> {
    let permit = by.permit(Action::ManageCompliance)?;
    cmd.reason = compliance::text("reason", &cmd.reason)?;
    if cmd.findings.len() > compliance::MAX_CITED_FINDINGS {
        return Err(AppError::invalid(
            "too_many_findings",
            "findings",
            format!("cite at most {} findings", compliance::MAX_CITED_FINDINGS),
        ));
    }
    cmd.findings.sort_unstable();
    cmd.findings.dedup();
    let found = office(state, code).await?;
    let write = decide_step(state, &found, &cmd).await?;
    let out = state
        .store()
        .record_sanction(&permit, &write, ctx)
        .await
        .map_err(|e| match e {
            StoreError::UnknownReference { .. } => AppError::invalid(
                "unknown_finding",
                "findings",
                "every finding cited must be one of this office's, and not dismissed",
            ),
            other => other.into(),
        })?;
    forget(state, code);
    Ok(out)
}

/// An office's sanctions, newest first (the regulator, or the office's manager).
pub async fn sanctions(
    state: &App,
    by: &StaffSession,
    office: Option<OfficeCode>,
) -> Result<Vec<Sanction>, AppError> {
    by.permit(Action::ViewCompliance { office })?;
    Ok(state.store().sanctions(office, MAX_LISTED).await?)
}

/// What a manager asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Reinstatement,
    /// An appeal of one sanction.
    Appeal(i64),
}

/// Files the manager's request to be reinstated, or appeal of a sanction; the regulator
/// answers it. Allowed while the office is suspended: that is the point.
pub async fn request(
    state: &App,
    by: &StaffSession,
    code: OfficeCode,
    kind: RequestKind,
    text: &str,
    ctx: &AuditContext,
) -> Result<ComplianceRequest, AppError> {
    let permit = by.permit(Action::RequestReinstatement { office: code })?;
    let text = compliance::text("text", text)?;
    let found = office(state, code).await?;
    if matches!(kind, RequestKind::Reinstatement)
        && !matches!(found.status, OfficeStatus::Warned | OfficeStatus::Suspended)
    {
        return Err(refused(LadderRefusal::NothingToLift));
    }
    let (kind, sanction) = match kind {
        RequestKind::Reinstatement => ("reinstatement", None),
        RequestKind::Appeal(id) => ("appeal", Some(id)),
    };
    let req = NewComplianceRequest {
        office: code,
        kind,
        sanction,
        text,
        manager: Some(manager_notice(code, "request_received", state.now_ms())),
    };
    state
        .store()
        .create_compliance_request(&permit, &req, ctx)
        .await
        .map_err(|e| match e {
            StoreError::UnknownReference { .. } => AppError::invalid(
                "unknown_sanction",
                "sanction",
                "appeal one of this office's sanctions",
            ),
            StoreError::WrongState(w) => AppError::Conflict {
                code: "request_open",
                message: w.message.clone(),
            },
            other => other.into(),
        })
}

/// Requests, newest first: the regulator's of every office (optionally only open ones), a
/// manager's of their own.
pub async fn requests(
    state: &App,
    by: &StaffSession,
    office: Option<OfficeCode>,
    only_open: bool,
) -> Result<Vec<ComplianceRequest>, AppError> {
    by.permit(Action::ViewCompliance { office })?;
    Ok(state
        .store()
        .compliance_requests(office, only_open.then_some("open"), MAX_LISTED)
        .await?)
}

/// The regulator answers a request. Approving lifts the sanction (reinstatement), and only
/// when the reinstatement's conditions hold; refusing leaves the office as it is.
pub async fn decide(
    state: &App,
    by: &StaffSession,
    id: i64,
    approve: bool,
    reply: &str,
    ctx: &AuditContext,
) -> Result<ComplianceRequest, AppError> {
    let permit = by.permit(Action::ManageCompliance)?;
    let reply = compliance::text("reply", reply)?;
    let req = state.store().compliance_request(id).await?;
    if req.status != "open" {
        return Err(AppError::Conflict {
            code: "request_answered",
            message: "this request was already answered".into(),
        });
    }
    let found = office(state, req.office).await?;
    let reinstatement = if approve {
        let cmd = SanctionCommand {
            kind: SanctionKind::Reinstatement,
            reason: reply.clone(),
            findings: Vec::new(),
        };
        Some(decide_step(state, &found, &cmd).await?)
    } else {
        None
    };
    let step = if approve {
        "request_approved"
    } else {
        "request_refused"
    };
    let decision = RequestDecision {
        id,
        approve,
        reply,
        reinstatement,
        manager: Some(manager_notice(req.office, step, state.now_ms())),
    };
    let out = state
        .store()
        .decide_compliance_request(&permit, &decision, ctx)
        .await?;
    if approve {
        forget(state, req.office);
    }
    Ok(out)
}

/// The regulator dismisses an open finding with a reason (kept in the audit row): it is no
/// longer listed as open. `finding_not_open` when it was already dismissed or acted on.
pub async fn dismiss(
    state: &App,
    by: &StaffSession,
    id: i64,
    reason: &str,
    ctx: &AuditContext,
) -> Result<ComplianceFinding, AppError> {
    let permit = by.permit(Action::ManageCompliance)?;
    let reason = compliance::text("reason", reason)?;
    state
        .store()
        .dismiss_finding(&permit, id, &reason, ctx)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => AppError::NotFound("finding"),
            StoreError::WrongState(w) => AppError::Conflict {
                code: "finding_not_open",
                message: w.message,
            },
            other => other.into(),
        })
}
