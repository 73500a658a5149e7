//! Integration tests of pishkhan-web through real HTTP: the JSON API on every configured
//! backend (`api`), server-rendered pages over plain HTTP (`ui`), and the web UI in headless
//! Chromium over WebDriver (`browser`).

mod api;
mod bookings;
mod browser;
mod citizen_flow_ui;
mod citizen_ui;
mod compliance;
mod compliance_ui;
mod console_ui;
mod counter_api;
mod counter_ui;
mod desk;
mod display_ui;
mod exchange;
mod fees;
mod identity;
mod identity_busy_ui;
mod indexation;
mod openapi_contract;
mod payments;
mod payments_ui;
mod queue;
mod releases;
mod reports;
mod request_log;
mod screen_a11y;
mod screen_answers;
mod screen_bidi;
mod screen_errors;
mod screen_kit;
mod screen_layout;
mod screen_refusals;
mod screen_rules;
mod screen_scripts;
mod screen_sweep;
mod screen_words;
mod sessions;
mod shared_machines;
mod sign_in_limits;
mod stats;
mod supervision;
mod supervision_ui;
mod support;
mod text_input;
mod ui;
