//! Citizen pages: sign in with national code, mobile and a one-time code; book, see,
//! reschedule and cancel one's own appointments.

use axum::Router;

use crate::AppState;

/// UI strings of the citizen pages: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[];

pub fn router() -> Router<AppState> {
    Router::new()
}
