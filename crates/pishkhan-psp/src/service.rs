//! The PSP's operations, independent of HTTP: each takes the state's lock, decides, records
//! its event (applied to the book, queued to the journal), lets go of the lock, and waits for
//! the journal before answering.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::money::MAX_RIALS;
use pishkhan_protocol::psp::{
    Callback, CallbackStatus, Fault, REF_NUM_LEN, RefundRequest, RefundResponse, ReverseRequest,
    ReverseResponse, ReverseStatus, TOKEN_LEN, TokenRequest, TokenResponse, VerifyRequest,
    VerifyResponse, VerifyStatus, is_token, problem,
};

use crate::book::{Book, MAX_REFUNDS_PER_TX, Tx, TxState};
use crate::callback::Callbacks;
use crate::card::Card;
use crate::clock::PspClock;
use crate::config::PspConfig;
use crate::event::Event;
use crate::faults::FaultTable;
use crate::journal::{Appender, Durability, WriterThread};
use crate::page::TxView;
use crate::problem::Problem;
use crate::settlement;

/// Longest callback or return URL.
const MAX_URL_LEN: usize = 2048;
/// Slowest poll while a `late_verify` waits for the window to pass.
const LATE_VERIFY_POLL: Duration = Duration::from_millis(100);

pub(crate) struct State {
    pub book: Book,
    pub journal: Appender,
}

/// Everything a request needs. Field order matters for drop: the state (and with it the
/// journal's sender) goes before the writer thread is joined.
pub(crate) struct Shared {
    pub config: PspConfig,
    merchants: HashSet<String>,
    pub clock: PspClock,
    pub faults: Mutex<FaultTable>,
    state: Mutex<State>,
    durability: Durability,
    callbacks: Callbacks,
    _writer: WriterThread,
}

/// What the payer chose on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayAction {
    Pay,
    Cancel,
}

/// How a payer's POST ends.
pub(crate) enum PayOutcome {
    /// 303 to the merchant's return URL.
    Redirect(String),
    NotFound,
    /// The card number was refused; the page is shown again.
    BadCard(TxView, &'static str),
    /// Already cancelled (when paying) or already paid (when cancelling).
    Conflict(TxView),
}

fn random_token() -> Result<String, Problem> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; TOKEN_LEN];
    getrandom::fill(&mut bytes).map_err(|_| randomness())?;
    // 64 symbols: the low six bits of a random byte pick one without bias.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect())
}

fn random_ref() -> Result<String, Problem> {
    let n = getrandom::u64().map_err(|_| randomness())?;
    // The modulo bias over 2^64 is below one part in a million: irrelevant for a reference.
    let first_digit_nonzero = 100_000_000_000 + n % 900_000_000_000;
    let s = first_digit_nonzero.to_string();
    debug_assert_eq!(s.len(), REF_NUM_LEN);
    Ok(s)
}

fn randomness() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "randomness",
        "the system's random source failed",
    )
}

/// The URL in its normal form, or why not. The normal form is what is kept and used: it is
/// ASCII (so it fits a `Location` header) and holds no tab or newline.
fn check_url(field: &str, s: &str) -> Result<String, Problem> {
    let bad = |why: &str| Problem::invalid(problem::INVALID_URL, format!("{field}: {why}"));
    if s.len() > MAX_URL_LEN {
        return Err(bad("longer than 2048 characters"));
    }
    let url = reqwest::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("must be an absolute http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    let normal = url.to_string();
    if normal.len() > MAX_URL_LEN {
        return Err(bad("longer than 2048 characters once encoded"));
    }
    Ok(normal)
}

fn check_amount(amount_rials: i64) -> Result<(), Problem> {
    if !(1..=MAX_RIALS).contains(&amount_rials) {
        return Err(Problem::invalid(
            problem::INVALID_AMOUNT,
            format!("amount_rials must be 1..={MAX_RIALS}"),
        ));
    }
    Ok(())
}

fn view(token: &str, tx: &Tx) -> TxView {
    TxView {
        token: token.to_string(),
        merchant_id: tx.merchant_id.clone(),
        order_id: tx.order_id,
        amount_rials: tx.amount_rials,
        state: tx.state,
    }
}

/// The amount a fault makes the PSP report.
fn reported_amount(tx: &Tx, fault: Option<Fault>) -> i64 {
    match fault {
        Some(Fault::WrongAmount) => tx
            .amount_rials
            .saturating_add(Fault::WRONG_AMOUNT_DELTA_RIALS),
        _ => tx.amount_rials,
    }
}

fn callback_of(token: &str, tx: &Tx, status: CallbackStatus, fault: Option<Fault>) -> Callback {
    let paid = status == CallbackStatus::Paid;
    Callback {
        token: token.to_string(),
        order_id: tx.order_id,
        status,
        ref_num: tx.ref_num.clone().filter(|_| paid),
        amount_rials: reported_amount(tx, fault),
        card_mask: tx.card_mask.clone().filter(|_| paid),
    }
}

/// A callback to send once the events behind it are durable.
struct Outgoing {
    url: String,
    callback: Callback,
    copies: u32,
}

impl Shared {
    pub(crate) fn new(
        config: PspConfig,
        book: Book,
        journal: (Appender, Durability, WriterThread),
    ) -> Result<Self, crate::PspError> {
        let (appender, durability, writer) = journal;
        let callbacks = Callbacks::new(config.callback.clone())
            .map_err(|e| crate::PspError::Config(format!("callback client: {e}")))?;
        Ok(Self {
            merchants: config.merchants.iter().cloned().collect(),
            faults: Mutex::new(FaultTable::new(config.fault)),
            clock: PspClock::default(),
            state: Mutex::new(State {
                book,
                journal: appender,
            }),
            durability,
            callbacks,
            _writer: writer,
            config,
        })
    }

    pub(crate) fn transactions(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .book
            .len()
    }

    /// The state, refused once the journal has failed. A panic while holding the lock cannot
    /// leave a half-applied event (events apply whole or not at all), so a poisoned lock is
    /// taken over.
    fn state(&self) -> Result<MutexGuard<'_, State>, Problem> {
        if self.durability.failed() {
            return Err(Problem::journal_failed());
        }
        Ok(self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn fault(&self, order_id: i64) -> Option<Fault> {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(order_id)
    }

    fn check_merchant(&self, merchant_id: &str) -> Result<(), Problem> {
        if !self.merchants.contains(merchant_id) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                problem::UNKNOWN_MERCHANT,
                "this PSP does not serve that merchant",
            ));
        }
        Ok(())
    }

    /// Runs `f` under the lock and waits until everything it saw is durable.
    async fn with_state<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, Problem>,
    ) -> Result<T, Problem> {
        let (result, seq) = {
            let mut st = self.state()?;
            let result = f(&mut st);
            (result, st.journal.last_seq())
        };
        self.durability.wait(seq).await?;
        result
    }

    /// The order of `token` for `merchant_id`, or `not_found` (another merchant's token is
    /// not found either).
    fn order_of(&self, merchant_id: &str, token: &str) -> Result<i64, Problem> {
        if !is_token(token) {
            return Err(Problem::not_found());
        }
        let st = self.state()?;
        match st.book.tx(token) {
            Some(tx) if tx.merchant_id == merchant_id => Ok(tx.order_id),
            _ => Err(Problem::not_found()),
        }
    }

    async fn hang_if_timeout(&self, fault: Option<Fault>) {
        if fault == Some(Fault::Timeout) {
            tokio::time::sleep(Duration::from_millis(self.config.fault_hang_ms)).await;
        }
    }

    pub(crate) async fn token(&self, req: TokenRequest) -> Result<TokenResponse, Problem> {
        self.check_merchant(&req.merchant_id)?;
        if req.order_id < 1 {
            return Err(Problem::invalid(
                problem::INVALID_ID,
                "order_id must be a positive number",
            ));
        }
        check_amount(req.amount_rials)?;
        let callback_url = check_url("callback_url", &req.callback_url)?;
        let return_url = check_url("return_url", &req.return_url)?;
        self.hang_if_timeout(self.fault(req.order_id)).await;
        let now = self.clock.now_ms();
        let max = self.config.max_transactions;
        self.with_state(|st| {
            if let Some(token) = st.book.token_of(&req.merchant_id, req.order_id) {
                let same = st
                    .book
                    .tx(token)
                    .is_some_and(|tx| tx.amount_rials == req.amount_rials);
                if !same {
                    return Err(Problem::conflict(
                        problem::ORDER_CONFLICT,
                        "this order already has a token for another amount",
                    ));
                }
                return Ok(TokenResponse {
                    token: token.to_string(),
                });
            }
            if st.book.len() >= max {
                return Err(Problem::capacity(format!(
                    "the PSP holds its maximum of {max} transactions"
                )));
            }
            let mut token = random_token()?;
            while st.book.tx(&token).is_some() {
                token = random_token()?;
            }
            record(
                st,
                Event::Token {
                    at_ms: now,
                    token: token.clone(),
                    merchant_id: req.merchant_id,
                    order_id: req.order_id,
                    amount_rials: req.amount_rials,
                    callback_url,
                    return_url,
                },
            )?;
            Ok(TokenResponse { token })
        })
        .await
    }

    /// The transaction behind a payment page.
    pub(crate) async fn page(&self, token: &str) -> Result<Option<TxView>, Problem> {
        if !is_token(token) {
            return Ok(None);
        }
        self.with_state(|st| Ok(st.book.tx(token).map(|tx| view(token, tx))))
            .await
    }

    /// The payer paid (with `card`) or cancelled.
    pub(crate) async fn pay(
        &self,
        token: &str,
        action: PayAction,
        card: &str,
    ) -> Result<PayOutcome, Problem> {
        if !is_token(token) {
            return Ok(PayOutcome::NotFound);
        }
        let now = self.clock.now_ms();
        let decided = self
            .with_state(|st| {
                let Some(tx) = st.book.tx(token) else {
                    return Ok((PayOutcome::NotFound, None));
                };
                let fault = self.fault(tx.order_id);
                let back = PayOutcome::Redirect(tx.return_url.clone());
                match (action, tx.state) {
                    (PayAction::Pay, TxState::Created) => {
                        let card = match Card::parse(card) {
                            Ok(c) => c,
                            Err(why) => return Ok((PayOutcome::BadCard(view(token, tx), why), None)),
                        };
                        let mut ref_num = random_ref()?;
                        while st.book.ref_used(&ref_num) {
                            ref_num = random_ref()?;
                        }
                        let held = fault == Some(Fault::LateCallback);
                        record(
                            st,
                            Event::Paid {
                                at_ms: now,
                                token: token.to_string(),
                                ref_num,
                                card_mask: card.mask(),
                                callback_held: held,
                            },
                        )?;
                        let out = if held {
                            None
                        } else {
                            self.outgoing(st, token, CallbackStatus::Paid, fault)
                        };
                        Ok((back, out))
                    }
                    (PayAction::Cancel, TxState::Created) => {
                        record(
                            st,
                            Event::Cancelled {
                                at_ms: now,
                                token: token.to_string(),
                            },
                        )?;
                        Ok((
                            back,
                            self.outgoing(st, token, CallbackStatus::Cancelled, fault),
                        ))
                    }
                    // A second submit of the same choice (a double click, a reload) lands
                    // where the first did, without a second callback.
                    (PayAction::Pay, TxState::Paid | TxState::Verified | TxState::Reversed)
                    | (PayAction::Cancel, TxState::Cancelled) => Ok((back, None)),
                    (PayAction::Pay, TxState::Cancelled)
                    | (PayAction::Cancel, TxState::Paid | TxState::Verified | TxState::Reversed) => {
                        Ok((PayOutcome::Conflict(view(token, tx)), None))
                    }
                }
            })
            .await?;
        let (outcome, out) = decided;
        if let Some(out) = out {
            let first = self.callbacks.send(out.url, &out.callback, out.copies);
            // The payer waits a little for the merchant to hear first, never longer.
            let _ = tokio::time::timeout(self.callbacks.wait(), first).await;
        }
        Ok(outcome)
    }

    fn outgoing(
        &self,
        st: &State,
        token: &str,
        status: CallbackStatus,
        fault: Option<Fault>,
    ) -> Option<Outgoing> {
        let tx = st.book.tx(token)?;
        Some(Outgoing {
            url: tx.callback_url.clone(),
            callback: callback_of(token, tx, status, fault),
            copies: if fault == Some(Fault::DuplicateCallback) {
                2
            } else {
                1
            },
        })
    }

    pub(crate) async fn verify(&self, req: VerifyRequest) -> Result<VerifyResponse, Problem> {
        self.check_merchant(&req.merchant_id)?;
        let order_id = self.order_of(&req.merchant_id, &req.token)?;
        let fault = self.fault(order_id);
        self.hang_if_timeout(fault).await;
        if fault == Some(Fault::LateVerify) {
            self.wait_past_window(&req.token).await?;
        }
        let token = req.token.as_str();
        let now = self.clock.now_ms();
        self.with_state(|st| {
            let window = st.book.window_ms();
            let Some(tx) = st.book.tx(token) else {
                return Err(Problem::not_found());
            };
            match tx.state {
                TxState::Created | TxState::Cancelled => {
                    return Err(Problem::conflict(
                        problem::NOT_PAID,
                        "the transaction was not paid",
                    ));
                }
                TxState::Reversed => return Err(reversed()),
                TxState::Verified => {}
                TxState::Paid => {
                    let in_time = tx.deadline_ms(window).is_some_and(|d| now < d);
                    let token = token.to_string();
                    if !in_time {
                        // Late: the PSP reverses now rather than wait for its sweep.
                        record(st, Event::Reversed { at_ms: now, token })?;
                        return Err(reversed());
                    }
                    record(st, Event::Verified { at_ms: now, token })?;
                }
            }
            let tx = st.book.tx(token).ok_or_else(Problem::not_found)?;
            Ok(VerifyResponse {
                order_id: tx.order_id,
                amount_rials: reported_amount(tx, fault),
                ref_num: tx.ref_num.clone().unwrap_or_default(),
                card_mask: tx.card_mask.clone().unwrap_or_default(),
                status: VerifyStatus::Verified,
                verified_at_ms: tx.verified_at_ms.unwrap_or(now),
            })
        })
        .await
    }

    /// Holds a `late_verify` until the transaction's window has passed on the PSP's clock
    /// (bounded by the window itself on the real clock, in case the PSP's clock is moved).
    async fn wait_past_window(&self, token: &str) -> Result<(), Problem> {
        let started = Instant::now();
        let limit = Duration::from_millis(self.config.verify_window_ms) + Duration::from_secs(1);
        loop {
            let deadline = {
                let st = self.state()?;
                match st.book.tx(token) {
                    Some(tx) if tx.state == TxState::Paid => tx.deadline_ms(st.book.window_ms()),
                    _ => None,
                }
            };
            let Some(deadline) = deadline else {
                return Ok(());
            };
            let left = deadline.saturating_sub(self.clock.now_ms());
            if left < 0 || started.elapsed() > limit {
                return Ok(());
            }
            let step = Duration::from_millis(u64::try_from(left).unwrap_or(0) + 1);
            tokio::time::sleep(step.min(LATE_VERIFY_POLL)).await;
        }
    }

    pub(crate) async fn reverse(&self, req: ReverseRequest) -> Result<ReverseResponse, Problem> {
        self.check_merchant(&req.merchant_id)?;
        self.order_of(&req.merchant_id, &req.token)?;
        let now = self.clock.now_ms();
        let token = req.token;
        self.with_state(|st| {
            let state = st.book.tx(&token).map(|tx| tx.state);
            match state {
                None => Err(Problem::not_found()),
                Some(TxState::Created | TxState::Cancelled) => Err(Problem::conflict(
                    problem::NOT_PAID,
                    "the transaction was not paid",
                )),
                Some(TxState::Verified) => Err(Problem::conflict(
                    problem::ALREADY_VERIFIED,
                    "a verified transaction is refunded, not reversed",
                )),
                Some(TxState::Reversed) => Ok(()),
                Some(TxState::Paid) => record(st, Event::Reversed { at_ms: now, token }),
            }
        })
        .await?;
        Ok(ReverseResponse {
            status: ReverseStatus::Reversed,
        })
    }

    pub(crate) async fn refund(&self, req: RefundRequest) -> Result<RefundResponse, Problem> {
        self.check_merchant(&req.merchant_id)?;
        if req.refund_id < 1 {
            return Err(Problem::invalid(
                problem::INVALID_ID,
                "refund_id must be a positive number",
            ));
        }
        check_amount(req.amount_rials)?;
        self.order_of(&req.merchant_id, &req.token)?;
        let now = self.clock.now_ms();
        let max = self.config.max_transactions;
        self.with_state(|st| {
            if let Some(earlier) = st.book.refund(&req.merchant_id, req.refund_id) {
                if earlier.token == req.token && earlier.amount_rials == req.amount_rials {
                    return Ok(RefundResponse {
                        refund_ref: earlier.refund_ref.clone(),
                    });
                }
                return Err(Problem::conflict(
                    problem::REFUND_CONFLICT,
                    "this refund id was used for another transaction or amount",
                ));
            }
            let tx = st.book.tx(&req.token).ok_or_else(Problem::not_found)?;
            if tx.state != TxState::Verified {
                return Err(Problem::conflict(
                    problem::NOT_VERIFIED,
                    "only a verified transaction can be refunded",
                ));
            }
            if tx.refunded_rials.saturating_add(req.amount_rials) > tx.amount_rials {
                return Err(Problem::conflict(
                    problem::REFUND_EXCEEDS,
                    format!(
                        "{} of {} rials are refunded already",
                        tx.refunded_rials, tx.amount_rials
                    ),
                ));
            }
            if tx.refunds >= MAX_REFUNDS_PER_TX || st.book.refund_count() >= max {
                return Err(Problem::capacity("no more refunds can be held"));
            }
            let mut refund_ref = random_ref()?;
            while st.book.ref_used(&refund_ref) {
                refund_ref = random_ref()?;
            }
            record(
                st,
                Event::Refunded {
                    at_ms: now,
                    token: req.token,
                    refund_id: req.refund_id,
                    amount_rials: req.amount_rials,
                    refund_ref: refund_ref.clone(),
                },
            )?;
            Ok(RefundResponse { refund_ref })
        })
        .await
    }

    pub(crate) async fn settlement(
        &self,
        merchant_id: &str,
        date: JalaliDate,
    ) -> Result<String, Problem> {
        self.check_merchant(merchant_id)?;
        let (from, to) = settlement::tehran_day_ms(date);
        self.with_state(|st| {
            let rows = st.book.settled_between(merchant_id, from, to);
            Ok(settlement::render(date, &rows))
        })
        .await
    }

    /// The clock's work: reverses every paid transaction whose window has passed, and sends
    /// the callbacks `late_callback` held until then.
    pub(crate) async fn sweep(&self) -> Result<(), Problem> {
        let now = self.clock.now_ms();
        let outgoing = self
            .with_state(|st| {
                let mut out = Vec::new();
                for token in st.book.take_due(now) {
                    let Some(tx) = st.book.tx(&token) else {
                        continue;
                    };
                    let (state, held, order_id) = (tx.state, tx.callback_held, tx.order_id);
                    if state == TxState::Paid {
                        tracing::info!(order_id, "not verified in its window: reversed");
                        record(
                            st,
                            Event::Reversed {
                                at_ms: now,
                                token: token.clone(),
                            },
                        )?;
                    }
                    if held {
                        record(
                            st,
                            Event::CallbackReleased {
                                at_ms: now,
                                token: token.clone(),
                            },
                        )?;
                        let fault = self.fault(order_id);
                        if let Some(mut o) = self.outgoing(st, &token, CallbackStatus::Paid, fault)
                        {
                            // Held once already; it arrives once.
                            o.copies = 1;
                            out.push(o);
                        }
                    }
                }
                Ok(out)
            })
            .await?;
        for o in outgoing {
            drop(self.callbacks.send(o.url, &o.callback, o.copies));
        }
        Ok(())
    }
}

fn reversed() -> Problem {
    Problem::conflict(
        problem::REVERSED,
        "the transaction was reversed; the money went back to the card",
    )
}

/// Applies an event to the book and queues it to the journal.
fn record(st: &mut State, ev: Event) -> Result<(), Problem> {
    st.book.apply(&ev).map_err(|why| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("an event did not apply: {why}"),
        )
    })?;
    st.journal.append(&ev)?;
    Ok(())
}
