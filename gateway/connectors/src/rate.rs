//! A per-helpdesk rate gate: a token bucket sized by the configured requests per minute
//! (bursts up to a tenth of that), plus a pause imposed by the helpdesk itself (`429` with
//! `Retry-After`, or a remaining quota of zero). Every request to one helpdesk instance, read
//! or write, passes through its gate. The bucket's arithmetic is
//! [`deskbridge_core::TokenBucket`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use deskbridge_core::TokenBucket;

/// Shared by all requests to one helpdesk instance.
#[derive(Debug)]
pub struct RateGate {
    bucket: Mutex<TokenBucket>,
}

impl RateGate {
    /// A gate allowing `per_minute` requests a minute (bursts up to a tenth of that, at least
    /// one request).
    pub fn new(per_minute: u32) -> RateGate {
        RateGate {
            bucket: Mutex::new(TokenBucket::new(
                per_minute,
                per_minute / 10,
                Instant::now(),
            )),
        }
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, TokenBucket> {
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request may go out, and takes its token.
    pub async fn acquire(&self) {
        loop {
            let wait = self.bucket().try_take(1, Instant::now());
            match wait {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Stops all requests for `duration` (the helpdesk said so).
    pub fn pause_for(&self, duration: Duration) {
        self.bucket().pause_until(Instant::now() + duration);
    }

    /// How long the gate is paused from now, if it is.
    pub fn paused_for(&self) -> Option<Duration> {
        self.bucket().paused_for(Instant::now())
    }
}
