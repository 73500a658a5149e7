//! The government agencies whose services the counters sell.
//!
//! Real Iranian bodies under their official Persian names and the English names they use
//! themselves (or the usual translation). Codes are short, stable and lowercase because they
//! are stored with every service and every inquiry.

/// `(code, Persian name, English name)`, in a fixed order.
pub(crate) const AGENCIES: &[(&str, &str, &str)] = &[
    (
        "nocr",
        "سازمان ثبت احوال کشور",
        "National Organization for Civil Registration",
    ),
    (
        "police",
        "فرماندهی انتظامی جمهوری اسلامی ایران (فراجا)",
        "Police Command of the Islamic Republic of Iran (FARAJA), incl. passport and traffic police",
    ),
    (
        "nezam-vazifeh",
        "سازمان وظیفه عمومی فراجا",
        "General Conscription Organization",
    ),
    (
        "post",
        "شرکت ملی پست جمهوری اسلامی ایران",
        "Iran Post Company",
    ),
    (
        "tax",
        "سازمان امور مالیاتی کشور",
        "Iranian National Tax Administration",
    ),
    (
        "sso",
        "سازمان تأمین اجتماعی",
        "Social Security Organization",
    ),
    (
        "health-insurance",
        "سازمان بیمه سلامت ایران",
        "Iran Health Insurance Organization",
    ),
    (
        "judiciary",
        "قوه قضاییه جمهوری اسلامی ایران",
        "Judiciary of the Islamic Republic of Iran",
    ),
    (
        "ssaa",
        "سازمان ثبت اسناد و املاک کشور",
        "Registration Organization of Deeds and Properties",
    ),
    (
        "tavanir",
        "شرکت مادرتخصصی توانیر (برق)",
        "Tavanir Company (electricity)",
    ),
    (
        "abfa",
        "شرکت مهندسی آب و فاضلاب کشور (آبفا)",
        "National Water and Wastewater Engineering Company (ABFA)",
    ),
    ("nigc", "شرکت ملی گاز ایران", "National Iranian Gas Company"),
    (
        "tci",
        "شرکت مخابرات ایران",
        "Telecommunication Company of Iran",
    ),
    ("education", "وزارت آموزش و پرورش", "Ministry of Education"),
    (
        "msrt",
        "وزارت علوم، تحقیقات و فناوری",
        "Ministry of Science, Research and Technology",
    ),
    (
        "sanjesh",
        "سازمان سنجش آموزش کشور",
        "Education Evaluation Organization (Sanjesh)",
    ),
    (
        "health",
        "وزارت بهداشت، درمان و آموزش پزشکی",
        "Ministry of Health and Medical Education",
    ),
    (
        "welfare",
        "سازمان بهزیستی کشور",
        "State Welfare Organization",
    ),
    (
        "imam-relief",
        "کمیته امداد امام خمینی (ره)",
        "Imam Khomeini Relief Foundation",
    ),
    (
        "subsidy",
        "سازمان هدفمندسازی یارانه‌ها",
        "Targeted Subsidies Organization",
    ),
    (
        "privatization",
        "سازمان خصوصی‌سازی",
        "Iranian Privatization Organization",
    ),
    (
        "customs",
        "گمرک جمهوری اسلامی ایران",
        "Islamic Republic of Iran Customs Administration",
    ),
    (
        "municipality",
        "سازمان شهرداری‌ها و دهیاری‌های کشور",
        "Municipalities and Village Administrations Organization",
    ),
    (
        "labour",
        "وزارت تعاون، کار و رفاه اجتماعی",
        "Ministry of Cooperatives, Labour and Social Welfare",
    ),
    ("interior", "وزارت کشور", "Ministry of Interior"),
    (
        "mfa",
        "وزارت امور خارجه (اداره کل امور کنسولی)",
        "Ministry of Foreign Affairs (Consular Affairs)",
    ),
    (
        "cbi",
        "بانک مرکزی جمهوری اسلامی ایران",
        "Central Bank of the Islamic Republic of Iran",
    ),
    (
        "mimt",
        "وزارت صنعت، معدن و تجارت",
        "Ministry of Industry, Mine and Trade",
    ),
    (
        "roads",
        "وزارت راه و شهرسازی",
        "Ministry of Roads and Urban Development",
    ),
    (
        "rmto",
        "سازمان راهداری و حمل و نقل جاده‌ای",
        "Road Maintenance and Transportation Organization",
    ),
    (
        "agriculture",
        "وزارت جهاد کشاورزی",
        "Ministry of Agriculture Jihad",
    ),
    (
        "heritage",
        "وزارت میراث فرهنگی، گردشگری و صنایع دستی",
        "Ministry of Cultural Heritage, Tourism and Handicrafts",
    ),
    (
        "ershad",
        "وزارت فرهنگ و ارشاد اسلامی",
        "Ministry of Culture and Islamic Guidance",
    ),
    (
        "environment",
        "سازمان حفاظت محیط زیست",
        "Department of Environment",
    ),
    (
        "tvto",
        "سازمان آموزش فنی و حرفه‌ای کشور",
        "Technical and Vocational Training Organization",
    ),
    (
        "martyrs",
        "بنیاد شهید و امور ایثارگران",
        "Foundation of Martyrs and Veterans Affairs",
    ),
    (
        "hajj",
        "سازمان حج و زیارت",
        "Hajj and Pilgrimage Organization",
    ),
    (
        "niopdc",
        "شرکت ملی پخش فرآورده‌های نفتی ایران",
        "National Iranian Oil Products Distribution Company",
    ),
    (
        "cspf",
        "صندوق بازنشستگی کشوری",
        "Civil Servants Pension Fund",
    ),
];
