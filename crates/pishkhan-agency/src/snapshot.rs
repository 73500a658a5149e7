//! The population on disk: a fixed-size binary file that the services read with one `pread`
//! per lookup, so 84 million people cost ~5.4 GB of disk and almost no memory.
//!
//! # File format (version 1, little-endian)
//!
//! A 64-byte header, then `size` records of 64 bytes; record `i` is at `64 + 64·i`.
//!
//! | header bytes | field |
//! |---|---|
//! | 0..8 | magic `PKAGENCY` |
//! | 8..12 | format version, `1` |
//! | 12..16 | record size, `64` |
//! | 16..24 | seed |
//! | 24..32 | size (number of people) |
//! | 32..40 | fingerprint of the generator's tables and rules |
//! | 40..48 | data checksum: the checksums of consecutive 65,536-record blocks, folded in order |
//! | 48..56 | records per checksum block, `65536` |
//! | 56..64 | checksum of bytes 0..56 |
//!
//! | record bytes | field |
//! |---|---|
//! | 0..4 | national code body (9 digits; the check digit is computed) |
//! | 4..6, 6..8, 8..10 | first name, surname, father's name: indices into the name tables (the first-name table follows the gender) |
//! | 10 | flags: bit 0 female, bit 1 deceased, bits 2-3 card status (0 valid, 1 lost, 2 revoked) |
//! | 11 | vehicle plates |
//! | 12..14, 14, 15 | birth year, month, day (Jalali) |
//! | 16, 17 | birth place: province index, city index within the province |
//! | 18, 19, 20..24 | card serial: batch digit, letter (ASCII), eight-digit number |
//! | 24..28 | mobile slot (`0xFFFFFFFF`: none); prefix `slot / 10⁷`, subscriber `slot mod 10⁷` |
//! | 28..32 | household index |
//! | 32..36 | postal-code rank |
//! | 36, 37 | province index, city index of the address |
//! | 38, 39 | street index; alley (bit 7: numbered alley and its number, else an alley-name index) |
//! | 40..42, 42 | plaque number; unit (0 for a house) |
//! | 43 | household role (0 head, 1 spouse, 2 child) |
//! | 44..52 | unpaid traffic fines in rials (`i64`) |
//! | 52..60 | reserved, zero |
//! | 60..64 | low 32 bits of the checksum of bytes 0..60 |
//!
//! Every record read is checked against its own checksum and against the national code the
//! seed assigns to its index, so a damaged or mismatched file is reported, not served.
//! [`Snapshot::verify`] rereads the whole file against the data checksum.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use pishkhan_domain::{Mobile, NationalCode, PostalCode};

use crate::codes::CodeSpaces;
use crate::error::AgencyError;
use crate::population::{Address, Person, PersonRecord, Population, RECORD_BYTES, generate_record};
use crate::registry::Registry;
use crate::rng::{Checksum, checksum};
use crate::tables::fingerprint;

const MAGIC: &[u8; 8] = b"PKAGENCY";
/// The snapshot format version this crate reads and writes.
pub const SNAPSHOT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 64;
const BLOCK_RECORDS: u64 = 65_536;

/// The file name of the snapshot inside an agency's data directory.
pub const SNAPSHOT_FILE_NAME: &str = "population.pkag";

/// Where the snapshot lives in a data directory.
pub fn snapshot_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SNAPSHOT_FILE_NAME)
}

/// What writing a snapshot took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteStats {
    pub records: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub records_per_second: f64,
    /// Generator threads used.
    pub threads: usize,
}

struct Header {
    seed: u64,
    size: u64,
    data_checksum: u64,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut h = [0u8; HEADER_BYTES];
        h[0..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(RECORD_BYTES as u32).to_le_bytes());
        h[16..24].copy_from_slice(&self.seed.to_le_bytes());
        h[24..32].copy_from_slice(&self.size.to_le_bytes());
        h[32..40].copy_from_slice(&fingerprint().to_le_bytes());
        h[40..48].copy_from_slice(&self.data_checksum.to_le_bytes());
        h[48..56].copy_from_slice(&BLOCK_RECORDS.to_le_bytes());
        let sum = checksum(&h[..56]);
        h[56..64].copy_from_slice(&sum.to_le_bytes());
        h
    }

    fn decode(path: &Path, h: &[u8; HEADER_BYTES]) -> Result<Self, AgencyError> {
        let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
        let path = path.to_path_buf();
        if &h[0..8] != MAGIC {
            return Err(AgencyError::NotASnapshot { path });
        }
        if checksum(&h[..56]) != u64_at(56) {
            return Err(AgencyError::HeaderChecksum { path });
        }
        let version = u32_at(8);
        if version != SNAPSHOT_VERSION || u32_at(12) != RECORD_BYTES as u32 {
            return Err(AgencyError::UnsupportedVersion {
                path,
                found: version,
                expected: SNAPSHOT_VERSION,
            });
        }
        if u64_at(32) != fingerprint() || u64_at(48) != BLOCK_RECORDS {
            return Err(AgencyError::TablesMismatch { path });
        }
        Ok(Self {
            seed: u64_at(16),
            size: u64_at(24),
            data_checksum: u64_at(40),
        })
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> AgencyError {
    let path = path.to_path_buf();
    move |source| AgencyError::Io {
        action,
        path,
        source,
    }
}

/// Generates records `first..first + count` into `buf` and returns the block's checksum.
fn fill_block(pop: &Population, first: u64, count: u64, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    buf.resize(count as usize * RECORD_BYTES, 0);
    for (k, out) in buf.chunks_exact_mut(RECORD_BYTES).enumerate() {
        generate_record(pop.seed(), pop.codes(), first + k as u64).encode(out);
    }
    checksum(buf)
}

/// Writes `pop` to `path`, streaming blocks of 65,536 records generated on all cores. The
/// file appears under its name only when complete (it is written to `path.partial` and
/// renamed).
pub(crate) fn write(
    pop: &Population,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<WriteStats, AgencyError> {
    let started = Instant::now();
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = write_file(pop, &partial, progress);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let threads = result?;
    std::fs::rename(&partial, path).map_err(io_error("rename", path))?;

    let seconds = started.elapsed().as_secs_f64();
    Ok(WriteStats {
        records: pop.size(),
        bytes: HEADER_BYTES as u64 + pop.size() * RECORD_BYTES as u64,
        seconds,
        records_per_second: pop.size() as f64 / seconds.max(1e-9),
        threads,
    })
}

/// Writes the whole file at `partial`; returns the number of generator threads.
fn write_file(
    pop: &Population,
    partial: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<usize, AgencyError> {
    let mut file = File::create(partial).map_err(io_error("create", partial))?;
    file.write_all(&[0u8; HEADER_BYTES])
        .map_err(io_error("write", partial))?;

    let blocks = pop.size().div_ceil(BLOCK_RECORDS);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16)
        .min(blocks.max(1) as usize);
    let mut data_sum = Checksum::new();
    let written: Result<(), AgencyError> = std::thread::scope(|scope| {
        // One channel per worker: block b comes from worker b % threads, so the writer
        // receives blocks in order with at most two blocks buffered per worker.
        let mut receivers = Vec::with_capacity(threads);
        for w in 0..threads {
            let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, u64)>(2);
            receivers.push(rx);
            scope.spawn(move || {
                let mut b = w as u64;
                while b < blocks {
                    let first = b * BLOCK_RECORDS;
                    let count = BLOCK_RECORDS.min(pop.size() - first);
                    let mut buf = Vec::new();
                    let sum = fill_block(pop, first, count, &mut buf);
                    if tx.send((buf, sum)).is_err() {
                        return; // the writer failed and hung up
                    }
                    b += threads as u64;
                }
            });
        }
        for b in 0..blocks {
            let (buf, sum) = receivers[(b % threads as u64) as usize]
                .recv()
                .expect("generator threads do not panic");
            file.write_all(&buf).map_err(io_error("write", partial))?;
            data_sum.combine(sum);
            progress(((b + 1) * BLOCK_RECORDS).min(pop.size()), pop.size());
        }
        Ok(())
    });
    written?;

    let header = Header {
        seed: pop.seed(),
        size: pop.size(),
        data_checksum: data_sum.finish(),
    };
    file.write_all_at(&header.encode(), 0)
        .map_err(io_error("write", partial))?;
    file.sync_all().map_err(io_error("sync", partial))?;
    Ok(threads)
}

/// A population read from a snapshot file. Reads are positioned (`pread`), so one `Snapshot`
/// serves any number of threads at once; the operating system's page cache keeps hot records
/// in memory.
#[derive(Debug)]
pub struct Snapshot {
    file: File,
    path: PathBuf,
    seed: u64,
    size: u64,
    data_checksum: u64,
    codes: CodeSpaces,
}

impl Snapshot {
    /// Opens and checks a snapshot: magic, header checksum, version, generator tables and
    /// file length. Records are checked as they are read; [`Snapshot::verify`] checks all.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AgencyError> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(io_error("open", path))?;
        let actual = file.metadata().map_err(io_error("stat", path))?.len();
        let mut h = [0u8; HEADER_BYTES];
        if actual < HEADER_BYTES as u64 {
            return Err(AgencyError::NotASnapshot {
                path: path.to_path_buf(),
            });
        }
        file.read_exact(&mut h).map_err(io_error("read", path))?;
        let header = Header::decode(path, &h)?;
        let expected = header
            .size
            .checked_mul(RECORD_BYTES as u64)
            .and_then(|b| b.checked_add(HEADER_BYTES as u64));
        if expected != Some(actual) {
            return Err(AgencyError::WrongLength {
                path: path.to_path_buf(),
                expected: expected.unwrap_or(u64::MAX),
                actual,
            });
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            seed: header.seed,
            size: header.size,
            data_checksum: header.data_checksum,
            codes: CodeSpaces::new(header.seed),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn codes(&self) -> &CodeSpaces {
        &self.codes
    }

    /// The generated population this snapshot was written from.
    pub fn population(&self) -> Population {
        Population::new(self.seed, self.size).expect("a snapshot's size was valid when written")
    }

    /// Reads record `index` from disk.
    pub fn record(&self, index: u64) -> Result<PersonRecord, AgencyError> {
        if index >= self.size {
            return Err(AgencyError::OutOfRange {
                index,
                size: self.size,
            });
        }
        let mut buf = [0u8; RECORD_BYTES];
        self.file
            .read_exact_at(&mut buf, HEADER_BYTES as u64 + index * RECORD_BYTES as u64)
            .map_err(io_error("read", &self.path))?;
        match PersonRecord::decode(index, &buf) {
            Some(r) if r.national_body == self.codes.national_body(index) => Ok(r),
            _ => Err(AgencyError::CorruptRecord {
                path: self.path.clone(),
                index,
            }),
        }
    }

    /// Person `index`, read from disk.
    pub fn person(&self, index: u64) -> Result<Person, AgencyError> {
        self.record(index).map(|r| r.to_person())
    }

    pub fn find_by_national_code(
        &self,
        code: &NationalCode,
    ) -> Result<Option<Person>, AgencyError> {
        Ok(self.record_by_national_code(code)?.map(|r| r.to_person()))
    }

    pub fn owner_of_mobile(&self, mobile: &Mobile) -> Result<Option<NationalCode>, AgencyError> {
        Ok(self.record_by_mobile(mobile)?.map(|r| r.national_code()))
    }

    pub fn address_by_postal_code(
        &self,
        code: &PostalCode,
    ) -> Result<Option<Address>, AgencyError> {
        Ok(self.record_by_postal_code(code)?.map(|r| r.address()))
    }

    /// Rereads every record and compares the data checksum with the header's.
    pub fn verify(&self) -> Result<(), AgencyError> {
        let mut sum = Checksum::new();
        let mut buf = vec![0u8; BLOCK_RECORDS as usize * RECORD_BYTES];
        let mut first = 0u64;
        while first < self.size {
            let count = BLOCK_RECORDS.min(self.size - first);
            let bytes = &mut buf[..count as usize * RECORD_BYTES];
            self.file
                .read_exact_at(bytes, HEADER_BYTES as u64 + first * RECORD_BYTES as u64)
                .map_err(io_error("read", &self.path))?;
            sum.combine(checksum(bytes));
            first += count;
        }
        if sum.finish() != self.data_checksum {
            return Err(AgencyError::DataChecksum {
                path: self.path.clone(),
            });
        }
        Ok(())
    }
}

impl Population {
    /// Streams every person into a snapshot file at `path` (see [`crate::snapshot`] for the
    /// format), generating on all cores. About 5.4 GB for 84 million people.
    pub fn write_snapshot(&self, path: impl AsRef<Path>) -> Result<WriteStats, AgencyError> {
        write(self, path.as_ref(), &mut |_, _| {})
    }

    /// [`Self::write_snapshot`], telling `progress(people written, people in all)` after each
    /// block of people reaches the file. A callback rather than a bar, so this crate stays
    /// free of terminals; the caller draws it (84 million people take minutes).
    pub fn write_snapshot_with_progress(
        &self,
        path: impl AsRef<Path>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<WriteStats, AgencyError> {
        write(self, path.as_ref(), progress)
    }

    /// Opens a snapshot; same as [`Snapshot::open`].
    pub fn open_snapshot(path: impl AsRef<Path>) -> Result<Snapshot, AgencyError> {
        Snapshot::open(path)
    }
}
