//! Shared test support: a real server on 127.0.0.1:0 over a fresh database with the small
//! nation, a thin HTTP client, and assertions for problem responses.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pishkhan_app::FixedClock;
use pishkhan_domain::NationalCode;
use pishkhan_store::Backend;
use pishkhan_testkit::TestDb;
use pishkhan_web::{AppState, WebConfig};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const DEMO_PASSWORD: &str = "demo1234";
/// The office of the demo manager and operator.
pub const DEMO_OFFICE: &str = "11000001";
/// Another office in the small nation, not the demo office.
pub const OTHER_OFFICE: &str = "11000002";
/// Offices in the small nation.
pub const OFFICES: u64 = 120;

/// 2026-11-28 10:00 UTC: 7 Azar 1405 in Tehran.
pub fn fixed_now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-28 10:00 UTC)
}

/// A running server over its own database.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub nation: pishkhan_nation::Nation,
    pub clock: Arc<FixedClock>,
    /// The store the server runs on, for reading what the API can't show (the SMS outbox).
    pub store: Arc<dyn pishkhan_store::Store>,
    /// The server's state, for driving what the clock drives (the sweeper).
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    used_national_codes: HashSet<String>,
    next_code: AtomicU32,
    // Last: the database outlives the server that uses it.
    _db: TestDb,
}

/// A plain client: no redirects followed, no proxies, no cookie jar.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// A plain client whose requests come from `ip`, another client address: any address of
/// 127.0.0.0/8 reaches the server on the loopback interface.
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .local_address(ip.parse::<std::net::IpAddr>().expect("an IP address"))
        .build()
        .expect("http client")
}

impl TestApp {
    /// One app per configured backend (SQLite always, PostgreSQL when configured).
    pub async fn all() -> Vec<TestApp> {
        Self::all_with(|_| {}).await
    }

    pub async fn all_with(configure: impl Fn(&mut WebConfig)) -> Vec<TestApp> {
        let mut apps = Vec::new();
        for db in TestDb::all().await {
            apps.push(Self::start(db, &configure).await);
        }
        apps
    }

    pub async fn sqlite() -> TestApp {
        Self::start(TestDb::sqlite(), |_| {}).await
    }

    pub async fn start(db: TestDb, configure: impl Fn(&mut WebConfig)) -> TestApp {
        let store = db.open().await;
        let nation = pishkhan_testkit::load_small_nation(store.as_ref()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let mut config = WebConfig::default();
        config.app.public_url = base.clone();
        configure(&mut config);
        let clock = Arc::new(FixedClock::new(fixed_now()));
        let state = AppState::new(store.clone(), config, clock.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(pishkhan_web::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        let used_national_codes = nation
            .staff
            .iter()
            .map(|s| s.national_code.as_str().to_string())
            .collect();
        TestApp {
            base,
            client: client(),
            backend: db.backend(),
            nation,
            clock,
            store: store.clone(),
            state,
            shutdown: Some(tx),
            server: Some(server),
            used_national_codes,
            next_code: AtomicU32::new(0),
            _db: db,
        }
    }

    /// Runs `sql` on this server's database behind its back: no store, no app, no cache
    /// invalidation.
    pub async fn raw_sql(&self, sql: &str) -> u64 {
        self._db.execute_raw(sql).await
    }

    /// A second server process on this one's database (PostgreSQL only: SQLite has one
    /// owner): its own store, connection pool, application and session cache.
    pub async fn peer(&self) -> Peer {
        assert_eq!(self.backend, Backend::Postgres, "only PostgreSQL is shared");
        let store = self._db.open().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let mut config = self.state.config().clone();
        config.app.public_url = base.clone();
        let state = AppState::new(store, config, self.clock.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(pishkhan_web::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Peer {
            base,
            client: client(),
            state,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// The backend name, for assertion messages.
    pub fn be(&self) -> &'static str {
        self.backend.name()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and waits for it, then drops the database.
    pub async fn stop(mut self) {
        // Drop pooled keep-alive connections so the graceful shutdown need not wait on them.
        self.client = client();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            match tokio::time::timeout(Duration::from_secs(10), server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("[{}] server failed: {e}", self.be()),
                Ok(Err(e)) => panic!("[{}] server task failed: {e}", self.be()),
                Err(_) => panic!("[{}] server did not shut down within 10 s", self.be()),
            }
        }
    }

    /// A valid national code no one in the database has, different on every call.
    pub fn fresh_national_code(&self) -> String {
        loop {
            let n = self.next_code.fetch_add(1, Ordering::Relaxed);
            let Ok(code) = NationalCode::from_body(987_650_000 + n) else {
                continue;
            };
            let code = code.as_str().to_string();
            if !self.used_national_codes.contains(&code) {
                return code;
            }
        }
    }

    // ---- requests -------------------------------------------------------------------------

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("request reaches the server");
        Resp::read(resp).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn get_as(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(with_token(self.client.get(self.url(path)), token))
            .await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send(with_token(
            self.client
                .post(self.url(path))
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string()),
            token,
        ))
        .await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send(with_token(
            self.client
                .put(self.url(path))
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string()),
            token,
        ))
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        self.send(with_token(
            self.client
                .post(self.url(path))
                .header(CONTENT_TYPE, content_type)
                .body(body),
            token,
        ))
        .await
    }

    /// Signs in through the API and returns the full login response.
    pub async fn login_response(&self, username: &str, password: &str) -> Resp {
        self.post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Signs in and returns the bearer token; fails the test unless it works.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let resp = self.login_response(username, password).await;
        assert_eq!(
            resp.status,
            200,
            "[{}] login as {username}: {}",
            self.be(),
            resp.text
        );
        resp.json()["token"]
            .as_str()
            .expect("token in login response")
            .to_string()
    }

    /// Number of offices the API reports.
    pub async fn office_count(&self) -> u64 {
        let resp = self.get("/api/v1/offices?per_page=1").await;
        assert_eq!(resp.status, 200, "[{}] {}", self.be(), resp.text);
        resp.json()["total"].as_u64().expect("total")
    }

    /// Staff of an office, as the regulator sees them.
    pub async fn office_staff(&self, regulator: &str, office: &str) -> Vec<Value> {
        let resp = self
            .get_as(&format!("/api/v1/offices/{office}/staff"), Some(regulator))
            .await;
        assert_eq!(resp.status, 200, "[{}] {}", self.be(), resp.text);
        resp.json().as_array().expect("staff array").clone()
    }

    /// Number of audit entries the regulator sees.
    pub async fn audit_total(&self, regulator: &str) -> u64 {
        let resp = self
            .get_as("/api/v1/audit?per_page=1", Some(regulator))
            .await;
        assert_eq!(resp.status, 200, "[{}] {}", self.be(), resp.text);
        resp.json()["total"].as_u64().expect("total")
    }
}

/// Another server on a [`TestApp`]'s database, as a second process of a deployment would be.
pub struct Peer {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Peer {
    pub async fn get_as(&self, path: &str, token: Option<&str>) -> Resp {
        let req = with_token(self.client.get(format!("{}{path}", self.base)), token);
        Resp::read(req.send().await.expect("request reaches the peer")).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        let req = with_token(
            self.client
                .post(format!("{}{path}", self.base))
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string()),
            token,
        );
        Resp::read(req.send().await.expect("request reaches the peer")).await
    }

    pub async fn stop(mut self) {
        self.client = client();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}

pub fn with_token(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
    match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    }
}

/// A response read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub async fn read(resp: reqwest::Response) -> Resp {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("read body").to_vec();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text))
    }

    /// Asserts a problem response with `status` and `code`, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_problem_shape(self);
        assert_eq!(
            (self.status, self.json()["code"].as_str().unwrap_or("")),
            (status, code),
            "unexpected problem: {}",
            self.text
        );
        self.json()
    }
}

/// Every error is `application/problem+json` with a non-empty `code` and matching `status`.
#[track_caller]
pub fn assert_problem_shape(resp: &Resp) {
    assert!(
        resp.status >= 400,
        "expected an error, got {}: {}",
        resp.status,
        resp.text
    );
    assert!(
        resp.content_type().starts_with("application/problem+json"),
        "content-type of a {} error is {:?}: {}",
        resp.status,
        resp.content_type(),
        resp.text
    );
    let body = resp.json();
    let code = body["code"].as_str().unwrap_or("");
    assert!(!code.is_empty(), "problem without code: {}", resp.text);
    assert_eq!(
        body["status"].as_u64(),
        Some(u64::from(resp.status)),
        "problem status field: {}",
        resp.text
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "problem without title: {}",
        resp.text
    );
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A valid new office; `code` None lets the server allocate one.
pub fn office_json(code: Option<&str>, licence_no: &str) -> Value {
    let mut v = json!({
        "name_fa": "دفتر پیشخوان آزمایشی",
        "name_en": "Test Pishkhan Office",
        "province": 1,
        "city_fa": "تهران",
        "city_en": "Tehran",
        "address_fa": "تهران، خیابان آزمایش، پلاک ۱",
        "address_en": "No. 1, Test St., Tehran",
        "postal_code": "13457-65345",
        "phone": "021-88776655",
        "lat": 35.7,
        "lon": 51.4,
        "licence_no": licence_no,
        "counters": 4
    });
    if let Some(c) = code {
        v["code"] = json!(c);
    }
    v
}

/// A valid staff invitation body.
pub fn staff_json(national_code: &str, office: Option<&str>, role: &str) -> Value {
    let mut v = json!({
        "national_code": national_code,
        "first_name": "سارا",
        "last_name": "کریمی",
        "mobile": "0912 123 4567",
        "role": role
    });
    if let Some(o) = office {
        v["office"] = json!(o);
    }
    v
}

/// The token at the end of an invitation URL.
pub fn invitation_token(url: &str) -> String {
    url.rsplit_once("/invite/")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("not an invitation url: {url}"))
}

/// The reference agencies, each a real HTTP server on 127.0.0.1 with a signing envelope, and
/// the keys of the deployment.
pub struct ExchangeFixture {
    #[allow(dead_code)]
    pub keys: pishkhan_demo::DeploymentKeys,
    pub population: pishkhan_agency::Population,
    pub urls: Vec<(pishkhan_demo::ReferenceAgency, String)>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    token: String,
}

/// People the reference agencies know in tests.
pub const TEST_POPULATION: u64 = 20_000;

impl ExchangeFixture {
    /// Stops one agency's server (its address then refuses connections).
    pub fn stop_agency(&mut self, agency: pishkhan_demo::ReferenceAgency) -> String {
        let i = self
            .urls
            .iter()
            .position(|(a, _)| *a == agency)
            .expect("a running agency");
        let (_, url) = self.urls.remove(i);
        let _ = self.stops.remove(i).send(());
        url
    }

    /// Starts the agency again at the address it had.
    pub async fn restart_agency(&mut self, agency: pishkhan_demo::ReferenceAgency, url: &str) {
        let addr = url.trim_start_matches("http://");
        let mut listener = None;
        for _ in 0..200 {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                // The old server may still be closing its socket.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
        let listener = listener.expect("rebind the agency's address");
        let stop = serve_agency(&self.keys, &self.population, &self.token, agency, listener);
        self.urls.push((agency, url.to_string()));
        self.stops.push(stop);
    }
}

fn serve_agency(
    keys: &pishkhan_demo::DeploymentKeys,
    population: &pishkhan_agency::Population,
    token: &str,
    agency: pishkhan_demo::ReferenceAgency,
    listener: tokio::net::TcpListener,
) -> tokio::sync::oneshot::Sender<()> {
    use pishkhan_exchange::{Directory, DirectoryHandle, SignedEnvelope};
    let anchor = keys.regulator_keyring().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let dir = Directory::verify(token, &anchor, None, now).expect("directory verifies");
    let key = keys
        .agencies
        .iter()
        .find(|(a, _)| *a == agency)
        .map(|(_, k)| pishkhan_sign::KeyPair::from_private_jwk(&private_jwk(k)).unwrap())
        .unwrap();
    let envelope =
        SignedEnvelope::new(agency.member_id(), key, DirectoryHandle::new(dir)).expect("envelope");
    let state =
        pishkhan_agency::AgencyState::from(population.clone()).with_envelope(Arc::new(envelope));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(pishkhan_agency::serve(listener, state, async move {
        let _ = rx.await;
    }));
    tx
}

impl TestApp {
    /// Starts the four reference agencies and turns the exchange on in this server.
    pub async fn enable_exchange(&self) -> ExchangeFixture {
        use pishkhan_exchange::{Directory, DirectoryHandle, MemberId};
        let keys = pishkhan_demo::DeploymentKeys::generate().expect("keys");
        let population =
            pishkhan_agency::Population::new(pishkhan_agency::DEFAULT_SEED, TEST_POPULATION)
                .expect("population");
        // Bind first: the directory names each agency's address.
        let mut listeners = Vec::new();
        for agency in pishkhan_demo::ReferenceAgency::ALL {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let url = format!("http://{}", l.local_addr().unwrap());
            listeners.push((agency, l, url));
        }
        let urls: Vec<_> = listeners.iter().map(|(a, _, u)| (*a, u.clone())).collect();
        let catalogue = pishkhan_app::exchange::whole_catalogue(self.store.as_ref())
            .await
            .expect("catalogue");
        let real_now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = pishkhan_demo::sign_reference_directory(
            &keys,
            &urls,
            &catalogue,
            pishkhan_exchange::Limits {
                agency_timeout_ms: 2_000,
                circuit_cooldown_ms: 200,
                ..Default::default()
            },
            1,
            // Agencies check the directory against the real clock, not the test clock.
            real_now,
            10 * 365 * 24 * 3600,
        )
        .expect("directory");
        let anchor = keys.regulator_keyring().unwrap();
        let mut stops = Vec::new();
        for (agency, listener, _) in listeners {
            stops.push(serve_agency(&keys, &population, &token, agency, listener));
        }
        let dir = Directory::verify(&token, &anchor, None, real_now).expect("directory");
        let clone = |k: &pishkhan_sign::KeyPair| {
            pishkhan_sign::KeyPair::from_private_jwk(&private_jwk(k)).unwrap()
        };
        let runtime = pishkhan_app::exchange::ExchangeRuntime::start(
            self.store.clone(),
            pishkhan_app::exchange::ExchangeSetup {
                directory: DirectoryHandle::new(dir),
                member: MemberId::parse(pishkhan_app::exchange::EXCHANGE_MEMBER).unwrap(),
                key: clone(&keys.exchange),
                log_key: clone(&keys.log),
                receipt_key: clone(&keys.receipt),
                origin: "pishkhan.test/inquiry-log".into(),
            },
        )
        .await
        .expect("exchange runtime");
        assert!(self.state.set_exchange(runtime));
        ExchangeFixture {
            keys,
            population,
            urls,
            stops,
            token,
        }
    }
}

/// A key pair's private JWK text (keys are not Clone on purpose; tests copy them this way).
pub fn private_jwk(k: &pishkhan_sign::KeyPair) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.jwk");
    k.write_file(&path).unwrap();
    std::fs::read_to_string(path).unwrap()
}

impl TestApp {
    /// Signs a citizen in with the one-time code from the outbox; returns the bearer token.
    pub async fn citizen_token(&self, national_code: &str, mobile: &str) -> String {
        let ask = json!({ "national_code": national_code, "mobile": mobile });
        let sent = self.post_json("/api/v1/citizen/code", None, &ask).await;
        assert_eq!(sent.status, 202, "{}", sent.text);
        let messages = self.store.outbox_messages(Some(mobile), 20).await.unwrap();
        let code = messages
            .iter()
            .filter(|m| m.kind == "auth.otp")
            .max_by_key(|m| m.id)
            .expect("an SMS with the code")
            .payload["code"]
            .as_str()
            .unwrap()
            .to_string();
        let done = self
            .post_json(
                "/api/v1/citizen/login",
                None,
                &json!({ "national_code": national_code, "mobile": mobile, "code": code }),
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.text);
        done.json()["token"].as_str().unwrap().to_string()
    }
}

/// What the server logs at INFO and above, in the text format, while the guard of
/// [`capture_logs`] lives.
#[derive(Clone, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the logs of this thread: a `#[tokio::test]` runs the server it starts on its
/// own thread, so they are that server's logs and no other test's.
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}
