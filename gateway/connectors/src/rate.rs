//! A per-helpdesk rate gate: a token bucket sized by the configured requests per minute, plus
//! a pause imposed by the helpdesk itself (`429` with `Retry-After`, or a remaining quota of
//! zero). Every request to one helpdesk instance, read or write, passes through its gate.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shared by all requests to one helpdesk instance.
#[derive(Debug)]
pub struct RateGate {
    per_minute: u32,
    state: Mutex<GateState>,
}

#[derive(Debug)]
struct GateState {
    tokens: f64,
    refilled_at: Instant,
    paused_until: Option<Instant>,
}

impl RateGate {
    /// A gate allowing `per_minute` requests a minute (bursts up to a tenth of that, at least
    /// one request).
    pub fn new(per_minute: u32) -> RateGate {
        let per_minute = per_minute.max(1);
        RateGate {
            per_minute,
            state: Mutex::new(GateState {
                tokens: burst(per_minute),
                refilled_at: Instant::now(),
                paused_until: None,
            }),
        }
    }

    /// Waits until a request may go out, and takes its token.
    pub async fn acquire(&self) {
        loop {
            let wait = self.try_take(Instant::now());
            match wait {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes a token if one is available now; otherwise says how long to wait.
    fn try_take(&self, now: Instant) -> Option<Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = state.paused_until {
            if until > now {
                return Some(until - now);
            }
            state.paused_until = None;
        }
        let rate_per_s = f64::from(self.per_minute) / 60.0;
        let elapsed = now
            .saturating_duration_since(state.refilled_at)
            .as_secs_f64();
        state.tokens = (state.tokens + elapsed * rate_per_s).min(burst(self.per_minute));
        state.refilled_at = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - state.tokens) / rate_per_s))
        }
    }

    /// Stops all requests for `duration` (the helpdesk said so).
    pub fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
    }

    /// How long the gate is paused from now, if it is.
    pub fn paused_for(&self) -> Option<Duration> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .paused_until
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }
}

fn burst(per_minute: u32) -> f64 {
    (f64::from(per_minute) / 10.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refills_at_the_configured_rate() {
        let gate = RateGate::new(60); // one a second, burst 6
        let start = Instant::now();
        for _ in 0..6 {
            assert_eq!(gate.try_take(start), None);
        }
        let wait = gate.try_take(start).expect("bucket empty");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(gate.try_take(start + Duration::from_secs(1)), None);
    }

    #[test]
    fn a_pause_blocks_until_it_ends() {
        let gate = RateGate::new(6000);
        gate.pause_for(Duration::from_secs(30));
        let wait = gate.try_take(Instant::now()).expect("paused");
        assert!(wait > Duration::from_secs(29), "{wait:?}");
        // A shorter pause does not shorten a longer one.
        gate.pause_for(Duration::from_secs(1));
        assert!(gate.paused_for().expect("paused") > Duration::from_secs(29));
    }
}
