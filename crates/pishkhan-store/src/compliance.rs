//! The compliance area over SQL: rules versions, the set-based activity query, findings (in
//! `compliance_findings`, beside the payments' own), sanctions and requests.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::compliance::{AcceptedReports, Activity, MAX_EVIDENCE_REPORTS};
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::areas::{
    ActivityWindow, Compliance, ComplianceFinding, ComplianceRequest, FindingFilter,
    MAX_FINDINGS_PER_RUN, ManagerNotice, NewComplianceRequest, NewRuleFinding, RequestDecision,
    RulesVersion, Sanction, SanctionWrite, UpcomingBooking,
};
use crate::sessions::invalidate_sessions;
use crate::sql::{AnyTx, Arg, Sql, SqlStore, audit_permit, corrupt, field, require};
use crate::{AuditContext, Page, PageRequest, Result, StateRule, StoreError};

/// Longest list read at once (sanctions, requests).
const MAX_LISTED: u32 = 500;
/// A week of the week's hours, all closed: the stored form of "no hours".
const NO_HOURS: &str = "closed;closed;closed;closed;closed;closed;closed";

fn office_of(r: &AnyRow) -> Result<OfficeCode> {
    field(
        "compliance office",
        OfficeCode::from_u32(r.try_get::<i64, _>("office_code")? as u32),
    )
}

fn json_of(what: &str, s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

const FINDING_COLS: &str = "id, office_code, kind, rule, rule_version, period, severity, status, \
    evidence, payment_id, created_at_ms";

fn finding_from_row(r: &AnyRow) -> Result<ComplianceFinding> {
    let kind: String = r.try_get("kind")?;
    let evidence: String = r.try_get("evidence")?;
    Ok(ComplianceFinding {
        id: r.try_get("id")?,
        office: office_of(r)?,
        // A payment's finding names its kind as its rule, version 0.
        rule: r.try_get::<Option<String>, _>("rule")?.unwrap_or(kind),
        rule_version: r.try_get::<Option<i64>, _>("rule_version")?.unwrap_or(0),
        period: r.try_get("period")?,
        severity: r.try_get("severity")?,
        status: r.try_get("status")?,
        evidence: json_of("finding evidence", &evidence)?,
        payment: r.try_get("payment_id")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

const SANCTION_COLS: &str = "id, office_code, kind, reason, findings_json, status_before, \
    status_after, actor, created_at_ms";

fn sanction_from_row(r: &AnyRow) -> Result<Sanction> {
    let findings: String = r.try_get("findings_json")?;
    Ok(Sanction {
        id: r.try_get("id")?,
        office: office_of(r)?,
        kind: r.try_get("kind")?,
        reason: r.try_get("reason")?,
        findings: serde_json::from_str(&findings).map_err(|e| corrupt("sanction findings", e))?,
        status_before: r.try_get("status_before")?,
        status_after: r.try_get("status_after")?,
        actor: r.try_get("actor")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

const REQUEST_COLS: &str = "id, office_code, kind, sanction_id, text, status, reply, \
    requested_by, decided_by, created_at_ms, decided_at_ms";

fn request_from_row(r: &AnyRow) -> Result<ComplianceRequest> {
    Ok(ComplianceRequest {
        id: r.try_get("id")?,
        office: office_of(r)?,
        kind: r.try_get("kind")?,
        sanction: r.try_get("sanction_id")?,
        text: r.try_get("text")?,
        status: r.try_get("status")?,
        reply: r.try_get("reply")?,
        requested_by: r.try_get("requested_by")?,
        decided_by: r.try_get("decided_by")?,
        created_at_ms: r.try_get("created_at_ms")?,
        decided_at_ms: r.try_get("decided_at_ms")?,
    })
}

/// Accepted reports one run reads, at most (a run's window is at most 90 days).
const MAX_ACCEPTED_REPORTS_READ: i64 = 200_000;

/// One outbox message per active manager of the office.
async fn notify_managers(
    tx: &mut AnyTx<'_>,
    office: OfficeCode,
    notice: &ManagerNotice,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, recipient, dedupe_key, payload_json, status, next_attempt_at_ms, created_at_ms) \
         SELECT $1, mobile, $2 || ':' || CAST(id AS TEXT), $3, 'pending', $4, $4 FROM staff \
         WHERE office_code = $5 AND role = 'manager' AND status = 'active' \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(notice.kind.as_str())
    .bind(notice.dedupe.clone())
    .bind(notice.payload.to_string())
    .bind(now_ms)
    .bind(i64::from(office.get()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn changed(message: impl Into<String>) -> StoreError {
    StoreError::wrong_state(StateRule::ComplianceState, message)
}

/// A step of the ladder inside a caller's transaction.
async fn sanction_in_tx(
    tx: &mut AnyTx<'_>,
    permit: &Permit,
    w: &SanctionWrite,
    ctx: &AuditContext,
) -> Result<Sanction> {
    let office = i64::from(w.office.get());
    let moved = sqlx::query("UPDATE offices SET status = $1 WHERE code = $2 AND status = $3")
        .bind(w.to.code())
        .bind(office)
        .bind(w.from.code())
        .execute(&mut **tx)
        .await?;
    if moved.rows_affected() != 1 {
        return Err(changed("the office's status changed meanwhile"));
    }
    if !w.findings.is_empty() {
        // A dismissed finding is no evidence: citing one is refused like an unknown one.
        let mut sql =
            Sql::new("UPDATE compliance_findings SET status = 'actioned' WHERE office_code = ");
        sql.arg(Arg::Int(office))
            .push(" AND status <> 'dismissed' AND id IN (");
        for (i, id) in w.findings.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.arg(Arg::Int(*id));
        }
        sql.push(")");
        let marked = sql.query().execute(&mut **tx).await?.rows_affected();
        if marked != w.findings.len() as u64 {
            return Err(StoreError::UnknownReference {
                what: "finding of this office, not dismissed".into(),
            });
        }
    }
    let findings = serde_json::to_string(&w.findings).map_err(|e| corrupt("findings", e))?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO office_sanctions (office_code, kind, reason, findings_json, status_before, \
         status_after, actor, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING {SANCTION_COLS}"
    )))
    .bind(office)
    .bind(w.kind.code())
    .bind(w.reason.clone())
    .bind(findings)
    .bind(w.from.code())
    .bind(w.to.code())
    .bind(permit.principal().audit_name())
    .bind(ctx.now_ms)
    .fetch_one(&mut **tx)
    .await?;
    let sanction = sanction_from_row(&row)?;
    for n in &w.notices {
        crate::outbox::enqueue(
            tx,
            &crate::outbox::NewMessage {
                kind: n.kind,
                recipient: n.recipient.clone(),
                dedupe_key: n.dedupe_key.clone(),
                payload: n.payload.clone(),
            },
            ctx.now_ms,
        )
        .await?;
    }
    if let Some(m) = &w.manager {
        let mut m = m.clone();
        m.dedupe = format!("{}:{}", m.dedupe, sanction.id);
        notify_managers(tx, w.office, &m, ctx.now_ms).await?;
    }
    crate::sql::write_audit(
        tx,
        &permit.principal().audit_name(),
        permit.principal().staff_id(),
        &format!("compliance.{}", w.kind.code()),
        &format!("office:{}", w.office),
        &serde_json::json!({
            "sanction": sanction.id,
            "reason": w.reason,
            "findings": w.findings,
            "from": w.from.code(),
            "to": w.to.code(),
            "notified_bookings": w.notices.len(),
        }),
        ctx,
    )
    .await?;
    // Its staff's sessions carry the office's status, which their permits are decided on.
    invalidate_sessions(
        tx,
        &crate::SessionInvalidation::Office(w.office),
        ctx.now_ms,
    )
    .await?;
    Ok(sanction)
}

fn managing(permit: &Permit) -> Result<()> {
    require(permit, |a| matches!(a, Action::ManageCompliance))
}

#[async_trait]
impl Compliance for SqlStore {
    async fn compliance_rules(&self) -> Result<RulesVersion> {
        let row = sqlx::query(
            "SELECT version, rules_json, created_by, created_at_ms FROM compliance_rules \
             ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "compliance rules",
        })?;
        let rules: String = row.try_get("rules_json")?;
        Ok(RulesVersion {
            version: row.try_get("version")?,
            rules: json_of("compliance rules", &rules)?,
            created_by: row.try_get("created_by")?,
            created_at_ms: row.try_get("created_at_ms")?,
        })
    }

    async fn save_compliance_rules(
        &self,
        permit: &Permit,
        rules: &serde_json::Value,
        ctx: &AuditContext,
    ) -> Result<RulesVersion> {
        managing(permit)?;
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = async {
            let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM compliance_rules")
                .fetch_one(&mut *tx)
                .await?;
            let version: i64 = row.try_get::<i64, _>("v")? + 1;
            let by = permit.principal().audit_name();
            sqlx::query(
                "INSERT INTO compliance_rules (version, rules_json, created_by, created_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(version)
            .bind(rules.to_string())
            .bind(by.clone())
            .bind(ctx.now_ms)
            .execute(&mut *tx)
            .await?;
            audit_permit(
                &mut tx,
                permit,
                "compliance:rules",
                serde_json::json!({ "version": version, "rules": rules }),
                ctx,
            )
            .await?;
            Ok(RulesVersion {
                version,
                rules: rules.clone(),
                created_by: by,
                created_at_ms: ctx.now_ms,
            })
        }
        .await;
        crate::bookings::finish(tx, outcome).await
    }

    async fn claim_daily_compliance_run(&self, day: JalaliDate, now_ms: i64) -> Result<bool> {
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = async {
            let n = sqlx::query(
                "INSERT INTO compliance_daily_runs (day, at_ms) VALUES ($1, $2) \
                 ON CONFLICT (day) DO NOTHING",
            )
            .bind(day.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(n == 1)
        }
        .await;
        crate::bookings::finish(tx, outcome).await
    }

    async fn compliance_activity(&self, w: &ActivityWindow) -> Result<Vec<Activity>> {
        // One statement for every office: the rollups' days summed, the schedules and the
        // closures ahead each grouped once, joined to the offices.
        let mut sql = Sql::new(&format!(
            "SELECT o.code AS office_code, \
             COALESCE(v.booked, 0) AS booked, COALESCE(v.walk_ins, 0) AS walk_ins, \
             COALESCE(v.lookups, 0) AS lookups, \
             CASE WHEN o.hours <> '{NO_HOURS}' \
                   AND COALESCE(s.booking_counters, o.counters) > 0 \
                   AND COALESCE(c.closed, 0) < "
        ));
        sql.arg(Arg::Int(i64::from(w.ahead_days)));
        sql.push(
            " THEN 1 ELSE 0 END AS bookable \
             FROM offices o \
             LEFT JOIN (SELECT office_code, CAST(SUM(booked_visits) AS BIGINT) AS booked, \
                        CAST(SUM(walk_ins) AS BIGINT) AS walk_ins, \
                        CAST(SUM(lookups) AS BIGINT) AS lookups \
                        FROM office_day_stats WHERE day >= ",
        );
        sql.arg(Arg::Text(w.from.to_string()))
            .push(" AND day <= ")
            .arg(Arg::Text(w.to.to_string()))
            .push(
                " GROUP BY office_code) v ON v.office_code = o.code \
                 LEFT JOIN office_schedules s ON s.office_code = o.code \
                 LEFT JOIN (SELECT office_code, COUNT(*) AS closed FROM office_closures \
                 WHERE day >= ",
            )
            .arg(Arg::Text(w.ahead_from.to_string()))
            .push(" AND day <= ")
            .arg(Arg::Text(w.ahead_to.to_string()))
            .push(
                " GROUP BY office_code) c ON c.office_code = o.code \
                 WHERE o.status <> 'revoked' ORDER BY o.code",
            );
        let rows = sql.query().fetch_all(&self.pool).await?;

        // Accepted reports are few: read them once, grouped here per office and category.
        // Up to now, not only to yesterday: a report accepted today already counts.
        let accepted = sqlx::query(
            "SELECT id, office_code, category FROM office_reports \
             WHERE accepted_at_ms >= $1 ORDER BY id LIMIT $2",
        )
        .bind(w.from_ms)
        .bind(MAX_ACCEPTED_REPORTS_READ)
        .fetch_all(&self.pool)
        .await?;
        let mut reports: HashMap<i64, Vec<AcceptedReports>> = HashMap::new();
        for r in &accepted {
            let office: i64 = r.try_get("office_code")?;
            let category: String = r.try_get("category")?;
            let id: i64 = r.try_get("id")?;
            let list = reports.entry(office).or_default();
            let at = match list.iter().position(|x| x.category == category) {
                Some(i) => i,
                None => {
                    list.push(AcceptedReports {
                        category,
                        count: 0,
                        ids: Vec::new(),
                    });
                    list.len() - 1
                }
            };
            let entry = &mut list[at];
            entry.count += 1;
            if entry.ids.len() < MAX_EVIDENCE_REPORTS {
                entry.ids.push(id);
            }
        }
        rows.iter()
            .map(|r| {
                let booked = r.try_get::<i64, _>("booked")?.max(0) as u64;
                let walk_ins = r.try_get::<i64, _>("walk_ins")?.max(0) as u64;
                let code: i64 = r.try_get("office_code")?;
                Ok(Activity {
                    office: office_of(r)?,
                    visits: booked + walk_ins,
                    booked_visits: booked,
                    lookups: r.try_get::<i64, _>("lookups")?.max(0) as u64,
                    bookable_ahead: r.try_get::<i64, _>("bookable")? == 1,
                    reports: reports.remove(&code).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn record_findings(
        &self,
        permit: &Permit,
        findings: &[NewRuleFinding],
        ctx: &AuditContext,
    ) -> Result<u64> {
        managing(permit)?;
        if findings.len() > MAX_FINDINGS_PER_RUN {
            return Err(StoreError::LimitReached {
                rule: format!("at most {MAX_FINDINGS_PER_RUN} findings per run"),
            });
        }
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = async {
            // An office with an open finding of the rule version is not found again each day
            // its window slides: one open finding until the regulator acts on it.
            let open: HashSet<(i64, String, i64)> = sqlx::query(
                "SELECT office_code, rule, rule_version FROM compliance_findings \
                 WHERE status = 'open' AND rule IS NOT NULL",
            )
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("office_code")?, r.try_get("rule")?, r.try_get("rule_version")?)))
            .collect::<Result<_>>()?;
            let rows: Vec<Vec<Arg>> = findings
                .iter()
                .filter(|f| {
                    !open.contains(&(i64::from(f.office.get()), f.rule.to_string(), f.rule_version))
                })
                .map(|f| {
                    vec![
                        Arg::Int(i64::from(f.office.get())),
                        Arg::Text(f.rule.to_string()),
                        Arg::Text(f.evidence.to_string()),
                        Arg::Int(ctx.now_ms),
                        Arg::Text(f.rule.to_string()),
                        Arg::Int(f.rule_version),
                        Arg::Text(f.period.clone()),
                        Arg::Text(f.severity.to_string()),
                    ]
                })
                .collect();
            let added = crate::sql::insert_rows(
                &mut tx,
                self.dialect.as_ref(),
                "INSERT INTO compliance_findings (office_code, kind, evidence, created_at_ms, rule, \
                 rule_version, period, severity) VALUES ",
                " ON CONFLICT DO NOTHING",
                rows,
            )
            .await?;
            audit_permit(
                &mut tx,
                permit,
                "compliance:run",
                serde_json::json!({ "breaches": findings.len(), "new_findings": added }),
                ctx,
            )
            .await?;
            Ok(added)
        }
        .await;
        crate::bookings::finish(tx, outcome).await
    }

    async fn compliance_findings(
        &self,
        filter: &FindingFilter,
        page: PageRequest,
    ) -> Result<Page<ComplianceFinding>> {
        let filtered = |sql: &mut Sql| {
            if let Some(s) = &filter.status {
                sql.push(" AND status = ").arg(Arg::Text(s.clone()));
            }
            if let Some(o) = filter.office {
                sql.push(" AND office_code = ")
                    .arg(Arg::Int(i64::from(o.get())));
            }
        };
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM compliance_findings WHERE 1 = 1");
        filtered(&mut count);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut sql = Sql::new(&format!(
            "SELECT {FINDING_COLS} FROM compliance_findings WHERE 1 = 1"
        ));
        filtered(&mut sql);
        sql.push(" ORDER BY id DESC LIMIT ")
            .arg(Arg::Int(i64::from(page.per_page())))
            .push(" OFFSET ")
            .arg(Arg::Int(page.offset()));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(Page {
            items: rows.iter().map(finding_from_row).collect::<Result<_>>()?,
            total: total.max(0) as u64,
        })
    }

    async fn upcoming_bookings(
        &self,
        office: OfficeCode,
        from_ms: i64,
        limit: u32,
    ) -> Result<Vec<UpcomingBooking>> {
        let rows = sqlx::query(
            "SELECT tracking_code, service_code, mobile, slot_start_ms FROM bookings \
             WHERE office_code = $1 AND status = 'booked' AND slot_start_ms >= $2 \
             ORDER BY slot_start_ms, seq LIMIT $3",
        )
        .bind(i64::from(office.get()))
        .bind(from_ms)
        .bind(i64::from(limit.min(crate::areas::MAX_NOTIFIED_BOOKINGS)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let service: String = r.try_get("service_code")?;
                Ok(UpcomingBooking {
                    tracking_code: r.try_get("tracking_code")?,
                    service: field("booking service", ServiceCode::parse(&service))?,
                    mobile: r.try_get("mobile")?,
                    slot_start_ms: r.try_get("slot_start_ms")?,
                })
            })
            .collect()
    }

    async fn record_sanction(
        &self,
        permit: &Permit,
        write: &SanctionWrite,
        ctx: &AuditContext,
    ) -> Result<Sanction> {
        managing(permit)?;
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = sanction_in_tx(&mut tx, permit, write, ctx).await;
        let out = crate::bookings::finish(tx, outcome).await?;
        self.bookings.references_changed(Some(write.office));
        Ok(out)
    }

    async fn sanctions(&self, office: Option<OfficeCode>, limit: u32) -> Result<Vec<Sanction>> {
        let mut sql = Sql::new(&format!(
            "SELECT {SANCTION_COLS} FROM office_sanctions WHERE 1 = 1"
        ));
        if let Some(o) = office {
            sql.push(" AND office_code = ")
                .arg(Arg::Int(i64::from(o.get())));
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .arg(Arg::Int(i64::from(limit.clamp(1, MAX_LISTED))));
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(sanction_from_row).collect()
    }

    async fn create_compliance_request(
        &self,
        permit: &Permit,
        r: &NewComplianceRequest,
        ctx: &AuditContext,
    ) -> Result<ComplianceRequest> {
        require(
            permit,
            |a| matches!(a, Action::RequestReinstatement { office } if *office == r.office),
        )?;
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = async {
            let office = i64::from(r.office.get());
            let open = sqlx::query(
                "SELECT COUNT(*) AS n FROM compliance_requests WHERE office_code = $1 AND status = 'open'",
            )
            .bind(office)
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>("n")?;
            if open > 0 {
                return Err(changed("the office already has a request waiting for an answer"));
            }
            if let Some(s) = r.sanction {
                let found = sqlx::query(
                    "SELECT COUNT(*) AS n FROM office_sanctions WHERE id = $1 AND office_code = $2",
                )
                .bind(s)
                .bind(office)
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>("n")?;
                if found != 1 {
                    return Err(StoreError::UnknownReference {
                        what: "sanction of this office".into(),
                    });
                }
            }
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO compliance_requests (office_code, kind, sanction_id, text, status, \
                 requested_by, created_at_ms) VALUES ($1, $2, $3, $4, 'open', $5, $6) \
                 RETURNING {REQUEST_COLS}"
            )))
            .bind(office)
            .bind(r.kind)
            .bind(r.sanction)
            .bind(r.text.clone())
            .bind(permit.principal().audit_name())
            .bind(ctx.now_ms)
            .fetch_one(&mut *tx)
            .await?;
            let request = request_from_row(&row)?;
            if let Some(m) = &r.manager {
                let mut m = m.clone();
                m.dedupe = format!("{}:{}", m.dedupe, request.id);
                notify_managers(&mut tx, r.office, &m, ctx.now_ms).await?;
            }
            audit_permit(
                &mut tx,
                permit,
                &format!("office:{}", r.office),
                serde_json::json!({ "request": request.id, "kind": r.kind, "sanction": r.sanction }),
                ctx,
            )
            .await?;
            Ok(request)
        }
        .await;
        crate::bookings::finish(tx, outcome).await
    }

    async fn compliance_request(&self, id: i64) -> Result<ComplianceRequest> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLS} FROM compliance_requests WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { entity: "request" })?;
        request_from_row(&row)
    }

    async fn compliance_requests(
        &self,
        office: Option<OfficeCode>,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ComplianceRequest>> {
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLS} FROM compliance_requests WHERE 1 = 1"
        ));
        if let Some(o) = office {
            sql.push(" AND office_code = ")
                .arg(Arg::Int(i64::from(o.get())));
        }
        if let Some(s) = status {
            sql.push(" AND status = ").arg(Arg::Text(s.to_string()));
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .arg(Arg::Int(i64::from(limit.clamp(1, MAX_LISTED))));
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(request_from_row).collect()
    }

    async fn decide_compliance_request(
        &self,
        permit: &Permit,
        d: &RequestDecision,
        ctx: &AuditContext,
    ) -> Result<ComplianceRequest> {
        managing(permit)?;
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = async {
            let status = if d.approve { "approved" } else { "refused" };
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE compliance_requests SET status = $1, reply = $2, decided_by = $3, \
                 decided_at_ms = $4 WHERE id = $5 AND status = 'open' RETURNING {REQUEST_COLS}"
            )))
            .bind(status)
            .bind(d.reply.clone())
            .bind(permit.principal().audit_name())
            .bind(ctx.now_ms)
            .bind(d.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| changed("the request was already answered, or does not exist"))?;
            let request = request_from_row(&row)?;
            if let Some(w) = &d.reinstatement {
                if w.office != request.office {
                    return Err(corrupt("decision", "reinstatement of another office"));
                }
                sanction_in_tx(&mut tx, permit, w, ctx).await?;
            }
            if let Some(m) = &d.manager {
                let mut m = m.clone();
                m.dedupe = format!("{}:{}", m.dedupe, request.id);
                notify_managers(&mut tx, request.office, &m, ctx.now_ms).await?;
            }
            audit_permit(
                &mut tx,
                permit,
                &format!("office:{}", request.office),
                serde_json::json!({ "request": request.id, "decision": status, "reply": d.reply }),
                ctx,
            )
            .await?;
            Ok(request)
        }
        .await;
        let out = crate::bookings::finish(tx, outcome).await?;
        if let Some(w) = &d.reinstatement {
            self.bookings.references_changed(Some(w.office));
        }
        Ok(out)
    }

    async fn dismiss_finding(
        &self,
        permit: &Permit,
        id: i64,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<ComplianceFinding> {
        managing(permit)?;
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = async {
            // Only an open finding moves: the status test in the same statement keeps two
            // regulators dismissing at once from both succeeding.
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE compliance_findings SET status = 'dismissed' \
                 WHERE id = $1 AND status = 'open' RETURNING {FINDING_COLS}"
            )))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                let known = sqlx::query("SELECT COUNT(*) AS n FROM compliance_findings WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<i64, _>("n")?;
                return Err(if known == 0 {
                    StoreError::NotFound { entity: "finding" }
                } else {
                    changed("the finding is no longer open")
                });
            };
            let finding = finding_from_row(&row)?;
            crate::sql::write_audit(
                &mut tx,
                &permit.principal().audit_name(),
                permit.principal().staff_id(),
                "compliance.dismissal",
                &format!("office:{}", finding.office),
                &serde_json::json!({ "finding": finding.id, "rule": finding.rule, "reason": reason }),
                ctx,
            )
            .await?;
            Ok(finding)
        }
        .await;
        crate::bookings::finish(tx, outcome).await
    }
}
