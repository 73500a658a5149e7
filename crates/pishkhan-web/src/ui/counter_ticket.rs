//! The ticket the desk prints for the person in front of it: a page laid out for an 80 mm
//! thermal printer (`@page { size: 80mm auto }`), with the office, the big ticket number, the
//! service, when it was issued (Jalali), how many people are ahead, and how to follow the
//! queue: the booking's tracking code, and a QR code of the office's public board.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use pishkhan_queue::{Ticket, TicketState};

use super::console::{ConsoleQuery, clock, desk, service_label};
use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::i18n::Tr;
use pishkhan_app::AppError;

#[derive(Template)]
#[template(path = "console_ticket.html")]
struct TicketPage {
    chrome: Chrome,
    t: Tr,
    office_name: String,
    ticket: String,
    service: String,
    issued: String,
    /// `None` once the person has been called.
    ahead: Option<usize>,
    tracking_code: Option<String>,
    board_qr: String,
    back: String,
}

/// An SVG QR code of `text`, sized for a thermal roll.
fn qr_svg(text: &str) -> Result<String, ApiError> {
    let qr = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|e| ApiError::App(AppError::Internal(anyhow::anyhow!("qr: {e}"))))?;
    Ok(qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(120, 120)
        .quiet_zone(true)
        .build())
}

pub async fn print(
    State(state): State<AppState>,
    page: PageCtx,
    Path(ticket): Path<String>,
    ApiQuery(q): ApiQuery<ConsoleQuery>,
) -> Result<Response, UiError> {
    let t = page.t;
    let staff = page.require_staff()?;
    let ticket = Ticket::parse(&ticket)
        .map_err(|e| page.fail(ApiError::invalid(e.code(), "ticket", e.to_string())))?;
    let desk = desk(&state, staff, q.office.as_deref(), q.counter.as_deref())
        .await
        .map_err(|e| page.fail(e))?
        .ok_or_else(|| {
            page.fail(ApiError::invalid(
                "missing_field",
                "office",
                "name an office",
            ))
        })?;
    let queue = pishkhan_app::queue::today(state.app(), &desk.office)
        .await
        .map_err(|e| page.fail(e))?;
    let info = queue
        .ticket(ticket)
        .ok_or_else(|| page.fail(ApiError::App(AppError::NotFound("ticket"))))?;
    let catalogue = pishkhan_app::appointments::catalogue(state.app())
        .await
        .map_err(|e| page.fail(e))?;
    let now = state.now();
    let ahead = (info.state == TicketState::Waiting)
        .then(|| queue.line(now).iter().position(|l| l.ticket == ticket))
        .flatten();
    let board = format!(
        "{}/offices/{}/display",
        state.app().config().public_url.trim_end_matches('/'),
        desk.office.code
    );
    let body = TicketPage {
        chrome: page.chrome("console"),
        t,
        office_name: t.text(&desk.office.name),
        ticket: t.num(ticket),
        service: service_label(t, &catalogue, info.service.as_str()),
        issued: format!(
            "{}{}{}",
            t.date(pishkhan_domain::tehran::jalali_today(info.arrived_at)),
            t.t("list_comma"),
            t.num(clock(info.arrived_at))
        ),
        ahead,
        tracking_code: info.tracking_code.as_ref().map(ToString::to_string),
        board_qr: qr_svg(&board).map_err(|e| page.fail(e))?,
        back: format!("{}&lang={}", desk.url(), t.code()),
    };
    Ok(render(&body))
}
