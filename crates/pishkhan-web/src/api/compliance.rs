//! Compliance: the regulator's rules, runs, findings, the sanctions ladder, and the manager's
//! reinstatement requests and appeals with the regulator's decision. Handlers parse, call
//! `pishkhan_app::compliance` and render.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pishkhan_app::AppError;
use pishkhan_app::compliance::{self, RequestKind, RulesView, SanctionCommand};
use pishkhan_domain::compliance::SanctionKind;
use pishkhan_store::{ComplianceFinding, ComplianceRequest, FindingFilter, Sanction};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::{ProblemOut, rfc3339_ms};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx};
use crate::input::{page_request, parse_office_code};

fn request_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::App(AppError::NotFound("request")))
}

/// One rule, as `RuleSet::parse` reads it and `RuleSet::to_json` writes it: its kind, its
/// severity and the kind's params. Documents the JSON only; the domain parses it.
// Never built: it documents JSON that the domain parses.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleDoc {
    LowBookedShare {
        severity: SeverityDoc,
        params: LowBookedShareParams,
    },
    NoBookableSlots {
        severity: SeverityDoc,
        params: NoBookableSlotsParams,
    },
    ReportsThreshold {
        severity: SeverityDoc,
        params: ReportsThresholdParams,
    },
}

// Never built: it documents JSON that the domain parses.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityDoc {
    Low,
    Medium,
    High,
}

/// Windows are 1 to 90 days (`MAX_WINDOW_DAYS`).
// Never built: it documents JSON that the domain parses.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LowBookedShareParams {
    #[schema(minimum = 1, maximum = 90)]
    pub days: u16,
    #[schema(minimum = 1, maximum = 100_000)]
    pub min_daily_visits: u32,
    #[schema(minimum = 1, maximum = 100)]
    pub max_booked_share_pct: u8,
}

// Never built: it documents JSON that the domain parses.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoBookableSlotsParams {
    #[schema(minimum = 1, maximum = 90)]
    pub recent_days: u16,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub min_lookups: u32,
    #[schema(minimum = 1, maximum = 90)]
    pub ahead_days: u16,
}

// Never built: it documents JSON that the domain parses.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsThresholdParams {
    #[schema(minimum = 1, maximum = 90)]
    pub days: u16,
    #[schema(minimum = 1, maximum = 1000)]
    pub min_reports: u32,
}

#[derive(Serialize, ToSchema)]
pub struct RulesOut {
    pub version: i64,
    #[schema(value_type = Vec<RuleDoc>)]
    pub rules: serde_json::Value,
    pub created_by: String,
    pub created_at: String,
}

impl From<&RulesView> for RulesOut {
    fn from(v: &RulesView) -> Self {
        Self {
            version: v.version,
            rules: v.rules.to_json(),
            created_by: v.created_by.clone(),
            created_at: rfc3339_ms(v.created_at_ms),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesIn {
    /// Each kind at most once (so at most three rules).
    #[schema(value_type = Vec<RuleDoc>, max_items = 3)]
    pub rules: serde_json::Value,
}

/// The compliance rules in force, with their version (the regulator).
#[utoipa::path(get, path = "/api/v1/compliance/rules", tag = "compliance",
    responses((status = 200, body = RulesOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_rules(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<RulesOut>, ApiError> {
    let v = compliance::rules(state.app(), &staff).await?;
    Ok(Json(RulesOut::from(&v)))
}

/// Saves the rules as a new version (the regulator); findings name the version they came from.
#[utoipa::path(put, path = "/api/v1/compliance/rules", tag = "compliance", request_body = RulesIn,
    responses((status = 200, body = RulesOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put_rules(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<RulesIn>,
) -> Result<Json<RulesOut>, ApiError> {
    let v = compliance::save_rules(state.app(), &staff, &input.rules, &ctx).await?;
    Ok(Json(RulesOut::from(&v)))
}

#[derive(Serialize, ToSchema)]
pub struct RunOut {
    pub rule_version: i64,
    pub offices: usize,
    pub breaches: usize,
    pub new_findings: u64,
}

/// Runs the rules over every office now (the regulator); the same rule version, office and
/// period give one finding however often it runs.
#[utoipa::path(post, path = "/api/v1/compliance/runs", tag = "compliance",
    responses((status = 201, body = RunOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn run(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
) -> Result<(StatusCode, Json<RunOut>), ApiError> {
    let r = compliance::run(state.app(), &staff, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(RunOut {
            rule_version: r.rule_version,
            offices: r.offices,
            breaches: r.breaches,
            new_findings: r.new_findings,
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingsQuery {
    /// open, actioned or dismissed.
    pub status: Option<String>,
    #[param(pattern = r"^[1-9][0-9]{7}$")]
    pub office: Option<String>,
    #[param(pattern = r"^([1-9][0-9]{0,5}|1000000)$")]
    pub page: Option<String>,
    #[param(pattern = r"^([1-9]|[1-9][0-9]|100)$")]
    pub per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ComplianceFindingOut {
    pub id: i64,
    pub office: String,
    pub rule: String,
    pub rule_version: i64,
    pub severity: String,
    pub status: String,
    /// The days the figures cover, `FROM..TO` (none for a payment's finding).
    pub period: Option<String>,
    /// The figures, the rule and its version.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    pub payment: Option<i64>,
    pub created_at: String,
}

impl From<&ComplianceFinding> for ComplianceFindingOut {
    fn from(f: &ComplianceFinding) -> Self {
        Self {
            id: f.id,
            office: f.office.to_string(),
            rule: f.rule.clone(),
            rule_version: f.rule_version,
            severity: f.severity.clone(),
            status: f.status.clone(),
            period: f.period.clone(),
            evidence: f.evidence.clone(),
            payment: f.payment,
            created_at: rfc3339_ms(f.created_at_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FindingsOut {
    pub items: Vec<ComplianceFindingOut>,
    pub total: u64,
}

/// Findings, newest first: the rules' and the payments' (a fee above the tariff). The
/// regulator sees every office's, a manager their own office's (`office` required).
#[utoipa::path(get, path = "/api/v1/compliance/findings", tag = "compliance", params(FindingsQuery),
    responses((status = 200, body = FindingsOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn findings(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<FindingsQuery>,
) -> Result<Json<FindingsOut>, ApiError> {
    let page = page_request(q.page.as_deref(), q.per_page.as_deref())?;
    let filter = FindingFilter {
        status: q
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        office: q
            .office
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_office_code)
            .transpose()?,
    };
    let found = compliance::findings(state.app(), &staff, &filter, page).await?;
    Ok(Json(FindingsOut {
        items: found.items.iter().map(ComplianceFindingOut::from).collect(),
        total: found.total,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SanctionIn {
    /// warning, suspension or reinstatement.
    #[schema(pattern = r"^(warning|suspension|reinstatement)$")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
    /// Ids of the office's findings it rests on.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub findings: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SanctionOut {
    pub id: i64,
    pub office: String,
    pub kind: String,
    pub reason: String,
    pub findings: Vec<i64>,
    pub status_before: String,
    pub status_after: String,
    pub actor: String,
    pub created_at: String,
}

impl From<&Sanction> for SanctionOut {
    fn from(s: &Sanction) -> Self {
        Self {
            id: s.id,
            office: s.office.to_string(),
            kind: s.kind.clone(),
            reason: s.reason.clone(),
            findings: s.findings.clone(),
            status_before: s.status_before.clone(),
            status_after: s.status_after.clone(),
            actor: s.actor.clone(),
            created_at: rfc3339_ms(s.created_at_ms),
        }
    }
}

/// A step of the ladder (the regulator): warn, then suspend (its inquiries, identity checks,
/// payments, walk-ins and new bookings answer 403 `office_suspended`; its booked citizens are
/// told, with nearby offices), then reinstate once its conditions hold.
#[utoipa::path(post, path = "/api/v1/offices/{code}/sanctions", tag = "compliance",
    params(("code" = String, Path, pattern = r"^[1-9][0-9]{7}$")), request_body = SanctionIn,
    responses((status = 201, body = SanctionOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn sanction(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<SanctionIn>,
) -> Result<(StatusCode, Json<SanctionOut>), ApiError> {
    let code = parse_office_code(&code)?;
    let kind = SanctionKind::parse(input.kind.trim()).ok_or_else(|| {
        ApiError::invalid(
            "invalid_kind",
            "kind",
            "use warning, suspension or reinstatement",
        )
    })?;
    let cmd = SanctionCommand {
        kind,
        reason: input.reason,
        findings: input.findings,
    };
    let s = compliance::sanction(state.app(), &staff, code, cmd, &ctx).await?;
    Ok((StatusCode::CREATED, Json(SanctionOut::from(&s))))
}

/// The office's sanctions, newest first (the regulator, or its manager).
#[utoipa::path(get, path = "/api/v1/offices/{code}/sanctions", tag = "compliance",
    params(("code" = String, Path, pattern = r"^[1-9][0-9]{7}$")),
    responses((status = 200, body = [SanctionOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn sanctions(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<SanctionOut>>, ApiError> {
    let code = parse_office_code(&code)?;
    let list = compliance::sanctions(state.app(), &staff, Some(code)).await?;
    Ok(Json(list.iter().map(SanctionOut::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceRequestIn {
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
    /// The sanction appealed; left out, a request for reinstatement.
    pub appeal_of: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ComplianceRequestOut {
    pub id: i64,
    pub office: String,
    /// reinstatement or appeal.
    pub kind: String,
    pub sanction: Option<i64>,
    pub text: String,
    /// open, approved or refused.
    pub status: String,
    pub reply: Option<String>,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub created_at: String,
    pub decided_at: Option<String>,
}

impl From<&ComplianceRequest> for ComplianceRequestOut {
    fn from(r: &ComplianceRequest) -> Self {
        Self {
            id: r.id,
            office: r.office.to_string(),
            kind: r.kind.clone(),
            sanction: r.sanction,
            text: r.text.clone(),
            status: r.status.clone(),
            reply: r.reply.clone(),
            requested_by: r.requested_by.clone(),
            decided_by: r.decided_by.clone(),
            created_at: rfc3339_ms(r.created_at_ms),
            decided_at: r.decided_at_ms.map(rfc3339_ms),
        }
    }
}

/// The office's manager asks to be reinstated, or appeals a sanction (also while the office
/// is suspended); one request waits at a time.
#[utoipa::path(post, path = "/api/v1/offices/{code}/reinstatement-requests", tag = "compliance",
    params(("code" = String, Path, pattern = r"^[1-9][0-9]{7}$")), request_body = ComplianceRequestIn,
    responses((status = 201, body = ComplianceRequestOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_request(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(code): ApiPath<String>,
    ApiJson(input): ApiJson<ComplianceRequestIn>,
) -> Result<(StatusCode, Json<ComplianceRequestOut>), ApiError> {
    let code = parse_office_code(&code)?;
    let kind = match input.appeal_of {
        Some(id) => RequestKind::Appeal(id),
        None => RequestKind::Reinstatement,
    };
    let r = compliance::request(state.app(), &staff, code, kind, &input.text, &ctx).await?;
    Ok((StatusCode::CREATED, Json(ComplianceRequestOut::from(&r))))
}

/// The office's requests and appeals, newest first (the regulator, or its manager).
#[utoipa::path(get, path = "/api/v1/offices/{code}/reinstatement-requests", tag = "compliance",
    params(("code" = String, Path, pattern = r"^[1-9][0-9]{7}$")),
    responses((status = 200, body = [ComplianceRequestOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn office_requests(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<ComplianceRequestOut>>, ApiError> {
    let code = parse_office_code(&code)?;
    let list = compliance::requests(state.app(), &staff, Some(code), false).await?;
    Ok(Json(list.iter().map(ComplianceRequestOut::from).collect()))
}

/// Every office's requests waiting for an answer (the regulator).
#[utoipa::path(get, path = "/api/v1/compliance/requests", tag = "compliance",
    responses((status = 200, body = [ComplianceRequestOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn open_requests(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<ComplianceRequestOut>>, ApiError> {
    let list = compliance::requests(state.app(), &staff, None, true).await?;
    Ok(Json(list.iter().map(ComplianceRequestOut::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    pub approve: bool,
    #[schema(min_length = 1, max_length = 1000)]
    pub reply: String,
}

/// The regulator answers a request: approving reinstates the office, only once its
/// conditions hold (hours and counters set, bookable days ahead).
#[utoipa::path(post, path = "/api/v1/compliance/requests/{id}/decision", tag = "compliance",
    params(("id" = String, Path, pattern = r"^[0-9]{1,18}$")), request_body = DecisionIn,
    responses((status = 200, body = ComplianceRequestOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<DecisionIn>,
) -> Result<Json<ComplianceRequestOut>, ApiError> {
    let id = request_id(&id)?;
    let r = compliance::decide(state.app(), &staff, id, input.approve, &input.reply, &ctx).await?;
    Ok(Json(ComplianceRequestOut::from(&r)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissalIn {
    /// Why the finding does not call for a step (1 to 1,000 characters); kept in the audit log.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// The regulator dismisses an open finding with a reason (kept in the audit log): it is then
/// `dismissed` and no longer listed as open. 409 `finding_not_open` when it was already
/// dismissed or acted on.
#[utoipa::path(post, path = "/api/v1/compliance/findings/{id}/dismissal", tag = "compliance",
    params(("id" = String, Path, pattern = r"^[0-9]{1,18}$")), request_body = DismissalIn,
    responses((status = 200, body = ComplianceFindingOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn dismiss(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<DismissalIn>,
) -> Result<Json<ComplianceFindingOut>, ApiError> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::App(AppError::NotFound("finding")))?;
    let f = compliance::dismiss(state.app(), &staff, id, &input.reason, &ctx).await?;
    Ok(Json(ComplianceFindingOut::from(&f)))
}
