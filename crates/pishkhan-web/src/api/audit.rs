//! The audit log, for the regulator.

use axum::Json;
use axum::extract::State;
use pishkhan_domain::access::Action;

use super::types::{AuditList, AuditOut, ProblemOut};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::input::{AuditQuery, page_request};

/// Browse the append-only audit log, newest first (regulator only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    let permit = staff.permit(Action::ViewAuditLog)?;
    let page = page_request(q.page.as_deref(), q.per_page.as_deref())?;
    let result = state.store().audit_log(&permit, &q.filter(), page).await?;
    Ok(Json(AuditList {
        items: result.items.iter().map(AuditOut::from).collect(),
        total: result.total,
        page: page.page(),
        per_page: page.per_page(),
    }))
}
