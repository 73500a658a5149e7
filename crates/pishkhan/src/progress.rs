//! The progress reporter lives in `pishkhan-bench`, whose benchmarks draw it too; the
//! binary's commands (backup, audit, agency generate) use that one copy.

pub use pishkhan_bench::progress::{Progress, Unit, human_bytes};
