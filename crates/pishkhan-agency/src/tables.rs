//! The fixed tables the population is drawn from: names and streets (`pishkhan_nation::names`,
//! shared with the demo nation), provinces and cities, mobile operator prefixes and the
//! postal-code regions.
//!
//! Snapshots store indices into these tables, so a snapshot is only meaningful with the tables
//! it was written with: [`fingerprint`] hashes them into the snapshot header. Append-only edits
//! still change the fingerprint; that is deliberate.

use std::sync::OnceLock;

use crate::rng::Checksum;
pub(crate) use pishkhan_nation::names::{ALLEYS, FEMALE_FIRST, LAST, MALE_FIRST, STREETS};

/// Bumped when the generator's rules change in a way that changes people for a seed.
pub(crate) const GENERATOR_VERSION: u64 = 1;

/// A city where people live and are born. `weight` is roughly its population in thousands.
pub(crate) struct City {
    pub fa: &'static str,
    pub en: &'static str,
    pub weight: u32,
}

/// A province: 2016 census population and its main cities, capital first.
pub(crate) struct Province {
    pub fa: &'static str,
    pub en: &'static str,
    pub population: u32,
    pub cities: &'static [City],
}

/// Iran's 31 provinces in the order of `pishkhan-nation` (2016 census population, largest
/// first), so province index `p` here is province id `p + 1` there.
pub(crate) const PROVINCES: [Province; 31] = [
    Province {
        fa: "تهران",
        en: "Tehran",
        population: 13_267_637,
        cities: &[
            City {
                fa: "تهران",
                en: "Tehran",
                weight: 8694,
            },
            City {
                fa: "اسلامشهر",
                en: "Eslamshahr",
                weight: 448,
            },
            City {
                fa: "شهر قدس",
                en: "Qods",
                weight: 310,
            },
            City {
                fa: "شهریار",
                en: "Shahriar",
                weight: 310,
            },
            City {
                fa: "ملارد",
                en: "Malard",
                weight: 281,
            },
            City {
                fa: "پاکدشت",
                en: "Pakdasht",
                weight: 236,
            },
            City {
                fa: "ورامین",
                en: "Varamin",
                weight: 226,
            },
            City {
                fa: "دماوند",
                en: "Damavand",
                weight: 48,
            },
        ],
    },
    Province {
        fa: "خراسان رضوی",
        en: "Razavi Khorasan",
        population: 6_434_501,
        cities: &[
            City {
                fa: "مشهد",
                en: "Mashhad",
                weight: 3001,
            },
            City {
                fa: "نیشابور",
                en: "Neyshabur",
                weight: 264,
            },
            City {
                fa: "سبزوار",
                en: "Sabzevar",
                weight: 244,
            },
            City {
                fa: "تربت حیدریه",
                en: "Torbat-e Heydarieh",
                weight: 140,
            },
            City {
                fa: "قوچان",
                en: "Quchan",
                weight: 111,
            },
            City {
                fa: "تربت جام",
                en: "Torbat-e Jam",
                weight: 100,
            },
            City {
                fa: "کاشمر",
                en: "Kashmar",
                weight: 90,
            },
        ],
    },
    Province {
        fa: "اصفهان",
        en: "Isfahan",
        population: 5_120_850,
        cities: &[
            City {
                fa: "اصفهان",
                en: "Isfahan",
                weight: 1961,
            },
            City {
                fa: "کاشان",
                en: "Kashan",
                weight: 304,
            },
            City {
                fa: "خمینی‌شهر",
                en: "Khomeyni Shahr",
                weight: 247,
            },
            City {
                fa: "نجف‌آباد",
                en: "Najafabad",
                weight: 235,
            },
            City {
                fa: "شاهین‌شهر",
                en: "Shahin Shahr",
                weight: 173,
            },
            City {
                fa: "شهرضا",
                en: "Shahreza",
                weight: 134,
            },
            City {
                fa: "گلپایگان",
                en: "Golpayegan",
                weight: 55,
            },
        ],
    },
    Province {
        fa: "فارس",
        en: "Fars",
        population: 4_851_274,
        cities: &[
            City {
                fa: "شیراز",
                en: "Shiraz",
                weight: 1565,
            },
            City {
                fa: "مرودشت",
                en: "Marvdasht",
                weight: 148,
            },
            City {
                fa: "جهرم",
                en: "Jahrom",
                weight: 141,
            },
            City {
                fa: "فسا",
                en: "Fasa",
                weight: 110,
            },
            City {
                fa: "کازرون",
                en: "Kazerun",
                weight: 96,
            },
            City {
                fa: "داراب",
                en: "Darab",
                weight: 70,
            },
            City {
                fa: "لار",
                en: "Lar",
                weight: 60,
            },
        ],
    },
    Province {
        fa: "خوزستان",
        en: "Khuzestan",
        population: 4_710_509,
        cities: &[
            City {
                fa: "اهواز",
                en: "Ahvaz",
                weight: 1185,
            },
            City {
                fa: "دزفول",
                en: "Dezful",
                weight: 264,
            },
            City {
                fa: "آبادان",
                en: "Abadan",
                weight: 231,
            },
            City {
                fa: "بندر ماهشهر",
                en: "Bandar-e Mahshahr",
                weight: 162,
            },
            City {
                fa: "اندیمشک",
                en: "Andimeshk",
                weight: 136,
            },
            City {
                fa: "خرمشهر",
                en: "Khorramshahr",
                weight: 133,
            },
            City {
                fa: "بهبهان",
                en: "Behbahan",
                weight: 122,
            },
            City {
                fa: "شوشتر",
                en: "Shushtar",
                weight: 101,
            },
        ],
    },
    Province {
        fa: "آذربایجان شرقی",
        en: "East Azerbaijan",
        population: 3_909_652,
        cities: &[
            City {
                fa: "تبریز",
                en: "Tabriz",
                weight: 1558,
            },
            City {
                fa: "مراغه",
                en: "Maragheh",
                weight: 175,
            },
            City {
                fa: "مرند",
                en: "Marand",
                weight: 130,
            },
            City {
                fa: "اهر",
                en: "Ahar",
                weight: 100,
            },
            City {
                fa: "میانه",
                en: "Mianeh",
                weight: 98,
            },
            City {
                fa: "بناب",
                en: "Bonab",
                weight: 85,
            },
            City {
                fa: "سراب",
                en: "Sarab",
                weight: 46,
            },
        ],
    },
    Province {
        fa: "مازندران",
        en: "Mazandaran",
        population: 3_283_582,
        cities: &[
            City {
                fa: "ساری",
                en: "Sari",
                weight: 309,
            },
            City {
                fa: "بابل",
                en: "Babol",
                weight: 250,
            },
            City {
                fa: "آمل",
                en: "Amol",
                weight: 238,
            },
            City {
                fa: "قائم‌شهر",
                en: "Qaem Shahr",
                weight: 204,
            },
            City {
                fa: "بهشهر",
                en: "Behshahr",
                weight: 94,
            },
            City {
                fa: "تنکابن",
                en: "Tonekabon",
                weight: 55,
            },
            City {
                fa: "چالوس",
                en: "Chalus",
                weight: 50,
            },
            City {
                fa: "نوشهر",
                en: "Nowshahr",
                weight: 50,
            },
        ],
    },
    Province {
        fa: "آذربایجان غربی",
        en: "West Azerbaijan",
        population: 3_265_219,
        cities: &[
            City {
                fa: "ارومیه",
                en: "Urmia",
                weight: 736,
            },
            City {
                fa: "خوی",
                en: "Khoy",
                weight: 198,
            },
            City {
                fa: "بوکان",
                en: "Bukan",
                weight: 193,
            },
            City {
                fa: "مهاباد",
                en: "Mahabad",
                weight: 168,
            },
            City {
                fa: "میاندوآب",
                en: "Miandoab",
                weight: 134,
            },
            City {
                fa: "سلماس",
                en: "Salmas",
                weight: 92,
            },
            City {
                fa: "نقده",
                en: "Naqadeh",
                weight: 81,
            },
        ],
    },
    Province {
        fa: "کرمان",
        en: "Kerman",
        population: 3_164_718,
        cities: &[
            City {
                fa: "کرمان",
                en: "Kerman",
                weight: 537,
            },
            City {
                fa: "سیرجان",
                en: "Sirjan",
                weight: 199,
            },
            City {
                fa: "رفسنجان",
                en: "Rafsanjan",
                weight: 161,
            },
            City {
                fa: "جیرفت",
                en: "Jiroft",
                weight: 131,
            },
            City {
                fa: "بم",
                en: "Bam",
                weight: 127,
            },
            City {
                fa: "زرند",
                en: "Zarand",
                weight: 61,
            },
            City {
                fa: "کهنوج",
                en: "Kahnuj",
                weight: 50,
            },
        ],
    },
    Province {
        fa: "سیستان و بلوچستان",
        en: "Sistan and Baluchestan",
        population: 2_775_014,
        cities: &[
            City {
                fa: "زاهدان",
                en: "Zahedan",
                weight: 587,
            },
            City {
                fa: "زابل",
                en: "Zabol",
                weight: 134,
            },
            City {
                fa: "ایرانشهر",
                en: "Iranshahr",
                weight: 113,
            },
            City {
                fa: "چابهار",
                en: "Chabahar",
                weight: 107,
            },
            City {
                fa: "سراوان",
                en: "Saravan",
                weight: 60,
            },
            City {
                fa: "خاش",
                en: "Khash",
                weight: 56,
            },
        ],
    },
    Province {
        fa: "البرز",
        en: "Alborz",
        population: 2_712_400,
        cities: &[
            City {
                fa: "کرج",
                en: "Karaj",
                weight: 1592,
            },
            City {
                fa: "فردیس",
                en: "Fardis",
                weight: 181,
            },
            City {
                fa: "نظرآباد",
                en: "Nazarabad",
                weight: 119,
            },
            City {
                fa: "محمدشهر",
                en: "Mohammadshahr",
                weight: 119,
            },
            City {
                fa: "هشتگرد",
                en: "Hashtgerd",
                weight: 65,
            },
            City {
                fa: "ماهدشت",
                en: "Mahdasht",
                weight: 62,
            },
        ],
    },
    Province {
        fa: "گیلان",
        en: "Gilan",
        population: 2_530_696,
        cities: &[
            City {
                fa: "رشت",
                en: "Rasht",
                weight: 680,
            },
            City {
                fa: "بندر انزلی",
                en: "Bandar-e Anzali",
                weight: 118,
            },
            City {
                fa: "لاهیجان",
                en: "Lahijan",
                weight: 101,
            },
            City {
                fa: "لنگرود",
                en: "Langarud",
                weight: 79,
            },
            City {
                fa: "تالش",
                en: "Talesh",
                weight: 54,
            },
            City {
                fa: "آستارا",
                en: "Astara",
                weight: 52,
            },
            City {
                fa: "صومعه‌سرا",
                en: "Sowme'eh Sara",
                weight: 47,
            },
            City {
                fa: "رودسر",
                en: "Rudsar",
                weight: 39,
            },
        ],
    },
    Province {
        fa: "کرمانشاه",
        en: "Kermanshah",
        population: 1_952_434,
        cities: &[
            City {
                fa: "کرمانشاه",
                en: "Kermanshah",
                weight: 946,
            },
            City {
                fa: "اسلام‌آباد غرب",
                en: "Eslamabad-e Gharb",
                weight: 90,
            },
            City {
                fa: "جوانرود",
                en: "Javanrud",
                weight: 55,
            },
            City {
                fa: "کنگاور",
                en: "Kangavar",
                weight: 53,
            },
            City {
                fa: "هرسین",
                en: "Harsin",
                weight: 52,
            },
            City {
                fa: "سنقر",
                en: "Sonqor",
                weight: 44,
            },
            City {
                fa: "قصر شیرین",
                en: "Qasr-e Shirin",
                weight: 20,
            },
        ],
    },
    Province {
        fa: "گلستان",
        en: "Golestan",
        population: 1_868_819,
        cities: &[
            City {
                fa: "گرگان",
                en: "Gorgan",
                weight: 350,
            },
            City {
                fa: "گنبد کاووس",
                en: "Gonbad-e Kavus",
                weight: 151,
            },
            City {
                fa: "بندر ترکمن",
                en: "Bandar Torkaman",
                weight: 53,
            },
            City {
                fa: "علی‌آباد کتول",
                en: "Aliabad-e Katul",
                weight: 52,
            },
            City {
                fa: "آزادشهر",
                en: "Azadshahr",
                weight: 48,
            },
            City {
                fa: "آق‌قلا",
                en: "Aq Qala",
                weight: 40,
            },
            City {
                fa: "کردکوی",
                en: "Kordkuy",
                weight: 40,
            },
        ],
    },
    Province {
        fa: "هرمزگان",
        en: "Hormozgan",
        population: 1_776_415,
        cities: &[
            City {
                fa: "بندرعباس",
                en: "Bandar Abbas",
                weight: 526,
            },
            City {
                fa: "میناب",
                en: "Minab",
                weight: 73,
            },
            City {
                fa: "قشم",
                en: "Qeshm",
                weight: 40,
            },
            City {
                fa: "کیش",
                en: "Kish",
                weight: 39,
            },
            City {
                fa: "بندر لنگه",
                en: "Bandar Lengeh",
                weight: 30,
            },
            City {
                fa: "جاسک",
                en: "Jask",
                weight: 17,
            },
        ],
    },
    Province {
        fa: "لرستان",
        en: "Lorestan",
        population: 1_760_649,
        cities: &[
            City {
                fa: "خرم‌آباد",
                en: "Khorramabad",
                weight: 374,
            },
            City {
                fa: "بروجرد",
                en: "Borujerd",
                weight: 240,
            },
            City {
                fa: "دورود",
                en: "Dorud",
                weight: 121,
            },
            City {
                fa: "کوهدشت",
                en: "Kuhdasht",
                weight: 90,
            },
            City {
                fa: "الیگودرز",
                en: "Aligudarz",
                weight: 87,
            },
            City {
                fa: "نورآباد",
                en: "Nurabad",
                weight: 63,
            },
            City {
                fa: "ازنا",
                en: "Azna",
                weight: 41,
            },
        ],
    },
    Province {
        fa: "همدان",
        en: "Hamadan",
        population: 1_738_234,
        cities: &[
            City {
                fa: "همدان",
                en: "Hamadan",
                weight: 554,
            },
            City {
                fa: "ملایر",
                en: "Malayer",
                weight: 170,
            },
            City {
                fa: "نهاوند",
                en: "Nahavand",
                weight: 76,
            },
            City {
                fa: "اسدآباد",
                en: "Asadabad",
                weight: 55,
            },
            City {
                fa: "تویسرکان",
                en: "Tuyserkan",
                weight: 46,
            },
            City {
                fa: "بهار",
                en: "Bahar",
                weight: 28,
            },
            City {
                fa: "کبودرآهنگ",
                en: "Kabudarahang",
                weight: 22,
            },
        ],
    },
    Province {
        fa: "کردستان",
        en: "Kurdistan",
        population: 1_603_011,
        cities: &[
            City {
                fa: "سنندج",
                en: "Sanandaj",
                weight: 413,
            },
            City {
                fa: "سقز",
                en: "Saqqez",
                weight: 165,
            },
            City {
                fa: "مریوان",
                en: "Marivan",
                weight: 136,
            },
            City {
                fa: "بانه",
                en: "Baneh",
                weight: 110,
            },
            City {
                fa: "قروه",
                en: "Qorveh",
                weight: 80,
            },
            City {
                fa: "کامیاران",
                en: "Kamyaran",
                weight: 57,
            },
            City {
                fa: "بیجار",
                en: "Bijar",
                weight: 50,
            },
        ],
    },
    Province {
        fa: "مرکزی",
        en: "Markazi",
        population: 1_429_475,
        cities: &[
            City {
                fa: "اراک",
                en: "Arak",
                weight: 521,
            },
            City {
                fa: "ساوه",
                en: "Saveh",
                weight: 220,
            },
            City {
                fa: "خمین",
                en: "Khomeyn",
                weight: 73,
            },
            City {
                fa: "محلات",
                en: "Mahallat",
                weight: 43,
            },
            City {
                fa: "دلیجان",
                en: "Delijan",
                weight: 37,
            },
            City {
                fa: "شازند",
                en: "Shazand",
                weight: 21,
            },
            City {
                fa: "تفرش",
                en: "Tafresh",
                weight: 19,
            },
        ],
    },
    Province {
        fa: "قم",
        en: "Qom",
        population: 1_292_283,
        cities: &[
            City {
                fa: "قم",
                en: "Qom",
                weight: 1201,
            },
            City {
                fa: "قنوات",
                en: "Qanavat",
                weight: 9,
            },
            City {
                fa: "جعفریه",
                en: "Jafarieh",
                weight: 6,
            },
            City {
                fa: "کهک",
                en: "Kahak",
                weight: 3,
            },
        ],
    },
    Province {
        fa: "قزوین",
        en: "Qazvin",
        population: 1_273_761,
        cities: &[
            City {
                fa: "قزوین",
                en: "Qazvin",
                weight: 402,
            },
            City {
                fa: "تاکستان",
                en: "Takestan",
                weight: 80,
            },
            City {
                fa: "الوند",
                en: "Alvand",
                weight: 77,
            },
            City {
                fa: "محمدیه",
                en: "Mohammadiyeh",
                weight: 57,
            },
            City {
                fa: "آبیک",
                en: "Abyek",
                weight: 56,
            },
            City {
                fa: "بوئین‌زهرا",
                en: "Buin Zahra",
                weight: 21,
            },
        ],
    },
    Province {
        fa: "اردبیل",
        en: "Ardabil",
        population: 1_270_420,
        cities: &[
            City {
                fa: "اردبیل",
                en: "Ardabil",
                weight: 529,
            },
            City {
                fa: "پارس‌آباد",
                en: "Parsabad",
                weight: 94,
            },
            City {
                fa: "مشگین‌شهر",
                en: "Meshginshahr",
                weight: 74,
            },
            City {
                fa: "خلخال",
                en: "Khalkhal",
                weight: 43,
            },
            City {
                fa: "گرمی",
                en: "Germi",
                weight: 29,
            },
            City {
                fa: "نمین",
                en: "Namin",
                weight: 13,
            },
        ],
    },
    Province {
        fa: "بوشهر",
        en: "Bushehr",
        population: 1_163_400,
        cities: &[
            City {
                fa: "بوشهر",
                en: "Bushehr",
                weight: 224,
            },
            City {
                fa: "برازجان",
                en: "Borazjan",
                weight: 118,
            },
            City {
                fa: "بندر گناوه",
                en: "Bandar Ganaveh",
                weight: 71,
            },
            City {
                fa: "جم",
                en: "Jam",
                weight: 40,
            },
            City {
                fa: "بندر کنگان",
                en: "Bandar Kangan",
                weight: 39,
            },
            City {
                fa: "خورموج",
                en: "Khormuj",
                weight: 38,
            },
            City {
                fa: "بندر دیر",
                en: "Bandar Deyr",
                weight: 24,
            },
        ],
    },
    Province {
        fa: "یزد",
        en: "Yazd",
        population: 1_138_533,
        cities: &[
            City {
                fa: "یزد",
                en: "Yazd",
                weight: 530,
            },
            City {
                fa: "میبد",
                en: "Meybod",
                weight: 80,
            },
            City {
                fa: "اردکان",
                en: "Ardakan",
                weight: 80,
            },
            City {
                fa: "بافق",
                en: "Bafq",
                weight: 39,
            },
            City {
                fa: "مهریز",
                en: "Mehriz",
                weight: 35,
            },
            City {
                fa: "ابرکوه",
                en: "Abarkuh",
                weight: 28,
            },
            City {
                fa: "تفت",
                en: "Taft",
                weight: 20,
            },
        ],
    },
    Province {
        fa: "زنجان",
        en: "Zanjan",
        population: 1_057_461,
        cities: &[
            City {
                fa: "زنجان",
                en: "Zanjan",
                weight: 430,
            },
            City {
                fa: "ابهر",
                en: "Abhar",
                weight: 88,
            },
            City {
                fa: "خرمدره",
                en: "Khorramdarreh",
                weight: 64,
            },
            City {
                fa: "قیدار",
                en: "Qeydar",
                weight: 36,
            },
            City {
                fa: "آب‌بر",
                en: "Ab Bar",
                weight: 20,
            },
        ],
    },
    Province {
        fa: "چهارمحال و بختیاری",
        en: "Chaharmahal and Bakhtiari",
        population: 947_763,
        cities: &[
            City {
                fa: "شهرکرد",
                en: "Shahrekord",
                weight: 190,
            },
            City {
                fa: "بروجن",
                en: "Borujen",
                weight: 57,
            },
            City {
                fa: "فرخ‌شهر",
                en: "Farrokhshahr",
                weight: 33,
            },
            City {
                fa: "فارسان",
                en: "Farsan",
                weight: 31,
            },
            City {
                fa: "لردگان",
                en: "Lordegan",
                weight: 27,
            },
            City {
                fa: "هفشجان",
                en: "Hafshejan",
                weight: 20,
            },
        ],
    },
    Province {
        fa: "خراسان شمالی",
        en: "North Khorasan",
        population: 863_092,
        cities: &[
            City {
                fa: "بجنورد",
                en: "Bojnurd",
                weight: 229,
            },
            City {
                fa: "شیروان",
                en: "Shirvan",
                weight: 82,
            },
            City {
                fa: "اسفراین",
                en: "Esfarayen",
                weight: 63,
            },
            City {
                fa: "آشخانه",
                en: "Ashkhaneh",
                weight: 20,
            },
            City {
                fa: "جاجرم",
                en: "Jajarm",
                weight: 19,
            },
            City {
                fa: "فاروج",
                en: "Faruj",
                weight: 15,
            },
        ],
    },
    Province {
        fa: "خراسان جنوبی",
        en: "South Khorasan",
        population: 768_898,
        cities: &[
            City {
                fa: "بیرجند",
                en: "Birjand",
                weight: 204,
            },
            City {
                fa: "قائن",
                en: "Qaen",
                weight: 40,
            },
            City {
                fa: "فردوس",
                en: "Ferdows",
                weight: 31,
            },
            City {
                fa: "بشرویه",
                en: "Boshruyeh",
                weight: 24,
            },
            City {
                fa: "نهبندان",
                en: "Nehbandan",
                weight: 20,
            },
            City {
                fa: "سرایان",
                en: "Sarayan",
                weight: 16,
            },
        ],
    },
    Province {
        fa: "کهگیلویه و بویراحمد",
        en: "Kohgiluyeh and Boyer-Ahmad",
        population: 713_052,
        cities: &[
            City {
                fa: "یاسوج",
                en: "Yasuj",
                weight: 134,
            },
            City {
                fa: "دوگنبدان",
                en: "Dogonbadan",
                weight: 96,
            },
            City {
                fa: "دهدشت",
                en: "Dehdasht",
                weight: 59,
            },
            City {
                fa: "لیکک",
                en: "Likak",
                weight: 17,
            },
            City {
                fa: "سی‌سخت",
                en: "Sisakht",
                weight: 15,
            },
        ],
    },
    Province {
        fa: "سمنان",
        en: "Semnan",
        population: 702_360,
        cities: &[
            City {
                fa: "سمنان",
                en: "Semnan",
                weight: 185,
            },
            City {
                fa: "شاهرود",
                en: "Shahrud",
                weight: 150,
            },
            City {
                fa: "دامغان",
                en: "Damghan",
                weight: 60,
            },
            City {
                fa: "گرمسار",
                en: "Garmsar",
                weight: 50,
            },
            City {
                fa: "مهدی‌شهر",
                en: "Mahdishahr",
                weight: 30,
            },
        ],
    },
    Province {
        fa: "ایلام",
        en: "Ilam",
        population: 580_158,
        cities: &[
            City {
                fa: "ایلام",
                en: "Ilam",
                weight: 194,
            },
            City {
                fa: "دهلران",
                en: "Dehloran",
                weight: 35,
            },
            City {
                fa: "ایوان",
                en: "Eyvan",
                weight: 32,
            },
            City {
                fa: "دره‌شهر",
                en: "Darreh Shahr",
                weight: 26,
            },
            City {
                fa: "آبدانان",
                en: "Abdanan",
                weight: 24,
            },
            City {
                fa: "مهران",
                en: "Mehran",
                weight: 17,
            },
        ],
    },
];

/// The digits a postal code may have in its first five positions (no 0 and no 2).
pub(crate) const POSTAL_HEAD_DIGITS: [u8; 8] = *b"13456789";

/// The province (index into [`PROVINCES`]) of each two-digit postal prefix, in the order of
/// `POSTAL_HEAD_DIGITS × POSTAL_HEAD_DIGITS` (`11, 13, 14, … 99`).
///
/// Real leading digits are kept where they are well known (Tehran `1`, Mashhad `91`, Isfahan
/// `81`, Shiraz `71`, Ahvaz `61`, Tabriz `51`, Karaj `31`, Rasht `41` and so on, one prefix per
/// province); the remaining prefixes were handed out to bring each province's share of the 64
/// prefixes close to its share of the population, since households are spread uniformly over
/// the postal-code space.
pub(crate) const POSTAL_PREFIX_PROVINCE: [u8; 64] = [
    0, 0, 0, 0, 0, 0, 0, 0, 10, 1, 20, 29, 1, 19, 18, 2, 11, 3, 4, 24, 0, 1, 6, 13, 5, 5, 2, 7, 21,
    7, 3, 4, 4, 6, 0, 16, 17, 12, 15, 30, 3, 8, 28, 22, 8, 3, 9, 14, 2, 2, 10, 1, 5, 11, 25, 23, 1,
    4, 26, 6, 0, 27, 9, 7,
];

/// Mobile operator prefixes (`09XY` without the leading 0) handed out to people: MCI
/// `0910`-`0919` and `0990`-`0994`, Irancell `0901`-`0905`, `0930` and `0933`-`0939` (without
/// `0934`), RighTel `0920`-`0922`. Thirty prefixes of ten million subscriber numbers each.
pub(crate) const MOBILE_PREFIXES: [u16; 30] = [
    910, 911, 912, 913, 914, 915, 916, 917, 918, 919, 990, 991, 992, 993, 994, 901, 902, 903, 904,
    905, 930, 933, 935, 936, 937, 938, 939, 920, 921, 922,
];

/// Letters of the card serial: the Latin capitals without `I` and `O`, which read as digits.
pub(crate) const SERIAL_LETTERS: &[u8; 24] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A hash of every table and of [`GENERATOR_VERSION`], stored in snapshot headers.
pub(crate) fn fingerprint() -> u64 {
    static FP: OnceLock<u64> = OnceLock::new();
    *FP.get_or_init(|| {
        let mut c = Checksum::new();
        let mut text = |s: &str| {
            c.update(s.as_bytes());
            c.update(&[0xFF]);
        };
        for list in [MALE_FIRST, FEMALE_FIRST, LAST] {
            for s in list {
                text(s);
            }
        }
        for p in &PROVINCES {
            text(p.fa);
            text(p.en);
            for city in p.cities {
                text(city.fa);
                text(city.en);
            }
        }
        for (fa, en) in STREETS.iter().chain(ALLEYS) {
            text(fa);
            text(en);
        }
        let mut c2 = c;
        c2.update(&POSTAL_PREFIX_PROVINCE);
        for p in MOBILE_PREFIXES {
            c2.update(&p.to_le_bytes());
        }
        c2.update(SERIAL_LETTERS);
        c2.update(&GENERATOR_VERSION.to_le_bytes());
        c2.finish()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_use_persian_letters_only() {
        let all = MALE_FIRST.iter().chain(FEMALE_FIRST).chain(LAST);
        for s in all {
            assert!(!s.contains('\u{064A}') && !s.contains('\u{0643}'), "{s}");
            assert!(
                !s.starts_with('\u{200c}') && !s.ends_with('\u{200c}'),
                "{s}"
            );
        }
        assert!(MALE_FIRST.contains(&"محمدعلی"));
        assert!(MALE_FIRST.contains(&"محمد\u{200c}علی"));
        assert!(LAST.contains(&"عبدالله\u{200c}زاده"));
        assert!(LAST.contains(&"کیانی"));
        // Indices are stored as u16 in snapshots.
        assert!(MALE_FIRST.len() < 65_536 && FEMALE_FIRST.len() < 65_536 && LAST.len() < 65_536);
        for p in &PROVINCES {
            assert!(!p.cities.is_empty() && p.cities.len() < 256);
        }
        assert!(STREETS.len() < 256 && ALLEYS.len() < 128);
    }

    #[test]
    fn every_province_has_a_postal_prefix() {
        for p in 0..PROVINCES.len() {
            assert!(POSTAL_PREFIX_PROVINCE.contains(&(p as u8)), "province {p}");
        }
        assert!(POSTAL_PREFIX_PROVINCE.iter().all(|p| usize::from(*p) < 31));
    }

    #[test]
    fn mobile_prefixes_are_distinct_operator_ranges() {
        let mut v = MOBILE_PREFIXES.to_vec();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), MOBILE_PREFIXES.len());
        for p in MOBILE_PREFIXES {
            assert!(
                pishkhan_domain::Mobile::from_parts(p, 1_234_567).is_ok(),
                "{p}"
            );
        }
    }
}
