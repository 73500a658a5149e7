//! The citizen pages: sign in with a one-time code, book, see, reschedule and cancel one's
//! own appointments. Over plain HTTP on every backend, and in headless Chromium at phone width.
//!
//! The WebDriver scaffolding below is a trimmed copy of the private helpers in `browser.rs`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::support::{DEMO_OFFICE, Resp, TestApp, enc};

const REQUIRE_ENV: &str = "PISHKHAN_REQUIRE_BROWSER";
/// W3C WebDriver's key for element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Polling for a condition: at most this many tries, `POLL_INTERVAL` apart.
const POLL_TRIES: u32 = 200;
const POLL_INTERVAL: Duration = Duration::from_millis(50);

fn find_executable(env: &str, names: &[&str]) -> Option<PathBuf> {
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
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
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
struct Chromedriver {
    child: Child,
    port: u16,
    url: String,
}

impl Chromedriver {
    async fn start(path: &Path, log: &Path) -> Chromedriver {
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
struct Browser {
    http: reqwest::Client,
    driver_port: u16,
    session: String,
    base: String,
    open: bool,
}

#[derive(Clone)]
struct El(String);

impl Browser {
    async fn new(driver: &Chromedriver, chrome: &Path, profile: &Path) -> Browser {
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
                "--window-size=390,844",
            ]
        });
        // Chrome keeps desktop windows at least 500px wide; emulate the phone's viewport.
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 1.0, "mobile": false }
        });
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

    async fn try_cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("WebDriver request");
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.expect("WebDriver JSON");
        if ok {
            Ok(v["value"].clone())
        } else {
            Err(v["value"].clone())
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn title(&self) -> String {
        self.cmd(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn find_all(&self, css: &str) -> Vec<El> {
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
    async fn find(&self, css: &str) -> El {
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

    async fn click(&self, el: &El) {
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

    async fn clear(&self, el: &El) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/clear", el.0),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.clear(&el).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn text(&self, el: &El) -> String {
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

    async fn text_of(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.text(&el).await
    }

    async fn exec(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    async fn screenshot(&self, path: &str) {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("screenshot base64");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {path}: {e}"));
    }

    /// Polls the current URL until `pred` holds; bounded.
    async fn wait_for_url(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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

    async fn quit(mut self) {
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

fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or("/")
}

/// What the page checks found along a walk: pages seen, and pages wider than the phone.
#[derive(Default)]
struct Walk {
    seen: Vec<String>,
    too_wide: Vec<String>,
}

impl Walk {
    /// Layout problems are collected rather than fatal, so one overflowing page does not hide
    /// what the rest of the walk would find; `finish` fails the test if there were any.
    fn finish(self) {
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
async fn check_page(b: &Browser, lang: &str, walk: &mut Walk) {
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
struct Env {
    // Field order is drop order: the session ends before chromedriver is killed.
    b: Browser,
    driver: Chromedriver,
    _work: tempfile::TempDir,
}

impl Env {
    async fn start() -> Option<Env> {
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

    async fn stop(self) {
        let Env { b, driver, _work } = self;
        b.quit().await;
        drop(driver);
    }
}

const SERVICE: &str = "PSP-001";
const MOBILE: &str = "09351112233";

// ---- plain HTTP ----------------------------------------------------------------------------

/// The value of cookie `name` set by `resp`, if any.
fn set_cookie_value(resp: &Resp, name: &str) -> Option<String> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .and_then(|kv| kv.trim().split_once('='))
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
}

fn set_cookie_line<'a>(resp: &'a Resp, name: &str) -> Option<&'a str> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// A citizen's cookies, sent by hand (the test client has no cookie jar).
struct Jar {
    csrf: String,
    session: Option<String>,
}

impl Jar {
    fn header(&self) -> String {
        match &self.session {
            Some(s) => format!("pishkhan_citizen_csrf={}; pishkhan_citizen={s}", self.csrf),
            None => format!("pishkhan_citizen_csrf={}", self.csrf),
        }
    }
}

async fn get_with(app: &TestApp, jar: &Jar, path: &str) -> Resp {
    app.send(app.client.get(app.url(path)).header("cookie", jar.header()))
        .await
}

async fn post_form(app: &TestApp, cookie: Option<&str>, path: &str, form: &[(&str, &str)]) -> Resp {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.send(req).await
}

#[track_caller]
fn assert_translated(resp: &Resp) {
    assert!(
        !resp.text.contains('⟦'),
        "untranslated marker: {}",
        resp.text
            .split('⟦')
            .nth(1)
            .map(|s| s.chars().take(40).collect::<String>())
            .unwrap_or_default()
    );
}

#[track_caller]
fn assert_redirect(resp: &Resp, to_prefix: &str) -> String {
    assert!(
        (300..400).contains(&resp.status),
        "expected a redirect to {to_prefix}, got {}: {}",
        resp.status,
        resp.text
    );
    let loc = resp.header("location").unwrap_or("").to_string();
    assert!(
        loc.starts_with(to_prefix),
        "redirect to {loc}, not {to_prefix}"
    );
    loc
}

/// The start values of the free slot buttons on a picker page.
fn free_slots(html: &str) -> Vec<String> {
    let marker = "btn btn-secondary slot\" type=\"submit\" name=\"start\" value=\"";
    html.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest.find('"').map(|j| rest[..j].to_string())
        })
        .collect()
}

async fn latest_code(app: &TestApp, mobile: &str) -> String {
    let messages = app.store.outbox_messages(Some(mobile), 5).await.unwrap();
    let sms = messages
        .iter()
        .find(|m| m.kind == "auth.otp")
        .expect("an SMS with the code");
    sms.payload["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn citizen_pages_over_http_sign_in_book_move_and_cancel() {
    for app in TestApp::all().await {
        let be = app.be();
        // Signed out, the pages send the citizen to their sign-in page.
        let resp = app.get("/citizen").await;
        assert_redirect(&resp, "/citizen/login");
        let resp = app.get("/citizen/book").await;
        assert_redirect(&resp, "/citizen/login");

        let form = app.get("/citizen/login").await;
        assert_eq!(form.status, 200, "[{be}] {}", form.text);
        assert_translated(&form);
        assert!(
            form.text.contains("ورود شهروندان"),
            "[{be}] Persian by default"
        );
        let csrf = set_cookie_value(&form, "pishkhan_citizen_csrf").expect("csrf cookie");
        let line = set_cookie_line(&form, "pishkhan_citizen_csrf").unwrap();
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax"),
            "{line}"
        );
        assert!(form.text.contains(&csrf), "the form carries the token");
        let mut jar = Jar {
            csrf: csrf.clone(),
            session: None,
        };
        let cookie = jar.header();

        let citizen = app.fresh_national_code();
        let ask = [
            ("csrf", csrf.as_str()),
            ("national_code", citizen.as_str()),
            ("mobile", MOBILE),
        ];
        // The CSRF check: no cookie, no field, or a wrong field is refused.
        let r = post_form(&app, None, "/citizen/login", &ask).await;
        assert_eq!(r.status, 403, "[{be}] without the cookie: {}", r.text);
        let r = post_form(
            &app,
            Some(&cookie),
            "/citizen/login",
            &[("national_code", citizen.as_str()), ("mobile", MOBILE)],
        )
        .await;
        assert_eq!(r.status, 403, "[{be}] without the field: {}", r.text);
        let r = post_form(
            &app,
            Some(&cookie),
            "/citizen/login",
            &[
                ("csrf", "x".repeat(43).as_str()),
                ("national_code", citizen.as_str()),
                ("mobile", MOBILE),
            ],
        )
        .await;
        assert_eq!(r.status, 403, "[{be}] with a wrong field: {}", r.text);
        assert!(
            app.store
                .outbox_messages(Some(MOBILE), 5)
                .await
                .unwrap()
                .is_empty(),
            "[{be}] refused requests send no SMS"
        );

        // A bad national code is explained in Persian.
        let r = post_form(
            &app,
            Some(&cookie),
            "/citizen/login",
            &[
                ("csrf", csrf.as_str()),
                ("national_code", "1111111111"),
                ("mobile", MOBILE),
            ],
        )
        .await;
        assert_eq!(r.status, 422, "[{be}] {}", r.text);
        assert!(r.text.contains("کد ملی نادرست است"), "[{be}] {}", r.text);
        assert_translated(&r);

        // Ask for a code: the second form appears; asking again at once is too soon.
        let r = post_form(&app, Some(&cookie), "/citizen/login", &ask).await;
        assert_eq!(r.status, 200, "[{be}] {}", r.text);
        assert!(r.text.contains("name=\"code\""), "[{be}] the code form");
        assert_translated(&r);
        let r = post_form(&app, Some(&cookie), "/citizen/login", &ask).await;
        assert_eq!(r.status, 429, "[{be}] {}", r.text);
        assert!(r.text.contains("بیش از حد مجاز"), "[{be}] {}", r.text);

        let code = latest_code(&app, MOBILE).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let with_code = |c: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("national_code", citizen.clone()),
                ("mobile", MOBILE.to_string()),
                ("code", c.to_string()),
            ]
        };
        let f = with_code(wrong);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&cookie), "/citizen/login", &f).await;
        assert_eq!(r.status, 401, "[{be}] {}", r.text);
        assert!(
            r.text.contains("کد واردشده نادرست است"),
            "[{be}] {}",
            r.text
        );
        assert!(set_cookie_value(&r, "pishkhan_citizen").is_none());

        // The right code, in Persian digits, signs in.
        let persian = pishkhan_domain::digits::to_persian_digits(&code);
        let f = with_code(&persian);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&cookie), "/citizen/login", &f).await;
        assert_redirect(&r, "/citizen");
        let line = set_cookie_line(&r, "pishkhan_citizen").expect("session cookie");
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax"),
            "{line}"
        );
        jar.session = set_cookie_value(&r, "pishkhan_citizen");
        // A code works once.
        let r = post_form(&app, Some(&cookie), "/citizen/login", &f).await;
        assert_eq!(r.status, 401, "[{be}] {}", r.text);
        assert!(r.text.contains("منقضی"), "[{be}] {}", r.text);

        let home = get_with(&app, &jar, "/citizen").await;
        assert_eq!(home.status, 200, "[{be}] {}", home.text);
        assert_translated(&home);
        assert!(
            home.text.contains("هنوز نوبتی نگرفته‌اید"),
            "[{be}] empty list"
        );

        // Pick an office and a service; the free slots are listed by Jalali day.
        let picker = get_with(
            &app,
            &jar,
            &format!("/citizen/book?office={DEMO_OFFICE}&service={SERVICE}"),
        )
        .await;
        assert_eq!(picker.status, 200, "[{be}] {}", picker.text);
        assert_translated(&picker);
        assert!(
            picker.text.contains("۸ آذر ۱۴۰۵"),
            "[{be}] tomorrow is listed"
        );
        let slots = free_slots(&picker.text);
        assert!(slots.len() >= 2, "[{be}] free slots: {slots:?}");
        let searched = get_with(
            &app,
            &jar,
            "/citizen/book?oq=%DA%A9%D8%A7%D8%B4%D8%A7%D9%86%DB%8C",
        )
        .await;
        assert_eq!(searched.status, 200, "[{be}] {}", searched.text);
        assert!(
            searched.text.contains("/citizen/book?office=11000004"),
            "[{be}] office search"
        );

        let book = |start: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("office", DEMO_OFFICE.to_string()),
                ("service", SERVICE.to_string()),
                ("start", start.to_string()),
            ]
        };
        let session_cookie = jar.header();
        // Without the CSRF field nothing is booked.
        let f = book(&slots[0]);
        let f: Vec<(&str, &str)> = f.iter().skip(1).map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&session_cookie), "/citizen/book", &f).await;
        assert_eq!(r.status, 403, "[{be}] {}", r.text);
        let f = book(&slots[0]);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&session_cookie), "/citizen/book", &f).await;
        let loc = assert_redirect(&r, "/citizen?booked=");
        let tracking = loc.trim_start_matches("/citizen?booked=").to_string();
        let home = get_with(&app, &jar, &loc).await;
        assert_eq!(home.status, 200, "[{be}] {}", home.text);
        assert_translated(&home);
        assert!(home.text.contains("id=\"booked-code\">") && home.text.contains(&tracking));
        assert!(
            home.text.contains("آذر ۱۴۰۵"),
            "[{be}] Jalali date: {}",
            home.text
        );
        assert!(home.text.contains("رزرو شده"), "[{be}] status label");
        // A second booking for the same service is refused, in Persian.
        let f = book(&slots[1]);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, Some(&session_cookie), "/citizen/book", &f).await;
        assert_eq!(r.status, 422, "[{be}] {}", r.text);
        assert!(r.text.contains("نوبت فعال دارید"), "[{be}] {}", r.text);
        assert_translated(&r);

        // Move it to the second slot.
        let path = format!("/citizen/bookings/{tracking}/reschedule");
        let page = get_with(&app, &jar, &path).await;
        assert_eq!(page.status, 200, "[{be}] {}", page.text);
        assert_translated(&page);
        let r = post_form(
            &app,
            Some(&session_cookie),
            &path,
            &[("csrf", csrf.as_str()), ("start", slots[1].as_str())],
        )
        .await;
        assert_redirect(&r, "/citizen?done=moved");
        let moved = app
            .store
            .booking(&pishkhan_domain::schedule::TrackingCode::parse(&tracking).unwrap())
            .await
            .unwrap();
        let want =
            time::OffsetDateTime::parse(&slots[1], &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(
            moved.slot_start_ms,
            (want.unix_timestamp_nanos() / 1_000_000) as i64,
            "[{be}] moved to the second slot"
        );

        // Someone else cannot cancel it, and without the CSRF field neither can its owner.
        let cancel = format!("/citizen/bookings/{tracking}/cancel");
        let r = post_form(&app, Some(&session_cookie), &cancel, &[]).await;
        assert_eq!(r.status, 403, "[{be}] {}", r.text);
        let r = post_form(
            &app,
            Some(&session_cookie),
            &cancel,
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_redirect(&r, "/citizen?done=cancelled");
        let home = get_with(&app, &jar, "/citizen?done=cancelled").await;
        assert!(home.text.contains("لغو شده"), "[{be}] {}", home.text);
        assert!(home.text.contains("نوبت لغو شد."), "[{be}]");
        assert!(
            !home.text.contains("/cancel\""),
            "[{be}] no cancel button on a cancelled booking"
        );

        // English.
        let en = get_with(&app, &jar, "/citizen?lang=en").await;
        assert_translated(&en);
        assert!(en.text.contains("My appointments") && en.text.contains("Cancelled"));
        assert!(en.text.contains("Azar 1405"), "[{be}] {}", en.text);

        // Sign out clears the cookie.
        let r = post_form(
            &app,
            Some(&session_cookie),
            "/citizen/logout",
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_redirect(&r, "/citizen/login");
        assert_eq!(
            set_cookie_value(&r, "pishkhan_citizen").as_deref(),
            Some("")
        );
        // The session ended on the server too: the old cookie no longer signs in.
        let stale = get_with(&app, &jar, "/citizen").await;
        assert_redirect(&stale, "/citizen/login");
        app.stop().await;
    }
}

// ---- in the browser ------------------------------------------------------------------------

#[tokio::test]
async fn browser_citizen_books_moves_and_cancels_on_a_phone() {
    let Some(env) = Env::start().await else {
        return;
    };
    let b = &env.b;
    let app = TestApp::sqlite().await;
    let mut walk = Walk::default();
    let base = app.base.clone();

    b.goto(&format!("{base}/citizen")).await;
    b.wait_for_url("the citizen sign-in", |u| path_of(u) == "/citizen/login")
        .await;
    check_page(b, "fa", &mut walk).await;
    let citizen = app.fresh_national_code();
    b.type_into("#ask-form input[name=national_code]", &citizen)
        .await;
    b.type_into("#ask-form input[name=mobile]", "۰۹۳۵۱۱۱۲۲۳۳")
        .await;
    b.click(&b.find("#ask-form button[type=submit]").await)
        .await;
    b.find("#code-form input[name=code]").await;
    check_page(b, "fa", &mut walk).await;
    b.screenshot("/tmp/pishkhan-citizen-code-fa.png").await;

    // A wrong code first, then the right one in Persian digits.
    let code = latest_code(&app, MOBILE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.type_into("#code-form input[name=code]", wrong).await;
    b.click(&b.find("#code-form button[type=submit]").await)
        .await;
    let alert = b.text_of(".alert-error").await;
    assert_eq!(alert, "کد واردشده نادرست است. دوباره تلاش کنید.");
    check_page(b, "fa", &mut walk).await;
    b.type_into(
        "#code-form input[name=code]",
        &pishkhan_domain::digits::to_persian_digits(&code),
    )
    .await;
    b.click(&b.find("#code-form button[type=submit]").await)
        .await;
    b.wait_for_url("my bookings", |u| path_of(u) == "/citizen")
        .await;
    check_page(b, "fa", &mut walk).await;

    // Book.
    b.click(&b.find("#new-booking").await).await;
    b.wait_for_url("the booking page", |u| path_of(u) == "/citizen/book")
        .await;
    check_page(b, "fa", &mut walk).await;
    b.type_into("#choose input[name=office]", DEMO_OFFICE).await;
    // Search the services by code; a single match is chosen.
    b.type_into("#choose input[name=sq]", SERVICE).await;
    b.click(&b.find("#choose button[type=submit]").await).await;
    b.find("#slots button.slot").await;
    assert_eq!(
        b.exec("return document.querySelector('#choose select[name=service]').value")
            .await,
        SERVICE
    );
    check_page(b, "fa", &mut walk).await;
    let days = b.text_of("#slots section.day h3").await;
    assert!(days.contains("۸ آذر ۱۴۰۵"), "first day: {days}");
    b.screenshot("/tmp/pishkhan-citizen-slots-fa.png").await;
    b.click(&b.find("#slots button.slot.btn-secondary").await)
        .await;
    b.wait_for_url("the new booking", |u| u.contains("booked="))
        .await;
    check_page(b, "fa", &mut walk).await;
    let tracking = b.text_of("#booked-code").await;
    assert_eq!(tracking.len(), 9, "tracking code: {tracking}");
    let when = b.text_of(".booking .when").await;
    assert!(
        when.contains("آذر ۱۴۰۵") && !when.chars().any(|c| c.is_ascii_digit()),
        "Persian Jalali date and time: {when}"
    );
    b.screenshot("/tmp/pishkhan-citizen-home-fa.png").await;

    // Move it to another free time.
    b.click(&b.find(".booking a.reschedule").await).await;
    b.wait_for_url("the reschedule page", |u| u.ends_with("/reschedule"))
        .await;
    check_page(b, "fa", &mut walk).await;
    b.click(
        &b.find("#slots form.slot-form button.slot.btn-secondary:nth-of-type(3)")
            .await,
    )
    .await;
    b.wait_for_url("moved", |u| u.contains("done=moved")).await;
    check_page(b, "fa", &mut walk).await;
    let moved = b.text_of(".booking .when").await;
    assert_ne!(moved, when, "the time changed");
    assert_eq!(b.text_of(".booking .mono").await, tracking);

    // Cancel it.
    b.click(&b.find(".booking button.cancel").await).await;
    b.wait_for_url("cancelled", |u| u.contains("done=cancelled"))
        .await;
    check_page(b, "fa", &mut walk).await;
    assert_eq!(b.text_of(".booking .badge").await, "لغو شده");
    assert!(b.find_all(".booking button.cancel").await.is_empty());

    // English, then sign out.
    b.click(&b.find("a.lang-switch").await).await;
    b.wait_for_url("back on my bookings", |u| {
        path_of(u).starts_with("/citizen")
    })
    .await;
    check_page(b, "en", &mut walk).await;
    assert_eq!(b.text_of("main h1").await, "My appointments");
    b.goto(&format!(
        "{base}/citizen/book?office={DEMO_OFFICE}&service={SERVICE}"
    ))
    .await;
    check_page(b, "en", &mut walk).await;
    b.screenshot("/tmp/pishkhan-citizen-slots-en.png").await;
    b.goto(&format!("{base}/citizen")).await;
    b.click(&b.find("#citizen-logout button").await).await;
    b.wait_for_url("signed out", |u| path_of(u) == "/citizen/login")
        .await;
    check_page(b, "en", &mut walk).await;
    b.goto(&format!("{base}/citizen")).await;
    b.wait_for_url("signed out stays out", |u| path_of(u) == "/citizen/login")
        .await;

    env.stop().await;
    app.stop().await;
    walk.finish();
}
