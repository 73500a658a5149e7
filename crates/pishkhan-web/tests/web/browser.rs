//! The web UI in headless Chromium, driven over WebDriver by chromedriver.
//!
//! The WebDriver client is a few dozen lines over reqwest. chromedriver is started on a free
//! port as a child process and killed on drop. Without chromedriver the test is skipped with a
//! loud message, unless `PISHKHAN_REQUIRE_BROWSER=1` makes that a failure (CI sets it).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::support::{DEMO_PASSWORD, TestApp};

pub(crate) const REQUIRE_ENV: &str = "PISHKHAN_REQUIRE_BROWSER";
/// W3C WebDriver's key for element references.
pub(crate) const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Polling for a condition: at most this many tries, `POLL_INTERVAL` apart.
pub(crate) const POLL_TRIES: u32 = 200;
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(50);

pub(crate) fn find_executable(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The chromedriver and Chromium binaries, or `None` after printing why the test is skipped.
/// Panics instead when `PISHKHAN_REQUIRE_BROWSER=1`.
pub(crate) fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let required = std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1");
    let driver = find_executable("CHROMEDRIVER", &["chromedriver"]);
    let chrome = find_executable(
        "CHROME_BIN",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    match (driver, chrome) {
        (Some(driver), Some(chrome)) => Some((driver, chrome)),
        (driver, _) => {
            let missing = if driver.is_none() {
                "chromedriver"
            } else {
                "chromium"
            };
            if required {
                panic!(
                    "{missing} not found, and {REQUIRE_ENV}=1 requires the browser tests: \
                     install it (apt-get install chromium chromium-driver), or point \
                     CHROMEDRIVER / CHROME_BIN at it"
                );
            }
            eprintln!(
                "\n==============================================================\n\
                 SKIPPED: {missing} not found; browser tests did not run.\n\
                 Install chromium + chromium-driver, or set {REQUIRE_ENV}=1 to fail.\n\
                 ==============================================================\n"
            );
            None
        }
    }
}

/// A chromedriver child process on a free port; killed on drop.
pub(crate) struct Chromedriver {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) url: String,
}

impl Chromedriver {
    pub(crate) async fn start(path: &Path, log: &Path) -> Chromedriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", path.display()));
        let mut driver = Chromedriver {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = crate::support::client();
        for _ in 0..POLL_TRIES {
            if let Some(status) = driver.child.try_wait().expect("chromedriver status") {
                panic!("chromedriver exited at start with {status}");
            }
            if let Ok(resp) = http.get(format!("{}/status", driver.url)).send().await
                && let Ok(v) = resp.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return driver;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        panic!(
            "chromedriver did not answer /status within {:?}",
            POLL_INTERVAL * POLL_TRIES
        );
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session. Dropping it ends the session (and closes Chromium).
pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    pub(crate) driver_port: u16,
    pub(crate) session: String,
    pub(crate) base: String,
    pub(crate) open: bool,
}

#[derive(Clone)]
pub(crate) struct El(pub(crate) String);

impl Browser {
    pub(crate) async fn new(driver: &Chromedriver, chrome: &Path, profile: &Path) -> Browser {
        Self::with_width(driver, chrome, profile, 390).await
    }

    /// A session whose pages are laid out `width` CSS pixels wide.
    pub(crate) async fn with_width(
        driver: &Chromedriver,
        chrome: &Path,
        profile: &Path,
        width: u32,
    ) -> Browser {
        let http = crate::support::client();
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--lang=fa",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={width},844"),
            ]
        });
        // Chrome keeps desktop windows at least 500px wide; emulate the phone's viewport.
        if width < 500 {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": 844, "pixelRatio": 1.0, "mobile": false }
            });
        }
        options["binary"] = json!(chrome.display().to_string());
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "goog:chromeOptions": options,
            }}
        });
        let resp = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await
            .expect("new session request");
        let v: Value = resp.json().await.expect("new session answer");
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        let browser = Browser {
            http,
            driver_port: driver.port,
            base: format!("{}/session/{session}", driver.url),
            session,
            open: true,
        };
        browser
            .cmd(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({ "pageLoad": 20_000, "script": 10_000, "implicit": 0 })),
            )
            .await;
        browser
    }

    pub(crate) async fn try_cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        // A browser that does not answer in time (a page still loading on a busy machine)
        // is an error the caller may wait out, like any other refusal; `cmd` still fails.
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) if e.is_timeout() => {
                return Err(serde_json::json!({
                    "error": "timeout", "message": format!("WebDriver {path}: {e}"),
                }));
            }
            Err(e) => panic!("WebDriver request {path}: {e}"),
        };
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.expect("WebDriver JSON");
        if ok {
            Ok(v["value"].clone())
        } else {
            Err(v["value"].clone())
        }
    }

    pub(crate) async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        match self.try_cmd(method, path, body.clone()).await {
            Ok(v) => v,
            Err(e) => panic!(
                "WebDriver {path} {} failed: {} {}",
                body.map(|b| b.to_string()).unwrap_or_default(),
                e["error"],
                e["message"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub(crate) async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) async fn title(&self) -> String {
        self.cmd(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) async fn find_all(&self, css: &str) -> Vec<El> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| El(s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `css`, waiting (bounded) for it to appear: a click that
    /// submits a form may return before the next page is there.
    pub(crate) async fn find(&self, css: &str) -> El {
        for _ in 0..POLL_TRIES {
            if let Some(el) = self.find_all(css).await.into_iter().next() {
                return el;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        panic!(
            "no element matches {css:?} on {} ({})",
            self.url().await,
            self.title().await
        );
    }

    pub(crate) async fn click(&self, el: &El) {
        // Centre the element at once first: the stylesheet asks for smooth scrolling, and a
        // click during WebDriver's own scroll animation lands where the element was.
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({
                "script": "arguments[0].scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});",
                "args": [{ ELEMENT_KEY: el.0 }],
            })),
        )
        .await;
        let done = self
            .try_cmd(
                reqwest::Method::POST,
                &format!("/element/{}/click", el.0),
                Some(json!({})),
            )
            .await;
        if let Err(e) = done {
            let shot = "/tmp/pishkhan-click-failed.png";
            self.screenshot(shot).await;
            panic!(
                "click on {} failed ({}); screenshot in {shot}: {}",
                self.url().await,
                e["error"],
                e["message"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
            );
        }
    }

    pub(crate) async fn clear(&self, el: &El) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/clear", el.0),
            Some(json!({})),
        )
        .await;
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.clear(&el).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub(crate) async fn text(&self, el: &El) -> String {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/text", el.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub(crate) async fn text_of(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.text(&el).await
    }

    pub(crate) async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for el in self.find_all(css).await {
            out.push(self.text(&el).await);
        }
        out
    }

    pub(crate) async fn attr(&self, el: &El, name: &str) -> Option<String> {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", el.0),
            None,
        )
        .await
        .as_str()
        .map(str::to_string)
    }

    pub(crate) async fn exec(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    pub(crate) async fn exec_async(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    pub(crate) async fn screenshot(&self, path: &str) {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("screenshot base64");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {path}: {e}"));
    }

    /// Logs a step, so a failure shows how far the walk got.
    pub(crate) fn step(&self, what: &str) {
        eprintln!("browser: {what}");
    }

    /// Polls the current URL until `pred` holds; bounded.
    pub(crate) async fn wait_for_url(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..POLL_TRIES {
            last = self.url().await;
            if pred(&last) {
                return last;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        panic!("timed out waiting for {what}; the browser is at {last}");
    }

    pub(crate) async fn quit(mut self) {
        let _ = self.try_cmd(reqwest::Method::DELETE, "", None).await;
        self.open = false;
    }
}

impl Drop for Browser {
    /// After a failed assertion: end the session with a plain blocking request, so that
    /// Chromium does not outlive the test.
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.driver_port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = write!(
            stream,
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session, self.driver_port
        );
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
}

pub(crate) fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or("/")
}

pub(crate) fn has_ascii_digit(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
}

pub(crate) fn has_persian_digit(s: &str) -> bool {
    s.chars().any(|c| ('\u{06F0}'..='\u{06F9}').contains(&c))
}

/// What the page checks found along a walk: pages seen, and pages wider than the phone.
#[derive(Default)]
pub(crate) struct Walk {
    pub(crate) seen: Vec<String>,
    pub(crate) too_wide: Vec<String>,
}

impl Walk {
    /// Layout problems are collected rather than fatal, so one overflowing page does not hide
    /// what the rest of the walk would find; `finish` fails the test if there were any.
    pub(crate) fn finish(self) {
        eprintln!("browser pages checked: {:?}", self.seen);
        assert!(
            self.too_wide.is_empty(),
            "pages wider than the 390px phone viewport (screenshots in /tmp): {:#?}",
            self.too_wide
        );
    }
}

/// Checks every page: language and direction, no untranslated marker, no horizontal overflow
/// on the phone-sized viewport.
pub(crate) async fn check_page(b: &Browser, lang: &str, walk: &mut Walk) {
    let url = b.url().await;
    let source = b.source().await;
    assert!(
        !source.contains('⟦'),
        "untranslated string marker on {url}: {}",
        source
            .split('⟦')
            .nth(1)
            .map(|s| s.chars().take(40).collect::<String>())
            .unwrap_or_default()
    );
    let dir = if lang == "fa" { "rtl" } else { "ltr" };
    let html = b
        .exec("return [document.documentElement.lang, document.documentElement.dir]")
        .await;
    assert_eq!(html, json!([lang, dir]), "<html lang dir> on {url}");
    let fits = b
        .exec(
            "return [document.documentElement.scrollWidth <= window.innerWidth, \
             document.documentElement.scrollWidth, window.innerWidth]",
        )
        .await;
    assert_eq!(fits[2], 390, "the phone viewport on {url}");
    let path = path_of(&url).to_string();
    if fits[0] != true {
        let shot = format!("/tmp/pishkhan-overflow-{}.png", walk.too_wide.len() + 1);
        b.screenshot(&shot).await;
        walk.too_wide.push(format!(
            "{path}: scrollWidth {} > innerWidth {} (see {shot})",
            fits[1], fits[2]
        ));
    }
    walk.seen.push(path);
}

/// chromedriver, one browser session and a scratch directory; `None` when skipped.
pub(crate) struct Env {
    // Field order is drop order: the session ends before chromedriver is killed.
    pub(crate) b: Browser,
    pub(crate) driver: Chromedriver,
    pub(crate) _work: tempfile::TempDir,
}

impl Env {
    pub(crate) async fn start() -> Option<Env> {
        let (driver_bin, chrome_bin) = browser_binaries()?;
        let work = tempfile::tempdir().expect("temp dir");
        let driver = Chromedriver::start(&driver_bin, &work.path().join("chromedriver.log")).await;
        let b = Browser::new(&driver, &chrome_bin, &work.path().join("profile")).await;
        Some(Env {
            b,
            driver,
            _work: work,
        })
    }

    pub(crate) async fn stop(self) {
        let Env { b, driver, _work } = self;
        b.quit().await;
        drop(driver);
    }
}

/// Signs in through the form on the current page.
pub(crate) async fn sign_in(b: &Browser, username: &str, password: &str) {
    b.type_into("input[name=username]", username).await;
    b.type_into("input[name=password]", password).await;
    b.click(&b.find("form.form-card button[type=submit]").await)
        .await;
}

#[tokio::test]
pub(crate) async fn browser_regulator_walkthrough() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let mut walk = Walk::default();
    let base = app.base.clone();

    // ---- sign-in page: Persian, right to left, Vazirmatn --------------------------------
    b.step("sign-in page: Persian, right to left, Vazirmatn");
    b.goto(&format!("{base}/")).await;
    let url = b
        .wait_for_url("the sign-in page", |u| path_of(u).starts_with("/login"))
        .await;
    assert_eq!(path_of(&url), "/login", "/ redirects to sign-in");
    check_page(b, "fa", &mut walk).await;
    assert!(
        b.title().await.contains("ورود کارکنان"),
        "{}",
        b.title().await
    );
    let css = b.find("link[rel=stylesheet]").await;
    assert_eq!(
        b.attr(&css, "href").await.as_deref(),
        Some("/static/app.css")
    );
    let preload = b.find("link[rel=preload][as=font]").await;
    assert_eq!(
        b.attr(&preload, "href").await.as_deref(),
        Some("/static/vendor/Vazirmatn-Variable.woff2")
    );
    let font = app.get("/static/vendor/Vazirmatn-Variable.woff2").await;
    assert_eq!(font.status, 200);
    assert_eq!(font.content_type(), "font/woff2");
    assert!(font.bytes.starts_with(b"wOF2"), "a WOFF2 file");
    let family = b
        .exec("return getComputedStyle(document.body).fontFamily")
        .await;
    assert!(
        family.as_str().is_some_and(|f| f.contains("Vazirmatn")),
        "body font: {family}"
    );
    // The browser really loads the font (CSP and content type allow it).
    let loaded = b
        .exec_async(
            "const done = arguments[arguments.length - 1]; \
             document.fonts.load('16px Vazirmatn', 'سلام').then(f => done(f.length), e => done(String(e)));",
        )
        .await;
    assert!(
        loaded.as_u64().is_some_and(|n| n >= 1),
        "Vazirmatn did not load: {loaded}"
    );

    // ---- a wrong password shows the Persian message ------------------------------------
    b.step("a wrong password shows the Persian message");
    sign_in(b, "regulator", "wrong-password").await;
    let alert = b.text_of(".alert-error").await;
    assert_eq!(alert, "نام کاربری یا گذرواژه نادرست است.");
    check_page(b, "fa", &mut walk).await;
    assert_eq!(
        b.exec("return document.querySelector('input[name=username]').value")
            .await,
        "regulator",
        "the username is kept"
    );

    // ---- sign in as the regulator --------------------------------------------------------
    b.step("sign in as the regulator");
    sign_in(b, "regulator", DEMO_PASSWORD).await;
    b.wait_for_url("the dashboard", |u| path_of(u) == "/dashboard")
        .await;
    check_page(b, "fa", &mut walk).await;
    let stats = b.texts(".stat-value").await;
    assert_eq!(
        stats.first().map(String::as_str),
        Some("۱۲۰"),
        "offices: {stats:?}"
    );
    assert_eq!(
        stats.get(2).map(String::as_str),
        Some("۵۵۰"),
        "services: {stats:?}"
    );
    assert!(
        stats.iter().all(|s| !has_ascii_digit(s)),
        "Persian digits only: {stats:?}"
    );
    let footer = b.text_of("footer.site-footer").await;
    assert!(
        footer.contains("۷ آذر ۱۴۰۵"),
        "Jalali date in the footer: {footer}"
    );
    b.screenshot("/tmp/pishkhan-dashboard-fa.png").await;

    // ---- offices: search, province filter, paging, detail -------------------------------
    b.step("offices: search, province filter, paging, detail");
    b.click(&b.find("nav.site-nav a[href='/offices']").await)
        .await;
    b.wait_for_url("the offices page", |u| path_of(u) == "/offices")
        .await;
    check_page(b, "fa", &mut walk).await;
    b.type_into("form.filters input[name=q]", "کاشانی").await;
    b.click(&b.find("form.filters button[type=submit]").await)
        .await;
    b.wait_for_url("search results", |u| u.contains("q=")).await;
    check_page(b, "fa", &mut walk).await;
    let rows = b.texts("table.data tbody tr td:first-child").await;
    assert_eq!(
        rows,
        ["۱۱۰۰۰۰۰۴", "۱۱۰۰۰۰۲۸", "۱۱۰۰۰۰۳۷", "۱۱۰۰۰۰۴۹"],
        "offices on Kashani boulevard"
    );

    // By name, typed with Arabic yeh: the office is among the results.
    b.type_into("form.filters input[name=q]", "پيشخوان دولت ۵۵")
        .await;
    b.click(&b.find("form.filters button[type=submit]").await)
        .await;
    b.wait_for_url("search by name", |u| u.contains("%D9%8A"))
        .await;
    check_page(b, "fa", &mut walk).await;
    let rows = b.texts("table.data tbody tr td:nth-child(2)").await;
    assert!(
        rows.iter().any(|r| r == "دفتر پیشخوان دولت ۵۵ تهران"),
        "search by name: {rows:?}"
    );

    b.goto(&format!("{base}/offices")).await;
    b.click(&b.find("select[name=province] option[value='1']").await)
        .await;
    b.wait_for_url("the province filter", |u| u.contains("province=1"))
        .await;
    check_page(b, "fa", &mut walk).await;
    let selected = b
        .exec("return document.querySelector('select[name=province]').value")
        .await;
    assert_eq!(selected, "1", "the chosen province stays selected");
    assert_eq!(b.find_all("table.data tbody tr").await.len(), 20);
    let info = b.text_of(".pager-info").await;
    assert_eq!(info, "۱۲۰ نتیجه");
    assert_eq!(b.text_of(".pager-current").await, "صفحه ۱ از ۶");
    b.click(&b.find(".pager a[rel=next]").await).await;
    let url = b.wait_for_url("page 2", |u| u.contains("page=2")).await;
    assert!(url.contains("province=1"), "paging keeps the filter: {url}");
    check_page(b, "fa", &mut walk).await;
    assert_eq!(b.text_of(".pager-current").await, "صفحه ۲ از ۶");
    let codes = b.texts("table.data tbody tr td:first-child").await;
    assert_eq!(
        codes.first().map(String::as_str),
        Some("۱۱۰۰۰۰۲۱"),
        "{codes:?}"
    );
    assert_eq!(codes.len(), 20);
    b.screenshot("/tmp/pishkhan-offices-fa.png").await;

    b.click(&b.find("table.data tbody tr td:first-child a").await)
        .await;
    b.wait_for_url("the office page", |u| path_of(u) == "/offices/11000021")
        .await;
    check_page(b, "fa", &mut walk).await;
    assert_eq!(b.text_of("main h1").await, "دفتر پیشخوان دولت ۲۱ تهران");
    let details = b.text_of("dl.details").await;
    assert!(details.contains("۱۱۰۰۰۰۲۱"), "{details}");
    assert!(
        !has_ascii_digit(&details),
        "Persian digits in details: {details}"
    );
    b.screenshot("/tmp/pishkhan-office-fa.png").await;

    // ---- services by agency ------------------------------------------------------------
    b.step("services by agency");
    b.click(&b.find("nav.site-nav a[href='/services']").await)
        .await;
    b.wait_for_url("the services page", |u| path_of(u) == "/services")
        .await;
    check_page(b, "fa", &mut walk).await;
    b.click(&b.find("select[name=agency] option[value='nocr']").await)
        .await;
    b.wait_for_url("the agency filter", |u| u.contains("agency=nocr"))
        .await;
    check_page(b, "fa", &mut walk).await;
    assert_eq!(b.text_of(".pager-info").await, "۱۳ نتیجه");
    let services = b.texts("table.data tbody tr td:first-child").await;
    assert_eq!(services.len(), 13);
    assert!(services.contains(&"NID-۰۰۱".to_string()), "{services:?}");

    // ---- English -----------------------------------------------------------------------
    b.step("English");
    b.click(&b.find("a.lang-switch").await).await;
    b.wait_for_url("back on the services page", |u| {
        path_of(u).starts_with("/services")
    })
    .await;
    let url = b.url().await;
    assert!(
        url.contains("agency=nocr"),
        "back where the switch was clicked: {url}"
    );
    check_page(b, "en", &mut walk).await;
    assert_eq!(b.text_of(".pager-info").await, "13 results");
    assert_eq!(b.text_of("main h1").await, "Service catalogue");
    let codes = b.texts("table.data tbody tr td:first-child").await;
    assert!(codes.contains(&"NID-001".to_string()), "{codes:?}");
    let footer = b.text_of("footer.site-footer").await;
    assert!(footer.contains("7 Azar 1405"), "{footer}");
    assert!(!has_persian_digit(&footer), "{footer}");
    b.screenshot("/tmp/pishkhan-services-en.png").await;
    b.goto(&format!("{base}/dashboard")).await;
    check_page(b, "en", &mut walk).await;
    assert_eq!(
        b.texts(".stat-value").await.first().map(String::as_str),
        Some("120")
    );

    // ---- sign out ----------------------------------------------------------------------
    b.step("sign out");
    b.click(&b.find("form.logout-form button").await).await;
    b.wait_for_url("the sign-in page", |u| path_of(u).starts_with("/login"))
        .await;
    check_page(b, "en", &mut walk).await;
    b.goto(&format!("{base}/dashboard")).await;
    let url = b
        .wait_for_url("sign-in after sign-out", |u| {
            path_of(u).starts_with("/login")
        })
        .await;
    assert_eq!(path_of(&url), "/login?next=%2Fdashboard");
    b.click(&b.find("a.lang-switch").await).await;
    b.wait_for_url("the Persian sign-in page", |u| {
        path_of(u).starts_with("/login")
    })
    .await;
    check_page(b, "fa", &mut walk).await;

    env.stop().await;
    app.stop().await;
    walk.finish();
}

#[tokio::test]
pub(crate) async fn browser_invitation_flow() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let mut walk = Walk::default();
    let base = app.base.clone();
    b.goto(&format!("{base}/login")).await;

    // ---- the manager invites an operator; the operator activates and signs in -----------
    b.step("the manager invites an operator; the operator activates and signs in");
    sign_in(b, "manager", DEMO_PASSWORD).await;
    b.wait_for_url("the manager's office", |u| {
        path_of(u) == "/offices/11000001/manage"
    })
    .await;
    check_page(b, "fa", &mut walk).await;
    b.click(&b.find("nav.site-nav a[href='/staff/new']").await)
        .await;
    b.wait_for_url("the invitation form", |u| path_of(u) == "/staff/new")
        .await;
    check_page(b, "fa", &mut walk).await;
    let office = b.find("input[name=office]").await;
    assert_eq!(b.attr(&office, "readonly").await.as_deref(), Some("true"));
    assert_eq!(
        b.exec("return document.querySelector('input[name=office]').value")
            .await,
        "11000001"
    );
    let nc = app.fresh_national_code();
    b.type_into("input[name=national_code]", &nc).await;
    b.type_into("input[name=first_name]", "مریم").await;
    b.type_into("input[name=last_name]", "کاظمی").await;
    b.type_into("input[name=mobile]", "۰۹۱۲۱۲۳۴۵۶۷").await;
    b.click(&b.find("form.form-card button[type=submit]").await)
        .await;
    let link = b.find("#invitation-link").await;
    check_page(b, "fa", &mut walk).await;
    let invitation = b.attr(&link, "href").await.expect("invitation href");
    assert!(
        invitation.starts_with(&format!("{base}/invite/")),
        "{invitation}"
    );
    b.screenshot("/tmp/pishkhan-invite-fa.png").await;

    b.goto(&invitation).await;
    check_page(b, "fa", &mut walk).await;
    let intro = b.text_of("form.form-card").await;
    assert!(intro.contains("مریم کاظمی"), "{intro}");
    assert!(intro.contains(&format!("u{nc}")), "{intro}");
    b.type_into("input[name=password]", "Persian-pass-1405")
        .await;
    b.type_into("input[name=password_again]", "Persian-pass-1406")
        .await;
    b.click(&b.find("form.form-card button[type=submit]").await)
        .await;
    assert_eq!(b.text_of(".alert-error").await, "دو گذرواژه یکسان نیستند.");
    b.type_into("input[name=password]", "Persian-pass-1405")
        .await;
    b.type_into("input[name=password_again]", "Persian-pass-1405")
        .await;
    b.click(&b.find("form.form-card button[type=submit]").await)
        .await;
    assert_eq!(
        b.text_of(".alert-success").await,
        "حساب شما فعال شد. اکنون می‌توانید وارد شوید."
    );
    check_page(b, "fa", &mut walk).await;
    // The link is spent.
    b.goto(&invitation).await;
    assert!(
        b.text_of(".alert-error").await.contains("نامعتبر"),
        "a used link is refused"
    );

    b.goto(&format!("{base}/dashboard")).await;
    b.click(&b.find("form.logout-form button").await).await;
    b.wait_for_url("the sign-in page", |u| path_of(u).starts_with("/login"))
        .await;
    sign_in(b, &format!("u{nc}"), "Persian-pass-1405").await;
    b.wait_for_url("the new operator's counter", |u| path_of(u) == "/console")
        .await;
    check_page(b, "fa", &mut walk).await;
    let who = b.text_of(".header-tools").await;
    assert!(
        who.contains(&format!("u{nc}")) && who.contains("کارور"),
        "signed in as the new operator: {who}"
    );
    assert!(
        b.find_all("nav.site-nav a[href='/staff/new']")
            .await
            .is_empty(),
        "operators cannot invite"
    );
    b.screenshot("/tmp/pishkhan-operator-fa.png").await;

    env.stop().await;
    app.stop().await;
    walk.finish();
}

/// Text in the header whose colour contrasts less than WCAG AA (4.5:1) with the header.
pub(crate) async fn header_contrast_problems(b: &Browser) -> Vec<String> {
    let found = b
        .exec(
            r#"
            const lum = c => {
              const [r, g, b] = c.match(/[\d.]+/g).map(Number).slice(0, 3).map(v => {
                v /= 255;
                return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
              });
              return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const header = document.querySelector('header.site-header');
            if (!header) return [];
            const bg = getComputedStyle(header).backgroundColor;
            const out = [];
            for (const el of header.querySelectorAll('a, span, button')) {
              const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
              if (!own) continue;
              // Only text drawn straight on the header's own background.
              let box = el, painted = false;
              while (box && box !== header) {
                if (getComputedStyle(box).backgroundColor !== 'rgba(0, 0, 0, 0)') painted = true;
                box = box.parentElement;
              }
              if (painted) continue;
              const fg = getComputedStyle(el).color;
              const [l1, l2] = [lum(fg), lum(bg)];
              const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
              if (ratio < 4.5) {
                out.push(`"${el.textContent.trim()}" ${fg} on ${bg}: ${ratio.toFixed(2)}:1`);
              }
            }
            return out;
            "#,
        )
        .await;
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Who is signed in, and their office link, must be readable in the header (WCAG AA).
#[tokio::test]
pub(crate) async fn browser_header_text_is_readable() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let base = app.base.clone();
    let mut problems = Vec::new();
    for (who, lang) in [("manager", "fa"), ("regulator", "en")] {
        b.goto(&format!("{base}/lang/{lang}")).await;
        b.goto(&format!("{base}/login")).await;
        sign_in(b, who, DEMO_PASSWORD).await;
        b.wait_for_url("the landing page", |u| !path_of(u).starts_with("/login"))
            .await;
        let tools = b.text_of(".header-tools").await;
        assert!(tools.contains(who), "{tools}");
        for p in header_contrast_problems(b).await {
            problems.push(format!("{who}/{lang}: {p}"));
        }
        if who == "manager" {
            b.screenshot("/tmp/pishkhan-header-manager.png").await;
        }
        b.click(&b.find("form.logout-form button").await).await;
        b.wait_for_url("the sign-in page", |u| path_of(u).starts_with("/login"))
            .await;
    }
    env.stop().await;
    app.stop().await;
    assert!(
        problems.is_empty(),
        "header text below 4.5:1 contrast: {problems:#?}"
    );
}
