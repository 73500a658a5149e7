//! What happened, one JSON line each in `psp.jsonl`: the state is the replay of these events.
//! Every event carries its instant on the PSP's clock, so a replay rebuilds the same days.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Event {
    Token {
        at_ms: i64,
        token: String,
        merchant_id: String,
        order_id: i64,
        amount_rials: i64,
        callback_url: String,
        return_url: String,
    },
    Paid {
        at_ms: i64,
        token: String,
        ref_num: String,
        card_mask: String,
        /// The `late_callback` fault held the callback until the window passes.
        callback_held: bool,
    },
    Cancelled {
        at_ms: i64,
        token: String,
    },
    Verified {
        at_ms: i64,
        token: String,
    },
    Reversed {
        at_ms: i64,
        token: String,
    },
    Refunded {
        at_ms: i64,
        token: String,
        refund_id: i64,
        amount_rials: i64,
        refund_ref: String,
    },
    /// A held callback was sent, so a restart does not send it again.
    CallbackReleased {
        at_ms: i64,
        token: String,
    },
}
