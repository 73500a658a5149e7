//! `pishkhan backup` and `pishkhan restore`: the embedded database copied while a server
//! runs, and put back while none does. Both check the copy the same way before calling it
//! good (SQLite's integrity check, the message log's audit and the ledger's replay, the
//! functions `audit verify` and `ledger verify` run), and both write beside their target first
//! and rename at the end, so a failure never leaves a half-written backup or database.
//! PostgreSQL has its own tools; docs/backup.md gives the procedure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use pishkhan_exchange::LogStore;
use pishkhan_store::{DatabaseUrl, StoreError, sqlite_backup};

use crate::Global;
use crate::progress::{Progress, Unit, human_bytes};

#[derive(Args)]
pub struct BackupArgs {
    /// The backup file to write. Refused if it exists, unless --force.
    #[arg(long)]
    pub to: PathBuf,
    /// Replace an existing file at --to (only once the new backup has passed its checks).
    #[arg(long)]
    pub force: bool,
    /// The message log's public key, to check its checkpoints in the copy; defaults to
    /// DATA_DIR/keys/log.jwk.
    #[arg(long)]
    pub log_key: Option<PathBuf>,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file to restore (made by `pishkhan backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// The message log's public key, to check its checkpoints in the backup; defaults to
    /// DATA_DIR/keys/log.jwk.
    #[arg(long)]
    pub log_key: Option<PathBuf>,
}

const POSTGRES_BACKUP: &str = "pishkhan backup copies the embedded SQLite database only; \
back up PostgreSQL with its own tools, pg_dump for a logical copy or pg_basebackup for a \
physical one, as docs/backup.md describes, then check a restored copy with \
`pishkhan audit verify` and `pishkhan ledger verify`";

const POSTGRES_RESTORE: &str = "pishkhan restore puts back the embedded SQLite database only; \
restore PostgreSQL with pg_restore or from a pg_basebackup copy, as docs/backup.md describes, \
then check it with `pishkhan audit verify` and `pishkhan ledger verify`";

/// How long a checked copy's store may take to close its connections before sealing.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Tables whose rows the report counts: what an operator compares with what they expect.
const MAIN_TABLES: &[&str] = &[
    "offices",
    "staff",
    "services",
    "bookings",
    "queue_events",
    "payments",
    "ledger_transfers",
    "exchange_log_entries",
    "identity_verifications",
    "audit_log",
];

/// The SQLite file the global flags name; PostgreSQL is refused with `refusal`.
fn sqlite_file(global: &Global, refusal: &str) -> anyhow::Result<PathBuf> {
    let url = match &global.database_url {
        Some(u) => DatabaseUrl::parse(u)?,
        None => DatabaseUrl::sqlite_in(&global.data_dir),
    };
    match url.sqlite_path() {
        Some(path) => Ok(PathBuf::from(path)),
        None => anyhow::bail!("{refusal}"),
    }
}

/// A file being written beside its final place: removed, with whatever SQLite and the store
/// left beside it, unless it was put in place.
struct Partial {
    path: PathBuf,
    placed: bool,
}

impl Partial {
    fn beside(target: &Path, what: &str) -> anyhow::Result<Self> {
        let dir = parent_of(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("{} names no file", target.display()))?;
        let path = dir.join(format!(".{name}.{what}-{}", std::process::id()));
        let partial = Self {
            path,
            placed: false,
        };
        partial.clean();
        Ok(partial)
    }

    fn clean(&self) {
        let _ = std::fs::remove_file(&self.path);
        for companion in sqlite_backup::companions(&self.path) {
            let _ = std::fs::remove_file(companion);
        }
        let _ = std::fs::remove_file(sqlite_backup::lock_path(&self.path));
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.placed {
            let _ = std::fs::remove_file(sqlite_backup::lock_path(&self.path));
        } else {
            self.clean();
        }
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Makes a rename or link in `dir` durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync the directory {}", dir.display()))
}

/// What the checks of a copy found.
struct Checked {
    bytes: u64,
    tables: Vec<(String, u64)>,
    log: String,
    ledger: String,
}

impl Checked {
    fn print(&self, headline: &str, took: Duration) {
        println!(
            "{headline}: {}, {} tables, in {:.1}s",
            human_bytes(self.bytes),
            self.tables.len(),
            took.as_secs_f64()
        );
        println!("  SQLite integrity check: ok");
        println!("  {}", self.log);
        println!("  {}", self.ledger);
        let rows: Vec<String> = MAIN_TABLES
            .iter()
            .filter_map(|t| {
                self.tables
                    .iter()
                    .find(|(name, _)| name == t)
                    .map(|(name, n)| format!("{name} {n}"))
            })
            .collect();
        println!("  rows: {}", rows.join(", "));
    }
}

/// Checks the database file at `path` as `audit verify` and `ledger verify` would, after
/// SQLite's own integrity check, then seals it into one file. The store opened on it writes
/// only what any open does (its lock file beside it, the WAL it then folds back in).
async fn check_copy(path: &Path, log_key: &Path) -> anyhow::Result<Checked> {
    let migrations =
        sqlite_backup::applied_migrations(path).context("it is not a readable SQLite database")?;
    anyhow::ensure!(
        !migrations.is_empty(),
        "it is a SQLite file but not a Pishkhan database (no schema_migrations)"
    );
    eprintln!("checking SQLite integrity…");
    let problems = sqlite_backup::integrity_problems(path)?;
    anyhow::ensure!(
        problems.is_empty(),
        "it fails SQLite's integrity check: {}",
        problems.join("; ")
    );
    let tables = sqlite_backup::table_rows(path)?;
    let bytes = std::fs::metadata(path)?.len();

    let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display()))?;
    let store = pishkhan_store::open(&url)
        .await
        .context("the store cannot open it")?;
    let log = pishkhan_app::exchange::StoreLog(store.clone());
    let log_line = check_log(&log, log_key).await?;
    eprintln!("replaying the ledger…");
    let ledger = match store.verify_ledger().await? {
        Ok(r) => format!(
            "ledger verified: {} transfers, {} accounts; posted {} rials (debits = credits)",
            r.transfers,
            r.balances.len(),
            r.total_debits_posted
        ),
        Err(fault) => anyhow::bail!("the ledger does NOT verify: {fault}"),
    };
    drop(log);
    drop(store);
    let sealed = path.to_path_buf();
    tokio::task::spawn_blocking(move || sqlite_backup::seal(&sealed, CLOSE_WAIT)).await??;
    Ok(Checked {
        bytes,
        tables,
        log: log_line,
        ledger,
    })
}

/// The message log's audit, as `pishkhan audit verify` runs it, with progress.
async fn check_log(log: &pishkhan_app::exchange::StoreLog, key: &Path) -> anyhow::Result<String> {
    if !key.exists() {
        let size = log
            .load_head()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the message log: {e}"))?
            .map_or(0, |h| h.size);
        anyhow::ensure!(
            size == 0,
            "the message log holds {size} entries and its key {} is needed to check its \
             checkpoints; pass --log-key",
            key.display()
        );
        return Ok("exchange log: empty".to_string());
    }
    let keyring = crate::keys::trust_anchor(key)
        .with_context(|| format!("cannot read the log key {}", key.display()))?;
    crate::audit::verify_with_progress(log, &keyring).await
}

pub async fn backup(global: &Global, a: &BackupArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let source = sqlite_file(global, POSTGRES_BACKUP)?;
    anyhow::ensure!(
        source.is_file(),
        "there is no database at {} to back up",
        source.display()
    );
    let target = a.to.clone();
    anyhow::ensure!(
        !target.is_dir(),
        "{} is a directory; name the backup file",
        target.display()
    );
    anyhow::ensure!(
        !same_file(&source, &target),
        "{} is the database itself",
        target.display()
    );
    anyhow::ensure!(
        a.force || !target.exists(),
        "{} exists; pass --force to replace it",
        target.display()
    );
    let dir = parent_of(&target);
    anyhow::ensure!(
        dir.is_dir(),
        "the directory {} does not exist",
        dir.display()
    );
    let key = a
        .log_key
        .clone()
        .unwrap_or_else(|| global.data_dir.join("keys").join("log.jwk"));

    let partial = Partial::beside(&target, "partial")?;
    let progress = Arc::new(Progress::start("copying the database", Unit::Bytes));
    let (from, to, bar) = (source.clone(), partial.path.clone(), progress.clone());
    tokio::task::spawn_blocking(move || {
        sqlite_backup::snapshot(&from, &to, &|done, total| bar.set(done, total))
    })
    .await?
    .with_context(|| format!("cannot copy {}", source.display()))?;
    progress.finish(std::fs::metadata(&partial.path)?.len());

    let checked = check_copy(&partial.path, &key)
        .await
        .context("the copy failed its checks, so no backup was written")?;
    place(partial, &target, a.force)?;
    checked.print(
        &format!("backup written to {}", target.display()),
        started.elapsed(),
    );
    Ok(())
}

/// Puts the checked copy at `target`: a rename when replacing, else a link that fails if a
/// file appeared there meanwhile.
fn place(mut partial: Partial, target: &Path, force: bool) -> anyhow::Result<()> {
    if force {
        std::fs::rename(&partial.path, target)
            .with_context(|| format!("cannot write {}", target.display()))?;
    } else {
        match std::fs::hard_link(&partial.path, target) {
            Ok(()) => std::fs::remove_file(&partial.path)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                anyhow::bail!(
                    "{} appeared while the backup ran; pass --force to replace it",
                    target.display()
                )
            }
            // A file system without hard links: the check above is the guard.
            Err(_) => std::fs::rename(&partial.path, target)
                .with_context(|| format!("cannot write {}", target.display()))?,
        }
    }
    partial.placed = true;
    sync_dir(&parent_of(target))
}

pub async fn restore(global: &Global, a: &RestoreArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let db = sqlite_file(global, POSTGRES_RESTORE)?;
    anyhow::ensure!(
        a.from.is_file(),
        "there is no backup file at {}",
        a.from.display()
    );
    anyhow::ensure!(
        !same_file(&a.from, &db),
        "{} is the database itself",
        a.from.display()
    );
    // Commits in a WAL beside the file are not in the file: copying it alone would lose them.
    let wal = &sqlite_backup::companions(&a.from)[0];
    anyhow::ensure!(
        std::fs::metadata(wal).map_or(true, |m| m.len() == 0),
        "{} has a write-ahead log beside it ({}); it is a live database, not a backup: \
         make a backup of it with `pishkhan backup` first",
        a.from.display(),
        wal.display()
    );
    let dir = parent_of(&db);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Held to the end, so no server opens the database while it is replaced.
    let _lock = sqlite_backup::lock(&db).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow::anyhow!(
            "the database at {} is in use by another pishkhan process; stop the server before \
             restoring, because a restore replaces the whole database",
            db.display()
        ),
        e => anyhow::Error::new(e).context("cannot lock the database"),
    })?;
    let key = a
        .log_key
        .clone()
        .unwrap_or_else(|| global.data_dir.join("keys").join("log.jwk"));

    let partial = Partial::beside(&db, "restore")?;
    let (from, to) = (a.from.clone(), partial.path.clone());
    tokio::task::spawn_blocking(move || copy_with_progress(&from, &to)).await??;
    let checked = check_copy(&partial.path, &key).await.with_context(|| {
        format!(
            "the backup {} is refused and the database was not changed",
            a.from.display()
        )
    })?;
    let kept = if db.exists() {
        Some(set_aside(&db)?)
    } else {
        None
    };
    place(partial, &db, true)?;
    checked.print(
        &format!("restored {} from {}", db.display(), a.from.display()),
        started.elapsed(),
    );
    if let Some(kept) = kept {
        println!(
            "  the replaced database is kept at {}; delete it once the restored one serves",
            kept.display()
        );
    }
    Ok(())
}

fn copy_with_progress(from: &Path, to: &Path) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut src = File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let total = src.metadata()?.len();
    let mut dst = File::options()
        .write(true)
        .create_new(true)
        .open(to)
        .with_context(|| format!("cannot write {}", to.display()))?;
    let progress = Progress::start("reading the backup", Unit::Bytes);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n])?;
        done += n as u64;
        progress.set(done, total);
    }
    dst.sync_all()?;
    progress.finish(done);
    Ok(())
}

/// Keeps the database being replaced beside it under a dated name, whole: its WAL folded in
/// when it can be, else moved along with it, so the renamed file never pairs with a stale WAL.
fn set_aside(db: &Path) -> anyhow::Result<PathBuf> {
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .context("the clock")?;
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kept = db.with_file_name(format!("{name}.before-restore-{stamp}"));
    if sqlite_backup::seal(db, Duration::ZERO).is_ok() {
        std::fs::hard_link(db, &kept)
            .or_else(|_| std::fs::copy(db, &kept).map(|_| ()))
            .with_context(|| format!("cannot keep the database at {}", kept.display()))?;
    } else {
        // Unreadable as a database: keep its files as they are.
        std::fs::rename(db, &kept)
            .with_context(|| format!("cannot move the database to {}", kept.display()))?;
        for (from, to) in sqlite_backup::companions(db)
            .iter()
            .zip(sqlite_backup::companions(&kept))
        {
            if from.exists() {
                std::fs::rename(from, to)?;
            }
        }
    }
    for companion in sqlite_backup::companions(db) {
        let _ = std::fs::remove_file(companion);
    }
    Ok(kept)
}
