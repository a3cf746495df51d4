//! Expiry of drafts nobody decided in time: every sweep interval, the decision service moves
//! each open draft older than the configured expiry to `expired`, which no decision can leave
//! and the delivery gate never passes. An expired draft is never sent; its expiry is logged
//! first (see [`DecisionService::expire_due`]).

use std::sync::Arc;
use std::time::Duration;

use crate::{DecisionService, now_ms};

/// Starts the sweeper on the current runtime.
pub(crate) fn start(decisions: Arc<DecisionService>, interval: Duration) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match decisions.expire_due(now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(drafts = n, "expired drafts nobody decided in time"),
                Err(e) => tracing::warn!(error = %e, "expiring drafts failed; trying again later"),
            }
        }
    });
}
