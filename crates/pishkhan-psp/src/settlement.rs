//! The daily settlement report: what the PSP will pay out (verified payments) and take back
//! (refunds) on one Tehran day, as CSV.

use std::fmt::Write as _;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::tehran::TEHRAN_OFFSET;
use pishkhan_protocol::psp::SETTLEMENT_CSV_HEADER;

use crate::book::{RowKind, SettledRow};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The Unix-ms bounds `[start, end)` of a Jalali day in Tehran.
pub(crate) fn tehran_day_ms(date: JalaliDate) -> (i64, i64) {
    let start = date
        .to_gregorian()
        .midnight()
        .assume_offset(TEHRAN_OFFSET)
        .unix_timestamp()
        .saturating_mul(1000);
    (start, start.saturating_add(DAY_MS))
}

/// The report's text: the header, then one line per row. No field can hold a comma: dates,
/// kinds and numbers are ASCII digits and words, tokens are URL-safe.
pub(crate) fn render(date: JalaliDate, rows: &[&SettledRow]) -> String {
    let mut out = String::with_capacity(64 + rows.len() * 80);
    out.push_str(SETTLEMENT_CSV_HEADER);
    out.push('\n');
    for r in rows {
        let kind = match r.kind {
            RowKind::Payment => "payment",
            RowKind::Refund => "refund",
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{date},{kind},{},{},{},{}",
            r.order_id, r.token, r.ref_num, r.amount_rials
        );
    }
    out
}
