//! SMS texts for outbox messages, Persian first and English second.
//!
//! Rendering never fails: a missing or malformed payload field leaves its part out, an unknown
//! office or service shows its code, and an unknown kind gets a generic text. Values from the
//! payload are never pasted in raw: tracking codes, tickets and links are parsed or checked
//! first, so a bad payload cannot put arbitrary text into an SMS.
//!
//! # Kinds and the payload fields they read
//!
//! | kind                  | fields                                                          |
//! |-----------------------|-----------------------------------------------------------------|
//! | `booking.confirmed`   | `tracking_code`, `office`, `service`, `slot_start_ms`           |
//! | `booking.cancelled`   | same                                                            |
//! | `booking.rescheduled` | same (`slot_start_ms` is the new slot)                          |
//! | `booking.reminder`    | same                                                            |
//! | `queue.turn_near`     | `office`, `ticket` (such as `B-014`), `ahead` (people before you), `tracking_code` |
//! | `auth.otp`            | `code` (4 to 10 ASCII digits), `expires_at_ms`                  |
//! | `visit.survey`        | `office`, `url` (http or https); `service` when there is no url |
//! | `release.won`         | `service`, `office`, `slot_start_ms`, `tracking_code`           |
//! | `release.waitlisted`  | `service`, `place` (on the waitlist, 1 first)                   |
//! | `release.offer`       | `service`, `office`, `slot_start_ms` (a seat freed for them)    |
//! | `release.unseated`    | `service` (won, but a booking rule refused the booking)         |
//! | `identity.otp`        | `code`, `office` (second factor of an identity check)          |
//! | `identity.locked`     | `office`, `failures` (identity checks locked after failures)   |
//! | `report.received`     | `office`, `report` (the report's number)                        |
//! | `report.triaged`      | `office`, `report`, `decision` (accept, reject or ask_more)     |
//! | `report.answered`     | `office`, `report`                                              |
//!
//! # Length
//!
//! Office and service names are cut to [`MAX_NAME_CHARS`] characters (with `…`) and links to
//! [`MAX_URL_CHARS`], so a Persian text stays within about [`MAX_TEXT_CHARS`] characters:
//! three concatenated UCS-2 SMS parts of 67 characters.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use pishkhan_domain::JalaliDate;
use pishkhan_domain::digits::to_persian_digits;
use pishkhan_domain::model::{Lang, LocalizedText, OfficeCode, ServiceCode};
use pishkhan_domain::outbox::OutboxKind;
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_domain::tehran::to_tehran;
use pishkhan_store::{OutboxMessage, Store, StoreError};

/// Longest office or service name put into a text, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest link put into a survey text, in characters; a longer one is left out.
pub const MAX_URL_CHARS: usize = 100;
/// What a rendered text is kept within, in characters (three UCS-2 SMS parts).
pub const MAX_TEXT_CHARS: usize = 201;
/// Longest queue ticket accepted from a payload, in characters.
const MAX_TICKET_CHARS: usize = 12;

/// The text of one notification in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text_fa: String,
    pub text_en: String,
}

/// Renders messages, looking office and service names up in the store through a small
/// bounded cache.
///
/// The cache holds at most `cache_entries` names of each sort and is never refreshed, so a
/// renamed office shows its old name until the process restarts or the name is evicted.
/// Failed look-ups are not cached; the text then shows the code instead of the name.
pub struct Renderer {
    store: Arc<dyn Store>,
    offices: NameCache<OfficeCode>,
    services: NameCache<String>,
}

impl Renderer {
    /// Names remembered of each sort (offices, services) by [`Renderer::new`].
    pub const DEFAULT_CACHE_ENTRIES: usize = 1024;
    /// Upper bound on `cache_entries`.
    pub const MAX_CACHE_ENTRIES: usize = 100_000;

    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_cache_entries(store, Self::DEFAULT_CACHE_ENTRIES)
    }

    /// A renderer remembering up to `cache_entries` (clamped to `2..=MAX_CACHE_ENTRIES`)
    /// names of each sort.
    pub fn with_cache_entries(store: Arc<dyn Store>, cache_entries: usize) -> Self {
        let cap = cache_entries.clamp(2, Self::MAX_CACHE_ENTRIES);
        Self {
            store,
            offices: NameCache::new(cap),
            services: NameCache::new(cap),
        }
    }

    /// The texts of `msg`. Never fails; see the module documentation.
    pub async fn render(&self, msg: &OutboxMessage) -> Rendered {
        let office = match office_code(&msg.payload) {
            Some(code) => self.office_name(code).await,
            None => None,
        };
        let service = match service_code(&msg.payload) {
            Some(code) => self.service_title(&code).await,
            None => None,
        };
        render_message(msg, office.as_ref(), service.as_ref())
    }

    async fn office_name(&self, code: OfficeCode) -> Option<LocalizedText> {
        if let Some(hit) = self.offices.get(&code) {
            return Some(hit);
        }
        match self.store.office(code).await {
            Ok(office) => {
                self.offices.insert(code, office.name.clone());
                Some(office.name)
            }
            Err(e) => {
                log_lookup_failure("office", &e);
                None
            }
        }
    }

    async fn service_title(&self, code: &ServiceCode) -> Option<LocalizedText> {
        let key = code.as_str().to_string();
        if let Some(hit) = self.services.get(&key) {
            return Some(hit);
        }
        match self.store.service(code).await {
            Ok(service) => {
                self.services.insert(key, service.title.clone());
                Some(service.title)
            }
            Err(e) => {
                log_lookup_failure("service", &e);
                None
            }
        }
    }
}

fn log_lookup_failure(what: &str, e: &StoreError) {
    match e {
        StoreError::NotFound { .. } => {
            tracing::debug!(
                what,
                "notification names an unknown {what}; showing its code"
            )
        }
        other => tracing::warn!(what, error = %other, "name look-up failed; showing the code"),
    }
}

/// Renders `msg` with names already looked up (`None` shows the code from the payload).
pub fn render_message(
    msg: &OutboxMessage,
    office: Option<&LocalizedText>,
    service: Option<&LocalizedText>,
) -> Rendered {
    let p = &msg.payload;
    let office = label(office, p.get("office"));
    let service = label(service, p.get("service"));
    let code = tracking_code(p);
    let when = p
        .get("slot_start_ms")
        .and_then(serde_json::Value::as_i64)
        .and_then(When::at);

    match OutboxKind::parse(&msg.kind) {
        Some(OutboxKind::BookingConfirmed) => booking_text(
            &office,
            &service,
            when.as_ref(),
            code.as_deref(),
            ("ثبت شد", "is booked"),
            false,
        ),
        Some(OutboxKind::BookingCancelled) => booking_text(
            &office,
            &service,
            when.as_ref(),
            code.as_deref(),
            ("لغو شد", "was cancelled"),
            false,
        ),
        Some(OutboxKind::BookingRescheduled) => {
            let fa = format!(
                "نوبت شما برای «{}» در «{}»{} منتقل شد.{}",
                service.fa,
                office.fa,
                when.as_ref()
                    .map(|w| format!(" به روز {} ساعت {}", w.date_fa, w.time_fa))
                    .unwrap_or_default(),
                code_fa(code.as_deref()),
            );
            let en = format!(
                "Your appointment for \"{}\" at \"{}\" was moved{}.{}",
                service.en,
                office.en,
                when.as_ref()
                    .map(|w| format!(" to {} at {}", w.date_en, w.time_en))
                    .unwrap_or_default(),
                code_en(code.as_deref()),
            );
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::BookingReminder) => booking_text(
            &office,
            &service,
            when.as_ref(),
            code.as_deref(),
            ("است", "is"),
            true,
        ),
        Some(OutboxKind::QueueTurnNear) => {
            let ticket = ticket(p);
            let ahead = p
                .get("ahead")
                .and_then(serde_json::Value::as_u64)
                .map(|n| n.min(999));
            let fa = format!(
                "نوبت شما{} در «{}» نزدیک است{}. لطفاً در سالن حاضر باشید.",
                ticket
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default(),
                office.fa,
                ahead
                    .map(|n| format!("؛ {} نفر جلوتر از شما", to_persian_digits(&n.to_string())))
                    .unwrap_or_default(),
            );
            let en = format!(
                "Your turn{} at \"{}\" is near{}. Please be in the hall.",
                ticket
                    .as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default(),
                office.en,
                ahead
                    .map(|n| format!(": {n} ahead of you"))
                    .unwrap_or_default(),
            );
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::VisitSurvey) => {
            let url = survey_url(p);
            let fa = format!(
                "از مراجعه شما به «{}» سپاسگزاریم.{}",
                office.fa,
                match &url {
                    Some(u) => format!(" نظرسنجی: {u}"),
                    None => format!(" نظرتان درباره «{}» برای ما مهم است.", service.fa),
                }
            );
            let en = format!(
                "Thank you for visiting \"{}\".{}",
                office.en,
                match &url {
                    Some(u) => format!(" Survey: {u}"),
                    None => format!(" We value your view of \"{}\".", service.en),
                }
            );
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::AuthOtp) => {
            let Some(otp) = otp_code(p) else {
                return Rendered {
                    text_fa: "درخواست کد ورود به پیشخوان دولت دریافت شد.".into(),
                    text_en: "A Pishkhan sign-in code was requested.".into(),
                };
            };
            let minutes = p
                .get("expires_at_ms")
                .and_then(serde_json::Value::as_i64)
                .map(|exp| exp.saturating_sub(msg.created_at_ms))
                .filter(|ms| *ms > 0)
                .map(|ms| (ms.saturating_add(59_999) / 60_000).min(99));
            // The code stays in ASCII digits in both texts, for phones that fill it in.
            let fa = format!(
                "کد ورود شما به پیشخوان دولت: {otp}{} آن را به کسی ندهید.",
                minutes
                    .map(|m| format!(
                        " (تا {} دقیقه معتبر است).",
                        to_persian_digits(&m.to_string())
                    ))
                    .unwrap_or_else(|| ".".into()),
            );
            let en = format!(
                "Your Pishkhan sign-in code: {otp}.{} Do not share it.",
                minutes
                    .map(|m| format!(" Valid for {m} min."))
                    .unwrap_or_default(),
            );
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::ReleaseWon) => {
            let fa = format!(
                "در قرعه‌کشی «{}» برنده شدید: نوبت شما در «{}»{} است.{}",
                service.fa,
                office.fa,
                when.as_ref()
                    .map(|w| format!(" روز {} ساعت {}", w.date_fa, w.time_fa))
                    .unwrap_or_default(),
                code_fa(code.as_deref()),
            );
            let en = format!(
                "You won the draw for \"{}\": your appointment at \"{}\" is{}.{}",
                service.en,
                office.en,
                when.as_ref()
                    .map(|w| format!(" on {} at {}", w.date_en, w.time_en))
                    .unwrap_or_else(|| " booked".into()),
                code_en(code.as_deref()),
            );
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::ReleaseWaitlisted) => {
            let place = p
                .get("place")
                .and_then(serde_json::Value::as_u64)
                .filter(|n| (1..=99_999_999).contains(n));
            let fa = format!(
                "در قرعه‌کشی «{}» در فهرست انتظار هستید{}. اگر نوبتی آزاد شود خبرتان می‌کنیم.",
                service.fa,
                place
                    .map(|n| format!("، جایگاه {}", to_persian_digits(&n.to_string())))
                    .unwrap_or_default(),
            );
            let en = format!(
                "You are on the waitlist for \"{}\"{}. We will tell you if a slot frees up.",
                service.en,
                place.map(|n| format!(" at place {n}")).unwrap_or_default(),
            );
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::ReleaseOffer) => {
            let fa = format!(
                "یک نوبت «{}» در «{}»{} برای شما آزاد شد؛ تا پر نشده آن را رزرو کنید.",
                service.fa,
                office.fa,
                when.as_ref()
                    .map(|w| format!(" روز {} ساعت {}", w.date_fa, w.time_fa))
                    .unwrap_or_default(),
            );
            let en = format!(
                "A slot for \"{}\" at \"{}\"{} has freed up for you. Book it before it is taken.",
                service.en,
                office.en,
                when.as_ref()
                    .map(|w| format!(" on {} at {}", w.date_en, w.time_en))
                    .unwrap_or_default(),
            );
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::TariffsPublished) => {
            let year = p
                .get("fiscal_year")
                .and_then(serde_json::Value::as_i64)
                .filter(|y| (1300..=1600).contains(y));
            let from = p
                .get("effective_from")
                .and_then(serde_json::Value::as_str)
                .and_then(|d| pishkhan_domain::JalaliDate::parse(d).ok());
            let year_fa = year
                .map(|y| to_persian_digits(&y.to_string()))
                .unwrap_or_default();
            let year_en = year.map(|y| y.to_string()).unwrap_or_default();
            let from_fa = from
                .map(|d| {
                    format!(
                        " و از {} اجرا می‌شود",
                        d.format_long(pishkhan_domain::model::Lang::Fa)
                    )
                })
                .unwrap_or_default();
            let from_en = from
                .map(|d| {
                    format!(
                        " and apply from {}",
                        d.format_long(pishkhan_domain::model::Lang::En)
                    )
                })
                .unwrap_or_default();
            Rendered {
                text_fa: format!(
                    "تعرفه‌های خدمات سال {year_fa} منتشر شد{from_fa}. مبالغ را در پیشخوان ببینید."
                ),
                text_en: format!(
                    "The service fees for {year_en} were published{from_en}. See the amounts in Pishkhan."
                ),
            }
        }
        Some(
            kind @ (OutboxKind::ReportReceived
            | OutboxKind::ReportTriaged
            | OutboxKind::ReportAnswered),
        ) => {
            let number = p
                .get("report")
                .and_then(serde_json::Value::as_i64)
                .filter(|n| (1..=999_999_999_999).contains(n));
            let no_fa = number
                .map(|n| format!(" شماره {}", to_persian_digits(&n.to_string())))
                .unwrap_or_default();
            let no_en = number.map(|n| format!(" number {n}")).unwrap_or_default();
            let decision = p.get("decision").and_then(serde_json::Value::as_str);
            let (fa, en) = match (kind, decision) {
                (OutboxKind::ReportReceived, _) => (
                    format!(
                        "گزارش{no_fa} شما درباره «{}» ثبت شد. وضعیت آن را در پیشخوان دنبال کنید.",
                        office.fa
                    ),
                    format!(
                        "Your report{no_en} about \"{}\" was received. Follow it in Pishkhan.",
                        office.en
                    ),
                ),
                (OutboxKind::ReportTriaged, Some("accept")) => (
                    format!(
                        "گزارش{no_fa} شما درباره «{}» پذیرفته شد و دفتر باید به آن پاسخ دهد.",
                        office.fa
                    ),
                    format!(
                        "Your report{no_en} about \"{}\" was accepted; the office must answer it.",
                        office.en
                    ),
                ),
                (OutboxKind::ReportTriaged, Some("ask_more")) => (
                    format!(
                        "برای گزارش{no_fa} شما درباره «{}» توضیح بیشتری خواسته شد؛ آن را در پیشخوان کامل کنید.",
                        office.fa
                    ),
                    format!(
                        "More is asked about your report{no_en} on \"{}\"; add it in Pishkhan.",
                        office.en
                    ),
                ),
                (OutboxKind::ReportTriaged, _) => (
                    format!(
                        "گزارش{no_fa} شما درباره «{}» بررسی شد و پذیرفته نشد. دلیل را در پیشخوان ببینید.",
                        office.fa
                    ),
                    format!(
                        "Your report{no_en} about \"{}\" was reviewed and not accepted. See why in Pishkhan.",
                        office.en
                    ),
                ),
                _ => (
                    format!(
                        "«{}» به گزارش{no_fa} شما پاسخ داد. پاسخ را در پیشخوان ببینید.",
                        office.fa
                    ),
                    format!(
                        "\"{}\" answered your report{no_en}. See the answer in Pishkhan.",
                        office.en
                    ),
                ),
            };
            Rendered {
                text_fa: fa,
                text_en: en,
            }
        }
        Some(OutboxKind::ReleaseUnseated) => Rendered {
            text_fa: format!(
                "در قرعه‌کشی «{}» برنده شدید، اما چون نوبت فعال دیگری دارید نوبتی برایتان ثبت نشد.",
                service.fa
            ),
            text_en: format!(
                "You won the draw for \"{}\", but no appointment was made: you already hold one.",
                service.en
            ),
        },
        Some(OutboxKind::IdentityOtp) => match otp_code(p) {
            // The code stays in ASCII digits, for phones that fill it in.
            Some(otp) => Rendered {
                text_fa: format!(
                    "کد تأیید هویت شما در «{}»: {otp} — آن را فقط به کارمند همان دفتر بگویید.",
                    office.fa
                ),
                text_en: format!(
                    "Your identity check code at \"{}\": {otp}. Tell it only to the clerk at that office.",
                    office.en
                ),
            },
            None => Rendered {
                text_fa: "درخواست تأیید هویت شما در پیشخوان دولت ثبت شد.".into(),
                text_en: "An identity check of yours was started at a Pishkhan office.".into(),
            },
        },
        Some(OutboxKind::IdentityLocked) => Rendered {
            text_fa: format!(
                "چند تلاش ناموفق برای احراز هویت با کد ملی شما در «{}» ثبت شد و احراز هویت شما موقتاً قفل شد. اگر این شما نبودید، به دفتر پیشخوان یا ثبت احوال مراجعه کنید.",
                office.fa
            ),
            text_en: format!(
                "Several failed identity checks with your national code were made at \"{}\"; checks are locked for now. If this was not you, contact a Pishkhan office or the civil registry.",
                office.en
            ),
        },
        Some(OutboxKind::OfficeSuspended) => {
            let (alt_fa, alt_en) = alternatives(p);
            let (at_fa, at_en) = when
                .as_ref()
                .map(|w| {
                    (
                        format!(" ({} ساعت {})", w.date_fa, w.time_fa),
                        format!(" ({} at {})", w.date_en, w.time_en),
                    )
                })
                .unwrap_or_default();
            Rendered {
                text_fa: format!(
                    "دسترسی دفتر «{}» به شبکه موقتاً قطع شده است و نوبت «{}»{at_fa} شما ممکن است انجام نشود.{alt_fa}{}",
                    office.fa,
                    service.fa,
                    code_fa(code.as_deref())
                ),
                text_en: format!(
                    "Office \"{}\" has been suspended from the network; your \"{}\" appointment{at_en} may not be served.{alt_en}{}",
                    office.en,
                    service.en,
                    code_en(code.as_deref())
                ),
            }
        }
        Some(OutboxKind::ComplianceNotice) => {
            let step = p
                .get("step")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let (fa, en) = match step {
                "warning" => (
                    "به دفتر شما به سبب رعایت نکردن نوبت‌دهی اخطار داده شد.",
                    "Your office has been warned for not serving by appointment.",
                ),
                "suspension" => (
                    "دسترسی دفتر شما به شبکه تعلیق شد. برای بازگشت، ساعات کار و باجه‌ها را تنظیم کنید، نوبت‌های روزهای آینده را منتشر کنید و درخواست رفع تعلیق بدهید.",
                    "Your office has been suspended from the network. To return, set hours and counters, publish slots for the coming days and request reinstatement.",
                ),
                "reinstatement" => (
                    "دسترسی دفتر شما به شبکه برقرار شد.",
                    "Your office has been reinstated on the network.",
                ),
                "request_received" => (
                    "درخواست دفتر شما به ناظر رسید و پس از بررسی پاسخ داده می‌شود.",
                    "Your office's request reached the regulator and will be answered.",
                ),
                "request_approved" => (
                    "ناظر درخواست دفتر شما را پذیرفت.",
                    "The regulator approved your office's request.",
                ),
                "request_refused" => (
                    "ناظر درخواست دفتر شما را نپذیرفت. پاسخ را در پیشخوان ببینید.",
                    "The regulator refused your office's request. See the reply in Pishkhan.",
                ),
                _ => (
                    "پیام تازه‌ای درباره‌ی نظارت بر دفتر شما در پیشخوان هست.",
                    "There is news about your office's compliance in Pishkhan.",
                ),
            };
            Rendered {
                text_fa: format!("«{}»: {fa}", office.fa),
                text_en: format!("\"{}\": {en}", office.en),
            }
        }
        // A kind this version does not know (a newer writer): a generic text.
        None => Rendered {
            text_fa: format!(
                "پیام تازه‌ای از پیشخوان دولت دارید.{}",
                code_fa(code.as_deref())
            ),
            text_en: format!(
                "You have a new message from Pishkhan.{}",
                code_en(code.as_deref())
            ),
        },
    }
}

fn booking_text(
    office: &LocalizedText,
    service: &LocalizedText,
    when: Option<&When>,
    code: Option<&str>,
    (verb_fa, verb_en): (&str, &str),
    reminder: bool,
) -> Rendered {
    let (pre_fa, pre_en) = if reminder {
        ("یادآوری: ", "Reminder: your")
    } else {
        ("", "Your")
    };
    let fa = format!(
        "{pre_fa}نوبت شما برای «{}» در «{}»{} {verb_fa}.{}",
        service.fa,
        office.fa,
        when.map(|w| format!(" روز {} ساعت {}", w.date_fa, w.time_fa))
            .unwrap_or_default(),
        code_fa(code),
    );
    let en = format!(
        "{pre_en} appointment for \"{}\" at \"{}\"{} {verb_en}.{}",
        service.en,
        office.en,
        when.map(|w| format!(" on {} at {}", w.date_en, w.time_en))
            .unwrap_or_default(),
        code_en(code),
    );
    Rendered {
        text_fa: fa,
        text_en: en,
    }
}

fn code_fa(code: Option<&str>) -> String {
    code.map(|c| format!(" کد پیگیری: {c}")).unwrap_or_default()
}

fn code_en(code: Option<&str>) -> String {
    code.map(|c| format!(" Tracking code: {c}"))
        .unwrap_or_default()
}

/// A slot start as people read it in Tehran.
struct When {
    date_fa: String,
    time_fa: String,
    date_en: String,
    time_en: String,
}

impl When {
    fn at(ms: i64) -> Option<Self> {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
        let local = to_tehran(t);
        let date = JalaliDate::from_gregorian(local.date());
        let clock = format!("{:02}:{:02}", local.hour(), local.minute());
        Some(Self {
            date_fa: date.format_long(Lang::Fa),
            time_fa: to_persian_digits(&clock),
            date_en: date.format_long(Lang::En),
            time_en: clock,
        })
    }
}

/// The nearby offices a suspension notice offers, at most three, in both languages.
fn alternatives(p: &serde_json::Value) -> (String, String) {
    let names: Vec<(String, String)> = p
        .get("alternatives")
        .and_then(serde_json::Value::as_array)
        .map(|list| {
            list.iter()
                .take(3)
                .filter_map(|a| {
                    let fa = a.get("name_fa")?.as_str()?;
                    let en = a.get("name_en")?.as_str()?;
                    Some((shorten(fa), shorten(en)))
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return (String::new(), String::new());
    }
    let fa: Vec<&str> = names.iter().map(|n| n.0.as_str()).collect();
    let en: Vec<&str> = names.iter().map(|n| n.1.as_str()).collect();
    (
        format!(" دفترهای نزدیک با نوبت خالی: {}.", fa.join("، ")),
        format!(" Nearby offices with free slots: {}.", en.join(", ")),
    )
}

fn office_code(p: &serde_json::Value) -> Option<OfficeCode> {
    OfficeCode::parse(p.get("office")?.as_str()?).ok()
}

fn service_code(p: &serde_json::Value) -> Option<ServiceCode> {
    ServiceCode::parse(p.get("service")?.as_str()?).ok()
}

fn tracking_code(p: &serde_json::Value) -> Option<String> {
    let raw = p.get("tracking_code")?.as_str()?;
    TrackingCode::parse(raw).ok().map(|c| c.to_string())
}

fn otp_code(p: &serde_json::Value) -> Option<String> {
    let raw = p.get("code")?.as_str()?;
    ((4..=10).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.to_string())
}

fn ticket(p: &serde_json::Value) -> Option<String> {
    let raw = p.get("ticket")?.as_str()?.trim();
    let ok = !raw.is_empty()
        && raw.chars().count() <= MAX_TICKET_CHARS
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then(|| raw.to_string())
}

fn survey_url(p: &serde_json::Value) -> Option<String> {
    let raw = p.get("url")?.as_str()?.trim();
    let ok = (raw.starts_with("https://") || raw.starts_with("http://"))
        && raw.chars().count() <= MAX_URL_CHARS
        && raw.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| raw.to_string())
}

/// The name to show: the looked-up one cut to length, else the code from the payload, else a
/// neutral word.
fn label(name: Option<&LocalizedText>, code: Option<&serde_json::Value>) -> LocalizedText {
    if let Some(n) = name {
        return LocalizedText::new(shorten(&n.fa), shorten(&n.en));
    }
    let code = code
        .and_then(serde_json::Value::as_str)
        .map(|s| {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(16)
                .collect::<String>()
        })
        .filter(|s| !s.is_empty());
    match code {
        Some(c) => LocalizedText::new(c.clone(), c),
        None => LocalizedText::new("—", "—"),
    }
}

/// One line, whitespace collapsed, at most [`MAX_NAME_CHARS`] characters; a longer name is
/// cut at a word boundary when one is near and ends with `…`.
fn shorten(s: &str) -> String {
    let clean: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if clean.chars().count() <= MAX_NAME_CHARS {
        return clean;
    }
    let chars: Vec<char> = clean.chars().collect();
    let limit = MAX_NAME_CHARS - 1;
    let cut = if chars[limit] == ' ' {
        limit
    } else {
        match chars[..limit].iter().rposition(|c| *c == ' ') {
            Some(i) if i >= MAX_NAME_CHARS / 2 => i,
            _ => limit,
        }
    };
    let cut: String = chars[..cut].iter().collect();
    format!("{}…", cut.trim_end())
}

/// A bounded map in two generations: new entries go to the young map; when it is full, it
/// becomes the old map and the previous old map is dropped. A hit in the old map moves the
/// entry back to the young one. Holds at most `cap` entries; recently used ones survive.
struct NameCache<K> {
    inner: Mutex<Generations<K>>,
    half: usize,
}

struct Generations<K> {
    young: HashMap<K, LocalizedText>,
    old: HashMap<K, LocalizedText>,
}

impl<K: Eq + Hash + Clone> NameCache<K> {
    fn new(cap: usize) -> Self {
        Self {
            inner: Mutex::new(Generations {
                young: HashMap::new(),
                old: HashMap::new(),
            }),
            half: (cap / 2).max(1),
        }
    }

    fn get(&self, key: &K) -> Option<LocalizedText> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let v = g.old.remove(key)?;
        Self::put(&mut g, self.half, key.clone(), v.clone());
        Some(v)
    }

    fn insert(&self, key: K, value: LocalizedText) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Self::put(&mut g, self.half, key, value);
    }

    fn put(g: &mut Generations<K>, half: usize, key: K, value: LocalizedText) {
        if g.young.len() >= half && !g.young.contains_key(&key) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, value);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.young.len() + g.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: &str, payload: serde_json::Value) -> OutboxMessage {
        OutboxMessage {
            id: 1,
            kind: kind.into(),
            recipient: "09120000001".into(),
            dedupe_key: format!("{kind}:X"),
            payload,
            status: "pending".into(),
            attempts: 0,
            created_at_ms: 0,
            sent_at_ms: None,
            last_error: None,
        }
    }

    /// 8 Azar 1405 (29 November 2026), 07:30 in Tehran = 04:00 UTC.
    fn azar_8_0730() -> i64 {
        time::macros::datetime!(2026-11-29 04:00 UTC).unix_timestamp() * 1000
    }

    fn booking_payload() -> serde_json::Value {
        serde_json::json!({
            "tracking_code": "ABCD-EFGH",
            "office": "10000001",
            "service": "PSP-001",
            "slot_start_ms": azar_8_0730(),
            "slot_end_ms": azar_8_0730() + 1_800_000,
        })
    }

    fn names() -> (LocalizedText, LocalizedText) {
        (
            LocalizedText::new("دفتر پیشخوان دولت ۱ تهران", "Pishkhan Office 1 Tehran"),
            LocalizedText::new(
                "صدور گذرنامه عادی (نخستین بار)",
                "Ordinary passport: first issue",
            ),
        )
    }

    #[test]
    fn a_confirmation_reads_naturally_in_both_languages() {
        let (office, service) = names();
        let r = render_message(
            &msg("booking.confirmed", booking_payload()),
            Some(&office),
            Some(&service),
        );
        assert_eq!(
            r.text_fa,
            "نوبت شما برای «صدور گذرنامه عادی (نخستین بار)» در «دفتر پیشخوان دولت ۱ تهران» \
             روز ۸ آذر ۱۴۰۵ ساعت ۰۷:۳۰ ثبت شد. کد پیگیری: ABCD-EFGH"
        );
        assert_eq!(
            r.text_en,
            "Your appointment for \"Ordinary passport: first issue\" at \"Pishkhan Office 1 \
             Tehran\" on 8 Azar 1405 at 07:30 is booked. Tracking code: ABCD-EFGH"
        );
    }

    #[test]
    fn every_kind_has_a_short_text_and_bad_payloads_never_panic() {
        let (office, service) = names();
        let long = LocalizedText::new("ن".repeat(500), "n".repeat(500));
        let payloads = [
            booking_payload(),
            serde_json::json!({
                "office": "10000001", "ticket": "B-014", "ahead": 3,
                "url": format!("https://survey.example/{}", "a".repeat(77)),
                "tracking_code": "abcd efgh", "code": "123456", "expires_at_ms": 120_000,
            }),
            serde_json::json!({}),
            serde_json::json!(null),
            serde_json::json!({"office": 12, "slot_start_ms": i64::MAX, "ticket": "<b>\n",
                               "url": "javascript:alert(1)", "tracking_code": "نه"}),
        ];
        for kind in [
            "booking.confirmed",
            "booking.cancelled",
            "booking.rescheduled",
            "booking.reminder",
            "queue.turn_near",
            "visit.survey",
            "auth.otp",
            "release.won",
            "release.waitlisted",
            "release.offer",
            "release.unseated",
            "something.new",
            "",
        ] {
            for p in &payloads {
                for (o, s) in [
                    (Some(&office), Some(&service)),
                    (Some(&long), Some(&long)),
                    (None, None),
                ] {
                    let r = render_message(&msg(kind, p.clone()), o, s);
                    for t in [&r.text_fa, &r.text_en] {
                        assert!(!t.is_empty());
                        assert!(t.chars().count() <= MAX_TEXT_CHARS, "{kind}: {t}");
                        assert!(!t.contains('<') && !t.contains('\n'), "{t}");
                    }
                }
            }
        }
    }

    #[test]
    fn release_notices_read_naturally_in_both_languages() {
        let (office, service) = names();
        let mut won = booking_payload();
        won["release"] = serde_json::json!("rel-1");
        let r = render_message(&msg("release.won", won), Some(&office), Some(&service));
        assert_eq!(
            r.text_fa,
            "در قرعه‌کشی «صدور گذرنامه عادی (نخستین بار)» برنده شدید: نوبت شما در \
             «دفتر پیشخوان دولت ۱ تهران» روز ۸ آذر ۱۴۰۵ ساعت ۰۷:۳۰ است. کد پیگیری: ABCD-EFGH"
        );
        assert_eq!(
            r.text_en,
            "You won the draw for \"Ordinary passport: first issue\": your appointment at \
             \"Pishkhan Office 1 Tehran\" is on 8 Azar 1405 at 07:30. Tracking code: ABCD-EFGH"
        );
        let r = render_message(
            &msg(
                "release.waitlisted",
                serde_json::json!({"service": "PSP-001", "place": 12}),
            ),
            None,
            Some(&service),
        );
        assert!(r.text_fa.contains("جایگاه ۱۲"), "{}", r.text_fa);
        assert!(r.text_en.contains("at place 12"), "{}", r.text_en);
        let r = render_message(
            &msg("release.offer", booking_payload()),
            Some(&office),
            Some(&service),
        );
        assert!(
            r.text_fa.contains("آزاد شد") && r.text_fa.contains("۰۷:۳۰"),
            "{}",
            r.text_fa
        );
        assert!(
            r.text_en.contains("freed up") && r.text_en.contains("07:30"),
            "{}",
            r.text_en
        );
        let r = render_message(
            &msg(
                "release.unseated",
                serde_json::json!({"service": "PSP-001"}),
            ),
            None,
            None,
        );
        assert!(r.text_fa.contains("«PSP-001»") && r.text_en.contains("\"PSP-001\""));
    }

    #[test]
    fn other_kinds() {
        let (office, service) = names();
        let r = render_message(
            &msg("booking.cancelled", booking_payload()),
            Some(&office),
            Some(&service),
        );
        assert!(r.text_fa.contains("لغو شد") && r.text_en.contains("cancelled"));
        let r = render_message(
            &msg("booking.reminder", booking_payload()),
            Some(&office),
            Some(&service),
        );
        assert!(r.text_fa.starts_with("یادآوری:") && r.text_en.starts_with("Reminder:"));
        let r = render_message(
            &msg(
                "queue.turn_near",
                serde_json::json!({"office": "10000001", "ticket": "B-014", "ahead": 3}),
            ),
            Some(&office),
            None,
        );
        assert_eq!(
            r.text_fa,
            "نوبت شما (B-014) در «دفتر پیشخوان دولت ۱ تهران» نزدیک است؛ ۳ نفر جلوتر از شما. \
             لطفاً در سالن حاضر باشید."
        );
        let r = render_message(
            &msg(
                "visit.survey",
                serde_json::json!({"office": "10000001", "service": "PSP-001",
                                   "url": "https://s.example/r/K7M2"}),
            ),
            Some(&office),
            Some(&service),
        );
        assert_eq!(
            r.text_fa,
            "از مراجعه شما به «دفتر پیشخوان دولت ۱ تهران» سپاسگزاریم. نظرسنجی: https://s.example/r/K7M2"
        );
        let r = render_message(
            &msg(
                "auth.otp",
                serde_json::json!({"code": "012345", "expires_at_ms": 120_000}),
            ),
            None,
            None,
        );
        assert_eq!(
            r.text_fa,
            "کد ورود شما به پیشخوان دولت: 012345 (تا ۲ دقیقه معتبر است). آن را به کسی ندهید."
        );
        assert_eq!(
            r.text_en,
            "Your Pishkhan sign-in code: 012345. Valid for 2 min. Do not share it."
        );
        let r = render_message(&msg("x.y", booking_payload()), None, None);
        assert!(r.text_fa.contains("ABCD-EFGH") && r.text_en.contains("Pishkhan"));
        // Without names, the codes from the payload stand in.
        let r = render_message(&msg("booking.confirmed", booking_payload()), None, None);
        assert!(
            r.text_fa.contains("«PSP-001» در «10000001»"),
            "{}",
            r.text_fa
        );
    }

    #[test]
    fn long_names_are_cut_at_a_word() {
        let s = shorten("Birth certificate (shenasnameh): replacement of an old booklet");
        assert_eq!(s, "Birth certificate…");
        let s = shorten("Birth certificate (shenasnameh) replacement");
        assert_eq!(s, "Birth certificate (shenasnameh)…");
        assert!(s.chars().count() <= MAX_NAME_CHARS);
        assert_eq!(shorten("  a\n b  "), "a b");
    }

    #[test]
    fn the_name_cache_is_bounded_and_keeps_recent_entries() {
        let cache = NameCache::new(4);
        let t = LocalizedText::new("ن", "n");
        for i in 0..100u32 {
            cache.insert(i, t.clone());
            // Entry 0 is used all the time, so it survives.
            assert!(cache.get(&0).is_some(), "{i}");
            assert!(cache.len() <= 4);
        }
        assert!(cache.get(&1).is_none());
        assert!(cache.get(&99).is_some());
    }
}
