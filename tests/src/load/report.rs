//! Throughput and latency percentiles of one run, as text or one JSON object.

use serde::Serialize;

use super::client::Outcome;

/// The figures of one run. `extra` carries mode-specific figures (start-up
/// time, RSS, disk per entry).
#[derive(Serialize)]
pub struct Report {
    pub mode: String,
    pub requests: u64,
    pub connections: usize,
    pub seconds: f64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub statuses: std::collections::BTreeMap<u16, u64>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

impl Report {
    /// Summarises `out`; `errors` are requests that failed (wrong status or a
    /// receipt that did not verify).
    pub fn new(mode: &str, out: &Outcome, connections: usize, errors: u64) -> Report {
        let requests = out.latencies_us.len();
        let secs = out.elapsed.as_secs_f64();
        let mut report = Report {
            mode: mode.to_owned(),
            requests: requests as u64,
            connections,
            seconds: secs,
            throughput_per_s: if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            },
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            errors,
            statuses: out.statuses.clone(),
            extra: serde_json::Map::new(),
        };
        report.set_latencies(out.latencies_us.clone());
        report
    }

    /// Sets the percentiles from `latencies_us` (microseconds, any order),
    /// e.g. to report delivery latency rather than request latency.
    pub fn set_latencies(&mut self, mut latencies_us: Vec<u64>) {
        let lat = &mut latencies_us;
        lat.sort_unstable();
        self.p50_ms = percentile(lat, 0.50);
        self.p90_ms = percentile(lat, 0.90);
        self.p99_ms = percentile(lat, 0.99);
        self.max_ms = percentile(lat, 1.0);
    }

    /// Prints the report: one JSON object, or a few human lines.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
            return;
        }
        println!(
            "{}: {} requests over {} connections in {:.2} s: {:.0}/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} errors",
            self.mode,
            self.requests,
            self.connections,
            self.seconds,
            self.throughput_per_s,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            self.errors
        );
        println!("statuses: {:?}", self.statuses);
        for (k, v) in &self.extra {
            println!("{k}: {v}");
        }
    }
}
