//! A per-plugin circuit breaker: after `threshold` consecutive failures the plugin is switched
//! off and reported, until an operator resets it. Successes reset the count.

use std::sync::Mutex;

/// Counters and state of one plugin's breaker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreakerStatus {
    /// Calls made (including failed ones).
    pub calls: u64,
    /// Failures that counted against the plugin.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Whether the breaker is open (plugin switched off).
    pub disabled: bool,
    /// The most recent failure.
    pub last_error: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    status: Mutex<BreakerStatus>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            status: Mutex::new(BreakerStatus::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerStatus> {
        // A panic while holding this lock cannot leave the counters inconsistent.
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(status)` when the breaker is open.
    pub(crate) fn check(&self) -> Result<(), BreakerStatus> {
        let status = self.lock();
        if status.disabled {
            Err(status.clone())
        } else {
            Ok(())
        }
    }

    pub(crate) fn record_success(&self) {
        let mut status = self.lock();
        status.calls += 1;
        status.consecutive_failures = 0;
    }

    /// Records a call that failed; returns true when this failure opened the breaker.
    pub(crate) fn record_failure(&self, error: &str, counts: bool) -> bool {
        let mut status = self.lock();
        status.calls += 1;
        status.last_error = Some(error.to_owned());
        if !counts {
            return false;
        }
        status.failures += 1;
        status.consecutive_failures += 1;
        if !status.disabled && status.consecutive_failures >= self.threshold {
            status.disabled = true;
            return true;
        }
        false
    }

    pub(crate) fn reset(&self) {
        let mut status = self.lock();
        status.disabled = false;
        status.consecutive_failures = 0;
    }

    pub(crate) fn status(&self) -> BreakerStatus {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let b = Breaker::new(3);
        assert!(!b.record_failure("x", true));
        assert!(!b.record_failure("x", true));
        b.record_success();
        assert!(!b.record_failure("x", true));
        assert!(!b.record_failure("x", true));
        assert!(b.check().is_ok());
        assert!(b.record_failure("x", true));
        assert!(b.check().is_err());
        b.reset();
        assert!(b.check().is_ok());
    }

    #[test]
    fn failures_that_do_not_count_never_open_it() {
        let b = Breaker::new(1);
        assert!(!b.record_failure("provider down", false));
        assert!(b.check().is_ok());
        assert_eq!(b.status().failures, 0);
        assert_eq!(b.status().calls, 1);
    }
}
