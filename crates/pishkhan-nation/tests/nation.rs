//! The demo nation, checked through the public API only.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use pishkhan_domain::model::{Category, Digitization, OfficeStatus, Role, Weekday};
use pishkhan_nation::{
    DEFAULT_SEED, DEMO_PASSWORD, Nation, OFFICE_COUNT, SERVICE_COUNT, STAFF_COUNT, agencies,
    demo_logins, generate, provinces, services,
};

fn nation() -> &'static Nation {
    static NATION: OnceLock<Nation> = OnceLock::new();
    NATION.get_or_init(|| generate(DEFAULT_SEED))
}

/// A digest of everything in the nation, through its `Debug` form.
fn digest(n: &Nation) -> u64 {
    let mut h = DefaultHasher::new();
    format!("{n:?}").hash(&mut h);
    h.finish()
}

fn has_arabic_letters(s: &str) -> bool {
    // Arabic yeh, kaf and alef maksura instead of Persian ی and ک.
    s.contains(['\u{064A}', '\u{0643}', '\u{0649}'])
}

#[test]
fn exact_counts() {
    let n = nation();
    assert_eq!(n.provinces.len(), 31);
    assert_eq!(n.services.len(), SERVICE_COUNT);
    assert_eq!(SERVICE_COUNT, 550);
    assert_eq!(n.offices.len(), OFFICE_COUNT);
    assert_eq!(OFFICE_COUNT, 17_000);
    assert_eq!(n.staff.len(), STAFF_COUNT);
    assert_eq!(STAFF_COUNT, 40_000);
    assert!(n.agencies.len() >= 22);
    assert_eq!(DEMO_PASSWORD, "demo1234");
}

#[test]
fn same_seed_same_nation() {
    let again = generate(DEFAULT_SEED);
    assert!(&again == nation());
    assert_eq!(digest(&again), digest(nation()));
}

/// Pinned values of the default nation. The demo must not change silently: if this fails
/// after a deliberate change to the tables or the generator, update the values here.
#[test]
fn default_nation_is_pinned() {
    let n = nation();
    let o = &n.offices[0];
    assert_eq!(o.code.to_string(), "11000001");
    assert_eq!(o.name.fa, "دفتر پیشخوان دولت ۱ تهران");
    assert_eq!(o.postal_code.as_str(), "1693463451");
    assert_eq!(o.phone, "021-66905923");
    assert_eq!(o.licence_no, "PK-1393-00001");
    assert_eq!(n.staff[0].national_code.as_str(), "9757922013");
    assert_eq!(n.staff[1].mobile.as_str(), "09378115308");
    assert_eq!(n.offices[16_999].code.to_string(), "41000123");
}

#[test]
fn different_seeds_differ() {
    let other = generate(7);
    let n = nation();
    assert_eq!(other.offices.len(), OFFICE_COUNT);
    assert_eq!(other.staff.len(), STAFF_COUNT);
    assert_ne!(digest(&other), digest(n));
    assert_ne!(other.offices[0].postal_code, n.offices[0].postal_code);
    assert_ne!(other.staff[0].national_code, n.staff[0].national_code);
    // Fixed tables do not depend on the seed.
    assert_eq!(other.services, n.services);
    assert_eq!(other.provinces, n.provinces);
    // Neither do office codes or the demo office.
    assert_eq!(other.offices[0].code, n.offices[0].code);
}

#[test]
fn provinces_are_the_31_of_iran() {
    let ps = provinces();
    assert_eq!(ps.len(), 31);
    let ids: Vec<u8> = ps.iter().map(|p| p.id).collect();
    assert_eq!(ids, (1..=31).collect::<Vec<_>>());
    let fa: HashSet<&str> = ps.iter().map(|p| p.name.fa.as_str()).collect();
    let en: HashSet<&str> = ps.iter().map(|p| p.name.en.as_str()).collect();
    assert_eq!(fa.len(), 31);
    assert_eq!(en.len(), 31);
    let by_en: HashMap<&str, _> = ps.iter().map(|p| (p.name.en.as_str(), p)).collect();
    for (en, fa, capital_en, capital_fa) in [
        ("Tehran", "تهران", "Tehran", "تهران"),
        ("East Azerbaijan", "آذربایجان شرقی", "Tabriz", "تبریز"),
        ("West Azerbaijan", "آذربایجان غربی", "Urmia", "ارومیه"),
        ("Razavi Khorasan", "خراسان رضوی", "Mashhad", "مشهد"),
        ("Isfahan", "اصفهان", "Isfahan", "اصفهان"),
        ("Fars", "فارس", "Shiraz", "شیراز"),
        ("Khuzestan", "خوزستان", "Ahvaz", "اهواز"),
        (
            "Sistan and Baluchestan",
            "سیستان و بلوچستان",
            "Zahedan",
            "زاهدان",
        ),
        (
            "Kohgiluyeh and Boyer-Ahmad",
            "کهگیلویه و بویراحمد",
            "Yasuj",
            "یاسوج",
        ),
        (
            "Chaharmahal and Bakhtiari",
            "چهارمحال و بختیاری",
            "Shahrekord",
            "شهرکرد",
        ),
        ("Alborz", "البرز", "Karaj", "کرج"),
        ("Hormozgan", "هرمزگان", "Bandar Abbas", "بندرعباس"),
        ("Ilam", "ایلام", "Ilam", "ایلام"),
    ] {
        let p = by_en.get(en).unwrap_or_else(|| panic!("{en} missing"));
        assert_eq!(p.name.fa, fa);
        assert_eq!(p.capital.en, capital_en);
        assert_eq!(p.capital.fa, capital_fa);
    }
    // Ordered by 2016 population, largest first; the total is the census total.
    assert_eq!(ps[0].name.en, "Tehran");
    assert!(ps.windows(2).all(|w| w[0].population >= w[1].population));
    let total: u64 = ps.iter().map(|p| u64::from(p.population)).sum();
    assert_eq!(total, 79_926_270);
    for p in &ps {
        assert!(
            (24.0..=40.5).contains(&p.lat) && (44.0..=63.5).contains(&p.lon),
            "{p:?}"
        );
        assert!(!has_arabic_letters(&p.name.fa) && !has_arabic_letters(&p.capital.fa));
    }
}

#[test]
fn agencies_are_real_and_unique() {
    let a = agencies();
    assert!(a.len() >= 20);
    let codes: HashSet<&str> = a.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(codes.len(), a.len());
    for code in [
        "nocr",
        "police",
        "post",
        "tax",
        "sso",
        "judiciary",
        "ssaa",
        "nezam-vazifeh",
        "tavanir",
        "abfa",
        "nigc",
        "tci",
        "health-insurance",
        "education",
        "welfare",
        "imam-relief",
        "customs",
        "municipality",
        "labour",
        "interior",
        "mfa",
        "cbi",
    ] {
        assert!(codes.contains(code), "agency {code} missing");
    }
    for x in &a {
        assert!(!x.name.fa.is_empty() && !x.name.en.is_empty());
        assert!(!has_arabic_letters(&x.name.fa), "{}", x.name.fa);
    }
}

#[test]
fn services_validate_and_are_unique() {
    let s = services();
    assert_eq!(s.len(), 550);
    let agency_codes: HashSet<String> = agencies().iter().map(|a| a.code.to_string()).collect();
    let mut codes = HashSet::new();
    let mut fa = HashSet::new();
    let mut en = HashSet::new();
    for x in &s {
        x.validate().unwrap_or_else(|e| panic!("{}: {e}", x.code));
        assert!(codes.insert(x.code.as_str()), "duplicate code {}", x.code);
        assert!(
            fa.insert(x.title.fa.as_str()),
            "duplicate title {}",
            x.title.fa
        );
        assert!(
            en.insert(x.title.en.as_str()),
            "duplicate title {}",
            x.title.en
        );
        assert!(
            agency_codes.contains(x.agency.as_str()),
            "{} has unknown agency",
            x.code
        );
        assert!(!has_arabic_letters(&x.title.fa), "{}", x.title.fa);
        for d in &x.required_documents {
            assert!(!d.fa.is_empty() && !d.en.is_empty());
            assert!(!has_arabic_letters(&d.fa), "{}", d.fa);
        }
        assert!(
            !x.required_inquiries.is_empty(),
            "{} runs no inquiry",
            x.code
        );
    }
    assert_eq!(s, services(), "the catalogue is the same on every call");
    // Every category is represented.
    for c in Category::ALL {
        assert!(s.iter().any(|x| x.category == c), "no {c:?} service");
    }
}

#[test]
fn digitization_mix_matches_the_programme() {
    let s = services();
    let count = |d| s.iter().filter(|x| x.digitization == d).count();
    let (net, prog, none) = (
        count(Digitization::Networked),
        count(Digitization::InProgress),
        count(Digitization::NotStarted),
    );
    assert_eq!(net + prog + none, 550);
    assert!((200..=240).contains(&net), "networked {net}");
    assert!((170..=215).contains(&prog), "in progress {prog}");
    assert!((115..=160).contains(&none), "not started {none}");
}

/// Hand-checked: the real counter services and what their titles must say.
const REAL_SERVICES: &[(&str, &str, &str)] = &[
    (
        "NID-001",
        "کارت هوشمند ملی",
        "Smart national ID card: first issue",
    ),
    ("NID-002", "کارت ملی قدیمی", "Smart national ID card"),
    ("NID-003", "کارت هوشمند ملی المثنی", "lost card"),
    ("NID-004", "تمدید کارت هوشمند ملی", "renewal"),
    ("NID-005", "پیگیری", "tracking"),
    ("BRC-001", "تعویض شناسنامه", "Birth certificate"),
    ("BRC-002", "شناسنامه المثنی", "Birth certificate: duplicate"),
    ("BRC-003", "ثبت ولادت", "Birth registration"),
    ("BRC-004", "ازدواج", "Marriage registration"),
    ("BRC-005", "طلاق", "Divorce registration"),
    ("BRC-006", "گواهی فوت", "Death"),
    ("BRC-007", "تغییر نام", "Change of first name"),
    ("BRC-008", "تغییر نام خانوادگی", "Change of surname"),
    ("PSP-001", "گذرنامه", "passport: first issue"),
    ("PSP-002", "تمدید گذرنامه", "Passport renewal"),
    ("PSP-003", "گذرنامه المثنی", "lost passport"),
    ("PSP-004", "گذرنامه", "Passport"),
    ("PSP-005", "عوارض خروج", "departure"),
    ("PSP-006", "ممنوع‌الخروجی", "Exit ban"),
    ("CNS-001", "تأیید کنسولی", "Consular"),
    ("HAJ-001", "اربعین", "Arbaeen"),
    ("MIL-001", "نظام وظیفه", "Military service status"),
    ("MIL-002", "اعزام", "call-up"),
    ("MIL-003", "معافیت کفالت", "exemption"),
    ("MIL-004", "معافیت پزشکی", "medical"),
    ("MIL-005", "مجوز خروج از کشور مشمولان", "Exit permit"),
    ("MIL-006", "کارت پایان خدمت", "End-of-service card"),
    ("MIL-007", "معافیت تحصیلی", "Student deferment"),
    (
        "VEH-001",
        "نقل و انتقال خودرو",
        "Vehicle ownership transfer",
    ),
    ("VEH-002", "موتورسیکلت", "Motorcycle"),
    ("VEH-003", "کارت خودرو", "Vehicle card"),
    ("VEH-004", "سند خودرو", "Vehicle ownership document"),
    ("VEH-005", "پلاک", "plate"),
    ("VEH-006", "فک پلاک", "Plate detachment"),
    ("VEH-007", "شماره‌گذاری", "new vehicle"),
    ("FUL-001", "کارت سوخت", "Fuel card"),
    ("TRF-001", "خلافی خودرو", "Traffic fines inquiry"),
    ("TRF-002", "جرایم رانندگی", "Traffic fines payment"),
    ("TRF-003", "اعتراض", "Objection"),
    ("TRF-004", "نمره منفی", "penalty points"),
    ("DRV-001", "تمدید گواهینامه", "Driving licence renewal"),
    (
        "DRV-002",
        "گواهینامه رانندگی المثنی",
        "Driving licence: duplicate",
    ),
    ("PST-001", "سفارشی", "Registered mail"),
    ("PST-002", "پیشتاز", "Express mail"),
    ("PST-003", "امانت پستی", "Parcel"),
    ("PST-005", "صندوق پستی", "Post office box"),
    ("PST-006", "کد پستی", "Postal code"),
    ("TAX-001", "مفاصاحساب مالیاتی", "Tax clearance"),
    ("TAX-002", "پرونده مالیاتی", "Tax file"),
    ("SSO-001", "سابقه بیمه", "insurance record"),
    (
        "SSO-002",
        "مفاصاحساب تأمین اجتماعی",
        "Social Security clearance",
    ),
    ("SSO-003", "بیمه اختیاری", "Voluntary insurance"),
    ("SSO-006", "بیمه بیکاری", "Unemployment insurance"),
    ("HIN-001", "بیمه سلامت", "health insurance"),
    ("JUD-001", "ثنا", "SANA"),
    ("JUD-002", "عدم سوءپیشینه", "Criminal record certificate"),
    ("JUD-005", "انحصار وراثت", "inheritance"),
    ("UTL-001", "انشعاب برق", "electricity connection"),
    ("UTL-003", "انشعاب گاز", "gas connection"),
    ("UTL-008", "قبوض", "bill payment"),
    ("WLF-001", "یارانه", "subsidy"),
    ("WLF-004", "سهام عدالت", "Justice Shares"),
    ("EDU-001", "کنکور", "Konkur"),
];

#[test]
fn real_services_say_what_they_are() {
    assert!(REAL_SERVICES.len() >= 55);
    let s = services();
    let by_code: HashMap<&str, _> = s.iter().map(|x| (x.code.as_str(), x)).collect();
    for (code, fa, en) in REAL_SERVICES {
        let x = by_code
            .get(code)
            .unwrap_or_else(|| panic!("{code} missing"));
        assert!(
            x.title.fa.contains(fa),
            "{code}: {:?} lacks {fa:?}",
            x.title.fa
        );
        assert!(
            x.title.en.to_lowercase().contains(&en.to_lowercase()),
            "{code}: {:?} lacks {en:?}",
            x.title.en
        );
    }
    // Documents and inquiries people know from the counter.
    let docs = |code: &str| -> Vec<String> {
        by_code[code]
            .required_documents
            .iter()
            .map(|d| d.en.clone())
            .collect()
    };
    let inquiries = |code: &str| by_code[code].required_inquiries.clone();
    assert!(
        docs("PSP-002")
            .iter()
            .any(|d| d.contains("Previous passport"))
    );
    assert!(
        docs("VEH-001")
            .iter()
            .any(|d| d.contains("Vehicle ownership document"))
    );
    assert!(docs("VEH-001").iter().any(|d| d.contains("Vehicle card")));
    assert!(docs("BRC-001").iter().any(|d| d.contains("3×4")));
    assert!(inquiries("VEH-001").contains(&"vehicle.ownership".to_string()));
    assert!(inquiries("VEH-001").contains(&"traffic.fines".to_string()));
    assert!(inquiries("TAX-001").contains(&"tax.clearance".to_string()));
    assert!(inquiries("SSO-001").contains(&"sso.insurance-record".to_string()));
    assert!(inquiries("JUD-002").contains(&"judiciary.criminal-record".to_string()));
    assert!(inquiries("MIL-005").contains(&"military.status".to_string()));
    assert!(inquiries("NID-001").contains(&"civil-registry.person".to_string()));
    assert!(inquiries("PST-001").contains(&"postal.address".to_string()));
    assert_eq!(by_code["PSP-002"].agency.as_str(), "police");
    assert_eq!(by_code["NID-001"].agency.as_str(), "nocr");
    assert_eq!(by_code["PST-001"].agency.as_str(), "post");
    assert_eq!(by_code["SSO-001"].agency.as_str(), "sso");
}

#[test]
fn offices_validate_and_are_unique() {
    let n = nation();
    let mut codes = HashSet::new();
    let mut postal = HashSet::new();
    let mut licences = HashSet::new();
    for o in &n.offices {
        o.validate().unwrap_or_else(|e| panic!("{}: {e}", o.code));
        assert!(codes.insert(o.code), "duplicate office code {}", o.code);
        assert!(
            postal.insert(o.postal_code.clone()),
            "duplicate postal code"
        );
        assert!(
            licences.insert(o.licence_no.clone()),
            "duplicate licence {}",
            o.licence_no
        );
        assert!((1..=8).contains(&o.counters));
        assert!(o.hours.day(Weekday::Saturday).is_some());
        assert!(o.hours.day(Weekday::Wednesday).is_some());
        assert!(o.hours.day(Weekday::Friday).is_none());
        assert!((1388..=1404).contains(&o.licence_issued.year()));
        assert!(o.licence_no.starts_with("PK-"));
        assert!(o.name.fa.starts_with("دفتر پیشخوان دولت "), "{}", o.name.fa);
        assert!(
            !o.name.fa.chars().any(|c| c.is_ascii_digit()),
            "{}",
            o.name.fa
        );
        assert!(o.name.en.starts_with("Pishkhan Office "));
        assert_eq!(o.code.to_string().len(), 8);
    }
    // Offices stand in the province their code says, and phones use its area code.
    let tehran = &n.offices[0];
    assert!(tehran.phone.starts_with("021-"));
}

#[test]
fn offices_follow_population() {
    let n = nation();
    let total_pop: f64 = n.provinces.iter().map(|p| f64::from(p.population)).sum();
    let mut per_province: HashMap<u8, usize> = HashMap::new();
    for o in &n.offices {
        *per_province.entry(o.province_id).or_default() += 1;
    }
    assert_eq!(per_province.len(), 31);
    for p in &n.provinces {
        let got = per_province[&p.id];
        let quota = f64::from(p.population) / total_pop * OFFICE_COUNT as f64;
        assert!(got >= 60, "{}: {got}", p.name.en);
        assert!(
            (got as f64 - quota).abs() <= 1.0,
            "{}: {got} vs {quota:.1}",
            p.name.en
        );
    }
    let most = per_province
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(id, _)| *id);
    assert_eq!(most, Some(1), "Tehran has the most offices");
    // Within Tehran province, most offices are in the city of Tehran.
    let in_tehran_city = n
        .offices
        .iter()
        .filter(|o| o.province_id == 1 && o.city.en == "Tehran")
        .count();
    assert!(in_tehran_city * 2 > per_province[&1]);
}

#[test]
fn office_status_mix() {
    let n = nation();
    let count = |s| n.offices.iter().filter(|o| o.status == s).count() as f64 / 17_000.0;
    assert!((0.92..=0.96).contains(&count(OfficeStatus::Active)));
    assert!((0.03..=0.05).contains(&count(OfficeStatus::Warned)));
    assert!((0.008..=0.022).contains(&count(OfficeStatus::Suspended)));
    assert!((0.002..=0.009).contains(&count(OfficeStatus::Revoked)));
}

#[test]
fn first_office_is_an_active_office_in_tehran() {
    let o = &nation().offices[0];
    assert_eq!(o.status, OfficeStatus::Active);
    assert_eq!(o.province_id, 1);
    assert_eq!(o.city.en, "Tehran");
    assert_eq!(o.city.fa, "تهران");
}

#[test]
fn staff_validate_and_are_unique() {
    let n = nation();
    let office_codes: HashSet<_> = n.offices.iter().map(|o| o.code).collect();
    let mut usernames = HashSet::new();
    let mut national = HashSet::new();
    let mut mobiles = HashSet::new();
    let mut managers: HashMap<_, usize> = HashMap::new();
    let mut operators: HashMap<_, usize> = HashMap::new();
    let mut regulators = 0;
    for s in &n.staff {
        s.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", s.username));
        assert!(
            usernames.insert(s.username.as_str()),
            "duplicate {}",
            s.username
        );
        assert!(
            national.insert(s.national_code.clone()),
            "duplicate national code"
        );
        assert!(mobiles.insert(s.mobile.clone()), "duplicate mobile");
        assert!(!has_arabic_letters(&s.first_name) && !has_arabic_letters(&s.last_name));
        match s.role {
            Role::Regulator => {
                assert!(s.office.is_none());
                regulators += 1;
            }
            Role::Manager => {
                let o = s.office.expect("managers have an office");
                assert!(office_codes.contains(&o));
                *managers.entry(o).or_default() += 1;
            }
            Role::Operator => {
                let o = s.office.expect("operators have an office");
                assert!(office_codes.contains(&o));
                *operators.entry(o).or_default() += 1;
            }
        }
    }
    assert!((10..=15).contains(&regulators), "{regulators} regulators");
    for o in &n.offices {
        assert_eq!(managers.get(&o.code), Some(&1), "{} managers", o.code);
        let ops = operators.get(&o.code).copied().unwrap_or(0);
        assert!((1..=3).contains(&ops), "{}: {ops} operators", o.code);
    }
    // Compound surnames with a zero-width non-joiner occur.
    assert!(n.staff.iter().any(|s| s.last_name.contains('\u{200C}')));
}

#[test]
fn demo_logins_exist() {
    let n = nation();
    let first = n.offices[0].code;
    let logins = demo_logins();
    let roles: Vec<Role> = logins.iter().map(|l| l.role).collect();
    assert_eq!(roles, [Role::Regulator, Role::Manager, Role::Operator]);
    for login in logins {
        let s = n
            .staff
            .iter()
            .find(|s| s.username.as_str() == login.username)
            .unwrap_or_else(|| panic!("{} missing", login.username));
        assert_eq!(s.role, login.role);
        assert_eq!(s.office, login.office(n));
        match login.role {
            Role::Regulator => assert_eq!(s.office, None),
            Role::Manager | Role::Operator => assert_eq!(s.office, Some(first)),
        }
    }
    assert_eq!(n.staff[0].username.as_str(), "regulator");
    assert_eq!(n.staff[1].username.as_str(), "manager");
    assert_eq!(n.staff[2].username.as_str(), "operator");
}
