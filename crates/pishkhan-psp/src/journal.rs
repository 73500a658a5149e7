//! `DATA_DIR/psp.jsonl`: one JSON event a line, appended by one writer thread that commits in
//! groups (everything waiting is written, then one `fsync`), replayed at start.
//!
//! **Invariant:** nothing is answered before the events it saw are on disk. Events are given
//! sequence numbers in the order they change the state (under the state's lock), the writer
//! writes them in that order, and every answer waits until the journal is durable up to the
//! last event its request saw, reads included. A crash can lose only events nobody was told
//! about. A line without its newline at the end of the file is such an event, cut short by the
//! crash: the replay drops it.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use tokio::sync::watch;

use crate::book::Book;
use crate::error::PspError;
use crate::event::Event;
use crate::problem::Problem;

pub const JOURNAL_FILE_NAME: &str = "psp.jsonl";

/// Longest line the replay reads; events are far shorter (URLs are capped at 2 KiB each).
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// Most bytes one group commit writes before its `fsync`.
const MAX_GROUP_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, Default)]
struct Durable {
    seq: u64,
    failed: bool,
}

/// The appending side, kept under the state's lock so that sequence numbers follow the order
/// of changes.
pub(crate) struct Appender {
    sender: Option<mpsc::Sender<Vec<u8>>>,
    last_seq: u64,
}

impl Appender {
    /// Queues an event; its sequence number is what [`Durability::wait`] takes.
    pub(crate) fn append(&mut self, ev: &Event) -> Result<u64, Problem> {
        self.last_seq += 1;
        let Some(sender) = &self.sender else {
            return Ok(self.last_seq);
        };
        let mut line = serde_json::to_vec(ev).map_err(|_| Problem::journal_failed())?;
        line.push(b'\n');
        sender.send(line).map_err(|_| Problem::journal_failed())?;
        Ok(self.last_seq)
    }

    /// The newest event so far: what a read has seen.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

/// The waiting side, shared by every request.
#[derive(Clone)]
pub(crate) struct Durability {
    durable: Option<watch::Receiver<Durable>>,
}

impl Durability {
    /// Resolves once every event up to `seq` is on disk.
    pub(crate) async fn wait(&self, seq: u64) -> Result<(), Problem> {
        let Some(rx) = &self.durable else {
            return Ok(());
        };
        let mut rx = rx.clone();
        loop {
            let d = *rx.borrow_and_update();
            if d.seq >= seq {
                return Ok(());
            }
            if d.failed || rx.changed().await.is_err() {
                return Err(Problem::journal_failed());
            }
        }
    }

    /// Whether the writer has failed (then nothing more may be decided).
    pub(crate) fn failed(&self) -> bool {
        self.durable.as_ref().is_some_and(|rx| rx.borrow().failed)
    }
}

/// The writer thread; dropping this (after the [`Appender`]) waits for its last commit.
pub(crate) struct WriterThread(Option<std::thread::JoinHandle<()>>);

impl Drop for WriterThread {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

/// No journal: the state lives in memory only.
pub(crate) fn in_memory() -> (Appender, Durability, WriterThread) {
    (
        Appender {
            sender: None,
            last_seq: 0,
        },
        Durability { durable: None },
        WriterThread(None),
    )
}

/// Opens (or creates) `dir/psp.jsonl`, takes its lock, replays it into `book`, and starts the
/// writer.
pub(crate) fn open(
    dir: &Path,
    book: &mut Book,
) -> Result<(Appender, Durability, WriterThread), PspError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PspError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(JOURNAL_FILE_NAME);
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(PspError::Locked(path)),
        Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
    }
    if !existed {
        // The new file's name must survive a crash too.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    let good_len = replay(&path, &file, book)?;
    let len = file.metadata().map_err(io(&path))?.len();
    if good_len < len {
        tracing::warn!(
            path = %path.display(),
            dropped_bytes = len - good_len,
            "the journal ends in a torn line (a crash while writing); dropping it"
        );
        file.set_len(good_len)
            .and_then(|_| file.sync_all())
            .map_err(io(&path))?;
    }
    file.seek(SeekFrom::End(0)).map_err(io(&path))?;
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    let (durable_tx, durable_rx) = watch::channel(Durable::default());
    let thread = std::thread::Builder::new()
        .name("psp-journal".into())
        .spawn(move || write_loop(file, path, receiver, durable_tx))
        .map_err(io(dir))?;
    Ok((
        Appender {
            sender: Some(sender),
            last_seq: 0,
        },
        Durability {
            durable: Some(durable_rx),
        },
        WriterThread(Some(thread)),
    ))
}

/// Applies every complete line; returns the length of the file up to the last one.
fn replay(path: &Path, file: &File, book: &mut Book) -> Result<u64, PspError> {
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut good_len = 0u64;
    let mut number = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
            .map_err(|source| PspError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            return Ok(good_len);
        }
        number += 1;
        let bad = |message: String| PspError::Journal {
            path: path.to_path_buf(),
            line: number,
            message,
        };
        if line.last() != Some(&b'\n') {
            if read as u64 > MAX_LINE_BYTES {
                return Err(bad(format!("longer than {MAX_LINE_BYTES} bytes")));
            }
            // The torn tail of a crash: never acknowledged, dropped by the caller.
            return Ok(good_len);
        }
        let ev: Event =
            serde_json::from_slice(&line).map_err(|e| bad(format!("not an event: {e}")))?;
        book.apply(&ev).map_err(bad)?;
        good_len += read as u64;
    }
}

fn write_loop(
    mut file: File,
    path: PathBuf,
    receiver: mpsc::Receiver<Vec<u8>>,
    durable: watch::Sender<Durable>,
) {
    let mut seq = 0u64;
    let mut group = Vec::new();
    while let Ok(first) = receiver.recv() {
        group.clear();
        group.extend_from_slice(&first);
        let mut lines = 1u64;
        while group.len() < MAX_GROUP_BYTES {
            match receiver.try_recv() {
                Ok(line) => {
                    group.extend_from_slice(&line);
                    lines += 1;
                }
                Err(_) => break,
            }
        }
        if let Err(e) = file.write_all(&group).and_then(|_| file.sync_data()) {
            tracing::error!(path = %path.display(), error = %e, "cannot write the journal");
            durable.send_replace(Durable { seq, failed: true });
            return;
        }
        seq += lines;
        durable.send_replace(Durable { seq, failed: false });
    }
}
