//! Pure domain of Pishkhan: parsed identifiers, Jalali dates, Persian text, the model of
//! offices, services and staff, the authorization rules and the kinds of outbox notification.
//! Nothing here does I/O; clocks and randomness are passed in by the caller.

pub mod access;
pub mod booking;
pub mod booking_decision;
pub mod compliance;
pub mod digits;
pub mod fees;
pub mod indexation;
pub mod input;
pub mod jalali;
pub mod ledger;
pub mod mobile;
pub mod model;
pub mod money;
pub mod national_code;
pub mod normalize;
pub mod outbox;
pub mod payment;
pub mod plain_text;
pub mod postal_code;
pub mod release;
pub mod report;
pub mod schedule;
pub mod sheba;
pub mod tehran;

pub use jalali::JalaliDate;
pub use mobile::Mobile;
pub use national_code::NationalCode;
pub use postal_code::PostalCode;
pub use sheba::Sheba;
