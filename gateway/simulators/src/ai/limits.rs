//! Per-minute request and token limits as continuously refilled buckets, the way both vendors
//! describe theirs: a limit of `N` per minute holds `N` and refills at `N / 60` a second, so
//! the "reset" a header reports is the time until the bucket is full again.
//!
//! A request is admitted when the request bucket holds one request and the token bucket holds
//! the tokens the request may use (its prompt estimate plus its `max_tokens`, when given); it
//! is then charged one request and the tokens it actually used (`total_tokens`), which may
//! leave the token bucket in debt until refill repays it. A limit of 0 means unlimited: that
//! dimension is never refused and has no headers.

use std::time::{Duration, Instant};

/// One refilling bucket.
#[derive(Debug)]
struct Bucket {
    /// The per-minute limit; 0 = unlimited.
    limit: u32,
    level: f64,
    updated: Instant,
}

impl Bucket {
    fn new(limit: u32, now: Instant) -> Bucket {
        Bucket {
            limit,
            level: f64::from(limit),
            updated: now,
        }
    }

    fn per_second(&self) -> f64 {
        f64::from(self.limit) / 60.0
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + elapsed * self.per_second()).min(f64::from(self.limit));
        self.updated = now;
    }

    /// How long until the bucket holds `amount`; `None` when it never can.
    fn until(&self, amount: f64) -> Option<Duration> {
        if amount > f64::from(self.limit) {
            return None;
        }
        let missing = (amount - self.level).max(0.0);
        Some(Duration::from_secs_f64(missing / self.per_second()))
    }

    fn dimension(&self) -> Option<Dimension> {
        if self.limit == 0 {
            return None;
        }
        Some(Dimension {
            limit: self.limit,
            remaining: self.level.max(0.0).floor() as u64,
            used: (f64::from(self.limit) - self.level).max(0.0).ceil() as u64,
            reset: self.until(f64::from(self.limit)).unwrap_or(Duration::ZERO),
        })
    }
}

/// Where one limit stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dimension {
    /// Per minute.
    pub(crate) limit: u32,
    /// What the bucket holds now, rounded down.
    pub(crate) remaining: u64,
    /// What is spent of the limit, rounded up.
    pub(crate) used: u64,
    /// Until the bucket is full again.
    pub(crate) reset: Duration,
}

/// Where both limits stand (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) requests: Option<Dimension>,
    pub(crate) tokens: Option<Dimension>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Refusal {
    /// No request left; one is back after `retry_after`.
    Requests { retry_after: Duration },
    /// Not enough tokens left for `requested`; they are back after `retry_after`.
    Tokens {
        requested: u64,
        retry_after: Duration,
    },
    /// `requested` is more than the whole per-minute token limit: no wait helps.
    TooLarge { requested: u64 },
}

impl Refusal {
    /// Whole seconds for `Retry-After` (at least 1), or `None` when waiting cannot help.
    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Refusal::Requests { retry_after } | Refusal::Tokens { retry_after, .. } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            Refusal::TooLarge { .. } => None,
        }
    }
}

/// The request and token buckets of one simulator.
#[derive(Debug)]
pub(crate) struct Limits {
    requests: Bucket,
    tokens: Bucket,
}

impl Limits {
    pub(crate) fn new(requests_per_minute: u32, tokens_per_minute: u32) -> Limits {
        let now = Instant::now();
        Limits {
            requests: Bucket::new(requests_per_minute, now),
            tokens: Bucket::new(tokens_per_minute, now),
        }
    }

    fn refill(&mut self, now: Instant) {
        self.requests.refill(now);
        self.tokens.refill(now);
    }

    /// Whether a request that may use `tokens` is admitted now (nothing is charged).
    pub(crate) fn admit(&mut self, now: Instant, tokens: u64) -> Result<(), Refusal> {
        self.refill(now);
        if self.requests.limit > 0 && self.requests.level < 1.0 {
            return Err(Refusal::Requests {
                retry_after: self.requests.until(1.0).unwrap_or(Duration::ZERO),
            });
        }
        if self.tokens.limit > 0 {
            let wanted = tokens as f64;
            match self.tokens.until(wanted) {
                None => return Err(Refusal::TooLarge { requested: tokens }),
                Some(wait) if wait > Duration::ZERO => {
                    return Err(Refusal::Tokens {
                        requested: tokens,
                        retry_after: wait,
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Charges one request that used `tokens`.
    pub(crate) fn charge(&mut self, now: Instant, tokens: u64) {
        self.refill(now);
        if self.requests.limit > 0 {
            self.requests.level -= 1.0;
        }
        if self.tokens.limit > 0 {
            self.tokens.level -= tokens as f64;
        }
    }

    /// Where the limits stand now.
    pub(crate) fn snapshot(&mut self, now: Instant) -> Snapshot {
        self.refill(now);
        Snapshot {
            requests: self.requests.dimension(),
            tokens: self.tokens.dimension(),
        }
    }

    /// Fills both buckets.
    pub(crate) fn reset(&mut self) {
        let now = Instant::now();
        self.requests = Bucket::new(self.requests.limit, now);
        self.tokens = Bucket::new(self.tokens.limit, now);
    }
}

/// A duration as OpenAI's `x-ratelimit-reset-*` headers write it (Go's notation, to the
/// millisecond): `0s`, `120ms`, `1s`, `17.28s`, `6m0s`, `1h2m3s`.
pub(crate) fn go_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".into();
    }
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let hours = millis / 3_600_000;
    let minutes = millis / 60_000 % 60;
    let seconds = millis / 1000 % 60;
    let fraction = millis % 1000;
    let mut seconds_text = seconds.to_string();
    if fraction > 0 {
        let digits = format!("{fraction:03}");
        seconds_text.push('.');
        seconds_text.push_str(digits.trim_end_matches('0'));
    }
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds_text}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds_text}s")
    } else {
        format!("{seconds_text}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_like_go() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_millis(17_280)), "17.28s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
        assert_eq!(go_duration(Duration::from_millis(3_723_500)), "1h2m3.5s");
    }

    #[test]
    fn buckets_refuse_then_refill() {
        let start = Instant::now();
        let mut limits = Limits::new(2, 0);
        assert_eq!(limits.admit(start, 10), Ok(()));
        limits.charge(start, 10);
        assert_eq!(limits.admit(start, 10), Ok(()));
        limits.charge(start, 10);
        let Err(Refusal::Requests { retry_after }) = limits.admit(start, 10) else {
            panic!("the third request in the same instant is refused");
        };
        assert_eq!(retry_after, Duration::from_secs(30));
        let later = start + Duration::from_secs(30);
        assert_eq!(limits.admit(later, 10), Ok(()));
        let snapshot = limits.snapshot(later);
        assert_eq!(snapshot.tokens, None, "0 = unlimited, no headers");
        let requests = snapshot.requests.expect("limited");
        assert_eq!((requests.limit, requests.remaining), (2, 1));
        assert_eq!(requests.reset, Duration::from_secs(30));
    }

    #[test]
    fn tokens_are_reserved_and_charged() {
        let start = Instant::now();
        let mut limits = Limits::new(0, 600);
        assert_eq!(
            limits.admit(start, 601),
            Err(Refusal::TooLarge { requested: 601 })
        );
        assert_eq!(limits.admit(start, 600), Ok(()));
        limits.charge(start, 500);
        let Err(Refusal::Tokens { retry_after, .. }) = limits.admit(start, 200) else {
            panic!("100 left, 200 wanted");
        };
        // 10 tokens a second: 100 more take 10 s.
        assert_eq!(retry_after, Duration::from_secs(10));
        assert_eq!(retry_after_of(limits.admit(start, 200)), Some(10));
    }

    fn retry_after_of(result: Result<(), Refusal>) -> Option<u64> {
        result.err().and_then(|r| r.retry_after_secs())
    }
}
