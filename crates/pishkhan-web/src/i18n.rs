//! UI strings in Persian and English, with Persian digits and Jalali dates for Persian pages.
//!
//! A missing key renders as `⟦key⟧`, which page tests look for, so an untranslated string
//! cannot slip through unnoticed.

use std::borrow::Borrow;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::digits::localize_digits;
use pishkhan_domain::model::{Lang, LocalizedText};

/// (key, Persian, English).
const MESSAGES: &[(&str, &str, &str)] = &[
    ("app_name", "پیشخوان", "Pishkhan"),
    (
        "app_tagline",
        "سامانه ملی دفاتر پیشخوان دولت",
        "National platform of government service counters",
    ),
    ("nav_dashboard", "پیشخوان ملی", "Dashboard"),
    ("nav_offices", "دفاتر", "Offices"),
    ("nav_services", "خدمات", "Services"),
    ("nav_audit", "رویدادنگاری", "Audit log"),
    ("nav_invite", "دعوت کارمند", "Invite staff"),
    ("lang_other", "English", "فارسی"),
    ("logout", "خروج", "Sign out"),
    ("login", "ورود", "Sign in"),
    ("login_title", "ورود کارکنان", "Staff sign-in"),
    ("username", "نام کاربری", "Username"),
    ("password", "گذرواژه", "Password"),
    ("password_again", "تکرار گذرواژه", "Password again"),
    (
        "login_failed",
        "نام کاربری یا گذرواژه نادرست است.",
        "Wrong username or password.",
    ),
    (
        "login_rate_limited",
        "تلاش‌های ناموفق برای این نام کاربری زیاد بود. {wait} دیگر دوباره تلاش کنید.",
        "Too many failed attempts for this username. Try again in {wait}.",
    ),
    (
        "login_rate_limited_address",
        "تلاش‌های ناموفق از شبکه شما زیاد بود. {wait} دیگر دوباره تلاش کنید.",
        "Too many failed sign-ins from your network. Try again in {wait}.",
    ),
    ("wait_seconds", "ثانیه", "seconds"),
    ("wait_minutes", "دقیقه", "minutes"),
    (
        "session_expired",
        "نشست شما منقضی شده است. دوباره وارد شوید.",
        "Your session has ended. Please sign in again.",
    ),
    (
        "demo_hint",
        "حساب‌های نمایشی: regulator، manager و operator با گذرواژه demo1234",
        "Demo accounts: regulator, manager and operator, password demo1234",
    ),
    ("today", "امروز", "Today"),
    ("signed_in_as", "وارد شده با", "Signed in as"),
    ("dashboard_title", "نمای کلی شبکه", "Network overview"),
    (
        "dashboard_subtitle",
        "دفاتر، خدمات و کارکنان در سراسر کشور",
        "Offices, services and staff across the country",
    ),
    ("offices_total", "دفتر پیشخوان", "counter offices"),
    (
        "services_total",
        "خدمت در فهرست",
        "services in the catalogue",
    ),
    (
        "services_networked",
        "خدمت شبکه‌ای شده",
        "services networked",
    ),
    ("agencies_total", "دستگاه اجرایی", "agencies"),
    ("staff_total", "کارمند", "staff"),
    ("offices_active", "دفتر فعال", "active offices"),
    ("offices_by_status", "وضعیت دفاتر", "Offices by status"),
    (
        "services_by_digitization",
        "وضعیت شبکه‌ای شدن خدمات",
        "Services by digitization",
    ),
    ("provinces", "استان‌ها", "Provinces"),
    ("province", "استان", "Province"),
    ("capital", "مرکز", "Capital"),
    ("population", "جمعیت", "Population"),
    ("offices", "دفاتر", "Offices"),
    ("offices_title", "دفاتر پیشخوان", "Counter offices"),
    (
        "offices_subtitle",
        "جست‌وجو در دفاتر بر پایه نام، شهر، نشانی یا کد",
        "Search offices by name, city, address or code",
    ),
    ("search", "جست‌وجو", "Search"),
    (
        "search_placeholder",
        "نام، شهر یا کد…",
        "Name, city or code…",
    ),
    ("all", "همه", "All"),
    ("status", "وضعیت", "Status"),
    ("code", "کد", "Code"),
    ("name", "نام", "Name"),
    ("city", "شهر", "City"),
    ("address", "نشانی", "Address"),
    ("postal_code", "کد پستی", "Postal code"),
    ("phone", "تلفن", "Phone"),
    ("coordinates", "مختصات", "Coordinates"),
    ("licence_no", "شماره مجوز", "Licence number"),
    ("licence_issued", "تاریخ صدور مجوز", "Licence issued"),
    ("counters", "باجه‌ها", "Counters"),
    ("hours", "ساعات کاری", "Opening hours"),
    ("closed", "تعطیل", "Closed"),
    ("weekday", "روز", "Day"),
    ("staff", "کارکنان", "Staff"),
    ("role", "نقش", "Role"),
    ("mobile", "تلفن همراه", "Mobile"),
    ("national_code", "کد ملی", "National code"),
    ("first_name", "نام", "First name"),
    ("last_name", "نام خانوادگی", "Last name"),
    ("account", "حساب", "Account"),
    ("staff_invited", "در انتظار فعال‌سازی", "Awaiting activation"),
    ("staff_active", "فعال", "Active"),
    ("staff_disabled", "غیرفعال", "Disabled"),
    ("nothing_found", "چیزی یافت نشد.", "Nothing found."),
    ("results", "نتیجه", "results"),
    ("page", "صفحه", "Page"),
    ("of", "از", "of"),
    ("previous", "قبلی", "Previous"),
    ("next", "بعدی", "Next"),
    ("services_title", "فهرست خدمات", "Service catalogue"),
    (
        "services_subtitle",
        "خدمات دستگاه‌های اجرایی که در دفاتر پیشخوان ارائه می‌شود",
        "Agency services offered at the counters",
    ),
    ("agency", "دستگاه", "Agency"),
    ("category", "گروه", "Category"),
    ("channel", "شیوه ارائه", "Channel"),
    ("digitization", "شبکه‌ای شدن", "Digitization"),
    (
        "avg_minutes",
        "میانگین زمان (دقیقه)",
        "Average time (minutes)",
    ),
    ("minutes", "دقیقه", "minutes"),
    ("fee", "هزینه", "Fee"),
    ("fee_total", "جمع", "Total"),
    (
        "fee_none",
        "تعرفه‌ای برای امروز ثبت نشده است",
        "No tariff is in force today",
    ),
    ("fee_from", "تعرفه از", "Tariff from"),
    ("title", "عنوان", "Title"),
    ("required_documents", "مدارک لازم", "Required documents"),
    ("required_inquiries", "استعلام‌های لازم", "Required inquiries"),
    ("none", "ندارد", "None"),
    ("audit_title", "رویدادنگاری", "Audit log"),
    (
        "audit_subtitle",
        "همه تغییرات، با انجام‌دهنده، زمان و نشانی",
        "Every change: who, what, when and from where",
    ),
    ("time", "زمان", "Time"),
    ("actor", "انجام‌دهنده", "Actor"),
    ("action", "کنش", "Action"),
    ("target", "موضوع", "Target"),
    ("ip", "نشانی IP", "IP address"),
    ("request_id", "شناسه درخواست", "Request id"),
    ("filter", "پالایش", "Filter"),
    (
        "invite_title",
        "دعوت کارمند تازه",
        "Invite a new member of staff",
    ),
    (
        "invite_subtitle",
        "کارمند با پیوند یک‌بارمصرف، گذرواژه خود را می‌گذارد.",
        "The new member sets their own password through a one-time link.",
    ),
    ("invite_submit", "ساخت دعوت‌نامه", "Create invitation"),
    (
        "invite_created",
        "دعوت‌نامه ساخته شد. این پیوند را به کارمند بدهید:",
        "Invitation created. Give this link to the new member:",
    ),
    ("invite_expires", "اعتبار پیوند تا", "Link valid until"),
    ("office_code", "کد دفتر", "Office code"),
    ("role_regulator", "ناظر ملی", "Regulator"),
    ("role_manager", "مدیر دفتر", "Office manager"),
    ("role_operator", "کارور", "Operator"),
    ("accept_title", "فعال‌سازی حساب", "Activate your account"),
    (
        "accept_intro",
        "برای فعال‌سازی حساب، گذرواژه‌ای دست‌کم ۸ نویسه‌ای برگزینید.",
        "Choose a password of at least 8 characters to activate your account.",
    ),
    ("accept_submit", "ثبت گذرواژه", "Set password"),
    (
        "accept_done",
        "حساب شما فعال شد. اکنون می‌توانید وارد شوید.",
        "Your account is active. You can sign in now.",
    ),
    (
        "passwords_differ",
        "دو گذرواژه یکسان نیستند.",
        "The two passwords differ.",
    ),
    (
        "invitation_dead",
        "این پیوند دعوت نامعتبر است، منقضی شده یا پیش‌تر به کار رفته است.",
        "This invitation link is unknown, expired or already used.",
    ),
    ("not_found_title", "یافت نشد", "Not found"),
    (
        "not_found_text",
        "صفحه‌ای که خواستید وجود ندارد.",
        "The page you asked for does not exist.",
    ),
    ("forbidden_title", "دسترسی ندارید", "Not allowed"),
    (
        "forbidden_text",
        "نقش شما اجازه این کار را نمی‌دهد.",
        "Your role does not allow this.",
    ),
    ("error_title", "خطا", "Error"),
    (
        "error_text",
        "مشکلی پیش آمد. اگر تکرار شد، شناسه درخواست را گزارش کنید.",
        "Something went wrong. If it happens again, report the request id.",
    ),
    ("bad_input_title", "ورودی نادرست", "Invalid input"),
    (
        "problem_control_character",
        "متن نویسه‌های کنترلی (مانند شکست خط در نام یا نویسهٔ تهی) نمی‌پذیرد؛ آن را دوباره بنویسید.",
        "Text may not hold control characters (such as a line break in a name, or a null); type it again.",
    ),
    ("back_home", "بازگشت به صفحه اصلی", "Back to the start page"),
    ("api_docs", "مستندات API", "API documentation"),
    ("your_office", "دفتر شما", "Your office"),
    ("display_title", "صف نوبت‌دهی", "Queue"),
    ("now_serving", "در حال خدمت", "Now serving"),
    ("counter", "باجه", "Counter"),
    ("next_up", "نفرات بعدی", "Next"),
    ("waiting", "در انتظار", "Waiting"),
    (
        "display_empty",
        "فعلاً کسی فراخوانده نشده است",
        "Nobody has been called yet",
    ),
    (
        "footer_note",
        "تاریخ‌ها به تقویم هجری خورشیدی و به وقت تهران است.",
        "Dates are Solar Hijri (Jalali), Tehran time.",
    ),
];

/// Field names reported in validation errors, shown next to the message.
const FIELD_LABELS: &[(&str, &str, &str)] = &[
    ("national_code", "کد ملی", "National code"),
    ("mobile", "تلفن همراه", "Mobile"),
    ("first_name", "نام", "First name"),
    ("last_name", "نام خانوادگی", "Last name"),
    ("office", "کد دفتر", "Office code"),
    ("role", "نقش", "Role"),
    ("username", "نام کاربری", "Username"),
    ("password", "گذرواژه", "Password"),
];

/// The translator handed to every template.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The page-language text of a problem's stable code (`problem_<code>` in the string
    /// tables), when the tables have one.
    pub fn problem(&self, code: &str) -> Option<String> {
        let key = format!("problem_{code}");
        let text = self.t(&key);
        (!text.starts_with('⟦')).then_some(text)
    }

    pub fn t(&self, key: impl AsRef<str>) -> String {
        let key = key.as_ref();
        let found = MESSAGES
            .iter()
            .chain(crate::ui::citizen::MESSAGES.iter())
            .chain(crate::ui::console::MESSAGES.iter())
            .chain(crate::ui::survey::MESSAGES.iter())
            .chain(crate::ui::identity::MESSAGES.iter())
            .find(|(k, _, _)| *k == key);
        match found {
            Some((_, fa, en)) => match self.lang {
                Lang::Fa => (*fa).to_string(),
                Lang::En => (*en).to_string(),
            },
            None => format!("⟦{key}⟧"),
        }
    }

    /// The text of `key` with its `{wait}` filled in: how long `seconds` is, in whole
    /// minutes (rounded up) or, under one, in seconds.
    pub fn with_wait(&self, key: impl AsRef<str>, seconds: u64) -> String {
        let (n, unit) = match seconds.max(1) {
            s if s < 60 => (s, "wait_seconds"),
            s => (s.div_ceil(60), "wait_minutes"),
        };
        let wait = format!("{} {}", self.num(n), self.t(unit));
        self.t(key).replace("{wait}", &wait)
    }

    pub fn field(&self, name: &str) -> String {
        FIELD_LABELS
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, fa, en)| match self.lang {
                Lang::Fa => (*fa).to_string(),
                Lang::En => (*en).to_string(),
            })
            .unwrap_or_else(|| name.to_string())
    }

    /// Digits in the page's script.
    pub fn num(&self, n: impl std::fmt::Display) -> String {
        localize_digits(&n.to_string(), self.lang)
    }

    /// A count with thousands separators: ۱۷٬۰۰۰ or 17,000.
    pub fn count(&self, n: impl Borrow<u64>) -> String {
        let s = n.borrow().to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(if self.lang == Lang::Fa { '٬' } else { ',' });
            }
            out.push(c);
        }
        localize_digits(&out, self.lang)
    }

    pub fn text(&self, t: impl Borrow<LocalizedText>) -> String {
        t.borrow().get(self.lang).to_string()
    }

    pub fn date(&self, d: impl Borrow<JalaliDate>) -> String {
        d.borrow().format_long(self.lang)
    }

    pub fn datetime_ms(&self, ms: impl Borrow<i64>) -> String {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(*ms.borrow()) * 1_000_000)
            .map(|t| pishkhan_domain::tehran::format_datetime(t, self.lang))
            .unwrap_or_default()
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn dir(&self) -> &'static str {
        match self.lang {
            Lang::Fa => "rtl",
            Lang::En => "ltr",
        }
    }

    pub fn other(&self) -> &'static str {
        match self.lang {
            Lang::Fa => "en",
            Lang::En => "fa",
        }
    }
}
