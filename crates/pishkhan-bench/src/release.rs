//! `pishkhan bench release`: allocate and verify a synthetic surge release
//! ([`pishkhan_release::synthetic`]), timing each step.

use std::time::Instant;

use clap::Args;
use pishkhan_release::{allocate, synthetic, verify};

#[derive(Args)]
pub struct ReleaseBenchArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: usize,
    #[arg(long, default_value_t = 500)]
    pub offices: usize,
    #[arg(long, default_value_t = 200)]
    pub slots_per_office: u32,
}

/// What [`measure`] measured. `seconds` is the time of [`allocate`] alone.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub requests: usize,
    pub offices: usize,
    pub total_slots: u64,
    pub winners: u64,
    pub waitlisted: u64,
    pub rejected: usize,
    /// Generating the synthetic requests.
    pub generate_seconds: f64,
    /// Allocating: validation, deduplication, lottery, allocation and both digests.
    pub seconds: f64,
    pub requests_per_s: f64,
    /// Verifying the publication, which re-runs the allocation.
    pub verify_seconds: f64,
    pub verified: bool,
}

/// Generates a synthetic release ([`synthetic`]), allocates it and verifies the publication,
/// timing each step.
pub fn measure(requests: usize, offices: usize, slots_per_office: u32) -> BenchReport {
    let t = Instant::now();
    let (spec, reqs) = synthetic(requests, offices, slots_per_office);
    let generate_seconds = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let allocation = allocate(&spec, &reqs).expect("the synthetic spec is valid");
    let seconds = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let verified = verify(&spec, &reqs, &allocation.publication, None).is_ok();
    let verify_seconds = t.elapsed().as_secs_f64();

    BenchReport {
        requests,
        offices: spec.offices.len(),
        total_slots: spec.total_slots(),
        winners: allocation.publication.winners,
        waitlisted: allocation.publication.waitlisted,
        rejected: allocation.rejected.len(),
        generate_seconds,
        seconds,
        requests_per_s: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            f64::INFINITY
        },
        verify_seconds,
        verified,
    }
}

/// Runs `pishkhan bench release` and prints its line.
pub fn release(a: &ReleaseBenchArgs) -> anyhow::Result<()> {
    let r = measure(a.requests, a.offices, a.slots_per_office);
    println!(
        "release lottery: {} requests over {} offices ({} slots): allocated in {:.2} s ({:.0} requests/s), verified in {:.2} s; {} winners, {} waitlisted, {} rejected; baseline (generating the requests) {:.2} s",
        r.requests,
        r.offices,
        r.total_slots,
        r.seconds,
        r.requests_per_s,
        r.verify_seconds,
        r.winners,
        r.waitlisted,
        r.rejected,
        r.generate_seconds
    );
    anyhow::ensure!(r.verified, "the allocation did not verify");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_reports_a_verified_run() {
        let r = measure(20_000, 50, 40);
        assert!(r.verified);
        assert_eq!(r.requests, 20_000);
        assert_eq!(r.offices, 50);
        assert_eq!(r.total_slots, 2_000);
        assert_eq!(r.winners + r.waitlisted + r.rejected as u64, 20_000);
        assert!(r.seconds >= 0.0 && r.requests_per_s > 0.0);
    }
}
