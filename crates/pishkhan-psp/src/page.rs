//! The payment page, Persian first with English beside it. It is also what a counter's card
//! terminal shows: the operator's terminal opens the same `/pay/{token}` and the citizen
//! enters or swipes the card there. One self-contained document: no scripts, no external
//! assets, styles inline, so the CSP can forbid everything else.

use pishkhan_domain::digits::to_persian_digits;
use pishkhan_domain::model::Lang;
use pishkhan_domain::money::Rials;

use crate::book::TxState;

/// What the page says about a transaction.
pub(crate) struct TxView {
    pub token: String,
    pub merchant_id: String,
    pub order_id: i64,
    pub amount_rials: i64,
    pub state: TxState,
}

/// A message in both languages.
pub(crate) struct Said {
    pub fa: &'static str,
    pub en: &'static str,
}

/// The content security policy of every page: nothing but its own inline styles, no framing.
pub(crate) const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:Vazirmatn,Tahoma,sans-serif;background:#f4f6f8;margin:0;\
color:#1b2430}main{max-width:28rem;margin:2rem auto;background:#fff;border-radius:.75rem;\
padding:1.5rem;box-shadow:0 1px 4px #0002}h1{font-size:1.25rem;margin:0 0 1rem}\
.en{color:#56606b;font-size:.9em}dl{display:grid;grid-template-columns:auto 1fr;gap:.5rem 1rem}\
dt{font-weight:bold}dd{margin:0}label{display:block;margin:1rem 0 .25rem;font-weight:bold}\
input{width:100%;box-sizing:border-box;font-size:1.2rem;padding:.5rem;letter-spacing:.1em}\
.buttons{display:flex;gap:.75rem;margin-top:1rem}button{flex:1;font-size:1rem;padding:.6rem;\
border-radius:.5rem;border:1px solid #1b5e20;cursor:pointer}.pay{background:#1b5e20;color:#fff}\
.cancel{background:#fff;color:#8b1a1a;border-color:#8b1a1a}.error{color:#8b1a1a;font-weight:bold}\
.note{font-size:.85rem;color:#56606b}.error span,.note span{display:block}";

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"fa\" dir=\"rtl\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>درگاه پرداخت · Payment gateway</title><style>{STYLE}</style></head>\
<body><main>{body}</main></body></html>"
    )
}

fn heading(fa: &str, en: &str) -> String {
    format!(
        "<h1>{} <span class=\"en\" lang=\"en\" dir=\"ltr\">{}</span></h1>",
        esc(fa),
        esc(en)
    )
}

fn summary(tx: &TxView) -> String {
    let amount = Rials::new(tx.amount_rials).unwrap_or_default();
    let order = tx.order_id.to_string();
    format!(
        "<dl>\
<dt>پذیرنده <span class=\"en\" lang=\"en\">Merchant</span></dt><dd dir=\"ltr\">{merchant}</dd>\
<dt>شماره سفارش <span class=\"en\" lang=\"en\">Order</span></dt>\
<dd>{order_fa} <span class=\"en\" lang=\"en\" dir=\"ltr\">({order})</span></dd>\
<dt>مبلغ <span class=\"en\" lang=\"en\">Amount</span></dt>\
<dd><strong>{rials_fa}</strong> ({tomans_fa})<br>\
<span class=\"en\" lang=\"en\" dir=\"ltr\">{rials_en} ({tomans_en})</span></dd></dl>",
        merchant = esc(&tx.merchant_id),
        order_fa = to_persian_digits(&order),
        rials_fa = amount.format_rials(Lang::Fa),
        tomans_fa = amount.format_tomans(Lang::Fa),
        rials_en = amount.format_rials(Lang::En),
        tomans_en = amount.format_tomans(Lang::En),
    )
}

/// The form: card number, Pay and Cancel. `error` is shown above the buttons.
pub(crate) fn payment_page(tx: &TxView, error: Option<Said>) -> String {
    let error = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\">{} <span lang=\"en\" dir=\"ltr\">{}</span></p>",
                esc(e.fa),
                esc(e.en)
            )
        })
        .unwrap_or_default();
    document(&format!(
        "{heading}{summary}\
<form method=\"post\" action=\"/pay/{token}\">\
<label for=\"card\">شماره کارت <span class=\"en\" lang=\"en\">Card number</span></label>\
<input id=\"card\" name=\"card\" inputmode=\"numeric\" autocomplete=\"cc-number\" dir=\"ltr\" \
maxlength=\"19\" required placeholder=\"6037 9900 0000 0006\">{error}\
<div class=\"buttons\">\
<button class=\"pay\" type=\"submit\" name=\"action\" value=\"pay\">پرداخت \
<span lang=\"en\">Pay</span></button>\
<button class=\"cancel\" type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>انصراف \
<span lang=\"en\">Cancel</span></button></div></form>\
<p class=\"note\">درگاه آزمایشی: هر شمارهٔ کارت ۱۶ رقمی با رقم کنترل درست پذیرفته می‌شود. \
<span lang=\"en\" dir=\"ltr\">Reference gateway: any 16-digit card number with a valid check \
digit is accepted.</span></p>",
        heading = heading("درگاه پرداخت", "Payment gateway"),
        summary = summary(tx),
        token = esc(&tx.token),
    ))
}

/// What the page says once the payer has acted (or the PSP has).
pub(crate) fn state_said(state: TxState) -> Said {
    match state {
        TxState::Created => Said {
            fa: "در انتظار پرداخت",
            en: "Awaiting payment",
        },
        TxState::Paid | TxState::Verified => Said {
            fa: "این تراکنش پرداخت شده است.",
            en: "This transaction has been paid.",
        },
        TxState::Cancelled => Said {
            fa: "این تراکنش لغو شده است.",
            en: "This transaction was cancelled.",
        },
        TxState::Reversed => Said {
            fa: "این تراکنش برگشت خورده و مبلغ به کارت بازگشته است.",
            en: "This transaction was reversed; the money went back to the card.",
        },
    }
}

/// A page with a message and, when known, the transaction.
pub(crate) fn message_page(said: Said, tx: Option<&TxView>) -> String {
    let summary = tx.map(summary).unwrap_or_default();
    document(&format!(
        "{}{summary}<p>{} <span class=\"en\" lang=\"en\" dir=\"ltr\">{}</span></p>",
        heading("درگاه پرداخت", "Payment gateway"),
        esc(said.fa),
        esc(said.en)
    ))
}
