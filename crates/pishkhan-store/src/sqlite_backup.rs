//! The embedded database's file-level work for `pishkhan backup` and `pishkhan restore`: a
//! consistent copy taken while a server writes, SQLite's own structural check, row counts,
//! sealing a checked copy into one self-contained file, and the single-owner lock.
//!
//! **Why `VACUUM INTO` and not the online backup API.** The backup API copies a few pages per
//! step and restarts from the first page whenever another process commits between two steps;
//! a server commits bookings every few milliseconds and checkpoints every 100 ms, so a stepped
//! backup of a busy database may never finish, and a one-step backup gives no progress.
//! `VACUUM INTO` reads the whole database inside one read transaction: under WAL it sees one
//! committed snapshot, never blocks the server's writer (the WAL only grows until it ends),
//! never restarts, and writes a compacted file with no WAL of its own.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// Pages of the database the copy will hold at most: its size in bytes, for progress.
fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(u64::try_from((pages - free).max(1) * size).unwrap_or(0))
}

fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no database file at {}", path.display()),
        )));
    }
    // Read-write without create: a read-only connection could not open a WAL database whose
    // `-shm` file is missing. Nothing here writes to the source.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_millis(u64::from(
        crate::sqlite::BUSY_TIMEOUT_MS,
    )))?;
    Ok(conn)
}

/// Writes a consistent copy of the database at `src` to `dst` (which must not exist), while
/// other processes may be writing `src`. `progress(done, total)` is called a few times a
/// second with the bytes written so far and the estimated size of the copy. The copy is
/// fsynced before this returns.
pub fn snapshot(
    src: &Path,
    dst: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(), StoreError> {
    let conn = open_existing(src)?;
    let total = used_bytes(&conn)?;
    let dst_text = dst
        .to_str()
        .ok_or_else(|| StoreError::Corrupt(format!("{} is not UTF-8", dst.display())))?;
    let done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let done_flag = Arc::clone(&done);
        scope.spawn(move || {
            while !done_flag.load(Ordering::Relaxed) {
                let written = std::fs::metadata(dst).map(|m| m.len()).unwrap_or(0);
                progress(written.min(total), total);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let result = conn.execute("VACUUM INTO ?1", [dst_text]);
        done.store(true, Ordering::Relaxed);
        result
    })?;
    progress(total, total);
    File::open(dst)?.sync_all()?;
    Ok(())
}

/// `PRAGMA integrity_check` on the file at `path`: the problems it names, none when sound.
pub fn integrity_problems(path: &Path) -> Result<Vec<String>, StoreError> {
    let conn = open_existing(path)?;
    let mut stmt = conn.prepare("PRAGMA integrity_check(20)")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().filter(|r| r != "ok").collect())
}

/// The migrations recorded in the file at `path`: none for a SQLite file that is not a
/// Pishkhan database.
pub fn applied_migrations(path: &Path) -> Result<Vec<String>, StoreError> {
    let conn = open_existing(path)?;
    let known: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    if known == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT name FROM schema_migrations ORDER BY name")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

/// Every table of the file at `path` with its row count, by name.
pub fn table_rows(path: &Path) -> Result<Vec<(String, u64)>, StoreError> {
    let conn = open_existing(path)?;
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |r| {
            r.get(0)
        })?;
        out.push((name, u64::try_from(rows).unwrap_or(0)));
    }
    Ok(out)
}

/// Folds the WAL of the database at `path` into the file and leaves it in rollback-journal
/// mode, so the one file holds everything and can be renamed or copied alone (the store puts
/// it back in WAL mode when it opens it). Waits up to `wait` for other connections to close.
pub fn seal(path: &Path, wait: Duration) -> Result<(), StoreError> {
    let started = Instant::now();
    loop {
        let conn = open_existing(path)?;
        // Changing the journal mode away from WAL needs the only connection; a store that was
        // just dropped may still be closing its pool's connections.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap_or_default();
        if mode.eq_ignore_ascii_case("delete") {
            drop(conn);
            File::open(path)?.sync_all()?;
            return Ok(());
        }
        drop(conn);
        if started.elapsed() > wait {
            return Err(StoreError::Corrupt(format!(
                "{} is still open elsewhere; its WAL could not be folded in",
                path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The files SQLite may keep beside the database at `path`.
pub fn companions(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [with("-wal"), with("-shm"), with("-journal")]
}

/// Takes the embedded database's single-owner lock, as a server does when it opens the store:
/// `StoreError::Locked` while another process holds it. Held until the file is dropped.
pub fn lock(db_path: &Path) -> Result<File, StoreError> {
    crate::sqlite::take_lock(db_path)
}

/// The lock file of the database at `db_path`.
pub fn lock_path(db_path: &Path) -> PathBuf {
    db_path.with_extension("lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_holds_what_is_committed_in_the_wal_and_seals_into_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("live.db");
        let writer = Connection::open(&src).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);",
            )
            .unwrap();
        // Committed, still only in the WAL, with the writer open: as under a running server.
        assert!(std::fs::metadata(&companions(&src)[0]).unwrap().len() > 0);
        writer
            .execute_batch("BEGIN; INSERT INTO t VALUES (4);")
            .unwrap();

        let dst = dir.path().join("copy.db");
        let calls = std::sync::Mutex::new(Vec::new());
        snapshot(&src, &dst, &|done, total| {
            calls.lock().unwrap().push((done, total))
        })
        .unwrap();
        let calls = calls.into_inner().unwrap();
        assert!(calls.last().is_some_and(|(d, t)| d == t && *t > 0));

        assert!(integrity_problems(&dst).unwrap().is_empty());
        // The open transaction's row is not in the copy; the committed ones are.
        assert_eq!(table_rows(&dst).unwrap(), vec![("t".to_string(), 3)]);
        assert!(applied_migrations(&dst).unwrap().is_empty());
        seal(&dst, Duration::from_secs(1)).unwrap();
        for c in companions(&dst) {
            assert!(!c.exists(), "{} left beside the sealed copy", c.display());
        }
        // Another process may not overwrite the copy's lock while the first holds it.
        let held = lock(&dst).unwrap();
        assert!(matches!(lock(&dst), Err(StoreError::Locked { .. })));
        drop(held);
        writer.execute_batch("ROLLBACK").unwrap();
    }
}
