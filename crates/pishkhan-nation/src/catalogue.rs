//! The national service catalogue: exactly [`SERVICE_COUNT`] services.
//!
//! The first part, [`REAL`], is written by hand: services that Iranians know from the
//! counters (smart national ID card, passport, birth certificate, vehicle transfer, traffic
//! fines, registered post, tax clearance, insurance record, criminal record certificate,
//! conscription, SANA, utilities, subsidies...), with the documents people are actually asked
//! to bring and the exchange inquiries an office would run.
//!
//! The rest is generated from [`OBJECTS`] (licences, cards and certificates of real agencies)
//! and [`ACTIONS`] (issue, renewal, duplicate, ...), in a fixed order, so that the catalogue
//! has the size of the real one without inventing hundreds of titles by hand. The catalogue
//! does not depend on the seed: service codes are the same in every demo nation.
//!
//! The digitization mix follows the programme's own description: about 40% of services run
//! over the network, 35% wait for infrastructure that is being built and 25% have not
//! started.

use std::collections::HashSet;

use pishkhan_domain::model::{
    AgencyCode, Category, Channel, Digitization, LocalizedText, Service, ServiceCode,
};

use crate::rng::Rng;

/// Size of the catalogue.
pub(crate) const SERVICE_COUNT: usize = 550;

/// Target numbers of networked and in-progress services; the rest have not started.
const NETWORKED_TOTAL: usize = 220;
const IN_PROGRESS_TOTAL: usize = 192;

/// A required document: `(Persian, English)`.
type Doc = (&'static str, &'static str);

const NET: Digitization = Digitization::Networked;
const PROG: Digitization = Digitization::InProgress;
const NONE: Digitization = Digitization::NotStarted;
const CTR: Channel = Channel::Counter;
const BOTH: Channel = Channel::Both;

mod docs {
    use super::Doc;

    pub const CARD: Doc = ("اصل کارت ملی", "Original national ID card");
    pub const BIRTH: Doc = ("اصل شناسنامه", "Original birth certificate (shenasnameh)");
    pub const BIRTH_PHOTO: Doc = (
        "اصل شناسنامه عکس‌دار",
        "Original birth certificate with photo",
    );
    pub const OLD_CARD: Doc = ("کارت ملی قدیمی", "Old (paper) national ID card");
    pub const EXPIRED_SMART: Doc = ("کارت هوشمند ملی منقضی‌شده", "Expired smart national ID card");
    pub const PHOTO34: Doc = ("دو قطعه عکس ۳×۴ رنگی", "Two 3×4 colour photos");
    pub const PHOTO46: Doc = (
        "عکس ۴×۶ رنگی با زمینه سفید",
        "4×6 colour photo with white background",
    );
    pub const OLD_PASSPORT: Doc = ("گذرنامه قبلی", "Previous passport");
    pub const PASSPORT: Doc = ("گذرنامه معتبر", "Valid passport");
    pub const LOSS: Doc = ("فرم اعلام مفقودی", "Loss declaration form");
    pub const MILITARY_CARD: Doc = (
        "کارت پایان خدمت یا معافیت (آقایان)",
        "End-of-service or exemption card (men)",
    );
    pub const MARRIAGE: Doc = ("سند ازدواج", "Marriage certificate");
    pub const DIVORCE: Doc = ("سند طلاق", "Divorce certificate");
    pub const SPOUSES_BIRTH: Doc = ("شناسنامه زوجین", "Birth certificates of both spouses");
    pub const HOSPITAL_BIRTH: Doc = ("گواهی ولادت بیمارستان", "Hospital certificate of birth");
    pub const PARENTS_IDS: Doc = (
        "شناسنامه و کارت ملی پدر و مادر",
        "Parents' birth certificates and national ID cards",
    );
    pub const PHYSICIAN_DEATH: Doc = (
        "گواهی فوت صادرشده توسط پزشک",
        "Physician's certificate of death",
    );
    pub const DECEASED_IDS: Doc = (
        "شناسنامه و کارت ملی متوفی",
        "Birth certificate and national ID card of the deceased",
    );
    pub const INFORMANT_CARD: Doc = ("کارت ملی اعلام‌کننده", "Informant's national ID card");
    pub const VEHICLE_DOC: Doc = ("سند خودرو", "Vehicle ownership document");
    pub const VEHICLE_CARD: Doc = ("کارت خودرو", "Vehicle card");
    pub const MOTO_DOC: Doc = ("سند موتورسیکلت", "Motorcycle ownership document");
    pub const MOTO_CARD: Doc = ("کارت موتورسیکلت", "Motorcycle card");
    pub const BOTH_PARTIES: Doc = (
        "کارت ملی فروشنده و خریدار",
        "National ID cards of seller and buyer",
    );
    pub const THIRD_PARTY: Doc = (
        "بیمه‌نامه شخص ثالث",
        "Third-party liability insurance policy",
    );
    pub const MUNICIPAL_TOLLS: Doc = (
        "مفاصاحساب عوارض شهرداری",
        "Municipal vehicle-toll clearance",
    );
    pub const INVOICE: Doc = ("فاکتور فروش خودرو", "Vehicle sales invoice");
    pub const OLD_PLATE: Doc = ("پلاک فرسوده", "The worn plate");
    pub const LICENCE: Doc = ("گواهینامه رانندگی قبلی", "Previous driving licence");
    pub const PAPER_LICENCE: Doc = ("گواهینامه کاغذی", "Paper driving licence");
    pub const MEDICAL: Doc = ("گواهی معاینه پزشکی", "Medical examination certificate");
    pub const EVIDENCE: Doc = ("مستندات و مدارک", "Supporting evidence");
    pub const DEED: Doc = ("سند مالکیت", "Title deed");
    pub const DEED_OR_LEASE: Doc = ("سند مالکیت یا اجاره‌نامه", "Title deed or lease agreement");
    pub const SALE_AGREEMENT: Doc = ("مبایعه‌نامه", "Sale agreement");
    pub const BUILDING_PERMIT: Doc = ("پروانه ساختمان", "Building permit");
    pub const GAS_APPROVAL: Doc = (
        "تأییدیه لوله‌کشی گاز از نظام مهندسی",
        "Gas piping approval from the engineering council",
    );
    pub const LAST_BILL: Doc = ("آخرین قبض", "Latest bill");
    pub const BILL_ID: Doc = ("شناسه قبض و شناسه پرداخت", "Bill ID and payment ID");
    pub const TAX_CODE: Doc = ("کد رهگیری ثبت‌نام مالیاتی", "Tax registration tracking code");
    pub const BUSINESS_LICENCE_IF_ANY: Doc =
        ("پروانه کسب (در صورت وجود)", "Business licence (if any)");
    pub const BOOKS: Doc = (
        "دفاتر یا صورت درآمد و هزینه",
        "Books or statement of income and expenses",
    );
    pub const INVOICES: Doc = ("صورت‌حساب‌های خرید و فروش", "Sales and purchase invoices");
    pub const CONTRACT: Doc = (
        "قرارداد یا سند انتقال موضوع مفاصاحساب",
        "Contract or transfer document to be cleared",
    );
    pub const OCCUPATION: Doc = (
        "مدرک شغلی (پروانه کسب یا کارت مهارت)",
        "Proof of occupation (business licence or skill card)",
    );
    pub const SHEBA: Doc = ("شماره شبای حساب بانکی", "Bank account number (Sheba)");
    pub const TERMINATION: Doc = (
        "گواهی قطع رابطه کار از کارفرما",
        "Employer's letter of termination",
    );
    pub const DEPENDANTS: Doc = (
        "شناسنامه افراد تحت تکفل",
        "Birth certificates of the dependants",
    );
    pub const HEIRS: Doc = (
        "شناسنامه و کارت ملی وراث",
        "Birth certificates and national ID cards of the heirs",
    );
    pub const DEATH_CERT: Doc = ("گواهی فوت", "Death certificate");
    pub const WITNESSES: Doc = ("استشهادیه محضری", "Notarized witness statement");
    pub const LOCAL_WITNESSES: Doc = ("استشهادیه محلی", "Local witness statement");
    pub const COMPANY_DOCS: Doc = (
        "اساسنامه و شرکت‌نامه",
        "Articles of association and partnership deed",
    );
    pub const PARTNERS_IDS: Doc = (
        "کارت ملی شرکا و مدیران",
        "National ID cards of partners and directors",
    );
    pub const CRIMINAL_RECORD: Doc = ("گواهی عدم سوءپیشینه", "Criminal record certificate");
    pub const HOUSEHOLD: Doc = (
        "شناسنامه و کارت ملی اعضای خانوار",
        "Birth certificates and national ID cards of household members",
    );
    pub const INCOME_PROOF: Doc = ("مدارک وضعیت درآمدی خانوار", "Proof of household income");
    pub const CONSENT: Doc = ("رضایت‌نامه یا حکم دادگاه", "Consent letter or court order");
    pub const RESIDENCE: Doc = ("گواهی سکونت", "Proof of residence");
    pub const MEDICAL_COMMISSION: Doc = ("رأی کمیسیون پزشکی", "Decision of the medical commission");
    pub const SCHOOL_RECORD: Doc = ("کد سوابق تحصیلی دیپلم", "Diploma academic record code");
    pub const PHOTO_FILE: Doc = ("فایل عکس ۳×۴", "3×4 photo file");
    pub const CERTIFICATE: Doc = ("اصل مدرک تحصیلی", "Original educational certificate");
    pub const LATEST_CERTIFICATE: Doc = ("آخرین مدرک تحصیلی", "Latest educational certificate");
    pub const KEFALAT: Doc = (
        "مدارک افراد تحت کفالت",
        "Documents of the dependants under care",
    );
    pub const MEDICAL_RECORDS: Doc = ("مدارک و سوابق پزشکی", "Medical records");
    pub const COLLATERAL: Doc = ("سند وثیقه", "Collateral (bail) deed");
    pub const ENROLMENT: Doc = ("گواهی اشتغال به تحصیل", "Certificate of enrolment");
    pub const TRANSLATION: Doc = (
        "اصل مدرک با ترجمه رسمی تأییدشده در دادگستری",
        "Original document with official translation certified by the judiciary",
    );
}

use docs::*;

/// A hand-written catalogue entry.
struct Real {
    code: &'static str,
    fa: &'static str,
    en: &'static str,
    agency: &'static str,
    category: Category,
    docs: &'static [Doc],
    inquiries: &'static [&'static str],
    minutes: u16,
    channel: Channel,
    digitization: Digitization,
}

#[allow(clippy::too_many_arguments)]
const fn r(
    code: &'static str,
    fa: &'static str,
    en: &'static str,
    agency: &'static str,
    category: Category,
    docs: &'static [Doc],
    inquiries: &'static [&'static str],
    minutes: u16,
    channel: Channel,
    digitization: Digitization,
) -> Real {
    Real {
        code,
        fa,
        en,
        agency,
        category,
        docs,
        inquiries,
        minutes,
        channel,
        digitization,
    }
}

const PERSON: &str = "civil-registry.person";
const MOBILE: &str = "mobile.ownership";
const ADDRESS: &str = "postal.address";
const FINES: &str = "traffic.fines";
const TAX_CLEAR: &str = "tax.clearance";
const SSO_RECORD: &str = "sso.insurance-record";
const CRIMINAL: &str = "judiciary.criminal-record";
const MILITARY: &str = "military.status";
const VEHICLE: &str = "vehicle.ownership";
const EXIT_BAN: &str = "judiciary.exit-ban";
const DRIVER: &str = "traffic.licence";
const DEED_INQ: &str = "ssaa.deed";
const HOUSEHOLD_INQ: &str = "subsidy.household";
const HEALTH_COVER: &str = "health-insurance.coverage";
const SCHOOL: &str = "education.certificates";

use Category as C;

/// The hand-written services, in catalogue order.
#[rustfmt::skip]
const REAL: &[Real] = &[
    // Identity: smart national ID card and civil registration.
    r("NID-001", "ثبت‌نام کارت هوشمند ملی (صدور نخستین)", "Smart national ID card: first issue",
        "nocr", C::Identity, &[BIRTH_PHOTO], &[PERSON, MOBILE, ADDRESS], 15, CTR, NET),
    r("NID-002", "تعویض کارت ملی قدیمی با کارت هوشمند ملی", "Smart national ID card: replacing the old paper card",
        "nocr", C::Identity, &[BIRTH_PHOTO, OLD_CARD], &[PERSON, MOBILE, ADDRESS], 15, CTR, NET),
    r("NID-003", "صدور کارت هوشمند ملی المثنی (مفقودی)", "Smart national ID card: replacement of a lost card",
        "nocr", C::Identity, &[BIRTH_PHOTO, LOSS], &[PERSON, MOBILE, ADDRESS], 15, CTR, NET),
    r("NID-004", "تمدید کارت هوشمند ملی", "Smart national ID card: renewal on expiry",
        "nocr", C::Identity, &[BIRTH_PHOTO, EXPIRED_SMART], &[PERSON, MOBILE, ADDRESS], 12, CTR, NET),
    r("NID-005", "پیگیری وضعیت صدور کارت هوشمند ملی", "Smart national ID card: issue status tracking",
        "nocr", C::Identity, &[], &[PERSON], 3, BOTH, NET),
    r("BRC-001", "تعویض شناسنامه", "Birth certificate (shenasnameh): replacement of an old booklet",
        "nocr", C::Identity, &[BIRTH, CARD, PHOTO34], &[PERSON], 15, CTR, NET),
    r("BRC-002", "صدور شناسنامه المثنی", "Birth certificate: duplicate of a lost booklet",
        "nocr", C::Identity, &[CARD, PHOTO34, LOSS], &[PERSON], 15, CTR, NET),
    r("BRC-003", "ثبت ولادت و صدور شناسنامه نوزاد", "Birth registration and a newborn's first birth certificate",
        "nocr", C::Identity, &[HOSPITAL_BIRTH, PARENTS_IDS, MARRIAGE], &[PERSON], 20, CTR, PROG),
    r("BRC-004", "ثبت واقعه ازدواج در شناسنامه", "Marriage registration in the civil registry",
        "nocr", C::Identity, &[MARRIAGE, SPOUSES_BIRTH], &[PERSON], 15, CTR, PROG),
    r("BRC-005", "ثبت واقعه طلاق در شناسنامه", "Divorce registration in the civil registry",
        "nocr", C::Identity, &[DIVORCE, SPOUSES_BIRTH], &[PERSON], 15, CTR, PROG),
    r("BRC-006", "ثبت فوت و صدور گواهی فوت", "Death registration and death certificate",
        "nocr", C::Identity, &[PHYSICIAN_DEATH, DECEASED_IDS, INFORMANT_CARD], &[PERSON], 20, CTR, PROG),
    r("BRC-007", "درخواست تغییر نام", "Change of first name",
        "nocr", C::Identity, &[BIRTH, CARD, PHOTO34], &[PERSON], 20, CTR, PROG),
    r("BRC-008", "درخواست تغییر نام خانوادگی", "Change of surname",
        "nocr", C::Identity, &[BIRTH, CARD, PHOTO34], &[PERSON], 20, CTR, NONE),
    // Passport and travel.
    r("PSP-001", "صدور گذرنامه عادی (نخستین بار)", "Ordinary passport: first issue",
        "police", C::Travel, &[BIRTH, CARD, PHOTO46, MILITARY_CARD], &[PERSON, MILITARY, EXIT_BAN, MOBILE], 20, CTR, NET),
    r("PSP-002", "تمدید گذرنامه", "Passport renewal",
        "police", C::Travel, &[OLD_PASSPORT, BIRTH, CARD, PHOTO46], &[PERSON, MILITARY, EXIT_BAN, MOBILE], 15, CTR, NET),
    r("PSP-003", "صدور گذرنامه المثنی (مفقودی)", "Passport: replacement of a lost passport",
        "police", C::Travel, &[BIRTH, CARD, PHOTO46, LOSS], &[PERSON, MILITARY, EXIT_BAN, MOBILE], 25, CTR, NET),
    r("PSP-004", "پیگیری وضعیت صدور گذرنامه", "Passport: issue status tracking",
        "police", C::Travel, &[], &[PERSON], 3, BOTH, NET),
    r("PSP-005", "پرداخت عوارض خروج از کشور", "Payment of the departure (exit) fee",
        "tax", C::Travel, &[CARD], &[PERSON], 5, BOTH, NET),
    r("PSP-006", "استعلام ممنوع‌الخروجی", "Exit ban inquiry",
        "judiciary", C::Travel, &[CARD], &[PERSON, EXIT_BAN], 5, BOTH, NET),
    r("CNS-001", "تأیید کنسولی اسناد و مدارک", "Consular authentication of documents",
        "mfa", C::Travel, &[TRANSLATION, CARD], &[PERSON], 15, CTR, PROG),
    r("HAJ-001", "ثبت‌نام زائران اربعین (سامانه سماح)", "Arbaeen pilgrim registration (Samah)",
        "hajj", C::Travel, &[CARD, PASSPORT], &[PERSON, MOBILE], 10, BOTH, NET),
    // Conscription.
    r("MIL-001", "استعلام وضعیت نظام وظیفه", "Military service status inquiry",
        "nezam-vazifeh", C::Military, &[CARD], &[PERSON, MILITARY], 5, BOTH, NET),
    r("MIL-002", "درخواست برگ اعزام به خدمت", "Request for call-up (dispatch to service) papers",
        "nezam-vazifeh", C::Military, &[BIRTH, CARD, PHOTO34, LATEST_CERTIFICATE], &[PERSON, MILITARY, SCHOOL], 20, CTR, NET),
    r("MIL-003", "درخواست معافیت کفالت", "Military service exemption: sole carer (kefalat)",
        "nezam-vazifeh", C::Military, &[BIRTH, CARD, KEFALAT], &[PERSON, MILITARY], 25, CTR, PROG),
    r("MIL-004", "درخواست معافیت پزشکی", "Military service exemption: medical grounds",
        "nezam-vazifeh", C::Military, &[BIRTH, CARD, MEDICAL_RECORDS], &[PERSON, MILITARY], 20, CTR, PROG),
    r("MIL-005", "درخواست مجوز خروج از کشور مشمولان", "Exit permit for men liable to military service",
        "nezam-vazifeh", C::Military, &[BIRTH, CARD, PASSPORT, COLLATERAL], &[PERSON, MILITARY, EXIT_BAN], 20, CTR, NET),
    r("MIL-006", "صدور کارت پایان خدمت المثنی", "End-of-service card: duplicate",
        "nezam-vazifeh", C::Military, &[BIRTH, CARD, PHOTO34, LOSS], &[PERSON, MILITARY], 15, CTR, NET),
    r("MIL-007", "درخواست معافیت تحصیلی", "Student deferment of military service",
        "nezam-vazifeh", C::Military, &[BIRTH, CARD, ENROLMENT], &[PERSON, MILITARY, SCHOOL], 15, CTR, NET),
    // Vehicles and traffic.
    r("VEH-001", "نقل و انتقال خودرو (تعویض پلاک)", "Vehicle ownership transfer (plate change)",
        "police", C::Vehicle, &[VEHICLE_DOC, VEHICLE_CARD, BOTH_PARTIES, THIRD_PARTY, MUNICIPAL_TOLLS],
        &[VEHICLE, FINES, PERSON, "municipality.vehicle-tolls", "insurance.third-party"], 30, CTR, NET),
    r("VEH-002", "نقل و انتقال موتورسیکلت", "Motorcycle ownership transfer",
        "police", C::Vehicle, &[MOTO_DOC, MOTO_CARD, BOTH_PARTIES, THIRD_PARTY], &[VEHICLE, FINES, PERSON], 25, CTR, NET),
    r("VEH-003", "صدور کارت خودرو المثنی", "Vehicle card: duplicate",
        "police", C::Vehicle, &[VEHICLE_DOC, CARD, LOSS], &[VEHICLE, FINES, PERSON], 15, CTR, NET),
    r("VEH-004", "صدور سند خودرو المثنی", "Vehicle ownership document: duplicate",
        "police", C::Vehicle, &[VEHICLE_CARD, CARD, LOSS], &[VEHICLE, FINES, PERSON], 15, CTR, NET),
    r("VEH-005", "تعویض پلاک فرسوده یا آسیب‌دیده", "Replacement of a worn or damaged number plate",
        "police", C::Vehicle, &[VEHICLE_CARD, CARD, OLD_PLATE], &[VEHICLE, FINES], 15, CTR, NET),
    r("VEH-006", "فک پلاک (نگهداری پلاک هنگام فروش خودرو)", "Plate detachment (keeping the plate when selling)",
        "police", C::Vehicle, &[VEHICLE_DOC, VEHICLE_CARD, CARD], &[VEHICLE, FINES, PERSON], 15, CTR, NET),
    r("VEH-007", "شماره‌گذاری خودروی صفر کیلومتر", "Registration and plates for a new vehicle",
        "police", C::Vehicle, &[CARD, INVOICE, THIRD_PARTY], &[PERSON, ADDRESS], 20, CTR, NET),
    r("FUL-001", "درخواست کارت سوخت المثنی", "Fuel card: duplicate",
        "niopdc", C::Vehicle, &[VEHICLE_CARD, CARD], &[VEHICLE, ADDRESS], 10, CTR, NET),
    r("TRF-001", "استعلام خلافی خودرو", "Traffic fines inquiry (car)",
        "police", C::Vehicle, &[VEHICLE_CARD], &[FINES], 3, BOTH, NET),
    r("TRF-002", "پرداخت جرایم رانندگی", "Traffic fines payment",
        "police", C::Vehicle, &[VEHICLE_CARD], &[FINES], 5, BOTH, NET),
    r("TRF-003", "اعتراض به جریمه رانندگی", "Objection to a traffic fine",
        "police", C::Vehicle, &[VEHICLE_CARD, CARD, EVIDENCE], &[FINES, VEHICLE], 15, CTR, PROG),
    r("TRF-004", "استعلام نمره منفی گواهینامه", "Driving licence penalty points inquiry",
        "police", C::Vehicle, &[CARD], &[DRIVER], 3, BOTH, NET),
    r("TRF-005", "استعلام خلافی موتورسیکلت", "Traffic fines inquiry (motorcycle)",
        "police", C::Vehicle, &[MOTO_CARD], &[FINES], 3, BOTH, NET),
    r("DRV-001", "تمدید گواهینامه رانندگی", "Driving licence renewal",
        "police", C::Vehicle, &[LICENCE, CARD, PHOTO34, MEDICAL], &[DRIVER, PERSON, ADDRESS], 15, CTR, NET),
    r("DRV-002", "صدور گواهینامه رانندگی المثنی", "Driving licence: duplicate",
        "police", C::Vehicle, &[CARD, PHOTO34, LOSS], &[DRIVER, PERSON, ADDRESS], 15, CTR, NET),
    r("DRV-003", "تعویض گواهینامه کاغذی با گواهینامه هوشمند", "Driving licence: replacing a paper licence with a smart card",
        "police", C::Vehicle, &[PAPER_LICENCE, CARD, PHOTO34], &[DRIVER, PERSON, ADDRESS], 15, CTR, NET),
    // Post.
    r("PST-001", "ارسال مرسوله سفارشی", "Registered mail (sefareshi)",
        "post", C::Postal, &[], &[ADDRESS], 5, CTR, NET),
    r("PST-002", "ارسال مرسوله پیشتاز", "Express mail (pishtaz)",
        "post", C::Postal, &[], &[ADDRESS], 5, CTR, NET),
    r("PST-003", "ارسال امانت پستی (بسته)", "Parcel post (amanat-e posti)",
        "post", C::Postal, &[], &[ADDRESS], 7, CTR, NET),
    r("PST-004", "ارسال مرسوله بین‌المللی", "International mail and parcels",
        "post", C::Postal, &[CARD], &[PERSON, ADDRESS], 12, CTR, PROG),
    r("PST-005", "اجاره صندوق پستی", "Post office box rental",
        "post", C::Postal, &[CARD], &[PERSON, ADDRESS], 10, CTR, PROG),
    r("PST-006", "صدور گواهی کد پستی", "Postal code certificate",
        "post", C::Postal, &[DEED_OR_LEASE], &[ADDRESS], 5, BOTH, NET),
    r("PST-007", "رهگیری مرسوله پستی", "Mail and parcel tracking",
        "post", C::Postal, &[], &["postal.tracking"], 2, BOTH, NET),
    // Tax.
    r("TAX-001", "صدور گواهی مفاصاحساب مالیاتی", "Tax clearance certificate (mafasa hesab)",
        "tax", C::Tax, &[CARD, TAX_CODE], &[TAX_CLEAR, PERSON], 10, BOTH, NET),
    r("TAX-002", "پیش‌ثبت‌نام و تشکیل پرونده مالیاتی", "Tax file registration (pre-registration)",
        "tax", C::Tax, &[CARD, DEED_OR_LEASE, BUSINESS_LICENCE_IF_ANY], &[PERSON, ADDRESS, MOBILE], 20, BOTH, NET),
    r("TAX-003", "تسلیم اظهارنامه مالیات بر درآمد مشاغل", "Filing the business income tax return",
        "tax", C::Tax, &[CARD, TAX_CODE, BOOKS], &[PERSON, TAX_CLEAR], 25, BOTH, NET),
    r("TAX-004", "تسلیم اظهارنامه مالیات بر ارزش افزوده", "Filing the VAT return",
        "tax", C::Tax, &[TAX_CODE, INVOICES], &[PERSON, TAX_CLEAR], 25, BOTH, NET),
    r("TAX-005", "صدور گواهی ماده ۱۸۷ (مالیات نقل و انتقال املاک)", "Property transfer tax certificate (Article 187)",
        "tax", C::Property, &[DEED, CARD, SALE_AGREEMENT], &[TAX_CLEAR, DEED_INQ], 20, CTR, PROG),
    r("TAX-006", "صدور گواهی ماده ۱۸۶ قانون مالیات‌های مستقیم", "Tax compliance certificate (Article 186)",
        "tax", C::Tax, &[CARD, TAX_CODE], &[TAX_CLEAR, PERSON], 10, BOTH, NET),
    // Social security and health insurance.
    r("SSO-001", "صدور گواهی سابقه بیمه", "Social security insurance record statement",
        "sso", C::SocialSecurity, &[CARD], &[SSO_RECORD, PERSON], 5, BOTH, NET),
    r("SSO-002", "صدور مفاصاحساب تأمین اجتماعی", "Social Security clearance certificate",
        "sso", C::SocialSecurity, &[CARD, CONTRACT], &["sso.clearance", PERSON], 20, CTR, PROG),
    r("SSO-003", "ثبت‌نام بیمه اختیاری", "Voluntary insurance enrolment",
        "sso", C::SocialSecurity, &[BIRTH, CARD, PHOTO34], &[SSO_RECORD, PERSON], 20, CTR, NET),
    r("SSO-004", "ثبت‌نام بیمه مشاغل آزاد", "Self-employed insurance enrolment",
        "sso", C::SocialSecurity, &[BIRTH, CARD, OCCUPATION], &[SSO_RECORD, PERSON], 20, CTR, PROG),
    r("SSO-005", "درخواست مستمری بازنشستگی", "Retirement pension application",
        "sso", C::SocialSecurity, &[BIRTH, CARD, SHEBA], &[SSO_RECORD, PERSON], 30, CTR, PROG),
    r("SSO-006", "ثبت درخواست بیمه بیکاری", "Unemployment insurance claim",
        "labour", C::SocialSecurity, &[CARD, TERMINATION, SHEBA], &[SSO_RECORD, PERSON], 20, CTR, PROG),
    r("HIN-001", "ثبت‌نام بیمه سلامت همگانی", "Universal health insurance enrolment",
        "health-insurance", C::Health, &[CARD, BIRTH], &[PERSON, SSO_RECORD, HEALTH_COVER], 10, BOTH, NET),
    r("HIN-002", "افزودن افراد تحت تکفل به بیمه سلامت", "Adding dependants to health insurance",
        "health-insurance", C::Health, &[CARD, DEPENDANTS], &[PERSON, HEALTH_COVER], 10, CTR, NET),
    r("HIN-003", "تمدید اعتبار بیمه سلامت", "Health insurance: extending cover",
        "health-insurance", C::Health, &[CARD], &[PERSON, HEALTH_COVER], 5, BOTH, NET),
    // Judiciary.
    r("JUD-001", "ثبت‌نام در سامانه ثنا (ابلاغ الکترونیک)", "SANA registration (electronic judicial notices)",
        "judiciary", C::Judicial, &[CARD], &[PERSON, MOBILE], 10, CTR, NET),
    r("JUD-002", "صدور گواهی عدم سوءپیشینه", "Criminal record certificate (no criminal record)",
        "judiciary", C::Judicial, &[BIRTH, CARD, PHOTO34], &[CRIMINAL, PERSON], 10, CTR, NET),
    r("JUD-003", "ثبت دادخواست", "Filing a civil petition",
        "judiciary", C::Judicial, &[CARD, EVIDENCE], &[PERSON, "judiciary.sana"], 30, CTR, NET),
    r("JUD-004", "ثبت شکوائیه", "Filing a criminal complaint",
        "judiciary", C::Judicial, &[CARD, EVIDENCE], &[PERSON, "judiciary.sana"], 25, CTR, NET),
    r("JUD-005", "درخواست گواهی انحصار وراثت", "Certificate of inheritance application",
        "judiciary", C::Judicial, &[DEATH_CERT, HEIRS, WITNESSES], &[PERSON, "judiciary.sana"], 30, CTR, PROG),
    // Deeds and companies.
    r("PRP-001", "درخواست صدور سند مالکیت المثنی", "Title deed: duplicate",
        "ssaa", C::Property, &[CARD, LOCAL_WITNESSES], &[DEED_INQ, PERSON], 30, CTR, NONE),
    r("PRP-002", "استعلام وضعیت ثبتی ملک", "Land registry status inquiry",
        "ssaa", C::Property, &[DEED], &[DEED_INQ], 10, BOTH, NET),
    r("BUS-001", "ثبت شرکت با مسئولیت محدود", "Registering a limited liability company",
        "ssaa", C::Business, &[PARTNERS_IDS, COMPANY_DOCS, CRIMINAL_RECORD], &[PERSON, CRIMINAL, "ssaa.company-name"], 40, BOTH, NET),
    r("BUS-002", "درخواست صدور پروانه کسب", "Guild business licence (parvaneh-ye kasb): application",
        "mimt", C::Business, &[CARD, DEED_OR_LEASE, MILITARY_CARD, CRIMINAL_RECORD, PHOTO34],
        &[PERSON, MILITARY, CRIMINAL, ADDRESS, TAX_CLEAR], 30, CTR, PROG),
    r("BNK-001", "استعلام وضعیت چک‌های برگشتی", "Returned-cheque status inquiry",
        "cbi", C::Business, &[CARD], &["cbi.returned-cheques"], 3, BOTH, NET),
    // Utilities and telecom.
    r("UTL-001", "درخواست انشعاب برق", "New electricity connection",
        "tavanir", C::Utilities, &[CARD, DEED_OR_LEASE, BUILDING_PERMIT], &[ADDRESS, DEED_INQ], 20, BOTH, NET),
    r("UTL-002", "درخواست انشعاب آب و فاضلاب", "New water and sewerage connection",
        "abfa", C::Utilities, &[CARD, DEED_OR_LEASE, BUILDING_PERMIT], &[ADDRESS, DEED_INQ], 20, BOTH, PROG),
    r("UTL-003", "درخواست انشعاب گاز", "New gas connection",
        "nigc", C::Utilities, &[CARD, DEED_OR_LEASE, GAS_APPROVAL], &[ADDRESS, DEED_INQ], 20, CTR, PROG),
    r("UTL-004", "درخواست نصب تلفن ثابت", "Fixed-line telephone installation",
        "tci", C::Utilities, &[CARD, DEED_OR_LEASE], &[PERSON, ADDRESS], 15, BOTH, NET),
    r("UTL-005", "صدور قبض المثنی برق", "Electricity bill: duplicate",
        "tavanir", C::Utilities, &[BILL_ID], &["utility.bill"], 3, BOTH, NET),
    r("UTL-006", "تغییر نام مشترک برق", "Electricity account: change of account holder",
        "tavanir", C::Utilities, &[CARD, DEED_OR_LEASE, LAST_BILL], &["utility.bill", DEED_INQ], 10, CTR, NET),
    r("UTL-007", "درخواست اینترنت پرسرعت (ADSL)", "Fixed broadband (ADSL) subscription",
        "tci", C::Utilities, &[CARD, LAST_BILL], &[PERSON], 10, BOTH, NET),
    r("UTL-008", "پرداخت قبوض آب، برق، گاز و تلفن", "Utility bill payment (water, electricity, gas, telephone)",
        "tci", C::Utilities, &[BILL_ID], &["utility.bill"], 3, BOTH, NET),
    // Welfare and subsidies.
    r("WLF-001", "ثبت‌نام یارانه نقدی", "Cash subsidy registration",
        "subsidy", C::Welfare, &[CARD, HOUSEHOLD, SHEBA], &[PERSON, HOUSEHOLD_INQ, MOBILE], 15, BOTH, NET),
    r("WLF-002", "اعتراض به حذف یارانه", "Objection to removal from the subsidy list",
        "subsidy", C::Welfare, &[CARD, INCOME_PROOF], &[HOUSEHOLD_INQ, PERSON], 15, BOTH, NET),
    r("WLF-003", "تغییر سرپرست خانوار در یارانه", "Subsidy: change of head of household",
        "subsidy", C::Welfare, &[CARD, CONSENT], &[HOUSEHOLD_INQ, PERSON], 15, CTR, PROG),
    r("WLF-004", "ثبت‌نام سهام عدالت", "Justice Shares registration",
        "privatization", C::Welfare, &[CARD, SHEBA], &[PERSON, HOUSEHOLD_INQ], 10, BOTH, NET),
    r("WLF-005", "درخواست پوشش حمایتی کمیته امداد", "Application for Relief Foundation support",
        "imam-relief", C::Welfare, &[CARD, HOUSEHOLD, DEED_OR_LEASE], &[PERSON, HOUSEHOLD_INQ, SSO_RECORD], 30, CTR, NONE),
    r("WLF-006", "ثبت‌نام طرح نهضت ملی مسکن", "National Housing Movement registration",
        "roads", C::Welfare, &[CARD, BIRTH, RESIDENCE], &[PERSON, DEED_INQ, HOUSEHOLD_INQ], 20, BOTH, NET),
    r("WLF-007", "صدور کارت معلولیت", "Disability card: issue",
        "welfare", C::Welfare, &[CARD, BIRTH, PHOTO34, MEDICAL_COMMISSION], &[PERSON], 20, CTR, NONE),
    // Education.
    r("EDU-001", "ثبت‌نام آزمون سراسری (کنکور)", "National university entrance exam (Konkur) registration",
        "sanjesh", C::Education, &[CARD, PHOTO_FILE, SCHOOL_RECORD], &[PERSON, SCHOOL, MILITARY], 20, BOTH, NET),
    r("EDU-002", "تأیید مدارک تحصیلی دیپلم برای خارج از کشور", "Verification of diploma certificates for use abroad",
        "education", C::Education, &[CARD, CERTIFICATE], &[PERSON, SCHOOL], 15, CTR, PROG),
    r("EDU-003", "صدور مدرک دیپلم المثنی", "High-school diploma: duplicate",
        "education", C::Education, &[CARD, BIRTH, PHOTO34, LOSS], &[PERSON, SCHOOL], 15, CTR, PROG),
];

/// What can be done to a licence, card or certificate. Bits index [`ACTIONS`].
struct Action {
    /// Persian title; `{}` is the object.
    fa: &'static str,
    /// English title; `{}` is the object.
    en: &'static str,
    /// Handling time as a share of the object's issue time, in percent.
    minutes_pct: u16,
    /// Document the action adds; `{}` is the object.
    doc: Option<Doc>,
    /// Whether the object's own inquiries run (otherwise only identity and address).
    full_inquiries: bool,
    /// Pure look-ups; these are the first to be networked.
    lookup: bool,
}

const fn a(
    fa: &'static str,
    en: &'static str,
    minutes_pct: u16,
    doc: Option<Doc>,
    full_inquiries: bool,
    lookup: bool,
) -> Action {
    Action {
        fa,
        en,
        minutes_pct,
        doc,
        full_inquiries,
        lookup,
    }
}

const ISSUE: u16 = 1 << 0;
const RENEW: u16 = 1 << 1;
const DUP: u16 = 1 << 2;
const EDIT: u16 = 1 << 3;
const CANCEL: u16 = 1 << 4;
const CHECK: u16 = 1 << 5;
const TRACK: u16 = 1 << 6;
const ADDR: u16 = 1 << 7;
const TRANSFER: u16 = 1 << 8;
const U_OWNER: u16 = 1 << 9;
const U_CAPACITY: u16 = 1 << 10;
const U_MOVE: u16 = 1 << 11;
const U_CUT: u16 = 1 << 12;
const U_RECONNECT: u16 = 1 << 13;
const U_REMOVE: u16 = 1 << 14;
const U_TARIFF: u16 = 1 << 15;

const LICENCE_ALL: u16 = ISSUE | RENEW | DUP | EDIT | CANCEL | CHECK;
const PREMISES: u16 = LICENCE_ALL | ADDR;
const UTILITY: u16 = U_OWNER | U_CAPACITY | U_MOVE | U_CUT | U_RECONNECT | U_REMOVE | U_TARIFF;

#[rustfmt::skip]
const ACTIONS: [Action; 16] = [
    a("صدور {}", "{}: issue", 100, None, true, false),
    a("تمدید {}", "{}: renewal", 70, Some(("اصل {}", "{} (original)")), true, false),
    a("صدور {} المثنی", "{}: duplicate", 70, Some(LOSS), false, false),
    a("اصلاح مشخصات {}", "{}: correction of details", 60,
        Some(("مدرک مثبت اصلاح", "Document proving the correction")), false, false),
    a("ابطال {}", "{}: cancellation", 50, Some(("اصل {}", "{} (original)")), false, false),
    a("استعلام اعتبار {}", "{}: validity inquiry", 15, None, false, true),
    a("پیگیری درخواست {}", "{}: request tracking", 15, None, false, true),
    a("تغییر نشانی {}", "{}: change of address", 60, Some(DEED_OR_LEASE), false, false),
    a("انتقال {} به غیر", "{}: transfer to another person", 100,
        Some(("کارت ملی انتقال‌گیرنده", "Transferee's national ID card")), true, false),
    a("تغییر نام مشترک {}", "{}: change of account holder", 60, Some(DEED_OR_LEASE), false, false),
    a("افزایش ظرفیت {}", "{}: capacity increase", 80, Some(LAST_BILL), false, false),
    a("جابه‌جایی {}", "{}: relocation", 80, Some(LAST_BILL), false, false),
    a("قطع موقت {}", "{}: temporary disconnection", 40, Some(LAST_BILL), false, false),
    a("وصل مجدد {}", "{}: reconnection", 40, Some(LAST_BILL), false, false),
    a("جمع‌آوری {}", "{}: removal", 50, Some(LAST_BILL), false, false),
    a("تغییر تعرفه {}", "{}: tariff change", 50, Some(LAST_BILL), false, false),
];

/// A licence, card or certificate of a real agency, and the actions it supports.
struct Object {
    fa: &'static str,
    en: &'static str,
    agency: &'static str,
    category: Category,
    docs: &'static [Doc],
    inquiries: &'static [&'static str],
    minutes: u16,
    actions: u16,
}

#[allow(clippy::too_many_arguments)]
const fn o(
    fa: &'static str,
    en: &'static str,
    agency: &'static str,
    category: Category,
    docs: &'static [Doc],
    inquiries: &'static [&'static str],
    minutes: u16,
    actions: u16,
) -> Object {
    Object {
        fa,
        en,
        agency,
        category,
        docs,
        inquiries,
        minutes,
        actions,
    }
}

const PERSONAL: &[&str] = &[PERSON];
const PERSONAL_CLEAN: &[&str] = &[PERSON, CRIMINAL];
const PERSONAL_MAN: &[&str] = &[PERSON, CRIMINAL, MILITARY];
const BUSINESS: &[&str] = &[PERSON, ADDRESS, TAX_CLEAR];
const BUSINESS_FULL: &[&str] = &[PERSON, ADDRESS, TAX_CLEAR, SSO_RECORD];
const PREMISE: &[&str] = &[PERSON, ADDRESS];

/// The objects of the generated part, in catalogue order.
#[rustfmt::skip]
const OBJECTS: &[Object] = &[
    o("کارت آمایش اتباع خارجی", "Amayesh card for foreign nationals", "interior", C::Identity,
        &[PASSPORT, PHOTO34], &[ADDRESS], 20, ISSUE | RENEW | DUP | EDIT | CHECK),
    o("برگه تردد اتباع خارجی", "Travel pass for foreign nationals", "interior", C::Travel,
        &[PHOTO34], &[ADDRESS], 15, ISSUE | RENEW | CHECK | TRACK),
    o("پروانه اقامت اتباع خارجی", "Residence permit for foreign nationals", "police", C::Travel,
        &[PASSPORT, PHOTO46], &[ADDRESS, CRIMINAL], 25, ISSUE | RENEW | DUP | CHECK | TRACK),
    o("کارت معافیت", "Military service exemption card", "nezam-vazifeh", C::Military,
        &[BIRTH, CARD, PHOTO34], &[PERSON, MILITARY], 15, DUP | EDIT | CHECK),
    o("پروانه آموزشگاه رانندگی", "Driving school licence", "police", C::Vehicle,
        &[CARD, DEED_OR_LEASE, CRIMINAL_RECORD], BUSINESS, 30, PREMISES),
    o("پلاک منطقه آزاد", "Free-zone vehicle plate", "police", C::Vehicle,
        &[VEHICLE_DOC, VEHICLE_CARD, CARD], &[VEHICLE, FINES, PERSON], 20, ISSUE | RENEW | CANCEL | CHECK),
    o("کارت سوخت", "Fuel card", "niopdc", C::Vehicle,
        &[VEHICLE_CARD, CARD], &[VEHICLE], 10, EDIT | CANCEL | CHECK | TRACK),
    o("پروانه تاکسیرانی", "Taxi operating permit", "municipality", C::Vehicle,
        &[CARD, VEHICLE_CARD, LICENCE, CRIMINAL_RECORD], &[PERSON, CRIMINAL, VEHICLE, DRIVER], 25,
        LICENCE_ALL | TRANSFER),
    o("کارت شناسایی رانندگان تاکسی", "Taxi driver identity card", "municipality", C::Vehicle,
        &[CARD, LICENCE, PHOTO34], &[PERSON, DRIVER], 15, ISSUE | RENEW | DUP | CHECK),
    o("کارت هوشمند راننده", "Road transport driver smart card", "rmto", C::Vehicle,
        &[CARD, LICENCE, PHOTO34, MEDICAL], &[PERSON, DRIVER, SSO_RECORD], 20, ISSUE | RENEW | DUP | EDIT | CHECK),
    o("کارت هوشمند ناوگان", "Road fleet vehicle smart card", "rmto", C::Vehicle,
        &[VEHICLE_DOC, VEHICLE_CARD, THIRD_PARTY], &[VEHICLE, FINES], 20, LICENCE_ALL),
    o("پروانه فعالیت شرکت حمل و نقل بار", "Freight transport company licence", "rmto", C::Business,
        &[COMPANY_DOCS, DEED_OR_LEASE], BUSINESS_FULL, 35, PREMISES),
    o("پروانه ساختمان", "Building permit", "municipality", C::Property,
        &[DEED, CARD], &[PERSON, DEED_INQ, ADDRESS], 40, LICENCE_ALL | TRACK),
    o("گواهی پایان‌کار ساختمان", "Building completion certificate", "municipality", C::Property,
        &[DEED, BUILDING_PERMIT], &[DEED_INQ, ADDRESS], 30, ISSUE | DUP | CHECK | TRACK),
    o("گواهی عدم خلاف ساختمان", "Building no-violation certificate", "municipality", C::Property,
        &[DEED, BUILDING_PERMIT], &[DEED_INQ, ADDRESS], 25, ISSUE | DUP | CHECK | TRACK),
    o("مجوز حفاری معابر", "Street excavation permit", "municipality", C::Utilities,
        &[CARD], PREMISE, 20, ISSUE | RENEW | CANCEL | TRACK),
    o("مجوز نصب تابلوی سردر", "Shop-sign permit", "municipality", C::Business,
        &[CARD, DEED_OR_LEASE], PREMISE, 15, ISSUE | RENEW | CANCEL | CHECK),
    o("پروانه کسب", "Guild business licence", "mimt", C::Business,
        &[CARD, DEED_OR_LEASE], BUSINESS, 30, RENEW | DUP | EDIT | CANCEL | CHECK | TRACK | ADDR),
    o("جواز تأسیس واحد صنعتی", "Industrial unit establishment permit", "mimt", C::Business,
        &[COMPANY_DOCS, DEED_OR_LEASE], BUSINESS_FULL, 40, ISSUE | RENEW | EDIT | CANCEL | CHECK | TRACK),
    o("پروانه بهره‌برداری واحد صنعتی", "Industrial unit operating licence", "mimt", C::Business,
        &[COMPANY_DOCS, DEED_OR_LEASE], BUSINESS_FULL, 40, LICENCE_ALL),
    o("کارت بازرگانی", "Commercial (trading) card", "mimt", C::Business,
        &[CARD, DEED_OR_LEASE, CRIMINAL_RECORD], &[PERSON, CRIMINAL, TAX_CLEAR, ADDRESS], 30, LICENCE_ALL),
    o("شناسه کالا (ایران‌کد)", "Product ID (Iran Code)", "mimt", C::Business,
        &[CARD], &[TAX_CLEAR], 15, ISSUE | EDIT | CANCEL | CHECK),
    o("پروانه بهره‌برداری معدن", "Mining operating licence", "mimt", C::Business,
        &[CARD, COMPANY_DOCS], BUSINESS_FULL, 45, ISSUE | RENEW | EDIT | CANCEL | CHECK),
    o("پروانه اکتشاف معدن", "Mining exploration licence", "mimt", C::Business,
        &[CARD, COMPANY_DOCS], BUSINESS, 40, ISSUE | RENEW | CANCEL | CHECK | TRACK),
    o("کد اقتصادی", "Economic code", "tax", C::Tax,
        &[CARD, DEED_OR_LEASE], &[PERSON, ADDRESS], 15, ISSUE | EDIT | CANCEL | CHECK),
    o("گواهی ثبت‌نام مالیات بر ارزش افزوده", "VAT registration certificate", "tax", C::Tax,
        &[CARD, TAX_CODE], &[PERSON, TAX_CLEAR], 20, ISSUE | DUP | EDIT | CANCEL | CHECK),
    o("برگ تشخیص مالیات", "Tax assessment notice", "tax", C::Tax,
        &[CARD, TAX_CODE], &[TAX_CLEAR], 15, DUP | CHECK | TRACK),
    o("کد کارگاه", "Employer workshop code", "sso", C::SocialSecurity,
        &[CARD, DEED_OR_LEASE], &[PERSON, ADDRESS, SSO_RECORD], 20, ISSUE | EDIT | CANCEL | CHECK | ADDR),
    o("گواهی کسر از حقوق مستمری‌بگیران", "Salary-deduction certificate for pensioners", "sso", C::SocialSecurity,
        &[CARD], &[PERSON, SSO_RECORD], 10, ISSUE | DUP | CANCEL | CHECK),
    o("حکم مستمری بازنشستگی", "Retirement pension order", "sso", C::SocialSecurity,
        &[CARD], &[PERSON, SSO_RECORD], 15, DUP | EDIT | CHECK | TRACK),
    o("حکم حقوق بازنشستگی کشوری", "Civil-service pension order", "cspf", C::SocialSecurity,
        &[CARD], PERSONAL, 15, DUP | EDIT | CHECK | TRACK),
    o("گواهی کسر از حقوق بازنشستگان کشوری", "Salary-deduction certificate for civil-service pensioners",
        "cspf", C::SocialSecurity, &[CARD], PERSONAL, 10, ISSUE | DUP | CANCEL | CHECK),
    o("دفترچه بیمه سلامت", "Health insurance booklet", "health-insurance", C::Health,
        &[CARD, BIRTH, PHOTO34], &[PERSON, SSO_RECORD], 10, ISSUE | RENEW | DUP | EDIT | CHECK),
    o("پروانه مطب", "Medical practice licence", "health", C::Health,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], PREMISE, 30, PREMISES),
    o("پروانه داروخانه", "Pharmacy licence", "health", C::Health,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], BUSINESS, 35, PREMISES),
    o("پروانه آزمایشگاه تشخیص طبی", "Medical laboratory licence", "health", C::Health,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], BUSINESS, 35, PREMISES),
    o("پروانه مسئول فنی", "Technical manager licence", "health", C::Health,
        &[CARD, CERTIFICATE, PHOTO34], PERSONAL_CLEAN, 20, ISSUE | RENEW | CANCEL | CHECK),
    o("کارت بهداشت", "Health card for food and public-place workers", "health", C::Health,
        &[CARD, PHOTO34, MEDICAL], PERSONAL, 15, ISSUE | RENEW | DUP | CHECK),
    o("پروانه ساخت فرآورده‌های غذایی", "Food manufacturing licence", "health", C::Health,
        &[COMPANY_DOCS, DEED_OR_LEASE], BUSINESS_FULL, 40, ISSUE | RENEW | EDIT | CANCEL | CHECK),
    o("گواهی سلامت پزشکی", "Medical fitness certificate", "health", C::Health,
        &[CARD, MEDICAL], PERSONAL, 10, ISSUE | DUP | CHECK),
    o("کارنامه تحصیلی", "School report card", "education", C::Education,
        &[CARD, BIRTH], &[PERSON, SCHOOL], 10, ISSUE | DUP | EDIT | CHECK),
    o("مجوز تأسیس مدرسه غیردولتی", "Private school establishment permit", "education", C::Education,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], PERSONAL_CLEAN, 40, ISSUE | RENEW | EDIT | CANCEL | CHECK | TRACK),
    o("گواهی اشتغال به تحصیل دانش‌آموز", "Pupil enrolment certificate", "education", C::Education,
        &[CARD, BIRTH], &[PERSON, SCHOOL], 5, ISSUE | DUP | CHECK),
    o("مدرک تحصیلی دانشگاهی", "University degree certificate", "msrt", C::Education,
        &[CARD, CERTIFICATE], &[PERSON, SCHOOL], 15, DUP | EDIT | CHECK | TRACK),
    o("گواهی ارزشیابی مدرک تحصیلی خارج از کشور", "Foreign degree evaluation certificate", "msrt", C::Education,
        &[CARD, PASSPORT, TRANSLATION], PERSONAL, 25, ISSUE | DUP | CHECK | TRACK),
    o("کارت ورود به جلسه آزمون", "Exam admission card", "sanjesh", C::Education,
        &[CARD], PERSONAL, 5, ISSUE | DUP | EDIT),
    o("کارنامه آزمون سراسری", "National entrance exam score report", "sanjesh", C::Education,
        &[CARD], PERSONAL, 5, DUP | CHECK | TRACK),
    o("کارنامه آزمون کارشناسی ارشد", "Master's entrance exam score report", "sanjesh", C::Education,
        &[CARD], PERSONAL, 5, DUP | CHECK | TRACK),
    o("مجوز مهدکودک", "Day-care centre licence", "welfare", C::Welfare,
        &[CARD, DEED_OR_LEASE, CRIMINAL_RECORD], PERSONAL_CLEAN, 35, PREMISES),
    o("مجوز مرکز نگهداری سالمندان", "Elderly care centre licence", "welfare", C::Welfare,
        &[CARD, DEED_OR_LEASE, CRIMINAL_RECORD], PERSONAL_CLEAN, 35, ISSUE | RENEW | EDIT | CANCEL | CHECK),
    o("مجوز مرکز توانبخشی", "Rehabilitation centre licence", "welfare", C::Welfare,
        &[CARD, DEED_OR_LEASE, CRIMINAL_RECORD], PERSONAL_CLEAN, 35, ISSUE | RENEW | EDIT | CANCEL | CHECK),
    o("کارت معلولیت", "Disability card", "welfare", C::Welfare,
        &[CARD, PHOTO34], PERSONAL, 15, RENEW | DUP | EDIT | CHECK),
    o("پرونده مددجویی", "Relief beneficiary file", "imam-relief", C::Welfare,
        &[CARD, HOUSEHOLD], &[PERSON, HOUSEHOLD_INQ], 20, EDIT | CHECK | TRACK | ADDR),
    o("کارت ایثارگری", "Veterans' (isargari) card", "martyrs", C::Welfare,
        &[CARD, BIRTH, PHOTO34], PERSONAL, 15, ISSUE | RENEW | DUP | EDIT | CHECK),
    o("پروانه حق‌العمل‌کاری گمرکی", "Customs broker licence", "customs", C::Business,
        &[CARD, CRIMINAL_RECORD, CERTIFICATE], PERSONAL_MAN, 30, ISSUE | RENEW | DUP | CANCEL | CHECK),
    o("پروانه سبز گمرکی", "Customs release (green) licence", "customs", C::Business,
        &[CARD, INVOICES], &[TAX_CLEAR], 20, DUP | CHECK | TRACK),
    o("پروانه کار اتباع خارجی", "Work permit for foreign nationals", "labour", C::Business,
        &[PASSPORT, PHOTO34], &[ADDRESS, CRIMINAL], 30, LICENCE_ALL),
    o("مجوز تأسیس شرکت تعاونی", "Cooperative establishment permit", "labour", C::Business,
        &[PARTNERS_IDS, COMPANY_DOCS], &[PERSON, CRIMINAL], 35, ISSUE | EDIT | CANCEL | CHECK | TRACK),
    o("پروانه مؤسسه کاریابی", "Employment agency licence", "labour", C::Business,
        &[CARD, DEED_OR_LEASE, CRIMINAL_RECORD], PERSONAL_MAN, 35, PREMISES),
    o("گواهینامه مهارت فنی و حرفه‌ای", "Vocational skill certificate", "tvto", C::Education,
        &[CARD, PHOTO34], PERSONAL, 10, ISSUE | DUP | EDIT | CHECK),
    o("پروانه آموزشگاه آزاد فنی و حرفه‌ای", "Private vocational school licence", "tvto", C::Education,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], PERSONAL_MAN, 35, PREMISES),
    o("پروانه دفتر خدمات مسافرتی", "Travel agency licence", "heritage", C::Business,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], PERSONAL_MAN, 35, PREMISES),
    o("کارت راهنمای گردشگری", "Tour guide card", "heritage", C::Business,
        &[CARD, PHOTO34, CERTIFICATE], PERSONAL_CLEAN, 20, ISSUE | RENEW | DUP | CHECK),
    o("مجوز اقامتگاه بوم‌گردی", "Eco-lodge permit", "heritage", C::Business,
        &[CARD, DEED], &[PERSON, DEED_INQ, ADDRESS], 30, ISSUE | RENEW | EDIT | CANCEL | CHECK),
    o("پروانه تولید صنایع دستی", "Handicrafts production licence", "heritage", C::Business,
        &[CARD, PHOTO34], PERSONAL, 20, ISSUE | RENEW | DUP | EDIT | CHECK),
    o("پروانه نشر", "Publisher licence", "ershad", C::Business,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], PERSONAL_MAN, 30, PREMISES),
    o("مجوز نشر کتاب", "Book publication permit", "ershad", C::Business,
        &[CARD], PERSONAL, 15, ISSUE | CHECK | TRACK),
    o("مجوز انتشار نشریه", "Periodical publication licence", "ershad", C::Business,
        &[CARD, CERTIFICATE], PERSONAL_CLEAN, 30, ISSUE | RENEW | EDIT | CANCEL | CHECK),
    o("پروانه شکار", "Hunting licence", "environment", C::Business,
        &[CARD, PHOTO34], PERSONAL_CLEAN, 15, ISSUE | RENEW | DUP | CANCEL | CHECK),
    o("پروانه صید ورزشی", "Recreational fishing licence", "environment", C::Business,
        &[CARD, PHOTO34], PERSONAL, 10, ISSUE | RENEW | DUP | CHECK),
    o("مجوز زیست‌محیطی واحد تولیدی", "Environmental permit for a production unit", "environment", C::Business,
        &[COMPANY_DOCS, DEED_OR_LEASE], BUSINESS, 35, ISSUE | RENEW | CANCEL | CHECK | TRACK),
    o("پروانه بهره‌برداری دامداری", "Livestock farm operating licence", "agriculture", C::Business,
        &[CARD, DEED], &[PERSON, DEED_INQ, ADDRESS], 30, LICENCE_ALL),
    o("پروانه بهره‌برداری مرغداری", "Poultry farm operating licence", "agriculture", C::Business,
        &[CARD, DEED], &[PERSON, DEED_INQ, ADDRESS], 30, LICENCE_ALL),
    o("پروانه تأسیس گلخانه", "Greenhouse establishment permit", "agriculture", C::Business,
        &[CARD, DEED], &[PERSON, DEED_INQ, ADDRESS], 30, ISSUE | RENEW | EDIT | CANCEL | CHECK),
    o("پروانه صید تجاری", "Commercial fishing licence", "agriculture", C::Business,
        &[CARD, PHOTO34], PERSONAL_CLEAN, 20, ISSUE | RENEW | DUP | CANCEL | CHECK),
    o("مجوز تغییر کاربری اراضی کشاورزی", "Farmland change-of-use permit", "agriculture", C::Property,
        &[CARD, DEED], &[PERSON, DEED_INQ], 40, ISSUE | CHECK | TRACK),
    o("پروانه اشتغال به کار مهندسی", "Engineering practice licence", "roads", C::Business,
        &[CARD, CERTIFICATE, PHOTO34], PERSONAL_MAN, 25, ISSUE | RENEW | DUP | EDIT | CHECK),
    o("سند مالکیت تک‌برگ", "Single-sheet title deed", "ssaa", C::Property,
        &[DEED, CARD], &[PERSON, DEED_INQ], 30, ISSUE | EDIT | CHECK | TRACK),
    o("شناسه ملی اشخاص حقوقی", "National ID of a legal entity", "ssaa", C::Business,
        &[COMPANY_DOCS], &[ADDRESS], 15, ISSUE | EDIT | CHECK),
    o("گواهی ثبت علامت تجاری", "Trademark registration certificate", "ssaa", C::Business,
        &[CARD], PERSONAL, 25, LICENCE_ALL | TRACK | TRANSFER),
    o("گواهی ثبت اختراع", "Patent certificate", "ssaa", C::Business,
        &[CARD], PERSONAL, 30, ISSUE | DUP | EDIT | CANCEL | CHECK | TRACK | TRANSFER),
    o("گواهی انحصار وراثت", "Certificate of inheritance", "judiciary", C::Judicial,
        &[HEIRS], PERSONAL, 20, DUP | EDIT | CHECK | TRACK),
    o("رونوشت مصدق رأی دادگاه", "Certified copy of a court ruling", "judiciary", C::Judicial,
        &[CARD], PERSONAL, 15, ISSUE | CHECK | TRACK),
    o("حساب کاربری ثنا", "SANA account", "judiciary", C::Judicial,
        &[CARD], &[PERSON, MOBILE], 10, EDIT | CHECK),
    o("گواهی رفع سوءاثر چک برگشتی", "Returned-cheque clearance certificate", "cbi", C::Business,
        &[CARD], PERSONAL, 10, ISSUE | DUP | CHECK),
    o("فیش حج تمتع", "Hajj Tamattu' deposit slip", "hajj", C::Travel,
        &[CARD], PERSONAL, 15, CHECK | CANCEL | TRANSFER),
    o("انشعاب برق", "Electricity connection", "tavanir", C::Utilities,
        &[CARD], &[ADDRESS], 20, UTILITY & !U_OWNER),
    o("انشعاب آب", "Water connection", "abfa", C::Utilities,
        &[CARD], &[ADDRESS], 20, UTILITY),
    o("انشعاب فاضلاب", "Sewerage connection", "abfa", C::Utilities,
        &[CARD], &[ADDRESS], 20, U_OWNER | U_MOVE | U_REMOVE),
    o("انشعاب گاز", "Gas connection", "nigc", C::Utilities,
        &[CARD], &[ADDRESS], 20, UTILITY),
    o("خط تلفن ثابت", "Fixed telephone line", "tci", C::Utilities,
        &[CARD], &[ADDRESS], 15, U_OWNER | U_MOVE | U_CUT | U_RECONNECT | U_REMOVE),
    o("پروانه مؤسسه حمل و نقل مسافر", "Passenger transport company licence", "rmto", C::Business,
        &[COMPANY_DOCS, DEED_OR_LEASE], BUSINESS_FULL, 35, PREMISES),
    o("پروانه آژانس تاکسی تلفنی", "Radio-taxi agency licence", "municipality", C::Vehicle,
        &[CARD, DEED_OR_LEASE, CRIMINAL_RECORD], BUSINESS, 30, PREMISES),
    o("پروانه مطب دامپزشکی", "Veterinary clinic licence", "agriculture", C::Health,
        &[CARD, DEED_OR_LEASE, CERTIFICATE], PREMISE, 30, PREMISES),
];

/// Catalogue code prefix of generated services, by category.
fn category_prefix(c: Category) -> &'static str {
    match c {
        Category::Identity => "IDN",
        Category::Travel => "TRV",
        Category::Vehicle => "VHC",
        Category::Postal => "PSL",
        Category::Tax => "TXS",
        Category::SocialSecurity => "INS",
        Category::Judicial => "JDC",
        Category::Property => "PRO",
        Category::Business => "BIZ",
        Category::Utilities => "UTS",
        Category::Education => "EDS",
        Category::Health => "HLT",
        Category::Military => "MLS",
        Category::Welfare => "WLS",
    }
}

fn text((fa, en): Doc) -> LocalizedText {
    LocalizedText::new(fa, en)
}

#[allow(clippy::too_many_arguments)]
fn build(
    code: String,
    title: LocalizedText,
    agency: &str,
    category: Category,
    docs: Vec<LocalizedText>,
    inquiries: Vec<String>,
    minutes: u16,
    channel: Channel,
    digitization: Digitization,
) -> Service {
    Service {
        code: ServiceCode::parse(&code).expect("catalogue codes are valid"),
        title,
        agency: AgencyCode::parse(agency).expect("catalogue agency codes are valid"),
        category,
        required_documents: docs,
        required_inquiries: inquiries,
        avg_handling_minutes: minutes,
        channel,
        digitization,
    }
}

/// One generated service before its digitization is decided.
struct Draft {
    code: String,
    title: LocalizedText,
    agency: &'static str,
    category: Category,
    docs: Vec<LocalizedText>,
    inquiries: Vec<String>,
    minutes: u16,
    lookup: bool,
}

fn drafts(needed: usize, taken: &mut HashSet<String>) -> Vec<Draft> {
    let mut out = Vec::with_capacity(needed);
    let mut next_number = std::collections::HashMap::<&'static str, u32>::new();
    'objects: for obj in OBJECTS {
        for (bit, action) in ACTIONS.iter().enumerate() {
            if obj.actions & (1 << bit) == 0 {
                continue;
            }
            if out.len() == needed {
                break 'objects;
            }
            let fa = action.fa.replace("{}", obj.fa);
            let en = action.en.replace("{}", obj.en);
            if !taken.insert(fa.clone()) || !taken.insert(en.clone()) {
                continue;
            }
            let mut docs: Vec<LocalizedText> = obj.docs.iter().copied().map(text).collect();
            if let Some((dfa, den)) = action.doc {
                let doc = LocalizedText::new(dfa.replace("{}", obj.fa), den.replace("{}", obj.en));
                if !docs.contains(&doc) {
                    docs.push(doc);
                }
            }
            let inquiries: Vec<String> = if action.full_inquiries {
                let mut v: Vec<String> = vec![PERSON.to_string()];
                for i in obj.inquiries {
                    if !v.iter().any(|x| x == i) {
                        v.push((*i).to_string());
                    }
                }
                v
            } else if obj.category == Category::Utilities {
                vec![ADDRESS.to_string(), "utility.bill".to_string()]
            } else {
                vec![PERSON.to_string()]
            };
            let minutes = (u32::from(obj.minutes) * u32::from(action.minutes_pct) / 100).max(2);
            let prefix = category_prefix(obj.category);
            let n = next_number.entry(prefix).or_insert(101);
            let code = format!("{prefix}-{n:03}");
            *n += 1;
            out.push(Draft {
                code,
                title: LocalizedText::new(fa, en),
                agency: obj.agency,
                category: obj.category,
                docs,
                inquiries,
                minutes: minutes as u16,
                lookup: action.lookup,
            });
        }
    }
    assert_eq!(
        out.len(),
        needed,
        "the object table is too small for a catalogue of {SERVICE_COUNT}"
    );
    out
}

/// The catalogue, exactly [`SERVICE_COUNT`] services, identical on every call.
pub(crate) fn services() -> Vec<Service> {
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(SERVICE_COUNT);
    let mut networked = 0;
    let mut in_progress = 0;
    for s in REAL {
        taken.insert(s.fa.to_string());
        taken.insert(s.en.to_string());
        match s.digitization {
            Digitization::Networked => networked += 1,
            Digitization::InProgress => in_progress += 1,
            Digitization::NotStarted => {}
        }
        out.push(build(
            s.code.to_string(),
            LocalizedText::new(s.fa, s.en),
            s.agency,
            s.category,
            s.docs.iter().copied().map(text).collect(),
            s.inquiries.iter().map(|i| (*i).to_string()).collect(),
            s.minutes,
            s.channel,
            s.digitization,
        ));
    }

    let drafts = drafts(SERVICE_COUNT - REAL.len(), &mut taken);
    // Decide digitization by rank: look-ups first, then a fixed pseudo-random order. The seed
    // is a constant because the catalogue is the same in every nation.
    let mut rng = Rng::new(0x05EB_1CE5);
    let mut order: Vec<(u64, usize)> = drafts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let bias = if d.lookup { 0 } else { 1 << 62 };
            (bias + (rng.next_u64() >> 2), i)
        })
        .collect();
    order.sort_unstable();
    let mut level = vec![Digitization::NotStarted; drafts.len()];
    let want_net = NETWORKED_TOTAL.saturating_sub(networked);
    let want_prog = IN_PROGRESS_TOTAL.saturating_sub(in_progress);
    for (rank, (_, i)) in order.into_iter().enumerate() {
        level[i] = if rank < want_net {
            Digitization::Networked
        } else if rank < want_net + want_prog {
            Digitization::InProgress
        } else {
            Digitization::NotStarted
        };
    }
    for (d, digitization) in drafts.into_iter().zip(level) {
        let channel = match digitization {
            Digitization::Networked if d.lookup => Channel::Online,
            Digitization::Networked => Channel::Both,
            _ => Channel::Counter,
        };
        out.push(build(
            d.code,
            d.title,
            d.agency,
            d.category,
            d.docs,
            d.inquiries,
            d.minutes,
            channel,
            digitization,
        ));
    }
    out
}
