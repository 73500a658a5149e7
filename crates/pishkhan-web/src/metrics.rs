//! The Prometheus exposition at `/metrics`, from `prometheus-client`: the HTTP requests by
//! route template, method and status class, their latency by route, requests in flight, the
//! session cache, and the use cases' own counters ([`pishkhan_app::metrics`]). Every series
//! carries the process's `store` and `node` labels, so one dashboard tells nodes and
//! backends apart.
//!
//! A scraper that asks for OpenMetrics (`Accept: application/openmetrics-text`, as Prometheus
//! does) gets it; anyone else gets the classic text format 0.0.4.

use std::borrow::Cow;
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

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

/// A node's name as the `node` label shows it: 1..=63 of `A-Z a-z 0-9 . _ -`, like a host
/// name, so it needs no escaping and cannot grow without bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeName(String);

impl NodeName {
    pub const MAX_CHARS: usize = 63;

    pub fn new(name: &str) -> Result<Self, String> {
        let name = name.trim();
        if name.is_empty() || name.len() > Self::MAX_CHARS {
            return Err(format!(
                "a node name has 1 to {} characters",
                Self::MAX_CHARS
            ));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err("a node name holds only A-Z, a-z, 0-9, '.', '_' and '-'".to_string());
        }
        Ok(Self(name.to_string()))
    }

    /// This machine's host name, or `pishkhan` where it cannot be read or is no node name.
    pub fn of_host() -> Self {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .and_then(|h| Self::new(&h).ok())
            .unwrap_or_else(|| Self("pishkhan".to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Upper bounds of the request latency histogram, in seconds.
const BUCKETS_S: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];
/// Distinct routes counted apart; routes are templates, so this is generous, and more count
/// as `other`.
const MAX_ROUTES: usize = 1_000;

/// The content type of each exposition format.
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub(crate) const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS_S)
}

/// The registry with every metric of this process, and the HTTP layer's own handles.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    routes: pishkhan_app::metrics::LabelBudget,
}

impl Metrics {
    /// Registers the HTTP metrics, `app`'s counters and what is read at each scrape, all
    /// labelled with the backend of `app`'s store and `node`.
    pub fn new(app: &pishkhan_app::App, node: &NodeName) -> Self {
        let labels = [
            (
                Cow::Borrowed("store"),
                Cow::Borrowed(app.store().backend().name()),
            ),
            (Cow::Borrowed("node"), Cow::Owned(node.as_str().to_string())),
        ];
        let mut registry = Registry::with_prefix_and_labels("pishkhan", labels.into_iter());
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Family<RouteLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status class",
            requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency by route template",
            Unit::Seconds,
            latency.clone(),
        );
        registry.register(
            "http_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        registry.register(
            "build",
            "The running version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        app.metrics().register(&mut registry);
        registry.register_collector(Box::new(Sampled {
            app: app.clone(),
            started: Instant::now(),
        }));
        Self {
            registry,
            requests,
            latency,
            in_flight,
            routes: pishkhan_app::metrics::LabelBudget::new(MAX_ROUTES),
        }
    }

    pub(crate) fn started(&self) {
        self.in_flight.inc();
    }

    /// One request ended: `route` is its route template (never the path, which may hold a
    /// bearer token), `None` when no route matched.
    pub(crate) fn finished(&self, method: &str, route: Option<&str>, status: u16, seconds: f64) {
        self.in_flight.dec();
        let route = match route {
            Some(r) => {
                let label = RouteLabel {
                    route: r.to_string(),
                };
                if self.routes.admits(&self.latency, &label) {
                    label.route
                } else {
                    "other".to_string()
                }
            }
            None => "unmatched".to_string(),
        };
        self.requests
            .get_or_create(&RequestLabels {
                method: method_label(method),
                route: route.clone(),
                status: status_class(status),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabel { route })
            .observe(seconds);
    }

    /// The exposition, in OpenMetrics when `openmetrics`, else the text format 0.0.4.
    pub(crate) fn render(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        }
        Ok(out)
    }
}

/// The method as a label: the standard ones by name, any other as `other` (a client may send
/// any token as a method).
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// What is read at each scrape rather than counted: uptime and the session cache.
struct Sampled {
    app: pishkhan_app::App,
    started: Instant,
}

impl std::fmt::Debug for Sampled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sampled")
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

impl Collector for Sampled {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let uptime = ConstGauge::new(self.started.elapsed().as_secs_f64());
        let metric = encoder.encode_descriptor(
            "uptime",
            "Time since the server started.",
            Some(&Unit::Seconds),
            uptime.metric_type(),
        )?;
        uptime.encode(metric)?;

        let stats = self.app.session_cache_stats();
        let entries = [
            ("staff", stats.staff_entries),
            ("citizen", stats.citizen_entries),
        ];
        let mut metric = encoder.encode_descriptor(
            "session_cache_entries",
            "Resolved sessions cached now, by kind.",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (kind, n) in entries {
            let gauge = ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));
            gauge.encode(metric.encode_family(&KindLabel { kind })?)?;
        }
        let lookups = [("hit", stats.hits), ("miss", stats.misses)];
        let mut metric = encoder.encode_descriptor(
            "session_cache_lookups",
            "Session lookups, answered from the cache (hit) or the database (miss).",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (result, n) in lookups {
            ConstCounter::new(n).encode(metric.encode_family(&ResultLabel { result })?)?;
        }
        Ok(())
    }
}
