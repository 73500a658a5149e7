//! Prometheus text metrics, kept small: request counts by route and status class, latency
//! buckets, in-flight requests, and the session cache's size and hit rate.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// The bearer token `/metrics` asks for (`--metrics-token`). Its `Debug` form hides it.
#[derive(Clone)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// Shortest token accepted: a guessable one would protect nothing.
    pub const MIN_CHARS: usize = 16;

    pub fn new(token: &str) -> Result<Self, String> {
        let token = token.trim();
        if token.chars().count() < Self::MIN_CHARS {
            return Err(format!(
                "a metrics token has at least {} characters",
                Self::MIN_CHARS
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a metrics token is printable ASCII without spaces".to_string());
        }
        Ok(Self(token.to_string()))
    }

    pub(crate) fn matches(&self, presented: &str) -> bool {
        pishkhan_app::secrets::constant_time_eq(presented, &self.0)
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS_S: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];
/// Distinct (method, route, status) series kept; routes are templates, so this is generous.
const MAX_SERIES: usize = 2_000;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<([u64; BUCKETS_S.len()], u64, f64)>,
    pub in_flight: AtomicI64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        {
            let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            let key = (method.to_string(), route.to_string(), status);
            if map.len() < MAX_SERIES || map.contains_key(&key) {
                *map.entry(key).or_insert(0) += 1;
            }
        }
        let mut h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        for (i, le) in BUCKETS_S.iter().enumerate() {
            if seconds <= *le {
                h.0[i] += 1;
            }
        }
        h.1 += 1;
        h.2 += seconds;
    }

    pub fn render(
        &self,
        uptime_s: f64,
        backend: &str,
        sessions: &pishkhan_app::SessionCacheStats,
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP pishkhan_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE pishkhan_http_requests_total counter");
        for ((m, r, s), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "pishkhan_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                r.replace('\\', "\\\\").replace('"', "\\\"")
            );
        }
        let h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            out,
            "# HELP pishkhan_http_request_duration_seconds Request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE pishkhan_http_request_duration_seconds histogram"
        );
        for (i, le) in BUCKETS_S.iter().enumerate() {
            let _ = writeln!(
                out,
                "pishkhan_http_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
                h.0[i]
            );
        }
        let _ = writeln!(
            out,
            "pishkhan_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            h.1
        );
        let _ = writeln!(out, "pishkhan_http_request_duration_seconds_sum {}", h.2);
        let _ = writeln!(out, "pishkhan_http_request_duration_seconds_count {}", h.1);
        let _ = writeln!(
            out,
            "# HELP pishkhan_http_in_flight Requests being handled now."
        );
        let _ = writeln!(out, "# TYPE pishkhan_http_in_flight gauge");
        let _ = writeln!(
            out,
            "pishkhan_http_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP pishkhan_session_cache_entries Resolved sessions cached now, by kind."
        );
        let _ = writeln!(out, "# TYPE pishkhan_session_cache_entries gauge");
        let _ = writeln!(
            out,
            "pishkhan_session_cache_entries{{kind=\"staff\"}} {}",
            sessions.staff_entries
        );
        let _ = writeln!(
            out,
            "pishkhan_session_cache_entries{{kind=\"citizen\"}} {}",
            sessions.citizen_entries
        );
        let _ = writeln!(
            out,
            "# HELP pishkhan_session_cache_lookups_total Session lookups, answered from the cache (hit) or the database (miss)."
        );
        let _ = writeln!(out, "# TYPE pishkhan_session_cache_lookups_total counter");
        let _ = writeln!(
            out,
            "pishkhan_session_cache_lookups_total{{result=\"hit\"}} {}",
            sessions.hits
        );
        let _ = writeln!(
            out,
            "pishkhan_session_cache_lookups_total{{result=\"miss\"}} {}",
            sessions.misses
        );
        let _ = writeln!(out, "# HELP pishkhan_uptime_seconds Seconds since start.");
        let _ = writeln!(out, "# TYPE pishkhan_uptime_seconds gauge");
        let _ = writeln!(out, "pishkhan_uptime_seconds {uptime_s:.3}");
        let _ = writeln!(out, "# HELP pishkhan_info Build and backend.");
        let _ = writeln!(out, "# TYPE pishkhan_info gauge");
        let _ = writeln!(
            out,
            "pishkhan_info{{version=\"{}\",backend=\"{backend}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}
