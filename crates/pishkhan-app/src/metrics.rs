//! What the use cases count for the operators' dashboards: bookings, inquiries, identity
//! checks, queue events and notifications.
//!
//! Each use case counts itself once, where it ends, so the API, the pages and the background
//! tasks all count alike. This module only holds the counters (`prometheus-client` handles,
//! cheap to clone and lock-free to bump); the web layer registers them beside its own HTTP
//! metrics, under the `pishkhan_` prefix and the process's `store` and `node` labels, and
//! serves the exposition.
//!
//! Every label value is a stable code of this crate or the exchange's (error codes, event
//! kinds, decisions), never what a person typed: a label a caller could choose would let
//! them grow the series without bound. The one label that comes from a request, the
//! inquiry's service, is checked and capped ([`MAX_SERVICES`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::AppError;

/// Distinct inquiry services counted apart; more count as `other`. The exchange directory
/// names a few dozen.
pub const MAX_SERVICES: usize = 256;

/// Upper bounds of the inquiry latency histogram, in seconds: an agency answers in tens of
/// milliseconds when well and is cut off at its timeout (seconds) when not.
const INQUIRY_BUCKETS_S: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InquiryLabels {
    service: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// How many label sets a family may still take: a bound on series whose label comes from a
/// request, shared by the crates that count.
#[derive(Debug)]
pub struct LabelBudget {
    left: AtomicUsize,
}

impl LabelBudget {
    pub fn new(max: usize) -> Self {
        Self {
            left: AtomicUsize::new(max),
        }
    }

    /// Whether `family` may count under `label`: it already does, or the budget has room,
    /// which this then spends. Two threads adding the same new label may both spend; the
    /// bound only tightens.
    pub fn admits<S, M, C>(&self, family: &Family<S, M, C>, label: &S) -> bool
    where
        S: Clone + std::hash::Hash + Eq,
        C: prometheus_client::metrics::family::MetricConstructor<M>,
    {
        if family.get(label).is_some() {
            return true;
        }
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

fn inquiry_histogram() -> Histogram {
    Histogram::new(INQUIRY_BUCKETS_S)
}

/// The use cases' counters. One per [`App`](crate::App); see the module's doc.
#[derive(Clone)]
pub struct Metrics {
    bookings_made: Counter,
    bookings_refused: Family<ReasonLabel, Counter>,
    bookings_cancelled: Counter,
    bookings_rescheduled: Counter,
    inquiries: Family<InquiryLabels, Counter>,
    inquiry_duration: Family<ServiceLabel, Histogram, fn() -> Histogram>,
    identity_checks: Family<DecisionLabel, Counter>,
    queue_events: Family<KindLabel, Counter>,
    outbox_messages: Family<OutcomeLabel, Counter>,
    outbox_claimed: Gauge,
    services: Arc<LabelBudget>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            bookings_made: Counter::default(),
            bookings_refused: Family::default(),
            bookings_cancelled: Counter::default(),
            bookings_rescheduled: Counter::default(),
            inquiries: Family::default(),
            inquiry_duration: Family::new_with_constructor(inquiry_histogram),
            identity_checks: Family::default(),
            queue_events: Family::default(),
            outbox_messages: Family::default(),
            outbox_claimed: Gauge::default(),
            services: Arc::new(LabelBudget::new(MAX_SERVICES)),
        }
    }
}

impl Metrics {
    /// Adds every counter to `registry` (the web layer's, with its prefix and labels).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "bookings_made",
            "Bookings made (a replayed Idempotency-Key is not a new one)",
            self.bookings_made.clone(),
        );
        registry.register(
            "bookings_refused",
            "Bookings refused, by the error code the caller got",
            self.bookings_refused.clone(),
        );
        registry.register(
            "bookings_cancelled",
            "Bookings cancelled",
            self.bookings_cancelled.clone(),
        );
        registry.register(
            "bookings_rescheduled",
            "Bookings moved to another slot",
            self.bookings_rescheduled.clone(),
        );
        registry.register(
            "inquiries",
            "Inquiries through the exchange, by service and outcome (answered, refused, failed)",
            self.inquiries.clone(),
        );
        registry.register_with_unit(
            "inquiry_duration",
            "Time from asking an inquiry to its answer or refusal, by service",
            Unit::Seconds,
            self.inquiry_duration.clone(),
        );
        registry.register(
            "identity_checks",
            "Identity checks at the counter, by decision (verified, rejected, needs_review) or \
             refused or failed when none was made",
            self.identity_checks.clone(),
        );
        registry.register(
            "queue_events",
            "Queue events stored, by kind",
            self.queue_events.clone(),
        );
        registry.register(
            "outbox_messages",
            "Notifications the dispatcher settled, by outcome (sent, retried, failed, skipped)",
            self.outbox_messages.clone(),
        );
        registry.register(
            "outbox_last_round_claimed",
            "Notifications the dispatcher's latest round claimed; at its batch size, a backlog waits",
            self.outbox_claimed.clone(),
        );
    }

    /// A booking the store took: a new one counts, a replay of one does not.
    pub(crate) fn made(&self, booked: &pishkhan_store::Booked) {
        if let pishkhan_store::Booked::New(_) = booked {
            self.bookings_made.inc();
        }
    }

    /// A citizen's or a counter's booking request ended.
    pub(crate) fn booked(&self, result: &Result<pishkhan_store::Booked, AppError>) {
        match result {
            Ok(booked) => self.made(booked),
            Err(e) => {
                self.bookings_refused
                    .get_or_create(&ReasonLabel { reason: e.code() })
                    .inc();
            }
        }
    }

    pub(crate) fn cancelled<T>(&self, result: &Result<T, AppError>) {
        if result.is_ok() {
            self.bookings_cancelled.inc();
        }
    }

    pub(crate) fn rescheduled<T>(&self, result: &Result<T, AppError>) {
        if result.is_ok() {
            self.bookings_rescheduled.inc();
        }
    }

    /// One inquiry ended after `took`; `service` is the service asked for, as given.
    pub(crate) fn inquired<T>(&self, service: &str, result: &Result<T, AppError>, took: Duration) {
        let outcome = match result {
            Ok(_) => "answered",
            Err(AppError::Upstream { .. } | AppError::Unavailable | AppError::Internal(_)) => {
                "failed"
            }
            Err(_) => "refused",
        };
        let service = self.service_label(service);
        self.inquiries
            .get_or_create(&InquiryLabels {
                service: service.clone(),
                outcome,
            })
            .inc();
        self.inquiry_duration
            .get_or_create(&ServiceLabel { service })
            .observe(took.as_secs_f64());
    }

    /// The service's id as a label: `invalid` unless it reads as one, `other` past
    /// [`MAX_SERVICES`] distinct ones.
    fn service_label(&self, service: &str) -> String {
        let Ok(id) = pishkhan_exchange::ServiceId::parse(service.trim()) else {
            return "invalid".to_string();
        };
        let label = ServiceLabel {
            service: id.as_str().to_string(),
        };
        if self.services.admits(&self.inquiry_duration, &label) {
            label.service
        } else {
            "other".to_string()
        }
    }

    pub(crate) fn identity_checked(
        &self,
        result: &Result<crate::identity::Verification, AppError>,
    ) {
        let decision = match result {
            Ok(v) => crate::identity::decision_code(v.evaluation.decision),
            Err(AppError::Upstream { .. } | AppError::Unavailable | AppError::Internal(_)) => {
                "failed"
            }
            Err(_) => "refused",
        };
        self.identity_checks
            .get_or_create(&DecisionLabel { decision })
            .inc();
    }

    pub(crate) fn queue_stored(&self, events: &[pishkhan_queue::Event]) {
        for e in events {
            self.queue_events
                .get_or_create(&KindLabel { kind: e.kind() })
                .inc();
        }
    }

    /// One round of the notification dispatcher (`pishkhan-notify`, which the binary wires
    /// to this): how many it claimed and how each claimed message ended.
    pub fn outbox_round(&self, claimed: u64, sent: u64, retried: u64, failed: u64, skipped: u64) {
        self.outbox_claimed
            .set(i64::try_from(claimed).unwrap_or(i64::MAX));
        for (outcome, n) in [
            ("sent", sent),
            ("retried", retried),
            ("failed", failed),
            ("skipped", skipped),
        ] {
            // Every outcome shows from the start (at 0), so a rate over it is never absent.
            self.outbox_messages
                .get_or_create(&OutcomeLabel { outcome })
                .inc_by(n);
        }
    }
}
