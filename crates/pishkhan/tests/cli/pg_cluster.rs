//! A replicated PostgreSQL of the test's own, and a load balancer in front of it and of the
//! nodes: a primary and a streaming replica as two local clusters on two loopback ports
//! (Debian's PostgreSQL binaries), and HAProxy (Debian's package) balancing HTTP over the
//! nodes and TCP over the database, the replica as the backup server.
//!
//! Everything listens on 127.0.0.1 and lives in a temporary directory removed at the end.
//! The machine's own PostgreSQL (port 5432) is not touched.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The replica's name in `synchronous_standby_names`.
pub const REPLICA_NAME: &str = "pishkhan_replica";

/// A free loopback port (bound, then let go).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where Debian keeps the server binaries (`initdb`, `pg_ctl`, `pg_basebackup`).
fn pg_bindir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PISHKHAN_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_basebackup").exists())
        .collect();
    found.sort();
    found.pop()
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// What the test needs that the machine may lack; `None` when everything is there.
pub fn missing() -> Option<String> {
    if pg_bindir().is_none() {
        return Some("PostgreSQL server binaries (/usr/lib/postgresql/*/bin)".into());
    }
    if !on_path("haproxy") {
        return Some("haproxy (apt-get install haproxy)".into());
    }
    if is_root() && !on_path("runuser") {
        return Some("runuser, to run PostgreSQL as the postgres user".into());
    }
    None
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root (the server refuses to
/// run as root), and fails the test with its output if it fails.
fn pg(bin: &str, args: &[&str]) {
    let path = pg_bindir().expect("PostgreSQL binaries").join(bin);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&path);
        c
    } else {
        Command::new(&path)
    };
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {bin}: {e}"));
    assert!(
        out.status.success(),
        "{bin} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One local cluster: its data directory and port.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    running: bool,
}

impl Cluster {
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn dir_str(&self) -> &str {
        self.dir.to_str().expect("UTF-8 temp path")
    }

    fn start(&mut self) {
        let log = self.dir.join("server.log");
        pg(
            "pg_ctl",
            &[
                "-D",
                self.dir_str(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        self.running = true;
    }

    /// Stops at once, as a crash would: no checkpoint, clients cut off.
    pub fn stop_immediately(&mut self) {
        pg(
            "pg_ctl",
            &["-D", self.dir_str(), "-m", "immediate", "-w", "stop"],
        );
        self.running = false;
    }

    /// Makes a standby the primary (`pg_ctl promote`), waiting until it accepts writes.
    pub fn promote(&self) {
        pg(
            "pg_ctl",
            &["-D", self.dir_str(), "-w", "-t", "60", "promote"],
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let _ = std::panic::catch_unwind(|| {
                pg(
                    "pg_ctl",
                    &["-D", self.dir_str(), "-m", "immediate", "-w", "stop"],
                )
            });
        }
    }
}

/// A primary and its streaming replica, synchronous once [`Pair::make_synchronous`] ran.
pub struct Pair {
    pub primary: Cluster,
    pub replica: Cluster,
    // Last, so the clusters stop before their directory goes.
    _root: tempfile::TempDir,
}

impl Pair {
    pub fn start() -> Pair {
        let root = tempfile::tempdir().expect("temp dir");
        let base = root.path().join("pg");
        std::fs::create_dir_all(&base).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&base)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown the clusters' directory to postgres");
            // The temp dir itself is root's 0700: let the postgres user through it.
            let ok = Command::new("chmod")
                .arg("755")
                .arg(root.path())
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
        let mut primary = Cluster {
            dir: base.join("primary"),
            port: free_port(),
            running: false,
        };
        let mut replica = Cluster {
            dir: base.join("replica"),
            port: free_port(),
            running: false,
        };
        pg(
            "initdb",
            &[
                "-D",
                primary.dir_str(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let sockets = base.to_str().unwrap();
        write_conf(
            &primary.dir,
            &format!(
                "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sockets}'\n\
                 wal_level = replica\nmax_wal_senders = 5\nmax_connections = 300\n\
                 wal_keep_size = '256MB'\nshared_buffers = '128MB'\nfsync = on\n",
                primary.port
            ),
        );
        primary.start();
        pg(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-D",
                replica.dir_str(),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
            ],
        );
        write_conf(
            &replica.dir,
            &format!(
                "port = {}\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name={REPLICA_NAME}'\n",
                replica.port, primary.port
            ),
        );
        replica.start();
        Pair {
            primary,
            replica,
            _root: root,
        }
    }

    /// Commits wait until the replica has flushed them (`synchronous_commit = on` with the
    /// replica named in `synchronous_standby_names`), once it is streaming.
    pub async fn make_synchronous(&self) {
        let (client, _) = connect(&self.primary.url("postgres")).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'",
            )
            .bind(REPLICA_NAME)
            .fetch_one(&client)
            .await
            .unwrap();
            if n == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the replica never streamed: {}",
                self.replica.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for stmt in [
            format!("ALTER SYSTEM SET synchronous_standby_names = '{REPLICA_NAME}'"),
            "ALTER SYSTEM SET synchronous_commit = 'on'".to_string(),
            "SELECT pg_reload_conf()".to_string(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(stmt))
                .execute(&client)
                .await
                .unwrap();
        }
        loop {
            let state: Option<String> = sqlx::query_scalar(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1",
            )
            .bind(REPLICA_NAME)
            .fetch_optional(&client)
            .await
            .unwrap();
            if state.as_deref() == Some("sync") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the replica never became synchronous"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        client.close().await;
    }
}

fn write_conf(dir: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("postgresql.auto.conf"))
        .expect("postgresql.auto.conf");
    f.write_all(text.as_bytes()).unwrap();
}

/// A small pool on `url`, and the URL.
pub async fn connect(url: &str) -> (sqlx::PgPool, String) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    (pool, url.to_string())
}

/// HAProxy: `web` balances HTTP round-robin over the nodes (checking `/readyz`, adding
/// `X-Forwarded-For`), `pg` forwards TCP to the primary, and to the replica (a backup
/// server) only while the primary does not answer.
pub struct Balancer {
    child: Child,
    pub web_port: u16,
    pub pg_port: u16,
    _dir: tempfile::TempDir,
}

impl Balancer {
    pub fn start(pair: &Pair, nodes: &[u16]) -> Balancer {
        let dir = tempfile::tempdir().unwrap();
        let (web_port, pg_port) = (free_port(), free_port());
        let servers: String = nodes
            .iter()
            .enumerate()
            .map(|(i, p)| format!("    server node{} 127.0.0.1:{p} check inter 500ms\n", i + 1))
            .collect();
        let config = format!(
            "global\n    maxconn 4000\n\
             defaults\n    timeout connect 2s\n    timeout client 120s\n    timeout server 120s\n\
             frontend web\n    mode http\n    bind 127.0.0.1:{web_port}\n    option forwardfor\n    default_backend nodes\n\
             backend nodes\n    mode http\n    balance roundrobin\n    option httpchk GET /readyz\n{servers}\
             listen pg\n    mode tcp\n    bind 127.0.0.1:{pg_port}\n    timeout client 30m\n    timeout server 30m\n\
             \x20   server primary 127.0.0.1:{} check inter 250ms fall 1 rise 2 on-marked-down shutdown-sessions\n\
             \x20   server replica 127.0.0.1:{} check inter 250ms backup\n",
            pair.primary.port, pair.replica.port
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let check = Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("haproxy -c");
        assert!(
            check.status.success(),
            "haproxy refused its configuration: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", pg_port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Balancer {
            child,
            web_port,
            pg_port,
            _dir: dir,
        }
    }

    pub fn pg_url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.pg_port)
    }

    pub fn web(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.web_port)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
