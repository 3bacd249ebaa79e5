//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! One process-wide registry (metrics are facts about the process, and the
//! sequencer thread, the handlers and the stream all report into it without
//! having to be handed a reference). Every name starts with `entente_`.
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `entente_statements_accepted_total` | counter | statements committed to the log |
//! | `entente_statements_refused_total{reason}` | counter | submissions refused, by problem slug |
//! | `entente_batch_size` | histogram | statements per group commit |
//! | `entente_commit_seconds` | histogram | time of one atomic write + flush |
//! | `entente_log_size` | gauge | entries in the log |
//! | `entente_stream_subscribers` | gauge | open `/v1/stream` connections (kept by the stream) |

use std::sync::LazyLock;

use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    accepted: IntCounter,
    refused: IntCounterVec,
    batch_size: Histogram,
    commit_seconds: Histogram,
    log_size: IntGauge,
    stream_subscribers: IntGauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Metrics {
        // The names and buckets are constants: a failure here is a programming
        // error caught by the unit test below, never by a request.
        let accepted = IntCounter::new(
            "entente_statements_accepted_total",
            "Statements committed to the log.",
        )
        .expect("valid metric");
        let refused = IntCounterVec::new(
            Opts::new(
                "entente_statements_refused_total",
                "Statement submissions refused, by problem type slug.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("entente_batch_size", "Statements per group commit.")
                .buckets(exponential_buckets(1.0, 2.0, 12).expect("valid buckets")),
        )
        .expect("valid metric");
        let commit_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "entente_commit_seconds",
                "Time of one group commit: atomic batch write and flush.",
            )
            .buckets(exponential_buckets(0.0001, 2.0, 16).expect("valid buckets")),
        )
        .expect("valid metric");
        let log_size = IntGauge::new("entente_log_size", "Entries in the log.").expect("valid");
        let stream_subscribers = IntGauge::new(
            "entente_stream_subscribers",
            "Open /v1/stream subscriptions.",
        )
        .expect("valid metric");
        let registry = Registry::new();
        for m in [
            Box::new(accepted.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refused.clone()),
            Box::new(batch_size.clone()),
            Box::new(commit_seconds.clone()),
            Box::new(log_size.clone()),
            Box::new(stream_subscribers.clone()),
        ] {
            registry.register(m).expect("metric names are unique");
        }
        Metrics {
            registry,
            accepted,
            refused,
            batch_size,
            commit_seconds,
            log_size,
            stream_subscribers,
        }
    }
}

/// Counts one accepted statement.
pub fn statement_accepted() {
    METRICS.accepted.inc();
}

/// Counts one refused submission under its problem slug (a fixed, small set).
pub fn statement_refused(slug: &str) {
    METRICS.refused.with_label_values(&[slug]).inc();
}

/// Records one group commit: how many statements, how long the write and flush took.
pub fn observe_commit(statements: usize, seconds: f64) {
    METRICS.batch_size.observe(statements as f64);
    METRICS.commit_seconds.observe(seconds);
}

/// Sets the log size gauge.
pub fn set_log_size(size: u64) {
    METRICS
        .log_size
        .set(i64::try_from(size).unwrap_or(i64::MAX));
}

/// The subscribers gauge, for the stream to `inc()` on open and `dec()` on close.
pub fn stream_subscribers() -> &'static IntGauge {
    &METRICS.stream_subscribers
}

/// Every metric in the Prometheus text format.
pub fn render() -> String {
    let mut out = Vec::new();
    // Encoding into a Vec only fails on invalid metric families, which the
    // registry refuses at registration.
    let _ = TextEncoder::new().encode(&METRICS.registry.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_rendered() {
        statement_accepted();
        statement_refused("malformed");
        observe_commit(3, 0.001);
        set_log_size(7);
        stream_subscribers().inc();
        let text = render();
        for name in [
            "entente_statements_accepted_total",
            "entente_statements_refused_total{reason=\"malformed\"}",
            "entente_batch_size_bucket",
            "entente_commit_seconds_bucket",
            "entente_log_size 7",
            "entente_stream_subscribers",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
