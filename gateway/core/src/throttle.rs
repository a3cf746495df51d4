//! A token bucket refilled at so much per minute, with a pause the far side can impose (a
//! `429` with `Retry-After`, a remaining quota of zero).
//!
//! The arithmetic only: the caller passes the current [`Instant`] and does the waiting, so the
//! same bucket paces requests to a helpdesk (cost 1 per request) and prompt tokens to an AI
//! provider (cost = the request's tokens). A request that costs more than the bucket holds is
//! let through once the bucket is full and leaves it in debt, so it never waits for ever and
//! later requests pay for it.
//!
//! [`backoff_delay`] is the retry schedule both use: exponential, capped, with jitter.

use std::time::{Duration, Instant};

/// The delay before retry number `attempt` (1 for the first retry): a time between half and
/// all of `base * 2^(attempt-1)`, capped at `max`, placed by `random` (a number in `0.0..=1.0`
/// the caller draws). The jitter spreads retries of many requests that failed together, so a
/// recovering service is not hit by all of them at once.
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration, random: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = base.saturating_mul(1u32 << exponent).min(max);
    let half = full / 2;
    half + half.mul_f64(random.clamp(0.0, 1.0))
}

/// So much per minute, up to `burst` at once.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_minute: u32,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
    paused_until: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket of `burst` (at least 1) refilled at `per_minute` (at least 1) a minute.
    pub fn new(per_minute: u32, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            per_minute: per_minute.max(1),
            burst,
            tokens: burst,
            refilled_at: now,
            paused_until: None,
        }
    }

    /// Takes `cost` if the bucket allows it now; otherwise says how long to wait.
    pub fn try_take(&mut self, cost: u32, now: Instant) -> Option<Duration> {
        if let Some(wait) = self.paused_for(now) {
            return Some(wait);
        }
        self.paused_until = None;
        let rate_per_s = f64::from(self.per_minute) / 60.0;
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate_per_s).min(self.burst);
        self.refilled_at = now;
        let cost = f64::from(cost);
        // More than a full bucket can hold goes once the bucket is full, leaving a debt.
        let needed = cost.min(self.burst);
        if self.tokens >= needed {
            self.tokens -= cost;
            None
        } else {
            Some(Duration::from_secs_f64((needed - self.tokens) / rate_per_s))
        }
    }

    /// Blocks every take until `until` (a later pause is never shortened by an earlier one).
    pub fn pause_until(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|current| current < until) {
            self.paused_until = Some(until);
        }
    }

    /// How long the bucket is paused from `now`, if it is.
    pub fn paused_for(&self, now: Instant) -> Option<Duration> {
        self.paused_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
    }

    /// Lowers what the bucket holds to what the far side says is left (its own count wins when
    /// it is stricter than ours).
    pub fn at_most(&mut self, remaining: u32) {
        self.tokens = self.tokens.min(f64::from(remaining));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_delays_grow_and_stay_within_bounds() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 1..30 {
            let full = base.saturating_mul(1 << (attempt - 1).min(20)).min(max);
            for random in [0.0, 0.3, 1.0, 7.0, -1.0] {
                let d = backoff_delay(attempt, base, max, random);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
        assert_eq!(backoff_delay(40, base, max, 1.0), max);
    }

    #[test]
    fn the_bucket_refills_at_the_configured_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(60, 6, start); // one a second, burst 6
        for _ in 0..6 {
            assert_eq!(bucket.try_take(1, start), None);
        }
        let wait = bucket.try_take(1, start).expect("bucket empty");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(bucket.try_take(1, start + Duration::from_secs(1)), None);
    }

    #[test]
    fn a_pause_blocks_until_it_ends_and_is_never_shortened() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(6000, 600, start);
        bucket.pause_until(start + Duration::from_secs(30));
        let wait = bucket.try_take(1, start).expect("paused");
        assert!(wait > Duration::from_secs(29), "{wait:?}");
        bucket.pause_until(start + Duration::from_secs(1));
        assert!(bucket.paused_for(start).expect("paused") > Duration::from_secs(29));
        assert_eq!(bucket.try_take(1, start + Duration::from_secs(30)), None);
    }

    #[test]
    fn a_request_larger_than_the_bucket_goes_when_it_is_full_and_leaves_a_debt() {
        let start = Instant::now();
        let mut tokens = TokenBucket::new(600, 600, start); // ten tokens a second
        assert_eq!(
            tokens.try_take(1_000, start),
            None,
            "a full bucket lets it pass"
        );
        // 400 tokens of debt: the next 10-token request waits 41 s.
        let wait = tokens.try_take(10, start).expect("in debt");
        assert!(
            wait > Duration::from_secs(40) && wait < Duration::from_secs(42),
            "{wait:?}"
        );
    }

    #[test]
    fn the_far_sides_remaining_count_wins_when_stricter() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(60, 60, start);
        bucket.at_most(0);
        assert!(bucket.try_take(1, start).is_some());
    }
}
