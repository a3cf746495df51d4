//! The gateway's counters and latency histograms, process-wide, for `GET /metrics`
//! (Prometheus text exposition format 0.0.4).
//!
//! Every crate records into [`telemetry()`] by metric name and label values; the names, kinds
//! and help texts are listed once in [`METRICS`], and only those are recorded (a typo is a
//! test failure, not a new series). Label values are the gateway's own names — helpdesks,
//! plugins, providers, outcomes — never ticket content or secrets. Gauges that the store
//! knows (outbox depth, open drafts) are added by the server at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// Observations in buckets of seconds.
    Histogram,
}

/// Every metric recorded: name, kind, help text.
pub const METRICS: &[(&str, MetricKind, &str)] = &[
    (
        "deskbridge_ingest_total",
        MetricKind::Counter,
        "Webhook deliveries by helpdesk and result (accepted, duplicate, ignored, refused_auth, refused_body, refused_backlog, failed).",
    ),
    (
        "deskbridge_pipeline_latency_seconds",
        MetricKind::Histogram,
        "Time from an event being stored to its outcome being recorded.",
    ),
    (
        "deskbridge_plugin_calls_total",
        MetricKind::Counter,
        "Plugin calls by plugin and outcome (ok, error).",
    ),
    (
        "deskbridge_plugin_fuel_total",
        MetricKind::Counter,
        "Wasm fuel consumed by plugin.",
    ),
    (
        "deskbridge_plugin_call_seconds",
        MetricKind::Histogram,
        "Wall-clock time of plugin calls by plugin.",
    ),
    (
        "deskbridge_provider_calls_total",
        MetricKind::Counter,
        "AI provider calls by provider and outcome (ok, or the failure kind).",
    ),
    (
        "deskbridge_provider_latency_seconds",
        MetricKind::Histogram,
        "AI provider call time by provider.",
    ),
    (
        "deskbridge_provider_tokens_total",
        MetricKind::Counter,
        "Tokens used by provider and direction (input, output).",
    ),
    (
        "deskbridge_provider_cost_total",
        MetricKind::Counter,
        "Spend by provider, in the configured prices' currency.",
    ),
    (
        "deskbridge_outbox_attempts_total",
        MetricKind::Counter,
        "Outbox delivery attempts by helpdesk and result (delivered, retry, dead_lettered).",
    ),
    (
        "deskbridge_decisions_total",
        MetricKind::Counter,
        "Decisions on drafts by kind (approve, edit_approve, reject, escalate, expire, cancel).",
    ),
];

/// Upper bounds of the histogram buckets, seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A series: the metric and its label pairs, rendered (`a="x",b="y"`).
type Series = (&'static str, String);

#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The recorder.
#[derive(Debug, Default)]
pub struct Telemetry {
    counters: Mutex<BTreeMap<Series, f64>>,
    histograms: Mutex<BTreeMap<Series, Histogram>>,
}

/// The process's recorder.
pub fn telemetry() -> &'static Telemetry {
    static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
    TELEMETRY.get_or_init(Telemetry::default)
}

fn known(name: &str, kind: MetricKind) -> bool {
    METRICS.iter().any(|(n, k, _)| *n == name && *k == kind)
}

/// `a="x",b="y"`, values escaped as the exposition format wants.
fn render_labels(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        for c in value.chars().take(128) {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

impl Telemetry {
    /// Adds `value` to counter `name` with `labels` (ignored for names not in [`METRICS`]).
    pub fn add(&self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        if !known(name, MetricKind::Counter) || !value.is_finite() || value < 0.0 {
            debug_assert!(known(name, MetricKind::Counter), "unknown counter {name}");
            return;
        }
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *counters.entry((name, render_labels(labels))).or_default() += value;
    }

    /// Counts one for counter `name` with `labels`.
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1.0);
    }

    /// Records `seconds` in histogram `name` with `labels`.
    pub fn observe(&self, name: &'static str, labels: &[(&str, &str)], seconds: f64) {
        if !known(name, MetricKind::Histogram) || !seconds.is_finite() || seconds < 0.0 {
            debug_assert!(
                known(name, MetricKind::Histogram),
                "unknown histogram {name}"
            );
            return;
        }
        let mut histograms = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        let histogram = histograms.entry((name, render_labels(labels))).or_default();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The counter's current value (tests and the console).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let key = render_labels(labels);
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters
            .iter()
            .find(|((n, l), _)| *n == name && *l == key)
            .map_or(0.0, |(_, v)| *v)
    }

    /// Every recorded metric in the text exposition format.
    pub fn render(&self, out: &mut String) {
        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let histograms = self
            .histograms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (name, kind, help) in METRICS {
            let _ = writeln!(out, "# HELP {name} {help}");
            match kind {
                MetricKind::Counter => {
                    let _ = writeln!(out, "# TYPE {name} counter");
                    for ((_, labels), value) in counters.iter().filter(|((n, _), _)| n == name) {
                        let _ = writeln!(out, "{name}{} {value}", braces(labels));
                    }
                }
                MetricKind::Histogram => {
                    let _ = writeln!(out, "# TYPE {name} histogram");
                    for ((_, labels), h) in histograms.iter().filter(|((n, _), _)| n == name) {
                        let sep = if labels.is_empty() { "" } else { "," };
                        for (count, bound) in h.buckets.iter().zip(BUCKETS) {
                            let _ = writeln!(
                                out,
                                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}"
                            );
                        }
                        let _ =
                            writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
                        let _ = writeln!(out, "{name}_sum{} {}", braces(labels), h.sum);
                        let _ = writeln!(out, "{name}_count{} {}", braces(labels), h.count);
                    }
                }
            }
        }
    }
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_the_exposition_format() {
        let t = Telemetry::default();
        t.inc(
            "deskbridge_ingest_total",
            &[("helpdesk", "acme"), ("result", "accepted")],
        );
        t.inc(
            "deskbridge_ingest_total",
            &[("helpdesk", "acme"), ("result", "accepted")],
        );
        t.observe("deskbridge_pipeline_latency_seconds", &[], 0.02);
        t.add(
            "deskbridge_plugin_fuel_total",
            &[("plugin", "say \"hi\"\n")],
            5.0,
        );
        let mut out = String::new();
        t.render(&mut out);
        assert!(
            out.contains("# TYPE deskbridge_ingest_total counter"),
            "{out}"
        );
        assert!(
            out.contains("deskbridge_ingest_total{helpdesk=\"acme\",result=\"accepted\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("deskbridge_pipeline_latency_seconds_bucket{le=\"0.01\"} 0"),
            "{out}"
        );
        assert!(
            out.contains("deskbridge_pipeline_latency_seconds_bucket{le=\"0.025\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("deskbridge_pipeline_latency_seconds_bucket{le=\"+Inf\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("deskbridge_pipeline_latency_seconds_count 1"),
            "{out}"
        );
        assert!(out.contains("plugin=\"say \\\"hi\\\"\\n\"} 5"), "{out}");
        assert_eq!(
            t.counter(
                "deskbridge_ingest_total",
                &[("helpdesk", "acme"), ("result", "accepted")]
            ),
            2.0
        );
    }
}
