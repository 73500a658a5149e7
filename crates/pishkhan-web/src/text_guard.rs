//! Refuses control characters in every text a request carries: the path, the query string,
//! and JSON and form bodies (through the extractors in `extract.rs`), with one 422 problem
//! `control_character`, before any of it reaches a use case or the database.
//!
//! Which characters count is the domain's rule (`pishkhan_domain::plain_text`); fields shown
//! on one line refuse more there, when they are parsed.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pishkhan_domain::plain_text::{CONTROL_CHARACTER, first_forbidden_in_text, message};

use crate::error::ApiError;
use pishkhan_app::AppError;

fn refusal(c: char) -> ApiError {
    ApiError::App(AppError::Invalid {
        code: CONTROL_CHARACTER,
        field: None,
        message: message(c),
    })
}

/// Refuses a request whose decoded path or query holds a control character (`%00` and the
/// like; raw control bytes never get past the HTTP parser).
pub async fn refuse_in_uri(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let found = check_urlencoded(uri.path().as_bytes())
        .and_then(|()| check_urlencoded(uri.query().unwrap_or_default().as_bytes()));
    match found {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Checks percent-encoded text (a path, a query string, a form body) once decoded.
pub fn check_urlencoded(raw: &[u8]) -> Result<(), ApiError> {
    if !raw.contains(&b'%') {
        return check_text(&String::from_utf8_lossy(raw));
    }
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let escaped = (raw[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                decoded.push(b);
                i += 3;
            }
            None => {
                decoded.push(raw[i]);
                i += 1;
            }
        }
    }
    check_text(&String::from_utf8_lossy(&decoded))
}

fn check_text(s: &str) -> Result<(), ApiError> {
    match first_forbidden_in_text(s) {
        None => Ok(()),
        Some(c) => Err(refusal(c)),
    }
}

/// Checks every string (keys too) of a JSON document that has already parsed, escapes
/// (`\u0000`, `\b`) included.
pub fn check_json(body: &[u8]) -> Result<(), ApiError> {
    let text = String::from_utf8_lossy(body);
    let mut chars = text.chars();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if !in_string {
            in_string = c == '"';
            continue;
        }
        let c = match c {
            '"' => {
                in_string = false;
                continue;
            }
            '\\' => match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    // A lone surrogate half is no control character; the pair's parts are
                    // read one at a time and pass.
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(c) => c,
                        None => continue,
                    }
                }
                Some('b') => '\u{8}',
                Some('f') => '\u{c}',
                Some('n') => '\n',
                Some('r') => '\r',
                Some('t') => '\t',
                _ => continue,
            },
            c => c,
        };
        if pishkhan_domain::plain_text::forbidden_in_text(c) {
            return Err(refusal(c));
        }
    }
    Ok(())
}
