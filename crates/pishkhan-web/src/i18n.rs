//! UI strings in Persian and English, with Persian digits and Jalali dates for Persian pages.
//!
//! A missing key renders as `⟦key⟧`, which page tests look for, so an untranslated string
//! cannot slip through unnoticed.

use std::borrow::Borrow;

use pishkhan_app::AppError;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::digits::localize_digits;
use pishkhan_domain::model::{Lang, LocalizedText};

use crate::error::ApiError;

/// (key, Persian, English).
const MESSAGES: &[(&str, &str, &str)] = &[
    ("runs_latest", "آخرین اجراها", "Latest runs"),
    ("nav_tariffs", "تعرفه‌ها", "Tariffs"),
    (
        "tariffs_title",
        "تعرفه‌ها و شاخص تورم",
        "Tariffs and the inflation index",
    ),
    (
        "tariffs_subtitle",
        "شاخص قیمت مصرف‌کننده را وارد کنید، تعرفه‌های سال بعد را پیشنهاد دهید، بررسی و منتشر کنید.",
        "Import the consumer price index, propose next year's tariffs, review and publish them.",
    ),
    (
        "cpi_import_title",
        "ورود شاخص قیمت مصرف‌کننده",
        "Import the consumer price index",
    ),
    ("cpi_source", "منبع", "Source"),
    (
        "cpi_csv",
        "فایل CSV (سال، ماه، شاخص)",
        "CSV (year, month, index)",
    ),
    ("cpi_submit", "ورود سری", "Import the series"),
    (
        "cpi_imported",
        "سری شاخص وارد شد: شماره",
        "CPI series imported: number",
    ),
    ("cpi_months", "ماه", "months"),
    ("cpi_line", "خط", "Line"),
    (
        "cpi_bad_header",
        "سطر اول باید year,month,index باشد",
        "the first line must be year,month,index",
    ),
    (
        "cpi_bad_columns",
        "هر سطر سه ستون دارد: سال، ماه، شاخص",
        "each line has three columns: year, month, index",
    ),
    (
        "cpi_bad_year",
        "سال باید سالی شمسی مانند ۱۴۰۴ باشد",
        "the year must be a Jalali year such as 1404",
    ),
    (
        "cpi_bad_month",
        "ماه باید از ۱ تا ۱۲ باشد",
        "the month must be 1 to 12",
    ),
    (
        "cpi_bad_index",
        "شاخص باید عددی مثبت با حداکثر سه رقم اعشار باشد",
        "the index must be a positive number with at most three decimals",
    ),
    (
        "cpi_duplicate_month",
        "این ماه پیش‌تر آمده است",
        "this month is already given",
    ),
    (
        "cpi_too_many_rows",
        "یک فایل حداکثر ۱۲۰۰ ماه دارد",
        "one file holds at most 1,200 months",
    ),
    (
        "cpi_no_rows",
        "فایل هیچ ماهی ندارد",
        "the file holds no months",
    ),
    ("run_title", "اجرای شاخص‌گذاری", "Run an indexation"),
    ("run_heading", "اجرای شاخص‌گذاری شماره", "Indexation run"),
    ("run_series", "شماره سری شاخص", "CPI series number"),
    ("fiscal_year", "سال مالی", "Fiscal year"),
    ("run_rule", "قاعده", "Rule"),
    (
        "rule_point_to_point",
        "اسفند به اسفند",
        "Esfand over Esfand",
    ),
    (
        "rule_twelve_month_average",
        "میانگین دوازده ماه",
        "Twelve-month average",
    ),
    ("run_floor", "کف ضریب", "Lowest factor"),
    ("run_cap", "سقف ضریب", "Highest factor"),
    ("run_rounding", "گرد کردن", "Rounding"),
    (
        "rounding_up_1000",
        "به بالا تا ۱٬۰۰۰ ریال",
        "up to 1,000 rials",
    ),
    (
        "rounding_up_10000",
        "به بالا تا ۱۰٬۰۰۰ ریال",
        "up to 10,000 rials",
    ),
    (
        "rounding_nearest_1000",
        "به نزدیک‌ترین ۱٬۰۰۰ ریال",
        "to the nearest 1,000 rials",
    ),
    (
        "rounding_nearest_100",
        "به نزدیک‌ترین ۱۰۰ ریال",
        "to the nearest 100 rials",
    ),
    ("rounding_up_100", "به بالا تا ۱۰۰ ریال", "up to 100 rials"),
    (
        "rounding_down_1000",
        "به پایین تا ۱٬۰۰۰ ریال",
        "down to 1,000 rials",
    ),
    ("run_submit", "پیشنهاد تعرفه‌ها", "Propose tariffs"),
    ("run_status", "وضعیت", "Status"),
    ("run_proposed", "پیشنهادی", "Proposed"),
    ("run_published", "منتشرشده", "Published"),
    ("run_factor", "ضریب", "Factor"),
    ("run_raw", "محاسبه‌شده", "computed"),
    ("run_limits", "کف و سقف", "floor and cap"),
    ("run_digest", "اثر انگشت پیشنهاد", "Proposal digest"),
    ("run_diff", "پیشنهاد تعرفه‌ها", "Proposed tariffs"),
    ("effective_from", "تاریخ اجرا", "Effective from"),
    ("publish_title", "انتشار", "Publish"),
    ("publish_submit", "انتشار تعرفه‌ها", "Publish the tariffs"),
    ("edit_title", "تغییر یک ردیف", "Change one row"),
    ("edit_amount", "مبلغ (ریال)", "Amount (rials)"),
    ("edit_reason", "دلیل", "Reason"),
    ("edit_submit", "ثبت تغییر", "Save the change"),
    ("col_service", "خدمت", "Service"),
    ("col_component", "جزء", "Component"),
    ("col_old", "مبلغ کنونی", "Current"),
    ("col_proposed", "پیشنهاد قاعده", "Rule's proposal"),
    ("col_final", "مبلغ انتشار", "To publish"),
    ("col_change", "تغییر", "Change"),
    (
        "problem_tariff_not_in_future",
        "تعرفه از روزی پس از امروز اجرا می‌شود تا هزینه‌ای که اعلام شده تغییر نکند",
        "a tariff takes effect after today, so no fee already quoted changes",
    ),
    (
        "problem_tariff_exists",
        "این خدمت برای این تاریخ تعرفه دارد",
        "the service already has a tariff from this date",
    ),
    (
        "problem_run_published",
        "این اجرا منتشر شده است؛ برای تغییر، اجرای تازه‌ای بسازید",
        "the run is published; start a new run to change it",
    ),
    (
        "problem_fee_would_fall",
        "هزینه شاخص‌گذاری‌شده نباید از هزینه کنونی کمتر شود",
        "an indexed fee may not fall below the current one",
    ),
    (
        "problem_bad_fiscal_year",
        "اجرا برای امسال یا سال آینده است",
        "a run is for this fiscal year or the next",
    ),
    ("problem_unknown_rule", "قاعده شناخته نیست", "unknown rule"),
    (
        "problem_bad_floor",
        "کف ضریب از ۱ تا ۱۰ است؛ هزینه‌ها کاهش نمی‌یابند",
        "the lowest factor is 1 to 10: fees never fall",
    ),
    (
        "problem_bad_cap",
        "سقف ضریب بین کف و ۱۰ است",
        "the highest factor lies between the lowest and 10",
    ),
    (
        "problem_unknown_rounding",
        "قاعده گرد کردن شناخته نیست",
        "unknown rounding rule",
    ),
    (
        "problem_unknown_cpi_import",
        "سری شاخصی با این شماره نیست",
        "no CPI series has this number",
    ),
    (
        "problem_series_incomplete",
        "سری شاخص ماه‌هایی را که قاعده لازم دارد ندارد",
        "the series lacks months the rule needs",
    ),
    (
        "problem_no_tariffs",
        "در پایان سال پیش تعرفه‌ای نیست که شاخص‌گذاری شود",
        "no tariff is in force at the end of the year before",
    ),
    (
        "problem_date_outside_fiscal_year",
        "تاریخ اجرا باید در سال مالی همین اجرا باشد",
        "the date must fall in the run's fiscal year",
    ),
    (
        "problem_bad_cpi_file",
        "فایل شاخص نادرست است",
        "the CPI file is not valid",
    ),
    (
        "problem_bad_note",
        "این متن باید ۱ تا ۳۰۰ نویسه باشد",
        "this text must be 1 to 300 characters",
    ),
    (
        "problem_bad_run_form",
        "شماره سری، سال، کف و سقف عدد هستند",
        "the series number, year, floor and cap are numbers",
    ),
    (
        "problem_bad_amount",
        "مبلغ به ریال و عدد صحیح است",
        "the amount is whole rials",
    ),
    (
        "problem_negative_amount",
        "مبلغ منفی نمی‌شود",
        "an amount cannot be negative",
    ),
    (
        "problem_amount_too_large",
        "مبلغ بیش از حد مجاز است",
        "the amount is too large",
    ),
    (
        "problem_unknown_fee_kind",
        "جزء هزینه شناخته نیست",
        "unknown fee component",
    ),
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
    ("ip", "نشانی آی‌پی", "IP address"),
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
    ("api_docs", "مستندات رابط برنامه‌نویسی", "API documentation"),
    ("your_office", "دفتر شما", "Your office"),
    ("display_title", "صف نوبت‌دهی", "Queue"),
    ("now_serving", "در حال خدمت", "Now serving"),
    ("counter", "باجه", "Counter"),
    ("next_up", "نفرات بعدی", "Next"),
    ("waiting", "در انتظار", "Waiting"),
    (
        "footer_note",
        "تاریخ‌ها به تقویم هجری خورشیدی و به وقت تهران است.",
        "Dates are Solar Hijri (Jalali), Tehran time.",
    ),
];

/// What a page says for a problem, by its stable code: `problem_<code>` in Persian and
/// English. The problem's own message is English for logs and API clients; a page never shows
/// it, so a code missing here falls back to the wording of its kind (`problem_kind_*`).
const PROBLEMS: &[(&str, &str, &str)] = &[
    // Input that does not parse.
    (
        "problem_invalid_national_code",
        "کد ملی درست نیست؛ ده رقم آن را دوباره بررسی کنید.",
        "The national code is not valid; check its ten digits.",
    ),
    (
        "problem_invalid_mobile",
        "شماره همراه درست نیست؛ شماره‌ای یازده‌رقمی مانند ۰۹۱۲۱۲۳۴۵۶۷ وارد کنید.",
        "The mobile number is not valid; enter eleven digits such as 09121234567.",
    ),
    (
        "problem_invalid_name",
        "باید میان ۱ تا ۶۴ نویسه باشد.",
        "must be 1 to 64 characters.",
    ),
    (
        "problem_invalid_username",
        "نام کاربری باید ۳ تا ۳۲ نویسه از حروف کوچک لاتین، رقم، نقطه، خط تیره یا زیرخط باشد.",
        "A username is 3 to 32 lower-case letters, digits, dots, hyphens or underscores.",
    ),
    (
        "problem_invalid_role",
        "نقش برگزیده شناخته نیست.",
        "That role is not known.",
    ),
    (
        "problem_invalid_office_code",
        "کد دفتر باید هشت رقم باشد.",
        "An office code is exactly eight digits.",
    ),
    (
        "problem_unknown_office",
        "دفتری با این کد نیست.",
        "No office has this code.",
    ),
    (
        "problem_invalid_date",
        "تاریخ درست نیست؛ تاریخی خورشیدی به شکل ۱۴۰۵-۰۹-۰۷ وارد کنید.",
        "not a valid date; enter a Jalali date such as 1405-09-07.",
    ),
    (
        "problem_invalid_card_serial",
        "سریال کارت ملی درست نیست؛ یک رقم، یک حرف لاتین و هشت رقم، مانند 1A23456789.",
        "The national card serial is not valid: a digit, a letter and eight digits, such as 1A23456789.",
    ),
    (
        "problem_invalid_service_code",
        "کد خدمت درست نیست؛ کدی مانند NID-001 وارد کنید.",
        "The service code is not valid; enter one such as NID-001.",
    ),
    (
        "problem_unknown_service",
        "خدمتی با این کد در فهرست خدمات نیست.",
        "No catalogue service has this code.",
    ),
    (
        "problem_inquiry_not_required",
        "این خدمت به این استعلام نیاز ندارد.",
        "This service does not need that inquiry.",
    ),
    (
        "problem_missing_field",
        "این بخش را پر کنید.",
        "fill this in.",
    ),
    (
        "problem_missing_purpose",
        "خدمت در حال انجام و شماره پرونده را وارد کنید.",
        "Give the service being performed and the case number.",
    ),
    (
        "problem_invalid_purpose",
        "هدف استعلام کامل نیست؛ خدمت، پرونده و مبنای قانونی را وارد کنید.",
        "The purpose is incomplete: give the service, the case and the legal basis.",
    ),
    (
        "problem_invalid_tracking_code",
        "کد رهگیری درست نیست؛ هشت نویسه مانند 75UE-T9B3 وارد کنید.",
        "The tracking code is not valid; enter eight characters such as 75UE-T9B3.",
    ),
    (
        "problem_invalid_page",
        "شماره صفحه باید عددی درست و مثبت باشد.",
        "The page number must be a positive whole number.",
    ),
    (
        "problem_invalid_page_size",
        "اندازه صفحه خارج از بازه مجاز است.",
        "The page size is out of range.",
    ),
    (
        "problem_invalid_province",
        "استانی با این شماره نیست؛ استان را از فهرست برگزینید.",
        "There is no such province; choose one from the list.",
    ),
    (
        "problem_invalid_status",
        "وضعیت برگزیده شناخته نیست.",
        "That status is not known.",
    ),
    (
        "problem_invalid_category",
        "گروه برگزیده شناخته نیست.",
        "That category is not known.",
    ),
    (
        "problem_invalid_channel",
        "شیوه ارائه برگزیده شناخته نیست.",
        "That channel is not known.",
    ),
    (
        "problem_invalid_digitization",
        "وضعیت شبکه‌ای شدن برگزیده شناخته نیست.",
        "That digitization state is not known.",
    ),
    (
        "problem_invalid_agency_code",
        "دستگاهی با این کد نیست.",
        "No agency has this code.",
    ),
    (
        "problem_invalid_query",
        "نشانی صفحه پارامتر نادرستی دارد.",
        "The page address has a parameter that is not valid.",
    ),
    (
        "problem_invalid_path",
        "نشانی صفحه بخش نادرستی دارد.",
        "The page address has a part that is not valid.",
    ),
    (
        "problem_invalid_form",
        "فرم درست فرستاده نشد؛ صفحه را دوباره باز کنید.",
        "The form did not arrive intact; open the page again.",
    ),
    (
        "problem_malformed_json",
        "درخواست خوانا نبود.",
        "The request could not be read.",
    ),
    (
        "problem_bad_body",
        "درخواست خوانا نبود.",
        "The request could not be read.",
    ),
    (
        "problem_invalid_body",
        "درخواست خوانا نبود.",
        "The request could not be read.",
    ),
    ("problem_invalid_input", "درست نیست.", "is not valid."),
    (
        "problem_too_many_items",
        "بیش از اندازه مجاز است.",
        "has too many items.",
    ),
    (
        "problem_invalid_ticket",
        "شماره نوبت درست نیست؛ شماره‌ای مانند W-012 وارد کنید.",
        "The ticket number is not valid; enter one such as W-012.",
    ),
    (
        "problem_invalid_priority_code",
        "گروه اولویت درست نیست.",
        "The priority group is not valid.",
    ),
    (
        "problem_unknown_priority_group",
        "چنین گروه اولویتی نیست.",
        "There is no such priority group.",
    ),
    (
        "problem_invalid_password",
        "گذرواژه باید میان ۸ تا ۱۲۸ نویسه باشد.",
        "A password is 8 to 128 characters.",
    ),
    (
        "problem_weak_password",
        "این گذرواژه بسیار ساده است؛ گذرواژه‌ای بلندتر و کمتر رایج برگزینید.",
        "This password is too easy to guess; choose a longer, less common one.",
    ),
    (
        "problem_wrong_password",
        "گذرواژه کنونی نادرست است.",
        "The current password is wrong.",
    ),
    (
        "problem_same_password",
        "گذرواژه تازه باید با گذرواژه کنونی فرق کند.",
        "The new password must differ from the current one.",
    ),
    (
        "problem_invalid_postal_code",
        "کد پستی باید ده رقم باشد.",
        "A postal code is ten digits.",
    ),
    (
        "problem_invalid_phone",
        "شماره تلفن درست نیست.",
        "The phone number is not valid.",
    ),
    (
        "problem_invalid_sheba",
        "شماره شبا درست نیست.",
        "The IBAN (Sheba) is not valid.",
    ),
    (
        "problem_invalid_start",
        "زمان برگزیده نوبت معتبری نیست.",
        "The chosen time is not a valid slot.",
    ),
    (
        "problem_invalid_limit",
        "اندازه درخواست‌شده خارج از بازه مجاز است.",
        "The requested size is out of range.",
    ),
    (
        "problem_invalid_days",
        "شمار روزها خارج از بازه مجاز است.",
        "The number of days is out of range.",
    ),
    (
        "problem_invalid_rating",
        "امتیاز باید میان ۱ تا ۵ باشد.",
        "A rating is 1 to 5.",
    ),
    (
        "problem_invalid_counter",
        "این دفتر چنین باجه‌ای ندارد؛ یکی از باجه‌های دفتر را انتخاب کنید.",
        "This office has no such counter; choose one of its counters.",
    ),
    // The queue at the counter.
    (
        "problem_unknown_booking",
        "امروز نوبتی با این کد رهگیری در این دفتر نیست.",
        "There is no booking with this tracking code at this office today.",
    ),
    (
        "problem_no_booking_today",
        "امروز نوبتی با این کد ملی در این دفتر نیست.",
        "There is no booking for this national code at this office today.",
    ),
    (
        "problem_already_checked_in",
        "این نوبت پیش‌تر پذیرش شده است.",
        "This booking is already checked in.",
    ),
    (
        "problem_booking_cancelled",
        "این نوبت لغو شده است.",
        "This booking was cancelled.",
    ),
    (
        "problem_booking_no_show",
        "برای این نوبت پیش‌تر «حاضر نشد» ثبت شده است.",
        "This booking was already marked a no-show.",
    ),
    (
        "problem_duplicate_booking",
        "این نوبت پیش‌تر در صف است.",
        "This booking is already in the queue.",
    ),
    (
        "problem_service_not_served",
        "هیچ باجه‌ای این خدمت را انجام نمی‌دهد.",
        "No counter handles this service.",
    ),
    (
        "problem_ticket_limit",
        "سقف نوبت‌های امروز این دفتر پر شده است.",
        "The office has issued all of today's tickets of this kind.",
    ),
    (
        "problem_unknown_counter",
        "این دفتر چنین باجه‌ای ندارد.",
        "This office has no such counter.",
    ),
    (
        "problem_counter_busy",
        "این باجه هنوز در حال خدمت است؛ نخست خدمت کنونی را پایان دهید.",
        "This counter is still serving someone; complete that first.",
    ),
    (
        "problem_outside_office_hours",
        "اکنون بیرون از ساعت کاری دفتر است؛ برای دادن نوبت، آن را تأیید کنید.",
        "It is outside the office's opening hours; confirm to issue the ticket anyway.",
    ),
    (
        "problem_counter_paused",
        "این باجه در حالت استراحت است؛ نخست آن را از سر بگیرید.",
        "This counter is paused; resume it first.",
    ),
    (
        "problem_counter_not_paused",
        "این باجه در حالت استراحت نیست.",
        "This counter is not paused.",
    ),
    (
        "problem_counter_cannot_serve",
        "آن باجه این خدمت را ارائه نمی‌دهد؛ باجهٔ دیگری را برگزینید.",
        "That counter does not handle this service; choose another counter.",
    ),
    (
        "problem_transfer_same_counter",
        "این فرد هم‌اکنون در همین باجه است؛ باجهٔ دیگری را برگزینید.",
        "This person is already at this counter; choose another counter.",
    ),
    (
        "problem_nobody_waiting",
        "کسی برای این باجه در صف نیست.",
        "Nobody is waiting for this counter.",
    ),
    (
        "problem_nobody_served",
        "این باجه کسی را در حال خدمت ندارد.",
        "This counter is serving nobody.",
    ),
    (
        "problem_unknown_ticket",
        "امروز چنین نوبتی نیست.",
        "There is no such ticket today.",
    ),
    (
        "problem_not_called",
        "این نوبت در باجه‌ای در حال خدمت نیست.",
        "This ticket is not being served at a counter.",
    ),
    (
        "problem_not_waiting",
        "این نوبت در صف انتظار نیست.",
        "This ticket is not waiting.",
    ),
    (
        "problem_wrong_day",
        "این صف برای روز دیگری است.",
        "This queue is for another day.",
    ),
    (
        "problem_queue_busy",
        "صف هم‌اکنون پرکار است؛ دوباره تلاش کنید.",
        "The queue is busy right now; try again.",
    ),
    // Appointments.
    (
        "problem_slot_full",
        "این زمان پر شده است؛ زمان دیگری برگزینید.",
        "This time is fully booked; pick another one.",
    ),
    (
        "problem_booking_limit_reached",
        "برای این خدمت نوبت فعال هست یا سقف نوبت‌های دو هفته پر شده است.",
        "There is already an appointment for this service, or the two-week limit is reached.",
    ),
    (
        "problem_outside_booking_window",
        "این روز در بازه نوبت‌دهی نیست.",
        "This day is outside the booking window.",
    ),
    (
        "problem_office_closed",
        "دفتر در این روز تعطیل است.",
        "The office is closed that day.",
    ),
    (
        "problem_not_a_slot",
        "زمان برگزیده نوبت معتبری نیست.",
        "The chosen time is not a valid slot.",
    ),
    (
        "problem_service_not_at_counter",
        "این خدمت فقط برخط ارائه می‌شود و نوبت حضوری ندارد.",
        "This service is online only; it needs no appointment.",
    ),
    (
        "problem_not_cancellable",
        "این نوبت دیگر لغوشدنی نیست.",
        "This appointment can no longer be cancelled.",
    ),
    (
        "problem_not_reschedulable",
        "زمان این نوبت دیگر تغییرپذیر نیست.",
        "This appointment can no longer be moved.",
    ),
    (
        "problem_idempotency_key_reused",
        "این درخواست پیش‌تر با داده‌های دیگری فرستاده شده است.",
        "This request was already sent with other data.",
    ),
    (
        "problem_wrong_state",
        "این کار در وضعیت کنونی شدنی نیست.",
        "This cannot be done in the current state.",
    ),
    // Accounts and the registry.
    (
        "problem_username_taken",
        "این نام کاربری پیش‌تر گرفته شده است.",
        "That username is already taken.",
    ),
    (
        "problem_national_code_taken",
        "کارمندی با این کد ملی پیش‌تر ثبت شده است.",
        "A member of staff with that national code already exists.",
    ),
    (
        "problem_licence_taken",
        "دفتری با این شماره مجوز پیش‌تر ثبت شده است.",
        "An office with that licence number already exists.",
    ),
    (
        "problem_office_exists",
        "دفتری با این کد پیش‌تر ثبت شده است.",
        "An office with that code already exists.",
    ),
    (
        "problem_office_not_allowed",
        "این نقش به دفتر وابسته است؛ کد دفتر را درست وارد کنید.",
        "This role belongs to an office; give the right office code.",
    ),
    (
        "problem_unknown_reference",
        "یکی از کدهای واردشده در سامانه نیست.",
        "One of the codes given is not known.",
    ),
    // Identity checks and the exchange.
    (
        "problem_identity_locked",
        "برای این کد ملی بارها احراز ناموفق بوده است؛ احراز هویت آن اکنون بسته است.",
        "Too many failed checks of this national code; checks are locked for now.",
    ),
    (
        "problem_wrong_code",
        "کد واردشده نادرست است.",
        "The code is wrong.",
    ),
    (
        "problem_no_owned_mobile",
        "برای این شخص شماره همراهی به نام خودش ثبت نیست.",
        "This person has no mobile number registered in their name.",
    ),
    (
        "problem_exchange_not_configured",
        "این سامانه به تبادل استعلام وصل نیست.",
        "This server runs without the inquiry exchange.",
    ),
    (
        "problem_inquiries_blocked",
        "استعلام‌های شما به دلیل جست‌وجوی افراد بسیار متوقف شده و به ناظر گزارش شده است.",
        "Your inquiries are blocked after looking up too many people; the regulator has been told.",
    ),
    (
        "problem_inquiry_not_allowed",
        "این دفتر مجوز این استعلام را ندارد.",
        "This office may not make this inquiry.",
    ),
    (
        "problem_agency_unavailable",
        "دستگاه پاسخ‌دهنده اکنون در دسترس نیست؛ کمی بعد دوباره تلاش کنید.",
        "The agency is unavailable right now; try again shortly.",
    ),
    (
        "problem_agency_timeout",
        "دستگاه پاسخ‌دهنده به‌موقع پاسخ نداد؛ دوباره تلاش کنید.",
        "The agency did not answer in time; try again.",
    ),
    (
        "problem_agency_unreachable",
        "دستگاه پاسخ‌دهنده در دسترس نیست؛ کمی بعد دوباره تلاش کنید.",
        "The agency cannot be reached; try again shortly.",
    ),
    (
        "problem_agency_refused",
        "دستگاه پاسخ‌دهنده این استعلام را نپذیرفت.",
        "The agency refused this inquiry.",
    ),
    (
        "problem_agency_failed",
        "پاسخ دستگاه پاسخ‌دهنده پذیرفتنی نبود.",
        "The agency's answer could not be accepted.",
    ),
    // Refusals.
    (
        "problem_forbidden",
        "اجازه این کار را ندارید.",
        "You may not do this.",
    ),
    (
        "problem_forbidden_role",
        "نقش شما اجازه این کار را نمی‌دهد.",
        "Your role does not allow this.",
    ),
    (
        "problem_forbidden_other_office",
        "فقط در دفتر خودتان می‌توانید این کار را بکنید.",
        "You may do this only at your own office.",
    ),
    (
        "problem_office_suspended",
        "این دفتر تعلیق یا لغو شده است و نمی‌تواند این کار را بکند.",
        "This office is suspended or revoked and may not do this.",
    ),
    (
        "problem_forbidden_not_yours",
        "این نوبت از آن شما نیست.",
        "This appointment is not yours.",
    ),
    (
        "problem_forbidden_other_account",
        "فقط گذرواژه خودتان را می‌توانید تغییر دهید.",
        "You may change only your own password.",
    ),
    (
        "problem_csrf_failed",
        "فرم منقضی شده است؛ صفحه را دوباره باز کنید و دوباره تلاش کنید.",
        "This form has expired; reload the page and try again.",
    ),
    (
        "problem_payload_too_large",
        "درخواست بیش از اندازه بزرگ است.",
        "The request is too large.",
    ),
    (
        "problem_gone",
        "این پیوند یا کد دیگر معتبر نیست.",
        "This link or code is no longer valid.",
    ),
    (
        "problem_survey_answered",
        "به این نظرسنجی پیش‌تر پاسخ داده‌اید.",
        "This survey has already been answered.",
    ),
    (
        "problem_rate_limited",
        "درخواست‌ها بیش از اندازه بود؛ کمی بعد دوباره تلاش کنید.",
        "Too many requests; try again shortly.",
    ),
    // Payments, settlement and reconciliation.
    (
        "problem_missing_idempotency_key",
        "این درخواست پرداخت کلید یکتایی ندارد؛ صفحه را دوباره باز کنید و دوباره تلاش کنید.",
        "This payment request has no idempotency key; reload the page and try again.",
    ),
    (
        "problem_bad_idempotency_key",
        "کلید یکتایی این پرداخت درست نیست؛ صفحه را دوباره باز کنید و دوباره تلاش کنید.",
        "This payment's idempotency key is not valid; reload the page and try again.",
    ),
    (
        "problem_no_fee",
        "این خدمت امروز هزینه‌ای ندارد که پرداخت شود.",
        "This service has no fee to pay today.",
    ),
    (
        "problem_no_such_booking",
        "پرداخت برخط فقط برای نوبت رزروشدهٔ خودتان و با کد رهگیری آن است.",
        "Online payment is only for one of your own booked appointments, by its tracking code.",
    ),
    (
        "problem_psp_unavailable",
        "درگاه پرداخت پاسخ نداد؛ چند لحظه بعد همین فرم را دوباره بفرستید. پرداخت دوباره گرفته نمی‌شود.",
        "The card processor did not answer; send the same form again in a moment. Nothing is charged twice.",
    ),
    (
        "problem_not_paid",
        "رسید پس از تأیید پرداخت صادر می‌شود.",
        "A receipt is issued once the payment is confirmed.",
    ),
    (
        "problem_refund_exceeds",
        "مبلغ بازپرداخت از باقی‌ماندهٔ این پرداخت بیشتر است.",
        "The refund is more than what is left of this payment.",
    ),
    (
        "problem_refund_exceeds_balance",
        "ماندهٔ تسویه‌نشدهٔ ذی‌نفعان اکنون این بازپرداخت را پوشش نمی‌دهد.",
        "The payees' unsettled balance cannot cover this refund now.",
    ),
    (
        "problem_already_settled",
        "این روز پیش‌تر تسویه شده است.",
        "This day has already been settled.",
    ),
    (
        "problem_already_reconciled",
        "این روز پیش‌تر تطبیق داده شده است.",
        "This day has already been reconciled.",
    ),
    (
        "problem_day_not_over",
        "روز پس از پایانش تسویه و تطبیق می‌شود؛ روزی پیش از امروز برگزینید.",
        "A day is settled and reconciled once it is over; choose a day before today.",
    ),
    (
        "problem_bad_callback_status",
        "وضعیت اعلام‌شده از سوی پرداخت‌یار شناخته نیست.",
        "The processor's callback status is not known.",
    ),
    (
        "problem_callback_mismatch",
        "اعلام پرداخت‌یار با سفارش این پرداخت نمی‌خواند.",
        "The processor's callback names another order than this payment.",
    ),
    (
        "problem_bad_holder",
        "نام صاحب حساب را در ۱ تا ۲۰۰ نویسه بنویسید.",
        "Name the account holder in 1 to 200 characters.",
    ),
    (
        "problem_not_a_payee",
        "فقط دفتر، دستگاه یا خزانه به حساب شبا تسویه می‌شوند.",
        "Only an office, an agency or the treasury is settled to a Sheba account.",
    ),
    (
        "problem_bad_case_id",
        "شماره پرونده باید ۱ تا ۶۴ نویسه در یک سطر باشد.",
        "A case reference is 1 to 64 characters on one line.",
    ),
    (
        "problem_bad_reason",
        "دلیل را در ۱ تا ۵۰۰ نویسه بنویسید.",
        "Give the reason in 1 to 500 characters.",
    ),
    (
        "problem_invalid_account",
        "این حساب در دفتر کل شناخته نیست.",
        "This is not a ledger account.",
    ),
    (
        "problem_unavailable",
        "این کار اکنون در دسترس نیست؛ کمی بعد دوباره تلاش کنید.",
        "This is not available right now; try again shortly.",
    ),
    // By kind, for a code without its own text.
    (
        "problem_kind_invalid",
        "آنچه وارد شد پذیرفتنی نیست؛ آن را بررسی کنید.",
        "What was entered is not valid; please check it.",
    ),
    (
        "problem_kind_forbidden",
        "اجازه این کار را ندارید.",
        "You may not do this.",
    ),
    (
        "problem_kind_not_found",
        "آنچه خواستید یافت نشد.",
        "What you asked for was not found.",
    ),
    (
        "problem_kind_conflict",
        "این کار با وضعیت کنونی سازگار نیست.",
        "This clashes with the current state.",
    ),
    (
        "problem_kind_gone",
        "این دیگر معتبر نیست.",
        "This is no longer valid.",
    ),
    (
        "problem_kind_too_many",
        "درخواست‌ها بیش از اندازه بود؛ کمی بعد دوباره تلاش کنید.",
        "Too many requests; try again shortly.",
    ),
    (
        "problem_kind_failed",
        "انجام نشد؛ کمی بعد دوباره تلاش کنید.",
        "That did not work; try again shortly.",
    ),
];

/// Citizens' reports about offices (issue 13): the citizen's form and list, the regulator's
/// triage and the manager's answers, and the problems these pages can meet.
const REPORTS: &[(&str, &str, &str)] = &[
    ("nav_reports", "گزارش‌های مردمی", "Citizens' reports"),
    ("rep_my_title", "گزارش‌های من", "My reports"),
    ("rep_new", "گزارش درباره این دفتر", "Report this office"),
    (
        "rep_new_subtitle",
        "اگر در دفتری نوبت نگرفتید، بیش از تعرفه پرداختید یا رفتار نادرستی دیدید، اینجا بنویسید.",
        "If an office gave you no appointment, charged more than the fee or treated you wrongly, tell us here.",
    ),
    ("rep_number", "گزارش شماره", "Report number"),
    ("rep_category", "موضوع", "Subject"),
    (
        "rep_choose_category",
        "موضوع را برگزینید",
        "Choose a subject",
    ),
    ("rep_created", "ثبت", "Filed"),
    ("rep_text", "شرح ماجرا", "What happened"),
    (
        "rep_booking_optional",
        "کد پیگیری نوبت (اختیاری)",
        "Booking tracking code (optional)",
    ),
    (
        "rep_limits_note",
        "هر نفر روزانه تا ۳ و ماهانه تا ۱۰ گزارش می‌تواند بفرستد؛ گزارش تکراری به گزارش قبلی افزوده می‌شود.",
        "Each person may send up to 3 reports a day and 10 a month; a repeat is added to the earlier report.",
    ),
    ("rep_send", "ارسال", "Send"),
    (
        "rep_none",
        "هنوز گزارشی نفرستاده‌اید.",
        "You have not sent any report yet.",
    ),
    (
        "rep_filed",
        "گزارش شما ثبت شد. شماره:",
        "Your report was received. Number:",
    ),
    (
        "rep_folded",
        "این گزارش به گزارش قبلی شما درباره همین دفتر و موضوع افزوده شد. شماره:",
        "This was added to your earlier report about the same office and subject. Number:",
    ),
    ("rep_folded_count", "گزارش‌های افزوده", "Repeats added"),
    (
        "rep_add_more",
        "توضیحی که خواسته شد",
        "The details you were asked for",
    ),
    ("rep_staff_title", "گزارش‌های مردمی", "Citizens' reports"),
    (
        "rep_staff_subtitle_regulator",
        "گزارش‌ها را بررسی کنید: بپذیرید، رد کنید یا توضیح بیشتر بخواهید.",
        "Triage the reports: accept, reject or ask for more.",
    ),
    (
        "rep_staff_subtitle_manager",
        "گزارش‌های پذیرفته‌شده درباره دفتر شما؛ به هر کدام پاسخ دهید.",
        "Accepted reports about your office; answer each one.",
    ),
    ("rep_any", "همه", "Any"),
    ("rep_decision", "تصمیم", "Decision"),
    ("rep_note", "یادداشت برای شهروند", "Note to the citizen"),
    ("rep_decide", "ثبت تصمیم", "Decide"),
    ("rep_answer", "پاسخ دفتر", "The office's answer"),
    ("rep_send_answer", "ارسال پاسخ", "Send the answer"),
    ("rep_cat_crowding", "شلوغی و صف طولانی", "Crowding"),
    (
        "rep_cat_no_appointments",
        "نوبت نمی‌دهد",
        "No appointments offered",
    ),
    (
        "rep_cat_overcharging",
        "دریافت بیش از تعرفه",
        "Overcharging",
    ),
    ("rep_cat_misconduct", "رفتار نادرست", "Misconduct"),
    (
        "rep_cat_service_refused",
        "خودداری از ارائه خدمت",
        "Service refused",
    ),
    ("rep_cat_other", "دیگر", "Other"),
    ("rep_status_submitted", "در انتظار بررسی", "Awaiting review"),
    (
        "rep_status_more_asked",
        "توضیح بیشتر خواسته شد",
        "More asked",
    ),
    ("rep_status_accepted", "پذیرفته شد", "Accepted"),
    ("rep_status_rejected", "پذیرفته نشد", "Rejected"),
    ("rep_status_answered", "دفتر پاسخ داد", "Answered"),
    ("rep_decision_accept", "پذیرش", "Accept"),
    ("rep_decision_reject", "رد", "Reject"),
    (
        "rep_decision_ask_more",
        "درخواست توضیح بیشتر",
        "Ask for more",
    ),
    ("rep_party_citizen", "شهروند", "Citizen"),
    ("rep_party_regulator", "ناظر", "Regulator"),
    ("rep_party_office", "دفتر", "Office"),
    ("audit_report.create", "گزارش شهروند", "Citizen's report"),
    ("audit_report.triage", "بررسی گزارش", "Report triaged"),
    (
        "audit_report.answer",
        "پاسخ دفتر به گزارش",
        "Report answered",
    ),
    (
        "problem_booking_not_yours",
        "این کد پیگیری از نوبت‌های خود شما در این دفتر نیست.",
        "This tracking code is not one of your own bookings at this office.",
    ),
    (
        "problem_invalid_report_category",
        "موضوع گزارش را از فهرست برگزینید.",
        "Choose the report's subject from the list.",
    ),
    (
        "problem_invalid_report_status",
        "وضعیت گزارش درست نیست.",
        "That is not a report status.",
    ),
    (
        "problem_invalid_text_length",
        "متن باید دست‌کم ۱۰ و حداکثر ۲٬۰۰۰ نویسه باشد.",
        "The text must be 10 to 2,000 characters long.",
    ),
    (
        "problem_too_many_reports_today",
        "امروز به سقف گزارش‌ها رسیده‌اید؛ فردا دوباره بفرستید.",
        "You have reached today's limit of reports; send it tomorrow.",
    ),
    (
        "problem_too_many_reports_this_month",
        "به سقف گزارش‌های این ماه رسیده‌اید.",
        "You have reached this month's limit of reports.",
    ),
    (
        "problem_note_required",
        "برای رد یا درخواست توضیح، یادداشتی برای شهروند بنویسید.",
        "To reject or ask for more, write a note to the citizen.",
    ),
    (
        "problem_invalid_decision",
        "تصمیم را از فهرست برگزینید.",
        "Choose a decision from the list.",
    ),
    (
        "problem_report_not_submitted",
        "این گزارش پیش‌تر بررسی شده است.",
        "This report has already been triaged.",
    ),
    (
        "problem_report_not_accepted",
        "فقط به گزارش پذیرفته‌شده می‌توان پاسخ داد.",
        "Only an accepted report can be answered.",
    ),
    (
        "problem_report_not_asked",
        "برای این گزارش توضیحی خواسته نشده است.",
        "No more was asked about this report.",
    ),
];

/// Names people use for what the system records by code: inquiry services, matching profiles,
/// audit actions and who did them. A page shows the name and keeps the code in a tooltip.
const NAMES: &[(&str, &str, &str)] = &[
    (
        "inquiry_civil-registry.person",
        "استعلام هویت از ثبت احوال",
        "Civil registry identity record",
    ),
    (
        "inquiry_mobile.ownership",
        "استعلام مالکیت شماره همراه",
        "Mobile number ownership",
    ),
    (
        "inquiry_postal.address",
        "استعلام نشانی از پست",
        "Postal address",
    ),
    (
        "inquiry_postal.address-match",
        "تطبیق نشانی با کد پستی",
        "Address matches postal code",
    ),
    (
        "inquiry_traffic.fines",
        "استعلام خلافی خودرو",
        "Traffic fines",
    ),
    (
        "profile_fa-name-1",
        "تطبیق نام فارسی، نسخه ۱",
        "Persian name matching, version 1",
    ),
    (
        "profile_exact-1",
        "تطبیق دقیق، نسخه ۱",
        "Exact matching, version 1",
    ),
    (
        "basis_identity_check",
        "احراز هویت متقاضی خدمت در پیشخوان",
        "Identity check of the applicant at the counter",
    ),
    ("list_comma", "، ", ", "),
    ("audit_any_action", "همه کنش‌ها", "All actions"),
    ("actor_citizen", "شهروند", "Citizen"),
    ("actor_system", "سامانه", "The system"),
    ("target_staff", "کارمند", "Staff member"),
    ("target_office", "دفتر", "Office"),
    ("target_citizen", "شهروند", "Citizen"),
    ("target_booking", "نوبت", "Booking"),
    ("target_payment", "پرداخت", "Payment"),
    ("target_report", "گزارش", "Report"),
    ("target_verification", "احراز هویت", "Identity check"),
    ("target_cpi", "سری شاخص قیمت", "Price index series"),
    ("target_run", "محاسبه تعرفه", "Tariff run"),
    ("target_tariff", "تعرفه", "Tariff"),
    ("target_tariffs", "تعرفه‌ها", "Tariffs"),
    ("target_queue", "صف دفتر", "Queue of office"),
    ("target_holiday", "تعطیلی", "Holiday"),
    ("target_settlement", "تسویه", "Settlement"),
    ("target_reconciliation", "مغایرت‌گیری", "Reconciliation"),
    ("target_payee", "حساب ذی‌نفع", "Payee account"),
    ("target_survey", "نظرسنجی", "Survey"),
    ("target_release", "عرضه نوبت", "Release"),
    (
        "target_compliance_run",
        "اجرای قواعد نظارت",
        "Run of the compliance rules",
    ),
    ("target_compliance_rules", "قواعد نظارت", "Compliance rules"),
    ("target_nation", "داده‌های کشور", "The nation's data"),
    ("audit_auth.login", "ورود کارمند", "Staff sign-in"),
    ("audit_auth.login_failed", "ورود ناموفق", "Failed sign-in"),
    ("audit_auth.logout", "خروج کارمند", "Staff sign-out"),
    ("audit_citizen.login", "ورود شهروند", "Citizen sign-in"),
    ("audit_citizen.logout", "خروج شهروند", "Citizen sign-out"),
    (
        "audit_citizen.code_sent",
        "ارسال کد ورود شهروند",
        "Citizen sign-in code sent",
    ),
    ("audit_registry.browse", "دیدن فهرست‌ها", "Registry browsed"),
    ("audit_audit.view", "دیدن رویدادنگاری", "Audit log viewed"),
    (
        "audit_staff.view",
        "دیدن کارکنان دفتر",
        "Office staff viewed",
    ),
    ("audit_staff.create", "دعوت کارمند", "Staff invited"),
    (
        "audit_staff.activate",
        "فعال‌سازی حساب کارمند",
        "Staff account activated",
    ),
    (
        "audit_staff.deactivate",
        "غیرفعال‌سازی حساب کارمند",
        "Staff account deactivated",
    ),
    ("audit_staff.password", "تغییر گذرواژه", "Password changed"),
    ("audit_office.create", "ثبت دفتر", "Office created"),
    (
        "audit_office.status",
        "تغییر وضعیت دفتر",
        "Office status changed",
    ),
    (
        "audit_schedule.update",
        "تغییر برنامه نوبت‌دهی",
        "Booking schedule changed",
    ),
    ("audit_holiday.update", "تغییر تعطیلات", "Holidays changed"),
    (
        "audit_booking.staff",
        "نوبت به دست کارمند",
        "Booking by staff",
    ),
    (
        "audit_booking.citizen",
        "نوبت به دست شهروند",
        "Booking by a citizen",
    ),
    ("audit_queue.operate", "کار با صف دفتر", "Office queue"),
    ("audit_inquiry.run", "استعلام", "Inquiry"),
    (
        "audit_inquiry.blocked",
        "توقف استعلام‌های کاربر",
        "Operator's inquiries blocked",
    ),
    (
        "audit_release.manage",
        "مدیریت نوبت‌دهی ویژه",
        "Surge release",
    ),
    (
        "audit_release.offer",
        "پیشنهاد نوبت آزادشده",
        "Freed seat offered",
    ),
    (
        "audit_import.offices",
        "ورود فهرست دفاتر",
        "Offices imported",
    ),
    (
        "audit_import.services",
        "ورود فهرست خدمات",
        "Services imported",
    ),
    (
        "audit_demo.load",
        "بارگذاری داده نمایشی",
        "Demo data loaded",
    ),
    (
        "audit_reference.seed",
        "بارگذاری داده‌های پایه",
        "Reference data seeded",
    ),
    (
        "audit_figures.national",
        "دیدن آمار ملی",
        "National figures viewed",
    ),
    (
        "audit_figures.office",
        "دیدن آمار دفتر",
        "Office figures viewed",
    ),
    (
        "audit_data_access.view",
        "دیدن گزارش استعلام‌ها",
        "Data-access view opened",
    ),
    ("audit_survey.answer", "پاسخ نظرسنجی", "Survey answered"),
    (
        "audit_compliance.manage",
        "اقدام نظارتی",
        "Compliance action",
    ),
    (
        "audit_compliance.request",
        "درخواست دفتر به ناظر",
        "Office's request",
    ),
    (
        "audit_compliance.view",
        "دیدن پرونده نظارت",
        "Compliance record viewed",
    ),
    (
        "audit_payee.account",
        "تغییر حساب ذی‌نفع",
        "Payee account changed",
    ),
    ("audit_payment.online", "پرداخت برخط", "Online payment"),
    ("audit_payment.refund", "بازپرداخت", "Refund"),
    ("audit_payment.take", "دریافت پرداخت", "Payment taken"),
    ("audit_payment.view", "دیدن پرداخت", "Payment viewed"),
    (
        "audit_settlement.manage",
        "تسویه و مغایرت‌گیری",
        "Settlement",
    ),
    ("audit_tariff.publish", "انتشار تعرفه", "Tariff published"),
];

/// The audit actions the log's filter offers, in the order shown.
pub const AUDIT_ACTIONS: &[&str] = &[
    "auth.login",
    "auth.login_failed",
    "auth.logout",
    "citizen.login",
    "citizen.logout",
    "citizen.code_sent",
    "staff.create",
    "staff.activate",
    "staff.deactivate",
    "staff.password",
    "staff.view",
    "office.create",
    "office.status",
    "schedule.update",
    "holiday.update",
    "booking.staff",
    "booking.citizen",
    "queue.operate",
    "inquiry.run",
    "inquiry.blocked",
    "release.manage",
    "release.offer",
    "import.offices",
    "import.services",
    "registry.browse",
    "audit.view",
    "figures.national",
    "figures.office",
    "data_access.view",
    "survey.answer",
    "report.create",
    "report.triage",
    "report.answer",
    "demo.load",
    "reference.seed",
    "payment.take",
    "payment.online",
    "payment.refund",
    "payment.view",
    "settlement.manage",
    "payee.account",
    "tariff.publish",
    "compliance.manage",
    "compliance.request",
    "compliance.view",
    "compliance.dismissal",
];

/// Codes whose text says what is wrong but not with what, so the field's name goes first.
const FIELD_FIRST: &[&str] = &[
    "invalid_name",
    "invalid_date",
    "missing_field",
    "invalid_input",
    "too_many_items",
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
    ("birth_date", "تاریخ تولد", "Birth date"),
    ("father_name", "نام پدر", "Father's name"),
    ("card_serial", "سریال کارت ملی", "National card serial"),
    ("purpose", "هدف استعلام", "Purpose"),
    (
        "purpose.service_code",
        "خدمت در حال انجام",
        "Service being performed",
    ),
    ("purpose.case_id", "شماره پرونده", "Case number"),
    ("service", "خدمت", "Service"),
    ("code", "کد", "Code"),
    ("counter", "باجه", "Counter"),
    ("priority", "گروه اولویت", "Priority group"),
    ("ticket", "نوبت", "Ticket"),
    ("page", "صفحه", "Page"),
    ("per_page", "اندازه صفحه", "Page size"),
    ("province", "استان", "Province"),
    ("status", "وضعیت", "Status"),
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
            .chain(crate::ui::display::MESSAGES.iter())
            .chain(crate::ui::survey::MESSAGES.iter())
            .chain(crate::ui::identity::MESSAGES.iter())
            .chain(crate::ui::payments::MESSAGES.iter())
            .chain(crate::ui::settlements::MESSAGES.iter())
            .chain(crate::ui::compliance::MESSAGES.iter())
            .chain(crate::ui::manage::MESSAGES.iter())
            .chain(crate::ui::catalogue::MESSAGES.iter())
            .chain(REPORTS.iter())
            .chain(crate::ui::dashboard::MESSAGES.iter())
            .chain(PROBLEMS.iter())
            .chain(NAMES.iter())
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

    /// The page-language name of a field a problem names; `None` for a field without one,
    /// whose raw name is never shown.
    pub fn field(&self, name: &str) -> Option<String> {
        FIELD_LABELS
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, fa, en)| match self.lang {
                Lang::Fa => (*fa).to_string(),
                Lang::En => (*en).to_string(),
            })
    }

    /// What a page says about a problem, in the page's language: the text of its stable
    /// code, or of its kind; for a few codes, with the field's name first.
    pub fn problem_message(&self, err: &ApiError) -> String {
        let text = self.problem(err.code()).unwrap_or_else(|| {
            let kind = match err.status().as_u16() {
                401 | 403 => "forbidden",
                404 => "not_found",
                409 => "conflict",
                410 => "gone",
                429 => "too_many",
                400..=499 => "invalid",
                _ => "failed",
            };
            self.t(format!("problem_kind_{kind}"))
        });
        let field = match err {
            ApiError::App(AppError::Invalid { field: Some(f), .. }) => self.field(f),
            _ => None,
        };
        match field {
            Some(label) if FIELD_FIRST.contains(&err.code()) => format!("{label}: {text}"),
            _ => text,
        }
    }

    /// The name of `key` when the tables have one; `None` otherwise.
    fn known(&self, key: String) -> Option<String> {
        let text = self.t(key);
        (!text.starts_with('⟦')).then_some(text)
    }

    /// The name of an inquiry service (`civil-registry.person`), or its id if it has none.
    pub fn inquiry(&self, id: impl AsRef<str>) -> String {
        let id = id.as_ref();
        self.known(format!("inquiry_{id}"))
            .unwrap_or_else(|| id.to_string())
    }

    /// The name of a matching profile (`fa-name-1`), or its version if it has none.
    pub fn profile(&self, version: impl AsRef<str>) -> String {
        let version = version.as_ref();
        self.known(format!("profile_{version}"))
            .unwrap_or_else(|| version.to_string())
    }

    /// The name of an audit action (`auth.login`), or the action if it has none.
    pub fn audit_action(&self, action: &str) -> String {
        self.known(format!("audit_{action}"))
            .unwrap_or_else(|| action.to_string())
    }

    /// Two parts of a place, joined with the page language's comma.
    pub fn join(&self, a: impl AsRef<str>, b: impl AsRef<str>) -> String {
        format!("{}{}{}", a.as_ref(), self.t("list_comma"), b.as_ref())
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

    /// The language of a text the page did not write (a person's name, a citizen's words):
    /// Persian when it has a Persian letter, else English. For its element's `lang`, so that
    /// a Persian name on an English page is read as Persian.
    pub fn lang_of(&self, text: impl AsRef<str>) -> &'static str {
        let persian = text
            .as_ref()
            .chars()
            .any(|c| ('\u{0621}'..='\u{06FF}').contains(&c));
        if persian { "fa" } else { "en" }
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
