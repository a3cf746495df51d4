//! In-memory pipeline latency: for each event ingested by this process, the time from its
//! being stored (just before the acknowledging flush) to its outcome being recorded, and that
//! time minus what AI providers took. The newest samples are kept; the load driver reads
//! percentiles through `GET /api/v1/metrics`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Samples kept (the newest).
const CAPACITY: usize = 200_000;

/// One processed event's timings.
#[derive(Debug, Clone, Copy)]
struct Sample {
    since_ack_us: u64,
    ai_us: u64,
}

/// Percentiles of one measure, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Percentiles {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest.
    pub max_us: u64,
}

/// A snapshot of the pipeline's latencies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MetricsSnapshot {
    /// Stored (acknowledged once flushed) to recorded outcome.
    pub since_ack: Percentiles,
    /// The same minus AI provider time: what the gateway itself costs per event.
    pub overhead_excluding_ai: Percentiles,
}

/// The recorder shared by the workers and the HTTP layer.
#[derive(Debug, Default)]
pub struct PipelineMetrics {
    samples: Mutex<VecDeque<Sample>>,
}

impl PipelineMetrics {
    pub(crate) fn record(&self, since_ack: Duration, ai: Duration) {
        let sample = Sample {
            since_ack_us: u64::try_from(since_ack.as_micros()).unwrap_or(u64::MAX),
            ai_us: u64::try_from(ai.as_micros()).unwrap_or(u64::MAX),
        };
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() == CAPACITY {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Forgets every sample (the load driver does this before a run).
    pub fn reset(&self) {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Percentiles over the kept samples.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let since_ack: Vec<u64> = samples.iter().map(|s| s.since_ack_us).collect();
        let overhead: Vec<u64> = samples
            .iter()
            .map(|s| s.since_ack_us.saturating_sub(s.ai_us))
            .collect();
        MetricsSnapshot {
            since_ack: percentiles(since_ack),
            overhead_excluding_ai: percentiles(overhead),
        }
    }
}

fn percentiles(mut values: Vec<u64>) -> Percentiles {
    if values.is_empty() {
        return Percentiles::default();
    }
    values.sort_unstable();
    let at = |q: f64| {
        let rank = ((values.len() as f64) * q).ceil() as usize;
        values[rank.clamp(1, values.len()) - 1]
    };
    Percentiles {
        count: values.len(),
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: values[values.len() - 1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let metrics = PipelineMetrics::default();
        for ms in 1..=100u64 {
            metrics.record(Duration::from_millis(ms), Duration::from_millis(ms / 2));
        }
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.since_ack.count, 100);
        assert_eq!(snapshot.since_ack.p50_us, 50_000);
        assert_eq!(snapshot.since_ack.p99_us, 99_000);
        assert_eq!(snapshot.since_ack.max_us, 100_000);
        assert_eq!(snapshot.overhead_excluding_ai.max_us, 50_000);
        metrics.reset();
        assert_eq!(metrics.snapshot().since_ack.count, 0);
    }
}
