//! Citizens' reports for both stores (migration 0018): the report's row holds its state, its
//! thread is append-only, and every step writes its entry, audit row and SMS together.

use async_trait::async_trait;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::OfficeCode;
use pishkhan_domain::outbox::OutboxKind;
use pishkhan_domain::report::{
    FOLD_WINDOW_MS, MAX_ENTRIES_PER_REPORT, MONTH_MS, check_addition, check_answer, check_limits,
    check_triage,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::areas::{
    NewReport, Report, ReportCategory, ReportEntry, ReportFilter, ReportLimits, ReportParty,
    ReportStatus, ReportThread, Reports, StepRefused, Submitted, TriageDecision,
};
use crate::outbox::{NewMessage, enqueue};
use crate::sql::{AnyTx, Arg, Sql, SqlStore, audit_permit, field, require};
use crate::{AuditContext, Page, PageRequest, Result, StoreError};

const REPORT_COLS: &str = "id, office_code, national_code, mobile, category, text, booking, \
     status, folded, accepted_at_ms, created_at_ms, updated_at_ms";

fn report_from_row(r: &AnyRow) -> Result<Report> {
    Ok(Report {
        id: r.try_get("id")?,
        office: field(
            "report office",
            OfficeCode::from_u32(r.try_get::<i64, _>("office_code")? as u32),
        )?,
        national_code: r.try_get("national_code")?,
        category: field(
            "report category",
            ReportCategory::parse(&r.try_get::<String, _>("category")?),
        )?,
        text: r.try_get("text")?,
        booking: r.try_get("booking")?,
        status: field(
            "report status",
            ReportStatus::parse(&r.try_get::<String, _>("status")?),
        )?,
        folded: u32::try_from(r.try_get::<i64, _>("folded")?).unwrap_or(u32::MAX),
        accepted_at_ms: r.try_get("accepted_at_ms")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

fn entry_from_row(r: &AnyRow) -> Result<ReportEntry> {
    let party = match r.try_get::<String, _>("party")?.as_str() {
        "citizen" => ReportParty::Citizen,
        "regulator" => ReportParty::Regulator,
        "office" => ReportParty::Office,
        other => return Err(crate::sql::corrupt("report entry party", other)),
    };
    let decision = r
        .try_get::<Option<String>, _>("decision")?
        .map(|d| field("report decision", TriageDecision::parse(&d)))
        .transpose()?;
    Ok(ReportEntry {
        at_ms: r.try_get("at_ms")?,
        party,
        kind: r.try_get("kind")?,
        decision,
        text: r.try_get("text")?,
    })
}

/// The report, read inside a step's transaction; `NotFound` when there is none.
async fn report_in(tx: &mut AnyTx<'_>, id: i64) -> Result<Report> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REPORT_COLS} FROM office_reports WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(r) => report_from_row(&r),
        None => Err(StoreError::NotFound { entity: "report" }),
    }
}

struct Entry<'a> {
    report: i64,
    party: ReportParty,
    author: String,
    kind: &'static str,
    decision: Option<TriageDecision>,
    text: &'a str,
}

/// Appends an entry; returns its id.
async fn add_entry(tx: &mut AnyTx<'_>, e: &Entry<'_>, now_ms: i64) -> Result<i64> {
    let n: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM office_report_entries WHERE report_id = $1")
            .bind(e.report)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
    if n >= MAX_ENTRIES_PER_REPORT as i64 {
        return Err(StoreError::LimitReached {
            rule: format!("a report holds at most {MAX_ENTRIES_PER_REPORT} entries"),
        });
    }
    Ok(sqlx::query(
        "INSERT INTO office_report_entries (report_id, at_ms, party, author, kind, decision, text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(e.report)
    .bind(now_ms)
    .bind(e.party.code())
    .bind(e.author.clone())
    .bind(e.kind)
    .bind(e.decision.map(|d| d.code()))
    .bind(e.text.to_string())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?)
}

async fn notify(
    tx: &mut AnyTx<'_>,
    kind: OutboxKind,
    report: &Report,
    mobile: String,
    decision: Option<TriageDecision>,
    entry: i64,
    now_ms: i64,
) -> Result<()> {
    let mut payload = serde_json::json!({
        "office": report.office.to_string(),
        "report": report.id,
    });
    if let Some(d) = decision {
        payload["decision"] = serde_json::json!(d.code());
    }
    let msg = NewMessage {
        kind,
        recipient: mobile,
        // One text per step, and each step is one entry of the thread.
        dedupe_key: format!("{}:{}:{entry}", kind.as_str(), report.id),
        payload,
    };
    enqueue(tx, &msg, now_ms).await
}

async fn mobile_of(tx: &mut AnyTx<'_>, id: i64) -> Result<String> {
    Ok(
        sqlx::query("SELECT mobile FROM office_reports WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("mobile")?,
    )
}

async fn submit(
    store: &SqlStore,
    permit: &Permit,
    new: &NewReport,
    limits: ReportLimits,
    ctx: &AuditContext,
) -> Result<Submitted> {
    require(
        permit,
        |a| matches!(a, Action::ReportOffice { national_code } if *national_code == new.national_code),
    )?;
    let author = permit.principal().audit_name();
    let nc = new.national_code.as_str().to_string();
    let now = ctx.now_ms;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        // Taking the citizen's row first makes their submissions wait for each other, so two
        // at once cannot both pass a limit or both open a report.
        sqlx::query(
            "INSERT INTO office_report_citizens (national_code, last_at_ms) VALUES ($1, $2) \
             ON CONFLICT (national_code) DO UPDATE SET last_at_ms = excluded.last_at_ms",
        )
        .bind(nc.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let recent: Vec<i64> = sqlx::query(
            "SELECT at_ms FROM office_report_entries WHERE author = $1 AND at_ms > $2 \
             AND kind IN ('report', 'fold')",
        )
        .bind(author.clone())
        .bind(now - MONTH_MS)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("at_ms"))
        .collect::<std::result::Result<_, _>>()?;
        if let Err(hit) = check_limits(limits, &recent, now) {
            return Ok(Submitted::Limited(hit));
        }
        let open = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLS} FROM office_reports WHERE national_code = $1 \
             AND office_code = $2 AND category = $3 AND created_at_ms > $4 \
             AND status IN ('submitted', 'more_asked', 'accepted') \
             ORDER BY created_at_ms DESC LIMIT 1"
        )))
        .bind(nc.clone())
        .bind(i64::from(new.office.get()))
        .bind(new.category.code())
        .bind(now - FOLD_WINDOW_MS)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = open {
            let earlier = report_from_row(&row)?;
            add_entry(
                &mut tx,
                &Entry {
                    report: earlier.id,
                    party: ReportParty::Citizen,
                    author: author.clone(),
                    kind: "fold",
                    decision: None,
                    text: &new.text,
                },
                now,
            )
            .await?;
            sqlx::query(
                "UPDATE office_reports SET folded = folded + 1, updated_at_ms = $2 WHERE id = $1",
            )
            .bind(earlier.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            audit_permit(
                &mut tx,
                permit,
                &format!("report:{}", earlier.id),
                serde_json::json!({"folded": true, "office": new.office.to_string(),
                    "category": new.category.code()}),
                ctx,
            )
            .await?;
            return Ok(Submitted::Folded {
                id: earlier.id,
                status: earlier.status,
            });
        }
        let row = sqlx::query(
            "INSERT INTO office_reports (office_code, national_code, mobile, category, text, \
             booking, status, folded, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, 'submitted', 0, $7, $7) RETURNING id",
        )
        .bind(i64::from(new.office.get()))
        .bind(nc.clone())
        .bind(new.mobile.as_str().to_string())
        .bind(new.category.code())
        .bind(new.text.clone())
        .bind(new.booking.clone())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let counted = crate::rollups::Delta::new(new.office, crate::rollups::day_of(now))
            .with(crate::rollups::Col::Reports, 1);
        crate::rollups::bump(&mut tx, &[counted]).await?;
        let entry = add_entry(
            &mut tx,
            &Entry {
                report: id,
                party: ReportParty::Citizen,
                author: author.clone(),
                kind: "report",
                decision: None,
                text: &new.text,
            },
            now,
        )
        .await?;
        let report = report_in(&mut tx, id).await?;
        notify(
            &mut tx,
            OutboxKind::ReportReceived,
            &report,
            new.mobile.as_str().to_string(),
            None,
            entry,
            now,
        )
        .await?;
        audit_permit(
            &mut tx,
            permit,
            &format!("report:{id}"),
            serde_json::json!({"office": new.office.to_string(), "category": new.category.code(),
                "booking": new.booking}),
            ctx,
        )
        .await?;
        Ok(Submitted::Created { id })
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

/// What one step on an existing report does, once its state allows it.
struct Step<'a> {
    check: fn(ReportStatus) -> std::result::Result<(), StepRefused>,
    /// Whether the permit covers this report (its office, its citizen).
    allowed: &'a (dyn Fn(&Report) -> bool + Sync),
    party: ReportParty,
    kind: &'static str,
    decision: Option<TriageDecision>,
    text: &'a str,
    to: ReportStatus,
    notice: Option<OutboxKind>,
}

async fn step(
    store: &SqlStore,
    permit: &Permit,
    id: i64,
    s: Step<'_>,
    ctx: &AuditContext,
) -> Result<std::result::Result<Report, StepRefused>> {
    let now = ctx.now_ms;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let before = report_in(&mut tx, id).await?;
        if !(s.allowed)(&before) {
            return Err(StoreError::PermitMismatch);
        }
        if let Err(refused) = (s.check)(before.status) {
            return Ok(Err(refused));
        }
        // The status read above must still hold: a concurrent step loses here, not later.
        let accepted = if s.to == ReportStatus::Accepted {
            Some(now)
        } else {
            before.accepted_at_ms
        };
        let moved = sqlx::query(
            "UPDATE office_reports SET status = $2, accepted_at_ms = $3, updated_at_ms = $4 \
             WHERE id = $1 AND status = $5",
        )
        .bind(id)
        .bind(s.to.code())
        .bind(accepted)
        .bind(now)
        .bind(before.status.code())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(StoreError::Conflict {
                what: "report changed meanwhile".into(),
            });
        }
        let entry = add_entry(
            &mut tx,
            &Entry {
                report: id,
                party: s.party,
                author: permit.principal().audit_name(),
                kind: s.kind,
                decision: s.decision,
                text: s.text,
            },
            now,
        )
        .await?;
        let after = report_in(&mut tx, id).await?;
        if let Some(kind) = s.notice {
            let mobile = mobile_of(&mut tx, id).await?;
            notify(&mut tx, kind, &after, mobile, s.decision, entry, now).await?;
        }
        audit_permit(
            &mut tx,
            permit,
            &format!("report:{id}"),
            serde_json::json!({"from": before.status.code(), "to": s.to.code(),
                "decision": s.decision.map(|d| d.code())}),
            ctx,
        )
        .await?;
        Ok(Ok(after))
    }
    .await;
    crate::bookings::finish(tx, outcome).await
}

#[async_trait]
impl Reports for SqlStore {
    async fn submit_report(
        &self,
        permit: &Permit,
        report: &NewReport,
        limits: ReportLimits,
        ctx: &AuditContext,
    ) -> Result<Submitted> {
        submit(self, permit, report, limits, ctx).await
    }

    async fn report(&self, id: i64) -> Result<ReportThread> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLS} FROM office_reports WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound { entity: "report" })?;
        let report = report_from_row(&row)?;
        let entries = sqlx::query(
            "SELECT at_ms, party, kind, decision, text FROM office_report_entries \
             WHERE report_id = $1 ORDER BY id LIMIT $2",
        )
        .bind(id)
        .bind(MAX_ENTRIES_PER_REPORT as i64)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(entry_from_row)
        .collect::<Result<_>>()?;
        Ok(ReportThread { report, entries })
    }

    async fn reports(&self, filter: &ReportFilter, page: PageRequest) -> Result<Page<Report>> {
        let build = |select: &str| {
            let mut sql = Sql::new(select);
            sql.push(" FROM office_reports WHERE 1 = 1");
            if let Some(s) = filter.status {
                sql.push(" AND status = ")
                    .arg(Arg::Text(s.code().to_string()));
            }
            if !filter.statuses.is_empty() {
                sql.push(" AND status IN (");
                for (i, s) in filter.statuses.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.arg(Arg::Text(s.code().to_string()));
                }
                sql.push(")");
            }
            if let Some(o) = filter.office {
                sql.push(" AND office_code = ")
                    .arg(Arg::Int(i64::from(o.get())));
            }
            if let Some(c) = filter.category {
                sql.push(" AND category = ")
                    .arg(Arg::Text(c.code().to_string()));
            }
            if let Some(n) = &filter.national_code {
                sql.push(" AND national_code = ")
                    .arg(Arg::Text(n.as_str().to_string()));
            }
            sql
        };
        let total: i64 = build("SELECT COUNT(*) AS n")
            .query()
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let mut sql = build(&format!("SELECT {REPORT_COLS}"));
        sql.push(" ORDER BY updated_at_ms DESC, id DESC LIMIT ")
            .arg(Arg::Int(i64::from(page.per_page())))
            .push(" OFFSET ")
            .arg(Arg::Int(page.offset()));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(Page {
            items: rows.iter().map(report_from_row).collect::<Result<_>>()?,
            total: total as u64,
        })
    }

    async fn triage_report(
        &self,
        permit: &Permit,
        id: i64,
        decision: TriageDecision,
        note: &str,
        ctx: &AuditContext,
    ) -> Result<std::result::Result<Report, StepRefused>> {
        require(permit, |a| matches!(a, Action::TriageReports))?;
        let allowed = |_: &Report| true;
        let s = Step {
            check: check_triage,
            allowed: &allowed,
            party: ReportParty::Regulator,
            kind: "triage",
            decision: Some(decision),
            text: note,
            to: decision.status(),
            notice: Some(OutboxKind::ReportTriaged),
        };
        step(self, permit, id, s, ctx).await
    }

    async fn answer_report(
        &self,
        permit: &Permit,
        id: i64,
        text: &str,
        ctx: &AuditContext,
    ) -> Result<std::result::Result<Report, StepRefused>> {
        require(permit, |a| matches!(a, Action::AnswerReports { .. }))?;
        let allowed = |r: &Report| matches!(permit.action(), Action::AnswerReports { office } if *office == r.office);
        let s = Step {
            check: check_answer,
            allowed: &allowed,
            party: ReportParty::Office,
            kind: "answer",
            decision: None,
            text,
            to: ReportStatus::Answered,
            notice: Some(OutboxKind::ReportAnswered),
        };
        step(self, permit, id, s, ctx).await
    }

    async fn add_to_report(
        &self,
        permit: &Permit,
        id: i64,
        text: &str,
        ctx: &AuditContext,
    ) -> Result<std::result::Result<Report, StepRefused>> {
        require(permit, |a| matches!(a, Action::ReportOffice { .. }))?;
        let allowed = |r: &Report| {
            matches!(permit.action(),
                Action::ReportOffice { national_code } if national_code.as_str() == r.national_code)
        };
        let s = Step {
            check: check_addition,
            allowed: &allowed,
            party: ReportParty::Citizen,
            kind: "addition",
            decision: None,
            text,
            to: ReportStatus::Submitted,
            notice: None,
        };
        step(self, permit, id, s, ctx).await
    }
}
