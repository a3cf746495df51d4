//! Exponential backoff with jitter: attempt `n` waits a random time between half and all of
//! `base * 2^(n-1)`, capped at `max`. The jitter spreads retries of many items that failed
//! together, so a recovering helpdesk is not hit by all of them at once.

use std::time::Duration;

/// The delay before retry number `attempt` (1 for the first retry).
pub(crate) fn delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = base.saturating_mul(1u32 << exponent).min(max);
    let half = full / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(fastrand::u64(0..=jitter_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_bounds() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 1..30 {
            let full = base.saturating_mul(1 << (attempt - 1).min(20)).min(max);
            for _ in 0..20 {
                let d = delay(attempt, base, max);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
        assert!(delay(40, base, max) <= max);
    }
}
