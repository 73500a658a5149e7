//! The wire between Pishkhan (the merchant) and a card processor (PSP) in the Shaparak style:
//! the merchant asks for a **token** for an amount and its own order number, the payer pays on
//! the PSP's page, the PSP **calls back**, the merchant **verifies** within a window (or the PSP
//! **reverses**), and a daily **settlement report** lists what the PSP will settle.
//!
//! | route | request | answer |
//! |---|---|---|
//! | `POST /api/token` | [`TokenRequest`] | [`TokenResponse`] |
//! | `GET /pay/{token}` | | the payment page (HTML) |
//! | `POST /pay/{token}` | form `action=pay\|cancel`, `card` | 303 to the return URL |
//! | callback to the merchant | [`Callback`] (POSTed by the PSP) | any 2xx |
//! | `POST /api/verify` | [`VerifyRequest`] | [`VerifyResponse`] |
//! | `POST /api/reverse` | [`ReverseRequest`] | [`ReverseResponse`] |
//! | `POST /api/refund` | [`RefundRequest`] | [`RefundResponse`] |
//! | `GET /api/settlement?merchant_id=&date=` | | CSV, header [`SETTLEMENT_CSV_HEADER`] |
//! | `POST /control/faults` (bearer) | [`FaultRequest`] | [`FaultRequest`] as applied |
//! | `POST /control/clock` (bearer) | [`ClockRequest`] | [`ClockResponse`] |
//!
//! Every refusal is a 4xx [`PspProblem`] with a stable code (see [`problem`]).

use serde::{Deserialize, Serialize};

pub const TOKEN_PATH: &str = "/api/token";
pub const VERIFY_PATH: &str = "/api/verify";
pub const REVERSE_PATH: &str = "/api/reverse";
pub const REFUND_PATH: &str = "/api/refund";
pub const SETTLEMENT_PATH: &str = "/api/settlement";
pub const FAULTS_PATH: &str = "/control/faults";
pub const CLOCK_PATH: &str = "/control/clock";
pub const HEALTH_PATH: &str = "/healthz";

/// The first line of a settlement report. Every later line has these six fields; none of them
/// ever holds a comma or a quote, so the CSV needs no quoting.
pub const SETTLEMENT_CSV_HEADER: &str = "date,kind,order_id,token,ref_num,amount_rials";

/// Length of a payment token: 32 characters of `A-Z a-z 0-9 - _`.
pub const TOKEN_LEN: usize = 32;

/// Length of a PSP reference number (`ref_num`, and a refund's `refund_ref`): ASCII digits.
pub const REF_NUM_LEN: usize = 12;

/// Whether `s` has the shape of a payment token.
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The merchant asks for a token for one of its orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub merchant_id: String,
    /// The merchant's own order number; one token per (merchant, order).
    pub order_id: i64,
    pub amount_rials: i64,
    /// Where the PSP POSTs the [`Callback`], server to server.
    pub callback_url: String,
    /// Where the payer's browser goes (303) after paying or cancelling.
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: String,
}

/// What the payer did on the payment page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    Paid,
    Cancelled,
}

/// The PSP's call to the merchant after the payer acted. Untrusted: the merchant must verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub token: String,
    pub order_id: i64,
    pub status: CallbackStatus,
    /// The PSP's 12-digit reference number, when paid.
    pub ref_num: Option<String>,
    pub amount_rials: i64,
    /// The card paid with, masked as `603799******0006`, when paid.
    pub card_mask: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub merchant_id: String,
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    Verified,
}

/// A verified transaction: the PSP will settle it. Verifying again gives the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub order_id: i64,
    pub amount_rials: i64,
    pub ref_num: String,
    pub card_mask: String,
    pub status: VerifyStatus,
    /// When the PSP recorded the verification (its clock, Unix ms): the settlement report lists
    /// the payment on that instant's Tehran day.
    pub verified_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverseRequest {
    pub merchant_id: String,
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReverseStatus {
    Reversed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReverseResponse {
    pub status: ReverseStatus,
}

/// A full or partial refund of a verified transaction. `refund_id` is the merchant's and makes
/// the request idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub merchant_id: String,
    pub token: String,
    pub refund_id: i64,
    pub amount_rials: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResponse {
    /// The PSP's 12-digit reference of the refund; the settlement report's `ref_num` of its row.
    pub refund_ref: String,
}

/// Every refusal: a stable `code` (see [`problem`]) and an English message for logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PspProblem {
    pub code: String,
    pub message: String,
}

/// The stable problem codes.
pub mod problem {
    /// Malformed JSON, form or query, or a field of the wrong type.
    pub const BAD_REQUEST: &str = "bad_request";
    /// A body over the limit.
    pub const TOO_LARGE: &str = "too_large";
    pub const INVALID_AMOUNT: &str = "invalid_amount";
    /// An order or refund id below 1.
    pub const INVALID_ID: &str = "invalid_id";
    pub const INVALID_URL: &str = "invalid_url";
    pub const INVALID_DATE: &str = "invalid_date";
    pub const INVALID_CARD: &str = "invalid_card";
    pub const UNKNOWN_MERCHANT: &str = "unknown_merchant";
    /// The same order asked for a token with another amount.
    pub const ORDER_CONFLICT: &str = "order_conflict";
    /// The same refund id used with another token or amount.
    pub const REFUND_CONFLICT: &str = "refund_conflict";
    pub const NOT_FOUND: &str = "not_found";
    /// Verify or reverse of a transaction that was never paid (created or cancelled).
    pub const NOT_PAID: &str = "not_paid";
    /// The transaction was reversed (by the merchant, or by the PSP when its window passed).
    pub const REVERSED: &str = "reversed";
    pub const ALREADY_VERIFIED: &str = "already_verified";
    /// Refund of a transaction that is not verified.
    pub const NOT_VERIFIED: &str = "not_verified";
    /// The refunds would sum to more than the payment.
    pub const REFUND_EXCEEDS: &str = "refund_exceeds";
    /// The PSP holds as many transactions (or refunds, or faults) as it may.
    pub const CAPACITY: &str = "capacity";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const UNKNOWN_FAULT: &str = "unknown_fault";
    pub const INVALID_CLOCK: &str = "invalid_clock";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// The PSP's journal failed; nothing more is accepted (5xx).
    pub const JOURNAL_FAILED: &str = "journal_failed";
}

/// Faults the reference PSP can inject, per order or for every order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Token and verify requests for the order hang (30 s) before they are handled, so the
    /// merchant's timeout fires.
    Timeout,
    /// The callback is delivered twice.
    DuplicateCallback,
    /// The callback is held until the verify window has passed (and the PSP has reversed an
    /// unverified payment), then delivered with status `paid`.
    LateCallback,
    /// Verify answers only once the window has passed, so the answer is `reversed`.
    LateVerify,
    /// The callback and verify report 10,000 rials more than was paid.
    WrongAmount,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Timeout,
        Fault::DuplicateCallback,
        Fault::LateCallback,
        Fault::LateVerify,
        Fault::WrongAmount,
    ];

    /// The amount `wrong_amount` adds, in rials.
    pub const WRONG_AMOUNT_DELTA_RIALS: i64 = 10_000;

    pub fn name(self) -> &'static str {
        match self {
            Fault::Timeout => "timeout",
            Fault::DuplicateCallback => "duplicate_callback",
            Fault::LateCallback => "late_callback",
            Fault::LateVerify => "late_verify",
            Fault::WrongAmount => "wrong_amount",
        }
    }

    /// A fault by name; `none` (no fault) is `Ok(None)`.
    pub fn parse(name: &str) -> Result<Option<Fault>, String> {
        if name == "none" {
            return Ok(None);
        }
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .map(Some)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown fault {name:?}; expected none or one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Sets (or with `fault: "none"` clears) the fault of one order, or with `order_id: null` of
/// every order from now on; `null` with `none` clears every fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    pub order_id: Option<i64>,
    pub fault: String,
}

/// Moves the PSP's clock: to an instant (`now_ms`, Unix ms), or to an offset from the real
/// clock (`offset_ms`; 0 is real time again). Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockResponse {
    pub now_ms: i64,
    pub offset_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_names_round_trip_and_unknown_names_are_refused() {
        for f in Fault::ALL {
            assert_eq!(Fault::parse(f.name()), Ok(Some(f)));
        }
        assert_eq!(Fault::parse("none"), Ok(None));
        assert!(Fault::parse("slow").unwrap_err().contains("late_verify"));
    }

    #[test]
    fn tokens_have_one_shape() {
        assert!(is_token("abcdefghijklmnopqrstuvwxyzAB-_09"));
        assert!(!is_token("abcdefghijklmnopqrstuvwxyzAB-_0"));
        assert!(!is_token("abcdefghijklmnopqrstuvwxyzAB-_0/"));
    }

    #[test]
    fn statuses_are_lower_case_on_the_wire() {
        let cb = Callback {
            token: "t".into(),
            order_id: 7,
            status: CallbackStatus::Cancelled,
            ref_num: None,
            amount_rials: 10,
            card_mask: None,
        };
        let json = serde_json::to_value(&cb).unwrap();
        assert_eq!(json["status"], "cancelled");
    }
}
