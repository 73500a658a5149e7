//! The merchant's client of the card processor (PSP): token, verify, reverse, refund and the
//! daily settlement report, over the wire in `pishkhan_protocol::psp`. Every call is bounded
//! in time (the client's timeout) and in the size of the answer it reads.
//!
//! [`PspClient::pay_as_payer`] and [`PspClient::cancel_as_payer`] do what the payer's browser
//! does on the payment page, and [`PspControl`] drives the reference PSP's faults and clock:
//! the demo uses them to put past days of payments through the real path, the tests to
//! exercise every fault.

use std::time::Duration;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::money::MAX_RIALS;
use pishkhan_protocol::psp::{
    CLOCK_PATH, ClockRequest, FAULTS_PATH, FaultRequest, PspProblem, REF_NUM_LEN, REFUND_PATH,
    REVERSE_PATH, RefundRequest, RefundResponse, ReverseRequest, ReverseResponse,
    SETTLEMENT_CSV_HEADER, SETTLEMENT_PATH, TOKEN_PATH, TokenRequest, TokenResponse, VERIFY_PATH,
    VerifyRequest, is_token,
};
use serde::de::DeserializeOwned;

pub use pishkhan_protocol::psp::{
    Callback, CallbackStatus, ClockResponse, Fault, VerifyResponse, VerifyStatus, problem,
};

/// Largest JSON answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Largest settlement report read: about 700,000 rows, far more than a day of a merchant.
const MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;
/// Longest timeout a client may be given.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum PspError {
    /// No answer within the client's timeout. The request may or may not have taken effect.
    #[error("the PSP did not answer in time")]
    Timeout,
    /// No connection, or a 5xx: the PSP could not be asked.
    #[error("the PSP is unavailable: {0}")]
    Unavailable(String),
    /// The PSP refused the request (a 4xx with its problem code).
    #[error("the PSP refused: {code}: {message}")]
    Refused { code: String, message: String },
    /// The PSP answered something this client cannot read.
    #[error("the PSP's answer is not understood: {0}")]
    BadAnswer(String),
    /// The client was built with a bad base URL, merchant id or timeout.
    #[error("bad PSP client settings: {0}")]
    Config(String),
}

impl PspError {
    /// Whether this is the PSP's refusal with `code` (one of [`problem`]).
    pub fn is_refused(&self, code: &str) -> bool {
        matches!(self, PspError::Refused { code: c, .. } if c == code)
    }
}

/// What a settlement report line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    Payment,
    Refund,
}

/// One line of the PSP's daily settlement report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub date: JalaliDate,
    pub kind: ReportKind,
    pub order_id: i64,
    pub token: String,
    /// The payment's `ref_num`; for a refund, the `refund_ref` its refund returned.
    pub ref_num: String,
    /// Always positive; a refund's row is money going back.
    pub amount_rials: i64,
}

/// The merchant's connection to one PSP.
#[derive(Debug, Clone)]
pub struct PspClient {
    http: reqwest::Client,
    base: String,
    merchant_id: String,
    timeout: Duration,
}

fn base_url(base_url: &str) -> Result<String, PspError> {
    let url = reqwest::Url::parse(base_url)
        .map_err(|e| PspError::Config(format!("base URL {base_url:?}: {e}")))?;
    let plain = url.query().is_none() && url.fragment().is_none() && url.username().is_empty();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !plain {
        return Err(PspError::Config(format!(
            "base URL {base_url:?} must be a plain http or https URL"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn http_client(timeout: Duration) -> Result<reqwest::Client, PspError> {
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(PspError::Config(format!(
            "the timeout must be above zero and at most {} s",
            MAX_TIMEOUT.as_secs()
        )));
    }
    reqwest::Client::builder()
        .timeout(timeout)
        // The payment page answers the payer with a redirect to the merchant: the client
        // reports it rather than following it.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| PspError::Config(e.to_string()))
}

fn network(e: reqwest::Error) -> PspError {
    if e.is_timeout() {
        PspError::Timeout
    } else {
        PspError::Unavailable(e.to_string())
    }
}

/// The body, refused past `max` bytes without reading further.
async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, PspError> {
    let too_big = || PspError::BadAnswer(format!("the answer exceeds {max} bytes"));
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body of a 2xx answer; a 4xx becomes [`PspError::Refused`], anything else
/// [`PspError::Unavailable`] or [`PspError::BadAnswer`].
async fn success_body(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, PspError> {
    let status = resp.status();
    let body = read_bounded(resp, max.max(MAX_ANSWER_BYTES)).await?;
    if status.is_success() {
        return Ok(body);
    }
    let problem = serde_json::from_slice::<PspProblem>(&body).ok();
    match problem {
        Some(p) if status.is_client_error() => Err(PspError::Refused {
            code: p.code,
            message: p.message,
        }),
        Some(p) if status.is_server_error() => {
            Err(PspError::Unavailable(format!("{status}: {}", p.code)))
        }
        _ if status.is_server_error() => Err(PspError::Unavailable(status.to_string())),
        _ => Err(PspError::BadAnswer(format!("unexpected {status}"))),
    }
}

async fn json_answer<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, PspError> {
    let body = success_body(resp, MAX_ANSWER_BYTES).await?;
    serde_json::from_slice(&body).map_err(|e| PspError::BadAnswer(e.to_string()))
}

impl PspClient {
    /// A client of the PSP at `base_url` acting as `merchant_id`; every call gives up after
    /// `timeout`.
    pub fn new(base_url: &str, merchant_id: &str, timeout: Duration) -> Result<Self, PspError> {
        let ok_id = (1..=64).contains(&merchant_id.len())
            && merchant_id.bytes().all(|b| b.is_ascii_graphic());
        if !ok_id {
            return Err(PspError::Config(
                "the merchant id must be 1..=64 printable characters".into(),
            ));
        }
        Ok(Self {
            http: http_client(timeout)?,
            base: self::base_url(base_url)?,
            merchant_id: merchant_id.to_string(),
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Where the payer (or the counter's card terminal) pays: `base/pay/{token}`.
    pub fn pay_url(&self, token: &str) -> String {
        format!("{}/pay/{token}", self.base)
    }

    async fn post<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, PspError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(network)?;
        json_answer(resp).await
    }

    /// A token for `order_id`. Asking again for the same order and amount gives the same
    /// token, so a timed-out call can simply be repeated.
    pub async fn token(
        &self,
        order_id: i64,
        amount_rials: i64,
        callback_url: &str,
        return_url: &str,
    ) -> Result<String, PspError> {
        let req = TokenRequest {
            merchant_id: self.merchant_id.clone(),
            order_id,
            amount_rials,
            callback_url: callback_url.to_string(),
            return_url: return_url.to_string(),
        };
        let answer: TokenResponse = self.post(TOKEN_PATH, &req).await?;
        if !is_token(&answer.token) {
            return Err(PspError::BadAnswer("the token has the wrong shape".into()));
        }
        Ok(answer.token)
    }

    /// Confirms a paid transaction, so the PSP settles rather than reverses it. Idempotent.
    /// The caller compares the answer's amount and order with its own: the PSP may say
    /// otherwise.
    pub async fn verify(&self, token: &str) -> Result<VerifyResponse, PspError> {
        let req = VerifyRequest {
            merchant_id: self.merchant_id.clone(),
            token: token.to_string(),
        };
        self.post(VERIFY_PATH, &req).await
    }

    /// Gives a paid, unverified transaction's money back to the card. Idempotent.
    pub async fn reverse(&self, token: &str) -> Result<(), PspError> {
        let req = ReverseRequest {
            merchant_id: self.merchant_id.clone(),
            token: token.to_string(),
        };
        let _: ReverseResponse = self.post(REVERSE_PATH, &req).await?;
        Ok(())
    }

    /// Refunds part or all of a verified transaction; returns the PSP's `refund_ref`. The same
    /// `refund_id` again gives the same answer.
    pub async fn refund(
        &self,
        token: &str,
        refund_id: i64,
        amount_rials: i64,
    ) -> Result<String, PspError> {
        let req = RefundRequest {
            merchant_id: self.merchant_id.clone(),
            token: token.to_string(),
            refund_id,
            amount_rials,
        };
        let answer: RefundResponse = self.post(REFUND_PATH, &req).await?;
        if !is_ref_num(&answer.refund_ref) {
            return Err(PspError::BadAnswer(
                "the refund_ref has the wrong shape".into(),
            ));
        }
        Ok(answer.refund_ref)
    }

    /// The PSP's settlement report for one Tehran day.
    pub async fn settlement_report(&self, date: JalaliDate) -> Result<Vec<ReportRow>, PspError> {
        let mut url = reqwest::Url::parse(&format!("{}{SETTLEMENT_PATH}", self.base))
            .map_err(|e| PspError::Config(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("merchant_id", &self.merchant_id)
            .append_pair("date", &date.to_string());
        let resp = self.http.get(url).send().await.map_err(network)?;
        let body = success_body(resp, MAX_REPORT_BYTES).await?;
        let text = String::from_utf8(body)
            .map_err(|_| PspError::BadAnswer("the report is not UTF-8".into()))?;
        parse_settlement_report(&text, date)
    }

    /// What the payer's browser does when paying with `card` on the payment page: returns
    /// where the PSP sends the payer (the merchant's return URL).
    pub async fn pay_as_payer(&self, token: &str, card: &str) -> Result<String, PspError> {
        self.payer(token, &[("action", "pay"), ("card", card)])
            .await
    }

    /// What the payer's browser does when cancelling on the payment page.
    pub async fn cancel_as_payer(&self, token: &str) -> Result<String, PspError> {
        self.payer(token, &[("action", "cancel")]).await
    }

    async fn payer(&self, token: &str, fields: &[(&str, &str)]) -> Result<String, PspError> {
        if !is_token(token) {
            return Err(PspError::Config("not a payment token".into()));
        }
        let mut form = reqwest::Url::parse("http://form.invalid/")
            .map_err(|e| PspError::Config(e.to_string()))?;
        form.query_pairs_mut().extend_pairs(fields);
        let body = form.query().unwrap_or("").to_string();
        let resp = self
            .http
            .post(self.pay_url(token))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(network)?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match (status, location) {
            (reqwest::StatusCode::SEE_OTHER, Some(l)) => Ok(l),
            (s, _) if s.is_server_error() => Err(PspError::Unavailable(s.to_string())),
            (s, _) if s.is_client_error() => Err(PspError::Refused {
                code: s.as_u16().to_string(),
                message: "the payment page refused the payer".into(),
            }),
            (s, _) => Err(PspError::BadAnswer(format!("unexpected {s}"))),
        }
    }
}

fn is_ref_num(s: &str) -> bool {
    s.len() == REF_NUM_LEN && s.bytes().all(|b| b.is_ascii_digit())
}

/// Reads a settlement report strictly: the exact header, then six fields a line, every one
/// checked, each line's date the day asked for. The first bad line is named (the header is
/// line 1).
pub fn parse_settlement_report(csv: &str, date: JalaliDate) -> Result<Vec<ReportRow>, PspError> {
    let body = csv
        .strip_suffix('\n')
        .ok_or_else(|| PspError::BadAnswer("the report does not end with a newline".into()))?;
    let mut lines = body.split('\n');
    if lines.next() != Some(SETTLEMENT_CSV_HEADER) {
        return Err(PspError::BadAnswer(
            "line 1: not the settlement report header".into(),
        ));
    }
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let number = i + 2;
        let bad = |why: &str| PspError::BadAnswer(format!("line {number}: {why}"));
        let fields: Vec<&str> = line.split(',').collect();
        let [d, kind, order_id, token, ref_num, amount] = fields[..] else {
            return Err(bad("expected 6 fields"));
        };
        let row_date = JalaliDate::parse(d).map_err(|_| bad("bad date"))?;
        if row_date != date || d != date.to_string() {
            return Err(bad("a row of another day"));
        }
        let kind = match kind {
            "payment" => ReportKind::Payment,
            "refund" => ReportKind::Refund,
            _ => return Err(bad("kind must be payment or refund")),
        };
        let order_id: i64 = strict_number(order_id)
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad("bad order_id"))?;
        if !is_token(token) {
            return Err(bad("bad token"));
        }
        if !is_ref_num(ref_num) {
            return Err(bad("bad ref_num"));
        }
        let amount_rials = strict_number(amount)
            .filter(|n| (1..=MAX_RIALS).contains(n))
            .ok_or_else(|| bad("bad amount_rials"))?;
        rows.push(ReportRow {
            date,
            kind,
            order_id,
            token: token.to_string(),
            ref_num: ref_num.to_string(),
            amount_rials,
        });
    }
    Ok(rows)
}

/// ASCII digits only (no sign, no spaces), as the PSP writes numbers.
fn strict_number(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The reference PSP's controls (`--control-token`): faults and its clock.
#[derive(Debug, Clone)]
pub struct PspControl {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl PspControl {
    pub fn new(base_url: &str, control_token: &str, timeout: Duration) -> Result<Self, PspError> {
        Ok(Self {
            http: http_client(timeout)?,
            base: self::base_url(base_url)?,
            token: control_token.to_string(),
        })
    }

    async fn post<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, PspError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(network)?;
        json_answer(resp).await
    }

    /// Sets `fault` (`None`: no fault) for one order, or with `order_id: None` for every
    /// order from now on (`None` and `None` clear every fault).
    pub async fn set_fault(
        &self,
        order_id: Option<i64>,
        fault: Option<Fault>,
    ) -> Result<(), PspError> {
        let req = FaultRequest {
            order_id,
            fault: fault.map_or("none", Fault::name).to_string(),
        };
        let _: FaultRequest = self.post(FAULTS_PATH, &req).await?;
        Ok(())
    }

    /// Sets the PSP's clock to `now_ms` (Unix ms).
    pub async fn set_now(&self, now_ms: i64) -> Result<ClockResponse, PspError> {
        let req = ClockRequest {
            now_ms: Some(now_ms),
            offset_ms: None,
        };
        self.post(CLOCK_PATH, &req).await
    }

    /// Sets the PSP's clock to the real clock plus `offset_ms` (0: real time).
    pub async fn set_offset(&self, offset_ms: i64) -> Result<ClockResponse, PspError> {
        let req = ClockRequest {
            now_ms: None,
            offset_ms: Some(offset_ms),
        };
        self.post(CLOCK_PATH, &req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: &str = "1405-01-15";

    fn day() -> JalaliDate {
        JalaliDate::parse(DAY).unwrap()
    }

    #[test]
    fn a_good_report_parses_and_each_bad_line_is_named() {
        let token = "abcdefghijklmnopqrstuvwxyzAB-_09";
        let good = format!(
            "{SETTLEMENT_CSV_HEADER}\n{DAY},payment,7,{token},123456789012,150000\n\
             {DAY},refund,7,{token},223456789012,50000\n"
        );
        let rows = parse_settlement_report(&good, day()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].kind, ReportKind::Refund);
        assert_eq!(rows[1].amount_rials, 50_000);
        assert!(
            parse_settlement_report(&format!("{SETTLEMENT_CSV_HEADER}\n"), day())
                .unwrap()
                .is_empty()
        );
        let cases = [
            ("payment,7,T,123456789012,150000", "6 fields"),
            ("1405-01-16,payment,7,T,123456789012,150000", "another day"),
            ("D,payout,7,T,123456789012,150000", "kind"),
            ("D,payment,-7,T,123456789012,150000", "order_id"),
            ("D,payment,7,short,123456789012,150000", "token"),
            ("D,payment,7,T,12345,150000", "ref_num"),
            ("D,payment,7,T,123456789012,1.5", "amount_rials"),
            ("D,payment,7,T,123456789012,+15", "amount_rials"),
        ];
        for (line, why) in cases {
            let line = line.replace('D', DAY).replace(",T,", &format!(",{token},"));
            let csv = format!(
                "{SETTLEMENT_CSV_HEADER}\n{DAY},payment,1,{token},123456789012,1\n{line}\n"
            );
            let err = parse_settlement_report(&csv, day())
                .unwrap_err()
                .to_string();
            assert!(err.contains("line 3") && err.contains(why), "{line}: {err}");
        }
        let err = parse_settlement_report("date,kind\n", day()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(parse_settlement_report(&good.replace('\n', "\r\n"), day()).is_err());
    }

    #[test]
    fn bad_settings_are_refused() {
        let t = Duration::from_secs(1);
        assert!(PspClient::new("ftp://psp", "pishkhan", t).is_err());
        assert!(PspClient::new("http://psp/?x=1", "pishkhan", t).is_err());
        assert!(PspClient::new("http://psp", "", t).is_err());
        assert!(PspClient::new("http://psp", "pishkhan", Duration::ZERO).is_err());
        let c = PspClient::new("http://psp:8090/", "pishkhan", t).unwrap();
        assert_eq!(c.pay_url("T"), "http://psp:8090/pay/T");
    }
}
