//! The audit log, for the regulator.

use axum::Json;
use axum::extract::State;
use pishkhan_domain::access::Action;
use pishkhan_store::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use super::registry::page_request;
use super::types::{AuditList, AuditOut, ProblemOut};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::ApiQuery;

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Exact actor name, such as `regulator` or `system:demo`.
    pub actor: Option<String>,
    /// Exact action, such as `staff.create` or `auth.login`.
    pub action: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(64).collect())
        };
        AuditFilter {
            actor: clean(&self.actor),
            action: clean(&self.action),
        }
    }
}

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
