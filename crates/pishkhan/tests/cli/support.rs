//! Running the real `pishkhan` binary: one-shot commands with a deadline, and server children
//! that are parsed for their address, polled until ready, and killed when dropped.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pishkhan_testkit::TestDb;
use serde_json::Value;

/// Deadline of a quick command (migrate, import, invite).
pub const QUICK: Duration = Duration::from_secs(60);
/// Deadline of a full demo load (17,000 offices, 40,000 staff) in a debug build.
pub const DEMO_LOAD: Duration = Duration::from_secs(240);
/// Deadline for a server to print its address and answer `/readyz`.
pub const STARTUP: Duration = Duration::from_secs(60);
/// Pause between two polls of a condition that has a deadline.
const POLL: Duration = Duration::from_millis(20);

/// Settings read from the environment that must not leak into the children.
const PISHKHAN_ENV: &[&str] = &[
    "PISHKHAN_DATA_DIR",
    "PISHKHAN_DATABASE_URL",
    "PISHKHAN_LOG_FORMAT",
    "PISHKHAN_LISTEN",
    "PISHKHAN_PUBLIC_URL",
    "PISHKHAN_COOKIE_SECURE",
    "PISHKHAN_NOTIFY",
    "PISHKHAN_METRICS_TOKEN",
    "PISHKHAN_CONFIG",
    "PISHKHAN_NODE_NAME",
    "PISHKHAN_TRUSTED_PROXIES",
];

/// The binary, with a clean environment and quiet logs, run from `cwd`.
pub fn pishkhan(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pishkhan"));
    for var in PISHKHAN_ENV {
        cmd.env_remove(var);
    }
    cmd.env("PISHKHAN_LOG", "warn")
        .env("NO_COLOR", "1")
        // The demo's months of traffic history take a minute to load; the tests of serving,
        // crashes and locks do not need them, and the history has a test of its own.
        .env("PISHKHAN_DEMO_HISTORY_DAYS", "0")
        .current_dir(cwd)
        .stdin(Stdio::null());
    cmd
}

/// `--data-dir DIR` for SQLite, `--database-url URL` for PostgreSQL.
pub fn db_args(db: &TestDb) -> Vec<OsString> {
    match db.data_dir() {
        Some(dir) => vec!["--data-dir".into(), dir.as_os_str().to_owned()],
        None => vec!["--database-url".into(), db.url().expose().into()],
    }
}

/// Where a test's children run: the SQLite directory, or the system temp dir for PostgreSQL.
fn cwd_of(db: &TestDb) -> std::path::PathBuf {
    db.data_dir()
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

/// The outcome of a finished command.
pub struct Run {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited with {} after {:.2}s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what,
            self.status,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }
}

impl Run {
    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(self.status.success(), "expected success: {self}");
        self
    }

    /// Asserts a non-zero exit code (not a crash by signal).
    #[track_caller]
    pub fn failed(self) -> Self {
        assert!(
            matches!(self.status.code(), Some(c) if c != 0),
            "expected a non-zero exit code: {self}"
        );
        self
    }

    /// Asserts that stderr holds every fragment.
    #[track_caller]
    pub fn stderr_has(self, fragments: &[&str]) -> Self {
        for f in fragments {
            assert!(self.stderr.contains(f), "stderr lacks {f:?}: {self}");
        }
        self
    }

    /// Asserts that stdout holds every fragment.
    #[track_caller]
    pub fn stdout_has(self, fragments: &[&str]) -> Self {
        for f in fragments {
            assert!(self.stdout.contains(f), "stdout lacks {f:?}: {self}");
        }
        self
    }
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` to completion, killing it and failing the test after `limit`.
pub fn run_cmd(mut cmd: Command, limit: Duration) -> Run {
    let what = format!(
        "pishkhan {}",
        cmd.get_args()
            .map(OsStr::to_string_lossy)
            .collect::<Vec<_>>()
            .join(" ")
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn the pishkhan binary");
    let out = drain(child.stdout.take().expect("piped stdout"));
    let err = drain(child.stderr.take().expect("piped stderr"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for pishkhan") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{what}` still running after {limit:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    Run {
        what,
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        elapsed,
    }
}

/// Runs `pishkhan <db flags> ARGS` against a test database.
pub fn cli<S: AsRef<OsStr>>(db: &TestDb, args: &[S]) -> Run {
    cli_within(db, args, QUICK)
}

pub fn cli_within<S: AsRef<OsStr>>(db: &TestDb, args: &[S], limit: Duration) -> Run {
    let mut cmd = pishkhan(&cwd_of(db));
    cmd.args(db_args(db)).args(args);
    run_cmd(cmd, limit)
}

/// A response: status and body, JSON when it parses.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Reply {
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected reply: {}", self.text);
        self.body
    }
}

/// A running `serve` or `demo` child. Dropping it kills the process.
pub struct Server {
    child: Child,
    /// The data dir of a PostgreSQL-backed demo (keys, agency data), removed with the server.
    data_dir: Option<tempfile::TempDir>,
    pub base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl Server {
    /// `pishkhan serve --listen 127.0.0.1:0`.
    pub async fn serve(db: &TestDb) -> Self {
        Self::serve_with(db, &[]).await
    }

    /// `pishkhan serve --listen 127.0.0.1:0 EXTRA…`.
    pub async fn serve_with(db: &TestDb, extra: &[&str]) -> Self {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Self::start(db, &args, "pishkhan serving on ").await
    }

    /// `pishkhan demo --listen 127.0.0.1:0`.
    pub async fn demo(db: &TestDb) -> Self {
        Self::start(db, &["demo", "--listen", "127.0.0.1:0"], "web UI:").await
    }

    async fn start(db: &TestDb, args: &[&str], marker: &str) -> Self {
        let mut cmd = pishkhan(&cwd_of(db));
        cmd.args(db_args(db));
        // A PostgreSQL test still needs its own directory for keys and agency data.
        let own = match db.data_dir() {
            Some(_) => None,
            None => Some(tempfile::tempdir().expect("temp dir")),
        };
        if let Some(dir) = &own {
            cmd.arg("--data-dir").arg(dir.path());
        }
        cmd.args(args);
        let mut server = Self::launch(cmd, marker, "/readyz").await;
        server.data_dir = own;
        server
    }

    /// The server's data dir (keys, agency data, the SQLite database).
    pub fn data_dir(&self, db: &TestDb) -> std::path::PathBuf {
        match (&self.data_dir, db.data_dir()) {
            (Some(d), _) => d.path().to_path_buf(),
            (None, Some(d)) => d.to_path_buf(),
            (None, None) => std::env::temp_dir().join("data"),
        }
    }

    /// `pishkhan --data-dir DIR agency serve --listen 127.0.0.1:0 --size SIZE`.
    pub async fn agency(dir: &Path, size: u64) -> Self {
        let mut cmd = pishkhan(dir);
        cmd.arg("--data-dir")
            .arg(dir)
            .args(["agency", "serve", "--listen", "127.0.0.1:0", "--size"])
            .arg(size.to_string());
        Self::launch(cmd, "agency services for", "/healthz").await
    }

    /// Runs `cmd` (a `serve` or `demo` made with [`pishkhan`], listening at `base`) until it
    /// prints `marker` and its `/readyz` answers, within `startup`.
    pub async fn spawn_at(cmd: Command, marker: &str, base: &str, startup: Duration) -> Self {
        Self::launch_at(cmd, marker, "/readyz", Some(base), startup).await
    }

    async fn launch(cmd: Command, marker: &str, ready_path: &str) -> Self {
        Self::launch_at(cmd, marker, ready_path, None, STARTUP).await
    }

    /// `base` overrides the URL the marker's line names (a `--public-url` elsewhere).
    async fn launch_at(
        mut cmd: Command,
        marker: &str,
        ready_path: &str,
        base: Option<&str>,
        startup: Duration,
    ) -> Self {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn the pishkhan binary");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        {
            let pipe = child.stdout.take().expect("piped stdout");
            let buf = Arc::clone(&stdout);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut b) = buf.lock() {
                        b.push_str(&line);
                        b.push('\n');
                    }
                    let _ = tx.send(line);
                }
            });
        }
        {
            let mut pipe = child.stderr.take().expect("piped stderr");
            let buf = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut b) = buf.lock() {
                        b.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    }
                }
            });
        }
        let mut server = Server {
            child,
            data_dir: None,
            base: String::new(),
            stdout,
            stderr,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
        };
        let deadline = Instant::now() + startup;
        server.base = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) if line.contains(marker) => {
                    let start = line.find("http://").unwrap_or_else(|| {
                        panic!("no URL in {line:?}: {}", server.describe());
                    });
                    let url = line[start..].split_whitespace().next().unwrap_or_default();
                    break url.trim_end_matches('/').to_string();
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    server.assert_running();
                    assert!(
                        Instant::now() < deadline,
                        "no {marker:?} line in time: {}",
                        server.describe()
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "stdout closed before {marker:?} was printed: {}",
                        server.describe()
                    )
                }
            }
        };
        if let Some(base) = base {
            server.base = base.trim_end_matches('/').to_string();
        }
        server.wait_ready(ready_path, deadline).await;
        server
    }

    /// Polls `ready_path` until it answers 200, the child dies, or the deadline passes.
    async fn wait_ready(&mut self, ready_path: &str, deadline: Instant) {
        let url = self.url(ready_path);
        loop {
            if let Ok(resp) = self
                .http
                .get(&url)
                .timeout(Duration::from_secs(3))
                .send()
                .await
                && resp.status().as_u16() == 200
            {
                return;
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "{url} not ready in time: {}",
                self.describe()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            // Give the readers a moment to collect what the child wrote before dying.
            std::thread::sleep(Duration::from_millis(100));
            panic!("the server exited early with {status}: {}", self.describe());
        }
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn describe(&self) -> String {
        format!(
            "\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits until stdout holds `fragment` (lines printed before readiness may still be in
    /// the pipe when `/readyz` first answers).
    pub fn wait_stdout(&self, fragment: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.stdout();
            if out.contains(fragment) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "stdout never showed {fragment:?}: {}",
                self.describe()
            );
            std::thread::sleep(POLL);
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text }
    }

    pub async fn get(&self, path: &str) -> Reply {
        let resp = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Self::reply(resp).await
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Self::reply(resp).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        let resp = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        Self::reply(resp).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            &serde_json::json!({ "username": username, "password": password }),
        )
        .await
    }

    /// The `total` of a paged list such as `/api/v1/offices`.
    pub async fn total(&self, path: &str) -> u64 {
        let body = self.get(path).await.expect(200);
        body["total"]
            .as_u64()
            .unwrap_or_else(|| panic!("no total in {body}"))
    }

    /// `kill -9`: the process gets no chance to flush or shut down.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server with SIGTERM, as a service manager would, and returns its exit status.
    pub fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server ignored SIGTERM for 20s: {}",
                self.describe()
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Writes `text` to `dir/name` and returns the path as a string for the command line.
pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path.to_str().expect("UTF-8 temp path").to_string()
}
