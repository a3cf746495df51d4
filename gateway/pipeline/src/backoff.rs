//! Retry delays: [`deskbridge_core::backoff_delay`] with a random draw per retry.

use std::time::Duration;

/// The delay before retry number `attempt` (1 for the first retry).
pub(crate) fn delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    deskbridge_core::backoff_delay(attempt, base, max, fastrand::f64())
}
