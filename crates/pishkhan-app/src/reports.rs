//! Citizens' reports about offices: a signed-in citizen reports an office (limited per
//! citizen, repeats folded), the regulator triages, the citizen adds more when asked, and the
//! office's manager answers what the regulator accepted. Each step texts the citizen.
//!
//! **Who sees what.** A citizen sees only their own reports; the regulator sees every report;
//! an office's manager sees only the accepted (and answered) reports about their own office,
//! and never who made them: a report must be safe to make.

use pishkhan_domain::access::{Action, Denied, Principal, authorize};
use pishkhan_domain::model::OfficeCode;
use pishkhan_domain::report::{self, ReportLimits};
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_store::{
    AuditContext, NewReport, Page, PageRequest, Report, ReportCategory, ReportFilter, ReportStatus,
    ReportThread, StepRefused, StoreError, Submitted, TriageDecision,
};

use crate::{App, AppError, Caller, Citizen, StaffSession};

/// A report as the citizen filed it, parsed.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub office: OfficeCode,
    pub category: ReportCategory,
    /// Checked here: 10 to 2,000 characters, no control characters.
    pub text: String,
    /// A booking's tracking code as typed, if any.
    pub booking: Option<String>,
}

/// What submitting did: the report it went into, its status, and whether it was folded into
/// the citizen's earlier report of the same office and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitView {
    pub id: i64,
    pub status: ReportStatus,
    pub folded: bool,
}

/// The statuses an office's manager sees: what the regulator found credible.
const OFFICE_SEES: [ReportStatus; 2] = [ReportStatus::Accepted, ReportStatus::Answered];

fn citizen_principal(c: &Citizen) -> Principal {
    Principal::Citizen(c.national_code.clone())
}

fn refused(r: StepRefused) -> AppError {
    AppError::Conflict {
        code: r.code(),
        message: r.message().to_string(),
    }
}

/// Files a report about an office, as the signed-in citizen.
pub async fn submit(
    app: &App,
    citizen: &Citizen,
    req: ReportRequest,
    ctx: &AuditContext,
) -> Result<SubmitView, AppError> {
    let permit = authorize(
        &citizen_principal(citizen),
        Action::ReportOffice {
            national_code: citizen.national_code.clone(),
        },
    )?;
    let text = report::report_text("text", &req.text)?;
    match app.store().office(req.office).await {
        Ok(_) => {}
        Err(StoreError::NotFound { .. }) => {
            return Err(AppError::invalid(
                "unknown_office",
                "office",
                "there is no office with this code",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let booking = match req.booking.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Some(own_booking(app, citizen, req.office, code).await?),
    };
    let new = NewReport {
        office: req.office,
        national_code: citizen.national_code.clone(),
        mobile: citizen.mobile.clone(),
        category: req.category,
        text,
        booking,
    };
    let outcome = app
        .store()
        .submit_report(&permit, &new, ReportLimits::default(), ctx)
        .await?;
    match outcome {
        Submitted::Created { id } => Ok(SubmitView {
            id,
            status: ReportStatus::Submitted,
            folded: false,
        }),
        Submitted::Folded { id, status } => Ok(SubmitView {
            id,
            status,
            folded: true,
        }),
        Submitted::Limited(hit) => Err(AppError::TooManyRequests {
            code: hit.code,
            message: match hit.code {
                "too_many_reports_today" => "you have made as many reports as a day allows",
                _ => "you have made as many reports as a month allows",
            }
            .to_string(),
            retry_after_s: (hit.retry_after_ms.max(0) as u64).div_ceil(1000),
        }),
    }
}

/// The stored tracking code of `code` when it is the citizen's own booking at `office`. Any
/// other booking (someone else's, another office's, none) is the same refusal, so the answer
/// tells nothing about other people's bookings.
async fn own_booking(
    app: &App,
    citizen: &Citizen,
    office: OfficeCode,
    code: &str,
) -> Result<String, AppError> {
    let not_yours = || {
        AppError::invalid(
            "booking_not_yours",
            "booking",
            "the booking must be one of your own bookings at this office",
        )
    };
    let code =
        TrackingCode::parse(code).map_err(|e| AppError::invalid(e.code, "booking", e.message))?;
    match app.store().booking(&code).await {
        Ok(b) if b.national_code == citizen.national_code && b.office == office => {
            Ok(code.as_str().to_string())
        }
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(not_yours()),
        Err(e) => Err(e.into()),
    }
}

/// One report with its thread, for its citizen, the regulator, or (once accepted) its
/// office's manager. Anyone else is told there is no such report.
pub async fn get(app: &App, caller: &Caller, id: i64) -> Result<ReportThread, AppError> {
    let thread = app.store().report(id).await?;
    let r = &thread.report;
    match caller {
        Caller::Citizen(c) if c.national_code.as_str() == r.national_code => Ok(thread),
        Caller::Citizen(_) => Err(AppError::NotFound("report")),
        Caller::Staff(s) => {
            if s.permit(Action::TriageReports).is_ok() {
                return Ok(thread);
            }
            s.permit(Action::ViewCompliance {
                office: Some(r.office),
            })?;
            if OFFICE_SEES.contains(&r.status) {
                Ok(thread)
            } else {
                Err(AppError::NotFound("report"))
            }
        }
    }
}

/// Reports, the latest change first: a citizen's own; the regulator's choice of status,
/// office and category; a manager's own office's accepted and answered reports.
pub async fn list(
    app: &App,
    caller: &Caller,
    mut filter: ReportFilter,
    page: PageRequest,
) -> Result<Page<Report>, AppError> {
    match caller {
        Caller::Citizen(c) => {
            filter.national_code = Some(c.national_code.clone());
        }
        Caller::Staff(s) if s.permit(Action::TriageReports).is_ok() => {}
        Caller::Staff(s) => {
            let office = filter
                .office
                .or(s.actor.office)
                .ok_or(AppError::Forbidden(Denied::Role))?;
            s.permit(Action::ViewCompliance {
                office: Some(office),
            })?;
            filter.office = Some(office);
            filter.statuses = OFFICE_SEES.to_vec();
            if filter.status.is_some_and(|st| !OFFICE_SEES.contains(&st)) {
                return Ok(Page {
                    items: Vec::new(),
                    total: 0,
                });
            }
        }
    }
    Ok(app.store().reports(&filter, page).await?)
}

/// The regulator's decision on a submitted report, with a note (needed to reject or to ask
/// for more: the citizen must know why or what).
pub async fn triage(
    app: &App,
    staff: &StaffSession,
    id: i64,
    decision: TriageDecision,
    note: &str,
    ctx: &AuditContext,
) -> Result<Report, AppError> {
    let permit = staff.permit(Action::TriageReports)?;
    let note = report::triage_note(note)?;
    if note.is_empty() && decision != TriageDecision::Accept {
        return Err(AppError::invalid(
            "note_required",
            "note",
            "say why the report is rejected, or what more it needs",
        ));
    }
    app.store()
        .triage_report(&permit, id, decision, &note, ctx)
        .await?
        .map_err(refused)
}

/// The office manager's answer to an accepted report about their office; allowed while the
/// office is suspended.
pub async fn answer(
    app: &App,
    staff: &StaffSession,
    id: i64,
    text: &str,
    ctx: &AuditContext,
) -> Result<Report, AppError> {
    let text = report::report_text("text", text)?;
    let current = app.store().report(id).await?.report;
    let permit = staff.permit(Action::AnswerReports {
        office: current.office,
    })?;
    if !OFFICE_SEES.contains(&current.status) {
        // A manager does not learn of reports the regulator has not accepted.
        return Err(AppError::NotFound("report"));
    }
    app.store()
        .answer_report(&permit, id, &text, ctx)
        .await?
        .map_err(refused)
}

/// The citizen's addition to their report when the regulator asked for more; it goes back to
/// the regulator.
pub async fn add_more(
    app: &App,
    citizen: &Citizen,
    id: i64,
    text: &str,
    ctx: &AuditContext,
) -> Result<Report, AppError> {
    let permit = authorize(
        &citizen_principal(citizen),
        Action::ReportOffice {
            national_code: citizen.national_code.clone(),
        },
    )?;
    let text = report::report_text("text", text)?;
    let current = app.store().report(id).await?.report;
    if current.national_code != citizen.national_code.as_str() {
        return Err(AppError::NotFound("report"));
    }
    app.store()
        .add_to_report(&permit, id, &text, ctx)
        .await?
        .map_err(refused)
}
