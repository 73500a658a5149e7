//! The JSON API under `/api/v1`. Each area has its own module; routes are merged here.

pub mod audit;
pub mod auth;
pub mod bookings;
pub mod citizen;
pub mod compliance;
pub mod counters;
pub mod fees;
pub mod figures;
pub mod identity;
pub mod indexation;
pub mod inquiries;
pub mod payments;
pub mod queue;
pub mod registry;
pub mod releases;
pub mod reports;
pub mod search;
pub mod staff;
pub mod stats;
pub mod types;

use axum::Router;
use axum::routing::{get, post, put};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(crate::openapi::serve))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/me/password", post(auth::change_password))
        .route("/api/v1/citizen/code", post(citizen::request_code))
        .route("/api/v1/citizen/login", post(citizen::login))
        .route("/api/v1/me/bookings", get(citizen::my_bookings))
        .route("/api/v1/provinces", get(registry::provinces))
        .route("/api/v1/agencies", get(registry::agencies))
        .route(
            "/api/v1/offices",
            get(registry::offices).post(registry::create_office),
        )
        .route("/api/v1/offices/{code}", get(registry::office))
        .route("/api/v1/offices/{code}/staff", get(registry::office_staff))
        .route("/api/v1/services", get(registry::services))
        .route("/api/v1/services/{code}", get(registry::service))
        .route("/api/v1/services/{code}/fee", get(fees::fee))
        .route(
            "/api/v1/services/{code}/tariffs",
            get(fees::tariffs).post(fees::publish),
        )
        .route("/api/v1/cpi-imports", post(indexation::import_cpi))
        .route("/api/v1/indexation-runs", post(indexation::create_run))
        .route("/api/v1/indexation-runs/{id}", get(indexation::get_run))
        .route(
            "/api/v1/indexation-runs/{id}/rows",
            put(indexation::edit_row),
        )
        .route(
            "/api/v1/indexation-runs/{id}/publish",
            post(indexation::publish),
        )
        .route(
            "/api/v1/payments",
            get(payments::list).post(payments::create),
        )
        .route("/api/v1/payments/callback", post(payments::callback))
        .route("/api/v1/payments/{id}", get(payments::get))
        .route("/api/v1/payments/{id}/events", get(payments::events))
        .route("/api/v1/payments/{id}/receipt", get(payments::receipt))
        .route("/api/v1/payments/{id}/check", post(payments::check))
        .route("/api/v1/payments/{id}/refunds", post(payments::refund))
        .route("/api/v1/payees/{account}", put(payments::set_payee))
        .route(
            "/api/v1/settlements",
            get(payments::settlements).post(payments::settle),
        )
        .route(
            "/api/v1/settlements/{date}/file",
            get(payments::settlement_file),
        )
        .route(
            "/api/v1/reconciliations",
            get(payments::reconciliations).post(payments::reconcile),
        )
        .route(
            "/api/v1/reconciliations/{id}",
            get(payments::reconciliation),
        )
        .route("/api/v1/ledger/balances", get(payments::balances))
        .route("/api/v1/findings", get(payments::findings))
        .route(
            "/api/v1/compliance/rules",
            get(compliance::get_rules).put(compliance::put_rules),
        )
        .route("/api/v1/compliance/runs", post(compliance::run))
        .route("/api/v1/compliance/findings", get(compliance::findings))
        .route(
            "/api/v1/compliance/findings/{id}/dismissal",
            post(compliance::dismiss),
        )
        .route(
            "/api/v1/compliance/requests",
            get(compliance::open_requests),
        )
        .route(
            "/api/v1/compliance/requests/{id}/decision",
            post(compliance::decide),
        )
        .route(
            "/api/v1/offices/{code}/sanctions",
            get(compliance::sanctions).post(compliance::sanction),
        )
        .route(
            "/api/v1/offices/{code}/reinstatement-requests",
            get(compliance::office_requests).post(compliance::create_request),
        )
        .route(
            "/api/v1/stats/online-service-index",
            get(stats::online_service_index),
        )
        .route("/api/v1/stats/once-only", get(stats::once_only))
        .route("/api/v1/staff", post(staff::create))
        .route(
            "/api/v1/staff/{username}/deactivate",
            post(staff::deactivate),
        )
        .route("/api/v1/invitations/{token}", get(staff::invitation))
        .route("/api/v1/invitations/{token}/accept", post(staff::accept))
        .route("/api/v1/audit", get(audit::list))
        .route(
            "/api/v1/offices/{code}/availability",
            get(bookings::availability),
        )
        .route(
            "/api/v1/offices/{code}/schedule",
            get(bookings::get_schedule).put(bookings::put_schedule),
        )
        .route(
            "/api/v1/offices/{code}/closures/{date}",
            put(bookings::put_closure).delete(bookings::delete_closure),
        )
        .route("/api/v1/holidays/{date}", put(bookings::put_holiday))
        .route("/api/v1/offices/{code}/queue", get(queue::show))
        .route("/api/v1/offices/{code}/figures", get(figures::office))
        .route("/api/v1/figures/daily", get(figures::daily))
        .route("/api/v1/offices/{code}/status", put(registry::put_status))
        .route("/api/v1/identity/verifications", post(identity::create))
        .route("/api/v1/identity/verifications/{id}", get(identity::get))
        .route(
            "/api/v1/identity/verifications/{id}/second-factor",
            post(identity::send_code),
        )
        .route(
            "/api/v1/identity/verifications/{id}/second-factor/confirm",
            post(identity::confirm_code),
        )
        .route("/api/v1/identity/keys", get(identity::keys))
        .route("/api/v1/identity/operators", get(identity::operators))
        .route("/api/v1/search/slots", get(search::slots))
        .route(
            "/api/v1/offices/{code}/counters",
            get(counters::get).put(counters::put),
        )
        .route("/api/v1/inquiries", post(inquiries::create))
        .route("/api/v1/exchange/proof/{message_id}", get(inquiries::proof))
        .route("/api/v1/exchange/checkpoint", get(inquiries::checkpoint))
        .route("/api/v1/exchange/keys", get(inquiries::keys))
        .route("/api/v1/me/data-access", get(inquiries::my_data_access))
        .route("/api/v1/offices/{code}/queue/stream", get(queue::stream))
        .route(
            "/api/v1/offices/{code}/queue/check-in",
            post(queue::check_in),
        )
        .route("/api/v1/offices/{code}/queue/walk-in", post(queue::walk_in))
        .route(
            "/api/v1/offices/{code}/queue/call-next",
            post(queue::call_next),
        )
        .route(
            "/api/v1/offices/{code}/queue/tickets/{ticket}/complete",
            post(queue::complete),
        )
        .route(
            "/api/v1/offices/{code}/queue/tickets/{ticket}/no-show",
            post(queue::no_show),
        )
        .route(
            "/api/v1/offices/{code}/queue/counters/{counter}/recall",
            post(queue::recall),
        )
        .route(
            "/api/v1/offices/{code}/queue/counters/{counter}/transfer",
            post(queue::transfer),
        )
        .route(
            "/api/v1/offices/{code}/queue/counters/{counter}/pause",
            post(queue::pause),
        )
        .route(
            "/api/v1/offices/{code}/queue/counters/{counter}/resume",
            post(queue::resume),
        )
        .route("/api/v1/releases", post(releases::create))
        .route("/api/v1/releases/{id}", get(releases::get))
        .route("/api/v1/releases/{id}/requests", post(releases::submit))
        .route("/api/v1/releases/{id}/close", post(releases::close))
        .route("/api/v1/releases/{id}/bundle", get(releases::bundle))
        .route("/api/v1/me/releases", get(releases::mine))
        .route("/api/v1/reports", get(reports::list).post(reports::create))
        .route("/api/v1/reports/{id}", get(reports::get))
        .route("/api/v1/reports/{id}/triage", post(reports::triage))
        .route("/api/v1/reports/{id}/answer", post(reports::answer))
        .route("/api/v1/reports/{id}/more", post(reports::more))
        .route("/api/v1/me/reports", get(reports::mine))
        .route("/api/v1/bookings", post(bookings::create))
        .route("/api/v1/bookings/{tracking_code}", get(bookings::get))
        .route(
            "/api/v1/bookings/{tracking_code}/cancel",
            post(bookings::cancel),
        )
        .route(
            "/api/v1/bookings/{tracking_code}/reschedule",
            post(bookings::reschedule),
        )
}
